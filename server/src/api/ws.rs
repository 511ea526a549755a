//! `GET /ws`: the live feed. A viewer first receives the whole fleet and each container's
//! recent CPU (binary messages of deflated JSON), then one fleet message per tick with what
//! changed (text; see [`crate::hub`]). A viewer may watch one container
//! (`{"type":"watch","id":…}`): it then also gets that container in full, with its history
//! first and then every tick. Viewers beyond the
//! caps of [`crate::viewers`] are closed at once with code 1013 (try again later) and the
//! reason; a message the server cannot read closes that viewer with 1008 and the reason.

use crate::hub::Published;
use crate::state::AppState;
use crate::viewers::Pass;
use app::wire::{ClientMsg, CLIENT_MSG_MAX};
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// A viewer that accepts nothing for this long is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes a connection gathers before writing them out (it writes the rest when a message's
/// parts are all queued). Each connection keeps a buffer this large plus one part, so it is
/// sized to hold a steady tick's changes for a thousand containers (~34 KB) in one write
/// without making a thousand viewers' buffers costly.
const WRITE_BUFFER: usize = 40 * 1024;

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
        Ok(pass) => ws
            // Viewers send a few small messages: a small read buffer per connection is
            // what a thousand of them can afford.
            .read_buffer_size(2 * CLIENT_MSG_MAX)
            .write_buffer_size(WRITE_BUFFER)
            .max_message_size(CLIENT_MSG_MAX)
            .max_frame_size(CLIENT_MSG_MAX)
            .on_upgrade(move |socket| viewer(socket, st, pass)),
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

/// Each container's recent CPU at card precision, oldest first, read under the live store's
/// read lock (serialised after it is released).
fn sparks(st: &AppState) -> Vec<(String, Vec<f64>)> {
    let live = st.live.read();
    live.containers()
        .into_iter()
        .map(|c| {
            let cpu = c
                .recent(app::live::SPARK_POINTS)
                .map(|p| (p.sample.cpu_pct * 10.0).round() / 10.0)
                .collect();
            (c.info.id.clone(), cpu)
        })
        .collect()
}

/// What one viewer is following.
struct Viewer {
    /// The tick the viewer's fleet state holds.
    held: u64,
    /// The container it watches in full, if any (its id).
    watching: Option<String>,
}

async fn viewer(socket: WebSocket, st: AppState, pass: Pass) {
    // Holding the pass for the viewer's lifetime keeps its place counted.
    let _pass = pass;
    // Subscribe before taking the snapshot so no frame falls between the two.
    let mut frames = st.hub.subscribe();
    frames.borrow_and_update();
    let (held, parts) = match st.hub.snapshot(|| sparks(&st)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "snapshot could not be serialised");
            return;
        }
    };
    let (mut sink, mut incoming) = socket.split();
    if send_parts(&mut sink, &parts).await.is_err() {
        return;
    }
    let mut v = Viewer {
        held,
        watching: None,
    };
    loop {
        let done = tokio::select! {
            changed = frames.changed() => match changed {
                Ok(()) => {
                    let p = frames.borrow_and_update().clone();
                    on_tick(&st, &mut v, &p, &mut sink).await
                }
                Err(_) => Err(()),
            },
            msg = incoming.next() => match msg {
                Some(Ok(Message::Text(text))) => on_message(&st, &mut v, &text, &mut sink).await,
                Some(Ok(Message::Close(_)) | Err(_)) | None => Err(()),
                // Pings are answered by the socket itself; nothing else is expected.
                Some(Ok(_)) => Ok(()),
            },
        };
        if done.is_err() {
            break;
        }
    }
}

/// Sends a tick: its fleet message when it follows what the viewer holds, the whole fleet when
/// the viewer missed ticks; then the watched container.
async fn on_tick(st: &AppState, v: &mut Viewer, p: &Published, sink: &mut Sink) -> Result<(), ()> {
    if p.seq <= v.held {
        return Ok(());
    }
    if p.fleet.is_empty() {
        return Ok(());
    }
    st.viewers.note_skipped(p.seq - v.held - 1);
    if p.base == 0 || p.base == v.held {
        v.held = p.seq;
        send_parts(sink, &p.fleet).await?;
    } else {
        send_full(st, v, sink).await?;
    }
    if let Some(text) = v.watching.as_deref().and_then(|id| st.hub.detail(id, p)) {
        send(sink, text).await?;
    }
    Ok(())
}

async fn send_full(st: &AppState, v: &mut Viewer, sink: &mut Sink) -> Result<(), ()> {
    match st.hub.full() {
        Ok((seq, parts)) => {
            v.held = seq;
            send_parts(sink, &parts).await
        }
        Err(e) => {
            tracing::error!(error = %e, "fleet could not be serialised");
            Err(())
        }
    }
}

async fn on_message(st: &AppState, v: &mut Viewer, text: &str, sink: &mut Sink) -> Result<(), ()> {
    match serde_json::from_str::<ClientMsg>(text) {
        Ok(ClientMsg::Resync) => send_full(st, v, sink).await,
        Ok(ClientMsg::Watch { id: None }) => {
            v.watching = None;
            Ok(())
        }
        Ok(ClientMsg::Watch { id: Some(key) }) => {
            let found = {
                let live = st.live.read();
                live.find(&key)
                    .map(|c| (c.info.id.clone(), c.series(st.cfg.snapshot_len())))
            };
            match found {
                Ok((id, history)) => {
                    let first = st.hub.detail_with_history(&id, history);
                    v.watching = Some(id);
                    match first {
                        Some(text) => send(sink, text).await,
                        None => Ok(()),
                    }
                }
                // The page shows the container as unknown from the fleet itself; stop sending
                // whatever was watched before.
                Err(e) => {
                    tracing::debug!(key, error = %e, "viewer watches an unknown container");
                    v.watching = None;
                    Ok(())
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "unreadable message from a viewer");
            let close = Message::Close(Some(CloseFrame {
                code: close_code::POLICY,
                reason: Utf8Bytes::from(format!("unreadable message: {e}")),
            }));
            let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
            Err(())
        }
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Sends a message's parts as separate websocket messages (the page decodes each in its own
/// task) but flushes once: the socket's write buffer ([`WRITE_BUFFER`]) gathers them, so a tick
/// of a thousand containers costs a viewer one or two writes, not one per part.
async fn send_parts(sink: &mut Sink, parts: &[Message]) -> Result<(), ()> {
    let all = async {
        for part in parts {
            sink.feed(part.clone()).await?;
        }
        sink.flush().await
    };
    match tokio::time::timeout(SEND_TIMEOUT, all).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn send(sink: &mut Sink, text: Utf8Bytes) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
