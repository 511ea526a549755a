//! Unit tests of the forecaster: extrapolation, robustness on noise, interval coverage.
use super::*;

fn cfg(h: f64, w: f64) -> ForecastConfig {
    ForecastConfig {
        horizon: h,
        window: w,
        ..ForecastConfig::default()
    }
}

#[test]
fn linear_climb_is_extrapolated() {
    let mut f = Forecaster::new(cfg(10.0, 60.0));
    let mut p = None;
    for i in 0..200 {
        p = f.observe(i as f64, 1000.0 + 5.0 * i as f64);
    }
    let p = p.expect("prediction");
    let truth = 1000.0 + 5.0 * 209.0;
    assert!((p.value - truth).abs() < 1.0, "{} vs {truth}", p.value);
}

#[test]
fn flat_noisy_series_is_not_extrapolated_wildly() {
    let mut f = Forecaster::new(cfg(10.0, 60.0));
    let mut s = 7u64;
    let mut worst: f64 = 0.0;
    for i in 0..2000 {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
        let y = 50.0 + ((s >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 20.0;
        if let Some(p) = f.observe(i as f64, y) {
            if i > 100 {
                worst = worst.max((p.value - 50.0).abs());
            }
        }
    }
    assert!(worst < 10.0, "{worst}");
}

#[test]
fn intervals_cover_about_as_promised() {
    let mut f = Forecaster::new(cfg(5.0, 60.0));
    let mut s = 99u64;
    let mut hist = Vec::new();
    let (mut in80, mut in95, mut n) = (0, 0, 0);
    for i in 0..20_000usize {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (s >> 11) as f64 / (1u64 << 53) as f64;
        // Heavy-tailed noise (Laplace) around a slow sine.
        let noise = if u < 0.5 {
            (2.0 * u).ln()
        } else {
            -(2.0 - 2.0 * u).ln()
        };
        let y = 40.0 + 10.0 * (i as f64 / 300.0).sin() + 3.0 * noise;
        if i > 1000 {
            let p: Prediction = hist[i - 5];
            n += 1;
            let (a, b) = p.covers(y);
            in80 += usize::from(a);
            in95 += usize::from(b);
        }
        hist.push(f.observe(i as f64, y).expect("prediction"));
    }
    let c80 = in80 as f64 / n as f64;
    let c95 = in95 as f64 / n as f64;
    assert!((c80 - 0.8).abs() < 0.03, "80% interval covers {c80}");
    assert!((c95 - 0.95).abs() < 0.02, "95% interval covers {c95}");
}

#[test]
fn non_finite_samples_are_skipped() {
    let mut f = Forecaster::new(cfg(10.0, 60.0));
    assert!(f.observe(0.0, f64::NAN).is_none());
    let p = f.observe(1.0, 5.0).expect("prediction");
    assert_eq!(f.observe(2.0, f64::INFINITY), Some(p));
}
