//! Drives the simulation with the clock, as a [`Source`] of the collector, and carries actions
//! to it through a [`DemoControl`] handle.

use super::{DemoAction, DemoFleet, PROFILES};
use crate::clock::now_ms;
use crate::collect::host::HostProbe;
use crate::collect::{Source, SourceMsg, Tick};
use app::wire::{ContainerInfo, EngineState, EngineStatus, SourceKind};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// Drives a [`DemoFleet`] with the clock.
pub struct DemoSource {
    interval: Duration,
    seed: u64,
    size: usize,
    /// Set on an agent: its node's name in every container id, so that two simulated nodes'
    /// fleets stay apart at their hub (which keys containers by id, as engines' ids are unique).
    node: Option<String>,
    actions: Option<mpsc::Receiver<DemoRequest>>,
}

impl DemoSource {
    pub fn new(interval: Duration, seed: u64) -> Self {
        Self::with_size(interval, seed, PROFILES.len())
    }

    pub fn with_size(interval: Duration, seed: u64, size: usize) -> Self {
        Self {
            interval,
            seed,
            size,
            node: None,
            actions: None,
        }
    }

    /// The fleet of node `node` (its name in the containers' ids).
    pub fn on_node(mut self, node: &str) -> Self {
        self.node = Some(node.to_string());
        self
    }

    /// A handle through which actions reach the simulated fleet.
    pub fn control(&mut self) -> DemoControl {
        let (tx, rx) = mpsc::channel(64);
        self.actions = Some(rx);
        DemoControl { tx }
    }
}

/// Sends actions to a running [`DemoSource`].
#[derive(Clone, Debug)]
pub struct DemoControl {
    tx: mpsc::Sender<DemoRequest>,
}

/// An action and where to answer: the service's state after it, `None` when unknown.
type DemoRequest = (
    DemoAction,
    tokio::sync::oneshot::Sender<Option<ContainerInfo>>,
);

impl DemoControl {
    /// Applies an action; `false` when the container is unknown or the demo has stopped.
    pub async fn apply(&self, action: DemoAction) -> bool {
        self.ask(action).await.is_some()
    }

    /// The service's state, as `docker inspect` would give it.
    pub async fn inspect(&self, id: &str) -> Option<ContainerInfo> {
        self.ask(DemoAction::Inspect(id.to_string())).await
    }

    async fn ask(&self, action: DemoAction) -> Option<ContainerInfo> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx.send((action, tx)).await.ok()?;
        rx.await.ok().flatten()
    }
}

impl Source for DemoSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Simulated
    }

    async fn run(mut self, out: mpsc::Sender<SourceMsg>, shutdown: CancellationToken) {
        let mut fleet = DemoFleet::with_size(self.seed, self.interval, now_ms(), self.size);
        if let Some(node) = &self.node {
            fleet.name_ids_after(node);
        }
        let mut host = HostProbe::new();
        let status = EngineStatus {
            state: EngineState::Simulated,
            endpoint: "built-in demo fleet (SIMULATED)".into(),
            version: Some(format!("dockerpulse-demo {}", env!("CARGO_PKG_VERSION"))),
            stats_via: Some("demo".into()),
            since_ms: now_ms(),
            ..EngineStatus::default()
        };
        if out.send(SourceMsg::Engine(status)).await.is_err() {
            return;
        }
        let mut actions = self.actions.take();
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            let action = async {
                match actions.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let mut emitted = Vec::new();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                Some((action, reply)) = action => {
                    let (ok, events) = fleet.apply(&action, now_ms());
                    let _ = reply.send(ok.then(|| fleet.info_of(action.target())).flatten());
                    emitted = events.into_iter().map(SourceMsg::Event).collect();
                }
                _ = ticker.tick() => {
                    let ts_ms = now_ms();
                    let (readings, events) = fleet.step(ts_ms);
                    emitted.extend(events.into_iter().map(SourceMsg::Event));
                    emitted.push(SourceMsg::Tick(Tick {
                        ts_ms,
                        host: host.sample(ts_ms),
                        containers: Some(readings),
                    }));
                }
            }
            for msg in emitted {
                if out.send(msg).await.is_err() {
                    return;
                }
            }
        }
    }
}
