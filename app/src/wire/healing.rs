//! Healing: how DockerPulse may act on a container, the healing state the cards show, and each
//! intervention with what came of it.

use serde::{Deserialize, Serialize};

/// How DockerPulse may act on a container.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[serde(rename_all = "snake_case")]
pub enum HealMode {
    /// Decisions are recorded and counted; nothing is touched.
    #[default]
    DryRun,
    /// Real actions on containers that opted in.
    Enforce,
}

impl HealMode {
    pub fn as_str(self) -> &'static str {
        match self {
            HealMode::DryRun => "dry-run",
            HealMode::Enforce => "enforce",
        }
    }
}

/// What healing can do to a container.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum HealAction {
    Restart,
    Pause,
    Unpause,
    /// Disconnect from its networks.
    Isolate,
    /// Lower its CPU quota.
    Throttle,
    /// Stop acting and ask a human.
    Escalate,
}

impl HealAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HealAction::Restart => "restart",
            HealAction::Pause => "pause",
            HealAction::Unpause => "unpause",
            HealAction::Isolate => "isolate",
            HealAction::Throttle => "throttle",
            HealAction::Escalate => "escalate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "restart" => Some(HealAction::Restart),
            "pause" => Some(HealAction::Pause),
            "unpause" => Some(HealAction::Unpause),
            "isolate" => Some(HealAction::Isolate),
            "throttle" => Some(HealAction::Throttle),
            "escalate" => Some(HealAction::Escalate),
            _ => None,
        }
    }
}

/// The healing state of one container, as the cards show it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HealView {
    pub mode: HealMode,
    /// The action it opted in to (`dockerpulse.heal` label or config); `None` when not opted in.
    pub opted_in: Option<HealAction>,
    /// `dockerpulse.heal=off`, or DockerPulse's own container.
    pub excluded: bool,
    /// Automatic interventions so far (simulated ones included).
    pub interventions: u64,
    /// Times the container entered the critical zone.
    pub critical_entries: u64,
    /// The circuit breaker is open: DockerPulse stopped acting and asks for a human.
    pub needs_human: bool,
    /// The open incident, if any (UUID).
    pub open_incident: Option<String>,
    /// The last decision, in words.
    pub last_decision: Option<String>,
}

/// Fleet-wide healing settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HealingStatus {
    pub mode: HealMode,
    /// Failure probability (%) at which healing acts.
    pub threshold_pct: f64,
    /// Consecutive ticks above the threshold before acting.
    pub streak: u32,
    /// Interventions today, fleet-wide.
    pub interventions_today: u64,
}

/// What came of an intervention.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Dry-run: recorded and counted, nothing touched.
    Simulated,
    /// Sent to the engine, not yet answered.
    Pending,
    Succeeded,
    Failed,
    /// Due, but a guard (opt-in, cooldown, backoff, caps, breaker) stopped it.
    Blocked,
    /// Handed over to a human (circuit breaker open).
    Escalated,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Simulated => "simulated",
            Outcome::Pending => "pending",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Blocked => "blocked",
            Outcome::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Outcome::Simulated,
            Outcome::Pending,
            Outcome::Succeeded,
            Outcome::Failed,
            Outcome::Blocked,
            Outcome::Escalated,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }

    /// Counts as an intervention (performed or simulated), as opposed to a decision not to act.
    pub fn is_intervention(self) -> bool {
        matches!(
            self,
            Outcome::Simulated | Outcome::Pending | Outcome::Succeeded | Outcome::Failed
        )
    }
}

/// One healing decision and what came of it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Intervention {
    pub id: i64,
    pub incident_id: Option<String>,
    pub container_id: String,
    pub container_name: String,
    /// When the policy decided (the tick's timestamp).
    pub decided_ms: i64,
    /// When the engine call started and finished (enforced actions only).
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub action: HealAction,
    pub mode: HealMode,
    /// Asked for through the API by a human rather than decided by the policy.
    pub manual: bool,
    pub outcome: Outcome,
    /// Why, in words.
    pub reason: String,
    /// The engine's answer or error.
    pub detail: Option<String>,
    pub failure_probability: f64,
    /// For restarts: whether the container held afterwards (running, and healthy when it has a
    /// health check) within the verification time; `None` until checked.
    #[serde(default)]
    pub held: Option<bool>,
    /// What the verification saw, in words.
    #[serde(default)]
    pub verification: Option<String>,
}
