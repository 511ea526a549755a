//! The one integer code of the history: each field is a lane whose every point is written as
//! the delta against the lane's previous value, in an adaptive Rice code (LOCO-I's: the
//! parameter follows the recent deltas' mean magnitude, so a steady field costs one bit a point
//! and a noisy one close to its entropy), with escapes for large jumps, missing values and raw
//! f64 bits.

use super::bits::{BitReader, BitWriter};

/// What a lane holds at one point: nothing, a quantised value, or raw f64 bits (non-finite or
/// out-of-range values, kept exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    None,
    Q(i64),
    Raw(u64),
}

/// Longest unary quotient of a Rice code; a run of this many ones is an escape instead.
const ESCAPE: u32 = 12;
/// The recent magnitudes' sum and count are halved when the count reaches this: the parameter
/// follows the last dozen or so deltas (a field that turns noisy or calm is followed within a
/// few points).
const RESET: u32 = 8;
/// The one shift besides none: a page (2¹²).
const PAGE_SHIFT: u32 = 12;

/// One column's coder state. After a quantised value, the next point is a Rice code of the
/// zigzagged delta `u` (`u >> k` ones and a zero, then the `k` low bits; `0` alone for an
/// unchanged value once the lane is calm), or [`ESCAPE`] ones and: `0` + 6 bits (width − 1) +
/// width bits, a delta too large for the code (written in full); `10` none; `11` + 64 bits raw.
/// After a none or a raw value: `0` the same again; `10` + 6 + width bits, a quantised value
/// (its delta against the last quantised one, kept across nones and raws); `110` none; `111` +
/// 64 bits raw. Deltas are written without their 12 low bits when the lane's last two non-zero
/// deltas had them zero: memory moves by whole 4 KiB pages (cgroups charge pages).
#[derive(Debug, Clone, Copy)]
pub struct Lane {
    prev: Val,
    last_q: i64,
    /// Recent coded magnitudes: their sum and their count (see [`RESET`]).
    sum: u64,
    count: u32,
    /// The Rice parameter they give (kept, not recomputed: decoding reads it at every point).
    k: u8,
    /// Trailing zero bits of the last two non-zero deltas.
    zeros: [u8; 2],
}

/// A fresh lane (a chunk's start) is as after a none: its first value is written in full, and
/// teaches the code nothing about the size of the deltas that follow.
impl Default for Lane {
    fn default() -> Self {
        Self {
            prev: Val::None,
            last_q: 0,
            sum: 0,
            count: 0,
            k: 0,
            zeros: [0; 2],
        }
    }
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// `z` in its own width: 6 bits (width − 1), then the width's bits.
fn write_wide(z: u64, w: &mut BitWriter) {
    let width = (64 - z.leading_zeros()).max(1);
    w.write(u64::from(width - 1), 6);
    w.write(z, width);
}

fn read_wide(r: &mut BitReader<'_>) -> u64 {
    let width = r.read(6) as u32 + 1;
    r.read(width)
}

impl Lane {
    /// The Rice parameter: about log2 of half the recent mean magnitude (one shorter than
    /// LOCO-I's choice, which slightly overshoots on noise that is Gaussian rather than
    /// geometric).
    fn k(&self) -> u32 {
        self.k.into()
    }

    /// The smallest `k` with `count · 2^k ≥ sum / 2` (a few steps: no division per point).
    fn refresh_k(&mut self) {
        let (count, half) = (u64::from(self.count), self.sum / 2);
        let mut k = 0;
        // `count` is at most RESET (2³): shifted by up to 60 it stays within 64 bits.
        while k < 60 && (count << k) < half {
            k += 1;
        }
        self.k = k;
    }

    fn shift(&self) -> u32 {
        if u32::from(self.zeros[0].min(self.zeros[1])) >= PAGE_SHIFT {
            PAGE_SHIFT
        } else {
            0
        }
    }

    /// Learns a delta coded after a quantised value (`u`: its coded magnitude). An escaped
    /// magnitude counts as at most 2⁵ times the current scale: a lane that turns noisier
    /// follows within a few escapes, and one jump (a container allocating a gigabyte) does
    /// not make the calm points after it cost tens of bits each.
    fn learn(&mut self, d: i64, u: u64) {
        let cap = 1u64 << (self.k() + 5).min(63);
        self.sum = self.sum.saturating_add(u.min(cap));
        self.count += 1;
        if self.count >= RESET {
            self.sum /= 2;
            self.count /= 2;
        }
        self.refresh_k();
        self.took(d);
    }

    /// Records a delta's trailing zeros. An unchanged value says nothing about the lane's
    /// grain (a calm lane would otherwise take the page shift after two repeats, and escape at
    /// its next small step).
    fn took(&mut self, d: i64) {
        if d != 0 {
            self.zeros = [d.trailing_zeros() as u8, self.zeros[0]];
        }
    }

    /// Starts the lane's grain afresh from a value written in full (after a none, a raw value
    /// or at a chunk's start): a memory figure in whole pages is coded without their zero bits
    /// from the next point on.
    fn restart(&mut self, d: i64) {
        // A zero tells nothing either (and would give any lane the page shift).
        let zeros = if d == 0 { 0 } else { d.trailing_zeros() as u8 };
        self.zeros = [zeros; 2];
    }

    pub fn encode(&mut self, v: Val, w: &mut BitWriter) {
        if matches!(self.prev, Val::Q(_)) {
            self.encode_after_q(v, w);
        } else if v == self.prev {
            w.write(0, 1);
        } else {
            match v {
                Val::Q(q) => {
                    let d = q.wrapping_sub(self.last_q);
                    w.write(0b10, 2);
                    write_wide(zigzag(d), w);
                    self.restart(d);
                    self.last_q = q;
                }
                Val::None => w.write(0b110, 3),
                Val::Raw(bits) => {
                    w.write(0b111, 3);
                    w.write(bits, 64);
                }
            }
        }
        self.prev = v;
    }

    fn encode_after_q(&mut self, v: Val, w: &mut BitWriter) {
        let escape = |w: &mut BitWriter| w.write((1 << ESCAPE) - 1, ESCAPE);
        match v {
            Val::Q(q) => {
                let d = q.wrapping_sub(self.last_q);
                let shift = self.shift();
                let (k, u) = (self.k(), zigzag(d >> shift));
                if d.trailing_zeros() >= shift && u >> k < u64::from(ESCAPE) {
                    let ones = (u >> k) as u32;
                    // `ones` ones and a zero (`ones` < ESCAPE ≤ 63).
                    w.write(((1u64 << ones) - 1) << 1, ones + 1);
                    w.write(u, k);
                } else {
                    escape(w);
                    w.write(0, 1);
                    write_wide(zigzag(d), w);
                }
                self.learn(d, u);
                self.last_q = q;
            }
            Val::None => {
                escape(w);
                w.write(0b10, 2);
            }
            Val::Raw(bits) => {
                escape(w);
                w.write(0b11, 2);
                w.write(bits, 64);
            }
        }
    }

    pub fn decode(&mut self, r: &mut BitReader<'_>) -> Val {
        let v = if matches!(self.prev, Val::Q(_)) {
            self.decode_after_q(r)
        } else if !r.bit() {
            self.prev
        } else if !r.bit() {
            let d = unzigzag(read_wide(r));
            self.restart(d);
            self.last_q = self.last_q.wrapping_add(d);
            Val::Q(self.last_q)
        } else if !r.bit() {
            Val::None
        } else {
            Val::Raw(r.read(64))
        };
        self.prev = v;
        v
    }

    fn decode_after_q(&mut self, r: &mut BitReader<'_>) -> Val {
        let ones = r.ones(ESCAPE);
        let (shift, k) = (self.shift(), self.k());
        let d = if ones < ESCAPE {
            let u = (u64::from(ones) << k) | r.read(k);
            unzigzag(u).wrapping_shl(shift)
        } else if !r.bit() {
            unzigzag(read_wide(r))
        } else if !r.bit() {
            return Val::None;
        } else {
            return Val::Raw(r.read(64));
        };
        self.learn(d, zigzag(d >> shift));
        self.last_q = self.last_q.wrapping_add(d);
        Val::Q(self.last_q)
    }
}

#[cfg(test)]
mod tests;
