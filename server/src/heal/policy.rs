//! The healing policy: from the brain's assessments, container labels and the history of
//! interventions, decide per container and tick whether to act, how, and if not, why not.
//!
//! Pure and deterministic: time is the assessment's timestamp, nothing here touches the engine.
//! Guard rails, in the order they are checked: exclusion (`dockerpulse.heal=off`, DockerPulse's
//! own container), the circuit breaker, opt-in (enforce mode only), the per-container cooldown,
//! the restart backoff (10 s doubling to 5 min, as Kubernetes), the per-container hourly cap and
//! the fleet-wide cap per minute (blast radius).

use crate::util::ms;
use app::wire::{HealAction, HealMode, RiskLevel};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

/// Label that opts a container in, naming the action (`restart`, `pause`, `isolate`,
/// `throttle`), or opts it out for good (`off`).
pub const HEAL_LABEL: &str = "dockerpulse.heal";
/// Label that overrides the global mode for one container (`dry-run` or `enforce`).
pub const MODE_LABEL: &str = "dockerpulse.mode";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HealConfig {
    /// `dry_run` (record and count, touch nothing) or `enforce` (act on opted-in containers).
    pub mode: HealMode,
    /// Failure probability (%) at which healing acts.
    pub threshold_pct: f64,
    /// Consecutive ticks at or above the threshold before acting.
    pub streak: u32,
    /// Minimum time between two actions on the same container.
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
    /// Wait before the 2nd consecutive restart; doubles with each further restart.
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Calm time after which the restart backoff starts again from the beginning.
    #[serde(with = "humantime_serde")]
    pub backoff_reset: Duration,
    /// Interventions per container per hour, at most.
    pub max_per_hour: u32,
    /// Interventions across the fleet per minute, at most.
    pub fleet_max_per_minute: u32,
    /// Relapses after an enforced action that open the circuit breaker ("needs a human").
    pub breaker_failures: u32,
    /// A relapse this soon after an enforced action counts as the action having failed.
    #[serde(with = "humantime_serde")]
    pub breaker_window: Duration,
    /// Action recorded (simulated) in dry-run for containers that did not opt in.
    pub default_action: HealAction,
    /// Containers opted in by name, with their action (alternative to the label).
    pub containers: BTreeMap<String, HealAction>,
}

impl Default for HealConfig {
    fn default() -> Self {
        Self {
            mode: HealMode::DryRun,
            threshold_pct: 85.0,
            streak: 3,
            cooldown: Duration::from_secs(30),
            backoff_initial: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            backoff_reset: Duration::from_secs(600),
            max_per_hour: 6,
            fleet_max_per_minute: 3,
            breaker_failures: 3,
            breaker_window: Duration::from_secs(300),
            default_action: HealAction::Restart,
            containers: BTreeMap::new(),
        }
    }
}

impl HealConfig {
    /// Checks the settings the config file and `PUT /api/healing` can change.
    pub fn validate(&self) -> Result<(), String> {
        Self::check_threshold(self.threshold_pct)?;
        if self.streak == 0 {
            return Err("heal.streak must be at least 1".into());
        }
        if self.max_per_hour == 0 || self.fleet_max_per_minute == 0 || self.breaker_failures == 0 {
            return Err(
                "heal.max_per_hour, fleet_max_per_minute and breaker_failures must be at least 1"
                    .into(),
            );
        }
        Ok(())
    }

    pub fn check_threshold(t: f64) -> Result<(), String> {
        if t.is_finite() && t > 0.0 && t <= 100.0 {
            Ok(())
        } else {
            Err(format!("heal.threshold_pct must be in (0, 100], got {t}"))
        }
    }
}

/// The container a decision is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub running: bool,
    /// DockerPulse's own container: never acted on.
    pub is_self: bool,
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
                format!("waiting: cooldown, {:.0} s left", *remaining_ms as f64 / 1000.0)
            }
            Block::Backoff { remaining_ms, restarts } => format!(
                "waiting: restart backoff after {restarts} restart(s), {:.0} s left",
                *remaining_ms as f64 / 1000.0
            ),
            Block::HourlyCap { max } => format!("not acted: {max} interventions in the last hour (cap)"),
            Block::FleetCap { max } => {
                format!("not acted: fleet-wide cap of {max} interventions per minute reached")
            }
            Block::NotRunning => "not acted: the container is not running".into(),
        }
    }
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

#[derive(Debug, Default, Clone)]
struct State {
    streak: u32,
    last_action_ms: Option<i64>,
    /// Consecutive restarts (for the backoff) and when the last one happened.
    restarts: u32,
    last_restart_ms: Option<i64>,
    calm_since_ms: Option<i64>,
    recent: VecDeque<i64>,
    /// Last enforced, successful action (for relapse detection).
    last_enforced_ms: Option<i64>,
    relapses: u32,
    breaker_open: bool,
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
    fleet_recent: VecDeque<i64>,
    /// Containers held back by the fleet-wide cap, first come first served, so a storm spreads
    /// the allowed actions over different containers instead of restarting the same ones.
    fleet_queue: VecDeque<String>,
}

const HOUR_MS: i64 = 3_600_000;
/// A queued container not decided on for this long leaves the fleet queue.
const STALE_QUEUE_MS: i64 = 5_000;
const MINUTE_MS: i64 = 60_000;

impl Policy {
    pub fn new(cfg: HealConfig) -> Self {
        Self {
            cfg,
            states: HashMap::new(),
            fleet_recent: VecDeque::new(),
            fleet_queue: VecDeque::new(),
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
        self.states.get(id).is_some_and(|s| s.breaker_open)
    }

    /// Closes the breaker (a human looked at it) and starts the counts afresh.
    pub fn reset_breaker(&mut self, id: &str) {
        if let Some(s) = self.states.get_mut(id) {
            *s = State::default();
        }
    }

    /// Restores an open breaker after a restart of DockerPulse.
    pub fn restore_breaker(&mut self, id: &str) {
        self.states.entry(id.to_string()).or_default().breaker_open = true;
    }

    /// Drops the state of containers that are gone (an open breaker is kept: it is a human's
    /// call) and takes them out of the fleet queue.
    pub fn retain(&mut self, present: &std::collections::HashSet<&str>) {
        self.states
            .retain(|id, st| present.contains(id.as_str()) || st.breaker_open);
        self.fleet_queue.retain(|q| present.contains(q.as_str()));
    }

    /// Decides for one container at one tick.
    pub fn decide(&mut self, s: &Subject, now: &Situation) -> Verdict {
        let opt_in = self.opt_in(s);
        let mode = self.mode_for(s);
        let t = now.ts_ms;
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
        while st.recent.front().is_some_and(|&x| t - x >= HOUR_MS) {
            st.recent.pop_front();
        }
        while self
            .fleet_recent
            .front()
            .is_some_and(|&x| t - x >= MINUTE_MS)
        {
            self.fleet_recent.pop_front();
        }

        let hot = !now.warming_up && now.failure_probability >= cfg.threshold_pct;
        if !hot {
            self.fleet_queue.retain(|q| q != s.id);
            st.streak = 0;
            st.last_block = None;
            let calm_since = *st.calm_since_ms.get_or_insert(t);
            if t - calm_since >= ms(cfg.backoff_reset) {
                st.restarts = 0;
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
        if st.breaker_open {
            return report_once(st, action, Block::BreakerOpen);
        }
        // A relapse soon after an enforced action means the action did not help.
        if let Some(at) = st.last_enforced_ms {
            if t - at <= ms(cfg.breaker_window) {
                st.relapses += 1;
                st.last_enforced_ms = None;
                if st.relapses >= cfg.breaker_failures.max(1) {
                    st.breaker_open = true;
                    st.last_block = Some(Block::BreakerOpen.kind());
                    return Verdict::Escalate {
                        reason: format!(
                            "{} relapses within {} s of being healed: stopped acting, needs a human",
                            st.relapses,
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
        if let Some(last) = st.last_action_ms {
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
        if action == HealAction::Restart && st.restarts > 0 {
            let exp = st.restarts.saturating_sub(1).min(20);
            let wait = ms(cfg.backoff_initial)
                .saturating_mul(1i64 << exp)
                .min(ms(cfg.backoff_max));
            let since = t - st.last_restart_ms.unwrap_or(i64::MIN / 2);
            if since < wait {
                return report_once(
                    st,
                    action,
                    Block::Backoff {
                        remaining_ms: wait - since,
                        restarts: st.restarts,
                    },
                );
            }
        }
        if st.recent.len() >= cfg.max_per_hour as usize {
            return report_once(
                st,
                action,
                Block::HourlyCap {
                    max: cfg.max_per_hour,
                },
            );
        }
        let full = self.fleet_recent.len() >= cfg.fleet_max_per_minute as usize;
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
        st.last_action_ms = Some(t);
        st.recent.push_back(t);
        self.fleet_recent.push_back(t);
        if action == HealAction::Restart {
            st.restarts += 1;
            st.last_restart_ms = Some(t);
        }
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

    /// Feeds back the outcome of an action the policy asked for.
    pub fn outcome(&mut self, id: &str, mode: HealMode, ok: bool, ts_ms: i64) {
        let cfg_failures = self.cfg.breaker_failures.max(1);
        let Some(st) = self.states.get_mut(id) else {
            return;
        };
        if mode != HealMode::Enforce {
            return;
        }
        if ok {
            st.last_enforced_ms = Some(ts_ms);
        } else {
            st.relapses += 1;
            if st.relapses >= cfg_failures {
                st.breaker_open = true;
            }
        }
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
