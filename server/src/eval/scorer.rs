//! Our own implementation of NAB's published scoring (see `server/tests/data/nab-dev/README.md`).
//!
//! * Probation: the first `min(floor(0.15·n), 750)` rows of a series are not scored.
//! * A detection at row `i` inside a window `[l, r]` is worth `A_TP · S(p) / S(−1)` with
//!   `p = −(r − i + 1)/(r − l + 1)` and `S(p) = 2·sigmoid(−5p) − 1`; only the best (earliest)
//!   detection of a window counts; a window without one costs `−A_FN`.
//! * A detection outside windows costs `A_FP · S(p)` with `p = (i − r_prev)/(w_prev − 1)` past the
//!   previous window (`S = −1` for `p ≥ 3`, and with no previous window).
//! * One threshold per profile for the whole corpus, the one maximising the summed raw score
//!   over every distinct score value (detection = score ≥ threshold).
//! * Normalised score `100·(raw − null)/(perfect − null)` with `null = −A_FN·windows` (the null
//!   detector's score: only windows with at least one scored row can be missed) and
//!   `perfect = A_TP·windows` counting every labelled window, as NAB's `runner.normalize` does
//!   (it counts the label file). The two differ only when a window lies wholly in probation.
//!
//! Checked against NAB's `sweeper.py`, `runner.py` and `config/profiles.json`, and end to end by
//! `eval::tests::windowed_gaussian_reproduces_the_published_reference`, which re-runs NAB's
//! Windowed Gaussian detector and lands on the published subset figures to within 0.05.

/// Weights of one application profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

/// NAB's three profiles.
pub const PROFILES: [Profile; 3] = [
    Profile {
        name: "standard",
        tp: 1.0,
        fp: 0.11,
        fn_: 1.0,
    },
    Profile {
        name: "reward_low_FP_rate",
        tp: 1.0,
        fp: 0.22,
        fn_: 1.0,
    },
    Profile {
        name: "reward_low_FN_rate",
        tp: 1.0,
        fp: 0.11,
        fn_: 2.0,
    },
];

/// NAB's scaled sigmoid.
pub fn scaled_sigmoid(p: f64) -> f64 {
    if p >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * p).exp()) - 1.0
    }
}

/// Probation length of a series of `n` rows.
pub fn probation_len(n: usize) -> usize {
    ((0.15 * n as f64).floor()).min(0.15 * 5000.0) as usize
}

/// One series to score: anomaly scores per row and labelled windows as inclusive row ranges.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredSeries {
    pub scores: Vec<f64>,
    pub windows: Vec<(usize, usize)>,
}

/// Where a scorable row falls.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Inside window number `w` (corpus-wide), with its unweighted position value S(p)/S(−1).
    Inside { w: usize, s: f64 },
    /// Outside any window, with its unweighted cost S(p) (negative).
    Outside { s: f64 },
}

#[derive(Clone, Copy, Debug)]
struct Row {
    score: f64,
    kind: Kind,
}

/// Result of scoring a corpus under one profile.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileScore {
    pub profile: Profile,
    /// Lowest score counted as a detection (`f64::INFINITY` when detecting nothing is best).
    pub threshold: f64,
    pub raw: f64,
    pub normalized: f64,
    /// Windows with at least one detection, and detections outside windows, at the threshold.
    pub windows_detected: usize,
    pub false_positives: usize,
}

/// Rows of every series, classified, with probation rows dropped; also the number of windows
/// that have at least one scorable row, and the number of all (valid) windows.
fn classify(corpus: &[ScoredSeries]) -> (Vec<Row>, usize, usize) {
    let max_tp = scaled_sigmoid(-1.0);
    let mut rows = Vec::new();
    let mut n_windows = 0;
    for series in corpus {
        let n = series.scores.len();
        let prob = probation_len(n);
        let mut windows: Vec<(usize, usize)> = series
            .windows
            .iter()
            .copied()
            .filter(|&(l, r)| l <= r && r < n)
            .collect();
        windows.sort();
        let mut next = 0; // first window not yet passed
        let mut prev: Option<(usize, usize)> = None;
        for i in 0..n {
            while next < windows.len() && windows[next].1 < i {
                prev = Some(windows[next]);
                next += 1;
            }
            let inside = windows.get(next).filter(|&&(l, _)| l <= i);
            if i < prob {
                continue;
            }
            let score = series.scores[i];
            let score = if score.is_finite() { score } else { 0.0 };
            let kind = match inside {
                Some(&(l, r)) => {
                    let width = (r - l + 1) as f64;
                    let p = -((r - i + 1) as f64) / width;
                    Kind::Inside {
                        w: n_windows + next,
                        s: scaled_sigmoid(p) / max_tp,
                    }
                }
                None => {
                    let p = match prev {
                        Some((l, r)) if r > l => (i - r) as f64 / (r - l) as f64,
                        _ => 3.0,
                    };
                    Kind::Outside {
                        s: scaled_sigmoid(p),
                    }
                }
            };
            rows.push(Row { score, kind });
        }
        n_windows += windows.len();
    }
    // Count windows that received at least one scorable row.
    let mut seen = vec![false; n_windows];
    for r in &rows {
        if let Kind::Inside { w, .. } = r.kind {
            seen[w] = true;
        }
    }
    let counted = seen.iter().filter(|&&b| b).count();
    (rows, counted, n_windows)
}

/// Scores a corpus under every profile, each with its own optimal threshold.
pub fn score_corpus(corpus: &[ScoredSeries]) -> Vec<ProfileScore> {
    let (mut rows, n_windows, all_windows) = classify(corpus);
    rows.sort_by(|a, b| b.score.total_cmp(&a.score));
    let total_ids = rows
        .iter()
        .filter_map(|r| match r.kind {
            Kind::Inside { w, .. } => Some(w + 1),
            Kind::Outside { .. } => None,
        })
        .max()
        .unwrap_or(0);
    PROFILES
        .iter()
        .map(|&profile| sweep(&rows, n_windows, all_windows, total_ids, profile))
        .collect()
}

/// Scores a corpus under every profile at fixed thresholds (one per profile, in [`PROFILES`]
/// order; e.g. thresholds chosen on another corpus), without optimising anything.
pub fn score_at(corpus: &[ScoredSeries], thresholds: &[f64]) -> Vec<ProfileScore> {
    let (rows, n_windows, all_windows) = classify(corpus);
    PROFILES
        .iter()
        .zip(thresholds)
        .map(|(&profile, &threshold)| {
            let mut best: Vec<Option<f64>> = vec![None; all_windows];
            let mut raw = -profile.fn_ * n_windows as f64;
            let (mut detected, mut fps) = (0, 0);
            for r in rows.iter().filter(|r| r.score >= threshold) {
                match r.kind {
                    Kind::Outside { s } => {
                        raw += profile.fp * s;
                        fps += 1;
                    }
                    Kind::Inside { w, s } => {
                        let v = profile.tp * s;
                        match best[w] {
                            None => {
                                raw += v + profile.fn_;
                                best[w] = Some(v);
                                detected += 1;
                            }
                            Some(old) if v > old => {
                                raw += v - old;
                                best[w] = Some(v);
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
            ProfileScore {
                profile,
                threshold,
                raw,
                normalized: normalize(raw, n_windows, all_windows, profile),
                windows_detected: detected,
                false_positives: fps,
            }
        })
        .collect()
}

fn normalize(raw: f64, n_windows: usize, all_windows: usize, profile: Profile) -> f64 {
    let null = -profile.fn_ * n_windows as f64;
    let perfect = profile.tp * all_windows as f64;
    if perfect > null {
        100.0 * (raw - null) / (perfect - null)
    } else {
        0.0
    }
}

fn sweep(
    rows: &[Row],
    n_windows: usize,
    all_windows: usize,
    total_ids: usize,
    profile: Profile,
) -> ProfileScore {
    let null = -profile.fn_ * n_windows as f64;
    let mut best: Vec<Option<f64>> = vec![None; total_ids];
    let mut total = null;
    let (mut detected, mut fps) = (0usize, 0usize);
    let mut best_total = total;
    let mut best_threshold = f64::INFINITY;
    let (mut best_detected, mut best_fps) = (0, 0);
    let mut i = 0;
    while i < rows.len() {
        let value = rows[i].score;
        // Every row with this exact score becomes a detection together.
        while i < rows.len() && rows[i].score == value {
            match rows[i].kind {
                Kind::Outside { s } => {
                    total += profile.fp * s;
                    fps += 1;
                }
                Kind::Inside { w, s } => {
                    let v = profile.tp * s;
                    match best[w] {
                        None => {
                            total += v + profile.fn_;
                            best[w] = Some(v);
                            detected += 1;
                        }
                        Some(old) if v > old => {
                            total += v - old;
                            best[w] = Some(v);
                        }
                        Some(_) => {}
                    }
                }
            }
            i += 1;
        }
        if total > best_total {
            best_total = total;
            best_threshold = value;
            best_detected = detected;
            best_fps = fps;
        }
    }
    let normalized = normalize(best_total, n_windows, all_windows, profile);
    ProfileScore {
        profile,
        threshold: best_threshold,
        raw: best_total,
        normalized,
        windows_detected: best_detected,
        false_positives: best_fps,
    }
}

#[cfg(test)]
mod tests;
