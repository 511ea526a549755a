//! `dockerpulse record`: writes real per-container traces from the live engine as CSV, so real
//! behaviour can be replayed through the brain in fast tests.
//!
//! One `<name>.csv` per container (`ts_ms,cpu_pct,mem_bytes,mem_limit_bytes,net_rx_bps,
//! net_tx_bps,blk_read_bps,blk_write_bps,pids,cpu_quota_pct`) and the engine events
//! (`ts_ms,container,event`) in `_events.csv`.

use crate::collect::docker::{DockerSource, DockerSourceConfig};
use crate::collect::{Source, SourceMsg};
use anyhow::Context;
use app::wire::EngineState;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Column names of a recorded trace.
pub const TRACE_HEADER: [&str; 10] = [
    "ts_ms",
    "cpu_pct",
    "mem_bytes",
    "mem_limit_bytes",
    "net_rx_bps",
    "net_tx_bps",
    "blk_read_bps",
    "blk_write_bps",
    "pids",
    "cpu_quota_pct",
];

/// Records for `seconds` and returns the number of samples written.
pub async fn record(cfg: DockerSourceConfig, seconds: u64, out: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let shutdown = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel(256);
    let source = tokio::spawn(DockerSource::new(cfg).run(tx, shutdown.clone()));
    let deadline = tokio::time::sleep(Duration::from_secs(seconds));
    tokio::pin!(deadline);
    let mut writers: HashMap<String, csv::Writer<std::fs::File>> = HashMap::new();
    // Container names cannot start with "_", so this never collides with a container's file.
    let mut events = csv::Writer::from_path(out.join("_events.csv"))?;
    events.write_record(["ts_ms", "container", "event"])?;
    let mut written = 0;
    loop {
        let msg = tokio::select! {
            _ = &mut deadline => break,
            msg = rx.recv() => match msg { Some(m) => m, None => break },
        };
        match msg {
            SourceMsg::Engine(s) if s.state == EngineState::Unreachable => {
                anyhow::bail!("engine unreachable: {}", s.error.unwrap_or_default())
            }
            SourceMsg::Engine(_) | SourceMsg::Remote(_) => {}
            SourceMsg::Event(ev) => {
                events.write_record([ev.ts_ms.to_string(), ev.name, ev.kind.label()])?;
                events.flush()?;
            }
            SourceMsg::Tick(t) => {
                for r in t.containers.unwrap_or_default() {
                    let Some(s) = r.sample else { continue };
                    let w = match writers.entry(r.info.name.clone()) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            let file = crate::util::fs_safe_name(&r.info.name, 100);
                            let mut w = csv::Writer::from_path(out.join(format!("{file}.csv")))?;
                            w.write_record(TRACE_HEADER)?;
                            e.insert(w)
                        }
                    };
                    w.write_record([
                        s.ts_ms.to_string(),
                        format!("{:.3}", s.cpu_pct),
                        s.mem_bytes.to_string(),
                        s.mem_limit_bytes.to_string(),
                        format!("{:.1}", s.net_rx_bps),
                        format!("{:.1}", s.net_tx_bps),
                        format!("{:.1}", s.blk_read_bps),
                        format!("{:.1}", s.blk_write_bps),
                        s.pids.to_string(),
                        r.info
                            .cpu_quota_pct
                            .map(|q| format!("{q:.1}"))
                            .unwrap_or_default(),
                    ])?;
                    w.flush()?;
                    written += 1;
                }
            }
        }
    }
    shutdown.cancel();
    let _ = source.await;
    Ok(written)
}
