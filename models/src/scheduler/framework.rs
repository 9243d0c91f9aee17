//! The scheduling framework: kube-scheduler's extension points as plugin lists, and the
//! scheduling cycle that runs them for one pod.
//!
//! This slice has Filter and Score (with weights); QueueSort is the scheduling
//! queue's (priority, arrival) order and gang admission is the policy's all-or-nothing
//! step in `crate::sim`. Further extension points (PreFilter, Reserve, Permit, PostFilter)
//! attach here.

use std::fmt::Debug;

use sim_core::Chooser;

use super::best_tree::BestTree;
use crate::cluster::{ClusterSpec, NodeSpec};
use crate::marks::{Marked, Marks};
use crate::resources::PodRequest;
use crate::state::{ClusterState, Misfit, NodeState};

pub trait FilterPlugin: Debug + Send + Sync {
    fn name(&self) -> &'static str;
    fn filter(&self, pod: &PodRequest, spec: &NodeSpec, st: &NodeState) -> Result<(), Misfit>;
}

/// A Filter that needs more than the node's resources, asked by node index after the
/// resource Filters pass: the DynamicResources plugin (can the pod's ResourceClaims be
/// allocated on this node?).
pub trait NodeFilter {
    fn name(&self) -> &'static str;
    fn filter_node(&self, node: u32) -> bool;
}

pub trait ScorePlugin: Debug + Send + Sync {
    fn name(&self) -> &'static str;
    /// Raw score, conventionally 0..=100 (`MaxNodeScore`).
    fn score(&self, pod: &PodRequest, spec: &NodeSpec, st: &NodeState) -> i64;
    /// As [`ScorePlugin::score`], told what the scheduling cycle knows besides: `idx` is
    /// the node's index in the profile's cluster and `shape` the pod's interned request
    /// shape (equal shapes are equal requests), for a plugin that keeps data per node or
    /// per shape. Must equal `score`; the default is `score`.
    fn score_node(
        &self,
        pod: &PodRequest,
        _shape: Option<u32>,
        _idx: usize,
        spec: &NodeSpec,
        st: &NodeState,
    ) -> i64 {
        self.score(pod, spec, st)
    }
    /// NormalizeScore; the default leaves scores as they are.
    fn normalize(&self, _scores: &mut [i64]) {}
    /// Whether `normalize` does anything (then scores depend on the candidate set and
    /// cannot be memoised per node).
    fn normalizes(&self) -> bool {
        false
    }
    /// Whether the nodes of the best normalised score are exactly those of the best raw
    /// score (always so without normalisation); then a shape's best nodes can be kept
    /// across cycles by raw score.
    fn normalize_keeps_best(&self) -> bool {
        !self.normalizes()
    }
}

/// A scheduler profile: the plugins enabled at each extension point.
#[derive(Debug)]
pub struct Profile {
    pub filters: Vec<Box<dyn FilterPlugin>>,
    pub scorers: Vec<(Box<dyn ScorePlugin>, i64)>,
    /// `percentageOfNodesToScore`; 0 = kube's adaptive default.
    pub percentage_of_nodes_to_score: u32,
    /// Symmetry reduction for the verifier: among tied nodes, offer the chooser only one
    /// of each group of interchangeable nodes (same capacity, pool, rack and labels, same
    /// allocation state). Off in normal runs.
    pub merge_identical_nodes: bool,
}

/// Appends to `out` (empty) the first `want` (≥ 1) set bits of `bits` (over nodes
/// `0..n`) in rotation order from `offset`: `offset..n`, then `0..offset`. Returns the
/// nodes a node-by-node scan from `offset` examines: up to and including the last one
/// taken, or all `n` when fewer than `want` are set.
fn rotate_take(bits: &[u64], n: usize, offset: usize, want: usize, out: &mut Vec<u32>) -> usize {
    for (lo, hi) in [(offset, n), (0, offset)] {
        let mut i = lo;
        while i < hi {
            let w = i / 64;
            let end = ((w + 1) * 64).min(hi);
            let mut word = bits[w] & (!0u64 << (i % 64));
            if end < (w + 1) * 64 {
                word &= (1u64 << (end % 64)) - 1;
            }
            while word != 0 {
                let idx = w * 64 + word.trailing_zeros() as usize;
                out.push(idx as u32);
                if out.len() >= want {
                    return (idx + n - offset) % n + 1;
                }
                word &= word - 1;
            }
            i = end;
        }
    }
    n
}

/// kube-scheduler's `numFeasibleNodesToFind`: all nodes below 100, otherwise an adaptive
/// percentage (`max(5, 50 - N/125)`), never fewer than 100.
pub fn num_feasible_nodes_to_find(n: usize, percentage: u32) -> usize {
    if n < 100 {
        return n;
    }
    let pct = if percentage == 0 {
        50usize.saturating_sub(n / 125).max(5)
    } else {
        percentage.min(100) as usize
    };
    (n * pct / 100).max(100).min(n)
}

/// Reusable buffers for the scheduling cycle, and memos of node verdicts. Neither is
/// simulation state: both are pure functions of it.
#[derive(Debug, Default)]
pub struct Scratch {
    feasible: Vec<u32>,
    totals: Vec<i64>,
    plugin_scores: Vec<i64>,
    best: Vec<u32>,
    /// Per node: (request shape, weighted total score or `INFEASIBLE`) for the node as it
    /// is now, for shapes without a table below.
    memo: Vec<Option<(u32, i64)>>,
    /// Per node: a version, bumped whenever the node changes (`invalidate`).
    version: Vec<u64>,
    /// Per request shape (while [`MEMO_CELLS`] allow): per node, (node version, verdict) —
    /// the node's weighted total (or `INFEASIBLE`) for that shape, valid while the node's
    /// version is unchanged. A placement changes one node, so a pod re-scores only the
    /// nodes changed since a pod of its shape was last scheduled.
    tables: Vec<Option<MemoTable>>,
    /// Cells held by `tables`.
    cells: usize,
    /// Nodes invalidated, in order (`log[i]` is change number `log_base + i`): a shape's
    /// best-node tree catches up by re-scoring only the nodes logged since its last scan.
    log: Vec<u32>,
    log_base: u64,
    /// Per node: the change number of its last invalidation (`log_base + i` for `log[i]`),
    /// so that a catch-up over the log visits each changed node once, at its last change,
    /// without touching the memo cells of its earlier ones.
    last_change: Vec<u64>,
    /// Nodes to re-score in a catch-up (a reused buffer).
    stale: Vec<u32>,
    /// Invalidations ever made (never reset: see [`Scratch::clear`]): a node's state can
    /// have changed only if this moved.
    changes: u64,
    /// Nodes invalidated since an observer last took them (when one asked for it: see
    /// [`Scratch::track_touched`]).
    touched: Option<Box<Marks>>,
    /// Free GPU thousandths per rack ([`Scratch::rack_free_gpu_milli`]).
    rack_free: Option<RackFree>,
}

/// Free GPU thousandths per rack, and the change number up to which they are current.
#[derive(Debug)]
struct RackFree {
    racks: Vec<std::ops::Range<usize>>,
    /// Per node: its rack's index in `racks`.
    rack_of: Vec<u32>,
    free: Vec<u64>,
    synced: u64,
}

const INFEASIBLE: i64 = i64::MIN;

/// A catch-up re-scoring more than one node in this many rebuilds its best-node tree in
/// one pass instead of updating it node by node.
const BULK_REBUILD: usize = 16;

/// One shape's memo: per node, (node version, verdict); and, once the shape has had a
/// full scan, the best nodes by verdict (kept in step with the cells) and the change
/// number up to which every cell is current.
#[derive(Debug)]
struct MemoTable {
    cells: Box<[(u64, i64)]>,
    best: Option<(BestTree, Option<u64>)>,
    /// Once the shape has had a rotating scan ([`Scratch::take_rotating`]): one bit per
    /// node, set when its cell is feasible (kept in step with the cells), and the change
    /// number up to which every cell is current.
    feasible: Option<(Box<[u64]>, u64)>,
}

impl MemoTable {
    /// Re-score with `verdict` the nodes logged in `tail` (change numbers `from` on) whose
    /// cell is stale, each once, at its last change. First the stale nodes (a loop of
    /// independent reads, so the cells' cache misses overlap), then their verdicts.
    fn catch_up(
        &mut self,
        tail: &[u32],
        from: u64,
        last_change: &[u64],
        version: &[u64],
        stale: &mut Vec<u32>,
        mut verdict: impl FnMut(usize) -> i64,
    ) {
        stale.clear();
        stale.extend(
            (from..)
                .zip(tail)
                .filter(|&(change, &idx)| {
                    // Skipped if the node changes again later in the log.
                    let i = idx as usize;
                    last_change[i] == change && self.cells[i].0 != version[i]
                })
                .map(|(_, &idx)| idx),
        );
        // Many stale nodes (a shape scheduled rarely): one O(n) pass over the cells after
        // storing them beats an O(log n) update with scattered reads per node. The tree is
        // a function of its leaves alone, so either way gives the same tree.
        let bulk = stale.len().saturating_mul(BULK_REBUILD) > self.cells.len();
        for &idx in stale.iter() {
            let i = idx as usize;
            let v = verdict(i);
            if bulk {
                self.put_cell(i, version[i], v);
            } else {
                self.put(i, version[i], v);
            }
        }
        if bulk && let Some((tree, Some(_))) = &mut self.best {
            let cells = &self.cells;
            tree.rebuild(|i| cells[i].1);
        }
    }

    /// Store `value` as `node`'s verdict at version `ver`, leaving the best-node tree out
    /// of step (the caller rebuilds it); the old verdict.
    fn put_cell(&mut self, node: usize, ver: u64, value: i64) -> i64 {
        let old = std::mem::replace(&mut self.cells[node], (ver, value)).1;
        if let Some((bits, _)) = &mut self.feasible {
            let bit = 1u64 << (node % 64);
            if value == INFEASIBLE {
                bits[node / 64] &= !bit;
            } else {
                bits[node / 64] |= bit;
            }
        }
        old
    }

    /// Store `value` as `node`'s verdict at version `ver`.
    fn put(&mut self, node: usize, ver: u64, value: i64) {
        let old = self.put_cell(node, ver, value);
        // A tree not yet synced is rebuilt from the cells at its first scan.
        if let Some((tree, Some(_))) = &mut self.best {
            let cells = &self.cells;
            tree.set(node, old, value, |i| cells[i].1);
        }
    }
}

/// Most (shape, node) cells the per-shape memo tables hold (16 bytes each: 32 MiB); shapes
/// beyond it fall back to the one-entry-per-node memo.
const MEMO_CELLS: usize = 1 << 21;

impl Scratch {
    /// Invalidations so far (with [`Scratch::clear`] counting as one): unchanged means no
    /// node gained or lost a pod, changed condition or lost a GPU in between.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Forget everything known about every node (its state was replaced), keeping the
    /// change count moving.
    pub fn clear(&mut self) {
        let changes = self.changes + 1;
        let mut touched = self.touched.take();
        if let Some(t) = &mut touched {
            t.mark_all();
        }
        *self = Scratch::default();
        self.changes = changes;
        self.touched = touched;
    }

    /// Start recording the nodes invalidated, over `n` nodes (every node counts as
    /// invalidated at first).
    pub fn track_touched(&mut self, n: usize) {
        self.touched = Some(Box::new(Marks::new(n)));
    }

    /// The nodes invalidated since the last call (or since recording began), over `n`
    /// nodes; `None` when not recording.
    pub fn take_touched(&mut self, n: usize) -> Option<Marked> {
        self.touched.as_mut().map(|t| t.take(n))
    }

    /// Forget what is known about `node` (call whenever it gains or loses a pod).
    pub fn invalidate(&mut self, node: u32) {
        self.changes += 1;
        if let Some(t) = &mut self.touched {
            t.mark(node as usize);
        }
        if let Some(e) = self.memo.get_mut(node as usize) {
            *e = None;
        }
        if let Some(v) = self.version.get_mut(node as usize) {
            *v += 1;
            if self.log.len() >= 4 * self.version.len() + 1024 {
                // Trees behind the dropped changes rescan every node's version instead.
                self.log_base += self.log.len() as u64;
                self.log.clear();
            }
            self.log.push(node);
            if let Some(c) = self.last_change.get_mut(node as usize) {
                *c = self.log_base + self.log.len() as u64 - 1;
            }
        }
    }

    /// Size the memos for `total` nodes (emptying them if the count changed).
    fn fit(&mut self, total: usize) {
        if self.memo.len() != total {
            self.memo.clear();
            self.memo.resize(total, None);
            self.version.clear();
            self.version.resize(total, 1);
            self.last_change.clear();
            self.last_change.resize(total, u64::MAX);
            self.tables.clear();
            self.cells = 0;
            self.log_base += self.log.len() as u64;
            self.log.clear();
        }
    }

    /// The memoised verdict of `node` for `shape`, if the node has not changed since.
    fn recall(&self, shape: u32, node: usize) -> Option<i64> {
        match self.tables.get(shape as usize) {
            Some(Some(t)) => {
                let (v, x) = t.cells[node];
                (v == self.version[node]).then_some(x)
            }
            _ => match self.memo[node] {
                Some((s, v)) if s == shape => Some(v),
                _ => None,
            },
        }
    }

    /// Whether `shape` has a memo table (made now if [`MEMO_CELLS`] allow).
    fn table(&mut self, shape: u32) -> bool {
        let n = self.memo.len();
        let sh = shape as usize;
        let room = self.cells + n <= MEMO_CELLS;
        if sh >= self.tables.len() && room {
            self.tables.resize_with(sh + 1, || None);
        }
        match self.tables.get_mut(sh) {
            Some(Some(_)) => true,
            Some(slot) if room => {
                *slot = Some(MemoTable {
                    cells: vec![(0, 0); n].into_boxed_slice(),
                    best: None,
                    feasible: None,
                });
                self.cells += n;
                true
            }
            _ => false,
        }
    }

    /// Whether `shape` has a memo table with a best-node tree (made now, from the
    /// table's cells, if [`MEMO_CELLS`] allow).
    fn tree(&mut self, shape: u32) -> bool {
        if !self.table(shape) {
            return false;
        }
        let n = self.memo.len();
        let room = self.cells + 2 * n.next_power_of_two() <= MEMO_CELLS;
        match self.tables.get_mut(shape as usize) {
            Some(Some(MemoTable { best: Some(_), .. })) => true,
            Some(Some(t)) if room => {
                // Filled from the cells at its first scan (`synced` is `None`).
                let tree = BestTree::new(n, INFEASIBLE);
                self.cells += tree.cells();
                t.best = Some((tree, None));
                true
            }
            _ => false,
        }
    }

    /// The rotating scan of a shape with a memo table, by its feasible-node bits: brings
    /// every cell current (re-scoring, with `verdict`, only the nodes changed since the
    /// shape's last such scan), then takes into `feasible` and `totals` the first `want`
    /// feasible nodes from `start` on, in rotation order over all `n` nodes. Returns how
    /// many nodes a node-by-node scan examines to find them (the scan below, which also
    /// stops at the `want`-th feasible node or after all `n`), or `None` when the shape has
    /// no table.
    fn take_rotating(
        &mut self,
        shape: u32,
        start: usize,
        want: usize,
        mut verdict: impl FnMut(usize) -> i64,
    ) -> Option<usize> {
        if !self.table(shape) {
            return None;
        }
        let Scratch {
            feasible,
            totals,
            version,
            tables,
            log,
            log_base,
            last_change,
            stale,
            ..
        } = self;
        let table = tables.get_mut(shape as usize)?.as_mut()?;
        let synced = table.feasible.as_ref().map(|f| f.1);
        match synced.and_then(|p| p.checked_sub(*log_base)) {
            Some(off) => table.catch_up(
                log.get(off as usize..).unwrap_or(&[]),
                *log_base + off,
                last_change,
                version,
                stale,
                verdict,
            ),
            None => {
                // First such scan, or changes dropped from the log: every stale cell.
                for (i, &ver) in version.iter().enumerate().take(table.cells.len()) {
                    if table.cells[i].0 != ver {
                        let v = verdict(i);
                        table.put(i, ver, v);
                    }
                }
                let mut bits = vec![0u64; table.cells.len().div_ceil(64)];
                for (i, cell) in table.cells.iter().enumerate() {
                    if cell.1 != INFEASIBLE {
                        bits[i / 64] |= 1 << (i % 64);
                    }
                }
                table.feasible = Some((bits.into_boxed_slice(), 0));
            }
        }
        let (bits, synced) = table.feasible.as_mut()?;
        *synced = *log_base + log.len() as u64;
        let n = table.cells.len();
        let processed = rotate_take(bits, n, start, want, feasible);
        totals.extend(feasible.iter().map(|&i| table.cells[i as usize].1));
        Some(processed)
    }

    /// Per rack of `racks` (consecutive node ranges covering nodes `0..total`), the sum of
    /// `free(node)` over its nodes, where `free` must depend only on what a node's
    /// invalidation reports changed (its pods, GPUs, condition). Kept across calls: only
    /// the racks of the nodes invalidated since the last call are summed again.
    pub fn rack_free_gpu_milli(
        &mut self,
        racks: &[std::ops::Range<usize>],
        total: usize,
        free: impl Fn(usize) -> u64,
    ) -> &[u64] {
        // Sized, so that every invalidation from now on is logged.
        self.fit(total);
        let sum = |r: &std::ops::Range<usize>| r.clone().map(&free).sum::<u64>();
        let current = self.rack_free.as_ref().and_then(|c| {
            (c.racks == racks && c.rack_of.len() == total)
                .then(|| c.synced.checked_sub(self.log_base))
                .flatten()
        });
        match (current, self.rack_free.as_mut()) {
            (Some(off), Some(c)) => {
                for &node in self.log.get(off as usize..).unwrap_or(&[]) {
                    if let Some(&r) = c.rack_of.get(node as usize) {
                        let r = r as usize;
                        c.free[r] = sum(&c.racks[r]);
                    }
                }
                c.synced = self.log_base + self.log.len() as u64;
            }
            _ => {
                let mut rack_of = vec![0u32; total];
                for (i, r) in racks.iter().enumerate() {
                    for n in r.clone().filter(|&n| n < total) {
                        rack_of[n] = i as u32;
                    }
                }
                self.rack_free = Some(RackFree {
                    racks: racks.to_vec(),
                    rack_of,
                    free: racks.iter().map(sum).collect(),
                    synced: self.log_base + self.log.len() as u64,
                });
            }
        }
        self.rack_free.as_ref().map_or(&[], |c| c.free.as_slice())
    }

    fn remember(&mut self, shape: u32, node: usize, value: i64) {
        if self.table(shape)
            && let Some(Some(t)) = self.tables.get_mut(shape as usize)
        {
            t.put(node, self.version[node], value);
            return;
        }
        self.memo[node] = Some((shape, value));
    }
}

impl Profile {
    /// Filter and Score of one node: its weighted total score, or `INFEASIBLE`.
    fn verdict(
        &self,
        pod: &PodRequest,
        key: Option<u32>,
        spec: &ClusterSpec,
        cs: &ClusterState,
        idx: usize,
        extra: Option<&dyn NodeFilter>,
    ) -> i64 {
        let (ns, st) = (&spec.nodes[idx], &cs.nodes[idx]);
        if self.filters.iter().all(|f| f.filter(pod, ns, st).is_ok())
            && extra.is_none_or(|f| f.filter_node(idx as u32))
        {
            // Without normalisation a node's weighted total is its own affair.
            self.scorers
                .iter()
                .map(|(p, w)| p.score_node(pod, key, idx, ns, st) * w)
                .sum()
        } else {
            INFEASIBLE
        }
    }

    /// One scheduling cycle for one pod: Filter nodes round-robin from `*start` until
    /// enough feasible nodes are found, Score them, and return the best node. Ties among
    /// the best go to the `Chooser` (candidates in node-index order). Advances `*start` by
    /// the number of nodes examined, as kube-scheduler does. `extra` is a further Filter
    /// (DynamicResources) run on nodes the resource Filters pass; with a memo `shape`, its
    /// verdict must depend only on the node's own state.
    #[allow(clippy::too_many_arguments)] // the cycle's inputs, each distinct
    pub fn select_node(
        &self,
        pod: &PodRequest,
        shape: Option<u32>,
        spec: &ClusterSpec,
        cs: &ClusterState,
        start: &mut usize,
        range: Option<std::ops::Range<usize>>,
        chooser: &mut Chooser,
        scratch: &mut Scratch,
        extra: Option<&dyn NodeFilter>,
    ) -> Option<u32> {
        let total = spec.nodes.len();
        // The pod's shape as given, for the Score plugins (`shape` below is the memo's).
        let key = shape;
        // Restricted to `range` (e.g. one rack): scan it from its start, leave `*start`.
        let (base, n) = match &range {
            Some(r) if r.end <= total && r.start < r.end => (r.start, r.end - r.start),
            Some(_) => return None,
            None => (0, total),
        };
        if n == 0 {
            return None;
        }
        // Scores are memoised when no plugin normalises over the candidate set, or when
        // one plugin of weight 1 scores (the memo then holds its raw score, which is what
        // its normalisation reads).
        let raw_memo = matches!(self.scorers.as_slice(), [(_, 1)]);
        let shape = shape.filter(|_| raw_memo || self.scorers.iter().all(|(p, _)| !p.normalizes()));
        scratch.fit(total);
        let want = num_feasible_nodes_to_find(n, self.percentage_of_nodes_to_score);
        scratch.feasible.clear();
        scratch.totals.clear();
        // A full scan (every node examined) of a shape with a memo table: refresh the nodes
        // changed since the shape was last scheduled and take the feasible ones in
        // node-index order. Same outcome as the rotating scan below, which also examines
        // every node then (so `*start` comes back where it was), and whose best nodes are
        // put in node-index order too; normalisation does not depend on the order.
        let full = shape.filter(|_| want >= n && range.is_none() && !self.merge_identical_nodes);
        // The same full scan, with the shape's best nodes kept in a tree across cycles:
        // only the nodes changed since the shape's last scan are re-scored, and the pick
        // is the chooser's among the best nodes in node-index order, as below.
        if let Some(sh) = full
            && self.scorers.iter().all(|(p, _)| p.normalize_keeps_best())
            && scratch.tree(sh)
        {
            let Scratch {
                version,
                tables,
                log,
                log_base,
                last_change,
                stale,
                ..
            } = scratch;
            if let Some(Some(table)) = tables.get_mut(sh as usize) {
                let synced = table.best.as_ref().and_then(|b| b.1);
                match synced.and_then(|p| p.checked_sub(*log_base)) {
                    Some(off) => table.catch_up(
                        log.get(off as usize..).unwrap_or(&[]),
                        *log_base + off,
                        last_change,
                        version,
                        stale,
                        |i| self.verdict(pod, key, spec, cs, i, extra),
                    ),
                    None => {
                        // First scan, or changes dropped from the log: refresh every
                        // stale cell, then rebuild the tree from the cells.
                        for (idx, (cell, &ver)) in
                            table.cells.iter_mut().zip(version.iter()).enumerate()
                        {
                            if cell.0 != ver {
                                *cell = (ver, self.verdict(pod, key, spec, cs, idx, extra));
                            }
                        }
                        if let Some((tree, _)) = &mut table.best {
                            let cells = &table.cells;
                            tree.rebuild(|i| cells[i].1);
                        }
                    }
                }
                if let Some((tree, synced)) = &mut table.best {
                    *synced = Some(*log_base + log.len() as u64);
                    let cells = &table.cells;
                    let leaf = |i: usize| cells[i].1;
                    return match tree.feasible() {
                        0 => None,
                        1 => Some(tree.kth_best(0, leaf) as u32),
                        _ => Some(tree.kth_best(chooser.choose(tree.best_count()), leaf) as u32),
                    };
                }
            }
        }
        if let Some(sh) = full
            && scratch.table(sh)
        {
            let Scratch {
                feasible,
                totals,
                version,
                tables,
                ..
            } = scratch;
            if let Some(Some(table)) = tables.get_mut(sh as usize) {
                for (idx, &ver) in version.iter().enumerate().take(table.cells.len()) {
                    if table.cells[idx].0 != ver {
                        let v = self.verdict(pod, key, spec, cs, idx, extra);
                        table.put(idx, ver, v);
                    }
                    let cell = table.cells[idx];
                    if cell.1 != INFEASIBLE {
                        feasible.push(idx as u32);
                        totals.push(cell.1);
                    }
                }
            }
        } else if let Some(processed) = shape.filter(|_| range.is_none()).and_then(|sh| {
            scratch.take_rotating(sh, *start, want, |i| {
                self.verdict(pod, key, spec, cs, i, extra)
            })
        }) {
            *start = (*start + processed) % n;
        } else {
            let mut processed = 0;
            let offset = if range.is_some() { 0 } else { *start };
            for i in 0..n {
                let idx = base + (offset + i) % n;
                processed += 1;
                let total = match shape.and_then(|sh| scratch.recall(sh, idx)) {
                    Some(v) => v,
                    None => {
                        let v = self.verdict(pod, key, spec, cs, idx, extra);
                        if let Some(sh) = shape {
                            scratch.remember(sh, idx, v);
                        }
                        v
                    }
                };
                if total != INFEASIBLE {
                    scratch.feasible.push(idx as u32);
                    scratch.totals.push(total);
                    if scratch.feasible.len() >= want {
                        break;
                    }
                }
            }
            if range.is_none() {
                *start = (*start + processed) % n;
            }
        }
        match scratch.feasible.len() {
            0 => return None,
            1 => return Some(scratch.feasible[0]),
            _ => {}
        }
        if let (true, [(plugin, _)]) = (raw_memo, self.scorers.as_slice())
            && plugin.normalizes()
        {
            // One plugin of weight 1: the totals are its raw scores.
            scratch.plugin_scores.clear();
            scratch.plugin_scores.extend_from_slice(&scratch.totals);
            plugin.normalize(&mut scratch.plugin_scores);
            std::mem::swap(&mut scratch.totals, &mut scratch.plugin_scores);
        } else if self.scorers.iter().any(|(p, _)| p.normalizes()) {
            scratch.totals.iter_mut().for_each(|t| *t = 0);
            for (plugin, weight) in &self.scorers {
                scratch.plugin_scores.clear();
                scratch
                    .plugin_scores
                    .extend(scratch.feasible.iter().map(|&i| {
                        let i = i as usize;
                        plugin.score_node(pod, key, i, &spec.nodes[i], &cs.nodes[i])
                    }));
                plugin.normalize(&mut scratch.plugin_scores);
                for (t, s) in scratch.totals.iter_mut().zip(&scratch.plugin_scores) {
                    *t += s * weight;
                }
            }
        }
        let max = scratch.totals.iter().copied().max()?;
        scratch.best.clear();
        scratch.best.extend(
            scratch
                .feasible
                .iter()
                .zip(&scratch.totals)
                .filter(|(_, t)| **t == max)
                .map(|(i, _)| *i),
        );
        // Candidates were found in rotation order: one wrap at most, so rotating puts them
        // in node-index order without sorting.
        if let Some(w) = scratch.best.windows(2).position(|p| p[1] < p[0]) {
            scratch.best.rotate_left(w + 1);
        }
        if self.merge_identical_nodes && scratch.best.len() > 1 {
            let same = |a: u32, b: u32| {
                let (x, y) = (&spec.nodes[a as usize], &spec.nodes[b as usize]);
                (x.pool == y.pool)
                    && x.cpu_milli == y.cpu_milli
                    && x.memory_mib == y.memory_mib
                    && x.gpus == y.gpus
                    && x.gpu_model == y.gpu_model
                    && x.gpu_memory_mib == y.gpu_memory_mib
                    && x.rack == y.rack
                    && x.labels == y.labels
                    && cs.nodes[a as usize] == cs.nodes[b as usize]
            };
            // A cheap fingerprint of what `same` compares (confirmed by `same`).
            let key = |i: u32| {
                let (x, st) = (&spec.nodes[i as usize], &cs.nodes[i as usize]);
                let mix = |h: u64, v: u64| (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
                let mut h = 0xcbf2_9ce4_8422_2325u64;
                for v in [
                    x.cpu_milli,
                    x.memory_mib,
                    u64::from(x.gpus),
                    u64::from(x.rack),
                    st.cpu_used,
                    st.memory_used,
                    st.gpu_used_milli,
                    u64::from(st.pods),
                ] {
                    h = mix(h, v);
                }
                st.gpu_free.iter().fold(h, |h, &g| mix(h, u64::from(g)))
            };
            // Group by a hash of (spec without the name, state), confirm by equality, keep
            // the first node of each group, in node-index order.
            let mut keyed: Vec<(u64, u32)> = scratch.best.iter().map(|&i| (key(i), i)).collect();
            keyed.sort_unstable();
            let mut kept: Vec<u32> = Vec::new();
            let mut group_start = 0;
            for g in 0..keyed.len() {
                if g > group_start && keyed[g].0 != keyed[group_start].0 {
                    group_start = g;
                }
                let (h, i) = keyed[g];
                let dup = keyed[group_start..g]
                    .iter()
                    .any(|&(h2, j)| h2 == h && kept.contains(&j) && same(j, i));
                if !dup {
                    kept.push(i);
                }
            }
            kept.sort_unstable();
            let k = chooser.choose(kept.len());
            return Some(kept[k]);
        }
        let k = chooser.choose(scratch.best.len());
        Some(scratch.best[k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rotate_take` against the node-by-node scan it replaces, on every offset and want
    /// of random bit patterns (sizes across word boundaries).
    #[test]
    fn rotate_take_equals_the_node_by_node_scan() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in [1usize, 2, 63, 64, 65, 127, 128, 130, 200] {
            for density in [0u64, 1, 4, 8] {
                let set: Vec<bool> = (0..n).map(|_| next() % 8 < density).collect();
                let mut bits = vec![0u64; n.div_ceil(64)];
                for (i, &b) in set.iter().enumerate() {
                    if b {
                        bits[i / 64] |= 1 << (i % 64);
                    }
                }
                for offset in 0..n {
                    for want in [1, 2, 3, 7, n] {
                        let (mut exp, mut processed) = (Vec::new(), 0);
                        for i in 0..n {
                            let idx = (offset + i) % n;
                            processed += 1;
                            if set[idx] {
                                exp.push(idx as u32);
                                if exp.len() >= want {
                                    break;
                                }
                            }
                        }
                        let mut got = Vec::new();
                        let p = rotate_take(&bits, n, offset, want, &mut got);
                        assert_eq!(
                            (got, p),
                            (exp, processed),
                            "n {n} offset {offset} want {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn feasible_node_count_matches_kube() {
        assert_eq!(num_feasible_nodes_to_find(50, 0), 50);
        assert_eq!(num_feasible_nodes_to_find(100, 0), 100);
        // 1000 nodes: pct = 50 - 8 = 42 -> 420
        assert_eq!(num_feasible_nodes_to_find(1000, 0), 420);
        // 6000 nodes: pct = max(5, 50 - 48) = 5 -> 300
        assert_eq!(num_feasible_nodes_to_find(6000, 0), 300);
        assert_eq!(num_feasible_nodes_to_find(1000, 100), 1000);
        assert_eq!(num_feasible_nodes_to_find(1000, 1), 100);
    }
}
