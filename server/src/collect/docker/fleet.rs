//! The set of containers the engine source tracks, each with the reader of its metrics.

use super::engine_stats::EngineStats;
use crate::collect::cgroup::{CgroupFs, CgroupReading, ContainerCgroup};
use crate::collect::cpu::{rates, Counters};
use crate::collect::Reading;
use crate::collect::StatsMode;
use app::wire::{ContainerInfo, ContainerStatus, Sample};
use bollard::Docker;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

enum Reader {
    Cgroup(Arc<ContainerCgroup>),
    Engine(EngineStats),
    /// Not running, or no way to read it.
    None,
}

struct Tracked {
    info: ContainerInfo,
    reader: Reader,
    prev: Option<Counters>,
    /// `restart` events seen while tracked, added to the engine's RestartCount.
    restarts_seen: u64,
    last: Option<Sample>,
}

/// Tracked containers, keyed by full id.
pub struct Fleet {
    containers: HashMap<String, Tracked>,
    cgroups: Option<CgroupFs>,
    mode: StatsMode,
    epoch: Instant,
    host_memory: u64,
}

impl Fleet {
    pub fn new(cgroups: Option<CgroupFs>, mode: StatsMode, host_memory: u64) -> Self {
        Self {
            containers: HashMap::new(),
            cgroups,
            mode,
            epoch: Instant::now(),
            host_memory,
        }
    }

    /// Which reader the fleet prefers, for the engine status line.
    pub fn stats_via(&self) -> &'static str {
        match (self.mode, &self.cgroups) {
            (StatsMode::Engine, _) | (StatsMode::Auto, None) => "engine",
            _ => "cgroup",
        }
    }

    /// Starts or refreshes tracking from a fresh `inspect`.
    pub fn upsert(&mut self, docker: &Docker, info: ContainerInfo, pid: Option<u32>) {
        let running = matches!(
            info.status,
            ContainerStatus::Running | ContainerStatus::Paused
        );
        let restarts_seen = self.containers.get(&info.id).map_or(0, |t| t.restarts_seen);
        let reader = if running {
            self.reader_for(docker, &info.id, pid)
        } else {
            Reader::None
        };
        let id = info.id.clone();
        self.containers.insert(
            id,
            Tracked {
                info,
                reader,
                prev: None,
                restarts_seen,
                last: None,
            },
        );
    }

    fn reader_for(&self, docker: &Docker, id: &str, pid: Option<u32>) -> Reader {
        let cgroup = || {
            self.cgroups
                .as_ref()
                .and_then(|fs| fs.locate(id, pid))
                .map(|c| Reader::Cgroup(Arc::new(c)))
        };
        let engine = || Reader::Engine(EngineStats::spawn(docker.clone(), id.to_string()));
        match self.mode {
            StatsMode::Cgroup => cgroup().unwrap_or(Reader::None),
            StatsMode::Engine => engine(),
            StatsMode::Auto => cgroup().unwrap_or_else(engine),
        }
    }

    pub fn remove(&mut self, id: &str) {
        self.containers.remove(id);
    }

    /// Applies a state change that needs no inspect (die, pause, health, …).
    pub fn update(&mut self, id: &str, f: impl FnOnce(&mut ContainerInfo)) {
        if let Some(t) = self.containers.get_mut(id) {
            f(&mut t.info);
            if matches!(
                t.info.status,
                ContainerStatus::Exited | ContainerStatus::Dead
            ) {
                t.reader = Reader::None;
                t.prev = None;
            }
        }
    }

    pub fn count_restart(&mut self, id: &str) {
        if let Some(t) = self.containers.get_mut(id) {
            t.restarts_seen += 1;
        }
    }

    /// Reads every tracked container once. File reads run on the blocking pool.
    pub async fn sample(&mut self, ts_ms: i64) -> Vec<Reading> {
        let jobs: Vec<(String, Arc<ContainerCgroup>)> = self
            .containers
            .iter()
            .filter_map(|(id, t)| match &t.reader {
                Reader::Cgroup(c) => Some((id.clone(), Arc::clone(c))),
                _ => None,
            })
            .collect();
        let epoch = self.epoch;
        let readings = tokio::task::spawn_blocking(move || {
            jobs.into_iter()
                .map(|(id, cg)| {
                    let r = cg.read();
                    let at = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    (id, at, r)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();

        for (id, at_ns, result) in readings {
            let Some(t) = self.containers.get_mut(&id) else {
                continue;
            };
            match result {
                Ok(r) => t.last = Self::cgroup_sample(t, r, at_ns, ts_ms, self.host_memory),
                Err(e) => {
                    // Usually the container just stopped; its die event follows.
                    tracing::debug!(container = %t.info.name, error = %e, "cgroup read failed");
                    t.last = None;
                }
            }
        }
        for t in self.containers.values_mut() {
            if let Reader::Engine(stats) = &t.reader {
                t.last = stats.latest().map(|s| Sample {
                    ts_ms,
                    mem_limit_bytes: if s.mem_limit_bytes == 0 {
                        self.host_memory
                    } else {
                        s.mem_limit_bytes
                    },
                    ..s
                });
            } else if matches!(t.reader, Reader::None) {
                t.last = None;
            }
        }

        let mut out: Vec<Reading> = self
            .containers
            .values()
            .map(|t| {
                let mut info = t.info.clone();
                info.restart_count += t.restarts_seen;
                Reading {
                    info,
                    sample: t.last,
                }
            })
            .collect();
        out.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        out
    }

    fn cgroup_sample(
        t: &mut Tracked,
        r: CgroupReading,
        at_ns: u64,
        ts_ms: i64,
        host_memory: u64,
    ) -> Option<Sample> {
        let cur = Counters {
            at_ns,
            ..r.counters
        };
        let prev = t.prev.replace(cur)?;
        let rt = rates(&prev, &cur);
        Some(Sample {
            ts_ms,
            cpu_pct: rt.cpu_pct,
            mem_bytes: r.mem_bytes,
            mem_limit_bytes: r.mem_limit_bytes.unwrap_or(host_memory),
            net_rx_bps: rt.net_rx_bps,
            net_tx_bps: rt.net_tx_bps,
            blk_read_bps: rt.blk_read_bps,
            blk_write_bps: rt.blk_write_bps,
            pids: r.pids,
        })
    }
}
