//! Did a restart hold? After restarting a container, the executor looks at it every half
//! second; this pure judgement says from each look whether it held, failed, or it is too early.
//!
//! It held when it is still running with no further restart, and — when it has a health check —
//! once it reports healthy. It did not hold when it stopped, restarted again (a crash loop), turned
//! unhealthy, or was still not healthy when the verification time ran out.

use app::wire::{ContainerStatus, Health};

/// What one look at the container shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub status: ContainerStatus,
    pub health: Option<Health>,
    /// Whether it has a health check at all.
    pub has_healthcheck: bool,
    pub started_at_ms: Option<i64>,
    pub exit_code: Option<i64>,
}

/// The verdict of one look.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Held(String),
    NotHeld(String),
    /// Look again later.
    Wait,
}

/// Judges one look, `elapsed_ms` after the restart returned. `first_start` is when the
/// restarted process started (the first look's `started_at_ms`).
pub fn judge(first_start: Option<i64>, p: &Probe, elapsed_ms: i64, within_ms: i64) -> Check {
    let secs = elapsed_ms as f64 / 1000.0;
    let out_of_time = elapsed_ms >= within_ms;
    match p.status {
        ContainerStatus::Running => {}
        ContainerStatus::Restarting | ContainerStatus::Created if !out_of_time => {
            return Check::Wait
        }
        other => {
            let code = p
                .exit_code
                .map(|c| format!(" (exit code {c})"))
                .unwrap_or_default();
            return Check::NotHeld(format!(
                "did not hold: {}{code} {secs:.1} s after the restart",
                other.as_str()
            ));
        }
    }
    if first_start.is_some() && p.started_at_ms != first_start {
        return Check::NotHeld(format!(
            "did not hold: restarted again within {secs:.1} s of the restart (crash loop?)"
        ));
    }
    if p.has_healthcheck {
        return match p.health {
            Some(Health::Healthy) => Check::Held(format!(
                "held: running and healthy {secs:.1} s after the restart"
            )),
            Some(Health::Unhealthy) => Check::NotHeld(format!(
                "did not hold: unhealthy {secs:.1} s after the restart"
            )),
            _ if out_of_time => Check::NotHeld(format!(
                "did not hold: not healthy within {:.0} s of the restart",
                within_ms as f64 / 1000.0
            )),
            _ => Check::Wait,
        };
    }
    if out_of_time {
        Check::Held(format!("held: still running {secs:.0} s after the restart"))
    } else {
        Check::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(status: ContainerStatus, health: Option<Health>, started: i64) -> Probe {
        Probe {
            status,
            health,
            has_healthcheck: health.is_some(),
            started_at_ms: Some(started),
            exit_code: Some(1),
        }
    }

    #[test]
    fn verdicts_for_each_way_a_restart_goes() {
        use ContainerStatus::*;
        let s = Some(100);
        // (probe, elapsed, verdict kind)
        let table = [
            (probe(Running, None, 100), 5_000, "wait"),
            (probe(Running, None, 100), 30_000, "held"),
            (probe(Running, None, 200), 5_000, "not"),
            (probe(Exited, None, 100), 1_000, "not"),
            (probe(Restarting, None, 100), 1_000, "wait"),
            (probe(Restarting, None, 100), 30_000, "not"),
            (probe(Running, Some(Health::Starting), 100), 2_000, "wait"),
            (probe(Running, Some(Health::Healthy), 100), 2_000, "held"),
            (probe(Running, Some(Health::Unhealthy), 100), 2_000, "not"),
            (probe(Running, Some(Health::Starting), 100), 30_000, "not"),
        ];
        for (p, elapsed, want) in table {
            let got = match judge(s, &p, elapsed, 30_000) {
                Check::Held(_) => "held",
                Check::NotHeld(_) => "not",
                Check::Wait => "wait",
            };
            assert_eq!(got, want, "{p:?} after {elapsed} ms");
        }
    }

    #[test]
    fn the_words_say_what_was_seen() {
        let p = probe(ContainerStatus::Exited, None, 100);
        let Check::NotHeld(text) = judge(Some(100), &p, 4_200, 30_000) else {
            panic!("an exit does not hold");
        };
        assert_eq!(
            text,
            "did not hold: exited (exit code 1) 4.2 s after the restart"
        );
    }
}
