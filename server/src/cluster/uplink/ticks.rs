//! What goes up besides the live tick: this node's ticks kept for the hub (packed, in the
//! [`Backlog`]) and sent again after a reconnect, and its incidents and interventions.

use super::io::{send, send_message, Sink};
use super::{Link, Uplink, UplinkError};
use crate::cluster::protocol::{AgentMsg, AgentMsgOut, TickOut};
use tokio_tungstenite::tungstenite::{Bytes, Message};

impl Uplink {
    /// Packs this node's newest tick and keeps it in the backlog; returns it with the frame's
    /// records revision.
    pub(super) fn keep(&self, link: &mut Link) -> Result<(Bytes, u64), UplinkError> {
        let (ts_ms, rev, text) = {
            let p = link.frames.borrow_and_update();
            let f = &p.frame;
            let out = AgentMsgOut::Tick(TickOut {
                seq: f.seq,
                ts_ms: f.ts_ms,
                engine: &f.engine,
                host: &f.host,
                containers: &f.containers,
            });
            let text =
                serde_json::to_string(&out).map_err(|e| UplinkError::Socket(e.to_string()))?;
            (f.ts_ms, f.incidents_rev, text)
        };
        let packed = Bytes::from(
            crate::deflate::deflate(text.as_bytes())
                .map_err(|e| UplinkError::Socket(e.to_string()))?,
        );
        link.backlog.push(ts_ms, packed.clone());
        let (kept, dropped) = (link.backlog.len(), link.backlog.dropped);
        self.set(|s| {
            s.ticks_kept = kept;
            s.ticks_dropped = dropped;
        });
        Ok((packed, rev))
    }

    /// Sends the kept ticks sampled after `since_ms` (the hub's newest of this node). Ticks
    /// published meanwhile are kept and sent too, so that none is lost to a long resend.
    pub(super) async fn resend(
        &self,
        sink: &mut Sink,
        link: &mut Link,
        since_ms: Option<i64>,
    ) -> Result<(), UplinkError> {
        let (mut since, mut n, mut bytes) = (since_ms, 0u64, 0u64);
        loop {
            let batch: Vec<(i64, Bytes)> = link.backlog.after(since).cloned().collect();
            if batch.is_empty() {
                break;
            }
            for (ts, packed) in batch {
                bytes += packed.len() as u64;
                send_message(sink, Message::Binary(packed)).await?;
                since = Some(ts);
                n += 1;
                if link.frames.has_changed().unwrap_or(false) {
                    self.keep(link)?;
                }
            }
        }
        if n > 0 {
            tracing::info!(ticks = n, "sent the hub the ticks it had missed");
        }
        self.set(|s| {
            s.ticks_resent += n;
            s.ticks_sent += n;
            s.bytes_sent += bytes;
        });
        Ok(())
    }
}

impl Uplink {
    /// Sends the newest `limit` incidents and interventions of this node's store; the store's
    /// error when it cannot read them (the node's store failing is its own visible state; the
    /// link and its ticks go on).
    pub(super) async fn send_records(
        &self,
        sink: &mut Sink,
        limit: u64,
    ) -> Result<Result<(), crate::store::db::StoreError>, UplinkError> {
        let db = self.db.clone();
        let read = tokio::task::spawn_blocking(move || {
            let incidents = db.incidents(&crate::store::db::IncidentFilter {
                limit,
                ..Default::default()
            })?;
            let interventions = db.interventions(&crate::store::db::InterventionFilter {
                limit,
                ..Default::default()
            })?;
            Ok::<_, crate::store::db::StoreError>((incidents.items, interventions.items))
        })
        .await;
        match read {
            Ok(Ok((incidents, interventions))) => send(
                sink,
                &AgentMsg::Records {
                    incidents,
                    interventions,
                },
            )
            .await
            .map(Ok),
            Ok(Err(e)) => Ok(Err(e)),
            Err(e) => Err(UplinkError::Socket(e.to_string())),
        }
    }
}
