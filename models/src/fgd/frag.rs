//! FGD's target workload (`GetTypicalPods`) and node fragmentation measure
//! (`NodeGpuShareFragAmount` + `FragAmountSumExceptQ3`), with the artefact's floating-point
//! order: seven bucket totals accumulated in target-key order, then summed in bucket order.

use std::collections::BTreeMap;

use super::openb::PodRow;

/// (CPU milli, per-GPU milli, GPU count, GPU spec): `simontype.PodResource`.
pub type Key<'a> = (i64, i64, i64, &'a str);

/// `typicalPodsConfig.podPopularityThreshold` of the published runs (percent).
pub const POPULARITY_THRESHOLD: f64 = 95.0;

/// One target pod shape with its weight.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetKey {
    pub cpu: i64,
    pub milli: i64,
    pub num: i64,
    pub spec: String,
    /// Whether the shape may run on each GPU model (indexed by model id).
    pub access: Vec<bool>,
    pub weight: f64,
}

/// The target workload: keys in the artefact's order (count descending, then key descending).
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    pub keys: Vec<TargetKey>,
    /// Number of distinct shapes before the cut.
    pub shapes: usize,
}

/// `IsNodeAccessibleToPod`: an empty spec matches any model; otherwise one of the
/// `|`-separated entries must equal the node's model.
pub fn spec_allows(spec: &str, model: &str) -> bool {
    spec.is_empty() || spec.split('|').any(|s| s == model)
}

impl Targets {
    /// `GetTypicalPods` with CPU-only pods included, threshold 95 %, step 1, no GPU weight.
    pub fn from_pods(pods: &[PodRow], models: &[String]) -> Targets {
        Targets::from_requests(
            pods.iter()
                .map(|p| (p.cpu_milli, p.gpu_milli, p.num_gpu, p.gpu_spec.as_str())),
            models,
        )
    }

    /// `GetTypicalPods` over any pod list given as (CPU milli, per-GPU milli, GPU count,
    /// GPU spec) per pod: the artefact's pod list or the main model's workload
    /// (`crate::scheduler::fgd`).
    pub fn from_requests<'a>(
        pods: impl IntoIterator<Item = Key<'a>>,
        models: &[String],
    ) -> Targets {
        let mut counts: BTreeMap<Key<'_>, f64> = BTreeMap::new();
        let mut n = 0usize;
        for k in pods {
            *counts.entry(k).or_insert(0.0) += 1.0;
            n += 1;
        }
        let total = n as f64;
        let mut list: Vec<(Key<'_>, f64)> = counts.into_iter().collect();
        // Descending by count, then by key (CPU, milli, count, spec bytes).
        list.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        let shapes = list.len();
        let expected = POPULARITY_THRESHOLD * total / 100.0;
        let mut cum = 0.0;
        let mut i = 0;
        let mut weights: Vec<f64> = Vec::new();
        while cum < expected && i < list.len() {
            let n = list[i].1;
            cum += n;
            weights.push(n / total);
            i += 1;
        }
        if i < list.len() {
            for w in &mut weights {
                *w /= cum / total;
            }
        }
        let keys = list
            .iter()
            .zip(weights)
            .map(|(((cpu, milli, num, spec), _), weight)| TargetKey {
                cpu: *cpu,
                milli: *milli,
                num: *num,
                spec: spec.to_string(),
                access: models.iter().map(|m| spec_allows(spec, m)).collect(),
                weight,
            })
            .collect();
        Targets { keys, shapes }
    }

    /// Fragmentation amount F of a node (milli-GPU): Σ of all buckets except Q3.
    pub fn node_frag(&self, cpu_left: i64, gpus: &[i64], model: usize) -> f64 {
        self.node_buckets(cpu_left, gpus, model).except_q3()
    }

    /// The seven bucket totals (Q1, Q2, Q3, Q4, XL, XR, NA).
    pub fn node_buckets(&self, cpu_left: i64, gpus: &[i64], model: usize) -> Buckets {
        const Q1: usize = 0;
        const Q2: usize = 1;
        const Q3: usize = 2;
        const Q4: usize = 3;
        const XL: usize = 4;
        const XR: usize = 5;
        const NA: usize = 6;
        let gl: i64 = gpus.iter().sum();
        let mut b = [0.0f64; 7];
        for k in &self.keys {
            let w = k.weight;
            let cpu_ok = cpu_left >= k.cpu;
            let kind = if k.milli == 0 {
                if cpu_ok { XL } else { XR }
            } else if !k.access[model] {
                NA
            } else {
                let mut need = k.num;
                let mut host = false;
                for &g in gpus {
                    if g >= k.milli {
                        need -= 1;
                        if need <= 0 {
                            host = true;
                            break;
                        }
                    }
                }
                match (host, cpu_ok) {
                    (true, true) => Q3,
                    (true, false) => Q4,
                    (false, true) => Q2,
                    (false, false) => Q1,
                }
            };
            if kind == Q3 {
                let frag: i64 = gpus.iter().filter(|&&g| g < k.milli).sum();
                b[Q2] += w * frag as f64;
                b[Q3] += w * (gl - frag) as f64;
            } else {
                b[kind] += w * gl as f64;
            }
        }
        Buckets(b)
    }
}

/// The seven fragmentation buckets of one node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Buckets(pub [f64; 7]);

impl Buckets {
    /// `FragAmountSumExceptQ3`.
    pub fn except_q3(&self) -> f64 {
        let mut out = 0.0;
        for (i, v) in self.0.iter().enumerate() {
            if i != 2 {
                out += v;
            }
        }
        out
    }
}
