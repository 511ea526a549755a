//! Time to read and hint at 1,000 log lines: the pure path (the engine's frames bounded,
//! cleaned and turned into ranked hints) and, when a Docker engine answers, the whole path
//! through the engine's logs API from a real container that wrote those lines.

use criterion::{criterion_group, criterion_main, Criterion};
use dockerpulse::collect::docker::logs::LogReader;
use dockerpulse::hints::text::Assembler;
use dockerpulse::hints::{analyze, Evidence, HintsConfig, Stream};
use std::process::Command;

/// 1,000 lines as a web service writes them before it fails: requests, a few warnings, refused
/// connections to its database, and a traceback at the end.
fn lines() -> Vec<String> {
    let mut out: Vec<String> = (0..960)
        .map(|i| match i % 50 {
            7 => format!("WARN slow query took {} ms on orders", 200 + i % 90),
            13 => format!("connect to db port 5432 (tcp) failed: Connection refused (attempt {i})"),
            _ => format!(
                "10.0.{}.{} - - \"GET /api/items/{i} HTTP/1.1\" 200 {} \"-\" \"curl/8.5\"",
                i % 7,
                i % 250,
                100 + i % 900
            ),
        })
        .collect();
    out.push("Traceback (most recent call last):".into());
    for k in 0..36 {
        out.push(format!(
            "  File \"/app/lib/module{k}.py\", line {}, in call",
            10 + k
        ));
    }
    out.push("    sock.connect((\"postgres\", 5432))".into());
    out.push("ConnectionRefusedError: [Errno 111] Connection refused".into());
    out.push("worker exiting".into());
    out
}

/// The engine's frames for the lines: one per line, with its timestamp prefix.
fn frames(lines: &[String]) -> Vec<Vec<u8>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "2026-11-26T10:{:02}:{:02}.{:09}Z {l}\n",
                i / 60 % 60,
                i % 60,
                i * 1000
            )
            .into_bytes()
        })
        .collect()
}

fn hint_frames(frames: &[Vec<u8>], cfg: &HintsConfig) -> usize {
    let mut a = Assembler::new(cfg.bounds());
    for (i, f) in frames.iter().enumerate() {
        let s = if i % 50 == 13 {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        a.push(s, f, true);
    }
    let ev = Evidence {
        died: true,
        exit_code: Some(1),
        lines: a.finish(),
        ..Evidence::default()
    };
    analyze(&ev).len()
}

fn pure(c: &mut Criterion) {
    let cfg = HintsConfig::default();
    let f = frames(&lines());
    assert_eq!(f.len(), 1000);
    assert!(hint_frames(&f, &cfg) >= 2);
    c.bench_function("hints: bound, clean and hint at 1,000 log lines", |b| {
        b.iter(|| hint_frames(&f, &cfg))
    });
}

/// A stopped container that wrote the 1,000 lines, removed on drop.
struct Writer(String);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

fn engine(c: &mut Criterion) {
    let image = std::env::var("DOCKERPULSE_TEST_IMAGE")
        .unwrap_or_else(|_| "dockerpulse-test/busybox:latest".into());
    let ok = Command::new("docker")
        .args(["image", "inspect", &image])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("\n*** SKIPPED the engine bench: no Docker engine or no image {image} ***\n");
        return;
    }
    let dir = std::env::temp_dir().join(format!("dp-bench-hints-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("log.txt"), lines().join("\n") + "\n").expect("log file");
    let name = format!("dp-bench-hints-{}", std::process::id());
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let run = Command::new("docker")
        .args([
            "run",
            "--name",
            &name,
            "--label",
            "dockerpulse.test",
            "--network",
            "none",
        ])
        .arg("-v")
        .arg(format!("{}:/in:ro", dir.display()))
        .args([&image, "sh", "-c", "cat /in/log.txt; exit 1"])
        .output()
        .expect("docker CLI runs");
    let writer = Writer(name);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let reader = rt
        .block_on(LogReader::connect("unix:///var/run/docker.sock"))
        .expect("engine");
    let cfg = HintsConfig::default();
    let read_and_hint = || async {
        let read = reader.read(&writer.0, cfg.bounds()).await.expect("read");
        assert_eq!(read.lines.len(), 1000);
        let ev = Evidence {
            died: true,
            exit_code: Some(1),
            lines: read.lines,
            ..Evidence::default()
        };
        analyze(&ev).len()
    };
    c.bench_function("hints: read 1,000 lines from the engine and hint", |b| {
        b.iter(|| rt.block_on(read_and_hint()))
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = pure, engine
}
criterion_main!(benches);
