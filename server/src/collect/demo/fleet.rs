//! The simulation itself: each service's state, the staged faults and their schedule, one tick
//! of readings and lifecycle events, and the actions (restart, pause, …) applied as the engine
//! would.

use super::{Profile, PROFILES};
use crate::collect::{LifecycleEvent, LifecycleKind, Reading};
use app::wire::{ContainerInfo, ContainerStatus, Health, Sample};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const MIB: f64 = 1024.0 * 1024.0;
/// A memory page: cgroups charge and report memory in whole pages.
const PAGE: u64 = 4096;

/// A staged fault on one service.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// CPU ramps to the quota over ~15 s and stays pinned.
    CpuStorm { since: u64 },
    /// Memory climbs a few MiB/s until the limit, then the kernel OOM-kills the process.
    MemoryLeak { since: u64, mib_per_s: f64 },
    /// Processes multiply and CPU follows.
    ForkStorm { since: u64 },
}

/// How long a fault lasts when nobody intervenes (a leak ends with its OOM kill instead).
const FAULT_MAX_TICKS: u64 = 150;

struct Service {
    id: String,
    /// The profile's name, suffixed for replicas (`nginx-2`).
    name: String,
    profile: &'static Profile,
    cpu: f64,
    mem: f64,
    status: ContainerStatus,
    started_at_ms: i64,
    restarts: u64,
    fault: Option<Fault>,
    /// Ticks left in a restart (the service is briefly down).
    down_for: u32,
    /// The identity last read out, shared while it holds (as the engine source does).
    shared: Option<Arc<ContainerInfo>>,
}

/// An action the demo fleet accepts, mirroring what the engine would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoAction {
    Restart(String),
    Pause(String),
    Unpause(String),
    /// Lower CPU quota: the demo ends a CPU or fork storm on the service.
    Throttle(String),
    /// Change nothing; answer with the service's state (as `docker inspect`).
    Inspect(String),
}

impl DemoAction {
    pub(super) fn target(&self) -> &str {
        match self {
            DemoAction::Restart(id)
            | DemoAction::Pause(id)
            | DemoAction::Unpause(id)
            | DemoAction::Throttle(id)
            | DemoAction::Inspect(id) => id,
        }
    }
}

/// The pure simulation: seeded, stepped one tick at a time.
pub struct DemoFleet {
    rng: SmallRng,
    services: Vec<Service>,
    tick: u64,
    interval_s: f64,
}

impl DemoFleet {
    pub fn new(seed: u64, interval: Duration, start_ms: i64) -> Self {
        Self::with_size(seed, interval, start_ms, PROFILES.len())
    }

    /// A fleet of `count` containers: the seven services, then calm replicas of them
    /// (`nginx-2`, …) — for trying the dashboard with a large fleet.
    pub fn with_size(seed: u64, interval: Duration, start_ms: i64, count: usize) -> Self {
        let services = (0..count.max(1))
            .map(|i| (i, &PROFILES[i % PROFILES.len()]))
            .map(|(i, p)| Service {
                id: format!("sim-{:03}-{}", i + 1, p.name),
                name: match i / PROFILES.len() {
                    0 => p.name.to_string(),
                    r => format!("{}-{}", p.name, r + 1),
                },
                profile: p,
                cpu: p.cpu_base,
                mem: p.mem_base_mib * MIB,
                status: ContainerStatus::Running,
                started_at_ms: start_ms - 3_600_000 * (i as i64 + 1),
                restarts: 0,
                fault: None,
                down_for: 0,
                shared: None,
            })
            .collect();
        Self {
            rng: SmallRng::seed_from_u64(seed),
            services,
            tick: 0,
            interval_s: interval.as_secs_f64().max(0.1),
        }
    }

    /// Puts `node` in every container id (`sim-NODE-001-nginx`).
    pub fn name_ids_after(&mut self, node: &str) {
        for s in &mut self.services {
            if let Some(rest) = s.id.strip_prefix("sim-") {
                s.id = format!("sim-{node}-{rest}");
            }
        }
    }

    /// Ticks elapsed for a duration of simulated time.
    fn ticks(&self, secs: f64) -> u64 {
        (secs / self.interval_s).round() as u64
    }

    /// The incident schedule: the first two within 30 s, then one every three minutes.
    fn schedule(&mut self) {
        let t = self.tick;
        let start = |fleet: &mut Self, name: &str, fault: Fault| {
            if let Some(s) = fleet.services.iter_mut().find(|s| s.name == name) {
                if s.fault.is_none() && s.status == ContainerStatus::Running {
                    s.fault = Some(fault);
                }
            }
        };
        if t == self.ticks(12.0) {
            start(self, "flask-api", Fault::CpuStorm { since: t });
        }
        if t == self.ticks(20.0) {
            start(
                self,
                "node-service",
                Fault::MemoryLeak {
                    since: t,
                    mib_per_s: 3.0,
                },
            );
        }
        let period = self.ticks(180.0).max(1);
        if t > self.ticks(60.0) && t.is_multiple_of(period) {
            let round = t / period;
            match round % 4 {
                0 => start(
                    self,
                    "redis",
                    Fault::MemoryLeak {
                        since: t,
                        mib_per_s: 4.0,
                    },
                ),
                1 => start(self, "flask-api", Fault::CpuStorm { since: t }),
                2 => start(self, "rabbitmq", Fault::ForkStorm { since: t }),
                _ => start(
                    self,
                    "node-service",
                    Fault::MemoryLeak {
                        since: t,
                        mib_per_s: 3.5,
                    },
                ),
            }
        }
    }

    /// Advances one tick: returns every container's reading and the lifecycle events it caused.
    pub fn step(&mut self, ts_ms: i64) -> (Vec<Reading>, Vec<LifecycleEvent>) {
        self.tick += 1;
        self.schedule();
        let mut events = Vec::new();
        let dt = self.interval_s;
        let tick = self.tick;
        let max_ticks = self.ticks(FAULT_MAX_TICKS as f64);
        let mut readings = Vec::with_capacity(self.services.len());
        for s in &mut self.services {
            let p = s.profile;
            if s.down_for > 0 {
                s.down_for -= 1;
                if s.down_for == 0 {
                    s.status = ContainerStatus::Running;
                    s.started_at_ms = ts_ms;
                    s.cpu = p.cpu_base;
                    s.mem = p.mem_base_mib * MIB;
                    events.push(event(ts_ms, s, LifecycleKind::Start));
                }
            }
            let quota = p.cpu_quota.unwrap_or(200.0);
            // Calm behaviour: mean-reverting noise around the baseline, a slow wave on top.
            let wave = (tick as f64 * dt / 90.0 + p.pids).sin() * p.cpu_noise;
            let mut target = p.cpu_base + wave;
            let mut pids = p.pids;
            match s.fault {
                Some(Fault::CpuStorm { since }) => {
                    let age = (tick - since) as f64 * dt;
                    target = p.cpu_base + (quota - p.cpu_base) * (age / 15.0).min(1.0);
                }
                Some(Fault::ForkStorm { since }) => {
                    let age = (tick - since) as f64 * dt;
                    pids = p.pids + age * 12.0;
                    target = p.cpu_base + (quota * 0.98 - p.cpu_base) * (age / 20.0).min(1.0);
                }
                Some(Fault::MemoryLeak { mib_per_s, .. }) => s.mem += mib_per_s * MIB * dt,
                None => {}
            }
            let noise: f64 = self.rng.random_range(-1.0..1.0) * p.cpu_noise;
            s.cpu = (s.cpu + 0.5 * (target - s.cpu) + noise).clamp(0.0, quota);
            if s.fault.is_none() {
                let wobble: f64 = self.rng.random_range(-0.3..0.3) * MIB;
                s.mem += 0.1 * (p.mem_base_mib * MIB - s.mem) + wobble;
            }
            let limit = p.mem_limit_mib * MIB;
            let running = s.status == ContainerStatus::Running;
            if running && s.mem >= limit {
                // The kernel OOM-kills the process; the restart policy brings it back.
                events.push(event(ts_ms, s, LifecycleKind::Oom));
                events.push(event(
                    ts_ms,
                    s,
                    LifecycleKind::Die {
                        exit_code: Some(137),
                    },
                ));
                s.status = ContainerStatus::Restarting;
                s.restarts += 1;
                s.fault = None;
                s.down_for = 2;
                s.mem = 0.0;
            }
            if let Some(since) = s.fault.map(|f| match f {
                Fault::CpuStorm { since }
                | Fault::MemoryLeak { since, .. }
                | Fault::ForkStorm { since } => since,
            }) {
                if tick - since > max_ticks {
                    s.fault = None;
                }
            }
            let running = s.status == ContainerStatus::Running;
            let sample = running.then(|| {
                let net = p.net_bps * (1.0 + self.rng.random_range(-0.2..0.2));
                Sample {
                    ts_ms,
                    cpu_pct: s.cpu,
                    // In whole pages, as a cgroup charges memory (what the engine reports).
                    mem_bytes: s.mem.max(0.0) as u64 / PAGE * PAGE,
                    mem_limit_bytes: limit as u64,
                    net_rx_bps: net * 0.6,
                    net_tx_bps: net * 0.4,
                    blk_read_bps: self.rng.random_range(0.0..40e3),
                    blk_write_bps: self.rng.random_range(0.0..120e3),
                    pids: pids as u64,
                }
            });
            readings.push(Reading {
                info: shared_info(s),
                sample,
            });
        }
        (readings, events)
    }

    /// Applies an action as the engine would; unknown ids are ignored (returns false).
    pub fn apply(&mut self, action: &DemoAction, ts_ms: i64) -> (bool, Vec<LifecycleEvent>) {
        let id = action.target();
        let Some(s) = self
            .services
            .iter_mut()
            .find(|s| s.id == id || s.name == id)
        else {
            return (false, Vec::new());
        };
        let mut events = Vec::new();
        match action {
            DemoAction::Restart(_) => {
                // As the engine reports a restart: the process dies, then restarts.
                events.push(event(
                    ts_ms,
                    s,
                    LifecycleKind::Die {
                        exit_code: Some(143),
                    },
                ));
                events.push(event(ts_ms, s, LifecycleKind::Restart));
                s.fault = None;
                s.restarts += 1;
                s.status = ContainerStatus::Restarting;
                s.down_for = 2;
            }
            DemoAction::Pause(_) => {
                s.status = ContainerStatus::Paused;
                events.push(event(ts_ms, s, LifecycleKind::Pause));
            }
            DemoAction::Unpause(_) => {
                s.status = ContainerStatus::Running;
                events.push(event(ts_ms, s, LifecycleKind::Unpause));
            }
            DemoAction::Throttle(_) => {
                if matches!(
                    s.fault,
                    Some(Fault::CpuStorm { .. } | Fault::ForkStorm { .. })
                ) {
                    s.fault = None;
                }
            }
            DemoAction::Inspect(_) => {}
        }
        (true, events)
    }

    /// What the engine would say of a service (by id or name).
    pub fn info_of(&self, id: &str) -> Option<ContainerInfo> {
        self.services
            .iter()
            .find(|s| s.id == id || s.name == id)
            .map(info)
    }
}

/// The service's identity, the same allocation as last tick while nothing in it changed.
fn shared_info(s: &mut Service) -> Arc<ContainerInfo> {
    match &s.shared {
        Some(a)
            if a.status == s.status
                && a.restart_count == s.restarts
                && a.started_at_ms == Some(s.started_at_ms) =>
        {
            Arc::clone(a)
        }
        _ => {
            let fresh = Arc::new(info(s));
            s.shared = Some(Arc::clone(&fresh));
            fresh
        }
    }
}

fn info(s: &Service) -> ContainerInfo {
    let p = s.profile;
    let labels = BTreeMap::from([
        ("dockerpulse.heal".to_string(), p.heal.to_string()),
        ("dockerpulse.simulated".to_string(), "true".to_string()),
        ("com.docker.compose.service".to_string(), p.name.to_string()),
    ]);
    ContainerInfo {
        id: s.id.clone(),
        name: s.name.clone(),
        image: p.image.to_string(),
        status: s.status,
        health: Some(if s.status == ContainerStatus::Running {
            Health::Healthy
        } else {
            Health::Starting
        }),
        restart_count: s.restarts,
        started_at_ms: Some(s.started_at_ms),
        cpu_quota_pct: p.cpu_quota,
        mem_limited: true,
        labels,
        healthcheck_start_period_ms: Some(0),
        node: None,
    }
}

fn event(ts_ms: i64, s: &Service, kind: LifecycleKind) -> LifecycleEvent {
    LifecycleEvent {
        ts_ms,
        id: s.id.clone(),
        name: s.name.clone(),
        kind,
    }
}

#[cfg(test)]
mod tests;
