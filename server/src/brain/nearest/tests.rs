//! The pattern index against brute force, its forgetting, and what it holds.

use super::*;

use crate::brain::test_noise::noise;

/// The pattern of `shape` ending at `end` of `series`, newest first.
fn pat(series: &[f64], shape: Shape, end: usize) -> Vec<f64> {
    (0..shape.width)
        .map(|j| series[end - j * shape.stride])
        .collect()
}

/// Feeds a random walk, remembering each pattern `lag` positions after its end, and checks
/// every third query (the newest pattern) against brute force over the last `cap` ones.
fn against_brute(shape: Shape, cap: usize, budget: usize, exact: bool, seed: u64) {
    let mut s = seed;
    let mut idx = PatternIndex::new(shape, cap, budget);
    let (mut series, mut kept) = (Vec::new(), Vec::new());
    let span = (shape.width - 1) * shape.stride;
    let mut level = 0.0;
    for i in 0..3000 {
        level += noise(&mut s);
        // As the index keeps it: relative to the first value, in single precision.
        let x = level + 0.3 * noise(&mut s);
        let origin = *series.first().unwrap_or(&x);
        series.push(f64::from(crate::brain::stats::narrow(x - origin)) + origin);
        idx.record(x);
        if i >= span + shape.lag {
            idx.remember((i - shape.lag) as u64);
            kept.push(pat(&series, shape, i - shape.lag));
        }
        assert_eq!(idx.len(), kept.len().min(cap));
        if i % 3 == 0 && i >= span {
            let q = pat(&series, shape, i);
            let want = kept
                .iter()
                .rev()
                .take(cap)
                .map(|p| {
                    p.iter()
                        .zip(&q)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                })
                .reduce(f64::min);
            match (idx.nearest2(&q), want) {
                (Some(a), Some(b)) if exact => assert!((a - b).abs() <= 1e-9 * (1.0 + b)),
                (Some(a), Some(b)) => assert!(a >= b - 1e-12, "{a} < {b}"),
                (a, b) => assert_eq!(a, b),
            }
        }
    }
}

#[test]
fn with_an_unlimited_budget_it_is_exact() {
    let shapes = [
        (5, 4, 20, 100),
        (4, 1, 0, 1500),
        (1, 1, 3, 7),
        (6, 3, 1, 49),
    ];
    for (k, (width, stride, lag, cap)) in shapes.into_iter().enumerate() {
        let shape = Shape { width, stride, lag };
        against_brute(shape, cap, usize::MAX, true, k as u64 + 3);
    }
}

#[test]
fn a_budget_never_finds_closer_than_the_truth() {
    let shape = Shape {
        width: 5,
        stride: 4,
        lag: 20,
    };
    against_brute(shape, 1500, 16, false, 11);
}

#[test]
fn non_finite_and_unfit_patterns_are_not_stored() {
    let shape = Shape {
        width: 2,
        stride: 1,
        lag: 0,
    };
    let mut idx = PatternIndex::new(shape, 10, 8);
    assert_eq!(idx.nearest2(&[0.0, 0.0]), None);
    idx.record(f64::NAN);
    idx.record(1.0);
    idx.remember(1);
    idx.remember(0);
    assert!(idx.is_empty());
    idx.record(2.0);
    idx.remember(1);
    idx.remember(2);
    assert_eq!(idx.len(), 1);
    assert_eq!(idx.nearest2(&[2.0, 2.0]), Some(1.0));
    assert_eq!(idx.nearest2(&[f64::INFINITY, 2.0]), None);
}

#[test]
fn patterns_whose_values_left_the_ring_are_forgotten() {
    let shape = Shape {
        width: 3,
        stride: 2,
        lag: 0,
    };
    let mut idx = PatternIndex::new(shape, 50, usize::MAX);
    for i in 0..100 {
        idx.record(i as f64);
        if i >= 4 {
            idx.remember(i);
        }
    }
    assert_eq!(idx.nearest2(&[99.0, 97.0, 95.0]), Some(0.0));
    // Recording goes on without remembering: the values of the remembered patterns are
    // overwritten, and they must not be matched against what replaced them.
    for i in 100..1000 {
        idx.record(-(i as f64));
    }
    assert_eq!(idx.nearest2(&[99.0, 97.0, 95.0]), None);
}

#[test]
fn liveness_survives_the_16_bit_wrap() {
    let live = Live {
        now: 5,
        capacity: 10,
    };
    assert!(live.has(5u16.wrapping_sub(10)));
    assert!(!live.has(5u16.wrapping_sub(11)));
    assert!(live.has(4) && live.has(u16::MAX - 3));
}

#[test]
fn each_pattern_is_stored_once() {
    let shape = Shape {
        width: 5,
        stride: 4,
        lag: 20,
    };
    let cap = 1500;
    let mut idx = PatternIndex::new(shape, cap, DEFAULT_BUDGET);
    let mut s = 7;
    for i in 0..10 * cap as u64 {
        idx.record(noise(&mut s));
        if i >= 36 {
            idx.remember(i - 20);
        }
    }
    // The series once (single precision, a power-of-two ring), then a 2-byte end per entry, for
    // at most `capacity + BATCH` entries (forgotten ones wait for the next merge).
    let ring = (cap + BATCH + 16 + 20 + 2).next_power_of_two();
    let most = ring * 4 + (cap + BATCH) * 2 + BATCH * 8;
    assert!(idx.heap_bytes() <= most, "{} > {most}", idx.heap_bytes());
}

/// The search as it was before distances stopped early and slots were stepped (every distance
/// summed in full from per-value ring reads, pending patterns first): the answer must be the same
/// bits, whatever the budget.
fn nearest2_in_full(idx: &PatternIndex, query: &[f64]) -> Option<f64> {
    let q: Vec<f64> = query
        .get(..idx.shape.width)?
        .iter()
        .map(|v| f64::from(crate::brain::stats::narrow(v - idx.origin())))
        .collect();
    if idx.is_empty() || !q.iter().all(|v| v.is_finite()) {
        return None;
    }
    let dist2 = |end: u64| {
        let mut s = 0.0;
        for (j, qj) in q.iter().enumerate() {
            let d = idx.at(end - (j * idx.shape.stride) as u64) - qj;
            s += d * d;
        }
        s
    };
    let key_of = |e: u16| -> f64 { idx.pattern(idx.end_of(e))[..idx.shape.width].iter().sum() };
    let key = |i: usize| key_of(idx.ends[i]);
    let live = idx.live();
    let entry = |i: usize| {
        if live.has(idx.ends[i]) {
            dist2(idx.end_of(idx.ends[i]))
        } else {
            f64::INFINITY
        }
    };
    let mut best = idx
        .pending
        .iter()
        .filter(|&&e| live.has(e))
        .map(|&e| dist2(idx.end_of(e)))
        .fold(f64::INFINITY, f64::min);
    let n = idx.ends.len();
    if n == 0 {
        return best.is_finite().then_some(best);
    }
    let qk: f64 = q.iter().sum();
    let g = idx.shape.width as f64;
    let start = idx.ends.partition_point(|&e| key_of(e) < qk);
    let block = BLOCK.min(idx.budget).min(n);
    let lo = start.saturating_sub(block / 2).min(n - block);
    let hi = lo + block;
    best = (lo..hi).map(entry).fold(best, f64::min);
    let bound = |i: usize| {
        let d = key(i) - qk;
        d * d / g
    };
    let (mut left, mut right, mut spent) = (lo, hi, block);
    while spent < idx.budget {
        let (i, lb) = match (
            left.checked_sub(1).map(bound),
            (right < n).then(|| bound(right)),
        ) {
            (Some(a), Some(b)) if a <= b => (left - 1, a),
            (Some(a), None) => (left - 1, a),
            (_, Some(b)) => (right, b),
            (None, None) => break,
        };
        if lb >= best {
            break;
        }
        if i < left {
            left = i;
        } else {
            right = i + 1;
        }
        best = best.min(entry(i));
        spent += 1;
    }
    best.is_finite().then_some(best)
}

#[test]
fn the_search_gives_the_same_bits_as_summing_every_distance_in_full() {
    // Noise (the bound prunes little, the budget decides), a random walk (the bound decides)
    // and a series with repeats (ties of keys and distances), at several budgets.
    for (k, budget) in [(0u64, DEFAULT_BUDGET), (1, 16), (2, 300), (3, usize::MAX)] {
        for kind in 0..3 {
            let shape = Shape {
                width: 5,
                stride: 4,
                lag: 20,
            };
            let mut idx = PatternIndex::new(shape, 700, budget);
            let mut s = 17 + k;
            let mut level = 0.0;
            for i in 0..3000u64 {
                level += noise(&mut s);
                let x = match kind {
                    0 => noise(&mut s),
                    1 => level,
                    _ => (noise(&mut s) * 4.0).round(),
                };
                idx.record(x);
                if i >= 36 {
                    idx.remember(i - 20);
                }
                if i % 7 == 0 && i >= 16 {
                    let q: Vec<f64> = idx.pattern(i)[..shape.width]
                        .iter()
                        .map(|v| v + idx.origin())
                        .collect();
                    let q = &q[..];
                    let (got, want) = (idx.nearest2(q), nearest2_in_full(&idx, q));
                    assert_eq!(
                        got.map(f64::to_bits),
                        want.map(f64::to_bits),
                        "{kind} {budget} {i}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_long_run_of_unstorable_patterns_drops_the_old_ones_before_their_ends_wrap() {
    // Ends are kept in 16 bits. When the window moves on without storing anything (non-finite
    // patterns), no merge drops the forgotten entries, so the guard must, long before 2¹⁶
    // positions would make them look recent again.
    let shape = Shape {
        width: 1,
        stride: 1,
        lag: 0,
    };
    let mut idx = PatternIndex::new(shape, 10, usize::MAX);
    let mut p = 0u64;
    for _ in 0..20 {
        idx.record(p as f64);
        idx.remember(p);
        p += 1;
    }
    assert_eq!(idx.nearest2(&[15.0]), Some(0.0));
    for _ in 0..70_000 {
        idx.record(f64::INFINITY);
        idx.remember(p);
        p += 1;
        assert!(idx.next_end - idx.cleaned_at <= GUARD);
    }
    assert!(idx.ends.is_empty() && idx.pending.is_empty());
    idx.record(3.0);
    idx.remember(p);
    assert_eq!(idx.nearest2(&[15.0]), Some(144.0));
}

#[test]
fn the_snapshot_stays_sorted_by_key_with_older_entries_first_among_equal_keys() {
    // What the search's answer depends on: a merge must leave the snapshot in the order the
    // old linear merge gave (keys by total order; equal keys, of which rounded values make many,
    // oldest first).
    let shape = Shape {
        width: 3,
        stride: 2,
        lag: 6,
    };
    let mut idx = PatternIndex::new(shape, 300, DEFAULT_BUDGET);
    let mut s = 29;
    for i in 0..5000u64 {
        idx.record((noise(&mut s) * 6.0).round());
        if i >= 10 {
            idx.remember(i - 6);
        }
        if i % 64 == 0 {
            let keyed: Vec<(f64, u64)> = (0..idx.ends.len())
                .map(|k| (idx.key_at(k), idx.end_of(idx.ends[k])))
                .collect();
            for w in keyed.windows(2) {
                let (a, b) = (w[0], w[1]);
                let order = a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                assert!(order.is_lt(), "{i}: {a:?} then {b:?}");
            }
        }
    }
}

/// The deployed memory is the longest whose ring fits 2¹⁰ slots: one more pattern doubles it.
#[test]
fn the_default_pattern_memory_fills_a_ring_of_1024_values() {
    let cfg = crate::brain::anomaly::AnomalyConfig::default();
    let shape = Shape {
        width: cfg.pattern_segments,
        stride: cfg.segment_samples,
        lag: cfg.pattern_segments * cfg.segment_samples,
    };
    let cap = cfg.pattern_memory_samples;
    assert_eq!(PatternIndex::new(shape, cap, 128).ring, 1024);
    assert_eq!(PatternIndex::new(shape, cap + 1, 128).ring, 2048);
}
