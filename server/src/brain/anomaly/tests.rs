//! Unit tests of the anomaly detector: a spike found and calm left quiet, a new shape beating a
//! repeated one, one report per event, warm-up, hostile inputs, oversized settings clamped.
use super::*;

use crate::brain::test_noise::noise;

#[test]
fn spike_in_noise_scores_high_and_calm_scores_low() {
    let mut d = AnomalyDetector::new(AnomalyConfig::default(), 0.0);
    let mut s = 1;
    let mut calm_max: f64 = 0.0;
    for _ in 0..1500 {
        let o = d.observe(100.0 + 10.0 * noise(&mut s));
        calm_max = calm_max.max(o.score);
    }
    let spike = d.observe(200.0);
    assert!(spike.z > 8.0, "{spike:?}");
    assert!(spike.score > calm_max, "{spike:?} vs calm {calm_max}");
    assert!(spike.score >= 0.9, "{spike:?}");
}

#[test]
fn a_never_seen_shape_beats_a_repeated_one() {
    // A square wave (period 8): after a few periods every shape has been seen; five periods
    // with their high halves missing have not, although no value leaves the range.
    let wave = |i: usize| {
        if (i / 4).is_multiple_of(2) {
            10.0
        } else {
            20.0
        }
    };
    let mut d = AnomalyDetector::new(AnomalyConfig::default(), 0.0);
    let mut calm_max: f64 = 0.0;
    for i in 0..1200 {
        calm_max = calm_max.max(d.observe(wave(i)).score);
    }
    let mut odd_max: f64 = 0.0;
    for i in 1200..1240 {
        odd_max = odd_max.max(d.observe(wave(i).min(10.0)).score);
    }
    assert!(calm_max < 0.5, "{calm_max}");
    assert!(odd_max > 0.55, "{odd_max} vs {calm_max}");
}

#[test]
fn one_event_is_reported_once() {
    let mut d = AnomalyDetector::new(AnomalyConfig::default(), 0.0);
    let mut s = 3;
    for _ in 0..1000 {
        d.observe(50.0 + noise(&mut s));
    }
    let alarms = (0..50)
        .filter(|_| d.observe(80.0 + noise(&mut s)).score >= 0.55)
        .count();
    assert_eq!(alarms, 1);
}

#[test]
fn warm_up_emits_zero() {
    let mut d = AnomalyDetector::new(AnomalyConfig::default(), 0.0);
    for i in 0..29 {
        assert_eq!(d.observe(if i == 20 { 1e9 } else { 1.0 }).score, 0.0);
    }
}

#[test]
fn hostile_inputs_stay_finite() {
    let mut d = AnomalyDetector::new(AnomalyConfig::default(), 0.0);
    let mut s = 5;
    let mut xs = vec![f64::NAN, 0.0, 1e300, -1e300, f64::INFINITY, 5.0, 5.0];
    xs.extend((0..200).map(|i| if i % 7 == 0 { 1e300 } else { noise(&mut s) }));
    xs.push(f64::MIN_POSITIVE);
    for x in xs {
        let o = d.observe(x);
        assert!(o.score.is_finite() && o.z.is_finite() && o.surprise.is_finite());
        assert!((0.0..=1.0).contains(&o.score));
    }
}

#[test]
fn segments_longer_than_the_pattern_index_holds_are_shortened_not_lost() {
    let cfg = AnomalyConfig {
        pattern_segments: 2,
        segment_samples: 5000,
        ..AnomalyConfig::default()
    };
    let mut d = AnomalyDetector::new(cfg, 0.0);
    assert_eq!(d.config().segment_samples, MAX_STRIDE);
    let mut s = 9;
    for _ in 0..3 * MAX_STRIDE + 50 {
        d.observe(10.0 + noise(&mut s));
    }
    // Its patterns are remembered (with the clamped stride they fit the index's lag).
    assert!(!d.patterns.is_empty());
    let wide = AnomalyDetector::new(
        AnomalyConfig {
            pattern_segments: 16,
            segment_samples: 1000,
            ..AnomalyConfig::default()
        },
        0.0,
    );
    assert!(wide.config().segment_samples * 16 <= MAX_LAG);
}
