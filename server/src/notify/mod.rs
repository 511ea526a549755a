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
mod deliver;
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
    use super::redact;

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
