//! `dockerpulse eval forecast`: error of the brain's t+N-sample forecast against naive
//! last-value and the window mean, per file and overall, and coverage of its intervals.
//!
//! The data is either a NAB-layout corpus (`<category>/<name>.csv`) or traces written by
//! `dockerpulse record` (a directory with `_events.csv`, or a directory of such directories):
//! each trace gives a `…:cpu` series (bounded by its quota, as in the brain) and a `…:mem` one.
//! CPU series are forecast with the brain's CPU settings (a 1-point floor), memory series with
//! its memory settings (a 1 MiB floor), other NAB series without a floor.
//!
//! Each sample counts as one time unit, so the brain's 60-unit window and N-unit horizon are
//! read as samples. Every method is scored on the same points: from the `window`-th sample on,
//! each forecast made at `i` against the value at `i + N`.

use std::fmt;
use std::path::Path;

use crate::brain::forecast::{ForecastConfig, Forecaster};
use crate::brain::{BrainConfig, FLOORS};

use super::corpus::read_corpus;
use super::traces::{find_trace_dirs, read_trace_dir};
use super::EvalError;

/// One series to forecast, with the range its values can take.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalSeries {
    pub key: String,
    pub values: Vec<f64>,
    pub lo: f64,
    pub hi: f64,
    /// What the published forecast is held at (memory: the container's limit, as the brain
    /// publishes it; infinite for others).
    pub limit: f64,
    /// The forecaster's `floor` for this series.
    pub floor: f64,
}

/// The series under `data`: recorded traces when there are any, else a NAB corpus.
pub fn read_eval_series(data: &Path) -> Result<Vec<EvalSeries>, EvalError> {
    let dirs = find_trace_dirs(data);
    if dirs.is_empty() {
        return Ok(read_corpus(data)?
            .into_iter()
            .map(|s| EvalSeries {
                floor: if is_cpu(&s.key) { FLOORS[0] } else { 0.0 },
                key: s.key,
                values: s.values,
                lo: f64::NEG_INFINITY,
                hi: f64::INFINITY,
                limit: f64::INFINITY,
            })
            .collect());
    }
    let mut out = Vec::new();
    for dir in dirs {
        let set = read_trace_dir(&dir)?;
        let dir_name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        for t in &set.traces {
            let quota = t.samples.iter().find_map(|s| s.cpu_quota_pct);
            out.push(EvalSeries {
                key: format!("{dir_name}/{}:cpu", t.name),
                values: t.samples.iter().map(|s| s.cpu_pct).collect(),
                lo: 0.0,
                hi: quota.map_or(f64::INFINITY, |q| q * CPU_CEILING),
                limit: f64::INFINITY,
                floor: FLOORS[0],
            });
            out.push(EvalSeries {
                key: format!("{dir_name}/{}:mem", t.name),
                values: t.samples.iter().map(|s| s.mem_bytes).collect(),
                lo: 0.0,
                hi: f64::INFINITY,
                limit: t
                    .samples
                    .iter()
                    .map(|s| s.mem_limit_bytes)
                    .find(|l| *l > 0.0)
                    .unwrap_or(f64::INFINITY),
                floor: FLOORS[1],
            });
        }
    }
    if out.is_empty() {
        return Err(EvalError::Empty(data.to_path_buf()));
    }
    Ok(out)
}

/// CPU forecasts are clamped at this multiple of the quota (as in the brain).
const CPU_CEILING: f64 = crate::brain::CPU_CEILING;

/// Accumulated errors of the three methods and the interval hits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ErrorStats {
    pub n: usize,
    pub abs: [f64; 3],
    pub sq: [f64; 3],
    pub in80: usize,
    pub in95: usize,
}

impl ErrorStats {
    fn add(&mut self, other: &ErrorStats) {
        self.n += other.n;
        for k in 0..3 {
            self.abs[k] += other.abs[k];
            self.sq[k] += other.sq[k];
        }
        self.in80 += other.in80;
        self.in95 += other.in95;
    }

    /// MAE of brain / naive / window mean.
    pub fn mae(&self) -> [f64; 3] {
        self.abs.map(|a| a / self.n.max(1) as f64)
    }

    /// RMSE of brain / naive / window mean.
    pub fn rmse(&self) -> [f64; 3] {
        self.sq.map(|s| (s / self.n.max(1) as f64).sqrt())
    }

    pub fn coverage(&self) -> (f64, f64) {
        let n = self.n.max(1) as f64;
        (self.in80 as f64 / n, self.in95 as f64 / n)
    }
}

/// One file's result.
#[derive(Clone, Debug, PartialEq)]
pub struct FileForecast {
    pub key: String,
    pub stats: ErrorStats,
}

/// The outcome of `eval forecast`.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastReport {
    pub horizon: usize,
    pub window: usize,
    pub files: Vec<FileForecast>,
}

impl ForecastReport {
    /// Pooled statistics over the files whose key satisfies `keep`.
    pub fn pooled(&self, keep: impl Fn(&str) -> bool) -> ErrorStats {
        let mut s = ErrorStats::default();
        for f in self.files.iter().filter(|f| keep(&f.key)) {
            s.add(&f.stats);
        }
        s
    }

    /// Pooled statistics over the CPU series (file names containing `cpu`).
    pub fn cpu(&self) -> ErrorStats {
        self.pooled(is_cpu)
    }

    /// Mean over files of the brain's MAE relative to naive's (scale-free; < 1 beats naive).
    pub fn mean_relative_mae(&self, keep: impl Fn(&str) -> bool) -> f64 {
        let ratios: Vec<f64> = self
            .files
            .iter()
            .filter(|f| keep(&f.key))
            .filter_map(|f| {
                let m = f.stats.mae();
                (m[1] > 0.0).then(|| m[0] / m[1])
            })
            .collect();
        ratios.iter().sum::<f64>() / ratios.len().max(1) as f64
    }
}

/// Whether a series key names a CPU series (a trace's `…:cpu`, or a NAB name containing `cpu`).
pub fn is_cpu(key: &str) -> bool {
    if let Some((_, metric)) = key.rsplit_once(':') {
        return metric == "cpu";
    }
    key.to_ascii_lowercase().contains("cpu")
}

fn row(f: &mut fmt::Formatter<'_>, name: &str, s: &ErrorStats) -> fmt::Result {
    let (mae, rmse) = (s.mae(), s.rmse());
    let (c80, c95) = s.coverage();
    writeln!(
        f,
        "  {name:<58} {:>6} | MAE {:>10.4} {:>10.4} {:>10.4} | RMSE {:>10.4} {:>10.4} {:>10.4} | cover {:>5.1}% {:>5.1}%",
        s.n, mae[0], mae[1], mae[2], rmse[0], rmse[1], rmse[2], 100.0 * c80, 100.0 * c95
    )
}

impl fmt::Display for ForecastReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Forecast t+{} samples (window {} samples). Columns: brain, naive last value, window mean; \
             interval coverage of the brain's 80 % / 95 % intervals.",
            self.horizon, self.window
        )?;
        for file in &self.files {
            row(f, &file.key, &file.stats)?;
        }
        let mut sets: Vec<&str> = self
            .files
            .iter()
            .filter_map(|f| f.key.split_once('/').map(|(d, _)| d))
            .collect();
        sets.dedup();
        if sets.len() > 1 {
            for set in sets {
                for (metric, keep) in [(":cpu", ":cpu"), (":mem", ":mem")] {
                    let prefix = format!("{set}/");
                    let s = self.pooled(|k| k.starts_with(&prefix) && k.ends_with(keep));
                    if s.n > 0 {
                        row(f, &format!("set {set}{metric} (pooled)"), &s)?;
                    }
                }
            }
        }
        row(f, "OVERALL (pooled, all series)", &self.pooled(|_| true))?;
        row(
            f,
            "CPU SERIES (pooled, names containing `cpu`)",
            &self.cpu(),
        )?;
        writeln!(
            f,
            "  mean per-file MAE relative to naive: all {:.4}, CPU {:.4}",
            self.mean_relative_mae(|_| true),
            self.mean_relative_mae(is_cpu)
        )
    }
}

/// Evaluates the brain's forecaster, configured as `serve` runs it (`brain`), on every series
/// under `data`, `horizon` samples ahead.
pub fn run_forecast(
    data: &Path,
    horizon: usize,
    brain: &BrainConfig,
) -> Result<ForecastReport, EvalError> {
    run_forecast_with(data, horizon, &brain.forecast_config(0.0))
}

/// [`run_forecast`] with an explicit forecaster configuration (its horizon is replaced).
pub fn run_forecast_with(
    data: &Path,
    horizon: usize,
    cfg: &ForecastConfig,
) -> Result<ForecastReport, EvalError> {
    if horizon == 0 {
        return Err(EvalError::Invalid(
            "horizon must be at least 1 sample".into(),
        ));
    }
    let corpus = read_eval_series(data)?;
    let window = cfg.window.max(1.0) as usize;
    let files = corpus
        .iter()
        .map(|s| {
            let cfg = ForecastConfig {
                horizon: horizon as f64,
                floor: s.floor,
                ..*cfg
            };
            FileForecast {
                key: s.key.clone(),
                stats: evaluate_bounded(&s.values, horizon, window, &cfg, (s.lo, s.hi), s.limit),
            }
        })
        .collect();
    Ok(ForecastReport {
        horizon,
        window,
        files,
    })
}

/// Errors of the three methods on one series confined to `bounds` (the brain's forecast is
/// clamped there), the forecast published held at `limit` as the brain publishes it.
pub fn evaluate_bounded(
    values: &[f64],
    horizon: usize,
    window: usize,
    cfg: &ForecastConfig,
    bounds: (f64, f64),
    limit: f64,
) -> ErrorStats {
    let mut f = Forecaster::new(*cfg);
    let mut stats = ErrorStats::default();
    let mut sum = 0.0;
    // The brain reads a bounded metric (CPU) clamped into its range (above its quota is
    // sampling jitter); it is forecast and scored as it reads it.
    let clamped: Vec<f64> = values
        .iter()
        .map(|&v| {
            if v.is_finite() {
                v.clamp(bounds.0, bounds.1)
            } else {
                v
            }
        })
        .collect();
    let values = &clamped[..];
    for (i, &y) in values.iter().enumerate() {
        // The brain's regression window holds the points within `window` units: window + 1 of
        // them; the window-mean baseline uses the same points.
        sum += y;
        if i > window {
            sum -= values[i - window - 1];
        }
        let n_mean = (i + 1).min(window + 1) as f64;
        let Some(p) = f.observe_bounded(i as f64, y, bounds.0, bounds.1) else {
            continue;
        };
        let p = p.capped_at(limit);
        let Some(&truth) = values.get(i + horizon) else {
            continue;
        };
        if i < window || !truth.is_finite() || !y.is_finite() {
            continue;
        }
        let preds = [p.value, y, sum / n_mean];
        stats.n += 1;
        for (k, pred) in preds.iter().enumerate() {
            let e = truth - pred;
            stats.abs[k] += e.abs();
            stats.sq[k] += e * e;
        }
        let (c80, c95) = p.covers(truth);
        stats.in80 += usize::from(c80);
        stats.in95 += usize::from(c95);
    }
    stats
}

#[cfg(test)]
mod tests;
