//! The healer's side of a service-wide restart a human asked for: the service is looked up
//! through the executor (off the loop), admitted by the pure rules of [`super::service`]
//! (opt-in, mode), recorded — committed before anything is done, like every action — and only
//! then handed to the executor, whose answer is recorded as its outcome.

use super::executor::ServiceError;
use super::service::{self, ServiceTarget};
use super::{records, ExecReport, Healer, ManualReply};
use crate::clock::now_ms;
use crate::store::writer::StoreWriter;
use app::wire::{Intervention, Outcome};
use tokio::sync::oneshot;

/// Why a service-wide restart was not done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceRefusal {
    #[error(transparent)]
    Lookup(#[from] ServiceError),
    /// The service did not opt in (or opted out, or runs DockerPulse itself).
    #[error("{0}")]
    NotOptedIn(String),
    #[error("the request was dropped before it was recorded")]
    Dropped,
}

/// Where the answer to a service-wide restart goes: its record once the engine (or, in
/// dry-run, the store) has answered, or why it was refused.
pub type ServiceReply = oneshot::Sender<Result<Intervention, ServiceRefusal>>;

impl Healer {
    /// Asks the manager for the service `name`; the loop hears back through
    /// [`ExecReport::ServiceFound`] (it never waits on the engine).
    pub fn restart_service(&self, name: String, reply: ServiceReply) {
        let executor = self.executor.clone();
        let reports = self.reports.clone();
        let self_id = self.self_id.clone();
        tokio::spawn(async move {
            let target = executor.find_service(&name, self_id.as_deref()).await;
            let _ = reports
                .send(ExecReport::ServiceFound { target, reply })
                .await;
        });
    }

    /// The service was looked up: refuse, or record the restart (its reply waits for it).
    pub(super) fn on_service_found(
        &mut self,
        target: Result<ServiceTarget, ServiceError>,
        reply: ServiceReply,
        store: &mut StoreWriter,
    ) {
        let t = match target {
            Ok(t) => t,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let mode = match service::admit(&self.policy, &t) {
            Ok(mode) => mode,
            Err(why) => {
                let _ = reply.send(Err(ServiceRefusal::NotOptedIn(why)));
                return;
            }
        };
        let rec = records::service_restart(&t, mode, now_ms());
        let (tx, rx) = oneshot::channel();
        self.record(rec, None, Some(tx), store);
        tokio::spawn(async move {
            let _ = reply.send(rx.await.map_err(|_| ServiceRefusal::Dropped));
        });
    }

    /// Carries out a committed service-wide restart; reported like any action.
    pub(super) fn execute_service(&mut self, mut rec: Intervention, reply: Option<ManualReply>) {
        let executor = self.executor.clone();
        let reports = self.reports.clone();
        tokio::spawn(async move {
            let started = now_ms();
            let result = executor.restart_service(&rec.container_id).await;
            rec.started_ms = Some(started);
            rec.finished_ms = Some(now_ms());
            let ok = result.is_ok();
            rec.outcome = if ok {
                Outcome::Succeeded
            } else {
                Outcome::Failed
            };
            rec.detail = Some(result.unwrap_or_else(|e| e.to_string()));
            let done = ExecReport::Done {
                intervention: rec,
                ok,
                reply,
            };
            let _ = reports.send(done).await;
        });
    }
}
