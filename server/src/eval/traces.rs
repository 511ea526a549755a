//! Reading traces written by `dockerpulse record` and replaying them through the brain.
//!
//! A trace directory holds one `<container>.csv` per container (columns named by
//! [`crate::record::TRACE_HEADER`], in any order) and `_events.csv` (`ts_ms,container,event`).
//! [`replay`] feeds a trace to a fresh [`ContainerBrain`] exactly as the pipeline would
//! (restarts counted as a start after a death, OOM kills from `oom` events), so recorded real
//! faults can be checked in fast tests without an engine.

use std::path::{Path, PathBuf};

use app::wire::Assessment;

use crate::brain::{BrainConfig, ContainerBrain, Observation};

use super::EvalError;

/// One recorded sample of one container.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceSample {
    pub ts_ms: i64,
    pub cpu_pct: f64,
    pub mem_bytes: f64,
    /// As the engine reports it (the host's memory when the container has no limit).
    pub mem_limit_bytes: f64,
    /// rx + tx bytes/s.
    pub net_bps: f64,
    pub pids: f64,
    /// The CPU quota in % of one core, when the container has one.
    pub cpu_quota_pct: Option<f64>,
}

/// One container's recorded samples, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// Container name (the file name without `.csv`).
    pub name: String,
    pub samples: Vec<TraceSample>,
}

/// One engine event of `_events.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceEvent {
    pub ts_ms: i64,
    pub container: String,
    /// As `LifecycleKind::label` writes it: `start`, `die (exit 137)`, `oom`, ...
    pub event: String,
}

/// A recorded directory: every container's trace and the engine events.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSet {
    pub dir: PathBuf,
    /// Sorted by name.
    pub traces: Vec<Trace>,
    pub events: Vec<TraceEvent>,
}

impl TraceSet {
    pub fn trace(&self, name: &str) -> Option<&Trace> {
        self.traces.iter().find(|t| t.name == name)
    }

    /// The events of one container, oldest first.
    pub fn events_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a TraceEvent> + 'a {
        self.events.iter().filter(move |e| e.container == name)
    }

    /// Time of the container's first event whose label starts with `prefix`.
    pub fn first_event(&self, name: &str, prefix: &str) -> Option<i64> {
        self.events_of(name)
            .find(|e| e.event.starts_with(prefix))
            .map(|e| e.ts_ms)
    }
}

/// Whether `dir` looks like a `dockerpulse record` output (it has `_events.csv`).
pub fn is_trace_dir(dir: &Path) -> bool {
    dir.join("_events.csv").is_file()
}

/// `root` itself when it is a trace directory, else its sub-directories that are, sorted.
pub fn find_trace_dirs(root: &Path) -> Vec<PathBuf> {
    if is_trace_dir(root) {
        return vec![root.to_path_buf()];
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_trace_dir(p))
        .collect();
    dirs.sort();
    dirs
}

/// A CSV file: its header and its rows, each with its line number.
type Table = (Vec<String>, Vec<(usize, Vec<String>)>);

fn read_csv(path: &Path) -> Result<Table, EvalError> {
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| csv_error(path, 0, &e))?;
    let header = rd
        .headers()
        .map_err(|e| csv_error(path, 1, &e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| csv_error(path, i + 2, &e))?;
        rows.push((i + 2, rec.iter().map(|f| f.trim().to_string()).collect()));
    }
    Ok((header, rows))
}

fn csv_error(path: &Path, line: usize, e: &csv::Error) -> EvalError {
    EvalError::Format {
        path: path.to_path_buf(),
        line,
        msg: e.to_string(),
    }
}

/// Reads one container's trace file.
pub fn read_trace(path: &Path) -> Result<Trace, EvalError> {
    let (header, rows) = read_csv(path)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &str| {
        col(name).ok_or_else(|| EvalError::Format {
            path: path.to_path_buf(),
            line: 1,
            msg: format!("no `{name}` column"),
        })
    };
    let (ts, cpu, mem) = (need("ts_ms")?, need("cpu_pct")?, need("mem_bytes")?);
    let (limit, rx, tx, pids, quota) = (
        col("mem_limit_bytes"),
        col("net_rx_bps"),
        col("net_tx_bps"),
        col("pids"),
        col("cpu_quota_pct"),
    );
    let mut samples = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let bad = |what: &str| EvalError::Format {
            path: path.to_path_buf(),
            line,
            msg: format!("bad {what}"),
        };
        let num = |i: Option<usize>| -> Option<f64> {
            i.and_then(|i| row.get(i))
                .and_then(|s| s.parse::<f64>().ok())
        };
        let ts_ms = row
            .get(ts)
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| bad("ts_ms"))?;
        samples.push(TraceSample {
            ts_ms,
            cpu_pct: num(Some(cpu)).ok_or_else(|| bad("cpu_pct"))?,
            mem_bytes: num(Some(mem)).ok_or_else(|| bad("mem_bytes"))?,
            mem_limit_bytes: num(limit).unwrap_or(0.0),
            net_bps: num(rx).unwrap_or(0.0) + num(tx).unwrap_or(0.0),
            pids: num(pids).unwrap_or(0.0),
            cpu_quota_pct: num(quota).filter(|q| *q > 0.0),
        });
    }
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    Ok(Trace { name, samples })
}

/// The containers' trace files of a recorded directory (every `*.csv` but `_events.csv`),
/// sorted by name.
pub fn trace_files(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| EvalError::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()) == Some("csv")
                && p.file_name().and_then(|n| n.to_str()) != Some("_events.csv")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads a trace directory (every `*.csv` but `_events.csv`, and `_events.csv`).
pub fn read_trace_dir(dir: &Path) -> Result<TraceSet, EvalError> {
    let events_path = dir.join("_events.csv");
    let (header, rows) = read_csv(&events_path)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(ts), Some(c), Some(ev)) = (col("ts_ms"), col("container"), col("event")) else {
        return Err(EvalError::Format {
            path: events_path,
            line: 1,
            msg: "expected `ts_ms,container,event`".into(),
        });
    };
    let mut events = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let field = |i: usize| row.get(i).cloned().unwrap_or_default();
        let ts_ms = field(ts).parse().map_err(|_| EvalError::Format {
            path: events_path.clone(),
            line,
            msg: "bad ts_ms".into(),
        })?;
        events.push(TraceEvent {
            ts_ms,
            container: field(c),
            event: field(ev),
        });
    }
    let traces = trace_files(dir)?
        .iter()
        .map(|f| read_trace(f))
        .collect::<Result<_, _>>()?;
    Ok(TraceSet {
        dir: dir.to_path_buf(),
        traces,
        events,
    })
}

/// The brain's observations for a trace, with the container's restarts and OOM kills attached
/// to the first sample at or after each event. `host_cpus` sets the CPU capacity of containers
/// without a quota; `mem_limited` says whether the recorded limit is a real one.
pub fn observations(
    trace: &Trace,
    events: &[TraceEvent],
    host_cpus: u32,
    mem_limited: bool,
) -> Vec<Observation> {
    let mut evs = events
        .iter()
        .filter(|e| e.container == trace.name)
        .peekable();
    let mut died = false;
    trace
        .samples
        .iter()
        .map(|s| {
            let (mut restarts, mut oom_kills) = (0, 0);
            while let Some(e) = evs.next_if(|e| e.ts_ms <= s.ts_ms) {
                if e.event.starts_with("die") {
                    died = true;
                } else if e.event == "start" && died {
                    died = false;
                    restarts += 1;
                } else if e.event == "oom" {
                    oom_kills += 1;
                }
            }
            Observation {
                ts_ms: s.ts_ms,
                cpu_pct: s.cpu_pct,
                cpu_capacity_pct: s
                    .cpu_quota_pct
                    .unwrap_or(f64::from(host_cpus.max(1)) * 100.0),
                cpu_quota: s.cpu_quota_pct.is_some(),
                mem_bytes: s.mem_bytes,
                mem_limit_bytes: (mem_limited && s.mem_limit_bytes > 0.0)
                    .then_some(s.mem_limit_bytes),
                net_bps: s.net_bps,
                pids: s.pids,
                restarts,
                oom_kills,
            }
        })
        .collect()
}

/// Replays one container of a trace set through a fresh brain: `(observation, assessment)` per
/// sample. Every container of the checked-in traces has a real memory limit.
pub fn replay(
    set: &TraceSet,
    name: &str,
    cfg: &BrainConfig,
    host_cpus: u32,
) -> Option<Vec<(Observation, Assessment)>> {
    let trace = set.trace(name)?;
    let mut brain = ContainerBrain::new(cfg);
    Some(
        observations(trace, &set.events, host_cpus, true)
            .into_iter()
            .map(|o| (o, brain.observe(&o)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dp-traces-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tmp dir");
        d
    }

    #[test]
    fn reads_a_recorded_directory_and_attaches_events() {
        let d = tmp("read");
        std::fs::write(
            d.join("_events.csv"),
            "ts_ms,container,event\n900,web,start\n2500,web,oom\n2500,web,die (exit 137)\n\
             3100,web,start\n",
        )
        .expect("write");
        std::fs::write(
            d.join("web.csv"),
            "ts_ms,cpu_pct,mem_bytes,mem_limit_bytes,net_rx_bps,net_tx_bps,blk_read_bps,\
             blk_write_bps,pids,cpu_quota_pct\n\
             1000,1.5,100,1000,10.0,5.0,0,0,3,50.0\n\
             2000,2.5,200,1000,0,0,0,0,3,50.0\n\
             3000,3.5,300,1000,0,0,0,0,3,50.0\n\
             4000,4.5,400,1000,0,0,0,0,3,\n",
        )
        .expect("write");
        assert!(is_trace_dir(&d));
        assert_eq!(find_trace_dirs(&d), vec![d.clone()]);
        let set = read_trace_dir(&d).expect("reads");
        assert_eq!(set.traces.len(), 1);
        let t = set.trace("web").expect("web");
        assert_eq!(t.samples.len(), 4);
        assert_eq!(t.samples[0].net_bps, 15.0);
        assert_eq!(t.samples[3].cpu_quota_pct, None);
        assert_eq!(set.first_event("web", "oom"), Some(2500));
        let obs = observations(t, &set.events, 2, true);
        let kills: Vec<u32> = obs.iter().map(|o| o.oom_kills).collect();
        let restarts: Vec<u32> = obs.iter().map(|o| o.restarts).collect();
        assert_eq!(kills, [0, 0, 1, 0]);
        assert_eq!(restarts, [0, 0, 0, 1]);
        assert_eq!(obs[0].cpu_capacity_pct, 50.0);
        assert_eq!(obs[3].cpu_capacity_pct, 200.0);
        assert_eq!(obs[0].mem_limit_bytes, Some(1000.0));
        let out = replay(&set, "web", &BrainConfig::default(), 2).expect("replays");
        assert_eq!(out.len(), 4);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_missing_column_is_reported() {
        let d = tmp("bad");
        std::fs::write(d.join("_events.csv"), "ts_ms,container,event\n").expect("write");
        std::fs::write(d.join("x.csv"), "ts_ms,mem_bytes\n1,2\n").expect("write");
        let err = read_trace_dir(&d).expect_err("no cpu_pct");
        assert!(err.to_string().contains("cpu_pct"), "{err}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
