//! Per-sample cost of the brain: `ContainerBrain::observe` (incremental), against a full linfa
//! refit of the 60-second window per sample (what a naive implementation would do).
//!
//! Run: `cargo bench -p server --bench brain`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use dockerpulse::brain::regression::{linfa_fit, SlidingOls};
use dockerpulse::brain::{BrainConfig, ContainerBrain};

#[path = "support/white_noise.rs"]
mod white_noise;
use white_noise::{noise, observation};

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
