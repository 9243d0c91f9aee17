//! The in-tree plugins Orrery models, with kube-scheduler's exact integer formulas
//! (`pkg/scheduler/framework/plugins/noderesources`).

use serde::{Deserialize, Serialize};

use crate::cluster::NodeSpec;
use crate::resources::{GPU_MILLI, GpuRequest, PodRequest};
use crate::state::{Misfit, NodeState, nonzero_cpu, nonzero_memory};

use super::framework::{FilterPlugin, ScorePlugin};

/// `NodeResourcesFit`'s Filter: CPU, memory, GPUs (whole or shared) and the pod's allowed
/// GPU models all fit on the node.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeResourcesFit;

impl FilterPlugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }
    fn filter(&self, pod: &PodRequest, spec: &NodeSpec, st: &NodeState) -> Result<(), Misfit> {
        st.fits(spec, pod)
    }
}

/// A resource a scoring strategy looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Cpu,
    Memory,
    /// `nvidia.com/gpu`, counted only for pods that request GPUs (as kube does for
    /// extended resources).
    Gpu,
}

/// (requested-after-placement, allocatable) for one resource, or `None` when the resource
/// does not take part (allocatable 0, or a GPU resource for a pod that requests none).
fn requested_and_allocatable(
    r: Resource,
    pod: &PodRequest,
    spec: &NodeSpec,
    st: &NodeState,
    scored: bool,
) -> Option<(u64, u64)> {
    let (req, alloc) = match r {
        Resource::Cpu if scored => (st.cpu_scored + nonzero_cpu(pod), spec.cpu_milli),
        Resource::Cpu => (st.cpu_used + pod.cpu_milli, spec.cpu_milli),
        Resource::Memory if scored => (st.memory_scored + nonzero_memory(pod), spec.memory_mib),
        Resource::Memory => (st.memory_used + pod.memory_mib, spec.memory_mib),
        Resource::Gpu => {
            if pod.gpu == GpuRequest::None {
                return None;
            }
            let cap = u64::from(spec.gpus) * u64::from(GPU_MILLI);
            (st.gpu_used_milli + pod.gpu.total_milli(), cap)
        }
    };
    (alloc > 0).then_some((req, alloc))
}

/// Which way NodeResourcesFit scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FitStrategy {
    /// Prefer emptier nodes (spreading); kube's default.
    LeastAllocated,
    /// Prefer fuller nodes (bin packing).
    MostAllocated,
}

/// `NodeResourcesFit`'s Score with a strategy and per-resource weights.
#[derive(Clone, Debug)]
pub struct FitScore {
    pub strategy: FitStrategy,
    pub resources: Vec<(Resource, i64)>,
}

impl ScorePlugin for FitScore {
    fn name(&self) -> &'static str {
        match self.strategy {
            FitStrategy::LeastAllocated => "NodeResourcesFit/LeastAllocated",
            FitStrategy::MostAllocated => "NodeResourcesFit/MostAllocated",
        }
    }
    fn score(&self, pod: &PodRequest, spec: &NodeSpec, st: &NodeState) -> i64 {
        let (mut sum, mut weights) = (0i64, 0i64);
        for &(r, w) in &self.resources {
            let Some((req, alloc)) = requested_and_allocatable(r, pod, spec, st, true) else {
                continue;
            };
            let s = match self.strategy {
                FitStrategy::LeastAllocated if req > alloc => 0,
                FitStrategy::LeastAllocated => ((alloc - req) * 100 / alloc) as i64,
                FitStrategy::MostAllocated => (req.min(alloc) * 100 / alloc) as i64,
            };
            sum += s * w;
            weights += w;
        }
        if weights == 0 { 0 } else { sum / weights }
    }
}

/// `NodeResourcesBalancedAllocation`: favours nodes whose resource fractions stay even
/// (legacy formula: `(1 - std) * 100` over the real requests).
#[derive(Clone, Debug)]
pub struct BalancedAllocation {
    pub resources: Vec<Resource>,
}

impl ScorePlugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        "NodeResourcesBalancedAllocation"
    }
    fn score(&self, pod: &PodRequest, spec: &NodeSpec, st: &NodeState) -> i64 {
        // At most one entry per Resource variant; no allocation on this hot path.
        let mut buf = [0.0f64; 8];
        let mut n = 0;
        for &r in &self.resources {
            if n == buf.len() {
                break;
            }
            if let Some((req, alloc)) = requested_and_allocatable(r, pod, spec, st, false) {
                buf[n] = (req as f64 / alloc as f64).min(1.0);
                n += 1;
            }
        }
        let fr = &buf[..n];
        let std = match n {
            0 | 1 => 0.0,
            2 => (fr[0] - fr[1]).abs() / 2.0,
            _ => {
                let mean = fr.iter().sum::<f64>() / n as f64;
                (fr.iter().map(|f| (f - mean) * (f - mean)).sum::<f64>() / n as f64).sqrt()
            }
        };
        ((1.0 - std) * 100.0) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn spec() -> NodeSpec {
        NodeSpec {
            taints: Vec::new(),
            name: "n".into(),
            pool: "p".into(),
            cpu_milli: 4000,
            memory_mib: 8192,
            gpus: 4,
            gpu_model: None,
            gpu_memory_mib: 0,
            rack: 0,
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn least_and_most_allocated_follow_kube_formulas() {
        let s = spec();
        let st = NodeState::new(&s);
        let pod = PodRequest {
            cpu_milli: 1000,
            memory_mib: 2048,
            ..PodRequest::gpus(1)
        };
        let cpu_mem = vec![(Resource::Cpu, 1), (Resource::Memory, 1)];
        let least = FitScore {
            strategy: FitStrategy::LeastAllocated,
            resources: cpu_mem.clone(),
        };
        // cpu (4000-1000)*100/4000 = 75, memory (8192-2048)*100/8192 = 75.
        assert_eq!(least.score(&pod, &s, &st), 75);
        let most = FitScore {
            strategy: FitStrategy::MostAllocated,
            resources: cpu_mem,
        };
        assert_eq!(most.score(&pod, &s, &st), 25);
        // With GPUs weighted in: gpu (4000-1000)*100/4000 = 75 too; weight 2 changes nothing.
        let with_gpu = FitScore {
            strategy: FitStrategy::MostAllocated,
            resources: vec![(Resource::Cpu, 1), (Resource::Gpu, 2)],
        };
        assert_eq!(with_gpu.score(&pod, &s, &st), 25);
        // A pod without requests is scored as 100m / 200Mi.
        let empty = PodRequest::gpus(0);
        // cpu (4000-100)*100/4000 = 97 (int), memory (8192-200)*100/8192 = 97.
        assert_eq!(least.score(&empty, &s, &st), 97);
    }

    #[test]
    fn balanced_allocation_legacy_formula() {
        let s = spec();
        let st = NodeState::new(&s);
        let pod = PodRequest {
            cpu_milli: 2000,  // 0.5
            memory_mib: 2048, // 0.25
            ..PodRequest::gpus(0)
        };
        let b = BalancedAllocation {
            resources: vec![Resource::Cpu, Resource::Memory],
        };
        // std = |0.5-0.25|/2 = 0.125 -> (1-0.125)*100 = 87.5 -> 87
        assert_eq!(b.score(&pod, &s, &st), 87);
    }
}
