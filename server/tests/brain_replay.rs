//! Replays of real recorded traces (`server/tests/data/traces/`, see its README) through the
//! brain, with the default configuration: fast, no engine. The checks are the product's
//! promises on real data: the CPU forecast leads a building storm across the saturation
//! threshold, a leak gets a time-to-limit and goes CRITICAL for three ticks before its OOM kill,
//! calm and bursty-but-healthy containers stay LOW. Lead times are printed (`--nocapture`).

use app::wire::{Assessment, RiskLevel};
use dockerpulse::brain::{BrainConfig, Observation};
use dockerpulse::eval::traces::{read_trace_dir, replay, TraceSet};
use std::path::Path;

/// The traces were recorded on a 2-core host (only matters for containers without a quota).
const HOST_CPUS: u32 = 2;

fn set(name: &str) -> TraceSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/traces")
        .join(name);
    read_trace_dir(&dir).expect("trace directory reads")
}

fn run(set: &TraceSet, name: &str) -> Vec<(Observation, Assessment)> {
    replay(set, name, &BrainConfig::default(), HOST_CPUS).expect("trace exists")
}

/// Prints a replay, one line per sample (for `--nocapture` when investigating).
fn dump(name: &str, out: &[(Observation, Assessment)]) {
    if std::env::var("DP_DUMP").is_err() {
        return;
    }
    let t0 = out.first().map_or(0, |(o, _)| o.ts_ms);
    for (o, a) in out {
        eprintln!(
            "{name} {:>6.1}s cpu {:>6.1} fc {:>6.1} [{:>6.1},{:>6.1}] mem {:>5.1} MiB ttl {:>6} p {:>5.1} {:?} {}",
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

#[test]
fn dump_all() {
    for (dir, names) in [
        ("cpu-storm", &["burner-step", "burner-ramp", "calm"][..]),
        (
            "memory-leak",
            &["leak-fast", "leak-slow", "bursty", "calm-noisy"][..],
        ),
    ] {
        let s = set(dir);
        for n in names {
            dump(n, &run(&s, n));
        }
    }
}

/// Index of the first sample at or after `from` where `f` holds.
fn first(
    out: &[(Observation, Assessment)],
    from: usize,
    f: impl Fn(&Observation, &Assessment) -> bool,
) -> Option<usize> {
    out.iter()
        .skip(from)
        .position(|(o, a)| f(o, a))
        .map(|i| i + from)
}

/// CPU storm metrics: (forecast crossing idx, measured crossing idx, first CRITICAL idx).
fn storm(out: &[(Observation, Assessment)]) -> (Option<usize>, Option<usize>, Option<usize>) {
    let thr = |o: &Observation| 0.95 * o.cpu_capacity_pct;
    (
        first(out, 0, |o, a| a.cpu.value >= thr(o)),
        first(out, 0, |o, _| o.cpu_pct >= thr(o)),
        first(out, 0, |_, a| a.level == RiskLevel::Critical),
    )
}

/// Index of the third of three consecutive samples at ≥ 85 %.
fn critical_streak(out: &[(Observation, Assessment)]) -> Option<usize> {
    let mut run = 0;
    for (i, (_, a)) in out.iter().enumerate() {
        run = if a.failure_probability >= 85.0 {
            run + 1
        } else {
            0
        };
        if run == 3 {
            return Some(i);
        }
    }
    None
}

#[test]
fn metrics() {
    let s = set("cpu-storm");
    for n in ["burner-step", "burner-ramp"] {
        let out = run(&s, n);
        let (f, m, c) = storm(&out);
        let ts = |i: Option<usize>| i.map(|i| out[i].0.ts_ms);
        eprintln!(
            "{n}: forecast crosses at {f:?}, measured at {m:?}, CRITICAL at {c:?}; forecast lead {:?} ms, critical lead {:?} ms",
            ts(m).zip(ts(f)).map(|(a, b)| a - b),
            ts(m).zip(ts(c)).map(|(a, b)| a - b)
        );
    }
    let s2 = set("memory-leak");
    for n in ["leak-fast", "leak-slow"] {
        let out = run(&s2, n);
        let oom = s2.first_event(n, "oom").expect("oom");
        let ttl = first(&out, 30, |_, a| a.time_to_limit_s.is_some());
        let med = first(&out, 0, |_, a| a.level >= RiskLevel::Medium);
        let streak = critical_streak(&out);
        let lead = |i: Option<usize>| i.map(|i| (oom - out[i].0.ts_ms) as f64 / 1000.0);
        eprintln!(
            "{n}: ttl from {:?} s before OOM, MEDIUM {:?} s before, 3×≥85 % {:?} s before",
            lead(ttl),
            lead(med),
            lead(streak)
        );
    }
    for (set, n) in [(&s, "calm"), (&s2, "bursty"), (&s2, "calm-noisy")] {
        let out = run(set, n);
        let worst = out
            .iter()
            .map(|(_, a)| a.failure_probability)
            .fold(0.0, f64::max);
        let lvl = out.iter().map(|(_, a)| a.level).max();
        eprintln!("{n}: worst probability {worst:.1}, highest level {lvl:?}");
    }
}

/// The demo fleet through the pipeline's assessor: per service, `(cpu %, quota, assessment)`.
fn demo(
    seed: u64,
    ticks: usize,
) -> std::collections::BTreeMap<String, Vec<(f64, f64, Assessment)>> {
    use dockerpulse::collect::demo::DemoFleet;
    use dockerpulse::pipeline::assessor::Assessor;
    let mut fleet = DemoFleet::new(seed, std::time::Duration::from_secs(1), 0);
    let mut assessor = Assessor::new(BrainConfig::default());
    assessor.set_host_cpus(2);
    let mut out: std::collections::BTreeMap<String, Vec<(f64, f64, Assessment)>> =
        Default::default();
    for t in 0..ticks {
        let (readings, events) = fleet.step(t as i64 * 1000);
        for e in &events {
            assessor.on_event(e);
        }
        for r in readings {
            if let Some(s) = r.sample {
                let a = assessor.assess(&r.info, &s);
                out.entry(r.info.name.clone()).or_default().push((
                    s.cpu_pct,
                    r.info.cpu_quota_pct.unwrap_or(200.0),
                    a,
                ));
            }
        }
    }
    out
}

#[test]
fn demo_metrics() {
    for seed in [0xD0C4E4u64, 1, 2, 3] {
        let runs = demo(seed, 1200);
        let flask = &runs["flask-api"];
        // Storm episodes: measured crossings of 95 % of the quota after ≥ 20 s below it.
        let mut below = 0;
        for (i, (cpu, q, _)) in flask.iter().enumerate() {
            if *cpu >= 0.95 * q {
                if below >= 20 {
                    let f = (i.saturating_sub(20)..=i).find(|&j| flask[j].2.cpu.value >= 0.95 * q);
                    let c = (i.saturating_sub(20)..flask.len())
                        .find(|&j| flask[j].2.level == RiskLevel::Critical);
                    eprintln!("seed {seed}: flask storm crosses at {i}: forecast lead {:?} s, CRITICAL lead {:?} s", f.map(|f| i as i64 - f as i64), c.map(|c| i as i64 - c as i64));
                }
                below = 0;
            } else {
                below += 1;
            }
        }
        for (name, r) in &runs {
            let worst = r
                .iter()
                .skip(30)
                .map(|(_, _, a)| a.failure_probability)
                .fold(0.0, f64::max);
            let lvl = r.iter().map(|(_, _, a)| a.level).max();
            let crit = r
                .iter()
                .filter(|(_, _, a)| a.level == RiskLevel::Critical)
                .count();
            eprintln!(
                "seed {seed}: {name}: worst {worst:.1}, highest {lvl:?}, critical ticks {crit}"
            );
        }
    }
}

#[test]
fn demo_dump() {
    let Ok(range) = std::env::var("DP_DEMO_DUMP") else {
        return;
    };
    let (a, b) = range.split_once("..").expect("a..b");
    let (a, b): (usize, usize) = (a.parse().expect("a"), b.parse().expect("b"));
    let runs = demo(0xD0C4E4, b + 1);
    let svc = std::env::var("DP_DEMO_SVC").unwrap_or_else(|_| "flask-api".into());
    for (i, (cpu, _, x)) in runs[&svc].iter().enumerate().take(b + 1).skip(a) {
        eprintln!(
            "{i:>4} cpu {cpu:>6.1} fc {:>6.1} [{:>6.1},{:>6.1}] p {:>5.1} {:?} {}",
            x.cpu.value,
            x.cpu.lo80,
            x.cpu.hi80,
            x.failure_probability,
            x.level,
            x.reasons.first().map_or("", |r| r.text.as_str())
        );
    }
}
