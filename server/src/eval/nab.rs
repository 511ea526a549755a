//! `dockerpulse eval nab`: runs the brain's anomaly detector over NAB-format series, writes
//! NAB-format result files and scores them with [`super::scorer`].

use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::brain::anomaly::{AnomalyConfig, AnomalyDetector};
use crate::brain::BrainConfig;

use super::corpus::{read_corpus, read_windows, window_indices, Series};
use super::scorer::{score_at, score_corpus, ProfileScore, ScoredSeries};
use super::EvalError;

/// Name of our detector in NAB's results layout.
pub const DETECTOR_NAME: &str = "dockerpulse";

/// Per-series summary at the standard profile's threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSummary {
    pub key: String,
    pub rows: usize,
    pub windows: usize,
    pub windows_detected: usize,
    pub false_positives: usize,
}

/// The outcome of `eval nab`.
#[derive(Clone, Debug, PartialEq)]
pub struct NabReport {
    pub detector: String,
    pub series: Vec<SeriesSummary>,
    /// Standard, reward-low-FP, reward-low-FN, in that order.
    pub profiles: Vec<ProfileScore>,
    /// Where the result files went (None when not written).
    pub results_dir: Option<PathBuf>,
    /// Series found in the data but absent from the windows file (not scored).
    pub unlabelled: Vec<String>,
    /// The tuning part of the corpus (every series not [`held_out`]), thresholds swept on it.
    pub tune: Vec<ProfileScore>,
    /// The held-out part, scored at the tuning part's thresholds (nothing chosen on it).
    pub held_out: Vec<ProfileScore>,
    /// Keys of the held-out series.
    pub held_out_keys: Vec<String>,
}

/// The held-out part of a corpus: within each category, in name order, every third series
/// starting from the third (10 of the 35 dev series). Decided before any tuning, by position
/// only; detector changes are tuned on the rest and reported on both.
pub fn held_out(category_index: usize) -> bool {
    category_index % 3 == 2
}

impl NabReport {
    /// Normalised score of a profile by name (`standard`, `reward_low_FP_rate`, ...).
    pub fn score(&self, profile: &str) -> Option<f64> {
        self.profiles
            .iter()
            .find(|p| p.profile.name == profile)
            .map(|p| p.normalized)
    }
}

impl fmt::Display for NabReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "NAB score of `{}` on {} series:",
            self.detector,
            self.series.len()
        )?;
        writeln!(
            f,
            "  {:<20} {:>8} {:>10} {:>10} {:>9} {:>5}",
            "profile", "score", "raw", "threshold", "windows", "FPs"
        )?;
        let total_windows: usize = self.series.iter().map(|s| s.windows).sum();
        for p in &self.profiles {
            writeln!(
                f,
                "  {:<20} {:>8.1} {:>10.3} {:>10.4} {:>5}/{:<3} {:>5}",
                p.profile.name,
                p.normalized,
                p.raw,
                p.threshold,
                p.windows_detected,
                total_windows,
                p.false_positives
            )?;
        }
        writeln!(
            f,
            "  per series at the standard threshold (windows hit / windows, FPs):"
        )?;
        for s in &self.series {
            writeln!(
                f,
                "    {:<62} {:>2}/{:<2} {:>4}",
                s.key, s.windows_detected, s.windows, s.false_positives
            )?;
        }
        if let Some(dir) = &self.results_dir {
            writeln!(f, "  results written under {}", dir.display())?;
        }
        let line = |f: &mut fmt::Formatter<'_>, name: &str, ps: &[ProfileScore]| {
            let v: Vec<String> = ps.iter().map(|p| format!("{:.1}", p.normalized)).collect();
            writeln!(f, "  {name:<58} {}", v.join(" / "))
        };
        writeln!(
            f,
            "  split (standard / reward low FP / reward low FN; held out: every third series of \
             each category):"
        )?;
        line(f, "tuning part (thresholds swept on it)", &self.tune)?;
        line(
            f,
            &format!(
                "held-out part, {} series (at the tuning thresholds)",
                self.held_out_keys.len()
            ),
            &self.held_out,
        )?;
        writeln!(f, "  held out: {}", self.held_out_keys.join(", "))?;
        if !self.unlabelled.is_empty() {
            writeln!(
                f,
                "  not scored (no labels): {}",
                self.unlabelled.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Runs the detector exactly as `serve` configures it (`brain`, the `[brain]` section of the
/// effective configuration) and writes results under `out`.
pub fn run_nab(
    data: &Path,
    windows: &Path,
    out: &Path,
    brain: &BrainConfig,
) -> Result<NabReport, EvalError> {
    run_nab_with(data, windows, Some(out), &brain.anomaly_config())
}

/// Anomaly scores of one series: the brain's detector, streaming, scale-free. The brain gives
/// each container metric a spread floor in its own unit (1 CPU-% point, 1 MiB, ...); NAB's
/// series have units of their own, so they run with none (0), the detector's scale-free mode.
/// The score is the very output the brain's risk reads ([`crate::brain::anomaly::AnomalyOutput`]).
pub fn detect(values: &[f64], cfg: &AnomalyConfig) -> Vec<f64> {
    let mut d = AnomalyDetector::new(*cfg, 0.0);
    values.iter().map(|&v| d.observe(v).score).collect()
}

/// [`run_nab`] with an explicit detector configuration; `out = None` writes nothing.
pub fn run_nab_with(
    data: &Path,
    windows: &Path,
    out: Option<&Path>,
    cfg: &AnomalyConfig,
) -> Result<NabReport, EvalError> {
    let corpus = read_corpus(data)?;
    let labels = read_windows(windows)?;
    let mut scored = Vec::new();
    let mut kept: Vec<&Series> = Vec::new();
    let mut unlabelled = Vec::new();
    let mut in_category = std::collections::BTreeMap::<&str, usize>::new();
    let mut holdout = Vec::new();
    for s in &corpus {
        let k = in_category.entry(&s.category).or_default();
        holdout.push(held_out(*k));
        *k += 1;
        let Some(ws) = labels.get(&s.key) else {
            unlabelled.push(s.key.clone());
            continue;
        };
        let scores = detect(&s.values, cfg);
        let idx = window_indices(&s.timestamps, ws);
        if let Some(out) = out {
            write_results(out, s, &scores, &idx)?;
        }
        scored.push(ScoredSeries {
            scores,
            windows: idx,
        });
        kept.push(s);
    }
    let profiles = score_corpus(&scored);
    let flags: Vec<bool> = corpus
        .iter()
        .zip(&holdout)
        .filter(|(s, _)| labels.contains_key(&s.key))
        .map(|(_, &h)| h)
        .collect();
    let part = |want: bool| -> Vec<ScoredSeries> {
        scored
            .iter()
            .zip(&flags)
            .filter(|(_, &h)| h == want)
            .map(|(s, _)| s.clone())
            .collect()
    };
    let tune = score_corpus(&part(false));
    let thresholds: Vec<f64> = tune.iter().map(|p| p.threshold).collect();
    let held = score_at(&part(true), &thresholds);
    let held_out_keys = kept
        .iter()
        .zip(&flags)
        .filter(|(_, &h)| h)
        .map(|(s, _)| s.key.clone())
        .collect();
    let threshold = profiles.first().map_or(f64::INFINITY, |p| p.threshold);
    let series = kept
        .iter()
        .zip(&scored)
        .map(|(s, sc)| summarize(s, sc, threshold))
        .collect();
    Ok(NabReport {
        detector: DETECTOR_NAME.to_string(),
        series,
        profiles,
        results_dir: out.map(|o| o.join(DETECTOR_NAME)),
        unlabelled,
        tune,
        held_out: held,
        held_out_keys,
    })
}

fn summarize(s: &Series, sc: &ScoredSeries, threshold: f64) -> SeriesSummary {
    let prob = super::scorer::probation_len(sc.scores.len());
    let hit = |i: usize| i >= prob && sc.scores[i] >= threshold;
    let windows_detected = sc
        .windows
        .iter()
        .filter(|&&(l, r)| (l..=r).any(hit))
        .count();
    let false_positives = (0..sc.scores.len())
        .filter(|&i| hit(i) && !sc.windows.iter().any(|&(l, r)| (l..=r).contains(&i)))
        .count();
    SeriesSummary {
        key: s.key.clone(),
        rows: sc.scores.len(),
        windows: sc.windows.len(),
        windows_detected,
        false_positives,
    }
}

/// Writes `<out>/<detector>/<category>/<detector>_<name>.csv` as NAB's scorer reads it.
fn write_results(
    out: &Path,
    s: &Series,
    scores: &[f64],
    windows: &[(usize, usize)],
) -> Result<(), EvalError> {
    let dir = out.join(DETECTOR_NAME).join(&s.category);
    std::fs::create_dir_all(&dir).map_err(|e| EvalError::io(&dir, e))?;
    let path = dir.join(format!("{DETECTOR_NAME}_{}.csv", s.name));
    let mut text = String::with_capacity(scores.len() * 48);
    text.push_str("timestamp,value,anomaly_score,label\n");
    for (i, score) in scores.iter().enumerate() {
        let label = u8::from(windows.iter().any(|&(l, r)| (l..=r).contains(&i)));
        let _ = writeln!(
            text,
            "{},{},{},{}",
            s.raw_timestamps[i], s.raw_values[i], score, label
        );
    }
    std::fs::write(&path, text).map_err(|e| EvalError::io(&path, e))
}
