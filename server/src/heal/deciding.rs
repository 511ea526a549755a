//! From an assessed container to a stored decision: the policy's verdict becomes a record that
//! goes to the store's writer with the guards it changed, counted and announced. An enforced
//! action (or a manual one) waits there for its record to be committed.

use super::awaiting::Awaiting;
use super::guard::{Guard, FLEET_KEY};
use super::{day, policy, records, Healer, ManualReply};
use crate::clock::now_ms;
use crate::store::db::GuardRow;
use crate::store::writer::{Op, StoreWriter, Ticket};
use app::wire::{Assessment, ContainerInfo, Intervention, Outcome};

impl Healer {
    /// Decides on one assessed container; returns true when something was recorded.
    pub fn decide(
        &mut self,
        info: &ContainerInfo,
        a: &Assessment,
        incident: Option<&str>,
        store: &mut StoreWriter,
    ) -> bool {
        // One action at a time: until its record is committed (or refused) nothing else is
        // decided for this container.
        if self.awaiting.has(&info.name) {
            return false;
        }
        let situation = policy::Situation {
            ts_ms: a.ts_ms,
            failure_probability: a.failure_probability,
            level: a.level,
            warming_up: a.warming_up,
        };
        let before = self.policy.guard(&info.name).cloned();
        let verdict = {
            let subject = self.subject(info);
            self.policy.decide(&subject, &situation)
        };
        let mode = self.policy.mode_for(&self.subject(info));
        let rec = match records::from_verdict(verdict, info, a, incident, mode) {
            Some(rec) => rec,
            None => {
                // A guard may have changed without a record (calm resets the backoff).
                self.save_dirty(store, a.ts_ms);
                return false;
            }
        };
        self.record(rec, before, None, store);
        true
    }

    /// Hands a decision whose outcome is final to the notifier (pending ones wait for it).
    pub(super) fn announce(&self, rec: &Intervention) {
        if let (Some(n), Some(ev)) = (&self.notify, crate::notify::intervention_event(rec)) {
            n.send(ev);
        }
    }

    /// The policy's changed guards, ready to store.
    pub(super) fn dirty_rows(&mut self) -> Vec<GuardRow> {
        self.policy
            .take_dirty()
            .into_iter()
            .filter_map(|name| {
                let (state, breaker_open) = if name == FLEET_KEY {
                    (serde_json::to_string(self.policy.fleet()), false)
                } else {
                    let g = self.policy.guard(&name).cloned().unwrap_or_default();
                    (serde_json::to_string(&g), g.breaker_open)
                };
                match state {
                    Ok(state) => Some(GuardRow {
                        container_name: name,
                        breaker_open,
                        state,
                    }),
                    Err(e) => {
                        tracing::error!(error = %e, "guard could not be serialised");
                        None
                    }
                }
            })
            .collect()
    }

    pub(super) fn save_dirty(&mut self, store: &mut StoreWriter, at_ms: i64) {
        let guards = self.dirty_rows();
        if !guards.is_empty() {
            store.send(Op::Guards { guards, at_ms });
        }
    }

    /// Stores a decision and counts it. Enforced actions wait for their record to be committed
    /// (see [`Healer::on_ack`]); so do manual ones, whose reply carries the stored id.
    pub(super) fn record(
        &mut self,
        rec: Intervention,
        before: Option<Guard>,
        reply: Option<ManualReply>,
        store: &mut StoreWriter,
    ) {
        let guards = self.dirty_rows();
        tracing::info!(container = %rec.container_name, decision = %records::words(&rec), "healing decision");
        self.announce(&rec);
        self.last_decision
            .insert(rec.container_name.clone(), records::words(&rec));
        if rec.outcome.is_intervention() && !rec.manual {
            self.count(&rec.container_name, rec.decided_ms, 1);
        }
        let ticket = (rec.outcome == Outcome::Pending || reply.is_some()).then(|| {
            let deadline_ms = rec.decided_ms.max(now_ms())
                + crate::util::ms(self.policy.config().record_deadline);
            self.awaiting.add(Awaiting {
                rec: rec.clone(),
                before,
                reply,
                deadline_ms,
                refused: false,
            })
        });
        if let Some(t) = ticket {
            if rec.outcome == Outcome::Pending {
                self.last_decision.insert(
                    rec.container_name.clone(),
                    format!("{} — waiting for its record", records::words(&rec)),
                );
            }
            store.send(Op::Decision {
                rec,
                guards,
                ticket: Some(Ticket {
                    id: t.0,
                    deadline_ms: t.1,
                }),
            });
        } else {
            store.send(Op::Decision {
                rec,
                guards,
                ticket: None,
            });
        }
    }

    pub(super) fn count(&mut self, name: &str, ts_ms: i64, delta: i64) {
        let n = self.counters.entry(name.to_string()).or_default();
        *n = n.saturating_add_signed(delta);
        if day(ts_ms) != self.today.0 {
            self.today = (day(ts_ms), 0);
        }
        self.today.1 = self.today.1.saturating_add_signed(delta);
    }
}
