//! A bit stream: an append-only writer and a sequential reader (the history's lanes,
//! [`super::lane`], code their values into it).

/// Append-only bit stream, most significant bit first within each 64-bit word.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    words: Vec<u64>,
    /// Bits written.
    len: usize,
}

impl BitWriter {
    /// An empty stream with room for `words` words (a chunk re-encoded without its oldest points).
    pub fn with_capacity(words: usize) -> Self {
        Self {
            words: Vec::with_capacity(words),
            len: 0,
        }
    }

    /// Appends a zero word, growing by an eighth rather than doubling: an open chunk's spare
    /// room is memory held for nothing (at most an eighth here, up to half with doubling).
    fn push_word(&mut self, word: u64) {
        if self.words.len() == self.words.capacity() {
            self.words.reserve_exact((self.words.capacity() / 8).max(4));
        }
        self.words.push(word);
    }

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
            self.push_word(0);
        }
        let free = 64 - used;
        let last = self.words.len() - 1;
        if n <= free {
            self.words[last] |= bits << (free - n);
        } else {
            self.words[last] |= bits >> (n - free);
            self.push_word(bits << (64 - (n - free)));
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

    /// The next 64 bits, most significant first, without consuming them.
    fn peek(&self) -> u64 {
        let i = self.pos / 64;
        let used = (self.pos % 64) as u32;
        let word = |i: usize| self.words.get(i).copied().unwrap_or(0);
        if used == 0 {
            word(i)
        } else {
            (word(i) << used) | (word(i + 1) >> (64 - used))
        }
    }

    /// Reads `n` bits (`n` ≤ 64).
    pub fn read(&mut self, n: u32) -> u64 {
        if n == 0 {
            return 0;
        }
        let v = self.peek() >> (64 - n);
        self.pos += n as usize;
        v
    }

    pub fn bit(&mut self) -> bool {
        self.read(1) == 1
    }

    /// Reads a run of one bits, at most `cap` (≤ 63) of them, and the zero that ends a shorter
    /// run: the unary part of a Rice code, whose cap announces an escape.
    pub fn ones(&mut self, cap: u32) -> u32 {
        let next = self.peek();
        let run = next.leading_ones().min(cap);
        self.pos += run as usize + usize::from(run < cap);
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn runs_of_ones_are_counted_up_to_their_cap_across_words() {
        let mut w = BitWriter::default();
        // 60 zeros, then runs of 3, 0, 9 (crossing the word boundary) and a capped run of 12.
        w.write(0, 60);
        for run in [3u32, 0, 9] {
            w.write((1u64 << run) - 1, run);
            w.write(0, 1);
        }
        w.write(u64::MAX, 12);
        w.write(0b101, 3);
        let words = w.into_words();
        let mut r = BitReader::new(&words);
        assert_eq!(r.read(60), 0);
        assert_eq!(r.ones(12), 3);
        assert_eq!(r.ones(12), 0);
        assert_eq!(r.ones(12), 9);
        // A capped run leaves the bit after it unread.
        assert_eq!(r.ones(12), 12);
        assert_eq!(r.read(3), 0b101);
        // Past the end: zeros.
        assert_eq!(r.ones(12), 0);
    }
}
