//! Collection against a real Docker engine: CPU and memory read like the docker CLI, and the
//! fleet follows the engine's events within a second or two.

mod common;

use common::*;
use dockerpulse::serve::Running;
use std::time::Duration;

/// CPU % samples of a container from the live store, newest last.
fn cpu_samples(running: &Running, name: &str) -> Vec<f64> {
    let live = running.state.live.read();
    live.find(name)
        .map(|c| c.history.iter().map(|p| p.sample.cpu_pct).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burner_idle_and_limited_containers_read_like_the_cli() {
    if !engine_available("burner_idle_and_limited_containers_read_like_the_cli") {
        return;
    }
    let burner = TestContainer::run("burner", &[], &["sh", "-c", "yes > /dev/null"]);
    let idle = TestContainer::run("idle", &[], &["sleep", "3600"]);
    let limited = TestContainer::run("limited", &["--memory", "64m"], &["sleep", "3600"]);
    let running = start_on_engine().await;

    let enough = eventually(Duration::from_secs(20), || async {
        let n = [&burner, &idle]
            .iter()
            .map(|c| cpu_samples(&running, &c.name).len())
            .min()
            .unwrap_or(0);
        (n >= 6).then_some(())
    })
    .await;
    assert!(
        enough.is_some(),
        "six samples of each container within 20 s"
    );

    let last = |name: &str| {
        let v = cpu_samples(&running, name);
        v[v.len().saturating_sub(5)..].to_vec()
    };
    // A burner that has just started (or shares a busy machine) needs a few seconds to reach
    // a full core: judge the median of five consecutive samples once it is running.
    let settled = eventually(Duration::from_secs(30), || async {
        let b = median(last(&burner.name));
        (90.0..=110.0).contains(&b).then_some(b)
    })
    .await;
    assert!(
        settled.is_some(),
        "burner reads one full core: {:?}",
        last(&burner.name)
    );
    let idle_cpu = median(last(&idle.name));
    assert!(
        idle_cpu < 5.0,
        "idle container under 5 %: {:?}",
        last(&idle.name)
    );

    let (status, body) = get_json(&running, &format!("/api/containers/{}", limited.name)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["info"]["mem_limited"], true);
    assert_eq!(
        body["sample"]["mem_limit_bytes"],
        64 * 1024 * 1024,
        "{body}"
    );
    assert_eq!(body["simulated"], false);
    assert!(body["sample"]["ts_ms"]
        .as_i64()
        .is_some_and(|t| t > 1_700_000_000_000));

    let (_, health) = get_json(&running, "/api/health").await;
    assert_eq!(health["engine"]["state"], "connected", "{health}");
    assert!(health["host"]["cpus"].as_u64().is_some_and(|n| n >= 1));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_appear_and_disappear_within_two_seconds() {
    if !engine_available("containers_appear_and_disappear_within_two_seconds") {
        return;
    }
    let running = start_on_engine().await;
    // Let the first session settle so the timing below measures events, not start-up.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let late = TestContainer::run("late", &[], &["sleep", "3600"]);
    let appeared = eventually(Duration::from_secs(5), || async {
        running
            .state
            .live
            .read()
            .find(&late.name)
            .is_ok()
            .then_some(())
    })
    .await;
    let (_, took) = appeared.expect("a new container appears");
    assert!(took <= Duration::from_secs(2), "appeared after {took:?}");

    let id = late.id.clone();
    drop(late); // docker rm -f
    let gone = eventually(Duration::from_secs(5), || async {
        running.state.live.read().find(&id).is_err().then_some(())
    })
    .await;
    let (_, took) = gone.expect("a removed container disappears");
    assert!(took <= Duration::from_secs(2), "disappeared after {took:?}");

    let events: Vec<String> = {
        let c = TestContainer::run("events", &[], &["sleep", "3600"]);
        eventually(Duration::from_secs(5), || async {
            running
                .state
                .live
                .read()
                .find(&c.name)
                .is_ok()
                .then_some(())
        })
        .await
        .expect("tracked");
        c.docker("restart");
        let seen = eventually(Duration::from_secs(10), || async {
            let live = running.state.live.read();
            let c = live.find(&c.name).ok()?;
            let ev: Vec<String> = c.events.iter().map(|e| e.kind.label()).collect();
            ev.iter().any(|e| e == "restart").then_some(ev)
        })
        .await;
        seen.map(|(e, _)| e).unwrap_or_default()
    };
    assert!(
        events.iter().any(|e| e == "restart"),
        "restart event recorded: {events:?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_stats_api_reads_like_the_cli_too() {
    // What DockerPulse uses for remote engines, whose cgroup files are out of reach.
    if !engine_available("the_engine_stats_api_reads_like_the_cli_too") {
        return;
    }
    let burner = TestContainer::run(
        "api-burner",
        &["--memory", "32m"],
        &["sh", "-c", "yes > /dev/null"],
    );
    let running = dockerpulse::serve::start(dockerpulse::config::Config {
        stats: dockerpulse::config::StatsMode::Engine,
        ..test_config()
    })
    .await
    .expect("starts");
    let settled = eventually(Duration::from_secs(40), || async {
        let v = cpu_samples(&running, &burner.name);
        let last = v[v.len().saturating_sub(5)..].to_vec();
        (last.len() == 5 && (90.0..=110.0).contains(&median(last))).then_some(())
    })
    .await;
    assert!(
        settled.is_some(),
        "burner reads one full core: {:?}",
        cpu_samples(&running, &burner.name)
    );
    let (_, c) = get_json(&running, &format!("/api/containers/{}", burner.name)).await;
    assert_eq!(c["sample"]["mem_limit_bytes"], 32 * 1024 * 1024, "{c}");
    let (_, h) = get_json(&running, "/api/health").await;
    assert_eq!(h["engine"]["stats_via"], "engine", "{h}");
    running.stop().await;
}
