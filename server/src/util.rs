//! Small helpers used across modules.

use std::time::Duration;

/// A duration in whole milliseconds, saturating.
pub fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A container name made safe for a file name (names may hold characters unsafe in paths),
/// at most `max` characters.
pub fn fs_safe_name(name: &str, max: usize) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_safe_file_names() {
        assert_eq!(super::fs_safe_name("web/../x y", 40), "web_.._x_y");
        assert_eq!(super::fs_safe_name("abcdef", 3), "abc");
        assert_eq!(super::ms(std::time::Duration::from_secs(2)), 2000);
    }
}
