//! Per-sample cost of the brain: `ContainerBrain::observe` (incremental), against a full linfa
//! refit of the 60-second window per sample (what a naive implementation would do).
//!
//! Two inputs: white noise in every metric (the pattern index's worst case: its search bound
//! prunes nothing, so every sample spends the whole budget), and the recorded real services of
//! `tests/data/traces/steady` (redis, PostgreSQL, nginx, idle and under their load tools, 20 min
//! each) replayed one after another through one brain: what a watched container costs.
//!
//! Run: `cargo bench -p server --bench brain`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use dockerpulse::brain::regression::{linfa_fit, SlidingOls};
use dockerpulse::brain::{BrainConfig, ContainerBrain};

#[path = "support/real_traces.rs"]
mod real_traces;
#[path = "support/white_noise.rs"]
mod white_noise;
use real_traces::real_service_observations;
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

    let real = real_service_observations();
    let mut brain = ContainerBrain::new(&BrainConfig::default());
    let warm = 1000.min(real.len() / 2);
    for o in &real[..warm] {
        brain.observe(o);
    }
    let mut k = warm;
    c.bench_function("observe per sample (real service traces)", |b| {
        b.iter(|| {
            // Round after round of the traces, in time order (the brain holds time monotonic).
            let round = (k / real.len()) as i64;
            let mut o = real[k % real.len()];
            o.ts_ms += round * (real.len() as i64 * 1000);
            k += 1;
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
