//! The writer against a real SQLite file, including a database locked by another connection.

use super::*;
use crate::clock::now_ms;
use crate::store::db::{Db, IncidentFilter, InterventionFilter};
use crate::store::records::Trigger;
use app::wire::{HealMode, Sample, StoreState};
use std::time::{Duration, Instant};

fn temp_db() -> (Db, std::path::PathBuf) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dp-writer-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    (Db::open(&dir).expect("store opens"), dir)
}

/// Another connection holding the database's write lock, as a stuck process would.
struct Locker(rusqlite::Connection);

impl Locker {
    fn lock(dir: &std::path::Path) -> Self {
        let c = rusqlite::Connection::open(dir.join("dockerpulse.db")).expect("second connection");
        c.execute_batch("BEGIN EXCLUSIVE").expect("exclusive lock");
        Self(c)
    }

    fn release(self) {
        self.0.execute_batch("COMMIT").expect("release");
    }
}

fn decision(name: &str, outcome: Outcome, decided_ms: i64) -> Intervention {
    Intervention {
        id: 0,
        incident_id: None,
        container_id: format!("id-{name}"),
        container_name: name.into(),
        decided_ms,
        started_ms: None,
        finished_ms: None,
        action: HealAction::Restart,
        mode: HealMode::Enforce,
        manual: false,
        outcome,
        reason: "p ≥ 85 %".into(),
        detail: None,
        failure_probability: 97.0,
        held: None,
        verification: None,
    }
}

fn incident(id: &str) -> NewIncident {
    NewIncident {
        id: id.into(),
        container_id: "id-web".into(),
        container_name: "web".into(),
        image: "busybox".into(),
        labels: Default::default(),
        host: "vm".into(),
        engine_version: "20.10".into(),
        simulated: false,
        opened_ms: 1_000,
        trigger: Trigger::Critical { probability: 91.0 },
        peak_probability: 91.0,
        peak_level: RiskLevel::Critical,
        reasons: Vec::new(),
        cpu_quota_pct: None,
    }
}

fn point(ts_ms: i64) -> HistoryPoint {
    HistoryPoint::new(
        Sample {
            ts_ms,
            ..Sample::default()
        },
        None,
    )
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

fn all_interventions(db: &Db) -> Vec<Intervention> {
    db.interventions(&InterventionFilter {
        limit: 1000,
        ..InterventionFilter::default()
    })
    .expect("read")
    .items
}

#[test]
fn a_decision_is_answered_once_committed_and_its_guards_with_it() {
    let (db, dir) = temp_db();
    let mut s = spawn(db.clone(), 16, None).expect("writer");
    let guard = GuardRow {
        container_name: "web".into(),
        breaker_open: false,
        state: r#"{"restarts":1}"#.into(),
    };
    s.writer.send(Op::Decision {
        rec: decision("web", Outcome::Pending, 5),
        guards: vec![guard.clone()],
        ticket: Some(Ticket {
            id: 7,
            deadline_ms: now_ms() + 10_000,
        }),
    });
    let ack = wait_for("the ack", || s.acks.try_recv().ok());
    let Answer::Recorded(id) = ack.answer else {
        panic!("expected a commit: {ack:?}");
    };
    assert_eq!(ack.ticket, 7);
    let stored = all_interventions(&db);
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].id, stored[0].outcome), (id, Outcome::Pending));
    assert_eq!(db.guards().expect("guards"), vec![guard]);
    assert_eq!(db.counters_of("web").expect("counters").interventions, 1);
    assert_eq!(s.writer.status().state, StoreState::Ok);
    drop(s.writer);
    s.thread
        .join()
        .expect("writer ends when the loop's side is gone");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_locked_database_refuses_the_action_in_time_and_records_the_refusal_later() {
    let (db, dir) = temp_db();
    let mut s = spawn(db.clone(), 16, None).expect("writer");
    let locker = Locker::lock(&dir);
    let sent = Instant::now();
    s.writer.send(Op::Decision {
        rec: decision("web", Outcome::Pending, 5),
        guards: Vec::new(),
        ticket: Some(Ticket {
            id: 1,
            deadline_ms: now_ms() + 500,
        }),
    });
    let ack = wait_for("the refusal", || s.acks.try_recv().ok());
    let waited = sent.elapsed();
    assert!(
        matches!(&ack.answer, Answer::Refused(e) if e.contains("locked") || e.contains("busy")),
        "{ack:?}"
    );
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
    let status = s.writer.status();
    assert_eq!(status.state, StoreState::Failing);
    assert!(
        status.error.is_some() && status.actions_refused == 1,
        "{status:?}"
    );
    assert!(
        all_interventions(&db).is_empty(),
        "nothing committed while locked"
    );

    locker.release();
    let stored = wait_for("the refusal's record", || {
        Some(all_interventions(&db)).filter(|v| !v.is_empty())
    });
    assert_eq!(stored[0].outcome, Outcome::Blocked);
    assert!(
        stored[0].reason.starts_with("refused: store unavailable"),
        "{}",
        stored[0].reason
    );
    assert_eq!(
        db.counters_of("web").expect("counters").interventions,
        0,
        "not counted"
    );
    wait_for("the store to say it writes again", || {
        (s.writer.status().state == StoreState::Ok).then_some(())
    });
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_full_queue_thins_samples_but_keeps_every_record_in_order() {
    let (db, dir) = temp_db();
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let mut s = spawn(db.clone(), 2, Some(closed_tx)).expect("writer");
    let locker = Locker::lock(&dir);
    s.writer.send(Op::Incident(incident("inc-1")));
    for t in 0..50 {
        s.writer.send(Op::Samples {
            incident_id: "inc-1".into(),
            points: vec![point(1_000 + t)],
        });
        s.writer.send(Op::Decision {
            rec: decision("web", Outcome::Blocked, 1_000 + t),
            guards: Vec::new(),
            ticket: None,
        });
    }
    s.writer.send(Op::Close {
        id: "inc-1".into(),
        closed_ms: 9_000,
        why: "LOW for 60 s".into(),
    });
    let status = s.writer.status();
    assert!(status.samples_dropped >= 45, "{status:?}");
    assert!(
        status.queued >= 48,
        "records wait on the loop's side: {status:?}"
    );
    locker.release();
    // The loop flushes its side every tick; here, by hand.
    let closed_id = wait_for("the close to be committed", || {
        s.writer.flush();
        closed.try_recv().ok()
    });
    assert_eq!(closed_id, "inc-1");
    let decided: Vec<i64> = all_interventions(&db)
        .into_iter()
        .map(|i| i.decided_ms)
        .rev()
        .collect();
    assert_eq!(decided, (1_000..1_050).collect::<Vec<_>>(), "all, in order");
    let inc = db
        .incidents(&IncidentFilter {
            limit: 10,
            ..IncidentFilter::default()
        })
        .expect("read");
    assert!(inc.items[0].closed_ms.is_some());
    let kept = db.samples("inc-1").expect("samples").len() as u64;
    assert_eq!(kept + s.writer.status().samples_dropped, 50);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_record_the_database_rejects_is_counted_and_does_not_stop_the_others() {
    let (db, dir) = temp_db();
    let mut s = spawn(db.clone(), 16, None).expect("writer");
    // Samples of an incident that does not exist: the foreign key refuses them, every time.
    s.writer.send(Op::Samples {
        incident_id: "no-such-incident".into(),
        points: vec![point(1)],
    });
    s.writer.send(Op::Decision {
        rec: decision("web", Outcome::Pending, 5),
        guards: Vec::new(),
        ticket: Some(Ticket {
            id: 3,
            deadline_ms: now_ms() + 10_000,
        }),
    });
    let ack = wait_for("the ack", || s.acks.try_recv().ok());
    assert!(matches!(ack.answer, Answer::Recorded(_)), "{ack:?}");
    let status = s.writer.status();
    assert_eq!((status.records_lost, status.state), (1, StoreState::Ok));
    let _ = std::fs::remove_dir_all(dir);
}
