//! Metrics through the engine's stats API: one streaming request per container, as `docker
//! stats` does. The fallback when cgroup files are not readable (remote engines).

use crate::collect::cpu::{cli_cpu_percent, stats_io_totals, stats_memory};
use app::wire::Sample;
use bollard::query_parameters::StatsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::task::JoinHandle;

/// The latest sample of one container's stats stream; the stream stops when this is dropped.
pub struct EngineStats {
    latest: Arc<Mutex<Option<Sample>>>,
    task: JoinHandle<()>,
}

impl EngineStats {
    pub fn spawn(docker: Docker, id: String) -> Self {
        let latest = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&latest);
        let task = tokio::spawn(async move {
            let opts = StatsOptionsBuilder::new()
                .stream(true)
                .one_shot(false)
                .build();
            let mut stream = docker.stats(&id, Some(opts));
            let mut prev: Option<(Instant, (u64, u64, u64, u64))> = None;
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
                if let Ok(mut guard) = slot.lock() {
                    *guard = Some(sample);
                }
            }
            tracing::debug!(container = %id, "engine stats stream ended");
        });
        Self { latest, task }
    }

    /// The most recent sample, if the stream delivered one yet.
    pub fn latest(&self) -> Option<Sample> {
        self.latest.lock().ok().and_then(|g| *g)
    }
}

impl Drop for EngineStats {
    fn drop(&mut self) {
        self.task.abort();
    }
}
