//! Several hosts: agents (the real binary, as separate processes) streaming to a hub over real
//! loopback websockets. Covers the merged fleet, node health and loss after SIGKILL, manual
//! actions forwarded to the owning agent (on the real engine), and bad agents: a wrong token,
//! a malformed and an oversized message each close only that agent. Also `wss://`: an agent
//! trusting a private CA streams to a hub behind a TLS-terminating proxy, and one that does not
//! says why it cannot connect; a bad `--ca-file` or a missing `--hub` stops `dockerpulse agent`.

mod common;

use common::{call, eventually, get_json, Server, ADMIN_TOKEN};
use dockerpulse::cluster::protocol::{AgentMsg, HubMsg, PROTOCOL};
use dockerpulse::cluster::AgentCredential;
use dockerpulse::serve::{start, Running};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_fleet_appears_at_the_hub_and_its_loss_shows_after_sigkill() {
    let hub = start_hub().await;
    let mut agent = spawn_agent(&hub, "n1", T1, DEMO, "loss");
    // A second simulated node: the same demo fleet, kept apart by its node's name in the ids.
    let other = spawn_agent(&hub, "n2", T2, DEMO, "loss-other");
    agent.ready().await;
    other.ready().await;
    let seen = eventually(Duration::from_secs(5), || async {
        let c = containers_of(&hub, "n1").await;
        (c.len() == 9 && containers_of(&hub, "n2").await.len() == 9).then_some(c)
    })
    .await;
    let (containers, took) = seen.expect("each agent's 9 containers reach the hub within 5 s");
    eprintln!("agent ready -> its containers at the hub: {took:?}");
    // Each carries the agent's own assessment, not one the hub made up.
    assert!(containers.iter().any(|c| c["assessment"].is_object()));
    let n1 = node_status(&hub, "n1").await.expect("n1 is listed");
    assert_eq!(n1["state"], "connected");
    assert_eq!(n1["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(n1["containers"], 9);
    let (_, agent_health) = agent.get("/api/health").await.expect("agent health");
    assert_eq!(agent_health["uplink"]["connected"], true);
    assert_eq!(agent_health["uplink"]["node"], "n1");

    // History builds up at the hub as at the node: the detail view has points.
    let id = containers[0]["info"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, history) = get_json(&hub, &format!("/api/containers/{id}/history")).await;
    assert_eq!(status, 200, "{history}");
    // /metrics covers them too, labelled with their node.
    let (status, metrics) = get_json(&hub, "/metrics").await;
    assert_eq!(status, 200);
    let text = metrics.as_str().unwrap_or_default();
    assert!(
        text.lines()
            .any(|l| l.starts_with("container_cpu_usage_seconds_total{")
                && l.contains(&format!("id=\"/docker/{id}\""))
                && l.contains("node=\"n1\"")),
        "no node-labelled CPU counter for {id}"
    );

    agent.kill9();
    let lost = eventually(Duration::from_secs(10), || async {
        node_status(&hub, "n1")
            .await
            .filter(|n| n["state"] == "lost")
    })
    .await;
    let (lost, took) = lost.expect("the node shows as lost within 10 s of its agent's SIGKILL");
    eprintln!(
        "agent SIGKILL -> node lost at the hub: {took:?} ({})",
        lost["detail"]
    );
    // Its containers keep their last state rather than vanishing.
    assert_eq!(containers_of(&hub, "n1").await.len(), 9);
    let n2 = node_status(&hub, "n2").await.expect("n2 is listed");
    assert_eq!(n2["state"], "connected", "the other node did not notice");
    assert_eq!(containers_of(&hub, "n2").await.len(), 9);
    drop(other);

    let mut again = Server::spawn(&agent.config, agent.addr);
    again.ready().await;
    let back = eventually(Duration::from_secs(10), || async {
        node_status(&hub, "n1")
            .await
            .filter(|n| n["state"] == "connected")
    })
    .await;
    assert!(back.is_some(), "the node is back after its agent restarts");
    again.kill9();
    hub.stop().await;
}

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
    let n2 = eventually(Duration::from_secs(5), || async {
        node_status(&hub, "n2")
            .await
            .filter(|n| n["state"] == "lost")
    })
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

/// Swarm tasks of `service` as a node's tick carries them.
fn tasks(service: &str, ids: &[&str]) -> Vec<app::wire::ContainerFrame> {
    ids.iter()
        .map(|id| app::wire::ContainerFrame {
            info: app::wire::ContainerInfo {
                id: (*id).into(),
                name: format!("{service}.{id}"),
                labels: [
                    (
                        app::wire::SWARM_SERVICE_LABEL.to_string(),
                        service.to_string(),
                    ),
                    (
                        app::wire::SWARM_TASK_LABEL.to_string(),
                        format!("task-{id}"),
                    ),
                ]
                .into(),
                ..Default::default()
            },
            ..Default::default()
        })
        .collect()
}

async fn send_msg(ws: &mut Client, m: &AgentMsg) {
    let text = serde_json::to_string(m).expect("serialises");
    ws.send(Message::Text(text.into())).await.expect("sent");
}

/// Asks for a lease on one of `service`'s tasks; the hub's refusal, if any.
async fn lease(ws: &mut Client, id: u64, service: &str) -> Option<String> {
    let ask = AgentMsg::Lease {
        id,
        service: service.into(),
        container: format!("{service}-{id}"),
        manual: false,
    };
    send_msg(ws, &ask).await;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the hub answers a lease");
        if let Some(Ok(Message::Text(t))) = msg {
            match serde_json::from_str::<HubMsg>(&t) {
                Ok(HubMsg::Lease { id: got, refused }) if got == id => return refused,
                _ => continue,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_holds_a_services_cap_across_its_nodes() {
    let hub = start_hub().await;
    let mut n1 = raw_agent(&hub, "n1", T1).await;
    let mut n2 = raw_agent(&hub, "n2", T2).await;
    // Four replicas of web, two per node; one replica of db on n2.
    for (ws, containers) in [
        (&mut n1, tasks("web", &["a1", "a2"])),
        (
            &mut n2,
            [tasks("web", &["b1", "b2"]), tasks("db", &["b3"])].concat(),
        ),
    ] {
        let tick = dockerpulse::collect::remote::NodeTick {
            seq: 1,
            ts_ms: dockerpulse::clock::now_ms(),
            engine: Default::default(),
            host: None,
            containers,
        };
        send_msg(ws, &AgentMsg::Tick(Box::new(tick))).await;
    }
    eventually(Duration::from_secs(10), || async {
        (containers_of(&hub, "n1").await.len() == 2 && containers_of(&hub, "n2").await.len() == 3)
            .then_some(())
    })
    .await
    .expect("both nodes' tasks at the hub");
    // The hub's guard counts the tasks on its own next tick (once a second).
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // Half of web's four replicas: one action on each node, then no more for the window,
    // though each node alone has acted on only one of its two.
    assert_eq!(lease(&mut n1, 1, "web").await, None, "first lease granted");
    assert_eq!(lease(&mut n2, 1, "web").await, None, "second lease granted");
    let refused = lease(&mut n1, 2, "web").await.expect("a third is refused");
    assert!(
        refused.contains("web") && refused.contains('2'),
        "says which service and its cap: {refused}"
    );
    assert!(lease(&mut n2, 2, "web").await.is_some(), "on any node");
    // Another service has its own cap.
    assert_eq!(lease(&mut n2, 3, "db").await, None);
    assert!(
        lease(&mut n2, 4, "db").await.is_some(),
        "one of one replica"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_action_at_the_hub_is_carried_out_by_the_owning_agent_on_the_engine() {
    if !common::engine_available("cluster::manual_action") {
        return;
    }
    let hub = start_hub().await;
    let c = common::TestContainer::run("cluster-pause", &[], &["sleep", "600"]);
    let plain = common::TestContainer::run("cluster-plain", &[], &["sleep", "600"]);
    // The agent watches the real engine, enforcing, with one container opted in by name.
    let fleet = format!(
        "[heal]\nmode = \"enforce\"\n[heal.containers]\n\"{}\" = \"pause\"\n",
        c.name
    );
    let agent = spawn_agent(&hub, "n2", T2, &fleet, "engine");
    agent.ready().await;
    let at_hub = eventually(Duration::from_secs(10), || async {
        let mine = containers_of(&hub, "n2").await;
        let has = |id: &str| mine.iter().any(|x| x["info"]["id"] == id);
        (has(&c.id) && has(&plain.id)).then_some(())
    })
    .await;
    assert!(
        at_hub.is_some(),
        "the engine's containers reach the hub with their node"
    );

    let uri = |id: &str, action: &str| format!("/api/containers/{id}/{action}");
    let (s, _) = call(&hub, "POST", &uri(&c.id, "pause"), None, None).await;
    assert_eq!(s, 401, "the hub's own token guard comes first");
    let (s, body) = call(&hub, "POST", &uri(&c.id, "pause"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["container_name"], c.name.as_str());
    assert_eq!(body["outcome"], "succeeded");
    assert_eq!(common::inspect(&c.name, "{{.State.Paused}}"), "true");
    // Not opted in on its node: the agent's guard rails refuse, and the hub says why.
    let (s, body) = call(
        &hub,
        "POST",
        &uri(&plain.id, "restart"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did not opt in")),
        "{body}"
    );
    let (s, _) = call(
        &hub,
        "POST",
        &format!("/api/containers/{}/unpause", c.id),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(common::inspect(&c.name, "{{.State.Paused}}"), "false");
    drop(agent);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_node_did_while_the_hub_was_away_is_at_the_hub_after_it_reconnects() {
    if !common::engine_available("cluster::records_replay") {
        return;
    }
    let port = common::free_port();
    let hub_cfg = || {
        let mut cfg = common::test_config();
        cfg.bind = format!("127.0.0.1:{port}");
        cfg.cluster.agents = vec![AgentCredential {
            node: "n2".into(),
            token: T2.into(),
        }];
        cfg.cluster.watch_local = false;
        cfg
    };
    let hub = start(hub_cfg()).await.expect("hub starts");
    let c = common::TestContainer::run("cluster-replay", &[], &["sleep", "600"]);
    let fleet = format!(
        "[heal]\nmode = \"enforce\"\n[heal.containers]\n\"{}\" = \"pause\"\n",
        c.name
    );
    let agent = spawn_agent(&hub, "n2", T2, &fleet, "replay");
    agent.ready().await;
    eventually(Duration::from_secs(10), || async {
        let mine = containers_of(&hub, "n2").await;
        mine.iter()
            .any(|x| x["info"]["id"] == c.id.as_str())
            .then_some(())
    })
    .await
    .expect("n2 streams its containers");

    // The hub goes away; meanwhile the node acts on its own container.
    hub.stop().await;
    let status = common::http_post(agent.addr, &format!("/api/containers/{}/pause", c.id)).await;
    assert_eq!(
        status.map(|s| s.0),
        Some(200),
        "the agent acts without its hub"
    );
    assert_eq!(common::inspect(&c.name, "{{.State.Paused}}"), "true");

    // A new hub on the same address: the agent reconnects and replays its records.
    let hub = start(hub_cfg()).await.expect("hub starts again");
    let replayed = eventually(Duration::from_secs(20), || async {
        let (s, list) = get_json(&hub, "/api/nodes/n2/interventions").await;
        (s == 200).then_some(())?;
        list.as_array()?
            .iter()
            .find(|i| i["container_name"] == c.name.as_str() && i["action"] == "pause")
            .cloned()
    })
    .await;
    let (rec, took) = replayed.expect("the intervention made while the hub was away reaches it");
    eprintln!("hub back -> node's records replayed: {took:?}");
    assert_eq!(rec["manual"], true);
    assert_eq!(rec["outcome"], "succeeded");
    let (s, _) = get_json(&hub, "/api/nodes/n9/interventions").await;
    assert_eq!(s, 404, "an unknown node is not found");
    let (_, nodes) = get_json(&hub, "/api/nodes").await;
    assert_eq!(nodes[0]["name"], "n2");
    c.docker("unpause");
    drop(agent);
    hub.stop().await;
}

/// A TCP relay between agents and their hub whose link the test can cut: while it is down,
/// every connection through it is dropped and new ones are closed at once.
struct Relay {
    addr: std::net::SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn start(to: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("relay binds");
        let addr = listener.local_addr().expect("addr");
        let (up, _) = tokio::sync::watch::channel(true);
        let watch = up.clone();
        tokio::spawn(async move {
            while let Ok((mut agent, _)) = listener.accept().await {
                let mut down = watch.subscribe();
                if !*down.borrow_and_update() {
                    continue; // dropped: the agent's connection is refused
                }
                tokio::spawn(async move {
                    let Ok(mut hub) = tokio::net::TcpStream::connect(to).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut agent, &mut hub) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up }
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_taken_while_the_link_was_cut_reach_the_hub_after_it_returns() {
    let hub = start_hub().await;
    let relay = Relay::start(hub.addr).await;
    let agent = spawn_agent_at(relay.addr, "n1", T1, DEMO, "cut");
    agent.ready().await;
    let id = eventually(Duration::from_secs(10), || async {
        let mine = containers_of(&hub, "n1").await;
        (mine.len() == 9).then(|| mine[0]["info"]["id"].as_str().map(str::to_string))?
    })
    .await
    .expect("n1 streams")
    .0;
    tokio::time::sleep(Duration::from_secs(2)).await;

    relay.set(false);
    let cut_ms = dockerpulse::clock::now_ms();
    eventually(Duration::from_secs(10), || async {
        node_status(&hub, "n1")
            .await
            .filter(|n| n["state"] == "lost")
    })
    .await
    .expect("n1 lost while cut off");
    tokio::time::sleep(Duration::from_secs(4)).await;
    relay.set(true);
    let back_ms = dockerpulse::clock::now_ms();
    eventually(Duration::from_secs(20), || async {
        node_status(&hub, "n1")
            .await
            .filter(|n| n["state"] == "connected")
    })
    .await
    .expect("n1 back");
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (_, history) = get_json(&hub, &format!("/api/containers/{id}/history?seconds=120")).await;
    let ts: Vec<i64> = history["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p["ts_ms"].as_i64())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "in time order: {ts:?}");
    let around: Vec<i64> = ts
        .iter()
        .copied()
        .filter(|t| (cut_ms - 3_000..=back_ms + 1_000).contains(t))
        .collect();
    let widest = around
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(i64::MAX);
    eprintln!(
        "cut {} s: the hub has {} points of n1's container across it, widest gap {widest} ms",
        (back_ms - cut_ms) / 1000,
        around.len()
    );
    assert!(
        widest <= 1_600,
        "no gap for the outage (a tick a second): {around:?}"
    );
    assert!(around.first().is_some_and(|t| *t <= cut_ms - 2_000));
    let (_, health) = agent.get("/api/health").await.expect("agent health");
    let uplink = &health["uplink"];
    assert!(uplink["ticks_resent"].as_u64() >= Some(4), "{uplink}");
    assert_eq!(uplink["ticks_dropped"], 0, "{uplink}");
    drop(agent);
    hub.stop().await;
}

/// A hub that welcomes its agent and then says nothing at all (no pings): what a link looks like
/// when the cable is cut. Counts the connections it accepted.
async fn silent_hub() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let welcome = r#"{"type":"welcome","data":{"node":"n1"}}"#;
                let _ = ws.send(Message::Text(welcome.into())).await;
                // Read (and drop) whatever comes; never write again.
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    (addr, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_hears_nothing_from_its_hub_reconnects() {
    let (hub, accepted) = silent_hub().await;
    let dir = common::temp_data_dir().join("agent-silence");
    let extra =
        format!("{DEMO}\n[cluster]\nhub = \"ws://{hub}\"\nnode = \"n1\"\ntoken = \"{T1}\"\n");
    let (config, addr) = Server::config(&dir, &extra);
    let agent = Server::spawn(&config, addr);
    agent.ready().await;
    let silence = dockerpulse::cluster::protocol::PING_SILENCE;
    let gave_up = eventually(silence * 2 + Duration::from_secs(5), || async {
        let (_, h) = agent.get("/api/health").await?;
        let e = h["uplink"]["last_error"].as_str()?.to_string();
        e.contains("nothing heard from the hub").then_some(e)
    })
    .await;
    assert!(gave_up.is_some(), "the agent takes a silent link for dead");
    let again = eventually(Duration::from_secs(15), || async {
        (accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    assert!(again.is_some(), "and connects again");
}

/// A private CA and a certificate for `localhost` it signed, made at test time: what a hub behind
/// a reverse proxy with an internal CA presents.
struct PrivatePki {
    ca_pem: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn private_pki() -> PrivatePki {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca = rcgen::CertificateParams::new(Vec::new()).expect("CA params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "DockerPulse test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().expect("key");
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("certificate");
    PrivatePki {
        ca_pem: ca_cert.pem(),
        cert: leaf.der().clone(),
        key: rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

/// A TLS-terminating proxy on 127.0.0.1 in front of the plain-HTTP `hub`: each connection's TLS
/// is ended here and its bytes copied both ways to the hub, as nginx or Traefik would.
async fn tls_proxy(hub: std::net::SocketAddr, pki: &PrivatePki) -> std::net::SocketAddr {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![pki.cert.clone()], pki.key.clone_key())
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends here, which is the point.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(hub).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

/// An agent process streaming to `wss://localhost:PORT` of the proxy, trusting `ca_file` if any.
fn spawn_wss_agent(
    proxy: std::net::SocketAddr,
    ca_file: Option<&std::path::Path>,
    tag: &str,
) -> Server {
    let dir = common::temp_data_dir().join(format!("agent-{tag}"));
    let ca = ca_file.map_or(String::new(), |p| {
        format!("ca_file = \"{}\"\n", p.display())
    });
    let extra = format!(
        "{DEMO}\n[cluster]\nhub = \"wss://localhost:{}\"\nnode = \"n1\"\ntoken = \"{T1}\"\n{ca}",
        proxy.port()
    );
    let (config, addr) = Server::config(&dir, &extra);
    Server::spawn(&config, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_trusting_the_private_ca_streams_to_a_hub_behind_a_tls_proxy() {
    let hub = start_hub().await;
    let pki = private_pki();
    let proxy = tls_proxy(hub.addr, &pki).await;
    let dir = common::temp_data_dir();
    std::fs::create_dir_all(&dir).expect("dir");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).expect("CA file");
    let agent = spawn_wss_agent(proxy, Some(&ca_file), "wss");
    agent.ready().await;
    let seen = eventually(Duration::from_secs(10), || async {
        (containers_of(&hub, "n1").await.len() == 9).then_some(())
    })
    .await;
    assert!(
        seen.is_some(),
        "the agent's containers reach the hub over wss://; see {}",
        agent.config.with_extension("log").display()
    );
    let n1 = node_status(&hub, "n1").await.expect("n1 is listed");
    assert_eq!(n1["state"], "connected");
    let (_, health) = agent.get("/api/health").await.expect("agent health");
    assert_eq!(health["uplink"]["connected"], true, "{health}");
    assert_eq!(
        health["uplink"]["hub"],
        format!("wss://localhost:{}", proxy.port())
    );
    drop(agent);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_file_the_agent_refuses_the_hubs_certificate_and_says_why() {
    let hub = start_hub().await;
    let pki = private_pki();
    let proxy = tls_proxy(hub.addr, &pki).await;
    let agent = spawn_wss_agent(proxy, None, "wss-untrusted");
    agent.ready().await;
    let refused = eventually(Duration::from_secs(10), || async {
        let (_, h) = agent.get("/api/health").await?;
        h["uplink"]["last_error"].as_str().map(str::to_string)
    })
    .await;
    let (why, _) = refused.expect("the agent reports why it cannot connect");
    eprintln!("untrusted hub certificate -> uplink last_error: {why}");
    assert!(why.contains("TLS") && why.contains("certificate"), "{why}");
    assert!(why.contains("UnknownIssuer"), "{why}");
    assert!(
        why.contains("ca_file"),
        "the error points at the fix: {why}"
    );
    let (_, health) = agent.get("/api/health").await.expect("agent health");
    assert_eq!(health["uplink"]["connected"], false);
    assert!(node_status(&hub, "n1").await.is_none());
    assert!(containers_of(&hub, "n1").await.is_empty());
    drop(agent);
    hub.stop().await;
}

/// `dockerpulse --config CONFIG ARGS…` (the real binary), to its exit: (success, stderr).
fn run_binary(config: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dockerpulse"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("dockerpulse runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_agent_command_refuses_a_missing_hub_and_a_bad_ca_file_with_the_reason() {
    let dir = common::temp_data_dir().join("agent-cli");
    let (config, _) = Server::config(&dir, DEMO);
    let (ok, err) = run_binary(&config, &["agent"]);
    assert!(!ok);
    assert!(err.contains("an agent needs its hub: --hub"), "{err}");

    let token = dir.join("token");
    std::fs::write(&token, T1).expect("token file");
    let not_a_cert = dir.join("not-a-cert.pem");
    std::fs::write(&not_a_cert, "just some text\n").expect("file");
    let hub_args = |ca: &std::path::Path| {
        vec![
            "agent".to_string(),
            "--hub".into(),
            "wss://localhost:1".into(),
            "--token-file".into(),
            token.display().to_string(),
            "--ca-file".into(),
            ca.display().to_string(),
        ]
    };
    let args = hub_args(&not_a_cert);
    let (ok, err) = run_binary(
        &config,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(!ok);
    assert!(
        err.contains("cluster.ca_file") && err.contains("holds no certificate"),
        "{err}"
    );
    let args = hub_args(&dir.join("missing.pem"));
    let (ok, err) = run_binary(
        &config,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(!ok);
    assert!(err.contains("cannot read the CA file"), "{err}");

    // The same setting from the config file is checked the same way.
    let (config, _) = Server::config(
        &dir.join("file"),
        &format!(
            "{DEMO}\n[cluster]\nhub = \"wss://localhost:1\"\ntoken = \"{T1}\"\nca_file = \"{}\"\n",
            not_a_cert.display()
        ),
    );
    let (ok, err) = run_binary(&config, &["serve"]);
    assert!(!ok);
    assert!(err.contains("holds no certificate"), "{err}");
}
