//! The circuit breaker: repeated relapses or failures hand a container to a human; dry-run never
//! opens it.

use super::*;
use std::time::Duration;

#[test]
fn the_breaker_opens_after_repeated_relapses_and_a_human_resets_it() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let s = subject("a", &l);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        cooldown: Duration::from_secs(0),
        backoff_initial: Duration::from_secs(1),
        max_per_hour: 100,
        ..enforce()
    });
    let mut escalated = None;
    for tick in 0..600i64 {
        let t = tick * 1000;
        match p.decide(&s, &hot(t)) {
            Verdict::Act { mode, .. } => p.outcome("a", mode, true, t),
            Verdict::Escalate { reason } => {
                escalated = Some((t, reason));
                break;
            }
            _ => {}
        }
    }
    let (_, reason) = escalated.expect("the breaker opens");
    assert!(reason.contains("needs a human"), "{reason}");
    assert!(p.needs_human("a"));
    let later = run(&mut p, &s, 700_000, 100, hot);
    assert!(
        acts(&later).is_empty(),
        "no action while the breaker is open"
    );
    p.reset_breaker("a");
    assert!(!p.needs_human("a"));
    assert!(!acts(&run(&mut p, &s, 900_000, 3, hot)).is_empty());
}

#[test]
fn dry_run_never_opens_the_breaker() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        cooldown: Duration::from_secs(0),
        max_per_hour: 100,
        ..HealConfig::default()
    });
    for tick in 0..900i64 {
        if let Verdict::Act { mode, .. } = p.decide(&subject("a", &l), &hot(tick * 1000)) {
            assert_eq!(mode, HealMode::DryRun);
            p.outcome("a", mode, true, tick * 1000);
        }
    }
    assert!(!p.needs_human("a"));
}

#[test]
fn failed_actions_count_towards_the_breaker() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        cooldown: Duration::from_secs(0),
        backoff_initial: Duration::from_secs(1),
        ..enforce()
    });
    for tick in 0..200i64 {
        if let Verdict::Act { mode, .. } = p.decide(&subject("a", &l), &hot(tick * 1000)) {
            p.outcome("a", mode, false, tick * 1000);
        }
    }
    assert!(p.needs_human("a"));
}
