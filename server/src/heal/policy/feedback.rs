//! What the healer feeds back once the engine has answered: an enforced action's outcome, and
//! whether a restart held. A failure, or a restart that did not hold, counts as a relapse
//! towards the circuit breaker.

use super::Policy;
use crate::heal::guard::Guard;
use app::wire::HealMode;

impl Policy {
    /// Feeds back the engine's answer to an action the policy asked for.
    pub fn outcome(&mut self, id: &str, mode: HealMode, ok: bool, ts_ms: i64) {
        if mode != HealMode::Enforce {
            return;
        }
        let failures = self.cfg.breaker_failures.max(1);
        let Some(st) = self.states.get_mut(id) else {
            return;
        };
        if ok {
            st.guard.last_enforced_ms = Some(ts_ms);
        } else {
            count_relapse(&mut st.guard, failures);
        }
        self.dirty.insert(id.to_string());
    }

    /// Feeds back whether a restart held. One that did not counts like a relapse; returns
    /// true when that opened the breaker.
    pub fn verified(&mut self, id: &str, held: bool) -> bool {
        let failures = self.cfg.breaker_failures.max(1);
        let Some(st) = self.states.get_mut(id) else {
            return false;
        };
        if held || st.guard.breaker_open {
            return false;
        }
        count_relapse(&mut st.guard, failures);
        self.dirty.insert(id.to_string());
        st.guard.breaker_open
    }
}

fn count_relapse(g: &mut Guard, failures: u32) {
    g.relapses += 1;
    g.last_enforced_ms = None;
    if g.relapses >= failures {
        g.breaker_open = true;
    }
}
