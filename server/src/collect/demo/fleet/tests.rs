//! The simulation's tests: a calm start, the staged incidents, restarts, large fleets and
//! determinism.

use super::*;

fn run(fleet: &mut DemoFleet, ticks: u64) -> Vec<(Vec<Reading>, Vec<LifecycleEvent>)> {
    (0..ticks)
        .map(|i| fleet.step(1_000_000 + i as i64 * 1000))
        .collect()
}

#[test]
fn a_nodes_fleet_has_its_name_in_every_id() {
    let mut fleet = DemoFleet::new(1, Duration::from_secs(1), 0);
    let before: Vec<String> = fleet.services.iter().map(|s| s.id.clone()).collect();
    fleet.name_ids_after("n2");
    for (old, s) in before.iter().zip(&fleet.services) {
        assert_eq!(s.id, old.replacen("sim-", "sim-n2-", 1));
    }
}

#[test]
fn seven_services_all_simulated_and_calm_at_first() {
    let mut fleet = DemoFleet::new(1, Duration::from_secs(1), 0);
    let (readings, events) = fleet.step(0);
    assert_eq!(readings.len(), 7);
    assert!(events.is_empty());
    for r in &readings {
        assert_eq!(
            r.info
                .labels
                .get("dockerpulse.simulated")
                .map(String::as_str),
            Some("true")
        );
        let s = r.sample.expect("running services have samples");
        assert!(
            s.cpu_pct < 50.0 && s.mem_bytes < s.mem_limit_bytes,
            "{}: {s:?}",
            r.info.name
        );
    }
}

#[test]
fn memory_is_reported_in_whole_pages_as_a_cgroup_charges_it() {
    let mut fleet = DemoFleet::with_size(3, Duration::from_secs(1), 0, 40);
    let steps = run(&mut fleet, 200);
    let samples: Vec<_> = steps
        .iter()
        .flat_map(|(r, _)| r.iter().filter_map(|r| r.sample))
        .collect();
    assert!(samples.iter().any(|s| s.mem_bytes > 0));
    for s in &samples {
        assert_eq!(s.mem_bytes % 4096, 0, "{s:?}");
    }
}

#[test]
fn a_cpu_storm_and_an_oom_kill_happen_within_the_first_minutes() {
    let mut fleet = DemoFleet::new(7, Duration::from_secs(1), 0);
    let steps = run(&mut fleet, 120);
    let storm_at = steps.iter().position(|(r, _)| {
        r.iter()
            .any(|r| r.info.name == "flask-api" && r.sample.is_some_and(|s| s.cpu_pct > 90.0))
    });
    assert!(
        storm_at.is_some_and(|t| t < 30),
        "CPU storm within 30 s: {storm_at:?}"
    );
    let oom_at = steps.iter().position(|(_, ev)| {
        ev.iter()
            .any(|e| e.name == "node-service" && e.kind == LifecycleKind::Oom)
    });
    assert!(
        oom_at.is_some_and(|t| t < 120),
        "OOM kill of the leak: {oom_at:?}"
    );
}

#[test]
fn a_restart_ends_the_storm_and_is_reported() {
    let mut fleet = DemoFleet::new(7, Duration::from_secs(1), 0);
    run(&mut fleet, 40);
    let (ok, events) = fleet.apply(&DemoAction::Restart("flask-api".into()), 2_000_000);
    assert!(ok);
    assert_eq!(events[1].kind, LifecycleKind::Restart);
    let after = run(&mut fleet, 10);
    let last = after
        .last()
        .and_then(|(r, _)| r.iter().find(|r| r.info.name == "flask-api").cloned());
    let last = last.expect("flask-api present");
    assert_eq!(last.info.restart_count, 1);
    assert!(last.sample.is_some_and(|s| s.cpu_pct < 60.0), "{last:?}");
    assert!(!fleet.apply(&DemoAction::Restart("nope".into()), 0).0);
}

#[test]
fn large_fleets_replicate_the_services_under_unique_names() {
    let mut fleet = DemoFleet::with_size(1, Duration::from_secs(1), 0, 100);
    let (readings, _) = fleet.step(0);
    assert_eq!(readings.len(), 100);
    let mut names: Vec<&str> = readings.iter().map(|r| r.info.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 100);
    assert!(names.contains(&"nginx-2") && names.contains(&"flask-api"));
}

#[test]
fn same_seed_same_story() {
    let a = run(&mut DemoFleet::new(3, Duration::from_secs(1), 0), 50);
    let b = run(&mut DemoFleet::new(3, Duration::from_secs(1), 0), 50);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0);
    }
}
