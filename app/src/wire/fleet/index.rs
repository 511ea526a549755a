//! The browser's side of the fleet feed: which slot is which container of the frame it
//! renders, whether a message follows what it holds, applying it in place, and a detail
//! view's container put in.

use super::{Fleet, SlotHeal, SlotInfo};
use crate::wire::{ContainerFrame, Frame};
use std::collections::HashMap;

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
