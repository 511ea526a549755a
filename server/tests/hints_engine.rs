//! Root-cause hints on the real engine, end to end: containers that fail in known ways, each
//! watched by an in-process DockerPulse, get the right top hint through the API; a container
//! that opted out of log reading gets hints without its log; and an incident's hints reach
//! its detail and its report.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// The newest diagnosis of a container, once there is one.
async fn diagnosis(running: &dockerpulse::serve::Running, name: &str) -> Option<Value> {
    let (_, page) = get_json(running, &format!("/api/hints?container={name}&limit=1")).await;
    page["items"].get(0).cloned()
}

async fn wait_diagnosis(
    running: &dockerpulse::serve::Running,
    name: &str,
    timeout: Duration,
) -> Value {
    eventually(timeout, || diagnosis(running, name))
        .await
        .map(|(d, _)| d)
        .unwrap_or_else(|| panic!("no hints for {name} within {timeout:?}"))
}

fn top(d: &Value) -> (String, String) {
    let h = &d["hints"][0];
    (
        h["kind"].as_str().unwrap_or_default().to_string(),
        h["sentence"].as_str().unwrap_or_default().to_string(),
    )
}

fn all_lines(d: &Value) -> Vec<String> {
    d["hints"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|h| h["lines"].as_array().cloned().unwrap_or_default())
        .filter_map(|l| l["text"].as_str().map(String::from))
        .collect()
}

/// `docker create` + `docker start` of a container whose start fails (the command does not
/// exist); removed when dropped.
struct Unstartable(String);

impl Unstartable {
    fn new() -> Self {
        let name = format!("dp-test-nocmd-{}", std::process::id());
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        let out = Command::new("docker")
            .args([
                "create",
                "--name",
                &name,
                "--label",
                LABEL,
                "--network",
                "none",
            ])
            .arg(test_image())
            .arg("no-such-command")
            .output()
            .expect("docker CLI runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let started = Command::new("docker")
            .args(["start", &name])
            .output()
            .expect("docker CLI runs");
        assert!(!started.status.success(), "the start must fail");
        Self(name)
    }
}

impl Drop for Unstartable {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

const TRACEBACK: &str = r#"sleep 3
echo 'starting worker' 
printf 'Traceback (most recent call last):\n  File "/app/db.py", line 12, in connect\n    sock.connect(("postgres", 5432))\nConnectionRefusedError: [Errno 111] Connection refused\n' >&2
exit 1"#;

const REFUSED: &str = r#"sleep 2
for i in 1 2 3 4 5; do
  echo "nc: connect to db port 5432 (tcp) failed: Connection refused" >&2
  sleep 1
done
exit 1"#;

/// Doubles a shell string until the kernel's OOM killer ends it.
const OOM: &str = r#"sleep 3; echo 'loading cache'; x=0123456789; while true; do x="$x$x"; done"#;

const STOPPABLE: &str =
    r#"trap 'echo "shutting down"; exit 143' TERM; echo ready; while true; do sleep 1; done"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_containers_get_the_right_top_hint() {
    if !engine_available("failing_containers_get_the_right_top_hint") {
        return;
    }
    let running = start_on_engine().await;
    let net = ["--network", "none"];
    let traceback = TestContainer::run("tb", &net, &["sh", "-c", TRACEBACK]);
    let refused = TestContainer::run("refused", &net, &["sh", "-c", REFUSED]);
    let oom = TestContainer::run(
        "oom",
        &[
            "--network",
            "none",
            "--memory",
            "32m",
            "--memory-swap",
            "32m",
        ],
        &["sh", "-c", OOM],
    );
    let stopped = TestContainer::run("stop", &net, &["sh", "-c", STOPPABLE]);
    let quiet = TestContainer::run(
        "quiet",
        &["--network", "none", "--label", "dockerpulse.logs=off"],
        &["sh", "-c", "sleep 2; echo 'secret token 1234' >&2; exit 3"],
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    stopped.docker("stop");
    let nocmd = Unstartable::new();

    let cases = [
        (
            traceback.name.as_str(),
            "exception",
            vec!["Python raised `ConnectionRefusedError` connecting to postgres:5432"],
        ),
        (
            refused.name.as_str(),
            "connection_refused",
            vec!["db:5432", "5 times"],
        ),
        (
            oom.name.as_str(),
            "oom_killed",
            vec!["OOM killer", "exit 137"],
        ),
        (
            stopped.name.as_str(),
            "stopped",
            vec!["not a failure", "exit 143"],
        ),
        (
            nocmd.0.as_str(),
            "command_not_found",
            vec!["`no-such-command`", "exit 127"],
        ),
    ];
    let mut right = 0;
    let mut wrong = Vec::new();
    for (name, kind, says) in &cases {
        let d = wait_diagnosis(&running, name, Duration::from_secs(60)).await;
        let (k, sentence) = top(&d);
        eprintln!("{name}: top hint {k}: {sentence}");
        if k == *kind && says.iter().all(|w| sentence.contains(w)) {
            right += 1;
        } else {
            wrong.push(format!("{name}: want {kind} {says:?}, got {d:#}"));
        }
    }
    eprintln!(
        "top-1 accuracy on the real engine: {right}/{} failure cases",
        cases.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));

    // The traceback's lines are quoted with their stream and time.
    let d = wait_diagnosis(&running, &traceback.name, Duration::from_secs(5)).await;
    let line = &d["hints"][0]["lines"]
        .as_array()
        .and_then(|ls| {
            ls.iter()
                .find(|l| l["text"] == "ConnectionRefusedError: [Errno 111] Connection refused")
        })
        .cloned()
        .expect("the exception line is quoted");
    assert_eq!(line["stream"], "stderr");
    assert!(line["ts_ms"].as_i64().is_some_and(|t| t > 0));
    assert!(d["logs"]["lines"].as_u64().is_some_and(|n| n >= 5), "{d}");

    // Opted out: hints from the exit, none of its log.
    let q = wait_diagnosis(&running, &quiet.name, Duration::from_secs(30)).await;
    assert_eq!(q["logs"]["skipped"], "opted out (dockerpulse.logs=off)");
    assert_eq!(top(&q).0, "exit_code");
    assert!(!q.to_string().contains("secret token"), "{q}");
    assert!(all_lines(&q).is_empty());

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incidents_hints_reach_its_detail_and_report() {
    if !engine_available("an_incidents_hints_reach_its_detail_and_report") {
        return;
    }
    let running = start_on_engine().await;
    let c = TestContainer::run(
        "incident",
        &["--network", "none"],
        &[
            "sh",
            "-c",
            "sleep 3; echo 'FATAL: could not open /data/db.lock' >&2; exit 2",
        ],
    );
    // The death opens an incident; its hints are stored with it.
    let found = eventually(Duration::from_secs(60), || async {
        let (_, list) = get_json(&running, &format!("/api/incidents?container={}", c.name)).await;
        let id = list["items"][0]["id"].as_str()?.to_string();
        let (_, detail) = get_json(&running, &format!("/api/incidents/{id}")).await;
        detail["diagnoses"].get(0)?;
        Some((id, detail))
    })
    .await;
    let ((id, detail), _) = found.expect("an incident with hints");
    let d = &detail["diagnoses"][0];
    assert_eq!(d["incident_id"], id.as_str());
    assert!(
        d["trigger"]
            .as_str()
            .is_some_and(|t| t.starts_with("an incident opened")),
        "{d}"
    );
    assert_eq!(d["hints"][0]["kind"], "fatal", "{d}");

    let (_, facts) = get_json(&running, &format!("/api/incidents/{id}/report.json")).await;
    assert_eq!(facts["diagnoses"][0]["hints"][0]["kind"], "fatal");
    let (status, html) = get_json(&running, &format!("/api/incidents/{id}/report.html")).await;
    assert!(status.is_success());
    let html = html.as_str().unwrap_or_default();
    assert!(html.contains("Probable cause"));
    assert!(
        html.contains("FATAL: could not open /data/db.lock"),
        "the line is quoted"
    );
    running.stop().await;
}
