//! The recorded real services of `tests/data/traces/steady` (redis, PostgreSQL, nginx, idle and
//! under their load tools, 20 min each) as one stream of observations, one after another on one
//! clock: what a watched container feeds the brain. Shared by the brain's bench and `brain_cost`.

use dockerpulse::brain::Observation;
use dockerpulse::eval::traces::{observations, read_trace_dir};

/// Every steady trace's observations in turn, renumbered one second apart.
pub fn real_service_observations() -> Vec<Observation> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/traces/steady");
    let set = read_trace_dir(&dir).expect("the steady real-service traces");
    let mut all: Vec<Observation> = set
        .traces
        .iter()
        .flat_map(|t| observations(t, &set.events, 2, true))
        .collect();
    for (i, o) in all.iter_mut().enumerate() {
        o.ts_ms = i as i64 * 1000;
    }
    assert!(all.len() > 2000, "{} observations", all.len());
    all
}
