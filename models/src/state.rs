//! What is allocated where: per-node and per-GPU bookkeeping that never over-commits.

use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterSpec, NodeSpec};
use crate::resources::{GPU_MILLI, GpuRequest, PodRequest};

/// kube-scheduler counts a container without requests as 100 mCPU / 200 MiB when scoring
/// (`DefaultMilliCPURequest`, `DefaultMemoryRequest`).
pub const DEFAULT_CPU_REQUEST_MILLI: u64 = 100;
pub const DEFAULT_MEMORY_REQUEST_MIB: u64 = 200;

/// Why a pod does not fit on a node (Filter's verdict).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Misfit {
    Cpu,
    Memory,
    Gpu,
    GpuModel,
    /// The node is not `Ready` (cordoned, failed or not provisioned): kube-scheduler's
    /// NodeUnschedulable / node-condition filtering.
    NotReady,
    /// NodeAffinity: the pod's node selector or required node affinity does not match.
    NodeAffinity,
    /// TaintToleration: a `NoSchedule`/`NoExecute` taint the pod does not tolerate.
    Taint,
}

/// TaintToleration, then NodeAffinity (kube-scheduler's default Filter order: the first
/// failing plugin is the node's reason).
#[cold]
#[inline(never)]
fn constraint_misfit(spec: &NodeSpec, pod: &PodRequest) -> Option<Misfit> {
    let tolerations: &[crate::resources::Toleration] =
        pod.constraints.as_ref().map_or(&[], |c| &c.tolerations);
    if crate::resources::untolerated(tolerations, &spec.taints).is_some() {
        return Some(Misfit::Taint);
    }
    match &pod.constraints {
        Some(c) if !c.node_matches(&spec.labels) => Some(Misfit::NodeAffinity),
        _ => None,
    }
}

impl Misfit {
    /// kube-scheduler's Filter message for this failure on `spec` (the strings of
    /// `noderesources.Fit` "Insufficient <resource>", NodeAffinity's
    /// `ErrReasonPod`, TaintToleration's "node(s) had untolerated taint {key: value}").
    pub fn message(self, spec: &NodeSpec, pod: &PodRequest) -> String {
        match self {
            Misfit::Cpu => "Insufficient cpu".into(),
            Misfit::Memory => "Insufficient memory".into(),
            Misfit::Gpu => "Insufficient nvidia.com/gpu".into(),
            Misfit::GpuModel | Misfit::NodeAffinity => {
                "node(s) didn't match Pod's node affinity/selector".into()
            }
            Misfit::NotReady => "node(s) were unschedulable or not ready".into(),
            Misfit::Taint => {
                let tol: &[crate::resources::Toleration] =
                    pod.constraints.as_ref().map_or(&[], |c| &c.tolerations);
                match crate::resources::untolerated(tol, &spec.taints) {
                    Some(t) => format!("node(s) had untolerated taint {{{}: {}}}", t.key, t.value),
                    None => "node(s) had untolerated taint".into(),
                }
            }
        }
    }
}

/// Filter's verdict over every node for `pod` as kube-scheduler words a FitError:
/// "0/N nodes are available: 2 Insufficient nvidia.com/gpu, 1 node(s) didn't match Pod's
/// node affinity/selector." (reasons with counts, sorted as strings, as
/// `framework.FitError.Error` sorts its histogram).
pub fn fit_error(spec: &ClusterSpec, cs: &ClusterState, pod: &PodRequest) -> String {
    let mut hist: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    let mut fit = 0u32;
    for (n, st) in spec.nodes.iter().zip(&cs.nodes) {
        match st.fits(n, pod) {
            Ok(()) => fit += 1,
            Err(m) => *hist.entry(m.message(n, pod)).or_insert(0) += 1,
        }
    }
    let mut reasons: Vec<String> = hist.iter().map(|(r, c)| format!("{c} {r}")).collect();
    reasons.sort();
    format!(
        "{fit}/{} nodes are available: {}.",
        spec.nodes.len(),
        reasons.join(", ")
    )
}

/// Where a node is in its lifecycle. Only a `Ready` node passes Filter; a node in any other
/// condition keeps what is bound to it until a controller moves it (drain, failure).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum NodeCondition {
    #[default]
    Ready,
    /// `kubectl cordon` (`spec.unschedulable`): running pods stay, no new pods.
    Cordoned,
    /// Failed (`Ready=False`): no new pods until it recovers.
    Failed,
    /// Not provisioned: a node-pool slot the cluster autoscaler has not created yet or has
    /// removed. Holds nothing.
    Absent,
}

/// Allocation state of one node. Plain data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeState {
    pub cpu_used: u64,
    pub memory_used: u64,
    /// Requests as the scorer counts them (zero requests replaced by the defaults).
    pub cpu_scored: u64,
    pub memory_scored: u64,
    /// Free thousandths on each GPU of the node (1000 = idle).
    pub gpu_free: Vec<u16>,
    /// GPUs with nothing allocated on them.
    pub idle_gpus: u32,
    /// Allocated GPU thousandths on this node.
    pub gpu_used_milli: u64,
    pub pods: u32,
    /// Lifecycle condition; set through [`ClusterState::set_condition`].
    #[serde(default)]
    pub condition: NodeCondition,
    /// Bound pods per GPU kind (FGD artefact's GPU affinity tags), read only by the FGD
    /// placements; kept only when one is on ([`ClusterState::track_gpu_kinds`]), boxed so
    /// the node state every Filter and Score reads stays small. Not part of the state's
    /// identity (see [`GpuTags`]).
    #[serde(skip)]
    pub gpu_tags: Option<Box<GpuTags>>,
    /// GPUs out of service (a single-GPU fault, NVIDIA XID style), one bit per GPU index;
    /// set through [`ClusterState::fail_gpu`]. A failed GPU shows as fully used in
    /// `gpu_free` (so Filter, the GPU choice at Reserve and every score skip it) but is not
    /// counted in `gpu_used_milli` or the idle GPUs.
    #[serde(default, skip_serializing_if = "FailedGpus::is_empty")]
    pub failed_gpus: FailedGpus,
}

/// Failed GPUs of a node, one bit per GPU index (GPUs 0–63 can fail). Hashes nothing while
/// empty, so the verifier's fingerprints of runs without GPU faults do not change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FailedGpus(pub u64);

/// GPUs a node may have for single-GPU faults (the width of [`FailedGpus`]).
pub const MAX_FAULTY_GPU_INDEX: u32 = 64;

impl FailedGpus {
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    pub fn contains(&self, gpu: u8) -> bool {
        u32::from(gpu) < MAX_FAULTY_GPU_INDEX && self.0 & (1u64 << gpu) != 0
    }
    pub fn count(&self) -> u32 {
        self.0.count_ones()
    }
}

impl std::hash::Hash for FailedGpus {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        if self.0 != 0 {
            h.write_u64(self.0);
        }
    }
}

/// Bound pods per GPU kind on a node: index 0 = GPU-sharing pods, `k` = pods of `k` whole
/// GPUs (`k` capped at 8), as the FGD artefact's `GpuClusteringScorePlugin` counts its
/// affinity tags. A function of which pods are bound where (which the job states already
/// say), so it is left out of equality, hashing (the verifier's fingerprints) and
/// serialisation: existing fingerprints and outputs do not change.
#[derive(Clone, Copy, Debug, Default)]
pub struct GpuTags(pub [u32; 9]);

impl PartialEq for GpuTags {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for GpuTags {}
impl std::hash::Hash for GpuTags {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl GpuTags {
    /// The tag of a GPU request (`None` for CPU-only pods).
    pub fn tag(gpu: GpuRequest) -> Option<usize> {
        match gpu {
            GpuRequest::None => None,
            GpuRequest::Shared(_) => Some(0),
            GpuRequest::Whole(n) => Some((n as usize).min(8)),
        }
    }
}

impl NodeState {
    pub fn new(spec: &NodeSpec) -> Self {
        NodeState {
            cpu_used: 0,
            memory_used: 0,
            cpu_scored: 0,
            memory_scored: 0,
            gpu_free: vec![GPU_MILLI as u16; spec.gpus as usize],
            idle_gpus: spec.gpus,
            gpu_used_milli: 0,
            pods: 0,
            condition: NodeCondition::Ready,
            gpu_tags: None,
            failed_gpus: FailedGpus::default(),
        }
    }

    /// Filter: does `pod` fit on this node as it is now?
    pub fn fits(&self, spec: &NodeSpec, pod: &PodRequest) -> Result<(), Misfit> {
        if self.condition != NodeCondition::Ready {
            return Err(Misfit::NotReady);
        }
        // One predictable branch on the hot path: most pods and nodes have neither.
        if (pod.constraints.is_some() || !spec.taints.is_empty())
            && let Some(m) = constraint_misfit(spec, pod)
        {
            return Err(m);
        }
        // Checked sums: a request that would overflow the running total does not fit
        // (a node of 2^64-1 millicores holds one pod of 2^63, not three).
        if self
            .cpu_used
            .checked_add(pod.cpu_milli)
            .is_none_or(|c| c > spec.cpu_milli)
        {
            return Err(Misfit::Cpu);
        }
        if self
            .memory_used
            .checked_add(pod.memory_mib)
            .is_none_or(|m| m > spec.memory_mib)
        {
            return Err(Misfit::Memory);
        }
        if pod.gpu == GpuRequest::None {
            return Ok(());
        }
        if !pod.gpu_models.is_empty() {
            match &spec.gpu_model {
                Some(m) if pod.gpu_models.iter().any(|w| w == m) => {}
                _ => return Err(Misfit::GpuModel),
            }
        }
        let ok = match pod.gpu {
            GpuRequest::None => true,
            GpuRequest::Whole(n) => self.idle_gpus >= n,
            GpuRequest::Shared(m) => self.gpu_free.iter().any(|&f| u32::from(f) >= m),
        };
        if ok { Ok(()) } else { Err(Misfit::Gpu) }
    }

    /// Choose the GPUs a fitting pod gets: the lowest-numbered idle GPUs for whole GPUs; for
    /// a share, the GPU with the least free capacity that still fits (best fit), lowest
    /// index among equals. Returns `None` if it does not fit.
    pub fn pick_gpus(&self, gpu: GpuRequest) -> Option<Vec<u8>> {
        match gpu {
            GpuRequest::None => Some(Vec::new()),
            GpuRequest::Whole(n) => {
                let v: Vec<u8> = self
                    .gpu_free
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| u32::from(**f) == GPU_MILLI)
                    .take(n as usize)
                    .map(|(i, _)| i as u8)
                    .collect();
                (v.len() == n as usize).then_some(v)
            }
            GpuRequest::Shared(m) => self
                .gpu_free
                .iter()
                .enumerate()
                .filter(|(_, f)| u32::from(**f) >= m)
                .min_by_key(|(i, f)| (**f, *i))
                .map(|(i, _)| vec![i as u8]),
        }
    }

    pub(crate) fn take(&mut self, pod: &PodRequest, gpus: &[u8]) {
        self.cpu_used += pod.cpu_milli;
        self.memory_used += pod.memory_mib;
        self.cpu_scored += nonzero_cpu(pod);
        self.memory_scored += nonzero_memory(pod);
        self.pods += 1;
        if let (Some(tags), Some(t)) = (self.gpu_tags.as_deref_mut(), GpuTags::tag(pod.gpu)) {
            tags.0[t] += 1;
        }
        self.gpu_used_milli += pod.gpu.total_milli();
        let m = pod.gpu.milli_per_device() as u16;
        for &g in gpus {
            let f = &mut self.gpu_free[g as usize];
            if *f == GPU_MILLI as u16 {
                self.idle_gpus -= 1;
            }
            *f -= m;
        }
    }

    fn give_back(&mut self, pod: &PodRequest, gpus: &[u8]) {
        self.cpu_used -= pod.cpu_milli;
        self.memory_used -= pod.memory_mib;
        self.cpu_scored -= nonzero_cpu(pod);
        self.memory_scored -= nonzero_memory(pod);
        self.pods -= 1;
        if let (Some(tags), Some(t)) = (self.gpu_tags.as_deref_mut(), GpuTags::tag(pod.gpu)) {
            tags.0[t] -= 1;
        }
        self.gpu_used_milli -= pod.gpu.total_milli();
        let m = pod.gpu.milli_per_device() as u16;
        for &g in gpus {
            let f = &mut self.gpu_free[g as usize];
            *f += m;
            if *f == GPU_MILLI as u16 {
                self.idle_gpus += 1;
            }
        }
    }
}

pub fn nonzero_cpu(pod: &PodRequest) -> u64 {
    if pod.cpu_milli == 0 {
        DEFAULT_CPU_REQUEST_MILLI
    } else {
        pod.cpu_milli
    }
}

pub fn nonzero_memory(pod: &PodRequest) -> u64 {
    if pod.memory_mib == 0 {
        DEFAULT_MEMORY_REQUEST_MIB
    } else {
        pod.memory_mib
    }
}

/// Where one pod was placed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Placement {
    pub node: u32,
    pub gpus: Vec<u8>,
}

/// Allocation state of the whole cluster, with a summary that lets the scheduler reject
/// impossible whole-GPU requests in O(1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterState {
    pub nodes: Vec<NodeState>,
    /// `idle_hist[k]` = number of `Ready` nodes with exactly `k` idle GPUs.
    idle_hist: Vec<u32>,
    /// Allocated GPU thousandths over the whole cluster.
    pub gpu_milli_allocated: u64,
}

impl ClusterState {
    pub fn new(spec: &ClusterSpec) -> Self {
        let max = spec.nodes.iter().map(|n| n.gpus).max().unwrap_or(0) as usize;
        let mut idle_hist = vec![0u32; max + 1];
        for n in &spec.nodes {
            idle_hist[n.gpus as usize] += 1;
        }
        ClusterState {
            nodes: spec.nodes.iter().map(NodeState::new).collect(),
            idle_hist,
            gpu_milli_allocated: 0,
        }
    }

    /// Most idle GPUs on any single node.
    pub fn max_idle_gpus_on_a_node(&self) -> u32 {
        self.idle_hist.iter().rposition(|&c| c > 0).unwrap_or(0) as u32
    }

    /// Total idle GPUs in the cluster.
    pub fn idle_gpus(&self) -> u64 {
        self.idle_hist
            .iter()
            .enumerate()
            .map(|(k, &c)| k as u64 * u64::from(c))
            .sum()
    }

    /// Cheap necessary condition for a set of pods to fit somewhere: every whole-GPU pod
    /// needs a node with that many idle GPUs, and together they need that many idle GPUs.
    pub fn could_fit(&self, pods: &[PodRequest]) -> bool {
        let max_idle = self.max_idle_gpus_on_a_node();
        let mut whole = 0u64;
        for p in pods {
            if let GpuRequest::Whole(n) = p.gpu {
                if n > max_idle {
                    return false;
                }
                whole += u64::from(n);
            }
        }
        whole == 0 || whole <= self.idle_gpus()
    }

    pub fn bind(&mut self, node: u32, pod: &PodRequest, gpus: &[u8]) {
        let st = &mut self.nodes[node as usize];
        let before = st.idle_gpus as usize;
        st.take(pod, gpus);
        let after = st.idle_gpus as usize;
        if st.condition == NodeCondition::Ready {
            self.idle_hist[before] -= 1;
            self.idle_hist[after] += 1;
        }
        self.gpu_milli_allocated += pod.gpu.total_milli();
    }

    pub fn unbind(&mut self, node: u32, pod: &PodRequest, gpus: &[u8]) {
        let st = &mut self.nodes[node as usize];
        let before = st.idle_gpus as usize;
        st.give_back(pod, gpus);
        let after = st.idle_gpus as usize;
        if st.condition == NodeCondition::Ready {
            self.idle_hist[before] -= 1;
            self.idle_hist[after] += 1;
        }
        self.gpu_milli_allocated -= pod.gpu.total_milli();
    }

    /// Count bound pods per GPU kind on every node from now on (the FGD placements read
    /// them); call before anything is bound.
    pub fn track_gpu_kinds(&mut self) {
        for n in &mut self.nodes {
            n.gpu_tags.get_or_insert_with(Box::default);
        }
    }

    /// Move `node` to `condition`. Only `Ready` nodes count in the idle-GPU summary, so
    /// `could_fit` stays a necessary condition over the nodes Filter accepts. What is
    /// bound to the node stays bound: evicting it is the caller's (controller's) job.
    pub fn set_condition(&mut self, node: u32, condition: NodeCondition) {
        let st = &mut self.nodes[node as usize];
        let was_ready = st.condition == NodeCondition::Ready;
        let idle = st.idle_gpus as usize;
        st.condition = condition;
        match (was_ready, condition == NodeCondition::Ready) {
            (true, false) => self.idle_hist[idle] -= 1,
            (false, true) => self.idle_hist[idle] += 1,
            _ => {}
        }
    }

    /// Take GPU `gpu` of `node` out of service. It must be idle (the caller has released
    /// the pods that used it). Returns `Ok(false)` when it was already failed.
    pub fn fail_gpu(&mut self, node: u32, gpu: u8) -> Result<bool, String> {
        let st = &mut self.nodes[node as usize];
        if u32::from(gpu) >= MAX_FAULTY_GPU_INDEX || usize::from(gpu) >= st.gpu_free.len() {
            return Err(format!("node {node} has no GPU {gpu} that can fail"));
        }
        if st.failed_gpus.contains(gpu) {
            return Ok(false);
        }
        if u32::from(st.gpu_free[usize::from(gpu)]) != GPU_MILLI {
            return Err(format!("GPU {gpu} of node {node} still holds pods"));
        }
        let before = st.idle_gpus as usize;
        st.gpu_free[usize::from(gpu)] = 0;
        st.idle_gpus -= 1;
        st.failed_gpus.0 |= 1u64 << gpu;
        if st.condition == NodeCondition::Ready {
            self.idle_hist[before] -= 1;
            self.idle_hist[before - 1] += 1;
        }
        Ok(true)
    }

    /// Put a failed GPU back in service (idle). Returns false when it was not failed.
    pub fn recover_gpu(&mut self, node: u32, gpu: u8) -> bool {
        let st = &mut self.nodes[node as usize];
        if !st.failed_gpus.contains(gpu) {
            return false;
        }
        let before = st.idle_gpus as usize;
        st.gpu_free[usize::from(gpu)] = GPU_MILLI as u16;
        st.idle_gpus += 1;
        st.failed_gpus.0 &= !(1u64 << gpu);
        if st.condition == NodeCondition::Ready {
            self.idle_hist[before] -= 1;
            self.idle_hist[before + 1] += 1;
        }
        true
    }

    /// Check that nothing is over-committed and the summaries agree with the nodes.
    pub fn check_invariants(&self, spec: &ClusterSpec) -> Result<(), String> {
        let mut hist = vec![0u32; self.idle_hist.len()];
        let mut alloc = 0u64;
        for (i, (n, s)) in spec.nodes.iter().zip(&self.nodes).enumerate() {
            if s.cpu_used > n.cpu_milli || s.memory_used > n.memory_mib {
                return Err(format!(
                    "node {i} ({}) over-committed on cpu/memory",
                    n.name
                ));
            }
            // One pass over the GPUs (this runs after every instant with --check-invariants).
            let (mut idle, mut used) = (0usize, 0u64);
            for (g, &f) in s.gpu_free.iter().enumerate() {
                let f = u32::from(f);
                if s.failed_gpus.contains(g as u8) {
                    if f != 0 {
                        return Err(format!("node {i} ({}) failed GPU {g} holds room", n.name));
                    }
                    continue;
                }
                if f > GPU_MILLI {
                    return Err(format!("node {i} ({}) has a GPU above capacity", n.name));
                }
                idle += usize::from(f == GPU_MILLI);
                used += u64::from(GPU_MILLI - f);
            }
            if idle != s.idle_gpus as usize || idle >= hist.len() {
                return Err(format!("node {i} ({}) idle GPU count drifted", n.name));
            }
            if s.condition == NodeCondition::Absent && (s.pods > 0 || used > 0) {
                return Err(format!(
                    "node {i} ({}) is not provisioned but holds pods",
                    n.name
                ));
            }
            if s.condition == NodeCondition::Ready {
                hist[idle] += 1;
            }
            if used != s.gpu_used_milli {
                return Err(format!("node {i} ({}) GPU usage total drifted", n.name));
            }
            alloc += used;
        }
        if hist != self.idle_hist {
            return Err("idle-GPU histogram drifted".into());
        }
        if alloc != self.gpu_milli_allocated {
            return Err("allocated GPU total drifted".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn node(gpus: u32) -> NodeSpec {
        NodeSpec {
            taints: Vec::new(),
            name: "n".into(),
            pool: "p".into(),
            cpu_milli: 8000,
            memory_mib: 1024,
            gpus,
            gpu_model: Some("T4".into()),
            gpu_memory_mib: 0,
            rack: 0,
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn gpus_are_never_over_committed() {
        let spec = ClusterSpec {
            nodes: vec![node(2)],
        };
        let mut cs = ClusterState::new(&spec);
        let half = PodRequest {
            gpu: GpuRequest::Shared(600),
            ..PodRequest::gpus(0)
        };
        let g = cs.nodes[0].pick_gpus(half.gpu).unwrap();
        assert_eq!(g, vec![0]);
        cs.bind(0, &half, &g);
        // Another 600 share does not fit on GPU 0 (400 left), so it goes to GPU 1.
        assert_eq!(cs.nodes[0].pick_gpus(half.gpu), Some(vec![1]));
        // A 300 share best-fits onto GPU 0.
        assert_eq!(
            cs.nodes[0].pick_gpus(GpuRequest::Shared(300)),
            Some(vec![0])
        );
        // Two whole GPUs no longer fit; one does.
        assert_eq!(
            cs.nodes[0].fits(&spec.nodes[0], &PodRequest::gpus(2)),
            Err(Misfit::Gpu)
        );
        assert!(
            cs.nodes[0]
                .fits(&spec.nodes[0], &PodRequest::gpus(1))
                .is_ok()
        );
        assert_eq!(cs.max_idle_gpus_on_a_node(), 1);
        assert!(!cs.could_fit(&[PodRequest::gpus(2)]));
        cs.check_invariants(&spec).unwrap();
        cs.unbind(0, &half, &g);
        assert_eq!(cs.max_idle_gpus_on_a_node(), 2);
        assert_eq!(cs.gpu_milli_allocated, 0);
        cs.check_invariants(&spec).unwrap();
    }

    #[test]
    fn only_ready_nodes_pass_filter_and_count_as_idle() {
        let spec = ClusterSpec {
            nodes: vec![node(2), node(4)],
        };
        let mut cs = ClusterState::new(&spec);
        assert_eq!(cs.idle_gpus(), 6);
        cs.set_condition(1, NodeCondition::Cordoned);
        assert_eq!(cs.idle_gpus(), 2);
        assert_eq!(cs.max_idle_gpus_on_a_node(), 2);
        assert!(!cs.could_fit(&[PodRequest::gpus(3)]));
        assert_eq!(
            cs.nodes[1].fits(&spec.nodes[1], &PodRequest::gpus(1)),
            Err(Misfit::NotReady)
        );
        cs.check_invariants(&spec).unwrap();
        // A pod bound before the cordon is released while cordoned: the summary follows.
        cs.set_condition(1, NodeCondition::Ready);
        let p = PodRequest::gpus(1);
        cs.bind(1, &p, &[0]);
        cs.set_condition(1, NodeCondition::Failed);
        cs.unbind(1, &p, &[0]);
        cs.check_invariants(&spec).unwrap();
        cs.set_condition(1, NodeCondition::Absent);
        cs.check_invariants(&spec).unwrap();
        cs.set_condition(1, NodeCondition::Ready);
        assert_eq!(cs.idle_gpus(), 6);
        assert_eq!(cs.max_idle_gpus_on_a_node(), 4);
        cs.check_invariants(&spec).unwrap();
    }

    #[test]
    fn cpu_and_memory_sums_never_wrap() {
        // A node of 2^64-1 millicores and MiB takes one pod of 2^63, not three: the sum
        // 2^63 + 2^63 would wrap to 0 and pass an unchecked `used + request <= capacity`.
        let mut spec = node(0);
        spec.cpu_milli = u64::MAX;
        spec.memory_mib = u64::MAX;
        let cluster = ClusterSpec {
            nodes: vec![spec.clone()],
        };
        let mut cs = ClusterState::new(&cluster);
        let big = PodRequest {
            cpu_milli: 1 << 63,
            memory_mib: 1,
            ..PodRequest::gpus(0)
        };
        let mut placed = 0;
        for _ in 0..3 {
            if cs.nodes[0].fits(&spec, &big).is_ok() {
                cs.bind(0, &big, &[]);
                placed += 1;
            }
        }
        assert_eq!(placed, 1);
        assert_eq!(cs.nodes[0].fits(&spec, &big), Err(Misfit::Cpu));
        let mem = PodRequest {
            cpu_milli: 1,
            memory_mib: u64::MAX,
            ..PodRequest::gpus(0)
        };
        assert_eq!(cs.nodes[0].fits(&spec, &mem), Err(Misfit::Memory));
        cs.check_invariants(&cluster).unwrap();
    }

    #[test]
    fn gpu_model_and_cpu_are_filtered() {
        let spec = node(1);
        let st = NodeState::new(&spec);
        let mut p = PodRequest::gpus(1);
        p.gpu_models = vec!["V100".into()];
        assert_eq!(st.fits(&spec, &p), Err(Misfit::GpuModel));
        p.gpu_models = vec!["V100".into(), "T4".into()];
        assert!(st.fits(&spec, &p).is_ok());
        p.cpu_milli = 9000;
        assert_eq!(st.fits(&spec, &p), Err(Misfit::Cpu));
    }
}
