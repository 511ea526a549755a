//! The loop's tick with real stages: the brain, the incident log, the healer and a real store
//! writer on a real SQLite file — including a tick while the database is locked.

use super::*;
use crate::brain::BrainConfig;
use crate::collect::Reading;
use crate::heal::executor::{DockerExecutor, Executor};
use crate::heal::policy::HealConfig;
use crate::incident::tracker::IncidentConfig;
use crate::store::db::Db;
use crate::store::writer;
use app::wire::{ContainerInfo, Sample, SourceKind, StoreState};

fn temp_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dp-pipeline-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn pipeline(dir: &std::path::Path) -> (Pipeline, Shared<LiveStore>, Hub) {
    let db = Db::open(dir).expect("store");
    let spawned = writer::spawn(db, 64, None).expect("writer");
    let (tx, reports) = mpsc::channel(16);
    let executor = Executor::Docker(DockerExecutor::new("unix:///nonexistent.sock".into()));
    let responders = Responders {
        incidents: IncidentLog::new(IncidentConfig::default(), Default::default()),
        healer: Healer::new(
            HealConfig::default(),
            Default::default(),
            executor,
            tx,
            None,
        ),
        reports,
        store: spawned.writer,
        acks: spawned.acks,
        retention_ms: 86_400_000,
    };
    let live = Shared::new(LiveStore::new(600, SourceKind::Docker));
    let hub = Hub::new();
    let p = Pipeline::new(
        live.clone(),
        hub.clone(),
        Assessor::new(BrainConfig::default()),
        responders,
    );
    (p, live, hub)
}

fn reading(name: &str, ts_ms: i64) -> Reading {
    Reading {
        info: std::sync::Arc::new(ContainerInfo {
            id: format!("{name}-id"),
            name: name.into(),
            ..ContainerInfo::default()
        }),
        sample: Some(Sample {
            ts_ms,
            cpu_pct: 5.0,
            mem_bytes: 10 << 20,
            mem_limit_bytes: 100 << 20,
            ..Sample::default()
        }),
    }
}

fn tick(ts_ms: i64, names: &[&str]) -> SourceMsg {
    SourceMsg::Tick(Tick {
        ts_ms,
        host: None,
        containers: Some(names.iter().map(|n| reading(n, ts_ms)).collect()),
    })
}

#[tokio::test]
async fn each_tick_publishes_a_frame_and_gone_containers_leave_no_state() {
    let dir = temp_dir();
    let (mut p, live, hub) = pipeline(&dir);
    let mut frames = hub.subscribe();
    for s in 0..5 {
        p.handle(tick(s * 1000, &["a", "b"]));
    }
    assert_eq!(live.read().seq, 5);
    assert!(frames.has_changed().expect("hub alive"));
    assert_eq!(frames.borrow_and_update().seq, 5);
    let b = live.read().bookkeeping;
    assert_eq!((b.live, b.brains, b.last_decisions), (2, 2, 0), "{b:?}");
    // b is gone: every per-container map follows.
    p.handle(tick(5_000, &["a"]));
    let b = live.read().bookkeeping;
    assert_eq!(
        (b.live, b.brains, b.pending_events, b.died),
        (1, 1, 0, 0),
        "{b:?}"
    );
    assert!(b.guards <= 1 && b.tracker <= 1, "{b:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn ticks_go_on_while_the_database_is_locked_and_the_frame_says_so() {
    let dir = temp_dir();
    let (mut p, live, _hub) = pipeline(&dir);
    let locker = rusqlite::Connection::open(dir.join("dockerpulse.db")).expect("connection");
    locker.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    // The heartbeat is the first write; it fails while the lock is held.
    let mut failing = false;
    for s in 0..50 {
        p.handle(tick(s * 1000, &["a"]));
        failing |= live.read().frame().store.state == StoreState::Failing;
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    assert_eq!(live.read().seq, 50, "no tick waited for the database");
    assert!(failing, "{:?}", live.read().store);
    locker.execute_batch("COMMIT").expect("unlock");
    let mut ok = false;
    for s in 50..150 {
        p.handle(tick(s * 1000, &["a"]));
        if live.read().store.state == StoreState::Ok {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ok, "recovers: {:?}", live.read().store);
    let _ = std::fs::remove_dir_all(&dir);
}
