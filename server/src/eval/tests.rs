//! End-to-end evaluation on the bundled NAB dev set (`server/tests/data/nab-dev`).

use super::corpus::{read_corpus, read_windows, window_indices};
use super::scorer::{score_corpus, ScoredSeries};
use super::*;
use crate::brain::anomaly::AnomalyConfig;
use crate::brain::stats::erfc;

fn dev() -> (PathBuf, PathBuf) {
    let d = bundled_nab_dev();
    (d.join("data"), d.join("windows.json"))
}

/// NAB's "Windowed Gaussian" baseline exactly as its published result files were made: the
/// window grows to 6400 values and then slides in steps of 100; each value scores
/// `1 − Q(|z|)` against the window's mean and population standard deviation (1e-6 when 0), with
/// NAB's `erfc(z / 1.4142)`, and the score is written with 12 significant digits (Python 2's
/// `str(float)`), which turns every z beyond ~7 into a tie at exactly 1.0.
fn windowed_gaussian(values: &[f64]) -> Vec<f64> {
    const WINDOW: usize = 6400;
    const STEP: usize = 100;
    let mut out = Vec::with_capacity(values.len());
    let mut window: Vec<f64> = Vec::new();
    let mut pending: Vec<f64> = Vec::new();
    let (mut mean, mut sd) = (0.0, 1.0);
    let stats = |w: &[f64]| {
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let sd = var.sqrt();
        (mean, if sd == 0.0 { 1e-6 } else { sd })
    };
    for &x in values {
        let score = if window.is_empty() {
            0.0
        } else {
            let z = (x - mean).abs() / sd;
            #[allow(clippy::approx_constant)] // NAB's own truncated √2, kept for exactness
            let sqrt2 = 1.4142;
            1.0 - 0.5 * erfc(z / sqrt2)
        };
        out.push(format!("{score:.11e}").parse().unwrap_or(score));
        if window.len() < WINDOW {
            window.push(x);
            (mean, sd) = stats(&window);
        } else {
            pending.push(x);
            if pending.len() == STEP {
                window.drain(..STEP);
                window.append(&mut pending);
                (mean, sd) = stats(&window);
            }
        }
    }
    out
}

/// The scorer reproduces the published subset figures of NAB's Windowed Gaussian detector
/// (22.0 / 4.9 / 29.8, README.md) from a faithful re-run of that detector. This checks the
/// probation, the scaled sigmoid, the earliest-detection rule, the FP weighting after a window,
/// the corpus-wide threshold sweep (including ties) and the normalisation end to end.
#[test]
fn windowed_gaussian_reproduces_the_published_reference() {
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
        "windowed gaussian: {:.2} / {:.2} / {:.2}",
        p[0].normalized, p[1].normalized, p[2].normalized
    );
    for (got, want) in p.iter().zip([22.0, 4.9, 29.8]) {
        assert!((got.normalized - want).abs() < 0.3, "{got:?} vs {want}");
    }
}

#[test]
fn nab_dev_score_stays_above_floor() {
    let (data, windows) = dev();
    let out = std::env::temp_dir().join(format!("dockerpulse-nab-test-{}", std::process::id()));
    let report =
        run_nab(&data, &windows, &out, &crate::brain::BrainConfig::default()).expect("nab run");
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
const NAB_STANDARD_FLOOR: f64 = 62.0;

#[test]
fn forecast_beats_naive_on_cpu_series() {
    let (data, _) = dev();
    let report = run_forecast(&data, 1, &crate::brain::BrainConfig::default()).expect("forecast");
    eprintln!("{report}");
    let cpu = report.cpu();
    let (mae, rmse) = (cpu.mae(), cpu.rmse());
    assert!(mae[0] < mae[1], "MAE {mae:?}");
    assert!(rmse[0] < rmse[1], "RMSE {rmse:?}");
    let (c80, c95) = cpu.coverage();
    assert!(
        (c80 - 0.8).abs() < 0.05 && (c95 - 0.95).abs() < 0.03,
        "{c80} {c95}"
    );
}

/// Prints scores for a few detector variants (run with `--ignored --nocapture` when tuning).
#[test]
#[ignore]
fn explore_detector_variants() {
    let (data, windows) = dev();
    let base = AnomalyConfig::default();
    // e.g. NAB_VARIANTS="baseline_samples=200,alarm_score=0.3;suppress_samples=50"
    let variants = super::variants_from_env("NAB_VARIANTS", base, |c, key, f| match key {
        "baseline_samples" => c.baseline_samples = f as usize,
        "memory_samples" => c.memory_samples = f as usize,
        "pattern_memory_samples" => c.pattern_memory_samples = f as usize,
        "pattern_segments" => c.pattern_segments = f as usize,
        "segment_samples" => c.segment_samples = f as usize,
        "breakout_tolerance" => c.breakout_tolerance = f,
        "warmup_samples" => c.warmup_samples = f as usize,
        "suppress_samples" => c.suppress_samples = f as usize,
        "alarm_score" => c.alarm_score = f,
        "suppress_factor" => c.suppress_factor = f,
        _ => {}
    });
    for (name, cfg) in variants {
        let r = nab::run_nab_with(&data, &windows, None, &cfg).expect("run");
        eprintln!(
            "{name:<30} {:.1} / {:.1} / {:.1}   hits {} fps {} thr {:.4}",
            r.profiles[0].normalized,
            r.profiles[1].normalized,
            r.profiles[2].normalized,
            r.profiles[0].windows_detected,
            r.profiles[0].false_positives,
            r.profiles[0].threshold
        );
    }
    if std::env::var("NAB_DIAG").is_err() {
        return;
    }
    // Separability diagnostics of the default detector.
    let corpus = read_corpus(&data).expect("corpus");
    let labels = read_windows(&windows).expect("windows");
    for s in &corpus {
        let scores = nab::detect(&s.values, &base);
        let ws = window_indices(&s.timestamps, &labels[&s.key]);
        let prob = scorer::probation_len(scores.len());
        let inside: Vec<String> = ws
            .iter()
            .map(|&(l, r)| {
                let (mut best, mut at) = (0.0f64, l);
                for (i, &v) in scores.iter().enumerate().take(r + 1).skip(l) {
                    if v > best {
                        best = v;
                        at = i;
                    }
                }
                format!("{best:.3}@{:.2}", (at - l) as f64 / (r - l + 1) as f64)
            })
            .collect();
        let mut outside: Vec<f64> = (prob..scores.len())
            .filter(|i| !ws.iter().any(|&(l, r)| (l..=r).contains(i)))
            .map(|i| scores[i])
            .collect();
        outside.sort_by(|a, b| b.total_cmp(a));
        outside.truncate(4);
        eprintln!(
            "{:<58} in {:?} out {:?}",
            s.key,
            inside,
            outside
                .iter()
                .map(|v| format!("{v:.3}"))
                .collect::<Vec<_>>()
        );
    }
}
