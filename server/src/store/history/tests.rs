//! Round trips, the ring's wrap-around, `since`/`recent` boundaries, gaps, and the rounding
//! bound of every field.

use super::point::{self, *};
use super::*;
use app::wire::{Assessment, Forecast, RiskLevel, Sample, ZScores};
use proptest::prelude::*;

fn pt(ts_ms: i64, x: f64) -> HistoryPoint {
    let a = Assessment {
        ts_ms,
        cpu: Forecast {
            value: x,
            lo95: x - 3.5,
            hi95: x + 4.2,
            lo80: x - 2.0,
            hi80: x + 2.5,
            ..Forecast::default()
        },
        mem: Forecast {
            value: 65_536.0 * 1_600.0,
            ..Forecast::default()
        },
        z: ZScores {
            cpu: 1.5,
            mem: -0.3,
            net: 0.0,
            pids: 3.0,
        },
        failure_probability: 12.5,
        level: RiskLevel::Medium,
        ..Assessment::default()
    };
    // On every field's steps (rates are on a logarithmic scale: see `rate_steps_are_relative`).
    point::rounded(&HistoryPoint::new(
        Sample {
            ts_ms,
            cpu_pct: x,
            mem_bytes: 100_000_000 + ts_ms as u64 % 7_919,
            mem_limit_bytes: 512 << 20,
            net_rx_bps: 1001.0,
            net_tx_bps: x * 2.0,
            blk_read_bps: 0.0,
            blk_write_bps: 4096.0,
            pids: 12,
        },
        Some(&a),
    ))
}

fn ts(h: &History) -> Vec<i64> {
    h.iter().map(|p| p.sample.ts_ms).collect()
}

#[test]
fn round_trip_is_exact_for_values_on_the_steps() {
    let mut h = History::new(10_000);
    let pts: Vec<HistoryPoint> = (0..1000)
        .map(|i| pt(i * 1000, (i % 97) as f64 * 0.5))
        .collect();
    for p in &pts {
        h.push(*p);
    }
    assert_eq!(h.len(), 1000);
    assert_eq!(h.iter().collect::<Vec<_>>(), pts);
    assert_eq!(h.last(), pts.last());
}

#[test]
fn ring_wraps_around_across_chunks() {
    let cap = CHUNK * 2 + 17;
    let mut h = History::new(cap);
    for i in 0..(CHUNK as i64 * 7 + 5) {
        h.push(pt(i * 1000, 1.0));
        let n = (i + 1) as usize;
        assert_eq!(h.len(), n.min(cap));
    }
    let got = ts(&h);
    let end = CHUNK as i64 * 7 + 5;
    let want: Vec<i64> = (end - cap as i64..end).map(|i| i * 1000).collect();
    assert_eq!(got, want);
    // Never more than one chunk beyond the capacity is held.
    assert!(h.sealed.iter().map(|c| c.len).sum::<usize>() + h.open.len < cap + CHUNK);
}

#[test]
fn small_capacity_keeps_exactly_the_last_points() {
    let mut h = History::new(3);
    for t in 0..600 {
        h.push(pt(t, 0.0));
    }
    assert_eq!(ts(&h), [597, 598, 599]);
    assert_eq!(h.last().map(|p| p.sample.ts_ms), Some(599));
    assert!(History::new(0).iter().next().is_none());
}

#[test]
fn recent_and_since_boundaries() {
    let mut h = History::new(CHUNK * 3);
    for i in 0..(CHUNK as i64 * 4) {
        h.push(pt(i * 1000, 2.0));
    }
    let first = CHUNK as i64 * 1000;
    let last = (CHUNK as i64 * 4 - 1) * 1000;
    assert_eq!(h.recent(0).count(), 0);
    assert_eq!(
        h.recent(1).map(|p| p.sample.ts_ms).collect::<Vec<_>>(),
        [last]
    );
    assert_eq!(h.recent(usize::MAX).count(), CHUNK * 3);
    let r: Vec<i64> = h.recent(CHUNK + 1).map(|p| p.sample.ts_ms).collect();
    assert_eq!(r.len(), CHUNK + 1);
    assert_eq!(r[0], last - CHUNK as i64 * 1000);
    assert_eq!(h.since(i64::MIN).count(), CHUNK * 3);
    assert_eq!(h.since(first).next().map(|p| p.sample.ts_ms), Some(first));
    assert_eq!(
        h.since(first + 1).next().map(|p| p.sample.ts_ms),
        Some(first + 1000)
    );
    assert_eq!(h.since(last).count(), 1);
    assert_eq!(h.since(last + 1).count(), 0);
    // On a chunk boundary.
    let b = first + CHUNK as i64 * 1000;
    assert_eq!(h.since(b).count(), CHUNK * 2);
    assert_eq!(h.since(b - 1).next().map(|p| p.sample.ts_ms), Some(b));
}

#[test]
fn gaps_and_irregular_timestamps_are_kept() {
    let mut h = History::new(1000);
    let stamps: [i64; 9] = [
        0,
        1000,
        2000,
        62_000,
        62_999,
        63_001,
        3_600_000,
        3_600_000,
        1 << 45,
    ];
    for &t in &stamps {
        h.push(pt(t, 1.0));
    }
    assert_eq!(ts(&h), stamps);
    assert_eq!(h.since(62_500).count(), 5);
    assert_eq!(h.since(3_600_000).count(), 3);
}

/// Points leaving the oldest chunk are dropped from it every `TRIM` of them: what reads back is
/// unchanged, and the chunks never hold `TRIM` points more than are kept.
#[test]
fn the_oldest_chunk_is_trimmed_as_points_leave() {
    let cap = CHUNK * 3 + 40;
    let mut h = History::new(cap);
    let all: Vec<HistoryPoint> = (0..CHUNK as i64 * 9 + 77)
        .map(|i| {
            let mut p = pt(i * 1000, (i % 13) as f64 * 1.37);
            p.z = (i % 5 != 0).then(|| ZScores {
                cpu: (i % 7) as f64 * 0.31,
                ..ZScores::default()
            });
            p
        })
        .collect();
    for (n, p) in all.iter().enumerate() {
        h.push(*p);
        let held: usize = h.sealed.iter().map(|c| c.len).sum::<usize>() + h.open.len;
        assert_eq!(held - h.skip, h.len, "after {n}");
        assert!(h.skip < TRIM, "after {n}: {} points left but held", h.skip);
    }
    let want: Vec<HistoryPoint> = all[all.len() - cap..].iter().map(point::rounded).collect();
    assert_eq!(h.iter().collect::<Vec<_>>(), want);
    assert_eq!(h.recent(5).count(), 5);
    assert_eq!(h.since(want[10].sample.ts_ms).count(), cap - 10);
}

#[test]
fn assessments_and_odd_values_survive() {
    let mut h = History::new(10);
    let mut odd = pt(5, f64::NAN);
    odd.sample.net_rx_bps = f64::INFINITY;
    odd.sample.mem_bytes = u64::MAX;
    odd.cpu_hi95 = Some(1e300);
    odd.time_to_limit_s = None;
    let bare = HistoryPoint::new(
        Sample {
            ts_ms: 6,
            ..Sample::default()
        },
        None,
    );
    h.push(odd);
    h.push(bare);
    h.push(pt(7, 3.0));
    let got: Vec<HistoryPoint> = h.iter().collect();
    assert!(got[0].sample.cpu_pct.is_nan());
    assert_eq!(got[0].sample.net_rx_bps, f64::INFINITY);
    assert_eq!(got[0].sample.mem_bytes, u64::MAX);
    assert_eq!(got[0].cpu_hi95, Some(1e300));
    assert_eq!(got[0].level, Some(RiskLevel::Medium));
    assert_eq!(got[1], bare);
    assert_eq!(got[2], pt(7, 3.0));
}

#[test]
fn a_steady_container_costs_a_few_bytes_a_point() {
    let mut h = History::new(3600);
    for i in 0..3600 {
        h.push(pt(i * 1000, 20.0));
    }
    let per_point = h.heap_bytes() as f64 / 3600.0;
    assert!(per_point < 8.0, "{per_point} B/point");
}

#[test]
fn the_open_chunk_holds_little_spare_room() {
    let mut h = History::new(3600);
    for i in 0..3000 {
        // Noisy CPU: chunks of a few hundred words.
        h.push(pt(i * 1000, ((i * 7919) % 1000) as f64 / 10.0));
        let (held, used) = (h.open.w.heap_bytes(), h.open.w.words().len() * 8);
        // Growing by an eighth (doubling would leave up to half of it spare).
        let most = used * 9 / 8 + 32;
        assert!(held <= most, "point {i}: {held} bytes held, {used} used");
    }
}

#[test]
fn fields_that_move_with_their_metric_cost_little_more() {
    // Noisy CPU; its z-score against a baseline whose spread drifts; a naive forecast (the
    // value itself): delta-coded alone, the forecast costs 8.4 bits a point here.
    let (mut coder, mut w, mut bits) = (
        PointCoder::default(),
        bits::BitWriter::default(),
        [0; LANES],
    );
    let n = 3000;
    for i in 0..n {
        let cpu = 40.0 + ((i * 7919) % 1000) as f64 / 25.0;
        let spread = 10.0 + i as f64 / 1000.0;
        let mut p = pt(i as i64 * 1000, cpu);
        p.cpu_forecast = Some(cpu);
        p.z = Some(ZScores {
            cpu: (cpu - 60.0) / spread,
            ..ZScores::default()
        });
        coder.encode_counting(&p, &mut w, &mut bits);
    }
    let per = |lane: usize| bits[lane] as f64 / n as f64;
    assert!(per(1) > 9.0, "the CPU itself is noisy: {} bits", per(1));
    assert!(per(9) < 2.0, "forecast: {} bits a point", per(9));
    assert!(per(16) < 2.5, "z: {} bits a point", per(16));
    let mut r = bits::BitReader::new(w.words());
    let mut dec = PointCoder::default();
    for i in 0..n {
        let cpu = 40.0 + ((i * 7919) % 1000) as f64 / 25.0;
        let got = dec.decode(&mut r);
        assert_eq!(got.cpu_forecast, Some((cpu * 10.0).round() / 10.0));
    }
}

/// The rates' step at `v`: the scale's derivative, a hair wider for rounding.
fn rate_step(v: f64) -> f64 {
    (RATE_KNEE + v.abs()) * std::f64::consts::LN_2 / RATE_STEPS * 1.001
}

#[test]
fn rate_steps_are_relative() {
    let round = |v: f64| {
        let mut p = pt(0, 1.0);
        p.sample.net_rx_bps = v;
        point::rounded(&p).sample.net_rx_bps
    };
    assert_eq!(round(0.0), 0.0);
    assert!((round(3.0) - 3.0).abs() <= 0.35, "{}", round(3.0));
    for v in [1.0e3, 5.0e4, 1.25e6, 9.9e8, -2.0e5] {
        let r = round(v);
        assert!(
            (r - v).abs() <= 0.00035 * (RATE_KNEE + v.abs()),
            "{v} → {r}"
        );
        assert_eq!(round(r), r, "a rounded rate is on the steps");
    }
    assert_eq!(round(f64::INFINITY), f64::INFINITY);
}

fn close(a: f64, b: f64, step: f64) -> bool {
    (a - b).abs() <= step / 2.0 + 1e-9 * a.abs().max(1.0)
}

proptest! {
    #[test]
    fn every_field_within_half_a_step(
        rows in prop::collection::vec(
            (0i64..5_000, -1e4f64..1e4, 0u64..u64::MAX, -1e12f64..1e12, -50f64..50.0, 0f64..100.0,
             prop::option::of(0f64..1e7), 0u8..4),
            1..300,
        )
    ) {
        let mut h = History::new(200);
        let mut t = 1_700_000_000_000i64;
        let mut want = Vec::new();
        for (dt, cpu, mem, rate, z, prob, ttl, lvl) in rows {
            t += dt;
            let level = [None, Some(RiskLevel::Low), Some(RiskLevel::Medium), Some(RiskLevel::Critical)][lvl as usize];
            let p = HistoryPoint {
                sample: Sample { ts_ms: t, cpu_pct: cpu, mem_bytes: mem, mem_limit_bytes: mem / 2,
                    net_rx_bps: rate, net_tx_bps: -rate, blk_read_bps: rate / 3.0, blk_write_bps: 0.1, pids: mem % 1000 },
                cpu_forecast: Some(cpu / 2.0), cpu_lo95: Some(cpu - 7.0), cpu_hi95: Some(cpu + 1.1),
                cpu_lo80: None, cpu_hi80: Some(-cpu),
                mem_forecast: Some(rate), time_to_limit_s: ttl,
                z: Some(ZScores { cpu: z, mem: -z, net: z * 3.0, pids: 0.0 }),
                failure_probability: Some(prob), level,
            };
            h.push(p);
            want.push(p);
        }
        let want = &want[want.len().saturating_sub(200)..];
        let got: Vec<HistoryPoint> = h.iter().collect();
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            prop_assert_eq!(g.sample.ts_ms, w.sample.ts_ms);
            prop_assert_eq!(g.sample.mem_bytes, w.sample.mem_bytes);
            prop_assert_eq!(g.sample.mem_limit_bytes, w.sample.mem_limit_bytes);
            prop_assert_eq!(g.sample.pids, w.sample.pids);
            prop_assert_eq!(g.level, w.level);
            prop_assert!(close(g.sample.cpu_pct, w.sample.cpu_pct, 1.0 / CPU_SCALE));
            for (a, b) in [(g.sample.net_rx_bps, w.sample.net_rx_bps), (g.sample.net_tx_bps, w.sample.net_tx_bps),
                           (g.sample.blk_read_bps, w.sample.blk_read_bps), (g.sample.blk_write_bps, w.sample.blk_write_bps)] {
                prop_assert!(close(a, b, rate_step(b)), "{} vs {}", a, b);
            }
            for (a, b) in [(g.cpu_forecast, w.cpu_forecast), (g.cpu_lo95, w.cpu_lo95), (g.cpu_hi95, w.cpu_hi95), (g.cpu_hi80, w.cpu_hi80)] {
                let (a, b) = (a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN));
                prop_assert!(close(a, b, 1.0 / CPU_FORECAST_SCALE), "{} vs {}", a, b);
            }
            prop_assert_eq!(g.cpu_lo80, None);
            prop_assert!(close(g.mem_forecast.unwrap_or(f64::NAN), w.mem_forecast.unwrap_or(0.0), 1.0 / MEM_FORECAST_SCALE));
            prop_assert_eq!(g.time_to_limit_s.is_some(), w.time_to_limit_s.is_some());
            if let (Some(a), Some(b)) = (g.time_to_limit_s, w.time_to_limit_s) {
                prop_assert!(close(a, b, 1.0 / TTL_SCALE));
            }
            let (gz, wz) = (g.z.unwrap_or_default(), w.z.unwrap_or_default());
            for (a, b) in [(gz.cpu, wz.cpu), (gz.mem, wz.mem), (gz.net, wz.net), (gz.pids, wz.pids)] {
                prop_assert!(close(a, b, 1.0 / Z_SCALE));
            }
            prop_assert!(close(g.failure_probability.unwrap_or(f64::NAN), w.failure_probability.unwrap_or(0.0), 1.0 / PROB_SCALE));
            prop_assert_eq!(*g, point::rounded(w));
        }
        prop_assert_eq!(h.last(), got.last());
    }
}
