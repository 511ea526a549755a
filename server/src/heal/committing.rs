//! The store writer's answer to a decision that waited for its record: committed, the action
//! is carried out; refused, or not committed in time, it is not, and the guards it moved are
//! rolled back.

use super::awaiting::Awaiting;
use super::{records, Healer};
use crate::clock::now_ms;
use crate::store::writer::{Ack, Answer, Op, StoreWriter};
use app::wire::Outcome;

impl Healer {
    /// The writer's answer to a decision that waited for its record.
    pub fn on_ack(&mut self, ack: Ack, store: &mut StoreWriter) {
        let Some(mut aw) = self.awaiting.take(ack.ticket) else {
            return;
        };
        match ack.answer {
            Answer::Recorded(id) if aw.refused => {
                // Committed, but after the loop gave up on it: it was not carried out.
                store.send(Op::Finish {
                    id,
                    started_ms: now_ms(),
                    finished_ms: now_ms(),
                    outcome: Outcome::Failed,
                    detail: Some(
                        "not carried out: its record was committed after the deadline".into(),
                    ),
                    guards: Vec::new(),
                });
            }
            Answer::Recorded(id) => {
                aw.rec.id = id;
                if aw.rec.outcome == Outcome::Pending {
                    if !aw.rec.manual {
                        self.acting.insert(id, aw.before);
                    }
                    self.execute(aw.rec, aw.reply);
                } else if let Some(reply) = aw.reply {
                    let _ = reply.send(aw.rec);
                }
            }
            Answer::Refused(error) if !aw.refused => self.refuse(aw, &error),
            Answer::Refused(_) => {}
        }
    }

    /// Gives up on decisions whose record did not come back committed well past the deadline
    /// (the writer is stuck on an earlier record): the action is not taken.
    pub fn expire_awaiting(&mut self, now: i64) {
        const GRACE_MS: i64 = 1_000;
        for ticket in self.awaiting.overdue(now - GRACE_MS) {
            if let Some(aw) = self.awaiting.mark_refused(ticket) {
                self.refuse(aw, "the store did not commit the record in time");
            }
        }
    }

    /// The action was refused for want of its record: roll the guards back and say so.
    fn refuse(&mut self, aw: Awaiting, error: &str) {
        let mut rec = aw.rec;
        if rec.outcome == Outcome::Pending {
            self.policy
                .rollback(&rec.container_name, aw.before, rec.decided_ms);
            if !rec.manual {
                self.count(&rec.container_name, rec.decided_ms, -1);
            }
            rec.reason = crate::store::writer::refusal_reason(rec.action, error);
            rec.outcome = Outcome::Blocked;
            rec.detail = Some(error.to_string());
        }
        tracing::error!(container = %rec.container_name, action = rec.action.as_str(), %error, "action refused: its record could not be committed");
        self.announce(&rec);
        self.last_decision
            .insert(rec.container_name.clone(), records::words(&rec));
        if let Some(reply) = aw.reply {
            let _ = reply.send(rec);
        }
    }
}
