//! The brain's unit tests' one source of deterministic noise: a 64-bit LCG (Knuth's MMIX
//! constants), so every test draws the same sequence from the same seed.

/// The next uniform draw in [0, 1).
pub fn uniform01(s: &mut u64) -> f64 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*s >> 11) as f64 / (1u64 << 53) as f64
}

/// The next uniform draw in [-0.5, 0.5).
pub fn noise(s: &mut u64) -> f64 {
    uniform01(s) - 0.5
}
