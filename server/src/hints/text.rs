//! Log text is hostile data: this turns the engine's raw log frames into bounded, printable
//! lines. Invalid UTF-8 is replaced, ANSI escape sequences and other control characters are
//! removed, each line is cut to a cap, and the whole is kept within a line count and a byte
//! budget (the newest lines win). Nothing here interprets the text beyond that.

use super::{LogLine, Stream};
use std::collections::VecDeque;

/// Bounds on what is kept of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub max_lines: usize,
    pub max_bytes: usize,
    pub line_bytes: usize,
}

/// Makes one raw line printable: lossy UTF-8, escape sequences and control characters
/// removed, bidirectional overrides removed (they make text read differently from what it
/// is), a carriage return keeps only what a terminal would show last, and the result is cut
/// to `cap` bytes on a character boundary. Returns the text and whether it was cut.
pub fn clean_line(raw: &[u8], cap: usize) -> (String, bool) {
    let text = String::from_utf8_lossy(raw);
    let visible = strip_escapes(&text);
    // "progress 10%\rprogress 20%": a terminal shows the last segment only.
    let last = visible
        .trim_end_matches('\r')
        .rsplit('\r')
        .next()
        .unwrap_or_default();
    let mut out = String::with_capacity(last.len().min(cap));
    let mut cut = false;
    for c in last.chars() {
        let c = match c {
            '\t' => ' ',
            c if c.is_control() || is_bidi_control(c) => continue,
            c => c,
        };
        if out.len() + c.len_utf8() > cap {
            cut = true;
            break;
        }
        out.push(c);
    }
    (out.trim_end().to_string(), cut)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Removes ANSI/VT escape sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or `ESC \`),
/// the 8-bit CSI, and two-character escapes. An unterminated sequence runs to the end.
fn strip_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\u{1b}' => match it.next() {
                Some('[') => skip_csi(&mut it),
                Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(&mut it),
                // Two-character escape (ESC c, ESC 7, …): both are dropped.
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut it),
            c => out.push(c),
        }
    }
    out
}

fn skip_csi(it: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in it.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
    }
}

fn skip_string(it: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = it.next() {
        if c == '\u{7}' {
            return;
        }
        if c == '\u{1b}' && it.peek() == Some(&'\\') {
            it.next();
            return;
        }
    }
}

/// Parses the engine's timestamp prefix (`2026-11-26T10:32:21.123456789Z `) off a frame.
pub fn split_timestamp(frame: &[u8]) -> (Option<i64>, &[u8]) {
    let Some(sp) = frame.iter().take(40).position(|b| *b == b' ') else {
        return (None, frame);
    };
    let ts = std::str::from_utf8(&frame[..sp])
        .ok()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis());
    match ts {
        Some(ms) => (Some(ms), &frame[sp + 1..]),
        None => (None, frame),
    }
}

/// A line being assembled from frames: the engine splits long lines into several frames.
#[derive(Debug, Default)]
struct Partial {
    ts_ms: Option<i64>,
    buf: Vec<u8>,
    /// More bytes arrived than are kept.
    overflow: bool,
}

/// Turns log frames (one stream at a time, in arrival order) into bounded lines.
#[derive(Debug)]
pub struct Assembler {
    bounds: Bounds,
    lines: VecDeque<LogLine>,
    bytes: usize,
    partial: [Partial; 2],
    /// Lines were dropped or cut.
    pub truncated: bool,
    /// Raw bytes seen (for the record of what was read).
    pub raw_bytes: u64,
}

impl Assembler {
    pub fn new(bounds: Bounds) -> Self {
        Self {
            bounds,
            lines: VecDeque::new(),
            bytes: 0,
            partial: [Partial::default(), Partial::default()],
            truncated: false,
            raw_bytes: 0,
        }
    }

    /// Raw bytes kept per line before cleaning: escape sequences shrink, so keep some slack,
    /// but never more than a small multiple of the cap, however long the line is.
    fn raw_cap(&self) -> usize {
        self.bounds.line_bytes.saturating_mul(4).saturating_add(64)
    }

    /// One frame of `stream`, with the engine's timestamp prefix when `timestamps`.
    pub fn push(&mut self, stream: Stream, frame: &[u8], timestamps: bool) {
        self.raw_bytes += frame.len() as u64;
        let (ts, mut rest) = if timestamps {
            split_timestamp(frame)
        } else {
            (None, frame)
        };
        let idx = usize::from(stream == Stream::Stderr);
        while !rest.is_empty() {
            let (piece, done, tail) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], true, &rest[i + 1..]),
                None => (rest, false, &[][..]),
            };
            let cap = self.raw_cap();
            let p = &mut self.partial[idx];
            if p.buf.is_empty() && !p.overflow {
                p.ts_ms = ts;
            }
            let room = cap.saturating_sub(p.buf.len());
            if piece.len() > room {
                p.overflow = true;
            }
            p.buf.extend_from_slice(&piece[..piece.len().min(room)]);
            if done {
                let p = std::mem::take(&mut self.partial[idx]);
                self.complete(stream, p);
            }
            rest = tail;
        }
    }

    fn complete(&mut self, stream: Stream, p: Partial) {
        let (text, cut) = clean_line(&p.buf, self.bounds.line_bytes);
        let truncated = cut || p.overflow;
        self.truncated |= truncated;
        self.bytes += text.len();
        self.lines.push_back(LogLine {
            ts_ms: p.ts_ms,
            stream,
            text,
            truncated,
        });
        while self.lines.len() > self.bounds.max_lines.max(1) || self.bytes > self.bounds.max_bytes
        {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= old.text.len();
            self.truncated = true;
        }
    }

    /// The lines, oldest first (a line still open at the end counts as complete).
    pub fn finish(mut self) -> Vec<LogLine> {
        for (idx, stream) in [(0, Stream::Stdout), (1, Stream::Stderr)] {
            let p = std::mem::take(&mut self.partial[idx]);
            if !p.buf.is_empty() || p.overflow {
                self.complete(stream, p);
            }
        }
        let mut lines: Vec<LogLine> = self.lines.into();
        // stdout and stderr arrive interleaved; the engine's timestamps give the true order.
        lines.sort_by_key(|l| l.ts_ms.unwrap_or(i64::MIN));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const B: Bounds = Bounds {
        max_lines: 100,
        max_bytes: 4096,
        line_bytes: 64,
    };

    #[test]
    fn escapes_and_controls_are_removed() {
        let (t, cut) = clean_line(
            b"\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x00\x08 tab\there",
            200,
        );
        assert_eq!(t, "red ok tab here");
        assert!(!cut);
        let (t, _) = clean_line("a\u{202E}gnp.exe\u{9b}1mb".as_bytes(), 200);
        assert_eq!(t, "agnp.exeb");
        let (t, _) = clean_line(b"10%\r20%\r30%\r", 200);
        assert_eq!(t, "30%");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_long_lines_cut_on_a_char_boundary() {
        let (t, _) = clean_line(b"bad \xff\xfe byte", 200);
        assert_eq!(t, "bad \u{fffd}\u{fffd} byte");
        let (t, cut) = clean_line("ééééé".as_bytes(), 5);
        assert_eq!((t.as_str(), cut), ("éé", true));
    }

    #[test]
    fn timestamps_are_split_off_and_frames_joined_into_lines() {
        let mut a = Assembler::new(B);
        a.push(
            Stream::Stdout,
            b"2026-11-26T10:32:21.123456789Z hello ",
            true,
        );
        a.push(
            Stream::Stderr,
            b"2026-11-26T10:32:22.000000000Z oops\n",
            true,
        );
        a.push(
            Stream::Stdout,
            b"2026-11-26T10:32:23.000000000Z world\n",
            true,
        );
        let lines = a.finish();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "hello world");
        assert_eq!(lines[0].ts_ms, Some(1_795_689_141_123));
        assert_eq!(lines[1].stream, Stream::Stderr);
        assert_eq!(lines[1].text, "oops");
    }

    #[test]
    fn a_mebibyte_without_a_newline_stays_one_bounded_line() {
        let mut a = Assembler::new(B);
        let chunk = vec![b'<'; 16 * 1024];
        for _ in 0..64 {
            a.push(Stream::Stdout, &chunk, false);
        }
        a.push(Stream::Stdout, b"tail\n", false);
        assert_eq!(a.raw_bytes, 1024 * 1024 + 5);
        let lines = a.finish();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].truncated);
        assert_eq!(lines[0].text.len(), 64);
    }

    #[test]
    fn the_newest_lines_are_kept_within_the_budget() {
        let mut a = Assembler::new(Bounds { max_lines: 3, ..B });
        for i in 0..10 {
            a.push(Stream::Stdout, format!("line {i}\n").as_bytes(), false);
        }
        assert!(a.truncated);
        let lines: Vec<String> = a.finish().into_iter().map(|l| l.text).collect();
        assert_eq!(lines, ["line 7", "line 8", "line 9"]);
    }

    proptest! {
        #[test]
        fn cleaned_lines_are_printable_bounded_and_stable(raw in proptest::collection::vec(any::<u8>(), 0..600), cap in 1usize..300) {
            let (t, _) = clean_line(&raw, cap);
            prop_assert!(t.len() <= cap);
            prop_assert!(!t.chars().any(|c| c.is_control() || is_bidi_control(c)));
            let (again, cut) = clean_line(t.as_bytes(), cap);
            prop_assert_eq!(&again, &t);
            prop_assert!(!cut);
        }

        #[test]
        fn assembled_logs_respect_every_bound(frames in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..60)) {
            let bounds = Bounds { max_lines: 7, max_bytes: 500, line_bytes: 40 };
            let mut a = Assembler::new(bounds);
            for (err, f) in &frames {
                a.push(if *err { Stream::Stderr } else { Stream::Stdout }, f, true);
            }
            let lines = a.finish();
            prop_assert!(lines.len() <= 7);
            prop_assert!(lines.iter().map(|l| l.text.len()).sum::<usize>() <= 500);
            prop_assert!(lines.iter().all(|l| l.text.len() <= 40 && !l.text.contains('\n')));
        }
    }
}
