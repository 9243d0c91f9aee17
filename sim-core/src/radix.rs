//! A monotone radix heap over 128-bit keys, the store behind most of [`crate::EventQueue`].
//!
//! Keys are `time << 64 | seq`: the (time, sequence) order as one integer. Every stored key
//! is at least `last` (the heap's floor; the queue sends anything smaller elsewhere). The
//! key is read in 8-bit digits; a key whose highest digit differing from `last` is digit
//! `l` sits at level `l`, in the bucket of its own digit `l` (a key equal to `last`, or
//! differing only in digit 0, sits at level 0). Lower levels hold smaller keys, and within
//! a level a lower digit means a smaller key, so the smallest key is in the lowest
//! non-empty bucket of the lowest non-empty level (one bitmap word per level and one for
//! the levels find it).
//!
//! A level-0 bucket holds a single key (keys are unique). When the smallest key is looked
//! for, the lowest bucket is used as it is if it holds one key, and sorted (descending, so
//! its keys leave from the end in order) if it holds at most `SORT_MAX` keys; a larger one
//! is re-filed: `last` moves up to the bucket's base (the digits its keys share, from its
//! level up, and zeros below) and its keys go to lower levels; the other buckets keep
//! their places. One bucket at a time is marked sorted; a key that falls into it is
//! inserted in place (a sorted bucket that grows past `SORTED_GROW_MAX` this way loses the
//! mark and is re-filed). On the hold model (10,000 pending keys spread over 2 ms) a key is
//! appended to a bucket of a few hundred keys, sorted with them once and popped from the
//! end (re-filing happens when the time crosses into a new 2^24 ns window, and moves each
//! key once). A key moves at most 15 times over its life.
//!
//! An emptied bucket keeps its allocation for its next keys up to `KEEP_CAP` keys' worth
//! and frees a larger one, so a million pending keys do not leave every bucket they passed
//! through holding tens of thousands of keys' worth of memory.
//!
//! The floor (`last`) can pass keys already taken out (a base is found when the smallest
//! key is looked for), never a stored key; the queue routes keys below it elsewhere.

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

/// Bits of a digit, buckets per level, and bitmap words per level.
const DIGIT_BITS: u32 = 8;
const FANOUT: usize = 1 << DIGIT_BITS;
const WORDS: usize = FANOUT / 64;
/// Levels needed to cover 128 bits.
const LEVELS: usize = 128usize.div_ceil(DIGIT_BITS as usize);

type Bucket<T> = Vec<Keyed<T>>;

#[derive(Debug)]
pub(crate) struct RadixHeap<T> {
    /// Every stored key is at least this; buckets are relative to it.
    last: u128,
    /// `levels[l][d]`: the bucket of digit `d` at level `l`. Allocated at the first push
    /// (the levels as they are first used), so an empty heap costs nothing to make or
    /// clone.
    levels: Vec<Vec<Bucket<T>>>,
    /// Bit `d` of `masks[l]` (word `d / 64`) set iff bucket `levels[l][d]` is non-empty.
    masks: [[u64; WORDS]; LEVELS],
    /// Bit `l` set iff `masks[l] != 0`.
    level_mask: u32,
    len: usize,
    /// The smallest stored key and its bucket, when known.
    min: Option<(u128, usize, usize)>,
    /// A bucket whose keys are in descending order (its smallest last), kept so by
    /// inserting its new keys in place: the lowest bucket, sorted once when it was found
    /// to hold at most [`SORT_MAX`] keys, then popped from the end without re-filing.
    sorted: Option<(usize, usize)>,
}

/// The lowest bucket is sorted (rather than re-filed) when it holds at most this many keys.
const SORT_MAX: usize = 512;
/// An emptied bucket keeps its allocation for its next keys up to this many keys'
/// worth; a larger one is freed (with a million keys pending, the buckets re-filed would
/// otherwise each keep tens of thousands of keys' worth).
const KEEP_CAP: usize = 1024;
/// A sorted bucket that grows past this many keys (keys inserted in place cost a shift of
/// the bucket) is left unsorted and re-filed when it is the lowest again.
const SORTED_GROW_MAX: usize = 4 * SORT_MAX;

impl<T> Default for RadixHeap<T> {
    fn default() -> Self {
        RadixHeap {
            last: 0,
            levels: Vec::new(),
            masks: [[0; WORDS]; LEVELS],
            level_mask: 0,
            len: 0,
            min: None,
            sorted: None,
        }
    }
}

/// A snapshot (the verifier clones a run at every state) copies the non-empty buckets
/// only; an empty level stays unallocated.
impl<T: Clone> Clone for RadixHeap<T> {
    fn clone(&self) -> Self {
        let levels = self
            .levels
            .iter()
            .zip(&self.masks)
            .map(|(lv, mask)| {
                if *mask == [0; WORDS] {
                    return Vec::new();
                }
                lv.iter()
                    .enumerate()
                    .map(|(d, b)| {
                        if mask[d / 64] & (1 << (d % 64)) != 0 {
                            b.clone()
                        } else {
                            Vec::new()
                        }
                    })
                    .collect()
            })
            .collect();
        RadixHeap {
            last: self.last,
            levels,
            masks: self.masks,
            level_mask: self.level_mask,
            len: self.len,
            min: self.min,
            // An empty sorted bucket may sit in a level the clone leaves unallocated; the
            // mark only matters for a non-empty one.
            sorted: self
                .sorted
                .filter(|&(l, d)| self.masks[l][d / 64] & (1 << (d % 64)) != 0),
        }
    }
}

impl<T> RadixHeap<T> {
    /// The floor: [`RadixHeap::push`] accepts keys from here up.
    pub fn floor(&self) -> u128 {
        self.last
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The level and digit of `key`'s bucket against `last`.
    #[inline]
    fn bucket_of(&self, key: u128) -> (usize, usize) {
        // `| 1` maps keys equal to `last` (or differing only in bit 0) to level 0.
        let high = 127 - ((key ^ self.last) | 1).leading_zeros();
        let level = high / DIGIT_BITS;
        let digit = (key >> (level * DIGIT_BITS)) as usize & (FANOUT - 1);
        (level as usize, digit)
    }

    /// File `e` into bucket (`level`, `digit`).
    #[inline]
    fn file(&mut self, level: usize, digit: usize, e: Keyed<T>) {
        if self.levels.is_empty() {
            self.levels = (0..LEVELS).map(|_| Vec::new()).collect();
        }
        let lv = &mut self.levels[level];
        if lv.is_empty() {
            *lv = (0..FANOUT).map(|_| Vec::new()).collect();
        }
        lv[digit].push(e);
        self.masks[level][digit / 64] |= 1 << (digit % 64);
        self.level_mask |= 1 << level;
    }

    /// Store `item` under `key` (`key >= floor()`, else it would be filed out of order:
    /// callers route smaller keys elsewhere).
    #[inline]
    pub fn push(&mut self, key: u128, item: T) {
        debug_assert!(key >= self.last, "radix heap key below its floor");
        let (level, digit) = self.bucket_of(key.max(self.last));
        self.len += 1;
        if self.sorted == Some((level, digit)) {
            // Into the sorted bucket, in place (descending: after every larger key).
            let b = &mut self.levels[level][digit];
            let i = b.partition_point(|e| e.key() > key);
            b.insert(i, Keyed::new(key, item));
            self.masks[level][digit / 64] |= 1 << (digit % 64);
            self.level_mask |= 1 << level;
            if b.len() > SORTED_GROW_MAX {
                // Too large to keep shifting: re-filed when it is the lowest again.
                self.sorted = None;
                if self.min.is_some_and(|(_, l, d)| (l, d) == (level, digit)) {
                    self.min = None;
                }
            } else if self.min.is_some_and(|(m, _, _)| key < m) {
                // Smaller than every other key: it went to the sorted bucket's end.
                self.min = Some((key, level, digit));
            }
            return;
        }
        self.file(level, digit, Keyed::new(key, item));
        // The smallest key must be alone in its bucket (or in the sorted one): looked for
        // again if the new key is smaller or joins it.
        if self
            .min
            .is_some_and(|(m, l, d)| key < m || (l, d) == (level, digit))
        {
            self.min = None;
        }
    }

    /// The lowest non-empty bucket.
    #[inline]
    fn lowest(&self) -> Option<(usize, usize)> {
        if self.level_mask == 0 {
            return None;
        }
        let level = self.level_mask.trailing_zeros() as usize;
        let (i, w) = self.masks[level]
            .iter()
            .enumerate()
            .find(|(_, w)| **w != 0)?;
        Some((level, i * 64 + w.trailing_zeros() as usize))
    }

    #[inline]
    fn unmark(&mut self, level: usize, digit: usize) {
        self.masks[level][digit / 64] &= !(1 << (digit % 64));
        if self.masks[level] == [0; WORDS] {
            self.level_mask &= !(1 << level);
        }
    }

    /// The smallest stored key and its bucket: the lowest bucket, re-filed until it holds
    /// a single key (kept until a removal or a smaller key comes in).
    #[inline]
    fn find_min(&mut self) -> Option<(u128, usize, usize)> {
        if self.min.is_none() {
            let (level, digit) = loop {
                let (level, digit) = self.lowest()?;
                // (A level-0 bucket holds one key; two equal keys, which the queue never
                // makes, would stay there and leave one after the other.)
                let n = self.levels[level][digit].len();
                if level == 0 || n == 1 || self.sorted == Some((level, digit)) {
                    break (level, digit);
                }
                if n <= SORT_MAX {
                    // Sorted once, descending; its keys then leave from the end in order.
                    self.levels[level][digit].sort_unstable_by_key(|e| std::cmp::Reverse(e.key()));
                    self.sorted = Some((level, digit));
                    break (level, digit);
                }
                self.refile(level, digit);
            };
            let key = self.levels[level][digit].last()?.key();
            self.min = Some((key, level, digit));
        }
        self.min
    }

    /// Move `last` up to the base of bucket (`level`, `digit`) (its keys' common digits
    /// from `level` up, zeros below: at most its smallest key) and re-file its keys
    /// against it, each into a lower level. The base shares the digits above `level` with
    /// `last`, so the other buckets keep their places.
    fn refile(&mut self, level: usize, digit: usize) {
        debug_assert!(level > 0);
        let mut moving = std::mem::take(&mut self.levels[level][digit]);
        self.unmark(level, digit);
        // Keys are appended below: no bucket stays marked sorted (they are re-sorted when
        // lowest, cheaply if still in order).
        self.sorted = None;
        if let Some(first) = moving.first() {
            let low = (1u128 << (level as u32 * DIGIT_BITS)) - 1;
            self.last = first.key() & !low;
        }
        for e in moving.drain(..) {
            let (l, d) = self.bucket_of(e.key());
            debug_assert!(l < level);
            self.file(l, d, e);
        }
        // Keep the emptied bucket's allocation for its next keys, unless it is large.
        if moving.capacity() <= KEEP_CAP {
            self.levels[level][digit] = moving;
        }
    }

    /// The smallest stored key.
    #[inline]
    pub fn peek_key(&mut self) -> Option<u128> {
        self.find_min().map(|(k, _, _)| k)
    }

    /// Take out the item with the smallest key.
    #[inline]
    pub fn pop(&mut self) -> Option<Keyed<T>> {
        let (_, level, digit) = self.find_min()?;
        self.min = None;
        let b = &mut self.levels[level][digit];
        let e = b.pop()?;
        match b.last() {
            None => {
                if b.capacity() > KEEP_CAP {
                    *b = Vec::new();
                }
                self.unmark(level, digit);
            }
            // The sorted lowest bucket's next key is the next smallest.
            Some(n) if self.sorted == Some((level, digit)) => {
                self.min = Some((n.key(), level, digit));
            }
            Some(_) => {}
        }
        self.len -= 1;
        Some(e)
    }

    /// Every stored item, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Keyed<T>> {
        self.levels.iter().flatten().flatten()
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
                // (The heap's floor may have passed the last key taken out.)
                let k = k.max(floor + 1).max(h.floor());
                if want.contains(&k) {
                    continue;
                }
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

    /// Keys over the whole 128 bits (times far apart and equal, large sequence numbers),
    /// pushed anywhere from the floor up (not only from the last key taken out): pops and
    /// peeks match a sort, and the floor never passes a stored key.
    #[test]
    fn pops_in_key_order_across_every_level() {
        let mut next = xorshift(0x6a09_e667_f3bc_c909);
        for round in 0..300u64 {
            let mut h = RadixHeap::default();
            let mut want: Vec<u128> = Vec::new();
            let mut seq = u128::from(next() >> (round % 64));
            for _ in 0..(round % 200 + 1) {
                let floor = h.floor();
                let t = (floor >> 64)
                    + match next() % 4 {
                        0 => 0,
                        1 => u128::from(next() % 64),
                        2 => u128::from(next() % 5_000_000),
                        _ => u128::from(next() >> (next() % 64)),
                    };
                let t = t.min(u128::from(u64::MAX));
                seq += 1 + u128::from(next() % 3);
                let k = ((t << 64) | (seq & u128::from(u64::MAX))).max(floor);
                if want.contains(&k) {
                    continue;
                }
                h.push(k, k);
                want.push(k);
                if next().is_multiple_of(3) {
                    want.sort_unstable();
                    let got = h.pop().map(|e| (e.key(), e.item));
                    let w = want.remove(0);
                    assert_eq!(got, Some((w, w)));
                }
                assert_eq!(h.len(), want.len());
                if next().is_multiple_of(2) {
                    assert_eq!(h.peek_key(), want.iter().min().copied());
                }
                assert!(want.iter().all(|&k| k >= h.floor()));
                let mut all: Vec<u128> = h.iter().map(Keyed::key).collect();
                all.sort_unstable();
                let mut w = want.clone();
                w.sort_unstable();
                assert_eq!(all, w);
            }
            want.sort_unstable();
            // A clone (empty levels left unallocated) goes on exactly as the original.
            let mut c = h.clone();
            c.push(u128::MAX, u128::MAX);
            let rest: Vec<u128> = std::iter::from_fn(|| h.pop().map(|e| e.key())).collect();
            assert_eq!(rest, want, "round {round}");
            let mut with_max: Vec<u128> = std::iter::from_fn(|| c.pop().map(|e| e.key())).collect();
            assert_eq!(with_max.pop(), Some(u128::MAX));
            assert_eq!(with_max, want);
        }
    }

    /// Thousands of keys pending: buckets larger than `SORT_MAX` are re-filed, smaller
    /// ones sorted; bursts of keys into the sorted bucket (narrow spreads, few pops) grow
    /// it past `SORTED_GROW_MAX`, after which it is re-filed. Pops and peeks match an
    /// ordered set throughout.
    #[test]
    fn sorted_and_refiled_buckets_pop_in_key_order() {
        use std::collections::BTreeSet;
        let mut next = xorshift(0x3c6e_f372_fe94_f82b);
        let mut grew = 0;
        for round in 0..16u64 {
            let mut h = RadixHeap::default();
            let mut want = BTreeSet::new();
            let mut seq = u128::from(next() % 1000);
            let mut now = 0u128;
            for step in 0..12_000u64 {
                let phase = step / 1500 + round;
                let spread: u64 = match phase % 5 {
                    0 => 2_000_000,
                    1 => 64,
                    2 => 1 << 40,
                    3 => 3,
                    _ => 200_000,
                };
                let t = (now + u128::from(next() % spread)).min(u128::from(u64::MAX));
                seq += 1;
                let k = ((t << 64) | seq).max(h.floor());
                if !want.insert(k) {
                    continue;
                }
                h.push(k, k);
                if h.sorted
                    .is_some_and(|(l, d)| h.levels[l][d].len() > SORT_MAX)
                {
                    grew += 1;
                }
                // Fill (a pop every fifth push) and drain (two pops a push) in turn.
                let pops = if (phase / 2) % 2 == 0 {
                    u64::from(next().is_multiple_of(5))
                } else {
                    2
                };
                for _ in 0..pops {
                    let got = h.pop().map(|e| (e.key(), e.item));
                    let w = want.pop_first();
                    assert_eq!(got, w.map(|w| (w, w)), "round {round} step {step}");
                    if let Some(w) = w {
                        now = w >> 64;
                    }
                }
                assert_eq!(h.len(), want.len());
                if step % 3 == 0 {
                    assert_eq!(h.peek_key(), want.first().copied());
                }
            }
            let rest: Vec<u128> = std::iter::from_fn(|| h.pop().map(|e| e.key())).collect();
            assert_eq!(rest, want.into_iter().collect::<Vec<_>>(), "round {round}");
        }
        assert!(grew > 0, "a sorted bucket grew past SORT_MAX by insertions");
    }

    /// A clone of a heap whose sorted bucket was emptied (its level left unallocated in
    /// the clone) takes keys in that bucket's range.
    #[test]
    fn a_clone_takes_keys_where_the_emptied_sorted_bucket_was() {
        let mut h = RadixHeap::default();
        for (seq, t) in [1000u128, 1001, 1002].into_iter().enumerate() {
            h.push((t << 64) | seq as u128, t);
        }
        assert_eq!(h.pop().map(|e| e.item), Some(1000));
        assert!(h.sorted.is_some(), "the lowest bucket was sorted");
        h.pop();
        h.pop();
        let mut c = h.clone();
        for g in [&mut h, &mut c] {
            g.push((1003 << 64) | 5, 1003);
            g.push((1004 << 64) | 4, 1004);
            let order: Vec<u128> = std::iter::from_fn(|| g.pop().map(|e| e.item)).collect();
            assert_eq!(order, vec![1003, 1004]);
        }
    }
}
