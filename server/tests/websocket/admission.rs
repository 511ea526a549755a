//! Who may open the websocket and stay on it: viewers beyond the caps are told why (and places
//! come back), other sites' pages are refused, and an unreadable or oversized message closes
//! only its sender.

use crate::common::{self, eventually, get_json, start_demo, test_config};
use crate::{connect, next_msg, send_text, Ws};
use app::wire::ServerMsg;
use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

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
        assert!(
            first_fleet(ws).await.full,
            "a joining viewer's first fleet is whole"
        );
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

/// The first fleet message a viewer gets. A viewer that joins before the server's first tick
/// (a loaded machine) gets only the (empty) sparklines at once, and the fleet with that tick.
async fn first_fleet(ws: &mut Ws) -> app::wire::Fleet {
    loop {
        if let ServerMsg::Fleet(f) = next_msg(ws).await.0 {
            return f;
        }
    }
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
