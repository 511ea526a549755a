//! The websocket hub over real sockets: identical messages for every viewer, a viewer rebuilds
//! the fleet from the changes, a stalled viewer does not hold up others (and is put right with
//! the whole fleet), a late viewer gets the snapshot first, a detail view gets its container in
//! full, and unreadable messages close only their sender.
//!
//! This file holds what the tests share: a viewer's connection and how it reads the feed, the
//! fleet state a viewer keeps, and a synthetic source of many containers.

#[path = "../common/mod.rs"]
mod common;

mod admission;
mod detail;
mod feed;
mod slow_viewer;

use app::wire::{ContainerInfo, Fleet, FleetIndex, Frame, Sample, ServerMsg, SourceKind, Summary};
use dockerpulse::collect::{Reading, Source, SourceMsg, Tick};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connects a viewer; `recv_buffer` shrinks the socket's receive buffer (a slow client).
async fn connect(addr: SocketAddr, recv_buffer: Option<u32>) -> Ws {
    let socket = TcpSocket::new_v4().expect("socket");
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    let stream = socket.connect(addr).await.expect("tcp connect");
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
        .await
        .expect("websocket handshake");
    ws
}

/// The next text message, parsed, with its raw text.
async fn next_msg(ws: &mut Ws) -> (ServerMsg, String) {
    parsed(&next_wire(ws).await)
}

/// The next message of the feed as it came on the wire (text or binary).
async fn next_wire(ws: &mut Ws) -> Message {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("stream open")
            .expect("valid frame");
        if msg.is_text() || msg.is_binary() {
            return msg;
        }
    }
}

/// A feed message read as the page reads it, with its JSON.
fn parsed(msg: &Message) -> (ServerMsg, String) {
    let text = common::feed_text(msg).expect("text or binary");
    (serde_json::from_str(&text).expect("a ServerMsg"), text)
}

fn seq_of(msg: &ServerMsg) -> u64 {
    match msg {
        ServerMsg::Fleet(f) => f.seq,
        ServerMsg::Sparks(_) => 0,
        ServerMsg::Detail(d) => d.seq,
    }
}

fn ts_of(msg: &ServerMsg) -> i64 {
    match msg {
        ServerMsg::Fleet(f) => f.ts_ms,
        ServerMsg::Sparks(_) => 0,
        ServerMsg::Detail(d) => d.ts_ms,
    }
}

/// A viewer's fleet state, as the browser keeps it.
#[derive(Default)]
struct Held {
    index: FleetIndex,
    frame: Option<Frame>,
}

impl Held {
    /// Applies a fleet message (or a snapshot's); errors when it does not follow.
    fn take(&mut self, msg: &ServerMsg) -> Result<(), String> {
        let fleet: Fleet = match msg {
            ServerMsg::Fleet(f) => f.clone(),
            ServerMsg::Sparks(_) | ServerMsg::Detail(_) => return Ok(()),
        };
        self.index
            .check(self.frame.as_ref(), &fleet)
            .map_err(|e| e.to_string())?;
        self.index.apply(&mut self.frame, fleet);
        Ok(())
    }

    /// Each container's card values, by id.
    fn cards(&self) -> BTreeMap<String, Summary> {
        self.frame
            .iter()
            .flat_map(|f| &f.containers)
            .map(|c| (c.info.id.clone(), Summary::of(c)))
            .collect()
    }
}

/// Reads what a joining viewer gets (the whole fleet, then the sparklines).
async fn join(ws: &mut Ws) {
    while !matches!(next_msg(ws).await.0, ServerMsg::Sparks(_)) {}
}

async fn send_text(ws: &mut Ws, text: &str) {
    use futures_util::SinkExt;
    ws.send(Message::Text(text.into())).await.expect("sent");
}

/// A source of `n` synthetic containers every `interval`. With `churn`, every container's
/// identity changes every tick (a long label), so each fleet message is a few hundred KB and a
/// viewer that stops reading fills its socket buffers within a second.
struct BigFleet {
    n: usize,
    interval: Duration,
    churn: bool,
}

impl Source for BigFleet {
    fn kind(&self) -> SourceKind {
        SourceKind::Docker
    }

    async fn run(self, out: mpsc::Sender<SourceMsg>, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let ts_ms = dockerpulse::clock::now_ms();
            let labels: BTreeMap<String, String> = if self.churn {
                [("dockerpulse.note".to_string(), format!("{ts_ms:01000}"))].into()
            } else {
                BTreeMap::new()
            };
            let containers = (0..self.n)
                .map(|i| Reading {
                    info: std::sync::Arc::new(ContainerInfo {
                        id: format!("{i:064x}"),
                        name: format!("synthetic-{i:04}"),
                        image: "synthetic/image:latest".into(),
                        labels: labels.clone(),
                        ..ContainerInfo::default()
                    }),
                    sample: Some(Sample {
                        ts_ms,
                        cpu_pct: (i % 100) as f64,
                        ..Sample::default()
                    }),
                })
                .collect();
            let tick = Tick {
                ts_ms,
                host: None,
                containers: Some(containers),
            };
            if out.send(SourceMsg::Tick(tick)).await.is_err() {
                return;
            }
        }
    }
}
