//! The source of a hub that watches no engine of its own (its nodes' agents do): host metrics
//! each tick and an empty local fleet, so that the hub's loop still ticks and publishes what its
//! agents send.

use super::host::HostProbe;
use super::{Source, SourceMsg, Tick};
use crate::clock::now_ms;
use app::wire::{EngineState, EngineStatus, SourceKind};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

pub struct HostOnlySource {
    interval: Duration,
    host: HostProbe,
}

impl HostOnlySource {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            host: HostProbe::new(),
        }
    }
}

impl Source for HostOnlySource {
    fn kind(&self) -> SourceKind {
        SourceKind::Docker
    }

    async fn run(mut self, out: mpsc::Sender<SourceMsg>, shutdown: CancellationToken) {
        let status = EngineStatus {
            state: EngineState::NotWatched,
            since_ms: now_ms(),
            ..EngineStatus::default()
        };
        if out.send(SourceMsg::Engine(status)).await.is_err() {
            return;
        }
        let mut every = tokio::time::interval(self.interval);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {
                    let ts_ms = now_ms();
                    let tick = Tick { ts_ms, host: self.host.sample(ts_ms), containers: Some(Vec::new()) };
                    if out.send(SourceMsg::Tick(tick)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
