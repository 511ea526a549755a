//! Per-container metrics: cAdvisor's names, types and labels (`id`, `name`, `image`, opted-in
//! `container_label_*`; on a hub also `node`), so existing dashboards and recording rules work unchanged, and what
//! only DockerPulse knows (forecasts with their intervals, time to the memory limit, failure
//! probability, risk level, anomaly score, the healing breaker).
//!
//! Differences from cAdvisor, on purpose: `id` is `/docker/<full id>` whatever the cgroup
//! driver; counters (CPU seconds, network and block I/O bytes) start when DockerPulse starts
//! watching a container (they are integrated from its per-tick rates, see
//! [`crate::store::live::Totals`]) — `rate()` and `increase()` are what they are for; network
//! and file-system counters are per container, without `interface`/`device` labels.

use crate::state::Shared;
use crate::store::live::{LiveContainer, LiveStore};
use app::wire::RiskLevel;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// cAdvisor reports a CPU quota with its period; DockerPulse knows the ratio (`--cpus`), which
/// it reports over Docker's default period.
const CPU_PERIOD_US: f64 = 100_000.0;

#[derive(Debug)]
pub struct FleetCollector {
    live: Shared<LiveStore>,
    /// (container label key, Prometheus label name).
    labels: Vec<(String, String)>,
}

impl FleetCollector {
    pub fn new(live: Shared<LiveStore>, container_labels: &[String]) -> Self {
        let labels = container_labels
            .iter()
            .map(|k| (k.clone(), super::label_name(k)))
            .collect();
        Self { live, labels }
    }
}

/// One container's label set and the values its metrics come from.
struct Row<'a> {
    labels: Vec<(&'a str, &'a str)>,
    c: &'a LiveContainer,
}

/// Encodes one family: `value` gives a row's value (or none: the row has no such metric).
fn family<'r>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: &'r [Row<'r>],
    value: impl Fn(&'r LiveContainer) -> Option<f64>,
) -> Result<(), std::fmt::Error> {
    let counter = matches!(kind, MetricType::Counter);
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for r in rows {
        let Some(v) = value(r.c).filter(|v| v.is_finite()) else {
            continue;
        };
        let mut f = m.encode_family(&r.labels)?;
        if counter {
            f.encode_counter::<NoLabelSet, f64, f64>(&v, None)?;
        } else {
            f.encode_gauge(&v)?;
        }
    }
    Ok(())
}

/// Like [`family`], with one extra label whose values come from `extra`.
fn family_by<'r, const N: usize>(
    enc: &mut DescriptorEncoder,
    (name, help): (&str, &str),
    rows: &'r [Row<'r>],
    extra: [(&'static str, &'static str); N],
    value: impl Fn(&'r LiveContainer, usize) -> Option<f64>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for r in rows {
        for (i, label) in extra.iter().enumerate() {
            let Some(v) = value(r.c, i).filter(|v| v.is_finite()) else {
                continue;
            };
            let set = (r.labels.as_slice(), [*label]);
            m.encode_family(&set)?.encode_gauge(&v)?;
        }
    }
    Ok(())
}

fn risk_value(l: RiskLevel) -> f64 {
    match l {
        RiskLevel::Low => 0.0,
        RiskLevel::Medium => 1.0,
        RiskLevel::Critical => 2.0,
    }
}

impl Collector for FleetCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use MetricType::{Counter, Gauge};
        let live = self.live.read();
        let containers = live.containers();
        let ids: Vec<String> = containers
            .iter()
            .map(|c| format!("/docker/{}", c.info.id))
            .collect();
        let rows: Vec<Row> = containers
            .iter()
            .zip(&ids)
            .map(|(c, id)| {
                let mut labels = vec![
                    ("id", id.as_str()),
                    ("name", c.info.name.as_str()),
                    ("image", c.info.image.as_str()),
                ];
                // On a hub, which node it runs on (Prometheus' own `instance` is the hub).
                if let Some(node) = &c.info.node {
                    labels.push(("node", node.as_str()));
                }
                for (key, name) in &self.labels {
                    if let Some(v) = c.info.labels.get(key) {
                        labels.push((name.as_str(), v.as_str()));
                    }
                }
                Row { labels, c }
            })
            .collect();
        let rows = rows.as_slice();
        let e = &mut enc;
        let sample = |c: &LiveContainer| c.sample;
        family(
            e,
            "container_cpu_usage_seconds",
            "Cumulative CPU time consumed in seconds",
            Counter,
            rows,
            |c| sample(c).map(|_| c.totals.cpu_seconds),
        )?;
        family(e, "container_memory_working_set_bytes", "Current working set in bytes (memory in use without inactive page cache, as docker stats shows)", Gauge, rows, |c| {
            sample(c).map(|s| s.mem_bytes as f64)
        })?;
        family(
            e,
            "container_spec_memory_limit_bytes",
            "Memory limit for the container (0: none)",
            Gauge,
            rows,
            |c| {
                sample(c).map(|s| {
                    if c.info.mem_limited {
                        s.mem_limit_bytes as f64
                    } else {
                        0.0
                    }
                })
            },
        )?;
        family(
            e,
            "container_spec_cpu_quota",
            "CPU quota of the container (microseconds per period)",
            Gauge,
            rows,
            |c| c.info.cpu_quota_pct.map(|p| p / 100.0 * CPU_PERIOD_US),
        )?;
        family(
            e,
            "container_spec_cpu_period",
            "CPU period of the container (microseconds)",
            Gauge,
            rows,
            |c| c.info.cpu_quota_pct.map(|_| CPU_PERIOD_US),
        )?;
        family(
            e,
            "container_network_receive_bytes",
            "Cumulative count of bytes received",
            Counter,
            rows,
            |c| sample(c).map(|_| c.totals.net_rx_bytes),
        )?;
        family(
            e,
            "container_network_transmit_bytes",
            "Cumulative count of bytes transmitted",
            Counter,
            rows,
            |c| sample(c).map(|_| c.totals.net_tx_bytes),
        )?;
        family(
            e,
            "container_fs_reads_bytes",
            "Cumulative count of bytes read",
            Counter,
            rows,
            |c| sample(c).map(|_| c.totals.fs_read_bytes),
        )?;
        family(
            e,
            "container_fs_writes_bytes",
            "Cumulative count of bytes written",
            Counter,
            rows,
            |c| sample(c).map(|_| c.totals.fs_write_bytes),
        )?;
        family(
            e,
            "container_processes",
            "Number of processes running inside the container",
            Gauge,
            rows,
            |c| sample(c).map(|s| s.pids as f64),
        )?;
        family(
            e,
            "container_start_time_seconds",
            "Start time of the container since unix epoch in seconds",
            Gauge,
            rows,
            |c| c.info.started_at_ms.map(|t| t as f64 / 1000.0),
        )?;
        family(
            e,
            "container_last_seen",
            "Last time a container was seen by the exporter",
            Gauge,
            rows,
            |c| sample(c).map(|s| s.ts_ms as f64 / 1000.0),
        )?;
        self.encode_brain(e, rows)
    }
}

impl FleetCollector {
    /// What the brain says of each container (only those it has assessed).
    fn encode_brain(&self, e: &mut DescriptorEncoder, rows: &[Row]) -> Result<(), std::fmt::Error> {
        use MetricType::Gauge;
        family(
            e,
            "dockerpulse_cpu_forecast_percent",
            "CPU forecast at the horizon (100 = one core)",
            Gauge,
            rows,
            |c| c.assessment.as_ref().map(|a| a.cpu.value),
        )?;
        const INTERVALS: [(&str, &str); 2] = [("interval", "80"), ("interval", "95")];
        family_by(
            e,
            (
                "dockerpulse_cpu_forecast_lower_percent",
                "Lower bound of the CPU forecast's prediction interval",
            ),
            rows,
            INTERVALS,
            |c, i| {
                c.assessment
                    .as_ref()
                    .map(|a| if i == 0 { a.cpu.lo80 } else { a.cpu.lo95 })
            },
        )?;
        family_by(
            e,
            (
                "dockerpulse_cpu_forecast_upper_percent",
                "Upper bound of the CPU forecast's prediction interval",
            ),
            rows,
            INTERVALS,
            |c, i| {
                c.assessment
                    .as_ref()
                    .map(|a| if i == 0 { a.cpu.hi80 } else { a.cpu.hi95 })
            },
        )?;
        family(
            e,
            "dockerpulse_memory_forecast_bytes",
            "Memory forecast at the horizon",
            Gauge,
            rows,
            |c| c.assessment.as_ref().map(|a| a.mem.value),
        )?;
        family(e, "dockerpulse_memory_time_to_limit_seconds", "Seconds until memory reaches its limit at the current trend (absent when not climbing or unlimited)", Gauge, rows, |c| {
            c.assessment.as_ref().and_then(|a| a.time_to_limit_s)
        })?;
        family(
            e,
            "dockerpulse_failure_probability",
            "Probability of failure within the horizon (0-1)",
            Gauge,
            rows,
            |c| c.assessment.as_ref().map(|a| a.failure_probability / 100.0),
        )?;
        family(
            e,
            "dockerpulse_risk_level",
            "Risk semaphore: 0 LOW, 1 MEDIUM, 2 CRITICAL",
            Gauge,
            rows,
            |c| c.assessment.as_ref().map(|a| risk_value(a.level)),
        )?;
        family(
            e,
            "dockerpulse_anomaly_score",
            "Strongest anomaly among the container's metrics (0-1)",
            Gauge,
            rows,
            |c| c.assessment.as_ref().map(|a| a.anomaly),
        )?;
        family(
            e,
            "dockerpulse_healing_breaker_open",
            "1 when healing stopped acting on the container and asks for a human",
            Gauge,
            rows,
            |c| Some(if c.heal.needs_human { 1.0 } else { 0.0 }),
        )?;
        Ok(())
    }
}
