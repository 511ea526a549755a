//! What became of an action, seen on its container afterwards: a restart watched until it held
//! or did not, and an action an earlier run left pending settled from what the engine shows now.

use super::{ExecError, Executor};
use crate::heal::verify::{judge, Check};
use app::wire::{ContainerStatus, HealAction, Intervention, Outcome};

/// How often a restarted container is looked at while its restart is verified.
const VERIFY_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl Executor {
    /// Watches a container after a restart until it held or did not (see
    /// [`crate::heal::verify`]), or until `superseded` (DockerPulse acts on it again: its own
    /// restart is no crash loop).
    /// Returns whether it held (`None`: not judged), and what was seen.
    pub async fn verify(
        &self,
        id: &str,
        within: std::time::Duration,
        superseded: tokio_util::sync::CancellationToken,
    ) -> (Option<bool>, String) {
        tokio::select! {
            _ = superseded.cancelled() => (
                None,
                "not judged: DockerPulse acted on the container again before it could tell".into(),
            ),
            (held, text) = self.watch(id, within) => (Some(held), text),
        }
    }

    async fn watch(&self, id: &str, within: std::time::Duration) -> (bool, String) {
        let started = tokio::time::Instant::now();
        let within_ms = crate::util::ms(within);
        let mut first_start = None;
        loop {
            let elapsed = crate::util::ms(started.elapsed());
            match self.probe(id).await {
                Ok(p) => {
                    first_start = first_start.or(p.started_at_ms);
                    match judge(first_start, &p, elapsed, within_ms) {
                        Check::Held(text) => return (true, text),
                        Check::NotHeld(text) => return (false, text),
                        Check::Wait => {}
                    }
                }
                Err(ExecError::Gone) | Err(ExecError::UnknownDemoContainer(_)) => {
                    return (false, "did not hold: the container is gone".into())
                }
                Err(e) if elapsed >= within_ms => {
                    return (false, format!("could not verify: {e}"));
                }
                Err(_) => {}
            }
            tokio::time::sleep(VERIFY_EVERY).await;
        }
    }

    /// Settles an action left `pending` when DockerPulse stopped before the engine answered:
    /// looks at the container now and says what became of it.
    pub async fn reconcile(&self, rec: &Intervention) -> (Outcome, String) {
        let Executor::Docker(d) = self else {
            return (
                Outcome::Failed,
                "not carried out: the simulated fleet started afresh".into(),
            );
        };
        if app::wire::service_of_record(&rec.container_name).is_some() {
            return d.reconcile_service(rec).await;
        }
        let (probe, inspect) = match d.probe(&rec.container_id).await {
            Ok(found) => found,
            Err(ExecError::Gone) => {
                return (
                    Outcome::Failed,
                    "reconciled at start: the container no longer exists".into(),
                )
            }
            Err(e) => {
                return (
                    Outcome::Failed,
                    format!(
                        "reconciled at start: outcome unknown, the engine did not answer ({e})"
                    ),
                )
            }
        };
        let started_after = probe.started_at_ms.is_some_and(|t| t >= rec.decided_ms);
        let networks = inspect
            .network_settings
            .and_then(|n| n.networks)
            .map(|n| n.into_keys().filter(|k| k != "none" && k != "host").count())
            .unwrap_or(0);
        let (done, seen) = match rec.action {
            HealAction::Restart => (
                started_after,
                if started_after {
                    "it started again after the decision"
                } else {
                    "it was not restarted after the decision"
                },
            ),
            HealAction::Pause => (
                probe.status == ContainerStatus::Paused,
                "it is paused",
            ),
            HealAction::Unpause => (
                probe.status == ContainerStatus::Running,
                "it is running",
            ),
            HealAction::Isolate => (networks == 0, "it is attached to no network"),
            HealAction::Throttle | HealAction::Escalate => {
                return (
                    Outcome::Failed,
                    "reconciled at start: outcome unknown (DockerPulse stopped before the engine answered)".into(),
                )
            }
        };
        if done {
            (Outcome::Succeeded, format!("reconciled at start: {seen}"))
        } else {
            (
                Outcome::Failed,
                format!(
                    "reconciled at start: not carried out (DockerPulse stopped before the engine acted; {})",
                    if rec.action == HealAction::Restart { seen } else { "the container is not in that state" }
                ),
            )
        }
    }
}
