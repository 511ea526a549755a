//! Parsers of cgroup and `/proc` counter files that work on the bytes as read and allocate
//! nothing: they run for every container every second.

/// Leading and trailing ASCII whitespace removed.
fn trim(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if !first.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !last.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    b
}

/// A decimal number (surrounding whitespace allowed); `None` for anything else, such as the
/// `max` of an unlimited cgroup v2 `memory.max`.
pub fn u64_of(b: &[u8]) -> Option<u64> {
    let b = trim(b);
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        let d = c.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&c| c == b'\n')
}

fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|c| c.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

/// The value of `key` in `key value` lines (memory.stat, cpu.stat).
pub fn keyed(text: &[u8], key: &str) -> Option<u64> {
    let key = key.as_bytes();
    lines(text).find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(b" ")?;
        u64_of(rest)
    })
}

/// Sums `MAJ:MIN Read N` / `MAJ:MIN Write N` lines of blkio.throttle.io_service_bytes_recursive.
pub fn blkio_v1(text: &[u8]) -> (u64, u64) {
    lines(text).fold((0u64, 0u64), |(rd, wr), line| {
        let mut it = fields(line);
        match (it.next(), it.next(), it.next().and_then(u64_of)) {
            (Some(_dev), Some(b"Read"), Some(v)) => (rd.saturating_add(v), wr),
            (Some(_dev), Some(b"Write"), Some(v)) => (rd, wr.saturating_add(v)),
            _ => (rd, wr),
        }
    })
}

/// Sums `rbytes=` and `wbytes=` of cgroup v2 io.stat.
pub fn io_stat_v2(text: &[u8]) -> (u64, u64) {
    fields(text).fold((0u64, 0u64), |(rd, wr), f| {
        if let Some(v) = f.strip_prefix(b"rbytes=").and_then(u64_of) {
            (rd.saturating_add(v), wr)
        } else if let Some(v) = f.strip_prefix(b"wbytes=").and_then(u64_of) {
            (rd, wr.saturating_add(v))
        } else {
            (rd, wr)
        }
    })
}

/// Sums received and transmitted bytes of every interface but loopback (as `docker stats`).
pub fn net_dev(text: &[u8]) -> (u64, u64) {
    lines(text).skip(2).fold((0u64, 0u64), |(rx, tx), line| {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            return (rx, tx);
        };
        let (iface, rest) = (trim(&line[..colon]), &line[colon + 1..]);
        if iface == b"lo" {
            return (rx, tx);
        }
        // Receive bytes is the first column, transmit bytes the ninth.
        let mut cols = fields(rest);
        let r = cols.next().and_then(u64_of);
        let t = cols.nth(7).and_then(u64_of);
        match (r, t) {
            (Some(r), Some(t)) => (rx.saturating_add(r), tx.saturating_add(t)),
            _ => (rx, tx),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_trim_and_refuse_words() {
        assert_eq!(u64_of(b" 42\n"), Some(42));
        assert_eq!(u64_of(b"max\n"), None);
        assert_eq!(u64_of(b""), None);
        assert_eq!(
            u64_of(b"18446744073709551616"),
            None,
            "overflow is not a number"
        );
        assert_eq!(
            u64_of(b"9223372036854771712\n"),
            Some(9_223_372_036_854_771_712)
        );
    }

    #[test]
    fn keyed_finds_whole_keys_only() {
        let stat = b"cache 5\ntotal_inactive_file 300\ninactive_file 7\n";
        assert_eq!(keyed(stat, "inactive_file"), Some(7));
        assert_eq!(keyed(stat, "total_inactive_file"), Some(300));
        assert_eq!(keyed(stat, "rss"), None);
        assert_eq!(
            keyed(b"usage_usec 1500\nuser_usec 1000\n", "usage_usec"),
            Some(1500)
        );
    }

    #[test]
    fn blkio_and_io_stat_sum_per_direction() {
        let v1 = b"8:0 Read 4096\n8:0 Write 100\n8:16 Read 4\n8:0 Sync 9\nTotal 4200\n";
        assert_eq!(blkio_v1(v1), (4100, 100));
        let v2 = b"8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=5 wbytes=0 rios=1 wios=0\n";
        assert_eq!(io_stat_v2(v2), (15, 20));
    }

    #[test]
    fn net_dev_skips_loopback() {
        let text = b"Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n  eth1:7 1 0 0 0 0 0 0 8 1 0 0 0 0 0 0\n";
        assert_eq!(net_dev(text), (1007, 2008));
    }
}
