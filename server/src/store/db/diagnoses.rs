//! Root-cause hints ([`Diagnosis`]) in the store: written by the hints worker, read by the API
//! and the reports. Those of an incident are deleted with it; those of a death without an
//! incident are kept for the retention period.

use super::rows::Where;
use super::*;
use app::wire::Diagnosis;

/// Filters of the diagnosis list.
#[derive(Debug, Clone, Default)]
pub struct DiagnosisFilter {
    /// Container name or id.
    pub container: Option<String>,
    pub incident: Option<String>,
    pub limit: u64,
    pub offset: u64,
}

fn diagnosis_row(r: &Row) -> rusqlite::Result<Diagnosis> {
    let id: i64 = r.get(0)?;
    let body: String = r.get(1)?;
    let mut d: Diagnosis = serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    d.id = id;
    Ok(d)
}

impl Db {
    /// Stores a diagnosis and returns its id. Diagnoses without an incident older than
    /// `forget_before_ms` are deleted in the same transaction (they have no incident to be
    /// pruned with).
    pub fn insert_diagnosis(
        &self,
        d: &Diagnosis,
        forget_before_ms: i64,
    ) -> Result<i64, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM diagnoses WHERE incident_id IS NULL AND ts_ms < ?1",
                params![forget_before_ms],
            )?;
            tx.execute(
                "INSERT INTO diagnoses (incident_id, container_id, container_name, ts_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    d.incident_id,
                    d.container_id,
                    d.container_name,
                    d.ts_ms,
                    serde_json::to_string(d)?
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })
    }

    /// Diagnoses, newest first.
    pub fn diagnoses(&self, f: &DiagnosisFilter) -> Result<Page<Diagnosis>, StoreError> {
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
        self.with_read(|c| {
            w.page(
                c,
                "diagnoses",
                "SELECT id, body FROM diagnoses",
                "ts_ms DESC, id DESC",
                f.limit,
                f.offset,
                diagnosis_row,
            )
        })
    }

    /// The diagnoses of one incident, newest first.
    pub fn diagnoses_of(&self, incident_id: &str) -> Result<Vec<Diagnosis>, StoreError> {
        Ok(self
            .diagnoses(&DiagnosisFilter {
                incident: Some(incident_id.into()),
                limit: 100,
                ..DiagnosisFilter::default()
            })?
            .items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::Trigger;
    use app::wire::{Hint, HintLine, LogStream};

    fn diagnosis(container: &str, incident: Option<&str>, ts_ms: i64) -> Diagnosis {
        Diagnosis {
            container_id: format!("{container}-id"),
            container_name: container.into(),
            incident_id: incident.map(String::from),
            ts_ms,
            trigger: "the container died (exit code 1)".into(),
            exit_code: Some(1),
            hints: vec![Hint {
                kind: "exception".into(),
                sentence: "Python raised `KeyError`".into(),
                confidence: 0.9,
                lines: vec![HintLine {
                    ts_ms: Some(ts_ms),
                    stream: LogStream::Stderr,
                    text: "<script>alert(1)</script>".into(),
                    truncated: false,
                }],
            }],
            ..Diagnosis::default()
        }
    }

    #[test]
    fn diagnoses_round_trip_go_with_their_incident_and_expire_alone() {
        let db = Db::open_in_memory().expect("db");
        let labels = BTreeMap::new();
        db.insert_incident(&NewIncident {
            id: "inc-1".to_string(),
            container_id: "web-id".to_string(),
            container_name: "web".to_string(),
            image: "img".to_string(),
            labels: labels.clone(),
            host: "h".to_string(),
            engine_version: "20.10".to_string(),
            simulated: false,
            opened_ms: 1_000,
            trigger: Trigger::Died { exit_code: Some(1) },
            peak_probability: 100.0,
            peak_level: RiskLevel::Critical,
            reasons: Vec::new(),
            cpu_quota_pct: None,
        })
        .expect("incident");
        let with = diagnosis("web", Some("inc-1"), 2_000);
        let id = db.insert_diagnosis(&with, 0).expect("insert");
        db.insert_diagnosis(&diagnosis("web", None, 3_000), 0)
            .expect("insert");
        let page = db
            .diagnoses(&DiagnosisFilter {
                container: Some("web".into()),
                limit: 10,
                ..DiagnosisFilter::default()
            })
            .expect("list");
        assert_eq!(page.total, 2);
        assert_eq!(page.items[0].ts_ms, 3_000, "newest first");
        let of = db.diagnoses_of("inc-1").expect("of incident");
        assert_eq!(of, vec![Diagnosis { id, ..with }]);

        // An incident-less diagnosis older than the cut-off goes at the next insert.
        db.insert_diagnosis(&diagnosis("db", None, 10_000), 5_000)
            .expect("insert");
        let all = db
            .diagnoses(&DiagnosisFilter {
                limit: 10,
                ..DiagnosisFilter::default()
            })
            .expect("list");
        assert_eq!(all.total, 2);
        // Pruning the closed incident takes its diagnosis along.
        db.close_incident("inc-1", 1_500, "test").expect("close");
        db.prune(2_000).expect("prune");
        assert!(db.diagnoses_of("inc-1").expect("of").is_empty());
    }
}
