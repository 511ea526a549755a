//! Helpers shared by the integration tests: a real Docker engine (or a loud skip), labelled
//! test containers that clean up after themselves, an in-process DockerPulse, and polling.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dockerpulse::config::Config;
use dockerpulse::heal::executor::{DockerExecutor, Executor};
use dockerpulse::serve::{start, Running};
use http_body_util::BodyExt;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tower::ServiceExt;

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

/// A fresh, empty data directory for one DockerPulse instance.
pub fn temp_data_dir() -> std::path::PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dp-test-data-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Configuration for an in-process DockerPulse on a free loopback port, with its own store.
pub fn test_config() -> Config {
    let data_dir = temp_data_dir();
    Config {
        bind: "127.0.0.1:0".into(),
        demo_when_no_engine: false,
        site_root: std::env::temp_dir().join("dockerpulse-no-site"),
        reports_dir: data_dir.join("reports"),
        data_dir,
        admin_token: Some(ADMIN_TOKEN.into()),
        ..Config::default()
    }
}

/// An executor for sources nothing should ever act on.
pub fn no_executor() -> Executor {
    Executor::Docker(DockerExecutor::new("unix:///nonexistent.sock".into()))
}

pub async fn start_on_engine() -> Running {
    start(test_config()).await.expect("DockerPulse starts")
}

pub async fn start_demo(interval: Duration) -> Running {
    start(Config {
        demo: true,
        interval,
        ..test_config()
    })
    .await
    .expect("DockerPulse starts")
}

/// GET through the real router (no network), returning status and parsed JSON.
pub async fn get_json(running: &Running, uri: &str) -> (StatusCode, serde_json::Value) {
    let app = dockerpulse::api::router(running.state.clone());
    let res = app
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("router answers");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
    });
    (status, json)
}

/// A request with an optional bearer token and JSON body, through the real router.
pub async fn call(
    running: &Running,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let app = dockerpulse::api::router(running.state.clone());
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let res = app.oneshot(req).await.expect("router answers");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
    });
    (status, json)
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut f: F) -> Option<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(v) = f().await {
            return Some((v, start.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A plain HTTP/1.1 GET to a DockerPulse running as a separate process.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<(u16, serde_json::Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    ))
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
