//! One reproduction run through the one cluster model: [`Trace::run`].
//!
//! The artefact's nodes and its tuned, shuffled pod list for a tune seed become a
//! [`ClusterSpec`] and a [`Workload`] of one-pod jobs ([`Trace::main_model`]): one pod per
//! second in the artefact's order, never departing. [`crate::sim::ClusterSim`] places them
//! with the FGD placement's Score plugin and its GPU choice at Reserve
//! (`crate::scheduler::fgd`), under the default policy (the kube-scheduler the artefact
//! extends), with the chooser taking the first of equally scored nodes — nodes are listed
//! in the artefact's tie-break rank, so that is the artefact's tie-break. What is left here
//! is analysis, not a scheduler: the pods' bindings, read from the model's final state, are
//! replayed in arrival order onto the artefact's view of the cluster to record, per pod,
//! the allocated GPU milli and the cluster's fragmentation (the input of
//! [`super::analysis`]).
//!
//! The artefact's semantics and how the one model expresses them:
//!
//! * one pod at a time, no retries: the model retries a pod that found no node when the
//!   cluster changes, but with no departures free resources only shrink, so a pod that
//!   failed never fits later — its retries change nothing;
//! * a pod no empty node can hold: the artefact tries it and fails; the model refuses a
//!   workload with such a pod (it could never finish), so it is left out of the model's
//!   workload and counted as failed — it would find no node and draw nothing;
//! * `Random`: nodes are listed in name order (the artefact's Random ignores the rank) and
//!   the chooser is seeded with the tune seed, so the draw among the feasible nodes is the
//!   same draw on the same list; a GPU-sharing pod's GPU is drawn by the same chooser right
//!   after its node (`SchedulerConfig::fgd_random_gpu`), as the artefact draws it.

use std::hash::BuildHasherDefault;

use sim_core::ChooserMode;

use super::cluster::{Cluster, place};
use super::error::FgdError;
use super::frag::Targets;
use super::{FgdRun, Policy, Trace, analysis};
use crate::scheduler::Placement;
use crate::sim::{ClusterSim, RunConfig};

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

/// Where the model bound each pod: (node index in the artefact's cluster, GPUs), `None`
/// for a pod that found no node; in arrival order.
pub type Bindings = Vec<Option<(usize, Vec<usize>)>>;

/// Replay `bindings` (pods `order`, as indices into the name-sorted list) onto `cluster`:
/// one [`Event`] per pod.
fn events(
    cluster: &mut Cluster,
    trace: &Trace,
    order: &[usize],
    bindings: &Bindings,
    targets: &Targets,
) -> Vec<Event> {
    // F of a node state, memoised: many nodes share a state (a pure cache, never
    // iterated).
    type NodeKey = (i64, usize, [i64; crate::fgd::cluster::MAX_GPUS], usize);
    let mut memo: std::collections::HashMap<NodeKey, f64, BuildHasherDefault<super::FxHasher>> =
        std::collections::HashMap::with_capacity_and_hasher(
            cluster.nodes.len().saturating_mul(2),
            Default::default(),
        );
    let mut frag = |n: &crate::fgd::cluster::NodeState| {
        *memo
            .entry((n.cpu_left, n.model, n.gpus, n.n_gpu))
            .or_insert_with(|| targets.node_frag(n.cpu_left, n.gpus(), n.model))
    };
    let frags: Vec<f64> = cluster.nodes.iter().map(&mut frag).collect();
    let mut frag_sum = SumTree::new(&frags);
    let (mut arrived, mut used) = (0i64, 0i64);
    let mut out = Vec::with_capacity(order.len());
    for (&p, b) in order.iter().zip(bindings) {
        let shape = &trace.shapes[trace.shape_of[p]];
        arrived += shape.total_milli();
        if let Some((i, gpus)) = b {
            let n = &mut cluster.nodes[*i];
            place(shape, n, gpus);
            frag_sum.set(*i, frag(n));
            used += shape.total_milli();
        }
        out.push(Event {
            arrived_milli: arrived,
            used_milli: used,
            frag_milli: frag_sum.sum(),
        });
    }
    out
}

impl Trace {
    /// One run (policy, tune seed) through the one cluster model, analysed into the
    /// artefact's curves. Deterministic: equal inputs give equal results. Errors: a pod the
    /// model cannot express, or a failed run (named).
    pub fn run(&self, policy: Policy, seed: u64) -> Result<FgdRun, FgdError> {
        // Random ignores the rank: its candidates are in name order, as in the artefact.
        let ranked = !policy.is_random();
        let seq = self.sequence(seed);
        let mut mm = self.main_model_of(&seq, &self.pods_file, ranked)?;
        // A pod no empty node can hold fails in the artefact; the model refuses a workload
        // with one (it could never finish), so it is left out and counted as failed: it
        // would find no node, and its absence changes no other pod's placement or draw.
        let holdable: Vec<bool> = seq.order.iter().map(|&p| self.holdable(p)).collect();
        let mut keep = holdable.iter();
        mm.workload
            .jobs
            .retain(|_| keep.next().copied().unwrap_or(true));
        let placement = match policy {
            Policy::Random => Placement::Random,
            Policy::DotProd => Placement::DotProd,
            Policy::GpuClustering => Placement::GpuClustering,
            Policy::GpuPacking => Placement::GpuPacking,
            Policy::BestFit => Placement::BestFit,
            Policy::Fgd => Placement::Fgd,
        };
        let mut config = RunConfig {
            seed,
            horizon: Some(mm.horizon),
            chooser: if ranked {
                ChooserMode::First
            } else {
                ChooserMode::Seeded
            },
            ..RunConfig::default()
        };
        config.scheduler.placement = placement;
        config.scheduler.fgd_target_pods = Some(mm.target_pods.clone());
        config.scheduler.fgd_random_gpu = policy.is_random();
        // Model node i is the artefact's node `mm.node_index[i]`.
        let mut ran: Bindings = Vec::new();
        crate::sim::run_finished(mm.cluster, mm.workload, &config, |m: &ClusterSim| {
            ran = m
                .state
                .jobs
                .iter()
                .map(|j| {
                    j.pods.first().and_then(|p| p.placement.as_ref()).map(|pl| {
                        (
                            mm.node_index[pl.node as usize],
                            pl.gpus.iter().map(|&g| usize::from(g)).collect(),
                        )
                    })
                })
                .collect();
        })
        .map_err(|e| FgdError::Model(format!("{policy} seed {seed}: {e}")))?;
        let mut ran = ran.into_iter();
        let bindings: Bindings = holdable
            .iter()
            .map(|&h| if h { ran.next().flatten() } else { None })
            .collect();
        let mut cluster = self.cluster.clone();
        let events = events(&mut cluster, self, &seq.order, &bindings, &self.targets);
        let placed = bindings.iter().filter(|b| b.is_some()).count();
        let total_gpus = cluster.total_gpus();
        let (alloc, frag) = analysis::curves(&events, total_gpus);
        let capacity = cluster.capacity_milli();
        let used = events.last().map_or(0, |e| e.used_milli);
        Ok(FgdRun {
            policy,
            seed,
            gpu_allocation_ratio: alloc[100],
            alloc,
            frag,
            pods: seq.order.len(),
            clones: seq.clones,
            removed: seq.removed,
            placed,
            failed: seq.order.len() - placed,
            request_milli: seq.total_milli,
            capacity_milli: capacity,
            total_gpus,
            final_allocation: 100.0 * used as f64 / capacity as f64,
        })
    }
}
