//! Telling the outside world: incidents announced to Alertmanager (`POST /api/v2/alerts`, one
//! alert per incident, repeated while open, resolved on close) and to webhooks (generic and
//! signed per Standard Webhooks, Slack, Teams).
//!
//! The incident log hands events over a channel ([`NotifyTx`], never blocking the loop); the
//! worker ([`worker`]) turns each into one delivery per destination in a durable outbox in
//! SQLite and delivers them: in order per destination, retried with backoff and jitter
//! ([`retry`]), `Retry-After` honoured, paced per destination, a 410 disabling the
//! destination. What is sent is built by [`payload`] and signed by [`sign`], both pure.

pub mod config;
pub mod deliver;
pub mod facts;
pub mod payload;
pub mod retry;
pub mod sign;
pub mod worker;

use app::wire::NotifyStatus;
use payload::EventFacts;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// What the incident log tells the notifier.
#[derive(Debug, Clone, PartialEq)]
pub enum NotifyEvent {
    /// An incident opened (`facts.kind` is `Opened`).
    Opened(EventFacts),
    /// A container entered the critical zone (`facts.kind` is `Critical`).
    Critical(EventFacts),
    /// An open incident got worse: what later announcements say.
    Peaked {
        incident_id: String,
        probability: f64,
        level: String,
        reasons: Vec<String>,
    },
    Closed {
        incident_id: String,
        closed_ms: i64,
        why: String,
    },
    /// A healing decision with a final outcome (`kind`: `Action`, `Refused` or `Breaker`).
    Intervention {
        kind: config::EventKind,
        incident_id: Option<String>,
        container_id: String,
        container_name: String,
        failure_probability: f64,
        at_ms: i64,
        action: payload::ActionFacts,
    },
}

/// The event a healing decision makes, once its outcome is final: `action` for one carried
/// out or simulated, `refused` for one a guard (or the store) stopped, `breaker` for an
/// escalation; none while pending.
pub fn intervention_event(rec: &app::wire::Intervention) -> Option<NotifyEvent> {
    use app::wire::Outcome;
    let kind = match rec.outcome {
        Outcome::Simulated | Outcome::Succeeded | Outcome::Failed => config::EventKind::Action,
        Outcome::Blocked => config::EventKind::Refused,
        Outcome::Escalated => config::EventKind::Breaker,
        Outcome::Pending => return None,
    };
    Some(NotifyEvent::Intervention {
        kind,
        incident_id: rec.incident_id.clone(),
        container_id: rec.container_id.clone(),
        container_name: rec.container_name.clone(),
        failure_probability: rec.failure_probability,
        at_ms: rec.finished_ms.unwrap_or(rec.decided_ms),
        action: payload::ActionFacts {
            action: rec.action.as_str().into(),
            mode: rec.mode.as_str().into(),
            outcome: rec.outcome.as_str().into(),
            reason: rec.reason.clone(),
            detail: rec.detail.clone(),
            manual: rec.manual,
        },
    })
}

/// The incident log's side of the channel. Sending never blocks; with no notifier running
/// (none configured) events are simply dropped.
#[derive(Debug, Clone)]
pub struct NotifyTx(mpsc::UnboundedSender<NotifyEvent>);

impl NotifyTx {
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<NotifyEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }

    pub fn send(&self, ev: NotifyEvent) {
        let _ = self.0.send(ev);
    }
}

/// The deliveries' state, as the worker last saw it (read by `/api/health`).
#[derive(Debug, Clone, Default)]
pub struct NotifyHandle(Arc<Mutex<NotifyStatus>>);

impl NotifyHandle {
    pub fn status(&self) -> NotifyStatus {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, s: NotifyStatus) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = s;
    }
}

/// What may be shown of a URL: its scheme, host and port. Slack's and Teams' webhook URLs are
/// secrets in their paths; Alertmanager URLs may carry credentials.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "(invalid URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_final_outcomes_are_announced() {
        use app::wire::{HealAction, Intervention, Outcome};
        let mut rec = Intervention {
            id: 1,
            incident_id: None,
            container_id: "abc".into(),
            container_name: "web".into(),
            decided_ms: 5,
            started_ms: None,
            finished_ms: None,
            action: HealAction::Restart,
            mode: app::wire::HealMode::Enforce,
            manual: false,
            outcome: Outcome::Pending,
            reason: "risk 90 %".into(),
            detail: None,
            failure_probability: 90.0,
            held: None,
            verification: None,
        };
        assert_eq!(intervention_event(&rec), None);
        for (o, k) in [
            (Outcome::Simulated, config::EventKind::Action),
            (Outcome::Succeeded, config::EventKind::Action),
            (Outcome::Failed, config::EventKind::Action),
            (Outcome::Blocked, config::EventKind::Refused),
            (Outcome::Escalated, config::EventKind::Breaker),
        ] {
            rec.outcome = o;
            match intervention_event(&rec) {
                Some(NotifyEvent::Intervention { kind, action, .. }) => {
                    assert_eq!(kind, k);
                    assert_eq!(action.outcome, o.as_str());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn urls_are_shown_without_their_secrets() {
        assert_eq!(
            redact("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            redact("http://user:pw@127.0.0.1:9093/path?token=x"),
            "http://127.0.0.1:9093"
        );
        assert_eq!(redact("not a url"), "(invalid URL)");
    }
}
