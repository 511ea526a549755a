//! Docker Swarm tasks: only ever restarted, and at most a share of a service's tasks within the
//! window.

use super::*;

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
