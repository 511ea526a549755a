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

use super::db::{Db, GuardRow, NewIncident, StoreError};
use super::live::HistoryPoint;
use crate::clock::now_ms;
use app::wire::{HealAction, Intervention, Outcome, Reason, RiskLevel, StoreState, StoreStatus};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// Records queued for the writer before the loop keeps them on its side.
pub const QUEUE_CAPACITY: usize = 1024;
/// How long one write waits for a lock held by someone else before it counts as failed.
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);
/// Retries of a failing write back off up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// After the loop has stopped, records still failing are given up after this long.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

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
    /// Thin the middle of an incident's sample window (see [`Db::compact_samples`]).
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

/// What [`spawn`] returns: the sender, the answers to tickets, and the thread to wait for.
pub struct Spawned {
    pub writer: StoreWriter,
    pub acks: mpsc::UnboundedReceiver<Ack>,
    pub thread: std::thread::JoinHandle<()>,
}

/// Starts the writer thread. Committed closes are announced on `closed` (reports are written
/// for them only once the incident is closed in the store).
pub fn spawn(
    db: Db,
    capacity: usize,
    closed: Option<mpsc::UnboundedSender<String>>,
) -> std::io::Result<Spawned> {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let (ack_tx, acks) = mpsc::unbounded_channel();
    let status = Status::default();
    lock(&status).since_ms = now_ms();
    let stopping = Arc::new(AtomicBool::new(false));
    let worker = Worker {
        db,
        acks: ack_tx,
        closed,
        status: status.clone(),
        stopping: stopping.clone(),
        drain_started: std::cell::Cell::new(None),
    };
    if let Err(e) = worker.db.set_busy_timeout(BUSY_TIMEOUT) {
        tracing::warn!(error = %e, "could not shorten the store's busy timeout");
    }
    let thread = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || worker.run(rx))?;
    Ok(Spawned {
        writer: StoreWriter {
            tx,
            overflow: VecDeque::new(),
            status,
            stopping,
        },
        acks,
        thread,
    })
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

struct Worker {
    db: Db,
    acks: mpsc::UnboundedSender<Ack>,
    closed: Option<mpsc::UnboundedSender<String>>,
    status: Status,
    stopping: Arc<AtomicBool>,
    drain_started: std::cell::Cell<Option<std::time::Instant>>,
}

impl Worker {
    fn run(self, mut rx: mpsc::Receiver<Op>) {
        while let Some(op) = rx.blocking_recv() {
            self.apply(op);
        }
    }

    /// Once the loop has stopped, failing records are retried for [`DRAIN_LIMIT`] at most.
    fn give_up(&self) -> bool {
        if !self.stopping.load(Ordering::Relaxed) {
            return false;
        }
        let started = self
            .drain_started
            .get()
            .unwrap_or_else(std::time::Instant::now);
        self.drain_started.set(Some(started));
        started.elapsed() > DRAIN_LIMIT
    }

    /// Writes one record, retrying transient failures (in order: later records wait).
    fn apply(&self, mut op: Op) {
        let mut backoff = Duration::from_millis(50);
        let mut answered = false;
        // A record that waited behind a failing one is refused with the store's own error.
        let mut last_error = lock(&self.status)
            .error
            .clone()
            .unwrap_or_else(|| "the write queue was too slow".into());
        loop {
            if let Op::Decision {
                rec,
                ticket: Some(t),
                ..
            } = &mut op
            {
                if !answered && now_ms() > t.deadline_ms {
                    self.refuse(rec, t.id, &last_error);
                    answered = true;
                }
            }
            match self.write(&op) {
                Ok(id) => {
                    self.healthy();
                    if let Op::Decision {
                        ticket: Some(t), ..
                    } = &op
                    {
                        if !answered {
                            let _ = self.acks.send(Ack {
                                ticket: t.id,
                                answer: Answer::Recorded(id),
                            });
                        }
                    }
                    if let (Op::Close { id, .. }, Some(tx)) = (&op, &self.closed) {
                        let _ = tx.send(id.clone());
                    }
                    return;
                }
                Err(e) if e.is_transient() => {
                    last_error = e.to_string();
                    self.failing(&last_error);
                    if self.give_up() {
                        tracing::error!(error = %e, ?op, "stopping with the store failing: record not written");
                        lock(&self.status).records_lost += 1;
                        return;
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    tracing::error!(error = %e, ?op, "the store rejected a record");
                    lock(&self.status).records_lost += 1;
                    if let Op::Decision {
                        rec,
                        ticket: Some(t),
                        ..
                    } = &mut op
                    {
                        if !answered {
                            self.refuse(rec, t.id, &e.to_string());
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Turns a decision that missed its deadline into a refusal, and says so to the loop.
    fn refuse(&self, rec: &mut Intervention, ticket: u64, error: &str) {
        if rec.outcome == Outcome::Pending {
            rec.reason = refusal_reason(rec.action, error);
            rec.outcome = Outcome::Blocked;
            rec.detail = Some(error.to_string());
        }
        lock(&self.status).actions_refused += 1;
        let _ = self.acks.send(Ack {
            ticket,
            answer: Answer::Refused(error.to_string()),
        });
    }

    fn write(&self, op: &Op) -> Result<i64, StoreError> {
        let db = &self.db;
        match op {
            Op::Incident(n) => db.insert_incident(n).map(|()| 0),
            Op::Samples {
                incident_id,
                points,
            } => db.add_samples(incident_id, points).map(|()| 0),
            Op::Peak {
                id,
                probability,
                level,
                reasons,
            } => db
                .update_peak(id, *probability, *level, reasons)
                .map(|()| 0),
            Op::Close { id, closed_ms, why } => db.close_incident(id, *closed_ms, why).map(|()| 0),
            Op::Decision { rec, guards, .. } => db.record_decision(rec, guards),
            Op::Finish {
                id,
                started_ms,
                finished_ms,
                outcome,
                detail,
                guards,
            } => db
                .finish_intervention(
                    *id,
                    *started_ms,
                    *finished_ms,
                    *outcome,
                    detail.as_deref(),
                    guards,
                )
                .map(|()| 0),
            Op::Verified {
                id,
                held,
                text,
                at_ms,
                guards,
            } => db
                .verify_intervention(*id, *held, text, *at_ms, guards)
                .map(|()| 0),
            Op::Guards { guards, at_ms } => db.save_guards(guards, *at_ms).map(|()| 0),
            Op::CriticalEntry { name } => db.bump_counters(name, 0, 1).map(|()| 0),
            Op::Compact {
                incident_id,
                head_until_ms,
                tail_from_ms,
                stride_ms,
            } => db
                .compact_samples(incident_id, *head_until_ms, *tail_from_ms, *stride_ms)
                .map(|n| n as i64),
            Op::Prune { before_ms } => db.prune(*before_ms).map(|n| n as i64),
            Op::Heartbeat { at_ms } => db.heartbeat(*at_ms).map(|()| 0),
        }
    }

    fn healthy(&self) {
        let mut s = lock(&self.status);
        if s.state != StoreState::Ok {
            tracing::info!("the store is writing again");
            s.state = StoreState::Ok;
            s.since_ms = now_ms();
            s.error = None;
        }
    }

    fn failing(&self, error: &str) {
        let mut s = lock(&self.status);
        if s.state != StoreState::Failing {
            tracing::error!(%error, "the store cannot write; retrying (no action is taken without its record)");
            s.state = StoreState::Failing;
            s.since_ms = now_ms();
        }
        s.error = Some(error.to_string());
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
