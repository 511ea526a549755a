//! Tests of cgroup discovery and of reading through kept-open handles, on fake hierarchies.

use super::*;

pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dp-cg-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

/// A cgroup v2 host with one container (systemd driver) whose main process is pid 42.
pub(crate) fn fake_v2(dir: &Path) -> PathBuf {
    let cg = dir.join("sys/system.slice/docker-abc.scope");
    write(&dir.join("sys/cgroup.controllers"), "cpu memory io pids\n");
    write(&cg.join("cpu.stat"), "usage_usec 1500\nuser_usec 1000\n");
    write(&cg.join("memory.current"), "1000\n");
    write(&cg.join("memory.stat"), "anon 700\ninactive_file 300\n");
    write(&cg.join("memory.max"), "max\n");
    write(&cg.join("pids.current"), "3\n");
    write(
        &dir.join("proc/42/cgroup"),
        "0::/system.slice/docker-abc.scope\n",
    );
    write(
        &dir.join("proc/42/net/dev"),
        "h1\nh2\n  eth0: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n",
    );
    cg
}

/// A cgroup v1 host (cgroupfs driver), controllers mounted apart, cpu and cpuacct together.
fn fake_v1(dir: &Path) {
    let sys = dir.join("sys");
    write(&sys.join("cpu,cpuacct/docker/abc/cpuacct.usage"), "5000\n");
    write(
        &sys.join("memory/docker/abc/memory.usage_in_bytes"),
        "1000\n",
    );
    write(
        &sys.join("memory/docker/abc/memory.stat"),
        "cache 400\ntotal_inactive_file 250\n",
    );
    write(
        &sys.join("memory/docker/abc/memory.limit_in_bytes"),
        "67108864\n",
    );
    write(
        &sys.join("blkio/docker/abc/blkio.throttle.io_service_bytes_recursive"),
        "8:0 Read 4096\n8:0 Write 100\nTotal 4196\n",
    );
    write(&sys.join("pids/docker/abc/pids.current"), "2\n");
}

#[test]
fn proc_cgroup_v1_and_v2_lines() {
    let v1 = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
    let m = parse_proc_cgroup(v1);
    assert_eq!(m.get("memory").map(String::as_str), Some("/docker/abc"));
    assert_eq!(m.get("cpuacct").map(String::as_str), Some("/docker/abc"));
    let v2 = "0::/system.slice/docker-abc.scope\n";
    assert_eq!(
        parse_proc_cgroup(v2).get("").map(String::as_str),
        Some("/system.slice/docker-abc.scope")
    );
}

#[test]
fn fake_v2_hierarchy_reads_like_the_cli() {
    let dir = temp_dir("v2");
    let cg = fake_v2(&dir);
    let fsys = CgroupFs::detect(&dir.join("sys"), &dir.join("proc")).expect("v2 detected");
    assert_eq!(fsys.version(), Version::V2);
    let mut c = fsys
        .locate("abc", None)
        .expect("located by systemd-driver path");
    let mut buf = Vec::new();
    let r = c.read(&mut buf).expect("readable");
    assert_eq!(r.counters.cpu_ns, 1_500_000);
    assert_eq!(r.mem_bytes, 700);
    assert_eq!(r.mem_limit_bytes, None);
    assert_eq!(r.pids, 3);
    assert_eq!(r.counters.net_rx_bytes, 0, "no pid, no network namespace");
    assert!(fsys.locate("nope", None).is_none());

    write(&cg.join("memory.max"), "4096\n");
    let mut by_pid = fsys.locate("abc", Some(42)).expect("located by pid");
    let r = by_pid.read(&mut buf).expect("readable");
    assert_eq!(r.mem_limit_bytes, Some(4096));
    assert_eq!((r.counters.net_rx_bytes, r.counters.net_tx_bytes), (10, 20));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn fake_v1_hierarchy_reads_like_the_cli() {
    let dir = temp_dir("v1");
    fake_v1(&dir);
    let fsys = CgroupFs::detect(&dir.join("sys"), &dir.join("proc")).expect("v1 detected");
    assert_eq!(fsys.version(), Version::V1);
    let mut c = fsys.locate("abc", None).expect("located by cgroupfs path");
    let r = c.read(&mut Vec::new()).expect("readable");
    assert_eq!(r.counters.cpu_ns, 5000);
    assert_eq!(r.mem_bytes, 750);
    assert_eq!(r.mem_limit_bytes, Some(64 << 20));
    assert_eq!(
        (r.counters.blk_read_bytes, r.counters.blk_write_bytes),
        (4096, 100)
    );
    assert_eq!(r.pids, 2);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn handles_stay_open_between_reads_and_close_with_the_container() {
    let dir = temp_dir("handles");
    let cg = fake_v2(&dir);
    let budget = FdBudget::new(100);
    let fsys = CgroupFs::detect_with_budget(&dir.join("sys"), &dir.join("proc"), budget.clone())
        .expect("v2");
    let mut c = fsys.locate("abc", Some(42)).expect("located");
    assert_eq!(
        budget.in_use(),
        0,
        "nothing is opened before the first read"
    );
    let mut buf = Vec::new();
    c.read(&mut buf).expect("first read");
    // cpu.stat, memory.current, memory.stat, memory.max, pids.current, net/dev (no io.stat).
    assert_eq!(fsys.open_files(), 6);
    let cap = buf.capacity();

    // Rewritten in place, as the kernel updates a counter: the open handle sees the new value.
    fs::OpenOptions::new()
        .write(true)
        .open(cg.join("cpu.stat"))
        .and_then(|mut f| io::Write::write_all(&mut f, b"usage_usec 2500\n"))
        .expect("rewrite");
    let r = c.read(&mut buf).expect("second read");
    assert_eq!(r.counters.cpu_ns, 2_500_000);
    assert_eq!(fsys.open_files(), 6, "no file opened twice");
    assert_eq!(buf.capacity(), cap, "one buffer for every file, every tick");

    drop(c);
    assert_eq!(
        budget.in_use(),
        0,
        "a container going away closes its files"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_removed_cgroup_fails_the_read_closes_everything_and_a_new_one_is_read() {
    let dir = temp_dir("restart");
    let cg = fake_v2(&dir);
    let budget = FdBudget::new(100);
    let fsys = CgroupFs::detect_with_budget(&dir.join("sys"), &dir.join("proc"), budget.clone())
        .expect("v2");
    let mut c = fsys.locate("abc", Some(42)).expect("located");
    let mut buf = Vec::new();
    c.read(&mut buf).expect("first read");
    // The container stops: its cgroup goes. (On a real cgroup file system the open handles then
    // fail with ENODEV; on this plain one they would still read the unlinked files, so close
    // them as a failed read does, to make the next read go through the paths.)
    fs::remove_dir_all(&cg).expect("rm cgroup");
    c.close();
    assert_eq!(budget.in_use(), 0);
    assert!(c.read(&mut buf).is_err(), "gone");
    assert_eq!(budget.in_use(), 0, "a failed read holds nothing");
    // It starts again under the same path: the same reader picks the new files up.
    fake_v2(&dir);
    write(&cg.join("cpu.stat"), "usage_usec 7\n");
    let r = c.read(&mut buf).expect("reopened");
    assert_eq!(r.counters.cpu_ns, 7000);
    assert_eq!(budget.in_use(), 6);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn out_of_budget_containers_are_still_read() {
    let dir = temp_dir("budget");
    fake_v1(&dir);
    let budget = FdBudget::new(3);
    let fsys = CgroupFs::detect_with_budget(&dir.join("sys"), &dir.join("proc"), budget.clone())
        .expect("v1");
    let mut a = fsys.locate("abc", None).expect("a");
    let mut b = fsys.locate("abc", None).expect("b");
    let mut buf = Vec::new();
    for _ in 0..3 {
        assert_eq!(a.read(&mut buf).expect("a").counters.cpu_ns, 5000);
        assert_eq!(b.read(&mut buf).expect("b").counters.cpu_ns, 5000);
        assert_eq!(budget.in_use(), 3, "never more than the budget");
    }
    drop(a);
    assert_eq!(budget.in_use(), 0);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn memory_stat_and_limit_are_read_again_only_when_they_may_have_changed() {
    let dir = temp_dir("slow");
    let cg = fake_v2(&dir);
    write(&cg.join("memory.current"), "1000000\n");
    write(&cg.join("memory.stat"), "inactive_file 300000\n");
    let fsys = CgroupFs::detect(&dir.join("sys"), &dir.join("proc")).expect("v2");
    let mut c = fsys.locate("abc", None).expect("located");
    let mut buf = Vec::new();
    let mut mem = |c: &mut ContainerCgroup| c.read(&mut buf).expect("read").mem_bytes;
    assert_eq!(mem(&mut c), 700_000, "read 1: everything is read");

    // The cache turns over while usage stands still: not seen until the tenth read.
    write(&cg.join("memory.stat"), "inactive_file 100000\n");
    assert_eq!(mem(&mut c), 700_000, "read 2");
    // A move of less than 1/256 of usage does not make memory.stat be read either.
    write(&cg.join("memory.current"), "1000100\n");
    assert_eq!(mem(&mut c), 700_100, "read 3");
    // A larger one does.
    write(&cg.join("memory.current"), "1100000\n");
    assert_eq!(mem(&mut c), 1_000_000, "read 4");
    write(&cg.join("memory.stat"), "inactive_file 200000\n");
    for read in 5..=10 {
        assert_eq!(mem(&mut c), 1_000_000, "read {read}");
    }
    assert_eq!(
        mem(&mut c),
        900_000,
        "read 11: the tenth since the last full read"
    );

    // A new limit (`docker update`) is read when the reader is told to.
    write(&cg.join("memory.max"), "1200000\n");
    let r = c.read(&mut buf).expect("read");
    assert_eq!(r.mem_limit_bytes, None, "not yet");
    c.refresh();
    let r = c.read(&mut buf).expect("read");
    assert_eq!(r.mem_limit_bytes, Some(1_200_000));
    // Usage within 10 % of the limit: memory.stat is read every time (reclaim at work).
    write(&cg.join("memory.stat"), "inactive_file 50000\n");
    assert_eq!(c.read(&mut buf).expect("read").mem_bytes, 1_050_000);
    let _ = fs::remove_dir_all(&dir);
}
