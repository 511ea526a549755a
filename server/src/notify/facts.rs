//! Pure helpers of the notifier: the facts an announcement says, from a stored incident or a
//! healing decision, and each destination's state as `/api/health` shows it.

use super::config::EventKind;
use super::deliver::Destination;
use super::payload::{ActionFacts, EventFacts};
use crate::store::db::{OutboxSummary, StoredIncident};
use app::wire::{DeliveryState, DestinationStatus, NotifyStatus};
use std::collections::HashMap;

/// An incident as the store has it, as announcement facts.
pub fn of_incident(s: &StoredIncident, kind: EventKind, at_ms: i64) -> EventFacts {
    let i = &s.incident;
    EventFacts {
        kind,
        incident_id: i.id.clone(),
        container_id: i.container_id.clone(),
        container_name: i.container_name.clone(),
        host: i.host.clone(),
        level: i.peak_level.as_str().into(),
        failure_probability: i.peak_probability,
        reasons: i.reasons.iter().map(|r| r.text.clone()).collect(),
        hints: Vec::new(),
        trigger: i.trigger.clone(),
        opened_ms: i.opened_ms,
        closed_ms: i.closed_ms,
        why: i.close_reason.clone(),
        simulated: i.simulated,
        at_ms,
        action: None,
    }
}

/// A healing decision to announce.
#[derive(Debug, Clone)]
pub struct Decision {
    pub kind: EventKind,
    pub incident_id: Option<String>,
    pub container_id: String,
    pub container_name: String,
    pub failure_probability: f64,
    pub at_ms: i64,
    pub action: ActionFacts,
}

/// A decision's facts: those of its open incident when it has one (host, level, reasons), its
/// own otherwise.
pub fn of_decision(incident: Option<&EventFacts>, d: Decision, simulated: bool) -> EventFacts {
    let mut f = incident.cloned().unwrap_or_else(|| EventFacts {
        kind: d.kind,
        incident_id: d.incident_id.clone().unwrap_or_default(),
        container_id: d.container_id,
        container_name: d.container_name,
        host: String::new(),
        level: String::new(),
        failure_probability: d.failure_probability,
        reasons: Vec::new(),
        hints: Vec::new(),
        trigger: String::new(),
        opened_ms: d.at_ms,
        closed_ms: None,
        why: None,
        simulated,
        at_ms: d.at_ms,
        action: None,
    });
    f.kind = d.kind;
    f.at_ms = d.at_ms;
    f.failure_probability = d.failure_probability;
    f.action = Some(d.action);
    f
}

/// Each configured destination's state: misconfigured, disabled (a 410), retrying (attempts of
/// waiting deliveries failed), else ok.
pub fn status(
    dests: &[Destination],
    summary: &HashMap<String, OutboxSummary>,
    disabled: &HashMap<String, String>,
) -> NotifyStatus {
    let destinations = dests
        .iter()
        .map(|d| {
            let s = summary.get(&d.name).cloned().unwrap_or_default();
            let (state, reason) = if let Some(m) = &d.misconfigured {
                (DeliveryState::Misconfigured, Some(m.clone()))
            } else if let Some(why) = disabled.get(&d.name) {
                (DeliveryState::Disabled, Some(why.clone()))
            } else if s.failed_attempts > 0 {
                (DeliveryState::Retrying, None)
            } else {
                (DeliveryState::Ok, None)
            };
            DestinationStatus {
                name: d.name.clone(),
                kind: d.kind.as_str().into(),
                target: d.target.clone(),
                state,
                pending: s.pending,
                delivered: s.delivered,
                failed_attempts: s.failed_attempts,
                expired: s.expired,
                disabled: s.disabled,
                last_status: s.last_status,
                last_error: s.last_error,
                last_attempt_ms: s.last_attempt_ms,
                last_delivered_ms: s.last_delivered_ms,
                next_attempt_ms: (s.pending > 0).then_some(s.next_attempt_ms).flatten(),
                reason,
            }
        })
        .collect();
    NotifyStatus { destinations }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::{AlertsConfig, WebhookConfig, WebhookKind};

    #[test]
    fn states_in_order_of_gravity() {
        let cfg = AlertsConfig {
            webhooks: ["a", "b", "c", "d"]
                .iter()
                .map(|n| WebhookConfig {
                    kind: if *n == "d" {
                        WebhookKind::Generic
                    } else {
                        WebhookKind::Slack
                    },
                    url: format!("https://hooks.example/{n}/secret"),
                    name: Some((*n).into()),
                    secret: None,
                    secret_env: Some("DOCKERPULSE_TEST_SURELY_UNSET_VAR".into()),
                    per_minute: 30,
                })
                .collect(),
            ..AlertsConfig::default()
        };
        let dests = Destination::all(&cfg);
        let mut summary = HashMap::new();
        summary.insert(
            "b".to_string(),
            OutboxSummary {
                pending: 1,
                failed_attempts: 2,
                next_attempt_ms: Some(9),
                ..OutboxSummary::default()
            },
        );
        summary.insert(
            "c".to_string(),
            OutboxSummary {
                pending: 1,
                failed_attempts: 1,
                ..OutboxSummary::default()
            },
        );
        let disabled: HashMap<String, String> =
            [("c".to_string(), "answered 410 Gone".to_string())].into();
        let s = status(&dests, &summary, &disabled);
        let states: Vec<_> = s.destinations.iter().map(|d| d.state).collect();
        assert_eq!(
            states,
            [
                DeliveryState::Ok,
                DeliveryState::Retrying,
                DeliveryState::Disabled,
                DeliveryState::Misconfigured
            ]
        );
        assert_eq!(s.destinations[1].next_attempt_ms, Some(9));
        assert!(s.destinations.iter().all(|d| !d.target.contains("secret")));
        assert!(s.destinations[3]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("DOCKERPULSE_TEST_SURELY_UNSET_VAR")));
    }
}
