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
pub mod calibration;
pub mod conformal;
pub mod events;
pub mod forecast;
pub mod leak;
pub mod nearest;
pub mod regression;
pub mod rings;
pub mod risk;
pub mod semaphore;
pub mod shift;
pub mod stats;
pub mod trend;

use app::wire::{Assessment, Forecast, Reason, RiskLevel, ZScores};
use serde::{Deserialize, Serialize};

use anomaly::{AnomalyConfig, AnomalyDetector};
use calibration::{Evidence, RiskModel};
use events::EventWindow;
use forecast::{ForecastConfig, Forecaster, Prediction};
use leak::ClimbTracker;
use risk::{CpuRisk, MetricAnomaly, RiskInputs};
use semaphore::{Semaphore, Thresholds};
use stats::sanitize_metric;

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
    /// An anomaly is named in the reasons from this |z| on.
    pub z_reason: f64,
    /// Hard cap on samples kept per regression window (guards against absurd sample rates).
    pub max_window_samples: usize,
    /// Anomaly detector tunables other than warm-up and baseline length (counts in samples).
    pub anomaly: AnomalyConfig,
    /// The calibrated mapping from evidence to the failure probability ([`calibration`]).
    pub risk: RiskModel,
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
            z_reason: 3.0,
            max_window_samples: 4096,
            anomaly: AnomalyConfig::default(),
            risk: RiskModel::default(),
        }
    }
}

impl BrainConfig {
    /// The anomaly detector's configuration, as every container metric runs it (and as
    /// `eval nab` scores it).
    pub fn anomaly_config(&self) -> AnomalyConfig {
        AnomalyConfig {
            baseline_samples: self.baseline_samples,
            warmup_samples: self.warmup_samples,
            ..self.anomaly
        }
    }

    /// The forecaster's configuration for a metric with spread floor `floor`.
    pub fn forecast_config(&self, floor: f64) -> ForecastConfig {
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
/// CPU forecasts and their intervals are clamped to `[0, capacity × CPU_CEILING]`: throttling
/// holds CPU at its quota (or the host's cores), so nothing above it is possible.
pub const CPU_CEILING: f64 = 1.0;
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
    climb: ClimbTracker,
    evidence: Evidence,
    /// The last ten samples, one bit each: CPU at ≥ 95 % of its capacity.
    throttled: u16,
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
            climb: ClimbTracker::default(),
            evidence: Evidence::default(),
            throttled: 0,
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
            // CPU above its capacity is sampling jitter (CPU time over a wall-clock interval a
            // few milliseconds off), not load: it is read as the capacity.
            let ceiling = capacity.map_or(f64::INFINITY, |c| c * CPU_CEILING);
            self.cpu.observe_bounded(x, v.min(ceiling), 0.0, ceiling);
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
                    score: out.score,
                });
            }
        }
        // Before the anomalies move into the risk inputs: the strongest one, for /metrics.
        let anomaly = anomalies
            .iter()
            .map(|a| a.score)
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
        let fill = self.climb.update(&self.mem, mem_limit);
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
        let utilisation = match (cpu, capacity) {
            (Some(v), Some(c)) => v / c,
            _ => 0.0,
        };
        self.throttled = ((self.throttled << 1) | u16::from(utilisation >= 0.95)) & 0x3ff;
        self.evidence = Evidence {
            p_cpu: cpu_risk.map_or(0.0, |c| c.probability),
            cpu_utilisation: utilisation,
            cpu_throttled_recent: f64::from(self.throttled.count_ones()) / 10.0,
            mem_fill: fill.unwrap_or(0.0),
            p_mem: mem_risk.map_or(0.0, |m| m.probability),
            mem_fraction: mem_risk.map_or(0.0, |m| m.now / m.limit),
            anomaly: anomalies.iter().map(|a| a.score).fold(0.0, f64::max),
            restarts: self.events.restarts() as f64,
            ooms: self.events.ooms() as f64,
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
                z_reason: self.cfg.z_reason,
                restarts: self.events.restarts(),
                ooms: self.events.ooms(),
                event_window_s: self.events.window_s(),
            };
            let r = risk::assess(&inputs);
            let probability = 100.0 * self.cfg.risk.probability(&self.evidence);
            // A leak three quarters of the way to its limit is CRITICAL whatever the horizon, and
            // so is a container throttled at its quota for 8 of the last 10 samples: the event
            // (throttled most of the next 30 s) is under way.
            let by_fill = leak::critical_by_fill(fill, ttl)
                || (obs.cpu_quota && self.throttled.count_ones() >= 8);
            let input = if by_fill {
                probability.max(self.thresholds.critical_pct)
            } else {
                probability
            };
            let level = self.semaphore.update(input, &self.thresholds);
            (probability, level, r.reasons)
        };

        Assessment {
            ts_ms: obs.ts_ms,
            warming_up,
            cpu: wire_forecast(self.cpu.prediction(), h),
            // Published held at the limit (the risk above read the forecaster's own: how far
            // beyond the limit it points is evidence).
            mem: wire_forecast(
                self.mem
                    .prediction()
                    .map(|p| p.capped_at(mem_limit.unwrap_or(f64::INFINITY))),
                h,
            ),
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

impl ContainerBrain {
    /// The evidence the failure probability was computed from at the latest observation (what
    /// `eval risk` fits and measures the mapping on).
    pub fn evidence(&self) -> Evidence {
        self.evidence
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
mod test_noise;
#[cfg(test)]
mod tests;
