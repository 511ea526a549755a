//! The brain against a real Docker engine: a CPU storm building up after a calm period is
//! forecast across the saturation threshold no later than the measured CPU gets there and drives
//! the semaphore to CRITICAL within 15 s of the crossing (the calibrated probability is about
//! being throttled most of the next 30 s, so it waits for the throttling to hold; the forecast
//! publishes the ramp only where it has beaten naive last-value); a leaking `--memory 64m` container that takes over a minute to fill
//! its limit gets a time-to-limit, goes CRITICAL at least a quarter of its fill time before the
//! engine reports its OOM kill, and reaches ≥ 85 % three ticks running (what healing waits for)
//! before it; calm containers next to them stay LOW throughout.
//!
//! The brain's warm-up is shortened to 15 samples (`brain.warmup_samples`, and the anomaly
//! detector's) so the calm period before each fault can be short. Lead times are printed
//! (`--nocapture`).

mod common;

use app::wire::RiskLevel;
use common::*;
use dockerpulse::config::Config;
use dockerpulse::serve::Running;
use dockerpulse::store::live::HistoryPoint;
use std::time::Duration;

/// These tests burn CPU and time faults: run them one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WARMUP: usize = 15;

fn config() -> Config {
    let mut cfg = test_config();
    cfg.brain.warmup_samples = WARMUP;
    cfg.brain.anomaly.warmup_samples = WARMUP;
    cfg
}

/// A calm container: wakes up every 5 s to write a file.
const CALM: [&str; 3] = ["sh", "-c", "while true; do date > /tmp/now; sleep 5; done"];

/// What the live store holds about one container: its history, the labels of its engine events
/// with their times, and its CPU quota.
#[derive(Clone, Debug, Default)]
struct Seen {
    history: Vec<HistoryPoint>,
    events: Vec<(i64, String)>,
    quota: Option<f64>,
}

fn seen(running: &Running, name: &str) -> Option<Seen> {
    let live = running.state.live.read();
    let c = live.find(name).ok()?;
    Some(Seen {
        history: c.history.iter().collect(),
        events: c.events.iter().map(|e| (e.ts_ms, e.kind.label())).collect(),
        quota: c.info.cpu_quota_pct,
    })
}

fn assert_calm(s: &Seen, name: &str) {
    let worst = s
        .history
        .iter()
        .filter_map(|p| p.failure_probability)
        .fold(0.0, f64::max);
    eprintln!(
        "{name}: {} samples, worst failure probability {worst:.1} %",
        s.history.len()
    );
    assert!(s.history.len() >= 30, "{name}: too few samples");
    assert!(
        s.history
            .iter()
            .all(|p| p.level.is_none_or(|l| l == RiskLevel::Low)),
        "{name} left LOW (worst {worst:.1} %)"
    );
}

/// The third of the first three consecutive samples at ≥ 85 %.
fn critical_streak(h: &[HistoryPoint]) -> Option<usize> {
    let mut run = 0;
    for (i, p) in h.iter().enumerate() {
        run = if p.failure_probability.unwrap_or(0.0) >= 85.0 {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_cpu_storm_goes_critical_soon_after_it_saturates() {
    let _serial = SERIAL.lock().await;
    if !engine_available("building_cpu_storm_goes_critical_soon_after_it_saturates") {
        return;
    }
    let running = dockerpulse::serve::start(config()).await.expect("starts");
    // Calm for 25 s, then a storm building up over 20 s (busy 5 %, 10 %, … of each second) to
    // one core's worth of work, pinned at the 50 % quota.
    let burner = TestContainer::run(
        "storm",
        &["--cpus", "0.5"],
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; sleep 25; i=1; while [ $i -le 20 ]; do yes >/dev/null & \
             p=$!; usleep $((i*50000)); kill $p; usleep $(((20-i)*50000)); i=$((i+1)); done; \
             exec yes >/dev/null",
        ],
    );
    let calm = TestContainer::run("storm-calm", &["--cpus", "0.5"], &CALM);

    // Until CRITICAL and ten samples past the measured crossing (or 40 s past the storm's full
    // strength on a loaded host, where the measured CPU may stay short of the threshold).
    let done = eventually(Duration::from_secs(120), || async {
        let s = seen(&running, &burner.name)?;
        let thr = 0.95 * s.quota?;
        let critical = s
            .history
            .iter()
            .any(|p| p.level == Some(RiskLevel::Critical));
        let measured = s.history.iter().position(|p| p.sample.cpu_pct >= thr);
        let enough = match measured {
            Some(m) => s.history.len() >= m + 10,
            None => s.history.len() >= 25 + 20 + 40,
        };
        (critical && enough).then_some(s)
    })
    .await;
    let (s, _) = done.expect("the storm goes CRITICAL within two minutes");
    let thr = 0.95 * s.quota.expect("a CPU quota");
    let h = &s.history;
    let f = h
        .iter()
        .position(|p| p.cpu_forecast.is_some_and(|v| v >= thr))
        .expect("the forecast crosses the threshold");
    let c = h
        .iter()
        .position(|p| p.level == Some(RiskLevel::Critical))
        .expect("CRITICAL");
    let at = |i: usize| h[i].sample.ts_ms;
    match h.iter().position(|p| p.sample.cpu_pct >= thr) {
        Some(m) => {
            eprintln!(
                "storm: forecast ≥ {thr:.1} % {:.1} s before the measured CPU, CRITICAL {:.1} s \
                 after it (measured crosses {:.0} s after the container started)",
                (at(m) - at(f)) as f64 / 1000.0,
                (at(c) - at(m)) as f64 / 1000.0,
                (at(m) - at(0)) as f64 / 1000.0
            );
            assert!(f <= m, "forecast crosses at sample {f}, measured at {m}");
            assert!(
                at(c) - at(m) <= 15_000,
                "CRITICAL at sample {c}, measured crosses at {m}"
            );
        }
        None => eprintln!(
            "storm: the loaded host kept the measured CPU under {thr:.1} % (max {:.1} %); \
             forecast crossed at {:.0} s, CRITICAL at {:.0} s",
            h.iter().map(|p| p.sample.cpu_pct).fold(0.0, f64::max),
            (at(f) - at(0)) as f64 / 1000.0,
            (at(c) - at(0)) as f64 / 1000.0
        ),
    }
    // Calm before the storm.
    let ramp_start = h
        .iter()
        .position(|p| p.sample.cpu_pct >= 2.0)
        .expect("the storm starts");
    assert!(
        h[..ramp_start]
            .iter()
            .all(|p| p.level.is_none_or(|l| l == RiskLevel::Low)),
        "not LOW before the storm"
    );
    assert_calm(&seen(&running, &calm.name).expect("calm tracked"), "calm");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leak_gets_a_time_to_limit_and_goes_critical_before_the_oom_kill() {
    let _serial = SERIAL.lock().await;
    if !engine_available("leak_gets_a_time_to_limit_and_goes_critical_before_the_oom_kill") {
        return;
    }
    let running = dockerpulse::serve::start(config()).await.expect("starts");
    // Calm for 20 s, then +0.75 MiB/s until the kernel OOM-kills it (~80 s later).
    let leak = TestContainer::run(
        "leak",
        &["--memory", "64m", "--memory-swap", "64m"],
        &[
            "sh",
            "-c",
            "sleep 20; exec busybox awk 'BEGIN{ for(i=0;;i++){ a[i]=sprintf(\"%786432s\", i); \
             system(\"sleep 1\") } }'",
        ],
    );
    let calm = TestContainer::run("leak-calm", &["--memory", "64m"], &CALM);

    // Keep the newest view: the container's history stops when the kernel kills it.
    let mut last = Seen::default();
    let done = eventually(Duration::from_secs(180), || {
        if let Some(s) = seen(&running, &leak.name) {
            last = s;
        }
        let oom = last
            .events
            .iter()
            .find(|(_, e)| e == "oom")
            .map(|(t, _)| *t);
        std::future::ready(oom)
    })
    .await;
    let (oom, _) = done.expect("the engine reports the OOM kill within two minutes");
    let h: Vec<HistoryPoint> = last
        .history
        .iter()
        .copied()
        .filter(|p| p.sample.ts_ms <= oom)
        .collect();
    let before = |i: usize| (oom - h[i].sample.ts_ms) as f64 / 1000.0;
    let ttl = h
        .iter()
        .position(|p| p.time_to_limit_s.is_some())
        .expect("a time-to-limit before the OOM kill");
    let medium = h
        .iter()
        .position(|p| p.level >= Some(RiskLevel::Medium))
        .expect("MEDIUM before the OOM kill");
    let streak = critical_streak(&h).expect("three ticks at ≥ 85 % before the OOM kill");
    let critical = h
        .iter()
        .position(|p| p.level == Some(RiskLevel::Critical))
        .expect("CRITICAL before the OOM kill");
    // The fill began at the last sample within 5 % (of the way to the limit) of the lowest.
    let limit = h
        .iter()
        .map(|p| p.sample.mem_limit_bytes)
        .max()
        .unwrap_or(0) as f64;
    let low = h.iter().map(|p| p.sample.mem_bytes).min().unwrap_or(0) as f64;
    let begin = h
        .iter()
        .rposition(|p| (p.sample.mem_bytes as f64) <= low + 0.05 * (limit - low))
        .expect("a start of the climb");
    let fill = before(begin);
    eprintln!(
        "leak: filled in {fill:.0} s; time-to-limit {:.1} s before the OOM kill, MEDIUM {:.1} s \
         before, CRITICAL {:.1} s before ({:.0} % of the fill), third tick at ≥ 85 % {:.1} s before",
        before(ttl),
        before(medium),
        before(critical),
        100.0 * before(critical) / fill,
        before(streak)
    );
    assert!(fill >= 60.0, "the leak filled in {fill:.0} s");
    assert!(before(critical) >= 0.25 * fill, "CRITICAL too late");
    assert!(before(streak) >= 5.0, "too little lead for healing");
    assert!(ttl <= medium && medium <= critical && critical <= streak);
    assert!(
        h[..ttl]
            .iter()
            .all(|p| p.level.is_none_or(|l| l == RiskLevel::Low)),
        "not LOW before the leak"
    );
    assert_calm(&seen(&running, &calm.name).expect("calm tracked"), "calm");
    running.stop().await;
}
