//! A small webhook receiver for the tests: records every request (time, headers, body) and
//! answers with the statuses it is told, in order, then 200.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub at_ms: i64,
    pub path: String,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
    pub raw: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<(u16, Option<&'static str>)>,
    /// Answer every request with this once the script is used up (200 when unset).
    then: Option<u16>,
    got: Vec<Received>,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub addr: Option<std::net::SocketAddr>,
}

impl Receiver {
    /// Listens on a free loopback port until the test ends.
    pub async fn start() -> Self {
        let mut r = Receiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        r.addr = Some(listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback(handle).with_state(r.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        r
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.expect("started"))
    }

    /// The next requests get these statuses (with an optional Retry-After), in order.
    pub fn script(&self, s: &[(u16, Option<&'static str>)]) {
        self.lock().script.extend(s.iter().copied());
    }

    /// After the script: answer everything with `status`.
    pub fn then(&self, status: u16) {
        self.lock().then = Some(status);
    }

    pub fn got(&self) -> Vec<Received> {
        self.lock().got.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn handle(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let mut inner = r.lock();
    let (status, retry_after) = inner
        .script
        .pop_front()
        .unwrap_or((inner.then.unwrap_or(200), None));
    inner.got.push(Received {
        at: Instant::now(),
        at_ms: chrono::Utc::now().timestamp_millis(),
        path: uri.path().to_string(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        raw: body.to_vec(),
        status,
    });
    let mut h = HeaderMap::new();
    if let Some(ra) = retry_after {
        h.insert("retry-after", ra.parse().expect("header"));
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        h,
        "",
    )
}

/// The path of a Debian-packaged program when installed; otherwise a loud skip notice (or a
/// panic under DOCKERPULSE_REQUIRE_ENGINE=1, as for the engine).
pub fn program_available(test: &str, path: &str) -> bool {
    if std::path::Path::new(path).exists() {
        return true;
    }
    let msg = format!(
        "\n\n*** SKIPPED {test}: {path} is not installed (apt-get install prometheus prometheus-alertmanager, or run scripts/test.sh) ***\n"
    );
    if std::env::var("DOCKERPULSE_REQUIRE_ENGINE").is_ok_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    false
}

/// A child process killed when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program` with `args`, its output in `log`.
pub fn spawn_program(program: &str, args: &[String], log: &std::path::Path) -> Child {
    let f = std::fs::File::create(log).expect("log file");
    let f2 = f.try_clone().expect("log file");
    Child(
        std::process::Command::new(program)
            .args(args)
            .stdout(f)
            .stderr(f2)
            .spawn()
            .expect("program starts"),
    )
}
