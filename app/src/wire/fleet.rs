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
    Assessment, ContainerFrame, ContainerInfo, EngineStatus, Frame, HealView, HealingStatus,
    HostSample, NodeStatus, Reason, Sample, SourceKind, StoreStatus,
};
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;

pub(crate) mod encoder;
mod summary;
pub use encoder::FleetEncoder;
pub use summary::{Field, Summary};

/// A container's identity, sent when it is new (or first in a full message) or changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SlotInfo {
    pub slot: u32,
    pub info: ContainerInfo,
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

/// Why a fleet message could not be applied: the viewer must ask for the whole state again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetError {
    #[error("fleet message {seq} changes {base}, but this viewer holds {held}")]
    OutOfOrder { seq: u64, base: u64, held: u64 },
    #[error("fleet message {seq} names slot {slot}, which this viewer does not know")]
    UnknownSlot { seq: u64, slot: u32 },
}

/// The browser's side: which slot is which container of the frame the components render.
/// The frame itself lives in the page's reactive state; [`FleetIndex::apply`] updates it in
/// place, so a tick costs the changes, not a copy of the fleet.
#[derive(Debug, Clone, Default)]
pub struct FleetIndex {
    /// Slot → index in `frame.containers`.
    index: HashMap<u32, usize>,
    /// Slot of each entry of `frame.containers`, in the same order.
    slots: Vec<u32>,
}

impl FleetIndex {
    /// Whether `m` can be applied to `held` (the frame as the viewer holds it). When not, the
    /// viewer should ask for the whole state again.
    pub fn check(&self, held: Option<&Frame>, m: &Fleet) -> Result<(), FleetError> {
        if m.full {
            return Ok(());
        }
        let held_seq = held.map_or(0, |f| f.seq);
        if held.is_none() || held_seq != m.base {
            return Err(FleetError::OutOfOrder {
                seq: m.seq,
                base: m.base,
                held: held_seq,
            });
        }
        let known = |s: u32| {
            (self.index.contains_key(&s) && !m.gone.contains(&s))
                || m.infos.iter().any(|i| i.slot == s)
        };
        let named = m.rows.0.iter().map(|r| r.slot);
        let named = named.chain(m.heals.iter().map(|h| h.slot));
        match named.into_iter().find(|s| !known(*s)) {
            Some(slot) => Err(FleetError::UnknownSlot { seq: m.seq, slot }),
            None => Ok(()),
        }
    }

    /// Applies `m` to `frame` after [`check`](Self::check) passed (or any full message).
    pub fn apply(&mut self, frame: &mut Option<Frame>, m: Fleet) {
        if m.full {
            *frame = Some(Frame::default());
            self.index.clear();
            self.slots.clear();
        }
        let Some(frame) = frame.as_mut() else {
            return;
        };
        frame.v = m.v;
        frame.seq = m.seq;
        frame.ts_ms = m.ts_ms;
        frame.source = m.source;
        frame.incidents_rev = m.incidents_rev;
        if let Some(e) = m.engine {
            frame.engine = e;
        }
        if m.host.is_some() {
            frame.host = m.host;
        }
        if let Some(h) = m.healing {
            frame.healing = h;
        }
        if let Some(s) = m.store {
            frame.store = s;
        }
        if let Some(n) = m.nodes {
            frame.nodes = n;
        }
        if !m.gone.is_empty() {
            self.remove(frame, &m.gone);
        }
        for SlotInfo { slot, info } in m.infos {
            match self.index.get(&slot) {
                Some(&i) => frame.containers[i].info = info,
                None => {
                    self.index.insert(slot, frame.containers.len());
                    self.slots.push(slot);
                    frame.containers.push(ContainerFrame {
                        info,
                        ..ContainerFrame::default()
                    });
                }
            }
        }
        for SlotHeal { slot, heal } in m.heals {
            if let Some(&i) = self.index.get(&slot) {
                frame.containers[i].heal = heal;
            }
        }
        for row in m.rows.0 {
            if let Some(&i) = self.index.get(&row.slot) {
                row.values
                    .apply(row.mask, &mut frame.containers[i], m.ts_ms);
            }
        }
        // Unchanged values are not sent, but they are still this tick's: charts append them.
        for c in &mut frame.containers {
            if let Some(s) = c.sample.as_mut() {
                s.ts_ms = m.ts_ms;
            }
        }
    }

    /// The id of the container in `slot`.
    pub fn id_of<'f>(&self, frame: &'f Frame, slot: u32) -> Option<&'f str> {
        let i = *self.index.get(&slot)?;
        frame.containers.get(i).map(|c| c.info.id.as_str())
    }

    fn remove(&mut self, frame: &mut Frame, gone: &[u32]) {
        let gone: std::collections::HashSet<u32> = gone.iter().copied().collect();
        let mut kept = Vec::with_capacity(frame.containers.len());
        let mut slots = Vec::with_capacity(self.slots.len());
        for (c, s) in std::mem::take(&mut frame.containers)
            .into_iter()
            .zip(self.slots.drain(..))
        {
            if !gone.contains(&s) {
                kept.push(c);
                slots.push(s);
            }
        }
        frame.containers = kept;
        self.slots = slots;
        self.index = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i))
            .collect();
    }
}

/// Replaces one container of `frame` with its full state (a detail view's subscription),
/// in place. Unknown containers are ignored: the next fleet message brings them.
pub fn replace_container(frame: &mut Option<Frame>, full: ContainerFrame) {
    if let Some(c) = frame
        .as_mut()
        .and_then(|f| f.containers.iter_mut().find(|c| c.info.id == full.info.id))
    {
        *c = full;
    }
}

impl Serialize for Rows {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.0.len()))?;
        let mut prev = 0u32;
        for row in &self.0 {
            seq.serialize_element(&RowOut {
                gap: row.slot.wrapping_sub(prev),
                row,
            })?;
            prev = row.slot;
        }
        seq.end()
    }
}

struct RowOut<'a> {
    gap: u32,
    row: &'a Row,
}

impl Serialize for RowOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mask = self.row.mask & Field::ALL;
        let mut seq = ser.serialize_seq(Some(2 + mask.count_ones() as usize))?;
        seq.serialize_element(&self.gap)?;
        seq.serialize_element(&mask)?;
        self.row.values.serialize_fields(mask, &mut seq)?;
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct RowsVisitor;
        impl<'de> Visitor<'de> for RowsVisitor {
            type Value = Rows;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of fleet rows")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows, A::Error> {
                let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                let mut prev = 0u32;
                while let Some(RowIn(mut row)) = seq.next_element::<RowIn>()? {
                    row.slot = prev
                        .checked_add(row.slot)
                        .ok_or_else(|| de::Error::custom("slot out of range"))?;
                    prev = row.slot;
                    rows.push(row);
                }
                Ok(Rows(rows))
            }
        }
        de.deserialize_seq(RowsVisitor)
    }
}

/// A row as read: `slot` still holds the gap until [`Rows`] resolves it.
struct RowIn(Row);

impl<'de> Deserialize<'de> for RowIn {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = RowIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("[slot gap, mask, values…]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RowIn, A::Error> {
                let gap: u32 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let mask: u32 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if mask & !Field::ALL != 0 {
                    return Err(de::Error::custom(format!("unknown fields in mask {mask}")));
                }
                let values = Summary::deserialize_fields(mask, &mut seq)?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("more values than the mask names"));
                }
                Ok(RowIn(Row {
                    slot: gap,
                    mask,
                    values,
                }))
            }
        }
        de.deserialize_seq(RowVisitor)
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
