//! The event queue: events ordered by (time, insertion sequence), with lazy cancellation
//! of timers.
//!
//! Simultaneous events pop in the order they were scheduled (FIFO), the same rule ns-3 and
//! OMNeT++ use. Cancelling a timer sets its bit in a "done" bitmap (one bit per event ever
//! scheduled); the stale entry is dropped when it reaches the front, so `cancel` is O(1)
//! and cancelling a timer that already fired is detected and harmless.
//!
//! Three stores hold the pending events, and `pop` takes the smallest (time, sequence) of
//! their fronts, so the order is exactly one priority queue's:
//! * a sorted run (a FIFO) takes every event scheduled no earlier than the run's last one,
//!   in O(1): a trace's submissions, scheduled up front in time order, and completions of
//!   equal-length work;
//! * a monotone radix heap ([`crate::radix`], 256 buckets a level) takes the others from
//!   its floor up (the floor never passes a pending event in it; the engine never
//!   schedules before now);
//! * a binary heap takes what is left: events put back by `reinsert` or scheduled before
//!   the radix heap's floor (a bare queue allows it).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::hash::{Hash, Hasher};

use crate::radix::RadixHeap;
use crate::time::SimTime;

/// Identity of a scheduled event; returned by `schedule`, accepted by `cancel`.
/// It is the event's insertion sequence number, so it is unique within a queue.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct TimerId(pub u64);

/// An `Option<TimerId>` in the 8 bytes of one id (an `Option<TimerId>` takes 16): `u64::MAX`,
/// a sequence number no queue reaches, stands for `None`. Compares, hashes, prints and
/// (de)serialises as the `Option<TimerId>` it holds; for structs kept per job in large
/// runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TimerSlot(u64);

impl TimerSlot {
    pub const NONE: TimerSlot = TimerSlot(u64::MAX);

    pub fn get(self) -> Option<TimerId> {
        (self.0 != u64::MAX).then_some(TimerId(self.0))
    }

    pub fn set(&mut self, t: Option<TimerId>) {
        *self = TimerSlot::from(t);
    }

    pub fn take(&mut self) -> Option<TimerId> {
        std::mem::replace(self, TimerSlot::NONE).get()
    }

    pub fn is_some(self) -> bool {
        self.0 != u64::MAX
    }

    pub fn is_none(self) -> bool {
        self.0 == u64::MAX
    }
}

impl Default for TimerSlot {
    fn default() -> Self {
        TimerSlot::NONE
    }
}

impl From<Option<TimerId>> for TimerSlot {
    fn from(t: Option<TimerId>) -> Self {
        match t {
            Some(TimerId(seq)) => {
                debug_assert!(seq != u64::MAX, "timer id u64::MAX is never issued");
                TimerSlot(seq)
            }
            None => TimerSlot::NONE,
        }
    }
}

impl std::fmt::Debug for TimerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.get(), f)
    }
}

impl Hash for TimerSlot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.get().hash(state);
    }
}

impl serde::Serialize for TimerSlot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for TimerSlot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(TimerSlot::from(Option::<TimerId>::deserialize(d)?))
    }
}

#[derive(Clone, Debug)]
struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    /// (time, seq) as one integer, in the same order.
    fn key(&self) -> u128 {
        (u128::from(self.time.0) << 64) | u128::from(self.seq)
    }
}

/// The seq of a key made by [`Entry::key`].
fn seq_of(key: u128) -> u64 {
    key as u64
}

/// Which store holds the next event.
#[derive(Clone, Copy, Debug)]
enum Store {
    Run,
    Radix,
    Heap,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time && self.seq == o.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) on top.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

/// A scheduled event as returned by `pop`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduled<E> {
    pub time: SimTime,
    pub id: TimerId,
    pub event: E,
}

/// Pending events ordered by (time, sequence). Plain data: clone it to snapshot a run.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    /// Events below the radix heap's floor (rare; see the module docs).
    heap: BinaryHeap<Entry<E>>,
    /// Events in ascending (time, seq): each was scheduled at or after the time of the
    /// one before it (sequence numbers only grow).
    run: VecDeque<Entry<E>>,
    /// The other events (time and seq are in the key; the item is the event).
    radix: RadixHeap<E>,
    next_seq: u64,
    /// Bit `seq` is set once event `seq` has fired or been cancelled.
    done: Vec<u64>,
    /// Cancelled entries still sitting in the heap or the run.
    cancelled_in_heap: usize,
    /// The next live event's store and key, while known (a peek followed by a pop, the
    /// engine's rhythm, finds it once).
    front: Option<(Store, u128)>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            run: VecDeque::new(),
            radix: RadixHeap::default(),
            next_seq: 0,
            done: Vec::new(),
            cancelled_in_heap: 0,
            front: None,
        }
    }

    #[inline]
    fn is_done(&self, seq: u64) -> bool {
        self.done
            .get((seq / 64) as usize)
            .is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }

    #[inline]
    fn mark_done(&mut self, seq: u64) {
        let i = (seq / 64) as usize;
        if self.done.len() <= i {
            self.done.resize(i + 1, 0);
        }
        self.done[i] |= 1 << (seq % 64);
    }

    /// Schedule `event` at `time`; returns an id that can cancel it.
    #[inline]
    pub fn schedule(&mut self, time: SimTime, event: E) -> TimerId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let e = Entry { time, seq, event };
        // `seq` is larger than every pending one, so `time` alone decides the run's order.
        let key = e.key();
        let store = if self.run.back().is_none_or(|b| b.time <= time) {
            self.run.push_back(e);
            Store::Run
        } else if key >= self.radix.floor() {
            self.radix.push(key, e.event);
            Store::Radix
        } else {
            self.heap.push(e);
            Store::Heap
        };
        self.note_new(store, key);
        TimerId(seq)
    }

    /// Cancel a scheduled event. Returns false if it was already cancelled, already fired
    /// or never existed (cancelling twice is harmless).
    pub fn cancel(&mut self, id: TimerId) -> bool {
        if id.0 >= self.next_seq || self.is_done(id.0) {
            return false;
        }
        self.mark_done(id.0);
        self.cancelled_in_heap += 1;
        if self.front.is_some_and(|(_, k)| seq_of(k) == id.0) {
            self.front = None;
        }
        true
    }

    /// The store holding the smallest pending (time, seq), and that key.
    #[inline]
    fn next_store(&mut self) -> Option<(Store, u128)> {
        let mut best: Option<(Store, u128)> = self.radix.peek_key().map(|k| (Store::Radix, k));
        for (store, key) in [
            (Store::Run, self.run.front().map(Entry::key)),
            (Store::Heap, self.heap.peek().map(Entry::key)),
        ] {
            if let Some(k) = key
                && best.is_none_or(|(_, b)| k < b)
            {
                best = Some((store, k));
            }
        }
        best
    }

    /// Take the front event of `store`.
    #[inline]
    fn take(&mut self, store: Store) -> Option<Entry<E>> {
        match store {
            Store::Run => self.run.pop_front(),
            Store::Heap => self.heap.pop(),
            Store::Radix => self.radix.pop().map(|k| Entry {
                time: SimTime((k.key() >> 64) as u64),
                seq: seq_of(k.key()),
                event: k.item,
            }),
        }
    }

    /// Drop cancelled events from the front; the next live event's store and key.
    #[inline]
    fn next_live(&mut self) -> Option<(Store, u128)> {
        if let Some(f) = self.front {
            return Some(f);
        }
        loop {
            let (store, key) = self.next_store()?;
            if self.cancelled_in_heap == 0 || !self.is_done(seq_of(key)) {
                self.front = Some((store, key));
                return Some((store, key));
            }
            self.take(store);
            self.cancelled_in_heap -= 1;
        }
    }

    /// An event of `key` joined `store`: it is the next one if it comes before the known
    /// next one (if the next one is not known, it stays unknown).
    #[inline]
    fn note_new(&mut self, store: Store, key: u128) {
        if let Some((_, k)) = self.front
            && key < k
        {
            self.front = Some((store, key));
        }
    }

    /// Time of the next live event.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.next_live().map(|(_, k)| SimTime((k >> 64) as u64))
    }

    /// Remove and return the next live event.
    #[inline]
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        let (store, _) = self.next_live()?;
        self.front = None;
        let e = self.take(store)?;
        self.mark_done(e.seq);
        Some(Scheduled {
            time: e.time,
            id: TimerId(e.seq),
            event: e.event,
        })
    }

    /// Remove every live event at the earliest time, in (time, seq) order. Used when the
    /// order of simultaneous events is itself a choice point.
    pub fn pop_simultaneous(&mut self) -> Vec<Scheduled<E>> {
        let mut out = Vec::new();
        let Some(t) = self.peek_time() else {
            return out;
        };
        while self.peek_time() == Some(t) {
            if let Some(e) = self.pop() {
                out.push(e);
            }
        }
        out
    }

    /// Put back an event popped earlier, keeping its original id and thus its place.
    pub fn reinsert(&mut self, s: Scheduled<E>) {
        let i = (s.id.0 / 64) as usize;
        if let Some(w) = self.done.get_mut(i) {
            *w &= !(1 << (s.id.0 % 64));
        }
        let e = Entry {
            time: s.time,
            seq: s.id.0,
            event: s.event,
        };
        let key = e.key();
        self.heap.push(e);
        self.note_new(Store::Heap, key);
    }

    /// Events ever scheduled (changes whenever `schedule` is called).
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }

    /// Number of live pending events.
    pub fn len(&self) -> usize {
        self.heap.len() + self.run.len() + self.radix.len() - self.cancelled_in_heap
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live pending events in (time, seq) order — a canonical view for hashing and snapshots.
    pub fn pending(&self) -> Vec<(SimTime, TimerId, &E)> {
        let mut v: Vec<_> = self
            .heap
            .iter()
            .chain(&self.run)
            .filter(|e| !self.is_done(e.seq))
            .map(|e| (e.time, TimerId(e.seq), &e.event))
            .chain(
                self.radix
                    .iter()
                    .filter(|k| !self.is_done(seq_of(k.key())))
                    .map(|k| {
                        (
                            SimTime((k.key() >> 64) as u64),
                            TimerId(seq_of(k.key())),
                            &k.item,
                        )
                    }),
            )
            .collect();
        v.sort_by_key(|(t, id, _)| (*t, *id));
        v
    }
}

impl<E: PartialEq> PartialEq for EventQueue<E> {
    fn eq(&self, o: &Self) -> bool {
        self.next_seq == o.next_seq && self.pending() == o.pending()
    }
}
impl<E: Eq> Eq for EventQueue<E> {}

impl<E: Hash> Hash for EventQueue<E> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.next_seq.hash(h);
        for (t, id, e) in self.pending() {
            t.hash(h);
            id.hash(h);
            e.hash(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `TimerSlot` is an `Option<TimerId>` in 8 bytes: same hash, text, YAML and order
    /// of `take`/`set` as the option it stands for.
    #[test]
    fn timer_slot_is_an_option_in_eight_bytes() {
        use std::hash::DefaultHasher;
        assert_eq!(std::mem::size_of::<TimerSlot>(), 8);
        assert_eq!(std::mem::size_of::<Option<TimerId>>(), 16);
        let hash = |h: &dyn Fn(&mut DefaultHasher)| {
            let mut s = DefaultHasher::new();
            h(&mut s);
            s.finish()
        };
        for o in [
            None,
            Some(TimerId(0)),
            Some(TimerId(7)),
            Some(TimerId(u64::MAX - 1)),
        ] {
            let slot = TimerSlot::from(o);
            assert_eq!(slot.get(), o);
            assert_eq!(slot.is_some(), o.is_some());
            assert_eq!(slot.is_none(), o.is_none());
            assert_eq!(hash(&|s| slot.hash(s)), hash(&|s| o.hash(s)));
            assert_eq!(format!("{slot:?}"), format!("{o:?}"));
            let yaml = serde_saphyr::to_string(&slot).expect("serialise");
            assert_eq!(yaml, serde_saphyr::to_string(&o).expect("serialise"));
            let back: TimerSlot = serde_saphyr::from_str(&yaml).expect("deserialise");
            assert_eq!(back, slot);
            let mut t = slot;
            assert_eq!(t.take(), o);
            assert!(t.is_none());
            t.set(o);
            assert_eq!(t, slot);
        }
        assert_eq!(TimerSlot::default(), TimerSlot::NONE);
    }

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(5), "c");
        q.schedule(SimTime(1), "a");
        q.schedule(SimTime(5), "d");
        q.schedule(SimTime(1), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|s| s.event)).collect();
        assert_eq!(order, vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn cancelled_timers_never_fire() {
        let mut q = EventQueue::new();
        let a = q.schedule(SimTime(1), 'a');
        let b = q.schedule(SimTime(2), 'b');
        q.schedule(SimTime(3), 'c');
        assert!(q.cancel(b));
        assert!(!q.cancel(b), "second cancel is a no-op");
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|s| s.event), Some('a'));
        assert!(!q.cancel(a), "cannot cancel what already fired");
        assert_eq!(q.pop().map(|s| s.event), Some('c'));
        assert!(q.pop().is_none());
        assert!(q.is_empty());
    }

    #[test]
    fn snapshot_equality_and_hash_ignore_heap_layout() {
        use std::collections::hash_map::DefaultHasher;
        let mut a = EventQueue::new();
        a.schedule(SimTime(1), 1u32);
        a.schedule(SimTime(2), 2u32);
        let mut b = a.clone();
        let x = b.schedule(SimTime(0), 9);
        b.cancel(x);
        let mut c = a.clone();
        c.next_seq += 1; // same pending set, different history
        assert_ne!(a, c);
        let h = |q: &EventQueue<u32>| {
            let mut s = DefaultHasher::new();
            q.hash(&mut s);
            s.finish()
        };
        assert_eq!(a.pending(), b.pending());
        assert_eq!(h(&b), h(&c));
    }

    /// The run and the heap together pop in exactly (time, seq) order, cancellations
    /// included: checked against a sort over random schedules.
    #[test]
    fn run_and_heap_pop_in_time_then_sequence_order() {
        let mut next = crate::radix::xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..200 {
            let mut q = EventQueue::new();
            let mut want: Vec<(SimTime, u64)> = Vec::new();
            let mut now = 0u64;
            for _ in 0..(round % 40 + 5) {
                // Mostly ascending times (the run), some earlier ones (the heap).
                let t = match next() % 4 {
                    0 => now.saturating_sub(next() % 5),
                    _ => now + next() % 3,
                };
                now = now.max(t);
                let id = q.schedule(SimTime(t), 0u8);
                want.push((SimTime(t), id.0));
                if next().is_multiple_of(6) {
                    let k = (next() as usize) % want.len();
                    let (_, seq) = want.remove(k);
                    assert!(q.cancel(TimerId(seq)));
                }
                if next().is_multiple_of(5) {
                    want.sort();
                    let got = q.pop().map(|s| (s.time, s.id.0));
                    assert_eq!(got, (!want.is_empty()).then(|| want.remove(0)));
                    // Later events are never scheduled before the popped time.
                    if let Some((t, _)) = got {
                        now = now.max(t.0);
                    }
                }
                assert_eq!(q.len(), want.len());
                if next().is_multiple_of(2) {
                    assert_eq!(q.peek_time(), want.iter().min().map(|(t, _)| *t));
                }
            }
            want.sort();
            let rest: Vec<_> = std::iter::from_fn(|| q.pop().map(|s| (s.time, s.id.0))).collect();
            assert_eq!(rest, want, "round {round}");
        }
    }

    #[test]
    fn pop_simultaneous_and_reinsert_keep_order() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(1), 'a');
        q.schedule(SimTime(1), 'b');
        q.schedule(SimTime(2), 'c');
        let mut batch = q.pop_simultaneous();
        assert_eq!(batch.len(), 2);
        let b = batch.pop().unwrap();
        q.reinsert(b);
        q.reinsert(batch.pop().unwrap());
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|s| s.event)).collect();
        assert_eq!(order, vec!['a', 'b', 'c']);
    }

    /// All three stores together, with delays from 0 to seconds (every radix level),
    /// cancellations, peeks and events put back by `reinsert`: the pop order is a sort's.
    #[test]
    fn every_store_pops_in_time_then_sequence_order_with_reinserts() {
        let mut next = crate::radix::xorshift(0xbb67_ae85_84ca_a73b);
        for round in 0..200 {
            let mut q = EventQueue::new();
            let mut want: Vec<(SimTime, u64, u32)> = Vec::new();
            let mut now = 0u64;
            let mut popped: Vec<Scheduled<u32>> = Vec::new();
            for i in 0..(round % 150 + 5) {
                let d = match next() % 5 {
                    0 => 0,
                    1 => next() % 4,
                    2 => next() % 2_000_000,
                    3 => next() % 5_000_000_000,
                    _ => next() >> (next() % 64),
                };
                let t = now.saturating_add(d);
                let id = q.schedule(SimTime(t), i);
                want.push((SimTime(t), id.0, i));
                if next().is_multiple_of(7) {
                    let k = (next() as usize) % want.len();
                    let (_, seq, _) = want.remove(k);
                    assert!(q.cancel(TimerId(seq)));
                }
                if next().is_multiple_of(11)
                    && let Some(s) = popped.pop()
                    && s.time.0 == now
                {
                    // Put back an event of the current instant, as the chooser does.
                    want.push((s.time, s.id.0, s.event));
                    q.reinsert(s);
                }
                if next().is_multiple_of(3) {
                    want.sort();
                    let got = q.pop();
                    let w = (!want.is_empty()).then(|| want.remove(0));
                    assert_eq!(got.as_ref().map(|s| (s.time, s.id.0, s.event)), w);
                    if let Some(s) = got {
                        if s.time.0 > now {
                            popped.clear();
                        }
                        now = s.time.0;
                        popped.push(s);
                    }
                }
                assert_eq!(q.len(), want.len());
                if next().is_multiple_of(2) {
                    assert_eq!(q.peek_time(), want.iter().min().map(|w| w.0));
                }
            }
            want.sort();
            let rest: Vec<_> =
                std::iter::from_fn(|| q.pop().map(|s| (s.time, s.id.0, s.event))).collect();
            assert_eq!(rest, want, "round {round}");
        }
    }

    /// A queue cloned at random moments (as the verifier restores snapshots) pops as an
    /// ordered set, with few or many pending.
    #[test]
    fn clones_pop_in_time_then_sequence_order() {
        use std::collections::BTreeSet;
        let mut next = crate::radix::xorshift(0x3c6e_f372_fe94_f82b);
        for round in 0..40u64 {
            let mut q = EventQueue::new();
            let mut want: BTreeSet<(SimTime, u64, u32)> = BTreeSet::new();
            let mut now = 0u64;
            let spread = [4, 300, 70_000, 5_000_000][(round % 4) as usize];
            for i in 0..3_000u32 {
                if !next().is_multiple_of(3) || want.len() < 2 {
                    let t = SimTime(now + next() % spread);
                    let id = q.schedule(t, i);
                    want.insert((t, id.0, i));
                }
                if next().is_multiple_of(2 + round % 3) {
                    let got = q.pop();
                    assert_eq!(
                        got.as_ref().map(|s| (s.time, s.id.0, s.event)),
                        want.pop_first()
                    );
                    if let Some(s) = got {
                        now = s.time.0;
                    }
                }
                if next().is_multiple_of(5) {
                    q = q.clone();
                }
                assert_eq!(q.len(), want.len());
            }
            let rest: Vec<_> =
                std::iter::from_fn(|| q.pop().map(|s| (s.time, s.id.0, s.event))).collect();
            assert_eq!(rest, want.into_iter().collect::<Vec<_>>(), "round {round}");
        }
    }

    /// The queue at scale (thousands pending, so radix buckets are both sorted and
    /// re-filed), with cancellations (of pending, fired and cancelled events), peeks and
    /// reinserts: the pop order is an ordered set's.
    #[test]
    fn many_pending_pop_in_time_then_sequence_order() {
        use std::collections::BTreeSet;
        let mut next = crate::radix::xorshift(0xa54f_f53a_5f1d_36f1);
        for round in 0..6u64 {
            let mut q = EventQueue::new();
            let mut want: BTreeSet<(SimTime, u64, u32)> = BTreeSet::new();
            let mut recent: Vec<(SimTime, u64, u32)> = Vec::new();
            let mut popped: Vec<Scheduled<u32>> = Vec::new();
            let mut now = 0u64;
            for i in 0..15_000u32 {
                let phase = u64::from(i / 2500) + round;
                let d = match (phase + next() % 2) % 4 {
                    0 => next() % 2_000_000,
                    1 => next() % 8,
                    2 => next() % 5_000_000_000,
                    _ => next() % 100_000,
                };
                let t = SimTime(now + d);
                let id = q.schedule(t, i);
                want.insert((t, id.0, i));
                recent.push((t, id.0, i));
                if recent.len() > 64 {
                    recent.remove(0);
                }
                if next().is_multiple_of(9) {
                    let c = recent[(next() as usize) % recent.len()];
                    assert_eq!(q.cancel(TimerId(c.1)), want.remove(&c));
                }
                if next().is_multiple_of(13)
                    && let Some(s) = popped.pop()
                    && s.time.0 == now
                {
                    want.insert((s.time, s.id.0, s.event));
                    q.reinsert(s);
                }
                let pops = if phase % 2 == 0 {
                    1
                } else {
                    u64::from(next().is_multiple_of(3))
                };
                for _ in 0..pops {
                    let got = q.pop();
                    let w = want.pop_first();
                    assert_eq!(got.as_ref().map(|s| (s.time, s.id.0, s.event)), w);
                    if let Some(s) = got {
                        if s.time.0 > now {
                            popped.clear();
                        }
                        now = s.time.0;
                        popped.push(s);
                    }
                }
                assert_eq!(q.len(), want.len());
                if next().is_multiple_of(4) {
                    assert_eq!(q.peek_time(), want.first().map(|w| w.0));
                }
                // The verifier goes on from snapshots: a clone must behave as the original.
                if next().is_multiple_of(61) {
                    q = q.clone();
                }
            }
            let rest: Vec<_> =
                std::iter::from_fn(|| q.pop().map(|s| (s.time, s.id.0, s.event))).collect();
            assert_eq!(rest, want.into_iter().collect::<Vec<_>>(), "round {round}");
        }
    }
}
