//! Counter files kept open between ticks and re-read from offset 0 (what Netdata does), and the
//! budget of file descriptors they may hold.
//!
//! A cgroup or `/proc` file regenerates its content on every read at offset 0, so one `pread`
//! per file per tick replaces open + fstat + read + read + close, and nothing is allocated: every
//! file is read into one scratch buffer the caller reuses. A handle that stops working (the
//! cgroup was removed and made again by a restart: ENODEV, ESTALE, ENOENT) is closed and the file
//! opened again once by its path. When the descriptor budget is spent, files are opened for each
//! read and closed again — slower, never failing.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A read shorter than this ends the file. A longer one may have stopped at the kernel's page of
/// records (a `seq_file` with many lines: `/proc/<pid>/net/dev`), so the next offset is read too.
const SURELY_COMPLETE: usize = 2048;
/// What the scratch buffer starts at: every counter file we read fits, in one `pread`.
pub const SCRATCH_BYTES: usize = 16 * 1024;

/// How many descriptors the cached files may hold at once, process-wide.
#[derive(Debug)]
pub struct FdBudget {
    open: AtomicUsize,
    cap: AtomicUsize,
    warned: AtomicBool,
}

impl FdBudget {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            open: AtomicUsize::new(0),
            cap: AtomicUsize::new(cap),
            warned: AtomicBool::new(false),
        })
    }

    /// Raises this process's soft open-files limit to its hard limit, and allows cached files
    /// half of it: the rest stays for the engine connection, viewers' sockets and the store.
    /// 500 containers hold about 3,500 files; the usual soft limit of 1,024 would not do.
    pub fn for_this_process() -> Arc<Self> {
        let limit = raise_nofile_limit();
        tracing::debug!(limit, cached = limit / 2, "open-files limit");
        Self::new(limit / 2)
    }

    /// Descriptors held now.
    pub fn in_use(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    fn try_take(&self) -> bool {
        let cap = self.cap.load(Ordering::Relaxed);
        let took = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < cap).then_some(n + 1)
            })
            .is_ok();
        if !took {
            self.warn_once(cap);
        }
        took
    }

    fn give_back(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }

    /// The process ran out of descriptors: cache no more than are held now.
    fn spent(&self) {
        let held = self.in_use();
        self.cap.fetch_min(held, Ordering::AcqRel);
        self.warn_once(held);
    }

    fn warn_once(&self, cap: usize) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                cap,
                "open-files budget reached: further cgroup files are opened for each read (slower)"
            );
        }
    }
}

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in force after.
#[cfg(target_os = "linux")]
fn raise_nofile_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct through a pointer to a live local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit struct through a pointer to a live local.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
}

#[cfg(not(target_os = "linux"))]
fn raise_nofile_limit() -> usize {
    1024
}

fn out_of_descriptors(e: &io::Error) -> bool {
    // EMFILE (this process) and ENFILE (the whole system).
    matches!(e.raw_os_error(), Some(24 | 23))
}

/// One counter file: its path, and the handle while the budget allows keeping it open.
#[derive(Debug)]
pub struct StatFile {
    path: PathBuf,
    file: Option<File>,
    budget: Arc<FdBudget>,
}

impl StatFile {
    /// Nothing is opened until the first read.
    pub fn new(path: PathBuf, budget: &Arc<FdBudget>) -> Self {
        Self {
            path,
            file: None,
            budget: Arc::clone(budget),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// The whole file, read into `buf` (grown when too small, never shrunk).
    pub fn read<'b>(&mut self, buf: &'b mut Vec<u8>) -> io::Result<&'b [u8]> {
        let n = self.read_len(buf)?;
        Ok(&buf[..n])
    }

    fn read_len(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        if let Some(file) = &self.file {
            match read_whole(file, buf) {
                Ok(n) => return Ok(n),
                // A stale handle: the cgroup (or process) it pointed to is gone. The path may
                // already name a new one (a restart), so open it again below.
                Err(_) => self.close(),
            }
        }
        let file = File::open(&self.path).inspect_err(|e| {
            if out_of_descriptors(e) {
                self.budget.spent();
            }
        })?;
        let n = read_whole(&file, buf)?;
        if self.budget.try_take() {
            self.file = Some(file);
        }
        Ok(n)
    }

    /// Closes the handle now; the next read opens the file again.
    pub fn close(&mut self) {
        if self.file.take().is_some() {
            self.budget.give_back();
        }
    }
}

impl Drop for StatFile {
    fn drop(&mut self) {
        self.close();
    }
}

/// Reads from offset 0 to the end into `buf`; returns the length.
fn read_whole(file: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.len() < SCRATCH_BYTES {
        buf.resize(SCRATCH_BYTES, 0);
    }
    let mut n = 0;
    loop {
        if n == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let got = match file.read_at(&mut buf[n..], n as u64) {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        n += got;
        if got == 0 || (n < buf.len() && n < SURELY_COMPLETE) {
            return Ok(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dp-statfile-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn keeps_the_handle_and_sees_new_content() {
        let dir = temp_dir("keep");
        let path = dir.join("memory.current");
        fs::write(&path, "1000\n").expect("write");
        let budget = FdBudget::new(10);
        let mut f = StatFile::new(path.clone(), &budget);
        let mut buf = Vec::new();
        assert_eq!(f.read(&mut buf).expect("read"), b"1000\n");
        assert!(f.is_open());
        assert_eq!(budget.in_use(), 1);
        let cap = buf.capacity();
        // Rewritten in place (same inode), as the kernel does for a counter file.
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut w| io::Write::write_all(&mut w, b"2000\n"))
            .expect("rewrite");
        assert_eq!(f.read(&mut buf).expect("read"), b"2000\n");
        assert_eq!(buf.capacity(), cap, "the buffer is reused, not reallocated");
        drop(f);
        assert_eq!(
            budget.in_use(),
            0,
            "dropping the file gives its descriptor back"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn reopens_after_the_file_is_replaced_and_fails_when_gone() {
        let dir = temp_dir("reopen");
        let path = dir.join("cpu.stat");
        fs::write(&path, "usage_usec 1\n").expect("write");
        let budget = FdBudget::new(10);
        let mut f = StatFile::new(path.clone(), &budget);
        let mut buf = Vec::new();
        assert_eq!(f.read(&mut buf).expect("read"), b"usage_usec 1\n");
        // The container restarted: the old file is gone, a new one has the same path. A plain
        // file's old handle still reads the old content, so close it as a stale handle would.
        fs::remove_file(&path).expect("rm");
        fs::write(&path, "usage_usec 2\n").expect("write");
        f.close();
        assert_eq!(f.read(&mut buf).expect("reopened"), b"usage_usec 2\n");
        assert!(f.is_open());
        fs::remove_file(&path).expect("rm");
        f.close();
        let err = f.read(&mut buf).expect_err("gone for good");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!f.is_open());
        assert_eq!(budget.in_use(), 0);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_broken_handle_is_replaced_by_the_path() {
        let dir = temp_dir("broken");
        let path = dir.join("pids.current");
        fs::write(&path, "3\n").expect("write");
        let budget = FdBudget::new(10);
        let mut f = StatFile::new(path.clone(), &budget);
        // A handle that can no longer be read (a directory stands in for a removed cgroup
        // file, whose reads fail with ENODEV).
        f.file = Some(File::open(&dir).expect("open dir"));
        budget.try_take();
        let mut buf = Vec::new();
        assert_eq!(f.read(&mut buf).expect("read through the path"), b"3\n");
        assert!(f.is_open());
        assert_eq!(budget.in_use(), 1);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn over_budget_reads_open_and_close_each_time() {
        let dir = temp_dir("budget");
        let (a, b) = (dir.join("a"), dir.join("b"));
        fs::write(&a, "1\n").expect("write");
        fs::write(&b, "2\n").expect("write");
        let budget = FdBudget::new(1);
        let (mut fa, mut fb) = (StatFile::new(a, &budget), StatFile::new(b, &budget));
        let mut buf = Vec::new();
        assert_eq!(fa.read(&mut buf).expect("a"), b"1\n");
        assert_eq!(fb.read(&mut buf).expect("b"), b"2\n");
        assert!(fa.is_open() && !fb.is_open());
        assert_eq!(fb.read(&mut buf).expect("b again"), b"2\n");
        drop(fa);
        assert_eq!(fb.read(&mut buf).expect("b cached now"), b"2\n");
        assert!(fb.is_open());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_larger_than_the_buffer_are_read_whole() {
        let dir = temp_dir("large");
        let path = dir.join("net_dev");
        let text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        fs::write(&path, &text).expect("write");
        let mut f = StatFile::new(path, &FdBudget::new(1));
        let mut buf = Vec::new();
        assert_eq!(f.read(&mut buf).expect("read"), text.as_bytes());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_nofile_limit();
        assert!(soft >= 1024, "{soft}");
        assert_eq!(raise_nofile_limit(), soft, "idempotent");
    }
}
