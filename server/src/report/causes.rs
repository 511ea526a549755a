//! The report's "Probable cause" section: the incident's root-cause hints as rows for the
//! template. The quoted log lines are the container's own text; the template escapes them like
//! every other value, and they are cut and cleaned before they were stored.

use super::render::timestamp;
use app::wire::Diagnosis;
use chrono::FixedOffset;

pub struct LineRow {
    pub when: String,
    pub stream: &'static str,
    pub text: String,
    pub truncated: bool,
}

pub struct HintRow {
    pub kind: String,
    pub confidence: String,
    pub sentence: String,
    pub lines: Vec<LineRow>,
}

pub struct CauseRow {
    pub when: String,
    pub trigger: String,
    /// How much of the log was read, or why it was not.
    pub logs: String,
    pub hints: Vec<HintRow>,
}

/// Rows for the incident's diagnoses, newest first.
pub fn rows(diagnoses: &[Diagnosis], local: FixedOffset) -> Vec<CauseRow> {
    diagnoses
        .iter()
        .map(|d| CauseRow {
            when: timestamp(d.ts_ms, local),
            trigger: d.trigger.clone(),
            logs: match &d.logs.skipped {
                Some(why) => format!("log not read: {why}"),
                None => format!(
                    "{} log lines read ({} bytes){}",
                    d.logs.lines,
                    d.logs.bytes,
                    if d.logs.truncated {
                        ", older or longer lines cut"
                    } else {
                        ""
                    }
                ),
            },
            hints: d
                .hints
                .iter()
                .map(|h| HintRow {
                    kind: h.kind.clone(),
                    confidence: format!("{} ({:.0} %)", h.confidence_word(), h.confidence * 100.0),
                    sentence: h.sentence.clone(),
                    lines: h
                        .lines
                        .iter()
                        .map(|l| LineRow {
                            when: l.ts_ms.map_or_else(String::new, |t| timestamp(t, local)),
                            stream: l.stream.as_str(),
                            text: l.text.clone(),
                            truncated: l.truncated,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
#[path = "causes_tests.rs"]
mod tests;
