//! DockerPulse's own health and fleet-wide figures: viewers, the store (state, queue, samples
//! dropped, actions refused), the engine's connection state, open incidents and interventions
//! by action, mode and outcome.
//!
//! Incident and intervention counts come from the store; they are cached and read again only
//! when the loop says records changed (or after a few seconds), so a scrape rarely touches
//! SQLite.

use super::Sources;
use crate::clock::now_ms;
use crate::store::db::ExportCounts;
use app::wire::{EngineState, StoreState};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use std::sync::{Mutex, PoisonError};

/// Store counts older than this are read again even when nothing said they changed (a record
/// is committed a moment after the loop announces it).
const COUNTS_MAX_AGE_MS: i64 = 5_000;

#[derive(Debug)]
pub struct HealthCollector {
    s: Sources,
    /// (incidents_rev, read at ms, counts).
    cache: Mutex<Option<(u64, i64, ExportCounts)>>,
}

impl HealthCollector {
    pub fn new(s: Sources) -> Self {
        Self {
            s,
            cache: Mutex::new(None),
        }
    }

    /// The store's counts, from the cache when fresh. A store that cannot be read shows its
    /// last counts (its state is exposed separately).
    fn counts(&self, rev: u64) -> ExportCounts {
        let now = now_ms();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((r, at, c)) = cache.as_ref() {
            if *r == rev && now - at < COUNTS_MAX_AGE_MS {
                return c.clone();
            }
        }
        match self.s.db.export_counts() {
            Ok(c) => {
                *cache = Some((rev, now, c.clone()));
                c
            }
            Err(e) => {
                tracing::warn!(error = %e, "/metrics: cannot read counts from the store");
                cache
                    .as_ref()
                    .map(|(_, _, c)| c.clone())
                    .unwrap_or_default()
            }
        }
    }
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> std::fmt::Result {
    enc.encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&v)
}

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    enc.encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, u64, f64>(&v, None)
}

const ENGINE_STATES: [(EngineState, &str); 5] = [
    (EngineState::Connecting, "connecting"),
    (EngineState::Connected, "connected"),
    (EngineState::Unreachable, "unreachable"),
    (EngineState::Simulated, "simulated"),
    (EngineState::NotWatched, "not_watched"),
];

impl Collector for HealthCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (store, engine, containers, rev) = {
            let live = self.s.live.read();
            (
                live.store.clone(),
                live.engine.state,
                live.len(),
                live.incidents_rev,
            )
        };
        let e = &mut enc;
        gauge(
            e,
            "dockerpulse_containers",
            "Containers watched",
            containers as f64,
        )?;
        let viewers = self.s.viewers.counters();
        gauge(
            e,
            "dockerpulse_viewers",
            "Dashboards connected to the live feed",
            viewers.connected as f64,
        )?;
        gauge(
            e,
            "dockerpulse_viewers_max",
            "The cap on live viewers ([viewers] max)",
            viewers.max as f64,
        )?;
        counter(
            e,
            "dockerpulse_viewers_refused",
            "Viewers turned away by the viewer caps",
            viewers.refused,
        )?;
        counter(
            e,
            "dockerpulse_viewer_frames_skipped",
            "Frames slow viewers skipped to catch up with the newest",
            viewers.frames_skipped,
        )?;
        gauge(
            e,
            "dockerpulse_store_up",
            "1 while the durable store writes, 0 while it fails",
            if store.state == StoreState::Ok {
                1.0
            } else {
                0.0
            },
        )?;
        gauge(
            e,
            "dockerpulse_store_queued_records",
            "Records waiting to be written",
            store.queued as f64,
        )?;
        counter(
            e,
            "dockerpulse_samples_dropped",
            "Incident samples not stored because the write queue was full",
            store.samples_dropped,
        )?;
        counter(
            e,
            "dockerpulse_actions_refused",
            "Actions not taken because their record could not be committed in time",
            store.actions_refused,
        )?;
        {
            let mut m = e.encode_descriptor(
                "dockerpulse_engine_state",
                "1 for the Docker engine's current connection state",
                None,
                MetricType::Gauge,
            )?;
            for (state, name) in ENGINE_STATES {
                let v = if state == engine { 1.0 } else { 0.0 };
                m.encode_family(&[("state", name)])?.encode_gauge(&v)?;
            }
        }
        let counts = self.counts(rev);
        gauge(
            e,
            "dockerpulse_incidents_open",
            "Incidents open",
            counts.open_incidents as f64,
        )?;
        let mut m = e.encode_descriptor("dockerpulse_interventions", "Healing decisions and actions recorded (kept for `retention`), by action, mode and outcome", None, MetricType::Counter)?;
        for (action, mode, outcome, n) in &counts.interventions {
            let labels = [
                ("action", action.as_str()),
                ("mode", mode.as_str()),
                ("outcome", outcome.as_str()),
            ];
            m.encode_family(&labels)?
                .encode_counter::<NoLabelSet, u64, f64>(n, None)?;
        }
        Ok(())
    }
}
