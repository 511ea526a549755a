//! Several hosts: agents (the real binary, as separate processes) streaming to a hub over real
//! loopback websockets. Covers the merged fleet, node health and loss after SIGKILL, manual
//! actions forwarded to the owning agent (on the real engine), and bad agents: a wrong token,
//! a malformed and an oversized message each close only that agent. Also `wss://`: an agent
//! trusting a private CA streams to a hub behind a TLS-terminating proxy, and one that does not
//! says why it cannot connect; a bad `--ca-file` or a missing `--hub` stops `dockerpulse agent`.
//! And a node whose store cannot read its records for a while still gets them to the hub.

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod bad_agents;
mod fleet;
mod reconnect;
mod records;
mod tls;

use common::{get_json, Server};
use dockerpulse::cluster::protocol::PROTOCOL;
use dockerpulse::cluster::AgentCredential;
use dockerpulse::serve::{start, Running};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const T1: &str = "token-of-node-one-0001";
const T2: &str = "token-of-node-two-0002";

async fn start_hub() -> Running {
    let mut cfg = common::test_config();
    cfg.cluster.agents = vec![
        AgentCredential {
            node: "n1".into(),
            token: T1.into(),
        },
        AgentCredential {
            node: "n2".into(),
            token: T2.into(),
        },
    ];
    cfg.cluster.watch_local = false;
    start(cfg).await.expect("the hub starts")
}

/// An agent process streaming to `hub` as `node`; `fleet` is its TOML (demo or engine).
fn spawn_agent(hub: &Running, node: &str, token: &str, fleet: &str, tag: &str) -> Server {
    spawn_agent_at(hub.addr, node, token, fleet, tag)
}

/// An agent process streaming to the hub at `hub` (or whatever listens there).
fn spawn_agent_at(
    hub: std::net::SocketAddr,
    node: &str,
    token: &str,
    fleet: &str,
    tag: &str,
) -> Server {
    let dir = common::temp_data_dir().join(format!("agent-{tag}"));
    let extra = format!(
        "{fleet}\n[cluster]\nhub = \"ws://{hub}\"\nnode = \"{node}\"\ntoken = \"{token}\"\n"
    );
    let (config, addr) = Server::config(&dir, &extra);
    Server::spawn(&config, addr)
}

const DEMO: &str = "demo = true\ndemo_containers = 9";

async fn node_status(hub: &Running, node: &str) -> Option<Value> {
    let (_, health) = get_json(hub, "/api/health").await;
    health["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["name"] == node)
        .cloned()
}

/// The node's status once the hub reports it in `state` (`connected`, `lost`), and how long that
/// took; `None` if it does not within `within`.
async fn node_reaches(
    hub: &Running,
    node: &str,
    state: &str,
    within: std::time::Duration,
) -> Option<(Value, std::time::Duration)> {
    common::eventually(within, || async {
        node_status(hub, node).await.filter(|n| n["state"] == state)
    })
    .await
}

async fn containers_of(hub: &Running, node: &str) -> Vec<Value> {
    let (_, list) = get_json(hub, "/api/containers").await;
    list.as_array()
        .map(|l| {
            l.iter()
                .filter(|c| c["info"]["node"] == node)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw agent connection as `node`, past its hello.
async fn raw_agent(hub: &Running, node: &str, token: &str) -> Client {
    let mut req = format!("ws://{}/agent", hub.addr)
        .into_client_request()
        .expect("request");
    let h = req.headers_mut();
    h.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    h.insert("x-dockerpulse-node", node.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connects");
    let hello = serde_json::json!({"type":"hello","data":{"node":node,"version":"raw","protocol":PROTOCOL}});
    ws.send(Message::Text(hello.to_string().into()))
        .await
        .expect("hello");
    // The hub's pings may come first.
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                assert!(t.contains("welcome"), "{t}");
                break;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("no welcome: {other:?}"),
        }
    }
    ws
}
