//! A hub's mirror of each node's incidents and interventions. The agent's own store is where
//! they are recorded (durably, with its reports); it sends the newest of them when it connects
//! and again whenever it records something, so what a node did while the hub could not hear it
//! is at the hub once it can. Upserted by id (an incident that closes replaces its open self);
//! bounded per node, newest kept. Pure.

use app::wire::{Incident, Intervention};
use std::collections::{BTreeMap, HashMap};

/// Records kept per node and kind.
pub const KEPT: usize = 1_000;

#[derive(Debug, Clone, Default)]
struct NodeRecords {
    incidents: HashMap<String, Incident>,
    interventions: BTreeMap<i64, Intervention>,
}

#[derive(Debug, Clone, Default)]
pub struct Mirror {
    nodes: HashMap<String, NodeRecords>,
}

impl Mirror {
    /// Takes what `node` sent (replacing older copies of the same records).
    pub fn upsert(
        &mut self,
        node: &str,
        incidents: Vec<Incident>,
        interventions: Vec<Intervention>,
    ) {
        let n = self.nodes.entry(node.to_string()).or_default();
        for i in incidents {
            n.incidents.insert(i.id.clone(), i);
        }
        for i in interventions {
            n.interventions.insert(i.id, i);
        }
        if n.incidents.len() > KEPT {
            let mut by_age: Vec<(i64, String)> = n
                .incidents
                .values()
                .map(|i| (i.opened_ms, i.id.clone()))
                .collect();
            by_age.sort();
            for (_, id) in by_age.into_iter().take(n.incidents.len() - KEPT) {
                n.incidents.remove(&id);
            }
        }
        while n.interventions.len() > KEPT {
            n.interventions.pop_first();
        }
    }

    pub fn knows(&self, node: &str) -> bool {
        self.nodes.contains_key(node)
    }

    /// `node`'s incidents, newest first.
    pub fn incidents(&self, node: &str) -> Vec<Incident> {
        let mut v: Vec<Incident> = self
            .nodes
            .get(node)
            .map(|n| n.incidents.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| b.opened_ms.cmp(&a.opened_ms).then(b.id.cmp(&a.id)));
        v
    }

    /// `node`'s interventions, newest first.
    pub fn interventions(&self, node: &str) -> Vec<Intervention> {
        self.nodes
            .get(node)
            .map(|n| n.interventions.values().rev().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::wire::{HealAction, HealMode, IncidentState, Outcome, RiskLevel};

    fn incident(id: &str, opened_ms: i64, closed_ms: Option<i64>) -> Incident {
        Incident {
            id: id.into(),
            container_id: "c".into(),
            container_name: "web".into(),
            image: "img".into(),
            labels: Default::default(),
            host: "h".into(),
            engine_version: "v".into(),
            simulated: false,
            state: if closed_ms.is_some() {
                IncidentState::Closed
            } else {
                IncidentState::Open
            },
            opened_ms,
            closed_ms,
            trigger: "t".into(),
            close_reason: None,
            peak_probability: 0.9,
            peak_level: RiskLevel::Critical,
            reasons: vec![],
            cpu_quota_pct: None,
            interventions: 0,
            forced_restart: false,
        }
    }

    fn intervention(id: i64, outcome: Outcome) -> Intervention {
        Intervention {
            id,
            incident_id: None,
            container_id: "c".into(),
            container_name: "web".into(),
            decided_ms: id,
            started_ms: None,
            finished_ms: None,
            action: HealAction::Restart,
            mode: HealMode::Enforce,
            manual: false,
            outcome,
            reason: "r".into(),
            detail: None,
            failure_probability: 0.9,
            held: None,
            verification: None,
        }
    }

    #[test]
    fn a_record_sent_again_replaces_its_older_copy() {
        let mut m = Mirror::default();
        m.upsert(
            "n1",
            vec![incident("a", 1, None)],
            vec![intervention(1, Outcome::Pending)],
        );
        m.upsert(
            "n1",
            vec![incident("a", 1, Some(5))],
            vec![intervention(1, Outcome::Succeeded)],
        );
        assert_eq!(m.incidents("n1").len(), 1);
        assert_eq!(m.incidents("n1")[0].state, IncidentState::Closed);
        assert_eq!(m.interventions("n1")[0].outcome, Outcome::Succeeded);
    }

    #[test]
    fn nodes_are_kept_apart_and_lists_are_newest_first() {
        let mut m = Mirror::default();
        m.upsert(
            "n1",
            vec![incident("a", 1, None), incident("b", 3, None)],
            vec![],
        );
        m.upsert(
            "n2",
            vec![incident("a", 2, None)],
            vec![intervention(7, Outcome::Failed)],
        );
        let ids: Vec<_> = m.incidents("n1").into_iter().map(|i| i.id).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(m.incidents("n2")[0].opened_ms, 2);
        assert!(m.interventions("n1").is_empty());
        assert!(m.knows("n2") && !m.knows("n3"));
    }

    #[test]
    fn each_node_keeps_only_its_newest_records() {
        let mut m = Mirror::default();
        let many: Vec<_> = (0..KEPT as i64 + 10)
            .map(|i| incident(&format!("i{i}"), i, None))
            .collect();
        let acts: Vec<_> = (0..KEPT as i64 + 10)
            .map(|i| intervention(i, Outcome::Simulated))
            .collect();
        m.upsert("n1", many, acts);
        let inc = m.incidents("n1");
        assert_eq!(inc.len(), KEPT);
        assert_eq!(inc.last().map(|i| i.opened_ms), Some(10));
        let act = m.interventions("n1");
        assert_eq!(act.len(), KEPT);
        assert_eq!(act.last().map(|i| i.id), Some(10));
    }
}
