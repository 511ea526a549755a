//! Small numeric helpers shared by the brain's modules: the normal distribution, Student-t
//! quantiles, and guards that keep every number the brain emits finite.

/// Standard normal cumulative distribution function Φ(x).
///
/// Uses the complementary error function below (absolute error < 1.2e-7), which is plenty for
/// probabilities shown in whole percent.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return 0.5;
    }
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Upper tail of the standard normal, `1 − Φ(x)`, accurate far into the tail.
pub fn normal_sf(x: f64) -> f64 {
    if x.is_nan() {
        return 0.5;
    }
    0.5 * erfc(x / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Two-sided z quantile for a central interval of probability `level` (0.8 → 1.2816).
pub fn z_for_level(level: f64) -> f64 {
    // Only the two levels the brain publishes are needed; others are interpolated coarsely.
    if (level - 0.8).abs() < 1e-9 {
        1.281_551_565_5
    } else if (level - 0.95).abs() < 1e-9 {
        1.959_963_985
    } else {
        inverse_normal_cdf(0.5 + level.clamp(0.0, 0.999_999) / 2.0)
    }
}

/// Inverse of Φ (Acklam's rational approximation, relative error < 1.2e-9).
pub fn inverse_normal_cdf(p: f64) -> f64 {
    let p = if p.is_nan() {
        0.5
    } else {
        p.clamp(1e-300, 1.0 - 1e-16)
    };
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let lo = 0.024_25;
    if p < lo {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - lo {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Student-t two-sided quantile for `dof` degrees of freedom, from the normal one by the
/// Cornish–Fisher expansion (good to ~1 % from 3 degrees of freedom on).
pub fn t_for_level(level: f64, dof: f64) -> f64 {
    let z = z_for_level(level);
    if !(dof.is_finite()) || dof <= 0.0 {
        return z * 4.0;
    }
    let dof = dof.max(1.0);
    let z3 = z * z * z;
    let z5 = z3 * z * z;
    let z7 = z5 * z * z;
    z + (z3 + z) / (4.0 * dof)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * dof * dof)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * dof * dof * dof)
}

/// `x` when finite, `fallback` otherwise.
pub fn finite_or(x: f64, fallback: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        fallback
    }
}

/// Largest magnitude the brain accepts for a metric; beyond it values are clamped. 1e15 bytes is
/// a petabyte, far above any container, and keeps sums of squares far from overflow.
pub const MAX_MAGNITUDE: f64 = 1e15;

/// A metric reading made safe: `None` for NaN/inf, otherwise clamped into `[0, MAX_MAGNITUDE]`
/// (every metric the brain reads is a non-negative quantity).
pub fn sanitize_metric(x: f64) -> Option<f64> {
    if x.is_finite() {
        Some(x.clamp(0.0, MAX_MAGNITUDE))
    } else {
        None
    }
}

/// `x` in single precision, saturating at its largest finite magnitude (an infinity stays one;
/// NaN stays NaN).
pub fn narrow(x: f64) -> f32 {
    if x.is_finite() {
        x.clamp(-f64::from(f32::MAX), f64::from(f32::MAX)) as f32
    } else {
        x as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_963_985) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.281_551_565_5) - 0.1).abs() < 1e-6);
        assert!((normal_sf(6.0) - 9.865_876e-10).abs() < 1e-12);
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        assert_eq!(normal_cdf(f64::NAN), 0.5);
    }

    #[test]
    fn inverse_normal_round_trips() {
        for p in [1e-9, 0.001, 0.02, 0.1, 0.5, 0.8, 0.975, 0.999] {
            let x = inverse_normal_cdf(p);
            assert!((normal_cdf(x) - p).abs() < 1e-6 * p.max(1e-3), "{p} -> {x}");
        }
        assert!((z_for_level(0.9) - 1.644_853_6).abs() < 1e-6);
    }

    #[test]
    fn t_quantile_approaches_normal_and_widens_for_few_dof() {
        assert!((t_for_level(0.95, 10.0) - 2.228).abs() < 0.01);
        assert!((t_for_level(0.95, 30.0) - 2.042).abs() < 0.005);
        assert!((t_for_level(0.8, 5.0) - 1.476).abs() < 0.01);
        assert!(t_for_level(0.95, 1e9) - 1.96 < 1e-3);
        assert!(t_for_level(0.95, 0.0).is_finite());
    }

    #[test]
    fn sanitize_rejects_non_finite_and_clamps() {
        assert_eq!(sanitize_metric(f64::NAN), None);
        assert_eq!(sanitize_metric(f64::INFINITY), None);
        assert_eq!(sanitize_metric(-3.0), Some(0.0));
        assert_eq!(sanitize_metric(1e300), Some(MAX_MAGNITUDE));
    }
}
