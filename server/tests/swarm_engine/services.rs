//! A service-wide restart asked at the hub (`POST /api/services/{service}/restart`): a
//! `service update --force` whose tasks Swarm replaces one at a time, recorded; refused for a
//! service that did not opt in, only recorded in dry-run.

use crate::common::{self, call, eventually, ADMIN_TOKEN};
use crate::{docker, service, swarm_turn, Swarm};
use std::time::Duration;

/// A hub on the test engine (it accepts one agent); healing in dry-run unless labels say.
async fn hub() -> dockerpulse::serve::Running {
    let mut cfg = common::test_config();
    cfg.cluster.agents = vec![dockerpulse::cluster::AgentCredential {
        node: "n1".into(),
        token: "token-of-node-one-0001".into(),
    }];
    dockerpulse::serve::start(cfg).await.expect("starts")
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
    let Some(_one_at_a_time) = swarm_turn("swarm_engine").await else {
        return;
    };
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
    let Some(_one_at_a_time) = swarm_turn("swarm_engine").await else {
        return;
    };
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
