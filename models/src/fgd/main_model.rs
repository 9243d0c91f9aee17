//! An FGD run replayed through the main cluster model (`orrery run` on an FGD-family
//! scenario): the artefact's nodes and its tuned, shuffled pod list for a tune seed become a
//! [`ClusterSpec`] and a [`Workload`] of one-pod jobs, arriving one per second in the
//! artefact's order and never departing (the artefact has no departures).
//!
//! Nodes are listed in the artefact's tie-break rank (its `Perm` of the node list), so a
//! chooser that takes the first of equally scored nodes breaks ties as the artefact does.
//! [`Trace::run`] (`super::one_model`) is the reproduction run on this model.

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimTime};

use super::Trace;
use super::cluster::Cluster;
use super::error::FgdError;
use super::openb::PodRow;
use crate::cluster::{ClusterSpec, NodeSpec};
use crate::resources::{GpuRequest, PodRequest};
use crate::state::NodeState;
use crate::workload::{JobSpec, Workload};

/// Seconds between two pods' arrivals.
pub const ARRIVAL_GAP_S: u64 = 1;

/// The cluster and workload of one tune seed, and the horizon that ends the run after the
/// last arrival (pods run until then: no departures).
#[derive(Clone, Debug)]
pub struct MainModelRun {
    pub cluster: ClusterSpec,
    pub workload: Workload,
    pub horizon: SimDuration,
    /// The artefact's original pod list, from which it computes FGD's fragmentation
    /// targets (`SchedulerConfig::fgd_target_pods`).
    pub target_pods: crate::scheduler::fgd::TargetPods,
    /// Node `i` of `cluster` is node `node_index[i]` of the artefact's name-sorted list.
    pub node_index: Vec<usize>,
}

/// The main model's request of one pod of the artefact's list (`file` names the list in
/// errors).
pub(super) fn request(file: &str, p: &PodRow) -> Result<PodRequest, FgdError> {
    let bad = |field: &str, msg: String| FgdError::Pod {
        file: file.to_string(),
        pod: p.name.clone(),
        field: field.to_string(),
        msg,
    };
    let u = |field: &str, v: i64| {
        u64::try_from(v).map_err(|_| bad(field, format!("must be >= 0, got {v}")))
    };
    let count = u32::try_from(p.num_gpu)
        .map_err(|_| bad("num_gpu", format!("out of range: {}", p.num_gpu)))?;
    let milli = u32::try_from(p.gpu_milli)
        .map_err(|_| bad("gpu_milli", format!("out of range: {}", p.gpu_milli)))?;
    let gpu = GpuRequest::from_count_and_milli(count, milli).ok_or_else(|| {
        bad(
            "gpu_milli",
            format!(
                "{} GPUs of {milli} milli is not a whole-GPU or single-GPU share request",
                p.num_gpu
            ),
        )
    })?;
    Ok(PodRequest {
        constraints: None,
        cpu_milli: u("cpu_milli", p.cpu_milli)?,
        memory_mib: u("memory_mib", p.memory_mib)?,
        gpu,
        gpu_models: p
            .gpu_spec
            .split('|')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    })
}

/// The main model's node for node `i` of the artefact's (name-sorted) cluster.
fn node_spec(c: &Cluster, i: usize) -> NodeSpec {
    let n = &c.nodes[i];
    NodeSpec {
        taints: Vec::new(),
        name: c.names[i].clone(),
        pool: "openb".into(),
        cpu_milli: n.cpu_left.max(0) as u64,
        memory_mib: n.mem_left.max(0) as u64,
        gpus: n.n_gpu as u32,
        gpu_model: c.models.get(n.model).cloned(),
        gpu_memory_mib: 0,
        rack: 0,
        labels: BTreeMap::new(),
    }
}

/// Per shape (`shape_of[p]` for pod `p`, `shapes` of them): whether some empty node of the
/// main model passes its Filter for the shape's request (`requests[p]`; a shape whose
/// request cannot be expressed: `true`, the run reports it).
pub(super) fn holdable(
    c: &Cluster,
    shape_of: &[usize],
    requests: &[Option<PodRequest>],
    shapes: usize,
) -> Vec<bool> {
    let nodes: Vec<NodeSpec> = (0..c.nodes.len()).map(|i| node_spec(c, i)).collect();
    let empty: Vec<NodeState> = nodes.iter().map(NodeState::new).collect();
    let mut out: Vec<Option<bool>> = vec![None; shapes];
    for (&sh, req) in shape_of.iter().zip(requests) {
        if let (Some(slot @ None), Some(req)) = (out.get_mut(sh), req) {
            *slot = Some(
                nodes
                    .iter()
                    .zip(&empty)
                    .any(|(n, st)| st.fits(n, req).is_ok()),
            );
        }
    }
    out.into_iter().map(|h| h.unwrap_or(true)).collect()
}

impl Trace {
    /// Whether some empty node of the main model can hold pod `p` (an index into the
    /// name-sorted list).
    pub(super) fn holdable(&self, p: usize) -> bool {
        self.holdable.get(self.shape_of[p]).copied().unwrap_or(true)
    }

    /// The main model's cluster and workload for tune seed `seed`; `pods_file` names the
    /// pod list in errors (a pod whose request the main model cannot express).
    pub fn main_model(&self, seed: u64, pods_file: &str) -> Result<MainModelRun, FgdError> {
        self.main_model_of(&self.sequence(seed), pods_file, true)
    }

    /// As [`Trace::main_model`], for the sequence `seq` of a tune seed; nodes in the
    /// artefact's tie-break rank if `ranked`, else in name order.
    pub fn main_model_of(
        &self,
        seq: &super::workload::Sequence,
        pods_file: &str,
        ranked: bool,
    ) -> Result<MainModelRun, FgdError> {
        let c = &self.cluster;
        let mut by_rank: Vec<usize> = (0..c.nodes.len()).collect();
        if ranked {
            by_rank.sort_by_key(|&i| (seq.rank.get(i).copied().unwrap_or(u32::MAX), i));
        }
        let nodes: Vec<NodeSpec> = by_rank.iter().map(|&i| node_spec(c, i)).collect();
        let horizon = SimDuration::from_secs(
            (seq.order.len() as u64)
                .saturating_mul(ARRIVAL_GAP_S)
                .saturating_add(1),
        );
        let mut jobs = Vec::with_capacity(seq.order.len());
        let mut seen: Vec<u32> = vec![0; self.pods.len()];
        let mut at = SimTime::ZERO;
        for &p in &seq.order {
            let row = &self.pods[p];
            // Tune-up clones repeat a pod: name them `<name>-clone-<k>`.
            let k = &mut seen[p];
            let id = if *k == 0 {
                row.name.clone()
            } else {
                format!("{}-clone-{k}", row.name)
            };
            *k += 1;
            jobs.push(JobSpec {
                id,
                submit: at,
                // Every pod outlives the run: no departures.
                duration: horizon + SimDuration::from_secs(1),
                pods: vec![match &self.requests[p] {
                    Some(r) => r.clone(),
                    None => request(pods_file, row)?,
                }],
                priority: 0,
                queue: None,
            });
            at += SimDuration::from_secs(ARRIVAL_GAP_S);
        }
        Ok(MainModelRun {
            cluster: ClusterSpec { nodes },
            workload: Workload { jobs },
            horizon,
            target_pods: self.target_pods.clone(),
            node_index: by_rank,
        })
    }
}
