//! The server's side of the fleet feed: remembers what viewers were last told and turns each
//! tick's frame into the changes since, or the whole state. Pure: no I/O, no clock.

use super::{Field, Fleet, Row, Rows, SlotHeal, SlotInfo, Summary};
use crate::wire::{
    ContainerInfo, EngineStatus, Frame, HealView, HealingStatus, HostSample, NodeStatus,
    SourceKind, StoreStatus, PROTOCOL_VERSION,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// A card's reason whose wording is unchanged (only its numbers moved) is sent again at most
/// this often, in ticks: reasons carry live figures ("CPU forecast 13 % in 10 s …") and would
/// otherwise be most of every message. A new kind of reason, or a new level, goes at once.
pub const REASON_EVERY: u64 = 5;

/// What viewers hold of one container.
#[derive(Debug, Clone)]
struct Held {
    info: Arc<ContainerInfo>,
    heal: HealView,
    summary: Summary,
    /// The tick its reason was last sent at.
    reason_seq: u64,
}

/// A reason's wording without its figures: the text up to the first digit.
fn wording(reason: &str) -> &str {
    reason
        .find(|c: char| c.is_ascii_digit())
        .map_or(reason, |i| &reason[..i])
}

/// Fleet-wide values as last sent.
#[derive(Debug, Clone, Default)]
struct Header {
    seq: u64,
    ts_ms: i64,
    source: SourceKind,
    engine: EngineStatus,
    host: Option<HostSample>,
    healing: HealingStatus,
    store: StoreStatus,
    nodes: Vec<NodeStatus>,
    incidents_rev: u64,
}

#[derive(Debug, Clone, Default)]
pub struct FleetEncoder {
    slots: HashMap<String, u32>,
    held: BTreeMap<u32, Held>,
    next_slot: u32,
    header: Header,
    /// Nothing encoded yet: the first message is a full one.
    started: bool,
}

impl FleetEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The changes from the previous frame to `frame` (the whole state the first time), and
    /// remembers `frame` as what viewers now hold.
    pub fn encode(&mut self, frame: &Frame) -> Fleet {
        if !self.started {
            self.started = true;
            self.absorb(frame);
            return self.full();
        }
        let base = self.header.seq;
        let mut out = Fleet {
            v: PROTOCOL_VERSION,
            seq: frame.seq,
            base,
            ts_ms: frame.ts_ms,
            source: frame.source,
            engine: (frame.engine != self.header.engine).then(|| frame.engine.clone()),
            host: frame.host.clone(),
            healing: (frame.healing != self.header.healing).then(|| frame.healing.clone()),
            store: (frame.store != self.header.store).then(|| frame.store.clone()),
            nodes: (frame.nodes != self.header.nodes).then(|| frame.nodes.clone()),
            incidents_rev: frame.incidents_rev,
            ..Fleet::default()
        };
        let mut rows = Vec::new();
        let mut present = HashSet::with_capacity(frame.containers.len());
        for c in &frame.containers {
            let slot = self.slot_for(&c.info.id);
            present.insert(slot);
            let summary = Summary::of(c);
            match self.held.get_mut(&slot) {
                Some(h) => {
                    // The same allocation is the same identity (the live store shares it
                    // until it changes): names and labels are compared only when it is not.
                    if !Arc::ptr_eq(&h.info, &c.info) {
                        let changed = h.info != c.info;
                        h.info = c.info.clone();
                        if changed {
                            out.infos.push(SlotInfo {
                                slot,
                                info: c.info.clone(),
                            });
                        }
                    }
                    if h.heal != c.heal {
                        h.heal = c.heal.clone();
                        out.heals.push(SlotHeal {
                            slot,
                            heal: c.heal.clone(),
                        });
                    }
                    let mut summary = summary;
                    let mut mask = summary.changes(&h.summary);
                    let only_figures = mask & Field::Flags.bit() == 0
                        && mask & Field::Level.bit() == 0
                        && wording(&summary.reason) == wording(&h.summary.reason);
                    if mask & Field::Reason.bit() != 0 {
                        if only_figures && frame.seq < h.reason_seq + REASON_EVERY {
                            mask &= !Field::Reason.bit();
                            summary.reason = std::mem::take(&mut h.summary.reason);
                        } else {
                            h.reason_seq = frame.seq;
                        }
                    }
                    if mask != 0 {
                        rows.push(Row {
                            slot,
                            mask,
                            values: summary.clone(),
                        });
                    }
                    h.summary = summary;
                }
                None => {
                    out.infos.push(SlotInfo {
                        slot,
                        info: c.info.clone(),
                    });
                    if c.heal != HealView::default() {
                        out.heals.push(SlotHeal {
                            slot,
                            heal: c.heal.clone(),
                        });
                    }
                    rows.push(Row {
                        slot,
                        mask: Field::ALL,
                        values: summary.clone(),
                    });
                    self.held.insert(
                        slot,
                        Held {
                            info: c.info.clone(),
                            heal: c.heal.clone(),
                            summary,
                            reason_seq: frame.seq,
                        },
                    );
                }
            }
        }
        out.gone = self.forget_absent(&present);
        rows.sort_by_key(|r| r.slot);
        out.rows = Rows(rows);
        self.set_header(frame);
        out
    }

    /// Everything viewers hold, as one full message (for new viewers, viewers that missed a
    /// frame, and the periodic refresh).
    pub fn full(&self) -> Fleet {
        let h = &self.header;
        Fleet {
            v: PROTOCOL_VERSION,
            seq: h.seq,
            base: 0,
            full: true,
            ts_ms: h.ts_ms,
            source: h.source,
            engine: Some(h.engine.clone()),
            host: h.host.clone(),
            healing: Some(h.healing.clone()),
            store: Some(h.store.clone()),
            nodes: (!h.nodes.is_empty()).then(|| h.nodes.clone()),
            incidents_rev: h.incidents_rev,
            infos: self
                .held
                .iter()
                .map(|(slot, c)| SlotInfo {
                    slot: *slot,
                    info: c.info.clone(),
                })
                .collect(),
            heals: self
                .held
                .iter()
                .filter(|(_, c)| c.heal != HealView::default())
                .map(|(slot, c)| SlotHeal {
                    slot: *slot,
                    heal: c.heal.clone(),
                })
                .collect(),
            gone: Vec::new(),
            rows: Rows(
                self.held
                    .iter()
                    .map(|(slot, c)| Row {
                        slot: *slot,
                        mask: Field::ALL,
                        values: c.summary.clone(),
                    })
                    .collect(),
            ),
            more: false,
        }
    }

    /// The sequence number of the last frame encoded (0 before the first).
    pub fn seq(&self) -> u64 {
        self.header.seq
    }

    /// A container's slot, if viewers know it.
    pub fn slot_of(&self, id: &str) -> Option<u32> {
        self.slots.get(id).copied()
    }

    fn absorb(&mut self, frame: &Frame) {
        for c in &frame.containers {
            let slot = self.slot_for(&c.info.id);
            self.held.insert(
                slot,
                Held {
                    info: c.info.clone(),
                    heal: c.heal.clone(),
                    summary: Summary::of(c),
                    reason_seq: frame.seq,
                },
            );
        }
        self.set_header(frame);
    }

    fn slot_for(&mut self, id: &str) -> u32 {
        if let Some(s) = self.slots.get(id) {
            return *s;
        }
        // Slots are never reused, so a late message can never be mistaken for another
        // container's; u32 lasts 136 years at one new container a second.
        let s = self.next_slot;
        self.next_slot = self.next_slot.wrapping_add(1);
        self.slots.insert(id.to_string(), s);
        s
    }

    fn forget_absent(&mut self, present: &HashSet<u32>) -> Vec<u32> {
        let gone: Vec<u32> = self
            .held
            .keys()
            .filter(|s| !present.contains(s))
            .copied()
            .collect();
        if !gone.is_empty() {
            let set: HashSet<u32> = gone.iter().copied().collect();
            self.held.retain(|s, _| !set.contains(s));
            self.slots.retain(|_, s| !set.contains(s));
        }
        gone
    }

    fn set_header(&mut self, frame: &Frame) {
        self.header = Header {
            seq: frame.seq,
            ts_ms: frame.ts_ms,
            source: frame.source,
            engine: frame.engine.clone(),
            host: frame.host.clone(),
            healing: frame.healing.clone(),
            store: frame.store.clone(),
            nodes: frame.nodes.clone(),
            incidents_rev: frame.incidents_rev,
        };
    }
}
