//! Scenario tests of [`ContainerBrain`]: the behaviours the issue asks for, end to end.

use super::*;

const MIB: f64 = 1024.0 * 1024.0;

fn obs(ts_ms: i64, cpu: f64) -> Observation {
    Observation {
        ts_ms,
        cpu_pct: cpu,
        cpu_capacity_pct: 100.0,
        cpu_quota: true,
        mem_bytes: 100.0 * MIB,
        mem_limit_bytes: Some(512.0 * MIB),
        net_bps: 10_000.0,
        pids: 12.0,
        restarts: 0,
        oom_kills: 0,
    }
}

use super::test_noise::noise;

fn run(
    brain: &mut ContainerBrain,
    n: usize,
    mut f: impl FnMut(usize) -> Observation,
) -> Vec<Assessment> {
    (0..n).map(|i| brain.observe(&f(i))).collect()
}

#[test]
fn calm_container_stays_low() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let mut s = 1;
    let out = run(&mut b, 600, |i| obs(i as i64 * 1000, 2.0 + noise(&mut s)));
    for a in &out[30..] {
        assert_eq!(a.level, RiskLevel::Low, "{a:?}");
        assert!(a.failure_probability < 10.0, "{a:?}");
    }
}

#[test]
fn steady_moderately_busy_container_stays_low() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let mut s = 2;
    let out = run(&mut b, 900, |i| {
        obs(i as i64 * 1000, 55.0 + 20.0 * noise(&mut s))
    });
    let worst = out[30..]
        .iter()
        .map(|a| a.failure_probability)
        .fold(0.0, f64::max);
    assert!(
        out[30..].iter().all(|a| a.level == RiskLevel::Low),
        "worst {worst}"
    );
}

#[test]
fn cpu_pinned_at_quota_with_rising_forecast_reaches_85() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let mut s = 3;
    let out = run(&mut b, 400, |i| {
        let cpu = if i < 300 {
            30.0 + 4.0 * noise(&mut s)
        } else {
            (30.0 + (i - 300) as f64 * 2.0).min(100.0) - 0.5 * noise(&mut s).abs()
        };
        obs(i as i64 * 1000, cpu)
    });
    let last = out.last().expect("assessments");
    assert!(last.failure_probability >= 85.0, "{last:?}");
    assert_eq!(last.level, RiskLevel::Critical);
    assert!(last.reasons[0].text.starts_with("CPU forecast"), "{last:?}");
}

#[test]
fn memory_leak_escalates_as_time_to_limit_shrinks() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let limit = 64.0 * MIB;
    let mut s = 4;
    // A slow leak from 20 MiB at 0.2 MiB/s: the limit is reached at i = 220.
    let out = run(&mut b, 225, |i| {
        let mut o = obs(i as i64 * 1000, 10.0 + noise(&mut s));
        o.mem_bytes = 20.0 * MIB + i as f64 * 0.2 * MIB + 0.05 * MIB * noise(&mut s);
        o.mem_limit_bytes = Some(limit);
        o
    });
    let at = |i: usize| &out[i];
    // ~100 s from the limit: a time-to-limit, still LOW.
    let a = at(120);
    let ttl = a.time_to_limit_s.expect("time to limit");
    assert!((ttl - 100.0).abs() < 10.0, "{ttl}");
    assert_eq!(a.level, RiskLevel::Low, "{a:?}");
    // CRITICAL at least a quarter of the 220-s fill before the limit, and until it.
    let critical = out.iter().position(|a| a.level == RiskLevel::Critical);
    let critical = critical.expect("CRITICAL");
    assert!((130..=165).contains(&critical), "CRITICAL at {critical}");
    assert!(out[critical..]
        .iter()
        .all(|a| a.level == RiskLevel::Critical));
    let last = out.last().expect("assessment");
    assert!(last.time_to_limit_s.is_some_and(|t| t < 10.0), "{last:?}");
    assert!(last.failure_probability >= 85.0, "{last:?}");
    assert!(
        at(critical).reasons[0].text.contains("64.0 MiB limit in ~"),
        "{:?}",
        at(critical)
    );
}

#[test]
fn memory_forecast_is_published_within_the_limit() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let limit = 64.0 * MIB;
    // A fast leak (1 MiB/s) to 1 MiB short of the limit: the line points past it within the
    // forecast's horizon, what is published stops at it.
    let out = run(&mut b, 64, |i| {
        let mut o = obs(i as i64 * 1000, 10.0);
        o.mem_bytes = (i as f64 * MIB).min(63.0 * MIB);
        o.mem_limit_bytes = Some(limit);
        o
    });
    let last = out.last().expect("assessment");
    assert!(last.time_to_limit_s.is_some(), "{last:?}");
    let m = last.mem;
    assert!(
        m.value <= limit && m.hi80 <= limit && m.hi95 <= limit,
        "{m:?}"
    );
    assert!(m.lo95 <= m.lo80 && m.lo80 <= m.value, "{m:?}");
    // Held at it, not short of it: the forecast did point beyond the limit.
    assert_eq!(m.hi95, limit, "{m:?}");
}

#[test]
fn noisy_memory_and_a_slow_drift_stay_low() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let limit = 256.0 * MIB;
    let mut s = 11;
    // 900 s of ±8 MiB noise around 150 MiB, drifting up 0.02 MiB/s (~1.5 h to the limit).
    let out = run(&mut b, 900, |i| {
        let mut o = obs(i as i64 * 1000, 10.0 + noise(&mut s));
        o.mem_bytes = 150.0 * MIB + i as f64 * 0.02 * MIB + 16.0 * MIB * noise(&mut s);
        o.mem_limit_bytes = Some(limit);
        o
    });
    let worst = out
        .iter()
        .map(|a| a.failure_probability)
        .fold(0.0, f64::max);
    assert!(
        out.iter().all(|a| a.level == RiskLevel::Low),
        "worst {worst}"
    );
}

#[test]
fn restarts_and_oom_kills_raise_risk_and_expire() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    run(&mut b, 100, |i| obs(i as i64 * 1000, 5.0));
    // A crash loop: restarted twice within the window (the fitted mapping: a container that
    // keeps exiting is about to exit again).
    let mut o = obs(100_000, 5.0);
    o.restarts = 2;
    let a = b.observe(&o);
    assert!(a.failure_probability >= 85.0, "{a:?}");
    let mut o = obs(101_000, 5.0);
    o.oom_kills = 1;
    let a = b.observe(&o);
    assert!(a
        .reasons
        .iter()
        .any(|r| r.text == "restarted 2× in the last 5 min"));
    assert!(a
        .reasons
        .iter()
        .any(|r| r.text == "OOM-killed 1× in the last 5 min"));
    let a = b.observe(&obs(101_000 + 301_000, 5.0));
    assert!(a.failure_probability < 10.0, "{a:?}");
}

#[test]
fn warm_up_raises_no_alarm() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let mut o = obs(0, 100.0);
    o.restarts = 5;
    let a = b.observe(&o);
    assert!(a.warming_up);
    assert_eq!(a.level, RiskLevel::Low);
    assert_eq!(a.failure_probability, 0.0);
}

#[test]
fn cpu_spike_is_reported_in_sigmas() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let mut s = 5;
    run(&mut b, 400, |i| {
        obs(i as i64 * 1000, 20.0 + 4.0 * noise(&mut s))
    });
    let a = b.observe(&obs(400_000, 70.0));
    assert!(a.z.cpu > 6.0, "{a:?}");
    assert!(
        a.reasons
            .iter()
            .any(|r| r.text.starts_with("CPU ") && r.text.ends_with("above its baseline")),
        "{a:?}"
    );
}

#[test]
fn hostile_streams_never_panic_and_stay_finite() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let weird = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -5.0,
        0.0,
        1e300,
        f64::MIN_POSITIVE,
        7.0,
    ];
    let stamps = [0, 0, -5_000, 1_000, i64::MAX, i64::MIN, 2_000, i64::MAX, 0];
    for (k, ts) in stamps.iter().cycle().take(200).enumerate() {
        let w = weird[k % weird.len()];
        let o = Observation {
            ts_ms: *ts,
            cpu_pct: w,
            cpu_capacity_pct: weird[(k + 1) % weird.len()],
            cpu_quota: k % 2 == 0,
            mem_bytes: weird[(k + 2) % weird.len()],
            mem_limit_bytes: Some(weird[(k + 3) % weird.len()]),
            net_bps: w,
            pids: weird[(k + 5) % weird.len()],
            restarts: u32::MAX,
            oom_kills: (k as u32) % 3,
        };
        let a = b.observe(&o);
        let nums = [
            a.failure_probability,
            a.cpu.value,
            a.cpu.lo95,
            a.cpu.hi95,
            a.mem.value,
            a.mem.hi80,
            a.z.cpu,
            a.z.mem,
            a.z.net,
            a.z.pids,
        ];
        assert!(nums.iter().all(|v| v.is_finite()), "{a:?}");
        assert!((0.0..=100.0).contains(&a.failure_probability));
        assert!(a.reasons.iter().all(|r| r.weight.is_finite()));
    }
}

#[test]
fn same_stream_gives_same_assessments() {
    let cfg = BrainConfig::default();
    let mut s1 = 9;
    let mut s2 = 9;
    let a = run(&mut ContainerBrain::new(&cfg), 300, |i| {
        obs(i as i64 * 1500, 40.0 + 30.0 * noise(&mut s1))
    });
    let b = run(&mut ContainerBrain::new(&cfg), 300, |i| {
        obs(i as i64 * 1500, 40.0 + 30.0 * noise(&mut s2))
    });
    assert_eq!(a, b);
}

#[test]
fn irregular_timestamps_gaps_and_counter_resets_are_handled() {
    let mut b = ContainerBrain::new(&BrainConfig::default());
    let mut t = 0i64;
    for i in 0..500 {
        t += [1000, 0, 3000, 250, 600_000][i % 5];
        let mut o = obs(t, 20.0);
        // Memory drops to almost nothing after a restart, then climbs again.
        o.mem_bytes = if i % 100 < 3 { 1.0 * MIB } else { 100.0 * MIB };
        o.restarts = u32::from(i % 100 == 0);
        let a = b.observe(&o);
        assert!(a.failure_probability.is_finite());
        assert!(a.cpu.hi95 >= a.cpu.lo95);
    }
}

#[test]
fn config_round_trips_through_toml_like_json_with_defaults() {
    let cfg: BrainConfig = serde_json::from_str(r#"{"horizon_s": 5.0}"#).expect("parse");
    assert_eq!(cfg.horizon_s, 5.0);
    assert_eq!(cfg.window_s, 60.0);
    let back: BrainConfig =
        serde_json::from_str(&serde_json::to_string(&cfg).expect("ser")).expect("de");
    assert_eq!(back, cfg);
}
