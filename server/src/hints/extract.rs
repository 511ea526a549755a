//! Pulling names out of failure lines: the `host:port` a connection went to, the address a
//! server tried to listen on, the path an error is about, an exception's type and message.
//! Regular expressions here run on bounded, cleaned lines (linear time in the `regex` crate).

use regex::Regex;
use std::sync::LazyLock;

fn re(p: &str) -> Option<Regex> {
    Regex::new(p).ok()
}

static CONNECT_TARGETS: LazyLock<Vec<Option<Regex>>> = LazyLock::new(|| {
    vec![
        // Node: "connect ECONNREFUSED 127.0.0.1:5432"
        re(r"ECONNREFUSED\s+(\[?[\w.:\-]+\]?:\d{1,5})\b"),
        // Go: "dial tcp 10.0.0.5:6379: connect: connection refused"
        re(r"dial\s+(?:tcp|udp)\w*\s+(\[?[\w.:\-]*\]?:\d{1,5})\b"),
        // libpq: `host "postgres" (172.18.0.2) and accepting TCP/IP connections on port 5432`
        re(r#"(?i)\bhost\s+"?([\w.\-]+)"?.{0,80}?\bport\s+(\d{1,5})\b"#),
        // OpenBSD nc: "connect to db port 5432 (tcp) failed: Connection refused"
        re(r"(?i)\bconnect to ([\w.\-]+) port (\d{1,5})\b"),
        // Python: sock.connect(("postgres", 5432))
        re(r#"\(\s*['"]([\w.\-]+)['"]\s*,\s*(\d{1,5})\s*\)"#),
        // "connecting to redis:6379", "upstream: http://api:8080/"
        re(
            r"(?i)\b(?:connect(?:ing|ed|ion)?|to|at|upstream|backend|server)\b:?\s+(?:to\s+)?(?:[a-z][a-z0-9+]*://)?([a-z][\w\-]*(?:\.[\w\-]+)*|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):(\d{1,5})\b",
        ),
    ]
});

/// A `host:port` that names a letter-first host or an IPv4 address (so `10:32:21` is no target).
static HOST_PORT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)\b([a-z][\w\-]*(?:\.[\w\-]+)*|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):(\d{2,5})\b")
});

static LISTEN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // Go: "listen tcp :8080: bind: address already in use"; nginx: "bind() to 0.0.0.0:80 failed"
    re(r"(?i)\b(?:listen|bind\(\)\s+to|bind)\s+(?:tcp\w*\s+|to\s+)?(\[?[\w.:\-]*\]?:\d{1,5})\b")
});

static PATHS: LazyLock<Vec<Option<Regex>>> = LazyLock::new(|| {
    vec![
        re(r#"['"`](/[^'"`]{1,200})['"`]"#),
        // Go: "open /etc/app.conf: no such file or directory"
        re(
            r"\b(?:open|stat|lstat|read|write|exec|mkdir|chdir|access|unlink|create)\w*\s+(/[^\s:]{1,200})",
        ),
        re(r"(?:^|[\s(])(/[\w.\-/]{1,200})"),
        re(r"(?:^|[\s(])(\./[\w.\-/]{1,200})"),
    ]
});

/// Python / Java / JavaScript exception lines: `pkg.Name: message`.
static EXCEPTION: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?::\s*(.*))?$"));

fn join(c: &regex::Captures<'_>) -> Option<String> {
    let a = c.get(1)?.as_str();
    Some(match c.get(2) {
        Some(port) => format!("{a}:{}", port.as_str()),
        None => a.to_string(),
    })
}

/// The `host:port` a failed connection went to, when the text names it.
pub fn connect_target(text: &str) -> Option<String> {
    CONNECT_TARGETS
        .iter()
        .flatten()
        .chain(HOST_PORT.iter())
        .find_map(|r| r.captures(text).and_then(|c| join(&c)))
}

/// The address a server failed to listen on.
pub fn listen_target(text: &str) -> Option<String> {
    LISTEN
        .as_ref()
        .and_then(|r| r.captures(text))
        .and_then(|c| join(&c))
        .or_else(|| HOST_PORT.as_ref()?.captures(text).and_then(|c| join(&c)))
}

/// The file path an error is about.
pub fn path(text: &str) -> Option<String> {
    PATHS.iter().flatten().find_map(|r| {
        r.captures(text).and_then(|c| c.get(1)).map(|m| {
            m.as_str()
                .trim_end_matches(['.', ',', ':', ';', ')'])
                .to_string()
        })
    })
}

/// `(type, message)` of an exception line such as `KeyError: 'x'` or `java.io.IOException`.
pub fn exception(text: &str) -> Option<(String, Option<String>)> {
    let c = EXCEPTION.as_ref()?.captures(text.trim())?;
    let name = c.get(1)?.as_str().to_string();
    let msg = c
        .get(2)
        .map(|m| m.as_str().trim().to_string())
        .filter(|m| !m.is_empty());
    Some((name, msg))
}

/// Whether every expression here compiled (checked by a test, so a typo cannot hide).
pub fn all_compile() -> bool {
    CONNECT_TARGETS.iter().all(Option::is_some)
        && PATHS.iter().all(Option::is_some)
        && HOST_PORT.is_some()
        && LISTEN.is_some()
        && EXCEPTION.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_expression_compiles() {
        assert!(all_compile());
    }

    #[test]
    fn connection_targets_in_the_wild() {
        let t = |s| connect_target(s);
        assert_eq!(
            t("Error: connect ECONNREFUSED 127.0.0.1:5432").as_deref(),
            Some("127.0.0.1:5432")
        );
        assert_eq!(
            t("dial tcp 10.0.0.5:6379: connect: connection refused").as_deref(),
            Some("10.0.0.5:6379")
        );
        assert_eq!(
            t(r#"Is the server running on host "postgres" (172.18.0.2) and accepting TCP/IP connections on port 5432?"#).as_deref(),
            Some("postgres:5432")
        );
        assert_eq!(
            t(r#"    sock.connect(("postgres", 5432))"#).as_deref(),
            Some("postgres:5432")
        );
        assert_eq!(
            t("connecting to redis:6379 failed: Connection refused").as_deref(),
            Some("redis:6379")
        );
        assert_eq!(
            t("[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: \"http://api:8080/\"").as_deref(),
            Some("api:8080")
        );
        assert_eq!(
            t("nc: connect to db port 5432 (tcp) failed: Connection refused").as_deref(),
            Some("db:5432")
        );
        assert_eq!(t("10:32:21 Connection refused"), None);
    }

    #[test]
    fn listen_addresses_and_paths() {
        assert_eq!(
            listen_target("listen tcp :8080: bind: address already in use").as_deref(),
            Some(":8080")
        );
        assert_eq!(
            listen_target("[emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)")
                .as_deref(),
            Some("0.0.0.0:80")
        );
        assert_eq!(
            path("PermissionError: [Errno 13] Permission denied: '/data/app.db'").as_deref(),
            Some("/data/app.db")
        );
        assert_eq!(
            path("open /etc/app.conf: no such file or directory").as_deref(),
            Some("/etc/app.conf")
        );
        assert_eq!(
            path("sh: can't open /start.sh: No such file").as_deref(),
            Some("/start.sh")
        );
    }

    #[test]
    fn exception_lines() {
        assert_eq!(
            exception("ConnectionRefusedError: [Errno 111] Connection refused"),
            Some((
                "ConnectionRefusedError".into(),
                Some("[Errno 111] Connection refused".into())
            ))
        );
        assert_eq!(
            exception("java.lang.IllegalStateException"),
            Some(("java.lang.IllegalStateException".into(), None))
        );
        assert_eq!(exception("not an exception line"), None);
    }
}
