//! Forensic audit reports: one self-contained HTML file per incident, written to the reports
//! directory when the incident closes, chained by SHA-256 (see [`chain`]).

pub mod causes;
pub mod chain;
pub mod charts;
pub mod facts;
pub mod render;

use crate::store::db::{Db, StoreError};
use chrono::FixedOffset;
use facts::ReportFacts;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no incident {0:?}")]
    NotFound(String),
    #[error("incident {0} is still open: its report enters the chain when it closes")]
    StillOpen(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Chain(#[from] chain::ChainError),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// A report file in the directory.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportFile {
    pub file: String,
    pub incident_id: String,
    pub bytes: u64,
}

/// Writes and finds reports. Writes are serialised so the chain stays linear.
#[derive(Clone, Debug)]
pub struct Reporter {
    db: Db,
    dir: PathBuf,
    horizon_s: f64,
    write_lock: Arc<Mutex<()>>,
}

/// The server's local UTC offset, shown next to UTC times.
pub fn local_offset() -> FixedOffset {
    *chrono::Local::now().offset()
}

impl Reporter {
    pub fn new(db: Db, dir: PathBuf, horizon_s: f64) -> Self {
        Self {
            db,
            dir,
            horizon_s,
            write_lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn facts(&self, incident_id: &str, now_ms: i64) -> Result<ReportFacts, ReportError> {
        facts::gather(&self.db, incident_id, self.horizon_s, now_ms)?
            .ok_or_else(|| ReportError::NotFound(incident_id.into()))
    }

    /// The chained report file of an incident, if one was written.
    pub fn find(&self, incident_id: &str) -> Result<Option<PathBuf>, ReportError> {
        let suffix = format!("-{incident_id}.html");
        Ok(chain::report_files(&self.dir)?
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(&suffix)))
    }

    pub fn list(&self) -> Result<Vec<ReportFile>, ReportError> {
        Ok(chain::report_files(&self.dir)?
            .into_iter()
            .filter_map(|p| {
                let file = p.file_name()?.to_string_lossy().into_owned();
                // <seq>-<time>-<container>-<uuid>.html: the UUID is the last 36 characters.
                let stem = file.strip_suffix(".html")?;
                let incident_id = stem.get(stem.len().saturating_sub(36)..)?.to_string();
                let bytes = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                Some(ReportFile {
                    file,
                    incident_id,
                    bytes,
                })
            })
            .collect())
    }

    /// The report to hand out now: the chained file when it exists, otherwise a fresh render
    /// (provisional while the incident is open), which is not added to the chain.
    pub fn current(&self, incident_id: &str, now_ms: i64) -> Result<(String, String), ReportError> {
        if let Some(path) = self.find(incident_id)? {
            let html =
                std::fs::read_to_string(&path).map_err(|e| ReportError::Io(path.clone(), e))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok((html, name));
        }
        let f = self.facts(incident_id, now_ms)?;
        let prev = chain::last_hash(&self.dir)?;
        let (html, _) = render::render(&f, &prev, local_offset())?;
        Ok((html, self.file_name(&f, 0)))
    }

    fn file_name(&self, f: &ReportFacts, seq: usize) -> String {
        let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(f.generated_ms)
            .map(|t| t.format("%Y%m%dT%H%M%S%.3fZ").to_string())
            .unwrap_or_default();
        format!(
            "{seq:06}-{at}-{}-{}.html",
            crate::util::fs_safe_name(&f.incident.container_name, 40),
            f.incident.id
        )
    }

    /// Writes a closed incident's report into the chain (once: an existing one is kept).
    /// Only closed incidents enter the chain (an open one gets a provisional report through
    /// [`Reporter::current`]). Safe against a concurrent writer in this process or another (the
    /// server and `dockerpulse report`): the directory is locked while the chain grows.
    pub fn write(&self, incident_id: &str, now_ms: i64) -> Result<PathBuf, ReportError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::fs::create_dir_all(&self.dir).map_err(|e| ReportError::Io(self.dir.clone(), e))?;
        let lock_path = self.dir.join(".lock");
        let lock =
            std::fs::File::create(&lock_path).map_err(|e| ReportError::Io(lock_path.clone(), e))?;
        lock.lock()
            .map_err(|e| ReportError::Io(lock_path.clone(), e))?;
        if let Some(existing) = self.find(incident_id)? {
            return Ok(existing);
        }
        let f = self.facts(incident_id, now_ms)?;
        if f.provisional {
            return Err(ReportError::StillOpen(incident_id.into()));
        }
        let prev = chain::last_hash(&self.dir)?;
        let seq = chain::report_files(&self.dir)?.len() + 1;
        let (html, hash) = render::render(&f, &prev, local_offset())?;
        let name = self.file_name(&f, seq);
        let path = self.dir.join(&name);
        write_durably(&self.dir, &path, html.as_bytes())?;
        self.db
            .anchor_report(seq as u64, incident_id, &name, &hash, now_ms)?;
        Ok(path)
    }

    /// Writes the reports of closed incidents that have none (DockerPulse stopped between
    /// closing an incident and writing its report, or writing failed). Returns how many.
    pub fn catch_up(&self, since_ms: i64, now_ms: i64) -> Result<usize, ReportError> {
        let missing = self.db.closed_without_report(since_ms)?;
        for id in &missing {
            self.write(id, now_ms)?;
        }
        Ok(missing.len())
    }
}

/// Writes a file so that it is whole and on disk before the chain's anchor names it: a
/// temporary file, synced, renamed into place, and the directory synced so the rename itself
/// survives a power cut.
fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    use std::io::Write;
    let tmp = path.with_extension("html.tmp");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| ReportError::Io(p, e)
    };
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReportError::Io(path.to_path_buf(), e));
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// How often reports that could not be written (a full disk, say) are tried again.
const CATCH_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Writes the report of every incident whose closing the store committed; at start, and
/// every few minutes, also those missed (DockerPulse stopped right after a close, or the disk
/// was full).
pub async fn write_reports(
    reporter: Reporter,
    mut closed: mpsc::UnboundedReceiver<String>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut catch_up = tokio::time::interval(CATCH_UP_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = catch_up.tick() => {
                let r = reporter.clone();
                let done = tokio::task::spawn_blocking(move || r.catch_up(0, crate::clock::now_ms())).await;
                match done {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::info!(reports = n, "wrote reports missed earlier"),
                    Ok(Err(e)) => tracing::error!(error = %e, "catching up on reports failed"),
                    Err(e) => tracing::error!(error = %e, "report task failed"),
                }
            }
            id = closed.recv() => {
                let Some(id) = id else { return };
                let r = reporter.clone();
                let key = id.clone();
                let written = tokio::task::spawn_blocking(move || r.write(&key, crate::clock::now_ms())).await;
                match written {
                    Ok(Ok(path)) => {
                        tracing::info!(incident = %id, report = %path.display(), "incident report written")
                    }
                    Ok(Err(e)) => {
                        tracing::error!(incident = %id, error = %e, "incident report failed (tried again later)")
                    }
                    Err(e) => tracing::error!(error = %e, "incident report task failed"),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
