//! The small pieces of the agent's link: sending with a deadline, and where leases and the
//! hub's commands meet this node's executor and loop.

use super::UplinkError;
use crate::cluster::protocol::AgentMsg;
use crate::heal::lease::{LeaseAsk, LeaseRequests};
use crate::pipeline::commands::{Command, CommandError};
use futures_util::SinkExt;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

pub(super) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next lease this node's executor asks for (never, without a lease line).
pub(super) async fn next_ask(leases: &mut Option<LeaseRequests>) -> Option<LeaseAsk> {
    match leases {
        Some(l) => l.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Asks this node's loop to act, as `POST /api/containers/{id}/{action}` would.
pub(super) async fn carry_out(
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
    match tokio::time::timeout(crate::cluster::ingest::ANSWER_TIMEOUT, rx).await {
        Ok(Ok(answer)) => answer,
        _ => Err(CommandError::Invalid(
            "the agent's loop did not answer".into(),
        )),
    }
}

pub(super) type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

pub(super) async fn send(sink: &mut Sink, m: &AgentMsg) -> Result<(), UplinkError> {
    let text = serde_json::to_string(m).map_err(|e| UplinkError::Socket(e.to_string()))?;
    send_text(sink, text).await
}

async fn send_text(sink: &mut Sink, text: String) -> Result<(), UplinkError> {
    send_message(sink, Message::Text(text.into())).await
}

pub(super) async fn send_message(sink: &mut Sink, m: Message) -> Result<(), UplinkError> {
    match tokio::time::timeout(Duration::from_secs(30), sink.send(m)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(UplinkError::Socket(e.to_string())),
        Err(_) => Err(UplinkError::Socket(
            "the hub did not take a message for 30 s".into(),
        )),
    }
}
