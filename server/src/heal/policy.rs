//! The healing policy: from the brain's assessments, container labels and the history of
//! interventions, decide per container and tick whether to act, how, and if not, why not.
//!
//! Pure and deterministic: time is the assessment's timestamp, nothing here touches the engine.
//! Guard rails, in the order they are checked: exclusion (`dockerpulse.heal=off`, DockerPulse's
//! own container), the circuit breaker, opt-in (enforce mode only), the container not running or
//! still inside its health check's start period, the per-container cooldown, the restart backoff
//! (10 s doubling to 5 min, as Kubernetes), the per-container hourly cap and the fleet-wide cap
//! per minute (blast radius).
//!
//! What the guards remember is a [`Guard`] per container and a [`FleetGuard`]; every change to
//! them is reported through [`Policy::take_dirty`] so the healer can store it with the record
//! that caused it, and [`Policy::restore`] rebuilds the policy from what was stored.

pub use super::config::HealConfig;
use super::guard::{FleetGuard, Guard};
use super::swarm::ServiceGuard;
use crate::util::IdMap;
use app::wire::{HealAction, HealMode, RiskLevel};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

mod decide;
mod feedback;
mod guards;
mod opt_in;
mod service_cap;

/// Label that opts a container in, naming the action (`restart`, `pause`, `isolate`,
/// `throttle`), or opts it out for good (`off`).
pub const HEAL_LABEL: &str = "dockerpulse.heal";
/// Label that overrides the global mode for one container (`dry-run` or `enforce`).
pub const MODE_LABEL: &str = "dockerpulse.mode";

/// The container a decision is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub running: bool,
    /// DockerPulse's own container: never acted on.
    pub is_self: bool,
    /// When its process last started, and its health check's start period: no automatic action
    /// while it is still starting up.
    pub started_at_ms: Option<i64>,
    pub start_period_ms: i64,
    /// The Docker Swarm service it is a task of, if any.
    pub service: Option<&'a str>,
}

/// What the brain says of it now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Situation {
    pub ts_ms: i64,
    pub failure_probability: f64,
    pub level: RiskLevel,
    pub warming_up: bool,
}

/// Why an intervention that was due did not happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// `dockerpulse.heal=off` or DockerPulse itself.
    Excluded(&'static str),
    NotOptedIn,
    BreakerOpen,
    Cooldown {
        remaining_ms: i64,
    },
    Backoff {
        remaining_ms: i64,
        restarts: u32,
    },
    HourlyCap {
        max: u32,
    },
    FleetCap {
        max: u32,
    },
    NotRunning,
    /// Inside its health check's start period.
    StartPeriod {
        remaining_ms: i64,
    },
    /// A Swarm task: only a restart, through Swarm.
    SwarmTask,
    /// Enough of its Swarm service's tasks were acted on already.
    ServiceCap {
        service: String,
        allowed: usize,
    },
}

impl Block {
    fn kind(&self) -> u8 {
        match self {
            Block::Excluded(_) => 0,
            Block::NotOptedIn => 1,
            Block::BreakerOpen => 2,
            Block::Cooldown { .. } => 3,
            Block::Backoff { .. } => 4,
            Block::HourlyCap { .. } => 5,
            Block::FleetCap { .. } => 6,
            Block::NotRunning => 7,
            Block::StartPeriod { .. } => 8,
            Block::SwarmTask => 9,
            Block::ServiceCap { .. } => 10,
        }
    }

    /// The reason in words, for the decision log and the page.
    pub fn describe(&self) -> String {
        match self {
            Block::Excluded(why) => format!("not acted: {why}"),
            Block::NotOptedIn => format!(
                "not acted: the container did not opt in (label {HEAL_LABEL}=restart|pause|isolate|throttle, or [heal.containers] in the config)"
            ),
            Block::BreakerOpen => {
                "not acted: circuit breaker open — it kept failing after being healed; needs a human".into()
            }
            Block::Cooldown { remaining_ms } => {
                format!("waiting: cooldown, {} s left", secs_left(*remaining_ms))
            }
            Block::Backoff { remaining_ms, restarts } => format!(
                "waiting: restart backoff after {restarts} restart(s), {} s left",
                secs_left(*remaining_ms)
            ),
            Block::HourlyCap { max } => format!("not acted: {max} interventions in the last hour (cap)"),
            Block::FleetCap { max } => {
                format!("not acted: fleet-wide cap of {max} interventions per minute reached")
            }
            Block::NotRunning => "not acted: the container is not running".into(),
            Block::StartPeriod { remaining_ms } => format!(
                "waiting: still inside its health check's start period, {} s left",
                secs_left(*remaining_ms)
            ),
            Block::SwarmTask => SWARM_TASK_ONLY_RESTART.into(),
            Block::ServiceCap { service, allowed } => format!(
                "not acted: {allowed} of service {service}'s tasks already acted on within the window (at most {SHARE_WORDS} of its replicas at once)"
            ),
        }
    }
}

/// Why a Swarm task is only ever restarted, and only through Swarm.
pub const SWARM_TASK_ONLY_RESTART: &str = "not acted: a Docker Swarm task is only restarted, through Swarm (its container removed so the service schedules a replacement); pause, isolate and throttle would act behind the orchestrator's back";
const SHARE_WORDS: &str = "heal.service_max_share";

/// Whole seconds left, rounded up (a wait of 300 ms is "1 s left", not "0 s left").
fn secs_left(ms: i64) -> i64 {
    (ms + 999).div_euclid(1000)
}

/// The policy's answer for one container at one tick.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Nothing to do (below the threshold, streak not reached, or a block already reported).
    Nothing,
    /// Act now; in dry-run the action is only recorded.
    Act {
        action: HealAction,
        mode: HealMode,
        reason: String,
    },
    /// An action was due but a guard stopped it (reported once per streak and kind of block).
    Blocked { action: HealAction, block: Block },
    /// The breaker just opened: hand over to a human.
    Escalate { reason: String },
}

/// A container's state: its durable guard and what only matters while DockerPulse runs.
#[derive(Debug, Default, Clone)]
struct State {
    guard: Guard,
    streak: u32,
    calm_since_ms: Option<i64>,
    last_block: Option<u8>,
    /// When the policy last decided on it (a queued container that is no longer decided on —
    /// stopped, or the engine lost — must not hold the fleet queue).
    last_seen_ms: i64,
}

/// Per-container healing state for a fleet.
#[derive(Debug, Default)]
pub struct Policy {
    cfg: HealConfig,
    states: IdMap<State>,
    fleet: FleetGuard,
    /// Actions on each Swarm service's tasks (the service-wide blast radius).
    services: ServiceGuard,
    /// Containers held back by the fleet-wide cap, first come first served, so a storm spreads
    /// the allowed actions over different containers instead of restarting the same ones.
    fleet_queue: VecDeque<String>,
    /// Guards changed since the last [`Policy::take_dirty`]
    /// ([`FLEET_KEY`](super::guard::FLEET_KEY) for the fleet's).
    dirty: BTreeSet<String>,
    /// The latest time the policy has seen.
    now_ms: i64,
    /// States of containers that were gone at the last [`Policy::retain`].
    held: usize,
}

/// A queued container not decided on for this long leaves the fleet queue.
const STALE_QUEUE_MS: i64 = 5_000;

impl Policy {
    pub fn new(cfg: HealConfig) -> Self {
        Self {
            cfg,
            ..Self::default()
        }
    }

    pub fn config(&self) -> &HealConfig {
        &self.cfg
    }

    /// Changes mode and threshold at run time (from the API).
    pub fn set(&mut self, mode: Option<HealMode>, threshold_pct: Option<f64>) {
        if let Some(m) = mode {
            self.cfg.mode = m;
        }
        if let Some(t) = threshold_pct {
            self.cfg.threshold_pct = t;
        }
    }
}

#[cfg(test)]
mod tests;
