//! The exit in words: the code and the signal behind it, whether the kernel's OOM killer was
//! involved (only when the engine or the kernel says so), a requested stop, the engine's own
//! error, and the health check's last outputs.

use super::scan::Kind;
use super::signatures::Scan;
use super::{quote, Evidence, HealthRun, LogLine, Stream};
use app::wire::Hint;

/// The name of a signal number (Linux numbering).
pub fn signal_name(n: i64) -> Option<&'static str> {
    Some(match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

fn hint(kind: &str, confidence: f64, sentence: String, lines: Vec<LogLine>) -> Hint {
    Hint {
        kind: kind.into(),
        sentence,
        confidence,
        lines,
    }
}

fn engine_line(text: &str) -> LogLine {
    LogLine {
        ts_ms: None,
        stream: Stream::Engine,
        text: text.to_string(),
        truncated: false,
    }
}

/// The command named in the engine's "executable file not found" error.
fn missing_command(err: &str) -> Option<&str> {
    let at = err.find("exec: \"")? + 7;
    let rest = err.get(at..)?;
    rest.split('"').next().filter(|c| !c.is_empty())
}

/// Log lines of the scan of one kind (for evidence).
fn lines_of(scan: &Scan, lines: &[LogLine], kind: Kind) -> Vec<LogLine> {
    scan.findings
        .iter()
        .filter(|f| f.kind == kind)
        .filter_map(|f| f.lines.last().and_then(|i| lines.get(*i).cloned()))
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// Hints from how the process ended.
pub fn hints(ev: &Evidence, scan: &Scan) -> Vec<Hint> {
    let mut out = Vec::new();
    let code = ev.exit_code;
    let err = ev.engine_error.as_deref().filter(|e| !e.trim().is_empty());
    let err_lines = || err.map(|e| vec![engine_line(e)]).unwrap_or_default();
    let oom = ev.oom_killed || ev.oom_event;
    let mem = ev.metrics.memory_phrase();

    if ev.stopped && ev.died {
        let s = match code {
            Some(143) => "It was stopped on request (`docker stop`): SIGTERM, exit 143 — not a \
                          failure"
                .to_string(),
            Some(137) if !oom => "It was stopped on request (`docker stop`) but did not exit on \
                                  SIGTERM in time, so the engine killed it (SIGKILL, exit 137) — \
                                  not a failure, but its command ignores SIGTERM"
                .to_string(),
            Some(0) => {
                "It was stopped on request and exited cleanly (exit 0) — not a failure".to_string()
            }
            Some(c) => format!(
                "It was stopped on request (`docker stop` or `docker restart`) and exited with \
                 code {c} — not a failure"
            ),
            None => "It was stopped on request — not a failure".to_string(),
        };
        if !(oom && code == Some(137)) {
            out.push(hint("stopped", 0.97, s, Vec::new()));
            return out;
        }
    }
    if oom && (code == Some(137) || !ev.died) {
        let who = if ev.oom_killed {
            "the engine reports OOMKilled"
        } else {
            "the kernel reported an OOM event"
        };
        let s = if ev.died {
            format!("The kernel's OOM killer ended it (SIGKILL, exit 137; {who}){mem}")
        } else {
            format!("The kernel's OOM killer killed a process in the container ({who}){mem}")
        };
        out.push(hint(
            "oom_killed",
            if ev.died { 0.96 } else { 0.8 },
            s,
            lines_of(scan, &ev.lines, Kind::Killed),
        ));
        return out;
    }
    if !ev.died {
        if let Some(e) = err {
            out.push(hint(
                "engine_error",
                0.6,
                format!("The engine reports an error: `{}`", quote(e, 160)),
                err_lines(),
            ));
        }
        return out;
    }
    let Some(c) = code else {
        return out;
    };
    let (kind, conf, s) = match c {
        0 => (
            "exit_code",
            0.3,
            "Its main process ended by itself with exit 0 (success): a one-shot command, or a \
             service that does not stay in the foreground"
                .to_string(),
        ),
        1 => (
            "exit_code",
            0.45,
            "The application exited with an error (exit code 1); its own log says why".into(),
        ),
        2 => (
            "exit_code",
            0.45,
            "It exited with code 2, which usually means a usage error: bad arguments, options \
             or configuration"
                .into(),
        ),
        126 => (
            "not_executable",
            0.9,
            "Its command was found but could not be executed (exit 126): not executable, a \
             missing interpreter or permission denied"
                .into(),
        ),
        127 => {
            let what = err
                .and_then(missing_command)
                .map_or("Its command".to_string(), |c| format!("Its command `{c}`"));
            (
                "command_not_found",
                0.92,
                format!(
                    "{what} was not found (exit 127): it does not exist in the image or is not \
                     on its PATH"
                ),
            )
        }
        137 => (
            "sigkill",
            0.7,
            format!(
                "It was killed with SIGKILL (exit 137), and neither the engine nor the kernel \
                 reported an OOM kill: something ran `docker kill` or `kill -9`{mem}"
            ),
        ),
        139 => (
            "segfault",
            0.85,
            "It crashed with a segmentation fault (SIGSEGV, exit 139): an invalid memory \
             access in native code"
                .into(),
        ),
        134 => (
            "abort",
            0.8,
            "It aborted (SIGABRT, exit 134): the program called abort(), usually a failed \
             assertion or a runtime's fatal error"
                .into(),
        ),
        143 => (
            "sigterm",
            0.6,
            "It was terminated by SIGTERM (exit 143) that no `docker stop` explains: an \
             orchestrator or a process inside the container sent it"
                .into(),
        ),
        c @ 129..=159 => {
            let sig = signal_name(c - 128).unwrap_or("a signal");
            (
                "signal",
                0.6,
                format!("It was ended by {sig} (signal {}, exit {c})", c - 128),
            )
        }
        c => (
            "exit_code",
            0.4,
            format!("The application exited with code {c}; its own log says why"),
        ),
    };
    let mut lines = err_lines();
    if kind == "segfault" {
        lines.extend(lines_of(scan, &ev.lines, Kind::Segfault));
    }
    out.push(hint(kind, conf, s, lines));
    // An engine error that the exit code did not already explain.
    if let Some(e) = err.filter(|_| !matches!(kind, "command_not_found" | "not_executable")) {
        out.push(hint(
            "engine_error",
            0.85,
            format!("The engine reports: `{}`", quote(e, 160)),
            err_lines(),
        ));
    }
    out
}

/// The health check's failing runs, when the last ones failed.
pub fn health_hint(runs: &[HealthRun]) -> Option<Hint> {
    let failing: Vec<&HealthRun> = runs.iter().rev().take_while(|r| r.exit_code != 0).collect();
    let last = failing.first()?;
    let first_line = last.output.lines().find(|l| !l.trim().is_empty());
    let said = first_line.map_or(String::new(), |l| format!(": `{}`", quote(l, 120)));
    let lines = failing
        .iter()
        .rev()
        .map(|r| LogLine {
            ts_ms: r.ts_ms,
            stream: Stream::Health,
            text: quote(r.output.lines().next().unwrap_or(""), 300),
            truncated: false,
        })
        .collect();
    Some(hint(
        "health",
        0.5,
        format!(
            "Its health check failed the last {} of {} runs{said}",
            failing.len(),
            runs.len()
        ),
        lines,
    ))
}
