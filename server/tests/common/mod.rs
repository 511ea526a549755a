//! Helpers shared by the integration tests: a real Docker engine (or a loud skip), labelled
//! test containers that clean up after themselves, an in-process DockerPulse, and polling.
//!
//! By concern: [`engine`] (the engine, root, test containers), [`in_process`] (DockerPulse in
//! the test's process and its router), [`server`] (DockerPulse as its own process), [`viewer`]
//! (the websocket feed), [`receiver`] (a webhook receiver). Everything is re-exported here, so
//! `common::x` names each helper; this file keeps polling and the median.
#![allow(dead_code)]

mod engine;
mod in_process;
pub mod receiver;
mod server;
mod viewer;

// Each test binary uses only some of these (as with `dead_code` above).
#[allow(unused_imports)]
pub use engine::*;
#[allow(unused_imports)]
pub use in_process::*;
#[allow(unused_imports)]
pub use server::*;
#[allow(unused_imports)]
pub use viewer::*;

use std::time::{Duration, Instant};

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
