//! Container metrics read straight from cgroup files (v1 and v2) and `/proc/<pid>/net/dev`.
//!
//! Roughly a hundred times cheaper for the host than the engine's stats API, which makes the
//! engine walk the same files for every container every second and serialise the result to JSON.
//! Only usable when the engine is local (or its `/sys/fs/cgroup` and `/proc` are mounted here).
//!
//! Paths are resolved once, when a container is discovered or (re)started; its files then stay
//! open and are re-read each tick ([`files`]) and parsed in place ([`parse`]).

pub mod files;
mod parse;

use super::cpu::{cli_memory, is_unlimited_memory, Counters};
use files::{FdBudget, StatFile};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The host's cgroup hierarchy.
#[derive(Debug, Clone)]
pub struct CgroupFs {
    root: PathBuf,
    proc_root: PathBuf,
    version: Version,
    budget: Arc<FdBudget>,
}

/// One container's counter files, kept open between reads. Dropping it closes them.
#[derive(Debug)]
pub struct ContainerCgroup {
    version: Version,
    /// v1 `cpuacct.usage`, v2 `cpu.stat`.
    cpu: StatFile,
    /// v1 `memory.usage_in_bytes`, v2 `memory.current`.
    mem_usage: StatFile,
    mem_stat: StatFile,
    /// v1 `memory.limit_in_bytes`, v2 `memory.max`.
    mem_limit: StatFile,
    /// v1 `blkio.throttle.io_service_bytes_recursive`, v2 `io.stat`; absent when the controller
    /// is not enabled for the container.
    io: Option<StatFile>,
    pids: Option<StatFile>,
    /// `/proc/<pid>/net/dev` of the container's main process (its network namespace). An open
    /// handle keeps that namespace alive: it must be dropped when the process ends.
    net_dev: Option<StatFile>,
    slow: SlowMemory,
}

/// The memory figures that need not be read every tick, and when they were.
///
/// `memory.stat` is the costliest file by far (the kernel formats some forty counters; a third
/// of all the collector's time at 500 containers) and is read only for the inactive page cache
/// taken off usage. It is read again as soon as usage moves by more than 1/256, whenever usage
/// is within 10 % of the limit (reclaim turns cache over without moving usage: that is where
/// an OOM builds up), and every [`EVERY`](Self::EVERY) ticks otherwise; between reads the cache
/// of a container whose usage stands still only drifts between the kernel's LRU lists. The
/// limit changes through `docker update`, whose event calls [`ContainerCgroup::refresh`].
#[derive(Debug, Clone, Copy)]
struct SlowMemory {
    /// Reads since the last full read.
    age: u32,
    /// Usage when `memory.stat` was read.
    usage: u64,
    inactive: Option<u64>,
    limit: Option<u64>,
}

impl SlowMemory {
    const EVERY: u32 = 10;

    fn unread() -> Self {
        Self {
            age: Self::EVERY,
            usage: 0,
            inactive: None,
            limit: None,
        }
    }

    fn stat_outdated(&self, usage: u64) -> bool {
        usage.abs_diff(self.usage) > usage / 256 || self.limit.is_some_and(|l| usage >= l - l / 10)
    }
}

/// What one read of a container's cgroup gives.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CgroupReading {
    /// Cumulative counters; `at_ns` is left for the caller to stamp.
    pub counters: Counters,
    pub mem_bytes: u64,
    /// `None` when the container has no memory limit.
    pub mem_limit_bytes: Option<u64>,
    pub pids: u64,
}

impl CgroupFs {
    /// Detects the hierarchy under `root`; `None` when no cgroup file system is readable there.
    /// Also raises this process's open-files limit for the handles kept open (see
    /// [`FdBudget::for_this_process`]).
    pub fn detect(root: &Path, proc_root: &Path) -> Option<Self> {
        Self::detect_with_budget(root, proc_root, FdBudget::for_this_process())
    }

    /// [`detect`](Self::detect) with a given descriptor budget (tests, benchmarks).
    pub fn detect_with_budget(
        root: &Path,
        proc_root: &Path,
        budget: Arc<FdBudget>,
    ) -> Option<Self> {
        let version = if root.join("cgroup.controllers").is_file() {
            Version::V2
        } else if root.join("memory").is_dir() {
            Version::V1
        } else {
            return None;
        };
        Some(Self {
            root: root.to_path_buf(),
            proc_root: proc_root.to_path_buf(),
            version,
            budget,
        })
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// Descriptors the open counter files hold now, all containers together.
    pub fn open_files(&self) -> usize {
        self.budget.in_use()
    }

    /// Finds a container's cgroup from its main process's `/proc/<pid>/cgroup`, falling back
    /// to the paths the cgroupfs and systemd drivers use. `None` when nothing readable is found.
    pub fn locate(&self, id: &str, pid: Option<u32>) -> Option<ContainerCgroup> {
        let from_proc = pid
            .and_then(|p| {
                fs::read_to_string(self.proc_root.join(p.to_string()).join("cgroup")).ok()
            })
            .map(|text| parse_proc_cgroup(&text))
            .unwrap_or_default();
        let guesses = [
            format!("/docker/{id}"),
            format!("/system.slice/docker-{id}.scope"),
        ];
        let file = |path: PathBuf| StatFile::new(path, &self.budget);
        let existing = |path: PathBuf| path.is_file().then(|| file(path));
        let net_dev = pid
            .map(|p| self.proc_root.join(p.to_string()).join("net/dev"))
            .and_then(existing);
        let rel = |controller: &str| -> Vec<String> {
            let mut v: Vec<String> = from_proc.get(controller).cloned().into_iter().collect();
            v.extend(guesses.iter().cloned());
            v
        };
        match self.version {
            Version::V2 => {
                let dir = rel("")
                    .into_iter()
                    .map(|r| self.under(&[""], &r))
                    .find(|d| d.join("memory.current").is_file())?;
                Some(ContainerCgroup {
                    version: Version::V2,
                    cpu: file(dir.join("cpu.stat")),
                    mem_usage: file(dir.join("memory.current")),
                    mem_stat: file(dir.join("memory.stat")),
                    mem_limit: file(dir.join("memory.max")),
                    io: existing(dir.join("io.stat")),
                    pids: existing(dir.join("pids.current")),
                    net_dev,
                    slow: SlowMemory::unread(),
                })
            }
            Version::V1 => {
                let find = |controller: &str, mounts: &[&str], probe: &str| {
                    rel(controller)
                        .into_iter()
                        .map(|r| self.under(mounts, &r).join(probe))
                        .find(|p| p.is_file())
                };
                let mem = find("memory", &["memory"], "memory.usage_in_bytes")?;
                let mem_dir = mem.parent().map(Path::to_path_buf).unwrap_or_default();
                Some(ContainerCgroup {
                    version: Version::V1,
                    cpu: file(find(
                        "cpuacct",
                        &["cpuacct", "cpu,cpuacct"],
                        "cpuacct.usage",
                    )?),
                    mem_usage: file(mem),
                    mem_stat: file(mem_dir.join("memory.stat")),
                    mem_limit: file(mem_dir.join("memory.limit_in_bytes")),
                    io: find(
                        "blkio",
                        &["blkio"],
                        "blkio.throttle.io_service_bytes_recursive",
                    )
                    .map(file),
                    pids: find("pids", &["pids"], "pids.current").map(file),
                    net_dev,
                    slow: SlowMemory::unread(),
                })
            }
        }
    }

    /// The first existing `<root>/<mount>/<rel>` among `mounts`, or the first candidate.
    fn under(&self, mounts: &[&str], rel: &str) -> PathBuf {
        let rel = rel.trim_start_matches('/');
        let candidates: Vec<PathBuf> = mounts.iter().map(|m| self.root.join(m).join(rel)).collect();
        candidates
            .iter()
            .find(|p| p.is_dir())
            .or(candidates.first())
            .cloned()
            .unwrap_or_default()
    }
}

impl ContainerCgroup {
    /// Reads every counter, through `buf` (a scratch buffer the caller keeps between reads).
    /// Fails when the cgroup is gone (the container stopped); then every handle is closed.
    pub fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<CgroupReading> {
        let r = self.read_counters(buf);
        if r.is_err() {
            self.close();
            self.slow = SlowMemory::unread();
        }
        r
    }

    /// Reads the memory limit and `memory.stat` afresh on the next read (the limit changed:
    /// `docker update`).
    pub fn refresh(&mut self) {
        self.slow.age = SlowMemory::EVERY;
    }

    fn read_counters(&mut self, buf: &mut Vec<u8>) -> io::Result<CgroupReading> {
        let mut r = CgroupReading::default();
        let number = |f: &mut StatFile, buf: &mut Vec<u8>| -> io::Result<u64> {
            let text = f.read(buf)?;
            parse::u64_of(text).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: not a number", f.path().display()),
                )
            })
        };
        let v1 = self.version == Version::V1;
        r.counters.cpu_ns = if v1 {
            number(&mut self.cpu, buf)?
        } else {
            parse::keyed(self.cpu.read(buf)?, "usage_usec")
                .unwrap_or(0)
                .saturating_mul(1000)
        };
        let usage = number(&mut self.mem_usage, buf)?;
        let full = self.slow.age >= SlowMemory::EVERY;
        if full {
            self.slow.limit = if v1 {
                Some(number(&mut self.mem_limit, buf)?).filter(|l| !is_unlimited_memory(*l))
            } else {
                // `max` (no limit) is not a number.
                parse::u64_of(self.mem_limit.read(buf)?)
            };
        }
        if full || self.slow.stat_outdated(usage) {
            let key = if v1 {
                "total_inactive_file"
            } else {
                "inactive_file"
            };
            self.slow.inactive = parse::keyed(self.mem_stat.read(buf)?, key);
            self.slow.usage = usage;
        }
        self.slow.age = if full {
            1
        } else {
            self.slow.age.saturating_add(1)
        };
        // The CLI's figure: usage less the inactive page cache (v1 and v2 name it apart).
        r.mem_bytes = cli_memory(usage, self.slow.inactive, None);
        r.mem_limit_bytes = self.slow.limit;
        if let Some(text) = optional(self.io.as_mut(), buf) {
            (r.counters.blk_read_bytes, r.counters.blk_write_bytes) = if v1 {
                parse::blkio_v1(text)
            } else {
                parse::io_stat_v2(text)
            };
        }
        if let Some(f) = self.pids.as_mut() {
            r.pids = number(f, buf).unwrap_or(0);
        }
        if let Some(text) = optional(self.net_dev.as_mut(), buf) {
            (r.counters.net_rx_bytes, r.counters.net_tx_bytes) = parse::net_dev(text);
        }
        Ok(r)
    }

    /// Closes every handle (they reopen on the next read).
    pub fn close(&mut self) {
        for f in [
            &mut self.cpu,
            &mut self.mem_usage,
            &mut self.mem_stat,
            &mut self.mem_limit,
        ] {
            f.close();
        }
        for f in [&mut self.io, &mut self.pids, &mut self.net_dev]
            .into_iter()
            .flatten()
        {
            f.close();
        }
    }
}

/// An optional file's content; `None` when it is absent or unreadable (a counter we can do
/// without: block I/O, pids, network).
fn optional<'b>(f: Option<&mut StatFile>, buf: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    f?.read(buf).ok()
}

/// `controller → path` from `/proc/<pid>/cgroup`; the v2 unified entry has the key `""`.
fn parse_proc_cgroup(text: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            map.insert(String::new(), path.to_string());
        }
        for c in controllers.split(',').filter(|c| !c.is_empty()) {
            map.insert(c.to_string(), path.to_string());
        }
    }
    map
}

#[cfg(test)]
pub(crate) mod tests;
