//! Who may be acted on: labels and modes, the configured opt-in, DockerPulse's own container,
//! the health check's start period; and a block is reported once, not every tick.

use super::*;

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
