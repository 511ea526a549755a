//! Rendering an incident report over 10 minutes of 1 s data (target: under 50 ms), and the
//! whole path from the store (read + render).

use app::wire::{
    Assessment, Forecast, HealAction, HealMode, Intervention, Outcome, Reason, RiskLevel, Sample,
};
use criterion::{criterion_group, criterion_main, Criterion};
use dockerpulse::report::{facts, render};
use dockerpulse::store::db::{Db, NewIncident};
use dockerpulse::store::live::HistoryPoint;
use dockerpulse::store::records::Trigger;
use std::collections::BTreeMap;

const T0: i64 = 1_795_689_000_000;

fn incident(db: &Db) -> &'static str {
    let id = "bench-incident";
    let reasons = vec![Reason {
        weight: 0.9,
        text: "CPU forecast 97 % in 10 s".into(),
    }];
    db.insert_incident(&NewIncident {
        id: id.to_string(),
        container_id: "c".to_string(),
        container_name: "web".to_string(),
        image: "busybox".to_string(),
        labels: BTreeMap::from([("dockerpulse.heal".into(), "restart".into())]),
        host: "h".to_string(),
        engine_version: "20.10".to_string(),
        simulated: false,
        opened_ms: T0,
        trigger: Trigger::Critical { probability: 90.0 },
        peak_probability: 97.0,
        peak_level: RiskLevel::Critical,
        reasons: reasons.clone(),
        cpu_quota_pct: Some(100.0),
    })
    .expect("incident");
    // Ten minutes at 1 s.
    let points: Vec<HistoryPoint> = (0..600)
        .map(|s: i64| {
            let cpu = 20.0 + (s as f64 / 7.0).sin() * 10.0 + (s as f64 / 6.0).min(70.0);
            let a = Assessment {
                ts_ms: T0 + s * 1000,
                cpu: Forecast {
                    horizon_s: 10.0,
                    value: cpu + 3.0,
                    lo80: cpu - 5.0,
                    hi80: cpu + 8.0,
                    lo95: cpu - 9.0,
                    hi95: cpu + 12.0,
                },
                failure_probability: (s as f64 / 6.0).min(99.0),
                level: RiskLevel::Critical,
                ..Assessment::default()
            };
            HistoryPoint::new(
                Sample {
                    ts_ms: T0 + s * 1000,
                    cpu_pct: cpu,
                    mem_bytes: (60 + s as u64 / 10) << 20,
                    mem_limit_bytes: 256 << 20,
                    ..Sample::default()
                },
                Some(&a),
            )
        })
        .collect();
    db.add_samples(id, &points).expect("samples");
    for k in 0..5 {
        db.insert_intervention(&Intervention {
            id: 0,
            incident_id: Some(id.into()),
            container_id: "c".into(),
            container_name: "web".into(),
            decided_ms: T0 + 100_000 * k,
            started_ms: Some(T0 + 100_000 * k + 2),
            finished_ms: Some(T0 + 100_000 * k + 300),
            action: HealAction::Restart,
            mode: HealMode::Enforce,
            manual: false,
            outcome: Outcome::Succeeded,
            reason: "p ≥ 85 %".into(),
            detail: Some("restarted".into()),
            failure_probability: 97.0,
            held: None,
            verification: None,
        })
        .expect("intervention");
    }
    db.close_incident(id, T0 + 600_000, "LOW for 60 s")
        .expect("close");
    id
}

fn bench(c: &mut Criterion) {
    let db = Db::open_in_memory().expect("db");
    let id = incident(&db);
    let offset = chrono::FixedOffset::east_opt(0).expect("utc");
    let f = facts::gather(&db, id, 10.0, T0 + 700_000)
        .expect("read")
        .expect("found");
    let (html, _) = render::render(&f, "genesis", offset).expect("renders");
    eprintln!(
        "report over 600 samples: {} bytes ({:.0} KiB)",
        html.len(),
        html.len() as f64 / 1024.0
    );
    c.bench_function("report/render_10min_1s", |b| {
        b.iter(|| render::render(std::hint::black_box(&f), "genesis", offset).expect("renders"))
    });
    c.bench_function("report/read_and_render_10min_1s", |b| {
        b.iter(|| {
            let f = facts::gather(&db, id, 10.0, T0 + 700_000)
                .expect("read")
                .expect("found");
            render::render(&f, "genesis", offset).expect("renders")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
