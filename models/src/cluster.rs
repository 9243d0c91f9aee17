//! Cluster hardware: nodes and their allocatable resources.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One node as configured (what `kubectl get node` would call capacity/allocatable).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    /// Node pool it came from (or `"trace"` for node lists).
    pub pool: String,
    pub cpu_milli: u64,
    pub memory_mib: u64,
    pub gpus: u32,
    /// GPU model, e.g. `"H100"`, `"T4"`; `None` for CPU-only nodes.
    pub gpu_model: Option<String>,
    pub gpu_memory_mib: u64,
    /// Rack (or scalable unit) index, for topology-aware policies.
    pub rack: u32,
    pub labels: BTreeMap<String, String>,
    /// `spec.taints` (`NoSchedule`/`NoExecute` keep pods that do not tolerate them off).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<crate::resources::Taint>,
}

/// The configured cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterSpec {
    pub nodes: Vec<NodeSpec>,
}

impl ClusterSpec {
    pub fn total_gpus(&self) -> u64 {
        self.nodes.iter().map(|n| u64::from(n.gpus)).sum()
    }
}
