//! The real Docker engine: whether it (and root) is there or the test skips loudly, labelled
//! test containers removed when dropped, `docker inspect`, a command that burns a core, and the
//! engine's restart events for a container.

use std::process::Command;
use std::time::Duration;

pub const LABEL: &str = "dockerpulse.test";

/// The image of every test container (built by scripts/test.sh from busybox-static).
pub fn test_image() -> String {
    std::env::var("DOCKERPULSE_TEST_IMAGE")
        .unwrap_or_else(|_| "dockerpulse-test/busybox:latest".into())
}

/// True when a Docker engine answers and the test image exists. Otherwise prints a loud skip
/// notice, or panics when DOCKERPULSE_REQUIRE_ENGINE=1 (CI).
pub fn engine_available(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["image", "inspect", &test_image()])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    let msg = format!(
        "\n\n*** SKIPPED {test}: no Docker engine or no image {} (run scripts/test.sh) ***\n",
        test_image()
    );
    if std::env::var("DOCKERPULSE_REQUIRE_ENGINE").is_ok_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    false
}

/// A container removed (forcefully) when dropped.
pub struct TestContainer {
    pub name: String,
    pub id: String,
}

impl TestContainer {
    /// `docker run -d` with the test label; `args` go before the image, `cmd` after it.
    pub fn run(name_hint: &str, args: &[&str], cmd: &[&str]) -> Self {
        let name = format!("dp-test-{name_hint}-{}", std::process::id());
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        let image = test_image();
        let mut all = vec!["run", "-d", "--name", &name, "--label", LABEL];
        all.extend_from_slice(args);
        all.push(&image);
        all.extend_from_slice(cmd);
        let out = Command::new("docker")
            .args(&all)
            .output()
            .expect("docker CLI runs");
        assert!(
            out.status.success(),
            "docker run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Self { name, id }
    }

    pub fn docker(&self, verb: &str) {
        let out = Command::new("docker")
            .args([verb, &self.name])
            .output()
            .expect("docker CLI runs");
        assert!(
            out.status.success(),
            "docker {verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

/// `docker inspect -f FORMAT name`.
pub fn inspect(name: &str, format: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "-f", format, name])
        .output()
        .expect("docker CLI runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A shell command that burns one core and exits promptly on SIGTERM (so restarts are quick).
pub const BURN: [&str; 3] = ["sh", "-c", "trap 'exit 0' TERM; yes > /dev/null & wait"];

/// The engine's own `restart` events for one container, watched live from creation to drop.
///
/// Asking `docker events --since` afterwards is not enough: the engine keeps only its last 256
/// events, and a drill sharing the engine with a churn of hundreds of containers loses them.
pub struct RestartWatch {
    child: std::process::Child,
    times: std::sync::Arc<std::sync::Mutex<Vec<i64>>>,
}

impl RestartWatch {
    pub fn start(container: &str) -> Self {
        let mut child = Command::new("docker")
            .args([
                "events",
                "--filter",
                &format!("container={container}"),
                "--filter",
                "event=restart",
                "--format",
                "{{.TimeNano}}",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker events");
        let out = child.stdout.take().expect("piped stdout");
        let times = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = times.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Ok(ns) = line.trim().parse::<i64>() {
                    sink.lock().expect("restart times").push(ns / 1_000_000);
                }
            }
        });
        // `docker events` subscribes asynchronously; give it a moment before anything can happen.
        std::thread::sleep(Duration::from_millis(300));
        Self { child, times }
    }

    /// Times (ms) of the restarts seen so far, after a short wait for events in flight.
    pub fn restarts(&self) -> Vec<i64> {
        std::thread::sleep(Duration::from_millis(500));
        self.times.lock().expect("restart times").clone()
    }
}

impl Drop for RestartWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the tests run as root (mounting a tmpfs, a private dockerd).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Skips loudly (or fails under DOCKERPULSE_REQUIRE_ENGINE=1) when the test needs root.
pub fn root_available(test: &str) -> bool {
    if is_root() {
        return true;
    }
    let msg = format!("\n\n*** SKIPPED {test}: needs root ***\n");
    if std::env::var("DOCKERPULSE_REQUIRE_ENGINE").is_ok_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    false
}
