//! SQL shared by the reads: filter clauses, the SELECT lists and mapping rows to wire types.

use super::*;

/// A WHERE clause built from optional filters, and the page query both lists share.
#[derive(Default)]
pub(super) struct Where {
    clauses: Vec<&'static str>,
    args: Vec<rusqlite::types::Value>,
}

impl Where {
    pub(super) fn add<const N: usize>(
        &mut self,
        clause: &'static str,
        args: [rusqlite::types::Value; N],
    ) {
        self.clauses.push(clause);
        self.args.extend(args);
    }

    pub(super) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn page<T>(
        &self,
        c: &Connection,
        table: &str,
        select: &str,
        order: &str,
        limit: u64,
        offset: u64,
        row: fn(&Row) -> rusqlite::Result<T>,
    ) -> Result<Page<T>, StoreError> {
        let wh = self.sql();
        let total: i64 = c.query_row(
            &format!("SELECT COUNT(*) FROM {table} {wh}"),
            params_from_iter(self.args.iter()),
            |r| r.get(0),
        )?;
        let mut args = self.args.clone();
        args.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
        args.push(i64::try_from(offset).unwrap_or(i64::MAX).into());
        let mut st = c.prepare(&format!("{select} {wh} ORDER BY {order} LIMIT ? OFFSET ?"))?;
        let items = st
            .query_map(params_from_iter(args.iter()), row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            total: total.max(0) as u64,
            offset,
            limit,
            items,
        })
    }
}

pub(super) const INCIDENT_SELECT: &str =
    "SELECT id, container_id, container_name, image, labels, host,
    engine_version, simulated, opened_ms, closed_ms, trigger, trigger_text, close_reason,
    peak_probability, peak_level, reasons, cpu_quota_pct,
    (SELECT COUNT(*) FROM interventions i WHERE i.incident_id = incidents.id
        AND i.outcome IN ('simulated','pending','succeeded','failed')),
    (SELECT COUNT(*) FROM interventions i WHERE i.incident_id = incidents.id
        AND i.action = 'restart' AND i.outcome = 'succeeded')
    FROM incidents";

pub(super) const INTERVENTION_SELECT: &str = "SELECT id, incident_id, container_id, container_name,
    decided_ms, started_ms, finished_ms, action, mode, manual, outcome, reason, detail,
    failure_probability, held, verification FROM interventions";

/// Counters of every container known to either table, the breaker from the healing guards.
pub(super) const COUNTERS_SELECT: &str = "SELECT n.name, COALESCE(c.interventions, 0),
    COALESCE(c.critical_entries, 0), COALESCE(g.breaker_open, 0) AS breaker_open
    FROM (SELECT container_name AS name FROM counters UNION SELECT container_name FROM heal_guards) n
    LEFT JOIN counters c ON c.container_name = n.name
    LEFT JOIN heal_guards g ON g.container_name = n.name";

pub(super) fn counters_row(r: &Row) -> rusqlite::Result<(String, Counters)> {
    Ok((
        r.get(0)?,
        Counters {
            interventions: r.get::<_, i64>(1)?.max(0) as u64,
            critical_entries: r.get::<_, i64>(2)?.max(0) as u64,
            breaker_open: r.get(3)?,
        },
    ))
}

pub(super) fn json_col<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn level(s: &str) -> RiskLevel {
    match s {
        "CRITICAL" => RiskLevel::Critical,
        "MEDIUM" => RiskLevel::Medium,
        _ => RiskLevel::Low,
    }
}

pub(super) fn incident_row(r: &Row) -> rusqlite::Result<StoredIncident> {
    let closed_ms: Option<i64> = r.get(9)?;
    Ok(StoredIncident {
        trigger: json_col(r, 10)?,
        incident: Incident {
            id: r.get(0)?,
            container_id: r.get(1)?,
            container_name: r.get(2)?,
            image: r.get(3)?,
            labels: json_col(r, 4)?,
            host: r.get(5)?,
            engine_version: r.get(6)?,
            simulated: r.get(7)?,
            state: if closed_ms.is_some() {
                IncidentState::Closed
            } else {
                IncidentState::Open
            },
            opened_ms: r.get(8)?,
            closed_ms,
            trigger: r.get(11)?,
            close_reason: r.get(12)?,
            peak_probability: r.get(13)?,
            peak_level: level(&r.get::<_, String>(14)?),
            reasons: json_col(r, 15)?,
            cpu_quota_pct: r.get(16)?,
            interventions: r.get::<_, i64>(17)?.max(0) as u64,
            forced_restart: r.get::<_, i64>(18)? > 0,
        },
    })
}

pub(super) fn intervention_row(r: &Row) -> rusqlite::Result<Intervention> {
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let action: String = r.get(7)?;
    let mode: String = r.get(8)?;
    let outcome: String = r.get(10)?;
    Ok(Intervention {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        container_id: r.get(2)?,
        container_name: r.get(3)?,
        decided_ms: r.get(4)?,
        started_ms: r.get(5)?,
        finished_ms: r.get(6)?,
        action: HealAction::parse(&action).ok_or_else(|| bad(7, "action"))?,
        mode: if mode == HealMode::Enforce.as_str() {
            HealMode::Enforce
        } else {
            HealMode::DryRun
        },
        manual: r.get(9)?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| bad(10, "outcome"))?,
        reason: r.get(11)?,
        detail: r.get(12)?,
        failure_probability: r.get(13)?,
        held: r.get(14)?,
        verification: r.get(15)?,
    })
}
