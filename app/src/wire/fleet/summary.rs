//! A container's card values, quantised to what the card displays, and their field-by-field
//! encoding in a fleet row.
//!
//! Quantising first is what makes "only what changed" pay: a memory reading that moves by a
//! few bytes, or a rate that wobbles in its third digit, looks the same on the card and is not
//! sent again. The detail view subscribes to one container's exact values separately.

use super::{sample_mut, set_top_reason, top_reason};
use crate::wire::{Assessment, ContainerFrame, RiskLevel};
use serde::de::{self, SeqAccess};
use serde::ser::SerializeSeq;

/// The fields of a row, in the order their values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Bit 0: has a sample, bit 1: is assessed, bit 2: warming up.
    Flags,
    Cpu,
    Mem,
    MemLimit,
    NetRx,
    NetTx,
    BlkRead,
    BlkWrite,
    Pids,
    Probability,
    Level,
    Forecast,
    Horizon,
    TimeToLimit,
    Reason,
}

impl Field {
    pub const EVERY: [Field; 15] = [
        Field::Flags,
        Field::Cpu,
        Field::Mem,
        Field::MemLimit,
        Field::NetRx,
        Field::NetTx,
        Field::BlkRead,
        Field::BlkWrite,
        Field::Pids,
        Field::Probability,
        Field::Level,
        Field::Forecast,
        Field::Horizon,
        Field::TimeToLimit,
        Field::Reason,
    ];
    /// Every field's bit.
    pub const ALL: u32 = (1 << Self::EVERY.len()) - 1;

    pub fn bit(self) -> u32 {
        1 << self as u32
    }
}

const HAS_SAMPLE: u8 = 1;
const ASSESSED: u8 = 2;
const WARMING: u8 = 4;

/// What a fleet card shows of one container, quantised.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Summary {
    pub flags: u8,
    /// % of one core, to 0.1.
    pub cpu: f64,
    /// KiB, to three significant digits.
    pub mem: u64,
    /// Bytes, exact (it rarely changes).
    pub mem_limit: u64,
    /// KiB per second, to two significant digits.
    pub net_rx: f64,
    pub net_tx: f64,
    pub blk_read: f64,
    pub blk_write: f64,
    pub pids: u64,
    /// Failure probability, whole percent.
    pub probability: u8,
    pub level: RiskLevel,
    /// Predicted CPU, to 0.1 %.
    pub forecast: f64,
    pub horizon: f64,
    /// Seconds, as the card words it (whole seconds under 90 s, whole minutes under 15 min,
    /// rounded down);
    /// `None` when not shown (no trend, no limit, or 15 minutes or more away).
    pub time_to_limit: Option<u32>,
    /// The top reason's text.
    pub reason: String,
}

fn tenth(v: f64) -> f64 {
    if v.is_finite() {
        (v * 10.0).round() / 10.0
    } else {
        0.0
    }
}

/// `v` rounded to `digits` significant digits (0 for non-positive or non-finite values).
fn significant(v: f64, digits: i32) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - digits + 1);
    (v / scale).round() * scale
}

fn card_seconds(t: Option<f64>) -> Option<u32> {
    let t = t.filter(|t| t.is_finite() && *t >= 0.0 && *t < 900.0)?;
    // Rounded down, so that quantising again changes nothing (the card's own rounding of a
    // value near a boundary may differ by one unit).
    Some(if t < 90.0 {
        t.floor() as u32
    } else {
        ((t / 60.0).floor() * 60.0) as u32
    })
}

fn level_code(l: RiskLevel) -> u8 {
    match l {
        RiskLevel::Low => 0,
        RiskLevel::Medium => 1,
        RiskLevel::Critical => 2,
    }
}

fn level_of(code: u8) -> RiskLevel {
    match code {
        2 => RiskLevel::Critical,
        1 => RiskLevel::Medium,
        _ => RiskLevel::Low,
    }
}

impl Summary {
    pub fn of(c: &ContainerFrame) -> Self {
        let mut s = Summary::default();
        if let Some(x) = &c.sample {
            s.flags |= HAS_SAMPLE;
            s.cpu = tenth(x.cpu_pct);
            // KiB: the card shows KiB and up, and the numbers are three characters shorter.
            s.mem = significant(x.mem_bytes as f64 / 1024.0, 3) as u64;
            s.mem_limit = x.mem_limit_bytes;
            s.net_rx = significant(x.net_rx_bps / 1024.0, 2);
            s.net_tx = significant(x.net_tx_bps / 1024.0, 2);
            s.blk_read = significant(x.blk_read_bps / 1024.0, 2);
            s.blk_write = significant(x.blk_write_bps / 1024.0, 2);
            s.pids = x.pids;
        }
        if let Some(a) = &c.assessment {
            s.flags |= ASSESSED;
            if a.warming_up {
                s.flags |= WARMING;
            }
            let p = a.failure_probability;
            s.probability = if p.is_finite() {
                p.round().clamp(0.0, 100.0) as u8
            } else {
                0
            };
            s.level = a.level;
            s.forecast = tenth(a.cpu.value);
            s.horizon = tenth(a.cpu.horizon_s);
            s.time_to_limit = card_seconds(a.time_to_limit_s);
            s.reason = top_reason(a);
        }
        s
    }

    /// The fields in which `self` differs from `prev`. A change of flags sends every field:
    /// the viewer builds a fresh sample or assessment from them.
    pub fn changes(&self, prev: &Summary) -> u32 {
        if self.flags != prev.flags {
            return Field::ALL;
        }
        Field::EVERY
            .iter()
            .filter(|f| !self.same(prev, **f))
            .fold(0, |m, f| m | f.bit())
    }

    fn same(&self, o: &Summary, f: Field) -> bool {
        match f {
            Field::Flags => self.flags == o.flags,
            Field::Cpu => self.cpu == o.cpu,
            Field::Mem => self.mem == o.mem,
            Field::MemLimit => self.mem_limit == o.mem_limit,
            Field::NetRx => self.net_rx == o.net_rx,
            Field::NetTx => self.net_tx == o.net_tx,
            Field::BlkRead => self.blk_read == o.blk_read,
            Field::BlkWrite => self.blk_write == o.blk_write,
            Field::Pids => self.pids == o.pids,
            Field::Probability => self.probability == o.probability,
            Field::Level => self.level == o.level,
            Field::Forecast => self.forecast == o.forecast,
            Field::Horizon => self.horizon == o.horizon,
            Field::TimeToLimit => self.time_to_limit == o.time_to_limit,
            Field::Reason => self.reason == o.reason,
        }
    }

    /// Writes the values of the fields in `mask`, in field order.
    pub fn serialize_fields<S: SerializeSeq>(
        &self,
        mask: u32,
        seq: &mut S,
    ) -> Result<(), S::Error> {
        for f in Field::EVERY.iter().filter(|f| mask & f.bit() != 0) {
            match f {
                Field::Flags => seq.serialize_element(&self.flags)?,
                Field::Cpu => seq.serialize_element(&self.cpu)?,
                Field::Mem => seq.serialize_element(&self.mem)?,
                Field::MemLimit => seq.serialize_element(&self.mem_limit)?,
                Field::NetRx => seq.serialize_element(&self.net_rx)?,
                Field::NetTx => seq.serialize_element(&self.net_tx)?,
                Field::BlkRead => seq.serialize_element(&self.blk_read)?,
                Field::BlkWrite => seq.serialize_element(&self.blk_write)?,
                Field::Pids => seq.serialize_element(&self.pids)?,
                Field::Probability => seq.serialize_element(&self.probability)?,
                Field::Level => seq.serialize_element(&level_code(self.level))?,
                Field::Forecast => seq.serialize_element(&self.forecast)?,
                Field::Horizon => seq.serialize_element(&self.horizon)?,
                Field::TimeToLimit => seq.serialize_element(&self.time_to_limit)?,
                Field::Reason => seq.serialize_element(&self.reason)?,
            }
        }
        Ok(())
    }

    /// Reads the values of the fields in `mask`, in field order; the others stay default.
    pub fn deserialize_fields<'de, A: SeqAccess<'de>>(
        mask: u32,
        seq: &mut A,
    ) -> Result<Summary, A::Error> {
        fn next<'de, T: serde::Deserialize<'de>, A: SeqAccess<'de>>(
            seq: &mut A,
            f: Field,
        ) -> Result<T, A::Error> {
            seq.next_element()?
                .ok_or_else(|| de::Error::custom(format!("missing value of {f:?}")))
        }
        let mut s = Summary::default();
        for f in Field::EVERY.into_iter().filter(|f| mask & f.bit() != 0) {
            match f {
                Field::Flags => s.flags = next(seq, f)?,
                Field::Cpu => s.cpu = next(seq, f)?,
                Field::Mem => s.mem = next(seq, f)?,
                Field::MemLimit => s.mem_limit = next(seq, f)?,
                Field::NetRx => s.net_rx = next(seq, f)?,
                Field::NetTx => s.net_tx = next(seq, f)?,
                Field::BlkRead => s.blk_read = next(seq, f)?,
                Field::BlkWrite => s.blk_write = next(seq, f)?,
                Field::Pids => s.pids = next(seq, f)?,
                Field::Probability => s.probability = next(seq, f)?,
                Field::Level => s.level = level_of(next(seq, f)?),
                Field::Forecast => s.forecast = next(seq, f)?,
                Field::Horizon => s.horizon = next(seq, f)?,
                Field::TimeToLimit => s.time_to_limit = next(seq, f)?,
                Field::Reason => s.reason = next(seq, f)?,
            }
        }
        Ok(s)
    }

    /// Writes the fields in `mask` into a container as the browser holds it. Fields of the
    /// assessment that the card does not show (intervals, z-scores, further reasons) keep what
    /// the container held: a detail subscription fills them.
    pub fn apply(&self, mask: u32, c: &mut ContainerFrame, ts_ms: i64) {
        let has = |f: Field| mask & f.bit() != 0;
        if has(Field::Flags) {
            if self.flags & HAS_SAMPLE == 0 {
                c.sample = None;
            }
            if self.flags & ASSESSED == 0 {
                c.assessment = None;
            } else {
                let a = c.assessment.get_or_insert_with(Assessment::default);
                a.warming_up = self.flags & WARMING != 0;
            }
        }
        if self.flags & HAS_SAMPLE != 0 || c.sample.is_some() {
            let s = sample_mut(c, ts_ms);
            if has(Field::Cpu) {
                s.cpu_pct = self.cpu;
            }
            if has(Field::Mem) {
                s.mem_bytes = self.mem * 1024;
            }
            if has(Field::MemLimit) {
                s.mem_limit_bytes = self.mem_limit;
            }
            if has(Field::NetRx) {
                s.net_rx_bps = self.net_rx * 1024.0;
            }
            if has(Field::NetTx) {
                s.net_tx_bps = self.net_tx * 1024.0;
            }
            if has(Field::BlkRead) {
                s.blk_read_bps = self.blk_read * 1024.0;
            }
            if has(Field::BlkWrite) {
                s.blk_write_bps = self.blk_write * 1024.0;
            }
            if has(Field::Pids) {
                s.pids = self.pids;
            }
        }
        let Some(a) = c.assessment.as_mut() else {
            return;
        };
        a.ts_ms = ts_ms;
        if has(Field::Probability) {
            a.failure_probability = f64::from(self.probability);
        }
        if has(Field::Level) {
            a.level = self.level;
        }
        if has(Field::Forecast) {
            a.cpu.value = self.forecast;
        }
        if has(Field::Horizon) {
            a.cpu.horizon_s = self.horizon;
        }
        if has(Field::TimeToLimit) {
            a.time_to_limit_s = self.time_to_limit.map(f64::from);
        }
        if has(Field::Reason) {
            set_top_reason(a, self.reason.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisers_keep_what_the_card_shows() {
        assert_eq!(tenth(12.345), 12.3);
        assert_eq!(tenth(f64::NAN), 0.0);
        assert_eq!(significant(123_456.0, 2), 120_000.0);
        assert_eq!(significant(0.0, 2), 0.0);
        assert_eq!(significant(-5.0, 2), 0.0);
        assert_eq!(significant(123_456_789.0, 3) as u64, 123_000_000);
        assert_eq!(card_seconds(Some(44.6)), Some(44));
        assert_eq!(card_seconds(Some(89.9)), Some(89));
        assert_eq!(card_seconds(Some(200.0)), Some(180));
        assert_eq!(card_seconds(Some(899.0)), Some(840));
        assert_eq!(card_seconds(Some(900.0)), None);
        assert_eq!(card_seconds(Some(f64::INFINITY)), None);
        assert_eq!(card_seconds(None), None);
    }

    #[test]
    fn every_field_has_its_own_bit_and_a_change_of_flags_sends_all() {
        let bits: u32 = Field::EVERY.iter().map(|f| f.bit()).sum();
        assert_eq!(bits, Field::ALL);
        let a = Summary {
            cpu: 1.0,
            ..Summary::default()
        };
        let b = Summary {
            cpu: 2.0,
            pids: 3,
            ..Summary::default()
        };
        assert_eq!(b.changes(&a), Field::Cpu.bit() | Field::Pids.bit());
        assert_eq!(b.changes(&b), 0);
        let c = Summary {
            flags: HAS_SAMPLE,
            ..b.clone()
        };
        assert_eq!(c.changes(&b), Field::ALL);
    }
}
