//! Tests of the live store: the bounded history ring, totals, lookups, and what a frame
//! carries.

use super::*;

fn info(id: &str, name: &str) -> ContainerInfo {
    ContainerInfo {
        id: id.into(),
        name: name.into(),
        ..ContainerInfo::default()
    }
}

fn sample(ts_ms: i64) -> Sample {
    Sample {
        ts_ms,
        ..Sample::default()
    }
}

#[test]
fn history_is_a_bounded_ring() {
    let mut s = LiveStore::new(3, SourceKind::Docker);
    for t in 0..10 {
        s.record(info("a1", "a"), Some(sample(t)), None);
    }
    let c = s.find("a").expect("by name");
    let ts: Vec<i64> = c.history.iter().map(|p| p.sample.ts_ms).collect();
    assert_eq!(ts, [7, 8, 9]);
    assert_eq!(c.since(8).count(), 2);
    assert_eq!(c.recent(1).next().map(|p| p.sample.ts_ms), Some(9));
}

#[test]
fn totals_integrate_rates_and_never_decrease() {
    let mut s = LiveStore::new(3, SourceKind::Docker);
    let at = |ts_ms, cpu_pct, rx| Sample {
        ts_ms,
        cpu_pct,
        net_rx_bps: rx,
        ..Sample::default()
    };
    s.record(info("a1", "a"), Some(at(1_000, 50.0, 100.0)), None);
    s.record(info("a1", "a"), Some(at(3_000, 50.0, 100.0)), None);
    s.record(info("a1", "a"), Some(at(3_000, 90.0, 100.0)), None);
    s.record(info("a1", "a"), Some(at(4_000, f64::NAN, -5.0)), None);
    let t = s.find("a").expect("tracked").totals;
    assert!((t.cpu_seconds - 1.0).abs() < 1e-9, "{t:?}");
    assert!((t.net_rx_bytes - 200.0).abs() < 1e-9, "{t:?}");
}

#[test]
fn lookup_by_id_name_and_prefix() {
    let mut s = LiveStore::new(3, SourceKind::Docker);
    s.record(info("abc123", "web"), None, None);
    s.record(info("abd456", "db"), None, None);
    assert_eq!(s.find("abc123").map(|c| c.info.name.as_str()), Ok("web"));
    assert_eq!(s.find("/db").map(|c| c.info.name.as_str()), Ok("db"));
    assert_eq!(s.find("abd").map(|c| c.info.name.as_str()), Ok("db"));
    assert_eq!(
        s.find("ab").err(),
        Some(LookupError::Ambiguous("ab".into()))
    );
    assert_eq!(
        s.find("zzz").err(),
        Some(LookupError::NotFound("zzz".into()))
    );
    assert_eq!(s.find("").err(), Some(LookupError::NotFound(String::new())));
}

#[test]
fn gone_containers_are_dropped_and_frames_carry_only_our_labels() {
    let mut s = LiveStore::new(3, SourceKind::Docker);
    let mut i = info("a1", "a");
    i.labels.insert("dockerpulse.heal".into(), "restart".into());
    i.labels.insert("maintainer".into(), "x".into());
    i.health = Some(app::wire::Health::Unhealthy);
    i.restart_count = 3;
    i.started_at_ms = Some(5);
    i.cpu_quota_pct = Some(150.0);
    i.mem_limited = true;
    i.healthcheck_start_period_ms = Some(7);
    i.node = Some("n1".into());
    s.record(i.clone(), Some(sample(1)), None);
    s.record(info("b1", "b"), Some(sample(1)), None);
    s.retain_present(&["a1"].into_iter().collect());
    let f = s.frame();
    assert_eq!(f.containers.len(), 1);
    // Everything but the other labels reaches the frame.
    i.labels.remove("maintainer");
    assert_eq!(*f.containers[0].info, i);
    assert_eq!(s.get("a1").map(|c| c.series(10).len()), Some(1));
}

#[test]
fn frames_share_an_unchanged_identity_and_show_a_changed_one() {
    let mut s = LiveStore::new(3, SourceKind::Docker);
    let mut i = info("a1", "a");
    i.labels.insert("maintainer".into(), "x".into());
    let shared = std::sync::Arc::new(i.clone());
    s.record(shared.clone(), Some(sample(1)), None);
    let first = s.frame();
    s.record(shared, Some(sample(2)), None);
    let second = s.frame();
    assert!(
        Arc::ptr_eq(&first.containers[0].info, &second.containers[0].info),
        "the same identity is not filtered and copied again"
    );
    assert!(first.containers[0].info.labels.is_empty(), "still filtered");

    // The collector's next identity (a new allocation) reaches the next frame.
    i.status = app::wire::ContainerStatus::Paused;
    s.record(i, Some(sample(3)), None);
    let third = s.frame();
    assert_eq!(
        third.containers[0].info.status,
        app::wire::ContainerStatus::Paused
    );
    assert!(third.containers[0].info.labels.is_empty());
    assert_eq!(
        s.get("a1").map(|c| c.info.labels.len()),
        Some(1),
        "all labels kept"
    );
}
