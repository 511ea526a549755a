//! The "Probable cause" section: hints and their quoted lines reach the report and its JSON,
//! and hostile log lines (HTML, scripts, escape sequences, a mebibyte without a newline,
//! invalid UTF-8) arrive bounded and render as inert text.

use super::super::{facts, render};
use crate::hints::text::{Assembler, Bounds};
use crate::hints::{analyze, Evidence, LogLine, Stream};
use crate::store::db::{Db, NewIncident};
use crate::store::records::Trigger;
use app::wire::{Diagnosis, LogsRead, RiskLevel};
use chrono::FixedOffset;
use std::collections::BTreeMap;

const T0: i64 = 1_795_689_000_000;

fn hostile_lines() -> Vec<LogLine> {
    let bounds = Bounds {
        max_lines: 100,
        max_bytes: 64 * 1024,
        line_bytes: 2048,
    };
    let mut a = Assembler::new(bounds);
    let frames: Vec<Vec<u8>> = vec![
        b"2026-11-26T10:30:01Z <script>alert('log')</script>\n".to_vec(),
        b"2026-11-26T10:30:02Z <img src=x onerror=alert(2)> & \"quoted\"\n".to_vec(),
        b"2026-11-26T10:30:03Z \x1b[31mFATAL\x1b[0m \x1b]0;pwned\x07database is gone\n".to_vec(),
        b"2026-11-26T10:30:04Z bad bytes \xff\xfe\xfd here\n".to_vec(),
    ];
    for f in &frames {
        a.push(Stream::Stderr, f, true);
    }
    // A mebibyte without a newline, in the engine's 16 KiB frames.
    for _ in 0..64 {
        a.push(Stream::Stdout, &[b'A'; 16 * 1024], false);
    }
    a.finish()
}

#[test]
fn hostile_log_lines_are_bounded_and_render_inert() {
    let lines = hostile_lines();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l.text.len() <= 2048));
    assert!(lines.iter().any(|l| l.truncated), "the long line is cut");
    let ev = Evidence {
        died: true,
        exit_code: Some(1),
        lines: lines.clone(),
        ..Evidence::default()
    };
    let mut hints = analyze(&ev);
    // Quote every hostile line, whatever the hints chose, to check each one renders inert.
    if let Some(h) = hints.first_mut() {
        h.lines = lines;
    }
    assert!(!hints.is_empty());

    let db = Db::open_in_memory().expect("db");
    let id = "5f0c6a36-9c61-4d5e-8f43-2b1f0d6f7a12";
    db.insert_incident(&NewIncident {
        id: id.to_string(),
        container_id: "c0ffee".to_string(),
        container_name: "web".to_string(),
        image: "busybox".to_string(),
        labels: BTreeMap::new(),
        host: "h".to_string(),
        engine_version: "20.10".to_string(),
        simulated: false,
        opened_ms: T0,
        trigger: Trigger::Died { exit_code: Some(1) },
        peak_probability: 100.0,
        peak_level: RiskLevel::Critical,
        reasons: Vec::new(),
        cpu_quota_pct: None,
    })
    .expect("incident");
    let d = Diagnosis {
        container_id: "c0ffee".into(),
        container_name: "web".into(),
        incident_id: Some(id.into()),
        ts_ms: T0 + 2_000,
        trigger: "an incident opened: the container died (exit code 1)".into(),
        exit_code: Some(1),
        logs: LogsRead {
            lines: 5,
            bytes: 1 << 20,
            truncated: true,
            skipped: None,
        },
        hints,
        ..Diagnosis::default()
    };
    db.insert_diagnosis(&d, 0).expect("stored");
    db.close_incident(id, T0 + 60_000, "container stopped for 60 s")
        .expect("close");

    let f = facts::gather(&db, id, 10.0, T0 + 70_000)
        .expect("read")
        .expect("found");
    assert_eq!(f.diagnoses.len(), 1);
    let json = serde_json::to_value(&f).expect("json");
    assert_eq!(json["report_version"], 2);
    let texts: Vec<&str> = json["diagnoses"][0]["hints"][0]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"<script>alert('log')</script>"),
        "the JSON carries the line as data"
    );

    let (html, _) =
        render::render(&f, "genesis", FixedOffset::east_opt(0).expect("utc")).expect("renders");
    let section = html
        .split("data-testid=\"probable-cause\"")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("a Probable cause section");
    assert!(section.contains("Probable cause"));
    assert!(!html.contains("<script"), "no script element anywhere");
    assert!(!html.contains("<img"), "no injected element");
    assert!(section.contains("&#60;script&#62;alert(&#39;log&#39;)&#60;/script&#62;"));
    assert!(section.contains("&#34;quoted&#34;"));
    assert!(
        !html.contains('\u{1b}') && !html.contains("pwned"),
        "escapes stripped"
    );
    assert!(section.contains("FATAL database is gone"));
    assert!(section.contains("bad bytes \u{fffd}\u{fffd}\u{fffd} here"));
    assert!(section.contains("…(cut)"), "the cut line says so");
    assert!(
        html.len() < 200 * 1024,
        "a mebibyte line does not reach the report"
    );
}
