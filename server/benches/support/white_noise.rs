//! The brain benchmarks' input: white-noise observations (the pattern index's worst case), from
//! one fixed generator, so `benches/brain.rs` and `examples/brain_cost.rs` measure the same
//! samples.

use dockerpulse::brain::Observation;

/// The next uniform draw in [-0.5, 0.5) of a 64-bit LCG with state `s`.
pub fn noise(s: &mut u64) -> f64 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
}

/// Observation `i` (draws in a fixed order).
pub fn observation(i: i64, s: &mut u64) -> Observation {
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
