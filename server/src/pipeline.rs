//! The loop: source messages in; the brain's assessments, the live store and the hub's frames
//! out. One task, one tick at a time, in stream order.

use crate::brain::{BrainConfig, ContainerBrain, Observation};
use crate::collect::{LifecycleEvent, LifecycleKind, SourceMsg, Tick};
use crate::hub::Hub;
use crate::state::Shared;
use crate::store::live::LiveStore;
use app::wire::{Assessment, ContainerInfo, Sample, ServerMsg};
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Engine events the brain has not yet seen, per container.
#[derive(Debug, Default, Clone, Copy)]
struct PendingEvents {
    restarts: u32,
    oom_kills: u32,
}

pub struct Pipeline {
    live: Shared<LiveStore>,
    hub: Hub,
    brain_cfg: BrainConfig,
    brains: HashMap<String, ContainerBrain>,
    pending: HashMap<String, PendingEvents>,
    /// Containers whose process died and has not started again yet.
    died: HashSet<String>,
    /// Host cores, for the saturation level of containers without a CPU quota.
    host_cpus: u32,
}

impl Pipeline {
    pub fn new(live: Shared<LiveStore>, hub: Hub, brain_cfg: BrainConfig) -> Self {
        Self {
            live,
            hub,
            brain_cfg,
            brains: HashMap::new(),
            pending: HashMap::new(),
            died: HashSet::new(),
            host_cpus: 1,
        }
    }

    /// Runs until the source closes its channel or `shutdown` is cancelled.
    pub async fn run(mut self, mut rx: mpsc::Receiver<SourceMsg>, shutdown: CancellationToken) {
        loop {
            let msg = tokio::select! {
                _ = shutdown.cancelled() => return,
                msg = rx.recv() => msg,
            };
            match msg {
                Some(msg) => self.handle(msg),
                None => return,
            }
        }
    }

    pub fn handle(&mut self, msg: SourceMsg) {
        match msg {
            SourceMsg::Engine(status) => self.live.write().engine = status,
            SourceMsg::Event(ev) => self.on_event(ev),
            SourceMsg::Tick(tick) => self.on_tick(tick),
        }
    }

    fn on_event(&mut self, ev: LifecycleEvent) {
        tracing::info!(container = %ev.name, event = %ev.kind.label(), "container event");
        let p = self.pending.entry(ev.id.clone()).or_default();
        // A restart is a start after a death, whoever restarted it (`docker restart`, the
        // restart policy, or us); the engine's own `restart` event only follows the first kind.
        match ev.kind {
            LifecycleKind::Die { .. } => {
                self.died.insert(ev.id.clone());
            }
            LifecycleKind::Start if self.died.remove(&ev.id) => p.restarts += 1,
            LifecycleKind::Oom => p.oom_kills += 1,
            LifecycleKind::Destroy => {
                self.died.remove(&ev.id);
            }
            _ => {}
        }
        self.live.write().push_event(ev);
    }

    fn on_tick(&mut self, tick: Tick) {
        if let Some(h) = &tick.host {
            self.host_cpus = h.cpus.max(1);
        }
        type Assessed = (ContainerInfo, Option<Sample>, Option<Assessment>);
        let assessed: Option<Vec<Assessed>> = tick.containers.map(|readings| {
            readings
                .into_iter()
                .map(|r| {
                    let a = r.sample.and_then(|s| self.assess(&r.info, &s));
                    (r.info, r.sample, a)
                })
                .collect()
        });
        let frame = {
            let mut live = self.live.write();
            live.seq += 1;
            live.ts_ms = tick.ts_ms;
            if tick.host.is_some() {
                live.host = tick.host;
            }
            if let Some(assessed) = assessed {
                let present: Vec<String> = assessed.iter().map(|(i, _, _)| i.id.clone()).collect();
                let present_refs: Vec<&str> = present.iter().map(String::as_str).collect();
                live.retain_present(&present_refs);
                self.pending.retain(|id, _| present.contains(id));
                self.brains.retain(|id, _| present.contains(id));
                for (info, sample, a) in assessed {
                    live.record(info, sample, a);
                }
            }
            (live.seq, live.frame())
        };
        self.hub.publish(frame.0, &ServerMsg::Frame(frame.1));
    }

    /// The brain's verdict on one sample, with the engine events seen since the last one.
    fn assess(&mut self, info: &ContainerInfo, s: &Sample) -> Option<Assessment> {
        let events = self.pending.remove(&info.id).unwrap_or_default();
        let obs = Observation {
            ts_ms: s.ts_ms,
            cpu_pct: s.cpu_pct,
            cpu_capacity_pct: info
                .cpu_quota_pct
                .unwrap_or(f64::from(self.host_cpus) * 100.0),
            mem_bytes: s.mem_bytes as f64,
            mem_limit_bytes: info.mem_limited.then_some(s.mem_limit_bytes as f64),
            net_bps: s.net_rx_bps + s.net_tx_bps,
            pids: s.pids as f64,
            restarts: events.restarts,
            oom_kills: events.oom_kills,
        };
        let cfg = &self.brain_cfg;
        let brain = self
            .brains
            .entry(info.id.clone())
            .or_insert_with(|| ContainerBrain::new(cfg));
        Some(brain.observe(&obs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Reading;
    use app::wire::SourceKind;

    fn reading(id: &str) -> Reading {
        Reading {
            info: ContainerInfo {
                id: id.into(),
                name: id.into(),
                ..ContainerInfo::default()
            },
            sample: Some(Sample::default()),
        }
    }

    #[tokio::test]
    async fn ticks_update_the_store_and_publish_frames() {
        let live = Shared::new(LiveStore::new(10, SourceKind::Docker));
        let hub = Hub::new();
        let mut rx = hub.subscribe();
        let mut p = Pipeline::new(live.clone(), hub, BrainConfig::default());
        p.handle(SourceMsg::Tick(Tick {
            ts_ms: 5,
            host: None,
            containers: Some(vec![reading("a"), reading("b")]),
        }));
        assert_eq!(live.read().len(), 2);
        // An unknown fleet (engine down) keeps what was known.
        p.handle(SourceMsg::Tick(Tick {
            ts_ms: 6,
            host: None,
            containers: None,
        }));
        assert_eq!(live.read().len(), 2);
        p.handle(SourceMsg::Tick(Tick {
            ts_ms: 7,
            host: None,
            containers: Some(vec![reading("b")]),
        }));
        assert_eq!(live.read().len(), 1);
        let published = rx.borrow_and_update().clone();
        assert_eq!(published.seq, 3);
    }
}
