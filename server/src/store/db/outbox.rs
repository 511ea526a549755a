//! The notification outbox's rows. The store keeps each delivery's event as JSON it does not
//! interpret (the notifier renders it per destination at each attempt) and its state:
//! `pending` (with the next attempt's time), `delivered`, `disabled` (its endpoint answered
//! 410), `expired` (given up).

use super::*;

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbox {
    /// Idempotency id (`webhook-id`): the same for every attempt of this delivery.
    pub id: String,
    pub destination: String,
    pub event: String,
    pub incident_id: String,
    pub facts: String,
    pub created_ms: i64,
    /// `pending`, or `disabled` for a destination a 410 disabled (recorded, never sent).
    pub state: &'static str,
}

/// A queued delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: String,
    pub destination: String,
    pub event: String,
    pub incident_id: String,
    pub facts: String,
    pub created_ms: i64,
    pub attempts: u32,
    pub next_ms: i64,
    pub state: String,
}

/// A destination as the store remembers it (a 410 disables it until its URL changes).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxDestination {
    pub name: String,
    /// What it pointed to when disabled (scheme, host and a hash of the URL: no secret).
    pub target: String,
    pub disabled_ms: Option<i64>,
    pub disabled_reason: Option<String>,
}

/// Per destination: deliveries by state, and the last attempt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutboxSummary {
    pub pending: u64,
    pub delivered: u64,
    pub disabled: u64,
    pub expired: u64,
    /// Failed attempts of the deliveries still pending.
    pub failed_attempts: u64,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_ms: Option<i64>,
    pub last_delivered_ms: Option<i64>,
    pub next_attempt_ms: Option<i64>,
}

const ROW: &str = "SELECT id, destination, event, incident_id, facts, created_ms, attempts, next_ms, state FROM outbox";

fn row(r: &Row) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        destination: r.get(1)?,
        event: r.get(2)?,
        incident_id: r.get(3)?,
        facts: r.get(4)?,
        created_ms: r.get(5)?,
        attempts: r.get(6)?,
        next_ms: r.get(7)?,
        state: r.get(8)?,
    })
}

impl Db {
    /// Queues deliveries, all or none.
    pub fn outbox_enqueue(&self, rows: &[NewOutbox]) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            for r in rows {
                tx.execute(
                    "INSERT OR IGNORE INTO outbox (id, destination, event, incident_id, facts, created_ms, next_ms, state, done_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, CASE WHEN ?7 = 'pending' THEN NULL ELSE ?6 END)",
                    params![r.id, r.destination, r.event, r.incident_id, r.facts, r.created_ms, r.state],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The oldest pending delivery of each destination (deliveries go out in order).
    pub fn outbox_heads(&self) -> Result<Vec<OutboxRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "{ROW} WHERE seq IN (SELECT MIN(seq) FROM outbox WHERE state = 'pending' GROUP BY destination)"
            ))?;
            let rows = st.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Records an attempt's outcome: the new state, and when to try again while pending.
    #[allow(clippy::too_many_arguments)]
    pub fn outbox_attempted(
        &self,
        id: &str,
        attempts: u32,
        state: &str,
        next_ms: i64,
        status: Option<u16>,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET attempts = ?2, state = ?3, next_ms = ?4, last_status = ?5,
                 last_error = ?6, last_attempt_ms = ?7,
                 done_ms = CASE WHEN ?3 = 'pending' THEN NULL ELSE ?7 END WHERE id = ?1",
                params![id, attempts, state, next_ms, status, error, now_ms],
            )?;
            Ok(())
        })
    }

    /// A 410: the destination is disabled and its pending deliveries with it.
    pub fn outbox_disable(
        &self,
        name: &str,
        target: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO outbox_destinations (name, target, disabled_ms, disabled_reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name) DO UPDATE SET target = ?2, disabled_ms = ?3, disabled_reason = ?4",
                params![name, target, now_ms, reason],
            )?;
            tx.execute(
                "UPDATE outbox SET state = 'disabled', done_ms = ?2 WHERE destination = ?1 AND state = 'pending'",
                params![name, now_ms],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Forgets that a destination was disabled (its URL changed).
    pub fn outbox_enable(&self, name: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM outbox_destinations WHERE name = ?1",
                params![name],
            )?;
            Ok(())
        })
    }

    pub fn outbox_destinations(&self) -> Result<Vec<OutboxDestination>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT name, target, disabled_ms, disabled_reason FROM outbox_destinations",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(OutboxDestination {
                        name: r.get(0)?,
                        target: r.get(1)?,
                        disabled_ms: r.get(2)?,
                        disabled_reason: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Every delivery of an incident, oldest first (for tests and the incident's page).
    pub fn outbox_of(&self, incident_id: &str) -> Result<Vec<OutboxRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!("{ROW} WHERE incident_id = ?1 ORDER BY seq"))?;
            let rows = st
                .query_map(params![incident_id], row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Per destination: counts by state and the latest attempt.
    pub fn outbox_summary(&self) -> Result<HashMap<String, OutboxSummary>, StoreError> {
        self.with(|c| {
            let mut out: HashMap<String, OutboxSummary> = HashMap::new();
            let mut st = c.prepare_cached(
                "SELECT destination, state, COUNT(*), SUM(attempts), MAX(done_ms), MIN(next_ms)
                 FROM outbox GROUP BY destination, state",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let s = out.entry(r.get(0)?).or_default();
                let n = u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0);
                match r.get::<_, String>(1)?.as_str() {
                    "pending" => {
                        s.pending = n;
                        s.failed_attempts =
                            u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0);
                        s.next_attempt_ms = r.get(5)?;
                    }
                    "delivered" => {
                        s.delivered = n;
                        s.last_delivered_ms = r.get(4)?;
                    }
                    "disabled" => s.disabled = n,
                    _ => s.expired += n,
                }
            }
            let mut st = c.prepare_cached(
                "SELECT destination, last_status, last_error, last_attempt_ms FROM outbox o
                 WHERE last_attempt_ms = (SELECT MAX(last_attempt_ms) FROM outbox WHERE destination = o.destination)",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let s = out.entry(r.get(0)?).or_default();
                s.last_status = r.get(1)?;
                s.last_error = r.get(2)?;
                s.last_attempt_ms = r.get(3)?;
            }
            Ok(out)
        })
    }

    /// Deletes finished deliveries older than `before_ms`.
    pub fn outbox_prune(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.with(|c| {
            Ok(c.execute(
                "DELETE FROM outbox WHERE state != 'pending' AND done_ms < ?1",
                params![before_ms],
            )?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(id: &str, dest: &str, at: i64) -> NewOutbox {
        NewOutbox {
            id: id.into(),
            destination: dest.into(),
            event: "opened".into(),
            incident_id: "i1".into(),
            facts: "{}".into(),
            created_ms: at,
            state: "pending",
        }
    }

    #[test]
    fn in_order_per_destination_and_a_410_disables() {
        let db = Db::open_in_memory().expect("db");
        db.outbox_enqueue(&[new("a1", "a", 1), new("b1", "b", 2), new("a2", "a", 3)])
            .expect("enqueue");
        // The same id twice is one delivery (idempotent enqueue).
        db.outbox_enqueue(&[new("a1", "a", 9)]).expect("again");
        let mut heads: Vec<String> = db
            .outbox_heads()
            .expect("heads")
            .into_iter()
            .map(|r| r.id)
            .collect();
        heads.sort();
        assert_eq!(heads, ["a1", "b1"]);
        db.outbox_attempted("a1", 1, "pending", 50, Some(500), Some("answered 500"), 10)
            .expect("failed attempt");
        let s = db.outbox_summary().expect("summary");
        assert_eq!(
            (s["a"].pending, s["a"].failed_attempts, s["a"].last_status),
            (2, 1, Some(500))
        );
        db.outbox_attempted("a1", 2, "delivered", 60, Some(200), None, 60)
            .expect("delivered");
        let heads: Vec<String> = db
            .outbox_heads()
            .expect("heads")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert!(heads.contains(&"a2".to_string()), "{heads:?}");
        db.outbox_disable("b", "http://x #00", "answered 410 Gone", 70)
            .expect("disable");
        let s = db.outbox_summary().expect("summary");
        assert_eq!((s["b"].pending, s["b"].disabled), (0, 1));
        assert_eq!((s["a"].delivered, s["a"].last_delivered_ms), (1, Some(60)));
        assert_eq!(
            db.outbox_destinations().expect("dests")[0].disabled_ms,
            Some(70)
        );
        db.outbox_enable("b").expect("enable");
        assert!(db.outbox_destinations().expect("dests").is_empty());
        assert_eq!(db.outbox_prune(1_000).expect("prune"), 2);
        assert_eq!(db.outbox_of("i1").expect("rows").len(), 1);
    }
}
