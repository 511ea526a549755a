//! The fleet feed: what the fleet view shows of every container, sent as changes.
//!
//! A fleet viewer needs a card's worth of each container every second, not the whole frame:
//! at a thousand containers the full frame is ~1 MB a second per viewer. So each container gets
//! a *slot* number for as long as it lives, its card values are quantised to what the card
//! displays ([`Summary`]), and a tick sends only the slots whose quantised values changed, and
//! in them only the changed fields ([`Row`]). Identities ([`ContainerInfo`]) and healing state
//! ([`HealView`]) travel only when they change. Every so often, and to any viewer that missed a
//! frame, the server sends a full message instead (`full: true`) from which the whole state can
//! be rebuilt. The server encodes each message once per tick; the browser decodes it into the
//! same [`ContainerFrame`]s it always rendered ([`FleetState`]).

use super::{
    Assessment, ContainerFrame, ContainerInfo, EngineStatus, HealView, HealingStatus, HostSample,
    NodeStatus, Reason, Sample, SourceKind, StoreStatus,
};
use serde::{Deserialize, Serialize};

pub(crate) mod encoder;
mod index;
mod rows;
mod summary;
pub use encoder::FleetEncoder;
pub use index::{replace_container, FleetError, FleetIndex};
pub use summary::{Field, Summary};

/// A container's identity, sent when it is new (or first in a full message) or changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SlotInfo {
    pub slot: u32,
    pub info: std::sync::Arc<ContainerInfo>,
}

/// A container's healing state, sent when it changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SlotHeal {
    pub slot: u32,
    pub heal: HealView,
}

/// One container's changed card values: `[slot gap, field mask, values of the set fields in
/// field order…]`. The slot is written as the gap from the previous row's slot (rows are in slot
/// order, the first gap counts from 0), which keeps a message of a thousand rows short.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub slot: u32,
    /// Which fields are present ([`Field::bit`]).
    pub mask: u32,
    /// Present fields hold their values; the others are left at their defaults.
    pub values: Summary,
}

/// Rows serialise as one array of arrays, each slot written relative to the one before.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Rows(pub Vec<Row>);

/// One message of the fleet feed: a tick's changes, or (`full`) the whole state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Fleet {
    pub v: u32,
    pub seq: u64,
    /// The message this one changes (its `seq`); 0 when `full`.
    pub base: u64,
    /// The whole state: the viewer forgets everything it held before.
    pub full: bool,
    pub ts_ms: i64,
    pub source: SourceKind,
    /// Present when it changed (always when `full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostSample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healing: Option<HealingStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreStatus>,
    /// Present when it changed (always when `full` and any node is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<NodeStatus>>,
    pub incidents_rev: u64,
    /// New containers (every container when `full`) and changed identities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub infos: Vec<SlotInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heals: Vec<SlotHeal>,
    /// Slots of containers that are gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gone: Vec<u32>,
    pub rows: Rows,
    /// More messages of the same tick follow (a large message is sent in parts, each of which
    /// continues the one before: `base` = `seq`); the page renders after the last.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

impl Fleet {
    /// Splits the message into parts of at most `per_part` containers each, in slot order: the
    /// first keeps the header, `full`, `base` and `gone`; each later part continues the one
    /// before (`base` = `seq`). Applying the parts in order is applying the whole. Large
    /// messages cost every connection a buffer as large as the largest message it sent, so
    /// parts keep a thousand viewers' memory small.
    pub fn split(self, per_part: usize) -> Vec<Fleet> {
        let per_part = per_part.max(1);
        let mut slots: Vec<u32> = self
            .infos
            .iter()
            .map(|i| i.slot)
            .chain(self.heals.iter().map(|h| h.slot))
            .chain(self.rows.0.iter().map(|r| r.slot))
            .collect();
        slots.sort_unstable();
        slots.dedup();
        if slots.len() <= per_part {
            return vec![self];
        }
        let bounds: Vec<u32> = slots.chunks(per_part).map(|c| c[c.len() - 1]).collect();
        let part_of = |slot: u32| bounds.partition_point(|b| *b < slot);
        let Fleet {
            v,
            seq,
            base,
            full,
            ts_ms,
            source,
            engine,
            host,
            healing,
            store,
            nodes,
            incidents_rev,
            infos,
            heals,
            gone,
            rows,
            more: _,
        } = self;
        let mut parts: Vec<Fleet> = (0..bounds.len())
            .map(|i| Fleet {
                v,
                seq,
                base: if i == 0 { base } else { seq },
                full: full && i == 0,
                ts_ms,
                source,
                incidents_rev,
                more: i + 1 < bounds.len(),
                ..Fleet::default()
            })
            .collect();
        parts[0].engine = engine;
        parts[0].host = host;
        parts[0].healing = healing;
        parts[0].store = store;
        parts[0].nodes = nodes;
        parts[0].gone = gone;
        for i in infos {
            parts[part_of(i.slot)].infos.push(i);
        }
        for h in heals {
            parts[part_of(h.slot)].heals.push(h);
        }
        for r in rows.0 {
            parts[part_of(r.slot)].rows.0.push(r);
        }
        parts
    }
}

/// The card's top reason as the fleet feed carries it (text only; weights are in the detail).
fn top_reason(a: &Assessment) -> String {
    a.reasons
        .first()
        .map(|r| r.text.clone())
        .unwrap_or_default()
}

fn set_top_reason(a: &mut Assessment, text: String) {
    if text.is_empty() {
        a.reasons.clear();
    } else if let Some(r) = a.reasons.first_mut() {
        if r.text != text {
            a.reasons = vec![Reason { weight: 0.0, text }];
        }
    } else {
        a.reasons.push(Reason { weight: 0.0, text });
    }
}

/// Keeps `Sample` in the wire module's vocabulary for the summary's decoder.
fn sample_mut(c: &mut ContainerFrame, ts_ms: i64) -> &mut Sample {
    let s = c.sample.get_or_insert_with(Sample::default);
    s.ts_ms = ts_ms;
    s
}

#[cfg(test)]
mod tests;
