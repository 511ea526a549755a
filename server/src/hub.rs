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

#[derive(Clone, Debug)]
pub struct Hub {
    tx: Arc<watch::Sender<Published>>,
}

impl Hub {
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(Published::default());
        Self { tx: Arc::new(tx) }
    }

    /// Serialises `msg` once and makes it the latest frame. Returns the payload size in bytes.
    pub fn publish(&self, seq: u64, msg: &ServerMsg) -> usize {
        match serde_json::to_string(msg) {
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
}
