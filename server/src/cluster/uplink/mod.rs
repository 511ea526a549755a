//! The agent's side: one outbound websocket to the hub (`wss://` for TLS), over which every tick
//! of this node's own loop goes up and manual actions asked at the hub come down. The node works
//! exactly as a single host does whether the hub is there or not; a lost hub is retried with
//! backoff, and the reason it refused this agent (a wrong token, say) is logged as the hub gave it.

mod connect;
mod io;
mod ticks;

pub use connect::agent_url;

use connect::tls_hint;
use io::{carry_out, next_ask, send, send_message};

use crate::cluster::backlog::{Backlog, BACKLOG_BYTES};
use crate::cluster::protocol::{AgentMsg, Answer, HubMsg, PING_SILENCE, PROTOCOL};
use crate::collect::docker::Backoff;
use crate::heal::lease::LeaseRequests;
use crate::hub::Hub;
use crate::pipeline::commands::Command;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// How the link to the hub stands, for `/api/health`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct UplinkStatus {
    pub hub: String,
    pub node: String,
    pub connected: bool,
    /// Why the last connection failed or ended.
    pub last_error: Option<String>,
    pub connects: u64,
    /// Ticks sent to the hub since the agent started.
    pub ticks_sent: u64,
    /// Bytes of messages sent to the hub since the agent started (websocket payloads).
    pub bytes_sent: u64,
    /// Ticks kept to send again if the hub missed them (see [`super::backlog`]).
    pub ticks_kept: usize,
    /// Ticks the hub had missed and got after a reconnect.
    pub ticks_resent: u64,
    /// Ticks dropped from the backlog for room (the hub's history of this node has a gap).
    pub ticks_dropped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("the hub refused this agent: {status} {reason}")]
    Refused { status: u16, reason: String },
    #[error("cannot reach the hub: {0}")]
    Connect(String),
    /// The TLS handshake failed: most often a hub whose certificate no trusted CA signed.
    #[error("TLS with the hub failed: {0}{hint}", hint = tls_hint(.0))]
    Tls(rustls::Error),
    #[error("the hub closed the connection{0}")]
    Closed(String),
    #[error("{0}")]
    Socket(String),
}

pub struct Uplink {
    pub url: String,
    pub node: String,
    pub token: String,
    /// This node's own publisher: what goes up is what its own viewers see.
    pub hub: Hub,
    /// This node's own loop, which carries out commands under its guard rails.
    pub commands: mpsc::Sender<Command>,
    /// This node's own store: the records sent to the hub are read from it.
    pub db: crate::store::db::Db,
    pub status: Arc<Mutex<UplinkStatus>>,
    /// This node's executor asks for leases on Swarm tasks through here.
    pub leases: Option<LeaseRequests>,
    /// The TLS client configuration for a `wss://` hub (the roots it trusts: see [`crate::cluster::tls`]).
    pub tls: Arc<rustls::ClientConfig>,
}

impl Uplink {
    fn set(&self, f: impl FnOnce(&mut UplinkStatus)) {
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut link = Link {
            leases: self.leases.take(),
            frames: self.hub.subscribe(),
            backlog: Backlog::new(BACKLOG_BYTES),
        };
        link.frames.borrow_and_update();
        self.set(|s| {
            s.hub = self.url.clone();
            s.node = self.node.clone();
        });
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
        loop {
            let ended = self.session(&shutdown, &mut backoff, &mut link).await;
            self.set(|s| s.connected = false);
            if let Some(l) = &link.leases {
                l.set_linked(false);
            }
            match ended {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(hub = %self.url, node = %self.node, error = %e, "hub link down; retrying");
                    self.set(|s| s.last_error = Some(e.to_string()));
                }
            }
            // Ticks go on while the link is down: kept for the hub to get after the reconnect.
            let wait = tokio::time::sleep(backoff.next_delay());
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = &mut wait => break,
                    changed = link.frames.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if let Err(e) = self.keep(&mut link) {
                            tracing::warn!(error = %e, "a tick could not be kept for the hub");
                        }
                    }
                }
            }
        }
    }

    /// One connection, until it fails (an error) or DockerPulse stops (`Ok`).
    async fn session(
        &self,
        shutdown: &CancellationToken,
        backoff: &mut Backoff,
        link: &mut Link,
    ) -> Result<(), UplinkError> {
        // Ticks are kept while connecting, and sent once the hub has said what it has.
        let connecting = self.connect();
        tokio::pin!(connecting);
        let ws = loop {
            tokio::select! {
                ws = &mut connecting => break ws?,
                changed = link.frames.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    self.keep(link)?;
                }
            }
        };
        let (mut sink, mut stream) = ws.split();
        let hello = AgentMsg::Hello {
            node: self.node.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol: PROTOCOL,
        };
        send(&mut sink, &hello).await?;
        let (answers_tx, mut answers) = mpsc::channel::<(u64, Answer)>(16);
        // Records go after the hub's welcome, then whenever the node records something. A
        // revision counts as sent only once its records were read and sent: while the store
        // cannot read them, every tick tries again (warned about once).
        let mut records_rev: Option<u64> = None;
        let mut records_unread = false;
        let mut welcomed = false;
        // Leases asked of the hub and not yet answered (dropped with the session: the asker
        // then knows the link ended).
        let mut asked: HashMap<u64, oneshot::Sender<Result<(), String>>> = HashMap::new();
        let mut next_lease = 0u64;
        let silence = tokio::time::sleep(PING_SILENCE);
        tokio::pin!(silence);
        loop {
            tokio::select! {
                _ = &mut silence => {
                    return Err(UplinkError::Socket(format!(
                        "nothing heard from the hub for {} s", PING_SILENCE.as_secs()
                    )));
                }
                _ = shutdown.cancelled() => {
                    let _ = sink.send(Message::Close(None)).await;
                    return Ok(());
                }
                changed = link.frames.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let (packed, rev) = self.keep(link)?;
                    if !welcomed {
                        continue;
                    }
                    let len = packed.len() as u64;
                    send_message(&mut sink, Message::Binary(packed)).await?;
                    self.set(|s| {
                        s.ticks_sent += 1;
                        s.bytes_sent += len;
                    });
                    if records_rev != Some(rev) {
                        let limit = if records_rev.is_none() { REPLAY } else { RESEND };
                        match self.send_records(&mut sink, limit).await? {
                            Ok(()) => {
                                records_rev = Some(rev);
                                records_unread = false;
                            }
                            Err(e) if !records_unread => {
                                tracing::warn!(error = %e, "cannot read this node's records for the hub; trying again each tick");
                                records_unread = true;
                            }
                            Err(_) => {}
                        }
                    }
                }
                Some((id, result)) = answers.recv() => {
                    send(&mut sink, &AgentMsg::Answer { id, result }).await?;
                }
                Some(ask) = next_ask(&mut link.leases), if welcomed => {
                    // The executor gave up waiting: asking now would count an action not taken.
                    if ask.reply.is_closed() {
                        continue;
                    }
                    next_lease += 1;
                    asked.insert(next_lease, ask.reply);
                    let msg = AgentMsg::Lease {
                        id: next_lease,
                        service: ask.service,
                        container: ask.container,
                        manual: ask.manual,
                    };
                    send(&mut sink, &msg).await?;
                }
                msg = stream.next() => {
                    silence.as_mut().reset(tokio::time::Instant::now() + PING_SILENCE);
                    match msg {
                    None => return Err(UplinkError::Closed(String::new())),
                    Some(Err(e)) => return Err(UplinkError::Socket(e.to_string())),
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame.map(|f| format!(": {} {}", u16::from(f.code), f.reason)).unwrap_or_default();
                        return Err(UplinkError::Closed(why));
                    }
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<HubMsg>(&text) {
                        Ok(HubMsg::Welcome { since_ms, .. }) => {
                            // What the hub missed first, then live ticks in order.
                            self.resend(&mut sink, link, since_ms).await?;
                            welcomed = true;
                            backoff.reset();
                            tracing::info!(hub = %self.url, node = %self.node, "streaming to the hub");
                            self.set(|s| {
                                s.connected = true;
                                s.connects += 1;
                                s.last_error = None;
                            });
                            if let Some(l) = link.leases.as_ref() {
                                l.set_linked(true);
                            }
                        }
                        Ok(HubMsg::Lease { id, refused }) => {
                            if let Some(reply) = asked.remove(&id) {
                                let _ = reply.send(refused.map_or(Ok(()), Err));
                            }
                        }
                        Ok(HubMsg::Command { id, container, action }) => {
                            tracing::info!(%container, action = action.as_str(), "action asked by the hub");
                            let commands = self.commands.clone();
                            let answers = answers_tx.clone();
                            tokio::spawn(async move {
                                let result = carry_out(&commands, container, action).await;
                                let _ = answers.send((id, Answer::from(result))).await;
                            });
                        }
                        Err(e) => return Err(UplinkError::Socket(format!("the hub sent an unreadable message: {e}"))),
                    },
                    Some(Ok(_)) => {}
                    }
                }
            }
        }
    }
}

/// What outlives one connection to the hub.
struct Link {
    leases: Option<LeaseRequests>,
    /// This node's published frames (every tick).
    frames: tokio::sync::watch::Receiver<crate::hub::Published>,
    backlog: Backlog,
}

/// Records sent after a (re)connect: what the node did while the hub could not hear it.
const REPLAY: u64 = 500;
/// Records resent each time the node records something (the hub upserts them by id).
const RESEND: u64 = 20;
