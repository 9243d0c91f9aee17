//! Node state as the artefact's scheduler sees it, pod shapes, the filters
//! (NodeResourcesFit + Open-Gpu-Share) and the GPU choice inside a node.

use super::frag::spec_allows;
use super::openb::{NodeRow, PodRow};

/// Milli-GPU of one whole GPU.
pub const MILLI: i64 = 1000;
/// Kubernetes `pods` allocatable of every node in the artefact's cluster config.
pub const MAX_PODS: u32 = 1001;
/// Most GPUs a node has.
pub const MAX_GPUS: usize = 8;

/// The mutable state of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeState {
    pub cpu_left: i64,
    pub mem_left: i64,
    pub pods: u32,
    /// Free milli per GPU (index = device id); only the first `n_gpu` entries are used.
    pub gpus: [i64; MAX_GPUS],
    pub n_gpu: usize,
    /// GPU model id (index into `Cluster::models`).
    pub model: usize,
    /// Pods per GPU affinity tag: index 0 = `share-gpu`, k = `<k>-gpu`.
    pub tags: [u32; MAX_GPUS + 1],
}

impl NodeState {
    pub fn gpus(&self) -> &[i64] {
        &self.gpus[..self.n_gpu]
    }

    /// Total free GPU milli.
    pub fn gpu_left(&self) -> i64 {
        self.gpus().iter().sum()
    }

    /// Used GPU milli (fractional GPUs count by their milli).
    pub fn gpu_used(&self) -> i64 {
        self.n_gpu as i64 * MILLI - self.gpu_left()
    }
}

/// The nodes, sorted by name.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub names: Vec<String>,
    pub models: Vec<String>,
    pub nodes: Vec<NodeState>,
}

impl Cluster {
    pub fn new(rows: &[NodeRow]) -> Cluster {
        let mut rows: Vec<&NodeRow> = rows.iter().collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        let mut models: Vec<String> = rows.iter().map(|r| r.model.clone()).collect();
        models.sort();
        models.dedup();
        let nodes = rows
            .iter()
            .map(|r| {
                let mut gpus = [0; MAX_GPUS];
                for g in gpus.iter_mut().take(r.gpus) {
                    *g = MILLI;
                }
                NodeState {
                    cpu_left: r.cpu_milli,
                    mem_left: r.memory_mib,
                    pods: 0,
                    gpus,
                    n_gpu: r.gpus,
                    model: models.binary_search(&r.model).unwrap_or(0),
                    tags: [0; MAX_GPUS + 1],
                }
            })
            .collect();
        Cluster {
            names: rows.iter().map(|r| r.name.clone()).collect(),
            models,
            nodes,
        }
    }

    /// Total GPU capacity in milli.
    pub fn capacity_milli(&self) -> i64 {
        self.nodes.iter().map(|n| n.n_gpu as i64 * MILLI).sum()
    }

    pub fn total_gpus(&self) -> usize {
        self.nodes.iter().map(|n| n.n_gpu).sum()
    }
}

/// A pod's resource request, interned (pods with equal shapes share score caches).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub cpu: i64,
    pub mem: i64,
    /// Per-GPU milli (0 for CPU-only pods).
    pub milli: i64,
    /// GPU count (0 for CPU-only pods).
    pub num: i64,
    pub spec: String,
    /// Whether each GPU model is allowed.
    pub access: Vec<bool>,
}

impl Shape {
    pub fn of(p: &PodRow, models: &[String]) -> Shape {
        Shape {
            cpu: p.cpu_milli,
            mem: p.memory_mib,
            milli: p.gpu_milli,
            num: p.num_gpu,
            spec: p.gpu_spec.clone(),
            access: models.iter().map(|m| spec_allows(&p.gpu_spec, m)).collect(),
        }
    }

    pub fn is_gpu(&self) -> bool {
        self.milli > 0
    }

    /// A GPU-sharing pod: one GPU, less than all of it.
    pub fn is_share(&self) -> bool {
        self.num == 1 && self.milli < MILLI
    }

    pub fn total_milli(&self) -> i64 {
        self.milli * self.num
    }

    /// GPU affinity tag index (`share-gpu` = 0, `<k>-gpu` = k); None for CPU-only pods.
    pub fn tag(&self) -> Option<usize> {
        if !self.is_gpu() {
            None
        } else if self.is_share() {
            Some(0)
        } else {
            Some(self.num.clamp(0, MAX_GPUS as i64) as usize)
        }
    }

    /// All filters: CPU, memory, pod count, GPU model and GPU placement.
    pub fn fits(&self, n: &NodeState) -> bool {
        if self.cpu > n.cpu_left || self.mem > n.mem_left || n.pods + 1 > MAX_PODS {
            return false;
        }
        if !self.is_gpu() {
            return true;
        }
        if n.n_gpu == 0 || !self.access[n.model] {
            return false;
        }
        let ok = n.gpus().iter().filter(|&&g| g >= self.milli).count() as i64;
        ok >= self.num
    }
}

/// GPU choice of the `best` method: a sharing pod takes the GPU with the least free milli
/// that still fits (lowest index on ties); whole-GPU pods take the lowest-index free GPUs.
pub fn best_fit_gpus(shape: &Shape, n: &NodeState) -> Vec<usize> {
    if !shape.is_gpu() {
        return Vec::new();
    }
    if shape.is_share() {
        let mut best: Option<usize> = None;
        for (i, &g) in n.gpus().iter().enumerate() {
            if g >= shape.milli && best.is_none_or(|b| g < n.gpus[b]) {
                best = Some(i);
            }
        }
        best.into_iter().collect()
    } else {
        exclusive_gpus(shape, n)
    }
}

/// `AllocateExclusiveGpuId`: the lowest-index fully free GPUs.
pub fn exclusive_gpus(shape: &Shape, n: &NodeState) -> Vec<usize> {
    n.gpus()
        .iter()
        .enumerate()
        .filter(|(_, g)| **g == MILLI)
        .map(|(i, _)| i)
        .take(shape.num.max(0) as usize)
        .collect()
}

/// Bind a pod to a node on the given GPUs.
pub fn place(shape: &Shape, n: &mut NodeState, gpus: &[usize]) {
    n.cpu_left -= shape.cpu;
    n.mem_left -= shape.mem;
    n.pods += 1;
    for &g in gpus {
        n.gpus[g] -= shape.milli;
    }
    if let Some(t) = shape.tag() {
        n.tags[t] += 1;
    }
}
