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
use super::guard::{FleetGuard, Guard, FLEET_KEY};
use super::swarm::ServiceGuard;
use crate::util::ms;
use app::wire::{HealAction, HealMode, RiskLevel};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

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
    states: HashMap<String, State>,
    fleet: FleetGuard,
    /// Actions on each Swarm service's tasks (the service-wide blast radius).
    services: ServiceGuard,
    /// Containers held back by the fleet-wide cap, first come first served, so a storm spreads
    /// the allowed actions over different containers instead of restarting the same ones.
    fleet_queue: VecDeque<String>,
    /// Guards changed since the last [`Policy::take_dirty`] ([`FLEET_KEY`] for the fleet's).
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

    /// The action a container opted in to, if any (`Err` when it opted out).
    pub fn opt_in(&self, s: &Subject) -> Result<Option<HealAction>, &'static str> {
        if s.is_self {
            return Err("this is DockerPulse's own container");
        }
        match s
            .labels
            .get(HEAL_LABEL)
            .map(|v| v.trim().to_ascii_lowercase())
        {
            Some(v) if v == "off" || v == "false" || v == "none" => {
                Err("the container opted out (label dockerpulse.heal=off)")
            }
            Some(v) => Ok(HealAction::parse(&v)
                .filter(|a| !matches!(a, HealAction::Escalate | HealAction::Unpause))),
            None => Ok(self.cfg.containers.get(s.name).copied()),
        }
    }

    /// Counts each Swarm service's tasks among this tick's containers (their labels).
    pub fn observe_services<'a>(
        &mut self,
        fleet: impl Iterator<Item = &'a BTreeMap<String, String>>,
    ) {
        self.services.observe(fleet);
    }

    /// Checks a manual action on a Swarm task against the same rules as an automatic one (only
    /// a restart; the service-wide cap), and counts it when allowed.
    pub fn admit_manual(
        &mut self,
        s: &Subject,
        action: HealAction,
        now_ms: i64,
    ) -> Result<(), Block> {
        let Some(service) = s.service else {
            return Ok(());
        };
        if !matches!(action, HealAction::Restart) {
            return Err(Block::SwarmTask);
        }
        self.lease(service, now_ms)
    }

    /// One more action on one of `service`'s tasks, if the service-wide cap allows it now
    /// (counted when it does). On a hub this is also the lease its agents ask for: its guard
    /// counts every node's tasks, so the cap holds across nodes.
    pub fn lease(&mut self, service: &str, now_ms: i64) -> Result<(), Block> {
        let (share, window) = (self.cfg.service_max_share, ms(self.cfg.service_window));
        if !self.services.admits(service, share, now_ms, window) {
            return Err(Block::ServiceCap {
                service: service.to_string(),
                allowed: self.services.allowed(service, share),
            });
        }
        self.services.acted(service, now_ms);
        Ok(())
    }

    /// The mode that applies to a container: its `dockerpulse.mode` label, else the global one.
    pub fn mode_for(&self, s: &Subject) -> HealMode {
        match s
            .labels
            .get(MODE_LABEL)
            .map(|v| v.trim().to_ascii_lowercase())
        {
            Some(v) if v == "enforce" => HealMode::Enforce,
            Some(v) if v == "dry-run" || v == "dry_run" || v == "dryrun" => HealMode::DryRun,
            _ => self.cfg.mode,
        }
    }

    pub fn needs_human(&self, id: &str) -> bool {
        self.states.get(id).is_some_and(|s| s.guard.breaker_open)
    }

    /// Closes the breaker (a human looked at it) and starts the counts afresh.
    pub fn reset_breaker(&mut self, id: &str) {
        if let Some(s) = self.states.get_mut(id) {
            *s = State::default();
            self.dirty.insert(id.to_string());
        }
    }

    /// A container's guard, if it has any state.
    pub fn guard(&self, id: &str) -> Option<&Guard> {
        self.states.get(id).map(|s| &s.guard)
    }

    pub fn fleet(&self) -> &FleetGuard {
        &self.fleet
    }

    /// Rebuilds a container's guard from the store (at start).
    pub fn restore(&mut self, id: &str, guard: Guard) {
        self.states.entry(id.to_string()).or_default().guard = guard;
    }

    pub fn restore_fleet(&mut self, fleet: FleetGuard) {
        self.fleet = fleet;
    }

    /// Takes back an action whose record could not be committed: the guards return to what
    /// they were before `decide` (which is also what the store holds).
    pub fn rollback(&mut self, id: &str, before: Option<Guard>, decided_ms: i64) {
        let st = self.states.entry(id.to_string()).or_default();
        st.guard = before.unwrap_or_default();
        self.fleet.remove(decided_ms);
        // Stored again as they were, so that a restart resumes from the rolled-back guards.
        self.dirty.insert(id.to_string());
        self.dirty.insert(FLEET_KEY.to_string());
    }

    /// The guards changed since the last call: their names ([`FLEET_KEY`] for the fleet's).
    pub fn take_dirty(&mut self) -> Vec<String> {
        std::mem::take(&mut self.dirty).into_iter().collect()
    }

    /// Drops the state of containers that are gone, unless their guard still matters (an open
    /// breaker is a human's call; a recent action still counts if the name comes back).
    pub fn retain(&mut self, present: &std::collections::HashSet<&str>) {
        let now = self.now_ms;
        self.states
            .retain(|id, st| present.contains(id.as_str()) || !st.guard.is_idle(now));
        self.fleet_queue.retain(|q| present.contains(q.as_str()));
        self.held = self
            .states
            .keys()
            .filter(|id| !present.contains(id.as_str()))
            .count();
    }

    /// Containers with state, for the bookkeeping checks: those present at the last
    /// [`Policy::retain`], and those gone but held.
    pub fn tracked(&self) -> (usize, usize) {
        let held = self.held.min(self.states.len());
        (self.states.len() - held, held)
    }

    /// Decides for one container at one tick.
    pub fn decide(&mut self, s: &Subject, now: &Situation) -> Verdict {
        let opt_in = self.opt_in(s);
        let mode = self.mode_for(s);
        let t = now.ts_ms;
        self.now_ms = self.now_ms.max(t);
        let states = &self.states;
        self.fleet_queue.retain(|q| {
            q == s.id
                || states
                    .get(q)
                    .is_some_and(|st| t - st.last_seen_ms <= STALE_QUEUE_MS)
        });
        let cfg = &self.cfg;
        let st = self.states.entry(s.id.to_string()).or_default();
        st.last_seen_ms = t;
        st.guard.expire(t);
        self.fleet.expire(t);

        let hot = !now.warming_up && now.failure_probability >= cfg.threshold_pct;
        if !hot {
            self.fleet_queue.retain(|q| q != s.id);
            st.streak = 0;
            st.last_block = None;
            let calm_since = *st.calm_since_ms.get_or_insert(t);
            if t - calm_since >= ms(cfg.backoff_reset) && st.guard.restarts > 0 {
                st.guard.restarts = 0;
                self.dirty.insert(s.id.to_string());
            }
            return Verdict::Nothing;
        }
        st.calm_since_ms = None;
        st.streak += 1;
        if st.streak < cfg.streak.max(1) {
            return Verdict::Nothing;
        }

        let action = match opt_in {
            Ok(Some(a)) => a,
            Ok(None) => cfg.default_action,
            Err(why) => return report_once(st, cfg.default_action, Block::Excluded(why)),
        };
        if st.guard.breaker_open {
            return report_once(st, action, Block::BreakerOpen);
        }
        // A relapse soon after an enforced action means the action did not help.
        if let Some(at) = st.guard.last_enforced_ms {
            if t - at <= ms(cfg.breaker_window) {
                st.guard.relapses += 1;
                st.guard.last_enforced_ms = None;
                self.dirty.insert(s.id.to_string());
                if st.guard.relapses >= cfg.breaker_failures.max(1) {
                    st.guard.breaker_open = true;
                    st.last_block = Some(Block::BreakerOpen.kind());
                    return Verdict::Escalate {
                        reason: format!(
                            "{} relapses within {} s of being healed: stopped acting, needs a human",
                            st.guard.relapses,
                            cfg.breaker_window.as_secs()
                        ),
                    };
                }
            }
        }
        if mode == HealMode::Enforce && opt_in == Ok(None) {
            return report_once(st, action, Block::NotOptedIn);
        }
        if !s.running {
            return report_once(st, action, Block::NotRunning);
        }
        if let Some(started) = s.started_at_ms {
            let remaining = s.start_period_ms - (t - started);
            if remaining > 0 {
                return report_once(
                    st,
                    action,
                    Block::StartPeriod {
                        remaining_ms: remaining,
                    },
                );
            }
        }
        let g = &st.guard;
        if let Some(last) = g.last_action_ms {
            let remaining = ms(cfg.cooldown) - (t - last);
            if remaining > 0 {
                return report_once(
                    st,
                    action,
                    Block::Cooldown {
                        remaining_ms: remaining,
                    },
                );
            }
        }
        if action == HealAction::Restart && g.restarts > 0 {
            let exp = g.restarts.saturating_sub(1).min(20);
            let wait = ms(cfg.backoff_initial)
                .saturating_mul(1i64 << exp)
                .min(ms(cfg.backoff_max));
            let since = t - g.last_restart_ms.unwrap_or(i64::MIN / 2);
            if since < wait {
                let restarts = g.restarts;
                return report_once(
                    st,
                    action,
                    Block::Backoff {
                        remaining_ms: wait - since,
                        restarts,
                    },
                );
            }
        }
        if let Some(service) = s.service {
            if action != HealAction::Restart {
                return report_once(st, action, Block::SwarmTask);
            }
            let (share, window) = (cfg.service_max_share, ms(cfg.service_window));
            if !self.services.admits(service, share, t, window) {
                let allowed = self.services.allowed(service, share);
                let block = Block::ServiceCap {
                    service: service.to_string(),
                    allowed,
                };
                return report_once(st, action, block);
            }
        }
        let g = &st.guard;
        if g.recent.len() >= cfg.max_per_hour as usize {
            return report_once(
                st,
                action,
                Block::HourlyCap {
                    max: cfg.max_per_hour,
                },
            );
        }
        let full = self.fleet.recent.len() >= cfg.fleet_max_per_minute as usize;
        let someone_waited_longer = self.fleet_queue.front().is_some_and(|q| q != s.id);
        if full || someone_waited_longer {
            if !self.fleet_queue.iter().any(|q| q == s.id) {
                self.fleet_queue.push_back(s.id.to_string());
            }
            return report_once(
                st,
                action,
                Block::FleetCap {
                    max: cfg.fleet_max_per_minute,
                },
            );
        }

        self.fleet_queue.retain(|q| q != s.id);
        st.streak = 0;
        st.last_block = None;
        let g = &mut st.guard;
        g.last_action_ms = Some(t);
        g.recent.push_back(t);
        self.fleet.recent.push_back(t);
        if action == HealAction::Restart {
            g.restarts += 1;
            g.last_restart_ms = Some(t);
        }
        if let Some(service) = s.service {
            // Not taken back if the record then fails: the cap errs on the side of acting less.
            self.services.acted(service, t);
        }
        self.dirty.insert(s.id.to_string());
        self.dirty.insert(FLEET_KEY.to_string());
        let reason = format!(
            "failure probability {:.0} % ≥ {:.0} % for {} ticks ({})",
            now.failure_probability,
            cfg.threshold_pct,
            cfg.streak.max(1),
            now.level.as_str()
        );
        Verdict::Act {
            action,
            mode,
            reason,
        }
    }

    /// Feeds back the engine's answer to an action the policy asked for.
    pub fn outcome(&mut self, id: &str, mode: HealMode, ok: bool, ts_ms: i64) {
        if mode != HealMode::Enforce {
            return;
        }
        let failures = self.cfg.breaker_failures.max(1);
        let Some(st) = self.states.get_mut(id) else {
            return;
        };
        if ok {
            st.guard.last_enforced_ms = Some(ts_ms);
        } else {
            count_relapse(&mut st.guard, failures);
        }
        self.dirty.insert(id.to_string());
    }

    /// Feeds back whether a restart held. One that did not counts like a relapse; returns
    /// true when that opened the breaker.
    pub fn verified(&mut self, id: &str, held: bool) -> bool {
        let failures = self.cfg.breaker_failures.max(1);
        let Some(st) = self.states.get_mut(id) else {
            return false;
        };
        if held || st.guard.breaker_open {
            return false;
        }
        count_relapse(&mut st.guard, failures);
        self.dirty.insert(id.to_string());
        st.guard.breaker_open
    }
}

fn count_relapse(g: &mut Guard, failures: u32) {
    g.relapses += 1;
    g.last_enforced_ms = None;
    if g.relapses >= failures {
        g.breaker_open = true;
    }
}

/// Reports a block once per streak and kind, so a container stuck at 100 % does not flood the
/// decision log with the same reason every second.
fn report_once(st: &mut State, action: HealAction, block: Block) -> Verdict {
    if st.last_block == Some(block.kind()) {
        return Verdict::Nothing;
    }
    st.last_block = Some(block.kind());
    Verdict::Blocked { action, block }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
