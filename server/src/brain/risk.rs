//! Failure probability for the next horizon, and the plain-words reasons behind it.
//!
//! Each risk factor yields its own probability of failing within the horizon; they are combined
//! as independent causes (`P = 1 − Π(1 − pᵢ)`, a noisy-OR), so the result stays in [0, 1] and a
//! single certain cause makes the whole certain. The factors:
//!
//! * **CPU saturation**: P(CPU at t+h ≥ `saturation_frac` × capacity) under the forecast's
//!   predictive law (a normal as wide as both published intervals). A container pinned at its
//!   quota with a rising forecast gets close to 1; a steady moderately busy one close to 0.
//! * **Memory exhaustion**: P(memory at t+h ≥ limit), from the forecast and from the current
//!   significant trend (whichever is higher), so a leak a few seconds from its limit is near 1.
//! * **Anomaly**: `anomaly_weight` × the strongest metric's anomaly level (0–1). Unusual is not
//!   failing, so this alone stays below the healing threshold by default.
//! * **Restarts / OOM kills** in the event window: `1 − 0.6ⁿ` and `1 − 0.4ⁿ`, capped at 0.9.

use app::wire::Reason;

use super::forecast::Prediction;
use super::stats::normal_sf;

/// One metric's anomaly reading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricAnomaly {
    pub name: &'static str,
    pub z: f64,
    pub level: f64,
}

/// Everything the risk model reads.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskInputs {
    pub horizon_s: f64,
    pub cpu: Option<Prediction>,
    pub cpu_capacity_pct: Option<f64>,
    pub saturation_frac: f64,
    pub mem: Option<Prediction>,
    pub mem_now: Option<f64>,
    pub mem_limit: Option<f64>,
    /// Significant memory trend in bytes/s (None when not significant).
    pub mem_slope: Option<f64>,
    pub time_to_limit_s: Option<f64>,
    pub anomalies: Vec<MetricAnomaly>,
    pub anomaly_weight: f64,
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
    let mut parts: Vec<(f64, String)> = Vec::new();
    let h = inp.horizon_s;

    if let (Some(p), Some(cap)) = (inp.cpu, inp.cpu_capacity_pct) {
        if cap.is_finite() && cap > 0.0 {
            let thr = inp.saturation_frac.clamp(0.1, 1.0) * cap;
            let pr = prob_at_least(p.value, p.sigma(), thr);
            parts.push((
                pr,
                format!(
                    "CPU forecast {} in {h:.0} s (95 % interval {}–{}) against a {} quota",
                    fmt_pct(p.value),
                    fmt_pct((p.value - p.half95).max(0.0)),
                    fmt_pct(p.value + p.half95),
                    fmt_pct(cap)
                ),
            ));
        }
    }

    if let (Some(limit), Some(now)) = (inp.mem_limit, inp.mem_now) {
        let sigma = inp.mem.map(|p| p.sigma()).unwrap_or(0.0);
        let by_forecast = inp.mem.map_or(0.0, |p| prob_at_least(p.value, sigma, limit));
        let by_trend = inp
            .mem_slope
            .map_or(0.0, |s| prob_at_least(now + s * h, sigma, limit));
        let pr = by_forecast.max(by_trend);
        let text = match (inp.time_to_limit_s, inp.mem_slope) {
            (Some(t), _) if t <= 0.0 => {
                format!("memory at its {} limit ({})", fmt_bytes(limit), fmt_bytes(now))
            }
            (Some(t), Some(s)) => format!(
                "memory reaches its {} limit in ~{t:.0} s at +{}/s",
                fmt_bytes(limit),
                fmt_bytes(s)
            ),
            _ => format!(
                "memory {} of its {} limit ({:.0} %)",
                fmt_bytes(now),
                fmt_bytes(limit),
                100.0 * now / limit
            ),
        };
        parts.push((pr, text));
    }

    let weight = inp.anomaly_weight.clamp(0.0, 1.0);
    for a in &inp.anomalies {
        if a.z.abs() >= inp.z_reason && a.z.is_finite() {
            let dir = if a.z > 0.0 { "above" } else { "below" };
            parts.push((
                weight * a.level.clamp(0.0, 1.0),
                format!("{} {:.1}σ {dir} its baseline", a.name, a.z.abs()),
            ));
        }
    }

    let mins = inp.event_window_s / 60.0;
    if inp.restarts > 0 {
        let pr = (1.0 - 0.6f64.powf(inp.restarts as f64)).min(0.9);
        parts.push((
            pr,
            format!("restarted {} in the last {mins:.0} min", plural(inp.restarts)),
        ));
    }
    if inp.ooms > 0 {
        let pr = (1.0 - 0.4f64.powf(inp.ooms as f64)).min(0.9);
        parts.push((
            pr,
            format!("OOM-killed {} in the last {mins:.0} min", plural(inp.ooms)),
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
        .map(|(weight, text)| Reason { weight, text })
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
            half80: half95 * 1.2816 / 1.96,
            half95,
            candidates: [v; 5],
        }
    }

    fn base() -> RiskInputs {
        RiskInputs {
            horizon_s: 10.0,
            cpu: None,
            cpu_capacity_pct: None,
            saturation_frac: 0.95,
            mem: None,
            mem_now: None,
            mem_limit: None,
            mem_slope: None,
            time_to_limit_s: None,
            anomalies: vec![],
            anomaly_weight: 0.5,
            z_reason: 3.0,
            restarts: 0,
            ooms: 0,
            event_window_s: 300.0,
        }
    }

    #[test]
    fn pinned_cpu_is_critical_and_moderate_is_low() {
        let mut i = base();
        i.cpu = Some(pred(99.0, 4.0));
        i.cpu_capacity_pct = Some(100.0);
        let r = assess(&i);
        assert!(r.probability_pct >= 85.0, "{r:?}");
        assert!(r.reasons[0].text.starts_with("CPU forecast 99 % in 10 s"), "{r:?}");
        i.cpu = Some(pred(55.0, 15.0));
        assert!(assess(&i).probability_pct < 5.0);
    }

    #[test]
    fn memory_near_limit_with_trend_is_critical() {
        let mut i = base();
        let mib = 1024.0 * 1024.0;
        i.mem = Some(pred(60.0 * mib, 2.0 * mib));
        i.mem_now = Some(58.0 * mib);
        i.mem_limit = Some(64.0 * mib);
        i.mem_slope = Some(3.1 * mib);
        i.time_to_limit_s = Some(6.0 / 3.1);
        let r = assess(&i);
        assert!(r.probability_pct >= 85.0, "{r:?}");
        assert_eq!(
            r.reasons[0].text,
            "memory reaches its 64.0 MiB limit in ~2 s at +3.1 MiB/s"
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
            level: 0.8,
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
        i.cpu = Some(pred(f64::NAN, f64::INFINITY));
        i.cpu_capacity_pct = Some(f64::INFINITY);
        i.mem = Some(pred(f64::INFINITY, f64::NAN));
        i.mem_now = Some(f64::NAN);
        i.mem_limit = Some(0.0);
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
