//! Variants of a scenario for capacity sweeps: the cluster resized or given another GPU
//! model, and the workload shaken (arrivals re-sampled, durations jittered, load scaled)
//! from a seeded stream. Everything here is integer arithmetic on nanoseconds and
//! thousandths, so a variant is the same on every machine.

use models::Workload;
use rand::Rng;
use sim_core::{RngStreams, SimDuration, SimTime};

use crate::scenario::ClusterDef;

/// How a workload is shaken for one seed. Factors are in thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shake {
    /// Each inter-arrival gap is multiplied by a factor drawn uniformly from
    /// `[1 - a, 1 + a]` (thousandths: 200 = ±20 %).
    pub arrival_jitter_milli: u32,
    /// Each job's duration is multiplied by a factor drawn uniformly from `[1 - d, 1 + d]`.
    pub duration_jitter_milli: u32,
    /// Arrival rate multiplier: gaps are divided by it (1000 = the trace's rate, 2000 = twice
    /// as many jobs per hour).
    pub load_milli: u32,
}

impl Default for Shake {
    fn default() -> Self {
        Shake {
            arrival_jitter_milli: 200,
            duration_jitter_milli: 100,
            load_milli: 1000,
        }
    }
}

/// Name of the random stream the shaking draws from (see `sim_core::RngStreams`).
pub const SHAKE_STREAM: &str = "capacity/shake";

/// A uniform factor in `[1000 - j, 1000 + j]` thousandths.
fn factor(rng: &mut impl Rng, jitter_milli: u32) -> u128 {
    let j = u64::from(jitter_milli.min(1000));
    let r = rng.next_u64() % (2 * j + 1);
    u128::from(1000 - j + r)
}

fn scale(ns: u64, num: u128, den: u128) -> u64 {
    u64::try_from(u128::from(ns) * num / den).unwrap_or(u64::MAX)
}

/// The workload for one seed: the first arrival stays put; every following gap between
/// consecutive arrivals (in submission order) is jittered and divided by the load; every
/// duration is jittered (a duration above zero stays above zero). Jobs keep their order.
/// With both jitters 0 and load 1000 the workload is returned unchanged.
pub fn shake(w: &Workload, seed: u64, s: &Shake) -> Workload {
    let mut rng = RngStreams::new(seed).stream(SHAKE_STREAM);
    let load = u128::from(s.load_milli.max(1));
    let mut out = w.clone();
    let mut prev_old: Option<SimTime> = None;
    let mut prev_new = SimTime::ZERO;
    for j in &mut out.jobs {
        // Two draws per job, always, so one job's numbers never depend on another's values.
        let fa = factor(&mut rng, s.arrival_jitter_milli);
        let fd = factor(&mut rng, s.duration_jitter_milli);
        let submit = match prev_old {
            None => j.submit,
            Some(p) => {
                let gap = j.submit.since(p).as_nanos();
                prev_new + SimDuration::from_nanos(scale(gap, fa * 1000, 1000 * load))
            }
        };
        prev_old = Some(j.submit);
        prev_new = submit;
        j.submit = submit;
        let d = j.duration.as_nanos();
        j.duration = SimDuration::from_nanos(if d == 0 { 0 } else { scale(d, fd, 1000).max(1) });
    }
    out
}

/// Why a cluster cannot be resized as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResizeError {
    #[error(
        "the cluster has node_lists or kubernetes_nodes (nodes read from a file), which cannot be resized; use node_pools"
    )]
    NodeLists,
    #[error("the cluster has no node_pools to resize")]
    NoPools,
    #[error("{nodes} nodes cannot be split over {pools} node pools (each keeps at least one node)")]
    TooFew { nodes: u32, pools: usize },
    #[error("no node pool has GPUs, so there is no GPU model to change")]
    NoGpuPool,
}

/// The cluster with `nodes` nodes in total, split over the node pools in proportion to
/// their counts in the scenario (largest remainder, ties to the earlier pool, each pool at
/// least one node), and with `gpu_model` on every pool that has GPUs.
pub fn resize(
    def: &ClusterDef,
    nodes: Option<u32>,
    gpu_model: Option<&str>,
) -> Result<ClusterDef, ResizeError> {
    let mut out = def.clone();
    if let Some(total) = nodes {
        if !def.node_lists.is_empty() || def.kubernetes_nodes.is_some() {
            return Err(ResizeError::NodeLists);
        }
        let pools = def.node_pools.len();
        if pools == 0 {
            return Err(ResizeError::NoPools);
        }
        if (total as usize) < pools {
            return Err(ResizeError::TooFew {
                nodes: total,
                pools,
            });
        }
        let base: u64 = def.node_pools.iter().map(|p| u64::from(p.count)).sum();
        let base = base.max(1);
        let spare = u64::from(total) - pools as u64;
        // Each pool gets one node, then the rest in proportion (largest remainder).
        let mut counts: Vec<(u64, u64)> = def
            .node_pools
            .iter()
            .map(|p| {
                let share = spare * u64::from(p.count);
                (1 + share / base, share % base)
            })
            .collect();
        let given: u64 = counts.iter().map(|c| c.0).sum();
        let mut order: Vec<usize> = (0..pools).collect();
        order.sort_by(|&a, &b| counts[b].1.cmp(&counts[a].1).then(a.cmp(&b)));
        for &i in order.iter().take((u64::from(total) - given) as usize) {
            counts[i].0 += 1;
        }
        for (p, (c, _)) in out.node_pools.iter_mut().zip(counts) {
            p.count = u32::try_from(c).unwrap_or(u32::MAX);
        }
    }
    if let Some(m) = gpu_model {
        let mut any = false;
        for p in out.node_pools.iter_mut().filter(|p| p.gpus > 0) {
            p.gpu_model = Some(m.to_string());
            any = true;
        }
        if !any {
            return Err(ResizeError::NoGpuPool);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::NodePool;

    fn pool(name: &str, count: u32) -> NodePool {
        NodePool {
            taints: Vec::new(),
            name: name.into(),
            count,
            cpu_milli: 1000,
            memory_mib: 1024,
            gpus: 8,
            gpu_model: Some("A100".into()),
            gpu_memory_mib: 0,
            nodes_per_rack: 4,
            labels: Default::default(),
            autoscale: None,
        }
    }

    fn def(counts: &[u32]) -> ClusterDef {
        ClusterDef {
            node_pools: counts
                .iter()
                .enumerate()
                .map(|(i, &c)| pool(&format!("p{i}"), c))
                .collect(),
            node_lists: vec![],
            kubernetes_nodes: None,
        }
    }

    fn counts(d: &ClusterDef) -> Vec<u32> {
        d.node_pools.iter().map(|p| p.count).collect()
    }

    #[test]
    fn resize_splits_in_proportion() {
        assert_eq!(counts(&resize(&def(&[16]), Some(64), None).unwrap()), [64]);
        assert_eq!(
            counts(&resize(&def(&[3, 1]), Some(8), None).unwrap()),
            [6, 2]
        );
        assert_eq!(
            counts(&resize(&def(&[1, 1, 1]), Some(4), None).unwrap()),
            [2, 1, 1]
        );
        assert_eq!(
            counts(&resize(&def(&[100, 1]), Some(2), None).unwrap()),
            [1, 1]
        );
        for total in 2..200 {
            let d = resize(&def(&[5, 2]), Some(total), None).unwrap();
            assert_eq!(counts(&d).iter().sum::<u32>(), total);
        }
        assert_eq!(
            resize(&def(&[1, 1, 1]), Some(2), None).err(),
            Some(ResizeError::TooFew { nodes: 2, pools: 3 })
        );
        let m = resize(&def(&[2]), None, Some("H100")).unwrap();
        assert_eq!(m.node_pools[0].gpu_model.as_deref(), Some("H100"));
    }

    fn workload() -> Workload {
        use models::{GpuRequest, JobSpec, PodRequest};
        let pod = PodRequest {
            constraints: None,
            cpu_milli: 0,
            memory_mib: 0,
            gpu: GpuRequest::from_count_and_milli(1, 1000).unwrap(),
            gpu_models: vec![],
        };
        Workload {
            jobs: (0..50)
                .map(|i| JobSpec {
                    id: format!("j{i}"),
                    submit: SimTime::from_secs(100 + 60 * i),
                    duration: SimDuration::from_secs(600),
                    pods: vec![pod.clone()],
                    priority: 0,
                    queue: None,
                })
                .collect(),
        }
    }

    #[test]
    fn shaking_is_seeded_bounded_and_keeps_order() {
        let w = workload();
        let s = Shake::default();
        let a = shake(&w, 1, &s);
        assert_eq!(a, shake(&w, 1, &s), "same seed, same workload");
        assert_ne!(a, shake(&w, 2, &s), "another seed shakes differently");
        assert_eq!(a.jobs[0].submit, w.jobs[0].submit);
        for (x, y) in a.jobs.windows(2).zip(w.jobs.windows(2)) {
            let (g, g0) = (
                x[1].submit.since(x[0].submit),
                y[1].submit.since(y[0].submit),
            );
            assert!(
                g.as_nanos() >= g0.as_nanos() * 8 / 10 && g.as_nanos() <= g0.as_nanos() * 12 / 10
            );
        }
        for j in &a.jobs {
            let d = j.duration.as_secs_f64();
            assert!((540.0..=660.0).contains(&d), "{d}");
        }
        let none = Shake {
            arrival_jitter_milli: 0,
            duration_jitter_milli: 0,
            load_milli: 1000,
        };
        assert_eq!(shake(&w, 9, &none), w);
        let double = shake(
            &w,
            9,
            &Shake {
                load_milli: 2000,
                ..none
            },
        );
        assert_eq!(double.jobs[49].submit, SimTime::from_secs(100 + 30 * 49));
    }
}
