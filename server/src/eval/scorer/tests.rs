//! Hand-computed cases of the NAB scoring rules.
//!
//! Series of 2000 rows (probation 300) with one window at rows 1000..=1099 (width 100).
//! Values worked out by hand from `S(p) = 2/(1 + e^{5p}) − 1`, `S(−1) = 0.986614`:
//! * detection at row 1049: p = −51/100, S(p)/S(−1) = 0.866749
//! * detection at row 1010: p = −90/100, S(p)/S(−1) = 0.991295
//! * false positive at 1100: p = 1/99, S = −0.025247 → cost 0.11 × 0.025247 = 0.002777
//! * false positive at 1500: p = 401/99 ≥ 3, S = −1 → cost 0.11

use super::*;

const N: usize = 2000;
const W: (usize, usize) = (1000, 1099);

fn series(detections: &[usize]) -> ScoredSeries {
    let mut scores = vec![0.0; N];
    for &i in detections {
        scores[i] = 1.0;
    }
    ScoredSeries {
        scores,
        windows: vec![W],
    }
}

fn standard(corpus: &[ScoredSeries]) -> ProfileScore {
    score_corpus(corpus).remove(0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-5
}

#[test]
fn sigmoid_and_probation_match_the_spec() {
    assert!(close(scaled_sigmoid(-1.0), 0.986_614));
    assert!(close(scaled_sigmoid(0.0), 0.0));
    assert!(close(scaled_sigmoid(-0.5), 0.848_283));
    assert_eq!(scaled_sigmoid(3.0), -1.0);
    assert_eq!(probation_len(2000), 300);
    assert_eq!(probation_len(22_695), 750);
}

#[test]
fn perfect_detector_scores_100_and_null_scores_0() {
    let perfect = series(&[W.0]);
    for s in score_corpus(std::slice::from_ref(&perfect)) {
        assert!(close(s.normalized, 100.0), "{s:?}");
    }
    let null = series(&[]);
    for s in score_corpus(&[null]) {
        assert!(close(s.normalized, 0.0), "{s:?}");
        assert_eq!(s.threshold, f64::INFINITY);
    }
}

#[test]
fn single_detection_mid_window() {
    let s = standard(&[series(&[1049])]);
    assert!(close(s.raw, 0.866_749), "{s:?}");
    assert!(close(s.normalized, 100.0 * (0.866_749 + 1.0) / 2.0));
    assert_eq!((s.windows_detected, s.false_positives), (1, 0));
    // Reward-low-FN: null −2, perfect 1.
    let fnp = &score_corpus(&[series(&[1049])])[2];
    assert!(
        close(fnp.normalized, 100.0 * (0.866_749 + 2.0) / 3.0),
        "{fnp:?}"
    );
}

#[test]
fn only_the_earliest_detection_in_a_window_counts() {
    let early = 2.0 / (1.0 + (5.0f64 * -0.9).exp()) - 1.0;
    let s = standard(&[series(&[1010, 1090, 1049])]);
    assert!(close(s.raw, early / scaled_sigmoid(-1.0)), "{s:?}");
    assert!(close(s.raw, 0.991_295), "{s:?}");
}

#[test]
fn false_positive_right_after_costs_little_far_after_costs_full() {
    let near = standard(&[series(&[1049, 1100])]);
    assert!(close(near.raw, 0.866_749 - 0.002_777), "{near:?}");
    assert_eq!(near.false_positives, 1);
    let far = standard(&[series(&[1049, 1500])]);
    assert!(close(far.raw, 0.866_749 - 0.11), "{far:?}");
    let before = standard(&[series(&[1049, 500])]);
    assert!(close(before.raw, 0.866_749 - 0.11), "{before:?}");
    // Reward-low-FP doubles the cost.
    let lowfp = &score_corpus(&[series(&[1049, 1500])])[1];
    assert!(close(lowfp.raw, 0.866_749 - 0.22), "{lowfp:?}");
}

#[test]
fn probation_rows_are_ignored() {
    let s = standard(&[series(&[1049, 100])]);
    assert!(close(s.raw, 0.866_749), "{s:?}");
}

#[test]
fn threshold_is_optimised_over_the_whole_corpus() {
    // Series A: window hit at score 0.9, a far FP at 0.8. Series B: window hit at 0.7.
    let mut a = series(&[]);
    a.scores[1049] = 0.9;
    a.scores[1500] = 0.8;
    let mut b = series(&[]);
    b.scores[1049] = 0.7;
    let s = standard(&[a, b]);
    // Threshold 0.7 catches both windows and pays one FP: 2·0.866749 − 0.11.
    assert!(close(s.threshold, 0.7), "{s:?}");
    assert!(close(s.raw, 2.0 * 0.866_749 - 0.11));
    assert!(close(s.normalized, 100.0 * (s.raw + 2.0) / 4.0));
}

#[test]
fn too_many_false_positives_make_detecting_nothing_best() {
    let mut a = series(&[1049]);
    for i in 1200..1300 {
        a.scores[i] = 1.0;
    }
    let s = standard(&[a]);
    assert_eq!(s.threshold, f64::INFINITY);
    assert!(close(s.normalized, 0.0));
}

#[test]
fn a_window_inside_probation_counts_for_perfect_but_not_for_null() {
    // NAB normalises against `perfect = A_TP · windows in the label file` but the null
    // detector can only miss windows that have scored rows.
    let mut s = series(&[W.0]);
    s.windows.insert(0, (100, 199)); // wholly inside the 300-row probation
    let p = standard(&[s]);
    assert!(close(p.raw, 1.0), "{p:?}");
    // null = −1 (one scorable window), perfect = 2 (two labelled windows).
    assert!(close(p.normalized, 100.0 * (1.0 + 1.0) / 3.0), "{p:?}");
}

#[test]
fn scoring_at_the_swept_threshold_gives_the_swept_score() {
    let corpus = [series(&[1049, 1500]), series(&[1010, 1100, 1700])];
    for (swept, fixed) in score_corpus(&corpus)
        .iter()
        .zip(score_at(&corpus, &[1.0, 1.0, 1.0]))
    {
        assert!(
            close(swept.normalized, fixed.normalized),
            "{swept:?} {fixed:?}"
        );
        assert_eq!(swept.false_positives, fixed.false_positives);
    }
    // Detecting nothing is the null detector: 0.
    let none = score_at(&corpus, &[f64::INFINITY; 3]);
    assert!(none
        .iter()
        .all(|p| p.normalized == 0.0 && p.windows_detected == 0));
}
