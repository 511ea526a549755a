//! A hub's loop taking in its nodes' ticks: each node's containers go into the live store as
//! that node's (history, detail views, `/metrics` and the fleet feed then cover them like local
//! ones), already assessed and healed by their agent. The hub never assesses, opens incidents
//! for or heals another node's containers: its agent does, and the hub shows what it says.

use crate::collect::remote::RemoteMsg;
use crate::store::live::LiveStore;
use crate::util::IdSet;
use std::sync::Arc;

pub fn apply(live: &mut LiveStore, m: RemoteMsg) {
    match m {
        RemoteMsg::Joined {
            node,
            version,
            at_ms,
        } => {
            tracing::info!(%node, %version, "agent joined");
            live.nodes.joined(&node, &version, at_ms);
        }
        RemoteMsg::Left { node, why } => {
            tracing::warn!(%node, %why, "agent left: its containers keep their last state");
            live.nodes.left(&node, &why);
        }
        RemoteMsg::Tick {
            node,
            tick,
            received_ms,
        } => {
            let n = tick.containers.len();
            {
                let present: IdSet = tick.containers.iter().map(|c| c.info.id.as_str()).collect();
                live.retain_node(&node, &present);
            }
            let tick = *tick;
            for c in tick.containers {
                let mut info = c.info;
                Arc::make_mut(&mut info).node = Some(node.clone());
                let id = info.id.clone();
                live.record(info, c.sample, c.assessment);
                live.set_heal(&id, c.heal);
            }
            live.nodes
                .ticked(&node, tick.ts_ms, received_ms, n, &tick.engine);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::remote::NodeTick;
    use app::wire::{ContainerFrame, ContainerInfo, NodeState, Sample, SourceKind};

    fn container(id: &str, cpu: f64, ts_ms: i64) -> ContainerFrame {
        ContainerFrame {
            info: std::sync::Arc::new(ContainerInfo {
                id: id.into(),
                name: format!("c-{id}"),
                ..ContainerInfo::default()
            }),
            sample: Some(Sample {
                ts_ms,
                cpu_pct: cpu,
                ..Sample::default()
            }),
            ..ContainerFrame::default()
        }
    }

    fn tick(node: &str, ts_ms: i64, containers: Vec<ContainerFrame>) -> RemoteMsg {
        RemoteMsg::Tick {
            node: node.into(),
            tick: Box::new(NodeTick {
                seq: 1,
                ts_ms,
                engine: Default::default(),
                host: None,
                containers,
            }),
            received_ms: ts_ms + 20,
        }
    }

    #[test]
    fn node_containers_join_the_fleet_with_their_node_and_history() {
        let mut live = LiveStore::new(60, SourceKind::Docker);
        apply(
            &mut live,
            RemoteMsg::Joined {
                node: "n1".into(),
                version: "v".into(),
                at_ms: 0,
            },
        );
        apply(
            &mut live,
            tick("n1", 1_000, vec![container("a", 5.0, 1_000)]),
        );
        apply(
            &mut live,
            tick("n1", 2_000, vec![container("a", 7.0, 2_000)]),
        );
        let c = live.get("a").expect("remote container is in the fleet");
        assert_eq!(c.info.node.as_deref(), Some("n1"));
        assert_eq!(c.recent(10).count(), 2);
        live.ts_ms = 2_100;
        let f = live.frame();
        assert_eq!(f.nodes.len(), 1);
        assert_eq!(f.nodes[0].state, NodeState::Connected);
        assert_eq!(f.nodes[0].lag_ms, 20);
    }

    /// A local container, "a" on node n1 and "b" on node n2.
    fn two_nodes_and_a_local_container() -> LiveStore {
        let mut live = LiveStore::new(60, SourceKind::Docker);
        live.record(
            ContainerInfo {
                id: "local".into(),
                ..ContainerInfo::default()
            },
            None,
            None,
        );
        apply(
            &mut live,
            tick("n1", 1_000, vec![container("a", 1.0, 1_000)]),
        );
        apply(
            &mut live,
            tick("n2", 1_000, vec![container("b", 1.0, 1_000)]),
        );
        live
    }

    #[test]
    fn a_lost_nodes_containers_stay_shown_but_count_as_no_ones_replicas() {
        let mut live = two_nodes_and_a_local_container();
        assert_eq!(live.remote_labels(1_100).count(), 2, "only other nodes'");
        apply(
            &mut live,
            RemoteMsg::Left {
                node: "n1".into(),
                why: "reset".into(),
            },
        );
        assert!(live.get("a").is_some(), "still shown");
        assert_eq!(live.remote_labels(1_200).count(), 1);
    }

    #[test]
    fn a_nodes_tick_drops_only_its_own_departed_containers() {
        let mut live = two_nodes_and_a_local_container();
        apply(&mut live, tick("n1", 2_000, vec![]));
        assert!(live.get("a").is_none());
        assert!(live.get("b").is_some());
        assert!(live.get("local").is_some());
        // And the local tick drops only local containers.
        live.retain_present(&IdSet::default());
        assert!(live.get("local").is_none());
        assert!(live.get("b").is_some());
    }

    #[test]
    fn a_node_that_left_keeps_its_containers_and_shows_lost() {
        let mut live = LiveStore::new(60, SourceKind::Docker);
        apply(
            &mut live,
            tick("n1", 1_000, vec![container("a", 1.0, 1_000)]),
        );
        apply(
            &mut live,
            RemoteMsg::Left {
                node: "n1".into(),
                why: "connection reset".into(),
            },
        );
        assert!(live.get("a").is_some());
        live.ts_ms = 1_500;
        let f = live.frame();
        assert_eq!(f.nodes[0].state, NodeState::Lost);
        assert_eq!(f.containers.len(), 1);
    }
}
