//! Leases for acting on a Swarm task when this node is one agent of a hub: the service-wide cap
//! (`heal.service_max_share`) is only true across nodes if one place counts every node's
//! actions, and only the hub sees every node's tasks. So before the executor removes a task's
//! container it asks the hub, over the agent's link, for a lease on that service; the hub
//! grants it or says why not.
//!
//! When the link is down, or the hub does not answer in time, an automatic action is refused
//! (the cap cannot be checked, and Swarm itself reschedules the tasks of a node its managers
//! cannot reach); a human's manual action goes ahead under this node's own cap, and its record
//! says so.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long an action waits for the hub's answer before it is refused.
pub const LEASE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the hub's loop may take to decide: well within [`LEASE_TIMEOUT`], so that the hub
/// does not count a lease the agent has stopped waiting for.
pub const HUB_DECIDES_WITHIN: Duration = Duration::from_secs(3);

/// One request for a lease, as the uplink carries it to the hub.
#[derive(Debug)]
pub struct LeaseAsk {
    pub service: String,
    pub container: String,
    pub manual: bool,
    /// `Err` carries the hub's reason.
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// How an action on a task was let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leased {
    /// The hub granted it: the cap held across every node.
    ByHub,
    /// A manual action while the hub was unreachable: only this node's share was checked.
    LocalOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    #[error("the hub refused a lease on service {service}: {reason}")]
    Refused { service: String, reason: String },
    #[error("no link to the hub, so the service-wide cap on {0} cannot be checked across nodes; not acted (Swarm reschedules a cut-off node's tasks itself)")]
    Unlinked(String),
    #[error("the hub did not answer for a lease on service {0} in time; not acted")]
    NoAnswer(String),
}

/// The executor's end of the lease line. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LeaseLine {
    tx: mpsc::Sender<LeaseAsk>,
    linked: Arc<AtomicBool>,
}

/// The uplink's end: requests to carry to the hub, and where it says whether it is linked.
#[derive(Debug)]
pub struct LeaseRequests {
    pub rx: mpsc::Receiver<LeaseAsk>,
    linked: Arc<AtomicBool>,
}

impl LeaseRequests {
    /// The hub welcomed this agent (`true`) or the link ended (`false`).
    pub fn set_linked(&self, linked: bool) {
        self.linked.store(linked, Ordering::Release);
    }
}

/// A lease line and the uplink's end of it.
pub fn line() -> (LeaseLine, LeaseRequests) {
    let (tx, rx) = mpsc::channel(16);
    let linked = Arc::new(AtomicBool::new(false));
    (
        LeaseLine {
            tx,
            linked: linked.clone(),
        },
        LeaseRequests { rx, linked },
    )
}

impl LeaseLine {
    /// Asks the hub for a lease to act on `container`, a task of `service`.
    pub async fn ask(
        &self,
        service: &str,
        container: &str,
        manual: bool,
    ) -> Result<Leased, LeaseError> {
        self.ask_within(service, container, manual, LEASE_TIMEOUT)
            .await
    }

    async fn ask_within(
        &self,
        service: &str,
        container: &str,
        manual: bool,
        timeout: Duration,
    ) -> Result<Leased, LeaseError> {
        let unlinked = || {
            if manual {
                Ok(Leased::LocalOnly)
            } else {
                Err(LeaseError::Unlinked(service.to_string()))
            }
        };
        if !self.linked.load(Ordering::Acquire) {
            return unlinked();
        }
        let (reply, answer) = oneshot::channel();
        let ask = LeaseAsk {
            service: service.to_string(),
            container: container.to_string(),
            manual,
            reply,
        };
        // One deadline for both: a link busy sending must not hold the action either.
        let exchange = async {
            self.tx.send(ask).await.ok()?;
            answer.await.ok()
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Some(Ok(()))) => Ok(Leased::ByHub),
            Ok(Some(Err(reason))) => Err(LeaseError::Refused {
                service: service.to_string(),
                reason,
            }),
            // The link ended before the hub answered.
            Ok(None) => unlinked(),
            // A link that went silent looks like this until the agent gives up on it.
            Err(_) if manual => Ok(Leased::LocalOnly),
            Err(_) => Err(LeaseError::NoAnswer(service.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unlinked_refuses_automatic_and_lets_a_human_act_locally() {
        let (line, _requests) = line();
        assert_eq!(
            line.ask("web", "c1", false).await,
            Err(LeaseError::Unlinked("web".into()))
        );
        assert_eq!(line.ask("web", "c1", true).await, Ok(Leased::LocalOnly));
    }

    #[tokio::test]
    async fn the_hubs_answer_is_the_leases_answer() {
        let (line, mut requests) = line();
        requests.set_linked(true);
        let hub = tokio::spawn(async move {
            let first = requests.rx.recv().await.expect("asked");
            assert_eq!((first.service.as_str(), first.manual), ("web", false));
            let _ = first.reply.send(Ok(()));
            let second = requests.rx.recv().await.expect("asked");
            let _ = second
                .reply
                .send(Err("1 of 1 allowed already acted on".into()));
            // A third is dropped unanswered: the link ended.
            let third = requests.rx.recv().await.expect("asked");
            drop(third);
        });
        assert_eq!(line.ask("web", "c1", false).await, Ok(Leased::ByHub));
        assert!(matches!(
            line.ask("web", "c2", false).await,
            Err(LeaseError::Refused { reason, .. }) if reason.contains("already")
        ));
        assert_eq!(
            line.ask("web", "c3", false).await,
            Err(LeaseError::Unlinked("web".into()))
        );
        hub.await.expect("hub side");
    }

    #[tokio::test]
    async fn a_hub_that_never_answers_refuses_after_the_timeout() {
        let (line, requests) = line();
        requests.set_linked(true);
        // Keep the receiver alive and never read it.
        let _keep = requests;
        let waited = line
            .ask_within("web", "c1", false, Duration::from_millis(50))
            .await;
        assert_eq!(waited, Err(LeaseError::NoAnswer("web".into())));
        let human = line
            .ask_within("web", "c1", true, Duration::from_millis(50))
            .await;
        assert_eq!(human, Ok(Leased::LocalOnly), "a human's action goes ahead");
    }
}
