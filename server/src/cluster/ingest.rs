//! The hub's side: `GET /agent`, where nodes' agents connect. Checks each agent's token, takes
//! its ticks into the hub's loop (as [`RemoteMsg`]s), and carries manual actions asked at the hub
//! to the agent that owns the container, answering with the agent's answer.
//!
//! One connection per node: a reconnecting agent replaces its older connection (the hub may not
//! yet have noticed the old one died). A malformed message closes that agent's socket (1008),
//! an oversized one (or one that inflates past [`MAX_INFLATED`](super::protocol::MAX_INFLATED))
//! with 1009; no other agent notices.

use super::config::AgentCredential;
use super::protocol::{Answer, HubMsg, NODE_HEADER};
use crate::collect::remote::RemoteMsg;
use crate::collect::SourceMsg;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

mod connection;
pub use connection::upgrade;

/// How long a command waits for its agent's answer (a restart may take the engine a while).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedAgent {
    #[error("this DockerPulse is not a hub: it accepts no agents ([cluster] agents is empty)")]
    NotAHub,
    #[error("the agent did not say which node it is (header X-DockerPulse-Node)")]
    NoNode,
    #[error("no token (header Authorization: Bearer <token>)")]
    NoToken,
    /// Deliberately the same for an unknown node and a wrong token: no probing for names.
    #[error("unknown node {0:?} or wrong token")]
    Denied(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandFailed {
    #[error("node {0} is not connected: the action was not sent")]
    NotConnected(String),
    #[error("node {0} did not answer in time; see its interventions when it is back")]
    NoAnswer(String),
}

/// A connected agent.
struct Link {
    generation: u64,
    tx: mpsc::Sender<HubMsg>,
}

/// The agents this hub accepts and those connected now. Cheap to clone.
#[derive(Clone)]
pub struct Agents {
    credentials: Arc<Vec<AgentCredential>>,
    links: Arc<Mutex<HashMap<String, Link>>>,
    pending: Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>,
    next: Arc<AtomicU64>,
    to_pipeline: mpsc::Sender<SourceMsg>,
    /// The hub's own loop, which grants leases (its healer counts every node's tasks).
    commands: mpsc::Sender<crate::pipeline::commands::Command>,
    /// Each node's incidents and interventions, as its agent last sent them.
    pub records: Arc<Mutex<super::records::Mirror>>,
    /// The sample time of each node's last tick taken: told to a reconnecting agent, which
    /// sends what came after (so nothing twice). The last, not the greatest: should the node's
    /// clock step back, its ticks still count.
    newest: Arc<Mutex<HashMap<String, i64>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain maps: a panic elsewhere cannot leave them in a state worth refusing agents over.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Agents {
    pub fn new(
        credentials: Vec<AgentCredential>,
        to_pipeline: mpsc::Sender<SourceMsg>,
        commands: mpsc::Sender<crate::pipeline::commands::Command>,
    ) -> Self {
        Self {
            credentials: Arc::new(credentials),
            links: Arc::default(),
            pending: Arc::default(),
            next: Arc::new(AtomicU64::new(1)),
            to_pipeline,
            commands,
            records: Arc::default(),
            newest: Arc::default(),
        }
    }

    /// Which node the request's headers prove to be.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<String, RefusedAgent> {
        if self.credentials.is_empty() {
            return Err(RefusedAgent::NotAHub);
        }
        let node = headers
            .get(NODE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or(RefusedAgent::NoNode)?;
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(RefusedAgent::NoToken)?;
        // Every credential is compared, so the time taken does not say which node exists.
        let mut ok = false;
        for c in self.credentials.iter() {
            let same = constant_time_eq::constant_time_eq(c.token.as_bytes(), token.as_bytes());
            ok |= same && c.node == node;
        }
        if ok {
            Ok(node.to_string())
        } else {
            Err(RefusedAgent::Denied(node.to_string()))
        }
    }

    /// Nodes with an open connection.
    pub fn connected(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.links).keys().cloned().collect();
        v.sort();
        v
    }

    fn attach(&self, node: &str, tx: mpsc::Sender<HubMsg>) -> u64 {
        let generation = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.links).insert(node.to_string(), Link { generation, tx });
        generation
    }

    /// Forgets the link of `node` if it is still this one; whether it was.
    fn detach(&self, node: &str, generation: u64) -> bool {
        let mut links = lock(&self.links);
        if links.get(node).is_some_and(|l| l.generation == generation) {
            links.remove(node);
            true
        } else {
            false
        }
    }

    /// Sends a manual action to `node`'s agent and waits for its answer.
    pub async fn command(
        &self,
        node: &str,
        container: String,
        action: app::wire::HealAction,
    ) -> Result<Answer, CommandFailed> {
        let tx = lock(&self.links)
            .get(node)
            .map(|l| l.tx.clone())
            .ok_or_else(|| CommandFailed::NotConnected(node.to_string()))?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (answer_tx, answer_rx) = oneshot::channel();
        lock(&self.pending).insert(id, answer_tx);
        let sent = tx
            .send(HubMsg::Command {
                id,
                container,
                action,
            })
            .await;
        let answer = match sent {
            Ok(()) => tokio::time::timeout(ANSWER_TIMEOUT, answer_rx).await,
            Err(_) => {
                lock(&self.pending).remove(&id);
                return Err(CommandFailed::NotConnected(node.to_string()));
            }
        };
        lock(&self.pending).remove(&id);
        match answer {
            Ok(Ok(a)) => Ok(a),
            _ => Err(CommandFailed::NoAnswer(node.to_string())),
        }
    }

    /// Hands `msg` to the hub's loop; false once the loop is gone (DockerPulse is stopping).
    async fn forward(&self, msg: RemoteMsg) -> bool {
        self.to_pipeline.send(SourceMsg::Remote(msg)).await.is_ok()
    }

    /// Asks the hub's loop for a lease on one of `service`'s tasks for `node`'s agent; the
    /// reason when there is none.
    async fn lease(&self, node: &str, service: String, container: String) -> Result<(), String> {
        use crate::pipeline::commands::Command;
        let (reply, answer) = oneshot::channel();
        let ask = Command::Lease {
            node: node.to_string(),
            service,
            container,
            reply,
        };
        if self.commands.send(ask).await.is_err() {
            return Err("the hub is stopping".into());
        }
        match tokio::time::timeout(crate::heal::lease::HUB_DECIDES_WITHIN, answer).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e.to_string()),
            _ => Err("the hub's loop did not answer".into()),
        }
    }

    /// Notes that a tick of `node` sampled at `ts_ms` was taken.
    fn took(&self, node: &str, ts_ms: i64) {
        lock(&self.newest).insert(node.to_string(), ts_ms);
    }

    fn answered(&self, id: u64, answer: Answer) {
        if let Some(tx) = lock(&self.pending).remove(&id) {
            let _ = tx.send(answer);
        }
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
