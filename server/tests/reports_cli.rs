//! `dockerpulse verify-reports`: exit 0 on an intact chain, non-zero naming the first report
//! that does not match after one byte is changed.

use std::process::Command;

fn verify(dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dockerpulse"))
        .args(["verify-reports", &dir.to_string_lossy()])
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn verify_reports_names_the_first_changed_report() {
    use dockerpulse::report::Reporter;
    use dockerpulse::store::db::{Db, NewIncident};
    use dockerpulse::store::records::Trigger;
    let dir = std::env::temp_dir().join(format!("dp-verify-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Db::open_in_memory().expect("db");
    let reporter = Reporter::new(db.clone(), dir.clone(), 10.0);
    let mut paths = Vec::new();
    for i in 0..3i64 {
        let id = format!("11111111-2222-4333-8444-55555555555{i}");
        db.insert_incident(&NewIncident {
            id: id.to_string(),
            container_id: "c".to_string(),
            container_name: "web".to_string(),
            image: "busybox".to_string(),
            labels: Default::default(),
            host: "h".to_string(),
            engine_version: "e".to_string(),
            simulated: false,
            opened_ms: 1_000_000 + i,
            trigger: Trigger::OomKilled,
            peak_probability: 100.0,
            peak_level: app::wire::RiskLevel::Critical,
            reasons: Vec::new(),
            cpu_quota_pct: None,
        })
        .expect("incident");
        db.close_incident(&id, 2_000_000 + i, "done")
            .expect("close");
        paths.push(reporter.write(&id, 3_000_000 + i).expect("written"));
    }
    let (ok, out) = verify(&dir);
    assert!(ok, "{out}");
    assert!(out.contains("3 report(s)"), "{out}");

    let mut bytes = std::fs::read(&paths[1]).expect("read");
    let at = bytes.len() / 3;
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    std::fs::write(&paths[1], bytes).expect("tamper");
    let (ok, out) = verify(&dir);
    assert!(!ok, "a changed byte fails verification");
    let name = paths[1]
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(out.contains(&name), "names the changed report: {out}");
    let _ = std::fs::remove_dir_all(&dir);
}
