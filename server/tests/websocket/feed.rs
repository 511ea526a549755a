//! The feed every viewer gets: the same messages for all, the snapshot first for a late
//! viewer, a fleet rebuilt from the changes alone, and next to nothing per tick when nothing
//! changes.

use crate::common::{no_executor, start_demo, test_config};
use crate::{connect, next_msg, next_wire, parsed, send_text, seq_of, BigFleet, Held};
use app::wire::ServerMsg;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewers_receive_identical_frames() {
    let running = start_demo(Duration::from_millis(200)).await;
    let mut a = connect(running.addr, None).await;
    let mut b = connect(running.addr, None).await;
    let mut frames: [BTreeMap<u64, String>; 2] = Default::default();
    for ws in [&mut a, &mut b] {
        // A viewer that joins before the first tick has no fleet to be given yet: its
        // snapshot is the (empty) sparklines alone, and the first tick brings the whole fleet.
        let first = loop {
            match next_msg(ws).await {
                (ServerMsg::Sparks(s), _) if s.sparks.is_empty() => continue,
                (msg, _) => break msg,
            }
        };
        assert!(
            matches!(first, ServerMsg::Fleet(f) if f.full),
            "the whole fleet first"
        );
    }
    for _ in 0..8 {
        for (i, ws) in [&mut a, &mut b].into_iter().enumerate() {
            let (msg, text) = next_msg(ws).await;
            frames[i].insert(seq_of(&msg), text);
        }
    }
    let common: Vec<u64> = frames[0]
        .keys()
        .filter(|k| frames[1].contains_key(k))
        .copied()
        .collect();
    assert!(
        common.len() >= 6,
        "both saw the same ticks: {:?} vs {:?}",
        frames[0].keys(),
        frames[1].keys()
    );
    for seq in common {
        assert_eq!(
            frames[0][&seq], frames[1][&seq],
            "frame {seq} differs between viewers"
        );
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_viewer_gets_the_history_snapshot_first() {
    let running = start_demo(Duration::from_millis(100)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut late = connect(running.addr, None).await;
    // The whole fleet and the sparklines come deflated (binary), the changes as text.
    let wire = next_wire(&mut late).await;
    assert!(wire.is_binary(), "the whole fleet is deflated: {wire:?}");
    let (first, json) = parsed(&wire);
    assert!(
        wire.len() * 2 < json.len(),
        "{} of {} bytes",
        wire.len(),
        json.len()
    );
    let ServerMsg::Fleet(fleet) = first else {
        panic!("the first message must be the whole fleet");
    };
    assert_eq!(fleet.v, app::wire::PROTOCOL_VERSION);
    assert!(fleet.full && !fleet.more);
    assert_eq!(fleet.infos.len(), 7);
    let wire = next_wire(&mut late).await;
    assert!(wire.is_binary(), "the sparklines are deflated: {wire:?}");
    let (second, _) = parsed(&wire);
    let ServerMsg::Sparks(sparks) = second else {
        panic!("then the sparklines: {second:?}");
    };
    assert_eq!(sparks.sparks.len(), 7);
    for s in &sparks.sparks {
        assert!(
            s.cpu.len() >= 8,
            "slot {} has {} points of CPU",
            s.slot,
            s.cpu.len()
        );
        assert!(s.cpu.len() <= app::live::SPARK_POINTS);
    }
    let wire = next_wire(&mut late).await;
    assert!(wire.is_text(), "a tick's changes are text: {wire:?}");
    let (next, _) = parsed(&wire);
    assert!(
        matches!(&next, ServerMsg::Fleet(f) if !f.full && f.base == fleet.seq),
        "then changes from the snapshot on: {next:?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_rebuilds_the_fleet_from_the_changes_alone() {
    let running = start_demo(Duration::from_millis(100)).await;
    let mut ws = connect(running.addr, None).await;
    let mut held = Held::default();
    let (first, _) = next_msg(&mut ws).await;
    held.take(&first).expect("the snapshot applies");
    let mut changes = 0;
    for _ in 0..20 {
        let (msg, _) = next_msg(&mut ws).await;
        changes += usize::from(matches!(&msg, ServerMsg::Fleet(f) if !f.full));
        held.take(&msg)
            .expect("each message follows the one before");
    }
    assert!(changes >= 15, "mostly changes, not whole fleets: {changes}");
    // Ask for the whole fleet: once it is of the tick held, both say the same.
    let mut compared = false;
    for _ in 0..5 {
        send_text(&mut ws, r#"{"type":"resync"}"#).await;
        loop {
            let (msg, _) = next_msg(&mut ws).await;
            if let ServerMsg::Fleet(f) = &msg {
                if f.full {
                    if held.frame.as_ref().map(|h| h.seq) == Some(f.seq) {
                        let mut fresh = Held::default();
                        fresh.take(&msg).expect("a full message applies");
                        assert_eq!(fresh.cards(), held.cards());
                        compared = true;
                    }
                    held.take(&msg).expect("a full message applies");
                    break;
                }
            }
            held.take(&msg).expect("follows");
        }
        if compared {
            break;
        }
    }
    assert!(compared, "a full message of the held tick came back");
    assert_eq!(held.cards().len(), 7);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_fleet_costs_almost_nothing_per_tick() {
    // 400 containers whose values never change: once their baselines are learnt (30 samples,
    // during which the card's "learning… (n/30)" changes every tick), only the header travels.
    let source = BigFleet {
        n: 400,
        interval: Duration::from_millis(100),
        churn: false,
    };
    let running = dockerpulse::serve::start_with(test_config(), source, no_executor())
        .await
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let mut ws = connect(running.addr, None).await;
    // Joining: the whole fleet in parts, then the sparklines.
    let mut joined = 0;
    loop {
        let (msg, text) = next_msg(&mut ws).await;
        joined += text.len();
        if matches!(msg, ServerMsg::Sparks(_)) {
            break;
        }
    }
    // The 4 s above are ~40 ticks, unless the machine stalled: then the cards may still be
    // learning (every card changes every tick). Wait for the first quiet tick (at most 300), so
    // that what is measured is a warm fleet whatever the machine's pace.
    let mut waited = 0;
    loop {
        let (msg, text) = next_msg(&mut ws).await;
        if matches!(&msg, ServerMsg::Fleet(f) if !f.full) {
            if text.len() < 1_000 {
                break;
            }
            waited += 1;
            assert!(waited < 300, "the fleet never went quiet");
        }
    }
    let mut sizes = Vec::new();
    while sizes.len() < 10 {
        let (msg, text) = next_msg(&mut ws).await;
        if matches!(&msg, ServerMsg::Fleet(f) if !f.full) {
            sizes.push(text.len());
        }
    }
    assert!(
        joined > 40_000,
        "joining brings the whole fleet: {joined} bytes"
    );
    assert!(
        sizes.iter().all(|s| *s < 1_000),
        "nothing changed, so almost nothing is sent: {sizes:?}"
    );
    running.stop().await;
}
