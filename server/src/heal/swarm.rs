//! Healing a Docker Swarm task goes through Swarm, never behind its back: a task's container is
//! "restarted" by removing it, so the orchestrator schedules a replacement under the service's
//! own restart policy (a `docker restart` would be a restart Swarm does not know of); pausing,
//! isolating or throttling a task is refused (Swarm would keep a task it no longer controls).
//! And a service-wide cap: never act on more than a share of a service's replicas at once.
//! Pure: times come in as arguments.

use std::collections::{BTreeMap, HashMap, VecDeque};

pub use app::wire::{SWARM_SERVICE_LABEL as SERVICE_LABEL, SWARM_TASK_LABEL as TASK_LABEL};

/// The service a container is a task of, if it is one.
pub fn service_of(labels: &BTreeMap<String, String>) -> Option<&str> {
    labels
        .contains_key(TASK_LABEL)
        .then(|| labels.get(SERVICE_LABEL).map(String::as_str))?
}

/// Actions taken on each service's tasks recently, and how many tasks each service has here.
#[derive(Debug, Clone, Default)]
pub struct ServiceGuard {
    recent: HashMap<String, VecDeque<i64>>,
    replicas: HashMap<String, usize>,
}

impl ServiceGuard {
    /// Counts each service's tasks among the containers seen this tick (labels of each).
    pub fn observe<'a>(&mut self, fleet: impl Iterator<Item = &'a BTreeMap<String, String>>) {
        self.replicas.clear();
        for labels in fleet {
            if let Some(s) = service_of(labels) {
                *self.replicas.entry(s.to_string()).or_default() += 1;
            }
        }
    }

    /// How many of `service`'s tasks may be acted on within one window: `share` of its
    /// replicas, rounded down, but at least one (a single-replica service can still be healed;
    /// its own restart policy is what keeps it up meanwhile).
    pub fn allowed(&self, service: &str, share: f64) -> usize {
        let replicas = self.replicas.get(service).copied().unwrap_or(1);
        ((replicas as f64 * share.clamp(0.0, 1.0)).floor() as usize).max(1)
    }

    /// Whether one more action on `service` at `now_ms` stays within the cap; the actions of
    /// the last `window_ms` count as "at once" (a replacement task needs that long to be up).
    pub fn admits(&mut self, service: &str, share: f64, now_ms: i64, window_ms: i64) -> bool {
        let allowed = self.allowed(service, share);
        let q = self.recent.entry(service.to_string()).or_default();
        while q.front().is_some_and(|&t| now_ms - t >= window_ms) {
            q.pop_front();
        }
        q.len() < allowed
    }

    /// Counts an action on `service` at `now_ms`.
    pub fn acted(&mut self, service: &str, now_ms: i64) {
        self.recent
            .entry(service.to_string())
            .or_default()
            .push_back(now_ms);
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn task(service: &str) -> BTreeMap<String, String> {
        [
            (SERVICE_LABEL.to_string(), service.to_string()),
            (TASK_LABEL.to_string(), "t1".to_string()),
        ]
        .into()
    }

    #[test]
    fn only_a_container_with_a_task_id_is_a_task() {
        assert_eq!(service_of(&task("web")), Some("web"));
        let mut not_a_task = task("web");
        not_a_task.remove(TASK_LABEL);
        assert_eq!(service_of(&not_a_task), None);
        assert_eq!(service_of(&BTreeMap::new()), None);
    }

    #[test]
    fn half_of_four_replicas_at_once_and_the_window_frees_them() {
        let mut g = ServiceGuard::default();
        let fleet = [
            task("web"),
            task("web"),
            task("web"),
            task("web"),
            task("db"),
        ];
        g.observe(fleet.iter());
        assert_eq!(g.allowed("web", 0.5), 2);
        assert!(g.admits("web", 0.5, 0, 60_000));
        g.acted("web", 0);
        assert!(g.admits("web", 0.5, 1_000, 60_000));
        g.acted("web", 1_000);
        assert!(
            !g.admits("web", 0.5, 2_000, 60_000),
            "a third would exceed half"
        );
        // Another service is not affected.
        assert!(g.admits("db", 0.5, 2_000, 60_000));
        // Once the first action is a window old, one more is allowed.
        assert!(g.admits("web", 0.5, 60_000, 60_000));
    }

    #[test]
    fn a_single_replica_can_be_healed_once_per_window() {
        let mut g = ServiceGuard::default();
        g.observe([task("solo")].iter());
        assert_eq!(g.allowed("solo", 0.5), 1);
        g.acted("solo", 5);
        assert!(!g.admits("solo", 0.5, 6, 60_000));
        assert!(g.admits("solo", 0.5, 60_005, 60_000));
    }
}
