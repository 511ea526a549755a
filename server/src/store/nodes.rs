//! The nodes a hub hears from: which agents are connected, when each was last heard, how old
//! its ticks are on arrival, and which are lost. Pure: every time comes in as an argument.

use app::wire::{EngineState, EngineStatus, NodeState, NodeStatus};
use std::collections::BTreeMap;

/// Default silence after which a node is shown as lost.
pub const LOST_AFTER_MS: i64 = 5_000;

#[derive(Debug, Clone)]
struct Entry {
    status: NodeStatus,
    /// Its agent's socket is open.
    connected: bool,
    /// Why it left, kept until it is back.
    left_because: Option<String>,
}

/// Every node heard from since the hub started, lost ones included (a lost node is a visible
/// state, not a node that vanished).
#[derive(Debug, Clone)]
pub struct Nodes {
    lost_after_ms: i64,
    nodes: BTreeMap<String, Entry>,
}

impl Default for Nodes {
    fn default() -> Self {
        Self::new(LOST_AFTER_MS)
    }
}

impl Nodes {
    pub fn new(lost_after_ms: i64) -> Self {
        Self {
            lost_after_ms: lost_after_ms.max(1),
            nodes: BTreeMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether `node` was ever heard from.
    pub fn contains(&self, node: &str) -> bool {
        self.nodes.contains_key(node)
    }

    fn entry(&mut self, node: &str) -> &mut Entry {
        self.nodes.entry(node.to_string()).or_insert_with(|| Entry {
            status: NodeStatus {
                name: node.to_string(),
                ..NodeStatus::default()
            },
            connected: false,
            left_because: None,
        })
    }

    /// Its agent connected (or reconnected).
    pub fn joined(&mut self, node: &str, version: &str, now_ms: i64) {
        let e = self.entry(node);
        e.connected = true;
        e.left_because = None;
        e.status.version = version.to_string();
        e.status.last_seen_ms = now_ms;
    }

    /// A tick sampled at `sample_ms` arrived at `now_ms` with `containers` containers.
    pub fn ticked(
        &mut self,
        node: &str,
        sample_ms: i64,
        now_ms: i64,
        containers: usize,
        engine: &EngineStatus,
    ) {
        let e = self.entry(node);
        e.connected = true;
        e.status.last_seen_ms = now_ms;
        // Rounded: the header is resent only when something in it changed.
        e.status.lag_ms = ((now_ms - sample_ms).max(0) + 5) / 10 * 10;
        e.status.containers = u32::try_from(containers).unwrap_or(u32::MAX);
        e.status.simulated = engine.state == EngineState::Simulated;
        e.status.detail = match engine.state {
            EngineState::Unreachable => Some("its Docker engine is unreachable".into()),
            _ => None,
        };
    }

    /// Its agent's socket closed (`why`: what the hub saw).
    pub fn left(&mut self, node: &str, why: &str) {
        let e = self.entry(node);
        e.connected = false;
        e.left_because = Some(why.to_string());
    }

    /// Whether `node` is lost at `now_ms`.
    pub fn is_lost(&self, node: &str, now_ms: i64) -> bool {
        self.nodes
            .get(node)
            .is_none_or(|e| self.lost(e, now_ms).is_some())
    }

    /// Why `e` is lost at `now_ms`, if it is.
    fn lost(&self, e: &Entry, now_ms: i64) -> Option<String> {
        if !e.connected {
            return Some(
                e.left_because
                    .clone()
                    .unwrap_or_else(|| "its agent disconnected".into()),
            );
        }
        let silent = now_ms - e.status.last_seen_ms;
        (silent > self.lost_after_ms).then(|| format!("nothing heard for {} s", silent / 1000))
    }

    /// Every node's status at `now_ms`, by name.
    pub fn statuses(&self, now_ms: i64) -> Vec<NodeStatus> {
        self.nodes
            .values()
            .map(|e| {
                let mut s = e.status.clone();
                if let Some(why) = self.lost(e, now_ms) {
                    s.state = NodeState::Lost;
                    s.detail = Some(why);
                } else {
                    s.state = NodeState::Connected;
                }
                s
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(state: EngineState) -> EngineStatus {
        EngineStatus {
            state,
            ..EngineStatus::default()
        }
    }

    #[test]
    fn a_ticking_node_is_connected_with_its_lag_and_count() {
        let mut n = Nodes::new(5_000);
        n.joined("n1", "0.9.0", 1_000);
        n.ticked("n1", 1_950, 2_000, 7, &engine(EngineState::Connected));
        let s = &n.statuses(2_500)[0];
        assert_eq!(s.name, "n1");
        assert_eq!(s.state, NodeState::Connected);
        assert_eq!((s.lag_ms, s.containers, s.last_seen_ms), (50, 7, 2_000));
        assert_eq!(s.version, "0.9.0");
        assert!(!n.is_lost("n1", 2_500));
    }

    #[test]
    fn silence_longer_than_the_limit_is_lost_and_a_tick_brings_it_back() {
        let mut n = Nodes::new(5_000);
        n.joined("n1", "v", 0);
        n.ticked("n1", 1_000, 1_000, 1, &engine(EngineState::Connected));
        assert_eq!(n.statuses(6_000)[0].state, NodeState::Connected);
        let lost = &n.statuses(6_001)[0];
        assert_eq!(lost.state, NodeState::Lost);
        assert_eq!(lost.detail.as_deref(), Some("nothing heard for 5 s"));
        n.ticked("n1", 7_000, 7_000, 1, &engine(EngineState::Connected));
        assert_eq!(n.statuses(7_100)[0].state, NodeState::Connected);
    }

    #[test]
    fn a_closed_socket_is_lost_at_once_with_its_reason_until_it_rejoins() {
        let mut n = Nodes::new(5_000);
        n.joined("n2", "v", 0);
        n.ticked("n2", 100, 100, 3, &engine(EngineState::Connected));
        n.left("n2", "connection reset");
        let s = &n.statuses(200)[0];
        assert_eq!(s.state, NodeState::Lost);
        assert_eq!(s.detail.as_deref(), Some("connection reset"));
        // What it last reported stays visible.
        assert_eq!(s.containers, 3);
        n.joined("n2", "v2", 300);
        assert_eq!(n.statuses(300)[0].state, NodeState::Connected);
        assert_eq!(n.statuses(300)[0].version, "v2");
    }

    #[test]
    fn an_unknown_node_is_lost_and_nodes_are_listed_by_name() {
        let mut n = Nodes::default();
        assert!(n.is_lost("ghost", 0));
        assert!(!n.contains("ghost"));
        n.joined("b", "v", 0);
        n.joined("a", "v", 0);
        let names: Vec<_> = n.statuses(0).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn its_engine_unreachable_is_said_and_clock_skew_never_gives_negative_lag() {
        let mut n = Nodes::default();
        n.joined("n", "v", 0);
        n.ticked("n", 2_000, 1_000, 0, &engine(EngineState::Unreachable));
        let s = &n.statuses(1_000)[0];
        assert_eq!(s.lag_ms, 0);
        assert_eq!(
            s.detail.as_deref(),
            Some("its Docker engine is unreachable")
        );
        assert!(!s.simulated);
        n.ticked("n", 3_000, 3_000, 9, &engine(EngineState::Simulated));
        assert!(
            n.statuses(3_000)[0].simulated,
            "a demo agent's node is marked simulated"
        );
    }
}
