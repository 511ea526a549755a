//! The store's writer: one thread owns the database's writes, so the live loop never waits on
//! SQLite (a locked file, a full disk, a slow fsync).
//!
//! The loop hands over [`Op`]s with [`StoreWriter::send`], which never blocks:
//! - incident samples are the only records ever dropped: when the queue is full, or other
//!   records are already waiting, they are left out (the window is thinned) and counted;
//! - every other record (incidents, decisions, outcomes, guards, counters) is kept, in order,
//!   in an overflow list on the loop's side until the queue has room again;
//! - an enforced action comes with a [`Ticket`]: the writer answers [`Answer::Recorded`] once
//!   its row is committed (only then is the action carried out), or [`Answer::Refused`] when it
//!   could not commit it before the ticket's deadline. The record is then rewritten as a
//!   refusal, and still written once the store is back.
//!
//! Transient failures (busy, locked, disk full, I/O errors) are retried with backoff, in order,
//! while the status says `failing`; a record the database rejects outright is logged and
//! counted, never retried forever. A heartbeat write every few seconds keeps the status true
//! when nothing else is written.

use super::db::{GuardRow, NewIncident};
use super::live::HistoryPoint;
use app::wire::{HealAction, Intervention, Outcome, Reason, RiskLevel, StoreStatus};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

mod worker;
pub use worker::{spawn, Spawned};

/// Records queued for the writer before the loop keeps them on its side.
pub const QUEUE_CAPACITY: usize = 1024;

/// Something to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Incident(NewIncident),
    /// Part of an incident's sample window; the only op that may be dropped.
    Samples {
        incident_id: String,
        points: Vec<HistoryPoint>,
    },
    Peak {
        id: String,
        probability: f64,
        level: RiskLevel,
        reasons: Vec<Reason>,
    },
    Close {
        id: String,
        closed_ms: i64,
        why: String,
    },
    /// A healing decision and the guard state it leaves behind.
    Decision {
        rec: Intervention,
        guards: Vec<GuardRow>,
        ticket: Option<Ticket>,
    },
    Finish {
        id: i64,
        started_ms: i64,
        finished_ms: i64,
        outcome: Outcome,
        detail: Option<String>,
        guards: Vec<GuardRow>,
    },
    Verified {
        id: i64,
        /// `None`: not judged (another action came first).
        held: Option<bool>,
        text: String,
        at_ms: i64,
        guards: Vec<GuardRow>,
    },
    Guards {
        guards: Vec<GuardRow>,
        at_ms: i64,
    },
    /// The container entered the critical zone once more.
    CriticalEntry {
        name: String,
    },
    /// Thin the middle of an incident's sample window (see
    /// [`Db::compact_samples`](super::db::Db::compact_samples)).
    Compact {
        incident_id: String,
        head_until_ms: i64,
        tail_from_ms: i64,
        stride_ms: i64,
    },
    /// Delete closed incidents and interventions older than this.
    Prune {
        before_ms: i64,
    },
    /// A tiny write that shows whether the store can write, when nothing else is written.
    /// Dropped (not counted) when the queue is busy: then other records show it.
    Heartbeat {
        at_ms: i64,
    },
}

/// A decision that must be committed before it is acted on, and by when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub id: u64,
    pub deadline_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Committed with this id: the action may go ahead.
    Recorded(i64),
    /// Not committed in time (the store's error): the action must not be taken.
    Refused(String),
}

/// The writer's answer to a [`Ticket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub ticket: u64,
    pub answer: Answer,
}

/// The reason a refused decision is recorded with.
pub fn refusal_reason(action: HealAction, error: &str) -> String {
    format!(
        "refused: store unavailable — the {} could not be recorded in time, so it was not carried out ({error})",
        action.as_str()
    )
}

type Status = Arc<Mutex<StoreStatus>>;

fn lock(s: &Status) -> std::sync::MutexGuard<'_, StoreStatus> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The loop's side: hands records to the writer without ever blocking.
#[derive(Debug)]
pub struct StoreWriter {
    tx: mpsc::Sender<Op>,
    overflow: VecDeque<Op>,
    status: Status,
    /// Set when the loop is gone: the writer then gives failing records a last chance only.
    stopping: Arc<AtomicBool>,
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        // Whatever is still on the loop's side goes to the writer, which has a moment left.
        let rest = std::mem::take(&mut self.overflow);
        if !rest.is_empty() {
            let tx = self.tx.clone();
            std::thread::spawn(move || {
                for op in rest {
                    if tx.blocking_send(op).is_err() {
                        break;
                    }
                }
            });
        }
        self.stopping.store(true, Ordering::Relaxed);
    }
}

impl StoreWriter {
    /// Queues a record; never blocks (see the module docs for what happens when full).
    pub fn send(&mut self, op: Op) {
        self.flush();
        if matches!(op, Op::Heartbeat { .. }) {
            if self.overflow.is_empty() {
                let _ = self.tx.try_send(op);
            }
            return;
        }
        if let Op::Samples { points, .. } = &op {
            let n = points.len() as u64;
            if !self.overflow.is_empty() {
                lock(&self.status).samples_dropped += n;
                return;
            }
            if let Err(e) = self.tx.try_send(op) {
                let mut s = lock(&self.status);
                s.samples_dropped += n;
                if matches!(e, TrySendError::Closed(_)) {
                    s.records_lost += 1;
                }
            }
            return;
        }
        if !self.overflow.is_empty() {
            self.overflow.push_back(op);
            return;
        }
        match self.tx.try_send(op) {
            Ok(()) => {}
            Err(TrySendError::Full(op)) => self.overflow.push_back(op),
            Err(TrySendError::Closed(op)) => self.lost(&op),
        }
    }

    /// Moves records kept on the loop's side into the queue as it frees up.
    pub fn flush(&mut self) {
        while let Some(op) = self.overflow.pop_front() {
            match self.tx.try_send(op) {
                Ok(()) => {}
                Err(TrySendError::Full(op)) => {
                    self.overflow.push_front(op);
                    break;
                }
                Err(TrySendError::Closed(op)) => self.lost(&op),
            }
        }
    }

    fn lost(&self, op: &Op) {
        tracing::error!(?op, "the store writer is gone: record lost");
        lock(&self.status).records_lost += 1;
    }

    /// The store's state, with what is waiting on either side.
    pub fn status(&self) -> StoreStatus {
        let mut s = lock(&self.status).clone();
        let in_queue = self.tx.max_capacity() - self.tx.capacity();
        s.queued = (in_queue + self.overflow.len()) as u64;
        s
    }

    /// Counts an action the loop gave up on because its record never came back committed.
    pub fn count_refused(&self) {
        lock(&self.status).actions_refused += 1;
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
