//! Sources of data: every source turns the outside world into a stream of [`SourceMsg`] —
//! a tick of readings per interval, engine state changes and container lifecycle events.
//!
//! The pipeline downstream does not know which source it is fed by; the demo fleet and the real
//! engine are interchangeable.

pub mod cgroup;
pub mod cpu;
pub mod demo;
pub mod docker;
pub mod host;
pub mod host_only;
pub mod remote;

use app::wire::{ContainerInfo, EngineStatus, HostSample, Sample, SourceKind};
use serde::{Deserialize, Serialize};
use std::future::Future;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How container metrics are read.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StatsMode {
    /// cgroup files where they are readable (local engine), the engine's stats API otherwise.
    #[default]
    Auto,
    /// Only cgroup files; containers whose cgroup cannot be found get no metrics.
    Cgroup,
    /// Only the engine's stats API (what `docker stats` uses; costs the engine more CPU).
    Engine,
}

/// Everything a source can say.
#[derive(Debug, Clone)]
pub enum SourceMsg {
    Tick(Tick),
    Engine(EngineStatus),
    Event(LifecycleEvent),
    /// From a node's agent, when this DockerPulse is a hub.
    Remote(remote::RemoteMsg),
}

/// One sampling tick.
#[derive(Debug, Clone, Default)]
pub struct Tick {
    pub ts_ms: i64,
    pub host: Option<HostSample>,
    /// Every container the source currently tracks. `None` when the fleet is unknown (engine
    /// unreachable): consumers keep what they last knew instead of emptying the fleet.
    pub containers: Option<Vec<Reading>>,
}

/// One container at one tick: what it is, and its metrics when they could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Shared, not copied, from tick to tick while it does not change (see `store::live`).
    pub info: std::sync::Arc<ContainerInfo>,
    pub sample: Option<Sample>,
}

/// A container lifecycle event from the engine (or the demo fleet).
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    pub ts_ms: i64,
    pub id: String,
    pub name: String,
    pub kind: LifecycleKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleKind {
    /// Created; a start that fails (its command does not exist) sends no other event.
    Create,
    Start,
    /// The main process ended; `oom_killed` when the kernel killed it for memory.
    Die {
        exit_code: Option<i64>,
    },
    Stop,
    Destroy,
    Oom,
    Restart,
    Pause,
    Unpause,
    /// `docker update` changed its limits (also our own throttle).
    Update,
    Health(app::wire::Health),
}

impl LifecycleKind {
    /// Parses the engine's event `action` (e.g. `health_status: unhealthy`).
    pub fn from_action(action: &str, exit_code: Option<i64>) -> Option<Self> {
        let kind = match action {
            "create" => Self::Create,
            "start" => Self::Start,
            "die" => Self::Die { exit_code },
            "stop" => Self::Stop,
            "destroy" => Self::Destroy,
            "oom" => Self::Oom,
            "restart" => Self::Restart,
            "pause" => Self::Pause,
            "unpause" => Self::Unpause,
            "update" => Self::Update,
            a => {
                let status = a.strip_prefix("health_status:")?.trim();
                Self::Health(app::wire::Health::parse(status)?)
            }
        };
        Some(kind)
    }

    pub fn label(&self) -> String {
        match self {
            Self::Create => "create".into(),
            Self::Start => "start".into(),
            Self::Die { exit_code: Some(c) } => format!("die (exit {c})"),
            Self::Die { exit_code: None } => "die".into(),
            Self::Stop => "stop".into(),
            Self::Destroy => "destroy".into(),
            Self::Oom => "oom".into(),
            Self::Restart => "restart".into(),
            Self::Pause => "pause".into(),
            Self::Unpause => "unpause".into(),
            Self::Update => "update".into(),
            Self::Health(h) => format!("health: {}", h.as_str()),
        }
    }
}

/// A producer of [`SourceMsg`]s. Runs until `shutdown` is cancelled or the receiver is gone.
pub trait Source: Send + 'static {
    fn kind(&self) -> SourceKind;
    fn run(
        self,
        out: mpsc::Sender<SourceMsg>,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_actions_parse() {
        assert_eq!(
            LifecycleKind::from_action("die", Some(137)),
            Some(LifecycleKind::Die {
                exit_code: Some(137)
            })
        );
        assert_eq!(
            LifecycleKind::from_action("health_status: unhealthy", None),
            Some(LifecycleKind::Health(app::wire::Health::Unhealthy))
        );
        assert_eq!(LifecycleKind::from_action("exec_start: sh", None), None);
        assert_eq!(LifecycleKind::from_action("attach", None), None);
    }
}
