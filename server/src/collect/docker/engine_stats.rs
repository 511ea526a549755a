//! Metrics through the engine's stats API: one streaming request per container, as `docker
//! stats` does. The fallback when cgroup files are not readable (remote engines).

use crate::collect::cpu::{cli_cpu_percent, stats_io_totals, stats_memory};
use app::wire::Sample;
use bollard::query_parameters::StatsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// A sample older than this is not handed out (the stream stalled or ended).
const MAX_AGE: Duration = Duration::from_secs(3);

/// The latest sample of one container's stats stream; the stream stops when this is dropped.
/// A stream that ends or fails is opened again (1 s, then 2 s, … up to 10 s apart).
pub struct EngineStats {
    latest: Arc<Mutex<Option<(Instant, Sample)>>>,
    task: JoinHandle<()>,
}

impl EngineStats {
    pub fn spawn(docker: Docker, id: String) -> Self {
        let latest = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&latest);
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                if read_stream(&docker, &id, &slot).await {
                    backoff = Duration::from_secs(1);
                }
                tracing::debug!(container = %id, "engine stats stream ended; reopening");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        });
        Self { latest, task }
    }

    /// The most recent sample, if the stream delivered one lately.
    pub fn latest(&self) -> Option<Sample> {
        self.latest
            .lock()
            .ok()
            .and_then(|g| *g)
            .filter(|(at, _)| at.elapsed() <= MAX_AGE)
            .map(|(_, s)| s)
    }
}

/// Follows one stats stream until it ends; true when it delivered anything.
async fn read_stream(docker: &Docker, id: &str, slot: &Mutex<Option<(Instant, Sample)>>) -> bool {
    let opts = StatsOptionsBuilder::new()
        .stream(true)
        .one_shot(false)
        .build();
    let mut stream = docker.stats(id, Some(opts));
    let mut prev: Option<(Instant, (u64, u64, u64, u64))> = None;
    let mut delivered = false;
    while let Some(Ok(stats)) = stream.next().await {
        let now = Instant::now();
        let totals = stats_io_totals(&stats);
        let (mem, limit) = stats_memory(&stats);
        let mut sample = Sample {
            cpu_pct: cli_cpu_percent(&stats),
            mem_bytes: mem,
            mem_limit_bytes: limit,
            pids: stats
                .pids_stats
                .as_ref()
                .and_then(|p| p.current)
                .unwrap_or(0),
            ..Sample::default()
        };
        if let Some((then, p)) = prev {
            let secs = now.duration_since(then).as_secs_f64().max(1e-3);
            let rate = |a: u64, b: u64| b.checked_sub(a).map_or(0.0, |d| d as f64 / secs);
            sample.net_rx_bps = rate(p.0, totals.0);
            sample.net_tx_bps = rate(p.1, totals.1);
            sample.blk_read_bps = rate(p.2, totals.2);
            sample.blk_write_bps = rate(p.3, totals.3);
        }
        prev = Some((now, totals));
        delivered = true;
        if let Ok(mut guard) = slot.lock() {
            *guard = Some((now, sample));
        }
    }
    delivered
}

impl Drop for EngineStats {
    fn drop(&mut self) {
        self.task.abort();
    }
}
