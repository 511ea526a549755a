//! Healing one Swarm task: only with the hub's lease for an agent, restarted through Swarm (a
//! replacement scheduled, the old task shut down by the orchestrator), pause refused, and the
//! service cap held.

use crate::common::{self, call, eventually, ADMIN_TOKEN};
use crate::{docker, service, swarm_turn, Service, Swarm};
use std::time::Duration;

fn running_tasks(service: &str) -> Vec<String> {
    let filter = format!("label=com.docker.swarm.service.name={service}");
    docker(&["ps", "-q", "--no-trunc", "--filter", &filter])
        .lines()
        .map(str::to_string)
        .collect()
}

/// A two-replica service whose tasks opted in to restarts; its running tasks' container ids.
async fn two_replicas(name: &str) -> (Service, Vec<String>) {
    let service = service(
        name,
        &[
            "--restart-delay",
            "1s",
            "--container-label",
            "dockerpulse.heal=restart",
        ],
    );
    let (tasks, _) = eventually(Duration::from_secs(30), || async {
        let t = running_tasks(name);
        (t.len() == 2).then_some(t)
    })
    .await
    .expect("the service runs its two tasks");
    (service, tasks)
}

/// An agent acts on a Swarm task only with its hub's lease. The agent's own cap is loosened to
/// every replica and the hub keeps the default half, so the cap that holds is the hub's (the one
/// that sees every node's tasks): the agent's first restart is granted by the hub, the second
/// refused by it, recorded as blocked, and the task left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_acts_on_a_task_only_with_its_hubs_lease() {
    let Some(_one_at_a_time) = swarm_turn("swarm_engine::lease").await else {
        return;
    };
    let _swarm = Swarm::up();
    let name = format!("dp-test-lease-{}", std::process::id());
    let (_service, tasks) = two_replicas(&name).await;

    const TOKEN: &str = "token-of-node-one-0001";
    let mut hub_cfg = common::test_config();
    hub_cfg.cluster.agents = vec![dockerpulse::cluster::AgentCredential {
        node: "n1".into(),
        token: TOKEN.into(),
    }];
    hub_cfg.cluster.watch_local = false;
    let hub = dockerpulse::serve::start(hub_cfg)
        .await
        .expect("the hub starts");
    let extra = format!(
        "[heal]\nmode = \"enforce\"\nservice_max_share = 1.0\n\
         [cluster]\nhub = \"ws://{}\"\nnode = \"n1\"\ntoken = \"{TOKEN}\"\n",
        hub.addr
    );
    let (config, addr) = common::Server::config(&common::temp_data_dir().join("agent"), &extra);
    let agent = common::Server::spawn(&config, addr);
    agent.ready().await;
    eventually(Duration::from_secs(20), || async {
        let live = hub.state.live.read();
        tasks
            .iter()
            .all(|t| {
                live.get(t)
                    .is_some_and(|c| c.info.node.as_deref() == Some("n1"))
            })
            .then_some(())
    })
    .await
    .expect("both tasks at the hub under n1");
    // The hub's guard counts them on its own next tick.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let restart = |id: &str| format!("/api/containers/{id}/restart");
    let (s, first) = common::http_post(agent.addr, &restart(&tasks[0]))
        .await
        .expect("the agent answers");
    assert_eq!(s, 200, "{first}");
    assert!(
        first["detail"]
            .as_str()
            .is_some_and(|d| d.contains("the hub granted it")),
        "{first}"
    );
    let (s, second) = common::http_post(agent.addr, &restart(&tasks[1]))
        .await
        .expect("the agent answers");
    assert_eq!(s, 503, "{second}");
    assert!(
        second["detail"]
            .as_str()
            .is_some_and(|d| d.contains("the hub refused a lease")),
        "{second}"
    );
    assert!(
        running_tasks(&name).contains(&tasks[1]),
        "the refused task was left alone"
    );
    let (_, records) = agent
        .get("/api/interventions")
        .await
        .expect("the agent's records");
    let blocked = records["items"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["container_id"] == tasks[1].as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(blocked["outcome"], "blocked", "{records}");
    drop(agent);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swarm_task_is_restarted_through_swarm_and_the_service_cap_holds() {
    let Some(_one_at_a_time) = swarm_turn("swarm_engine").await else {
        return;
    };
    let _swarm = Swarm::up();
    let name = format!("dp-test-svc-{}", std::process::id());
    let (_service, tasks) = two_replicas(&name).await;

    let mut cfg = common::test_config();
    cfg.heal.mode = app::wire::HealMode::Enforce;
    // A hub (it accepts an agent) on the manager: it also reads the swarm.
    cfg.cluster.agents = vec![dockerpulse::cluster::AgentCredential {
        node: "n1".into(),
        token: "token-of-node-one-0001".into(),
    }];
    let running = dockerpulse::serve::start(cfg).await.expect("starts");
    eventually(Duration::from_secs(10), || async {
        let live = running.state.live.read();
        tasks.iter().all(|t| live.get(t).is_some()).then_some(())
    })
    .await
    .expect("both tasks tracked");
    let uri = |id: &str, action: &str| format!("/api/containers/{id}/{action}");
    let t = Some(ADMIN_TOKEN);

    let (s, body) = call(&running, "POST", &uri(&tasks[0], "pause"), t, None).await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("through Swarm")),
        "{body}"
    );

    let task_id = common::inspect(
        &tasks[0],
        "{{index .Config.Labels \"com.docker.swarm.task.id\"}}",
    );
    let (s, body) = call(&running, "POST", &uri(&tasks[0], "restart"), t, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["outcome"], "succeeded");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("replaced through Swarm")),
        "{body}"
    );

    // Half of two replicas at once is one: the other task is not touched now.
    let (s, body) = call(&running, "POST", &uri(&tasks[1], "restart"), t, None).await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("service_max_share")),
        "{body}"
    );

    // Swarm replaced the task: two running again, the old container gone, its task shut down.
    let replaced = eventually(Duration::from_secs(30), || async {
        let now = running_tasks(&name);
        (now.len() == 2 && !now.contains(&tasks[0]) && now.contains(&tasks[1])).then_some(now)
    })
    .await;
    assert!(
        replaced.is_some(),
        "the service is back to two tasks, the old one replaced"
    );
    let history = docker(&[
        "service",
        "ps",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.DesiredState}}",
        &name,
    ]);
    let old = history
        .lines()
        .find(|l| l.starts_with(&task_id))
        .unwrap_or_else(|| panic!("task {task_id} in {history}"));
    assert!(
        old.ends_with("Shutdown"),
        "the orchestrator shut the old task down: {old}"
    );

    // The hub shows the same through the manager's API: the service, its replicas, and the
    // replaced task as desired shut down.
    let seen = eventually(Duration::from_secs(20), || async {
        let (_, v) = common::get_json(&running, "/api/swarm").await;
        let svc = v["services"]
            .as_array()?
            .iter()
            .find(|s| s["name"] == name.as_str())?
            .clone();
        let old = svc["tasks"]
            .as_array()?
            .iter()
            .find(|t| t["id"] == task_id.as_str())?
            .clone();
        (svc["running"] == 2 && old["desired_state"] == "shutdown").then_some((v, svc))
    })
    .await;
    let ((view, svc), _) = seen.expect("GET /api/swarm shows the service and the replaced task");
    assert_eq!(view["manager"], true);
    assert_eq!(svc["desired"], 2);
    assert_eq!(svc["mode"], "replicated");
    assert!(view["nodes"].as_array().is_some_and(|n| n.len() == 1));
    running.stop().await;
}
