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
                    serde_json::to_string(&n.labels)?,
                    n.host,
                    n.engine_version,
                    n.simulated,
                    n.opened_ms,
                    serde_json::to_string(&n.trigger)?,
                    n.trigger.describe(),
                    n.peak_probability,
                    n.peak_level.as_str(),
                    serde_json::to_string(&n.reasons)?,
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
        self.record_decision(i, &[])
    }

    /// Records a decision, the guard state it leaves behind and, for an automatic
    /// intervention, the container's counter — in one transaction, so they never disagree.
    /// Returns the intervention's id.
    pub fn record_decision(
        &self,
        i: &Intervention,
        guards: &[GuardRow],
    ) -> Result<i64, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO interventions (incident_id, container_id, container_name, decided_ms,
                 started_ms, finished_ms, action, mode, manual, outcome, reason, detail,
                 failure_probability, held, verification)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
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
                    i.held,
                    i.verification,
                ],
            )?;
            let id = tx.last_insert_rowid();
            if i.outcome.is_intervention() && !i.manual {
                bump(&tx, &i.container_name, 1, 0)?;
            }
            upsert_guards(&tx, guards, i.decided_ms)?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// Records the engine's answer to an enforced action, with the guard state it leaves.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_intervention(
        &self,
        id: i64,
        started_ms: i64,
        finished_ms: i64,
        outcome: Outcome,
        detail: Option<&str>,
        guards: &[GuardRow],
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE interventions SET started_ms = ?2, finished_ms = ?3, outcome = ?4, detail = ?5 WHERE id = ?1",
                params![id, started_ms, finished_ms, outcome.as_str(), detail],
            )?;
            upsert_guards(&tx, guards, finished_ms)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Records whether a restart held (running, and healthy when checked) afterwards; `None`
    /// when it was not judged (another action on the container came first).
    pub fn verify_intervention(
        &self,
        id: i64,
        held: Option<bool>,
        verification: &str,
        at_ms: i64,
        guards: &[GuardRow],
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE interventions SET held = ?2, verification = ?3 WHERE id = ?1",
                params![id, held, verification],
            )?;
            upsert_guards(&tx, guards, at_ms)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Stores guard state that changed without a record (a breaker reset, a relapse, a calm
    /// period that resets the restart backoff).
    pub fn save_guards(&self, guards: &[GuardRow], at_ms: i64) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            upsert_guards(&tx, guards, at_ms)?;
            tx.commit()?;
            Ok(())
        })
    }

    pub fn bump_counters(
        &self,
        name: &str,
        interventions: u64,
        critical: u64,
    ) -> Result<(), StoreError> {
        self.with(|c| bump(c, name, interventions, critical))
    }

    /// Thins the middle of an incident's sample window: keeps every sample before
    /// `head_until_ms` and from `tail_from_ms` on, and one per `stride_ms` in between.
    /// Returns the number of samples deleted.
    pub fn compact_samples(
        &self,
        incident_id: &str,
        head_until_ms: i64,
        tail_from_ms: i64,
        stride_ms: i64,
    ) -> Result<usize, StoreError> {
        self.with(|c| {
            Ok(c.execute(
                "DELETE FROM incident_samples WHERE incident_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3
                 AND ts_ms NOT IN (SELECT MIN(ts_ms) FROM incident_samples
                     WHERE incident_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 GROUP BY ts_ms / ?4)",
                params![incident_id, head_until_ms, tail_from_ms, stride_ms.max(1)],
            )?)
        })
    }

    /// A small write that proves the store can write (and notices when it can again).
    pub fn heartbeat(&self, at_ms: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('heartbeat_ms', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![at_ms.to_string()],
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
            // Guards idle for the whole retention period hold only expired windows.
            tx.execute(
                "DELETE FROM heal_guards WHERE updated_ms < ?1 AND breaker_open = 0",
                params![before_ms],
            )?;
            tx.commit()?;
            Ok(n)
        })
    }
}

fn bump(c: &Connection, name: &str, interventions: u64, critical: u64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO counters (container_name, interventions, critical_entries) VALUES (?1, ?2, ?3)
         ON CONFLICT(container_name) DO UPDATE SET
           interventions = interventions + excluded.interventions,
           critical_entries = critical_entries + excluded.critical_entries",
        params![name, interventions as i64, critical as i64],
    )?;
    Ok(())
}

fn upsert_guards(c: &Connection, guards: &[GuardRow], at_ms: i64) -> Result<(), StoreError> {
    let mut st = c.prepare_cached(
        "INSERT INTO heal_guards (container_name, breaker_open, state, updated_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(container_name) DO UPDATE SET breaker_open = excluded.breaker_open,
           state = excluded.state, updated_ms = excluded.updated_ms",
    )?;
    for g in guards {
        st.execute(params![g.container_name, g.breaker_open, g.state, at_ms])?;
    }
    Ok(())
}
