//! The pattern ring as the search reads it: the values and the mask taken from one slice whose
//! length is the ring's (a power of two), so that the compiler can see every masked slot is in
//! bounds, and the two sums of a pattern (its key, its squared distance from a query) from one
//! read of its values.

/// A read-only view of a [`super::PatternIndex`]'s ring, for one query or one merge.
#[derive(Clone, Copy)]
pub(super) struct RingView<'a> {
    values: &'a [f32],
    /// `values.len() − 1`: derived from the slice here, not stored beside it, because the
    /// bounds checks disappear only where the compiler sees that relation.
    mask: usize,
    stride: usize,
}

impl<'a> RingView<'a> {
    /// `None` before the ring is allocated (nothing recorded yet).
    #[inline(always)]
    pub(super) fn new(values: &'a [f32], stride: usize) -> Option<Self> {
        let mask = values.len().checked_sub(1)?;
        Some(Self {
            values,
            mask,
            stride,
        })
    }

    /// The key (sum of values) of the pattern ending at `end` and its squared distance from `q`
    /// (newest first), in the order [`Self::key`] sums. Summed in full: no early stop once above
    /// the best so far, because that branch, taken at random, costs more than the few terms it
    /// saves, and without it consecutive candidates' sums overlap in the processor. Given an
    /// array, the loop is unrolled.
    #[inline(always)]
    pub(super) fn key_and_sum_sq<'q>(
        self,
        end: u64,
        q: impl IntoIterator<Item = &'q f64>,
    ) -> (f64, f64) {
        let mut slot = end as usize & self.mask;
        let (mut key, mut s) = (0.0, 0.0);
        for qj in q {
            let v = f64::from(self.values[slot]);
            key += v;
            let d = v - qj;
            s += d * d;
            slot = slot.wrapping_sub(self.stride) & self.mask;
        }
        (key, s)
    }

    /// The key of the pattern of `width` values ending at `end`.
    #[inline(always)]
    pub(super) fn key(self, end: u64, width: usize) -> f64 {
        let mut slot = end as usize & self.mask;
        let mut sum = 0.0;
        for _ in 0..width {
            sum += f64::from(self.values[slot]);
            slot = slot.wrapping_sub(self.stride) & self.mask;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unallocated_ring_has_no_view() {
        assert!(RingView::new(&[], 1).is_none());
    }

    #[test]
    fn sums_wrap_around_the_ring_newest_first() {
        let ring = [1.0, 2.0, 4.0, 8.0];
        let view = RingView::new(&ring, 1).expect("allocated");
        // Ending at position 5 (slot 1): slots 1, 0, 3.
        let (key, d2) = view.key_and_sum_sq(5, &[2.0, 0.0, 8.0]);
        assert_eq!(key, 11.0);
        assert_eq!(d2, 1.0);
        assert_eq!(view.key(5, 3), key);
        // A stride of 2 from slot 2: slots 2, 0.
        let view = RingView::new(&ring, 2).expect("allocated");
        assert_eq!(view.key(2, 2), 5.0);
    }
}
