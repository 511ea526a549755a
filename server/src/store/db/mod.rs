//! The durable store: incidents, their sample windows, interventions and per-container counters
//! in SQLite (WAL mode), with versioned migrations. Survives restarts and `kill -9`: every write
//! is its own committed transaction.
//!
//! `schema` holds the migrations, `write` and `read` the queries, `rows` the row mapping.

use super::live::HistoryPoint;
use super::records::Trigger;
use app::wire::{
    HealAction, HealMode, Incident, IncidentState, Intervention, Outcome, Page, Reason, RiskLevel,
};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use rusqlite_migration::Migrations;
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

impl StoreError {
    /// Whether trying again later can succeed: a busy or locked database, a full disk, an I/O
    /// error. A constraint violation or bad data will fail the same way every time.
    pub fn is_transient(&self) -> bool {
        use rusqlite::ErrorCode as C;
        match self {
            StoreError::Dir(..) => true,
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                C::DatabaseBusy
                    | C::DatabaseLocked
                    | C::DiskFull
                    | C::SystemIoFailure
                    | C::CannotOpen
                    | C::ReadOnly
                    | C::OutOfMemory
                    | C::FileLockingProtocolFailed
            ),
            _ => false,
        }
    }
}

mod diagnoses;
mod outbox;
mod read;
mod rows;
mod schema;
mod write;

pub use diagnoses::DiagnosisFilter;
pub use outbox::{NewOutbox, OutboxDestination, OutboxRow, OutboxSummary};
pub use read::ExportCounts;

/// Per-container counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub interventions: u64,
    pub critical_entries: u64,
    pub breaker_open: bool,
}

/// A new incident's facts (owned: it may wait in the writer's queue).
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub id: String,
    pub container_id: String,
    pub container_name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub host: String,
    pub engine_version: String,
    pub simulated: bool,
    pub opened_ms: i64,
    pub trigger: Trigger,
    pub peak_probability: f64,
    pub peak_level: RiskLevel,
    pub reasons: Vec<Reason>,
    pub cpu_quota_pct: Option<f64>,
}

/// The healing policy's durable guard state of one container (or of the fleet), as the store
/// keeps it: the breaker as a column (reports and restarts read it), the rest as the policy's
/// own JSON, which the store does not interpret.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardRow {
    pub container_name: String,
    pub breaker_open: bool,
    pub state: String,
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
        Migrations::from_slice(schema::MIGRATIONS).to_latest(&mut conn)?;
        Ok(conn)
    }

    /// How long a write waits for another connection's lock before failing with "busy". The
    /// writer keeps it short: it retries by itself, and must notice its deadlines.
    pub fn set_busy_timeout(&self, t: std::time::Duration) -> Result<(), StoreError> {
        self.with(|c| Ok(c.busy_timeout(t)?))
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn)
    }

    pub(super) fn with_read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }
}

#[cfg(test)]
mod tests;
