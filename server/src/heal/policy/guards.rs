//! What the policy remembers, as the healer and the store see it: each container's guard and
//! the fleet's, the breaker a human closes, what changed since it was last stored, the rollback
//! of an action whose record failed, and forgetting containers that are gone.

use super::{Policy, State};
use crate::heal::guard::{FleetGuard, Guard, FLEET_KEY};

impl Policy {
    pub fn needs_human(&self, id: &str) -> bool {
        self.states.get(id).is_some_and(|s| s.guard.breaker_open)
    }

    /// Closes the breaker (a human looked at it) and starts the counts afresh.
    pub fn reset_breaker(&mut self, id: &str) {
        if let Some(s) = self.states.get_mut(id) {
            *s = State::default();
            self.dirty.insert(id.to_string());
        }
    }

    /// A container's guard, if it has any state.
    pub fn guard(&self, id: &str) -> Option<&Guard> {
        self.states.get(id).map(|s| &s.guard)
    }

    pub fn fleet(&self) -> &FleetGuard {
        &self.fleet
    }

    /// Rebuilds a container's guard from the store (at start).
    pub fn restore(&mut self, id: &str, guard: Guard) {
        self.states.entry(id.to_string()).or_default().guard = guard;
    }

    pub fn restore_fleet(&mut self, fleet: FleetGuard) {
        self.fleet = fleet;
    }

    /// Takes back an action whose record could not be committed: the guards return to what
    /// they were before `decide` (which is also what the store holds).
    pub fn rollback(&mut self, id: &str, before: Option<Guard>, decided_ms: i64) {
        let st = self.states.entry(id.to_string()).or_default();
        st.guard = before.unwrap_or_default();
        self.fleet.remove(decided_ms);
        // Stored again as they were, so that a restart resumes from the rolled-back guards.
        self.dirty.insert(id.to_string());
        self.dirty.insert(FLEET_KEY.to_string());
    }

    /// The guards changed since the last call: their names ([`FLEET_KEY`] for the fleet's).
    pub fn take_dirty(&mut self) -> Vec<String> {
        std::mem::take(&mut self.dirty).into_iter().collect()
    }

    /// Drops the state of containers that are gone, unless their guard still matters (an open
    /// breaker is a human's call; a recent action still counts if the name comes back).
    pub fn retain(&mut self, present: &crate::util::IdSet) {
        let now = self.now_ms;
        self.states
            .retain(|id, st| present.contains(id.as_str()) || !st.guard.is_idle(now));
        self.fleet_queue.retain(|q| present.contains(q.as_str()));
        self.held = self
            .states
            .keys()
            .filter(|id| !present.contains(id.as_str()))
            .count();
    }

    /// Containers with state, for the bookkeeping checks: those present at the last
    /// [`Policy::retain`], and those gone but held.
    pub fn tracked(&self) -> (usize, usize) {
        let held = self.held.min(self.states.len());
        (self.states.len() - held, held)
    }
}
