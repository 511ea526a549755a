//! The incident log with a real store writer: what it writes when incidents open, peak and
//! close; an incident whose insert failed (locked store) is retried and never half-written;
//! sample windows stay bounded and are resumed after a restart.

use super::*;
use crate::collect::LifecycleKind;
use crate::store::db::{Db, IncidentFilter};
use crate::store::live::LiveStore;
use crate::store::writer::{self, Spawned};
use app::wire::{Reason, RiskLevel, Sample, SourceKind};
use std::time::Duration;

fn temp_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dp-incidents-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn info() -> ContainerInfo {
    ContainerInfo {
        id: "c1".into(),
        name: "web".into(),
        ..ContainerInfo::default()
    }
}

pub(super) fn assessed(ts_ms: i64, level: RiskLevel, p: f64) -> Assessment {
    Assessment {
        ts_ms,
        level,
        failure_probability: p,
        reasons: vec![Reason {
            weight: 1.0,
            text: format!("p={p}"),
        }],
        ..Assessment::default()
    }
}

struct Rig {
    log: IncidentLog,
    live: LiveStore,
    store: Spawned,
    closed: tokio::sync::mpsc::UnboundedReceiver<String>,
    db: Db,
    dir: std::path::PathBuf,
}

fn rig_in(dir: std::path::PathBuf, cfg: IncidentConfig) -> Rig {
    let db = Db::open(&dir).expect("store");
    let restored = Restored {
        open: db.open_incidents().expect("open"),
        counters: db.counters().expect("counters"),
        sample_ts: db.open_sample_timestamps().expect("windows"),
    };
    let (tx, closed) = tokio::sync::mpsc::unbounded_channel();
    let store = writer::spawn(db.clone(), 64, Some(tx)).expect("writer");
    Rig {
        log: IncidentLog::new(cfg, restored),
        live: LiveStore::new(100_000, SourceKind::Docker),
        store,
        closed,
        db,
        dir,
    }
}

impl Rig {
    /// One tick: a sample into the live store, then the log's view of the assessment.
    fn tick(&mut self, ts_ms: i64, level: RiskLevel, p: f64) -> bool {
        let a = assessed(ts_ms, level, p);
        let sample = Sample {
            ts_ms,
            cpu_pct: p,
            ..Sample::default()
        };
        self.live.record(info(), Some(sample), Some(a.clone()));
        let c = self.live.get("c1").expect("recorded");
        self.log
            .observe(&Context::default(), c, &a, &mut self.store.writer)
    }

    fn incidents(&self) -> Vec<app::wire::Incident> {
        self.db
            .incidents(&IncidentFilter {
                limit: 100,
                ..IncidentFilter::default()
            })
            .expect("read")
            .items
    }

    /// Waits until the writer has written everything queued so far.
    fn settle(&mut self) {
        for _ in 0..500 {
            self.store.writer.flush();
            if self.store.writer.status().queued == 0 {
                // The last record may still be in the writer's hands: one more beat.
                std::thread::sleep(Duration::from_millis(50));
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the writer never caught up: {:?}",
            self.store.writer.status()
        );
    }
}

#[test]
fn opening_peaking_and_closing_are_written_with_the_window() {
    let mut r = rig_in(temp_dir(), IncidentConfig::default());
    for s in 0..30 {
        r.tick(s * 1000, RiskLevel::Low, 5.0);
    }
    assert!(r.tick(30_000, RiskLevel::Critical, 90.0), "opened");
    assert!(r.tick(31_000, RiskLevel::Critical, 97.0), "peaked");
    for s in 32..=100 {
        r.tick(s * 1000, RiskLevel::Low, 5.0);
    }
    let id = {
        let mut got = None;
        for _ in 0..200 {
            r.store.writer.flush();
            if let Ok(id) = r.closed.try_recv() {
                got = Some(id);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        got.unwrap_or_else(|| {
            panic!(
                "not announced: {:?} {:?}",
                r.store.writer.status(),
                r.incidents()
            )
        })
    };
    let inc = &r.incidents()[0];
    assert_eq!(inc.id, id);
    assert_eq!(inc.peak_probability, 97.0);
    assert!(inc.closed_ms.is_some());
    // The pre-window (all 30 s before) and every sample while open.
    let samples = r.db.samples(&id).expect("samples");
    assert_eq!(samples.first().map(|p| p.sample.ts_ms), Some(0));
    // Every sample while open was stored, or counted as thinned when the queue was full.
    let dropped = r.store.writer.status().samples_dropped;
    assert_eq!(samples.len() as u64 + dropped, 31 + 61, "{}", samples.len());
    assert_eq!(r.log.critical_entries("web"), 1);
    assert_eq!(r.log.tracked().1, 0, "no window kept for a closed incident");
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[test]
fn an_incident_written_while_the_store_is_locked_is_retried_and_whole() {
    let dir = temp_dir();
    let mut r = rig_in(dir.clone(), IncidentConfig::default());
    let locker = rusqlite::Connection::open(dir.join("dockerpulse.db")).expect("connection");
    locker.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    for s in 0..10 {
        r.tick(s * 1000, RiskLevel::Critical, 95.0);
    }
    assert!(r.incidents().is_empty(), "nothing committed while locked");
    for _ in 0..100 {
        if r.store.writer.status().state == app::wire::StoreState::Failing {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        r.store.writer.status().state,
        app::wire::StoreState::Failing,
        "{:?}",
        r.store.writer.status()
    );
    locker.execute_batch("COMMIT").expect("unlock");
    r.settle();
    let incidents = r.incidents();
    assert_eq!(incidents.len(), 1, "written once the store is back");
    let samples = r.db.samples(&incidents[0].id).expect("samples");
    let dropped = r.store.writer.status().samples_dropped;
    assert_eq!(
        samples.len() as u64 + dropped,
        10,
        "every sample stored or counted as thinned"
    );
    assert_eq!(
        r.store.writer.status().records_lost,
        0,
        "nothing half-written"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_long_incident_keeps_a_bounded_window_and_resumes_it_after_a_restart() {
    let dir = temp_dir();
    let cfg = IncidentConfig {
        samples: retention::Retention {
            keep_head: Duration::from_secs(60),
            keep_tail: Duration::from_secs(60),
            middle_samples: 50,
        },
        ..IncidentConfig::default()
    };
    let mut r = rig_in(dir.clone(), cfg.clone());
    for s in 0..2_000 {
        r.tick(s * 1000, RiskLevel::Critical, 95.0);
    }
    r.settle();
    let id = r.incidents()[0].id.clone();
    let stored = r.db.samples(&id).expect("samples").len();
    assert!(stored <= 60 + 61 + 50 + 1, "bounded: {stored}");
    // Restart: the window is read back and keeps its bound as the incident goes on.
    let Rig { store, .. } = r;
    drop(store.writer);
    store.thread.join().expect("drained");
    let mut again = rig_in(dir.clone(), cfg);
    assert_eq!(again.log.tracked().1, 1);
    for s in 2_000..3_000 {
        again.tick(s * 1000, RiskLevel::Critical, 95.0);
    }
    again.settle();
    let stored = again.db.samples(&id).expect("samples").len();
    assert!(stored <= 60 + 61 + 50 + 1, "still bounded: {stored}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_death_no_stop_explains_opens_an_incident_and_removal_closes_it() {
    let mut r = rig_in(temp_dir(), IncidentConfig::default());
    let ctx = Context::default();
    let died = LifecycleEvent {
        ts_ms: 1_000,
        id: "c1".into(),
        name: "web".into(),
        kind: LifecycleKind::Die { exit_code: Some(1) },
    };
    r.log.on_event(&ctx, &died, None, &mut r.store.writer);
    r.live.record(info(), None, None);
    assert!(r.log.tick(&ctx, 2_000, &r.live, &mut r.store.writer));
    let gone = LifecycleEvent {
        kind: LifecycleKind::Destroy,
        ts_ms: 3_000,
        ..died
    };
    assert!(r.log.on_event(&ctx, &gone, None, &mut r.store.writer));
    let id = loop {
        r.store.writer.flush();
        if let Ok(id) = r.closed.try_recv() {
            break id;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let inc = r.db.incident(&id).expect("read").expect("there");
    assert_eq!(
        inc.incident.close_reason.as_deref(),
        Some("container removed")
    );
    let _ = std::fs::remove_dir_all(&r.dir);
}
