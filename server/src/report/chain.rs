//! Tamper evidence: each report carries the SHA-256 of its own canonical content and the
//! SHA-256 of the report written before it, so the reports in a directory form a hash chain.
//!
//! The canonical content is the report exactly as written, with every occurrence of its own
//! hash replaced by [`PLACEHOLDER`]. Changing any byte breaks that report's hash; removing or
//! reordering reports breaks the chain; removing the newest ones is caught against the store's
//! record of every report written.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Stands for the report's own hash while the hash is computed.
pub const PLACEHOLDER: &str = "@@DOCKERPULSE-REPORT-SHA256@@";
/// The "previous hash" of the first report in a directory.
pub const GENESIS: &str = "genesis";

const META_SELF: &str = "<meta name=\"dockerpulse:sha256\" content=\"";
const META_PREV: &str = "<meta name=\"dockerpulse:previous-sha256\" content=\"";

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Computes the hash of a rendered report holding [`PLACEHOLDER`]s and fills them in.
pub fn seal(with_placeholder: &str) -> (String, String) {
    let hash = sha256_hex(with_placeholder.as_bytes());
    (with_placeholder.replace(PLACEHOLDER, &hash), hash)
}

fn meta(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The hashes a report declares: its own and its predecessor's.
pub fn declared(html: &str) -> Option<(String, String)> {
    Some((meta(html, META_SELF)?, meta(html, META_PREV)?))
}

/// Recomputes a report's hash from its content.
pub fn recompute(html: &str, declared_self: &str) -> String {
    if declared_self.is_empty() {
        return sha256_hex(html.as_bytes());
    }
    sha256_hex(html.replace(declared_self, PLACEHOLDER).as_bytes())
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// The outcome of checking a directory of reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Intact {
        reports: usize,
    },
    Broken {
        file: PathBuf,
        reason: String,
        checked_ok: usize,
    },
}

/// The report files of a directory in chain order (their names sort by write order).
pub fn report_files(dir: &Path) -> Result<Vec<PathBuf>, ChainError> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "html"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(ChainError::Io(dir.into(), e)),
    };
    files.sort();
    Ok(files)
}

/// The hash the next report must name as its predecessor.
pub fn last_hash(dir: &Path) -> Result<String, ChainError> {
    let Some(last) = report_files(dir)?.pop() else {
        return Ok(GENESIS.into());
    };
    let html = std::fs::read_to_string(&last).map_err(|e| ChainError::Io(last.clone(), e))?;
    Ok(declared(&html).map_or_else(|| GENESIS.into(), |(own, _)| own))
}

/// Checks every report and the links between them; names the first one that does not match.
/// `anchors` (file name, hash) are the reports the store says were written, in order: when
/// given, a report that was removed — even the newest — is caught too.
pub fn verify_dir(dir: &Path, anchors: Option<&[(String, String)]>) -> Result<Verdict, ChainError> {
    let files = report_files(dir)?;
    let mut prev = GENESIS.to_string();
    for (i, file) in files.iter().enumerate() {
        let bytes = std::fs::read(file).map_err(|e| ChainError::Io(file.clone(), e))?;
        let broken = |reason: String| Verdict::Broken {
            file: file.clone(),
            reason,
            checked_ok: i,
        };
        let Ok(html) = String::from_utf8(bytes) else {
            return Ok(broken("not valid UTF-8 (modified?)".into()));
        };
        let Some((own, before)) = declared(&html) else {
            return Ok(broken("no DockerPulse hash metadata".into()));
        };
        let actual = recompute(&html, &own);
        if actual != own {
            return Ok(broken(format!(
                "content does not match its hash (declares {own}, content hashes to {actual})"
            )));
        }
        if before != prev {
            return Ok(broken(format!(
                "names {before} as its predecessor, but the previous report is {prev}"
            )));
        }
        prev = own;
    }
    if let Some(anchors) = anchors {
        for (i, (name, hash)) in anchors.iter().enumerate() {
            let file = dir.join(name);
            let declared_hash = std::fs::read_to_string(&file)
                .ok()
                .and_then(|html| declared(&html))
                .map(|(own, _)| own);
            if declared_hash.as_deref() != Some(hash.as_str()) {
                return Ok(Verdict::Broken {
                    file,
                    reason: match declared_hash {
                        None => "missing: the store records it as written".into(),
                        Some(h) => format!("the store records hash {hash}, the file declares {h}"),
                    },
                    checked_ok: i,
                });
            }
        }
    }
    Ok(Verdict::Intact {
        reports: files.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(prev: &str, body: &str) -> String {
        seal(&format!(
            "<html><head>{META_SELF}{PLACEHOLDER}\"><meta name=\"dockerpulse:previous-sha256\" content=\"{prev}\"></head><body>{body}<p>{PLACEHOLDER}</p></body></html>"
        ))
        .0
    }

    fn chain(dir: &Path, n: usize) -> Vec<PathBuf> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("dir");
        let mut prev = GENESIS.to_string();
        (0..n)
            .map(|i| {
                let html = report(&prev, &format!("report {i}"));
                prev = declared(&html).expect("meta").0;
                let p = dir.join(format!("{i:06}-r.html"));
                std::fs::write(&p, html).expect("write");
                p
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let dir = std::env::temp_dir().join(format!("dp-chain-ok-{}", std::process::id()));
        chain(&dir, 4);
        assert_eq!(
            verify_dir(&dir, None).expect("readable"),
            Verdict::Intact { reports: 4 }
        );
        assert_eq!(last_hash(&dir).expect("readable").len(), 64);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn one_changed_byte_is_caught_at_that_report() {
        let dir = std::env::temp_dir().join(format!("dp-chain-bad-{}", std::process::id()));
        let files = chain(&dir, 4);
        let mut bytes = std::fs::read(&files[2]).expect("read");
        let at = bytes
            .iter()
            .position(|b| *b == b'2')
            .expect("a digit in the body");
        bytes[at] = b'7';
        std::fs::write(&files[2], bytes).expect("write");
        match verify_dir(&dir, None).expect("readable") {
            Verdict::Broken {
                file, checked_ok, ..
            } => {
                assert_eq!(file, files[2]);
                assert_eq!(checked_ok, 2);
            }
            v => panic!("tampering not detected: {v:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_removed_report_breaks_the_link() {
        let dir = std::env::temp_dir().join(format!("dp-chain-gap-{}", std::process::id()));
        let files = chain(&dir, 3);
        std::fs::remove_file(&files[1]).expect("remove");
        assert!(
            matches!(verify_dir(&dir, None).expect("readable"), Verdict::Broken { file, .. } if file == files[2])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
