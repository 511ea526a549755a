//! `kill -9` of DockerPulse in the middle of an incident, then a restart: the incident, its
//! interventions and the counters are all still there. Runs the real binary against the real
//! engine.

mod common;

use common::*;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The DockerPulse process; killed when dropped, so a failing test leaves nothing running.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(config: &std::path::Path) -> Proc {
    Command::new(env!("CARGO_BIN_EXE_dockerpulse"))
        .args(["--config", &config.to_string_lossy(), "serve"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(config.with_extension("log"))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        )
        .spawn()
        .map(Proc)
        .expect("dockerpulse starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_incident_loses_nothing() {
    if !engine_available("kill_9_mid_incident_loses_nothing") {
        return;
    }
    let burner = TestContainer::run(
        "kill9",
        &["--cpus", "0.3", "--label", "dockerpulse.heal=restart"],
        &BURN,
    );
    let dir = temp_data_dir();
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let config = dir.join("dockerpulse.toml");
    std::fs::write(
        &config,
        format!(
            "bind = \"{addr}\"\ndata_dir = \"{}\"\nreports_dir = \"{}\"\nsite_root = \"/nonexistent\"\ndemo_when_no_engine = false\n\
             [brain]\nwarmup_samples = 5\n[brain.anomaly]\nwarmup_samples = 5\n\
             [heal]\nstreak = 2\ncooldown = \"2s\"\n",
            dir.join("data").display(),
            dir.join("reports").display()
        ),
    )
    .expect("config");

    let mut first = spawn(&config);
    let seen = eventually(Duration::from_secs(60), || async {
        let (_, page) = http_get(
            addr,
            &format!("/api/incidents?container={}&state=open", burner.name),
        )
        .await?;
        let inc = page["items"].as_array()?.first()?.clone();
        (inc["interventions"].as_u64()? >= 2).then_some(inc)
    })
    .await;
    let (incident, _) = seen.expect("an open incident with interventions");
    let id = incident["id"].as_str().expect("id").to_string();
    let (_, before) = http_get(addr, &format!("/api/incidents/{id}"))
        .await
        .expect("detail");

    // SIGKILL: no chance to flush or say goodbye.
    first.0.kill().expect("kill -9");
    let _ = first.0.wait();

    let second = spawn(&config);
    let after = eventually(Duration::from_secs(20), || async {
        http_get(addr, &format!("/api/incidents/{id}"))
            .await
            .filter(|(s, _)| *s == 200)
    })
    .await;
    let ((_, after), _) = after.expect("the restarted DockerPulse serves the incident");
    assert_eq!(after["incident"]["state"], "open", "still open: {after}");
    assert_eq!(
        after["incident"]["opened_ms"],
        before["incident"]["opened_ms"]
    );
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["interventions"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["id"].as_i64()).collect())
            .unwrap_or_default()
    };
    let (b, a) = (ids(&before), ids(&after));
    assert!(
        !b.is_empty() && b.iter().all(|i| a.contains(i)),
        "every intervention survived: {b:?} vs {a:?}"
    );
    assert!(
        after["samples"].as_array().map_or(0, Vec::len)
            >= before["samples"].as_array().map_or(0, Vec::len)
    );

    // Counters come back from the store, not from scratch: at least the interventions (not
    // the decisions not to act) recorded before the kill.
    let performed = before["interventions"].as_array().map_or(0, |a| {
        a.iter().filter(|i| i["outcome"] != "blocked").count()
    }) as u64;
    assert!(performed >= 1);
    let counted = eventually(Duration::from_secs(10), || async {
        let (_, c) = http_get(addr, &format!("/api/containers/{}", burner.name)).await?;
        let n = c["heal"]["interventions"].as_u64()?;
        (n >= performed).then_some(n)
    })
    .await;
    assert!(counted.is_some(), "interventions counter restored");
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
