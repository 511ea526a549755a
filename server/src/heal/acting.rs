//! Carrying out a committed action and taking in what became of it: the executor's task,
//! the reconciliation of actions an earlier run left pending, and the outcomes fed back to the
//! policy (a refused lease rolled back, a failure counted as a relapse, a restart verified).

use super::{records, ExecReport, Healer, ManualReply};
use crate::clock::now_ms;
use crate::store::writer::{Op, StoreWriter};
use app::wire::{HealAction, Intervention, Outcome};

impl Healer {
    /// Hands a committed action to the executor; its report comes back as [`ExecReport`]s.
    pub(super) fn execute(&mut self, mut rec: Intervention, reply: Option<ManualReply>) {
        if app::wire::service_of_record(&rec.container_name).is_some() {
            return self.execute_service(rec, reply);
        }
        self.last_decision
            .insert(rec.container_name.clone(), records::words(&rec));
        // Acting again ends the watch over the last restart: our own action is no crash loop.
        let watch = tokio_util::sync::CancellationToken::new();
        if let Some((_, before)) = self
            .verifying
            .insert(rec.container_name.clone(), (rec.id, watch.clone()))
        {
            before.cancel();
        }
        let executor = self.executor.clone();
        let reports = self.reports.clone();
        let verify_within = self.policy.config().verify_within;
        tokio::spawn(async move {
            let started = now_ms();
            let result = executor
                .perform(&rec.container_id, rec.action, rec.manual)
                .await;
            // No lease from the hub: not acted, and not the action failing either.
            let blocked = matches!(result, Err(super::executor::ExecError::Lease(_)));
            // A Swarm task's restart is its replacement: the old container is gone by design,
            // and the new task may start on another node. Nothing to verify here.
            let replaced = result.as_ref().is_ok_and(|p| p.replaced);
            let result = result.map(|p| p.text);
            rec.started_ms = Some(started);
            rec.finished_ms = Some(now_ms());
            let ok = result.is_ok();
            rec.outcome = if ok {
                Outcome::Succeeded
            } else if blocked {
                Outcome::Blocked
            } else {
                Outcome::Failed
            };
            rec.detail = Some(result.unwrap_or_else(|e| e.to_string()));
            if blocked {
                // Said first, as the store's refusals are; why it was decided stays on record.
                let why = std::mem::take(&mut rec.reason);
                rec.reason = format!("refused: {}", rec.detail.take().unwrap_or_default());
                rec.detail = Some(format!("decided because: {why}"));
            }
            let verify = ok && rec.action == HealAction::Restart && !replaced;
            let (id, name, manual) = (rec.id, rec.container_name.clone(), rec.manual);
            let container_id = rec.container_id.clone();
            let done = ExecReport::Done {
                intervention: rec.clone(),
                ok,
                reply,
            };
            if reports.send(done).await.is_err() {
                return;
            }
            let (held, text) = if verify {
                executor
                    .verify(&rec.container_id, verify_within, watch)
                    .await
            } else {
                (None, String::new())
            };
            let _ = reports
                .send(ExecReport::Verified {
                    id,
                    container_id,
                    name,
                    manual,
                    held,
                    text,
                    at_ms: now_ms(),
                })
                .await;
        });
    }

    /// Settles the actions left pending by an earlier run, in the background.
    pub(super) fn reconcile(&self, pending: Vec<Intervention>) {
        if pending.is_empty() {
            return;
        }
        tracing::warn!(
            count = pending.len(),
            "reconciling actions left pending by the last run"
        );
        let executor = self.executor.clone();
        let reports = self.reports.clone();
        tokio::spawn(async move {
            for mut rec in pending {
                let (outcome, detail) = executor.reconcile(&rec).await;
                rec.outcome = outcome;
                rec.detail = Some(detail);
                rec.started_ms = rec.started_ms.or(Some(rec.decided_ms));
                rec.finished_ms = Some(now_ms());
                let ok = outcome == Outcome::Succeeded;
                let done = ExecReport::Done {
                    intervention: rec,
                    ok,
                    reply: None,
                };
                if reports.send(done).await.is_err() {
                    return;
                }
            }
        });
    }

    /// The executor (or the reconciliation) reports.
    pub fn on_report(&mut self, report: ExecReport, store: &mut StoreWriter) {
        match report {
            ExecReport::ServiceFound { target, reply } => {
                self.on_service_found(target, reply, store)
            }
            ExecReport::Done {
                intervention: i,
                ok,
                reply,
            } => {
                tracing::info!(
                    container = %i.container_name,
                    action = i.action.as_str(),
                    outcome = i.outcome.as_str(),
                    detail = i.detail.as_deref().unwrap_or_default(),
                    "healing action finished"
                );
                self.announce(&i);
                let before = self.acting.remove(&i.id);
                match (i.manual, i.outcome) {
                    (true, _) => {}
                    // A refused lease: nothing was done, so nothing is counted (as when the
                    // store refuses), and it is no relapse of the container either.
                    (false, Outcome::Blocked) => {
                        self.policy
                            .rollback(&i.container_name, before.flatten(), i.decided_ms);
                        self.count(&i.container_name, i.decided_ms, -1);
                    }
                    (false, _) => {
                        let at = i.finished_ms.unwrap_or(i.decided_ms);
                        self.policy.outcome(&i.container_name, i.mode, ok, at);
                    }
                }
                store.send(Op::Finish {
                    id: i.id,
                    started_ms: i.started_ms.unwrap_or_default(),
                    finished_ms: i.finished_ms.unwrap_or_default(),
                    outcome: i.outcome,
                    detail: i.detail.clone(),
                    guards: self.dirty_rows(),
                });
                self.last_decision
                    .insert(i.container_name.clone(), records::words(&i));
                if let Some(reply) = reply {
                    let _ = reply.send(i);
                }
            }
            ExecReport::Verified {
                id,
                container_id,
                name,
                manual,
                held,
                text,
                at_ms,
            } => {
                if self.verifying.get(&name).is_some_and(|(v, _)| *v == id) {
                    self.verifying.remove(&name);
                }
                if text.is_empty() {
                    return; // not a restart: nothing was watched
                }
                tracing::info!(container = %name, ?held, verification = %text, "restart verified");
                let opened = !manual && held == Some(false) && self.policy.verified(&name, false);
                store.send(Op::Verified {
                    id,
                    held,
                    text: text.clone(),
                    at_ms,
                    guards: self.dirty_rows(),
                });
                self.last_decision
                    .insert(name.clone(), format!("restart {text}"));
                if opened {
                    let relapses = self.policy.guard(&name).map_or(0, |g| g.relapses);
                    let rec = records::escalation(&container_id, &name, at_ms, relapses);
                    self.record(rec, None, None, store);
                }
            }
        }
    }
}
