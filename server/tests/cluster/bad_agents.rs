//! Agents the hub refuses or cuts off: a wrong token (and the agent says why), and a malformed,
//! oversized or premature message, each closing only that agent's connection.

use crate::common::eventually;
use crate::{
    containers_of, node_reaches, node_status, raw_agent, spawn_agent, start_hub, Client, DEMO, T1,
    T2,
};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_and_the_agent_says_why() {
    let hub = start_hub().await;
    let agent = spawn_agent(&hub, "n1", "a-token-that-is-not-n1s", DEMO, "token");
    agent.ready().await;
    let refused = eventually(Duration::from_secs(10), || async {
        let (_, h) = agent.get("/api/health").await?;
        let e = h["uplink"]["last_error"].as_str()?.to_string();
        Some(e)
    })
    .await;
    let (why, _) = refused.expect("the agent reports the refusal");
    assert!(why.contains("401"), "{why}");
    assert!(why.contains("wrong token"), "{why}");
    let log = std::fs::read_to_string(agent.config.with_extension("log")).unwrap_or_default();
    assert!(
        log.contains("the hub refused this agent") && log.contains("wrong token"),
        "the agent's log says why it was refused"
    );
    assert!(node_status(&hub, "n1").await.is_none());
    assert!(containers_of(&hub, "n1").await.is_empty());
    drop(agent);
    hub.stop().await;
}

/// The close code the hub ends `ws` with (`None`: it dropped the connection without one).
async fn close_code(ws: &mut Client) -> Option<u16> {
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match msg {
            Ok(Message::Close(f)) => return f.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_messages_close_only_that_agent() {
    let hub = start_hub().await;
    let agent = spawn_agent(&hub, "n1", T1, DEMO, "bad");
    agent.ready().await;
    eventually(Duration::from_secs(10), || async {
        (containers_of(&hub, "n1").await.len() == 9).then_some(())
    })
    .await
    .expect("n1 streams");

    let mut bad = raw_agent(&hub, "n2", T2).await;
    bad.send(Message::Text(
        "{\"type\":\"tick\",\"data\":{\"seq\":\"x\"".into(),
    ))
    .await
    .expect("send");
    assert_eq!(
        close_code(&mut bad).await,
        Some(1008),
        "malformed: policy violation"
    );
    let n2 = node_reaches(&hub, "n2", "lost", Duration::from_secs(5))
        .await
        .expect("n2 is lost");
    assert!(
        n2.0["detail"].as_str().unwrap_or("").contains("malformed"),
        "{}",
        n2.0
    );

    let mut big = raw_agent(&hub, "n2", T2).await;
    let huge = "x".repeat(dockerpulse::cluster::protocol::MAX_MESSAGE + 1);
    let _ = big.send(Message::Text(huge.into())).await;
    let code = close_code(&mut big).await;
    assert!(
        matches!(code, Some(1009) | None),
        "oversized closes: {code:?}"
    );

    // Binary messages are deflated JSON: garbage is malformed, a bomb is refused unopened.
    let mut garbage = raw_agent(&hub, "n2", T2).await;
    let _ = garbage
        .send(Message::Binary(b"\xff\xfe not deflate".to_vec().into()))
        .await;
    assert_eq!(close_code(&mut garbage).await, Some(1008));
    let mut bomb = raw_agent(&hub, "n2", T2).await;
    let zeros = vec![0u8; dockerpulse::cluster::protocol::MAX_INFLATED + 1];
    let packed = dockerpulse::deflate::deflate(&zeros).expect("deflates");
    assert!(packed.len() < dockerpulse::cluster::protocol::MAX_MESSAGE);
    let _ = bomb.send(Message::Binary(packed.into())).await;
    assert_eq!(close_code(&mut bomb).await, Some(1009));

    // A tick before hello is refused too.
    let mut req = format!("ws://{}/agent", hub.addr)
        .into_client_request()
        .expect("req");
    req.headers_mut()
        .insert("authorization", format!("Bearer {T2}").parse().expect("h"));
    req.headers_mut()
        .insert("x-dockerpulse-node", "n2".parse().expect("h"));
    let (mut early, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connects");
    let tick = serde_json::json!({"type":"tick","data":{"seq":1,"ts_ms":1,"engine":{"state":"connected","endpoint":""},"containers":[]}});
    early
        .send(Message::Text(tick.to_string().into()))
        .await
        .expect("send");
    assert_eq!(close_code(&mut early).await, Some(1008));

    // n1 never noticed: still connected and still ticking.
    let before = node_status(&hub, "n1").await.expect("n1")["last_seen_ms"].as_i64();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after = node_status(&hub, "n1").await.expect("n1");
    assert_eq!(after["state"], "connected");
    assert!(after["last_seen_ms"].as_i64() > before, "n1 keeps ticking");
    drop(agent);
    hub.stop().await;
}
