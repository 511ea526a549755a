//! The hub: serialises each tick's frame once and hands the same bytes to every viewer.
//!
//! Built on a `watch` channel, so a viewer that falls behind skips straight to the newest frame
//! instead of queueing old ones: one slow browser can neither stall the others nor grow memory.

use app::wire::ServerMsg;
use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;
use tokio::sync::watch;

/// A frame ready to send: its sequence number and its JSON text.
#[derive(Clone, Debug, Default)]
pub struct Published {
    pub seq: u64,
    pub text: Option<Utf8Bytes>,
}

/// A snapshot already serialised: the hub frame it was built at, the live store's sequence
/// number it holds, and its JSON text.
#[derive(Clone, Debug)]
struct CachedSnapshot {
    at_frame: u64,
    seq: u64,
    text: Utf8Bytes,
}

#[derive(Clone, Debug)]
pub struct Hub {
    tx: Arc<watch::Sender<Published>>,
    snapshot: Arc<tokio::sync::Mutex<Option<CachedSnapshot>>>,
}

impl Hub {
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(Published::default());
        Self {
            tx: Arc::new(tx),
            snapshot: Arc::default(),
        }
    }

    /// The snapshot for a viewer joining now, and the sequence number it holds: built by
    /// `build` and serialised once per published frame, then shared by every viewer that joins
    /// before the next one. A reconnect storm (every dashboard after a restart) costs one
    /// snapshot per tick instead of one per viewer. Viewers that join meanwhile wait for the
    /// one being built rather than building their own.
    pub async fn snapshot(
        &self,
        build: impl FnOnce() -> (u64, ServerMsg),
    ) -> serde_json::Result<(u64, Utf8Bytes)> {
        let mut cached = self.snapshot.lock().await;
        let at_frame = self.tx.borrow().seq;
        if let Some(c) = cached.as_ref().filter(|c| c.at_frame == at_frame) {
            return Ok((c.seq, c.text.clone()));
        }
        let (seq, msg) = build();
        let text = Utf8Bytes::from(to_json(&msg)?);
        *cached = Some(CachedSnapshot {
            at_frame,
            seq,
            text: text.clone(),
        });
        Ok((seq, text))
    }

    /// Serialises `msg` once and makes it the latest frame. Returns the payload size in bytes.
    pub fn publish(&self, seq: u64, msg: &ServerMsg) -> usize {
        match to_json(msg) {
            Ok(text) => {
                let len = text.len();
                self.tx.send_replace(Published {
                    seq,
                    text: Some(Utf8Bytes::from(text)),
                });
                len
            }
            Err(e) => {
                tracing::error!(error = %e, "frame could not be serialised");
                0
            }
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<Published> {
        self.tx.subscribe()
    }

    /// Number of connected viewers.
    pub fn viewers(&self) -> usize {
        self.tx.receiver_count()
    }
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
mod tests {
    use super::*;
    use app::wire::Frame;

    #[tokio::test]
    async fn a_late_reader_sees_only_the_newest_frame() {
        let hub = Hub::new();
        let mut rx = hub.subscribe();
        for seq in 1..=5 {
            hub.publish(
                seq,
                &ServerMsg::Frame(Frame {
                    seq,
                    ..Frame::default()
                }),
            );
        }
        rx.changed().await.expect("hub alive");
        let latest = rx.borrow_and_update().clone();
        assert_eq!(latest.seq, 5);
        let text = latest.text.expect("serialised");
        assert!(text.as_str().contains(r#""seq":5"#));
        assert!(!rx.has_changed().expect("hub alive"));
    }

    fn snap(seq: u64) -> (u64, ServerMsg) {
        (
            seq,
            ServerMsg::Frame(Frame {
                seq,
                ..Frame::default()
            }),
        )
    }

    #[tokio::test]
    async fn a_snapshot_is_built_once_per_frame_and_shared() {
        let hub = Hub::new();
        hub.publish(1, &snap(1).1);
        let built = std::sync::atomic::AtomicUsize::new(0);
        let build = |seq| {
            built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            snap(seq)
        };
        let (s1, a) = hub.snapshot(|| build(1)).await.expect("json");
        let (s2, b) = hub.snapshot(|| build(99)).await.expect("json");
        assert_eq!(
            (s1, s2),
            (1, 1),
            "the second viewer got the first one's snapshot"
        );
        assert_eq!(a, b);
        assert_eq!(built.load(std::sync::atomic::Ordering::Relaxed), 1);
        // A new frame: the next viewer needs a fresh snapshot.
        hub.publish(2, &snap(2).1);
        let (s3, c) = hub.snapshot(|| build(2)).await.expect("json");
        assert_eq!(s3, 2);
        assert!(c.as_str().contains(r#""seq":2"#));
        assert_eq!(built.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[test]
    fn floats_are_compact_and_still_read_back() {
        let v = serde_json::json!({"a": 17.097535903073744, "b": 61082115.32, "c": 0.5, "d": 100.0, "e": -0.0001, "f": f64::NAN});
        assert_eq!(
            to_json(&v).expect("json"),
            r#"{"a":17.098,"b":61082115,"c":0.5,"d":100,"e":0,"f":null}"#
        );
        let msg = ServerMsg::Frame(Frame {
            ts_ms: 1_795_693_772_349,
            ..Frame::default()
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
}
