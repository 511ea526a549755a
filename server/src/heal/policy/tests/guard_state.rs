//! What the policy remembers per container: forgetting containers that are gone, rolling back an
//! action that was not recorded, and restoring from stored guards after DockerPulse restarts.

use super::*;
use crate::heal::guard::FLEET_KEY;
use std::collections::HashMap;
use std::time::Duration;

#[test]
fn containers_that_are_gone_are_forgotten_but_an_open_breaker_is_kept() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let mut p = Policy::new(enforce());
    p.decide(&subject("a", &l), &calm(0));
    p.restore(
        "b",
        Guard {
            breaker_open: true,
            ..Guard::default()
        },
    );
    p.retain(&crate::util::IdSet::default());
    assert!(p.needs_human("b"));
    assert_eq!(p.states.len(), 1);
    assert_eq!(
        p.tracked(),
        (0, 1),
        "counted as held, not as a live container's"
    );
}

#[test]
fn a_gone_container_that_acted_recently_keeps_its_guard_until_it_no_longer_matters() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        ..enforce()
    });
    assert!(matches!(
        p.decide(&subject("a", &l), &hot(0)),
        Verdict::Act { .. }
    ));
    p.retain(&crate::util::IdSet::default());
    assert!(
        p.guard("a").is_some(),
        "recreated under the same name, it is still in cooldown"
    );
    p.decide(&subject("other", &l), &calm(3_600_000));
    p.retain(&["other"].into_iter().collect());
    assert!(p.guard("a").is_none(), "an hour later it is forgotten");
}

#[test]
fn a_rolled_back_action_leaves_the_guards_as_they_were() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let s = subject("a", &l);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        fleet_max_per_minute: 1,
        ..enforce()
    });
    let before = p.guard("a").cloned();
    assert!(matches!(p.decide(&s, &hot(0)), Verdict::Act { .. }));
    let dirty = p.take_dirty();
    assert!(dirty.contains(&"a".to_string()) && dirty.contains(&FLEET_KEY.to_string()));
    p.rollback("a", before, 0);
    assert_eq!(p.guard("a"), Some(&Guard::default()));
    assert!(
        p.fleet().recent.is_empty(),
        "the fleet window gave the slot back"
    );
    // And the next tick may act at once: nothing was spent.
    assert!(matches!(p.decide(&s, &hot(1000)), Verdict::Act { .. }));
}

/// Restarts the policy from what was stored (the dirty guards), as a restarted DockerPulse does.
fn restarted(p: &mut Policy, stored: &mut HashMap<String, (Option<Guard>, FleetGuard)>) -> Policy {
    for name in p.take_dirty() {
        let entry = stored.entry(name.clone()).or_default();
        if name == FLEET_KEY {
            entry.1 = p.fleet().clone();
        } else {
            entry.0 = p.guard(&name).cloned();
        }
    }
    let mut fresh = Policy::new(p.config().clone());
    for (name, (g, f)) in stored.iter() {
        if name == FLEET_KEY {
            fresh.restore_fleet(f.clone());
        } else if let Some(g) = g {
            fresh.restore(name, g.clone());
        }
    }
    fresh
}

proptest::proptest! {
    /// A DockerPulse restarted (from its stored guards) at any ticks never acts more often
    /// than one that ran without interruption, and never breaks the backoff.
    #[test]
    fn restarts_of_dockerpulse_never_allow_more_actions(
        hot_ticks in proptest::collection::vec(proptest::bool::weighted(0.8), 50..600),
        kills in proptest::collection::btree_set(1usize..600, 0..12),
        fails in proptest::bool::ANY,
    ) {
        let l = labels(&[(HEAL_LABEL, "restart")]);
        let s = subject("a", &l);
        let cfg = HealConfig { streak: 2, cooldown: Duration::from_secs(5), ..enforce() };
        let feed = |p: &mut Policy, i: usize, t: i64| -> bool {
            let sit = if hot_ticks[i] { hot(t) } else { calm(t) };
            match p.decide(&s, &sit) {
                Verdict::Act { mode, .. } => {
                    p.outcome("a", mode, !fails, t);
                    true
                }
                _ => false,
            }
        };
        let mut whole = Policy::new(cfg.clone());
        let uninterrupted = (0..hot_ticks.len())
            .filter(|&i| feed(&mut whole, i, i as i64 * 1000))
            .count();
        let mut p = Policy::new(cfg);
        let mut stored = HashMap::new();
        let mut times = Vec::new();
        for i in 0..hot_ticks.len() {
            if kills.contains(&i) {
                p = restarted(&mut p, &mut stored);
            }
            if feed(&mut p, i, i as i64 * 1000) {
                times.push(i as i64 * 1000);
            }
        }
        proptest::prop_assert!(times.len() <= uninterrupted, "{} > {uninterrupted}", times.len());
        proptest::prop_assert!(times.windows(2).all(|w| w[1] - w[0] >= 5_000), "cooldown: {times:?}");
    }
}
