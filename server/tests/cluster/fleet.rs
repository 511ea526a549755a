//! The merged fleet: two agents' containers at the hub under their node, with history and
//! node-labelled metrics; a node lost after its agent's SIGKILL, and back once it restarts.

use crate::common::{eventually, get_json, Server};
use crate::{containers_of, node_reaches, node_status, spawn_agent, start_hub, DEMO, T1, T2};
use std::time::Duration;

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
    let lost = node_reaches(&hub, "n1", "lost", Duration::from_secs(10)).await;
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
    let back = node_reaches(&hub, "n1", "connected", Duration::from_secs(10)).await;
    assert!(back.is_some(), "the node is back after its agent restarts");
    again.kill9();
    hub.stop().await;
}
