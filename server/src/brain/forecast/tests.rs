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
        let u = crate::brain::test_noise::uniform01(&mut s);
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

use crate::brain::test_noise::noise as uniform;

/// Published and naive MAE at the horizon, and the share of forecasts that were naive's.
fn score(f: &mut Forecaster, ys: &[f64], h: usize, skip: usize) -> (f64, f64, f64) {
    let (mut published, mut naive, mut naive_share, mut n) = (0.0, 0.0, 0.0, 0.0);
    for (i, &y) in ys.iter().enumerate() {
        let p = f.observe(i as f64, y).expect("prediction");
        if let Some(&truth) = ys.get(i + h) {
            if i >= skip {
                published += (truth - p.value).abs();
                naive += (truth - y).abs();
                naive_share += f64::from(u8::from(p.value == y));
                n += 1.0;
            }
        }
    }
    (published / n, naive / n, naive_share / n)
}

/// On a random walk nothing beats the last value: the selector publishes naive's forecast (or
/// something no worse), and the account keeps the summed error within 1 % of naive's.
#[test]
fn the_selector_publishes_naive_on_a_random_walk() {
    let mut s = 11u64;
    let mut y = 100.0;
    let ys: Vec<f64> = (0..5_000)
        .map(|_| {
            y += uniform(&mut s) * 4.0;
            y
        })
        .collect();
    let mut f = Forecaster::new(cfg(10.0, 60.0));
    let (published, naive, share) = score(&mut f, &ys, 10, 100);
    assert!(published <= 1.01 * naive, "{published} vs naive {naive}");
    assert!(share > 0.5, "naive published {share}");
}

/// On a clean trend with a daily-like cycle the model is far better than naive, and published.
#[test]
fn the_selector_publishes_the_model_on_a_trend_with_a_cycle() {
    let mut s = 5u64;
    let ys: Vec<f64> = (0..3_000)
        .map(|i| {
            let t = f64::from(i);
            100.0
                + 0.5 * t
                + 10.0 * (t * std::f64::consts::TAU / 600.0).sin()
                + 0.2 * uniform(&mut s)
        })
        .collect();
    let mut f = Forecaster::new(cfg(10.0, 60.0));
    let (published, naive, share) = score(&mut f, &ys, 10, 500);
    assert!(published < 0.3 * naive, "{published} vs naive {naive}");
    assert!(share < 0.1, "naive published {share}");
}

/// No lookahead: two series equal up to a point give the same forecasts and intervals up to that
/// point, whatever follows (a forecaster that peeked would differ before the series do).
#[test]
fn forecasts_never_depend_on_later_samples() {
    let mut s = 21u64;
    let common: Vec<f64> = (0..400)
        .map(|i| 50.0 + 0.1 * f64::from(i) + 5.0 * uniform(&mut s))
        .collect();
    let mut a = Forecaster::new(cfg(10.0, 60.0));
    let mut b = Forecaster::new(cfg(10.0, 60.0));
    for (i, &y) in common.iter().enumerate() {
        let pa = a.observe_bounded(i as f64, y, 0.0, 100.0);
        let pb = b.observe_bounded(i as f64, y, 0.0, 100.0);
        assert_eq!(pa, pb);
    }
    // Different futures change later forecasts (the test can tell them apart)...
    let pa = a.observe_bounded(400.0, 0.0, 0.0, 100.0);
    let pb = b.observe_bounded(400.0, 100.0, 0.0, 100.0);
    assert_ne!(pa, pb);
}

proptest::proptest! {
    /// Whatever the series (spikes, plateaus at the cap, zeros), every interval nests around the
    /// published forecast and stays within what the metric can take.
    #[test]
    fn intervals_nest_around_the_forecast_within_bounds(
        cap in 1.0f64..400.0,
        steps in proptest::collection::vec((0.0f64..1.0, 0u8..4), 50..400),
    ) {
        let mut f = Forecaster::new(cfg(10.0, 60.0));
        let mut level: f64 = 0.3;
        for (i, (u, kind)) in steps.into_iter().enumerate() {
            level = match kind {
                0 => u,                          // anywhere
                1 => (level + (u - 0.5) * 0.05).clamp(0.0, 1.0), // drift
                2 => 1.0,                        // pinned at the cap
                _ => level,                      // flat
            };
            let p = f.observe_bounded(i as f64, level * cap, 0.0, cap).expect("prediction");
            proptest::prop_assert!(0.0 <= p.lo95 && p.lo95 <= p.lo80, "{p:?}");
            proptest::prop_assert!(p.lo80 <= p.value && p.value <= p.hi80, "{p:?}");
            proptest::prop_assert!(p.hi80 <= p.hi95 && p.hi95 <= cap, "{p:?}");
        }
    }
}

#[test]
fn a_prediction_capped_at_a_limit_holds_every_bound_there_and_reaches_zero_past_it() {
    let p = Prediction {
        value: 90.0,
        lo80: 80.0,
        hi80: 110.0,
        lo95: 60.0,
        hi95: 130.0,
        candidates: [0.0; N_CANDIDATES],
        trend: 0.0,
        trend_gate: 0.0,
    };
    // Only the 95 % interval reaches the limit: a kill is within it, so it reaches down to 0.
    let c = p.capped_at(120.0);
    assert_eq!(
        (c.lo95, c.lo80, c.value, c.hi80, c.hi95),
        (0.0, 80.0, 90.0, 110.0, 120.0)
    );
    // Both reach it.
    let c = p.capped_at(100.0);
    assert_eq!(
        (c.lo95, c.lo80, c.value, c.hi80, c.hi95),
        (0.0, 0.0, 90.0, 100.0, 100.0)
    );
    let c = p.capped_at(70.0);
    assert_eq!(
        (c.lo95, c.lo80, c.value, c.hi80, c.hi95),
        (0.0, 0.0, 70.0, 70.0, 70.0)
    );
    // Neither: unchanged.
    assert_eq!(p.capped_at(130.5), p);
    assert_eq!(p.capped_at(f64::INFINITY), p);
}
