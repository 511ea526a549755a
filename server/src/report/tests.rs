//! Reports: a snapshot of a fixed incident, hostile input rendered inert, and the hash chain
//! catching a changed byte.

use super::*;
use crate::store::db::NewIncident;
use crate::store::live::HistoryPoint;
use crate::store::records::Trigger;
use app::wire::{
    Assessment, Forecast, HealAction, HealMode, Intervention, Outcome, Reason, RiskLevel, Sample,
    ZScores,
};
use std::collections::BTreeMap;

const T0: i64 = 1_795_689_000_000; // 2026-11-26 10:30:00 UTC

/// A fixed incident: a CPU burner climbing to its quota, restarted once.
fn fixture(db: &Db, labels: BTreeMap<String, String>, reasons: Vec<Reason>) -> String {
    fixture_named(db, "flask-api", labels, reasons)
}

fn fixture_named(
    db: &Db,
    name: &str,
    labels: BTreeMap<String, String>,
    reasons: Vec<Reason>,
) -> String {
    let id = "5f0c6a36-9c61-4d5e-8f43-2b1f0d6f7a11";
    let trigger = Trigger::Critical { probability: 91.0 };
    db.insert_incident(&NewIncident {
        id: id.to_string(),
        container_id: "4d7748e9b2b51586c3675f79bc40d98e9e979053431b408a150e6ccc053ad008"
            .to_string(),
        container_name: name.to_string(),
        image: "dockerpulse-demo/flask-api:latest".to_string(),
        labels: labels.clone(),
        host: "prod-host-1".to_string(),
        engine_version: "20.10.24".to_string(),
        simulated: false,
        opened_ms: T0,
        trigger: trigger.clone(),
        peak_probability: 97.5,
        peak_level: RiskLevel::Critical,
        reasons: reasons.clone(),
        cpu_quota_pct: Some(100.0),
    })
    .expect("incident");
    let points: Vec<HistoryPoint> = (-60..=90)
        .map(|s: i64| {
            let cpu = if s < 0 {
                15.0
            } else {
                (15.0 + s as f64 * 3.0).min(99.0)
            };
            let a = Assessment {
                ts_ms: T0 + s * 1000,
                cpu: Forecast {
                    horizon_s: 10.0,
                    value: (cpu + 8.0).min(100.0),
                    lo80: cpu,
                    hi80: cpu + 12.0,
                    lo95: cpu - 4.0,
                    hi95: cpu + 16.0,
                },
                mem: Forecast {
                    value: 80.0 * 1048576.0,
                    ..Forecast::default()
                },
                z: ZScores {
                    cpu: cpu / 10.0,
                    mem: 0.5,
                    net: 0.1,
                    pids: 0.0,
                },
                failure_probability: if s < 0 {
                    3.0
                } else {
                    (s as f64 * 4.0).min(97.5)
                },
                level: if s < 20 {
                    RiskLevel::Low
                } else {
                    RiskLevel::Critical
                },
                ..Assessment::default()
            };
            HistoryPoint::new(
                Sample {
                    ts_ms: T0 + s * 1000,
                    cpu_pct: cpu,
                    mem_bytes: 78 << 20,
                    mem_limit_bytes: 256 << 20,
                    net_rx_bps: 2048.0,
                    net_tx_bps: 1024.0,
                    blk_read_bps: 0.0,
                    blk_write_bps: 4096.0,
                    pids: 4,
                },
                Some(&a),
            )
        })
        .collect();
    db.add_samples(id, &points).expect("samples");
    let restart = Intervention {
        id: 0,
        incident_id: Some(id.into()),
        container_id: "4d7748e9b2b5".into(),
        container_name: name.into(),
        decided_ms: T0 + 30_000,
        started_ms: Some(T0 + 30_002),
        finished_ms: Some(T0 + 30_230),
        action: HealAction::Restart,
        mode: HealMode::Enforce,
        manual: false,
        outcome: Outcome::Succeeded,
        reason: "failure probability 97 % ≥ 85 % for 3 ticks (CRITICAL)".into(),
        detail: Some("restarted (stop timeout 5 s)".into()),
        failure_probability: 97.0,
        held: None,
        verification: None,
    };
    db.insert_intervention(&restart).expect("intervention");
    db.insert_intervention(&Intervention {
        incident_id: None,
        decided_ms: T0 - 86_400_000,
        outcome: Outcome::Simulated,
        mode: HealMode::DryRun,
        started_ms: None,
        finished_ms: None,
        detail: None,
        ..restart.clone()
    })
    .expect("earlier intervention");
    // The two automatic interventions above are counted as they are recorded.
    db.bump_counters(name, 0, 3).expect("counters");
    db.close_incident(id, T0 + 90_500, "LOW for 60 s")
        .expect("close");
    id.into()
}

fn plain_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("com.docker.compose.service".into(), "flask-api".into()),
        ("dockerpulse.heal".into(), "restart".into()),
    ])
}

fn plain_reasons() -> Vec<Reason> {
    vec![
        Reason {
            weight: 0.9,
            text: "CPU forecast 97 % in 10 s (95 % interval 88–104 %) against a 100 % quota".into(),
        },
        Reason {
            weight: 0.3,
            text: "CPU 6.2σ above its baseline".into(),
        },
    ]
}

fn cet() -> FixedOffset {
    FixedOffset::east_opt(3600).expect("offset")
}

/// The report with its SVG bodies and hash taken out (they are checked on their own).
fn readable(html: &str, hash: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("</svg>")
            .map_or(rest.len(), |e| start + e + 6);
        out.push_str("<svg>…</svg>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.replace(hash, "<SHA-256>")
}

#[test]
fn report_of_a_fixed_incident() {
    let db = Db::open_in_memory().expect("db");
    let id = fixture(&db, plain_labels(), plain_reasons());
    let f = facts::gather(&db, &id, 10.0, T0 + 100_000)
        .expect("read")
        .expect("found");
    assert_eq!(f.seal.label, "FORCED RESTART");
    assert!(!f.provisional);
    assert_eq!(
        f.snapshot.map(|p| p.sample.ts_ms),
        Some(T0 + 25_000),
        "peak probability"
    );
    assert_eq!(f.prior_interventions.len(), 1);
    let (html, hash) = render::render(&f, "genesis", cet()).expect("renders");
    assert_eq!(html.matches("<svg").count(), 2, "two inline charts");
    assert!(!html.contains("<script"), "no scripts");
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(external), "no external assets ({external})");
    }
    assert!(html.contains(&id) && html.contains(&hash));
    insta::assert_snapshot!(readable(&html, &hash));
}

#[test]
fn hostile_names_labels_and_reasons_render_inert() {
    let db = Db::open_in_memory().expect("db");
    let evil = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>";
    let labels = BTreeMap::from([(format!("evil{evil}"), evil.to_string())]);
    let reasons = vec![Reason {
        weight: 1.0,
        text: format!("reason with {evil} & \"quotes\""),
    }];
    let id = fixture(&db, labels, reasons);
    let f = facts::gather(&db, &id, 10.0, T0)
        .expect("read")
        .expect("found");
    let (html, _) = render::render(&f, "genesis", cet()).expect("renders");
    assert!(!html.contains("<script"), "script tags are escaped");
    assert!(!html.contains("<img"), "no injected elements");
    assert!(
        html.contains("&#60;script&#62;alert(&#39;x&#39;)"),
        "shown as text"
    );
    assert!(html.contains("&#34;quotes&#34;"), "quotes escaped");
}

#[test]
fn written_reports_chain_and_one_changed_byte_is_caught_there() {
    let db = Db::open_in_memory().expect("db");
    let dir = std::env::temp_dir().join(format!("dp-reports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reporter = Reporter::new(db.clone(), dir.clone(), 10.0);
    let mut paths = Vec::new();
    for i in 0..3 {
        let id = format!("00000000-0000-4000-8000-00000000000{i}");
        let trigger = Trigger::OomKilled;
        db.insert_incident(&NewIncident {
            id: id.to_string(),
            container_id: "c".to_string(),
            container_name: "web".to_string(),
            image: "busybox".to_string(),
            labels: BTreeMap::new(),
            host: "h".to_string(),
            engine_version: "e".to_string(),
            simulated: true,
            opened_ms: T0 + i * 1000,
            trigger: trigger.clone(),
            peak_probability: 100.0,
            peak_level: RiskLevel::Critical,
            reasons: Vec::new(),
            cpu_quota_pct: None,
        })
        .expect("incident");
        db.close_incident(&id, T0 + i * 1000 + 500, "done")
            .expect("close");
        paths.push(reporter.write(&id, T0 + i * 1000 + 600).expect("written"));
        assert_eq!(
            reporter.write(&id, T0).expect("idempotent"),
            paths[i as usize],
            "written once"
        );
    }
    assert_eq!(reporter.list().expect("list").len(), 3);
    assert_eq!(
        reporter.list().expect("list")[1].incident_id,
        "00000000-0000-4000-8000-000000000001"
    );
    assert_eq!(
        chain::verify_dir(&dir, Some(&db.report_anchors().expect("anchors"))).expect("readable"),
        chain::Verdict::Intact { reports: 3 }
    );
    let html = std::fs::read_to_string(&paths[0]).expect("read");
    assert!(html.contains("SIMULATED"), "demo incidents are labelled");

    let mut bytes = std::fs::read(&paths[1]).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&paths[1], bytes).expect("tamper");
    match chain::verify_dir(&dir, None).expect("readable") {
        chain::Verdict::Broken { file, .. } => assert_eq!(file, paths[1]),
        v => panic!("not caught: {v:?}"),
    }
    // Removing the newest report leaves an intact-looking chain; the store's anchors catch it.
    std::fs::remove_file(&paths[1]).expect("remove");
    std::fs::remove_file(&paths[2]).expect("remove");
    assert!(matches!(
        chain::verify_dir(&dir, None).expect("readable"),
        chain::Verdict::Intact { reports: 1 }
    ));
    let anchors = db.report_anchors().expect("anchors");
    match chain::verify_dir(&dir, Some(&anchors)).expect("readable") {
        chain::Verdict::Broken { file, reason, .. } => {
            assert_eq!(file, paths[1]);
            assert!(reason.contains("missing"), "{reason}");
        }
        v => panic!("removal not caught: {v:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn open_incidents_get_a_provisional_report_outside_the_chain() {
    let db = Db::open_in_memory().expect("db");
    let dir = std::env::temp_dir().join(format!("dp-reports-prov-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let trigger = Trigger::Critical { probability: 90.0 };
    db.insert_incident(&NewIncident {
        id: "open-one".to_string(),
        container_id: "c".to_string(),
        container_name: "web".to_string(),
        image: "busybox".to_string(),
        labels: BTreeMap::new(),
        host: "h".to_string(),
        engine_version: "e".to_string(),
        simulated: false,
        opened_ms: T0,
        trigger: trigger.clone(),
        peak_probability: 90.0,
        peak_level: RiskLevel::Critical,
        reasons: Vec::new(),
        cpu_quota_pct: None,
    })
    .expect("incident");
    let reporter = Reporter::new(db, dir.clone(), 10.0);
    assert!(
        matches!(
            reporter.write("open-one", T0),
            Err(ReportError::StillOpen(_))
        ),
        "an open incident does not enter the chain"
    );
    let (html, name) = reporter.current("open-one", T0 + 1000).expect("renders");
    assert!(html.contains("PROVISIONAL") && html.contains("NO ACTION TAKEN"));
    assert!(name.ends_with("-open-one.html"));
    assert!(
        chain::report_files(&dir).expect("dir").is_empty(),
        "nothing written"
    );
    assert!(matches!(
        reporter.current("nope", T0),
        Err(ReportError::NotFound(_))
    ));
}
