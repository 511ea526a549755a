//! Scenario tables for the healing policy.

use super::*;
use crate::heal::guard::FLEET_KEY;
use std::time::Duration;

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

#[test]
fn labels_and_modes_decide_who_is_touched() {
    // (global mode, heal label, mode label, expected first verdict)
    let table: [(HealMode, Option<&str>, Option<&str>, &str); 9] = [
        (HealMode::DryRun, None, None, "act dry-run restart"),
        (HealMode::DryRun, Some("pause"), None, "act dry-run pause"),
        (HealMode::Enforce, None, None, "blocked not-opted-in"),
        (
            HealMode::Enforce,
            Some("restart"),
            None,
            "act enforce restart",
        ),
        (
            HealMode::Enforce,
            Some("isolate"),
            None,
            "act enforce isolate",
        ),
        (
            HealMode::Enforce,
            Some("throttle"),
            Some("dry-run"),
            "act dry-run throttle",
        ),
        (
            HealMode::DryRun,
            Some("restart"),
            Some("enforce"),
            "act enforce restart",
        ),
        (HealMode::Enforce, Some("off"), None, "blocked excluded"),
        (HealMode::DryRun, Some("off"), None, "blocked excluded"),
    ];
    for (mode, heal, mode_label, expect) in table {
        let mut pairs = vec![];
        if let Some(h) = heal {
            pairs.push((HEAL_LABEL, h));
        }
        if let Some(m) = mode_label {
            pairs.push((MODE_LABEL, m));
        }
        let l = labels(&pairs);
        let mut p = Policy::new(HealConfig {
            mode,
            ..HealConfig::default()
        });
        let v = run(&mut p, &subject("a", &l), 0, 3, hot);
        let got = match &v[0].1 {
            Verdict::Act { action, mode, .. } => {
                format!("act {} {}", mode.as_str(), action.as_str())
            }
            Verdict::Blocked {
                block: Block::NotOptedIn,
                ..
            } => "blocked not-opted-in".into(),
            Verdict::Blocked {
                block: Block::Excluded(_),
                ..
            } => "blocked excluded".into(),
            other => format!("{other:?}"),
        };
        assert_eq!(got, expect, "{mode:?} {heal:?} {mode_label:?}");
    }
}

#[test]
fn config_names_opt_in_and_own_container_is_never_touched() {
    let none = labels(&[]);
    let mut cfg = enforce();
    cfg.containers.insert("web".into(), HealAction::Restart);
    let mut p = Policy::new(cfg);
    let web = Subject {
        name: "web",
        ..subject("id-web", &none)
    };
    assert!(matches!(
        run(&mut p, &web, 0, 3, hot)[0].1,
        Verdict::Act {
            action: HealAction::Restart,
            ..
        }
    ));
    let me = Subject {
        is_self: true,
        ..web
    };
    let mut p = Policy::new(enforce());
    let v = run(&mut p, &me, 0, 3, hot);
    assert!(
        matches!(&v[0].1, Verdict::Blocked { block: Block::Excluded(w), .. } if w.contains("own"))
    );
}

#[test]
fn blocked_reasons_are_reported_once_not_every_tick() {
    let none = labels(&[]);
    let mut p = Policy::new(enforce());
    let v = run(&mut p, &subject("a", &none), 0, 120, hot);
    assert_eq!(v.len(), 1, "{v:?}");
    let Verdict::Blocked { block, .. } = &v[0].1 else {
        panic!("expected a block: {v:?}");
    };
    assert!(
        block.describe().contains("did not opt in"),
        "{}",
        block.describe()
    );
}

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
    p.retain(&std::collections::HashSet::new());
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
    p.retain(&std::collections::HashSet::new());
    assert!(
        p.guard("a").is_some(),
        "recreated under the same name, it is still in cooldown"
    );
    p.decide(&subject("other", &l), &calm(3_600_000));
    p.retain(&["other"].into_iter().collect());
    assert!(p.guard("a").is_none(), "an hour later it is forgotten");
}

#[test]
fn no_action_inside_the_health_checks_start_period() {
    let l = labels(&[(HEAL_LABEL, "restart")]);
    let s = Subject {
        started_at_ms: Some(0),
        start_period_ms: 20_000,
        ..subject("a", &l)
    };
    let mut p = Policy::new(HealConfig {
        streak: 1,
        ..enforce()
    });
    let v = run(&mut p, &s, 0, 30, hot);
    assert_eq!(acts(&v), [20_000], "{v:?}");
    assert!(matches!(
        v[0].1,
        Verdict::Blocked {
            block: Block::StartPeriod { .. },
            ..
        }
    ));
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

fn task_labels(action: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("dockerpulse.heal".to_string(), action.to_string()),
        (
            app::wire::SWARM_SERVICE_LABEL.to_string(),
            "web".to_string(),
        ),
        (app::wire::SWARM_TASK_LABEL.to_string(), "t".to_string()),
    ])
}

#[test]
fn a_swarm_task_is_only_ever_restarted() {
    let l = task_labels("pause");
    let mut p = Policy::new(HealConfig {
        streak: 1,
        ..enforce()
    });
    let s = Subject {
        service: Some("web"),
        ..subject("web.1", &l)
    };
    let v = p.decide(&s, &hot(0));
    assert_eq!(
        v,
        Verdict::Blocked {
            action: HealAction::Pause,
            block: Block::SwarmTask
        }
    );
    assert!(Block::SwarmTask.describe().contains("through Swarm"));
    assert_eq!(
        p.admit_manual(&s, HealAction::Throttle, 0),
        Err(Block::SwarmTask)
    );
}

#[test]
fn at_most_half_of_a_services_tasks_are_acted_on_within_the_window() {
    let l = task_labels("restart");
    let mut p = Policy::new(HealConfig {
        streak: 1,
        service_max_share: 0.5,
        ..enforce()
    });
    let fleet = [l.clone(), l.clone(), l.clone(), l.clone()];
    p.observe_services(fleet.iter());
    let names = ["web.1", "web.2", "web.3", "web.4"];
    let task = |n: &'static str| Subject {
        service: Some("web"),
        ..subject(n, &l)
    };
    assert!(matches!(
        p.decide(&task(names[0]), &hot(0)),
        Verdict::Act { .. }
    ));
    assert!(matches!(
        p.decide(&task(names[1]), &hot(0)),
        Verdict::Act { .. }
    ));
    let third = p.decide(&task(names[2]), &hot(1_000));
    assert!(
        matches!(
            &third,
            Verdict::Blocked {
                block: Block::ServiceCap { allowed: 2, .. },
                ..
            }
        ),
        "{third:?}"
    );
    // A manual restart is held to the same cap.
    assert!(matches!(
        p.admit_manual(&task(names[3]), HealAction::Restart, 2_000),
        Err(Block::ServiceCap { .. })
    ));
    // A window later the service may be acted on again (the fleet cap allows 3 a minute).
    assert!(matches!(
        p.decide(&task(names[2]), &hot(61_000)),
        Verdict::Act { .. }
    ));
    // A container that is not a task is not held by any service.
    let plain = BTreeMap::from([("dockerpulse.heal".to_string(), "restart".to_string())]);
    assert_eq!(
        p.admit_manual(&subject("solo", &plain), HealAction::Pause, 0),
        Ok(())
    );
}
