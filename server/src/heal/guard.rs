//! The guard rails' memory: what the healing policy must remember about a container (and the
//! fleet) to keep its promises across time — cooldown, restart backoff, hourly and fleet-wide
//! windows, relapses and the circuit breaker.
//!
//! This is the durable part of the policy's state: the healer stores it with every record that
//! changes it (in the same transaction), and the policy is rebuilt from it at start, so a
//! DockerPulse that is restarted — or crash-loops — keeps exactly the limits of one
//! uninterrupted run. The streak and the fleet queue are not kept: losing them only delays an
//! action.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The store's name for the fleet-wide window (container names cannot contain parentheses).
pub const FLEET_KEY: &str = "(fleet)";

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

/// One container's guard state.
#[derive(Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(default)]
pub struct Guard {
    /// The last automatic action (for the cooldown).
    pub last_action_ms: Option<i64>,
    /// Consecutive restarts (for the backoff) and when the last one was decided.
    pub restarts: u32,
    pub last_restart_ms: Option<i64>,
    /// Automatic actions in the last hour (for the hourly cap).
    pub recent: VecDeque<i64>,
    /// The last enforced action that succeeded, until a relapse consumes it.
    pub last_enforced_ms: Option<i64>,
    /// Relapses after enforced actions, failed actions and restarts that did not hold.
    pub relapses: u32,
    pub breaker_open: bool,
}

impl Guard {
    /// Forgets actions older than an hour.
    pub fn expire(&mut self, now_ms: i64) {
        while self.recent.front().is_some_and(|&x| now_ms - x >= HOUR_MS) {
            self.recent.pop_front();
        }
    }

    /// Nothing worth remembering: a container that never acted, or whose last action is more
    /// than an hour old and left no relapse or open breaker behind.
    pub fn is_idle(&self, now_ms: i64) -> bool {
        !self.breaker_open
            && self.relapses == 0
            && self.last_enforced_ms.is_none()
            && self.last_action_ms.is_none_or(|t| now_ms - t >= HOUR_MS)
    }
}

/// The fleet-wide window of automatic actions (for the cap per minute).
#[derive(Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(default)]
pub struct FleetGuard {
    pub recent: VecDeque<i64>,
}

impl FleetGuard {
    pub fn expire(&mut self, now_ms: i64) {
        while self
            .recent
            .front()
            .is_some_and(|&x| now_ms - x >= MINUTE_MS)
        {
            self.recent.pop_front();
        }
    }

    /// Takes back one action decided at `ts_ms` (its record could not be committed).
    pub fn remove(&mut self, ts_ms: i64) {
        if let Some(i) = self.recent.iter().rposition(|&t| t == ts_ms) {
            self.recent.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_expire_and_idleness_is_judged_on_what_matters() {
        let mut g = Guard {
            last_action_ms: Some(0),
            recent: VecDeque::from([0, 1000, 3_599_999]),
            ..Guard::default()
        };
        g.expire(3_601_000);
        assert_eq!(g.recent, [3_599_999]);
        assert!(!g.is_idle(1_000));
        assert!(g.is_idle(3_600_000));
        g.relapses = 1;
        assert!(!g.is_idle(10 * HOUR_MS), "a relapse is remembered");
        let mut f = FleetGuard {
            recent: VecDeque::from([0, 10, 10, 70_000]),
        };
        f.remove(10);
        f.expire(60_010);
        assert_eq!(f.recent, [70_000]);
    }

    #[test]
    fn the_stored_form_reads_back_and_tolerates_missing_fields() {
        let g = Guard {
            restarts: 2,
            breaker_open: true,
            recent: VecDeque::from([5, 6]),
            ..Guard::default()
        };
        let text = serde_json::to_string(&g).expect("json");
        assert_eq!(serde_json::from_str::<Guard>(&text).expect("parses"), g);
        // What the migration wrote for breakers opened before guards were stored.
        let old: Guard = serde_json::from_str(r#"{"breaker_open":true}"#).expect("parses");
        assert!(old.breaker_open && old.restarts == 0);
    }
}
