//! The six placement policies of the artefact and their per-node scores.

use std::fmt;
use std::str::FromStr;

use super::cluster::{MAX_GPUS, MILLI, NodeState, Shape, best_fit_gpus, exclusive_gpus};
use super::error::FgdError;
use super::frag::Targets;

/// `MaxSpecCpu` / `MaxSpecGpu` of `open-gpu-share/utils/const.go`.
pub const MAX_SPEC_CPU: f64 = 128_000.0;
pub const MAX_SPEC_GPU: f64 = 8_000.0;
const MAX_SPEC_GPU_I: i64 = 8_000;
/// `framework.MaxNodeScore`.
pub const MAX_NODE_SCORE: i64 = 100;

/// A placement policy of the FGD artefact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Policy {
    Random,
    DotProd,
    GpuClustering,
    GpuPacking,
    BestFit,
    Fgd,
}

impl Policy {
    pub const ALL: [Policy; 6] = [
        Policy::Random,
        Policy::DotProd,
        Policy::GpuClustering,
        Policy::GpuPacking,
        Policy::BestFit,
        Policy::Fgd,
    ];

    /// Short name: `random`, `dotprod`, `gpuclustering`, `gpupacking`, `bestfit`, `fgd`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Random => "random",
            Policy::DotProd => "dotprod",
            Policy::GpuClustering => "gpuclustering",
            Policy::GpuPacking => "gpupacking",
            Policy::BestFit => "bestfit",
            Policy::Fgd => "fgd",
        }
    }

    /// The artefact's `sc_policy` directory name, e.g. `06-FGD`.
    pub fn artefact_name(self) -> &'static str {
        match self {
            Policy::Random => "01-Random",
            Policy::DotProd => "02-DotProd",
            Policy::GpuClustering => "03-GpuClustering",
            Policy::GpuPacking => "04-GpuPacking",
            Policy::BestFit => "05-BestFit",
            Policy::Fgd => "06-FGD",
        }
    }

    /// Whether the policy draws random numbers while scheduling.
    pub fn is_random(self) -> bool {
        self == Policy::Random
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Policy {
    type Err = FgdError;

    /// Accepts the short names and the artefact names, case-insensitively.
    fn from_str(s: &str) -> Result<Policy, FgdError> {
        let l = s.trim().to_ascii_lowercase();
        Policy::ALL
            .into_iter()
            .find(|p| p.name() == l || p.artefact_name().to_ascii_lowercase() == l)
            .ok_or_else(|| FgdError::UnknownPolicy(s.to_string()))
    }
}

/// A node's score for a pod, with the GPU chosen by FGD for sharing pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score {
    pub score: i64,
    /// FGD: the GPU index for a sharing pod (`u8::MAX` when not applicable).
    pub gpu: u8,
}

/// Score one feasible node (before any normalisation).
pub fn score(policy: Policy, shape: &Shape, n: &NodeState, targets: &Targets) -> Score {
    let s = match policy {
        Policy::Random => 0,
        Policy::DotProd => dot_product(shape, n),
        Policy::GpuClustering => clustering(shape, n),
        Policy::GpuPacking => packing(shape, n),
        Policy::BestFit => best_fit_raw(shape, n),
        Policy::Fgd => return fgd(shape, n, targets),
    };
    Score {
        score: s,
        gpu: u8::MAX,
    }
}

/// The GPUs a pod takes on the node it was bound to (Reserve), given that node's [`score`]:
/// FGD puts a sharing pod on the GPU its score chose (the least fragmenting one) and
/// whole-GPU pods on the lowest-index free GPUs (`AllocateExclusiveGpuId`); Random does
/// the same for whole GPUs, and its draw for a sharing pod is the caller's (it needs the
/// RNG: `None` here); the other policies take the best-fit GPU (`best` method). The FGD
/// reproduction (`sched`) and the main model's FGD placement (`crate::scheduler::fgd`)
/// both call this.
pub fn choose_gpus(policy: Policy, shape: &Shape, n: &NodeState, s: Score) -> Option<Vec<usize>> {
    match policy {
        Policy::Fgd if shape.is_share() => {
            (usize::from(s.gpu) < n.n_gpu).then(|| vec![usize::from(s.gpu)])
        }
        Policy::Random if shape.is_share() => None,
        Policy::Fgd | Policy::Random => Some(exclusive_gpus(shape, n)),
        _ => Some(best_fit_gpus(shape, n)),
    }
}

/// `calculateDotProductScore` with `merge` + `max`.
fn dot_product(shape: &Shape, n: &NodeState) -> i64 {
    let node = [
        n.cpu_left as f64 / MAX_SPEC_CPU,
        n.gpu_left() as f64 / MAX_SPEC_GPU,
    ];
    let pod = [
        shape.cpu as f64 / MAX_SPEC_CPU,
        shape.total_milli() as f64 / MAX_SPEC_GPU,
    ];
    let mut ip = 0.0;
    for i in 0..2 {
        ip += node[i] * pod[i];
    }
    let cur = 1.0 - ip / 2.0;
    (MAX_NODE_SCORE as f64 * cur) as i64
}

/// `GpuClusteringScorePlugin.Score`.
fn clustering(shape: &Shape, n: &NodeState) -> i64 {
    let Some(tag) = shape.tag() else {
        return 0;
    };
    let base = MAX_NODE_SCORE / 4 * (MAX_SPEC_GPU_I - n.gpu_left()) / MAX_SPEC_GPU_I;
    let distinct = n.tags.iter().filter(|&&c| c > 0).count();
    if n.tags[tag] > 0 {
        if distinct == 1 {
            base + MAX_NODE_SCORE * 3 / 4
        } else {
            base + MAX_NODE_SCORE * 2 / 4
        }
    } else if distinct == 0 {
        base + MAX_NODE_SCORE / 4
    } else {
        base
    }
}

/// GPU indices in ascending free milli, stable by index (`SortedMilliGpuLeftIndexList(true)`).
fn ascending(n: &NodeState) -> ([usize; MAX_GPUS], usize) {
    let mut idx = [0usize; MAX_GPUS];
    for (i, v) in idx.iter_mut().enumerate() {
        *v = i;
    }
    let g = n.n_gpu;
    idx[..g].sort_by_key(|&i| n.gpus[i]);
    (idx, g)
}

/// `getPackingScore`.
fn packing(shape: &Shape, n: &NodeState) -> i64 {
    if shape.milli <= 0 {
        return 0;
    }
    let fully_free = n.gpus().iter().filter(|&&g| g == MILLI).count() as i64;
    if fully_free == n.n_gpu as i64 {
        return (MAX_NODE_SCORE / 3 - fully_free).max(fully_free);
    }
    let (idx, g) = ascending(n);
    let mut req = shape.num;
    let mut use_free = 0;
    let mut used = [0usize; MAX_GPUS];
    let mut nu = 0;
    for &i in &idx[..g] {
        if req == 0 {
            break;
        }
        let left = n.gpus[i];
        if shape.milli <= left {
            req -= 1;
            used[nu] = i;
            nu += 1;
            if left == MILLI {
                use_free += 1;
            }
        }
    }
    if req != 0 {
        return 0;
    }
    if use_free > 0 {
        return (MAX_NODE_SCORE / 2 - use_free).max(MAX_NODE_SCORE / 3);
    }
    let ratio: i64 = used[..nu].iter().map(|&i| n.gpus[i] * 100 / MILLI).sum();
    (MAX_NODE_SCORE - ratio / 10).max(MAX_NODE_SCORE / 2)
}

/// `getBestFitScore` (normalised over the feasible nodes by the caller).
fn best_fit_raw(shape: &Shape, n: &NodeState) -> i64 {
    let free = [n.cpu_left as f64, n.gpu_left() as f64];
    let req = [shape.cpu as f64, shape.total_milli() as f64];
    let max = [MAX_SPEC_CPU, MAX_SPEC_GPU];
    let w = [0.5, 0.5];
    let mut s = 0.0;
    for i in 0..2 {
        s += (free[i] - req[i]) / max[i] * w[i];
    }
    ((1.0 - s) * MAX_NODE_SCORE as f64) as i64
}

/// `NormalizeScore` of one raw score given the feasible nodes' lowest and highest.
pub fn normalize(raw: i64, lo: i64, hi: i64) -> i64 {
    if hi == lo {
        0
    } else {
        (raw - lo) * MAX_NODE_SCORE / (hi - lo)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn frag_score(before: f64, after: f64) -> i64 {
    (sigmoid((before - after) / 1000.0) * MAX_NODE_SCORE as f64) as i64
}

/// `calculateGpuShareFragExtendScore`.
fn fgd(shape: &Shape, n: &NodeState, t: &Targets) -> Score {
    let before = t.node_frag(n.cpu_left, n.gpus(), n.model);
    let cpu_after = n.cpu_left - shape.cpu;
    if shape.is_share() {
        let (mut score, mut gpu) = (0, u8::MAX);
        let mut g = n.gpus;
        for i in 0..n.n_gpu {
            if n.gpus[i] >= shape.milli {
                g[i] -= shape.milli;
                let s = frag_score(before, t.node_frag(cpu_after, &g[..n.n_gpu], n.model));
                g[i] += shape.milli;
                if gpu == u8::MAX || s > score {
                    score = s;
                    gpu = i as u8;
                }
            }
        }
        Score { score, gpu }
    } else {
        // `NodeResource.Sub`: take the GPUs in ascending free order that can hold it.
        let mut g = n.gpus;
        if shape.num > 0 {
            let (idx, ng) = ascending(n);
            let mut req = shape.num;
            for &i in &idx[..ng] {
                if shape.milli <= g[i] {
                    req -= 1;
                    g[i] -= shape.milli;
                    if req <= 0 {
                        break;
                    }
                }
            }
        }
        let after = t.node_frag(cpu_after, &g[..n.n_gpu], n.model);
        Score {
            score: frag_score(before, after),
            gpu: u8::MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        for p in Policy::ALL {
            assert_eq!(p.name().parse::<Policy>().unwrap(), p);
            assert_eq!(p.artefact_name().parse::<Policy>().unwrap(), p);
        }
        assert_eq!("FGD".parse::<Policy>().unwrap(), Policy::Fgd);
        assert!("tetris".parse::<Policy>().is_err());
    }
}
