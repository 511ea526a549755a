//! Lines that stand out: each log line is reduced to its template (Drain, through the
//! `logdrain` crate: variable tokens become `<*>`), and lines whose template is rare in the
//! container's own recent log are quoted. A failure often prints something the container
//! never printed before — even when no known signature matches it.

use super::{quote, LogLine, Stream};
use app::wire::Hint;
use logdrain::{builtin_masks, Mask, Miner, Options};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Fewer lines than this say nothing about what is usual.
const MIN_LINES: usize = 20;
/// More than this share of rare lines: the log has no stable shape to stand out from.
const MAX_RARE_SHARE: f64 = 0.2;
const QUOTED: usize = 3;

static OPTIONS: LazyLock<Option<Options>> = LazyLock::new(|| {
    let hex = Mask::new(r"\b0x[0-9a-fA-F]+\b", "<hex>").ok()?;
    // Times and dates inside the text ("12:03:44.120", "2026-11-26") vary on every line.
    let time = Mask::new(r"\b\d[\d:.,\-/T]*\d\b", "<num>").ok()?;
    Miner::builder()
        .sim_threshold(0.5)
        .depth(4)
        .path_delimiters(&['/'])
        .masks([
            builtin_masks::uuid(),
            builtin_masks::ipv4(),
            builtin_masks::hex32(),
            hex,
            time,
        ])
        .build_options()
        .ok()
});

/// The template cluster of each line (same id, same template), or `None` when the miner
/// could not be configured.
pub fn mine<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Vec<u64>> {
    let miner = Miner::from_options(OPTIONS.as_ref()?.clone());
    Some(lines.into_iter().map(|l| miner.add(l).cluster_id).collect())
}

/// A hint quoting the rare lines that no signature explained (`consumed` marks lines a stack
/// trace already took).
pub fn rare_lines(lines: &[LogLine], consumed: &[bool]) -> Option<Hint> {
    let n = lines.len();
    if n < MIN_LINES {
        return None;
    }
    let ids = mine(lines.iter().map(|l| l.text.as_str()))?;
    let mut sizes: HashMap<u64, usize> = HashMap::new();
    for id in &ids {
        *sizes.entry(*id).or_default() += 1;
    }
    let rare_at = (n / 100).max(1);
    let rare: Vec<usize> = (0..n)
        .filter(|i| sizes.get(&ids[*i]).is_some_and(|s| *s <= rare_at))
        .collect();
    if rare.is_empty() || rare.len() as f64 > MAX_RARE_SHARE * n as f64 {
        return None;
    }
    let shown: Vec<usize> = rare
        .iter()
        .copied()
        .filter(|i| !consumed.get(*i).copied().unwrap_or(false) && !lines[*i].text.is_empty())
        .collect();
    let last = *shown.last()?;
    let late = last * 10 >= n * 9;
    let confidence = if late && lines[last].stream == Stream::Stderr {
        0.45
    } else if late {
        0.38
    } else {
        0.3
    };
    let quoted = &shown[shown.len().saturating_sub(QUOTED)..];
    Some(Hint {
        kind: "rare_lines".into(),
        sentence: format!(
            "{} of its last {n} lines have a shape seen nowhere else in its log ({} kinds of \
             line){}: `{}`",
            shown.len(),
            sizes.len(),
            if late { ", the last near the end" } else { "" },
            quote(&lines[last].text, 120)
        ),
        confidence,
        lines: quoted.iter().map(|i| lines[*i].clone()).collect(),
    })
}

#[cfg(test)]
#[path = "templates_tests.rs"]
mod tests;
