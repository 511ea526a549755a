//! Drill: the healer crash-loops. DockerPulse, in enforce mode, watches an opted-in container
//! that stays CRITICAL (a CPU burner pinned at its quota) and is killed with SIGKILL and started
//! again every `DRILL_PERIOD_S` seconds (45) for `DRILL_ROUNDS` rounds (5; `scripts/drill.sh
//! crash-loop` runs 8 minutes). Restarts, counted from the engine's own events, never exceed
//! what the policy allows in one uninterrupted run; nothing recorded before a kill is missing
//! after it; no action is left `pending`. The same drill runs on the demo fleet.

use crate::common::*;
use dockerpulse::heal::policy::{HealConfig, Policy, Situation, Subject, Verdict};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const CONFIG: &str = "[brain]\nwarmup_samples = 5\n[brain.anomaly]\nwarmup_samples = 5\n\
                      [heal]\nmode = \"enforce\"\nstreak = 2\n";

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The restarts the policy allows in one uninterrupted run of `secs` seconds for a container
/// that stays hot and relapses after every restart: the upper bound of the drill.
fn allowed_restarts(cfg: &HealConfig, secs: i64) -> (usize, Vec<i64>) {
    let mut p = Policy::new(cfg.clone());
    let labels = BTreeMap::from([("dockerpulse.heal".to_string(), "restart".to_string())]);
    let s = Subject {
        id: "c",
        name: "c",
        labels: &labels,
        running: true,
        is_self: false,
        started_at_ms: None,
        start_period_ms: 0,
        service: None,
    };
    let mut times = Vec::new();
    for t in 0..secs {
        let now = Situation {
            ts_ms: t * 1000,
            failure_probability: 99.0,
            level: app::wire::RiskLevel::Critical,
            warming_up: false,
        };
        if let Verdict::Act { mode, .. } = p.decide(&s, &now) {
            p.outcome("c", mode, true, t * 1000);
            times.push(t * 1000);
        }
    }
    (times.len(), times)
}

fn drill_config() -> HealConfig {
    HealConfig {
        mode: app::wire::HealMode::Enforce,
        streak: 2,
        ..HealConfig::default()
    }
}

/// Asserts the gaps between restarts respect the cooldown and the doubling backoff.
fn assert_spacing(times: &[i64], cfg: &HealConfig, what: &str) {
    let cooldown = cfg.cooldown.as_millis() as i64;
    for (k, w) in times.windows(2).enumerate() {
        let backoff = (cfg.backoff_initial.as_millis() as i64) << k.min(20);
        let need = cooldown.max(backoff.min(cfg.backoff_max.as_millis() as i64));
        // One second of slack: the engine's event time and the decision's tick differ.
        assert!(
            w[1] - w[0] >= need - 1000,
            "{what}: restarts {}s apart, the policy needs {}s: {times:?}",
            (w[1] - w[0]) / 1000,
            need / 1000
        );
    }
}

/// What the API shows of a container's records: id → outcome.
fn outcomes(items: &[Value]) -> HashMap<i64, String> {
    items
        .iter()
        .filter_map(|i| Some((i["id"].as_i64()?, i["outcome"].as_str()?.to_string())))
        .collect()
}

/// Kills and restarts the server every `period` for `rounds`; checks that nothing recorded
/// before a kill is missing after it. Returns the records at the end.
async fn crash_loop(
    config: &std::path::Path,
    addr: std::net::SocketAddr,
    name: &str,
) -> Vec<Value> {
    let rounds = env_or("DRILL_ROUNDS", 5);
    let period = Duration::from_secs(env_or("DRILL_PERIOD_S", 45));
    let mut server = Server::spawn(config, addr);
    for round in 1..=rounds {
        server.ready().await;
        let started = Instant::now();
        tokio::time::sleep(period.saturating_sub(started.elapsed())).await;
        let before = outcomes(&interventions_of(&server, name).await);
        server.kill9();
        server = Server::spawn(config, addr);
        server.ready().await;
        let after = outcomes(&interventions_of(&server, name).await);
        for (id, outcome) in &before {
            let now = after.get(id);
            assert!(
                now.is_some(),
                "round {round}: record {id} ({outcome}) lost in the kill"
            );
            if outcome != "pending" {
                assert_eq!(now, Some(outcome), "round {round}: record {id} changed");
            }
        }
        eprintln!(
            "round {round}/{rounds}: {} record(s), {} performed so far",
            after.len(),
            after.values().filter(|o| *o == "succeeded").count()
        );
    }
    // Pending actions of the last kill are reconciled at start.
    let settled = eventually(Duration::from_secs(30), || async {
        let items = interventions_of(&server, name).await;
        items
            .iter()
            .all(|i| i["outcome"] != "pending")
            .then_some(items)
    })
    .await;
    let (items, _) = settled.expect("no action is left pending");
    drop(server);
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_healer_never_restarts_more_than_one_uninterrupted_run() {
    if !engine_available("a_crash_looping_healer_never_restarts_more_than_one_uninterrupted_run") {
        return;
    }
    let since = chrono::Utc::now().timestamp();
    let burner = TestContainer::run("crashloop", &["--cpus", "0.3"], &BURN);
    let watch = RestartWatch::start(&burner.name);
    let dir = temp_data_dir();
    let (config, addr) = Server::config(
        &dir,
        &format!("{CONFIG}{}", opt_in(&burner.name, "restart")),
    );
    let begun = Instant::now();
    let items = crash_loop(&config, addr, &burner.name).await;
    let secs = begun.elapsed().as_secs() as i64 + 1;

    let restarts = watch.restarts();
    let cfg = drill_config();
    let (allowed, schedule) = allowed_restarts(&cfg, secs);
    eprintln!(
        "crash loop, {secs} s, {} kills: {} restart(s) by the engine's events, at {:?} s; one uninterrupted run allows {allowed} (at {:?} s: cooldown, backoff, then the breaker after {} relapses; the hourly cap is {})",
        env_or("DRILL_ROUNDS", 5),
        restarts.len(),
        restarts.iter().map(|t| (t - since * 1000) / 1000).collect::<Vec<_>>(),
        schedule.iter().map(|t| t / 1000).collect::<Vec<_>>(),
        cfg.breaker_failures,
        cfg.max_per_hour
    );
    assert!(
        !restarts.is_empty(),
        "the drill restarted the container at least once"
    );
    assert!(
        restarts.len() <= allowed,
        "{} restarts, the policy allows {allowed}",
        restarts.len()
    );
    assert_spacing(&restarts, &cfg, "engine events");
    // Every restart the engine saw has its record, committed before it.
    let performed: Vec<i64> = items
        .iter()
        .filter(|i| i["action"] == "restart" && i["outcome"] == "succeeded")
        .filter_map(|i| i["decided_ms"].as_i64())
        .collect();
    assert!(
        performed.len() >= restarts.len(),
        "every restart recorded: {performed:?} vs {restarts:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_healer_on_the_demo_fleet_stays_within_the_policy() {
    let dir = temp_data_dir();
    let (config, addr) = Server::config(&dir, &format!("demo = true\n{CONFIG}"));
    let begun = Instant::now();
    crash_loop(&config, addr, "").await;
    let secs = begun.elapsed().as_secs() as i64 + 1;
    let server = Server::spawn(&config, addr);
    server.ready().await;
    let items = interventions_of(&server, "").await;
    let cfg = drill_config();
    let (allowed, _) = allowed_restarts(&cfg, secs);
    let mut by_container: HashMap<String, Vec<i64>> = HashMap::new();
    for i in items {
        assert_ne!(i["outcome"], "pending", "{i}");
        if i["action"] == "restart" && i["outcome"] == "succeeded" {
            by_container
                .entry(i["container_name"].as_str().unwrap_or_default().into())
                .or_default()
                .push(i["decided_ms"].as_i64().unwrap_or_default());
        }
    }
    eprintln!("demo crash loop, {secs} s: restarts per container {by_container:?} (allowed {allowed} each)");
    assert!(!by_container.is_empty(), "the staged incidents were healed");
    for (name, mut times) in by_container {
        times.sort_unstable();
        assert!(
            times.len() <= allowed,
            "{name}: {} > {allowed}",
            times.len()
        );
        assert_spacing(&times, &cfg, &name);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
