//! Healing Docker Swarm tasks on the real engine (a one-node swarm the test initialises, and
//! leaves again if it did): a task's restart goes through Swarm (its container is removed and
//! the service schedules a replacement, so the service keeps its replica count and the old task
//! shows as shut down by the orchestrator); pause and the like are refused for tasks; and no
//! more than the configured share of a service's tasks is acted on at once. And a service-wide
//! restart asked at the hub (`POST /api/services/{service}/restart`) is a `service update
//! --force`: every task replaced by Swarm, only for a service that opted in, recorded.
//!
//! Tests here take [`SWARM_LOCK`] first: one leaving the swarm must not pull it from under
//! another.

mod common;

use common::{call, eventually, ADMIN_TOKEN};
use std::process::Command;
use std::time::Duration;

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Held by each test for its whole run (the swarm is the engine's, shared by every test here).
static SWARM_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The engine in swarm mode for the test; left again afterwards if the test made it so.
struct Swarm {
    initialised_here: bool,
}

impl Swarm {
    fn up() -> Self {
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        let initialised_here = state != "active";
        if initialised_here {
            docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        }
        Self { initialised_here }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        if self.initialised_here {
            let _ = Command::new("docker")
                .args(["swarm", "leave", "--force"])
                .output();
        }
    }
}

/// A service removed when dropped.
struct Service(String);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["service", "rm", &self.0])
            .output();
    }
}

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
    if !common::engine_available("swarm_engine::lease") {
        return;
    }
    let _one_at_a_time = SWARM_LOCK.lock().await;
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
    if !common::engine_available("swarm_engine") {
        return;
    }
    let _one_at_a_time = SWARM_LOCK.lock().await;
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

/// A hub on the test engine (it accepts one agent); healing in dry-run unless labels say.
async fn hub() -> dockerpulse::serve::Running {
    let mut cfg = common::test_config();
    cfg.cluster.agents = vec![dockerpulse::cluster::AgentCredential {
        node: "n1".into(),
        token: "token-of-node-one-0001".into(),
    }];
    dockerpulse::serve::start(cfg).await.expect("starts")
}

/// A service of two replicas with these service (spec) labels and flags; removed when dropped.
fn service(name: &str, flags: &[&str]) -> Service {
    let image = common::test_image();
    let mut args = vec!["service", "create", "--detach", "--name", name];
    args.extend(["--replicas", "2"]);
    args.extend(flags);
    args.extend([image.as_str(), "sleep", "600"]);
    docker(&args);
    Service(name.to_string())
}

fn spec_field(service: &str, format: &str) -> String {
    docker(&["service", "inspect", "--format", format, service])
}

fn force_update(service: &str) -> String {
    spec_field(service, "{{.Spec.TaskTemplate.ForceUpdate}}")
}

/// The ids of the service's tasks that are meant to run and do.
fn running_task_ids(service: &str) -> Vec<String> {
    docker(&[
        "service",
        "ps",
        "--no-trunc",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.ID}} {{.CurrentState}}",
        service,
    ])
    .lines()
    .filter(|l| l.contains(" Running"))
    .filter_map(|l| l.split_whitespace().next().map(str::to_string))
    .collect()
}

async fn two_tasks_running(service: &str) -> Vec<String> {
    let (tasks, _) = eventually(Duration::from_secs(30), || async {
        let t = running_task_ids(service);
        (t.len() == 2).then_some(t)
    })
    .await
    .unwrap_or_else(|| panic!("service {service} runs its two tasks"));
    tasks
}

async fn restart(running: &dockerpulse::serve::Running, service: &str) -> (u16, serde_json::Value) {
    let uri = format!("/api/services/{service}/restart");
    let (s, body) = call(running, "POST", &uri, Some(ADMIN_TOKEN), None).await;
    (s.as_u16(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_wide_restart_is_a_forced_update_and_swarm_replaces_every_task() {
    if !common::engine_available("swarm_engine") {
        return;
    }
    let _one_at_a_time = SWARM_LOCK.lock().await;
    let _swarm = Swarm::up();
    let name = format!("dp-test-force-{}", std::process::id());
    // Opted in and in enforce mode by the service's own labels (the global mode is dry-run).
    let _service = service(
        &name,
        &[
            "--label",
            "dockerpulse.heal=restart",
            "--label",
            "dockerpulse.mode=enforce",
            "--update-parallelism",
            "1",
            "--update-delay",
            "1s",
        ],
    );
    let before = two_tasks_running(&name).await;
    assert_eq!(force_update(&name), "0");
    let running = hub().await;

    let uri = format!("/api/services/{name}/restart");
    let (s, _) = call(&running, "POST", &uri, None, None).await;
    assert_eq!(s, 401, "the admin token is needed");

    let (s, body) = restart(&running, &name).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["container_name"], format!("service:{name}"));
    assert_eq!(body["action"], "restart");
    assert_eq!(body["mode"], "enforce");
    assert_eq!(body["manual"], true);
    assert_eq!(body["outcome"], "succeeded");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("ForceUpdate 0 → 1")
            && detail.contains("update_config (1 task(s) at a time, 1 s apart, stop-first)"),
        "the record says what was sent and which rollout bounds it: {detail}"
    );
    assert_eq!(force_update(&name), "1", "ForceUpdate went up by one");

    // Swarm replaced both tasks, one at a time: new task ids running, the old ones shut down,
    // and (as sampled) never no task running meanwhile.
    let mut fewest = usize::MAX;
    let replaced = eventually(Duration::from_secs(60), || {
        let now = running_task_ids(&name);
        fewest = fewest.min(now.len());
        let done = now.len() == 2 && now.iter().all(|t| !before.contains(t));
        async move { done.then_some(now) }
    })
    .await;
    let history = docker(&[
        "service",
        "ps",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.DesiredState}}",
        &name,
    ]);
    assert!(replaced.is_some(), "both tasks replaced: {history}");
    assert!(fewest >= 1, "a task ran throughout the roll: {history}");
    for old in &before {
        let line = history
            .lines()
            .find(|l| l.starts_with(old.as_str()))
            .unwrap_or_else(|| panic!("task {old} in {history}"));
        assert!(line.ends_with("Shutdown"), "old task shut down: {line}");
    }
    assert_eq!(spec_field(&name, "{{.Spec.Mode.Replicated.Replicas}}"), "2");

    // On the record in the store: committed before acting, its outcome written after.
    let (_, list) = common::get_json(
        &running,
        &format!("/api/interventions?container=service:{name}"),
    )
    .await;
    let recs = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(recs.len(), 1, "{list}");
    assert_eq!(recs[0]["id"], body["id"]);
    assert_eq!(recs[0]["outcome"], "succeeded");
    assert!(recs[0]["started_ms"].as_i64() >= recs[0]["decided_ms"].as_i64());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_restart_is_refused_unless_opted_in_and_only_recorded_in_dry_run() {
    if !common::engine_available("swarm_engine") {
        return;
    }
    let _one_at_a_time = SWARM_LOCK.lock().await;
    let running = hub().await;
    if docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]) != "active" {
        let (s, body) = restart(&running, "web").await;
        assert_eq!(s, 409, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not a Swarm manager")),
            "{body}"
        );
    }
    let _swarm = Swarm::up();
    let pid = std::process::id();

    let (s, body) = restart(&running, &format!("dp-test-nothing-{pid}")).await;
    assert_eq!(s, 404, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no service")),
        "{body}"
    );

    let plain = format!("dp-test-plain-{pid}");
    let _plain = service(&plain, &["--label", "dockerpulse.mode=enforce"]);
    let dry = format!("dp-test-dry-{pid}");
    let _dry = service(&dry, &["--label", "dockerpulse.heal=restart"]);
    let plain_tasks = two_tasks_running(&plain).await;
    let dry_tasks = two_tasks_running(&dry).await;
    let version = |s: &str| spec_field(s, "{{.Version.Index}}");
    let (plain_version, dry_version) = (version(&plain), version(&dry));

    let (s, body) = restart(&running, &plain).await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did not opt in") && d.contains("dockerpulse.heal=restart")),
        "{body}"
    );

    // Opted in, in the global dry-run: recorded as what would be done, nothing sent.
    let (s, body) = restart(&running, &dry).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["outcome"], "simulated");
    assert_eq!(body["mode"], "dry_run");
    assert_eq!(body["container_name"], format!("service:{dry}"));
    let (_, list) = common::get_json(
        &running,
        &format!("/api/interventions?container=service:{dry}"),
    )
    .await;
    assert!(
        list["items"]
            .as_array()
            .is_some_and(|l| l.len() == 1 && l[0]["outcome"] == "simulated"),
        "{list}"
    );

    // Neither service changed: same spec version, ForceUpdate 0, the same tasks.
    for (svc, v, tasks) in [
        (&plain, plain_version, plain_tasks),
        (&dry, dry_version, dry_tasks),
    ] {
        assert_eq!(version(svc), v, "{svc} not updated");
        assert_eq!(force_update(svc), "0");
        let mut now = running_task_ids(svc);
        let mut before = tasks;
        now.sort();
        before.sort();
        assert_eq!(now, before, "{svc} kept its tasks");
    }
    running.stop().await;
}
