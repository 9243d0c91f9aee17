//! A monotone radix heap over 128-bit keys, the store behind most of [`crate::EventQueue`].
//!
//! Keys are `time << 64 | seq`: the (time, sequence) order as one integer. A radix heap
//! needs every key it is given to be at least the last key it gave out (`last`); the
//! queue sends anything smaller elsewhere. Bucket 0 holds keys equal to `last`; bucket
//! `b ≥ 1` holds keys whose highest bit differing from `last` is bit `b - 1`. The smallest
//! key is in the lowest non-empty bucket; taking it out of bucket `b > 0` re-files that
//! bucket's other keys against the new `last`, each into a lower bucket, so a key moves at
//! most 128 times over its life and usually a handful. Insertion is O(1); there is no
//! sift through a tree of cache lines as in a binary heap.
//!
//! The smallest key found by a scan is kept (`min`) until a removal, so peeking costs one
//! scan per removal at most.

/// One stored item and its key, kept as two words (8-byte aligned: a `u128` field would
/// pad every entry to 16 bytes).
#[derive(Clone, Debug)]
pub(crate) struct Keyed<T> {
    hi: u64,
    lo: u64,
    pub item: T,
}

impl<T> Keyed<T> {
    fn new(key: u128, item: T) -> Keyed<T> {
        Keyed {
            hi: (key >> 64) as u64,
            lo: key as u64,
            item,
        }
    }

    #[inline]
    pub fn key(&self) -> u128 {
        (u128::from(self.hi) << 64) | u128::from(self.lo)
    }
}

const BUCKETS: usize = 129;

#[derive(Clone, Debug)]
pub(crate) struct RadixHeap<T> {
    /// The last key taken out (every stored key is at least this).
    last: u128,
    buckets: Vec<Vec<Keyed<T>>>,
    /// Bit `b` (of word `b / 64`) set iff bucket `b` is non-empty.
    mask: [u64; 3],
    len: usize,
    /// The smallest stored key and its bucket, when known.
    min: Option<(u128, usize)>,
}

impl<T> Default for RadixHeap<T> {
    fn default() -> Self {
        RadixHeap {
            last: 0,
            // Allocated at the first push, so an empty heap (a bare queue, a snapshot of
            // a small run) costs nothing to make or clone.
            buckets: Vec::new(),
            mask: [0; 3],
            len: 0,
            min: None,
        }
    }
}

impl<T> RadixHeap<T> {
    /// The last key taken out: [`RadixHeap::push`] accepts keys from here up.
    pub fn floor(&self) -> u128 {
        self.last
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn bucket_of(&self, key: u128) -> usize {
        BUCKETS - 1 - (key ^ self.last).leading_zeros() as usize
    }

    fn mark(&mut self, b: usize) {
        self.mask[b / 64] |= 1 << (b % 64);
    }

    fn unmark(&mut self, b: usize) {
        self.mask[b / 64] &= !(1 << (b % 64));
    }

    fn lowest_bucket(&self) -> Option<usize> {
        self.mask
            .iter()
            .enumerate()
            .find(|(_, w)| **w != 0)
            .map(|(i, w)| i * 64 + w.trailing_zeros() as usize)
    }

    /// Store `item` under `key` (`key >= floor()`, else it is filed as if at the floor,
    /// which would break the order: callers route smaller keys elsewhere).
    pub fn push(&mut self, key: u128, item: T) {
        debug_assert!(key >= self.last, "radix heap key below its floor");
        if self.buckets.is_empty() {
            self.buckets = (0..BUCKETS).map(|_| Vec::new()).collect();
        }
        let b = self.bucket_of(key.max(self.last));
        self.buckets[b].push(Keyed::new(key, item));
        self.mark(b);
        self.len += 1;
        if let Some((m, _)) = self.min
            && key < m
        {
            self.min = Some((key, b));
        }
    }

    /// The smallest stored key (and its bucket).
    fn find_min(&mut self) -> Option<(u128, usize)> {
        if self.min.is_none() {
            let b = self.lowest_bucket()?;
            let k = self.buckets[b].iter().map(Keyed::key).min()?;
            self.min = Some((k, b));
        }
        self.min
    }

    /// The smallest stored key.
    pub fn peek_key(&mut self) -> Option<u128> {
        self.find_min().map(|(k, _)| k)
    }

    /// Take out the item with the smallest key.
    pub fn pop(&mut self) -> Option<Keyed<T>> {
        let (k, b) = self.find_min()?;
        self.min = None;
        // The next smallest key, found while re-filing (buckets below `b` were empty, so
        // it is the smallest of bucket `b`'s other keys).
        let mut next: Option<(u128, usize)> = None;
        if b > 0 {
            // Re-file bucket `b` against the new floor `k`: `k` lands in bucket 0, every
            // other key in a bucket below `b`.
            self.last = k;
            let mut moving = std::mem::take(&mut self.buckets[b]);
            self.unmark(b);
            for e in moving.drain(..) {
                let key = e.key();
                let nb = self.bucket_of(key);
                if nb > 0 && next.is_none_or(|(m, _)| key < m) {
                    next = Some((key, nb));
                }
                self.buckets[nb].push(e);
                self.mark(nb);
            }
            // Keep the emptied bucket's allocation for its next keys.
            self.buckets[b] = moving;
        }
        let e = self.buckets[0].pop()?;
        if self.buckets[0].is_empty() {
            self.unmark(0);
        }
        self.len -= 1;
        self.min = next;
        Some(e)
    }

    /// Every stored item, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Keyed<T>> {
        self.buckets.iter().flatten()
    }
}

/// A tiny fixed-seed generator for the property tests of this module and the queue's.
#[cfg(test)]
pub(crate) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_key_order_with_pushes_from_the_floor_up() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for round in 0..300u64 {
            let mut h = RadixHeap::default();
            let mut want: Vec<u128> = Vec::new();
            let mut seq = 0u128;
            let mut floor = 0u128;
            for _ in 0..(round % 60 + 1) {
                // Keys from the floor up: a time (possibly equal to the floor's) and a
                // fresh sequence number, as the event queue makes them.
                let t = (floor >> 64) + u128::from(next() % 4) * u128::from(next() % 1000);
                seq += 1;
                let k = (t << 64) | seq;
                let k = k.max(floor + 1);
                h.push(k, ());
                want.push(k);
                if next().is_multiple_of(3) {
                    want.sort_unstable();
                    let got = h.pop().map(|e| e.key());
                    assert_eq!(got, Some(want.remove(0)));
                    floor = got.unwrap_or(floor);
                }
                assert_eq!(h.len(), want.len());
                assert_eq!(h.peek_key(), want.iter().min().copied());
            }
            want.sort_unstable();
            let rest: Vec<u128> = std::iter::from_fn(|| h.pop().map(|e| e.key())).collect();
            assert_eq!(rest, want, "round {round}");
        }
    }
}
