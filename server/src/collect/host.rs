//! Host-wide metrics (CPU, memory, load) through sysinfo.

use app::wire::HostSample;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

/// Keeps sysinfo's state between ticks (CPU usage is a delta between two refreshes).
pub struct HostProbe {
    sys: Option<System>,
    hostname: String,
}

impl HostProbe {
    pub fn new() -> Self {
        let kind = RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing().with_usage())
            .with_memory(MemoryRefreshKind::nothing().with_ram());
        let sys = System::new_with_specifics(kind)
            .map_err(|e| tracing::warn!(error = %e, "host metrics unavailable"))
            .ok();
        let hostname = System::host_name().unwrap_or_else(|_| "unknown".into());
        Self { sys, hostname }
    }

    /// Reads the host now. `None` when sysinfo cannot read this platform.
    pub fn sample(&mut self, ts_ms: i64) -> Option<HostSample> {
        let sys = self.sys.as_mut()?;
        sys.refresh_cpu_usage();
        sys.refresh_memory();
        let load = System::load_average().unwrap_or_default();
        Some(HostSample {
            ts_ms,
            hostname: self.hostname.clone(),
            cpu_pct: f64::from(sys.global_cpu_usage()),
            cpus: u32::try_from(sys.cpus().len()).unwrap_or(u32::MAX),
            mem_used_bytes: sys.used_memory(),
            mem_total_bytes: sys.total_memory(),
            load1: load.one,
            load5: load.five,
            load15: load.fifteen,
        })
    }

    /// Total memory, for containers without a memory limit (the docker CLI shows the host's).
    pub fn total_memory(&self) -> u64 {
        self.sys.as_ref().map_or(0, System::total_memory)
    }

    pub fn cpus(&self) -> u32 {
        self.sys
            .as_ref()
            .map_or(1, |s| u32::try_from(s.cpus().len()).unwrap_or(1).max(1))
    }
}

impl Default for HostProbe {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_host() {
        let mut probe = HostProbe::new();
        let s = probe.sample(1).expect("linux host is readable");
        assert!(s.cpus >= 1);
        assert!(s.mem_total_bytes > 0 && s.mem_used_bytes <= s.mem_total_bytes);
        assert!((0.0..=100.0).contains(&s.cpu_pct));
    }
}
