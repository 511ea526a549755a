//! The brain's cost per sample in instructions, repeatable on a loaded machine (wall-clock
//! benches are not): the deployed brain (`BrainConfig::default()`) fed the white-noise
//! observations of `benches/brain.rs` (the pattern index's worst case), 1,000 to warm up, then N
//! in `measure`, which callgrind counts alone:
//!
//!   cargo build --release -p server --example brain_cost
//!   valgrind --tool=callgrind --toggle-collect='*measure*' target/release/examples/brain_cost 2000
//!
//! "Collected" divided by N is the instructions per `observe` (all four metrics). Run without
//! valgrind it prints a checksum of the outputs (equal checksums: equal assessments) and a rough
//! time per sample.

use std::hint::black_box;

use dockerpulse::brain::{BrainConfig, ContainerBrain};

#[path = "../benches/support/white_noise.rs"]
mod white_noise;
use white_noise::observation;

/// Feeds samples `from..from + n` and sums a few outputs (so none is optimised away).
fn feed(brain: &mut ContainerBrain, s: &mut u64, from: i64, n: i64) -> f64 {
    let mut sum = 0.0;
    for i in from..from + n {
        let a = brain.observe(black_box(&observation(i, s)));
        sum += a.failure_probability + a.cpu.value + a.anomaly + a.z.cpu + a.z.net;
    }
    sum
}

/// The warm-up: windows and baselines filled (not counted).
#[inline(never)]
fn warm(brain: &mut ContainerBrain, s: &mut u64) -> f64 {
    feed(brain, s, 0, 1000)
}

/// The samples callgrind counts.
#[inline(never)]
fn measure(brain: &mut ContainerBrain, s: &mut u64, n: i64) -> f64 {
    feed(brain, s, 1000, n)
}

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let mut brain = ContainerBrain::new(&BrainConfig::default());
    let mut s = 1u64;
    let warm = warm(&mut brain, &mut s);
    let started = std::time::Instant::now();
    let sum = measure(&mut brain, &mut s, n);
    let ns = started.elapsed().as_nanos() as f64 / n.max(1) as f64;
    println!("checksum {warm:.6} {sum:.9}; {ns:.0} ns per observe (wall clock, not repeatable)");
}
