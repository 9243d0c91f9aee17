//! Flow-level bandwidth sharing: max-min fairness by progressive filling, recomputed
//! incrementally.
//!
//! A [`FlowNet`] holds links (capacities in bytes per second) and flows (a path of links, a
//! byte count, an optional per-flow rate cap). Every change (arrival, departure, capacity
//! change) is re-solved selectively: first only the flows on the links the change touches,
//! holding every other rate fixed; wherever that leaves a flow without a valid bottleneck
//! (so the allocation would not be max-min fair) the link concerned is opened and the
//! enlarged problem solved again. The result is the unique max-min allocation, as if the
//! whole connected component of the flow–link graph had been re-solved, but a departure in
//! a large sharing group usually re-solves a few dozen flows instead of hundreds. After a few
//! rounds without settling, the whole connected component is re-solved. Flows outside the
//! re-solved set keep their rates and their completion times.
//!
//! Progress is accounted lazily: each flow stores `(remaining, rate, last_update)` and is
//! only brought up to date when its rate changes. Completion times are integer nanoseconds,
//! rounded up, so a caller can put them in the engine's queue as they are. After each
//! mutation [`FlowNet::take_changed`] lists the flows whose completion time was set or moved,
//! so the caller cancels and re-arms exactly those timers.
//!
//! Determinism: no hashing, no wall clock; all iteration is over `Vec`s in an order fixed by
//! the sequence of calls. Ties in the completion heap break on [`FlowId`].

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};
use sim_core::{NANOS_PER_SEC, SimTime};

/// A link (a directed, capacity-limited resource: a port direction, a switch uplink bundle, a
/// filesystem's aggregate read bandwidth …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LinkId(pub u32);

impl LinkId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A flow handle. Slots are reused; the generation makes stale handles harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId {
    idx: u32,
    generation: u32,
}

/// What to put on the network.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSpec {
    /// Links the flow crosses (order irrelevant; duplicates are ignored).
    pub path: Vec<LinkId>,
    /// Bytes to move; `f64::INFINITY` for a persistent (elastic, never-ending) flow.
    pub bytes: f64,
    /// Per-flow rate cap in bytes/s (a client's own NIC or FS-client limit, a demand rate).
    pub cap: Option<f64>,
    /// Caller's tag (e.g. a job key), reported back by [`FlowNet::owner`].
    pub owner: u64,
}

impl FlowSpec {
    pub fn new(path: Vec<LinkId>, bytes: f64) -> Self {
        FlowSpec {
            path,
            bytes,
            cap: None,
            owner: 0,
        }
    }
    pub fn with_cap(mut self, cap: f64) -> Self {
        self.cap = Some(cap);
        self
    }
    pub fn with_owner(mut self, owner: u64) -> Self {
        self.owner = owner;
        self
    }
}

#[derive(Clone, Debug)]
struct Link {
    cap: f64,
    /// (flow slot, index of this link in the flow's path).
    flows: Vec<(u32, u32)>,
    /// Current load (sum of rates), bytes/s.
    load: f64,
    /// Bytes carried up to `last`.
    bytes: f64,
    last: u64,
}

/// Per-link bookkeeping of a solve, kept apart from [`Link`] so the scans stay in cache.
#[derive(Clone, Copy, Debug, Default)]
struct LinkMark {
    /// Epoch in which the link joined the problem.
    stamp: u32,
    /// Epoch in which the link was opened (all its flows re-solved) by a selective update.
    open: u32,
    /// Index in the problem.
    local: u32,
    /// Listed in `load_changed` (when tracking).
    load_listed: bool,
}

/// Field order matters: a solve reads `path`, `rate` and `cap` of flows in no particular
/// order, so those (and the progress fields) share the first cache line.
/// A flow's links: up to four inline (every path the topology builds), longer ones boxed.
#[derive(Clone, Debug)]
enum Path {
    Inline([LinkId; 4], u8),
    Heap(Box<[LinkId]>),
}

impl Default for Path {
    fn default() -> Self {
        Path::Inline([LinkId(0); 4], 0)
    }
}

impl Path {
    fn new(v: Vec<LinkId>) -> Self {
        if v.len() <= 4 {
            let mut a = [LinkId(0); 4];
            a[..v.len()].copy_from_slice(&v);
            Path::Inline(a, v.len() as u8)
        } else {
            Path::Heap(v.into_boxed_slice())
        }
    }
}

impl std::ops::Deref for Path {
    type Target = [LinkId];
    fn deref(&self) -> &[LinkId] {
        match self {
            Path::Inline(a, n) => &a[..usize::from(*n)],
            Path::Heap(b) => b,
        }
    }
}

#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Flow {
    path: Path,
    rate: f64,
    cap: f64,
    remaining: f64,
    last: u64,
    generation: u32,
    /// Bumped whenever `done_at` changes (invalidates completion-heap entries).
    version: u32,
    done_at: Option<u64>,
    changed_stamp: u64,
    owner: u64,
    /// Position of this flow in `links[path[h]].flows`.
    pos: Vec<u32>,
    live: bool,
}

/// Scratch water-filling problem in local indices (compressed sparse rows both ways).
#[derive(Clone, Default, Debug)]
struct Problem {
    link_cap: Vec<f64>,
    flow_cap: Vec<f64>,
    flow_off: Vec<u32>,
    flow_links: Vec<u32>,
    link_off: Vec<u32>,
    link_flows: Vec<u32>,
    // solver state
    frozen_use: Vec<f64>,
    unfrozen: Vec<u32>,
    version: Vec<u32>,
    rate: Vec<f64>,
    frozen: Vec<bool>,
    /// Per flow: the local link whose saturation froze it (`u32::MAX`: its own cap).
    bott: Vec<u32>,
    heap: BinaryHeap<Reverse<Entry>>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    level: f64,
    /// 0 = link, 1 = flow cap.
    kind: u8,
    id: u32,
    version: u32,
}
impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        self.level
            .total_cmp(&o.level)
            .then(self.kind.cmp(&o.kind))
            .then(self.id.cmp(&o.id))
            .then(self.version.cmp(&o.version))
    }
}

impl Problem {
    fn clear(&mut self) {
        self.link_cap.clear();
        self.flow_cap.clear();
        self.flow_off.clear();
        self.flow_off.push(0);
        self.flow_links.clear();
    }

    /// Build the link→flow rows from the flow→link rows (counting sort, stable).
    fn index_links(&mut self) {
        let nl = self.link_cap.len();
        self.link_off.clear();
        self.link_off.resize(nl + 1, 0);
        for &l in &self.flow_links {
            self.link_off[l as usize + 1] += 1;
        }
        for i in 0..nl {
            self.link_off[i + 1] += self.link_off[i];
        }
        self.link_flows.clear();
        self.link_flows.resize(self.flow_links.len(), 0);
        let mut fill: Vec<u32> = self.link_off[..nl].to_vec();
        let nf = self.flow_cap.len();
        for f in 0..nf {
            for k in self.flow_off[f]..self.flow_off[f + 1] {
                let l = self.flow_links[k as usize] as usize;
                self.link_flows[fill[l] as usize] = f as u32;
                fill[l] += 1;
            }
        }
    }

    /// Progressive filling: raise all unfrozen rates together; when a link saturates (or a
    /// flow reaches its cap) freeze the flows concerned; repeat.
    fn solve(&mut self) {
        let nl = self.link_cap.len();
        let nf = self.flow_cap.len();
        self.frozen_use.clear();
        self.frozen_use.resize(nl, 0.0);
        self.version.clear();
        self.version.resize(nl, 0);
        self.unfrozen.clear();
        self.rate.clear();
        self.rate.resize(nf, 0.0);
        self.frozen.clear();
        self.frozen.resize(nf, false);
        self.bott.clear();
        self.bott.resize(nf, u32::MAX);
        self.heap.clear();
        for l in 0..nl {
            let n = self.link_off[l + 1] - self.link_off[l];
            self.unfrozen.push(n);
            if n > 0 {
                self.heap.push(Reverse(Entry {
                    level: self.link_cap[l] / f64::from(n),
                    kind: 0,
                    id: l as u32,
                    version: 0,
                }));
            }
        }
        let mut remaining = nf;
        for f in 0..nf {
            let has_links = self.flow_off[f + 1] > self.flow_off[f];
            if self.flow_cap[f].is_finite() || !has_links {
                self.heap.push(Reverse(Entry {
                    level: self.flow_cap[f],
                    kind: 1,
                    id: f as u32,
                    version: 0,
                }));
            }
        }
        let mut level = 0.0f64;
        while remaining > 0 {
            let Some(Reverse(e)) = self.heap.pop() else {
                break;
            };
            level = level.max(e.level);
            if e.kind == 0 {
                let l = e.id as usize;
                if e.version != self.version[l] || self.unfrozen[l] == 0 {
                    continue;
                }
                for k in self.link_off[l]..self.link_off[l + 1] {
                    let f = self.link_flows[k as usize] as usize;
                    if !self.frozen[f] {
                        self.freeze(f, level, l);
                        remaining -= 1;
                    }
                }
            } else {
                let f = e.id as usize;
                if !self.frozen[f] {
                    self.freeze(f, level, usize::MAX);
                    remaining -= 1;
                }
            }
        }
    }

    fn freeze(&mut self, f: usize, rate: f64, skip: usize) {
        self.frozen[f] = true;
        self.rate[f] = rate;
        self.bott[f] = skip as u32;
        for k in self.flow_off[f]..self.flow_off[f + 1] {
            let l = self.flow_links[k as usize] as usize;
            self.frozen_use[l] += rate;
            self.unfrozen[l] -= 1;
            self.version[l] += 1;
            if l != skip && self.unfrozen[l] > 0 {
                let share = ((self.link_cap[l] - self.frozen_use[l]) / f64::from(self.unfrozen[l]))
                    .max(rate);
                self.heap.push(Reverse(Entry {
                    level: share,
                    kind: 0,
                    id: l as u32,
                    version: self.version[l],
                }));
            }
        }
    }
}

/// A boundary link of a selective update: the flows on it that are not re-solved.
#[derive(Clone, Copy, Debug)]
struct Bound {
    /// How many (0 for an open link: all its flows are in the problem).
    outside: u32,
    /// Sum and maximum of their (fixed) rates.
    out_load: f64,
    out_max: f64,
    /// Highest rate on the link before the update (all flows).
    old_max: f64,
}

impl Bound {
    const OPEN: Bound = Bound {
        outside: 0,
        out_load: 0.0,
        out_max: 0.0,
        old_max: 0.0,
    };
}

/// Utilisation of one link at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LinkState {
    pub capacity: f64,
    /// Sum of the rates of the flows on it, bytes/s.
    pub load: f64,
    /// Bytes carried since the link was created.
    pub bytes: f64,
    pub flows: usize,
}

impl LinkState {
    pub fn utilisation(&self) -> f64 {
        if self.capacity > 0.0 {
            self.load / self.capacity
        } else {
            0.0
        }
    }
}

/// The bandwidth solver. See the module docs. (`Clone`: the verifier snapshots a run's
/// network to continue it on another branch.)
#[derive(Clone, Debug)]
pub struct FlowNet {
    links: Vec<Link>,
    lmark: Vec<LinkMark>,
    flows: Vec<Flow>,
    /// Per flow slot: epoch in which the flow joined the problem.
    fstamp: Vec<u32>,
    free: Vec<u32>,
    live: usize,
    epoch: u32,
    now: u64,
    epsilon: f64,
    heap: BinaryHeap<Reverse<(u64, u32, u32, u32)>>,
    changed: Vec<FlowId>,
    changed_epoch: u64,
    comp_links: Vec<u32>,
    comp_flows: Vec<u32>,
    /// Per problem link (local index): what the flows outside the problem do on it.
    bound: Vec<Bound>,
    /// Links to open in the next selective round.
    to_open: Vec<u32>,
    problem: Problem,
    solves: u64,
    solved_flows: u64,
    selective_rounds: usize,
    track_loads: bool,
    load_changed: Vec<u32>,
}

fn done_at(last: u64, remaining: f64, rate: f64) -> Option<u64> {
    if remaining <= 0.0 {
        return Some(last);
    }
    if !remaining.is_finite() || rate <= 0.0 {
        return None;
    }
    if rate.is_infinite() {
        return Some(last);
    }
    let ns = (remaining / rate * NANOS_PER_SEC as f64).ceil();
    if ns >= (u64::MAX - last) as f64 {
        None
    } else {
        Some(last + ns as u64)
    }
}

impl Default for FlowNet {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl FlowNet {
    /// A solver over links with these capacities (bytes/s); link `i` is `LinkId(i)`.
    pub fn new(capacities: &[f64]) -> Self {
        let mut n = FlowNet {
            links: Vec::new(),
            lmark: Vec::new(),
            flows: Vec::new(),
            fstamp: Vec::new(),
            free: Vec::new(),
            live: 0,
            epoch: 0,
            now: 0,
            epsilon: 1e-9,
            heap: BinaryHeap::new(),
            changed: Vec::new(),
            changed_epoch: 1,
            comp_links: Vec::new(),
            comp_flows: Vec::new(),
            bound: Vec::new(),
            to_open: Vec::new(),
            problem: Problem::default(),
            solves: 0,
            solved_flows: 0,
            selective_rounds: 6,
            track_loads: false,
            load_changed: Vec::new(),
        };
        for &c in capacities {
            n.add_link(c);
        }
        n
    }

    /// Relative rate change below which a flow keeps its old rate (and completion time).
    /// Default 1e-9: only float noise is suppressed.
    pub fn set_epsilon(&mut self, eps: f64) {
        self.epsilon = eps.max(0.0);
    }

    /// Rounds of selective update before a change falls back to re-solving its whole
    /// connected component (default 6). 0 always re-solves the whole component (the
    /// reference behaviour, for comparisons); the rates are the same either way (within
    /// float rounding).
    pub fn set_selective_rounds(&mut self, rounds: usize) {
        self.selective_rounds = rounds;
    }

    /// Record which links' loads change, for [`FlowNet::take_changed_links`] (off by default:
    /// a caller that never takes the list would let it grow).
    pub fn track_link_loads(&mut self, on: bool) {
        self.track_loads = on;
    }

    /// Links whose load changed since the last call (sorted), when tracking is on. An
    /// observer updates its per-link figures from these instead of scanning every link.
    pub fn take_changed_links(&mut self) -> Vec<LinkId> {
        let mut v = std::mem::take(&mut self.load_changed);
        v.sort_unstable();
        for &l in &v {
            self.lmark[l as usize].load_listed = false;
        }
        v.into_iter().map(LinkId).collect()
    }

    pub fn add_link(&mut self, capacity: f64) -> LinkId {
        let id = LinkId(self.links.len() as u32);
        self.links.push(Link {
            cap: capacity.max(0.0),
            flows: Vec::new(),
            load: 0.0,
            bytes: 0.0,
            last: self.now,
        });
        self.lmark.push(LinkMark::default());
        id
    }

    pub fn num_links(&self) -> usize {
        self.links.len()
    }
    /// Flows currently on the network.
    pub fn num_flows(&self) -> usize {
        self.live
    }
    /// Time of the last mutation or `advance`.
    pub fn now(&self) -> SimTime {
        SimTime(self.now)
    }
    /// (number of component solves, total flows re-solved) since creation.
    pub fn solver_stats(&self) -> (u64, u64) {
        (self.solves, self.solved_flows)
    }

    /// Move the clock. Rates are piecewise constant, so nothing needs draining eagerly
    /// (progress is accounted lazily); this only checks monotonicity and records `now`.
    pub fn advance(&mut self, now: SimTime) {
        assert!(
            now.0 >= self.now,
            "FlowNet time went backwards: {} < {}",
            now.0,
            self.now
        );
        self.now = now.0;
    }

    fn flow(&self, id: FlowId) -> Option<&Flow> {
        self.flows
            .get(id.idx as usize)
            .filter(|f| f.live && f.generation == id.generation)
    }

    pub fn contains(&self, id: FlowId) -> bool {
        self.flow(id).is_some()
    }
    /// Current rate in bytes/s.
    pub fn rate(&self, id: FlowId) -> Option<f64> {
        self.flow(id).map(|f| f.rate)
    }
    pub fn owner(&self, id: FlowId) -> Option<u64> {
        self.flow(id).map(|f| f.owner)
    }
    pub fn path(&self, id: FlowId) -> Option<&[LinkId]> {
        self.flow(id).map(|f| &*f.path)
    }
    /// Bytes still to move at `now` (≥ 0).
    pub fn remaining(&self, id: FlowId, now: SimTime) -> Option<f64> {
        self.flow(id).map(|f| {
            let dt = now.0.saturating_sub(f.last) as f64 / NANOS_PER_SEC as f64;
            (f.remaining - f.rate * dt).max(0.0)
        })
    }
    /// Completion time at the current rates (`None`: never, e.g. persistent or starved).
    pub fn completion_time(&self, id: FlowId) -> Option<SimTime> {
        self.flow(id).and_then(|f| f.done_at.map(SimTime))
    }

    /// Live flows, in slot order.
    pub fn flow_ids(&self) -> Vec<FlowId> {
        self.flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.live)
            .map(|(i, f)| FlowId {
                idx: i as u32,
                generation: f.generation,
            })
            .collect()
    }

    pub fn link_capacity(&self, l: LinkId) -> f64 {
        self.links[l.index()].cap
    }

    /// Load, capacity and cumulative bytes of a link at `now` (≥ last mutation).
    pub fn link_state(&self, l: LinkId, now: SimTime) -> LinkState {
        let k = &self.links[l.index()];
        let dt = now.0.saturating_sub(k.last) as f64 / NANOS_PER_SEC as f64;
        LinkState {
            capacity: k.cap,
            load: k.load,
            bytes: k.bytes + k.load * dt,
            flows: k.flows.len(),
        }
    }

    /// The earliest completion: `(time, flow)`, ties broken by `FlowId`.
    pub fn next_completion(&mut self) -> Option<(SimTime, FlowId)> {
        while let Some(&Reverse((t, idx, generation, version))) = self.heap.peek() {
            let f = &self.flows[idx as usize];
            if f.live && f.generation == generation && f.version == version && f.done_at == Some(t)
            {
                return Some((SimTime(t), FlowId { idx, generation }));
            }
            self.heap.pop();
        }
        None
    }

    /// Flows whose completion time was set or moved since the last call (sorted, live only).
    /// Re-arm a timer at [`FlowNet::completion_time`] for each (cancel the old one).
    pub fn take_changed(&mut self) -> Vec<FlowId> {
        let mut v = std::mem::take(&mut self.changed);
        v.retain(|&id| self.contains(id));
        v.sort_unstable();
        self.changed_epoch += 1;
        v
    }

    fn mark_changed(&mut self, idx: u32) {
        let f = &mut self.flows[idx as usize];
        if f.changed_stamp != self.changed_epoch {
            f.changed_stamp = self.changed_epoch;
            let id = FlowId {
                idx,
                generation: f.generation,
            };
            self.changed.push(id);
        }
    }

    fn set_done(&mut self, idx: u32) {
        let f = &mut self.flows[idx as usize];
        let d = done_at(f.last, f.remaining, f.rate);
        if d != f.done_at {
            f.done_at = d;
            f.version = f.version.wrapping_add(1);
            // An unchanged completion keeps its (still valid) heap entry.
            if let Some(t) = d {
                self.heap.push(Reverse((t, idx, f.generation, f.version)));
            }
        }
        self.mark_changed(idx);
        // Keep the lazy heap from growing without bound.
        if self.heap.len() > 4 * self.live + 1024 {
            self.rebuild_heap();
        }
    }

    fn rebuild_heap(&mut self) {
        let mut v = Vec::with_capacity(self.live);
        for (i, f) in self.flows.iter().enumerate() {
            if f.live
                && let Some(t) = f.done_at
            {
                v.push(Reverse((t, i as u32, f.generation, f.version)));
            }
        }
        self.heap = BinaryHeap::from(v);
    }

    fn attach(&mut self, spec: FlowSpec) -> FlowId {
        let mut path = spec.path;
        path.sort_unstable();
        path.dedup();
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.flows.push(Flow {
                    generation: 0,
                    live: false,
                    path: Path::default(),
                    pos: Vec::new(),
                    cap: f64::INFINITY,
                    rate: 0.0,
                    remaining: 0.0,
                    last: 0,
                    done_at: None,
                    version: 0,
                    owner: 0,
                    changed_stamp: 0,
                });
                self.fstamp.push(0);
                (self.flows.len() - 1) as u32
            }
        };
        let mut pos = Vec::with_capacity(path.len());
        for (h, &l) in path.iter().enumerate() {
            let link = &mut self.links[l.index()];
            pos.push(link.flows.len() as u32);
            link.flows.push((idx, h as u32));
        }
        let now = self.now;
        let f = &mut self.flows[idx as usize];
        f.live = true;
        f.path = Path::new(path);
        f.pos = pos;
        f.cap = spec.cap.unwrap_or(f64::INFINITY).max(0.0);
        f.rate = 0.0;
        f.remaining = spec.bytes.max(0.0);
        f.last = now;
        f.done_at = None;
        f.version = f.version.wrapping_add(1);
        f.owner = spec.owner;
        f.changed_stamp = 0;
        self.fstamp[idx as usize] = 0;
        self.live += 1;
        if f.path.is_empty() {
            // Nothing to share: it runs at its cap (instantly if uncapped).
            f.rate = f.cap;
            self.set_done(idx);
        } else if f.remaining == 0.0 {
            self.set_done(idx);
        }
        FlowId {
            idx,
            generation: self.flows[idx as usize].generation,
        }
    }

    fn detach(&mut self, id: FlowId) -> Option<(f64, Vec<LinkId>)> {
        self.flow(id)?;
        let now = self.now;
        let f = &mut self.flows[id.idx as usize];
        let dt = now.saturating_sub(f.last) as f64 / NANOS_PER_SEC as f64;
        let left = (f.remaining - f.rate * dt).max(0.0);
        f.live = false;
        f.generation = f.generation.wrapping_add(1);
        f.done_at = None;
        let path = std::mem::take(&mut f.path);
        let pos = std::mem::take(&mut f.pos);
        for (h, &l) in path.iter().enumerate() {
            let p = pos[h] as usize;
            let link = &mut self.links[l.index()];
            link.flows.swap_remove(p);
            if p < link.flows.len() {
                let (moved, mh) = link.flows[p];
                self.flows[moved as usize].pos[mh as usize] = p as u32;
            }
        }
        self.free.push(id.idx);
        self.live -= 1;
        Some((left, path.to_vec()))
    }

    /// Start a flow at `now` and re-solve its component.
    pub fn add_flow(&mut self, now: SimTime, spec: FlowSpec) -> FlowId {
        self.advance(now);
        let seeds = spec.path.clone();
        let id = self.attach(spec);
        self.resolve(&seeds);
        id
    }

    /// Start several flows at once with a single solve (e.g. all edges of a ring).
    pub fn add_flows(&mut self, now: SimTime, specs: Vec<FlowSpec>) -> Vec<FlowId> {
        self.advance(now);
        let mut seeds = Vec::new();
        let mut ids = Vec::with_capacity(specs.len());
        for s in specs {
            seeds.extend_from_slice(&s.path);
            ids.push(self.attach(s));
        }
        self.resolve(&seeds);
        ids
    }

    /// Remove a flow (finished or cancelled); returns the bytes it had left.
    pub fn remove_flow(&mut self, id: FlowId, now: SimTime) -> Option<f64> {
        self.advance(now);
        let (left, path) = self.detach(id)?;
        self.resolve(&path);
        Some(left)
    }

    /// Remove several flows with a single solve.
    pub fn remove_flows(&mut self, ids: &[FlowId], now: SimTime) {
        self.advance(now);
        let mut seeds = Vec::new();
        for &id in ids {
            if let Some((_, p)) = self.detach(id) {
                seeds.extend(p);
            }
        }
        self.resolve(&seeds);
    }

    /// Remove every flow whose completion time is ≤ `now` (one solve); returns them in
    /// (completion time, id) order.
    pub fn pop_completed(&mut self, now: SimTime) -> Vec<FlowId> {
        self.advance(now);
        let mut done = Vec::new();
        while let Some((t, id)) = self.next_completion() {
            if t > now {
                break;
            }
            self.heap.pop();
            done.push(id);
        }
        let mut seeds = Vec::new();
        for &id in &done {
            if let Some((_, p)) = self.detach(id) {
                seeds.extend(p);
            }
        }
        self.resolve(&seeds);
        done
    }

    /// Change a link's capacity (failure, degradation, what-if) at `now`.
    pub fn set_link_capacity(&mut self, l: LinkId, capacity: f64, now: SimTime) {
        self.advance(now);
        self.links[l.index()].cap = capacity.max(0.0);
        // Utilisation moves with the capacity even if the load does not.
        if self.track_loads && !self.lmark[l.index()].load_listed {
            self.lmark[l.index()].load_listed = true;
            self.load_changed.push(l.0);
        }
        self.resolve(&[l]);
    }

    fn next_epoch(&mut self) -> u32 {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            for m in &mut self.lmark {
                m.stamp = 0;
                m.open = 0;
            }
            self.fstamp.fill(0);
            self.epoch = 1;
        }
        self.epoch
    }

    /// Collect the connected component(s) of the flow–link graph reachable from `seeds`;
    /// every link of it is open (all its flows are in the problem).
    fn component(&mut self, seeds: &[LinkId]) {
        let ep = self.next_epoch();
        self.comp_links.clear();
        self.comp_flows.clear();
        for &l in seeds {
            let m = &mut self.lmark[l.index()];
            if m.stamp != ep {
                m.stamp = ep;
                self.comp_links.push(l.0);
            }
        }
        let mut i = 0;
        while i < self.comp_links.len() {
            let l = self.comp_links[i] as usize;
            self.lmark[l].open = ep;
            for &(f, _) in &self.links[l].flows {
                let f = f as usize;
                if self.fstamp[f] == ep {
                    continue;
                }
                self.fstamp[f] = ep;
                self.comp_flows.push(f as u32);
                for &k in self.flows[f].path.iter() {
                    let m = &mut self.lmark[k.index()];
                    if m.stamp != ep {
                        m.stamp = ep;
                        self.comp_links.push(k.0);
                    }
                }
            }
            i += 1;
        }
    }

    /// Open link `l` in the current epoch: all its flows join the problem, and the links
    /// they cross join it as boundary links (if not there yet).
    fn open_link(&mut self, l: u32, ep: u32) {
        let m = &mut self.lmark[l as usize];
        if m.open == ep {
            return;
        }
        m.open = ep;
        if m.stamp != ep {
            m.stamp = ep;
            self.comp_links.push(l);
        }
        for &(f, _) in &self.links[l as usize].flows {
            let f = f as usize;
            if self.fstamp[f] == ep {
                continue;
            }
            self.fstamp[f] = ep;
            self.comp_flows.push(f as u32);
            for &k in self.flows[f].path.iter() {
                let m = &mut self.lmark[k.index()];
                if m.stamp != ep {
                    m.stamp = ep;
                    self.comp_links.push(k.0);
                }
            }
        }
    }

    /// Fill `p` with the current problem (`comp_links`, `comp_flows`) and solve it. Open
    /// links offer their capacity; a boundary link offers what the flows outside the problem
    /// leave of it (their rates are held fixed). Fills `self.bound` for boundary links.
    fn solve_problem(&mut self, p: &mut Problem, ep: u32) {
        p.clear();
        self.bound.clear();
        for (i, &l) in self.comp_links.iter().enumerate() {
            let m = &mut self.lmark[l as usize];
            m.local = i as u32;
            let link = &self.links[l as usize];
            if m.open == ep {
                p.link_cap.push(link.cap);
                self.bound.push(Bound::OPEN);
                continue;
            }
            let (mut out_load, mut out_max, mut old_max, mut outside) = (0.0f64, 0.0f64, 0.0f64, 0);
            for &(f, _) in &link.flows {
                let fl = &self.flows[f as usize];
                old_max = old_max.max(fl.rate);
                if self.fstamp[f as usize] != ep {
                    out_load += fl.rate;
                    out_max = out_max.max(fl.rate);
                    outside += 1;
                }
            }
            p.link_cap.push((link.cap - out_load).max(0.0));
            self.bound.push(Bound {
                outside,
                out_load,
                out_max,
                old_max,
            });
        }
        for &f in &self.comp_flows {
            let fl = &self.flows[f as usize];
            for &l in fl.path.iter() {
                p.flow_links.push(self.lmark[l.index()].local);
            }
            p.flow_off.push(p.flow_links.len() as u32);
            p.flow_cap.push(fl.cap);
        }
        p.index_links();
        p.solve();
    }

    /// Boundary links where holding the outside flows fixed is not max-min fair: a flow in
    /// the problem is bottlenecked there below an outside flow's rate, or an outside flow
    /// that was bottlenecked there (saturated, at the highest rate) no longer is. Those links
    /// go to `self.to_open`.
    fn violations(&mut self, p: &Problem) {
        const TOL: f64 = 1e-9;
        self.to_open.clear();
        for (m, b) in self.bound.iter().enumerate() {
            if b.outside == 0 {
                continue;
            }
            let l = self.comp_links[m];
            let link = &self.links[l as usize];
            let (mut s_load, mut s_max) = (0.0f64, 0.0f64);
            let mut below = false;
            for k in p.link_off[m]..p.link_off[m + 1] {
                let f = p.link_flows[k as usize] as usize;
                let r = p.rate[f];
                s_load += r;
                s_max = s_max.max(r);
                if p.bott[f] == m as u32 && b.out_max > r * (1.0 + TOL) {
                    below = true;
                }
            }
            let full = link.cap * (1.0 - TOL);
            let was_bottleneck = link.load >= full && b.out_max >= b.old_max * (1.0 - TOL);
            let still = b.out_load + s_load >= full && b.out_max >= s_max * (1.0 - TOL);
            if below || (was_bottleneck && !still) {
                self.to_open.push(l);
            }
        }
    }

    /// Re-solve after a change on `seeds` and update rates, completion times, link loads and
    /// byte counters.
    ///
    /// Selective update: start with the flows on the seed links, holding every other flow's
    /// rate fixed; solve; where that is not max-min fair at a boundary link (see
    /// [`FlowNet::violations`]), open the link (add its flows) and solve again. When no
    /// boundary link objects, every flow has a bottleneck and the allocation is the unique
    /// max-min fair one, the same as re-solving the whole connected component. After
    /// [`FlowNet::set_selective_rounds`] rounds the whole component is solved instead.
    fn resolve(&mut self, seeds: &[LinkId]) {
        if seeds.is_empty() {
            return;
        }
        let now = self.now;
        let mut p = std::mem::take(&mut self.problem);
        let ep = self.next_epoch();
        self.comp_links.clear();
        self.comp_flows.clear();
        self.to_open.clear();
        self.to_open.extend(seeds.iter().map(|l| l.0));
        let mut settled = false;
        for _ in 0..self.selective_rounds {
            let open = std::mem::take(&mut self.to_open);
            for &l in &open {
                self.open_link(l, ep);
            }
            self.to_open = open;
            self.solve_problem(&mut p, ep);
            self.violations(&p);
            if self.to_open.is_empty() {
                settled = true;
                break;
            }
        }
        if !settled {
            self.component(seeds);
            let ep = self.epoch;
            self.solve_problem(&mut p, ep);
        }
        self.solves += 1;
        self.solved_flows += self.comp_flows.len() as u64;

        let comp_flows = std::mem::take(&mut self.comp_flows);
        for (i, &f) in comp_flows.iter().enumerate() {
            let new = p.rate[i];
            let fl = &mut self.flows[f as usize];
            let old = fl.rate;
            if (new - old).abs() <= self.epsilon * old.abs().max(new.abs()) {
                continue;
            }
            let dt = now.saturating_sub(fl.last) as f64 / NANOS_PER_SEC as f64;
            fl.remaining = (fl.remaining - old * dt).max(0.0);
            fl.last = now;
            fl.rate = new;
            self.set_done(f);
        }
        self.comp_flows = comp_flows;
        // Link loads and byte counters.
        for j in 0..self.comp_links.len() {
            let l = self.comp_links[j] as usize;
            let mut load = 0.0;
            for &(f, _) in &self.links[l].flows {
                load += self.flows[f as usize].rate;
            }
            let link = &mut self.links[l];
            let dt = now.saturating_sub(link.last) as f64 / NANOS_PER_SEC as f64;
            link.bytes += link.load * dt;
            link.last = now;
            if self.track_loads && load != link.load && !self.lmark[l].load_listed {
                self.lmark[l].load_listed = true;
                self.load_changed.push(l as u32);
            }
            self.links[l].load = load;
        }
        self.problem = p;
    }

    /// Max-min rates that `specs` would get if added now, without changing anything (a
    /// what-if for placement scoring and step-time estimates).
    pub fn probe_rates(&self, specs: &[FlowSpec]) -> Vec<f64> {
        use std::collections::BTreeMap;
        // Local component discovery without touching stamps.
        let mut local: BTreeMap<u32, u32> = BTreeMap::new();
        let mut links: Vec<u32> = Vec::new();
        let mut seen_flows: BTreeMap<u32, ()> = BTreeMap::new();
        let mut flows: Vec<u32> = Vec::new();
        let push_link = |l: u32, local: &mut BTreeMap<u32, u32>, links: &mut Vec<u32>| {
            if let std::collections::btree_map::Entry::Vacant(e) = local.entry(l) {
                e.insert(links.len() as u32);
                links.push(l);
            }
        };
        for s in specs {
            for &l in &s.path {
                push_link(l.0, &mut local, &mut links);
            }
        }
        let mut i = 0;
        while i < links.len() {
            let l = links[i] as usize;
            for &(f, _) in &self.links[l].flows {
                if seen_flows.insert(f, ()).is_none() {
                    flows.push(f);
                    for &k in self.flows[f as usize].path.iter() {
                        push_link(k.0, &mut local, &mut links);
                    }
                }
            }
            i += 1;
        }
        let mut p = Problem::default();
        p.clear();
        for &l in &links {
            p.link_cap.push(self.links[l as usize].cap);
        }
        for s in specs {
            let mut path: Vec<u32> = s.path.iter().map(|l| local[&l.0]).collect();
            path.sort_unstable();
            path.dedup();
            p.flow_links.extend(path);
            p.flow_off.push(p.flow_links.len() as u32);
            p.flow_cap.push(s.cap.unwrap_or(f64::INFINITY).max(0.0));
        }
        for &f in &flows {
            let fl = &self.flows[f as usize];
            for &l in fl.path.iter() {
                p.flow_links.push(local[&l.0]);
            }
            p.flow_off.push(p.flow_links.len() as u32);
            p.flow_cap.push(fl.cap);
        }
        p.index_links();
        p.solve();
        p.rate.truncate(specs.len());
        p.rate
    }
}

/// Max-min fair rates for a static problem (no time): `paths[i]` are link indices into
/// `capacities`, `caps[i]` an optional per-flow cap. Handy for tests and what-ifs.
pub fn max_min_rates(capacities: &[f64], paths: &[Vec<usize>], caps: &[Option<f64>]) -> Vec<f64> {
    let mut p = Problem::default();
    p.clear();
    p.link_cap.extend_from_slice(capacities);
    for (i, path) in paths.iter().enumerate() {
        let mut v: Vec<u32> = path.iter().map(|&l| l as u32).collect();
        v.sort_unstable();
        v.dedup();
        p.flow_links.extend(v);
        p.flow_off.push(p.flow_links.len() as u32);
        p.flow_cap
            .push(caps.get(i).copied().flatten().unwrap_or(f64::INFINITY));
    }
    p.index_links();
    p.solve();
    p.rate
}

/// The verifier's view of the solver (`verify`, see `sim/abstract_state.rs`).
impl FlowId {
    /// The flow's slot: what orders it in the solver (ties, reuse); the generation is only
    /// a handle.
    pub fn slot(self) -> u32 {
        self.idx
    }
}

impl FlowNet {
    /// Hash everything of the solver that decides its future results, time-invariant
    /// (absolute times as offsets from `now`), for the verifier's state fingerprint. The
    /// solver is incremental and works in floating point, so two histories that end in the
    /// same flows at the same rates can still differ in the last bits of a later solve
    /// (the order of flows on a link, which slot a new flow gets): that order is hashed too,
    /// so only states whose solver is the same bit for bit, up to a shift in time, share a
    /// fingerprint. Per link: capacity, load and its flows in order; per slot: whether it
    /// is live and, if so, path, cap, rate, bytes left at its last update and how long ago
    /// that was, its completion as an offset, its owner; the free slots in the order they
    /// are reused. Left out: handles (generations, versions), per-solve scratch and
    /// counters, the bytes a link carried (reports), settings fixed for the run, and the
    /// time of the last change (only checked for monotonicity; hashing it would keep a
    /// state from ever recurring, hiding a cycle).
    pub fn hash_state(&self, now: SimTime, h: &mut dyn std::hash::Hasher) {
        let ago = |t: u64| now.0.saturating_sub(t);
        h.write_usize(self.links.len());
        for l in &self.links {
            h.write_u64(l.cap.to_bits());
            h.write_u64(l.load.to_bits());
            h.write_usize(l.flows.len());
            for &(slot, hop) in &l.flows {
                h.write_u32(slot);
                h.write_u32(hop);
            }
        }
        h.write_usize(self.flows.len());
        for f in &self.flows {
            if !f.live {
                h.write_u8(0);
                continue;
            }
            h.write_u8(1);
            h.write_usize(f.path.len());
            for l in f.path.iter() {
                h.write_u32(l.0);
            }
            h.write_u64(f.cap.to_bits());
            h.write_u64(f.rate.to_bits());
            h.write_u64(f.remaining.to_bits());
            h.write_u64(ago(f.last));
            h.write_u64(f.done_at.map_or(u64::MAX, |t| t.saturating_sub(now.0)));
            h.write_u64(f.owner);
        }
        h.write_usize(self.free.len());
        for &i in &self.free {
            h.write_u32(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_path_flow_runs_at_cap() {
        let mut n = FlowNet::new(&[]);
        let f = n.add_flow(SimTime(0), FlowSpec::new(vec![], 1e9).with_cap(1e9));
        assert_eq!(n.completion_time(f), Some(SimTime(NANOS_PER_SEC)));
    }

    #[test]
    fn stale_ids_are_ignored() {
        let mut n = FlowNet::new(&[1e9]);
        let f = n.add_flow(SimTime(0), FlowSpec::new(vec![LinkId(0)], 1e9));
        assert!(n.remove_flow(f, SimTime(10)).is_some());
        let g = n.add_flow(SimTime(10), FlowSpec::new(vec![LinkId(0)], 1e9));
        assert!(n.rate(f).is_none());
        assert!(n.remove_flow(f, SimTime(10)).is_none());
        assert_eq!(n.rate(g), Some(1e9));
    }
}
