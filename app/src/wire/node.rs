//! Nodes: when DockerPulse watches several hosts (agents streaming to a hub), each container
//! says which node it runs on and the fleet header says how each node's agent is doing; and the
//! labels that make a container a Docker Swarm task.

use serde::{Deserialize, Serialize};

/// Labels the engine puts on every Docker Swarm task's container (frames carry them, so a card
/// can say which service a container is a task of).
pub const SWARM_SERVICE_LABEL: &str = "com.docker.swarm.service.name";
pub const SWARM_TASK_LABEL: &str = "com.docker.swarm.task.id";

/// An intervention on a whole Swarm service (a service-wide restart) is recorded with
/// `container_name` = this prefix + the service's name (and the service's id as
/// `container_id`): the record keeps its one shape and store schema, and no reader can take it
/// for a container's (Docker refuses `:` in container names).
pub const SERVICE_RECORD_PREFIX: &str = "service:";

/// The `container_name` of a record about the service `name`.
pub fn service_record_name(name: &str) -> String {
    format!("{SERVICE_RECORD_PREFIX}{name}")
}

/// The service a record is about, when it is about a whole service.
pub fn service_of_record(container_name: &str) -> Option<&str> {
    container_name.strip_prefix(SERVICE_RECORD_PREFIX)
}

/// Whether a node's agent is heard from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Its agent sent a tick recently.
    #[default]
    Connected,
    /// Nothing for a while: its containers show their last known state, marked stale.
    Lost,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Lost => "lost",
        }
    }
}

/// One node as the hub sees it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct NodeStatus {
    pub name: String,
    pub state: NodeState,
    /// The agent's DockerPulse version.
    pub version: String,
    /// When the hub last heard from it.
    pub last_seen_ms: i64,
    /// How old its last tick was when the hub received it, in ms (clocks of both hosts
    /// included), rounded to 10 ms so that the header does not change every tick for nothing.
    pub lag_ms: i64,
    /// Containers it reported last.
    pub containers: u32,
    /// Its agent runs the built-in demo fleet: its containers are SIMULATED.
    #[serde(default)]
    pub simulated: bool,
    /// Why it was lost, or what it last said went wrong (e.g. its engine is unreachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl NodeStatus {
    pub fn is_lost(&self) -> bool {
        self.state == NodeState::Lost
    }
}

/// The Docker Swarm as its manager describes it (what a hub on a manager node shows).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct SwarmView {
    /// The hub's engine is a Swarm manager (only managers can list services and tasks).
    pub manager: bool,
    /// Why the swarm could not be read, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was last read.
    pub read_ms: i64,
    pub nodes: Vec<SwarmNode>,
    pub services: Vec<SwarmService>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    /// `manager` or `worker`.
    pub role: String,
    /// `active`, `pause` or `drain`.
    pub availability: String,
    /// `ready`, `down`, …
    pub state: String,
    pub addr: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct SwarmService {
    pub id: String,
    pub name: String,
    /// `replicated` or `global`.
    pub mode: String,
    /// Replicas asked for (replicated services).
    #[serde(default)]
    pub desired: Option<u64>,
    /// Tasks whose current state is running.
    pub running: u64,
    /// Its tasks, newest first per slot.
    pub tasks: Vec<SwarmTask>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct SwarmTask {
    pub id: String,
    #[serde(default)]
    pub slot: Option<i64>,
    /// The node's hostname (or id when unknown).
    pub node: String,
    /// What the orchestrator wants (`running`, `shutdown`).
    pub desired_state: String,
    /// What it is (`running`, `failed`, `shutdown`, `pending`, …).
    pub state: String,
    #[serde(default)]
    pub container_id: Option<String>,
    /// The task's message or error, as Swarm gives it.
    #[serde(default)]
    pub message: String,
    /// When its state last changed.
    #[serde(default)]
    pub since_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_record_names_its_service_and_a_container_name_does_not() {
        let n = service_record_name("web");
        assert_eq!(n, "service:web");
        assert_eq!(service_of_record(&n), Some("web"));
        assert_eq!(service_of_record("web-1"), None);
    }
}
