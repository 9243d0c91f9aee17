//! The scheduling loop: one pod at a time, no retries, no departures.
//!
//! Scores are cached per (pod shape, node) and stamped with the node's version; a placement
//! bumps the version of the one node it changes, so a pod only re-scores the nodes that
//! changed since its shape was last scored. FGD scores are also memoised by node state
//! (CPU left, GPU model, free milli per GPU), since many nodes share a state.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use sim_core::{Chooser, ChooserMode, RngStreams};

use super::cluster::{Cluster, MAX_GPUS, NodeState, Shape, place};
use super::frag::Targets;
use super::policy::{self, Policy, Score};

/// Per-event record (one per pod, placed or failed), the input of the analysis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    /// GPU request of all pods attempted so far, milli.
    pub arrived_milli: i64,
    /// Allocated GPU milli in the cluster after this pod.
    pub used_milli: i64,
    /// Σ over nodes of the fragmentation amount F, milli.
    pub frag_milli: f64,
}

/// What the loop produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub placed: usize,
    pub failed: usize,
}

/// FxHash-style hasher: fixed (deterministic) and fast for small integer keys. Only used
/// for look-ups, never iterated.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_i16(&mut self, i: i16) {
        self.write_u64(i as u64);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Node state as far as an FGD score depends on it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FgdKey {
    shape: u32,
    model: u32,
    cpu_left: i64,
    gpus: [i16; MAX_GPUS],
    n_gpu: u8,
}

fn fgd_key(shape: usize, n: &NodeState) -> FgdKey {
    let mut gpus = [0i16; MAX_GPUS];
    for (d, s) in gpus.iter_mut().zip(n.gpus.iter()) {
        *d = *s as i16;
    }
    FgdKey {
        shape: shape as u32,
        model: n.model as u32,
        cpu_left: n.cpu_left,
        gpus,
        n_gpu: n.n_gpu as u8,
    }
}

/// Cached state of one shape on every node, stamped with node versions.
///
/// `key[i]` orders nodes for the deterministic policies: `i64::MIN` if the node is not
/// feasible, else `score << 32 | (u32::MAX - rank)`, so the largest key is the highest score
/// with the smallest rank. (BestFit's normalisation maps only the highest raw score to 100,
/// so it never changes the winner and is not needed here.)
struct ShapeCache {
    ver: Vec<u32>,
    key: Vec<i64>,
    gpu: Vec<u8>,
    /// Length of the change log when this shape was last refreshed (None: never).
    seen: Option<usize>,
}

/// Σ of per-node values kept in a pairwise tree: the root is a fixed function of the current
/// leaves (not of the update history), and an update costs O(log n).
struct SumTree {
    size: usize,
    t: Vec<f64>,
}

impl SumTree {
    fn new(v: &[f64]) -> SumTree {
        let size = v.len().next_power_of_two().max(1);
        let mut t = vec![0.0; 2 * size];
        t[size..size + v.len()].copy_from_slice(v);
        for i in (1..size).rev() {
            t[i] = t[2 * i] + t[2 * i + 1];
        }
        SumTree { size, t }
    }
    fn set(&mut self, i: usize, v: f64) {
        let mut j = self.size + i;
        self.t[j] = v;
        while j > 1 {
            j /= 2;
            self.t[j] = self.t[2 * j] + self.t[2 * j + 1];
        }
    }
    fn sum(&self) -> f64 {
        self.t[1]
    }
}

/// Schedule `order` (shape ids) on `cluster` with `policy`; `rank` breaks ties (smallest
/// wins); `random_seed` seeds Orrery's ChaCha stream for the Random policy.
pub fn schedule(
    cluster: &mut Cluster,
    shapes: &[Shape],
    order: &[usize],
    rank: &[u32],
    policy: Policy,
    targets: &Targets,
    random_seed: u64,
) -> Outcome {
    let n_nodes = cluster.nodes.len();
    let mut chooser = Chooser::new(ChooserMode::Seeded, &RngStreams::new(random_seed));
    let mut node_ver: Vec<u32> = vec![1; n_nodes];
    // Node changed by each placement, in order.
    let mut changes: Vec<usize> = Vec::with_capacity(order.len());
    let mut caches: Vec<Option<ShapeCache>> = (0..shapes.len()).map(|_| None).collect();
    let mut memo: FxMap<FgdKey, Score> = FxMap::default();
    let frags: Vec<f64> = cluster
        .nodes
        .iter()
        .map(|n| targets.node_frag(n.cpu_left, n.gpus(), n.model))
        .collect();
    let mut frag_sum = SumTree::new(&frags);

    let mut events = Vec::with_capacity(order.len());
    let (mut arrived, mut used) = (0i64, 0i64);
    let (mut placed, mut failed) = (0usize, 0usize);

    let mut refresh = |cache: &mut ShapeCache, i: usize, sid: usize, n: &NodeState, ver: u32| {
        if cache.ver[i] == ver {
            return;
        }
        cache.ver[i] = ver;
        let shape = &shapes[sid];
        if !shape.fits(n) {
            cache.key[i] = i64::MIN;
            return;
        }
        let s = match policy {
            Policy::Random => Score {
                score: 0,
                gpu: u8::MAX,
            },
            Policy::Fgd => *memo
                .entry(fgd_key(sid, n))
                .or_insert_with(|| policy::score(policy, shape, n, targets)),
            _ => policy::score(policy, shape, n, targets),
        };
        cache.key[i] = (s.score << 32) | i64::from(u32::MAX - rank[i]);
        cache.gpu[i] = s.gpu;
    };

    for &sid in order {
        let shape = &shapes[sid];
        arrived += shape.total_milli();
        let cache = caches[sid].get_or_insert_with(|| ShapeCache {
            ver: vec![0; n_nodes],
            key: vec![i64::MIN; n_nodes],
            gpu: vec![u8::MAX; n_nodes],
            seen: None,
        });
        // Refresh the entries of nodes that changed since this shape was last scored.
        match cache.seen {
            Some(seen) if changes.len() - seen < n_nodes => {
                for &i in &changes[seen..] {
                    refresh(cache, i, sid, &cluster.nodes[i], node_ver[i]);
                }
            }
            _ => {
                for (i, (n, &v)) in cluster.nodes.iter().zip(&node_ver).enumerate() {
                    refresh(cache, i, sid, n, v);
                }
            }
        }
        cache.seen = Some(changes.len());

        let chosen: Option<usize> = if policy.is_random() {
            let count = cache.key.iter().filter(|&&k| k != i64::MIN).count();
            match count {
                0 => None,
                _ => {
                    let pick = chooser.choose(count);
                    cache
                        .key
                        .iter()
                        .enumerate()
                        .filter(|(_, k)| **k != i64::MIN)
                        .nth(pick)
                        .map(|(i, _)| i)
                }
            }
        } else {
            let (mut best, mut best_key) = (0, i64::MIN);
            for (i, &k) in cache.key.iter().enumerate() {
                if k > best_key {
                    best_key = k;
                    best = i;
                }
            }
            (best_key != i64::MIN).then_some(best)
        };

        match chosen {
            None => failed += 1,
            Some(i) => {
                let n = &cluster.nodes[i];
                let s = Score {
                    score: 0,
                    gpu: cache.gpu[i],
                };
                let gpus: Vec<usize> = match policy::choose_gpus(policy, shape, n, s) {
                    Some(g) => g,
                    // Random's draw for a sharing pod (the RNG is the loop's).
                    None => {
                        let mut pick = None;
                        let mut seen = 0;
                        for (g, &free) in n.gpus().iter().enumerate() {
                            if free >= shape.milli {
                                seen += 1;
                                if chooser.choose(seen) == 0 {
                                    pick = Some(g);
                                }
                            }
                        }
                        pick.into_iter().collect()
                    }
                };
                let n = &mut cluster.nodes[i];
                place(shape, n, &gpus);
                node_ver[i] += 1;
                changes.push(i);
                frag_sum.set(i, targets.node_frag(n.cpu_left, n.gpus(), n.model));
                used += shape.total_milli();
                placed += 1;
            }
        }
        events.push(Event {
            arrived_milli: arrived,
            used_milli: used,
            frag_milli: frag_sum.sum(),
        });
    }
    Outcome {
        events,
        placed,
        failed,
    }
}
