//! Resource requests as Kubernetes users write them: CPU in millicores, memory in MiB,
//! GPUs either whole (`nvidia.com/gpu: N`) or as a share of one GPU in thousandths
//! (`gpu_milli`, as in the Alibaba openb trace).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::kueue::types::{Requirement, Taint, Toleration};

/// Thousandths of a GPU in one whole GPU.
pub const GPU_MILLI: u32 = 1000;

/// Most GPUs one node may have: GPU indices in placements are 8-bit (`Placement::gpus`).
pub const MAX_GPUS_PER_NODE: u32 = 255;

/// Largest CPU (millicores) or memory (MiB) quantity a node or a pod may state: 2^40
/// (about 1.1 × 10^9 cores, or 1 EiB). Per-node sums of requests stay within a node's
/// capacity, and the scorer's `capacity × 100` and cluster-wide totals over
/// [`MAX_NODES`] nodes stay far below 2^64, so no sum can wrap.
pub const MAX_QUANTITY: u64 = 1 << 40;

/// Most nodes a cluster may have (node pools and node lists together).
pub const MAX_NODES: u64 = 1_000_000;

/// Most pods one job may have.
pub const MAX_PODS_PER_JOB: u32 = 100_000;

/// A pod's GPU request. Sharing (a fraction of a GPU) is only possible on a single GPU,
/// so `Shared` carries no count: the illegal "two half GPUs" cannot be written down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GpuRequest {
    None,
    /// `n >= 1` whole GPUs, each used exclusively.
    Whole(u32),
    /// A share of one GPU, `1..=999` thousandths.
    Shared(u32),
}

impl GpuRequest {
    /// Build from the openb-style pair (`num_gpu`, `gpu_milli`). Returns `None` for
    /// combinations that have no meaning (a share spread over several GPUs, a share above
    /// one GPU, GPUs requested with a zero share).
    pub fn from_count_and_milli(count: u32, milli: u32) -> Option<GpuRequest> {
        match (count, milli) {
            (0, _) => Some(GpuRequest::None),
            (n, GPU_MILLI) => Some(GpuRequest::Whole(n)),
            (1, m) if (1..GPU_MILLI).contains(&m) => Some(GpuRequest::Shared(m)),
            _ => None,
        }
    }

    /// Number of physical GPUs the request touches.
    pub fn devices(self) -> u32 {
        match self {
            GpuRequest::None => 0,
            GpuRequest::Whole(n) => n,
            GpuRequest::Shared(_) => 1,
        }
    }

    /// Thousandths of a GPU taken on each device touched.
    pub fn milli_per_device(self) -> u32 {
        match self {
            GpuRequest::None => 0,
            GpuRequest::Whole(_) => GPU_MILLI,
            GpuRequest::Shared(m) => m,
        }
    }

    /// Total GPU amount in thousandths (e.g. 2 whole GPUs = 2000).
    pub fn total_milli(self) -> u64 {
        u64::from(self.devices()) * u64::from(self.milli_per_device())
    }
}

/// What one pod asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PodRequest {
    pub cpu_milli: u64,
    pub memory_mib: u64,
    pub gpu: GpuRequest,
    /// GPU models the pod may run on (`gpu_spec`); empty means any model.
    pub gpu_models: Vec<String>,
    /// Node selector, required node affinity and tolerations (`None`: none of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Box<PodConstraints>>,
}

/// Where a pod may go besides fitting: kube-scheduler's NodeAffinity Filter (the pod's
/// `nodeSelector` and `requiredDuringSchedulingIgnoredDuringExecution` node affinity) and
/// TaintToleration Filter (`NoSchedule` and `NoExecute` taints must be tolerated).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PodConstraints {
    /// `spec.nodeSelector`: every label must be on the node with that value.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// `nodeSelectorTerms`: ORed; the requirements of one term are ANDed. Empty: no
    /// affinity.
    #[serde(default)]
    pub node_affinity: Vec<Vec<Requirement>>,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
}

impl PodConstraints {
    /// NodeAffinity's Filter: the node selector and the required node affinity match
    /// `labels` (`k8s.io/component-helpers/scheduling/corev1/nodeaffinity`: all
    /// selector labels, and any term whose requirements all match; a term with no
    /// requirements matches nothing).
    pub fn node_matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.node_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && (self.node_affinity.is_empty()
                || self
                    .node_affinity
                    .iter()
                    .any(|term| !term.is_empty() && term.iter().all(|r| r.matches(labels))))
    }

    /// The first `NoSchedule`/`NoExecute` taint of `taints` no toleration tolerates
    /// (TaintToleration's Filter; `PreferNoSchedule` only lowers a score).
    pub fn untolerated<'a>(&self, taints: &'a [Taint]) -> Option<&'a Taint> {
        untolerated(&self.tolerations, taints)
    }
}

/// The first `NoSchedule`/`NoExecute` taint that none of `tolerations` tolerates.
pub fn untolerated<'a>(tolerations: &[Toleration], taints: &'a [Taint]) -> Option<&'a Taint> {
    taints.iter().find(|t| {
        matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")
            && !tolerations.iter().any(|tol| tol.tolerates(t))
    })
}

impl PodRequest {
    pub fn gpus(n: u32) -> PodRequest {
        PodRequest {
            cpu_milli: 0,
            memory_mib: 0,
            gpu: if n == 0 {
                GpuRequest::None
            } else {
                GpuRequest::Whole(n)
            },
            gpu_models: Vec::new(),
            constraints: None,
        }
    }
}

/// Split a job's `total_gpus` whole GPUs into pods of at most `max_per_pod` GPUs each:
/// 12 GPUs at 8 per pod give pods of 8 and 4. Zero GPUs give one CPU-only pod.
pub fn split_gpus(total_gpus: u32, max_per_pod: u32) -> Vec<u32> {
    let max = max_per_pod.max(1);
    if total_gpus == 0 {
        return vec![0];
    }
    let mut out = Vec::with_capacity(total_gpus.div_ceil(max) as usize);
    let mut left = total_gpus;
    while left > 0 {
        let n = left.min(max);
        out.push(n);
        left -= n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openb_pairs_map_to_requests() {
        assert_eq!(
            GpuRequest::from_count_and_milli(0, 0),
            Some(GpuRequest::None)
        );
        assert_eq!(
            GpuRequest::from_count_and_milli(2, 1000),
            Some(GpuRequest::Whole(2))
        );
        assert_eq!(
            GpuRequest::from_count_and_milli(1, 460),
            Some(GpuRequest::Shared(460))
        );
        assert_eq!(GpuRequest::from_count_and_milli(2, 500), None);
        assert_eq!(GpuRequest::from_count_and_milli(1, 0), None);
        assert_eq!(GpuRequest::from_count_and_milli(1, 1500), None);
        assert_eq!(GpuRequest::Whole(3).total_milli(), 3000);
        assert_eq!(GpuRequest::Shared(250).total_milli(), 250);
    }

    #[test]
    fn split_into_pods() {
        assert_eq!(split_gpus(12, 8), vec![8, 4]);
        assert_eq!(split_gpus(64, 8), vec![8; 8]);
        assert_eq!(split_gpus(3, 8), vec![3]);
        assert_eq!(split_gpus(0, 8), vec![0]);
        assert_eq!(split_gpus(4, 1), vec![1, 1, 1, 1]);
    }
}
