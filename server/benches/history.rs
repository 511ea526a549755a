//! One container's history, as the pipeline writes and the API reads it each second: a point
//! pushed into a full hour (3,600 points: the oldest leaves, and every 64 leaving points the
//! oldest chunk is re-encoded without them, so the figure includes that amortised), and the
//! last 60 points read back (a detail view's sparkline). Every field noisy: the coder's worst
//! case.

use app::wire::{Assessment, Forecast, RiskLevel, Sample, ZScores};
use criterion::{criterion_group, criterion_main, Criterion};
use dockerpulse::store::history::History;
use dockerpulse::store::live::HistoryPoint;

#[path = "support/white_noise.rs"]
#[allow(dead_code)]
mod white_noise;
use white_noise::noise;

fn point(i: i64, s: &mut u64) -> HistoryPoint {
    let cpu = 40.0 + 20.0 * noise(s);
    let value = cpu + noise(s);
    let widths = [-8.0, 8.0, -5.0, 5.0].map(|w| value + w * (1.0 + noise(s)));
    let a = Assessment {
        ts_ms: i * 1000,
        cpu: Forecast {
            value,
            lo95: widths[0],
            hi95: widths[1],
            lo80: widths[2],
            hi80: widths[3],
            ..Forecast::default()
        },
        mem: Forecast {
            value: 3e8 + 1e6 * noise(s),
            ..Forecast::default()
        },
        z: ZScores {
            cpu: 3.0 * noise(s),
            mem: 3.0 * noise(s),
            net: 3.0 * noise(s),
            pids: 0.0,
        },
        failure_probability: 5.0 + 4.0 * noise(s),
        level: RiskLevel::Low,
        ..Assessment::default()
    };
    HistoryPoint::new(
        Sample {
            ts_ms: i * 1000,
            cpu_pct: cpu,
            mem_bytes: (3e8 + 1e6 * noise(s)) as u64 & !4095,
            mem_limit_bytes: 1 << 30,
            net_rx_bps: 2e5 * (1.0 + 0.6 * noise(s)),
            net_tx_bps: 5e4 * (1.0 + 0.6 * noise(s)),
            blk_read_bps: 0.0,
            blk_write_bps: 4096.0 * (1.0 + noise(s)),
            pids: 20,
        },
        Some(&a),
    )
}

fn bench(c: &mut Criterion) {
    let mut s = 7u64;
    let points: Vec<HistoryPoint> = (0..8192).map(|i| point(i, &mut s)).collect();
    let mut h = History::new(3600);
    for p in &points[..3600] {
        h.push(*p);
    }
    let mut i = 3600;
    c.bench_function("history push, full hour (noisy)", |b| {
        b.iter(|| {
            let mut p = points[i % points.len()];
            p.sample.ts_ms = i as i64 * 1000;
            h.push(p);
            i += 1;
        })
    });
    c.bench_function("history read, last 60 of a full hour", |b| {
        b.iter(|| h.recent(60).map(|p| p.sample.cpu_pct).sum::<f64>())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
