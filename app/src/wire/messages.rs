//! The live messages: the frame the pipeline publishes, and what goes over the websocket in
//! either direction (fleet feed, sparklines, a watched container's detail, viewer requests).

use super::{
    Assessment, ContainerInfo, EngineStatus, Fleet, HealView, HealingStatus, HostSample,
    NodeStatus, Sample, SourceKind, StoreStatus,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One container in a live frame.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ContainerFrame {
    /// Shared with the live store (and, for local containers, the collector): a frame of a
    /// thousand containers is built every second, and an identity changes rarely, so copying
    /// the frame copies a pointer instead of names, images and labels.
    pub info: Arc<ContainerInfo>,
    pub sample: Option<Sample>,
    pub assessment: Option<Assessment>,
    #[serde(default)]
    pub heal: HealView,
}

/// The whole fleet at one tick: what the pipeline publishes, and what the browser rebuilds from
/// the fleet feed ([`Fleet`]) to render.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Frame {
    pub v: u32,
    pub seq: u64,
    pub ts_ms: i64,
    pub source: SourceKind,
    pub engine: EngineStatus,
    pub host: Option<HostSample>,
    pub containers: Vec<ContainerFrame>,
    #[serde(default)]
    pub healing: HealingStatus,
    /// Bumped whenever an incident or intervention is recorded: viewers refetch their lists.
    #[serde(default)]
    pub incidents_rev: u64,
    #[serde(default)]
    pub store: StoreStatus,
    /// The nodes whose agents stream to this hub (empty on a single host).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeStatus>,
}

/// Column-oriented history of one container, oldest first (compact on the wire).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct SeriesHistory {
    pub id: String,
    pub ts_ms: Vec<i64>,
    pub cpu_pct: Vec<f32>,
    pub mem_bytes: Vec<u64>,
    pub mem_limit_bytes: Vec<u64>,
    /// CPU forecast made at each timestamp for `ts + horizon` (NaN-free: 0 before warm-up).
    pub cpu_forecast: Vec<f32>,
    pub cpu_lo95: Vec<f32>,
    pub cpu_hi95: Vec<f32>,
    pub failure_probability: Vec<f32>,
}

impl SeriesHistory {
    pub fn len(&self) -> usize {
        self.ts_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts_ms.is_empty()
    }
}

/// Each container's recent CPU for the cards' sparklines: what a joining viewer receives after
/// the whole fleet (in parts of a hundred containers; empty before the first tick).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Sparks {
    pub v: u32,
    pub sparks: Vec<Spark>,
}

/// A container's recent CPU (% of one core, to 0.1), one value a second, the last at the fleet
/// message's time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Spark {
    pub slot: u32,
    pub cpu: Vec<f64>,
}

/// One container in full, for a viewer that watches it (the detail view): sent every tick after
/// the fleet message, and with its history when the watch begins.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Detail {
    pub v: u32,
    pub seq: u64,
    /// The tick's time (the fleet message's).
    pub ts_ms: i64,
    pub container: ContainerFrame,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<SeriesHistory>,
}

/// A websocket message from server to browser.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
// Messages are built once and moved, never kept in bulk: their size on the stack is no concern.
#[allow(clippy::large_enum_variant)]
pub enum ServerMsg {
    Fleet(Fleet),
    Sparks(Sparks),
    Detail(Detail),
}

impl ServerMsg {
    pub fn version(&self) -> u32 {
        match self {
            ServerMsg::Sparks(s) => s.v,
            ServerMsg::Fleet(f) => f.v,
            ServerMsg::Detail(d) => d.v,
        }
    }
}

/// A websocket message from browser to server.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Send this container in full every tick (id, name or id prefix), or stop (`None`).
    Watch { id: Option<String> },
    /// The viewer lost track of the fleet feed: send the whole state with the next tick.
    Resync,
}

/// The largest message a viewer may send, in bytes.
pub const CLIENT_MSG_MAX: usize = 4096;
