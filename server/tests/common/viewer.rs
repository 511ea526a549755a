//! The websocket feed as a viewer reads it: a message's JSON (binary ones inflated), and a
//! viewer that notes when each message arrives.

use std::time::{Duration, Instant};

/// The JSON of a message from `/ws`, as the page reads it: text as it is, binary (whole-fleet
/// messages) inflated; `None` for control frames.
pub fn feed_text(msg: &tokio_tungstenite::tungstenite::Message) -> Option<String> {
    use tokio_tungstenite::tungstenite::Message;
    match msg {
        Message::Text(t) => Some(t.to_string()),
        Message::Binary(b) => {
            Some(dockerpulse::hub::text_of_binary(b).expect("a deflated message"))
        }
        _ => None,
    }
}

/// A websocket viewer that notes when each message arrives, until dropped.
pub struct Viewer {
    times: std::sync::Arc<std::sync::Mutex<Vec<(Instant, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Viewer {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        use futures_util::StreamExt;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("websocket");
        let times = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = times.clone();
        let task = tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Some(t) = feed_text(&msg) {
                    let mut v = seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    v.push((Instant::now(), t));
                }
            }
        });
        Self { times, task }
    }

    /// Arrival times and texts so far.
    pub fn messages(&self) -> Vec<(Instant, String)> {
        self.times
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The longest gap between two messages after the first (the snapshot).
    pub fn longest_gap(&self) -> Duration {
        let m = self.messages();
        m.windows(2)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or_default()
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
