//! The brain's cost per sample in instructions, repeatable on a loaded machine (wall-clock
//! benches are not): the deployed brain (`BrainConfig::default()`) fed one of the two inputs of
//! `benches/brain.rs` — white noise (`noise`, the default: the pattern index's worst case) or the
//! recorded real services (`real`) — 1,000 samples to warm up, then N in `measure`, which
//! callgrind counts alone:
//!
//!   cargo build --release -p server --example brain_cost
//!   valgrind --tool=callgrind --toggle-collect='*measure*' target/release/examples/brain_cost 2000 [noise|real]
//!
//! "Collected" divided by N is the instructions per `observe` (all four metrics). Run without
//! valgrind it prints a checksum of the outputs (equal checksums: equal assessments) and a rough
//! time per sample.

use std::hint::black_box;

use dockerpulse::brain::{BrainConfig, ContainerBrain, Observation};

#[path = "../benches/support/real_traces.rs"]
mod real_traces;
#[path = "../benches/support/white_noise.rs"]
mod white_noise;

/// Where the observations come from.
enum Input {
    Noise(u64),
    /// The real traces, replayed round after round on a clock that keeps moving forward.
    Real(Vec<Observation>),
}

impl Input {
    fn observation(&mut self, i: i64) -> Observation {
        match self {
            Input::Noise(s) => white_noise::observation(i, s),
            Input::Real(all) => {
                let len = all.len() as i64;
                let mut o = all[(i % len) as usize];
                o.ts_ms += i / len * len * 1000;
                o
            }
        }
    }
}

/// Feeds samples `from..from + n` and sums a few outputs (so none is optimised away).
fn feed(brain: &mut ContainerBrain, input: &mut Input, from: i64, n: i64) -> f64 {
    let mut sum = 0.0;
    for i in from..from + n {
        let a = brain.observe(black_box(&input.observation(i)));
        sum += a.failure_probability + a.cpu.value + a.anomaly + a.z.cpu + a.z.net;
    }
    sum
}

/// The warm-up: windows and baselines filled (not counted).
#[inline(never)]
fn warm(brain: &mut ContainerBrain, input: &mut Input) -> f64 {
    feed(brain, input, 0, 1000)
}

/// The samples callgrind counts.
#[inline(never)]
fn measure(brain: &mut ContainerBrain, input: &mut Input, n: i64) -> f64 {
    feed(brain, input, 1000, n)
}

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let mut input = match std::env::args().nth(2).as_deref() {
        Some("real") => Input::Real(real_traces::real_service_observations()),
        _ => Input::Noise(1),
    };
    let mut brain = ContainerBrain::new(&BrainConfig::default());
    let warm = warm(&mut brain, &mut input);
    let started = std::time::Instant::now();
    let sum = measure(&mut brain, &mut input, n);
    let ns = started.elapsed().as_nanos() as f64 / n.max(1) as f64;
    println!("checksum {warm:.6} {sum:.9}; {ns:.0} ns per observe (wall clock, not repeatable)");
}
