//! The healer with a real store writer on a real SQLite file: no action without its committed
//! record, refusals when the store is locked, guards and counters that survive a restart, and
//! the reconciliation of actions left pending.

use super::*;
use crate::store::db::{Db, InterventionFilter};
use crate::store::writer::{self, Ack, Answer, Op, Spawned};
use app::wire::{Assessment, HealAction, HealMode, Outcome, RiskLevel};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn temp_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dp-healer-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn info(name: &str) -> ContainerInfo {
    ContainerInfo {
        id: format!("{name}-0123456789abcdef"),
        name: name.into(),
        labels: BTreeMap::from([("dockerpulse.heal".to_string(), "restart".to_string())]),
        ..ContainerInfo::default()
    }
}

fn hot(ts_ms: i64) -> Assessment {
    Assessment {
        ts_ms,
        failure_probability: 99.0,
        level: RiskLevel::Critical,
        ..Assessment::default()
    }
}

fn cfg() -> HealConfig {
    HealConfig {
        mode: HealMode::Enforce,
        streak: 1,
        record_deadline: Duration::from_millis(400),
        ..HealConfig::default()
    }
}

/// An executor that can never reach an engine: every action it is given fails, and says so.
fn unreachable_engine() -> Executor {
    Executor::Docker(executor::DockerExecutor::new(
        "unix:///nonexistent/docker.sock".into(),
    ))
}

struct Rig {
    healer: Healer,
    store: Spawned,
    reports: mpsc::Receiver<ExecReport>,
    db: Db,
    dir: std::path::PathBuf,
}

fn restored(db: &Db) -> Restored {
    Restored {
        guards: db.guards().expect("guards"),
        counters: db.counters().expect("counters"),
        today: 0,
        pending: db.pending_interventions().expect("pending"),
    }
}

fn rig_in(dir: std::path::PathBuf, executor: Executor) -> Rig {
    let db = Db::open(&dir).expect("store");
    let store = writer::spawn(db.clone(), 64, None).expect("writer");
    let (tx, reports) = mpsc::channel(16);
    let healer = Healer::new(cfg(), restored(&db), executor, tx, None);
    Rig {
        healer,
        store,
        reports,
        db,
        dir,
    }
}

fn rig() -> Rig {
    rig_in(temp_dir(), unreachable_engine())
}

fn stored(db: &Db) -> Vec<Intervention> {
    let mut v = db
        .interventions(&InterventionFilter {
            limit: 500,
            ..InterventionFilter::default()
        })
        .expect("read")
        .items;
    v.reverse();
    v
}

async fn next<T>(rx: &mut mpsc::Receiver<T>) -> Option<T> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .ok()
        .flatten()
}

async fn next_ack(rig: &mut Rig) -> Ack {
    tokio::time::timeout(Duration::from_secs(10), rig.store.acks.recv())
        .await
        .ok()
        .flatten()
        .expect("the writer answers")
}

#[tokio::test]
async fn an_enforced_action_runs_only_after_its_record_is_committed() {
    let mut r = rig();
    let t = now_ms();
    assert!(r
        .healer
        .decide(&info("web"), &hot(t), None, &mut r.store.writer));
    // Nothing runs before the writer answers.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), r.reports.recv())
            .await
            .is_err()
    );
    let ack = next_ack(&mut r).await;
    let Answer::Recorded(id) = ack.answer else {
        panic!("{ack:?}")
    };
    assert_eq!(
        stored(&r.db)[0].outcome,
        Outcome::Pending,
        "committed first"
    );
    r.healer.on_ack(ack, &mut r.store.writer);
    // Now the executor acts (and fails: no engine there); its answer is recorded on that row.
    let report = next(&mut r.reports).await.expect("the executor reports");
    let ExecReport::Done {
        intervention, ok, ..
    } = &report
    else {
        panic!("{report:?}")
    };
    assert!(!ok && intervention.id == id);
    r.healer.on_report(report, &mut r.store.writer);
    let row = loop {
        let rows = stored(&r.db);
        if rows[0].outcome != Outcome::Pending {
            break rows[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(row.outcome, Outcome::Failed);
    assert!(row.detail.is_some_and(|d| !d.is_empty()));
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[tokio::test]
async fn a_lease_the_hub_refused_counts_as_no_action_and_no_relapse() {
    let mut r = rig();
    let t = now_ms();
    assert!(r
        .healer
        .decide(&info("web"), &hot(t), None, &mut r.store.writer));
    let acted = r.healer.policy.guard("web").cloned().expect("a guard");
    assert_eq!(
        (acted.restarts, acted.recent.len()),
        (1, 1),
        "counted at the decision"
    );
    assert_eq!(r.healer.status().interventions_today, 1);
    let ack = next_ack(&mut r).await;
    r.healer.on_ack(ack, &mut r.store.writer);
    // The executor's answer, as it is when the hub refuses the lease on a Swarm task.
    let report = match next(&mut r.reports).await.expect("the executor reports") {
        ExecReport::Done {
            mut intervention,
            reply,
            ..
        } => {
            intervention.outcome = Outcome::Blocked;
            ExecReport::Done {
                intervention,
                ok: false,
                reply,
            }
        }
        other => panic!("{other:?}"),
    };
    r.healer.on_report(report, &mut r.store.writer);
    let g = r.healer.policy.guard("web").cloned().unwrap_or_default();
    assert_eq!(
        (g.restarts, g.recent.len(), g.relapses, g.last_action_ms),
        (0, 0, 0, None),
        "rolled back, no relapse: {g:?}"
    );
    assert_eq!(r.healer.status().interventions_today, 0);
    let verified = next(&mut r.reports).await.expect("the watch ends");
    r.healer.on_report(verified, &mut r.store.writer);
    assert_eq!(r.healer.tracked().2, 0, "nothing left acting");
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[tokio::test]
async fn a_locked_store_refuses_the_action_rolls_the_guards_back_and_records_it_later() {
    let mut r = rig();
    let locker = rusqlite::Connection::open(r.dir.join("dockerpulse.db")).expect("connection");
    locker.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let t = now_ms();
    assert!(r
        .healer
        .decide(&info("web"), &hot(t), None, &mut r.store.writer));
    let ack = next_ack(&mut r).await;
    assert!(matches!(ack.answer, Answer::Refused(_)), "{ack:?}");
    r.healer.on_ack(ack, &mut r.store.writer);
    // Not executed, not counted, guards as before, and the card says why.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), r.reports.recv())
            .await
            .is_err()
    );
    let view = r.healer.view(&info("web"), 0, None);
    assert_eq!(view.interventions, 0);
    assert!(
        view.last_decision
            .as_deref()
            .is_some_and(|d| d.starts_with("refused: store unavailable")),
        "{view:?}"
    );
    assert_eq!(r.healer.policy.guard("web"), Some(&Guard::default()));
    assert_eq!(r.healer.status().interventions_today, 0);
    // While refused and unanswered nothing else is decided; once answered, decisions resume.
    locker.execute_batch("COMMIT").expect("unlock");
    let rows = loop {
        let rows = stored(&r.db);
        if !rows.is_empty() {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rows[0].outcome, Outcome::Blocked);
    assert!(r
        .healer
        .decide(&info("web"), &hot(t + 1000), None, &mut r.store.writer));
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[tokio::test]
async fn a_writer_stuck_on_earlier_records_gets_the_action_refused_by_the_loop() {
    let mut r = rig();
    let locker = rusqlite::Connection::open(r.dir.join("dockerpulse.db")).expect("connection");
    locker.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    // Something else is being written first (the writer retries it in order).
    r.store.writer.send(Op::CriticalEntry { name: "db".into() });
    let t = now_ms();
    r.healer
        .decide(&info("web"), &hot(t), None, &mut r.store.writer);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        r.healer.expire_awaiting(now_ms());
        if r.healer
            .view(&info("web"), 0, None)
            .last_decision
            .is_some_and(|d| d.starts_with("refused"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let view = r.healer.view(&info("web"), 0, None);
    assert!(
        view.last_decision
            .as_deref()
            .is_some_and(|d| d.starts_with("refused")),
        "{view:?}"
    );
    assert_eq!(
        r.healer.tracked().2,
        1,
        "still waiting for the writer's word"
    );
    locker.execute_batch("COMMIT").expect("unlock");
    let ack = next_ack(&mut r).await;
    r.healer.on_ack(ack, &mut r.store.writer);
    assert_eq!(r.healer.tracked().2, 0);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), r.reports.recv())
            .await
            .is_err(),
        "never executed"
    );
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[tokio::test]
async fn guards_and_counters_survive_a_restart_of_dockerpulse() {
    let mut r = rig();
    let t = now_ms();
    r.healer
        .decide(&info("web"), &hot(t), None, &mut r.store.writer);
    let ack = next_ack(&mut r).await;
    r.healer.on_ack(ack, &mut r.store.writer);
    let report = next(&mut r.reports).await.expect("report");
    r.healer.on_report(report, &mut r.store.writer);
    let before = r.healer.policy.guard("web").cloned().expect("guard");
    // Wait until everything is written, then "restart": a new healer from what was stored.
    let Rig { store, dir, .. } = r;
    drop(store.writer);
    store.thread.join().expect("writer drained");
    let mut again = rig_in(dir, unreachable_engine());
    assert_eq!(again.healer.policy.guard("web"), Some(&before));
    assert_eq!(again.healer.view(&info("web"), 0, None).interventions, 1);
    // Within the cooldown of the action taken before the restart: blocked, not acted.
    again
        .healer
        .decide(&info("web"), &hot(t + 2000), None, &mut again.store.writer);
    assert!(
        again.healer.tracked().2 == 0,
        "no action waiting for a record"
    );
    let rows = loop {
        let rows = stored(&again.db);
        if rows.len() == 2 {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rows[1].outcome, Outcome::Blocked);
    assert!(rows[1].reason.contains("cooldown"), "{}", rows[1].reason);
    let _ = std::fs::remove_dir_all(&again.dir);
}

#[tokio::test]
async fn actions_left_pending_by_a_crash_are_reconciled_at_start() {
    let dir = temp_dir();
    let db = Db::open(&dir).expect("store");
    let mut pending = records::manual(&info("web"), HealAction::Restart, HealMode::Enforce, 5);
    pending.manual = false;
    let id = db.insert_intervention(&pending).expect("insert");
    drop(db);
    // The engine is not there: the outcome cannot be confirmed, so it is recorded as failed.
    let mut r = rig_in(dir, unreachable_engine());
    let report = next(&mut r.reports).await.expect("reconciled");
    let ExecReport::Done { intervention, .. } = &report else {
        panic!("{report:?}")
    };
    assert_eq!(
        (intervention.id, intervention.outcome),
        (id, Outcome::Failed)
    );
    assert!(
        intervention
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("reconciled at start")),
        "{intervention:?}"
    );
    r.healer.on_report(report, &mut r.store.writer);
    loop {
        if r.db.pending_interventions().expect("read").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[tokio::test]
async fn restarts_that_do_not_hold_open_the_breaker() {
    let mut r = rig();
    let t = now_ms();
    r.healer
        .decide(&info("web"), &hot(t), None, &mut r.store.writer);
    for _ in 0..3 {
        r.healer.on_report(
            ExecReport::Verified {
                id: 1,
                container_id: info("web").id,
                name: "web".into(),
                manual: false,
                held: Some(false),
                text: "did not hold: exited (exit code 1) 2.0 s after the restart".into(),
                at_ms: t,
            },
            &mut r.store.writer,
        );
    }
    let view = r.healer.view(&info("web"), 0, None);
    assert!(view.needs_human);
    assert!(
        view.last_decision
            .as_deref()
            .is_some_and(|d| d.contains("needs a human")),
        "the breaker's opening is recorded: {view:?}"
    );
    let _ = std::fs::remove_dir_all(&r.dir);
}
