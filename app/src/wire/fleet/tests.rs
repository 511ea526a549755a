use super::*;
use crate::wire::{Forecast, Frame, HealMode, RiskLevel, PROTOCOL_VERSION};
use proptest::prelude::*;

fn container(id: &str, cpu: f64, mem: u64, p: f64) -> ContainerFrame {
    ContainerFrame {
        info: std::sync::Arc::new(ContainerInfo {
            id: id.into(),
            name: format!("name-{id}"),
            image: "img".into(),
            ..ContainerInfo::default()
        }),
        sample: Some(Sample {
            ts_ms: 1,
            cpu_pct: cpu,
            mem_bytes: mem,
            mem_limit_bytes: 1 << 30,
            net_rx_bps: 1234.5,
            pids: 7,
            ..Sample::default()
        }),
        assessment: Some(Assessment {
            failure_probability: p,
            level: if p >= 85.0 {
                RiskLevel::Critical
            } else {
                RiskLevel::Low
            },
            cpu: Forecast {
                horizon_s: 10.0,
                value: cpu + 1.0,
                ..Forecast::default()
            },
            reasons: vec![Reason {
                weight: 0.5,
                text: format!("because {id}"),
            }],
            ..Assessment::default()
        }),
        heal: HealView::default(),
    }
}

fn frame(seq: u64, containers: Vec<ContainerFrame>) -> Frame {
    Frame {
        v: PROTOCOL_VERSION,
        seq,
        ts_ms: seq as i64 * 1000,
        containers,
        ..Frame::default()
    }
}

/// Sends `m` through JSON, as the websocket does.
fn wire(m: &Fleet) -> Fleet {
    let text = serde_json::to_string(m).expect("serialise");
    serde_json::from_str(&text).expect("parse back")
}

/// What the viewer should hold of `f`: each container's identity, healing and card values.
fn cards(f: &Frame) -> Vec<(ContainerInfo, HealView, Summary)> {
    let mut v: Vec<_> = f
        .containers
        .iter()
        .map(|c| ((*c.info).clone(), c.heal.clone(), Summary::of(c)))
        .collect();
    v.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    v
}

struct Viewer {
    index: FleetIndex,
    frame: Option<Frame>,
}

impl Viewer {
    fn new() -> Self {
        Viewer {
            index: FleetIndex::default(),
            frame: None,
        }
    }

    fn take(&mut self, m: Fleet) -> Result<(), FleetError> {
        let m = wire(&m);
        self.index.check(self.frame.as_ref(), &m)?;
        self.index.apply(&mut self.frame, m);
        Ok(())
    }
}

#[test]
fn the_first_message_is_full_then_only_changes_travel() {
    let mut enc = FleetEncoder::new();
    let a = container("a", 10.0, 100_000_000, 5.0);
    let b = container("b", 20.0, 200_000_000, 6.0);
    let first = enc.encode(&frame(1, vec![a.clone(), b.clone()]));
    assert!(first.full);
    assert_eq!(first.rows.0.len(), 2);
    // Nothing the cards show changed (a few bytes of memory, a sub-display CPU wobble).
    let mut a2 = a.clone();
    a2.sample.as_mut().expect("sample").mem_bytes += 3;
    a2.sample.as_mut().expect("sample").cpu_pct += 0.01;
    let quiet = enc.encode(&frame(2, vec![a2.clone(), b.clone()]));
    assert!(!quiet.full);
    assert_eq!(quiet.base, 1);
    assert!(quiet.rows.0.is_empty() && quiet.infos.is_empty() && quiet.heals.is_empty());
    // One value changed: one row with one field.
    a2.sample.as_mut().expect("sample").cpu_pct = 55.0;
    let one = enc.encode(&frame(3, vec![a2, b]));
    assert_eq!(one.rows.0.len(), 1);
    assert_eq!(one.rows.0[0].mask, Field::Cpu.bit());
    let text = serde_json::to_string(&one.rows).expect("json");
    assert_eq!(text, "[[0,2,55.0]]", "slot gap, mask, value");
}

#[test]
fn an_identity_travels_when_its_content_changes_not_its_allocation() {
    let mut enc = FleetEncoder::new();
    let a = container("a", 10.0, 100_000_000, 5.0);
    enc.encode(&frame(1, vec![a.clone()]));
    // The same identity in a new allocation (a remote node's tick, a re-inspect): nothing sent.
    let mut copy = a.clone();
    copy.info = std::sync::Arc::new((*a.info).clone());
    assert!(enc.encode(&frame(2, vec![copy.clone()])).infos.is_empty());
    // A changed one is sent once, then held.
    let mut changed = copy.clone();
    std::sync::Arc::make_mut(&mut changed.info).restart_count = 4;
    let sent = enc.encode(&frame(3, vec![changed.clone()]));
    assert_eq!(sent.infos.len(), 1);
    assert_eq!(sent.infos[0].info.restart_count, 4);
    assert!(enc.encode(&frame(4, vec![changed])).infos.is_empty());
}

#[test]
fn a_viewer_rebuilds_the_cards_and_healing_and_forgets_gone_containers() {
    let mut enc = FleetEncoder::new();
    let mut v = Viewer::new();
    let a = container("a", 10.0, 100_000_000, 5.0);
    let b = container("b", 20.0, 200_000_000, 90.0);
    let f1 = frame(1, vec![a.clone(), b.clone()]);
    v.take(enc.encode(&f1)).expect("applies");
    assert_eq!(cards(v.frame.as_ref().expect("held")), cards(&f1));
    let mut b2 = b.clone();
    b2.heal = HealView {
        mode: HealMode::Enforce,
        interventions: 2,
        open_incident: Some("inc".into()),
        ..HealView::default()
    };
    b2.assessment = None;
    let c = container("c", 1.0, 1, 0.0);
    let f2 = frame(2, vec![b2.clone(), c]);
    let m = enc.encode(&f2);
    assert_eq!(m.gone, vec![0], "a's slot");
    v.take(m).expect("applies");
    let held = v.frame.as_ref().expect("held");
    assert_eq!(cards(held), cards(&f2));
    assert!(held.containers.iter().all(|c| c.info.id != "a"));
    let hb = held
        .containers
        .iter()
        .find(|c| c.info.id == "b")
        .expect("b");
    assert_eq!(hb.heal.interventions, 2);
    assert!(hb.assessment.is_none());
    assert_eq!(held.seq, 2);
    assert!(held
        .containers
        .iter()
        .all(|c| c.sample.map(|s| s.ts_ms) == Some(2000)));
}

#[test]
fn a_missed_message_is_refused_and_a_full_one_recovers() {
    let mut enc = FleetEncoder::new();
    let mut v = Viewer::new();
    v.take(enc.encode(&frame(1, vec![container("a", 1.0, 1, 1.0)])))
        .expect("applies");
    let _missed = enc.encode(&frame(2, vec![container("a", 2.0, 1, 1.0)]));
    let next = enc.encode(&frame(3, vec![container("a", 3.0, 1, 1.0)]));
    let before = cards(v.frame.as_ref().expect("held"));
    assert_eq!(
        v.take(next),
        Err(FleetError::OutOfOrder {
            seq: 3,
            base: 2,
            held: 1
        })
    );
    assert_eq!(cards(v.frame.as_ref().expect("held")), before, "untouched");
    v.take(enc.full()).expect("a full message always applies");
    let held = v.frame.as_ref().expect("held");
    assert_eq!(held.seq, 3);
    assert_eq!(
        cards(held),
        cards(&frame(3, vec![container("a", 3.0, 1, 1.0)]))
    );
}

#[test]
fn a_change_before_any_full_message_is_refused() {
    let mut v = Viewer::new();
    let m = Fleet {
        seq: 5,
        base: 4,
        ..Fleet::default()
    };
    assert!(matches!(v.take(m), Err(FleetError::OutOfOrder { .. })));
    assert!(v.frame.is_none());
}

#[test]
fn a_row_for_an_unknown_slot_is_refused_whole() {
    let mut enc = FleetEncoder::new();
    let mut v = Viewer::new();
    v.take(enc.encode(&frame(1, vec![container("a", 1.0, 1, 1.0)])))
        .expect("applies");
    let mut m = enc.encode(&frame(2, vec![container("a", 9.0, 1, 1.0)]));
    m.rows.0.push(Row {
        slot: 42,
        mask: Field::Cpu.bit(),
        values: Summary::default(),
    });
    m.host = Some(HostSample {
        cpu_pct: 99.0,
        ..HostSample::default()
    });
    assert_eq!(v.take(m), Err(FleetError::UnknownSlot { seq: 2, slot: 42 }));
    let held = v.frame.as_ref().expect("held");
    assert_eq!(held.seq, 1);
    assert!(
        held.host.is_none(),
        "nothing of the refused message was applied"
    );
}

#[test]
fn malformed_rows_are_errors_not_guesses() {
    for bad in [
        r#"[[0]]"#,                  // no mask
        r#"[[0,2]]"#,                // mask names a value that is missing
        r#"[[0,2,1.5,7]]"#,          // more values than the mask names
        r#"[[0,2147483648,1]]"#,     // a field this version does not know
        r#"[[4294967295,0],[1,0]]"#, // slot beyond u32
        r#"[[0,2,"fast"]]"#,         // wrong type
    ] {
        assert!(
            serde_json::from_str::<Rows>(bad).is_err(),
            "{bad} was accepted"
        );
    }
    let ok: Rows = serde_json::from_str(r#"[[3,2,1.5],[2,256,7]]"#).expect("parses");
    assert_eq!(ok.0[0].slot, 3);
    assert_eq!(ok.0[1].slot, 5, "gaps add up");
    assert_eq!(ok.0[1].values.pids, 7);
}

fn arb_container() -> impl Strategy<Value = (u8, ContainerFrame)> {
    (
        0u8..6,
        prop_oneof![Just(None), (0.0f64..400.0).prop_map(Some)],
        0u64..(4 << 30),
        0.0f64..1e7,
        prop_oneof![Just(None), (0.0f64..100.0).prop_map(Some)],
        prop_oneof![Just(None), (0.0f64..2000.0).prop_map(Some)],
        0u64..3,
        any::<bool>(),
    )
        .prop_map(|(id, cpu, mem, rate, p, ttl, heal, warm)| {
            let id_s = format!("c{id}");
            let mut c = container(&id_s, cpu.unwrap_or(0.0), mem, p.unwrap_or(0.0));
            if cpu.is_none() {
                c.sample = None;
            } else if let Some(s) = c.sample.as_mut() {
                s.blk_write_bps = rate;
                s.net_tx_bps = rate / 3.0;
            }
            match (p, c.assessment.as_mut()) {
                (None, _) => c.assessment = None,
                (Some(_), Some(a)) => {
                    a.time_to_limit_s = ttl;
                    a.warming_up = warm;
                    if heal == 2 {
                        a.reasons.clear();
                    }
                }
                _ => {}
            }
            c.heal.interventions = heal;
            std::sync::Arc::make_mut(&mut c.info).restart_count = heal;
            (id, c)
        })
}

proptest! {
    /// Whatever the sequence of frames (containers coming, changing, going), a viewer that
    /// applies every message holds exactly the cards the server's frames show.
    #[test]
    fn the_feed_rebuilds_every_frame(steps in proptest::collection::vec(
        proptest::collection::vec(arb_container(), 0..8), 1..12)) {
        let mut enc = FleetEncoder::new();
        let mut v = Viewer::new();
        for (i, cs) in steps.into_iter().enumerate() {
            // One container per id.
            let mut seen = std::collections::HashSet::new();
            let cs: Vec<ContainerFrame> = cs.into_iter().filter(|(id, _)| seen.insert(*id)).map(|(_, c)| c).collect();
            let f = frame(i as u64 + 1, cs);
            v.take(enc.encode(&f)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let held = v.frame.as_ref().expect("held");
            prop_assert_eq!(cards(held), cards(&f));
            // And a full message of the same moment says the same.
            let mut fresh = Viewer::new();
            fresh.take(enc.full()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(cards(fresh.frame.as_ref().expect("held")), cards(&f));
        }
    }
}

#[test]
fn a_reason_whose_figures_moved_waits_and_a_new_kind_goes_at_once() {
    let mut enc = FleetEncoder::new();
    let mut v = Viewer::new();
    let with_reason = |seq: u64, text: &str, p: f64| {
        let mut c = container("a", 10.0, 1, p);
        if let Some(a) = c.assessment.as_mut() {
            a.reasons = vec![Reason {
                weight: 0.5,
                text: text.into(),
            }];
        }
        frame(seq, vec![c])
    };
    v.take(enc.encode(&with_reason(1, "CPU forecast 13 % in 10 s", 5.0)))
        .expect("applies");
    // Only the figures moved: not sent before REASON_EVERY ticks have passed.
    for seq in 2..(1 + super::encoder::REASON_EVERY) {
        let m = enc.encode(&with_reason(
            seq,
            &format!("CPU forecast {seq} % in 10 s"),
            5.0,
        ));
        assert!(m.rows.0.is_empty(), "tick {seq}: {:?}", m.rows);
        v.take(m).expect("applies");
    }
    let due = enc.encode(&with_reason(6, "CPU forecast 40 % in 10 s", 5.0));
    assert_eq!(due.rows.0[0].mask, Field::Reason.bit());
    v.take(due).expect("applies");
    // Another kind of reason goes at once, as does a new level.
    let kind = enc.encode(&with_reason(7, "memory 97 % of its limit", 5.0));
    assert_eq!(kind.rows.0[0].mask, Field::Reason.bit());
    v.take(kind).expect("applies");
    let level = enc.encode(&with_reason(8, "memory 98 % of its limit", 90.0));
    assert_ne!(level.rows.0[0].mask & Field::Reason.bit(), 0);
    v.take(level).expect("applies");
    // Whatever was held back, a full message says what viewers hold.
    let _ = enc.encode(&with_reason(9, "memory 99 % of its limit", 90.0));
    let held_reason = |f: &Frame| {
        f.containers[0]
            .assessment
            .as_ref()
            .map(|a| a.reasons[0].text.clone())
    };
    let mut fresh = Viewer::new();
    fresh.take(enc.full()).expect("applies");
    assert_eq!(
        held_reason(fresh.frame.as_ref().expect("held")).as_deref(),
        Some("memory 98 % of its limit")
    );
}

proptest! {
    /// A message split into parts and applied part by part is the message applied whole.
    #[test]
    fn parts_add_up_to_the_whole(
        n in 0usize..40,
        per in 1usize..12,
        churn in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let mut enc = FleetEncoder::new();
        let f1 = frame(1, (0..n).map(|i| container(&format!("c{i}"), i as f64, 1, 1.0)).collect());
        let f2 = frame(2, (0..n)
            .filter(|i| !churn[*i] || i % 3 != 0)
            .map(|i| container(&format!("c{i}"), if churn[i] { 50.0 } else { i as f64 }, 1, 1.0))
            .chain((n..n + 3).map(|i| container(&format!("c{i}"), 2.0, 1, 1.0)))
            .collect());
        let mut whole = Viewer::new();
        let mut parted = Viewer::new();
        let m1 = enc.encode(&f1);
        let m2 = enc.encode(&f2);
        for m in [m1, m2] {
            whole.take(m.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let parts = m.split(per);
            let last = parts.len() - 1;
            for (i, p) in parts.into_iter().enumerate() {
                prop_assert_eq!(p.more, i < last);
                parted.take(p).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        prop_assert_eq!(cards(parted.frame.as_ref().expect("held")), cards(&f2));
        prop_assert_eq!(cards(whole.frame.as_ref().expect("held")), cards(&f2));
    }
}
