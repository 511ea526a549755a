//! Drills: the store stalls or fails under DockerPulse in enforce mode, mid-incident.
//! - Stalled database: another process holds an exclusive lock on the SQLite file for 15 s.
//!   Viewers keep receiving a frame per second, no action is taken without its committed record,
//!   and every record is there once the lock is released.
//! - Full disk: the data directory is a small tmpfs that fills up. No panic, `/api/health` and
//!   the frames say the store is failing, no unrecorded action, and it recovers when space is
//!   freed.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Acts often (short cooldown and backoff, no breaker), so decisions fall inside the outage.
const EAGER: &str = "[brain]\nwarmup_samples = 5\n[brain.anomaly]\nwarmup_samples = 5\n\
                     [heal]\nmode = \"enforce\"\nstreak = 2\ncooldown = \"3s\"\n\
                     backoff_initial = \"1s\"\nbackoff_max = \"2s\"\nmax_per_hour = 1000\n\
                     breaker_failures = 1000\nverify_within = \"2s\"\n";

fn now_ms() -> i64 {
    dockerpulse::clock::now_ms()
}

/// Every restart the engine did has a record decided before it (matched one to one, in order).
fn assert_every_restart_was_recorded_first(restarts: &[i64], items: &[Value]) {
    let mut decided: Vec<i64> = items
        .iter()
        .filter(|i| i["action"] == "restart")
        // `pending`: the engine was asked and has not answered yet.
        .filter(|i| {
            ["succeeded", "failed", "pending"].contains(&i["outcome"].as_str().unwrap_or(""))
        })
        .filter_map(|i| i["decided_ms"].as_i64())
        .collect();
    decided.sort_unstable();
    assert!(
        decided.len() >= restarts.len(),
        "{} engine restarts but {} recorded: {restarts:?} vs {decided:?}",
        restarts.len(),
        decided.len()
    );
    for (k, e) in restarts.iter().enumerate() {
        assert!(
            decided[k] <= *e + 1000,
            "restart at {e} has no record decided before it ({decided:?})"
        );
    }
}

fn refused(items: &[Value]) -> Vec<&Value> {
    items
        .iter()
        .filter(|i| {
            i["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("refused: store unavailable"))
        })
        .collect()
}

/// Polls while `until` is in the future; returns whether `f` was ever true.
async fn seen_during<F, Fut>(until: Instant, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut seen = false;
    while Instant::now() < until {
        seen |= f().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    seen
}

async fn store_state(server: &Server) -> (String, String) {
    let Some((_, h)) = server.get("/api/health").await else {
        return (String::new(), String::new());
    };
    (
        h["store"]["state"].as_str().unwrap_or_default().to_string(),
        h["store"]["error"].as_str().unwrap_or_default().to_string(),
    )
}

async fn wait_for_incident(server: &Server, name: &str) {
    let open = eventually(Duration::from_secs(90), || async {
        let (_, page) = server
            .get(&format!("/api/incidents?container={name}&state=open"))
            .await?;
        page["items"].as_array()?.first().cloned()
    })
    .await;
    assert!(open.is_some(), "an incident opens for {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_database_freezes_no_viewer_and_no_action_goes_unrecorded() {
    if !engine_available("a_stalled_database_freezes_no_viewer_and_no_action_goes_unrecorded") {
        return;
    }
    let burner = TestContainer::run("stall", &["--cpus", "0.3"], &BURN);
    let watch = RestartWatch::start(&burner.name);
    let dir = temp_data_dir();
    let (config, addr) =
        Server::config(&dir, &format!("{EAGER}{}", opt_in(&burner.name, "restart")));
    let mut server = Server::spawn(&config, addr);
    server.ready().await;
    wait_for_incident(&server, &burner.name).await;
    let viewer = Viewer::connect(addr).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let lock_start = now_ms();
    let mut locker = lock_database(&dir.join("data").join("dockerpulse.db"), 15);
    let until = Instant::now() + Duration::from_secs(15);
    let (mut failing, mut said_refused) = (false, false);
    while Instant::now() < until {
        failing |= store_state(&server).await.0 == "failing";
        if let Some((_, c)) = server
            .get(&format!("/api/containers/{}", burner.name))
            .await
        {
            said_refused |= c["heal"]["last_decision"]
                .as_str()
                .is_some_and(|d| d.starts_with("refused"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = locker.wait();
    let lock_end = now_ms();
    tokio::time::sleep(Duration::from_secs(8)).await;

    let gap = viewer.longest_gap();
    let frames = viewer.messages().len();
    eprintln!("stalled database: {frames} messages, longest gap between frames {gap:?}");
    assert!(gap <= Duration::from_millis(1500), "a frame gap of {gap:?}");
    assert!(
        failing,
        "/api/health said the store was failing during the lock"
    );
    assert!(
        said_refused,
        "the container's card said the action was refused"
    );
    assert!(server.alive(), "no panic");

    // Restarts first, records second: the server keeps acting while the test reads, and each
    // record is committed before its restart, so every restart seen has its record by then.
    let restarts = watch.restarts();
    let items = interventions_of(&server, &burner.name).await;
    assert_every_restart_was_recorded_first(&restarts, &items);
    // Nothing decided inside the lock (after the first commit deadline) was carried out.
    for i in &items {
        let decided = i["decided_ms"].as_i64().unwrap_or_default();
        if decided > lock_start + 500 && decided < lock_end - 3000 {
            assert_ne!(i["outcome"], "succeeded", "acted without a record: {i}");
        }
    }
    let refusals = refused(&items);
    assert!(
        !refusals.is_empty(),
        "the refusals were recorded once the lock was released"
    );
    assert_eq!(store_state(&server).await.0, "ok");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).expect("dir");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount a tmpfs at {}", dir.display());
        Self(dir.to_path_buf())
    }

    /// Writes a file until the file system is full; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 16 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-l"])
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_visible_state_without_unrecorded_actions_and_it_recovers() {
    if !engine_available(
        "a_full_disk_is_a_visible_state_without_unrecorded_actions_and_it_recovers",
    ) || !root_available(
        "a_full_disk_is_a_visible_state_without_unrecorded_actions_and_it_recovers",
    ) {
        return;
    }
    let dir = temp_data_dir();
    let name = format!("dp-test-fulldisk-{}", std::process::id());
    let watch = RestartWatch::start(&name);
    let (config, addr) = Server::config(&dir, &format!("{EAGER}{}", opt_in(&name, "restart")));
    // The store lives on a 4 MiB file system.
    let disk = Tmpfs::mount(&dir.join("data"), "4m");
    let mut server = Server::spawn(&config, addr);
    server.ready().await;
    let burner = TestContainer::run("fulldisk", &["--cpus", "0.3"], &BURN);
    assert_eq!(burner.name, name);
    wait_for_incident(&server, &burner.name).await;
    let viewer = Viewer::connect(addr).await;
    let filler = disk.fill();

    let failing = eventually(Duration::from_secs(90), || async {
        let (state, error) = store_state(&server).await;
        (state == "failing").then_some(error)
    })
    .await;
    let (error, took) = failing.expect("the store says it is failing");
    eprintln!("full disk noticed after {took:?}: {error}");
    assert!(error.contains("full"), "{error}");
    let frame_says = viewer.messages().iter().any(|(_, text)| {
        serde_json::from_str::<Value>(text).is_ok_and(|m| m["store"]["state"] == "failing")
    });
    assert!(frame_says, "the frames (and so the page's banner) say so");
    // Keep it full a while: decisions fall due and must be refused, not carried out.
    let full_until = Instant::now() + Duration::from_secs(15);
    let refused_on_card = seen_during(full_until, || async {
        server
            .get(&format!("/api/containers/{}", burner.name))
            .await
            .is_some_and(|(_, c)| {
                c["heal"]["last_decision"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("refused"))
            })
    })
    .await;
    assert!(server.alive(), "no panic on a full disk");
    assert!(
        refused_on_card,
        "actions were refused while the disk was full"
    );

    std::fs::remove_file(&filler).expect("free the space");
    let back = eventually(Duration::from_secs(60), || async {
        (store_state(&server).await.0 == "ok").then_some(())
    })
    .await;
    let (_, took) = back.expect("the store recovers once space is freed");
    eprintln!("recovered {took:?} after space was freed");
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Restarts first, records second: the server keeps acting while the test reads, and each
    // record is committed before its restart, so every restart seen has its record by then.
    let restarts = watch.restarts();
    let items = interventions_of(&server, &burner.name).await;
    assert_every_restart_was_recorded_first(&restarts, &items);
    assert!(
        !refused(&items).is_empty(),
        "the refusals are on the record now"
    );
    let (_, health) = server.get("/api/health").await.expect("health");
    assert_eq!(health["status"], "ok");
    drop(viewer);
    drop(server);
    drop(disk);
    let _ = std::fs::remove_dir_all(&dir);
}
