//! The risk factors and the plain-words reasons behind the failure probability.
//!
//! Each factor has its own strength, which orders the reasons (the probability itself is the
//! calibrated mapping of [`super::calibration`]; the noisy-OR `1 − Π(1 − pᵢ)` of these strengths
//! is kept only as a summary for tests and diagnostics):
//!
//! * **CPU saturation**: P(CPU at t+h ≥ saturation × capacity), computed by the forecaster from
//!   the forecast and its recent realised errors.
//! * **Memory exhaustion**: P(memory at t+h ≥ limit), from the forecast and from the current
//!   significant trend (whichever is higher), so a leak a few seconds from its limit is near 1.
//! * **Anomaly**: the metric's anomaly score (0–1), named from |z| ≥ `z_reason`.
//! * **Restarts / OOM kills** in the event window: `1 − 0.6ⁿ` and `1 − 0.4ⁿ`, capped at 0.9.

use app::wire::Reason;

use super::forecast::Prediction;
use super::stats::normal_sf;

/// One metric's anomaly reading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricAnomaly {
    pub name: &'static str,
    pub z: f64,
    /// The detector's score (0–1), the output `eval nab` scores.
    pub score: f64,
}

/// CPU saturation factor: the forecast, the capacity it is measured against, and the
/// probability (computed by the forecaster from its realised errors) of reaching saturation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuRisk {
    pub forecast: Prediction,
    pub capacity_pct: f64,
    /// The capacity is the container's quota (else the host's cores).
    pub quota: bool,
    pub probability: f64,
}

/// Memory exhaustion factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemRisk {
    pub now: f64,
    pub limit: f64,
    /// Significant upward trend in bytes/s.
    pub slope: Option<f64>,
    pub time_to_limit_s: Option<f64>,
    /// Probability of reaching the limit within the horizon.
    pub probability: f64,
}

/// Everything the risk model reads.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskInputs {
    pub horizon_s: f64,
    pub cpu: Option<CpuRisk>,
    pub mem: Option<MemRisk>,
    pub anomalies: Vec<MetricAnomaly>,
    /// |z| from which an anomaly is worth a reason.
    pub z_reason: f64,
    pub restarts: u64,
    pub ooms: u64,
    pub event_window_s: f64,
}

/// The verdict: probability in percent and reasons ordered by weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Risk {
    pub probability_pct: f64,
    pub reasons: Vec<Reason>,
}

/// P(Y ≥ threshold) for Y ~ N(mean, sigma²); a step function when sigma is 0.
pub fn prob_at_least(mean: f64, sigma: f64, threshold: f64) -> f64 {
    if !(mean.is_finite() && threshold.is_finite()) {
        return 0.0;
    }
    if sigma.is_finite() && sigma > 0.0 {
        normal_sf((threshold - mean) / sigma).clamp(0.0, 1.0)
    } else if mean >= threshold {
        1.0
    } else {
        0.0
    }
}

/// Human-readable bytes (binary units).
pub fn fmt_bytes(b: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b.abs();
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    let sign = if b < 0.0 { "-" } else { "" };
    if v >= 100.0 || i == 0 {
        format!("{sign}{v:.0} {}", units[i])
    } else {
        format!("{sign}{v:.1} {}", units[i])
    }
}

fn fmt_pct(x: f64) -> String {
    format!("{x:.0} %")
}

fn plural(n: u64) -> String {
    format!("{n}×")
}

/// Combines the factors into a probability and reasons.
pub fn assess(inp: &RiskInputs) -> Risk {
    // Texts are rendered only for reasons that are kept (formatting dominates the cost).
    type Text<'a> = Box<dyn FnOnce() -> String + 'a>;
    let mut parts: Vec<(f64, Text)> = Vec::with_capacity(8);
    let h = inp.horizon_s;

    if let Some(c) = inp.cpu {
        let p = c.forecast;
        parts.push((
            c.probability,
            Box::new(move || {
                let against = if c.quota {
                    format!("a {} quota", fmt_pct(c.capacity_pct))
                } else {
                    format!("the host's {} (no quota)", fmt_pct(c.capacity_pct))
                };
                format!(
                    "CPU forecast {} in {h:.0} s (95 % interval {}–{}) against {against}",
                    fmt_pct(p.value),
                    fmt_pct(p.lo95.max(0.0)),
                    fmt_pct(p.hi95),
                )
            }),
        ));
    }

    if let Some(m) = inp.mem {
        let text = move || match (m.time_to_limit_s, m.slope) {
            (Some(t), _) if t <= 0.0 => format!(
                "memory at its {} limit ({})",
                fmt_bytes(m.limit),
                fmt_bytes(m.now)
            ),
            (Some(t), Some(s)) => format!(
                "memory reaches its {} limit in ~{} at +{}/s",
                fmt_bytes(m.limit),
                app::format::duration_s(t),
                fmt_bytes(s)
            ),
            _ => format!(
                "memory {} of its {} limit ({:.0} %)",
                fmt_bytes(m.now),
                fmt_bytes(m.limit),
                100.0 * m.now / m.limit
            ),
        };
        parts.push((m.probability, Box::new(text)));
    }

    for a in &inp.anomalies {
        if a.z.abs() >= inp.z_reason && a.z.is_finite() {
            let dir = if a.z > 0.0 { "above" } else { "below" };
            parts.push((
                if a.score.is_finite() {
                    a.score.clamp(0.0, 1.0)
                } else {
                    0.0
                },
                Box::new(move || format!("{} {:.1}σ {dir} its baseline", a.name, a.z.abs())),
            ));
        }
    }

    let mins = inp.event_window_s / 60.0;
    if inp.restarts > 0 {
        let pr = (1.0 - 0.6f64.powf(inp.restarts as f64)).min(0.9);
        parts.push((
            pr,
            Box::new(move || {
                format!(
                    "restarted {} in the last {mins:.0} min",
                    plural(inp.restarts)
                )
            }),
        ));
    }
    if inp.ooms > 0 {
        let pr = (1.0 - 0.4f64.powf(inp.ooms as f64)).min(0.9);
        parts.push((
            pr,
            Box::new(move || format!("OOM-killed {} in the last {mins:.0} min", plural(inp.ooms))),
        ));
    }

    let mut survive = 1.0;
    for (p, _) in &mut parts {
        if !p.is_finite() {
            *p = 0.0;
        }
        *p = p.clamp(0.0, 1.0);
        survive *= 1.0 - *p;
    }
    let probability_pct = (100.0 * (1.0 - survive)).clamp(0.0, 100.0);
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let reasons = parts
        .into_iter()
        .filter(|(p, _)| *p >= 0.01)
        .map(|(weight, text)| Reason {
            weight,
            text: text(),
        })
        .collect();
    Risk {
        probability_pct,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(v: f64, half95: f64) -> Prediction {
        Prediction {
            value: v,
            lo80: v - half95 * 0.65,
            hi80: v + half95 * 0.65,
            lo95: v - half95,
            hi95: v + half95,
            candidates: [v; 5],
            trend: v,
            trend_gate: 0.0,
        }
    }

    fn base() -> RiskInputs {
        RiskInputs {
            horizon_s: 10.0,
            cpu: None,
            mem: None,
            anomalies: vec![],
            z_reason: 3.0,
            restarts: 0,
            ooms: 0,
            event_window_s: 300.0,
        }
    }

    #[test]
    fn cpu_reason_reads_like_the_issue() {
        let mut i = base();
        i.cpu = Some(CpuRisk {
            forecast: pred(97.0, 8.0),
            capacity_pct: 100.0,
            quota: true,
            probability: 0.9,
        });
        let r = assess(&i);
        assert!((r.probability_pct - 90.0).abs() < 1e-9, "{r:?}");
        assert_eq!(
            r.reasons[0].text,
            "CPU forecast 97 % in 10 s (95 % interval 89 %–105 %) against a 100 % quota"
        );
    }

    #[test]
    fn without_a_quota_the_reason_names_the_host() {
        let mut i = base();
        i.cpu = Some(CpuRisk {
            forecast: pred(190.0, 8.0),
            capacity_pct: 200.0,
            quota: false,
            probability: 0.9,
        });
        assert_eq!(
            assess(&i).reasons[0].text,
            "CPU forecast 190 % in 10 s (95 % interval 182 %–198 %) against the host's 200 % (no quota)"
        );
    }

    #[test]
    fn memory_reason_reads_like_the_issue() {
        let mut i = base();
        let mib = 1024.0 * 1024.0;
        i.mem = Some(MemRisk {
            now: 42.0 * mib,
            limit: 64.0 * mib,
            slope: Some(3.1 * mib),
            time_to_limit_s: Some(22.0 / 3.1),
            probability: 0.95,
        });
        let r = assess(&i);
        assert_eq!(
            r.reasons[0].text,
            "memory reaches its 64.0 MiB limit in ~7 s at +3.1 MiB/s"
        );
        assert!(r.probability_pct >= 85.0);
        // Far-off limits read in hours, as on the cards.
        i.mem = Some(MemRisk {
            time_to_limit_s: Some(29_812.0),
            slope: Some(8.8 * 1024.0),
            ..i.mem.expect("set above")
        });
        assert_eq!(
            assess(&i).reasons[0].text,
            "memory reaches its 64.0 MiB limit in ~8.3 h at +8.8 KiB/s"
        );
    }

    #[test]
    fn events_and_anomalies_have_reasons_in_weight_order() {
        let mut i = base();
        i.restarts = 2;
        i.ooms = 1;
        i.anomalies = vec![MetricAnomaly {
            name: "CPU",
            z: 6.2,
            score: 0.3,
        }];
        let r = assess(&i);
        let texts: Vec<_> = r.reasons.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "restarted 2× in the last 5 min",
                "OOM-killed 1× in the last 5 min",
                "CPU 6.2σ above its baseline"
            ]
        );
        assert!(r.reasons.windows(2).all(|w| w[0].weight >= w[1].weight));
        assert!(r.probability_pct > 80.0 && r.probability_pct <= 100.0);
    }

    #[test]
    fn calm_is_zero_and_hostile_is_finite() {
        assert_eq!(assess(&base()).probability_pct, 0.0);
        let mut i = base();
        i.cpu = Some(CpuRisk {
            forecast: pred(f64::NAN, f64::INFINITY),
            capacity_pct: f64::INFINITY,
            quota: false,
            probability: f64::NAN,
        });
        i.anomalies = vec![MetricAnomaly {
            name: "CPU",
            z: f64::INFINITY,
            score: f64::NAN,
        }];
        let r = assess(&i);
        assert!(r.probability_pct.is_finite());
    }

    #[test]
    fn bytes_format() {
        assert_eq!(fmt_bytes(64.0 * 1024.0 * 1024.0), "64.0 MiB");
        assert_eq!(fmt_bytes(512.0), "512 B");
        assert_eq!(fmt_bytes(3.0 * 1024.0 * 1024.0 * 1024.0 * 200.0), "600 GiB");
    }
}
