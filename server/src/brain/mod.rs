//! The brain: forecasts, anomaly scores and failure risk per container (pure, no I/O).
//!
//! [`ContainerBrain`] is fed one [`Observation`] at a time, in stream order, and answers each with
//! an [`Assessment`]. It never reads a clock (only `Observation::ts_ms`), holds no globals and uses
//! no randomness, so the same stream always gives the same assessments.
//!
//! Modules, one job each: [`regression`] (incremental sliding OLS), [`forecast`] (robust
//! forecast + measured intervals), [`baseline`] (rolling median/IQR), [`anomaly`] (the streaming
//! detector, also run by the NAB evaluation), [`risk`] (failure probability and reasons),
//! [`semaphore`] (hysteretic level), [`events`] (restarts/OOM window), [`stats`] (numerics).

pub mod anomaly;
pub mod baseline;
pub mod events;
pub mod forecast;
pub mod leak;
pub mod regression;
pub mod risk;
pub mod semaphore;
pub mod shift;
pub mod stats;
pub mod trend;

use app::wire::{Assessment, Forecast, Reason, RiskLevel, ZScores};
use serde::{Deserialize, Serialize};

use anomaly::{AnomalyConfig, AnomalyDetector};
use events::EventWindow;
use forecast::{ForecastConfig, Forecaster, Prediction};
use risk::{CpuRisk, MetricAnomaly, RiskInputs};
use semaphore::{Semaphore, Thresholds};
use stats::sanitize_metric;

/// Pattern memory of the container detectors, in samples. The NAB-validated default
/// (`AnomalyConfig::default().pattern_memory_samples`, 1500) costs one pattern distance per
/// remembered sample and metric: ~40 µs per `observe` for four metrics. 30 keeps `observe` at
/// ~2.1 µs (60: ~2.5 µs; see `benches/brain.rs`), remembering the last half minute of shapes at
/// the 1-second cadence; breakout range and novelty record keep the full `memory_samples`.
pub const CONTAINER_PATTERN_MEMORY_SAMPLES: usize = 30;

/// Tunables, with serde defaults (embedded in the app's TOML config as `[brain]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BrainConfig {
    /// How far ahead forecasts and the failure probability look, in seconds.
    pub horizon_s: f64,
    /// Length of the sliding regression window, in seconds.
    pub window_s: f64,
    /// Samples before any alarm can be raised (baseline still being learnt).
    pub warmup_samples: usize,
    /// Length of each metric's robust baseline, in samples.
    pub baseline_samples: usize,
    /// CPU counts as saturated at this fraction of its capacity (quota or host cores).
    pub cpu_saturation_frac: f64,
    /// Semaphore: MEDIUM from this failure probability (percent).
    pub medium_pct: f64,
    /// Semaphore: CRITICAL from this failure probability (percent).
    pub critical_pct: f64,
    /// Semaphore: a level is left only below its threshold minus this (percent points)...
    pub hysteresis_pct: f64,
    /// ...for this many consecutive ticks.
    pub calm_ticks: u32,
    /// Restarts and OOM kills are remembered this long, in seconds.
    pub event_window_s: f64,
    /// Largest share of the failure probability an anomaly alone can reach (0–1).
    pub anomaly_weight: f64,
    /// An anomaly is named in the reasons from this |z| on.
    pub z_reason: f64,
    /// Hard cap on samples kept per regression window (guards against absurd sample rates).
    pub max_window_samples: usize,
    /// Anomaly detector tunables other than warm-up and baseline length (counts in samples).
    pub anomaly: AnomalyConfig,
}

impl Default for BrainConfig {
    fn default() -> Self {
        Self {
            horizon_s: 10.0,
            window_s: 60.0,
            warmup_samples: AnomalyConfig::default().warmup_samples,
            baseline_samples: AnomalyConfig::default().baseline_samples,
            cpu_saturation_frac: 0.95,
            medium_pct: 40.0,
            critical_pct: 85.0,
            hysteresis_pct: 10.0,
            calm_ticks: 3,
            event_window_s: 300.0,
            anomaly_weight: 0.35,
            z_reason: 3.0,
            max_window_samples: 4096,
            anomaly: AnomalyConfig {
                pattern_memory_samples: CONTAINER_PATTERN_MEMORY_SAMPLES,
                ..AnomalyConfig::default()
            },
        }
    }
}

impl BrainConfig {
    fn anomaly_config(&self) -> AnomalyConfig {
        AnomalyConfig {
            baseline_samples: self.baseline_samples,
            warmup_samples: self.warmup_samples,
            ..self.anomaly
        }
    }

    fn forecast_config(&self, floor: f64) -> ForecastConfig {
        ForecastConfig {
            floor,
            horizon: if self.horizon_s.is_finite() && self.horizon_s >= 0.0 {
                self.horizon_s
            } else {
                10.0
            },
            window: self.window_s,
            max_points: self.max_window_samples.max(2),
            ..ForecastConfig::default()
        }
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds {
            medium_pct: self.medium_pct,
            critical_pct: self.critical_pct,
            hysteresis_pct: self.hysteresis_pct,
            calm_ticks: self.calm_ticks,
        }
    }
}

/// One container's sample as the brain sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// Sample time (ms since epoch); the only clock the brain uses.
    pub ts_ms: i64,
    /// 100 = one full core (docker CLI convention).
    pub cpu_pct: f64,
    /// Saturation level: the CPU quota in % (150 = 1.5 cores), or host cores × 100 when unlimited.
    pub cpu_capacity_pct: f64,
    /// Whether that capacity is the container's own CPU quota (false: the host's cores).
    pub cpu_quota: bool,
    pub mem_bytes: f64,
    /// None when the container has no memory limit.
    pub mem_limit_bytes: Option<f64>,
    /// rx + tx bytes/s.
    pub net_bps: f64,
    pub pids: f64,
    /// Restarts seen since the previous observation.
    pub restarts: u32,
    /// OOM kills seen since the previous observation.
    pub oom_kills: u32,
}

const MIB: f64 = 1024.0 * 1024.0;
/// Smallest spread each metric's deviations are measured against: 1 CPU-% point, 1 MiB,
/// 1 KiB/s, 1 process (also the CPU and memory forecasters' `floor`).
pub const FLOORS: [f64; 4] = [1.0, MIB, 1024.0, 1.0];
/// CPU forecasts are clamped to `[0, capacity × CPU_CEILING]` (throttling holds CPU at its
/// quota; a little measurement jitter above).
pub const CPU_CEILING: f64 = 1.05;
const NAMES: [&str; 4] = ["CPU", "memory", "network", "PIDs"];

/// Per-container state; fed one observation at a time in stream order.
pub struct ContainerBrain {
    cfg: BrainConfig,
    thresholds: Thresholds,
    t0_ms: Option<i64>,
    last_ts_ms: i64,
    cpu: Forecaster,
    mem: Forecaster,
    detectors: [AnomalyDetector; 4],
    events: EventWindow,
    semaphore: Semaphore,
    samples: usize,
}

impl ContainerBrain {
    pub fn new(cfg: &BrainConfig) -> Self {
        let acfg = cfg.anomaly_config();
        Self {
            thresholds: cfg.thresholds(),
            t0_ms: None,
            last_ts_ms: i64::MIN,
            cpu: Forecaster::new(cfg.forecast_config(FLOORS[0])),
            mem: Forecaster::new(cfg.forecast_config(FLOORS[1])),
            detectors: FLOORS.map(|f| AnomalyDetector::new(acfg, f)),
            events: EventWindow::new(cfg.event_window_s),
            semaphore: Semaphore::default(),
            samples: 0,
            cfg: cfg.clone(),
        }
    }

    /// Feeds one observation and returns the assessment for it.
    pub fn observe(&mut self, obs: &Observation) -> Assessment {
        // Time never runs backwards inside the brain: a late sample counts as "now".
        let ts = obs.ts_ms.max(self.last_ts_ms);
        self.last_ts_ms = ts;
        let t0 = *self.t0_ms.get_or_insert(ts);
        let x = (i128::from(ts) - i128::from(t0)) as f64 / 1000.0;

        let cpu = sanitize_metric(obs.cpu_pct);
        let mem = sanitize_metric(obs.mem_bytes);
        let values = [
            cpu,
            mem,
            sanitize_metric(obs.net_bps),
            sanitize_metric(obs.pids),
        ];
        let capacity = Some(obs.cpu_capacity_pct)
            .filter(|c| c.is_finite() && *c > 0.0)
            .map(|c| c.min(stats::MAX_MAGNITUDE));
        if let Some(v) = cpu {
            let ceiling = capacity.map_or(f64::INFINITY, |c| c * CPU_CEILING);
            self.cpu.observe_bounded(x, v, 0.0, ceiling);
        }
        if let Some(v) = mem {
            self.mem.observe(x, v);
        }
        let mut z = [0.0; 4];
        let mut anomalies = Vec::with_capacity(4);
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let out = self.detectors[i].observe(*v);
                z[i] = out.z;
                anomalies.push(MetricAnomaly {
                    name: NAMES[i],
                    z: out.z,
                    level: out.level,
                });
            }
        }
        // Before the anomalies move into the risk inputs: the strongest one, for /metrics.
        let anomaly = anomalies
            .iter()
            .map(|a| a.level)
            .filter(|l| l.is_finite())
            .fold(0.0_f64, f64::max)
            .clamp(0.0, 1.0);
        self.events.record(ts, obs.restarts, obs.oom_kills);
        self.samples += 1;

        let h = self.cpu.horizon();
        let mem_limit = obs
            .mem_limit_bytes
            .filter(|l| l.is_finite() && *l > 0.0)
            .map(|l| l.min(stats::MAX_MAGNITUDE));
        let (ttl, mem_risk) = leak::assess(&self.mem, mem_limit, h);
        let cpu_risk = match (self.cpu.prediction(), capacity) {
            (Some(p), Some(cap)) => {
                let thr = self.cfg.cpu_saturation_frac.clamp(0.1, 1.0) * cap;
                Some(CpuRisk {
                    forecast: p,
                    capacity_pct: cap,
                    quota: obs.cpu_quota,
                    probability: self.cpu.prob_at_least(p.value, thr),
                })
            }
            _ => None,
        };
        let warming_up = self.samples < self.cfg.warmup_samples;

        let (probability, level, reasons) = if warming_up {
            self.semaphore.reset();
            let text = format!(
                "learning this container's baseline ({}/{} samples)",
                self.samples, self.cfg.warmup_samples
            );
            (0.0, RiskLevel::Low, vec![Reason { weight: 0.0, text }])
        } else {
            let inputs = RiskInputs {
                horizon_s: h,
                cpu: cpu_risk,
                mem: mem_risk,
                anomalies,
                anomaly_weight: self.cfg.anomaly_weight,
                z_reason: self.cfg.z_reason,
                restarts: self.events.restarts(),
                ooms: self.events.ooms(),
                event_window_s: self.events.window_s(),
            };
            let r = risk::assess(&inputs);
            let level = self.semaphore.update(r.probability_pct, &self.thresholds);
            (r.probability_pct, level, r.reasons)
        };

        Assessment {
            ts_ms: obs.ts_ms,
            warming_up,
            cpu: wire_forecast(self.cpu.prediction(), h),
            mem: wire_forecast(self.mem.prediction(), h),
            time_to_limit_s: ttl.filter(|t| t.is_finite()),
            z: ZScores {
                cpu: z[0],
                mem: z[1],
                net: z[2],
                pids: z[3],
            },
            failure_probability: if probability.is_finite() {
                probability
            } else {
                0.0
            },
            level,
            reasons,
            anomaly: if warming_up { 0.0 } else { anomaly },
        }
    }
}

/// Converts a prediction to the wire type: finite, lower bounds clamped at 0 (every metric the
/// brain forecasts is non-negative), zeros before the first sample.
fn wire_forecast(p: Option<Prediction>, horizon_s: f64) -> Forecast {
    let Some(p) = p else {
        return Forecast {
            horizon_s,
            ..Forecast::default()
        };
    };
    let f = |v: f64| if v.is_finite() { v } else { 0.0 };
    let v = f(p.value).max(0.0);
    Forecast {
        horizon_s,
        value: v,
        lo80: f(p.lo80).clamp(0.0, v),
        hi80: f(p.hi80).max(v),
        lo95: f(p.lo95).clamp(0.0, v),
        hi95: f(p.hi95).max(v),
    }
}

#[cfg(test)]
mod tests;
