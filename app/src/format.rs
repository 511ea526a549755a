//! Human formatting of numbers for the dashboard.

/// `1536` → `1.5 KiB`.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if !b.is_finite() || b <= 0.0 {
        return "0 B".into();
    }
    let mut v = b;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} {}", UNITS[u])
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// Bytes per second.
pub fn rate(bps: f64) -> String {
    format!("{}/s", bytes(bps))
}

/// `12.345` → `12.3 %` (`0.0 %` for non-finite input).
pub fn pct(p: f64) -> String {
    if p.is_finite() {
        format!("{p:.1} %")
    } else {
        "0.0 %".into()
    }
}

/// Seconds as `45 s`, `3 min`, `2 h`.
pub fn duration_s(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        "—".into()
    } else if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// Epoch milliseconds as `2026-11-26 10:32:21 UTC` (no time-zone database in the browser
/// bundle; UTC is unambiguous for a shared screen).
pub fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_well() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(64.0 * 1024.0 * 1024.0), "64 MiB");
        assert_eq!(bytes(f64::NAN), "0 B");
        assert_eq!(pct(99.94), "99.9 %");
        assert_eq!(duration_s(7.2), "7 s");
        assert_eq!(duration_s(600.0), "10 min");
        assert_eq!(clock(1_795_689_141_184), "2026-11-26 10:32:21 UTC");
        assert_eq!(clock(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(clock(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
