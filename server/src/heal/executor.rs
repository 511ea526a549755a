//! The thin edge that carries out healing actions: on the Docker engine through bollard, or on
//! the demo fleet. Decisions are made elsewhere (the policy); this only acts and reports.

use super::lease::{LeaseLine, Leased};
use super::swarm::{SERVICE_LABEL, TASK_LABEL};
use super::verify::Probe;
use crate::collect::demo::{DemoAction, DemoControl};
use crate::collect::docker::connect;
use crate::collect::docker::inspect::info_from_inspect;
use app::wire::HealAction;
use bollard::models::{ContainerUpdateBody, NetworkDisconnectRequest};
use bollard::query_parameters::{RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder};
use bollard::Docker;
use tokio::sync::OnceCell;

mod follow_up;
mod service;
pub use service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("engine: {0}")]
    Engine(String),
    #[error("the demo fleet has no container {0}")]
    UnknownDemoContainer(String),
    #[error("{0} is not something DockerPulse does to a container")]
    NotAnAction(&'static str),
    #[error("the container no longer exists")]
    Gone,
    #[error("{}", super::policy::SWARM_TASK_ONLY_RESTART)]
    SwarmTask,
    /// No lease from the hub for a Swarm task (the action was not taken).
    #[error(transparent)]
    Lease(#[from] super::lease::LeaseError),
}

impl From<bollard::errors::Error> for ExecError {
    fn from(e: bollard::errors::Error) -> Self {
        match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => ExecError::Gone,
            e => ExecError::Engine(e.to_string()),
        }
    }
}

/// What an action did.
#[derive(Debug, Clone, PartialEq)]
pub struct Performed {
    pub text: String,
    /// A Swarm task's restart: its container was removed for Swarm to replace (nothing to
    /// verify on this container).
    pub replaced: bool,
}

impl Performed {
    fn done(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            replaced: false,
        }
    }
}

/// Where actions go.
#[derive(Debug, Clone)]
pub enum Executor {
    Docker(DockerExecutor),
    Demo(DemoControl),
}

/// Acts on a Docker engine; connects on first use and reuses the connection.
#[derive(Debug, Clone)]
pub struct DockerExecutor {
    endpoint: String,
    docker: std::sync::Arc<OnceCell<Docker>>,
    /// On an agent: the hub grants each action on a Swarm task (the service-wide cap).
    leases: Option<LeaseLine>,
}

impl DockerExecutor {
    pub fn new(endpoint: String) -> Self {
        Self {
            endpoint,
            docker: std::sync::Arc::new(OnceCell::new()),
            leases: None,
        }
    }

    /// Acts on a Swarm task only with a lease from the hub on the other end of `line`.
    pub fn with_leases(mut self, line: LeaseLine) -> Self {
        self.leases = Some(line);
        self
    }

    async fn docker(&self) -> Result<&Docker, ExecError> {
        self.docker
            .get_or_try_init(|| async {
                connect(&self.endpoint)
                    .await
                    .map(|(d, _)| d)
                    .map_err(|e| ExecError::Engine(e.to_string()))
            })
            .await
    }

    async fn probe(
        &self,
        id: &str,
    ) -> Result<(Probe, bollard::models::ContainerInspectResponse), ExecError> {
        let docker = self.docker().await?;
        let i = docker.inspect_container(id, None).await?;
        let (info, _) = info_from_inspect(&i);
        let probe = Probe {
            status: info.status,
            health: info.health,
            has_healthcheck: info.healthcheck_start_period_ms.is_some(),
            started_at_ms: info.started_at_ms,
            exit_code: i.state.as_ref().and_then(|s| s.exit_code),
        };
        Ok((probe, i))
    }

    async fn perform(
        &self,
        id: &str,
        action: HealAction,
        manual: bool,
    ) -> Result<Performed, ExecError> {
        let docker = self.docker().await?;
        // The engine's word at the moment of acting decides whether it is a Swarm task.
        let info = docker.inspect_container(id, None).await?;
        let labels = info
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        if let Some(service) = labels
            .get(SERVICE_LABEL)
            .filter(|_| labels.contains_key(TASK_LABEL))
        {
            if action != HealAction::Restart {
                return Err(ExecError::SwarmTask);
            }
            let leased = match &self.leases {
                Some(line) => Some(line.ask(service, id, manual).await?),
                None => None,
            };
            // Removing the task's container makes Swarm see the task fail and schedule a
            // replacement under the service's restart policy; `docker restart` would not.
            let opts = RemoveContainerOptionsBuilder::new().force(true).build();
            docker.remove_container(id, Some(opts)).await?;
            let cap = match leased {
                Some(Leased::ByHub) => "; the hub granted it under the service-wide cap",
                Some(Leased::LocalOnly) => {
                    "; the hub did not answer, so only this node's share of the service was checked"
                }
                None => "",
            };
            return Ok(Performed {
                text: format!(
                    "replaced through Swarm: removed the task's container; service {service} schedules a new task under its own restart policy{cap}"
                ),
                replaced: true,
            });
        }
        self.perform_plain(docker, id, action, info)
            .await
            .map(Performed::done)
    }

    /// Acts on a container that is not a Swarm task; `info` is its inspection, just taken.
    async fn perform_plain(
        &self,
        docker: &Docker,
        id: &str,
        action: HealAction,
        info: bollard::models::ContainerInspectResponse,
    ) -> Result<String, ExecError> {
        match action {
            HealAction::Restart => {
                let opts = RestartContainerOptionsBuilder::new().t(5).build();
                docker.restart_container(id, Some(opts)).await?;
                Ok("restarted (stop timeout 5 s)".into())
            }
            HealAction::Pause => {
                docker.pause_container(id).await?;
                Ok("paused".into())
            }
            HealAction::Unpause => {
                docker.unpause_container(id).await?;
                Ok("unpaused".into())
            }
            HealAction::Isolate => {
                let nets: Vec<String> = info
                    .network_settings
                    .and_then(|n| n.networks)
                    .map(|n| n.into_keys().collect())
                    .unwrap_or_default();
                let mut done = Vec::new();
                for net in nets
                    .iter()
                    .filter(|n| !matches!(n.as_str(), "none" | "host"))
                {
                    let req = NetworkDisconnectRequest {
                        container: id.to_string(),
                        force: Some(true),
                    };
                    docker.disconnect_network(net, req).await?;
                    done.push(net.clone());
                }
                Ok(if done.is_empty() {
                    "isolated: it was attached to no network".into()
                } else {
                    format!("isolated: disconnected from {}", done.join(", "))
                })
            }
            HealAction::Throttle => {
                let host = info.host_config.unwrap_or_default();
                let period = 100_000i64;
                let current = match (host.nano_cpus, host.cpu_quota, host.cpu_period) {
                    (Some(n), _, _) if n > 0 => n / 10_000,
                    (_, Some(q), Some(p)) if q > 0 && p > 0 => q * period / p,
                    (_, Some(q), _) if q > 0 => q,
                    _ => 2 * period,
                };
                let quota = (current / 2).max(10_000);
                let update = ContainerUpdateBody {
                    cpu_period: Some(period),
                    cpu_quota: Some(quota),
                    nano_cpus: Some(0),
                    ..Default::default()
                };
                docker.update_container(id, update).await?;
                Ok(format!(
                    "throttled: CPU quota {:.0} % → {:.0} % of a core",
                    current as f64 / 1000.0,
                    quota as f64 / 1000.0
                ))
            }
            HealAction::Escalate => Err(ExecError::NotAnAction("escalate")),
        }
    }
}

impl Executor {
    /// Carries out `action` on the container; the text describes what happened.
    /// Carries out `action` on container `id`; `manual` when a human asked for it.
    pub async fn perform(
        &self,
        id: &str,
        action: HealAction,
        manual: bool,
    ) -> Result<Performed, ExecError> {
        match self {
            Executor::Docker(d) => d.perform(id, action, manual).await,
            Executor::Demo(control) => {
                let demo = match action {
                    HealAction::Restart => DemoAction::Restart(id.into()),
                    HealAction::Pause | HealAction::Isolate => DemoAction::Pause(id.into()),
                    HealAction::Unpause => DemoAction::Unpause(id.into()),
                    HealAction::Throttle => DemoAction::Throttle(id.into()),
                    HealAction::Escalate => return Err(ExecError::NotAnAction("escalate")),
                };
                if control.apply(demo).await {
                    Ok(Performed::done(format!(
                        "{} (simulated fleet)",
                        action.as_str()
                    )))
                } else {
                    Err(ExecError::UnknownDemoContainer(id.into()))
                }
            }
        }
    }

    /// One look at the container, for verifying a restart.
    pub async fn probe(&self, id: &str) -> Result<Probe, ExecError> {
        match self {
            Executor::Docker(d) => d.probe(id).await.map(|(p, _)| p),
            Executor::Demo(control) => {
                let info = control
                    .inspect(id)
                    .await
                    .ok_or_else(|| ExecError::UnknownDemoContainer(id.into()))?;
                Ok(Probe {
                    status: info.status,
                    health: info.health,
                    has_healthcheck: info.healthcheck_start_period_ms.is_some(),
                    started_at_ms: info.started_at_ms,
                    exit_code: None,
                })
            }
        }
    }
}
