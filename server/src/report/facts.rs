//! The facts of an incident report, gathered from the store. The HTML report and
//! `report.json` are two renderings of this one structure.

use crate::store::db::{Counters, Db, InterventionFilter, StoreError};
use crate::store::live::HistoryPoint;
use app::wire::{Diagnosis, HealAction, Incident, Intervention, Outcome};
use serde::Serialize;

/// Version of the report's layout and JSON.
pub const REPORT_VERSION: u32 = 2;

/// The stamp on the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Seal {
    /// "FORCED RESTART", "SIMULATED", "FORCED PAUSE", … or "NO ACTION TAKEN".
    pub label: String,
    /// `forced`, `simulated` or `none` (for styling).
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportFacts {
    pub report_version: u32,
    pub dockerpulse_version: &'static str,
    pub generated_ms: i64,
    /// The incident is still open: the report is provisional and not part of the chain.
    pub provisional: bool,
    pub incident: Incident,
    pub duration_ms: Option<i64>,
    pub horizon_s: f64,
    /// The sample at the moment of failure: the peak of the failure probability.
    pub snapshot: Option<HistoryPoint>,
    pub samples: Vec<HistoryPoint>,
    /// Decisions during the incident, oldest first.
    pub interventions: Vec<Intervention>,
    /// Earlier decisions on the same container, newest first.
    pub prior_interventions: Vec<Intervention>,
    pub counters: Counters,
    pub seal: Seal,
    /// Root-cause hints gathered for the incident (since report version 2), newest first.
    pub diagnoses: Vec<Diagnosis>,
}

/// What the incident's interventions amount to.
pub fn seal(incident: &Incident, interventions: &[Intervention]) -> Seal {
    let performed = |a: HealAction| {
        interventions
            .iter()
            .any(|i| i.action == a && i.outcome == Outcome::Succeeded)
    };
    if performed(HealAction::Restart) {
        return Seal {
            label: "FORCED RESTART".into(),
            kind: "forced",
        };
    }
    for a in [HealAction::Pause, HealAction::Isolate, HealAction::Throttle] {
        if performed(a) {
            return Seal {
                label: format!("FORCED {}", a.as_str().to_uppercase()),
                kind: "forced",
            };
        }
    }
    if incident.simulated
        || interventions
            .iter()
            .any(|i| i.outcome == Outcome::Simulated)
    {
        return Seal {
            label: "SIMULATED".into(),
            kind: "simulated",
        };
    }
    Seal {
        label: "NO ACTION TAKEN".into(),
        kind: "none",
    }
}

/// The sample with the highest failure probability inside the incident (ties: the earliest),
/// or the last one before it opened when none was assessed inside (a sudden death).
pub fn snapshot(incident: &Incident, samples: &[HistoryPoint]) -> Option<HistoryPoint> {
    let inside = |p: &&HistoryPoint| {
        p.sample.ts_ms >= incident.opened_ms
            && incident.closed_ms.is_none_or(|c| p.sample.ts_ms <= c)
    };
    let peak = samples
        .iter()
        .filter(inside)
        .fold(None::<&HistoryPoint>, |best, p| {
            let pf = p.failure_probability.unwrap_or(-1.0);
            match best {
                Some(b) if b.failure_probability.unwrap_or(-1.0) >= pf => Some(b),
                _ => Some(p),
            }
        });
    peak.or_else(|| {
        samples
            .iter()
            .rfind(|p| p.sample.ts_ms <= incident.opened_ms)
    })
    .copied()
}

/// Reads everything a report needs. `None` when there is no such incident.
pub fn gather(
    db: &Db,
    incident_id: &str,
    horizon_s: f64,
    generated_ms: i64,
) -> Result<Option<ReportFacts>, StoreError> {
    let Some(stored) = db.incident(incident_id)? else {
        return Ok(None);
    };
    let incident = stored.incident;
    let samples = db.samples(incident_id)?;
    let mut interventions = db
        .interventions(&InterventionFilter {
            incident: Some(incident_id.into()),
            limit: 10_000,
            ..InterventionFilter::default()
        })?
        .items;
    interventions.reverse();
    let prior_interventions = db
        .interventions(&InterventionFilter {
            container: Some(incident.container_name.clone()),
            limit: 200,
            ..InterventionFilter::default()
        })?
        .items
        .into_iter()
        .filter(|i| i.decided_ms < incident.opened_ms)
        .take(50)
        .collect();
    let diagnoses = db.diagnoses_of(incident_id)?;
    let counters = db
        .counters()?
        .remove(&incident.container_name)
        .unwrap_or_default();
    Ok(Some(ReportFacts {
        report_version: REPORT_VERSION,
        dockerpulse_version: env!("CARGO_PKG_VERSION"),
        generated_ms,
        provisional: incident.closed_ms.is_none(),
        duration_ms: incident.closed_ms.map(|c| c - incident.opened_ms),
        horizon_s,
        snapshot: snapshot(&incident, &samples),
        seal: seal(&incident, &interventions),
        incident,
        samples,
        interventions,
        prior_interventions,
        counters,
        diagnoses,
    }))
}
