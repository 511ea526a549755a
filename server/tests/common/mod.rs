//! Helpers shared by the integration tests: a real Docker engine (or a loud skip), labelled
//! test containers that clean up after themselves, an in-process DockerPulse, and polling.
#![allow(dead_code)]

pub mod receiver;

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
    http_request(addr, "GET", path, None).await
}

/// A plain HTTP/1.1 POST with no body and the admin token, to a separate process.
pub async fn http_post(addr: std::net::SocketAddr, path: &str) -> Option<(u16, serde_json::Value)> {
    http_request(addr, "POST", path, Some(ADMIN_TOKEN)).await
}

async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Option<(u16, serde_json::Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
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

/// Config that opts in one container by name (not by label), so DockerPulse instances of tests
/// running side by side never act on each other's containers.
pub fn opt_in(name: &str, action: &str) -> String {
    format!("[heal.containers]\n\"{name}\" = \"{action}\"\n")
}

/// A shell command that burns one core and exits promptly on SIGTERM (so restarts are quick).
pub const BURN: [&str; 3] = ["sh", "-c", "trap 'exit 0' TERM; yes > /dev/null & wait"];

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// DockerPulse running as its own process (the real binary), killed when dropped so a failing
/// test leaves nothing running.
pub struct Server {
    child: std::process::Child,
    pub addr: std::net::SocketAddr,
    pub config: std::path::PathBuf,
}

impl Server {
    /// Writes a config for a DockerPulse in `dir` (its store in `dir/data`, reports in
    /// `dir/reports`) listening on a free port; `extra` is appended as TOML.
    pub fn config(
        dir: &std::path::Path,
        extra: &str,
    ) -> (std::path::PathBuf, std::net::SocketAddr) {
        std::fs::create_dir_all(dir).expect("dir");
        let addr: std::net::SocketAddr =
            format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let config = dir.join("dockerpulse.toml");
        std::fs::write(
            &config,
            format!(
                "bind = \"{addr}\"\ndata_dir = \"{}\"\nreports_dir = \"{}\"\nsite_root = \"/nonexistent\"\n\
                 demo_when_no_engine = false\nadmin_token = \"{ADMIN_TOKEN}\"\n{extra}\n",
                dir.join("data").display(),
                dir.join("reports").display()
            ),
        )
        .expect("config");
        (config, addr)
    }

    /// Starts the binary with `config`; its log goes next to the config (`.log`, appended).
    pub fn spawn(config: &std::path::Path, addr: std::net::SocketAddr) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_extension("log"));
        let (out, err) = match log.and_then(|f| Ok((f.try_clone()?, f))) {
            Ok((a, b)) => (std::process::Stdio::from(a), std::process::Stdio::from(b)),
            Err(_) => (std::process::Stdio::null(), std::process::Stdio::null()),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_dockerpulse"))
            .args(["--config", &config.to_string_lossy(), "serve"])
            .env("RUST_LOG", "info")
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("dockerpulse starts");
        Self {
            child,
            addr,
            config: config.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running (it did not panic or exit).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// GET on the running server.
    pub async fn get(&self, path: &str) -> Option<(u16, serde_json::Value)> {
        http_get(self.addr, path).await
    }

    /// Waits until `/api/health` answers.
    pub async fn ready(&self) {
        let up = eventually(Duration::from_secs(30), || async {
            self.get("/api/health").await.filter(|(s, _)| *s == 200)
        })
        .await;
        assert!(
            up.is_some(),
            "DockerPulse answers: see {}",
            self.config.with_extension("log").display()
        );
    }

    /// Resident memory in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// Resident anonymous memory (heap and stacks, not the binary's pages) in KiB.
    pub fn rss_anon_kib(&self) -> u64 {
        self.status_kib("RssAnon:")
    }

    fn status_kib(&self, key: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Every intervention of a container (all of them for ""), oldest first, from a server's API.
pub async fn interventions_of(server: &Server, container: &str) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    let mut offset = 0;
    let filter = if container.is_empty() {
        String::new()
    } else {
        format!("container={container}&")
    };
    loop {
        let Some((200, page)) = server
            .get(&format!(
                "/api/interventions?{filter}limit=500&offset={offset}"
            ))
            .await
        else {
            return all;
        };
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let n = items.len();
        all.extend(items);
        offset += n;
        if n < 500 {
            break;
        }
    }
    all.reverse();
    all
}

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

/// The JSON of a message from `/ws`, as the page reads it: text as it is, binary (whole-fleet
/// messages) inflated; `None` for control frames.
pub fn feed_text(msg: &tokio_tungstenite::tungstenite::Message) -> Option<String> {
    use tokio_tungstenite::tungstenite::Message;
    match msg {
        Message::Text(t) => Some(t.to_string()),
        Message::Binary(b) => {
            Some(dockerpulse::hub::text_of_binary(b).expect("a deflated message"))
        }
        _ => None,
    }
}

/// A websocket viewer that notes when each message arrives, until dropped.
pub struct Viewer {
    times: std::sync::Arc<std::sync::Mutex<Vec<(Instant, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Viewer {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        use futures_util::StreamExt;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("websocket");
        let times = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = times.clone();
        let task = tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Some(t) = feed_text(&msg) {
                    let mut v = seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    v.push((Instant::now(), t));
                }
            }
        });
        Self { times, task }
    }

    /// Arrival times and texts so far.
    pub fn messages(&self) -> Vec<(Instant, String)> {
        self.times
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The longest gap between two messages after the first (the snapshot).
    pub fn longest_gap(&self) -> Duration {
        let m = self.messages();
        m.windows(2)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or_default()
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Another process holding an exclusive lock on a SQLite database for `secs` (Python's sqlite3).
pub fn lock_database(db: &std::path::Path, secs: u64) -> std::process::Child {
    let script = "import sqlite3, sys, time\n\
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n\
c.execute('BEGIN EXCLUSIVE')\n\
print('locked', flush=True)\n\
time.sleep(float(sys.argv[2]))\n\
c.execute('COMMIT')\n";
    let mut child = Command::new("python3")
        .args(["-c", script, &db.to_string_lossy(), &secs.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    // Wait until the lock is really held.
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("python says it locked");
    assert_eq!(line.trim(), "locked");
    child
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
