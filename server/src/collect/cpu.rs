//! Metric arithmetic shared by every reader: CPU %, memory and per-second rates computed exactly
//! the way the docker CLI computes them, from cumulative counters. Pure functions.

use bollard::models::ContainerStatsResponse;

/// Cumulative counters of one container at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// When the counters were read, in nanoseconds on a monotonic clock.
    pub at_ns: u64,
    /// CPU time used by the container, nanoseconds.
    pub cpu_ns: u64,
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    pub blk_read_bytes: u64,
    pub blk_write_bytes: u64,
}

/// Per-second rates between two readings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rates {
    pub cpu_pct: f64,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
    pub blk_read_bps: f64,
    pub blk_write_bps: f64,
}

/// Rates between two readings. A counter that went backwards (the container restarted and its
/// cgroup is new) reads as zero for that interval rather than as a huge negative spike.
pub fn rates(prev: &Counters, cur: &Counters) -> Rates {
    let dt_ns = cur.at_ns.saturating_sub(prev.at_ns);
    if dt_ns == 0 {
        return Rates::default();
    }
    let secs = dt_ns as f64 / 1e9;
    let per_s = |a: u64, b: u64| b.checked_sub(a).map_or(0.0, |d| d as f64 / secs);
    Rates {
        // 100 % is one core: CPU-ns per wall-ns, times 100.
        cpu_pct: cur
            .cpu_ns
            .checked_sub(prev.cpu_ns)
            .map_or(0.0, |d| d as f64 / dt_ns as f64 * 100.0),
        net_rx_bps: per_s(prev.net_rx_bytes, cur.net_rx_bytes),
        net_tx_bps: per_s(prev.net_tx_bytes, cur.net_tx_bytes),
        blk_read_bps: per_s(prev.blk_read_bytes, cur.blk_read_bytes),
        blk_write_bps: per_s(prev.blk_write_bytes, cur.blk_write_bytes),
    }
}

/// Memory in use as the docker CLI reports it: usage minus the inactive page cache (cgroup v1
/// calls it `total_inactive_file`, v2 `inactive_file`).
pub fn cli_memory(usage: u64, total_inactive_file: Option<u64>, inactive_file: Option<u64>) -> u64 {
    match (total_inactive_file, inactive_file) {
        (Some(v), _) if v < usage => usage - v,
        (None, Some(v)) if v < usage => usage - v,
        _ => usage,
    }
}

/// A cgroup v1 memory limit this large means "unlimited" (the kernel's page-rounded i64::MAX).
pub fn is_unlimited_memory(limit: u64) -> bool {
    limit >= 0x7FFF_FFFF_FFFF_F000 || limit == 0
}

/// CPU % of one stats response exactly as `docker stats` computes it: the container's CPU delta
/// over the system's CPU delta, times the number of online CPUs.
pub fn cli_cpu_percent(stats: &ContainerStatsResponse) -> f64 {
    let (Some(cpu), Some(pre)) = (&stats.cpu_stats, &stats.precpu_stats) else {
        return 0.0;
    };
    // The first response of a stream has no previous reading: nothing to compare with.
    if pre.system_cpu_usage.unwrap_or(0) == 0 {
        return 0.0;
    }
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(cpu).saturating_sub(total(pre));
    let system_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0));
    let online = cpu.online_cpus.map(f64::from).unwrap_or_else(|| {
        cpu.cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map_or(1.0, |v| v.len().max(1) as f64)
    });
    if system_delta == 0 || cpu_delta == 0 {
        return 0.0;
    }
    cpu_delta as f64 / system_delta as f64 * online * 100.0
}

/// Memory (CLI convention) and the raw limit of one stats response.
pub fn stats_memory(stats: &ContainerStatsResponse) -> (u64, u64) {
    let Some(m) = &stats.memory_stats else {
        return (0, 0);
    };
    let usage = m.usage.unwrap_or(0);
    let get = |k: &str| m.stats.as_ref().and_then(|s| s.get(k).copied());
    (
        cli_memory(usage, get("total_inactive_file"), get("inactive_file")),
        m.limit.unwrap_or(0),
    )
}

/// Cumulative network and block counters of one stats response (for rates between responses).
pub fn stats_io_totals(stats: &ContainerStatsResponse) -> (u64, u64, u64, u64) {
    let (rx, tx) = stats.networks.as_ref().map_or((0, 0), |nets| {
        nets.values().fold((0u64, 0u64), |(rx, tx), n| {
            (
                rx.saturating_add(n.rx_bytes.unwrap_or(0)),
                tx.saturating_add(n.tx_bytes.unwrap_or(0)),
            )
        })
    });
    let (rd, wr) = stats
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .map_or((0, 0), |entries| {
            entries.iter().fold((0u64, 0u64), |(rd, wr), e| {
                let v = e.value.unwrap_or(0);
                match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("read") => (rd.saturating_add(v), wr),
                    Some("write") => (rd, wr.saturating_add(v)),
                    _ => (rd, wr),
                }
            })
        });
    (rx, tx, rd, wr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};
    use std::collections::HashMap;

    fn cpu(total: u64, system: u64) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn cpu_percent_follows_the_cli_formula() {
        // One full core on a 2-CPU host: the container used 1 s of CPU while the system's two
        // CPUs advanced 2 s in total.
        let stats = ContainerStatsResponse {
            cpu_stats: Some(cpu(2_000_000_000, 12_000_000_000)),
            precpu_stats: Some(cpu(1_000_000_000, 10_000_000_000)),
            ..Default::default()
        };
        assert!((cli_cpu_percent(&stats) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn cpu_percent_is_zero_without_a_previous_reading() {
        let stats = ContainerStatsResponse {
            cpu_stats: Some(cpu(5, 5)),
            precpu_stats: Some(ContainerCpuStats::default()),
            ..Default::default()
        };
        assert_eq!(cli_cpu_percent(&stats), 0.0);
        assert_eq!(cli_cpu_percent(&ContainerStatsResponse::default()), 0.0);
    }

    #[test]
    fn memory_subtracts_inactive_page_cache_like_the_cli() {
        assert_eq!(cli_memory(100, Some(30), Some(99)), 70, "v1 key wins");
        assert_eq!(cli_memory(100, None, Some(40)), 60, "v2 key");
        assert_eq!(cli_memory(100, None, None), 100);
        assert_eq!(cli_memory(100, Some(150), None), 100, "never underflows");
        let stats = ContainerStatsResponse {
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(1000),
                limit: Some(64 << 20),
                stats: Some(HashMap::from([("total_inactive_file".to_string(), 200)])),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(stats_memory(&stats), (800, 64 << 20));
    }

    #[test]
    fn rates_are_per_second_and_survive_counter_resets() {
        let a = Counters {
            at_ns: 0,
            cpu_ns: 0,
            net_rx_bytes: 1000,
            ..Default::default()
        };
        let b = Counters {
            at_ns: 2_000_000_000,
            cpu_ns: 1_000_000_000,
            net_rx_bytes: 3000,
            ..Default::default()
        };
        let r = rates(&a, &b);
        assert!((r.cpu_pct - 50.0).abs() < 1e-9);
        assert!((r.net_rx_bps - 1000.0).abs() < 1e-9);
        let restarted = Counters {
            at_ns: 3_000_000_000,
            ..Default::default()
        };
        assert_eq!(rates(&b, &restarted), Rates::default());
    }

    #[test]
    fn unlimited_memory_is_recognised() {
        assert!(is_unlimited_memory(9_223_372_036_854_771_712));
        assert!(!is_unlimited_memory(64 << 20));
    }
}
