//! How often the policy may act: cooldown, restart backoff, the hourly cap per container and
//! the fleet-wide cap per minute (and its queue).

use super::*;
use std::time::Duration;

#[test]
fn cooldown_then_restart_backoff_doubles_to_the_cap() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let s = subject("a", &l);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        cooldown: Duration::from_secs(0),
        max_per_hour: 100,
        fleet_max_per_minute: 100,
        ..enforce()
    });
    // Stuck hot for an hour: restarts at 0, then after 10, 20, 40, 80, 160, 300, 300 s gaps.
    let v = run(&mut p, &s, 0, 3600, hot);
    let times = acts(&v);
    let gaps: Vec<i64> = times.windows(2).map(|w| (w[1] - w[0]) / 1000).collect();
    assert_eq!(&gaps[..7], &[10, 20, 40, 80, 160, 300, 300], "{times:?}");
    assert!(v.iter().any(|(_, v)| matches!(
        v,
        Verdict::Blocked {
            block: Block::Backoff { .. },
            ..
        }
    )));
}

#[test]
fn backoff_resets_after_a_long_calm() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let s = subject("a", &l);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        cooldown: Duration::from_secs(0),
        ..enforce()
    });
    assert_eq!(acts(&run(&mut p, &s, 0, 12, hot)).len(), 2); // at 0 and 10 s
    run(&mut p, &s, 20_000, 700, calm); // > 10 min calm
    let again = acts(&run(&mut p, &s, 800_000, 12, hot));
    assert_eq!(again, [800_000, 810_000], "back to a 10 s backoff");
}

#[test]
fn cooldown_applies_to_every_action() {
    let l = labels(&[(HEAL_LABEL, "pause")]);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        ..enforce()
    });
    let times = acts(&run(&mut p, &subject("a", &l), 0, 100, hot));
    assert_eq!(times, [0, 30_000, 60_000, 90_000]);
}

#[test]
fn hourly_cap_per_container() {
    let l = labels(&[(HEAL_LABEL, "pause")]);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        cooldown: Duration::from_secs(1),
        max_per_hour: 4,
        fleet_max_per_minute: 100,
        ..enforce()
    });
    let v = run(&mut p, &subject("a", &l), 0, 3700, hot);
    let times = acts(&v);
    assert_eq!(&times[..5], &[0, 1000, 2000, 3000, 3_600_000], "{times:?}");
    assert!(v.iter().any(|(_, v)| matches!(
        v,
        Verdict::Blocked {
            block: Block::HourlyCap { max: 4 },
            ..
        }
    )));
}

#[test]
fn a_restart_storm_is_limited_by_the_fleet_cap() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let ids: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    let mut p = Policy::new(HealConfig {
        streak: 1,
        ..enforce()
    });
    let mut acted = Vec::new();
    let mut capped = 0;
    for tick in 0..120i64 {
        for id in &ids {
            match p.decide(&subject(id, &l), &hot(tick * 1000)) {
                Verdict::Act { .. } => acted.push((tick, id.clone())),
                Verdict::Blocked {
                    block: Block::FleetCap { .. },
                    ..
                } => capped += 1,
                _ => {}
            }
        }
    }
    let first_minute = acted.iter().filter(|(t, _)| *t < 60).count();
    assert_eq!(first_minute, 3, "at most 3 per minute: {acted:?}");
    assert_eq!(acted.len(), 6, "3 more in the second minute");
    let distinct: std::collections::HashSet<&String> = acted.iter().map(|(_, id)| id).collect();
    assert_eq!(
        distinct.len(),
        6,
        "first come, first served: no container twice while others wait"
    );
    assert!(capped >= 17, "every held-back container told why: {capped}");
}

#[test]
fn a_vanished_container_at_the_head_of_the_fleet_queue_does_not_block_the_others() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let mut p = Policy::new(HealConfig {
        streak: 1,
        fleet_max_per_minute: 1,
        ..enforce()
    });
    // a acts, b and then c are queued behind the cap.
    assert!(matches!(
        p.decide(&subject("a", &l), &hot(0)),
        Verdict::Act { .. }
    ));
    assert!(matches!(
        p.decide(&subject("b", &l), &hot(0)),
        Verdict::Blocked { .. }
    ));
    assert!(matches!(
        p.decide(&subject("c", &l), &hot(0)),
        Verdict::Blocked { .. }
    ));
    // b dies and is never decided on again; once the minute is over, c must get its turn.
    let mut acted = None;
    for t in 1..=70i64 {
        if let Verdict::Act { .. } = p.decide(&subject("c", &l), &hot(t * 1000)) {
            acted = Some(t);
            break;
        }
    }
    assert_eq!(acted, Some(60), "c acts as soon as the cap allows");
}
