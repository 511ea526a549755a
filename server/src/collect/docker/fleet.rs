//! The set of containers the engine source tracks, each with the reader of its metrics.
//!
//! Per tick only the counter files are read (through handles kept open, on the blocking pool);
//! the engine is asked nothing: containers are listed once per connection and followed through
//! its event stream.

use super::engine_stats::EngineStats;
use crate::collect::cgroup::{CgroupFs, CgroupReading, ContainerCgroup};
use crate::collect::cpu::{rates, Counters};
use crate::collect::Reading;
use crate::collect::StatsMode;
use app::wire::{ContainerInfo, ContainerStatus, Sample};
use bollard::Docker;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A container's open cgroup files and what the last tick read through them.
struct CgroupJob {
    cgroup: ContainerCgroup,
    /// Filled on the blocking pool, taken on the loop: (when, what).
    result: Option<(u64, io::Result<CgroupReading>)>,
}

enum Reader {
    Cgroup(Arc<Mutex<CgroupJob>>),
    Engine(EngineStats),
    /// Not running, or no way to read it.
    None,
}

struct Tracked {
    /// What each tick's reading carries (restart count included), shared with the pipeline:
    /// a tick copies a pointer; a change makes a new one ([`Arc::make_mut`]), which the
    /// pipeline's pointer comparison then sees.
    info: Arc<ContainerInfo>,
    /// The main process the reader was set up for (a restart changes it).
    pid: Option<u32>,
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
    /// Kept between ticks so that a tick allocates neither the list of jobs nor the buffer
    /// every file is read into.
    jobs: Vec<Arc<Mutex<CgroupJob>>>,
    scratch: Vec<u8>,
}

impl Fleet {
    pub fn new(cgroups: Option<CgroupFs>, mode: StatsMode, host_memory: u64) -> Self {
        Self {
            containers: HashMap::new(),
            cgroups,
            mode,
            epoch: Instant::now(),
            host_memory,
            jobs: Vec::new(),
            scratch: Vec::new(),
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
    pub fn upsert(&mut self, docker: &Docker, mut info: ContainerInfo, pid: Option<u32>) {
        let running = matches!(
            info.status,
            ContainerStatus::Running | ContainerStatus::Paused
        );
        let old = self.containers.remove(&info.id);
        let restarts_seen = old.as_ref().map_or(0, |t| t.restarts_seen);
        // Same process as before (unpause, `docker update`, our own throttle): same cgroup, so
        // keep its open files and the previous counters — no gap in the rates.
        let (reader, prev) = match old {
            Some(t)
                if running
                    && t.pid == pid
                    && pid.is_some()
                    && matches!(t.reader, Reader::Cgroup(_)) =>
            {
                if let Reader::Cgroup(job) = &t.reader {
                    // The limit may be what changed.
                    if let Ok(mut job) = job.lock() {
                        job.cgroup.refresh();
                    }
                }
                (t.reader, t.prev)
            }
            _ if running => (self.reader_for(docker, &info.id, pid), None),
            _ => (Reader::None, None),
        };
        let id = info.id.clone();
        info.restart_count += restarts_seen;
        self.containers.insert(
            id,
            Tracked {
                info: Arc::new(info),
                pid,
                reader,
                prev,
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
                .map(|cgroup| {
                    Reader::Cgroup(Arc::new(Mutex::new(CgroupJob {
                        cgroup,
                        result: None,
                    })))
                })
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
            f(Arc::make_mut(&mut t.info));
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
            Arc::make_mut(&mut t.info).restart_count += 1;
        }
    }

    /// Reads every tracked container once. File reads run on the blocking pool.
    pub async fn sample(&mut self, ts_ms: i64) -> Vec<Reading> {
        let mut jobs = std::mem::take(&mut self.jobs);
        jobs.extend(self.containers.values().filter_map(|t| match &t.reader {
            Reader::Cgroup(job) => Some(Arc::clone(job)),
            _ => None,
        }));
        let mut scratch = std::mem::take(&mut self.scratch);
        let epoch = self.epoch;
        let done = tokio::task::spawn_blocking(move || {
            for job in &jobs {
                let Ok(mut job) = job.lock() else { continue };
                let r = job.cgroup.read(&mut scratch);
                let at = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                job.result = Some((at, r));
            }
            // Let go of the jobs here: a container removed meanwhile closes its files now.
            jobs.clear();
            (jobs, scratch)
        })
        .await;
        match done {
            Ok((jobs, scratch)) => (self.jobs, self.scratch) = (jobs, scratch),
            Err(e) => tracing::warn!(error = %e, "reading cgroup files failed"),
        }

        for t in self.containers.values_mut() {
            let Reader::Cgroup(job) = &t.reader else {
                continue;
            };
            match job.lock().ok().and_then(|mut j| j.result.take()) {
                Some((at_ns, Ok(r))) => {
                    t.last = Self::cgroup_sample(t, r, at_ns, ts_ms, self.host_memory)
                }
                Some((_, Err(e))) => {
                    // Usually the container just stopped; its die event follows.
                    tracing::debug!(container = %t.info.name, error = %e, "cgroup read failed");
                    t.last = None;
                }
                None => t.last = None,
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
            .map(|t| Reading {
                info: Arc::clone(&t.info),
                sample: t.last,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::cgroup::files::FdBudget;
    use crate::collect::cgroup::tests::{fake_v2, temp_dir};

    fn running(id: &str) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            name: id.into(),
            status: ContainerStatus::Running,
            ..ContainerInfo::default()
        }
    }

    #[tokio::test]
    async fn open_files_follow_the_containers_lifecycle() {
        let dir = temp_dir("fleet");
        fake_v2(&dir);
        let budget = FdBudget::new(100);
        let cgroups =
            CgroupFs::detect_with_budget(&dir.join("sys"), &dir.join("proc"), budget.clone());
        let mut fleet = Fleet::new(cgroups, StatsMode::Cgroup, 1 << 30);
        // Never contacted (the cgroup mode reads files only); bollard wants a path that exists.
        let socket = dir.to_string_lossy();
        let docker =
            Docker::connect_with_unix(&socket, 1, bollard::API_DEFAULT_VERSION).expect("client");

        fleet.upsert(&docker, running("abc"), Some(42));
        let first = fleet.sample(1000).await;
        assert_eq!(first.len(), 1);
        assert!(first[0].sample.is_none(), "rates need two readings");
        assert_eq!(budget.in_use(), 6, "opened on the first tick");
        assert!(fleet.sample(2000).await[0].sample.is_some());

        // `docker update` (or unpause): same process, so the same open files and no gap.
        fleet.upsert(&docker, running("abc"), Some(42));
        assert_eq!(budget.in_use(), 6);
        assert!(fleet.sample(3000).await[0].sample.is_some());

        // A restart: a new process, so everything is looked up and opened again.
        fleet.upsert(&docker, running("abc"), Some(43));
        assert_eq!(budget.in_use(), 0);
        assert!(fleet.sample(4000).await[0].sample.is_none());
        assert_eq!(budget.in_use(), 5, "pid 43 has no net/dev here");

        // It dies: its files close at once (an open net/dev would keep its namespace alive).
        fleet.update("abc", |i| i.status = ContainerStatus::Exited);
        assert_eq!(budget.in_use(), 0);
        fleet.upsert(&docker, running("abc"), Some(42));
        fleet.sample(5000).await;
        assert_eq!(budget.in_use(), 6);
        fleet.remove("abc");
        assert_eq!(budget.in_use(), 0, "a removed container holds nothing");
        assert!(fleet.sample(6000).await.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_tick_shares_the_identity_and_a_change_makes_a_new_one() {
        let dir = temp_dir("fleet-identity");
        fake_v2(&dir);
        let cgroups =
            CgroupFs::detect_with_budget(&dir.join("sys"), &dir.join("proc"), FdBudget::new(100));
        let mut fleet = Fleet::new(cgroups, StatsMode::Cgroup, 1 << 30);
        let socket = dir.to_string_lossy();
        let docker =
            Docker::connect_with_unix(&socket, 1, bollard::API_DEFAULT_VERSION).expect("client");
        fleet.upsert(&docker, running("abc"), Some(42));
        let a = fleet.sample(1000).await.remove(0).info;
        let b = fleet.sample(2000).await.remove(0).info;
        assert!(
            Arc::ptr_eq(&a, &b),
            "an unchanged identity is shared, not copied"
        );

        // A change while the pipeline holds the last one: a new allocation, the old one intact.
        fleet.update("abc", |i| i.health = Some(app::wire::Health::Unhealthy));
        let c = fleet.sample(3000).await.remove(0).info;
        assert!(!Arc::ptr_eq(&b, &c));
        assert_eq!(
            (b.health, c.health),
            (None, Some(app::wire::Health::Unhealthy))
        );

        // Restart events count on top of the engine's figure, and survive a fresh inspect.
        fleet.count_restart("abc");
        assert_eq!(fleet.sample(4000).await[0].info.restart_count, 1);
        let mut inspected = running("abc");
        inspected.restart_count = 2;
        fleet.upsert(&docker, inspected, Some(43));
        assert_eq!(fleet.sample(5000).await[0].info.restart_count, 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
