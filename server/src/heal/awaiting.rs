//! Decisions waiting for their record to be committed, by ticket.

use super::guard::Guard;
use super::ManualReply;
use app::wire::Intervention;
use std::collections::{BTreeMap, HashMap};

/// One decision whose record the store has not yet confirmed.
#[derive(Debug)]
pub struct Awaiting {
    pub rec: Intervention,
    /// The container's guard before the decision (restored if the record is refused).
    pub before: Option<Guard>,
    pub reply: Option<ManualReply>,
    pub deadline_ms: i64,
    /// The loop already gave up on it (the writer has not answered yet).
    pub refused: bool,
}

#[derive(Debug, Default)]
pub struct AwaitingSet {
    next: u64,
    by_ticket: BTreeMap<u64, Awaiting>,
    /// Tickets per container name (a container has at most one action in flight).
    names: HashMap<String, u64>,
}

impl AwaitingSet {
    /// Adds a decision; returns its ticket and deadline.
    pub fn add(&mut self, a: Awaiting) -> (u64, i64) {
        self.next += 1;
        let deadline = a.deadline_ms;
        self.names.insert(a.rec.container_name.clone(), self.next);
        self.by_ticket.insert(self.next, a);
        (self.next, deadline)
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    pub fn take(&mut self, ticket: u64) -> Option<Awaiting> {
        let a = self.by_ticket.remove(&ticket)?;
        if self.names.get(&a.rec.container_name) == Some(&ticket) {
            self.names.remove(&a.rec.container_name);
        }
        Some(a)
    }

    /// Tickets past their deadline that the loop has not given up on yet.
    pub fn overdue(&self, now_ms: i64) -> Vec<u64> {
        self.by_ticket
            .iter()
            .filter(|(_, a)| !a.refused && a.deadline_ms < now_ms)
            .map(|(t, _)| *t)
            .collect()
    }

    /// Marks a decision as given up: its content goes to the caller; the ticket stays until the
    /// writer answers (so the container is not decided on again meanwhile).
    pub fn mark_refused(&mut self, ticket: u64) -> Option<Awaiting> {
        let a = self.by_ticket.get_mut(&ticket)?;
        a.refused = true;
        Some(Awaiting {
            rec: a.rec.clone(),
            before: a.before.take(),
            reply: a.reply.take(),
            deadline_ms: a.deadline_ms,
            refused: true,
        })
    }

    pub fn len(&self) -> usize {
        self.by_ticket.len()
    }
}
