//! Container metrics read straight from cgroup files (v1 and v2) and `/proc/<pid>/net/dev`.
//!
//! Roughly a hundred times cheaper for the host than the engine's stats API, which makes the
//! engine walk the same files for every container every second and serialise the result to JSON.
//! Only usable when the engine is local (or its `/sys/fs/cgroup` and `/proc` are mounted here).

use super::cpu::{cli_memory, is_unlimited_memory, Counters};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

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
}

/// Where one container's cgroup files are.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerCgroup {
    version: Version,
    cpu: PathBuf,
    memory: PathBuf,
    blkio: PathBuf,
    pids: PathBuf,
    /// `/proc/<pid>/net/dev` of the container's main process (its network namespace).
    net_dev: Option<PathBuf>,
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
    pub fn detect(root: &Path, proc_root: &Path) -> Option<Self> {
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
        })
    }

    pub fn version(&self) -> Version {
        self.version
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
        let net_dev = pid
            .map(|p| self.proc_root.join(p.to_string()).join("net/dev"))
            .filter(|p| p.is_file());
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
                    cpu: dir.clone(),
                    memory: dir.clone(),
                    blkio: dir.clone(),
                    pids: dir,
                    net_dev,
                })
            }
            Version::V1 => {
                let find = |controller: &str, mounts: &[&str], probe: &str| {
                    rel(controller)
                        .into_iter()
                        .map(|r| self.under(mounts, &r))
                        .find(|d| d.join(probe).is_file())
                };
                Some(ContainerCgroup {
                    version: Version::V1,
                    cpu: find("cpuacct", &["cpuacct", "cpu,cpuacct"], "cpuacct.usage")?,
                    memory: find("memory", &["memory"], "memory.usage_in_bytes")?,
                    blkio: find(
                        "blkio",
                        &["blkio"],
                        "blkio.throttle.io_service_bytes_recursive",
                    )
                    .unwrap_or_default(),
                    pids: find("pids", &["pids"], "pids.current").unwrap_or_default(),
                    net_dev,
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
    /// Reads every counter. Fails when the cgroup is gone (the container stopped).
    pub fn read(&self) -> io::Result<CgroupReading> {
        let mut r = CgroupReading::default();
        match self.version {
            Version::V1 => {
                r.counters.cpu_ns = read_u64(&self.cpu.join("cpuacct.usage"))?;
                let usage = read_u64(&self.memory.join("memory.usage_in_bytes"))?;
                let stat = fs::read_to_string(self.memory.join("memory.stat"))?;
                let kv = parse_flat_keyed(&stat);
                r.mem_bytes = cli_memory(usage, kv.get("total_inactive_file").copied(), None);
                let limit = read_u64(&self.memory.join("memory.limit_in_bytes"))?;
                r.mem_limit_bytes = (!is_unlimited_memory(limit)).then_some(limit);
                if let Ok(text) =
                    fs::read_to_string(self.blkio.join("blkio.throttle.io_service_bytes_recursive"))
                {
                    (r.counters.blk_read_bytes, r.counters.blk_write_bytes) = parse_blkio_v1(&text);
                }
            }
            Version::V2 => {
                let stat = fs::read_to_string(self.cpu.join("cpu.stat"))?;
                let usec = parse_flat_keyed(&stat)
                    .get("usage_usec")
                    .copied()
                    .unwrap_or(0);
                r.counters.cpu_ns = usec.saturating_mul(1000);
                let usage = read_u64(&self.memory.join("memory.current"))?;
                let mstat = fs::read_to_string(self.memory.join("memory.stat"))?;
                let kv = parse_flat_keyed(&mstat);
                r.mem_bytes = cli_memory(usage, None, kv.get("inactive_file").copied());
                let max = fs::read_to_string(self.memory.join("memory.max"))?;
                r.mem_limit_bytes = max.trim().parse::<u64>().ok();
                if let Ok(text) = fs::read_to_string(self.blkio.join("io.stat")) {
                    (r.counters.blk_read_bytes, r.counters.blk_write_bytes) =
                        parse_io_stat_v2(&text);
                }
            }
        }
        r.pids = read_u64(&self.pids.join("pids.current")).unwrap_or(0);
        if let Some(text) = self
            .net_dev
            .as_ref()
            .and_then(|p| fs::read_to_string(p).ok())
        {
            (r.counters.net_rx_bytes, r.counters.net_tx_bytes) = parse_net_dev(&text);
        }
        Ok(r)
    }
}

fn read_u64(path: &Path) -> io::Result<u64> {
    let text = fs::read_to_string(path)?;
    text.trim().parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
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

/// `key value` lines (memory.stat, cpu.stat).
fn parse_flat_keyed(text: &str) -> HashMap<&str, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k, v.trim().parse().ok()?))
        })
        .collect()
}

/// Sums `MAJ:MIN Read N` / `MAJ:MIN Write N` lines of blkio.throttle.io_service_bytes_recursive.
fn parse_blkio_v1(text: &str) -> (u64, u64) {
    text.lines().fold((0u64, 0u64), |(rd, wr), line| {
        let mut it = line.split_whitespace();
        match (
            it.next(),
            it.next(),
            it.next().and_then(|v| v.parse::<u64>().ok()),
        ) {
            (Some(_dev), Some("Read"), Some(v)) => (rd.saturating_add(v), wr),
            (Some(_dev), Some("Write"), Some(v)) => (rd, wr.saturating_add(v)),
            _ => (rd, wr),
        }
    })
}

/// Sums `rbytes=` and `wbytes=` of cgroup v2 io.stat.
fn parse_io_stat_v2(text: &str) -> (u64, u64) {
    let mut rd = 0u64;
    let mut wr = 0u64;
    for field in text.split_whitespace() {
        if let Some(v) = field
            .strip_prefix("rbytes=")
            .and_then(|v| v.parse::<u64>().ok())
        {
            rd = rd.saturating_add(v);
        } else if let Some(v) = field
            .strip_prefix("wbytes=")
            .and_then(|v| v.parse::<u64>().ok())
        {
            wr = wr.saturating_add(v);
        }
    }
    (rd, wr)
}

/// Sums received and transmitted bytes of every interface but loopback (as `docker stats`).
fn parse_net_dev(text: &str) -> (u64, u64) {
    text.lines().skip(2).fold((0u64, 0u64), |(rx, tx), line| {
        let Some((iface, rest)) = line.split_once(':') else {
            return (rx, tx);
        };
        if iface.trim() == "lo" {
            return (rx, tx);
        }
        let cols: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|c| c.parse().ok())
            .collect();
        match (cols.first(), cols.get(8)) {
            (Some(r), Some(t)) => (rx.saturating_add(*r), tx.saturating_add(*t)),
            _ => (rx, tx),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_cgroup_v1_and_v2_lines() {
        let v1 = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
        let m = parse_proc_cgroup(v1);
        assert_eq!(m.get("memory").map(String::as_str), Some("/docker/abc"));
        assert_eq!(m.get("cpuacct").map(String::as_str), Some("/docker/abc"));
        let v2 = "0::/system.slice/docker-abc.scope\n";
        assert_eq!(
            parse_proc_cgroup(v2).get("").map(String::as_str),
            Some("/system.slice/docker-abc.scope")
        );
    }

    #[test]
    fn blkio_and_io_stat_sum_per_direction() {
        let v1 = "8:0 Read 4096\n8:0 Write 100\n8:16 Read 4\n8:0 Sync 9\nTotal 4200\n";
        assert_eq!(parse_blkio_v1(v1), (4100, 100));
        let v2 = "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=5 wbytes=0 rios=1 wios=0\n";
        assert_eq!(parse_io_stat_v2(v2), (15, 20));
    }

    #[test]
    fn net_dev_skips_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(text), (1000, 2000));
    }

    #[test]
    fn fake_v2_hierarchy_reads_like_the_cli() {
        let dir = std::env::temp_dir().join(format!("dp-cgv2-{}", std::process::id()));
        let cg = dir.join("sys/system.slice/docker-abc.scope");
        fs::create_dir_all(&cg).expect("mkdir");
        fs::write(dir.join("sys/cgroup.controllers"), "cpu memory io pids\n").expect("write");
        fs::write(cg.join("cpu.stat"), "usage_usec 1500\nuser_usec 1000\n").expect("write");
        fs::write(cg.join("memory.current"), "1000\n").expect("write");
        fs::write(cg.join("memory.stat"), "anon 700\ninactive_file 300\n").expect("write");
        fs::write(cg.join("memory.max"), "max\n").expect("write");
        fs::write(cg.join("pids.current"), "3\n").expect("write");
        let fsys = CgroupFs::detect(&dir.join("sys"), &dir.join("proc")).expect("v2 detected");
        assert_eq!(fsys.version(), Version::V2);
        let c = fsys
            .locate("abc", None)
            .expect("located by systemd-driver path");
        let r = c.read().expect("readable");
        assert_eq!(r.counters.cpu_ns, 1_500_000);
        assert_eq!(r.mem_bytes, 700);
        assert_eq!(r.mem_limit_bytes, None);
        assert_eq!(r.pids, 3);
        assert!(fsys.locate("nope", None).is_none());
        let _ = fs::remove_dir_all(&dir);
    }
}
