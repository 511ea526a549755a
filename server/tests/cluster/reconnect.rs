//! Links that break and come back: a node's records replayed to a hub that restarted, ticks
//! taken while the link was cut resent without a gap, and a silent hub taken for dead.

use crate::common::{self, eventually, get_json, Server};
use crate::{containers_of, node_reaches, spawn_agent, spawn_agent_at, start_hub, DEMO, T1, T2};
use dockerpulse::cluster::AgentCredential;
use dockerpulse::serve::start;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

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
    node_reaches(&hub, "n1", "lost", Duration::from_secs(10))
        .await
        .expect("n1 lost while cut off");
    tokio::time::sleep(Duration::from_secs(4)).await;
    relay.set(true);
    let back_ms = dockerpulse::clock::now_ms();
    node_reaches(&hub, "n1", "connected", Duration::from_secs(20))
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
