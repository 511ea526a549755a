//! The agent's side: one outbound websocket to the hub (`wss://` for TLS), over which every tick
//! of this node's own loop goes up and manual actions asked at the hub come down. The node works
//! exactly as a single host does whether the hub is there or not; a lost hub is retried with
//! backoff, and the reason it refused this agent (a wrong token, say) is logged as the hub gave it.

use super::backlog::{Backlog, BACKLOG_BYTES};
use super::protocol::{
    AgentMsg, AgentMsgOut, Answer, HubMsg, TickOut, MAX_MESSAGE, NODE_HEADER, PING_SILENCE,
    PROTOCOL, VERSION_HEADER,
};
use crate::collect::docker::Backoff;
use crate::heal::lease::{LeaseAsk, LeaseRequests};
use crate::hub::Hub;
use crate::pipeline::commands::{Command, CommandError};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};
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

/// What to do about a certificate no trusted CA signed: the usual first `wss://` mistake.
fn tls_hint(e: &rustls::Error) -> &'static str {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
            " (a hub behind a private CA needs that CA in cluster.ca_file / --ca-file)"
        }
        _ => "",
    }
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
    /// The TLS client configuration for a `wss://` hub (the roots it trusts: see [`super::tls`]).
    pub tls: Arc<rustls::ClientConfig>,
}

/// The agent websocket's address at `hub` (a `ws://` or `wss://` base URL).
pub fn agent_url(hub: &str) -> String {
    format!("{}/agent", hub.trim_end_matches('/'))
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

    /// Packs this node's newest tick and keeps it in the backlog; returns it with the frame's
    /// records revision.
    fn keep(&self, link: &mut Link) -> Result<(Bytes, u64), UplinkError> {
        let (ts_ms, rev, text) = {
            let p = link.frames.borrow_and_update();
            let f = &p.frame;
            let out = AgentMsgOut::Tick(TickOut {
                seq: f.seq,
                ts_ms: f.ts_ms,
                engine: &f.engine,
                host: &f.host,
                containers: &f.containers,
            });
            let text =
                serde_json::to_string(&out).map_err(|e| UplinkError::Socket(e.to_string()))?;
            (f.ts_ms, f.incidents_rev, text)
        };
        let packed = Bytes::from(
            super::deflate::deflate(text.as_bytes())
                .map_err(|e| UplinkError::Socket(e.to_string()))?,
        );
        link.backlog.push(ts_ms, packed.clone());
        let (kept, dropped) = (link.backlog.len(), link.backlog.dropped);
        self.set(|s| {
            s.ticks_kept = kept;
            s.ticks_dropped = dropped;
        });
        Ok((packed, rev))
    }

    /// Sends the kept ticks sampled after `since_ms` (the hub's newest of this node). Ticks
    /// published meanwhile are kept and sent too, so that none is lost to a long resend.
    async fn resend(
        &self,
        sink: &mut Sink,
        link: &mut Link,
        since_ms: Option<i64>,
    ) -> Result<(), UplinkError> {
        let (mut since, mut n, mut bytes) = (since_ms, 0u64, 0u64);
        loop {
            let batch: Vec<(i64, Bytes)> = link.backlog.after(since).cloned().collect();
            if batch.is_empty() {
                break;
            }
            for (ts, packed) in batch {
                bytes += packed.len() as u64;
                send_message(sink, Message::Binary(packed)).await?;
                since = Some(ts);
                n += 1;
                if link.frames.has_changed().unwrap_or(false) {
                    self.keep(link)?;
                }
            }
        }
        if n > 0 {
            tracing::info!(ticks = n, "sent the hub the ticks it had missed");
        }
        self.set(|s| {
            s.ticks_resent += n;
            s.ticks_sent += n;
            s.bytes_sent += bytes;
        });
        Ok(())
    }

    /// Opens the websocket to the hub (refusals and TLS failures told apart).
    async fn connect(&self) -> Result<Ws, UplinkError> {
        let mut request = agent_url(&self.url)
            .into_client_request()
            .map_err(|e| UplinkError::Connect(e.to_string()))?;
        let h = request.headers_mut();
        let header =
            |v: &str| HeaderValue::from_str(v).map_err(|e| UplinkError::Connect(e.to_string()));
        h.insert("authorization", header(&format!("Bearer {}", self.token))?);
        h.insert(NODE_HEADER, header(&self.node)?);
        h.insert(VERSION_HEADER, header(env!("CARGO_PKG_VERSION"))?);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let connector = tokio_tungstenite::Connector::Rustls(self.tls.clone());
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(connector),
        );
        let (ws, _) = match tokio::time::timeout(Duration::from_secs(10), connecting).await {
            Err(_) => return Err(UplinkError::Connect("timed out".into())),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
                let reason = resp
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                return Err(UplinkError::Refused {
                    status: resp.status().as_u16(),
                    reason,
                });
            }
            Ok(Err(tokio_tungstenite::tungstenite::Error::Io(e))) => {
                // tokio-rustls hands a failed handshake over as an I/O error around rustls's.
                return Err(
                    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                        Some(tls) => UplinkError::Tls(tls.clone()),
                        None => UplinkError::Connect(e.to_string()),
                    },
                );
            }
            Ok(Err(e)) => return Err(UplinkError::Connect(e.to_string())),
            Ok(Ok(c)) => c,
        };
        Ok(ws)
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
        // Records go after the hub's welcome, then whenever the node records something.
        let mut records_rev: Option<u64> = None;
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
                        self.send_records(&mut sink, limit).await?;
                        records_rev = Some(rev);
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

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Records sent after a (re)connect: what the node did while the hub could not hear it.
const REPLAY: u64 = 500;
/// Records resent each time the node records something (the hub upserts them by id).
const RESEND: u64 = 20;

impl Uplink {
    /// Sends the newest `limit` incidents and interventions of this node's store.
    async fn send_records(&self, sink: &mut Sink, limit: u64) -> Result<(), UplinkError> {
        let db = self.db.clone();
        let read = tokio::task::spawn_blocking(move || {
            let incidents = db.incidents(&crate::store::db::IncidentFilter {
                limit,
                ..Default::default()
            })?;
            let interventions = db.interventions(&crate::store::db::InterventionFilter {
                limit,
                ..Default::default()
            })?;
            Ok::<_, crate::store::db::StoreError>((incidents.items, interventions.items))
        })
        .await;
        match read {
            Ok(Ok((incidents, interventions))) => {
                send(
                    sink,
                    &AgentMsg::Records {
                        incidents,
                        interventions,
                    },
                )
                .await
            }
            // The node's store failing is its own visible state; the ticks still go up.
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read this node's records for the hub");
                Ok(())
            }
            Err(e) => Err(UplinkError::Socket(e.to_string())),
        }
    }
}

/// The next lease this node's executor asks for (never, without a lease line).
async fn next_ask(leases: &mut Option<LeaseRequests>) -> Option<LeaseAsk> {
    match leases {
        Some(l) => l.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Asks this node's loop to act, as `POST /api/containers/{id}/{action}` would.
async fn carry_out(
    commands: &mpsc::Sender<Command>,
    container: String,
    action: app::wire::HealAction,
) -> Result<app::wire::Intervention, CommandError> {
    let (reply, rx) = oneshot::channel();
    commands
        .send(Command::Manual {
            container,
            action,
            reply,
        })
        .await
        .map_err(|_| CommandError::Invalid("the agent is shutting down".into()))?;
    match tokio::time::timeout(super::ingest::ANSWER_TIMEOUT, rx).await {
        Ok(Ok(answer)) => answer,
        _ => Err(CommandError::Invalid(
            "the agent's loop did not answer".into(),
        )),
    }
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

async fn send(sink: &mut Sink, m: &AgentMsg) -> Result<(), UplinkError> {
    let text = serde_json::to_string(m).map_err(|e| UplinkError::Socket(e.to_string()))?;
    send_text(sink, text).await
}

async fn send_text(sink: &mut Sink, text: String) -> Result<(), UplinkError> {
    send_message(sink, Message::Text(text.into())).await
}

async fn send_message(sink: &mut Sink, m: Message) -> Result<(), UplinkError> {
    match tokio::time::timeout(Duration::from_secs(30), sink.send(m)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(UplinkError::Socket(e.to_string())),
        Err(_) => Err(UplinkError::Socket(
            "the hub did not take a message for 30 s".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_url_is_the_hubs_agent_path() {
        assert_eq!(agent_url("ws://hub:3000"), "ws://hub:3000/agent");
        assert_eq!(agent_url("wss://hub.example/"), "wss://hub.example/agent");
    }

    #[test]
    fn an_unknown_issuer_points_at_the_ca_file_and_other_tls_errors_do_not() {
        use rustls::{CertificateError, Error};
        let unknown = UplinkError::Tls(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        let text = unknown.to_string();
        assert!(
            text.starts_with("TLS with the hub failed: invalid peer certificate"),
            "{text}"
        );
        assert!(text.contains("cluster.ca_file / --ca-file"), "{text}");
        let expired = UplinkError::Tls(Error::InvalidCertificate(CertificateError::Expired));
        assert!(!expired.to_string().contains("ca_file"), "{expired}");
    }
}
