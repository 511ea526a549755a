//! The writer thread: how it is started, and how it writes each record, retrying transient
//! failures in order and answering tickets.

use super::{lock, refusal_reason, Ack, Answer, Op, Status, StoreWriter};
use crate::clock::now_ms;
use crate::store::db::{Db, StoreError};
use app::wire::{Intervention, Outcome, StoreState};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long one write waits for a lock held by someone else before it counts as failed.
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);
/// Retries of a failing write back off up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// After the loop has stopped, records still failing are given up after this long.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

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
