//! Small helpers used across modules.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// A map keyed by container id (or name), as the tick loop keeps them: looked up a dozen times
/// per container per tick, so hashed with FxHash rather than SipHash (several times faster on a
/// 64-character id). The keys are the engine's own ids and the names its operator gave, not
/// input from the network, so SipHash's resistance to chosen collisions buys nothing here.
pub type IdMap<V> = HashMap<String, V, rustc_hash::FxBuildHasher>;

/// The ids (or names) present in one tick, borrowed from its readings; hashed as [`IdMap`].
pub type IdSet<'a> = HashSet<&'a str, rustc_hash::FxBuildHasher>;

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

/// Hands memory the process has freed back to the operating system. glibc keeps freed memory
/// in its arenas for reuse, so after a burst of containers comes and goes the memory their state
/// used would stay counted as ours; this returns it (a few milliseconds; run it off the loop).
/// Other allocators (the static build's mimalloc) return memory by themselves.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own heap structures under their locks; it takes
    // no pointers from us and is documented as safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
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
