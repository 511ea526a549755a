//! Tests of the hub: what each tick publishes, how whole fleets and snapshots are cached and
//! shared, what goes deflated, and the compact floats.

use super::*;
use app::wire::{ContainerInfo, Fleet, Sample};

fn frame(seq: u64, cpu: f64) -> Frame {
    Frame {
        v: PROTOCOL_VERSION,
        seq,
        ts_ms: seq as i64 * 1000,
        containers: vec![ContainerFrame {
            info: std::sync::Arc::new(ContainerInfo {
                id: "abc".into(),
                name: "web".into(),
                ..ContainerInfo::default()
            }),
            sample: Some(Sample {
                cpu_pct: cpu,
                ..Sample::default()
            }),
            ..ContainerFrame::default()
        }],
        ..Frame::default()
    }
}

/// The message a viewer reads from `m` (binary ones inflated).
fn msg_of(m: &Message) -> ServerMsg {
    let text = match m {
        Message::Text(t) => t.as_str().to_string(),
        Message::Binary(b) => text_of_binary(b).expect("inflates"),
        other => panic!("not a feed message: {other:?}"),
    };
    serde_json::from_str(&text).expect("a ServerMsg")
}

fn fleet_of(m: &Message) -> Fleet {
    match msg_of(m) {
        ServerMsg::Fleet(f) => f,
        other => panic!("not a fleet message: {other:?}"),
    }
}

#[tokio::test]
async fn a_late_reader_sees_only_the_newest_frame() {
    let hub = Hub::new();
    let mut rx = hub.subscribe();
    for seq in 1..=5 {
        hub.publish(frame(seq, seq as f64));
    }
    rx.changed().await.expect("hub alive");
    let latest = rx.borrow_and_update().clone();
    assert_eq!(latest.seq, 5);
    let fleet = fleet_of(&latest.fleet[0]);
    assert_eq!((fleet.seq, fleet.base, fleet.full), (5, 4, false));
    assert!(!rx.has_changed().expect("hub alive"));
}

#[tokio::test]
async fn the_first_tick_and_every_sixtieth_are_full() {
    let hub = Hub::new();
    let mut rx = hub.subscribe();
    let mut full = Vec::new();
    for seq in 1..=(FULL_EVERY + 1) {
        hub.publish(frame(seq, 1.0));
        rx.changed().await.expect("hub alive");
        let p = rx.borrow_and_update().clone();
        if fleet_of(&p.fleet[0]).full {
            full.push(seq);
        }
    }
    assert_eq!(full, vec![1, FULL_EVERY]);
}

#[tokio::test]
async fn the_whole_fleet_is_serialised_once_per_tick_and_follows_it() {
    let hub = Hub::new();
    hub.publish(frame(1, 1.0));
    hub.publish(frame(2, 50.0));
    let (s1, a) = hub.full().expect("json");
    let (s2, b) = hub.full().expect("json");
    assert_eq!((s1, s2), (2, 2));
    assert!(Arc::ptr_eq(&a, &b), "the same serialised parts");
    let f = fleet_of(&a[0]);
    assert!(f.full);
    assert_eq!(f.rows.0[0].values.cpu, 50.0);
    hub.publish(frame(3, 7.0));
    let (s3, c) = hub.full().expect("json");
    assert_eq!(s3, 3);
    assert_eq!(fleet_of(&c[0]).rows.0[0].values.cpu, 7.0);
}

#[tokio::test]
async fn a_large_fleet_goes_in_parts_that_add_up() {
    let hub = Hub::new();
    let big = |seq| {
        let mut f = frame(seq, 1.0);
        let one = f.containers[0].clone();
        f.containers = (0..(PART * 2 + 5))
            .map(|i| {
                let mut c = one.clone();
                std::sync::Arc::make_mut(&mut c.info).id = format!("c{i}");
                c
            })
            .collect();
        f
    };
    hub.publish(big(1));
    let (_, parts) = hub.full().expect("json");
    assert_eq!(parts.len(), 3);
    let fleets: Vec<Fleet> = parts.iter().map(fleet_of).collect();
    assert!(fleets[0].full && fleets[0].more);
    assert!(!fleets[1].full && fleets[1].more && fleets[1].base == 1);
    assert!(!fleets[2].more);
    let mut index = app::wire::FleetIndex::default();
    let mut held = None;
    for f in fleets {
        index.check(held.as_ref(), &f).expect("each part follows");
        index.apply(&mut held, f);
    }
    assert_eq!(held.map(|f| f.containers.len()), Some(PART * 2 + 5));
}

#[tokio::test]
async fn a_whole_fleet_goes_deflated_and_a_tick_s_changes_as_text() {
    let hub = Hub::new();
    let mut rx = hub.subscribe();
    let big = |seq: u64| {
        let mut f = frame(seq, seq as f64);
        let one = f.containers[0].clone();
        f.containers = (0..PART)
            .map(|i| {
                let mut c = one.clone();
                let info = std::sync::Arc::make_mut(&mut c.info);
                info.id = format!("c{i}");
                info.name = format!("web-{i}");
                c
            })
            .collect();
        f
    };
    hub.publish(big(1));
    hub.publish(big(2));
    rx.changed().await.expect("hub alive");
    let tick = rx.borrow_and_update().clone();
    assert!(
        matches!(tick.fleet[0], Message::Text(_)),
        "changes are text"
    );
    let (_, whole) = hub.full().expect("json");
    let Message::Binary(packed) = &whole[0] else {
        panic!("the whole fleet is binary: {:?}", whole[0]);
    };
    let json = text_of_binary(packed).expect("inflates");
    let fleet = fleet_of(&whole[0]);
    assert!(fleet.full);
    assert_eq!(fleet.infos.len(), PART, "every container, read back");
    assert!(
        packed.len() * 4 < json.len(),
        "deflated to {} of {} bytes",
        packed.len(),
        json.len()
    );
    assert!(matches!(
        text_of_binary(b"not deflate"),
        Err(crate::deflate::InflateError::Corrupt(_))
    ));
}

#[tokio::test]
async fn a_snapshot_is_built_once_per_tick_and_shared() {
    let hub = Hub::new();
    let built = std::sync::atomic::AtomicUsize::new(0);
    let sparks = || {
        built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        vec![
            ("abc".to_string(), vec![1.0, 2.0]),
            ("gone".into(), vec![3.0]),
        ]
    };
    // Before the first tick: nothing to show (an empty sparks message), no history read.
    let (s0, t0) = hub.snapshot(sparks).await.expect("json");
    assert_eq!(s0, 0);
    assert_eq!(t0.len(), 1);
    assert!(matches!(
        msg_of(&t0[0]),
        ServerMsg::Sparks(Sparks { sparks, .. }) if sparks.is_empty()
    ));
    assert_eq!(built.load(std::sync::atomic::Ordering::Relaxed), 0);
    hub.publish(frame(1, 1.0));
    let (s1, a) = hub.snapshot(sparks).await.expect("json");
    let (s2, b) = hub.snapshot(sparks).await.expect("json");
    assert_eq!((s1, s2), (1, 1));
    assert_eq!(a, b);
    assert_eq!(built.load(std::sync::atomic::Ordering::Relaxed), 1);
    // The whole fleet, then the sparks.
    assert_eq!(a.len(), 2);
    assert!(fleet_of(&a[0]).full);
    let ServerMsg::Sparks(sp) = msg_of(&a[1]) else {
        panic!("not sparks");
    };
    assert_eq!(
        sp.sparks,
        vec![Spark {
            slot: 0,
            cpu: vec![1.0, 2.0]
        }],
        "unknown ids dropped"
    );
    hub.publish(frame(2, 2.0));
    let (s3, _) = hub.snapshot(sparks).await.expect("json");
    assert_eq!(s3, 2);
    assert_eq!(built.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_detail_carries_the_container_in_full_or_nothing_when_gone() {
    let hub = Hub::new();
    let mut rx = hub.subscribe();
    hub.publish(frame(1, 12.3456));
    rx.changed().await.expect("hub alive");
    let p = rx.borrow_and_update().clone();
    let text = hub.detail("abc", &p).expect("present");
    assert_eq!(text, hub.detail("abc", &p).expect("cached"));
    let ServerMsg::Detail(d) = serde_json::from_str(text.as_str()).expect("msg") else {
        panic!("not a detail");
    };
    assert_eq!(
        d.container.sample.map(|s| s.cpu_pct),
        Some(12.346),
        "exact, not card precision"
    );
    assert!(d.history.is_none());
    assert!(hub.detail("nope", &p).is_none());
    let h = hub
        .detail_with_history(
            "abc",
            SeriesHistory {
                id: "abc".into(),
                ..SeriesHistory::default()
            },
        )
        .expect("present");
    assert!(h.as_str().contains(r#""history":{"id":"abc""#));
}

#[test]
fn floats_are_compact_and_still_read_back() {
    let v = serde_json::json!({"a": 17.097535903073744, "b": 61082115.32, "c": 0.5, "d": 100.0, "e": -0.0001, "f": f64::NAN});
    assert_eq!(
        to_json(&v).expect("json"),
        r#"{"a":17.098,"b":61082115,"c":0.5,"d":100,"e":0,"f":null}"#
    );
    let msg = ServerMsg::Fleet(Fleet {
        ts_ms: 1_795_693_772_349,
        ..Fleet::default()
    });
    let back: ServerMsg = serde_json::from_str(&to_json(&msg).expect("json")).expect("parses");
    assert_eq!(back, msg);
}

proptest::proptest! {
    #[test]
    fn compact_floats_lose_at_most_half_the_last_digit(v in -1e12f64..1e12) {
        let back: f64 = serde_json::from_str(&to_json(&v).expect("json")).expect("parses");
        let step = if v.abs() >= 10_000.0 { 1.0 } else { 0.001 };
        proptest::prop_assert!((back - v).abs() <= step / 2.0 + 1e-9, "{v} came back as {back}");
    }
}
