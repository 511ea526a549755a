//! End-to-end evaluation on the bundled NAB dev set (`server/tests/data/nab-dev`).

use super::corpus::{read_corpus, read_windows, window_indices};
use super::scorer::{score_corpus, ScoredSeries};
use super::*;
use crate::brain::anomaly::AnomalyConfig;
use crate::brain::stats::normal_cdf;

fn dev() -> (PathBuf, PathBuf) {
    let d = bundled_nab_dev();
    (d.join("data"), d.join("windows.json"))
}

/// NAB's "Windowed Gaussian" baseline: Φ(|z|) of each value against the mean and standard
/// deviation of the previous 1000 values.
fn windowed_gaussian(values: &[f64]) -> Vec<f64> {
    let w = 1000;
    let mut out = Vec::with_capacity(values.len());
    let (mut s, mut s2) = (0.0, 0.0);
    for (i, &x) in values.iter().enumerate() {
        let n = i.min(w);
        let score = if n == 0 {
            0.0
        } else {
            let mean = s / n as f64;
            let sd = (s2 / n as f64 - mean * mean).max(0.0).sqrt().max(1e-6);
            normal_cdf(((x - mean) / sd).abs())
        };
        out.push(score);
        s += x;
        s2 += x * x;
        if i >= w {
            s -= values[i - w];
            s2 -= values[i - w] * values[i - w];
        }
    }
    out
}

#[test]
fn windowed_gaussian_lands_near_the_published_reference() {
    let (data, windows) = dev();
    let corpus = read_corpus(&data).expect("corpus");
    let labels = read_windows(&windows).expect("windows");
    assert_eq!(corpus.len(), 35);
    let scored: Vec<ScoredSeries> = corpus
        .iter()
        .map(|s| ScoredSeries {
            scores: windowed_gaussian(&s.values),
            windows: window_indices(&s.timestamps, &labels[&s.key]),
        })
        .collect();
    assert_eq!(scored.iter().map(|s| s.windows.len()).sum::<usize>(), 55);
    let p = score_corpus(&scored);
    eprintln!(
        "windowed gaussian: {:.1} / {:.1} / {:.1}",
        p[0].normalized, p[1].normalized, p[2].normalized
    );
    // Reference on this subset: 22.0 / 4.9 / 29.8.
    assert!((p[0].normalized - 22.0).abs() < 8.0, "{p:?}");
    assert!((p[2].normalized - 29.8).abs() < 10.0, "{p:?}");
}

#[test]
fn nab_dev_score_stays_above_floor() {
    let (data, windows) = dev();
    let out = std::env::temp_dir().join(format!("dockerpulse-nab-test-{}", std::process::id()));
    let report = run_nab(&data, &windows, &out).expect("nab run");
    eprintln!("{report}");
    let std_score = report.score("standard").expect("standard");
    // One result file per series in NAB's layout.
    let f = out.join("dockerpulse/realKnownCause/dockerpulse_nyc_taxi.csv");
    let text = std::fs::read_to_string(&f).expect("result file");
    assert!(text.starts_with("timestamp,value,anomaly_score,label\n"));
    assert_eq!(text.lines().count(), 10_321);
    let _ = std::fs::remove_dir_all(&out);
    assert!(std_score > NAB_STANDARD_FLOOR, "standard score {std_score}");
}

/// Floor just below what the detector reaches on the dev set (regressions are caught).
const NAB_STANDARD_FLOOR: f64 = 20.0;

#[test]
fn forecast_beats_naive_on_cpu_series() {
    let (data, _) = dev();
    let report = run_forecast(&data, 1).expect("forecast");
    eprintln!("{report}");
    let cpu = report.cpu();
    let (mae, rmse) = (cpu.mae(), cpu.rmse());
    assert!(mae[0] < mae[1], "MAE {mae:?}");
    assert!(rmse[0] < rmse[1], "RMSE {rmse:?}");
    let (c80, c95) = cpu.coverage();
    assert!((c80 - 0.8).abs() < 0.05 && (c95 - 0.95).abs() < 0.03, "{c80} {c95}");
}

/// Prints scores for a few detector variants (run with `--ignored --nocapture` when tuning).
#[test]
#[ignore]
fn explore_detector_variants() {
    let (data, windows) = dev();
    let base = AnomalyConfig::default();
    let variants: Vec<(&str, AnomalyConfig)> = vec![("default", base)];
    for (name, cfg) in variants {
        let r = nab::run_nab_with(&data, &windows, None, &cfg).expect("run");
        eprintln!(
            "{name:<30} {:.1} / {:.1} / {:.1}",
            r.profiles[0].normalized, r.profiles[1].normalized, r.profiles[2].normalized
        );
    }
}
