//! Scenario tables for the healing policy, by topic in the submodules; this file holds the
//! helpers they share (subjects, hot and calm situations, running a policy over ticks).

use super::*;

mod breaker;
mod eligibility;
mod guard_state;
mod pacing;
mod swarm;
mod trigger;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn hot(ts_ms: i64) -> Situation {
    Situation {
        ts_ms,
        failure_probability: 99.0,
        level: RiskLevel::Critical,
        warming_up: false,
    }
}

fn calm(ts_ms: i64) -> Situation {
    Situation {
        failure_probability: 5.0,
        level: RiskLevel::Low,
        ..hot(ts_ms)
    }
}

fn subject<'a>(id: &'a str, l: &'a BTreeMap<String, String>) -> Subject<'a> {
    Subject {
        id,
        name: id,
        labels: l,
        running: true,
        is_self: false,
        started_at_ms: None,
        start_period_ms: 0,
        service: None,
    }
}

fn enforce() -> HealConfig {
    HealConfig {
        mode: HealMode::Enforce,
        ..HealConfig::default()
    }
}

/// Runs `ticks` one second apart from `start`, returning the non-trivial verdicts with times.
fn run(
    p: &mut Policy,
    s: &Subject,
    start: i64,
    ticks: i64,
    f: fn(i64) -> Situation,
) -> Vec<(i64, Verdict)> {
    (0..ticks)
        .map(|i| start + i * 1000)
        .map(|t| (t, p.decide(s, &f(t))))
        .filter(|(_, v)| *v != Verdict::Nothing)
        .collect()
}

fn acts(v: &[(i64, Verdict)]) -> Vec<i64> {
    v.iter()
        .filter(|(_, v)| matches!(v, Verdict::Act { .. }))
        .map(|(t, _)| *t)
        .collect()
}
