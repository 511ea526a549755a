//! `GET /ws`: the live feed. A viewer first receives a snapshot (current frame plus recent
//! history of every container), then one frame per tick. Viewers beyond the caps of
//! [`crate::viewers`] are closed at once with code 1013 (try again later) and the reason.

use crate::state::AppState;
use crate::viewers::Pass;
use app::wire::ServerMsg;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// A viewer that accepts nothing for this long is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn upgrade(
    ws: WebSocketUpgrade,
    headers: axum::http::HeaderMap,
    extensions: axum::http::Extensions,
    State(st): State<AppState>,
) -> Response {
    // Another site's page must not read the fleet through the visitor's browser.
    if !super::guard::same_origin(&headers) {
        return super::error::ApiError::Forbidden(
            "websocket connections are accepted from DockerPulse's own pages only".into(),
        )
        .into_response();
    }
    // Served without connection info (in-process tests), every viewer counts as loopback's.
    let client = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    match st.viewers.admit(client) {
        Ok(pass) => ws.on_upgrade(move |socket| viewer(socket, st, pass)),
        Err(refusal) => {
            tracing::warn!(%client, reason = %refusal, "viewer refused");
            ws.on_upgrade(move |socket| refuse(socket, refusal.to_string()))
        }
    }
}

/// Tells a refused viewer why, in the close frame (the dashboard shows it), and hangs up.
async fn refuse(mut socket: WebSocket, reason: String) {
    let close = Message::Close(Some(CloseFrame {
        code: close_code::AGAIN,
        reason: Utf8Bytes::from(reason),
    }));
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(close)).await;
}

async fn viewer(socket: WebSocket, st: AppState, pass: Pass) {
    // Holding the pass for the viewer's lifetime keeps its place counted.
    let _pass = pass;
    // Subscribe before taking the snapshot so no frame falls between the two.
    let mut frames = st.hub.subscribe();
    frames.borrow_and_update();
    // Copied under the read lock, serialised after it is released (and shared, see Hub).
    let built = st
        .hub
        .snapshot(|| {
            let live = st.live.read();
            let snapshot = live.snapshot(st.cfg.snapshot_len());
            (live.seq, ServerMsg::Snapshot(snapshot))
        })
        .await;
    let (seq, text) = match built {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "snapshot could not be serialised");
            return;
        }
    };
    let (mut sink, mut incoming) = socket.split();
    if send(&mut sink, text).await.is_err() {
        return;
    }
    let gate = st.viewers.clone();
    let mut sender = tokio::spawn(async move {
        let mut last = seq;
        while frames.changed().await.is_ok() {
            let latest = frames.borrow_and_update().clone();
            let Some(text) = latest.text else { continue };
            if latest.seq <= last {
                continue;
            }
            gate.note_skipped(latest.seq - last - 1);
            last = latest.seq;
            if send(&mut sink, text).await.is_err() {
                break;
            }
        }
    });
    // Reading keeps control frames (ping/close) flowing; viewers send nothing else we need.
    let mut receiver = tokio::spawn(async move {
        while let Some(Ok(msg)) = incoming.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    });
    tokio::select! {
        _ = &mut sender => receiver.abort(),
        _ = &mut receiver => sender.abort(),
    }
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    text: Utf8Bytes,
) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
