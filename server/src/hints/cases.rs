//! Labelled failure cases, written the way real programs fail (the log and the exit as the
//! engine reports them), each with the hint that must come first. The share that does is the
//! top-1 accuracy quoted in docs/hints.md; every case must pass.

use super::*;

fn log(text: &str, t0: i64, step_ms: i64) -> Vec<LogLine> {
    text.lines()
        .enumerate()
        .map(|(i, l)| LogLine {
            ts_ms: Some(t0 + i as i64 * step_ms),
            stream: Stream::Stderr,
            text: text::clean_line(l.as_bytes(), 2048).0,
            truncated: false,
        })
        .collect()
}

fn died(code: i64, lines: Vec<LogLine>) -> Evidence {
    Evidence {
        died: true,
        exit_code: Some(code),
        lines,
        ..Evidence::default()
    }
}

struct Case {
    name: &'static str,
    ev: Evidence,
    top: &'static str,
    /// Words the top sentence must contain.
    says: &'static [&'static str],
}

fn python_refused() -> Evidence {
    let mut lines = Vec::new();
    for k in 0..3 {
        lines.extend(log(
            "Traceback (most recent call last):\n  File \"/app/db.py\", line 12, in connect\n    sock.connect((\"postgres\", 5432))\nConnectionRefusedError: [Errno 111] Connection refused",
            1_000_000 + k * 10_000,
            1,
        ));
    }
    Evidence {
        end_ms: Some(1_020_000),
        ..died(1, lines)
    }
}

fn cases() -> Vec<Case> {
    let steady: String = (0..40)
        .map(|i| format!("GET /health 200 {i}ms\n"))
        .collect();
    vec![
        Case {
            name: "python traceback, connection refused three times",
            ev: python_refused(),
            top: "exception",
            says: &["Python raised `ConnectionRefusedError` connecting to postgres:5432, 3 times in the last 20 s"],
        },
        Case {
            name: "python KeyError at start-up",
            ev: died(1, log("Starting app\nTraceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\n    url = os.environ['DATABASE_URL']\nKeyError: 'DATABASE_URL'", 0, 10)),
            top: "exception",
            says: &["KeyError", "DATABASE_URL"],
        },
        Case {
            name: "node ECONNREFUSED",
            ev: died(1, log("Server starting\nError: connect ECONNREFUSED 127.0.0.1:6379\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)", 0, 10)),
            top: "exception",
            says: &["127.0.0.1:6379"],
        },
        Case {
            name: "shell loop of refused connections",
            ev: died(1, log(&"nc: connect to db:5432 failed: Connection refused\n".repeat(5), 0, 1000)),
            top: "connection_refused",
            says: &["db:5432", "5 times"],
        },
        Case {
            name: "java OutOfMemoryError",
            ev: died(1, log("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\tat App.main(App.java:5)", 0, 10)),
            top: "runtime_oom",
            says: &["Java runtime ran out of memory"],
        },
        Case {
            name: "java exception with a root cause",
            ev: died(1, log("Exception in thread \"main\" java.lang.RuntimeException: init failed\n\tat App.main(App.java:9)\nCaused by: java.io.FileNotFoundException: /etc/app.yml (No such file or directory)\n\t... 1 more", 0, 10)),
            top: "exception",
            says: &["java.io.FileNotFoundException"],
        },
        Case {
            name: "rust panic",
            ev: died(101, log("thread 'main' panicked at src/main.rs:14:9:\ncalled `Option::unwrap()` on a `None` value\nnote: run with `RUST_BACKTRACE=1`", 0, 10)),
            top: "panic",
            says: &["src/main.rs:14:9", "unwrap"],
        },
        Case {
            name: "go panic",
            ev: died(2, log("panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:8 +0x1d\nexit status 2", 0, 10)),
            top: "panic",
            says: &["Go panicked", "index out of range"],
        },
        Case {
            name: "nginx port in use",
            ev: died(1, log("nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)\nnginx: [emerg] still could not bind()", 0, 10)),
            top: "address_in_use",
            says: &["0.0.0.0:80"],
        },
        Case {
            name: "postgres FATAL",
            ev: died(1, log(&format!("{steady}FATAL:  data directory \"/var/lib/postgresql/data\" has invalid permissions"), 0, 10)),
            top: "fatal",
            says: &["invalid permissions"],
        },
        Case {
            name: "kernel OOM kill with memory at the limit",
            ev: Evidence {
                oom_killed: true,
                metrics: MetricsSeen {
                    window_s: 30.0,
                    mem_first: Some(4 << 20),
                    mem_peak: 63 << 20,
                    mem_limit: Some(64 << 20),
                    ..MetricsSeen::default()
                },
                ..died(137, log("allocating\nKilled", 0, 10))
            },
            top: "oom_killed",
            says: &["OOM killer", "from 4 MiB to 63 MiB of its 64 MiB limit"],
        },
        Case {
            name: "SIGKILL without OOM evidence is not called an OOM kill",
            ev: died(137, log(&steady, 0, 10)),
            top: "sigkill",
            says: &["neither the engine nor the kernel reported an OOM kill"],
        },
        Case {
            name: "command not found",
            ev: Evidence {
                engine_error: Some("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"no-such-command\": executable file not found in $PATH: unknown".into()),
                ..died(127, Vec::new())
            },
            top: "command_not_found",
            says: &["`no-such-command`", "exit 127"],
        },
        Case {
            name: "docker stop is not a failure, whatever the log said",
            ev: Evidence {
                stopped: true,
                ..died(143, log("Connection refused to db:5432\nFATAL: giving up", 0, 10))
            },
            top: "stopped",
            says: &["not a failure", "143"],
        },
        Case {
            name: "segmentation fault",
            ev: died(139, log("loading plugin\n", 0, 10)),
            top: "segfault",
            says: &["SIGSEGV"],
        },
        Case {
            name: "missing config file",
            ev: died(1, log("reading config\nopen /etc/app/config.toml: no such file or directory", 0, 10)),
            top: "no_such_file",
            says: &["/etc/app/config.toml"],
        },
        Case {
            name: "permission denied on a volume",
            ev: died(1, log("PermissionError: [Errno 13] Permission denied: '/data/app.db'", 0, 10)),
            top: "permission_denied",
            says: &["/data/app.db"],
        },
    ]
}

#[test]
fn every_labelled_case_gets_the_right_top_hint() {
    let all = cases();
    let mut right = 0;
    for c in &all {
        let hints = analyze(&c.ev);
        let top = hints.first();
        let ok =
            top.is_some_and(|h| h.kind == c.top && c.says.iter().all(|w| h.sentence.contains(w)));
        if ok {
            right += 1;
        } else {
            eprintln!("WRONG {}: {:#?}", c.name, hints);
        }
    }
    eprintln!(
        "top-1 accuracy on {} labelled cases: {right}/{}",
        all.len(),
        all.len()
    );
    assert_eq!(right, all.len());
}

#[test]
fn hints_rest_on_quoted_lines() {
    let hints = analyze(&python_refused());
    let top = &hints[0];
    assert!(top.confidence >= 0.8, "{top:?}");
    let quoted: Vec<&str> = top.lines.iter().map(|l| l.text.as_str()).collect();
    assert!(quoted.contains(&"ConnectionRefusedError: [Errno 111] Connection refused"));
    assert!(quoted.len() <= MAX_LINES_PER_HINT);
}
