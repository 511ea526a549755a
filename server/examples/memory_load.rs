//! Load program: what one container costs in memory once DockerPulse holds a full history.
//!
//! Feeds N simulated containers S seconds of 1 s samples (simulated time: an hour takes seconds)
//! through the same pieces `serve` runs — the brain (`Assessor`, default `[brain]`) and the live
//! store with the history `serve` keeps (`history`, 1 h) — and prints the heap in use per
//! container (glibc's `mallinfo2`, so freed-but-kept memory does not count). Then, on up to 100
//! containers fed the same series again, what the brain's two kinds of per-metric state cost on
//! their own: the four anomaly detectors and the two forecasters (the rest of the brain is the
//! difference).
//!
//! Five workloads: `noise` (default), every field of every sample noisy and slowly varying, the
//! worst case for the history's compression (memory noisy to the byte); `paged`, `noise` with
//! memory in whole 4 KiB pages, as cgroups count it; `real`, the recorded real services of
//! `tests/data/traces/steady` (redis, PostgreSQL, nginx, idle and under their load tools),
//! replayed in a loop, each container from its own offset; `served`, `real` with a busy link
//! added (the lab's containers have no network: receive and send rates around 200 and 50 KiB/s,
//! ±30 % noise each second, synthetic); `climb`, `noise` with memory growing by a page a second
//! (a cache filling, a slow leak): every sample a new maximum, the worst case for the detectors'
//! sliding range.
//!
//!   cargo run --release -p server --example memory_load -- [CONTAINERS=100] [SECONDS=3600] [noise|paged|real|served|climb]

use app::wire::{ContainerInfo, Sample, SourceKind};
use dockerpulse::brain::anomaly::AnomalyDetector;
use dockerpulse::brain::forecast::Forecaster;
use dockerpulse::brain::{BrainConfig, FLOORS};
use dockerpulse::config::Config;
use dockerpulse::eval::traces::trace_files;
use dockerpulse::pipeline::assessor::Assessor;
use dockerpulse::store::history::bits::BitWriter;
use dockerpulse::store::history::point::{PointCoder, LANES};
use dockerpulse::store::history::CHUNK;
use dockerpulse::store::live::LiveStore;

fn heap_in_use() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's counters.
    let info = unsafe { libc::mallinfo2() };
    info.uordblks + info.hblkhd
}

/// The samples fed: container `i`'s at second `t`.
enum Workload {
    Noise,
    Paged,
    Climb,
    /// The real services' samples one after another (each trace's own clock dropped).
    Real(Vec<Sample>),
    /// `Real` with a busy link: the lab's containers have no network (their rates are 0), so
    /// this adds receive and send rates around 200 and 50 KiB/s, ±30 % noise each second.
    Served(Vec<Sample>),
}

impl Workload {
    fn name(&self) -> &'static str {
        match self {
            Workload::Noise => "noise",
            Workload::Paged => "paged",
            Workload::Climb => "climb",
            Workload::Real(_) => "real",
            Workload::Served(_) => "served",
        }
    }

    fn sample(&self, i: usize, t: i64) -> Sample {
        match self {
            Workload::Noise => noisy(i, t),
            Workload::Paged => {
                let s = noisy(i, t);
                Sample {
                    mem_bytes: s.mem_bytes / 4096 * 4096,
                    ..s
                }
            }
            Workload::Climb => Sample {
                mem_bytes: 100_000_000 + 4096 * t as u64,
                ..noisy(i, t)
            },
            Workload::Real(all) => real_at(all, i, t),
            Workload::Served(all) => Sample {
                net_rx_bps: 204_800.0 * (1.0 + 0.6 * (jitter(i, t, 1) - 0.5)),
                net_tx_bps: 51_200.0 * (1.0 + 0.6 * (jitter(i, t, 2) - 0.5)),
                ..real_at(all, i, t)
            },
        }
    }
}

/// Container `i`'s sample at second `t` of the real services.
fn real_at(all: &[Sample], i: usize, t: i64) -> Sample {
    // Offsets 997 samples apart: neighbours are not in step.
    let k = (i * 997 + t as usize) % all.len();
    Sample {
        ts_ms: 1_800_000_000_000 + t * 1000,
        ..all[k]
    }
}

/// Every sample of the steady real-service traces, trace after trace.
fn real_samples() -> Vec<Sample> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/traces/steady");
    let files = trace_files(&dir).expect("the steady real-service traces");
    let mut all = Vec::new();
    for f in &files {
        let mut rd = csv::Reader::from_path(f).expect("a trace file");
        for row in rd.deserialize::<Sample>() {
            all.push(row.expect("a trace row"));
        }
    }
    assert!(all.len() > 3600, "{} samples", all.len());
    all
}

/// A deterministic value in [0, 1) for container `i`, second `t` and stream `k`.
fn jitter(i: usize, t: i64, k: u64) -> f64 {
    let mut z = (t as u64) ^ ((i as u64) << 32) ^ (k << 60);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// A deterministic, noisy, slowly varying workload (no two containers alike).
fn noisy(i: usize, t: i64) -> Sample {
    let x = (t as f64) / 60.0 + i as f64;
    let noise = ((t as u64)
        .wrapping_mul(2_654_435_761)
        .wrapping_add(i as u64 * 97)
        % 1000) as f64
        / 1000.0;
    Sample {
        ts_ms: 1_800_000_000_000 + t * 1000,
        cpu_pct: 20.0 + 10.0 * x.sin() + 5.0 * noise,
        mem_bytes: 100_000_000 + (5_000_000.0 * (x / 3.0).cos()) as u64 + (noise * 1e6) as u64,
        mem_limit_bytes: 512 * 1024 * 1024,
        net_rx_bps: 1000.0 * noise,
        net_tx_bps: 800.0 * noise,
        blk_read_bps: 0.0,
        blk_write_bps: 100.0 * noise,
        pids: 10 + (noise * 3.0) as u64,
    }
}

/// Heap per container, in KiB, of `make()` built for `n` containers and fed `secs` samples each
/// through `feed`.
fn cost<T>(
    load: &Workload,
    n: usize,
    secs: i64,
    make: impl Fn() -> T,
    mut feed: impl FnMut(&mut T, i64, &Sample),
) -> f64 {
    let before = heap_in_use();
    let mut states: Vec<T> = (0..n).map(|_| make()).collect();
    for t in 0..secs {
        for (i, st) in states.iter_mut().enumerate() {
            feed(st, t, &load.sample(i, t));
        }
    }
    let after = heap_in_use();
    drop(states);
    after.saturating_sub(before) as f64 / n as f64 / 1024.0
}

/// The brain's per-metric state on its own: the anomaly detectors (CPU, memory, network, PIDs,
/// as the brain feeds them) and the CPU and memory forecasters.
fn breakdown(load: &Workload, cfg: &BrainConfig, n: usize, secs: i64) {
    let detectors = cost(
        load,
        n,
        secs,
        || FLOORS.map(|f| AnomalyDetector::new(cfg.anomaly_config(), f)),
        |d, _, s| {
            let v = [
                s.cpu_pct,
                s.mem_bytes as f64,
                s.net_rx_bps + s.net_tx_bps,
                s.pids as f64,
            ];
            for (d, v) in d.iter_mut().zip(v) {
                d.observe(v);
            }
        },
    );
    let forecasters = cost(
        load,
        n,
        secs,
        || [FLOORS[0], FLOORS[1]].map(|f| Forecaster::new(cfg.forecast_config(f))),
        |f, t, s| {
            f[0].observe(t as f64, s.cpu_pct);
            f[1].observe(t as f64, s.mem_bytes as f64);
        },
    );
    println!(
        "of the brain: 4 anomaly detectors {detectors:.1} KiB, 2 forecasters {forecasters:.1} KiB per container"
    );
}

/// The history's fields, in lane order.
const FIELDS: [&str; LANES] = [
    "time",
    "cpu",
    "mem",
    "mem limit",
    "net rx",
    "net tx",
    "blk read",
    "blk write",
    "pids",
    "cpu forecast",
    "cpu lo95",
    "cpu hi95",
    "cpu lo80",
    "cpu hi80",
    "mem forecast",
    "time to limit",
    "z cpu",
    "z mem",
    "z net",
    "z pids",
    "probability",
    "level",
];

/// Bits per point each field costs in the histories of up to 10 containers (their points coded
/// again, chunk by chunk, as the store codes them).
fn field_bits(live: &LiveStore, infos: &[std::sync::Arc<ContainerInfo>]) {
    let mut bits = [0usize; LANES];
    let mut points = 0;
    for info in infos.iter().take(10) {
        let Some(c) = live.get(&info.id) else {
            continue;
        };
        let all: Vec<_> = c.recent(usize::MAX).collect();
        for chunk in all.chunks(CHUNK) {
            let (mut coder, mut w) = (PointCoder::default(), BitWriter::default());
            for p in chunk {
                coder.encode_counting(p, &mut w, &mut bits);
            }
            points += chunk.len();
        }
    }
    let per = |b: usize| b as f64 / points.max(1) as f64;
    let mut line = format!("bits a point, {:.1} in all:", per(bits.iter().sum()));
    for (name, b) in FIELDS.iter().zip(bits) {
        line.push_str(&format!(" {name} {:.2},", per(b)));
    }
    println!("{}", line.trim_end_matches(','));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100);
    let secs: i64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3600);
    let load = match args.get(3).map(String::as_str) {
        None | Some("noise") => Workload::Noise,
        Some("paged") => Workload::Paged,
        Some("real") => Workload::Real(real_samples()),
        Some("climb") => Workload::Climb,
        Some("served") => Workload::Served(real_samples()),
        Some(other) => {
            eprintln!("unknown workload {other:?}: noise, paged, real, served or climb");
            std::process::exit(2);
        }
    };
    let cfg = Config::default();
    // Shared from tick to tick, as the collectors hand them to the pipeline.
    let infos: Vec<std::sync::Arc<ContainerInfo>> = (0..n)
        .map(|i| {
            std::sync::Arc::new(ContainerInfo {
                id: format!("{i:064x}"),
                name: format!("load-{i}"),
                image: "load:latest".into(),
                ..ContainerInfo::default()
            })
        })
        .collect();
    let before = heap_in_use();
    let mut assessor = Assessor::new(cfg.brain.clone());
    let mut live = LiveStore::new(cfg.history_len(), SourceKind::Simulated);
    let started = std::time::Instant::now();
    for t in 0..secs {
        for (i, info) in infos.iter().enumerate() {
            let s = load.sample(i, t);
            let a = assessor.assess(info, &s);
            live.record(std::sync::Arc::clone(info), Some(s), Some(a));
        }
    }
    let after = heap_in_use();
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    println!(
        "{} workload, {n} containers × {secs} s of 1 s history (history kept: {} points): heap {:.1} MiB in all, {:.1} KiB per container (brain state and history), fed in {:.1} s",
        load.name(),
        cfg.history_len(),
        (after.saturating_sub(before)) as f64 / 1048576.0,
        per / 1024.0,
        started.elapsed().as_secs_f64()
    );
    field_bits(&live, &infos);
    drop(live);
    let brain_only = heap_in_use().saturating_sub(before) as f64 / n as f64;
    println!(
        "of which the brain's state: {:.1} KiB per container; the history: {:.1} KiB",
        brain_only / 1024.0,
        (per - brain_only) / 1024.0
    );
    drop(assessor);
    breakdown(&load, &cfg.brain, n.min(100), secs);
}
