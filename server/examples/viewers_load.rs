//! Load program for the server: N websocket viewers watch a running DockerPulse's fleet view for
//! S seconds, reading each message as the page does (whole-fleet messages inflated). Prints per-viewer tick counts (fleet messages: changes or the whole fleet), the
//! delivery lag (receive time − tick timestamp), bytes per second per viewer (the snapshot
//! included) and the server's CPU and memory over the run (from /proc, when the server runs on
//! this machine). `scripts/bench_viewers.sh CONTAINERS VIEWERS SECONDS` starts a demo fleet of
//! the given size and runs this against it.
//!
//!   cargo run --release -p server --example viewers_load -- ws://127.0.0.1:3000/ws 100 30 [SERVER_PID]

use futures_util::StreamExt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// (utime + stime in clock ticks, resident set in KiB) of a process.
fn proc_usage(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks, rss))
}

struct Viewer {
    frames: u64,
    bytes: u64,
    /// Bytes of joining (the whole fleet and the sparklines), and when joining ended.
    join_bytes: u64,
    joined_at: Option<Instant>,
    /// Each tick's delivery lag (ms) and when it arrived.
    lags: Vec<(Instant, i64)>,
    /// Each tick's timestamp, in arrival order (a gap of two seconds or more is a missed tick).
    ticks: Vec<i64>,
}

async fn view(url: String, secs: u64) -> Result<Viewer, String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .map_err(|e| e.to_string())?;
    let mut v = Viewer {
        frames: 0,
        bytes: 0,
        join_bytes: 0,
        joined_at: None,
        lags: Vec::new(),
        ticks: Vec::new(),
    };
    let end = Instant::now() + Duration::from_secs(secs);
    while let Ok(Some(msg)) = tokio::time::timeout_at(end.into(), ws.next()).await {
        // Bytes as they travel; whole-fleet messages come deflated and are inflated, as the
        // page does.
        let text = match msg {
            Ok(Message::Text(text)) => {
                v.bytes += text.len() as u64;
                text.to_string()
            }
            Ok(Message::Binary(data)) => {
                v.bytes += data.len() as u64;
                dockerpulse::hub::text_of_binary(&data).map_err(|e| e.to_string())?
            }
            // Past the server's viewer caps: it says why (raise `[viewers]` for this bench).
            Ok(Message::Close(Some(f))) => return Err(format!("closed: {} {}", f.code, f.reason)),
            _ => continue,
        };
        if text.starts_with("{\"type\":\"sparks\"") {
            v.join_bytes = v.bytes;
            v.joined_at = Some(Instant::now());
        }
        // A tick ends with its last part (no `"more":true`, which comes last in the message).
        if !text.starts_with("{\"type\":\"fleet\"") || text.ends_with("\"more\":true}") {
            continue;
        }
        // The tick's timestamp is near the start: avoid parsing the whole message.
        if let Some(ts) = text
            .split("\"ts_ms\":")
            .nth(1)
            .and_then(|r| r.split([',', '}']).next())
            .and_then(|n| n.parse::<i64>().ok())
        {
            v.frames += 1;
            v.lags.push((Instant::now(), now_ms() - ts));
            v.ticks.push(ts);
        }
    }
    Ok(v)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:3000/ws".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let secs: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(30);
    let pid: Option<u32> = args.get(4).and_then(|s| s.parse().ok());
    let before = pid.and_then(proc_usage);
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| tokio::spawn(view(url.clone(), secs)))
        .collect();
    let mut viewers = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(v)) => viewers.push(v),
            Ok(Err(e)) => eprintln!("viewer failed: {e}"),
            Err(e) => eprintln!("viewer task failed: {e}"),
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let after = pid.and_then(proc_usage);
    let mut lags: Vec<i64> = viewers
        .iter()
        .flat_map(|v| v.lags.iter().map(|l| l.1))
        .collect();
    lags.sort_unstable();
    // Once every viewer has joined: the fan-out alone, without the joins' bytes ahead of ticks.
    let all_joined = viewers.iter().filter_map(|v| v.joined_at).max();
    let mut settled: Vec<i64> = viewers
        .iter()
        .flat_map(|v| v.lags.iter())
        .filter(|l| all_joined.is_some_and(|t| l.0 > t))
        .map(|l| l.1)
        .collect();
    settled.sort_unstable();
    let frames: Vec<u64> = viewers.iter().map(|v| v.frames).collect();
    // Steps between the ticks a viewer got: the median is the server's tick interval, and a step
    // of several intervals is ticks skipped.
    let mut steps: Vec<i64> = viewers
        .iter()
        .flat_map(|v| v.ticks.windows(2).map(|w| w[1] - w[0]))
        .collect();
    steps.sort_unstable();
    let interval = percentile(&steps, 0.5).max(1);
    let missed: i64 = steps
        .iter()
        .map(|d| ((d + interval / 2) / interval - 1).max(0))
        .sum();
    let widest = steps.last().copied().unwrap_or(0);
    let bytes: u64 = viewers.iter().map(|v| v.bytes).sum();
    let join: u64 = viewers.iter().map(|v| v.join_bytes).sum();
    // After joining, per viewer: bytes over the time it watched.
    let steady: Vec<f64> = viewers
        .iter()
        .filter_map(|v| {
            let watched =
                (started + Duration::from_secs(secs)).saturating_duration_since(v.joined_at?);
            (watched.as_secs_f64() > 1.0)
                .then(|| (v.bytes - v.join_bytes) as f64 / watched.as_secs_f64())
        })
        .collect();
    let steady_kib = steady.iter().sum::<f64>() / steady.len().max(1) as f64 / 1024.0;
    println!("viewers: {} of {n} connected for {secs} s", viewers.len());
    println!(
        "ticks per viewer: min {} max {}; {:.1} MiB received in all ({:.0} KiB/s per viewer)",
        frames.iter().min().unwrap_or(&0),
        frames.iter().max().unwrap_or(&0),
        bytes as f64 / 1048576.0,
        bytes as f64 / 1024.0 / wall / viewers.len().max(1) as f64
    );
    println!(
        "ticks missed by any viewer: {missed} in all (tick interval {interval} ms; widest step between two ticks a viewer got: {widest} ms)"
    );
    println!(
        "joining: {:.0} KiB per viewer (whole fleet + sparklines); after joining: {:.1} KiB/s per viewer",
        join as f64 / 1024.0 / viewers.len().max(1) as f64,
        steady_kib
    );
    println!(
        "delivery lag (receive − frame time): p50 {} ms, p99 {} ms, max {} ms",
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().unwrap_or(&0)
    );
    if let Some(t) = all_joined {
        println!(
            "  after the last viewer joined ({:.1} s in): p50 {} ms, p99 {} ms, max {} ms over {} deliveries",
            t.saturating_duration_since(started).as_secs_f64(),
            percentile(&settled, 0.5),
            percentile(&settled, 0.99),
            settled.last().unwrap_or(&0),
            settled.len()
        );
    }
    if let (Some((t0, _)), Some((t1, rss))) = (before, after) {
        let hz = 100.0; // USER_HZ on Linux
        println!(
            "server: {:.1} % of one core over the run, resident memory {:.1} MiB at the end",
            (t1 - t0) as f64 / hz / wall * 100.0,
            rss as f64 / 1024.0
        );
    }
    Ok(())
}
