//! The built-in demo fleet: the seven target services simulated with noisy, realistic baselines
//! and a schedule of staged incidents (a CPU storm and a memory leak within 30 s of start, then
//! another incident every few minutes). Everything it produces is labelled SIMULATED.
//!
//! [`DemoFleet`] is a pure, seeded simulation stepped one tick at a time; [`DemoSource`] drives it
//! with the clock and accepts actions (restart, pause, …) so healing can be shown end to end.

use super::host::HostProbe;
use super::{LifecycleEvent, LifecycleKind, Reading, Source, SourceMsg, Tick};
use crate::clock::now_ms;
use app::wire::{
    ContainerInfo, ContainerStatus, EngineState, EngineStatus, Health, Sample, SourceKind,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

const MIB: f64 = 1024.0 * 1024.0;

/// A service of the demo fleet and its calm behaviour.
struct Profile {
    name: &'static str,
    image: &'static str,
    cpu_base: f64,
    cpu_noise: f64,
    cpu_quota: Option<f64>,
    mem_base_mib: f64,
    mem_limit_mib: f64,
    pids: f64,
    net_bps: f64,
    heal: &'static str,
}

const PROFILES: [Profile; 7] = [
    Profile {
        name: "oracle-db",
        image: "gvenzl/oracle-free:23-slim",
        cpu_base: 32.0,
        cpu_noise: 5.0,
        cpu_quota: Some(200.0),
        mem_base_mib: 1650.0,
        mem_limit_mib: 2560.0,
        pids: 62.0,
        net_bps: 180e3,
        heal: "off",
    },
    Profile {
        name: "nginx",
        image: "nginx:1.27-alpine",
        cpu_base: 3.0,
        cpu_noise: 1.0,
        cpu_quota: Some(50.0),
        mem_base_mib: 11.0,
        mem_limit_mib: 128.0,
        pids: 5.0,
        net_bps: 1.6e6,
        heal: "restart",
    },
    Profile {
        name: "redis",
        image: "redis:7-alpine",
        cpu_base: 5.0,
        cpu_noise: 1.5,
        cpu_quota: Some(100.0),
        mem_base_mib: 38.0,
        mem_limit_mib: 256.0,
        pids: 6.0,
        net_bps: 420e3,
        heal: "restart",
    },
    Profile {
        name: "postgres",
        image: "postgres:16-alpine",
        cpu_base: 11.0,
        cpu_noise: 3.0,
        cpu_quota: Some(150.0),
        mem_base_mib: 175.0,
        mem_limit_mib: 512.0,
        pids: 14.0,
        net_bps: 260e3,
        heal: "off",
    },
    Profile {
        name: "rabbitmq",
        image: "rabbitmq:3.13-management-alpine",
        cpu_base: 7.0,
        cpu_noise: 2.0,
        cpu_quota: Some(100.0),
        mem_base_mib: 138.0,
        mem_limit_mib: 512.0,
        pids: 31.0,
        net_bps: 150e3,
        heal: "throttle",
    },
    Profile {
        name: "flask-api",
        image: "dockerpulse-demo/flask-api:latest",
        cpu_base: 14.0,
        cpu_noise: 4.0,
        cpu_quota: Some(100.0),
        mem_base_mib: 58.0,
        mem_limit_mib: 256.0,
        pids: 4.0,
        net_bps: 90e3,
        heal: "restart",
    },
    Profile {
        name: "node-service",
        image: "dockerpulse-demo/node-service:latest",
        cpu_base: 9.0,
        cpu_noise: 2.5,
        cpu_quota: Some(100.0),
        mem_base_mib: 92.0,
        mem_limit_mib: 256.0,
        pids: 11.0,
        net_bps: 70e3,
        heal: "restart",
    },
];

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
    fn target(&self) -> &str {
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
                    mem_bytes: s.mem.max(0.0) as u64,
                    mem_limit_bytes: limit as u64,
                    net_rx_bps: net * 0.6,
                    net_tx_bps: net * 0.4,
                    blk_read_bps: self.rng.random_range(0.0..40e3),
                    blk_write_bps: self.rng.random_range(0.0..120e3),
                    pids: pids as u64,
                }
            });
            readings.push(Reading {
                info: info(s),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fleet: &mut DemoFleet, ticks: u64) -> Vec<(Vec<Reading>, Vec<LifecycleEvent>)> {
        (0..ticks)
            .map(|i| fleet.step(1_000_000 + i as i64 * 1000))
            .collect()
    }

    #[test]
    fn a_nodes_fleet_has_its_name_in_every_id() {
        let mut fleet = DemoFleet::new(1, Duration::from_secs(1), 0);
        let before: Vec<String> = fleet.services.iter().map(|s| s.id.clone()).collect();
        fleet.name_ids_after("n2");
        for (old, s) in before.iter().zip(&fleet.services) {
            assert_eq!(s.id, old.replacen("sim-", "sim-n2-", 1));
        }
    }

    #[test]
    fn seven_services_all_simulated_and_calm_at_first() {
        let mut fleet = DemoFleet::new(1, Duration::from_secs(1), 0);
        let (readings, events) = fleet.step(0);
        assert_eq!(readings.len(), 7);
        assert!(events.is_empty());
        for r in &readings {
            assert_eq!(
                r.info
                    .labels
                    .get("dockerpulse.simulated")
                    .map(String::as_str),
                Some("true")
            );
            let s = r.sample.expect("running services have samples");
            assert!(
                s.cpu_pct < 50.0 && s.mem_bytes < s.mem_limit_bytes,
                "{}: {s:?}",
                r.info.name
            );
        }
    }

    #[test]
    fn a_cpu_storm_and_an_oom_kill_happen_within_the_first_minutes() {
        let mut fleet = DemoFleet::new(7, Duration::from_secs(1), 0);
        let steps = run(&mut fleet, 120);
        let storm_at = steps.iter().position(|(r, _)| {
            r.iter()
                .any(|r| r.info.name == "flask-api" && r.sample.is_some_and(|s| s.cpu_pct > 90.0))
        });
        assert!(
            storm_at.is_some_and(|t| t < 30),
            "CPU storm within 30 s: {storm_at:?}"
        );
        let oom_at = steps.iter().position(|(_, ev)| {
            ev.iter()
                .any(|e| e.name == "node-service" && e.kind == LifecycleKind::Oom)
        });
        assert!(
            oom_at.is_some_and(|t| t < 120),
            "OOM kill of the leak: {oom_at:?}"
        );
    }

    #[test]
    fn a_restart_ends_the_storm_and_is_reported() {
        let mut fleet = DemoFleet::new(7, Duration::from_secs(1), 0);
        run(&mut fleet, 40);
        let (ok, events) = fleet.apply(&DemoAction::Restart("flask-api".into()), 2_000_000);
        assert!(ok);
        assert_eq!(events[1].kind, LifecycleKind::Restart);
        let after = run(&mut fleet, 10);
        let last = after
            .last()
            .and_then(|(r, _)| r.iter().find(|r| r.info.name == "flask-api").cloned());
        let last = last.expect("flask-api present");
        assert_eq!(last.info.restart_count, 1);
        assert!(last.sample.is_some_and(|s| s.cpu_pct < 60.0), "{last:?}");
        assert!(!fleet.apply(&DemoAction::Restart("nope".into()), 0).0);
    }

    #[test]
    fn large_fleets_replicate_the_services_under_unique_names() {
        let mut fleet = DemoFleet::with_size(1, Duration::from_secs(1), 0, 100);
        let (readings, _) = fleet.step(0);
        assert_eq!(readings.len(), 100);
        let mut names: Vec<&str> = readings.iter().map(|r| r.info.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 100);
        assert!(names.contains(&"nginx-2") && names.contains(&"flask-api"));
    }

    #[test]
    fn same_seed_same_story() {
        let a = run(&mut DemoFleet::new(3, Duration::from_secs(1), 0), 50);
        let b = run(&mut DemoFleet::new(3, Duration::from_secs(1), 0), 50);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.0, y.0);
        }
    }
}
