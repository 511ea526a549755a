//! What is known of the host and of each container: metrics at one tick, run state, health
//! and identity.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Host-wide metrics.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HostSample {
    pub ts_ms: i64,
    pub hostname: String,
    /// Whole-host CPU use, 0–100 %.
    pub cpu_pct: f64,
    pub cpus: u32,
    pub mem_used_bytes: u64,
    pub mem_total_bytes: u64,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
}

/// One container's metrics at one tick. Rates are per second over the last tick.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct Sample {
    pub ts_ms: i64,
    /// CPU as the docker CLI shows it: 100 % is one full core.
    pub cpu_pct: f64,
    /// Memory in use without page cache, as the docker CLI shows it.
    pub mem_bytes: u64,
    /// The container's memory limit; the host's memory when it has none (as the docker CLI shows).
    pub mem_limit_bytes: u64,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
    pub blk_read_bps: f64,
    pub blk_write_bps: f64,
    pub pids: u64,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContainerStatus {
    Created,
    #[default]
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
    Removing,
}

impl ContainerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Created => "created",
            ContainerStatus::Running => "running",
            ContainerStatus::Paused => "paused",
            ContainerStatus::Restarting => "restarting",
            ContainerStatus::Exited => "exited",
            ContainerStatus::Dead => "dead",
            ContainerStatus::Removing => "removing",
        }
    }

    /// Parses the engine's spelling; unknown states read as `Created` rather than failing.
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => ContainerStatus::Running,
            "paused" => ContainerStatus::Paused,
            "restarting" => ContainerStatus::Restarting,
            "exited" => ContainerStatus::Exited,
            "dead" => ContainerStatus::Dead,
            "removing" => ContainerStatus::Removing,
            _ => ContainerStatus::Created,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "starting" => Some(Health::Starting),
            "healthy" => Some(Health::Healthy),
            "unhealthy" => Some(Health::Unhealthy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// What is known about a container apart from its metrics.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ContainerInfo {
    /// Full 64-hex id (a `sim-…` id for the demo fleet).
    pub id: String,
    pub name: String,
    pub image: String,
    pub status: ContainerStatus,
    pub health: Option<Health>,
    pub restart_count: u64,
    pub started_at_ms: Option<i64>,
    /// CPU quota in percent of one core (150 = 1.5 cores); `None` when unlimited.
    pub cpu_quota_pct: Option<f64>,
    /// Whether a memory limit is set (otherwise `Sample::mem_limit_bytes` is the host's memory).
    pub mem_limited: bool,
    /// Labels. Frames carry only `dockerpulse.*` labels; REST detail carries all.
    pub labels: BTreeMap<String, String>,
    /// When it has a health check: the check's start period in ms (no automatic action while
    /// inside it). `None`: no health check.
    #[serde(default)]
    pub healthcheck_start_period_ms: Option<i64>,
    /// The node it runs on, when a hub merges several (`None`: this host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl ContainerInfo {
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}
