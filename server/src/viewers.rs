//! Admission of live viewers (`/ws`): a cap on all viewers and on viewers per client address,
//! and the counters an operator needs to see the cap at work (connected, refused, frames a slow
//! viewer skipped).
//!
//! Every viewer costs a task, a socket buffer and a share of each tick's fan-out; without a cap a
//! runaway script (or a reconnect storm after a restart) can take the host's memory and the
//! other viewers' latency with it. A refused viewer is told why in the websocket close frame.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// `[viewers]` in the configuration.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ViewerLimits {
    /// Live viewers at once, from everywhere.
    pub max: usize,
    /// Live viewers at once from one client address (behind a reverse proxy every viewer has
    /// the proxy's address: raise this, or let the proxy limit).
    pub max_per_client: usize,
}

impl Default for ViewerLimits {
    fn default() -> Self {
        Self {
            max: 1000,
            max_per_client: 100,
        }
    }
}

/// Why a viewer was not admitted; the text goes into the close frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("DockerPulse is at its limit of {0} viewers; try again later")]
    Full(usize),
    #[error("too many viewers from your address (limit {0}); close some tabs")]
    ClientFull(usize),
}

/// The counters of `/api/health` → `viewers`.
#[derive(Serialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewerCounters {
    pub connected: usize,
    pub max: usize,
    pub max_per_client: usize,
    /// Viewers refused since the start.
    pub refused: u64,
    /// Frames slow viewers skipped (they jump to the newest frame instead of queueing).
    pub frames_skipped: u64,
}

#[derive(Debug)]
struct Inner {
    limits: ViewerLimits,
    /// Admitted viewers per client address; the sum is the number connected.
    by_client: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicU64,
    skipped: AtomicU64,
}

/// Shared by the websocket handler and the health endpoint.
#[derive(Debug, Clone)]
pub struct ViewerGate(Arc<Inner>);

/// An admitted viewer; dropping it frees its place.
#[derive(Debug)]
pub struct Pass {
    gate: Arc<Inner>,
    client: IpAddr,
}

impl ViewerGate {
    pub fn new(limits: ViewerLimits) -> Self {
        Self(Arc::new(Inner {
            limits,
            by_client: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }))
    }

    /// Admits a viewer from `client`, or says why not (and counts the refusal).
    pub fn admit(&self, client: IpAddr) -> Result<Pass, Refusal> {
        let limits = self.0.limits;
        let mut by_client = self
            .0
            .by_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let total: usize = by_client.values().sum();
        let mine = by_client.get(&client).copied().unwrap_or(0);
        let refusal = if total >= limits.max {
            Some(Refusal::Full(limits.max))
        } else if mine >= limits.max_per_client {
            Some(Refusal::ClientFull(limits.max_per_client))
        } else {
            None
        };
        if let Some(r) = refusal {
            self.0.refused.fetch_add(1, Ordering::Relaxed);
            return Err(r);
        }
        *by_client.entry(client).or_insert(0) += 1;
        Ok(Pass {
            gate: Arc::clone(&self.0),
            client,
        })
    }

    /// A viewer jumped from one frame to a later one, missing `n` in between.
    pub fn note_skipped(&self, n: u64) {
        if n > 0 {
            self.0.skipped.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn counters(&self) -> ViewerCounters {
        let connected = self
            .0
            .by_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum();
        ViewerCounters {
            connected,
            max: self.0.limits.max,
            max_per_client: self.0.limits.max_per_client,
            refused: self.0.refused.load(Ordering::Relaxed),
            frames_skipped: self.0.skipped.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut by_client = self
            .gate
            .by_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = by_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                // Addresses come and go: the map holds only those with viewers.
                by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn gate(max: usize, max_per_client: usize) -> ViewerGate {
        ViewerGate::new(ViewerLimits {
            max,
            max_per_client,
        })
    }

    #[test]
    fn one_address_cannot_take_every_place() {
        let g = gate(5, 2);
        let a: Vec<Pass> = (0..2).map(|_| g.admit(ip(1)).expect("admitted")).collect();
        assert_eq!(g.admit(ip(1)).unwrap_err(), Refusal::ClientFull(2));
        let _b = g.admit(ip(2)).expect("another address still gets in");
        assert_eq!(g.counters().connected, 3);
        assert_eq!(g.counters().refused, 1);
        drop(a);
        assert_eq!(g.counters().connected, 1);
        assert!(
            g.admit(ip(1)).is_ok(),
            "places come back when viewers leave"
        );
    }

    #[test]
    fn the_total_cap_holds_across_addresses_and_frees_on_drop() {
        let g = gate(3, 3);
        let passes: Vec<Pass> = (1..=3).map(|i| g.admit(ip(i)).expect("admitted")).collect();
        let refused = g.admit(ip(9)).unwrap_err();
        assert_eq!(refused, Refusal::Full(3));
        assert!(refused.to_string().contains("limit of 3 viewers"));
        drop(passes);
        let c = g.counters();
        assert_eq!((c.connected, c.refused), (0, 1));
        assert!(
            g.0.by_client.lock().expect("map").is_empty(),
            "no address left behind"
        );
    }

    #[test]
    fn skipped_frames_add_up() {
        let g = gate(1, 1);
        g.note_skipped(0);
        g.note_skipped(3);
        g.note_skipped(2);
        assert_eq!(g.counters().frames_skipped, 5);
    }

    #[test]
    fn a_zero_cap_refuses_everyone_without_panicking() {
        let g = gate(0, 0);
        assert!(g.admit(ip(1)).is_err());
        assert_eq!(g.counters().connected, 0);
    }
}
