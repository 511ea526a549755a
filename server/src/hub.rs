//! The hub: turns each tick's frame into the fleet feed once and hands the same bytes to every
//! viewer.
//!
//! Fleet viewers get only what changed since the last tick ([`app::wire::Fleet`]), encoded and
//! serialised once per tick; a viewer that joins, misses a frame, or asks again gets the whole
//! state, serialised and deflated at most once per tick however many ask. A detail view
//! watching one container gets that container in full, serialised once per tick per watched
//! container.
//!
//! Whole-fleet messages (and the sparklines sent with them) go as binary messages of deflated
//! JSON ([`crate::deflate`]): a thousand containers' whole state is most of a megabyte of
//! JSON repeating the same keys, and a joining viewer of the 1,000-container demo fleet gets
//! 125 KiB instead of 824 KiB (`scripts/bench_viewers.sh`), so a reconnect storm (every
//! dashboard after a restart) writes a sixth of the bytes. A tick's changes stay text: they
//! are small, and every viewer reads them every second.
//!
//! Built on a `watch` channel, so a viewer that falls behind skips straight to the newest frame
//! instead of queueing old ones: one slow browser can neither stall the others nor grow memory.

use app::wire::{
    ContainerFrame, Detail, Fleet, FleetEncoder, Frame, SeriesHistory, ServerMsg, Spark, Sparks,
    PROTOCOL_VERSION,
};
use axum::extract::ws::{Message, Utf8Bytes};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Every this many ticks the fleet message is a full one, so a viewer that went wrong in a way
/// nobody noticed is put right within five minutes (a viewer that misses a tick, or whose page
/// finds a message out of order, gets the whole fleet at once).
pub const FULL_EVERY: u64 = 300;

/// Containers per message part. A part is written into a connection's buffer whole, so the
/// buffer grows to the largest part (plus what it gathers, see `api::ws`): a thousand viewers
/// of one-part messages of a thousand containers would hold most of a GiB. And the page
/// decodes each part in its own task: parts of 1,000 made a tick one 80 ms browser task.
pub const PART: usize = 100;

/// The parts of one message, serialised, in order: text, or deflated JSON for whole-fleet
/// messages (see the module doc).
pub type Parts = Arc<Vec<Message>>;

/// The JSON text of a binary message from the feed (deflated, see the module doc).
pub fn text_of_binary(data: &[u8]) -> Result<String, crate::deflate::InflateError> {
    let raw = crate::deflate::inflate(data, app::wire::FEED_INFLATED_MAX)?;
    String::from_utf8(raw).map_err(|e| crate::deflate::InflateError::Corrupt(e.to_string()))
}

/// A tick ready to send.
#[derive(Clone, Debug, Default)]
pub struct Published {
    pub seq: u64,
    /// The tick the fleet message changes (0 for a full one).
    pub base: u64,
    /// The fleet message's parts, as JSON text.
    pub fleet: Parts,
    /// The tick's whole frame, for detail views.
    pub frame: Arc<Frame>,
}

/// A message already serialised, and the tick it was made at.
#[derive(Clone, Debug)]
struct Cached<T> {
    seq: u64,
    text: T,
}

#[derive(Clone, Debug)]
pub struct Hub {
    tx: Arc<watch::Sender<Published>>,
    encoder: Arc<Mutex<FleetEncoder>>,
    full: Arc<Mutex<Option<Cached<Parts>>>>,
    snapshot: Arc<tokio::sync::Mutex<Option<Cached<Parts>>>>,
    details: Arc<Mutex<HashMap<String, Cached<Utf8Bytes>>>>,
}

impl Hub {
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(Published::default());
        Self {
            tx: Arc::new(tx),
            encoder: Arc::default(),
            full: Arc::default(),
            snapshot: Arc::default(),
            details: Arc::default(),
        }
    }

    fn encoder(&self) -> MutexGuard<'_, FleetEncoder> {
        // The encoder is plain data that no panic can leave half-updated in a way that matters
        // more than losing the feed: carry on with it.
        self.encoder.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Encodes `frame` as this tick's fleet message (a full one every [`FULL_EVERY`] ticks),
    /// serialises it once (in parts of [`PART`] containers) and makes it the latest. Returns
    /// its size in bytes.
    pub fn publish(&self, frame: Frame) -> usize {
        let seq = frame.seq;
        let msg = {
            let mut enc = self.encoder();
            let m = enc.encode(&frame);
            if !m.full && seq.is_multiple_of(FULL_EVERY) {
                enc.full()
            } else {
                m
            }
        };
        let (base, full) = (msg.base, msg.full);
        let parts = match serialise(msg) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "fleet message could not be serialised");
                return 0;
            }
        };
        if full {
            *lock(&self.full) = Some(Cached {
                seq,
                text: parts.clone(),
            });
        }
        let len = parts.iter().map(wire_len).sum();
        self.tx.send_replace(Published {
            seq,
            base,
            fleet: parts,
            frame: Arc::new(frame),
        });
        len
    }

    /// The whole fleet as one fleet message (in parts), and the tick it holds: for a viewer
    /// that missed a frame or asks again. Serialised at most once per tick.
    pub fn full(&self) -> serde_json::Result<(u64, Parts)> {
        let msg = {
            let enc = self.encoder();
            let seq = enc.seq();
            if let Some(c) = lock(&self.full).as_ref().filter(|c| c.seq == seq) {
                return Ok((c.seq, c.text.clone()));
            }
            enc.full()
        };
        let seq = msg.seq;
        let parts = serialise(msg)?;
        *lock(&self.full) = Some(Cached {
            seq,
            text: parts.clone(),
        });
        Ok((seq, parts))
    }

    /// What a viewer joining now receives, and the tick it holds: the whole fleet, then each
    /// container's recent CPU (`sparks` gives it per container id, oldest first). Built and
    /// serialised once per tick, then shared by every viewer that joins before the next one:
    /// a reconnect storm (every dashboard after a restart) costs one snapshot per tick instead
    /// of one per viewer. Viewers that join meanwhile wait for the one being built.
    pub async fn snapshot(
        &self,
        sparks: impl FnOnce() -> Vec<(String, Vec<f64>)>,
    ) -> serde_json::Result<(u64, Parts)> {
        let mut cached = self.snapshot.lock().await;
        let at = self.encoder().seq();
        if let Some(c) = cached.as_ref().filter(|c| c.seq == at) {
            return Ok((c.seq, c.text.clone()));
        }
        let mut parts = Vec::new();
        let mut held = 0;
        let mut sparks_of = Vec::new();
        if at != 0 {
            let (full_seq, full) = self.full()?;
            held = full_seq;
            parts.extend(full.iter().cloned());
            let recent = sparks();
            // Slots never change, so sparks read a moment later still name the same containers
            // (one that came meanwhile is unknown to the viewer and skipped by it).
            let enc = self.encoder();
            sparks_of = recent
                .into_iter()
                .filter_map(|(id, cpu)| enc.slot_of(&id).map(|slot| Spark { slot, cpu }))
                .collect();
        }
        let chunks: Vec<&[Spark]> = if sparks_of.is_empty() {
            vec![&[]]
        } else {
            sparks_of.chunks(PART).collect()
        };
        for chunk in chunks {
            parts.push(packed(&to_json(&ServerMsg::Sparks(Sparks {
                v: PROTOCOL_VERSION,
                sparks: chunk.to_vec(),
            }))?)?);
        }
        let parts = Arc::new(parts);
        *cached = Some(Cached {
            seq: held,
            text: parts.clone(),
        });
        Ok((held, parts))
    }

    /// Container `id` in full at the tick `p`, for the viewers watching it; serialised once per
    /// tick per container. `None` when it is not in that tick's frame.
    pub fn detail(&self, id: &str, p: &Published) -> Option<Utf8Bytes> {
        if let Some(c) = lock(&self.details).get(id).filter(|c| c.seq == p.seq) {
            return Some(c.text.clone());
        }
        let c = p.frame.containers.iter().find(|c| c.info.id == id)?;
        let text = Utf8Bytes::from(detail_json(p, c.clone(), None)?);
        let mut details = lock(&self.details);
        // Containers nobody asked for this tick are not worth keeping.
        details.retain(|_, c| c.seq == p.seq);
        details.insert(
            id.to_string(),
            Cached {
                seq: p.seq,
                text: text.clone(),
            },
        );
        Some(text)
    }

    /// The first detail message of a watch: the container at the latest tick with its history.
    pub fn detail_with_history(&self, id: &str, history: SeriesHistory) -> Option<Utf8Bytes> {
        let p = self.tx.borrow().clone();
        let c = p.frame.containers.iter().find(|c| c.info.id == id)?.clone();
        detail_json(&p, c, Some(history)).map(Utf8Bytes::from)
    }

    pub fn subscribe(&self) -> watch::Receiver<Published> {
        self.tx.subscribe()
    }

    /// Number of connected viewers.
    pub fn viewers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// Serialises a fleet message in parts: a whole fleet deflated, changes as text.
fn serialise(msg: Fleet) -> serde_json::Result<Parts> {
    let whole = msg.full;
    msg.split(PART)
        .into_iter()
        .map(|part| {
            let json = to_json(&ServerMsg::Fleet(part))?;
            if whole {
                packed(&json)
            } else {
                Ok(Message::Text(Utf8Bytes::from(json)))
            }
        })
        .collect::<serde_json::Result<Vec<_>>>()
        .map(Arc::new)
}

/// Bytes a message puts on the wire (its payload).
fn wire_len(m: &Message) -> usize {
    match m {
        Message::Text(t) => t.as_str().len(),
        Message::Binary(b) => b.len(),
        _ => 0,
    }
}

/// `json` deflated, as a binary message.
fn packed(json: &str) -> serde_json::Result<Message> {
    crate::deflate::deflate(json.as_bytes())
        .map(|d| Message::Binary(d.into()))
        .map_err(serde_json::Error::io)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn detail_json(
    p: &Published,
    container: ContainerFrame,
    history: Option<SeriesHistory>,
) -> Option<String> {
    let msg = ServerMsg::Detail(Detail {
        v: PROTOCOL_VERSION,
        seq: p.seq,
        ts_ms: p.frame.ts_ms,
        container,
        history,
    });
    to_json(&msg)
        .map_err(|e| tracing::error!(error = %e, "detail could not be serialised"))
        .ok()
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes floats with at most three decimals (whole numbers from 10 000 on): the browser needs
/// no more, and frames shrink by about a sixth (most of the rest is field names).
struct CompactFloats;

impl serde_json::ser::Formatter for CompactFloats {
    // Rounds numerically and lets serde_json's own writers (itoa, ryu) print: no allocation,
    // which matters when a snapshot of a hundred containers' history is written per viewer.
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        let rounded = if v.abs() >= 10_000.0 {
            v.round()
        } else {
            (v * 1000.0).round() / 1000.0
        };
        if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
            // Whole numbers without ".0"; also turns -0 into 0.
            self.write_i64(w, rounded as i64)
        } else {
            serde_json::ser::CompactFormatter.write_f64(w, rounded)
        }
    }

    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        self.write_f64(w, f64::from(v))
    }
}

/// JSON for viewers (frames and snapshots), with compact floats.
pub fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, CompactFloats);
    value.serialize(&mut ser)?;
    // serde_json only writes valid UTF-8.
    Ok(String::from_utf8(out).unwrap_or_default())
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
