//! The hub's view of the Docker Swarm: nodes, services and their tasks, read from the manager's
//! API (the hub's own engine) every few seconds. What a card, the cluster page and
//! `GET /api/swarm` show: each task's desired and current state, by service. Reading only: this
//! never changes the swarm (healing a task is its node's agent's, through Swarm; a service-wide
//! restart a human asks for is the healer's, see `heal::service`).

use app::wire::{SwarmNode, SwarmService, SwarmTask, SwarmView};
use bollard::models::{Node, Service, Task};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the swarm is read.
pub const EVERY: Duration = Duration::from_secs(5);

fn text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Builds the view from what the manager listed. Pure.
pub fn view(nodes: &[Node], services: &[Service], tasks: &[Task], read_ms: i64) -> SwarmView {
    let hostname: HashMap<String, String> = nodes
        .iter()
        .filter_map(|n| {
            let id = n.id.clone()?;
            let host = n.description.as_ref().and_then(|d| d.hostname.clone());
            Some((id.clone(), host.unwrap_or(id)))
        })
        .collect();
    let mut by_service: HashMap<&str, Vec<SwarmTask>> = HashMap::new();
    for t in tasks {
        let Some(service) = t.service_id.as_deref() else {
            continue;
        };
        let status = t.status.as_ref();
        let node_id = t.node_id.clone().unwrap_or_default();
        by_service.entry(service).or_default().push(SwarmTask {
            id: t.id.clone().unwrap_or_default(),
            slot: t.slot,
            node: hostname.get(&node_id).cloned().unwrap_or(node_id),
            desired_state: text(t.desired_state),
            state: text(status.and_then(|s| s.state)),
            container_id: status
                .and_then(|s| s.container_status.as_ref())
                .and_then(|c| c.container_id.clone()),
            message: status
                .and_then(|s| s.err.clone().or_else(|| s.message.clone()))
                .unwrap_or_default(),
            since_ms: status
                .and_then(|s| s.timestamp.as_ref())
                .and_then(|ts| chrono::DateTime::parse_from_rfc3339(&ts.to_string()).ok())
                .map(|d| d.timestamp_millis()),
        });
    }
    let mut services: Vec<SwarmService> = services
        .iter()
        .map(|s| {
            let id = s.id.clone().unwrap_or_default();
            let spec = s.spec.as_ref();
            let mode = spec.and_then(|sp| sp.mode.as_ref());
            let mut tasks = by_service.remove(id.as_str()).unwrap_or_default();
            tasks.sort_by(|a, b| a.slot.cmp(&b.slot).then(b.since_ms.cmp(&a.since_ms)));
            SwarmService {
                name: spec
                    .and_then(|sp| sp.name.clone())
                    .unwrap_or_else(|| id.clone()),
                mode: if mode.is_some_and(|m| m.global.is_some()) {
                    "global".into()
                } else {
                    "replicated".into()
                },
                desired: mode
                    .and_then(|m| m.replicated.as_ref())
                    .and_then(|r| r.replicas)
                    .and_then(|r| u64::try_from(r).ok()),
                running: tasks.iter().filter(|t| t.state == "running").count() as u64,
                tasks,
                id,
            }
        })
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let mut nodes: Vec<SwarmNode> = nodes
        .iter()
        .map(|n| {
            let spec = n.spec.as_ref();
            let status = n.status.as_ref();
            SwarmNode {
                id: n.id.clone().unwrap_or_default(),
                hostname: n
                    .description
                    .as_ref()
                    .and_then(|d| d.hostname.clone())
                    .unwrap_or_default(),
                role: text(spec.and_then(|s| s.role)),
                availability: text(spec.and_then(|s| s.availability)),
                state: text(status.and_then(|s| s.state)),
                addr: status.and_then(|s| s.addr.clone()).unwrap_or_default(),
            }
        })
        .collect();
    nodes.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    SwarmView {
        manager: true,
        error: None,
        read_ms,
        nodes,
        services,
    }
}

/// Reads the swarm from the engine at `endpoint` every [`EVERY`] into `out`, until `shutdown`.
pub async fn watch(endpoint: String, out: Arc<Mutex<SwarmView>>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let now = crate::clock::now_ms();
        let read = match crate::collect::docker::connect(&endpoint).await {
            Ok((docker, _)) => {
                let listed = tokio::try_join!(
                    docker.list_nodes(None),
                    docker.list_services(None),
                    docker.list_tasks(None)
                );
                match listed {
                    Ok((n, s, t)) => view(&n, &s, &t, now),
                    Err(e) => not_read(now, e.to_string()),
                }
            }
            Err(e) => not_read(now, e.to_string()),
        };
        *out.lock().unwrap_or_else(|p| p.into_inner()) = read;
    }
}

fn not_read(read_ms: i64, error: String) -> SwarmView {
    // A node that is not a manager (or not in a swarm) answers 503 with this in its message.
    let manager = false;
    SwarmView {
        manager,
        error: Some(error),
        read_ms,
        ..SwarmView::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        NodeDescription, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskState,
        TaskStatus,
    };

    fn task(
        id: &str,
        service: &str,
        slot: i64,
        node: &str,
        desired: TaskState,
        state: TaskState,
    ) -> Task {
        Task {
            id: Some(id.into()),
            service_id: Some(service.into()),
            slot: Some(slot),
            node_id: Some(node.into()),
            desired_state: Some(desired),
            status: Some(TaskStatus {
                state: Some(state),
                err: (state == TaskState::FAILED).then(|| "task: non-zero exit (137)".into()),
                ..TaskStatus::default()
            }),
            ..Task::default()
        }
    }

    #[test]
    fn tasks_are_grouped_by_service_with_their_node_and_both_states() {
        let nodes = vec![Node {
            id: Some("n-1".into()),
            description: Some(NodeDescription {
                hostname: Some("node-1".into()),
                ..NodeDescription::default()
            }),
            ..Node::default()
        }];
        let services = vec![Service {
            id: Some("s-web".into()),
            spec: Some(ServiceSpec {
                name: Some("web".into()),
                mode: Some(ServiceSpecMode {
                    replicated: Some(ServiceSpecModeReplicated { replicas: Some(2) }),
                    ..Default::default()
                }),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }];
        let tasks = vec![
            task(
                "t1",
                "s-web",
                1,
                "n-1",
                TaskState::SHUTDOWN,
                TaskState::FAILED,
            ),
            task(
                "t2",
                "s-web",
                1,
                "n-1",
                TaskState::RUNNING,
                TaskState::RUNNING,
            ),
            task(
                "t3",
                "s-web",
                2,
                "n-9",
                TaskState::RUNNING,
                TaskState::RUNNING,
            ),
            task(
                "orphan",
                "s-gone",
                1,
                "n-1",
                TaskState::RUNNING,
                TaskState::RUNNING,
            ),
        ];
        let v = view(&nodes, &services, &tasks, 42);
        assert!(v.manager && v.error.is_none());
        assert_eq!(v.read_ms, 42);
        let web = &v.services[0];
        assert_eq!(
            (web.name.as_str(), web.mode.as_str()),
            ("web", "replicated")
        );
        assert_eq!((web.desired, web.running), (Some(2), 2));
        assert_eq!(web.tasks.len(), 3);
        let failed = web.tasks.iter().find(|t| t.id == "t1").expect("t1");
        assert_eq!(failed.node, "node-1");
        assert_eq!(
            (failed.desired_state.as_str(), failed.state.as_str()),
            ("shutdown", "failed")
        );
        assert!(failed.message.contains("137"));
        // A node the manager did not list is named by its id.
        assert_eq!(
            web.tasks.iter().find(|t| t.id == "t3").expect("t3").node,
            "n-9"
        );
        assert_eq!(v.nodes[0].hostname, "node-1");
    }
}
