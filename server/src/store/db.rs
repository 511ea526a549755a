//! The durable store: incidents, their sample windows, interventions and per-container counters
//! in SQLite (WAL mode), with versioned migrations. Survives restarts and `kill -9`: every write
//! is its own committed transaction.

use super::live::HistoryPoint;
use crate::incident::tracker::Trigger;
use app::wire::{
    HealAction, HealMode, Incident, IncidentState, Intervention, Outcome, Page, Reason, RiskLevel,
};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use rusqlite_migration::{Migrations, M};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {0}: {1}")]
    Dir(PathBuf, std::io::Error),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored data is not valid: {0}")]
    Json(#[from] serde_json::Error),
}

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    container_id TEXT NOT NULL,
    container_name TEXT NOT NULL,
    image TEXT NOT NULL,
    labels TEXT NOT NULL,
    host TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    opened_ms INTEGER NOT NULL,
    closed_ms INTEGER,
    trigger TEXT NOT NULL,
    trigger_text TEXT NOT NULL,
    close_reason TEXT,
    peak_probability REAL NOT NULL,
    peak_level TEXT NOT NULL,
    reasons TEXT NOT NULL,
    cpu_quota_pct REAL
);
CREATE INDEX incidents_opened ON incidents(opened_ms);
CREATE INDEX incidents_container ON incidents(container_name);
CREATE TABLE incident_samples (
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    ts_ms INTEGER NOT NULL,
    point TEXT NOT NULL,
    PRIMARY KEY (incident_id, ts_ms)
) WITHOUT ROWID;
CREATE TABLE interventions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT REFERENCES incidents(id) ON DELETE SET NULL,
    container_id TEXT NOT NULL,
    container_name TEXT NOT NULL,
    decided_ms INTEGER NOT NULL,
    started_ms INTEGER,
    finished_ms INTEGER,
    action TEXT NOT NULL,
    mode TEXT NOT NULL,
    manual INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT,
    failure_probability REAL NOT NULL
);
CREATE INDEX interventions_decided ON interventions(decided_ms);
CREATE INDEX interventions_container ON interventions(container_name);
CREATE INDEX interventions_incident ON interventions(incident_id);
CREATE TABLE counters (
    container_name TEXT PRIMARY KEY,
    interventions INTEGER NOT NULL DEFAULT 0,
    critical_entries INTEGER NOT NULL DEFAULT 0,
    breaker_open INTEGER NOT NULL DEFAULT 0
);
"#,
    ),
    // The report chain's anchor: every report written, in order, with its hash. Deleting the
    // newest reports from the directory is then caught too.
    M::up(
        r#"
CREATE TABLE reports (
    seq INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    written_ms INTEGER NOT NULL
);
"#,
    ),
];

/// Per-container counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub interventions: u64,
    pub critical_entries: u64,
    pub breaker_open: bool,
}

/// A new incident's facts.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    pub id: &'a str,
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub image: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub host: &'a str,
    pub engine_version: &'a str,
    pub simulated: bool,
    pub opened_ms: i64,
    pub trigger: &'a Trigger,
    pub peak_probability: f64,
    pub peak_level: RiskLevel,
    pub reasons: &'a [Reason],
    pub cpu_quota_pct: Option<f64>,
}

/// Filters of the incident list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Container name or id.
    pub container: Option<String>,
    pub state: Option<IncidentState>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub limit: u64,
    pub offset: u64,
}

/// Filters of the intervention list.
#[derive(Debug, Clone, Default)]
pub struct InterventionFilter {
    pub container: Option<String>,
    pub incident: Option<String>,
    pub since_ms: Option<i64>,
    pub limit: u64,
    pub offset: u64,
}

/// A stored incident with its opening trigger (for restoring open incidents).
#[derive(Debug, Clone)]
pub struct StoredIncident {
    pub incident: Incident,
    pub trigger: Trigger,
}

/// The database; cheap to clone, safe to share. Writes (the pipeline) and reads (the API,
/// reports) go through separate connections, so a slow query never holds up the live loop
/// (WAL lets readers and the writer work at the same time).
#[derive(Clone, Debug)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    read: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

impl Db {
    /// Opens (creating if needed) `<dir>/dockerpulse.db` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.into(), e))?;
        let path = dir.join("dockerpulse.db");
        let conn = Self::prepare(Connection::open(&path)?)?;
        let read = Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        read.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            read: Arc::new(Mutex::new(read)),
            path: Some(path),
        })
    }

    /// An in-memory store (tests): one connection serves reads and writes.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Arc::new(Mutex::new(Self::prepare(Connection::open_in_memory()?)?));
        Ok(Self {
            read: Arc::clone(&conn),
            conn,
            path: None,
        })
    }

    fn prepare(mut conn: Connection) -> Result<Connection, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode: a crash of the process loses nothing committed.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        Ok(conn)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn)
    }

    fn with_read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }

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

    pub fn counters(&self) -> Result<HashMap<String, Counters>, StoreError> {
        self.with_read(|c| {
            let mut st = c.prepare(
                "SELECT container_name, interventions, critical_entries, breaker_open FROM counters",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Counters {
                        interventions: r.get::<_, i64>(1)?.max(0) as u64,
                        critical_entries: r.get::<_, i64>(2)?.max(0) as u64,
                        breaker_open: r.get(3)?,
                    },
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// One container's counters (zero when it has none yet).
    pub fn counters_of(&self, name: &str) -> Result<Counters, StoreError> {
        self.with_read(|c| {
            Ok(c.query_row(
                "SELECT interventions, critical_entries, breaker_open FROM counters WHERE container_name = ?1",
                params![name],
                |r| {
                    Ok(Counters {
                        interventions: r.get::<_, i64>(0)?.max(0) as u64,
                        critical_entries: r.get::<_, i64>(1)?.max(0) as u64,
                        breaker_open: r.get(2)?,
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
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

/// A WHERE clause built from optional filters, and the page query both lists share.
#[derive(Default)]
struct Where {
    clauses: Vec<&'static str>,
    args: Vec<rusqlite::types::Value>,
}

impl Where {
    fn add<const N: usize>(&mut self, clause: &'static str, args: [rusqlite::types::Value; N]) {
        self.clauses.push(clause);
        self.args.extend(args);
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn page<T>(
        &self,
        c: &Connection,
        table: &str,
        select: &str,
        order: &str,
        limit: u64,
        offset: u64,
        row: fn(&Row) -> rusqlite::Result<T>,
    ) -> Result<Page<T>, StoreError> {
        let wh = self.sql();
        let total: i64 = c.query_row(
            &format!("SELECT COUNT(*) FROM {table} {wh}"),
            params_from_iter(self.args.iter()),
            |r| r.get(0),
        )?;
        let mut args = self.args.clone();
        args.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
        args.push(i64::try_from(offset).unwrap_or(i64::MAX).into());
        let mut st = c.prepare(&format!("{select} {wh} ORDER BY {order} LIMIT ? OFFSET ?"))?;
        let items = st
            .query_map(params_from_iter(args.iter()), row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            total: total.max(0) as u64,
            offset,
            limit,
            items,
        })
    }
}

const INCIDENT_SELECT: &str = "SELECT id, container_id, container_name, image, labels, host,
    engine_version, simulated, opened_ms, closed_ms, trigger, trigger_text, close_reason,
    peak_probability, peak_level, reasons, cpu_quota_pct,
    (SELECT COUNT(*) FROM interventions i WHERE i.incident_id = incidents.id
        AND i.outcome IN ('simulated','pending','succeeded','failed')),
    (SELECT COUNT(*) FROM interventions i WHERE i.incident_id = incidents.id
        AND i.action = 'restart' AND i.outcome = 'succeeded')
    FROM incidents";

const INTERVENTION_SELECT: &str = "SELECT id, incident_id, container_id, container_name,
    decided_ms, started_ms, finished_ms, action, mode, manual, outcome, reason, detail,
    failure_probability FROM interventions";

fn json_col<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn level(s: &str) -> RiskLevel {
    match s {
        "CRITICAL" => RiskLevel::Critical,
        "MEDIUM" => RiskLevel::Medium,
        _ => RiskLevel::Low,
    }
}

fn incident_row(r: &Row) -> rusqlite::Result<StoredIncident> {
    let closed_ms: Option<i64> = r.get(9)?;
    Ok(StoredIncident {
        trigger: json_col(r, 10)?,
        incident: Incident {
            id: r.get(0)?,
            container_id: r.get(1)?,
            container_name: r.get(2)?,
            image: r.get(3)?,
            labels: json_col(r, 4)?,
            host: r.get(5)?,
            engine_version: r.get(6)?,
            simulated: r.get(7)?,
            state: if closed_ms.is_some() {
                IncidentState::Closed
            } else {
                IncidentState::Open
            },
            opened_ms: r.get(8)?,
            closed_ms,
            trigger: r.get(11)?,
            close_reason: r.get(12)?,
            peak_probability: r.get(13)?,
            peak_level: level(&r.get::<_, String>(14)?),
            reasons: json_col(r, 15)?,
            cpu_quota_pct: r.get(16)?,
            interventions: r.get::<_, i64>(17)?.max(0) as u64,
            forced_restart: r.get::<_, i64>(18)? > 0,
        },
    })
}

fn intervention_row(r: &Row) -> rusqlite::Result<Intervention> {
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let action: String = r.get(7)?;
    let mode: String = r.get(8)?;
    let outcome: String = r.get(10)?;
    Ok(Intervention {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        container_id: r.get(2)?,
        container_name: r.get(3)?,
        decided_ms: r.get(4)?,
        started_ms: r.get(5)?,
        finished_ms: r.get(6)?,
        action: HealAction::parse(&action).ok_or_else(|| bad(7, "action"))?,
        mode: if mode == HealMode::Enforce.as_str() {
            HealMode::Enforce
        } else {
            HealMode::DryRun
        },
        manual: r.get(9)?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| bad(10, "outcome"))?,
        reason: r.get(11)?,
        detail: r.get(12)?,
        failure_probability: r.get(13)?,
    })
}

#[cfg(test)]
#[path = "db_tests.rs"]
mod tests;
