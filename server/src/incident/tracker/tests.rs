//! The tracker's tests: opening, peaking and closing on assessments; deaths, stops and OOM kills;
//! containers that stop, vanish or are removed.

use super::*;
use std::collections::HashMap;

/// The incident tests' assessment (level, probability and one reason), under a short name.
use crate::incident::tests::assessed as a;

fn ids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("inc-{n}")
    }
}

#[test]
fn critical_opens_peaks_and_low_for_a_while_closes() {
    let mut t = Tracker::new(IncidentConfig::default());
    let mut new_id = ids();
    assert!(t
        .observe("c", "web", &a(0, RiskLevel::Medium, 50.0), &mut new_id)
        .is_empty());
    let ch = t.observe("c", "web", &a(1000, RiskLevel::Critical, 90.0), &mut new_id);
    assert!(matches!(&ch[0], Change::EnteredCritical { .. }));
    assert!(matches!(&ch[1], Change::Opened(o) if o.id == "inc-1"));
    let ch = t.observe("c", "web", &a(2000, RiskLevel::Critical, 97.0), &mut new_id);
    assert!(matches!(&ch[0], Change::Peaked(o) if o.peak_probability == 97.0));
    // MEDIUM does not count as calm; LOW for 60 s closes.
    t.observe("c", "web", &a(3000, RiskLevel::Medium, 40.0), &mut new_id);
    let mut closed = None;
    for s in 4..=70 {
        for c in t.observe("c", "web", &a(s * 1000, RiskLevel::Low, 5.0), &mut new_id) {
            if let Change::Closed { closed_ms, .. } = c {
                closed = Some(closed_ms);
            }
        }
    }
    assert_eq!(closed, Some(64_000));
    assert!(t.open_for("c").is_none());
}

#[test]
fn re_entering_critical_is_counted_each_time() {
    let mut t = Tracker::new(IncidentConfig::default());
    let mut new_id = ids();
    let mut entries = 0;
    for (i, lvl) in [
        RiskLevel::Critical,
        RiskLevel::Critical,
        RiskLevel::Medium,
        RiskLevel::Critical,
    ]
    .into_iter()
    .enumerate()
    {
        entries += t
            .observe("c", "web", &a(i as i64 * 1000, lvl, 90.0), &mut new_id)
            .iter()
            .filter(|c| matches!(c, Change::EnteredCritical { .. }))
            .count();
    }
    assert_eq!(entries, 2);
}

#[test]
fn oom_and_unexplained_deaths_open_incidents_but_stops_do_not() {
    let mut t = Tracker::new(IncidentConfig::default());
    let mut new_id = ids();
    let ch = t.on_event("c", "web", 0, &LifecycleKind::Oom, &mut new_id);
    assert!(matches!(&ch[0], Change::Opened(o) if o.trigger == Trigger::OomKilled));

    // docker stop: die (143) then stop → no incident.
    t.on_event(
        "d",
        "db",
        0,
        &LifecycleKind::Die {
            exit_code: Some(143),
        },
        &mut new_id,
    );
    t.on_event("d", "db", 10, &LifecycleKind::Stop, &mut new_id);
    assert!(t.flush_deaths("d", 5000, &mut new_id).is_empty());

    // A crash: die (1), nothing else → incident after the grace period.
    t.on_event(
        "e",
        "api",
        0,
        &LifecycleKind::Die { exit_code: Some(1) },
        &mut new_id,
    );
    assert!(t.flush_deaths("e", 100, &mut new_id).is_empty());
    let ch = t.flush_deaths("e", 600, &mut new_id);
    assert!(
        matches!(&ch[0], Change::Opened(o) if o.trigger == Trigger::Died { exit_code: Some(1) })
    );

    // A clean exit is not an incident.
    t.on_event(
        "f",
        "job",
        0,
        &LifecycleKind::Die { exit_code: Some(0) },
        &mut new_id,
    );
    assert!(t.flush_deaths("f", 5000, &mut new_id).is_empty());
}

#[test]
fn a_stopped_or_vanished_container_closes_its_incident_after_a_while() {
    let mut t = Tracker::new(IncidentConfig::default());
    let mut new_id = ids();
    t.on_event("c", "web", 0, &LifecycleKind::Oom, &mut new_id);
    t.on_event("d", "db", 0, &LifecycleKind::Oom, &mut new_id);
    let fleet = HashMap::from([("c".to_string(), false)]); // c exited, d gone
    let running = |id: &str| fleet.get(id).copied();
    assert!(t.sweep(1_000, running).is_empty(), "not at once");
    let closed = t.sweep(61_000, running);
    let whys: Vec<String> = closed
        .iter()
        .filter_map(|c| match c {
            Change::Closed { why, .. } => Some(why.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(closed.len(), 2, "{closed:?}");
    assert!(whys.iter().any(|w| w.starts_with("container stopped")));
    assert!(whys.iter().any(|w| w.starts_with("container gone")));
    // A container that comes back in time keeps its incident.
    t.on_event("e", "api", 0, &LifecycleKind::Oom, &mut new_id);
    t.sweep(1_000, |id: &str| (id == "e").then_some(false));
    assert!(t
        .sweep(61_000, |id: &str| (id == "e").then_some(true))
        .is_empty());
    assert!(t.open_for("e").is_some());
}

#[test]
fn removal_closes_the_open_incident() {
    let mut t = Tracker::new(IncidentConfig::default());
    let mut new_id = ids();
    t.on_event("c", "web", 0, &LifecycleKind::Oom, &mut new_id);
    let ch = t.on_event("c", "web", 5, &LifecycleKind::Destroy, &mut new_id);
    assert!(matches!(&ch[0], Change::Closed { why, .. } if why == "container removed"));
}
