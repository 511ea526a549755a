//! One agent's connection, from `GET /agent` to its end: the upgrade once its token checks
//! out, then a loop that reads the agent's messages, pings it, and writes what the hub sends it.

use super::{lock, Agents, RefusedAgent};
use crate::clock::now_ms;
use crate::cluster::protocol::{
    AgentMsg, HubMsg, MAX_INFLATED, MAX_MESSAGE, PROTOCOL, VERSION_HEADER,
};
use crate::collect::remote::RemoteMsg;
use crate::state::AppState;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::mpsc;

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
    let mut ping = tokio::time::interval(crate::cluster::protocol::PING_EVERY);
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
