//! One history point (a sample and what the brain said of it) and its encoding as 22 lanes of
//! quantised integers: which fields are kept exactly and which are rounded, and to what.

use super::bits::{BitReader, BitWriter};
use super::lane::{Lane, Val};
use super::linked::Link;
use app::wire::{Assessment, RiskLevel, Sample, ZScores};

/// One point of a container's history: the sample and what the brain said of it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistoryPoint {
    #[serde(flatten)]
    pub sample: Sample,
    pub cpu_forecast: Option<f64>,
    pub cpu_lo95: Option<f64>,
    pub cpu_hi95: Option<f64>,
    #[serde(default)]
    pub cpu_lo80: Option<f64>,
    #[serde(default)]
    pub cpu_hi80: Option<f64>,
    pub mem_forecast: Option<f64>,
    #[serde(default)]
    pub time_to_limit_s: Option<f64>,
    #[serde(default)]
    pub z: Option<ZScores>,
    pub failure_probability: Option<f64>,
    pub level: Option<RiskLevel>,
}

impl HistoryPoint {
    pub fn new(sample: Sample, a: Option<&Assessment>) -> Self {
        Self {
            sample,
            cpu_forecast: a.map(|a| a.cpu.value),
            cpu_lo95: a.map(|a| a.cpu.lo95),
            cpu_hi95: a.map(|a| a.cpu.hi95),
            cpu_lo80: a.map(|a| a.cpu.lo80),
            cpu_hi80: a.map(|a| a.cpu.hi80),
            mem_forecast: a.map(|a| a.mem.value),
            time_to_limit_s: a.and_then(|a| a.time_to_limit_s),
            z: a.map(|a| a.z),
            failure_probability: a.map(|a| a.failure_probability),
            level: a.map(|a| a.level),
        }
    }
}

/// Quantisation steps, as divisors (a value `v` is kept as `round(v × SCALE)`).
/// CPU % as measured: 0.01 percentage points.
pub const CPU_SCALE: f64 = 100.0;
/// The CPU forecast and its bands: 0.1 percentage points, what the report and the dashboard show
/// (a forecast's own error is whole points; each finer digit would cost 3.3 bits a band a point).
pub const CPU_FORECAST_SCALE: f64 = 10.0;
/// Network and block I/O rates, on a scale that is linear below [`RATE_KNEE`] and logarithmic
/// above it: `q = STEPS · log2(1 + v / KNEE)`. The step is about 0.7 B/s for a near-idle link and
/// 0.07 % of the rate above 1 KiB/s: a busy link's noisy rate then costs log2(its relative noise
/// / 0.07 %) bits a point, a few fewer than whole bytes per second (`memory_load … served`: a busy
/// link's two rates 19.1 → 13.7 KiB an hour).
pub const RATE_KNEE: f64 = 1024.0;
/// Steps per doubling of `1 + rate / RATE_KNEE`.
pub const RATE_STEPS: f64 = 1024.0;
/// The memory forecast: 64 KiB (shown in tenths of a MiB; its own error is megabytes).
pub const MEM_FORECAST_SCALE: f64 = 1.0 / 65536.0;
/// Time to the memory limit: 0.1 s.
pub const TTL_SCALE: f64 = 10.0;
/// z-scores: 0.1, as the report and the dashboard show them.
pub const Z_SCALE: f64 = 10.0;
/// Failure probability (0–100 %): 0.1 percentage points, as the report shows it.
pub const PROB_SCALE: f64 = 10.0;

/// Lanes per point (fields of `HistoryPoint`, z counted four times).
pub const LANES: usize = 22;
/// The lanes of the four CPU bands, kept as offsets from the forecast (lane 9) when both are
/// quantised: the band's width changes far more slowly than its centre.
const BANDS: std::ops::RangeInclusive<usize> = 10..=13;
/// The 95 % bounds (lanes 10, 11), kept as offsets from the 80 % ones (lanes 12, 13).
const NESTED: [(usize, usize); 2] = [(10, 12), (11, 13)];
/// Lanes coded through a [`Link`] to what they move with: the CPU forecast and the memory
/// forecast (naive last-value moves with its metric), and each z-score (its metric over a slowly
/// changing spread).
const LINKED: [usize; 6] = [9, 14, 16, 17, 18, 19];
/// Largest quantised magnitude: beyond it an f64 would not hold the integer exactly.
const MAX_Q: f64 = 9_007_199_254_740_992.0;

fn q_f64(v: f64, scale: f64) -> Val {
    let q = (v * scale).round();
    if q.is_finite() && q.abs() < MAX_Q {
        Val::Q(q as i64)
    } else {
        Val::Raw(v.to_bits())
    }
}

/// A rate on the rates' scale (the sign kept, for a value that should never be negative).
fn q_rate(v: f64) -> Val {
    if !v.is_finite() {
        return Val::Raw(v.to_bits());
    }
    let q = RATE_STEPS * (v.abs() / RATE_KNEE).ln_1p() / std::f64::consts::LN_2;
    match q_f64(q, 1.0) {
        Val::Q(q) if v < 0.0 => Val::Q(-q),
        Val::Q(q) => Val::Q(q),
        _ => Val::Raw(v.to_bits()),
    }
}

fn f_rate(v: Val) -> f64 {
    match v {
        Val::Q(q) => {
            let m = RATE_KNEE
                * (q.unsigned_abs() as f64 / RATE_STEPS * std::f64::consts::LN_2).exp_m1();
            if q < 0 {
                -m
            } else {
                m
            }
        }
        Val::Raw(b) => f64::from_bits(b),
        Val::None => 0.0,
    }
}

fn q_opt(v: Option<f64>, scale: f64) -> Val {
    v.map_or(Val::None, |v| q_f64(v, scale))
}

fn q_u64(v: u64) -> Val {
    i64::try_from(v).map_or(Val::Raw(v), Val::Q)
}

fn f_opt(v: Val, scale: f64) -> Option<f64> {
    match v {
        Val::None => None,
        Val::Q(q) => Some(q as f64 / scale),
        Val::Raw(b) => Some(f64::from_bits(b)),
    }
}

fn f_f64(v: Val, scale: f64) -> f64 {
    f_opt(v, scale).unwrap_or(0.0)
}

fn f_u64(v: Val) -> u64 {
    match v {
        Val::None => 0,
        Val::Q(q) => u64::try_from(q).unwrap_or(0),
        Val::Raw(b) => b,
    }
}

fn level_val(l: Option<RiskLevel>) -> Val {
    match l {
        None => Val::None,
        Some(RiskLevel::Low) => Val::Q(0),
        Some(RiskLevel::Medium) => Val::Q(1),
        Some(RiskLevel::Critical) => Val::Q(2),
    }
}

fn level_of(v: Val) -> Option<RiskLevel> {
    match v {
        Val::Q(1) => Some(RiskLevel::Medium),
        Val::Q(2) => Some(RiskLevel::Critical),
        Val::None => None,
        _ => Some(RiskLevel::Low),
    }
}

/// The point as lane values (timestamps absolute; bands still absolute).
fn vals(p: &HistoryPoint) -> [Val; LANES] {
    let s = &p.sample;
    let z = p.z;
    [
        Val::Q(s.ts_ms),
        q_f64(s.cpu_pct, CPU_SCALE),
        q_u64(s.mem_bytes),
        q_u64(s.mem_limit_bytes),
        q_rate(s.net_rx_bps),
        q_rate(s.net_tx_bps),
        q_rate(s.blk_read_bps),
        q_rate(s.blk_write_bps),
        q_u64(s.pids),
        q_opt(p.cpu_forecast, CPU_FORECAST_SCALE),
        q_opt(p.cpu_lo95, CPU_FORECAST_SCALE),
        q_opt(p.cpu_hi95, CPU_FORECAST_SCALE),
        q_opt(p.cpu_lo80, CPU_FORECAST_SCALE),
        q_opt(p.cpu_hi80, CPU_FORECAST_SCALE),
        q_opt(p.mem_forecast, MEM_FORECAST_SCALE),
        q_opt(p.time_to_limit_s, TTL_SCALE),
        q_opt(z.map(|z| z.cpu), Z_SCALE),
        q_opt(z.map(|z| z.mem), Z_SCALE),
        q_opt(z.map(|z| z.net), Z_SCALE),
        q_opt(z.map(|z| z.pids), Z_SCALE),
        q_opt(p.failure_probability, PROB_SCALE),
        level_val(p.level),
    ]
}

fn point(v: &[Val; LANES]) -> HistoryPoint {
    let z = match (v[16], v[17], v[18], v[19]) {
        (Val::None, Val::None, Val::None, Val::None) => None,
        (c, m, n, p) => Some(ZScores {
            cpu: f_f64(c, Z_SCALE),
            mem: f_f64(m, Z_SCALE),
            net: f_f64(n, Z_SCALE),
            pids: f_f64(p, Z_SCALE),
        }),
    };
    HistoryPoint {
        sample: Sample {
            ts_ms: match v[0] {
                Val::Q(t) => t,
                _ => 0,
            },
            cpu_pct: f_f64(v[1], CPU_SCALE),
            mem_bytes: f_u64(v[2]),
            mem_limit_bytes: f_u64(v[3]),
            net_rx_bps: f_rate(v[4]),
            net_tx_bps: f_rate(v[5]),
            blk_read_bps: f_rate(v[6]),
            blk_write_bps: f_rate(v[7]),
            pids: f_u64(v[8]),
        },
        cpu_forecast: f_opt(v[9], CPU_FORECAST_SCALE),
        cpu_lo95: f_opt(v[10], CPU_FORECAST_SCALE),
        cpu_hi95: f_opt(v[11], CPU_FORECAST_SCALE),
        cpu_lo80: f_opt(v[12], CPU_FORECAST_SCALE),
        cpu_hi80: f_opt(v[13], CPU_FORECAST_SCALE),
        mem_forecast: f_opt(v[14], MEM_FORECAST_SCALE),
        time_to_limit_s: f_opt(v[15], TTL_SCALE),
        z,
        failure_probability: f_opt(v[20], PROB_SCALE),
        level: level_of(v[21]),
    }
}

/// What a point reads back as once stored (each field rounded to its step).
pub fn rounded(p: &HistoryPoint) -> HistoryPoint {
    point(&vals(p))
}

/// The source of each lane of [`LINKED`] at a point: the quantised CPU or memory figure, the
/// whole link's rate (receive plus send, as the brain's network detector reads it), the PIDs.
/// Read from lanes that no transform touches, so the decoder reads the same values.
fn sources(v: &[Val; LANES]) -> [Option<f64>; LINKED.len()] {
    let q = |v: Val| match v {
        Val::Q(q) => Some(q as f64),
        _ => None,
    };
    let link = match (v[4], v[5]) {
        (Val::Q(_), Val::Q(_)) => Some(f_rate(v[4]) + f_rate(v[5])),
        _ => None,
    };
    [q(v[1]), q(v[2]), q(v[1]), q(v[2]), link, q(v[8])]
}

/// Coder state for one chunk: the lanes, the links and the previous timestamp. A chunk is
/// decoded from its start with a fresh state.
#[derive(Debug, Clone, Default)]
pub struct PointCoder {
    lanes: [Lane; LANES],
    links: [Link; LINKED.len()],
    prev_ts: i64,
}

impl PointCoder {
    pub fn encode(&mut self, p: &HistoryPoint, w: &mut BitWriter) {
        self.encode_lanes(p, w, |_, _| {});
    }

    /// As [`Self::encode`], adding the bits each lane wrote to `bits` (what the `memory_load`
    /// example reports per field).
    pub fn encode_counting(
        &mut self,
        p: &HistoryPoint,
        w: &mut BitWriter,
        bits: &mut [usize; LANES],
    ) {
        self.encode_lanes(p, w, |lane, n| bits[lane] += n);
    }

    fn encode_lanes(
        &mut self,
        p: &HistoryPoint,
        w: &mut BitWriter,
        mut wrote: impl FnMut(usize, usize),
    ) {
        let mut v = vals(p);
        let x = sources(&v);
        // Timestamps as deltas (the lane then codes the delta of deltas: 1 bit at a steady rate).
        v[0] = Val::Q(p.sample.ts_ms.wrapping_sub(self.prev_ts));
        self.prev_ts = p.sample.ts_ms;
        if let Val::Q(fc) = v[9] {
            for b in &mut v[BANDS] {
                if let Val::Q(q) = *b {
                    *b = Val::Q(q.wrapping_sub(fc));
                }
            }
        }
        for (outer, inner) in NESTED {
            if let (Val::Q(o), Val::Q(i)) = (v[outer], v[inner]) {
                v[outer] = Val::Q(o.wrapping_sub(i));
            }
        }
        // After the bands have been taken from the forecast as it is.
        for ((link, lane), x) in self.links.iter_mut().zip(LINKED).zip(x) {
            v[lane] = link.encode(x, v[lane]);
        }
        for (i, (lane, v)) in self.lanes.iter_mut().zip(v).enumerate() {
            let before = w.len();
            lane.encode(v, w);
            wrote(i, w.len() - before);
        }
    }

    pub fn decode(&mut self, r: &mut BitReader<'_>) -> HistoryPoint {
        let mut v = [Val::None; LANES];
        for (lane, v) in self.lanes.iter_mut().zip(v.iter_mut()) {
            *v = lane.decode(r);
        }
        if let Val::Q(d) = v[0] {
            self.prev_ts = self.prev_ts.wrapping_add(d);
        }
        v[0] = Val::Q(self.prev_ts);
        let x = sources(&v);
        for ((link, lane), x) in self.links.iter_mut().zip(LINKED).zip(x) {
            v[lane] = link.decode(x, v[lane]);
        }
        for (outer, inner) in NESTED {
            if let (Val::Q(o), Val::Q(i)) = (v[outer], v[inner]) {
                v[outer] = Val::Q(o.wrapping_add(i));
            }
        }
        if let Val::Q(fc) = v[9] {
            for b in &mut v[BANDS] {
                if let Val::Q(q) = *b {
                    *b = Val::Q(q.wrapping_add(fc));
                }
            }
        }
        point(&v)
    }
}
