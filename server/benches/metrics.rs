//! Cost of one `/metrics` scrape with 100 containers (target: ≤ 5 ms), from the live store to
//! the OpenMetrics text, store counts cached as between two records.

use app::wire::{Assessment, ContainerInfo, RiskLevel, Sample, SourceKind};
use criterion::{criterion_group, criterion_main, Criterion};
use dockerpulse::export::{tick_histogram, Metrics, Sources};
use dockerpulse::state::Shared;
use dockerpulse::store::db::Db;
use dockerpulse::store::live::LiveStore;

fn fleet(n: usize) -> Shared<LiveStore> {
    let live = Shared::new(LiveStore::new(3600, SourceKind::Docker));
    {
        let mut l = live.write();
        for i in 0..n {
            let info = ContainerInfo {
                id: format!("{i:064x}"),
                name: format!("service-{i}"),
                image: "registry.example/app:1.2.3".into(),
                cpu_quota_pct: Some(150.0),
                mem_limited: true,
                started_at_ms: Some(1_700_000_000_000),
                ..ContainerInfo::default()
            };
            for t in 0..3 {
                let s = Sample {
                    ts_ms: 1_700_000_000_000 + t * 1000,
                    cpu_pct: 12.5 + i as f64,
                    mem_bytes: 100_000_000,
                    mem_limit_bytes: 512_000_000,
                    net_rx_bps: 1e4,
                    net_tx_bps: 2e4,
                    blk_read_bps: 1e3,
                    blk_write_bps: 5e3,
                    pids: 12,
                };
                let a = Assessment {
                    failure_probability: 12.0,
                    level: RiskLevel::Low,
                    time_to_limit_s: Some(300.0),
                    ..Assessment::default()
                };
                l.record(info.clone(), Some(s), Some(a));
            }
        }
    }
    live
}

fn scrape(c: &mut Criterion) {
    let live = fleet(100);
    let metrics = Metrics::new(
        Sources {
            live,
            viewers: dockerpulse::viewers::ViewerGate::new(Default::default()),
            db: Db::open_in_memory().expect("db"),
            container_labels: Vec::new(),
        },
        tick_histogram(),
    );
    let bytes = metrics.encode().expect("encodes").len();
    println!("one scrape of 100 containers: {bytes} bytes");
    c.bench_function("scrape_100_containers", |b| {
        b.iter(|| metrics.encode().expect("encodes"))
    });
}

criterion_group!(benches, scrape);
criterion_main!(benches);
