//! A service-wide restart through Swarm, done the way `docker service update --force` does it:
//! the service's spec goes back unchanged but for `TaskTemplate.ForceUpdate` incremented, at the
//! version it was read at, so the orchestrator replaces every task under the service's own
//! `UpdateConfig` (how many tasks at a time, how long between them, stop or start first). That
//! update config is the blast-radius control: DockerPulse never restarts a task's container
//! behind Swarm's back. Only a human asks for it (`POST /api/services/{service}/restart`), and
//! only for a service that opted in like a container does (its own labels, or its name under
//! `[heal.containers]`).
//!
//! Pure: what the manager said comes in as values; the engine calls are the executor's.

use super::policy::{Policy, Subject, HEAL_LABEL};
use app::wire::{HealAction, HealMode, Outcome};
use bollard::models::{Service, ServiceSpec, ServiceSpecUpdateConfig};
use std::collections::BTreeMap;

/// A service as the manager described it when its restart was asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceTarget {
    pub id: String,
    pub name: String,
    /// The service's own (spec) labels, not the labels of its tasks' containers.
    pub labels: BTreeMap<String, String>,
    /// DockerPulse's own container is one of its tasks (restarting it would restart us).
    pub hosts_dockerpulse: bool,
}

impl ServiceTarget {
    /// The target described by an inspection (`None` without an id, which a manager always
    /// gives).
    pub fn from_inspect(s: &Service) -> Option<Self> {
        let id = s.id.clone()?;
        let spec = s.spec.as_ref();
        Some(Self {
            name: spec
                .and_then(|sp| sp.name.clone())
                .unwrap_or_else(|| id.clone()),
            labels: spec
                .and_then(|sp| sp.labels.clone())
                .map(|l| l.into_iter().collect())
                .unwrap_or_default(),
            hosts_dockerpulse: false,
            id,
        })
    }
}

/// Whether the service may be restarted, and in which mode (`Err`: why not, in words).
/// Opt-in is the containers' rule ([`Policy::opt_in`]) applied to the service's labels and name,
/// and the action it opted in to must be `restart`: a service is never paused or isolated.
pub fn admit(policy: &Policy, t: &ServiceTarget) -> Result<HealMode, String> {
    let name = t.name.as_str();
    if t.hosts_dockerpulse {
        return Err(format!(
            "service {name} runs DockerPulse's own container: DockerPulse never acts on itself"
        ));
    }
    let subject = Subject {
        id: name,
        name,
        labels: &t.labels,
        running: true,
        is_self: false,
        started_at_ms: None,
        start_period_ms: 0,
        service: None,
    };
    match policy.opt_in(&subject) {
        // With `is_self` false, opting out by label is the only way to get here.
        Err(_) => Err(format!(
            "service {name} opted out (label {HEAL_LABEL}=off on the service)"
        )),
        Ok(Some(HealAction::Restart)) => Ok(policy.mode_for(&subject)),
        Ok(Some(other)) => Err(format!(
            "service {name} opted in to {}, not restart: a whole service is only restarted (label {HEAL_LABEL}=restart on the service)",
            other.as_str()
        )),
        Ok(None) => Err(format!(
            "service {name} did not opt in to a service-wide restart: add the label {HEAL_LABEL}=restart to the service (docker service update --label-add {HEAL_LABEL}=restart {name}) or name it under [heal.containers]"
        )),
    }
}

/// The spec's `TaskTemplate.ForceUpdate` counter.
pub fn force_update(spec: &ServiceSpec) -> u64 {
    spec.task_template
        .as_ref()
        .and_then(|t| t.force_update)
        .unwrap_or(0)
}

/// The spec with `ForceUpdate` one higher and nothing else changed: what the CLI's `--force`
/// sends (it wraps around like the engine's unsigned counter).
pub fn forced(mut spec: ServiceSpec) -> ServiceSpec {
    let next = force_update(&spec).wrapping_add(1);
    spec.task_template
        .get_or_insert_with(Default::default)
        .force_update = Some(next);
    spec
}

/// How Swarm rolls the tasks, in words, from the service's update config (absent fields are
/// the engine's defaults: one task at a time, no delay, stop-first).
pub fn rollout(u: Option<&ServiceSpecUpdateConfig>) -> String {
    let parallelism = u.and_then(|u| u.parallelism).unwrap_or(1);
    let at_once = if parallelism == 0 {
        "all tasks at once".to_string()
    } else {
        format!("{parallelism} task(s) at a time")
    };
    let delay_s = u.and_then(|u| u.delay).unwrap_or(0) as f64 / 1e9;
    let order = u
        .and_then(|u| u.order)
        .map(|o| o.to_string())
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| "stop-first".into());
    format!("{at_once}, {delay_s} s apart, {order}")
}

/// What the executor says once the manager accepted the update.
pub fn performed_text(before: u64, after: u64, rollout: &str) -> String {
    format!(
        "service update --force through Swarm: ForceUpdate {before} → {after}; Swarm replaces every task under the service's own update_config ({rollout}), which bounds how many are down at once"
    )
}

/// Settles a service-wide restart left `pending` by a crash: it happened when the service was
/// updated after the decision (a later update by someone else would look the same, so the
/// words say what was seen, not more).
pub fn reconciled(updated_ms: Option<i64>, decided_ms: i64) -> (Outcome, String) {
    match updated_ms {
        Some(t) if t >= decided_ms => (
            Outcome::Succeeded,
            "reconciled at start: the service's spec was updated after the decision".into(),
        ),
        _ => (
            Outcome::Failed,
            "reconciled at start: not carried out (the service was not updated after the decision)"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heal::policy::{HealConfig, MODE_LABEL};
    use bollard::models::{ServiceSpecUpdateConfigOrderEnum, TaskSpec};

    fn target(labels: &[(&str, &str)]) -> ServiceTarget {
        ServiceTarget {
            id: "s1".into(),
            name: "web".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            hosts_dockerpulse: false,
        }
    }

    #[test]
    fn a_service_opts_in_by_its_labels_or_by_name_and_only_to_restart() {
        let p = Policy::new(HealConfig::default());
        assert_eq!(
            admit(&p, &target(&[(HEAL_LABEL, "restart")])),
            Ok(HealMode::DryRun)
        );
        assert_eq!(
            admit(
                &p,
                &target(&[(HEAL_LABEL, "restart"), (MODE_LABEL, "enforce")])
            ),
            Ok(HealMode::Enforce)
        );
        let none = admit(&p, &target(&[])).expect_err("no label");
        assert!(none.contains("did not opt in"), "{none}");
        let pause = admit(&p, &target(&[(HEAL_LABEL, "pause")])).expect_err("pause");
        assert!(pause.contains("not restart"), "{pause}");
        let off = admit(&p, &target(&[(HEAL_LABEL, "off")])).expect_err("off");
        assert!(off.contains("opted out"), "{off}");

        let mut cfg = HealConfig::default();
        cfg.containers.insert("web".into(), HealAction::Restart);
        cfg.mode = HealMode::Enforce;
        assert_eq!(
            admit(&Policy::new(cfg), &target(&[])),
            Ok(HealMode::Enforce)
        );
    }

    #[test]
    fn the_service_running_dockerpulse_is_never_restarted() {
        let mut t = target(&[(HEAL_LABEL, "restart")]);
        t.hosts_dockerpulse = true;
        let why = admit(&Policy::new(HealConfig::default()), &t).expect_err("self");
        assert!(why.contains("never acts on itself"), "{why}");
    }

    #[test]
    fn force_goes_up_by_one_and_nothing_else_changes() {
        let spec = ServiceSpec {
            name: Some("web".into()),
            task_template: Some(TaskSpec {
                force_update: Some(4),
                ..TaskSpec::default()
            }),
            ..ServiceSpec::default()
        };
        let f = forced(spec.clone());
        assert_eq!(force_update(&f), 5);
        let mut back = f.clone();
        if let Some(t) = back.task_template.as_mut() {
            t.force_update = Some(4);
        }
        assert_eq!(back, spec);
        // A spec without a task template (never seen from a manager) still gets the counter.
        assert_eq!(force_update(&forced(ServiceSpec::default())), 1);
    }

    #[test]
    fn the_rollout_in_words_with_the_engine_defaults() {
        assert_eq!(rollout(None), "1 task(s) at a time, 0 s apart, stop-first");
        let u = ServiceSpecUpdateConfig {
            parallelism: Some(0),
            delay: Some(2_500_000_000),
            order: Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST),
            ..Default::default()
        };
        assert_eq!(
            rollout(Some(&u)),
            "all tasks at once, 2.5 s apart, start-first"
        );
    }

    #[test]
    fn a_pending_restart_counts_as_done_only_when_the_service_changed_after_it() {
        assert_eq!(reconciled(Some(10), 5).0, Outcome::Succeeded);
        assert_eq!(reconciled(Some(4), 5).0, Outcome::Failed);
        assert_eq!(reconciled(None, 5).0, Outcome::Failed);
    }
}
