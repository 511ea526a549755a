//! Known failure signatures as hints: occurrences of the same failure (same kind, type and
//! target) are grouped, counted and timed, and said in one sentence with the lines quoted.

use super::scan::{Finding, Kind};
use super::{quote, times_phrase, LogLine};
use app::wire::Hint;

pub use super::scan::{scan, Scan};

/// Occurrences of one failure.
struct Group<'a> {
    first: &'a Finding,
    last: &'a Finding,
    count: usize,
}

fn group(findings: &[Finding]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for f in findings {
        let same = |g: &&mut Group<'_>| {
            g.first.kind == f.kind && g.first.key == f.key && g.first.target == f.target
        };
        match groups.iter_mut().find(same) {
            Some(g) => {
                g.last = f;
                g.count += 1;
            }
            None => groups.push(Group {
                first: f,
                last: f,
                count: 1,
            }),
        }
    }
    groups
}

/// Base confidence that a failure of this kind explains a container's death.
fn base(kind: Kind) -> f64 {
    match kind {
        Kind::RuntimeOom => 0.9,
        Kind::Panic => 0.88,
        Kind::Exception => 0.82,
        Kind::AddressInUse => 0.85,
        Kind::ConnectionRefused => 0.78,
        Kind::ForkFailed => 0.75,
        Kind::Segfault => 0.75,
        Kind::Fatal => 0.7,
        Kind::PermissionDenied => 0.65,
        Kind::Killed => 0.6,
        Kind::NoSuchFile => 0.55,
    }
}

fn sentence(f: &Finding, times: &str) -> String {
    let target = f.target.as_deref();
    let msg = f.message.as_deref().map(|m| quote(m, 100));
    match f.kind {
        Kind::Exception => {
            let what = match (&msg, target) {
                // The message adds nothing when it only repeats the refusal.
                (Some(m), Some(_)) if m.to_lowercase().contains("refused") => {
                    format!("`{}`", f.key)
                }
                (Some(m), _) => format!("`{}: {m}`", f.key),
                (None, _) => format!("`{}`", f.key),
            };
            let to = target.map_or(String::new(), |t| format!(" connecting to {t}"));
            format!("{} raised {what}{to}, {times}", f.lang)
        }
        Kind::Panic => match (f.lang, &msg) {
            ("Rust", Some(m)) => format!("Rust panicked at {}: `{m}`, {times}", f.key),
            (_, Some(m)) => format!("{} panicked: `{m}`, {times}", f.lang),
            _ => format!("{} panicked, {times}", f.lang),
        },
        Kind::RuntimeOom => {
            let who = if f.key.is_empty() {
                "A process".to_string()
            } else {
                format!("The {} runtime", f.key)
            };
            format!(
                "{who} ran out of memory ({times}): `{}`",
                msg.unwrap_or_default()
            )
        }
        Kind::ConnectionRefused => match target {
            Some(t) => format!(
                "Connections to {t} were refused, {times}: nothing was listening there (the \
                 service is down or not ready yet, or the address is wrong)"
            ),
            None => format!(
                "Connections were refused, {times}: a service it depends on was not listening"
            ),
        },
        Kind::AddressInUse => format!(
            "It could not listen on {}: the address is already in use ({times}), by another \
             process or a second copy of itself",
            target.unwrap_or("its port")
        ),
        Kind::ForkFailed => format!(
            "It could not start new processes or threads, {times}: the PIDs limit or a thread \
             limit was reached"
        ),
        Kind::PermissionDenied => format!(
            "Permission was denied on {}, {times}: the owner or mode does not let the \
             container's user in",
            target.unwrap_or("a file or operation")
        ),
        Kind::NoSuchFile => format!(
            "A path it needs does not exist: {} (`No such file or directory`, {times})",
            target.unwrap_or("see the line quoted")
        ),
        Kind::Segfault => format!("A process crashed with a segmentation fault, {times}"),
        Kind::Killed => format!(
            "A process in the container was killed with SIGKILL (the shell printed `Killed`, \
             {times})"
        ),
        Kind::Fatal => format!(
            "It logged a fatal error, {times}: `{}`",
            msg.unwrap_or_default()
        ),
    }
}

/// Hints for the findings. `failed`: the process died unexpectedly, so failures reported at
/// the end of its log are the likeliest explanation.
pub fn hints(scan: &Scan, lines: &[LogLine], end_ms: Option<i64>, failed: bool) -> Vec<Hint> {
    let n = lines.len();
    group(&scan.findings)
        .into_iter()
        .map(|g| {
            let ts = |f: &Finding| f.lines.last().and_then(|i| lines.get(*i)?.ts_ms);
            let times = times_phrase(g.count, ts(g.first), end_ms.or(ts(g.last)));
            let last_at = g.last.lines.last().copied().unwrap_or(0);
            let mut confidence = base(g.first.kind);
            if failed && last_at + 15 >= n {
                confidence += 0.06;
            }
            if g.count >= 3 {
                confidence += 0.03;
            }
            if !failed {
                // Still running (or ended cleanly): a logged failure is context, not a cause.
                confidence *= 0.75;
            }
            // The first occurrence's line, then the whole of the last one (nearest the end).
            let mut idx: Vec<usize> = match (g.count, g.first.lines.last()) {
                (c, Some(i)) if c > 1 => vec![*i],
                _ => Vec::new(),
            };
            idx.extend(&g.last.lines);
            idx.dedup();
            let idx = &idx[idx.len().saturating_sub(super::MAX_LINES_PER_HINT)..];
            Hint {
                kind: g.first.kind.as_str().into(),
                sentence: sentence(g.last, &times),
                confidence,
                lines: idx.iter().filter_map(|i| lines.get(*i).cloned()).collect(),
            }
        })
        .collect()
}
