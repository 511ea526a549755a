//! Rendering a report to one self-contained HTML file (inline CSS and SVG, no scripts) through
//! an askama template, which escapes every value by default: container names, labels, reasons
//! and engine messages are hostile input and come out inert.

use super::chain::{self, PLACEHOLDER};
use super::charts::{self, ChartError, Mark};
use super::facts::ReportFacts;
use app::wire::{HealAction, HealMode, Intervention};
use askama::Template;
use chrono::{DateTime, FixedOffset, Utc};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

/// A row of a two-column table.
pub struct Row {
    pub key: &'static str,
    pub value: String,
}

pub struct InterventionRow {
    pub when: String,
    pub action: &'static str,
    pub mode: &'static str,
    pub manual: bool,
    pub outcome: &'static str,
    pub reason: String,
    pub detail: String,
    pub latency: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    f: &'a ReportFacts,
    title: String,
    seal: &'a str,
    seal_kind: &'static str,
    summary: Vec<Row>,
    snapshot: Vec<Row>,
    labels: Vec<Row>,
    reasons: Vec<(String, String)>,
    interventions: Vec<InterventionRow>,
    prior: Vec<InterventionRow>,
    cpu_svg: String,
    mem_svg: String,
    own_hash: &'static str,
    previous_hash: &'a str,
    generated: String,
    causes: Vec<super::causes::CauseRow>,
}

/// Milliseconds as `2026-11-26 10:32:21.184 UTC (11:32:21.184 +01:00 local)`.
pub fn timestamp(ms: i64, local: FixedOffset) -> String {
    let Some(utc) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return format!("{ms} ms");
    };
    let loc = utc.with_timezone(&local);
    format!(
        "{} UTC ({} local)",
        utc.format("%Y-%m-%d %H:%M:%S%.3f"),
        loc.format("%Y-%m-%d %H:%M:%S%.3f %:z")
    )
}

/// `1 h 02 min 03.456 s`.
pub fn duration(ms: i64) -> String {
    let total = ms.max(0);
    let (h, rest) = (total / 3_600_000, total % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let s = rest as f64 / 1000.0;
    match (h, m) {
        (0, 0) => format!("{s:.3} s"),
        (0, m) => format!("{m} min {s:06.3} s"),
        (h, m) => format!("{h} h {m:02} min {s:06.3} s"),
    }
}

fn mib(b: f64) -> String {
    format!("{:.1} MiB", b / (1024.0 * 1024.0))
}

fn rate(bps: f64) -> String {
    if bps >= 1024.0 * 1024.0 {
        format!("{:.1} MiB/s", bps / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB/s", bps / 1024.0)
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.filter(|x| x.is_finite()).map_or_else(|| "—".into(), f)
}

fn intervention_row(i: &Intervention, local: FixedOffset) -> InterventionRow {
    InterventionRow {
        when: timestamp(i.decided_ms, local),
        action: i.action.as_str(),
        mode: match i.mode {
            HealMode::DryRun => "dry-run",
            HealMode::Enforce => "enforced",
        },
        manual: i.manual,
        outcome: i.outcome.as_str(),
        reason: i.reason.clone(),
        detail: i.detail.clone().unwrap_or_default(),
        latency: match (i.started_ms, i.finished_ms) {
            (Some(s), Some(f)) => format!("call after {} ms, took {} ms", s - i.decided_ms, f - s),
            _ => String::new(),
        },
    }
}

/// Renders the report and seals it. Returns the HTML and its hash.
pub fn render(
    f: &ReportFacts,
    previous_hash: &str,
    local: FixedOffset,
) -> Result<(String, String), RenderError> {
    let inc = &f.incident;
    let marks: Vec<Mark> = f
        .interventions
        .iter()
        .filter(|i| i.outcome.is_intervention())
        .map(|i| Mark {
            ts_ms: i.decided_ms,
            label: match (i.action, i.mode) {
                (HealAction::Restart, HealMode::Enforce) => "restart",
                (HealAction::Restart, HealMode::DryRun) => "restart (dry-run)",
                (a, HealMode::Enforce) => a.as_str(),
                (_, HealMode::DryRun) => "action (dry-run)",
            },
        })
        .collect();
    let cpu_svg = charts::cpu_chart(
        &f.samples,
        inc.opened_ms,
        f.horizon_s,
        inc.cpu_quota_pct,
        &marks,
    )?;
    let mem_svg = charts::memory_chart(&f.samples, inc.opened_ms, &marks)?;

    let summary = vec![
        Row {
            key: "Incident",
            value: inc.id.clone(),
        },
        Row {
            key: "Container",
            value: inc.container_name.clone(),
        },
        Row {
            key: "Container id",
            value: inc.container_id.clone(),
        },
        Row {
            key: "Image",
            value: inc.image.clone(),
        },
        Row {
            key: "Host",
            value: inc.host.clone(),
        },
        Row {
            key: "Docker engine",
            value: inc.engine_version.clone(),
        },
        Row {
            key: "Opened",
            value: timestamp(inc.opened_ms, local),
        },
        Row {
            key: "Closed",
            value: inc
                .closed_ms
                .map_or_else(|| "still open".into(), |c| timestamp(c, local)),
        },
        Row {
            key: "Duration",
            value: f.duration_ms.map_or_else(|| "ongoing".into(), duration),
        },
        Row {
            key: "Trigger",
            value: inc.trigger.clone(),
        },
        Row {
            key: "Risk reached",
            value: format!(
                "{} ({:.0} % failure probability)",
                inc.peak_level.as_str(),
                inc.peak_probability
            ),
        },
        Row {
            key: "Closed because",
            value: inc.close_reason.clone().unwrap_or_else(|| "—".into()),
        },
    ];
    let snapshot = match &f.snapshot {
        None => Vec::new(),
        Some(p) => {
            let s = &p.sample;
            let z = p.z.unwrap_or_default();
            vec![
                Row {
                    key: "At",
                    value: timestamp(s.ts_ms, local),
                },
                Row {
                    key: "CPU",
                    value: format!("{:.1} %", s.cpu_pct),
                },
                Row {
                    key: "CPU forecast (t+10 s)",
                    value: format!(
                        "{} (80 %: {} – {}; 95 %: {} – {})",
                        opt(p.cpu_forecast, |v| format!("{v:.1} %")),
                        opt(p.cpu_lo80, |v| format!("{v:.1} %")),
                        opt(p.cpu_hi80, |v| format!("{v:.1} %")),
                        opt(p.cpu_lo95, |v| format!("{v:.1} %")),
                        opt(p.cpu_hi95, |v| format!("{v:.1} %"))
                    ),
                },
                Row {
                    key: "CPU quota",
                    value: opt(inc.cpu_quota_pct, |v| format!("{v:.0} % of a core")),
                },
                Row {
                    key: "Memory / limit",
                    value: format!(
                        "{} / {} ({:.1} %)",
                        mib(s.mem_bytes as f64),
                        mib(s.mem_limit_bytes as f64),
                        if s.mem_limit_bytes > 0 {
                            s.mem_bytes as f64 / s.mem_limit_bytes as f64 * 100.0
                        } else {
                            0.0
                        }
                    ),
                },
                Row {
                    key: "Memory forecast (t+10 s)",
                    value: opt(p.mem_forecast, mib),
                },
                Row {
                    key: "Time to memory limit",
                    value: opt(p.time_to_limit_s, |t| format!("{t:.0} s")),
                },
                Row {
                    key: "Network rx / tx",
                    value: format!("{} / {}", rate(s.net_rx_bps), rate(s.net_tx_bps)),
                },
                Row {
                    key: "Block read / write",
                    value: format!("{} / {}", rate(s.blk_read_bps), rate(s.blk_write_bps)),
                },
                Row {
                    key: "Processes (PIDs)",
                    value: s.pids.to_string(),
                },
                Row {
                    key: "z-scores (CPU, memory, network, PIDs)",
                    value: format!("{:.1}, {:.1}, {:.1}, {:.1}", z.cpu, z.mem, z.net, z.pids),
                },
                Row {
                    key: "Failure probability",
                    value: opt(p.failure_probability, |v| format!("{v:.1} %")),
                },
            ]
        }
    };
    let labels = inc
        .labels
        .iter()
        .map(|(k, v)| Row {
            key: "label",
            value: format!("{k}={v}"),
        })
        .collect();
    let page = Page {
        f,
        title: format!("Incident report — {}", inc.container_name),
        seal: &f.seal.label,
        seal_kind: f.seal.kind,
        summary,
        snapshot,
        labels,
        reasons: inc
            .reasons
            .iter()
            .map(|r| (format!("{:.0} %", r.weight * 100.0), r.text.clone()))
            .collect(),
        interventions: f
            .interventions
            .iter()
            .map(|i| intervention_row(i, local))
            .collect(),
        prior: f
            .prior_interventions
            .iter()
            .map(|i| intervention_row(i, local))
            .collect(),
        cpu_svg,
        mem_svg,
        own_hash: PLACEHOLDER,
        previous_hash,
        generated: timestamp(f.generated_ms, local),
        causes: super::causes::rows(&f.diagnoses, local),
    };
    let html = page.render()?;
    Ok(chain::seal(&html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_read_well() {
        let cet = FixedOffset::east_opt(3600).expect("offset");
        assert_eq!(
            timestamp(1_795_689_141_184, cet),
            "2026-11-26 10:32:21.184 UTC (2026-11-26 11:32:21.184 +01:00 local)"
        );
        assert_eq!(duration(1_234), "1.234 s");
        assert_eq!(duration(125_500), "2 min 05.500 s");
        assert_eq!(duration(3_723_000), "1 h 02 min 03.000 s");
    }
}
