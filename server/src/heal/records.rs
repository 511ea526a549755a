//! Turning the policy's verdicts (and manual requests) into intervention records, and records
//! into the words the page shows.

use super::policy::Verdict;
use app::wire::{Assessment, ContainerInfo, HealAction, HealMode, Intervention, Outcome};

/// The record of a verdict; `None` when there is nothing to record.
pub fn from_verdict(
    verdict: Verdict,
    info: &ContainerInfo,
    a: &Assessment,
    incident: Option<&str>,
    mode: HealMode,
) -> Option<Intervention> {
    let mut rec = blank(info, a.ts_ms, mode);
    rec.incident_id = incident.map(str::to_string);
    rec.failure_probability = a.failure_probability;
    match verdict {
        Verdict::Nothing => return None,
        Verdict::Act {
            action,
            mode,
            reason,
        } => {
            rec.action = action;
            rec.mode = mode;
            rec.reason = reason;
            rec.outcome = match mode {
                HealMode::DryRun => Outcome::Simulated,
                HealMode::Enforce => Outcome::Pending,
            };
        }
        Verdict::Blocked { action, block } => {
            rec.action = action;
            rec.reason = block.describe();
        }
        Verdict::Escalate { reason } => {
            rec.action = HealAction::Escalate;
            rec.outcome = Outcome::Escalated;
            rec.reason = reason;
        }
    }
    Some(rec)
}

/// The record of an action a human asked for.
pub fn manual(
    info: &ContainerInfo,
    action: HealAction,
    mode: HealMode,
    now_ms: i64,
) -> Intervention {
    Intervention {
        action,
        manual: true,
        outcome: match mode {
            HealMode::DryRun => Outcome::Simulated,
            HealMode::Enforce => Outcome::Pending,
        },
        reason: "requested through the API".into(),
        ..blank(info, now_ms, mode)
    }
}

/// The record of a service-wide restart a human asked for: named `service:NAME` (see
/// [`app::wire::service_record_name`]) with the service's id, so it is never taken for a
/// container's.
pub fn service_restart(
    t: &super::service::ServiceTarget,
    mode: HealMode,
    now_ms: i64,
) -> Intervention {
    let info = ContainerInfo {
        id: t.id.clone(),
        name: app::wire::service_record_name(&t.name),
        ..ContainerInfo::default()
    };
    Intervention {
        action: HealAction::Restart,
        manual: true,
        outcome: match mode {
            HealMode::DryRun => Outcome::Simulated,
            HealMode::Enforce => Outcome::Pending,
        },
        reason: "requested through the API: a service-wide restart through Swarm (service update --force), its tasks replaced under the service's own update_config".into(),
        ..blank(&info, now_ms, mode)
    }
}

/// The record of the breaker opening because restarts did not hold.
pub fn escalation(container_id: &str, name: &str, ts_ms: i64, failures: u32) -> Intervention {
    let info = ContainerInfo {
        id: container_id.to_string(),
        name: name.to_string(),
        ..ContainerInfo::default()
    };
    Intervention {
        action: HealAction::Escalate,
        outcome: Outcome::Escalated,
        reason: format!(
            "{failures} healings failed or did not hold: stopped acting, needs a human"
        ),
        ..blank(&info, ts_ms, HealMode::Enforce)
    }
}

fn blank(info: &ContainerInfo, ts_ms: i64, mode: HealMode) -> Intervention {
    Intervention {
        id: 0,
        incident_id: None,
        container_id: info.id.clone(),
        container_name: info.name.clone(),
        decided_ms: ts_ms,
        started_ms: None,
        finished_ms: None,
        action: HealAction::Restart,
        mode,
        manual: false,
        outcome: Outcome::Blocked,
        reason: String::new(),
        detail: None,
        failure_probability: 0.0,
        held: None,
        verification: None,
    }
}

/// A record in words, as the card's "last decision" shows it.
pub fn words(rec: &Intervention) -> String {
    match rec.outcome {
        Outcome::Simulated => format!("would {} (dry-run): {}", rec.action.as_str(), rec.reason),
        Outcome::Pending => format!("{}: {}", rec.action.as_str(), rec.reason),
        Outcome::Succeeded | Outcome::Failed => format!(
            "{} {}: {}",
            rec.action.as_str(),
            rec.outcome.as_str(),
            rec.detail.as_deref().unwrap_or_default()
        ),
        Outcome::Blocked | Outcome::Escalated => rec.reason.clone(),
    }
}
