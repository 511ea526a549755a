//! Store round trips, filters, pagination, counters, pruning and persistence across reopen.

use super::*;
use app::wire::Sample;

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("dockerpulse.heal".to_string(), "restart".to_string())])
}

fn incident(db: &Db, id: &str, name: &str, opened_ms: i64) {
    let l = labels();
    let trigger = Trigger::Critical { probability: 91.0 };
    let reasons = vec![Reason {
        weight: 0.9,
        text: "CPU forecast 97 %".into(),
    }];
    db.insert_incident(&NewIncident {
        id: id.to_string(),
        container_id: format!("id-{name}"),
        container_name: name.to_string(),
        image: "busybox".to_string(),
        labels: l.clone(),
        host: "vm".to_string(),
        engine_version: "20.10".to_string(),
        simulated: false,
        opened_ms,
        trigger: trigger.clone(),
        peak_probability: 91.0,
        peak_level: RiskLevel::Critical,
        reasons: reasons.clone(),
        cpu_quota_pct: Some(100.0),
    })
    .expect("insert incident");
}

fn intervention(
    incident_id: Option<&str>,
    name: &str,
    decided_ms: i64,
    outcome: Outcome,
) -> Intervention {
    Intervention {
        id: 0,
        incident_id: incident_id.map(str::to_string),
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

fn point(ts_ms: i64) -> HistoryPoint {
    HistoryPoint::new(
        Sample {
            ts_ms,
            cpu_pct: 50.0,
            ..Sample::default()
        },
        None,
    )
}

#[test]
fn incidents_round_trip_with_samples_and_interventions() {
    let db = Db::open_in_memory().expect("db");
    incident(&db, "a", "web", 1000);
    db.add_samples("a", &[point(1000), point(2000), point(2000)])
        .expect("samples");
    let iid = db
        .insert_intervention(&intervention(Some("a"), "web", 1500, Outcome::Pending))
        .expect("intervention");
    assert_eq!(db.pending_interventions().expect("pending").len(), 1);
    db.finish_intervention(iid, 1500, 1800, Outcome::Succeeded, Some("restarted"), &[])
        .expect("finish");
    assert!(db.pending_interventions().expect("pending").is_empty());
    db.verify_intervention(
        iid,
        Some(true),
        "held: still running 30 s after the restart",
        1900,
        &[],
    )
    .expect("verified");
    db.update_peak("a", 99.0, RiskLevel::Critical, &[])
        .expect("peak");
    db.close_incident("a", 9000, "LOW for 60 s").expect("close");

    let got = db.incident("a").expect("read").expect("present");
    assert_eq!(got.incident.state, IncidentState::Closed);
    assert_eq!(got.incident.closed_ms, Some(9000));
    assert_eq!(got.incident.peak_probability, 99.0);
    assert_eq!(got.incident.interventions, 1);
    assert!(got.incident.forced_restart);
    assert_eq!(got.incident.labels, labels());
    assert_eq!(got.trigger, Trigger::Critical { probability: 91.0 });
    assert_eq!(
        db.samples("a").expect("samples").len(),
        2,
        "duplicates ignored"
    );
    let page = db
        .interventions(&InterventionFilter {
            incident: Some("a".into()),
            limit: 10,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(page.items[0].outcome, Outcome::Succeeded);
    assert_eq!(page.items[0].finished_ms, Some(1800));
    assert!(db.incident("nope").expect("read").is_none());
}

#[test]
fn filters_and_pages() {
    let db = Db::open_in_memory().expect("db");
    for i in 0..25 {
        incident(
            &db,
            &format!("i{i:02}"),
            if i % 2 == 0 { "web" } else { "db" },
            i * 1000,
        );
    }
    db.close_incident("i00", 100_000, "done").expect("close");
    let page = |f: IncidentFilter| db.incidents(&f).expect("list");
    let all = page(IncidentFilter {
        limit: 10,
        ..Default::default()
    });
    assert_eq!((all.total, all.items.len()), (25, 10));
    assert_eq!(all.items[0].id, "i24", "newest first");
    let last = page(IncidentFilter {
        limit: 10,
        offset: 20,
        ..Default::default()
    });
    assert_eq!(last.items.len(), 5);
    let web = page(IncidentFilter {
        container: Some("web".into()),
        limit: 100,
        ..Default::default()
    });
    assert_eq!(web.total, 13);
    let by_id = page(IncidentFilter {
        container: Some("id-db".into()),
        limit: 100,
        ..Default::default()
    });
    assert_eq!(by_id.total, 12);
    let closed = page(IncidentFilter {
        state: Some(IncidentState::Closed),
        limit: 100,
        ..Default::default()
    });
    assert_eq!(closed.total, 1);
    let window = page(IncidentFilter {
        since_ms: Some(5000),
        until_ms: Some(9000),
        limit: 100,
        ..Default::default()
    });
    assert_eq!(window.total, 5);
    assert_eq!(db.open_incidents().expect("open").len(), 24);
}

#[test]
fn counters_accumulate_and_prune_forgets_old_closed_incidents() {
    let db = Db::open_in_memory().expect("db");
    db.bump_counters("web", 1, 0).expect("bump");
    db.bump_counters("web", 2, 1).expect("bump");
    db.save_guards(
        &[GuardRow {
            container_name: "web".into(),
            breaker_open: true,
            state: r#"{"breaker_open":true}"#.into(),
        }],
        5,
    )
    .expect("breaker");
    let c = db.counters().expect("counters")["web"];
    assert_eq!(
        c,
        Counters {
            interventions: 3,
            critical_entries: 1,
            breaker_open: true
        }
    );

    incident(&db, "old", "web", 0);
    db.close_incident("old", 10, "done").expect("close");
    incident(&db, "new", "web", 0);
    db.insert_intervention(&intervention(None, "web", 5, Outcome::Simulated))
        .expect("i");
    db.insert_intervention(&intervention(None, "web", 50_000, Outcome::Simulated))
        .expect("i");
    assert_eq!(db.interventions_since(0).expect("count"), 2);
    assert_eq!(db.prune(1000).expect("prune"), 1);
    assert!(db.incident("old").expect("read").is_none());
    assert!(
        db.incident("new").expect("read").is_some(),
        "open incidents are kept"
    );
    assert_eq!(db.interventions_since(0).expect("count"), 1);
}

#[test]
fn data_survives_reopening_the_file() {
    let dir = std::env::temp_dir().join(format!("dp-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let db = Db::open(&dir).expect("open");
        incident(&db, "x", "web", 1);
        db.bump_counters("web", 4, 2).expect("bump");
    }
    let db = Db::open(&dir).expect("reopen");
    assert_eq!(db.open_incidents().expect("open")[0].incident.id, "x");
    assert_eq!(db.counters().expect("counters")["web"].interventions, 4);
    let mode: String = db
        .with(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
        .expect("pragma");
    assert_eq!(mode, "wal");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compaction_keeps_both_ends_and_one_sample_per_stride_between() {
    let db = Db::open_in_memory().expect("db");
    incident(&db, "long", "web", 0);
    let points: Vec<HistoryPoint> = (0..100).map(|s| point(s * 1000)).collect();
    db.add_samples("long", &points).expect("samples");
    assert_eq!(db.open_sample_timestamps().expect("ts")["long"].len(), 100);
    // Keep [0, 10 s) and [90 s, ...) whole, one per 8 s in between.
    let deleted = db
        .compact_samples("long", 10_000, 90_000, 8_000)
        .expect("compact");
    let kept: Vec<i64> = db
        .samples("long")
        .expect("samples")
        .iter()
        .map(|p| p.sample.ts_ms / 1000)
        .collect();
    let middle: Vec<i64> = kept
        .iter()
        .copied()
        .filter(|&t| (10..90).contains(&t))
        .collect();
    assert_eq!(middle, [10, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88]);
    assert_eq!(kept.len() + deleted, 100);
    assert_eq!(kept.iter().filter(|&&t| !(10..90).contains(&t)).count(), 20);
}

#[test]
fn breakers_opened_before_guards_were_stored_are_carried_over() {
    let dir = std::env::temp_dir().join(format!("dp-db-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    {
        // A store as the previous version left it (the first two migrations only).
        let mut c = Connection::open(dir.join("dockerpulse.db")).expect("open");
        Migrations::from_slice(&schema::MIGRATIONS[..2])
            .to_latest(&mut c)
            .expect("old schema");
        c.execute(
            "INSERT INTO counters (container_name, interventions, breaker_open) VALUES ('web', 3, 1)",
            [],
        )
        .expect("old breaker");
    }
    let db = Db::open(&dir).expect("migrates");
    let guards = db.guards().expect("guards");
    assert_eq!(guards.len(), 1);
    assert!(guards[0].breaker_open && guards[0].container_name == "web");
    assert!(db.counters().expect("counters")["web"].breaker_open);
    let _ = std::fs::remove_dir_all(&dir);
}
