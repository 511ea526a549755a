//! Runs one brain per container: turns readings and engine events into observations.

use crate::brain::{BrainConfig, ContainerBrain, Observation};
use crate::collect::{LifecycleEvent, LifecycleKind};
use crate::util::{IdMap, IdSet};
use app::wire::{Assessment, ContainerInfo, Sample};
use std::collections::HashSet;

/// Engine events the brain has not yet seen, per container.
#[derive(Debug, Default, Clone, Copy)]
struct PendingEvents {
    restarts: u32,
    oom_kills: u32,
}

pub struct Assessor {
    cfg: BrainConfig,
    /// Boxed: a brain is ~5 KiB inline, and a map keeps up to half its slots free (a thousand
    /// containers sit in 2,048 slots), so unboxed the free slots alone would cost ~5 KiB each.
    brains: IdMap<Box<ContainerBrain>>,
    pending: IdMap<PendingEvents>,
    /// Containers whose process died and has not started again yet.
    died: HashSet<String>,
    /// Host cores, for the saturation level of containers without a CPU quota.
    host_cpus: u32,
}

impl Assessor {
    pub fn new(cfg: BrainConfig) -> Self {
        Self {
            cfg,
            brains: IdMap::default(),
            pending: IdMap::default(),
            died: HashSet::new(),
            host_cpus: 1,
        }
    }

    pub fn set_host_cpus(&mut self, cpus: u32) {
        self.host_cpus = cpus.max(1);
    }

    /// Notes restarts and OOM kills for the container's next observation.
    pub fn on_event(&mut self, ev: &LifecycleEvent) {
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
    }

    /// Entries in the per-container maps: brains, pending events, died.
    pub fn tracked(&self) -> (usize, usize, usize) {
        (self.brains.len(), self.pending.len(), self.died.len())
    }

    /// Forgets containers that are gone.
    pub fn retain(&mut self, present: &IdSet) {
        self.pending.retain(|id, _| present.contains(id.as_str()));
        self.brains.retain(|id, _| present.contains(id.as_str()));
        self.died.retain(|id| present.contains(id.as_str()));
    }

    /// The brain's verdict on one sample, with the engine events seen since the last one.
    pub fn assess(&mut self, info: &ContainerInfo, s: &Sample) -> Assessment {
        // Most ticks carry no event: skip hashing the id into an empty map.
        let events = if self.pending.is_empty() {
            PendingEvents::default()
        } else {
            self.pending.remove(&info.id).unwrap_or_default()
        };
        let obs = Observation {
            ts_ms: s.ts_ms,
            cpu_pct: s.cpu_pct,
            cpu_capacity_pct: info
                .cpu_quota_pct
                .unwrap_or(f64::from(self.host_cpus) * 100.0),
            cpu_quota: info.cpu_quota_pct.is_some(),
            mem_bytes: s.mem_bytes as f64,
            mem_limit_bytes: info.mem_limited.then_some(s.mem_limit_bytes as f64),
            net_bps: s.net_rx_bps + s.net_tx_bps,
            pids: s.pids as f64,
            restarts: events.restarts,
            oom_kills: events.oom_kills,
        };
        // Looked up before inserting, so a known container's id is not copied every tick.
        if let Some(brain) = self.brains.get_mut(&info.id) {
            return brain.observe(&obs);
        }
        let mut brain = Box::new(ContainerBrain::new(&self.cfg));
        let a = brain.observe(&obs);
        self.brains.insert(info.id.clone(), brain);
        a
    }
}
