//! Acting on a node's containers through the hub: the service-wide cap on Swarm tasks, held by
//! the hub across the leases its agents ask for, and a manual action at the hub carried out by
//! the owning agent on the real engine.

use crate::common::{self, call, eventually, ADMIN_TOKEN};
use crate::{containers_of, raw_agent, spawn_agent, start_hub, Client, T1, T2};
use dockerpulse::cluster::protocol::{AgentMsg, HubMsg};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Swarm tasks of `service` as a node's tick carries them.
fn tasks(service: &str, ids: &[&str]) -> Vec<app::wire::ContainerFrame> {
    ids.iter()
        .map(|id| app::wire::ContainerFrame {
            info: std::sync::Arc::new(app::wire::ContainerInfo {
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
            }),
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
