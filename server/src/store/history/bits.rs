//! A bit stream (append-only writer, sequential reader) and the one integer code the history
//! uses: each value is a delta against the previous one of its lane, written in as few bits as
//! its magnitude needs (Gorilla's idea of reusing the previous width, applied to integers).

/// Append-only bit stream, most significant bit first within each 64-bit word.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    words: Vec<u64>,
    /// Bits written.
    len: usize,
}

impl BitWriter {
    /// Appends the low `n` bits of `bits` (`n` ≤ 64).
    pub fn write(&mut self, bits: u64, n: u32) {
        if n == 0 {
            return;
        }
        let bits = if n == 64 {
            bits
        } else {
            bits & ((1u64 << n) - 1)
        };
        let used = (self.len % 64) as u32;
        if used == 0 {
            self.words.push(0);
        }
        let free = 64 - used;
        let last = self.words.len() - 1;
        if n <= free {
            self.words[last] |= bits << (free - n);
        } else {
            self.words[last] |= bits >> (n - free);
            self.words.push(bits << (64 - (n - free)));
        }
        self.len += n as usize;
    }

    /// Bits written.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The stream, without spare capacity (what a sealed chunk keeps).
    pub fn into_words(self) -> Box<[u64]> {
        self.words.into_boxed_slice()
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Heap bytes held (capacity, not length: what the allocator charges).
    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// Sequential reader over a [`BitWriter`]'s words. Reading past the end yields zeros (a
/// well-formed stream is never read past its end; the history counts its points).
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    words: &'a [u64],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(words: &'a [u64]) -> Self {
        Self { words, pos: 0 }
    }

    /// Reads `n` bits (`n` ≤ 64).
    pub fn read(&mut self, n: u32) -> u64 {
        if n == 0 {
            return 0;
        }
        let i = self.pos / 64;
        let used = (self.pos % 64) as u32;
        let free = 64 - used;
        let word = |i: usize| self.words.get(i).copied().unwrap_or(0);
        let v = if n <= free {
            (word(i) << used) >> (64 - n)
        } else {
            let hi = (word(i) << used) >> used;
            let lo = word(i + 1) >> (64 - (n - free));
            (hi << (n - free)) | lo
        };
        self.pos += n as usize;
        v
    }

    pub fn bit(&mut self) -> bool {
        self.read(1) == 1
    }
}

/// What a lane holds at one point: nothing, a quantised value, or raw f64 bits (non-finite or
/// out-of-range values, kept exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    None,
    Q(i64),
    Raw(u64),
}

/// One column's coder state. Codes, per point:
/// `0` same as the previous point; `10` + `width` bits: zigzag delta that fits the current width
/// and shift; `110` + 6 bits (width − 1) + 1 bit (shift: 0 or 12) + width bits: delta with a
/// new width and shift; `1110` none; `1111` + 64 bits raw. The delta is taken against the last
/// quantised value (kept across nones and raws), and written without its `shift` low bits, which
/// are zero: memory moves by whole 4 KiB pages (cgroups charge pages), so its deltas end in 12
/// zero bits.
#[derive(Debug, Clone, Copy)]
pub struct Lane {
    prev: Val,
    last_q: i64,
    width: u32,
    shift: u32,
    /// Trailing zero bits of the previous delta: a new shift is only taken when two deltas in a
    /// row allow it (one lucky delta of a noisy series would make the next announce again).
    prev_zeros: u32,
}

impl Default for Lane {
    fn default() -> Self {
        Self {
            prev: Val::Q(0),
            last_q: 0,
            width: 0,
            shift: 0,
            prev_zeros: 0,
        }
    }
}

/// The one shift besides none: a page (2¹²).
const PAGE_SHIFT: u32 = 12;

/// The delta `d` without its `shift` low bits, zigzagged, and the bits it needs.
fn coded(d: i64, shift: u32) -> (u64, u32) {
    let z = zigzag(d >> shift);
    (z, (64 - z.leading_zeros()).max(1))
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

impl Lane {
    pub fn encode(&mut self, v: Val, w: &mut BitWriter) {
        if v == self.prev {
            w.write(0, 1);
            return;
        }
        match v {
            Val::Q(q) => {
                let d = q.wrapping_sub(self.last_q);
                let zeros = d.trailing_zeros();
                let kept = {
                    let (z, need) = coded(d, self.shift);
                    // Keep the width and shift while they fit and cost less than announcing new
                    // ones (2 + width against 10 + need bits).
                    (self.width > 0
                        && zeros >= self.shift
                        && need <= self.width
                        && self.width <= need + 7)
                        .then_some(z)
                };
                let z = match kept {
                    Some(z) => {
                        w.write(0b10, 2);
                        z
                    }
                    None => {
                        self.shift = if zeros.min(self.prev_zeros) >= PAGE_SHIFT {
                            PAGE_SHIFT
                        } else {
                            0
                        };
                        let (z, need) = coded(d, self.shift);
                        w.write(0b110, 3);
                        w.write(u64::from(need - 1), 6);
                        w.write(u64::from(self.shift == PAGE_SHIFT), 1);
                        self.width = need;
                        z
                    }
                };
                w.write(z, self.width);
                self.prev_zeros = zeros;
                self.last_q = q;
            }
            Val::None => w.write(0b1110, 4),
            Val::Raw(bits) => {
                w.write(0b1111, 4);
                w.write(bits, 64);
            }
        }
        self.prev = v;
    }

    pub fn decode(&mut self, r: &mut BitReader<'_>) -> Val {
        if !r.bit() {
            return self.prev;
        }
        let v = if !r.bit() {
            self.delta(r)
        } else if !r.bit() {
            self.width = r.read(6) as u32 + 1;
            self.shift = if r.bit() { PAGE_SHIFT } else { 0 };
            self.delta(r)
        } else if !r.bit() {
            Val::None
        } else {
            Val::Raw(r.read(64))
        };
        self.prev = v;
        v
    }

    fn delta(&mut self, r: &mut BitReader<'_>) -> Val {
        let d = unzigzag(r.read(self.width)).wrapping_shl(self.shift);
        self.prev_zeros = d.trailing_zeros();
        self.last_q = self.last_q.wrapping_add(d);
        Val::Q(self.last_q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    /// `vals` coded by one lane and decoded by another: what reads back, and the bits written.
    fn through_a_lane(vals: &[Val]) -> (Vec<Val>, usize) {
        let (mut enc, mut dec) = (Lane::default(), Lane::default());
        let mut w = BitWriter::default();
        for &v in vals {
            enc.encode(v, &mut w);
        }
        let bits = w.len();
        let words = w.into_words();
        let mut r = BitReader::new(&words);
        (vals.iter().map(|_| dec.decode(&mut r)).collect(), bits)
    }

    #[test]
    fn bits_round_trip_across_word_boundaries() {
        let mut w = BitWriter::default();
        let items: Vec<(u64, u32)> = (1..=64u32)
            .map(|n| (0xDEAD_BEEF_CAFE_F00Du64.rotate_left(n) & mask(n), n))
            .collect();
        for &(b, n) in &items {
            w.write(b, n);
        }
        assert_eq!(w.len(), (1..=64).sum::<usize>());
        let words = w.into_words();
        let mut r = BitReader::new(&words);
        for &(b, n) in &items {
            assert_eq!(r.read(n), b, "width {n}");
        }
    }

    fn mask(n: u32) -> u64 {
        if n == 64 {
            u64::MAX
        } else {
            (1u64 << n) - 1
        }
    }

    #[test]
    fn lane_round_trips_every_kind_of_value() {
        let vals = [
            Val::Q(5),
            Val::Q(5),
            Val::None,
            Val::Q(5),
            Val::Q(i64::MAX),
            Val::Q(i64::MIN),
            Val::Raw(f64::NAN.to_bits()),
            Val::Raw(f64::NAN.to_bits()),
            Val::Q(-3),
            Val::Q(1 << 40),
            Val::Q((1 << 40) + 1),
            Val::None,
            Val::None,
        ];
        assert_eq!(through_a_lane(&vals).0, vals);
    }

    #[test]
    fn page_sized_steps_are_written_without_their_zero_bits() {
        // Memory in bytes moving by whole pages, against the same moves by single bytes.
        let steps = [3i64, -1, 2, 7, -5, 1, 0, 4, -2, 6];
        let cost = |unit: i64| {
            let mut q = 100_000_000 / unit * unit;
            let mut vals = Vec::new();
            for k in 0..1000 {
                q += steps[k % steps.len()] * unit;
                vals.push(Val::Q(q));
            }
            // A step that is not whole pages (an odd byte count) still round-trips.
            vals.push(Val::Q(q + 3));
            vals.push(Val::Q(q + 3 + 4096));
            let (back, bits) = through_a_lane(&vals);
            assert_eq!(back, vals, "unit {unit}");
            bits
        };
        let (pages, bytes) = (cost(4096), cost(1));
        assert!(
            pages <= bytes + 64,
            "pages {pages} bits, bytes {bytes} bits"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_lane_round_trips(
            vals in proptest::collection::vec(
                proptest::prop_oneof![
                    (-1000i64..1000).prop_map(|k| Val::Q(k << 12)),
                    (-1000i64..1000).prop_map(|k| Val::Q(k << 4)),
                    proptest::num::i64::ANY.prop_map(Val::Q),
                    proptest::num::u64::ANY.prop_map(Val::Raw),
                    proptest::strategy::Just(Val::None),
                ],
                1..400,
            )
        ) {
            proptest::prop_assert_eq!(through_a_lane(&vals).0, vals);
        }
    }

    #[test]
    fn repeated_values_cost_one_bit() {
        let mut lane = Lane::default();
        let mut w = BitWriter::default();
        lane.encode(Val::Q(1000), &mut w);
        let first = w.len();
        for _ in 0..100 {
            lane.encode(Val::Q(1000), &mut w);
        }
        assert_eq!(w.len(), first + 100);
    }
}
