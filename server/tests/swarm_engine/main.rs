//! Healing Docker Swarm tasks on the real engine (a one-node swarm the test initialises, and
//! leaves again if it did): a task's restart goes through Swarm (its container is removed and
//! the service schedules a replacement, so the service keeps its replica count and the old task
//! shows as shut down by the orchestrator); pause and the like are refused for tasks; and no
//! more than the configured share of a service's tasks is acted on at once. And a service-wide
//! restart asked at the hub (`POST /api/services/{service}/restart`) is a `service update
//! --force`: every task replaced by Swarm, only for a service that opted in, recorded.
//!
//! Tests here take [`SWARM_LOCK`] first ([`swarm_turn`]): one leaving the swarm must not pull it from under
//! another.
//!
//! This file holds what both share: the `docker` CLI, the swarm lock, the swarm itself and
//! services removed when dropped. Task healing is in `tasks.rs`, service-wide restarts in
//! `services.rs`.

#[path = "../common/mod.rs"]
mod common;

mod services;
mod tasks;

use std::process::Command;

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

/// The swarm to this test (`name` for the skip message) until the guard drops; `None` when no
/// engine is reachable (the test then skips, as every engine test does).
async fn swarm_turn(name: &str) -> Option<tokio::sync::MutexGuard<'static, ()>> {
    if !common::engine_available(name) {
        return None;
    }
    Some(SWARM_LOCK.lock().await)
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
