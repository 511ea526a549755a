//! The hub's side: `GET /agent`, where nodes' agents connect. Checks each agent's token, takes
//! its ticks into the hub's loop (as [`RemoteMsg`]s), and carries manual actions asked at the hub
//! to the agent that owns the container, answering with the agent's answer.
//!
//! One connection per node: a reconnecting agent replaces its older connection (the hub may not
//! yet have noticed the old one died). A malformed message closes that agent's socket (1008),
//! an oversized one (or one that inflates past [`MAX_INFLATED`]) with 1009; no other agent
//! notices.

use super::config::AgentCredential;
use super::protocol::{
    AgentMsg, Answer, HubMsg, MAX_INFLATED, MAX_MESSAGE, NODE_HEADER, PROTOCOL, VERSION_HEADER,
};
use crate::clock::now_ms;
use crate::collect::remote::RemoteMsg;
use crate::collect::SourceMsg;
use crate::state::AppState;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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

/// `GET /agent`: an agent's websocket.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    State(st): State<AppState>,
) -> Response {
    let node = match st.agents.authenticate(&headers) {
        Ok(node) => node,
        Err(refused) => {
            tracing::warn!(reason = %refused, "agent refused");
            let status = match refused {
                RefusedAgent::NotAHub => StatusCode::NOT_FOUND,
                _ => StatusCode::UNAUTHORIZED,
            };
            return (status, refused.to_string()).into_response();
        }
    };
    let version = headers
        .get(VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string();
    let agents = st.agents.clone();
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve_agent(agents, node, version, socket))
}

async fn close(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    code: u16,
    why: &str,
) {
    // Close reasons are limited to 123 bytes.
    let reason: String = why.chars().take(120).collect();
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }));
    let _ = tokio::time::timeout(Duration::from_secs(5), sink.send(frame)).await;
}

/// Reads one agent message: JSON text, or deflated JSON in a binary message. `Err` carries the
/// close code and the reason.
fn decode(m: Message) -> Result<Option<AgentMsg>, (u16, String)> {
    let parsed = match m {
        Message::Text(text) => serde_json::from_str::<AgentMsg>(&text),
        Message::Binary(data) => match crate::deflate::inflate(&data, MAX_INFLATED) {
            Ok(json) => serde_json::from_slice::<AgentMsg>(&json),
            Err(e @ crate::deflate::InflateError::TooLarge(_)) => {
                return Err((close_code::SIZE, format!("message {e}")))
            }
            Err(e) => return Err((close_code::POLICY, format!("malformed message: {e}"))),
        },
        // Pings are answered by the socket itself; a close is handled by the caller.
        _ => return Ok(None),
    };
    parsed
        .map(Some)
        .map_err(|e| (close_code::POLICY, format!("malformed message: {e}")))
}

/// What the connection does with one message from its agent: carry on, or end (with why).
enum Next {
    Continue,
    End(Option<String>),
}

async fn on_message(
    agents: &Agents,
    node: &str,
    version: &str,
    joined: &mut bool,
    msg: AgentMsg,
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
) -> Next {
    let refuse = |why: String| (close_code::POLICY, why);
    let refusal = match msg {
        AgentMsg::Hello { protocol, .. } if protocol != PROTOCOL => Some(refuse(format!(
            "agent speaks protocol {protocol}, this hub {PROTOCOL}: upgrade the older one"
        ))),
        AgentMsg::Hello { node: said, .. } if said != node => Some(refuse(format!(
            "the agent said it is {said:?} but its token is {node:?}'s"
        ))),
        AgentMsg::Hello { .. } => {
            *joined = true;
            let msg = RemoteMsg::Joined {
                node: node.to_string(),
                version: version.to_string(),
                at_ms: now_ms(),
            };
            if !agents.forward(msg).await {
                return Next::End(None);
            }
            let welcome = HubMsg::Welcome {
                node: node.to_string(),
                since_ms: lock(&agents.newest).get(node).copied(),
            };
            if send(sink, &welcome).await.is_err() {
                return Next::End(Some("could not write to the agent".into()));
            }
            None
        }
        _ if !*joined => Some(refuse("the first message must be hello".into())),
        AgentMsg::Tick(tick) => {
            agents.took(node, tick.ts_ms);
            let msg = RemoteMsg::Tick {
                node: node.to_string(),
                tick,
                received_ms: now_ms(),
            };
            if !agents.forward(msg).await {
                return Next::End(None);
            }
            None
        }
        AgentMsg::Answer { id, result } => {
            agents.answered(id, result);
            None
        }
        AgentMsg::Records {
            incidents,
            interventions,
        } => {
            lock(&agents.records).upsert(node, incidents, interventions);
            None
        }
        AgentMsg::Lease {
            id,
            service,
            container,
            manual: _,
        } => {
            let refused = agents.lease(node, service, container).await.err();
            if send(sink, &HubMsg::Lease { id, refused }).await.is_err() {
                return Next::End(Some("could not write to the agent".into()));
            }
            None
        }
    };
    match refusal {
        Some((code, why)) => {
            close(sink, code, &why).await;
            Next::End(Some(why))
        }
        None => Next::Continue,
    }
}

async fn serve_agent(agents: Agents, node: String, version: String, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<HubMsg>(64);
    let generation = agents.attach(&node, tx);
    let mut joined = false;
    // Pings let the agent tell a dead link from a quiet hub (it reconnects after PING_SILENCE).
    let mut ping = tokio::time::interval(super::protocol::PING_EVERY);
    let why: Option<String> = loop {
        tokio::select! {
            _ = ping.tick() => {
                let sent = tokio::time::timeout(Duration::from_secs(5), sink.send(Message::Ping(Default::default()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break Some("could not write to the agent".into());
                }
            }
            msg = stream.next() => match msg {
                None => break Some("the agent's connection ended".into()),
                Some(Err(e)) => {
                    // Over MAX_MESSAGE (the socket refuses it), or the connection broke.
                    let text = e.to_string();
                    if text.contains("Space limit") || text.contains("too long") {
                        let why = format!("message over {} MiB: {text}", MAX_MESSAGE >> 20);
                        close(&mut sink, close_code::SIZE, &why).await;
                        break Some(why);
                    }
                    break Some(format!("connection lost: {text}"));
                }
                Some(Ok(Message::Close(_))) => break Some("the agent closed its connection".into()),
                Some(Ok(m)) => match decode(m) {
                    Ok(None) => {}
                    Err((code, why)) => {
                        close(&mut sink, code, &why).await;
                        break Some(why);
                    }
                    Ok(Some(msg)) => {
                        if let Next::End(why) = on_message(&agents, &node, &version, &mut joined, msg, &mut sink).await {
                            break why;
                        }
                    }
                },
            },
            out = rx.recv() => match out {
                Some(m) => {
                    if send(&mut sink, &m).await.is_err() {
                        break Some("could not write to the agent".into());
                    }
                }
                // A newer connection of the same node took over.
                None => break None,
            },
        }
    };
    if agents.detach(&node, generation) {
        if let Some(why) = why {
            tracing::warn!(%node, %why, "agent disconnected");
            agents.forward(RemoteMsg::Left { node, why }).await;
        }
    }
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    m: &HubMsg,
) -> Result<(), ()> {
    let text = serde_json::to_string(m).map_err(|_| ())?;
    match tokio::time::timeout(
        Duration::from_secs(30),
        sink.send(Message::Text(text.into())),
    )
    .await
    {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn agents() -> Agents {
        let (tx, _rx) = mpsc::channel(1);
        let (commands, _) = mpsc::channel(1);
        Agents::new(
            vec![
                AgentCredential {
                    node: "n1".into(),
                    token: "token-of-node-one-0001".into(),
                },
                AgentCredential {
                    node: "n2".into(),
                    token: "token-of-node-two-0002".into(),
                },
            ],
            tx,
            commands,
        )
    }

    fn headers(node: Option<&str>, token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(n) = node {
            h.insert(NODE_HEADER, HeaderValue::from_str(n).expect("header"));
        }
        if let Some(t) = token {
            h.insert(
                axum::http::header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {t}")).expect("header"),
            );
        }
        h
    }

    #[test]
    fn each_node_gets_in_with_its_own_token_only() {
        let a = agents();
        assert_eq!(
            a.authenticate(&headers(Some("n1"), Some("token-of-node-one-0001"))),
            Ok("n1".into())
        );
        // Another node's token is not this node's.
        assert_eq!(
            a.authenticate(&headers(Some("n1"), Some("token-of-node-two-0002"))),
            Err(RefusedAgent::Denied("n1".into()))
        );
        assert_eq!(
            a.authenticate(&headers(Some("n3"), Some("token-of-node-one-0001"))),
            Err(RefusedAgent::Denied("n3".into()))
        );
        assert_eq!(
            a.authenticate(&headers(None, Some("token-of-node-one-0001"))),
            Err(RefusedAgent::NoNode)
        );
        assert_eq!(
            a.authenticate(&headers(Some("n1"), None)),
            Err(RefusedAgent::NoToken)
        );
    }

    #[test]
    fn a_single_host_refuses_every_agent() {
        let (tx, _rx) = mpsc::channel(1);
        let (commands, _) = mpsc::channel(1);
        let a = Agents::new(Vec::new(), tx, commands);
        assert_eq!(
            a.authenticate(&headers(Some("n1"), Some("anything-at-all-here"))),
            Err(RefusedAgent::NotAHub)
        );
    }

    #[tokio::test]
    async fn a_command_to_a_node_that_is_not_connected_fails_at_once() {
        let a = agents();
        let r = a
            .command("n1", "web".into(), app::wire::HealAction::Restart)
            .await;
        assert_eq!(r, Err(CommandFailed::NotConnected("n1".into())));
    }

    #[tokio::test]
    async fn a_newer_connection_replaces_the_older_and_only_it_detaches() {
        let a = agents();
        let (tx1, _rx1) = mpsc::channel(1);
        let (tx2, mut rx2) = mpsc::channel(1);
        let g1 = a.attach("n1", tx1);
        let g2 = a.attach("n1", tx2);
        assert!(
            !a.detach("n1", g1),
            "the old connection must not remove the new one"
        );
        assert_eq!(a.connected(), ["n1"]);
        // Commands go to the newer connection.
        let a2 = a.clone();
        let asked = tokio::spawn(async move {
            a2.command("n1", "web".into(), app::wire::HealAction::Pause)
                .await
        });
        let Some(HubMsg::Command { id, .. }) = rx2.recv().await else {
            panic!("no command on the new connection");
        };
        a.answered(
            id,
            Answer::Refused {
                message: "not opted in".into(),
            },
        );
        let got = asked.await.expect("task");
        assert_eq!(
            got,
            Ok(Answer::Refused {
                message: "not opted in".into()
            })
        );
        assert!(a.detach("n1", g2));
        assert!(a.connected().is_empty());
    }
}
