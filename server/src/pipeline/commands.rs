//! Requests from the API to the pipeline, which owns healing state: manual actions, healing
//! settings, breaker resets. Each carries a channel for the answer.

use app::wire::{HealAction, HealMode, HealingStatus, Intervention};
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    NotFound(String),
    /// The container did not opt in (403).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Reply<T> = oneshot::Sender<Result<T, CommandError>>;

#[derive(Debug)]
pub enum Command {
    /// Perform an action on a container now (still only on containers that opted in).
    Manual {
        container: String,
        action: HealAction,
        reply: Reply<Intervention>,
    },
    /// Restart every task of a Swarm service through Swarm (`service update --force`), only
    /// for a service that opted in. Its refusals are the healer's own (404, 403, 409, 503).
    RestartService {
        service: String,
        reply: crate::heal::ServiceReply,
    },
    SetHealing {
        mode: Option<HealMode>,
        threshold_pct: Option<f64>,
        reply: Reply<HealingStatus>,
    },
    ResetBreaker {
        container: String,
        reply: Reply<()>,
    },
    /// On a hub: may `node`'s agent act on a task of `service` now (the service-wide cap,
    /// counted over every node's tasks)? Counted when granted.
    Lease {
        node: String,
        service: String,
        container: String,
        reply: Reply<()>,
    },
}
