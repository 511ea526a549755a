//! Cost of one tick's cgroup reads, for the 1 Hz collector: counter files kept open and re-read
//! from offset 0 (what `serve` does) against opened for every read (what it did before, and
//! what it falls back to when out of file descriptors). Reads this process's own cgroup on the
//! real host `containers` times over, so the kernel's side of each read is in the figure.
//!
//!     cargo bench -p server --bench collect

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use dockerpulse::collect::cgroup::files::FdBudget;
use dockerpulse::collect::cgroup::{CgroupFs, ContainerCgroup};
use std::path::Path;

const CONTAINERS: usize = 100;

fn readers(budget: &std::sync::Arc<FdBudget>) -> Option<Vec<ContainerCgroup>> {
    let fs = CgroupFs::detect_with_budget(
        Path::new("/sys/fs/cgroup"),
        Path::new("/proc"),
        budget.clone(),
    )?;
    (0..CONTAINERS)
        .map(|_| fs.locate("-", Some(std::process::id())))
        .collect()
}

fn tick(c: &mut Criterion) {
    let kept = FdBudget::new(usize::MAX);
    let reopened = FdBudget::new(0);
    let (Some(mut kept_open), Some(mut opened_each_time)) = (readers(&kept), readers(&reopened))
    else {
        eprintln!("no readable cgroup for this process here: nothing to measure");
        return;
    };
    let mut scratch = Vec::new();
    let mut g = c.benchmark_group(format!("cgroup tick, {CONTAINERS} containers"));
    g.bench_function("files kept open (pread at 0)", |b| {
        b.iter(|| {
            for r in &mut kept_open {
                let _ = std::hint::black_box(r.read(&mut scratch));
            }
        })
    });
    g.bench_function("files opened for each read", |b| {
        b.iter(|| {
            for r in &mut opened_each_time {
                let _ = std::hint::black_box(r.read(&mut scratch));
            }
        })
    });
    g.bench_function("discovery (locate, once per container start)", |b| {
        b.iter_batched(|| (), |()| readers(&reopened), BatchSize::SmallInput)
    });
    g.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
