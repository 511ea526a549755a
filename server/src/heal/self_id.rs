//! Finding DockerPulse's own container (when it runs in one), so healing never acts on itself.

use std::path::Path;

/// The 64-hex container id DockerPulse runs in, from `/proc/self/cgroup` (cgroup v1 and the
/// systemd driver) or `/proc/self/mountinfo` (cgroup v2, where the cgroup path is `/`).
pub fn detect(proc_root: &Path) -> Option<String> {
    let read = |f: &str| std::fs::read_to_string(proc_root.join("self").join(f)).ok();
    read("cgroup")
        .and_then(|t| find_id(&t))
        .or_else(|| read("mountinfo").and_then(|t| find_id_in_mountinfo(&t)))
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The first 64-hex path segment after `docker` (`/docker/<id>`, `docker-<id>.scope`).
fn find_id(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let path = line.rsplit(':').next()?;
        path.split('/').find_map(|seg| {
            let seg = seg
                .strip_prefix("docker-")
                .map(|s| s.trim_end_matches(".scope"))
                .unwrap_or(seg);
            is_id(seg).then(|| seg.to_string())
        })
    })
}

/// `/var/lib/docker/containers/<id>/hostname` is bind-mounted into every container.
fn find_id_in_mountinfo(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let idx = line.find("/containers/")?;
        let rest = &line[idx + "/containers/".len()..];
        let id = rest.split('/').next()?;
        is_id(id).then(|| id.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    const ID: &str = "4d7748e9b2b51586c3675f79bc40d98e9e979053431b408a150e6ccc053ad008";

    #[test]
    fn finds_the_id_in_v1_systemd_and_v2_layouts() {
        assert_eq!(
            find_id(&format!("12:memory:/docker/{ID}\n")).as_deref(),
            Some(ID)
        );
        assert_eq!(
            find_id(&format!("0::/system.slice/docker-{ID}.scope\n")).as_deref(),
            Some(ID)
        );
        assert_eq!(find_id("0::/\n"), None);
        let mountinfo = format!(
            "1 2 0:1 / / rw - overlay overlay rw\n3 1 8:1 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n"
        );
        assert_eq!(find_id_in_mountinfo(&mountinfo).as_deref(), Some(ID));
        assert_eq!(
            find_id_in_mountinfo("1 2 0:1 / / rw - overlay overlay rw\n"),
            None
        );
    }
}
