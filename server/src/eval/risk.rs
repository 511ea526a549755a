//! `dockerpulse eval risk`: is the failure probability calibrated, and what do its alarms cost?
//!
//! Replays every container of the recorded trace sets under `--data` through the brain exactly
//! as configured for `serve`, labels every sample (after warm-up, where the recording covers the
//! next [`EVENT_HORIZON_S`]) with the event of [`crate::brain::calibration`], and reports the
//! Brier score, its skill against always saying the base rate, the expected calibration error
//! (10 equal-width bins) and a reliability diagram (SVG). With `--fit DIR` it first fits the
//! logistic mapping on `DIR`'s samples and measures that fit instead (printing it as the
//! `[brain.risk]` TOML to deploy). Alongside: CRITICAL entries per container-day of containers
//! that never failed, and the lead time before each OOM kill against the leak's fill time.

use std::fmt;
use std::fmt::Write as _;
use std::path::Path;

use crate::brain::calibration::{RiskModel, EVENT_HORIZON_S, FEATURE_NAMES, N_FEATURES};
use crate::brain::BrainConfig;

use super::labels::{
    critical_entries, failures, label_steps, leak_leads, recording_end, replay_steps, LeakLead,
};
use super::traces::{find_trace_dirs, read_trace_dir};
use super::EvalError;

/// The traces were recorded on 2-core hosts (only matters for containers without a quota).
pub const HOST_CPUS: u32 = 2;
const BINS: usize = 10;

/// Labelled samples of a corpus.
#[derive(Clone, Debug, Default)]
pub struct Labelled {
    pub features: Vec<[f64; N_FEATURES]>,
    pub labels: Vec<bool>,
    /// The probability `serve` published (the deployed mapping), 0–1.
    pub published: Vec<f64>,
    /// Container-seconds of containers that never failed, and their CRITICAL entries.
    pub healthy_s: f64,
    pub healthy_criticals: usize,
    pub leaks: Vec<LeakLead>,
    pub containers: usize,
    /// Per container: `(set/name, labelled samples, events, mean published probability,
    /// CRITICAL entries)`.
    pub per_container: Vec<(String, usize, usize, f64, usize)>,
}

/// Replays and labels every container under `data`.
pub fn label_corpus(data: &Path, brain: &BrainConfig) -> Result<Labelled, EvalError> {
    let dirs = find_trace_dirs(data);
    if dirs.is_empty() {
        return Err(EvalError::Empty(data.to_path_buf()));
    }
    let mut out = Labelled::default();
    for dir in dirs {
        let set = read_trace_dir(&dir)?;
        let end = recording_end(&set);
        for trace in &set.traces {
            let steps = replay_steps(&set, trace, brain, HOST_CPUS);
            let fails = failures(&set, &trace.name);
            out.containers += 1;
            out.leaks.extend(leak_leads(&set, &trace.name, &steps));
            let labels = label_steps(&steps, &fails, end, EVENT_HORIZON_S);
            // Healthy: no failure and no throttling anywhere in the recording.
            if fails.is_empty() && !labels.contains(&Some(true)) {
                if let (Some(a), Some(b)) = (steps.first(), steps.last()) {
                    out.healthy_s += (b.obs.ts_ms - a.obs.ts_ms) as f64 / 1000.0;
                }
                out.healthy_criticals += critical_entries(&steps);
            }
            let (mut n, mut pos, mut sum_p) = (0, 0, 0.0);
            for (s, l) in steps.iter().zip(labels) {
                let Some(l) = l else { continue };
                if s.assessment.warming_up {
                    continue;
                }
                let p = s.assessment.failure_probability / 100.0;
                out.features.push(s.evidence.features());
                out.labels.push(l);
                out.published.push(p);
                n += 1;
                pos += usize::from(l);
                sum_p += p;
            }
            let set_name = dir.file_name().and_then(|d| d.to_str()).unwrap_or_default();
            out.per_container.push((
                format!("{set_name}/{}", trace.name),
                n,
                pos,
                sum_p / n.max(1) as f64,
                critical_entries(&steps),
            ));
        }
    }
    Ok(out)
}

/// Calibration figures of probabilities against outcomes.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub n: usize,
    pub base_rate: f64,
    pub brier: f64,
    /// `1 − Brier / Brier(base rate)`.
    pub skill: f64,
    pub ece: f64,
    /// Per bin: `(samples, mean probability, observed frequency)`.
    pub bins: Vec<(usize, f64, f64)>,
}

/// Brier score, skill, ECE and reliability bins.
pub fn calibration(p: &[f64], y: &[bool]) -> Calibration {
    let n = p.len().min(y.len());
    let nf = n.max(1) as f64;
    let yv = |i: usize| if y[i] { 1.0 } else { 0.0 };
    let base_rate = (0..n).map(yv).sum::<f64>() / nf;
    let brier = (0..n).map(|i| (p[i] - yv(i)).powi(2)).sum::<f64>() / nf;
    let ref_brier = base_rate * (1.0 - base_rate);
    let mut sums = vec![(0usize, 0.0, 0.0); BINS];
    for (i, &pi) in p.iter().enumerate().take(n) {
        let b = ((pi * BINS as f64) as usize).min(BINS - 1);
        sums[b].0 += 1;
        sums[b].1 += pi;
        sums[b].2 += yv(i);
    }
    let bins: Vec<(usize, f64, f64)> = sums
        .iter()
        .map(|&(c, sp, sy)| {
            let c1 = c.max(1) as f64;
            (c, sp / c1, sy / c1)
        })
        .collect();
    let ece = bins
        .iter()
        .map(|&(c, mp, fy)| c as f64 / nf * (mp - fy).abs())
        .sum();
    Calibration {
        n,
        base_rate,
        brier,
        skill: if ref_brier > 0.0 {
            1.0 - brier / ref_brier
        } else {
            0.0
        },
        ece,
        bins,
    }
}

/// The outcome of `eval risk`.
#[derive(Clone, Debug)]
pub struct RiskReport {
    /// The mapping measured (fitted, or the deployed one).
    pub model: RiskModel,
    pub fitted: bool,
    pub fit_samples: usize,
    pub calibration: Calibration,
    pub data: Labelled,
}

/// Fits on the trace sets under every `fit` directory (when any) and measures on `data`.
pub fn run_risk(
    data: &Path,
    fit: &[std::path::PathBuf],
    brain: &BrainConfig,
) -> Result<RiskReport, EvalError> {
    let (model, fit_samples) = if fit.is_empty() {
        (brain.risk, 0)
    } else {
        let mut train = Labelled::default();
        for dir in fit {
            let part = label_corpus(dir, brain)?;
            train.features.extend(part.features);
            train.labels.extend(part.labels);
        }
        let m = RiskModel::fit(&train.features, &train.labels, 1e-2)
            .ok_or_else(|| EvalError::Invalid("cannot fit the risk mapping".into()))?;
        (m, train.labels.len())
    };
    // Measured with the mapping under test in the brain, so the published probability is it.
    let cfg = BrainConfig {
        risk: model,
        ..brain.clone()
    };
    let data = label_corpus(data, &cfg)?;
    let calibration = calibration(&data.published, &data.labels);
    Ok(RiskReport {
        model,
        fitted: !fit.is_empty(),
        fit_samples,
        calibration,
        data,
    })
}

impl RiskReport {
    /// CRITICAL entries per container-day of containers that never failed.
    pub fn false_criticals_per_day(&self) -> f64 {
        self.data.healthy_criticals as f64 / (self.data.healthy_s / 86_400.0).max(1e-9)
    }

    /// A reliability diagram (SVG): observed frequency against mean probability per bin.
    pub fn reliability_svg(&self, title: &str) -> String {
        let (w, h, m) = (420.0, 420.0, 50.0);
        let x = |p: f64| m + p * (w - 2.0 * m);
        let y = |f: f64| h - m - f * (h - 2.0 * m);
        let mut s = String::new();
        let _ = write!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">
<rect width="{w}" height="{h}" fill="white"/>
<text x="{cx}" y="20" text-anchor="middle" font-size="13">{title}</text>
<rect x="{m}" y="{m}" width="{iw}" height="{iw}" fill="none" stroke="#888"/>
<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#bbb" stroke-dasharray="4 3"/>
<text x="{cx}" y="{by}" text-anchor="middle">published probability</text>
<text x="14" y="{cy}" text-anchor="middle" transform="rotate(-90 14 {cy})">observed frequency</text>
"##,
            cx = w / 2.0,
            cy = h / 2.0,
            by = h - 12.0,
            iw = w - 2.0 * m,
            x0 = x(0.0),
            y0 = y(0.0),
            x1 = x(1.0),
            y1 = y(1.0),
        );
        for t in [0.0, 0.5, 1.0] {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">{t}</text><text x="{}" y="{}" text-anchor="end">{t}</text>"#,
                x(t),
                h - m + 14.0,
                m - 4.0,
                y(t) + 4.0
            );
        }
        let pts: Vec<(f64, f64, usize)> = self
            .calibration
            .bins
            .iter()
            .filter(|b| b.0 > 0)
            .map(|&(c, mp, fy)| (mp, fy, c))
            .collect();
        let path: Vec<String> = pts
            .iter()
            .map(|&(p, f, _)| format!("{:.1},{:.1}", x(p), y(f)))
            .collect();
        let _ = writeln!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#1f6fb2" stroke-width="2"/>"##,
            path.join(" ")
        );
        for (p, f, c) in pts {
            let r = 2.0 + (c as f64).log10().max(0.0) * 1.5;
            let _ = writeln!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="{r:.1}" fill="#1f6fb2"/><text x="{:.1}" y="{:.1}" fill="#555">{c}</text>"##,
                x(p),
                y(f),
                x(p) + 6.0,
                y(f) - 6.0
            );
        }
        let c = &self.calibration;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">Brier {:.4} · skill {:.3} · ECE {:.4} · n {}</text>"#,
            m + 6.0,
            m + 16.0,
            c.brier,
            c.skill,
            c.ece,
            c.n
        );
        s.push_str("</svg>\n");
        s
    }
}

impl fmt::Display for RiskReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.calibration;
        let which = if self.fitted {
            format!("the mapping fitted on {} samples", self.fit_samples)
        } else {
            "the deployed mapping ([brain.risk])".to_string()
        };
        writeln!(
            f,
            "Failure probability ({which}), event: OOM kill, non-zero exit, unhealthy or CPU \
             throttled most of the next {EVENT_HORIZON_S:.0} s"
        )?;
        writeln!(
            f,
            "  {} containers, {} labelled samples, base rate {:.4}",
            self.data.containers, c.n, c.base_rate
        )?;
        writeln!(
            f,
            "  Brier {:.4}   skill vs base rate {:.3}   ECE {:.4}",
            c.brier, c.skill, c.ece
        )?;
        writeln!(
            f,
            "  reliability (bin: samples, mean probability, observed):"
        )?;
        for (i, b) in c.bins.iter().enumerate().filter(|(_, b)| b.0 > 0) {
            writeln!(
                f,
                "    {:.1}-{:.1}: {:>6} {:>7.3} {:>7.3}",
                i as f64 / BINS as f64,
                (i + 1) as f64 / BINS as f64,
                b.0,
                b.1,
                b.2
            )?;
        }
        writeln!(
            f,
            "  per container: labelled samples, of which events, mean probability, CRITICAL entries"
        )?;
        for (name, n, pos, mean_p, crit) in &self.data.per_container {
            writeln!(f, "    {name:<36} {n:>5} {pos:>5} {mean_p:>7.3} {crit:>4}")?;
        }
        writeln!(
            f,
            "  CRITICAL entries of containers with no event at all: {} in {:.2} container-hours = {:.2} per container-day",
            self.data.healthy_criticals,
            self.data.healthy_s / 3600.0,
            self.false_criticals_per_day()
        )?;
        for l in &self.data.leaks {
            let lead = l.lead_s.map_or("never CRITICAL".to_string(), |s| {
                format!(
                    "CRITICAL {s:.0} s before ({:.0} % of the fill)",
                    100.0 * s / l.fill_s
                )
            });
            writeln!(
                f,
                "  OOM kill of {}: filled in {:.0} s, {lead}",
                l.container, l.fill_s
            )?;
        }
        if self.fitted {
            writeln!(f, "  fitted mapping, as TOML for the config:")?;
            writeln!(f, "    [brain.risk]")?;
            writeln!(f, "    intercept = {:.4}", self.model.intercept)?;
            let w: Vec<String> = self
                .model
                .weights
                .iter()
                .map(|w| format!("{w:.4}"))
                .collect();
            writeln!(
                f,
                "    weights = [{}]  # {}",
                w.join(", "),
                FEATURE_NAMES.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_of_known_cases() {
        // Perfectly calibrated in two bins: 0.15 → 15 % positives, 0.85 → 85 %.
        let mut p = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            p.push(0.15);
            y.push(i % 20 < 3);
            p.push(0.85);
            y.push(i % 20 < 17);
        }
        let c = calibration(&p, &y);
        assert!(c.ece < 1e-9, "{c:?}");
        assert!((c.base_rate - 0.5).abs() < 1e-9);
        assert!((c.brier - 0.1275).abs() < 1e-9, "{c:?}");
        assert!((c.skill - (1.0 - 0.1275 / 0.25)).abs() < 1e-9);
        // Always 0.9 on a 50 % event: ECE 0.4.
        let c = calibration(
            &vec![0.9; 100],
            &(0..100).map(|i| i % 2 == 0).collect::<Vec<_>>(),
        );
        assert!((c.ece - 0.4).abs() < 1e-9);
    }
}
