//! The notifier's sending: the outbox's due heads attempted at once (one per destination,
//! paced by its rate limit), each answer recorded as delivered, retried, disabled (410) or
//! given up, and Alertmanager's alerts sent again while their incident is open.

use super::{blocking, Notifier, POLL_MS};
use crate::clock::now_ms;
use crate::notify::deliver::{self, Destination, Kind};
use crate::notify::payload::EventFacts;
use crate::notify::retry::{judge, Attempt, RateLimit, Verdict};
use crate::store::db::OutboxRow;
use crate::util::ms;
use rand::Rng;

impl Notifier {
    /// Attempts every due head of the outbox (one per destination, at once); returns when to
    /// look again.
    pub(super) async fn deliver_due(&mut self) -> i64 {
        let now = now_ms();
        let mut wake = now + POLL_MS;
        let heads = match blocking(&self.db, |db| db.outbox_heads()).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "notify: cannot read the outbox");
                return wake;
            }
        };
        let mut due: Vec<(OutboxRow, Destination)> = Vec::new();
        for row in heads {
            let Some(dest) = self.dests.iter().find(|d| d.name == row.destination) else {
                continue; // no longer configured: kept, not sent
            };
            if dest.misconfigured.is_some() || self.disabled.contains_key(&dest.name) {
                continue;
            }
            if row.next_ms > now {
                wake = wake.min(row.next_ms);
                continue;
            }
            if let Some(pm) = dest.per_minute {
                let rl = self
                    .limits
                    .entry(dest.name.clone())
                    .or_insert_with(|| RateLimit::new(pm, now));
                if !rl.try_take(now) {
                    wake = wake.min(rl.next_ms());
                    continue;
                }
            }
            due.push((row, dest.clone()));
        }
        if due.is_empty() {
            return wake;
        }
        let (client, cfg, ext) = (&self.client, &self.cfg, self.external_url.as_str());
        let sends = due.iter().map(|(row, dest)| async move {
            match serde_json::from_str::<EventFacts>(&row.facts) {
                Ok(f) => deliver::attempt(client, dest, cfg, ext, &row.id, &f).await,
                Err(e) => deliver::Sent {
                    status: None,
                    retry_after_ms: None,
                    error: Some(format!("stored event unreadable: {e}")),
                },
            }
        });
        let results = futures_util::future::join_all(sends).await;
        for ((row, dest), sent) in due.into_iter().zip(results) {
            self.record(row, &dest, sent).await;
        }
        self.refresh_status().await;
        now_ms()
    }

    /// Writes what an attempt's answer means.
    async fn record(&mut self, row: OutboxRow, dest: &Destination, sent: deliver::Sent) {
        let now = now_ms();
        let number = row.attempts + 1;
        let a = Attempt {
            status: sent.status,
            retry_after_ms: sent.retry_after_ms,
            number,
            now_ms: now,
            created_ms: row.created_ms,
        };
        let verdict = judge(&self.cfg.retry, &a, rand::rng().random::<f64>());
        let (name, target, error) = (dest.name.clone(), dest.target.clone(), sent.error.clone());
        match &verdict {
            Verdict::Delivered => {
                tracing::info!(destination = %name, event = %row.event, incident = %row.incident_id, attempts = number, "notify: delivered")
            }
            Verdict::Retry { at_ms } => {
                tracing::warn!(destination = %name, %target, error = error.as_deref().unwrap_or(""), attempt = number, retry_in_ms = at_ms - now, "notify: delivery failed, will retry")
            }
            Verdict::Disable => {
                tracing::error!(destination = %name, %target, "notify: the destination answered 410 Gone: disabled until its URL changes")
            }
            Verdict::Expired => {
                tracing::error!(destination = %name, %target, error = error.as_deref().unwrap_or(""), "notify: delivery given up")
            }
        }
        let (state, next) = match verdict {
            Verdict::Delivered => ("delivered", now),
            Verdict::Retry { at_ms } => ("pending", at_ms),
            Verdict::Disable => ("disabled", now),
            Verdict::Expired => ("expired", now),
        };
        let id = row.id.clone();
        let status = sent.status;
        let err = error.clone();
        let r = blocking(&self.db, move |db| {
            db.outbox_attempted(&id, number, state, next, status, err.as_deref(), now)
        })
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "notify: cannot record an attempt (it will be made again)");
        }
        if state == "disabled" {
            let reason = format!(
                "answered 410 Gone at {}",
                chrono::DateTime::from_timestamp_millis(now)
                    .unwrap_or_default()
                    .to_rfc3339()
            );
            self.disabled.insert(name.clone(), reason.clone());
            let fp = dest.fingerprint();
            let _ = blocking(&self.db, move |db| {
                db.outbox_disable(&name, &fp, &reason, now)
            })
            .await;
        }
    }

    /// Alertmanager: every open incident's alert again, each `repeat_interval` (with its
    /// latest facts and hints), so that it stays firing as long as the incident is open.
    pub(super) async fn repeat(&mut self) {
        let now = now_ms();
        if now - self.last_repeat_ms < ms(self.cfg.repeat_interval) {
            return;
        }
        self.last_repeat_ms = now;
        let ams: Vec<Destination> = self
            .dests
            .iter()
            .filter(|d| d.kind == Kind::Alertmanager)
            .cloned()
            .collect();
        if ams.is_empty() || self.open.is_empty() {
            return;
        }
        let ids: Vec<String> = self.open.keys().cloned().collect();
        let mut alerts = Vec::new();
        for id in ids {
            let hints = self.hints_of(&id).await;
            if let Some(f) = self.open.get_mut(&id) {
                f.hints = hints;
                alerts.push((id, f.clone()));
            }
        }
        // All at once: an Alertmanager that does not answer holds up no other.
        let (client, cfg, ext) = (&self.client, &self.cfg, self.external_url.as_str());
        let sends = alerts.iter().flat_map(|(id, f)| {
            ams.iter().map(move |d| async move {
                let sent = deliver::attempt(client, d, cfg, ext, id, f).await;
                if let Some(e) = sent.error {
                    tracing::debug!(destination = %d.name, error = %e, "notify: repeat not accepted");
                }
            })
        });
        futures_util::future::join_all(sends).await;
    }
}
