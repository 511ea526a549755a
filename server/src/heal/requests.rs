//! What is asked of the healer from outside its ticks: a human's action on one container
//! (refused unless it opted in), run-time settings, closing a breaker, and on a hub a lease for
//! another node's agent.

use super::{policy, records, Healer, ManualReply, Refusal};
use crate::clock::now_ms;
use crate::store::writer::StoreWriter;
use app::wire::{ContainerInfo, HealAction, HealMode};

impl Healer {
    /// An action asked for by a human through the API. Refused for containers that did not
    /// opt in; otherwise performed (in dry-run only recorded), bypassing the automatic guards
    /// but never the rule that an action waits for its record.
    pub fn manual(
        &mut self,
        info: &ContainerInfo,
        action: HealAction,
        reply: ManualReply,
        store: &mut StoreWriter,
    ) -> Result<(), Refusal> {
        if action == HealAction::Escalate {
            return Err(Refusal::NotAnAction);
        }
        let subject = self.subject(info);
        match self.policy.opt_in(&subject) {
            Err(why) => return Err(Refusal::NotOptedIn(why.to_string())),
            Ok(None) => {
                return Err(Refusal::NotOptedIn(format!(
                    "{} did not opt in to healing: add the label {}=restart|pause|isolate|throttle or name it under [heal.containers]",
                    info.name,
                    policy::HEAL_LABEL
                )))
            }
            Ok(Some(_)) => {}
        }
        let now = now_ms();
        if let Err(block) = self.policy.admit_manual(&subject, action, now) {
            return Err(Refusal::Swarm(block.describe()));
        }
        let mode = self.policy.mode_for(&subject);
        let rec = records::manual(info, action, mode, now);
        self.record(rec, None, Some(reply), store);
        Ok(())
    }

    pub fn set(&mut self, mode: Option<HealMode>, threshold_pct: Option<f64>) {
        self.policy.set(mode, threshold_pct);
    }

    /// Closes a container's circuit breaker after a human looked at it.
    pub fn reset_breaker(&mut self, name: &str, store: &mut StoreWriter) {
        self.policy.reset_breaker(name);
        self.save_dirty(store, now_ms());
    }

    /// Grants (and counts) an action another node's agent is about to take on one of
    /// `service`'s tasks, or says why not: see [`lease`](super::lease).
    pub fn lease(&mut self, service: &str) -> Result<(), String> {
        self.policy
            .lease(service, now_ms())
            .map_err(|block| block.describe())
    }
}
