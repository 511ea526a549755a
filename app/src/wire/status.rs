//! Where the fleet's data comes from, and the state of what DockerPulse depends on: the Docker
//! engine and the durable store.

use serde::{Deserialize, Serialize};

/// Where the fleet's data comes from. `Simulated` must be shown to users wherever data appears.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    #[default]
    Docker,
    Simulated,
}

impl SourceKind {
    pub fn is_simulated(self) -> bool {
        matches!(self, SourceKind::Simulated)
    }
}

/// Connection state of the Docker engine, as the collector sees it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    #[default]
    Connecting,
    Connected,
    Unreachable,
    /// The built-in demo fleet is running; there is no engine.
    Simulated,
    /// A hub that watches no engine of its own: its nodes' agents do.
    NotWatched,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct EngineStatus {
    pub state: EngineState,
    /// Where the collector connects, e.g. `unix:///var/run/docker.sock`.
    pub endpoint: String,
    pub version: Option<String>,
    pub api_version: Option<String>,
    /// How container metrics are read: `cgroup` (files, cheapest), `engine` (stats API) or `demo`.
    pub stats_via: Option<String>,
    /// Since when the engine is in this state.
    pub since_ms: i64,
    /// Last error when unreachable.
    pub error: Option<String>,
}

/// Whether the durable store is writing.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StoreState {
    #[default]
    Ok,
    /// Writes fail (disk full, database locked, I/O error); DockerPulse keeps retrying and takes
    /// no action whose record it cannot commit.
    Failing,
}

/// The durable store's state, as the writer sees it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct StoreStatus {
    pub state: StoreState,
    /// Since when the store is in this state.
    pub since_ms: i64,
    /// The last error while failing.
    pub error: Option<String>,
    /// Records waiting to be written.
    pub queued: u64,
    /// Incident samples not stored because the write queue was full (the window is thinned).
    pub samples_dropped: u64,
    /// Actions not taken because their record could not be committed in time.
    pub actions_refused: u64,
    /// Records the database rejected outright (a bug if ever non-zero; logged).
    pub records_lost: u64,
}
