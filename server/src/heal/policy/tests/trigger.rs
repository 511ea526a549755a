//! When the policy acts at all: the threshold, the streak of ticks above it, and warm-up.

use super::*;

#[test]
fn threshold_and_streak() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let s = subject("a", &l);
    // (probability, streak needed, ticks fed, expect an action)
    let table = [
        (84.9, 3, 10, false),
        (85.0, 3, 2, false),
        (85.0, 3, 3, true),
        (99.0, 1, 1, true),
        (99.0, 5, 4, false),
    ];
    for (prob, streak, ticks, expect) in table {
        let mut p = Policy::new(HealConfig {
            streak,
            ..enforce()
        });
        let mut acted = false;
        for i in 0..ticks {
            let sit = Situation {
                failure_probability: prob,
                ..hot(i * 1000)
            };
            acted |= matches!(p.decide(&s, &sit), Verdict::Act { .. });
        }
        assert_eq!(acted, expect, "p={prob} streak={streak} ticks={ticks}");
    }
}

#[test]
fn a_dip_below_the_threshold_restarts_the_streak() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let s = subject("a", &l);
    let mut p = Policy::new(enforce());
    assert_eq!(p.decide(&s, &hot(0)), Verdict::Nothing);
    assert_eq!(p.decide(&s, &hot(1000)), Verdict::Nothing);
    assert_eq!(p.decide(&s, &calm(2000)), Verdict::Nothing);
    assert_eq!(p.decide(&s, &hot(3000)), Verdict::Nothing);
    assert_eq!(p.decide(&s, &hot(4000)), Verdict::Nothing);
    assert!(matches!(p.decide(&s, &hot(5000)), Verdict::Act { .. }));
}

#[test]
fn warming_up_never_acts() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let mut p = Policy::new(enforce());
    let v = run(&mut p, &subject("a", &l), 0, 20, |t| Situation {
        warming_up: true,
        ..hot(t)
    });
    assert!(v.is_empty());
}
