//! DockerPulse in the test's own process: a fresh data directory, its configuration (on a
//! free loopback port, with the admin token), starting it on the engine or the demo fleet, and
//! requests through its real router without the network.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dockerpulse::config::Config;
use dockerpulse::heal::executor::{DockerExecutor, Executor};
use dockerpulse::serve::{start, Running};
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tower::ServiceExt;

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
