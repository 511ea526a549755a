//! The wall clock, read in one place. Pure modules (the brain, the healing policy, the incident
//! tracker) never call it: time reaches them as a field of what they are given.

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
