//! `GET /metrics`: DockerPulse as a Prometheus target, in the OpenMetrics text format, written
//! with the `prometheus-client` crate.
//!
//! Nothing is copied into metric objects every tick: at each scrape the collectors read the live
//! store (one read lock, no I/O) and encode what it holds — container metrics under cAdvisor's
//! names and labels ([`fleet`]), what only DockerPulse knows (forecasts, risk, anomaly) and its
//! own health ([`health`]). The one metric recorded as it happens is the tick duration, a
//! histogram the pipeline observes.

pub mod fleet;
pub mod health;

use crate::state::Shared;
use crate::store::db::Db;
use crate::store::live::LiveStore;
use crate::viewers::ViewerGate;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of an OpenMetrics text exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot encode the metrics")]
    Encode(#[from] std::fmt::Error),
}

/// How long one tick of the loop takes (assessing every container, incidents, healing, the
/// frame). Buckets from 0.5 ms to 2.5 s: a tick longer than the interval delays every viewer.
pub fn tick_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ])
}

/// What the collectors read.
#[derive(Clone, Debug)]
pub struct Sources {
    pub live: Shared<LiveStore>,
    /// Live viewers and the caps' counters.
    pub viewers: ViewerGate,
    pub db: Db,
    /// Container labels exposed as `container_label_<name>` (opt-in: labels often hold secrets).
    pub container_labels: Vec<String>,
}

/// The registry served at `/metrics`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    pub fn new(sources: Sources, tick: Histogram) -> Self {
        let mut registry = Registry::default();
        registry.register(
            "dockerpulse_tick_duration_seconds",
            "Time one tick of the loop takes: assessing every container, incidents, healing, the frame",
            tick,
        );
        registry.register_collector(Box::new(fleet::FleetCollector::new(
            sources.live.clone(),
            &sources.container_labels,
        )));
        registry.register_collector(Box::new(health::HealthCollector::new(sources)));
        Self { registry }
    }

    /// The whole exposition, ending with `# EOF`.
    pub fn encode(&self) -> Result<String, ExportError> {
        let mut out = String::with_capacity(64 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// `container_label_<key>`, with every character Prometheus does not allow in a label name
/// replaced by `_` (as cAdvisor does).
pub fn label_name(key: &str) -> String {
    let mut s = String::with_capacity(16 + key.len());
    s.push_str("container_label_");
    s.extend(
        key.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    s
}

#[cfg(test)]
mod tests;
