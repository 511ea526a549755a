//! The websocket hub over real sockets: identical messages for every viewer, a viewer rebuilds
//! the fleet from the changes, a stalled viewer does not hold up others (and is put right with
//! the whole fleet), a late viewer gets the snapshot first, a detail view gets its container in
//! full, and unreadable messages close only their sender.

mod common;

use app::wire::{ContainerInfo, Fleet, FleetIndex, Frame, Sample, ServerMsg, SourceKind, Summary};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewers_receive_identical_frames() {
    let running = start_demo(Duration::from_millis(200)).await;
    let mut a = connect(running.addr, None).await;
    let mut b = connect(running.addr, None).await;
    let mut frames: [BTreeMap<u64, String>; 2] = Default::default();
    for ws in [&mut a, &mut b] {
        let (first, _) = next_msg(ws).await;
        assert!(
            matches!(first, ServerMsg::Fleet(f) if f.full),
            "the whole fleet first"
        );
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
                    info: ContainerInfo {
                        id: format!("{i:064x}"),
                        name: format!("synthetic-{i:04}"),
                        image: "synthetic/image:latest".into(),
                        labels: labels.clone(),
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
        churn: true,
    };
    let running = dockerpulse::serve::start_with(test_config(), source, no_executor())
        .await
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut stalled = connect(running.addr, Some(2048)).await;
    let mut healthy = connect(running.addr, None).await;
    join(&mut healthy).await;

    let published_before = running.state.live.read().seq;
    let mut seqs = Vec::new();
    let window = tokio::time::Instant::now();
    while window.elapsed() < Duration::from_secs(6) {
        let (msg, _) = next_msg(&mut healthy).await;
        // A tick is complete with its last part.
        if !matches!(&msg, ServerMsg::Fleet(f) if !f.more) {
            continue;
        }
        let lag = dockerpulse::clock::now_ms() - ts_of(&msg);
        assert!(lag < 1000, "the healthy viewer is {lag} ms behind");
        seqs.push(seq_of(&msg));
    }
    let published = running.state.live.read().seq - published_before;
    assert!(
        seqs.len() as u64 * 10 >= published * 8,
        "healthy viewer got {} of {published} frames while the other stalled",
        seqs.len()
    );

    // The stalled viewer now drains: it skipped to recent frames instead of queueing them all,
    // and what it got still adds up (the whole fleet after each gap).
    let target = running.state.live.read().seq;
    let mut got = 0u64;
    let mut last_seq = 0;
    let mut held = Held::default();
    let mut full = 0;
    let drain = tokio::time::Instant::now();
    while last_seq < target && drain.elapsed() < Duration::from_secs(10) {
        let (msg, _) = next_msg(&mut stalled).await;
        full += usize::from(matches!(&msg, ServerMsg::Fleet(f) if f.full));
        held.take(&msg)
            .expect("every message follows the one before");
        if let ServerMsg::Fleet(f) = &msg {
            if !f.more {
                got += 1;
                last_seq = f.seq;
            }
        }
    }
    assert!(full >= 1, "the skipped viewer was sent the whole fleet");
    assert_eq!(held.cards().len(), 400);
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
        assert!(matches!(next_msg(ws).await.0, ServerMsg::Fleet(f) if f.full));
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
            Some(ServerMsg::Fleet(f)) if f.full
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
        if let Message::Close(_) = msg {
            return None;
        }
        if let Some(text) = common::feed_text(&msg) {
            return serde_json::from_str(&text).ok();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_viewer_gets_the_history_snapshot_first() {
    let running = start_demo(Duration::from_millis(100)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut late = connect(running.addr, None).await;
    // The whole fleet and the sparklines come deflated (binary), the changes as text.
    let wire = next_wire(&mut late).await;
    assert!(wire.is_binary(), "the whole fleet is deflated: {wire:?}");
    let (first, json) = parsed(&wire);
    assert!(
        wire.len() * 2 < json.len(),
        "{} of {} bytes",
        wire.len(),
        json.len()
    );
    let ServerMsg::Fleet(fleet) = first else {
        panic!("the first message must be the whole fleet");
    };
    assert_eq!(fleet.v, app::wire::PROTOCOL_VERSION);
    assert!(fleet.full && !fleet.more);
    assert_eq!(fleet.infos.len(), 7);
    let wire = next_wire(&mut late).await;
    assert!(wire.is_binary(), "the sparklines are deflated: {wire:?}");
    let (second, _) = parsed(&wire);
    let ServerMsg::Sparks(sparks) = second else {
        panic!("then the sparklines: {second:?}");
    };
    assert_eq!(sparks.sparks.len(), 7);
    for s in &sparks.sparks {
        assert!(
            s.cpu.len() >= 8,
            "slot {} has {} points of CPU",
            s.slot,
            s.cpu.len()
        );
        assert!(s.cpu.len() <= app::live::SPARK_POINTS);
    }
    let wire = next_wire(&mut late).await;
    assert!(wire.is_text(), "a tick's changes are text: {wire:?}");
    let (next, _) = parsed(&wire);
    assert!(
        matches!(&next, ServerMsg::Fleet(f) if !f.full && f.base == fleet.seq),
        "then changes from the snapshot on: {next:?}"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_rebuilds_the_fleet_from_the_changes_alone() {
    let running = start_demo(Duration::from_millis(100)).await;
    let mut ws = connect(running.addr, None).await;
    let mut held = Held::default();
    let (first, _) = next_msg(&mut ws).await;
    held.take(&first).expect("the snapshot applies");
    let mut changes = 0;
    for _ in 0..20 {
        let (msg, _) = next_msg(&mut ws).await;
        changes += usize::from(matches!(&msg, ServerMsg::Fleet(f) if !f.full));
        held.take(&msg)
            .expect("each message follows the one before");
    }
    assert!(changes >= 15, "mostly changes, not whole fleets: {changes}");
    // Ask for the whole fleet: once it is of the tick held, both say the same.
    let mut compared = false;
    for _ in 0..5 {
        send_text(&mut ws, r#"{"type":"resync"}"#).await;
        loop {
            let (msg, _) = next_msg(&mut ws).await;
            if let ServerMsg::Fleet(f) = &msg {
                if f.full {
                    if held.frame.as_ref().map(|h| h.seq) == Some(f.seq) {
                        let mut fresh = Held::default();
                        fresh.take(&msg).expect("a full message applies");
                        assert_eq!(fresh.cards(), held.cards());
                        compared = true;
                    }
                    held.take(&msg).expect("a full message applies");
                    break;
                }
            }
            held.take(&msg).expect("follows");
        }
        if compared {
            break;
        }
    }
    assert!(compared, "a full message of the held tick came back");
    assert_eq!(held.cards().len(), 7);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_fleet_costs_almost_nothing_per_tick() {
    // 400 containers whose values never change: once their baselines are learnt (30 samples,
    // during which the card's "learning… (n/30)" changes every tick), only the header travels.
    let source = BigFleet {
        n: 400,
        interval: Duration::from_millis(100),
        churn: false,
    };
    let running = dockerpulse::serve::start_with(test_config(), source, no_executor())
        .await
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let mut ws = connect(running.addr, None).await;
    // Joining: the whole fleet in parts, then the sparklines.
    let mut joined = 0;
    loop {
        let (msg, text) = next_msg(&mut ws).await;
        joined += text.len();
        if matches!(msg, ServerMsg::Sparks(_)) {
            break;
        }
    }
    let mut sizes = Vec::new();
    while sizes.len() < 10 {
        let (msg, text) = next_msg(&mut ws).await;
        if matches!(&msg, ServerMsg::Fleet(f) if !f.full) {
            sizes.push(text.len());
        }
    }
    assert!(
        joined > 40_000,
        "joining brings the whole fleet: {joined} bytes"
    );
    assert!(
        sizes.iter().all(|s| *s < 1_000),
        "nothing changed, so almost nothing is sent: {sizes:?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detail_view_gets_its_container_in_full_until_it_stops_watching() {
    let running = start_demo(Duration::from_millis(100)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let name = {
        let live = running.state.live.read();
        live.containers()[0].info.name.clone()
    };
    let mut ws = connect(running.addr, None).await;
    join(&mut ws).await;
    send_text(&mut ws, &format!(r#"{{"type":"watch","id":"{name}"}}"#)).await;
    // The history first, then one detail after each fleet message.
    let mut first = None;
    let mut after_fleet = 0;
    let mut last_was_fleet = false;
    for _ in 0..30 {
        let (msg, _) = next_msg(&mut ws).await;
        match msg {
            ServerMsg::Detail(d) => {
                assert_eq!(d.container.info.name, name);
                assert!(d.container.assessment.is_some());
                if first.is_none() {
                    first = Some(d.history.clone());
                } else {
                    assert!(d.history.is_none(), "history only when the watch begins");
                    after_fleet += usize::from(last_was_fleet);
                }
                last_was_fleet = false;
            }
            ServerMsg::Fleet(_) => last_was_fleet = true,
            ServerMsg::Sparks(_) => panic!("sparklines only when joining"),
        }
    }
    let history = first
        .flatten()
        .expect("the first detail carries the history");
    assert!(history.len() >= 10, "{} points", history.len());
    assert!(
        after_fleet >= 8,
        "a detail follows each tick: {after_fleet}"
    );
    // Stop watching: only fleet messages from then on.
    send_text(&mut ws, r#"{"type":"watch","id":null}"#).await;
    let mut details_late = 0;
    for i in 0..15 {
        let (msg, _) = next_msg(&mut ws).await;
        // The first tick may already have been on its way.
        if i > 3 && matches!(msg, ServerMsg::Detail(_)) {
            details_late += 1;
        }
    }
    assert_eq!(details_late, 0);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_or_oversized_message_closes_that_viewer_only() {
    let running = start_demo(Duration::from_millis(200)).await;
    let mut good = connect(running.addr, None).await;
    let mut bad = connect(running.addr, None).await;
    let mut huge = connect(running.addr, None).await;
    for ws in [&mut good, &mut bad, &mut huge] {
        next_msg(ws).await;
    }
    send_text(&mut bad, r#"{"type":"shutdown"}"#).await;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), bad.next()).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                break Some((u16::from(f.code), f.reason.to_string()))
            }
            Ok(Some(Ok(_))) => continue,
            _ => break None,
        }
    };
    let (code, reason) = closed.expect("a close frame with the reason");
    assert_eq!(code, 1008);
    assert!(reason.contains("unreadable message"), "{reason}");
    // Far over the size a viewer may send: the connection ends.
    {
        use futures_util::SinkExt;
        let _ = huge
            .send(Message::Text(
                "x".repeat(app::wire::CLIENT_MSG_MAX * 4).into(),
            ))
            .await;
    }
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match huge.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return true,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert_eq!(ended, Ok(true), "the oversized sender is disconnected");
    // The good viewer keeps receiving.
    for _ in 0..3 {
        next_msg(&mut good).await;
    }
    running.stop().await;
}
