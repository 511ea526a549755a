//! Writes: incidents, their samples, interventions, counters, report anchors and pruning.

use super::*;

impl Db {
    pub fn insert_incident(&self, n: &NewIncident) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO incidents (id, container_id, container_name, image, labels, host,
                 engine_version, simulated, opened_ms, trigger, trigger_text, peak_probability,
                 peak_level, reasons, cpu_quota_pct)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
                params![
                    n.id,
                    n.container_id,
                    n.container_name,
                    n.image,
                    serde_json::to_string(n.labels)?,
                    n.host,
                    n.engine_version,
                    n.simulated,
                    n.opened_ms,
                    serde_json::to_string(n.trigger)?,
                    n.trigger.describe(),
                    n.peak_probability,
                    n.peak_level.as_str(),
                    serde_json::to_string(n.reasons)?,
                    n.cpu_quota_pct,
                ],
            )?;
            Ok(())
        })
    }

    pub fn update_peak(
        &self,
        id: &str,
        probability: f64,
        level: RiskLevel,
        reasons: &[Reason],
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE incidents SET peak_probability = ?2, peak_level = ?3, reasons = ?4 WHERE id = ?1",
                params![id, probability, level.as_str(), serde_json::to_string(reasons)?],
            )?;
            Ok(())
        })
    }

    pub fn close_incident(&self, id: &str, closed_ms: i64, why: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE incidents SET closed_ms = ?2, close_reason = ?3 WHERE id = ?1 AND closed_ms IS NULL",
                params![id, closed_ms, why],
            )?;
            Ok(())
        })
    }

    /// Appends history points to an incident's window (duplicates by timestamp are ignored).
    pub fn add_samples<'p>(
        &self,
        incident_id: &str,
        points: impl IntoIterator<Item = &'p HistoryPoint>,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT OR IGNORE INTO incident_samples (incident_id, ts_ms, point) VALUES (?1, ?2, ?3)",
                )?;
                for p in points {
                    st.execute(params![incident_id, p.sample.ts_ms, serde_json::to_string(p)?])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Records an intervention (or a decision not to act) and returns its id.
    pub fn insert_intervention(&self, i: &Intervention) -> Result<i64, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO interventions (incident_id, container_id, container_name, decided_ms,
                 started_ms, finished_ms, action, mode, manual, outcome, reason, detail,
                 failure_probability) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                params![
                    i.incident_id,
                    i.container_id,
                    i.container_name,
                    i.decided_ms,
                    i.started_ms,
                    i.finished_ms,
                    i.action.as_str(),
                    i.mode.as_str(),
                    i.manual,
                    i.outcome.as_str(),
                    i.reason,
                    i.detail,
                    i.failure_probability,
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Records the engine's answer to an enforced action.
    pub fn finish_intervention(
        &self,
        id: i64,
        started_ms: i64,
        finished_ms: i64,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE interventions SET started_ms = ?2, finished_ms = ?3, outcome = ?4, detail = ?5 WHERE id = ?1",
                params![id, started_ms, finished_ms, outcome.as_str(), detail],
            )?;
            Ok(())
        })
    }

    pub fn bump_counters(
        &self,
        name: &str,
        interventions: u64,
        critical: u64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO counters (container_name, interventions, critical_entries) VALUES (?1, ?2, ?3)
                 ON CONFLICT(container_name) DO UPDATE SET
                   interventions = interventions + excluded.interventions,
                   critical_entries = critical_entries + excluded.critical_entries",
                params![name, interventions as i64, critical as i64],
            )?;
            Ok(())
        })
    }

    pub fn set_breaker(&self, name: &str, open: bool) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO counters (container_name, breaker_open) VALUES (?1, ?2)
                 ON CONFLICT(container_name) DO UPDATE SET breaker_open = excluded.breaker_open",
                params![name, open],
            )?;
            Ok(())
        })
    }

    /// Records a report written into the chain.
    pub fn anchor_report(
        &self,
        seq: u64,
        incident_id: &str,
        file: &str,
        sha256: &str,
        written_ms: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO reports (seq, incident_id, file, sha256, written_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![i64::try_from(seq).unwrap_or(i64::MAX), incident_id, file, sha256, written_ms],
            )?;
            Ok(())
        })
    }

    /// Deletes closed incidents (with their samples) and interventions older than `before_ms`.
    pub fn prune(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "DELETE FROM incidents WHERE closed_ms IS NOT NULL AND closed_ms < ?1",
                params![before_ms],
            )?;
            tx.execute(
                "DELETE FROM interventions WHERE decided_ms < ?1 AND incident_id IS NULL",
                params![before_ms],
            )?;
            tx.commit()?;
            Ok(n)
        })
    }
}
