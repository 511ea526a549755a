//! Replays of real recorded traces (`server/tests/data/traces/`, see its README) and of the demo
//! fleet through the brain, with the default configuration (30-sample warm-up): fast, no engine.
//! The checks are the product's promises: the CPU forecast is never behind a building storm (it
//! publishes a ramp only where that has beaten naive last-value) and the semaphore goes CRITICAL
//! once the throttling holds; a leak gets a time-to-limit, goes MEDIUM
//! well before and CRITICAL (≥ 85 % three ticks running, what healing waits for) before its OOM
//! kill; calm, noisy and bursty-but-healthy containers stay LOW. Lead times are printed
//! (`cargo test --test brain_replay -- --nocapture`; `DP_DUMP=1` prints every sample).

use app::wire::{Assessment, RiskLevel};
use dockerpulse::brain::{BrainConfig, Observation};
use dockerpulse::eval::traces::{read_trace_dir, replay, TraceSet};
use std::collections::BTreeMap;
use std::path::Path;

/// The traces were recorded on a 2-core host (only matters for containers without a quota).
const HOST_CPUS: u32 = 2;

type Replay = Vec<(Observation, Assessment)>;

fn set(name: &str) -> TraceSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/traces")
        .join(name);
    read_trace_dir(&dir).expect("trace directory reads")
}

fn run(set: &TraceSet, name: &str) -> Replay {
    let out = replay(set, name, &BrainConfig::default(), HOST_CPUS).expect("trace exists");
    dump(name, &out);
    out
}

/// With `DP_DUMP` set, prints a replay one line per sample.
fn dump(name: &str, out: &Replay) {
    if std::env::var("DP_DUMP").is_err() {
        return;
    }
    let t0 = out.first().map_or(0, |(o, _)| o.ts_ms);
    for (o, a) in out {
        eprintln!(
            "{name} {:>6.1}s cpu {:>6.1} fc {:>6.1} [{:>6.1},{:>6.1}] mem {:>5.1} MiB ttl {:>5} \
             p {:>5.1} {:?} {}",
            (o.ts_ms - t0) as f64 / 1000.0,
            o.cpu_pct,
            a.cpu.value,
            a.cpu.lo80,
            a.cpu.hi80,
            o.mem_bytes / 1048576.0,
            a.time_to_limit_s.map_or("-".into(), |t| format!("{t:.0}")),
            a.failure_probability,
            a.level,
            a.reasons.first().map_or("", |r| r.text.as_str())
        );
    }
}

fn first(out: &Replay, f: impl Fn(&Observation, &Assessment) -> bool) -> Option<usize> {
    out.iter().position(|(o, a)| f(o, a))
}

/// The CPU saturation threshold the risk model uses (95 % of the quota).
fn threshold(o: &Observation) -> f64 {
    BrainConfig::default().cpu_saturation_frac * o.cpu_capacity_pct
}

/// `(forecast ≥ threshold, measured ≥ threshold, CRITICAL)`: first sample of each.
fn storm(out: &Replay) -> (usize, usize, usize) {
    let f = first(out, |o, a| a.cpu.value >= threshold(o)).expect("forecast crosses");
    let m = first(out, |o, _| o.cpu_pct >= threshold(o)).expect("measured crosses");
    let c = first(out, |_, a| a.level == RiskLevel::Critical).expect("goes CRITICAL");
    (f, m, c)
}

fn secs(out: &Replay, from: usize, to: usize) -> f64 {
    (out[to].0.ts_ms - out[from].0.ts_ms) as f64 / 1000.0
}

/// The third of the first three consecutive samples at ≥ 85 % (when healing may act).
fn critical_streak(ps: impl Iterator<Item = f64>) -> Option<usize> {
    let mut run = 0;
    for (i, p) in ps.enumerate() {
        run = if p >= 85.0 { run + 1 } else { 0 };
        if run == 3 {
            return Some(i);
        }
    }
    None
}

#[test]
fn building_cpu_storm_is_followed_and_goes_critical_once_it_holds() {
    let out = run(&set("cpu-storm"), "burner-ramp");
    let (f, m, c) = storm(&out);
    let (lead, crit_after) = (secs(&out, f, m), secs(&out, m, c));
    eprintln!(
        "burner-ramp: forecast ≥ 95 % of quota {lead:.1} s before the measured CPU, CRITICAL \
         {crit_after:.1} s after"
    );
    // Never behind the measured CPU; CRITICAL once the throttling holds (the calibrated event is
    // "throttled most of the next 30 s"; leading a ramp lost to the naive guard on real traces).
    assert!(f <= m, "forecast crosses at {f}, measured at {m}");
    assert!(
        crit_after <= 15.0,
        "CRITICAL {crit_after} s after saturation"
    );
    // Calm before the storm: LOW from the end of the warm-up until the ramp begins (~59 s).
    assert!(out[30..58].iter().all(|(_, a)| a.level == RiskLevel::Low));
    // While pinned at the quota the 95 % interval reaches the saturation threshold.
    for (o, a) in &out[m..m + 10] {
        assert!(a.cpu.hi95 >= threshold(o), "{o:?} {a:?}");
    }
}

#[test]
fn cpu_stepping_to_its_quota_is_followed_at_once_and_goes_critical() {
    // `yes` starting at once: the quota is reached within a sample, which no forecast can lead;
    // what matters is that the forecast does not lag below it (the old blend averaged the calm
    // minute in for ~17 s) and the semaphore goes CRITICAL on the first saturated sample.
    let out = run(&set("cpu-storm"), "burner-step");
    let (f, m, c) = storm(&out);
    eprintln!(
        "burner-step: measured saturates at {:.0} s, forecast follows after {:.1} s, CRITICAL \
         after {:.1} s",
        secs(&out, 0, m),
        secs(&out, m, f),
        secs(&out, m, c)
    );
    assert!(f <= m, "forecast crosses at {f}, measured at {m}");
    assert!(
        secs(&out, m, c) <= 15.0,
        "CRITICAL at {c}, measured crosses at {m}"
    );
    assert!(out[30..m - 1]
        .iter()
        .all(|(_, a)| a.level == RiskLevel::Low));
}

#[test]
fn leaks_get_a_time_to_limit_and_go_critical_before_the_oom_kill() {
    let s = set("memory-leak");
    for name in ["leak-fast", "leak-slow"] {
        let out = run(&s, name);
        let oom = s
            .first_event(name, "oom")
            .expect("the trace ends in an OOM kill");
        let before = |i: usize| (oom - out[i].0.ts_ms) as f64 / 1000.0;
        let ttl = first(&out, |_, a| a.time_to_limit_s.is_some()).expect("a time-to-limit");
        let medium = first(&out, |_, a| a.level >= RiskLevel::Medium).expect("MEDIUM");
        let critical = first(&out, |_, a| a.level == RiskLevel::Critical).expect("CRITICAL");
        let streak =
            critical_streak(out.iter().map(|(_, a)| a.failure_probability)).expect("≥ 85 % ×3");
        eprintln!(
            "{name}: time-to-limit {:.0} s before the OOM kill, MEDIUM {:.0} s before, CRITICAL \
             {:.0} s before, third tick at ≥ 85 % {:.0} s before",
            before(ttl),
            before(medium),
            before(critical),
            before(streak)
        );
        assert!(before(ttl) >= 30.0, "{name}: time-to-limit too late");
        assert!(before(medium) >= 30.0, "{name}: MEDIUM too late");
        assert!(before(streak) >= 10.0, "{name}: CRITICAL streak too late");
        // Escalation follows the time-to-limit, not the mere presence of a climb.
        assert!(before(critical) <= 40.0, "{name}: CRITICAL too early");
        let (_, a) = &out[streak];
        assert!(
            a.reasons[0]
                .text
                .starts_with("memory reaches its 64.0 MiB limit in ~"),
            "{a:?}"
        );
        // Calm before the leak.
        assert!(out[30..ttl].iter().all(|(_, a)| a.level == RiskLevel::Low));
    }
}

#[test]
fn calm_noisy_and_bursty_containers_stay_low() {
    let (storm, leak) = (set("cpu-storm"), set("memory-leak"));
    for (s, name) in [(&storm, "calm"), (&leak, "calm-noisy"), (&leak, "bursty")] {
        let out = run(s, name);
        let worst = out
            .iter()
            .map(|(_, a)| a.failure_probability)
            .fold(0.0, f64::max);
        eprintln!("{name}: worst failure probability {worst:.1} %");
        assert!(
            out.iter().all(|(_, a)| a.level == RiskLevel::Low),
            "{name}: worst {worst}"
        );
        // A slow drift may show a time-to-limit, but hours away, not minutes.
        let nearest = out
            .iter()
            .filter_map(|(_, a)| a.time_to_limit_s)
            .fold(f64::INFINITY, f64::min);
        assert!(nearest > 600.0, "{name}: time-to-limit {nearest} s");
    }
}

/// Per service of the demo fleet: `(cpu %, quota %, assessment)` per tick, and OOM-kill ticks.
struct Demo {
    samples: BTreeMap<String, Vec<(f64, f64, Assessment)>>,
    ooms: BTreeMap<String, Vec<usize>>,
}

/// The demo fleet (1 s ticks) through the pipeline's assessor.
fn demo(seed: u64, ticks: usize) -> Demo {
    use dockerpulse::collect::demo::DemoFleet;
    use dockerpulse::collect::LifecycleKind;
    use dockerpulse::pipeline::assessor::Assessor;
    let mut fleet = DemoFleet::new(seed, std::time::Duration::from_secs(1), 0);
    let mut assessor = Assessor::new(BrainConfig::default());
    assessor.set_host_cpus(2);
    let mut d = Demo {
        samples: BTreeMap::new(),
        ooms: BTreeMap::new(),
    };
    for t in 0..ticks {
        let (readings, events) = fleet.step(t as i64 * 1000);
        for e in &events {
            assessor.on_event(e);
            if e.kind == LifecycleKind::Oom {
                let n = d.samples.get(&e.name).map_or(0, Vec::len);
                d.ooms.entry(e.name.clone()).or_default().push(n);
            }
        }
        for r in readings {
            if let Some(s) = r.sample {
                let a = assessor.assess(&r.info, &s);
                let quota = r.info.cpu_quota_pct.unwrap_or(200.0);
                let v = d.samples.entry(r.info.name.clone()).or_default();
                v.push((s.cpu_pct, quota, a));
            }
        }
    }
    d
}

#[test]
fn demo_storms_and_leaks_are_caught_ahead_and_quiet_services_stay_low() {
    for seed in [0xD0C4E4u64, 1, 2] {
        let d = demo(seed, 1000);
        // flask-api storms (a ramp to the quota over ~15 s): every crossing of 95 % after at
        // least 20 s below it and after the warm-up.
        let flask = &d.samples["flask-api"];
        let mut below = 0;
        let mut storms = 0;
        for (i, (cpu, q, _)) in flask.iter().enumerate() {
            if *cpu < 0.95 * q {
                below += 1;
                continue;
            }
            if below >= 20 && i > 40 {
                storms += 1;
                let from = i - 20;
                let f = (from..=i).find(|&j| flask[j].2.cpu.value >= 0.95 * flask[j].1);
                let c = (from..=i).find(|&j| flask[j].2.level == RiskLevel::Critical);
                let lead = |x: Option<usize>| x.map_or(-1, |x| (i - x) as i64);
                eprintln!(
                    "demo seed {seed}: flask-api storm at {i} s: forecast lead {} s, CRITICAL \
                     lead {} s",
                    lead(f),
                    lead(c)
                );
                // The forecast publishes the ramp only where it has beaten naive last-value, so
                // it is never behind the measured CPU but need not lead it; CRITICAL follows the
                // saturation (see docs/brain-figures.md).
                assert!(lead(f) >= 0, "seed {seed} storm at {i}");
            }
            below = 0;
        }
        assert!(storms >= 1, "seed {seed}: no storm after the warm-up");
        // Leaks (node-service, redis): three ticks at ≥ 85 % before each OOM kill.
        for (name, ooms) in &d.ooms {
            let ps: Vec<f64> = d.samples[name]
                .iter()
                .map(|(_, _, a)| a.failure_probability)
                .collect();
            let mut start = 0;
            for &k in ooms {
                let streak = critical_streak(ps[start..k].iter().copied()).map(|s| s + start);
                let lead = streak.map_or(-1, |s| (k - s) as i64);
                eprintln!("demo seed {seed}: {name} OOM kill at {k}: CRITICAL ×3 {lead} s before");
                // The first leak starts during the warm-up; from the second on, the full lead.
                assert!(lead >= 3, "seed {seed}: {name} OOM at {k}");
                start = k;
            }
        }
        for name in ["oracle-db", "nginx", "postgres"] {
            let worst = d.samples[name]
                .iter()
                .map(|(_, _, a)| a.failure_probability)
                .fold(0.0, f64::max);
            assert!(
                d.samples[name]
                    .iter()
                    .all(|(_, _, a)| a.level == RiskLevel::Low),
                "seed {seed}: {name} worst {worst}"
            );
        }
    }
}
