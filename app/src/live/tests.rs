//! Tests of the browser's live state: chart histories.

use super::*;
use crate::wire::{ContainerFrame, ContainerInfo, Sample};

fn frame(ids: &[&str], ts: i64) -> Frame {
    Frame {
        ts_ms: ts,
        containers: ids
            .iter()
            .map(|id| ContainerFrame {
                info: std::sync::Arc::new(ContainerInfo {
                    id: (*id).into(),
                    ..ContainerInfo::default()
                }),
                sample: Some(Sample {
                    ts_ms: ts,
                    cpu_pct: 1.0,
                    ..Sample::default()
                }),
                assessment: None,
                heal: Default::default(),
            })
            .collect(),
        ..Frame::default()
    }
}

#[test]
fn histories_append_in_order_and_forget_gone_containers() {
    let mut h = Histories::default();
    h.append(&frame(&["a", "b"], 1));
    h.append(&frame(&["a", "b"], 1)); // duplicate tick (snapshot overlap) is ignored
    h.append(&frame(&["a"], 2));
    assert_eq!(h.0.get("a").map(VecDeque::len), Some(2));
    assert!(!h.0.contains_key("b"));
    for t in 3..(KEEP_POINTS as i64 + 10) {
        h.append(&frame(&["a"], t));
    }
    assert_eq!(h.0.get("a").map(VecDeque::len), Some(KEEP_POINTS));
}
