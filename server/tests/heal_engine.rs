//! Healing against a real Docker engine: enforced restarts of opted-in containers only, the
//! restart backoff, the circuit breaker, dry-run, locked-down action endpoints, and the fleet
//! cap during a restart storm.

mod common;

use app::wire::RiskLevel;
use common::*;
use dockerpulse::config::Config;
use dockerpulse::serve::Running;
use serde_json::Value;
use std::time::Duration;

/// These tests measure CPU saturation: run them one at a time so they don't starve each other.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Quick-reacting settings: short warm-up, two-tick streak, short cooldown.
fn fast(mut cfg: Config) -> Config {
    cfg.brain.warmup_samples = 5;
    cfg.brain.anomaly.warmup_samples = 5;
    cfg.heal.streak = 2;
    cfg.heal.cooldown = Duration::from_secs(1);
    cfg
}

async fn interventions(running: &Running, container: &str) -> Vec<Value> {
    let (status, page) = get_json(
        running,
        &format!("/api/interventions?container={container}&limit=500"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let mut items = page["items"].as_array().cloned().unwrap_or_default();
    items.reverse(); // oldest first
    items
}

fn with_outcome<'a>(items: &'a [Value], outcome: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["outcome"] == outcome).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_restarts_only_opted_in_containers_with_backoff_and_breaker() {
    let _serial = SERIAL.lock().await;
    if !engine_available("enforce_restarts_only_opted_in_containers_with_backoff_and_breaker") {
        return;
    }
    let opted = TestContainer::run(
        "opted",
        &["--cpus", "0.3", "--label", "dockerpulse.heal=restart"],
        &BURN,
    );
    let bystander = TestContainer::run("bystander", &["--cpus", "0.3"], &BURN);
    let opted_start = inspect(&opted.name, "{{.State.StartedAt}}");
    let bystander_start = inspect(&bystander.name, "{{.State.StartedAt}}");

    let mut cfg = fast(test_config());
    cfg.heal.mode = app::wire::HealMode::Enforce;
    cfg.heal.backoff_initial = Duration::from_secs(8);
    cfg.heal.breaker_failures = 2;
    let running = dockerpulse::serve::start(cfg).await.expect("starts");

    // 1. The opted-in burner is really restarted, and the incident records it.
    let first = eventually(Duration::from_secs(60), || async {
        let items = interventions(&running, &opted.name).await;
        with_outcome(&items, "succeeded")
            .first()
            .map(|v| (*v).clone())
    })
    .await;
    let (first, _) = first.expect("a restart succeeds within a minute");
    assert_eq!(first["action"], "restart");
    assert_eq!(first["mode"], "enforce");
    assert_ne!(
        inspect(&opted.name, "{{.State.StartedAt}}"),
        opted_start,
        "really restarted"
    );
    let latency =
        first["started_ms"].as_i64().unwrap_or(0) - first["decided_ms"].as_i64().unwrap_or(0);
    eprintln!(
        "decision → restart call: {latency} ms; restart took {} ms",
        first["finished_ms"].as_i64().unwrap_or(0) - first["started_ms"].as_i64().unwrap_or(0)
    );
    let incident_id = first["incident_id"]
        .as_str()
        .expect("attached to the incident")
        .to_string();
    let (status, detail) = get_json(&running, &format!("/api/incidents/{incident_id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert!(
        detail["interventions"]
            .as_array()
            .is_some_and(|v| v.iter().any(|i| i["outcome"] == "succeeded")),
        "{detail}"
    );
    assert!(detail["samples"].as_array().is_some_and(|v| v.len() >= 3));

    // 2. The second restart waits for the backoff; 3. after two relapses the breaker opens.
    let escalated = eventually(Duration::from_secs(90), || async {
        let items = interventions(&running, &opted.name).await;
        with_outcome(&items, "escalated")
            .first()
            .map(|_| items.clone())
    })
    .await;
    let Some((items, _)) = escalated else {
        let items = interventions(&running, &opted.name).await;
        panic!("the breaker opens after repeated relapses: {items:#?}");
    };
    let restarts: Vec<i64> = with_outcome(&items, "succeeded")
        .iter()
        .filter_map(|i| i["decided_ms"].as_i64())
        .collect();
    assert_eq!(restarts.len(), 2, "two restarts, then a human: {items:#?}");
    assert!(
        restarts[1] - restarts[0] >= 8000,
        "backoff respected: {restarts:?}"
    );
    let (_, c) = get_json(&running, &format!("/api/containers/{}", opted.name)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, c2) = get_json(&running, &format!("/api/containers/{}", opted.name)).await;
    assert_eq!(
        c2["assessment"]["level"],
        serde_json::to_value(RiskLevel::Critical).expect("json"),
        "{c}"
    );
    let after = interventions(&running, &opted.name).await;
    assert_eq!(
        with_outcome(&after, "succeeded").len(),
        2,
        "no restart while the breaker is open"
    );

    // The bystander was CRITICAL too, but never touched, and the decision says why.
    assert_eq!(
        inspect(&bystander.name, "{{.State.StartedAt}}"),
        bystander_start
    );
    let b = interventions(&running, &bystander.name).await;
    assert!(with_outcome(&b, "succeeded").is_empty() && with_outcome(&b, "pending").is_empty());
    let blocked = with_outcome(&b, "blocked");
    assert!(
        blocked.iter().any(|i| i["reason"]
            .as_str()
            .is_some_and(|r| r.contains("did not opt in"))),
        "{b:#?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_touches_nothing_but_records_and_counts() {
    let _serial = SERIAL.lock().await;
    if !engine_available("dry_run_touches_nothing_but_records_and_counts") {
        return;
    }
    let burner = TestContainer::run(
        "dry",
        &["--cpus", "0.3", "--label", "dockerpulse.heal=restart"],
        &BURN,
    );
    let started = inspect(&burner.name, "{{.State.StartedAt}}");
    let running = dockerpulse::serve::start(fast(test_config()))
        .await
        .expect("starts");
    let simulated = eventually(Duration::from_secs(60), || async {
        let items = interventions(&running, &burner.name).await;
        with_outcome(&items, "simulated")
            .first()
            .map(|v| (*v).clone())
    })
    .await;
    let (sim, _) = simulated.expect("a simulated restart is recorded");
    assert_eq!(sim["mode"], "dry_run");
    let (_, c) = get_json(&running, &format!("/api/containers/{}", burner.name)).await;
    assert!(c["info"]["restart_count"] == 0, "{c}");
    let counted = {
        let live = running.state.live.read();
        live.find(&burner.name)
            .map(|c| c.heal.interventions)
            .unwrap_or(0)
    };
    assert!(counted >= 1, "counted per container");
    assert_eq!(
        inspect(&burner.name, "{{.State.StartedAt}}"),
        started,
        "never touched"
    );
    let (_, health) = get_json(&running, "/api/healing").await;
    assert!(
        health["interventions_today"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "{health}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_endpoints_need_the_token_and_an_opt_in() {
    let _serial = SERIAL.lock().await;
    if !engine_available("action_endpoints_need_the_token_and_an_opt_in") {
        return;
    }
    let opted = TestContainer::run(
        "pausable",
        &["--label", "dockerpulse.heal=pause"],
        &["sleep", "3600"],
    );
    let plain = TestContainer::run("plain", &[], &["sleep", "3600"]);
    let mut cfg = test_config();
    cfg.heal.mode = app::wire::HealMode::Enforce;
    let running = dockerpulse::serve::start(cfg).await.expect("starts");
    eventually(Duration::from_secs(10), || async {
        let live = running.state.live.read();
        (live.find(&opted.name).is_ok() && live.find(&plain.name).is_ok()).then_some(())
    })
    .await
    .expect("both tracked");

    for action in ["restart", "pause", "unpause", "isolate", "throttle"] {
        let uri = format!("/api/containers/{}/{action}", opted.name);
        let (s, body) = call(&running, "POST", &uri, None, None).await;
        assert_eq!(s, 401, "{action} without a token: {body}");
        assert_eq!(body["error"], "unauthorized");
        let (s, _) = call(
            &running,
            "POST",
            &uri,
            Some("wrong-token-wrong-token"),
            None,
        )
        .await;
        assert_eq!(s, 401, "{action} with a wrong token");
    }
    for (uri, body) in [
        ("/api/healing", Some(serde_json::json!({"mode": "dry_run"}))),
        (
            &*format!("/api/containers/{}/breaker/reset", opted.name),
            None,
        ),
    ] {
        let method = if uri == "/api/healing" { "PUT" } else { "POST" };
        let (s, _) = call(&running, method, uri, None, body).await;
        assert_eq!(s, 401, "{method} {uri} without a token");
    }

    let t = Some(ADMIN_TOKEN);
    let (s, body) = call(
        &running,
        "POST",
        "/api/containers/no-such-thing/restart",
        t,
        None,
    )
    .await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = call(
        &running,
        "POST",
        &format!("/api/containers/{}/explode", opted.name),
        t,
        None,
    )
    .await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = call(
        &running,
        "POST",
        &format!("/api/containers/{}/restart", plain.name),
        t,
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

    let (s, body) = call(
        &running,
        "POST",
        &format!("/api/containers/{}/pause", opted.name),
        t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["outcome"], "succeeded");
    assert_eq!(body["manual"], true);
    assert_eq!(inspect(&opted.name, "{{.State.Paused}}"), "true");
    let (s, _) = call(
        &running,
        "POST",
        &format!("/api/containers/{}/unpause", opted.name),
        t,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(inspect(&opted.name, "{{.State.Paused}}"), "false");

    for bad in [
        serde_json::json!({"mode": "yolo"}),
        serde_json::json!({"threshold_pct": 150}),
        serde_json::json!({"threshold": 90}),
        serde_json::json!({}),
    ] {
        let (s, body) = call(&running, "PUT", "/api/healing", t, Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad}: {body}");
    }
    let (s, body) = call(
        &running,
        "PUT",
        "/api/healing",
        t,
        Some(serde_json::json!({"mode": "dry_run", "threshold_pct": 90})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["mode"], "dry_run");
    assert_eq!(body["threshold_pct"], 90.0);
    let (_, now) = get_json(&running, "/api/healing").await;
    assert_eq!(now["mode"], "dry_run", "reads are open");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_storm_is_held_to_the_fleet_cap() {
    let _serial = SERIAL.lock().await;
    if !engine_available("a_restart_storm_is_held_to_the_fleet_cap") {
        return;
    }
    let fleet: Vec<TestContainer> = (0..20)
        .map(|i| {
            TestContainer::run(
                &format!("storm{i:02}"),
                &["--cpus", "0.04", "--label", "dockerpulse.heal=restart"],
                &BURN,
            )
        })
        .collect();
    let mut cfg = fast(test_config());
    cfg.heal.mode = app::wire::HealMode::Enforce;
    // This test is about the cap, not the risk model: a pinned container's probability sits
    // just above the default 85 % and crosses it at different moments; 70 % makes the whole
    // fleet want a restart within the same minute.
    cfg.heal.threshold_pct = 70.0;
    let running = dockerpulse::serve::start(cfg).await.expect("starts");
    let all = || async {
        let (_, page) = get_json(&running, "/api/interventions?limit=500").await;
        page["items"].as_array().cloned().unwrap_or_default()
    };
    let first = eventually(Duration::from_secs(60), || async {
        let items = all().await;
        items
            .iter()
            .filter_map(|i| {
                (i["outcome"] != "blocked")
                    .then(|| i["decided_ms"].as_i64())
                    .flatten()
            })
            .min()
    })
    .await;
    let (t0, _) = first.expect("the storm is noticed");
    tokio::time::sleep(Duration::from_secs(40)).await;
    let items = all().await;
    let acted: Vec<&Value> = items
        .iter()
        .filter(|i| {
            matches!(
                i["outcome"].as_str(),
                Some("succeeded" | "pending" | "failed")
            )
        })
        .filter(|i| i["decided_ms"].as_i64().is_some_and(|t| t - t0 < 60_000))
        .collect();
    let name = |i: &Value| i["container_name"].as_str().unwrap_or_default().to_string();
    let capped: std::collections::BTreeSet<String> = items
        .iter()
        .filter(|i| {
            i["reason"]
                .as_str()
                .is_some_and(|r| r.contains("fleet-wide cap"))
        })
        .map(name)
        .collect();
    let acted_names: std::collections::BTreeSet<String> = acted.iter().map(|i| name(i)).collect();
    // Every container the policy wanted to restart in the window and did not was told why.
    let wanted: std::collections::BTreeSet<String> = items
        .iter()
        .filter(|i| {
            i["outcome"] != "blocked"
                || i["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("fleet-wide cap"))
        })
        .filter(|i| i["decided_ms"].as_i64().is_some_and(|t| t - t0 < 60_000))
        .map(name)
        .collect();
    let untold: Vec<&String> = wanted
        .iter()
        .filter(|n| !acted_names.contains(*n) && !capped.contains(*n))
        .collect();
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for i in &items {
        let r = i["reason"].as_str().unwrap_or_default();
        *reasons.entry(r.chars().take(60).collect()).or_default() += 1;
    }
    eprintln!(
        "restart storm of {}: {} restarts in the first minute, {} containers held back by the fleet cap; reasons {reasons:#?}",
        fleet.len(),
        acted.len(),
        capped.len()
    );
    assert_eq!(acted.len(), 3, "the fleet cap holds: {acted:#?}");
    assert!(
        untold.is_empty(),
        "held back without being told why: {untold:?}"
    );
    assert!(
        capped.len() >= 10,
        "the storm reached most of the fleet, and the cap held the rest back ({capped:?})"
    );
    running.stop().await;
}
