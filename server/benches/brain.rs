//! Per-sample cost of the brain: `ContainerBrain::observe` (incremental), against a full linfa
//! refit of the 60-second window per sample (what a naive implementation would do).
//!
//! Run: `cargo bench -p server --bench brain`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use dockerpulse::brain::regression::{linfa_fit, SlidingOls};
use dockerpulse::brain::{BrainConfig, ContainerBrain, Observation};

fn noise(s: &mut u64) -> f64 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
}

fn observation(i: i64, s: &mut u64) -> Observation {
    Observation {
        ts_ms: i * 1000,
        cpu_pct: 40.0 + 20.0 * noise(s),
        cpu_capacity_pct: 200.0,
        cpu_quota: true,
        mem_bytes: 3e8 + 1e6 * noise(s),
        mem_limit_bytes: Some(1e9),
        net_bps: 5e4 + 1e4 * noise(s),
        pids: 20.0,
        restarts: 0,
        oom_kills: 0,
    }
}

fn bench(c: &mut Criterion) {
    // A warmed-up brain (windows and baselines full), then the cost of one more sample.
    let mut brain = ContainerBrain::new(&BrainConfig::default());
    let mut s = 1u64;
    let mut i = 0i64;
    while i < 1000 {
        brain.observe(&observation(i, &mut s));
        i += 1;
    }
    c.bench_function("observe per sample (incremental)", |b| {
        b.iter(|| {
            let o = observation(i, &mut s);
            i += 1;
            black_box(brain.observe(black_box(&o)))
        })
    });

    // The same window refitted from scratch with linfa at every sample.
    let mut ols = SlidingOls::new(60.0, 4096);
    let mut j = 0i64;
    while j < 1000 {
        ols.push(j as f64, 40.0 + 20.0 * noise(&mut s));
        j += 1;
    }
    c.bench_function("linfa refit per sample (61-point window)", |b| {
        b.iter(|| {
            ols.push(j as f64, 40.0 + 20.0 * noise(&mut s));
            j += 1;
            let pts: Vec<(f64, f64)> = ols.points().collect();
            black_box(linfa_fit(&pts))
        })
    });

    c.bench_function("incremental OLS update + fit per sample", |b| {
        b.iter(|| {
            ols.push(j as f64, 40.0 + 20.0 * noise(&mut s));
            j += 1;
            black_box(ols.fit())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
