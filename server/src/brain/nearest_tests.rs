//! The pattern index against brute force, its forgetting, and what it holds.

use super::*;

fn noise(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
}

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
        series.push(level + 0.3 * noise(&mut s));
        idx.record(series[i]);
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
fn liveness_survives_the_32_bit_wrap() {
    let live = Live {
        now: 5,
        capacity: 10,
    };
    assert!(live.has(5u32.wrapping_sub(10)));
    assert!(!live.has(5u32.wrapping_sub(11)));
    assert!(live.has(4) && live.has(u32::MAX - 3));
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
    // The series once, then a 4-byte end per entry, for at most `capacity + BATCH` entries
    // (forgotten ones wait for the next merge).
    let ring = cap + BATCH + 16 + 20 + 2;
    let most = ring * 8 + (cap + BATCH) * 4 + BATCH * 8;
    assert!(idx.heap_bytes() <= most, "{} > {most}", idx.heap_bytes());
}
