//! Drill: container churn. 200 containers are created and removed per minute for
//! `DRILL_CHURN_S` seconds (120; `scripts/drill.sh churn` runs 10 minutes) while DockerPulse
//! watches. Its memory ends within 10 % of where it started, and none of its per-container state
//! is left behind for the containers that are gone.
//!
//! "Where it started" is measured after half a minute of the same churn: the first containers
//! that come and go page in code that had not run yet (a debug binary's text is most of its
//! resident memory) and size the allocator's arenas; a leak shows as growth after that.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// Long enough for the last removals to be seen (within a tick or two) and for freed memory to
/// go back to the system once they have stopped (5 s later), with room to spare.
const SETTLE_S: u64 = 20;

fn running_containers() -> usize {
    let out = std::process::Command::new("docker")
        .args(["ps", "-q"])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_leaves_no_state_behind_and_memory_flat() {
    if !engine_available("churn_leaves_no_state_behind_and_memory_flat") {
        return;
    }
    let secs: u64 = std::env::var("DRILL_CHURN_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let keep: Vec<TestContainer> = (0..3)
        .map(|i| TestContainer::run(&format!("churn-keep{i}"), &[], &["sleep", "3600"]))
        .collect();
    let dir = temp_data_dir();
    let (config, addr) = Server::config(&dir, "");
    let server = Server::spawn(&config, addr);
    server.ready().await;
    let prefix = format!("dp-churn-{}", std::process::id());
    churn(&format!("{prefix}-warm"), 30).await;
    // Settle: the server returns freed memory to the system once departures have stopped for
    // 5 s (`pipeline/release.rs`).
    tokio::time::sleep(Duration::from_secs(SETTLE_S)).await;
    let (rss_before, anon_before) = (server.rss_kib(), server.rss_anon_kib());

    let created = churn(&prefix, secs).await;
    let n = secs * 1000 / 300;
    eprintln!("churn: {created} of {n} containers started over {secs} s");
    assert!(
        created as f64 >= secs as f64 * 3.0 * 0.9,
        "about 200 per minute"
    );

    // Settle: every removal seen and freed memory returned, then compare.
    tokio::time::sleep(Duration::from_secs(SETTLE_S)).await;
    let (rss_after, anon_after) = (server.rss_kib(), server.rss_anon_kib());
    let (_, health) = server.get("/api/health").await.expect("health");
    let (_, list) = server.get("/api/containers").await.expect("containers");
    let names: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["info"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let b = &health["bookkeeping"];
    eprintln!(
        "churn: RSS {rss_before} KiB before, {rss_after} KiB after ({:+.1} %); anonymous (heap) {anon_before} → {anon_after} KiB; bookkeeping {b}",
        (rss_after as f64 / rss_before as f64 - 1.0) * 100.0
    );
    assert!(
        names.iter().all(|n| !n.starts_with(&prefix)),
        "removed containers left the fleet: {names:?}"
    );
    let live = b["live"].as_u64().unwrap_or(u64::MAX);
    // Other tests may start or stop a container of their own meanwhile: the two counts must
    // meet, read at the same moment, not at the first try.
    let met = eventually(Duration::from_secs(15), || async {
        let (_, h) = server.get("/api/health").await?;
        let live = h["bookkeeping"]["live"].as_u64()? as usize;
        (live == running_containers()).then_some(())
    })
    .await;
    assert!(
        met.is_some(),
        "the live fleet never matched the engine's running containers: {b}"
    );
    for key in [
        "brains",
        "pending_events",
        "died",
        "last_decisions",
        "awaiting",
        "incident_windows",
    ] {
        assert!(
            b[key].as_u64().unwrap_or(u64::MAX) <= live,
            "{key} outlived its containers: {b}"
        );
    }
    assert_eq!(b["brains"], b["live"], "{b}");
    assert!(b["guards"].as_u64().unwrap_or(u64::MAX) <= live, "{b}");
    // Held guards belong to opted-in containers that acted (other drills share the engine);
    // the churned containers never opted in, so they leave none.
    assert!(b["guards_held"].as_u64().unwrap_or(u64::MAX) <= 3, "{b}");
    assert!(b["tracker"].as_u64().unwrap_or(u64::MAX) <= 3 * live, "{b}");
    assert!(
        rss_after as f64 <= rss_before as f64 * 1.10,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    drop(keep);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One container every 300 ms (200 per minute) for `secs`, each removed 10 s after it started;
/// returns how many started.
async fn churn(prefix: &str, secs: u64) -> usize {
    let image = test_image();
    let started = Instant::now();
    let created = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        tick.tick().await;
        n += 1;
        let name = format!("{prefix}-{n}");
        let image = image.clone();
        let created = created.clone();
        tasks.push(tokio::spawn(async move {
            let run = tokio::process::Command::new("docker")
                .args([
                    "run", "-d", "--label", LABEL, "--name", &name, &image, "sleep", "600",
                ])
                .output()
                .await;
            tokio::time::sleep(Duration::from_secs(10)).await;
            let _ = tokio::process::Command::new("docker")
                .args(["rm", "-f", &name])
                .output()
                .await;
            if run.is_ok_and(|o| o.status.success()) {
                created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
        tasks.retain(|t| !t.is_finished());
    }
    for t in tasks {
        let _ = t.await;
    }
    created.load(std::sync::atomic::Ordering::Relaxed)
}
