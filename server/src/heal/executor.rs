//! The thin edge that carries out healing actions: on the Docker engine through bollard, or on
//! the demo fleet. Decisions are made elsewhere (the policy); this only acts and reports.

use crate::collect::demo::{DemoAction, DemoControl};
use crate::collect::docker::connect;
use app::wire::HealAction;
use bollard::models::{ContainerUpdateBody, NetworkDisconnectRequest};
use bollard::query_parameters::RestartContainerOptionsBuilder;
use bollard::Docker;
use tokio::sync::OnceCell;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("engine: {0}")]
    Engine(String),
    #[error("the demo fleet has no container {0}")]
    UnknownDemoContainer(String),
    #[error("{0} is not something DockerPulse does to a container")]
    NotAnAction(&'static str),
}

impl From<bollard::errors::Error> for ExecError {
    fn from(e: bollard::errors::Error) -> Self {
        ExecError::Engine(e.to_string())
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
}

impl DockerExecutor {
    pub fn new(endpoint: String) -> Self {
        Self {
            endpoint,
            docker: std::sync::Arc::new(OnceCell::new()),
        }
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

    async fn perform(&self, id: &str, action: HealAction) -> Result<String, ExecError> {
        let docker = self.docker().await?;
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
                let info = docker.inspect_container(id, None).await?;
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
                let info = docker.inspect_container(id, None).await?;
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
    pub async fn perform(&self, id: &str, action: HealAction) -> Result<String, ExecError> {
        match self {
            Executor::Docker(d) => d.perform(id, action).await,
            Executor::Demo(control) => {
                let demo = match action {
                    HealAction::Restart => DemoAction::Restart(id.into()),
                    HealAction::Pause | HealAction::Isolate => DemoAction::Pause(id.into()),
                    HealAction::Unpause => DemoAction::Unpause(id.into()),
                    HealAction::Throttle => DemoAction::Throttle(id.into()),
                    HealAction::Escalate => return Err(ExecError::NotAnAction("escalate")),
                };
                if control.apply(demo).await {
                    Ok(format!("{} (simulated fleet)", action.as_str()))
                } else {
                    Err(ExecError::UnknownDemoContainer(id.into()))
                }
            }
        }
    }
}
