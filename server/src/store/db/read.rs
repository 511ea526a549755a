//! Reads for the API, reports and restarts: lists with filters and pages, counters, anchors.

use super::rows::{
    counters_row, incident_row, intervention_row, Where, COUNTERS_SELECT, INCIDENT_SELECT,
    INTERVENTION_SELECT,
};
use super::*;

impl Db {
    /// Every container's counters, with its breaker from the healing guards.
    pub fn counters(&self) -> Result<HashMap<String, Counters>, StoreError> {
        self.with_read(|c| {
            let mut st = c.prepare(COUNTERS_SELECT)?;
            let rows = st.query_map([], counters_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// One container's counters (zero when it has none yet).
    pub fn counters_of(&self, name: &str) -> Result<Counters, StoreError> {
        self.with_read(|c| {
            Ok(c.query_row(
                &format!("SELECT * FROM ({COUNTERS_SELECT}) WHERE name = ?1"),
                params![name],
                counters_row,
            )
            .optional()?
            .map(|(_, c)| c)
            .unwrap_or_default())
        })
    }

    /// The healing guards as stored (read once at start).
    pub fn guards(&self) -> Result<Vec<GuardRow>, StoreError> {
        self.with_read(|c| {
            let mut st =
                c.prepare("SELECT container_name, breaker_open, state FROM heal_guards")?;
            let rows = st.query_map([], |r| {
                Ok(GuardRow {
                    container_name: r.get(0)?,
                    breaker_open: r.get(1)?,
                    state: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Enforced actions whose outcome was never recorded (DockerPulse stopped meanwhile),
    /// oldest first.
    pub fn pending_interventions(&self) -> Result<Vec<Intervention>, StoreError> {
        self.with_read(|c| {
            let mut st = c.prepare(&format!(
                "{INTERVENTION_SELECT} WHERE outcome = 'pending' ORDER BY decided_ms, id"
            ))?;
            let rows = st.query_map([], intervention_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The sample timestamps stored for each open incident (read once at start).
    pub fn open_sample_timestamps(&self) -> Result<HashMap<String, Vec<i64>>, StoreError> {
        self.with_read(|c| {
            let mut st = c.prepare(
                "SELECT s.incident_id, s.ts_ms FROM incident_samples s
                 JOIN incidents i ON i.id = s.incident_id WHERE i.closed_ms IS NULL
                 ORDER BY s.incident_id, s.ts_ms",
            )?;
            let mut out: HashMap<String, Vec<i64>> = HashMap::new();
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (id, ts) = row?;
                out.entry(id).or_default().push(ts);
            }
            Ok(out)
        })
    }

    /// Every report written, in chain order: (file, sha256).
    pub fn report_anchors(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.with_read(|c| {
            let mut st = c.prepare("SELECT file, sha256 FROM reports ORDER BY seq")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Closed incidents without a report (written after a crash between closing and writing).
    pub fn closed_without_report(&self, since_ms: i64) -> Result<Vec<String>, StoreError> {
        self.with_read(|c| {
            let mut st = c.prepare(
                "SELECT id FROM incidents WHERE closed_ms IS NOT NULL AND closed_ms >= ?1
                 AND id NOT IN (SELECT incident_id FROM reports) ORDER BY closed_ms",
            )?;
            let rows = st.query_map(params![since_ms], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Interventions (performed or simulated) decided since `since_ms`, fleet-wide.
    pub fn interventions_since(&self, since_ms: i64) -> Result<u64, StoreError> {
        self.with_read(|c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM interventions WHERE decided_ms >= ?1
                 AND outcome IN ('simulated','pending','succeeded','failed') AND manual = 0",
                params![since_ms],
                |r| r.get(0),
            )?;
            Ok(n.max(0) as u64)
        })
    }

    pub fn incidents(&self, f: &IncidentFilter) -> Result<Page<Incident>, StoreError> {
        let mut w = Where::default();
        if let Some(c) = &f.container {
            w.add(
                "(container_name = ? OR container_id = ?)",
                [c.clone().into(), c.clone().into()],
            );
        }
        match f.state {
            Some(IncidentState::Open) => w.add("closed_ms IS NULL", []),
            Some(IncidentState::Closed) => w.add("closed_ms IS NOT NULL", []),
            None => {}
        }
        if let Some(s) = f.since_ms {
            w.add("opened_ms >= ?", [s.into()]);
        }
        if let Some(u) = f.until_ms {
            w.add("opened_ms <= ?", [u.into()]);
        }
        self.with_read(|c| {
            let page = w.page(
                c,
                "incidents",
                INCIDENT_SELECT,
                "opened_ms DESC, id",
                f.limit,
                f.offset,
                incident_row,
            )?;
            Ok(Page {
                total: page.total,
                offset: page.offset,
                limit: page.limit,
                items: page.items.into_iter().map(|s| s.incident).collect(),
            })
        })
    }

    pub fn incident(&self, id: &str) -> Result<Option<StoredIncident>, StoreError> {
        self.with_read(|c| {
            Ok(c.query_row(
                &format!("{INCIDENT_SELECT} WHERE id = ?1"),
                params![id],
                incident_row,
            )
            .optional()?)
        })
    }

    pub fn open_incidents(&self) -> Result<Vec<StoredIncident>, StoreError> {
        self.with_read(|c| {
            let mut st = c.prepare(&format!("{INCIDENT_SELECT} WHERE closed_ms IS NULL"))?;
            let rows = st.query_map([], incident_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The sample window of an incident, oldest first.
    pub fn samples(&self, incident_id: &str) -> Result<Vec<HistoryPoint>, StoreError> {
        self.with_read(|c| {
            let mut st = c.prepare(
                "SELECT point FROM incident_samples WHERE incident_id = ?1 ORDER BY ts_ms",
            )?;
            let texts = st
                .query_map(params![incident_id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(texts
                .iter()
                .map(|t| serde_json::from_str(t))
                .collect::<Result<_, _>>()?)
        })
    }

    pub fn interventions(&self, f: &InterventionFilter) -> Result<Page<Intervention>, StoreError> {
        let mut w = Where::default();
        if let Some(c) = &f.container {
            w.add(
                "(container_name = ? OR container_id = ?)",
                [c.clone().into(), c.clone().into()],
            );
        }
        if let Some(i) = &f.incident {
            w.add("incident_id = ?", [i.clone().into()]);
        }
        if let Some(s) = f.since_ms {
            w.add("decided_ms >= ?", [s.into()]);
        }
        self.with_read(|c| {
            w.page(
                c,
                "interventions",
                INTERVENTION_SELECT,
                "decided_ms DESC, id DESC",
                f.limit,
                f.offset,
                intervention_row,
            )
        })
    }
}

/// What `/metrics` reads from the store: open incidents and interventions by kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportCounts {
    pub open_incidents: u64,
    /// (action, mode, outcome, count), over the interventions kept (see `retention`).
    pub interventions: Vec<(String, String, String, u64)>,
}

impl Db {
    pub fn export_counts(&self) -> Result<ExportCounts, StoreError> {
        self.with_read(|c| {
            let open_incidents: i64 = c.query_row(
                "SELECT COUNT(*) FROM incidents WHERE closed_ms IS NULL",
                [],
                |r| r.get(0),
            )?;
            let mut st = c.prepare_cached(
                "SELECT action, mode, outcome, COUNT(*) FROM interventions
                 GROUP BY action, mode, outcome ORDER BY action, mode, outcome",
            )?;
            let interventions = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ExportCounts {
                open_incidents: u64::try_from(open_incidents).unwrap_or(0),
                interventions,
            })
        })
    }
}
