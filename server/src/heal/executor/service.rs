//! The engine side of a service-wide restart (the rules are in [`crate::heal::service`]): find
//! the service on the manager, then send its spec back with `ForceUpdate` incremented at the
//! version just read — exactly what `docker service update --force` sends.

use super::{DockerExecutor, Executor};
use crate::heal::service::{self, ServiceTarget};
use crate::heal::swarm::{SERVICE_LABEL, TASK_LABEL};
use app::wire::{Intervention, Outcome};
use bollard::errors::Error as BollardError;
use bollard::query_parameters::UpdateServiceOptionsBuilder;

/// Why a service could not be found or updated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    #[error("no service {0:?} in this swarm")]
    NotFound(String),
    /// The engine is not a Swarm manager (or the source is the demo fleet).
    #[error("this DockerPulse's engine is not a Swarm manager: {0}")]
    NotManager(String),
    #[error("engine: {0}")]
    Engine(String),
}

/// The engine's error in our terms; `name` is what was asked for.
fn classify(e: BollardError, name: &str) -> ServiceError {
    match e {
        BollardError::DockerResponseServerError {
            status_code: 404, ..
        } => ServiceError::NotFound(name.to_string()),
        // A node outside a swarm, or a worker, answers 503 "This node is not a swarm manager…".
        BollardError::DockerResponseServerError {
            status_code: 503,
            message,
        } => ServiceError::NotManager(message),
        e => ServiceError::Engine(e.to_string()),
    }
}

impl DockerExecutor {
    async fn find_service(
        &self,
        name: &str,
        self_id: Option<&str>,
    ) -> Result<ServiceTarget, ServiceError> {
        let docker = self
            .docker()
            .await
            .map_err(|e| ServiceError::Engine(e.to_string()))?;
        let s = docker
            .inspect_service(name, None)
            .await
            .map_err(|e| classify(e, name))?;
        let mut t = ServiceTarget::from_inspect(&s).ok_or_else(|| {
            ServiceError::Engine("the manager described the service without an id".into())
        })?;
        if let Some(me) = self_id {
            // DockerPulse's own container being one of its tasks is told by that container's
            // task labels; when it cannot be inspected it is not on this engine.
            if let Ok(c) = docker.inspect_container(me, None).await {
                let labels = c.config.and_then(|c| c.labels).unwrap_or_default();
                t.hosts_dockerpulse = labels.contains_key(TASK_LABEL)
                    && labels.get(SERVICE_LABEL).is_some_and(|n| *n == t.name);
            }
        }
        Ok(t)
    }

    async fn restart_service(&self, id: &str) -> Result<String, ServiceError> {
        let docker = self
            .docker()
            .await
            .map_err(|e| ServiceError::Engine(e.to_string()))?;
        let s = docker
            .inspect_service(id, None)
            .await
            .map_err(|e| classify(e, id))?;
        let version = s.version.as_ref().and_then(|v| v.index).ok_or_else(|| {
            ServiceError::Engine("the manager gave the service no version".into())
        })?;
        // The API client takes the version as an i32; past that it cannot be sent at all.
        let version = i32::try_from(version).map_err(|_| {
            ServiceError::Engine(format!(
                "service version {version} is beyond what the API client can send"
            ))
        })?;
        let spec = s
            .spec
            .ok_or_else(|| ServiceError::Engine("the manager gave the service no spec".into()))?;
        let before = service::force_update(&spec);
        let rollout = service::rollout(spec.update_config.as_ref());
        let spec = service::forced(spec);
        let after = service::force_update(&spec);
        // The version read above: a concurrent change to the service makes the manager refuse
        // this update ("out of sequence") instead of overwriting that change.
        let opts = UpdateServiceOptionsBuilder::new().version(version).build();
        let answer = docker
            .update_service(id, spec, opts, None)
            .await
            .map_err(|e| classify(e, id))?;
        let mut text = service::performed_text(before, after, &rollout);
        if let Some(w) = answer.warnings.filter(|w| !w.is_empty()) {
            text.push_str(&format!(" (engine warnings: {})", w.join("; ")));
        }
        Ok(text)
    }

    /// A service-wide restart left pending by a crash: was the service updated since?
    pub(super) async fn reconcile_service(&self, rec: &Intervention) -> (Outcome, String) {
        let docker = match self.docker().await {
            Ok(d) => d,
            Err(e) => return unknown(&e.to_string()),
        };
        match docker.inspect_service(&rec.container_id, None).await {
            Ok(s) => {
                let updated_ms = s
                    .updated_at
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t.to_string()).ok())
                    .map(|t| t.timestamp_millis());
                service::reconciled(updated_ms, rec.decided_ms)
            }
            Err(e) => match classify(e, &rec.container_id) {
                ServiceError::NotFound(_) => (
                    Outcome::Failed,
                    "reconciled at start: the service no longer exists".into(),
                ),
                e => unknown(&e.to_string()),
            },
        }
    }
}

fn unknown(why: &str) -> (Outcome, String) {
    (
        Outcome::Failed,
        format!("reconciled at start: outcome unknown, the engine did not answer ({why})"),
    )
}

impl Executor {
    /// The service `name` (a name, id or unique id prefix) as the manager describes it, and
    /// whether DockerPulse's own container (`self_id`) is one of its tasks.
    pub async fn find_service(
        &self,
        name: &str,
        self_id: Option<&str>,
    ) -> Result<ServiceTarget, ServiceError> {
        match self {
            Executor::Docker(d) => d.find_service(name, self_id).await,
            Executor::Demo(_) => Err(ServiceError::NotManager(
                "it runs the simulated demo fleet, which has no swarm".into(),
            )),
        }
    }

    /// Restarts every task of the service with id `id` through Swarm (`update --force`).
    pub async fn restart_service(&self, id: &str) -> Result<String, ServiceError> {
        match self {
            Executor::Docker(d) => d.restart_service(id).await,
            Executor::Demo(_) => Err(ServiceError::NotManager(
                "it runs the simulated demo fleet, which has no swarm".into(),
            )),
        }
    }
}
