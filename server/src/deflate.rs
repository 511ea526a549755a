//! Raw deflate (RFC 1951) for JSON that repeats the same keys for every container and shrinks
//! several times: agents' ticks to their hub, and the whole-fleet messages a joining viewer gets
//! (see [`crate::hub`]). Inflating is capped, so a small message cannot expand into a huge one.

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use std::io::{Read, Write};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InflateError {
    #[error("not deflate data: {0}")]
    Corrupt(String),
    #[error("inflates to more than {0} bytes")]
    TooLarge(usize),
}

/// Deflates `text` (fast level: this runs every second on every node).
pub fn deflate(text: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut e = DeflateEncoder::new(Vec::with_capacity(text.len() / 4), Compression::fast());
    e.write_all(text)?;
    e.finish()
}

/// Inflates `data`, refusing output over `max` bytes.
pub fn inflate(data: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(max));
    let read = DeflateDecoder::new(data)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| InflateError::Corrupt(e.to_string()))?;
    if read > max {
        return Err(InflateError::TooLarge(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn what_is_deflated_inflates_back(text in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let d = deflate(&text).expect("deflates");
            prop_assert_eq!(inflate(&d, 4096).expect("inflates"), text);
        }
    }

    #[test]
    fn a_bomb_is_refused_and_garbage_is_an_error() {
        let zeros = vec![0u8; 1 << 20];
        let d = deflate(&zeros).expect("deflates");
        assert!(d.len() < 16 << 10, "a MiB of zeros deflates to little");
        assert_eq!(inflate(&d, 1000), Err(InflateError::TooLarge(1000)));
        let garbage = inflate(b"\xff\xff not deflate", 1000);
        assert!(
            matches!(garbage, Err(InflateError::Corrupt(_))),
            "{garbage:?}"
        );
    }
}
