//! Finding known failure signatures in log lines: multi-line ones first (Python tracebacks,
//! Java and JavaScript stack traces, Rust and Go panics), then one-line ones (runtime
//! out-of-memory messages, refused connections, ports in use, permissions, missing files,
//! `Killed`, segmentation faults, `FATAL`). Lines that belong to a stack trace are consumed, so
//! one failure is not reported twice.

use super::extract;
use super::LogLine;

/// What kind of failure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Exception,
    Panic,
    RuntimeOom,
    ConnectionRefused,
    AddressInUse,
    ForkFailed,
    PermissionDenied,
    NoSuchFile,
    Segfault,
    Killed,
    Fatal,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Exception => "exception",
            Kind::Panic => "panic",
            Kind::RuntimeOom => "runtime_oom",
            Kind::ConnectionRefused => "connection_refused",
            Kind::AddressInUse => "address_in_use",
            Kind::ForkFailed => "fork_failed",
            Kind::PermissionDenied => "permission_denied",
            Kind::NoSuchFile => "no_such_file",
            Kind::Segfault => "segfault",
            Kind::Killed => "killed",
            Kind::Fatal => "fatal",
        }
    }
}

/// One occurrence of a signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    /// What occurrences are grouped by: the exception type, the runtime, the message shape.
    pub key: String,
    /// The language or runtime, when known (`Python`, `Java`, …).
    pub lang: &'static str,
    pub message: Option<String>,
    /// The `host:port` or path it concerns.
    pub target: Option<String>,
    /// Indexes of the lines to quote; the last one is where it was reported.
    pub lines: Vec<usize>,
}

/// The findings of a log, and which lines stack traces took.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub findings: Vec<Finding>,
    pub consumed: Vec<bool>,
}

/// Most lines a stack trace may span.
const MAX_TRACE: usize = 200;

fn indented(l: &LogLine) -> bool {
    l.text.starts_with(' ')
}

pub fn scan(lines: &[LogLine]) -> Scan {
    let mut s = Scan {
        findings: Vec::new(),
        consumed: vec![false; lines.len()],
    };
    let mut i = 0;
    while i < lines.len() {
        let next = multi_line(lines, i, &mut s);
        if next > i {
            i = next;
            continue;
        }
        if let Some(mut f) = one_line(&lines[i].text, i) {
            // libpq and others name the server on the lines around the refusal.
            if f.kind == Kind::ConnectionRefused && f.target.is_none() {
                f.target = lines[i.saturating_sub(1)..lines.len().min(i + 3)]
                    .iter()
                    .find_map(|l| extract::connect_target(&l.text));
            }
            s.findings.push(f);
        }
        i += 1;
    }
    s
}

/// Tries each stack-trace shape at `i`; returns the index after the trace, or `i`.
fn multi_line(lines: &[LogLine], i: usize, s: &mut Scan) -> usize {
    let text = lines[i].text.as_str();
    let take = |s: &mut Scan, from: usize, to: usize| {
        for c in &mut s.consumed[from..to] {
            *c = true;
        }
    };
    if text.contains("Traceback (most recent call last):") {
        let mut j = i + 1;
        while j < lines.len() && j - i < MAX_TRACE && indented(&lines[j]) {
            j += 1;
        }
        let Some(exc) = lines.get(j) else {
            return i;
        };
        let (name, message) = extract::exception(&exc.text)
            .unwrap_or_else(|| (exc.text.split(':').next().unwrap_or("").to_string(), None));
        let target = lines[i..=j]
            .iter()
            .rev()
            .find_map(|l| extract::connect_target(&l.text));
        let mut quote = vec![i];
        quote.extend((i + 1..j).skip((j - i - 1).saturating_sub(2)));
        quote.push(j);
        let (kind, key) = if name.ends_with("MemoryError") {
            (Kind::RuntimeOom, "Python".to_string())
        } else {
            (Kind::Exception, name)
        };
        s.findings.push(Finding {
            kind,
            key,
            lang: "Python",
            message,
            target,
            lines: quote,
        });
        take(s, i, j + 1);
        return j + 1;
    }
    if let Some(rest) = text.find("Exception in thread \"").map(|p| &text[p + 21..]) {
        let after = rest.split_once("\" ").map_or("", |(_, a)| a);
        let (mut name, mut message) = extract::exception(after).unwrap_or_default();
        let mut j = i + 1;
        while j < lines.len() && j - i < MAX_TRACE {
            let t = lines[j].text.trim_start();
            if let Some(cause) = t.strip_prefix("Caused by: ") {
                if let Some((n, m)) = extract::exception(cause) {
                    (name, message) = (n, m);
                }
            } else if !(t.starts_with("at ") || t.starts_with("...")) {
                break;
            }
            j += 1;
        }
        let target = message.as_deref().and_then(extract::connect_target);
        let (kind, key) = if name.ends_with("OutOfMemoryError") {
            (Kind::RuntimeOom, "Java".to_string())
        } else {
            (Kind::Exception, name)
        };
        s.findings.push(Finding {
            kind,
            key,
            lang: "Java",
            message,
            target,
            lines: vec![i],
        });
        take(s, i, j);
        return j;
    }
    if let Some(p) = text.find("' panicked at ") {
        let rest = &text[p + 14..];
        // Since Rust 1.73 the message is on the next line; before, it was quoted inline.
        let (location, message, end) = match rest.strip_prefix('\'') {
            Some(q) => {
                let (m, loc) = q.rsplit_once("', ").unwrap_or((q, ""));
                (loc.to_string(), Some(m.to_string()), i + 1)
            }
            None => {
                let next = lines.get(i + 1).map(|l| l.text.clone());
                (rest.trim_end_matches(':').to_string(), next, i + 2)
            }
        };
        let end = end.min(lines.len());
        s.findings.push(Finding {
            kind: Kind::Panic,
            key: location,
            lang: "Rust",
            message,
            target: None,
            lines: (i..end).collect(),
        });
        take(s, i, end);
        return end;
    }
    if let Some(m) = text
        .strip_prefix("panic: ")
        .or_else(|| text.strip_prefix("fatal error: "))
    {
        let mut j = i + 1;
        while j < lines.len() && j - i < MAX_TRACE {
            let t = &lines[j].text;
            let trace = t.is_empty()
                || indented(&lines[j])
                || t.starts_with("goroutine ")
                || t.starts_with("[signal ")
                || t.contains(".go:")
                || t.ends_with(')');
            if !trace {
                break;
            }
            j += 1;
        }
        let oom = m.contains("out of memory");
        s.findings.push(Finding {
            kind: if oom { Kind::RuntimeOom } else { Kind::Panic },
            key: if oom { "Go".into() } else { shape(m) },
            lang: "Go",
            message: Some(m.to_string()),
            target: extract::connect_target(m),
            lines: vec![i],
        });
        take(s, i, j);
        return j;
    }
    // JavaScript (and Java without a thread header): `TypeError: x` followed by `at …` frames.
    if let Some((name, message)) = extract::exception(text.trim_start_matches("Uncaught ")) {
        let framed = lines
            .get(i + 1)
            .is_some_and(|l| l.text.trim_start().starts_with("at "));
        if framed && (name.ends_with("Error") || name.ends_with("Exception")) {
            let mut j = i + 1;
            while j < lines.len()
                && j - i < MAX_TRACE
                && lines[j].text.trim_start().starts_with("at ")
            {
                j += 1;
            }
            let target = message.as_deref().and_then(extract::connect_target);
            s.findings.push(Finding {
                kind: Kind::Exception,
                key: name,
                lang: if text.contains("java.") {
                    "Java"
                } else {
                    "JavaScript"
                },
                message,
                target,
                lines: vec![i],
            });
            take(s, i, j);
            return j;
        }
    }
    i
}

/// The shape of a message for grouping: digits and hex runs folded, so "pid 41" and "pid 42"
/// are one message.
pub fn shape(m: &str) -> String {
    let mut out = String::with_capacity(m.len().min(120));
    let mut in_num = false;
    for c in m.chars().take(120) {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

fn one_line(text: &str, i: usize) -> Option<Finding> {
    let low = text.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| low.contains(n));
    let f = |kind, key: String, target| Finding {
        kind,
        key,
        lang: "",
        message: Some(text.to_string()),
        target,
        lines: vec![i],
    };
    if has(&[
        "outofmemoryerror",
        "out of memory",
        "cannot allocate memory",
        "bad_alloc",
        "oom command not allowed",
    ]) || (low.contains("memory allocation of") && low.contains("failed"))
        || text
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == "MemoryError")
    {
        let runtime = if low.contains("javascript heap") {
            "Node.js"
        } else if low.contains("outofmemoryerror") {
            "Java"
        } else if text.contains("MemoryError") {
            "Python"
        } else if low.contains("memory allocation of") {
            "Rust"
        } else if low.contains("runtime: out of memory") {
            "Go"
        } else if low.contains("bad_alloc") {
            "C++"
        } else if low.contains("oom command not allowed") {
            "Redis"
        } else {
            ""
        };
        return Some(f(Kind::RuntimeOom, runtime.into(), None));
    }
    if has(&["connection refused", "econnrefused"]) {
        let t = extract::connect_target(text);
        return Some(f(Kind::ConnectionRefused, String::new(), t));
    }
    if has(&["address already in use", "eaddrinuse"]) {
        let t = extract::listen_target(text);
        return Some(f(Kind::AddressInUse, String::new(), t));
    }
    if has(&["can't fork", "cannot fork", "fork failed"])
        || (low.contains("resource temporarily unavailable")
            && has(&["fork", "thread", "clone", "spawn"]))
    {
        return Some(f(Kind::ForkFailed, String::new(), None));
    }
    if has(&["permission denied", "eacces", "operation not permitted"]) {
        return Some(f(
            Kind::PermissionDenied,
            String::new(),
            extract::path(text),
        ));
    }
    if has(&["no such file or directory", "enoent"]) {
        return Some(f(Kind::NoSuchFile, String::new(), extract::path(text)));
    }
    if has(&["segmentation fault", "sigsegv"]) {
        return Some(f(Kind::Segfault, String::new(), None));
    }
    let trimmed = text.trim();
    // `Killed`, or a shell's job report: `sh: line 1:    42 Killed    python app.py`.
    let job_killed = (trimmed.ends_with(" Killed") || trimmed.contains(" Killed "))
        && trimmed
            .split_whitespace()
            .any(|w| w.chars().all(|c| c.is_ascii_digit()));
    if trimmed == "Killed" || job_killed {
        return Some(f(Kind::Killed, String::new(), None));
    }
    let fatal_word = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| w == "FATAL");
    if fatal_word || low.contains("fatal error") || low.contains("level=fatal") {
        return Some(f(Kind::Fatal, shape(trimmed), None));
    }
    None
}
