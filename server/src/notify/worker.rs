//! The notifier task: incident events in, deliveries queued in the outbox (SQLite), delivered
//! in order per destination, retried, paced; Alertmanager alerts repeated while their incident
//! is open. It is the only writer of the outbox; every store call runs off the async workers.
//!
//! Delivery is at least once: a delivery accepted just before DockerPulse was killed (before
//! its state was written) is sent again after the restart, with the same idempotency id.

use super::config::{AlertsConfig, EventKind};
use super::deliver::{self, Destination, Kind};
use super::facts;
use super::payload::EventFacts;
use super::retry::RateLimit;
use super::{NotifyEvent, NotifyHandle};
use crate::clock::now_ms;
use crate::store::db::{Db, NewOutbox, StoreError};
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod delivery;

/// The outbox is looked at least this often (new events wake it at once).
const POLL_MS: i64 = 1_000;
/// Finished deliveries are kept this long (the destination's history in `/api/health`).
const KEEP_DONE_MS: i64 = 30 * 86_400_000;
/// Root-cause hints quoted in an announcement, at most.
const HINTS_QUOTED: usize = 3;

pub struct Notifier {
    cfg: AlertsConfig,
    external_url: String,
    dests: Vec<Destination>,
    db: Db,
    client: reqwest::Client,
    /// Open incidents' facts (what repeats and the closing say), by incident id.
    open: HashMap<String, EventFacts>,
    limits: HashMap<String, RateLimit>,
    /// Destinations a 410 disabled, with why.
    disabled: HashMap<String, String>,
    handle: NotifyHandle,
    last_repeat_ms: i64,
    /// The fleet is the simulated demo: every announcement says so.
    pub simulated: bool,
}

/// Runs a store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    db: &Db,
    f: impl FnOnce(&Db) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    let db = db.clone();
    match tokio::task::spawn_blocking(move || f(&db)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

impl Notifier {
    pub fn new(cfg: AlertsConfig, external_url: String, db: Db) -> (Self, NotifyHandle) {
        let dests = Destination::all(&cfg);
        let handle = NotifyHandle::default();
        let n = Self {
            cfg,
            external_url,
            dests,
            db,
            client: deliver::client(),
            open: HashMap::new(),
            limits: HashMap::new(),
            disabled: HashMap::new(),
            handle: handle.clone(),
            last_repeat_ms: 0,
            simulated: false,
        };
        (n, handle)
    }

    /// Runs until `shutdown`, or until the incident log is gone.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<NotifyEvent>,
        shutdown: CancellationToken,
    ) {
        if self.dests.is_empty() {
            // Nothing to announce to: drain the channel so senders never notice.
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    ev = rx.recv() => if ev.is_none() { return },
                }
            }
        }
        self.start().await;
        let mut wake = now_ms();
        loop {
            let sleep = (wake - now_ms()).clamp(0, POLL_MS);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                ev = rx.recv() => match ev {
                    Some(ev) => { self.on_event(ev).await; wake = now_ms(); }
                    None => return,
                },
                _ = tokio::time::sleep(std::time::Duration::from_millis(sleep as u64)) => {
                    wake = self.deliver_due().await;
                    self.repeat().await;
                }
            }
        }
    }

    /// Open incidents and disabled destinations from the store; old deliveries pruned.
    async fn start(&mut self) {
        let now = now_ms();
        match blocking(&self.db, |db| db.open_incidents()).await {
            Ok(open) => {
                for s in open {
                    self.open.insert(
                        s.incident.id.clone(),
                        facts::of_incident(&s, EventKind::Opened, now),
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "notify: cannot read open incidents"),
        }
        let stored = blocking(&self.db, |db| db.outbox_destinations())
            .await
            .unwrap_or_default();
        for d in stored {
            let same = self
                .dests
                .iter()
                .find(|x| x.name == d.name)
                .is_some_and(|x| x.fingerprint() == d.target);
            if same && d.disabled_ms.is_some() {
                let why = d.disabled_reason.unwrap_or_default();
                self.disabled.insert(d.name, why);
            } else {
                let name = d.name.clone();
                let _ = blocking(&self.db, move |db| db.outbox_enable(&name)).await;
            }
        }
        let _ = blocking(&self.db, move |db| db.outbox_prune(now - KEEP_DONE_MS)).await;
        self.refresh_status().await;
    }

    /// The destinations an event goes to.
    fn routes(&self, kind: EventKind) -> Vec<&Destination> {
        self.dests
            .iter()
            .filter(|d| match d.kind {
                // Alertmanager gets the incident as one alert: firing, then resolved.
                Kind::Alertmanager => kind != EventKind::Critical,
                Kind::Webhook(_) => self.cfg.events.contains(&kind),
            })
            .collect()
    }

    /// Root-cause hints stored for an incident, as sentences.
    async fn hints_of(&self, incident_id: &str) -> Vec<String> {
        let id = incident_id.to_string();
        let diagnoses = blocking(&self.db, move |db| db.diagnoses_of(&id))
            .await
            .unwrap_or_default();
        let mut out: Vec<String> = Vec::new();
        for h in diagnoses.iter().flat_map(|d| d.hints.iter()) {
            if out.len() < HINTS_QUOTED && !out.contains(&h.sentence) {
                out.push(h.sentence.clone());
            }
        }
        out
    }

    async fn on_event(&mut self, ev: NotifyEvent) {
        let facts = match ev {
            NotifyEvent::Opened(f) => {
                self.open.insert(f.incident_id.clone(), f.clone());
                f
            }
            NotifyEvent::Critical(f) => f,
            NotifyEvent::Intervention {
                kind,
                incident_id,
                container_id,
                container_name,
                failure_probability,
                at_ms,
                action,
            } => {
                let known = incident_id.as_ref().and_then(|id| self.open.get(id));
                let d = facts::Decision {
                    kind,
                    incident_id: incident_id.clone(),
                    container_id,
                    container_name,
                    failure_probability,
                    at_ms,
                    action,
                };
                facts::of_decision(known, d, self.simulated)
            }
            NotifyEvent::Peaked {
                incident_id,
                probability,
                level,
                reasons,
            } => {
                if let Some(f) = self.open.get_mut(&incident_id) {
                    f.failure_probability = probability;
                    f.level = level;
                    f.reasons = reasons;
                }
                return;
            }
            NotifyEvent::Closed {
                incident_id,
                closed_ms,
                why,
            } => {
                let known = self.open.remove(&incident_id);
                let id = incident_id.clone();
                let stored = blocking(&self.db, move |db| db.incident(&id))
                    .await
                    .ok()
                    .flatten();
                let mut f = match (stored, known) {
                    (Some(s), _) => facts::of_incident(&s, EventKind::Closed, closed_ms),
                    (None, Some(f)) => f,
                    (None, None) => {
                        tracing::warn!(incident = %incident_id, "notify: closing of an unknown incident not announced");
                        return;
                    }
                };
                f.kind = EventKind::Closed;
                f.closed_ms = Some(closed_ms);
                f.why = Some(why);
                f.at_ms = closed_ms;
                f.hints = self.hints_of(&incident_id).await;
                f
            }
        };
        let Ok(json) = serde_json::to_string(&facts) else {
            return;
        };
        let rows: Vec<NewOutbox> = self
            .routes(facts.kind)
            .into_iter()
            .map(|d| NewOutbox {
                id: uuid::Uuid::new_v4().to_string(),
                destination: d.name.clone(),
                event: facts.kind.as_str().into(),
                incident_id: facts.incident_id.clone(),
                facts: json.clone(),
                created_ms: now_ms(),
                state: if self.disabled.contains_key(&d.name) {
                    "disabled"
                } else {
                    "pending"
                },
            })
            .collect();
        if rows.is_empty() {
            return;
        }
        if let Err(e) = blocking(&self.db, move |db| db.outbox_enqueue(&rows)).await {
            tracing::error!(error = %e, "notify: cannot queue deliveries: this event is not announced");
        }
        self.refresh_status().await;
    }

    /// Publishes each destination's state (for `/api/health`).
    async fn refresh_status(&self) {
        let summary = blocking(&self.db, |db| db.outbox_summary())
            .await
            .unwrap_or_default();
        self.handle
            .set(facts::status(&self.dests, &summary, &self.disabled));
    }
}

#[cfg(test)]
mod tests;
