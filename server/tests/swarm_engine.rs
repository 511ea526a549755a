//! Healing Docker Swarm tasks on the real engine (a one-node swarm the test initialises, and
//! leaves again if it did): a task's restart goes through Swarm (its container is removed and
//! the service schedules a replacement, so the service keeps its replica count and the old task
//! shows as shut down by the orchestrator); pause and the like are refused for tasks; and no
//! more than the configured share of a service's tasks is acted on at once.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swarm_task_is_restarted_through_swarm_and_the_service_cap_holds() {
    if !common::engine_available("swarm_engine") {
        return;
    }
    let _swarm = Swarm::up();
    let name = format!("dp-test-svc-{}", std::process::id());
    docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        &name,
        "--replicas",
        "2",
        "--restart-delay",
        "1s",
        "--container-label",
        "dockerpulse.heal=restart",
        &common::test_image(),
        "sleep",
        "600",
    ]);
    let _service = Service(name.clone());
    let (tasks, _) = eventually(Duration::from_secs(30), || async {
        let t = running_tasks(&name);
        (t.len() == 2).then_some(t)
    })
    .await
    .expect("the service runs its two tasks");

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
