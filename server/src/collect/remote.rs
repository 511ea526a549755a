//! What a hub hears from its nodes' agents, as the pipeline receives it: an agent joined, one of
//! its ticks (already assessed and healed by the agent: the hub only shows it), or it left.

use app::wire::{ContainerFrame, EngineStatus, HostSample};

/// One node's tick as its agent published it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NodeTick {
    /// The agent's own tick number.
    pub seq: u64,
    /// When the agent sampled it.
    pub ts_ms: i64,
    pub engine: EngineStatus,
    #[serde(default)]
    pub host: Option<HostSample>,
    /// Every container on the node, with the agent's assessment and healing state.
    pub containers: Vec<ContainerFrame>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RemoteMsg {
    Joined {
        node: String,
        version: String,
        at_ms: i64,
    },
    Tick {
        node: String,
        tick: Box<NodeTick>,
        received_ms: i64,
    },
    Left {
        node: String,
        why: String,
    },
}
