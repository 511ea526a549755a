//! The websocket hub over real sockets: identical frames for every viewer, a stalled viewer
//! does not hold up others, and a late viewer gets the history snapshot first.

mod common;

use app::wire::{ContainerInfo, Sample, ServerMsg, SourceKind};
use common::*;
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
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("stream open")
            .expect("valid frame");
        if let Message::Text(t) = msg {
            let text = t.to_string();
            let parsed = serde_json::from_str(&text).expect("a ServerMsg");
            return (parsed, text);
        }
    }
}

fn seq_of(msg: &ServerMsg) -> u64 {
    match msg {
        ServerMsg::Frame(f) => f.seq,
        ServerMsg::Snapshot(s) => s.frame.seq,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewers_receive_identical_frames() {
    let running = start_demo(Duration::from_millis(200)).await;
    let mut a = connect(running.addr, None).await;
    let mut b = connect(running.addr, None).await;
    let mut frames: [BTreeMap<u64, String>; 2] = Default::default();
    for ws in [&mut a, &mut b] {
        let (first, _) = next_msg(ws).await;
        assert!(matches!(first, ServerMsg::Snapshot(_)), "snapshot first");
    }
    for _ in 0..8 {
        for (i, ws) in [&mut a, &mut b].into_iter().enumerate() {
            let (msg, text) = next_msg(ws).await;
            frames[i].insert(seq_of(&msg), text);
        }
    }
    let common: Vec<u64> = frames[0]
        .keys()
        .filter(|k| frames[1].contains_key(k))
        .copied()
        .collect();
    assert!(
        common.len() >= 6,
        "both saw the same ticks: {:?} vs {:?}",
        frames[0].keys(),
        frames[1].keys()
    );
    for seq in common {
        assert_eq!(
            frames[0][&seq], frames[1][&seq],
            "frame {seq} differs between viewers"
        );
    }
    running.stop().await;
}

/// A source of `n` synthetic containers every `interval`: frames of a few hundred KB, so a
/// viewer that stops reading fills its socket buffers within a second.
struct BigFleet {
    n: usize,
    interval: Duration,
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
            let containers = (0..self.n)
                .map(|i| Reading {
                    info: ContainerInfo {
                        id: format!("{i:064x}"),
                        name: format!("synthetic-{i:04}"),
                        image: "synthetic/image:latest".into(),
                        ..ContainerInfo::default()
                    },
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_never_reads_does_not_delay_the_others() {
    let source = BigFleet {
        n: 400,
        interval: Duration::from_millis(100),
    };
    let running = dockerpulse::serve::start_with(test_config(), source, no_executor())
        .await
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut stalled = connect(running.addr, Some(2048)).await;
    let mut healthy = connect(running.addr, None).await;
    next_msg(&mut healthy).await;

    let published_before = running.state.live.read().seq;
    let mut seqs = Vec::new();
    let window = tokio::time::Instant::now();
    while window.elapsed() < Duration::from_secs(6) {
        let (msg, _) = next_msg(&mut healthy).await;
        let lag = dockerpulse::clock::now_ms()
            - match &msg {
                ServerMsg::Frame(f) => f.ts_ms,
                ServerMsg::Snapshot(s) => s.frame.ts_ms,
            };
        assert!(lag < 1000, "the healthy viewer is {lag} ms behind");
        seqs.push(seq_of(&msg));
    }
    let published = running.state.live.read().seq - published_before;
    assert!(
        seqs.len() as u64 * 10 >= published * 8,
        "healthy viewer got {} of {published} frames while the other stalled",
        seqs.len()
    );

    // The stalled viewer now drains: it skipped to recent frames instead of queueing them all.
    let target = running.state.live.read().seq;
    let mut got = 0u64;
    let mut last_seq = 0;
    let drain = tokio::time::Instant::now();
    while last_seq < target && drain.elapsed() < Duration::from_secs(10) {
        let (msg, _) = next_msg(&mut stalled).await;
        got += 1;
        last_seq = seq_of(&msg);
    }
    assert!(
        last_seq >= target,
        "the stalled viewer caught up to the newest frame"
    );
    assert!(
        got < published / 2,
        "the stalled viewer skipped frames ({got} delivered while {published} were published)"
    );
    let (_, health) = get_json(&running, "/api/health").await;
    assert!(
        health["viewers"]["frames_skipped"].as_u64().unwrap_or(0) > 0,
        "the skips are counted: {}",
        health["viewers"]
    );
    running.stop().await;
}

/// The next message is a close frame: its code and reason.
async fn close_of(ws: &mut Ws) -> Option<(u16, String)> {
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("an answer within 5 s")?;
    match msg {
        Ok(Message::Close(Some(f))) => Some((f.code.into(), f.reason.to_string())),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_beyond_the_caps_are_told_why_and_places_come_back() {
    let mut cfg = test_config();
    cfg.demo = true;
    cfg.interval = Duration::from_millis(200);
    cfg.viewers.max = 3;
    cfg.viewers.max_per_client = 2;
    let running = dockerpulse::serve::start(cfg).await.expect("starts");
    let mut first = connect(running.addr, None).await;
    let mut second = connect(running.addr, None).await;
    for ws in [&mut first, &mut second] {
        assert!(matches!(next_msg(ws).await.0, ServerMsg::Snapshot(_)));
    }
    // A third viewer from the same address: refused, with the reason in the close frame.
    let mut third = connect(running.addr, None).await;
    let (code, reason) = close_of(&mut third).await.expect("a close frame");
    assert_eq!(code, 1013, "try again later");
    assert!(
        reason.contains("too many viewers from your address"),
        "{reason}"
    );
    // The viewers already in are not disturbed.
    next_msg(&mut first).await;
    let (_, health) = get_json(&running, "/api/health").await;
    let v = &health["viewers"];
    assert_eq!(v["connected"], 2, "{v}");
    assert_eq!(v["refused"], 1, "{v}");
    assert_eq!(
        (v["max"].as_u64(), v["max_per_client"].as_u64()),
        (Some(3), Some(2))
    );
    // One leaves: its place is free again.
    drop(first);
    let addr = running.addr;
    let readmitted = eventually(Duration::from_secs(5), || async move {
        let mut ws = connect(addr, None).await;
        matches!(
            next_msg_or_close(&mut ws).await,
            Some(ServerMsg::Snapshot(_))
        )
        .then_some(ws)
    })
    .await;
    assert!(
        readmitted.is_some(),
        "a place freed by a viewer that left is reused"
    );
    running.stop().await;
}

/// The first text message, or `None` when the server closes instead.
async fn next_msg_or_close(ws: &mut Ws) -> Option<ServerMsg> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .ok()??
            .ok()?;
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).ok(),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_viewer_gets_the_history_snapshot_first() {
    let running = start_demo(Duration::from_millis(100)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut late = connect(running.addr, None).await;
    let (first, _) = next_msg(&mut late).await;
    let ServerMsg::Snapshot(snap) = first else {
        panic!("the first message must be the snapshot");
    };
    assert_eq!(snap.v, app::wire::PROTOCOL_VERSION);
    assert_eq!(snap.history.len(), 7);
    for h in &snap.history {
        assert!(h.len() >= 8, "{} has {} points of history", h.id, h.len());
        assert!(h.ts_ms.windows(2).all(|w| w[0] < w[1]));
    }
    let (next, _) = next_msg(&mut late).await;
    assert!(
        matches!(next, ServerMsg::Frame(f) if f.seq > snap.frame.seq),
        "then live frames"
    );
    running.stop().await;
}

#[tokio::test]
async fn other_sites_pages_cannot_open_the_websocket() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let running = start_demo(Duration::from_millis(200)).await;
    let url = format!("ws://{}/ws", running.addr);
    let mut foreign = url.clone().into_client_request().expect("request");
    foreign
        .headers_mut()
        .insert("origin", "https://evil.example".parse().expect("header"));
    let refused = tokio_tungstenite::connect_async(foreign).await;
    assert!(refused.is_err(), "a foreign origin is refused");
    let mut own = url.into_client_request().expect("request");
    own.headers_mut().insert(
        "origin",
        format!("http://{}", running.addr).parse().expect("header"),
    );
    assert!(
        tokio_tungstenite::connect_async(own).await.is_ok(),
        "our own pages connect"
    );
    running.stop().await;
}
