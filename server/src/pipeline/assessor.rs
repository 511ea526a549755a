//! Runs one brain per container: turns readings and engine events into observations. A large
//! tick's brains run on two threads: each brain reads only its own container, so the verdicts are
//! the same, and at a thousand containers the tick (most of which is the brains) is done sooner.

use crate::brain::{BrainConfig, ContainerBrain, Observation};
use crate::collect::{LifecycleEvent, LifecycleKind};
use app::wire::{Assessment, ContainerInfo, Sample};
use std::collections::{HashMap, HashSet};

/// Ticks with at least this many samples are assessed on two threads; below, a thread costs
/// more than it saves.
const PARALLEL_FROM: usize = 256;

/// Engine events the brain has not yet seen, per container.
#[derive(Debug, Default, Clone, Copy)]
struct PendingEvents {
    restarts: u32,
    oom_kills: u32,
}

pub struct Assessor {
    cfg: BrainConfig,
    brains: HashMap<String, ContainerBrain>,
    pending: HashMap<String, PendingEvents>,
    /// Containers whose process died and has not started again yet.
    died: HashSet<String>,
    /// Host cores, for the saturation level of containers without a CPU quota.
    host_cpus: u32,
}

impl Assessor {
    pub fn new(cfg: BrainConfig) -> Self {
        Self {
            cfg,
            brains: HashMap::new(),
            pending: HashMap::new(),
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
    pub fn retain(&mut self, present: &HashSet<&str>) {
        self.pending.retain(|id, _| present.contains(id.as_str()));
        self.brains.retain(|id, _| present.contains(id.as_str()));
        self.died.retain(|id| present.contains(id.as_str()));
    }

    /// The brain's verdict on one sample, with the engine events seen since the last one.
    pub fn assess(&mut self, info: &ContainerInfo, s: &Sample) -> Assessment {
        let obs = self.observation(info, s);
        self.brain(&info.id).observe(&obs)
    }

    /// The verdicts on a tick's readings, in their order (`None` where there is no sample): the
    /// same as [`Self::assess`] on each in turn, on two threads when the tick is large.
    pub fn assess_all(
        &mut self,
        readings: &[(&ContainerInfo, Option<&Sample>)],
    ) -> Vec<Option<Assessment>> {
        let mut verdicts: Vec<Option<Assessment>> = vec![None; readings.len()];
        let mut jobs: Vec<(usize, &str, Observation)> = Vec::with_capacity(readings.len());
        for (k, (info, sample)) in readings.iter().enumerate() {
            if let Some(s) = sample {
                let obs = self.observation(info, s);
                self.brain(&info.id);
                jobs.push((k, info.id.as_str(), obs));
            }
        }
        if jobs.len() < PARALLEL_FROM {
            for (k, id, obs) in jobs {
                verdicts[k] = Some(self.brain(id).observe(&obs));
            }
            return verdicts;
        }
        // One mutable brain per job; a container listed twice in a tick (never seen, but
        // possible) is assessed afterwards, in its turn, so each brain sees its samples in order.
        let mut brains: HashMap<&str, &mut ContainerBrain> = self
            .brains
            .iter_mut()
            .map(|(id, b)| (id.as_str(), b))
            .collect();
        let mut work = Vec::with_capacity(jobs.len());
        let mut again = Vec::new();
        for (k, id, obs) in jobs {
            match brains.remove(id) {
                Some(brain) => work.push((k, brain, obs)),
                None => again.push((k, id, obs)),
            }
        }
        let half = work.len() / 2;
        let (first, second) = work.split_at_mut(half);
        let run =
            |part: &mut [(usize, &mut ContainerBrain, Observation)]| -> Vec<(usize, Assessment)> {
                part.iter_mut()
                    .map(|(k, brain, obs)| (*k, brain.observe(obs)))
                    .collect()
            };
        let (a, b) = std::thread::scope(|scope| {
            let other = scope.spawn(|| run(first));
            let mine = run(second);
            (other.join(), mine)
        });
        // A brain that panicked panics here, as it would have on one thread.
        let a = a.unwrap_or_else(|e| std::panic::resume_unwind(e));
        drop(work);
        drop(brains);
        for (k, v) in a.into_iter().chain(b) {
            verdicts[k] = Some(v);
        }
        for (k, id, obs) in again {
            verdicts[k] = Some(self.brain(id).observe(&obs));
        }
        verdicts
    }

    /// This container's brain, made on its first sample.
    fn brain(&mut self, id: &str) -> &mut ContainerBrain {
        let cfg = &self.cfg;
        self.brains
            .entry(id.to_string())
            .or_insert_with(|| ContainerBrain::new(cfg))
    }

    /// The brain's observation of `s`, with the engine events seen since the last one.
    fn observation(&mut self, info: &ContainerInfo, s: &Sample) -> Observation {
        let events = self.pending.remove(&info.id).unwrap_or_default();
        Observation {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(k: usize) -> ContainerInfo {
        ContainerInfo {
            id: format!("c{k}"),
            name: format!("n{k}"),
            mem_limited: true,
            ..ContainerInfo::default()
        }
    }

    /// A different series per container, deterministic.
    fn sample(k: usize, t: i64) -> Sample {
        let x = ((k as i64 * 7919 + t * 104_729) % 1000) as f64 / 10.0;
        Sample {
            ts_ms: 1_800_000_000_000 + t * 1000,
            cpu_pct: x,
            mem_bytes: 1_000_000 + x as u64 * 1000 + t as u64 * 50_000,
            mem_limit_bytes: 1 << 28,
            net_rx_bps: x * 3.0,
            pids: 3,
            ..Sample::default()
        }
    }

    #[test]
    fn a_large_tick_on_two_threads_gives_each_container_what_one_thread_would() {
        let n = PARALLEL_FROM * 2 + 3;
        let infos: Vec<ContainerInfo> = (0..n).map(info).collect();
        let mut two = Assessor::new(BrainConfig::default());
        let mut one = Assessor::new(BrainConfig::default());
        for t in 0..60 {
            if t == 40 {
                let ev = |kind| LifecycleEvent {
                    ts_ms: 0,
                    id: "c7".into(),
                    name: "n7".into(),
                    kind,
                };
                for a in [&mut two, &mut one] {
                    a.on_event(&ev(LifecycleKind::Oom));
                    a.on_event(&ev(LifecycleKind::Die {
                        exit_code: Some(137),
                    }));
                    a.on_event(&ev(LifecycleKind::Start));
                }
            }
            // Some containers miss every other sample.
            let samples: Vec<Option<Sample>> = (0..n)
                .map(|k| (k % 17 != 0 || t % 2 == 0).then(|| sample(k, t)))
                .collect();
            let mut readings: Vec<(&ContainerInfo, Option<&Sample>)> = infos
                .iter()
                .zip(&samples)
                .map(|(i, s)| (i, s.as_ref()))
                .collect();
            // A container listed twice: its brain sees both samples, in order.
            readings.push((&infos[5], samples[5].as_ref()));
            let got = two.assess_all(&readings);
            let want: Vec<Option<Assessment>> = readings
                .iter()
                .map(|(i, s)| s.map(|s| one.assess(i, s)))
                .collect();
            assert_eq!(got, want, "tick {t}");
        }
        // The OOM kill and the restart reached c7's brain (and were taken from the pending).
        assert!(two.pending.is_empty() && one.pending.is_empty());
    }

    #[test]
    fn a_small_tick_stays_on_one_thread_and_agrees_too() {
        let infos: Vec<ContainerInfo> = (0..5).map(info).collect();
        let mut two = Assessor::new(BrainConfig::default());
        let mut one = Assessor::new(BrainConfig::default());
        for t in 0..10 {
            let samples: Vec<Sample> = (0..5).map(|k| sample(k, t)).collect();
            let readings: Vec<(&ContainerInfo, Option<&Sample>)> = infos
                .iter()
                .zip(&samples)
                .map(|(i, s)| (i, Some(s)))
                .collect();
            let want: Vec<Option<Assessment>> = readings
                .iter()
                .map(|(i, s)| s.map(|s| one.assess(i, s)))
                .collect();
            assert_eq!(two.assess_all(&readings), want);
        }
    }
}
