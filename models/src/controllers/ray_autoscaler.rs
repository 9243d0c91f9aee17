//! The Ray autoscaler's decisions (Ray's v1 `StandardAutoscaler`, as KubeRay runs it in the
//! head pod), as pure functions over the cluster's Ray nodes and pending resource demands.
//! `crate::sim::ray` carries them out on the main model.
//!
//! Followed: ray-project/ray `python/ray/autoscaler/_private/resource_demand_scheduler.py`
//! (`get_nodes_to_launch`, `get_bin_pack_residual`, `get_nodes_for`,
//! `_resource_based_utilization_scorer`, `_get_concurrent_resource_demand_to_launch`) and
//! `autoscaler.py` (`terminate_nodes_to_enforce_config_constraints`,
//! `_keep_worker_of_node_type`, `_sort_based_on_last_used`), Ray 2.x. One update scales down
//! first, then up, as `StandardAutoscaler._update` does.
//!
//! Deviations (documented in docs/ray.md): no placement groups and no `request_resources()`;
//! the node-availability term of newer Rays' utilisation score (launch failures) is left
//! out (nodes never fail to launch here).

use sim_core::SimTime;

/// Ray's `UPSCALING_INITIAL_NUM_NODES`: pending launches allowed per node type whatever the
/// upscaling speed.
pub const UPSCALING_INITIAL_NUM_NODES: u32 = 5;

/// A Ray node's or a demand's resources (`CPU` in thousandths, `GPU`, `memory` in MiB).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct RayResources {
    pub cpu_milli: u64,
    pub gpus: u32,
    pub memory_mib: u64,
}

impl RayResources {
    /// `_fits`: every resource of `d` is available here.
    pub fn fits(&self, d: &RayResources) -> bool {
        self.cpu_milli >= d.cpu_milli && self.gpus >= d.gpus && self.memory_mib >= d.memory_mib
    }

    /// `_inplace_subtract` (callers check `fits` first; saturates).
    pub fn take(&mut self, d: &RayResources) {
        self.cpu_milli = self.cpu_milli.saturating_sub(d.cpu_milli);
        self.gpus = self.gpus.saturating_sub(d.gpus);
        self.memory_mib = self.memory_mib.saturating_sub(d.memory_mib);
    }

    /// Give back what [`RayResources::take`] took.
    pub fn give(&mut self, d: &RayResources) {
        self.cpu_milli = self.cpu_milli.saturating_add(d.cpu_milli);
        self.gpus = self.gpus.saturating_add(d.gpus);
        self.memory_mib = self.memory_mib.saturating_add(d.memory_mib);
    }

    /// The resources as Ray's dict lists them (`CPU`, `GPU`, `memory` in bytes), with the
    /// amounts in Ray's units; zero amounts are absent from a Ray resource dict.
    fn entries(&self) -> [(u8, f64); 3] {
        [
            (0, self.cpu_milli as f64 / 1000.0),
            (1, f64::from(self.gpus)),
            (2, self.memory_mib as f64 * 1_048_576.0),
        ]
    }

    /// Ray's demand sort key: (number of resource kinds, sum of amounts, items), of which
    /// the bin packing takes the largest first.
    fn sort_key(&self) -> (usize, f64, [(u8, f64); 3]) {
        let e = self.entries();
        let n = e.iter().filter(|(_, v)| *v > 0.0).count();
        (n, e.iter().map(|(_, v)| v).sum(), e)
    }
}

/// A worker group as a Ray node type.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeType {
    /// The worker group's name (ties between equally scored types go to the greater name,
    /// as Python's reverse sort of (score, name) puts it first).
    pub name: String,
    pub resources: RayResources,
    /// `min_workers` (`minReplicas`).
    pub min: u32,
    /// `max_workers` (`maxReplicas`).
    pub max: u32,
}

/// A worker as the autoscaler sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Worker {
    pub node_type: usize,
    /// Connected to the cluster (its pod runs); otherwise pending (launching).
    pub running: bool,
    /// What is free on it (a pending worker: all of its type's resources).
    pub free: RayResources,
    /// Last time it had a resource in use (or joined); `None` while pending.
    pub last_used: Option<SimTime>,
}

/// `get_bin_pack_residual`: place `demands` first-fit on `nodes` (a copy), the demands of
/// most resource kinds first, then the heaviest, then by their items; returns the demands
/// that fit nowhere, in that order.
pub fn bin_pack_residual(nodes: &[RayResources], demands: &[RayResources]) -> Vec<RayResources> {
    let mut nodes = nodes.to_vec();
    let mut sorted: Vec<RayResources> = demands.to_vec();
    sorted.sort_by(|a, b| {
        let (ka, kb) = (a.sort_key(), b.sort_key());
        kb.partial_cmp(&ka).unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut unfulfilled = Vec::new();
    for d in sorted {
        match nodes.iter_mut().find(|n| n.fits(&d)) {
            Some(n) => n.take(&d),
            None => unfulfilled.push(d),
        }
    }
    unfulfilled
}

/// `_resource_based_utilization_scorer`: how well a node of `node` resources would be used
/// by `demands` (fitted in order); `None` if none fits. Compared as Ray compares its tuple:
/// (the node has no GPU or some demand needs one, resource kinds matched, the least
/// utilisation, the mean utilisation), each utilisation weighted by amount × util³.
pub fn utilization_score(
    node: &RayResources,
    demands: &[RayResources],
) -> Option<(bool, u32, f64, f64)> {
    let mut remaining = *node;
    let mut fitted = 0;
    let mut kinds = [false; 3];
    for d in demands {
        for (k, v) in d.entries() {
            if v > 0.0 {
                kinds[k as usize] = true;
            }
        }
        if remaining.fits(d) {
            fitted += 1;
            remaining.take(d);
        }
    }
    if fitted == 0 {
        return None;
    }
    let mut utils = Vec::new();
    let mut matching = 0;
    for ((k, v), (_, left)) in node.entries().into_iter().zip(remaining.entries()) {
        if v < 1.0 {
            continue;
        }
        if kinds[k as usize] {
            matching += 1;
        }
        let util = (v - left) / v;
        utils.push(v * util.powi(3));
    }
    if utils.is_empty() {
        return None;
    }
    // AUTOSCALER_CONSERVE_GPU_NODES (default on): a GPU node for demands without GPUs last.
    let gpu_ok = node.gpus == 0 || demands.iter().any(|d| d.gpus > 0);
    let min = utils.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = utils.iter().sum::<f64>() / utils.len() as f64;
    Some((gpu_ok, matching, min, mean))
}

/// `get_nodes_for`: node types to add, one at a time (the best utilisation score for the
/// demands left; ties to the greater name), each taking the demands it can hold, until the
/// demands are placed, `max_to_add` nodes are added or no type fits; per type at most its
/// `max` counting `existing`.
pub fn nodes_for(
    types: &[NodeType],
    existing: &[u32],
    max_to_add: u32,
    mut demands: Vec<RayResources>,
) -> Vec<u32> {
    let mut add = vec![0u32; types.len()];
    while !demands.is_empty() && add.iter().sum::<u32>() < max_to_add {
        let mut best: Option<((bool, u32, f64, f64), usize)> = None;
        let name = |t: usize| types[t].name.as_str();
        for (t, ty) in types.iter().enumerate() {
            if existing.get(t).copied().unwrap_or(0) + add[t] >= ty.max {
                continue;
            }
            if let Some(s) = utilization_score(&ty.resources, &demands) {
                let better = best.as_ref().is_none_or(|(b, bt)| match s.partial_cmp(b) {
                    Some(std::cmp::Ordering::Greater) => true,
                    Some(std::cmp::Ordering::Equal) => name(t) > name(*bt),
                    _ => false,
                });
                if better {
                    best = Some((s, t));
                }
            }
        }
        let Some((_, t)) = best else { break };
        add[t] += 1;
        let left = bin_pack_residual(&[types[t].resources], &demands);
        if left.len() >= demands.len() {
            break;
        }
        demands = left;
    }
    add
}

/// One autoscaler update's decision.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// Workers to delete (indices into the `workers` given), as scale-down found them.
    pub terminate: Vec<usize>,
    /// Workers to create, per node type.
    pub launch: Vec<u32>,
}

/// One update (`StandardAutoscaler._update`): idle workers beyond their type's minimum are
/// deleted (`last_used` before `now - idle_timeout`; the most recently used are the ones
/// kept for the minimum), then `get_nodes_to_launch` on what is left: the minimum of each
/// type, then the demands that fit on no node (the head's and every worker's free
/// resources, a pending worker counting whole), capped at the cluster's `max_workers`
/// (Σ of the types' `max`) and, per type, by the upscaling speed.
pub fn update(
    types: &[NodeType],
    head_free: RayResources,
    workers: &[Worker],
    demands: &[RayResources],
    now: SimTime,
    idle_timeout: sim_core::SimDuration,
    upscaling_speed: f64,
) -> Decision {
    // Scale-down: most recently used first (pending workers, without a last use, last).
    let mut order: Vec<usize> = (0..workers.len()).collect();
    order.sort_by_key(|&i| {
        (
            workers[i].last_used.is_none(),
            std::cmp::Reverse(workers[i].last_used),
            i,
        )
    });
    let horizon = now.as_nanos().checked_sub(idle_timeout.as_nanos());
    let mut counts = vec![0u32; types.len()];
    let mut terminate = Vec::new();
    for i in order {
        let w = &workers[i];
        counts[w.node_type] += 1;
        let ty = &types[w.node_type];
        if counts[w.node_type] <= ty.min {
            continue;
        }
        if counts[w.node_type] > ty.max {
            terminate.push(i);
            continue;
        }
        let idle = matches!((w.last_used, horizon), (Some(t), Some(h)) if t.as_nanos() < h);
        if idle {
            terminate.push(i);
        }
    }
    terminate.sort_unstable();
    let kept: Vec<&Worker> = workers
        .iter()
        .enumerate()
        .filter(|(i, _)| terminate.binary_search(i).is_err())
        .map(|(_, w)| w)
        .collect();
    // Scale-up.
    let mut count = vec![0u32; types.len()];
    let (mut running, mut pending) = (vec![0u32; types.len()], vec![0u32; types.len()]);
    let mut nodes = vec![head_free];
    for w in &kept {
        count[w.node_type] += 1;
        if w.running {
            running[w.node_type] += 1;
        } else {
            pending[w.node_type] += 1;
        }
        nodes.push(w.free);
    }
    // `_add_min_workers_nodes`.
    let mut min_add = vec![0u32; types.len()];
    for (t, ty) in types.iter().enumerate() {
        let need = ty.min.min(ty.max).saturating_sub(count[t]);
        min_add[t] = need;
        for _ in 0..need {
            nodes.push(ty.resources);
        }
    }
    let unfulfilled = bin_pack_residual(&nodes, demands);
    let total: u32 = count.iter().sum::<u32>() + min_add.iter().sum::<u32>();
    let max_workers: u32 = types.iter().fold(0u32, |a, t| a.saturating_add(t.max));
    // `max_workers + 1 - len(nodes)`, the head among the nodes.
    let max_to_add = max_workers.saturating_add(1).saturating_sub(total + 1);
    let existing: Vec<u32> = count.iter().zip(&min_add).map(|(a, b)| a + b).collect();
    let demand_add = nodes_for(types, &existing, max_to_add, unfulfilled);
    let launch = (0..types.len())
        .map(|t| {
            let want = min_add[t] + demand_add[t];
            if want == 0 {
                return 0;
            }
            // `_get_concurrent_resource_demand_to_launch`: `max(5, int(speed × max(running,
            // 1)))` pending per type, less those pending; the minimum bypasses it.
            let scaled = upscaling_speed * f64::from(running[t].max(1));
            let allowed =
                UPSCALING_INITIAL_NUM_NODES.max(scaled.floor().min(f64::from(u32::MAX)) as u32);
            let upper = allowed.saturating_sub(pending[t]).max(min_add[t]);
            want.min(upper)
        })
        .collect();
    Decision { terminate, launch }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    fn r(cpu: u64, gpus: u32) -> RayResources {
        RayResources {
            cpu_milli: cpu * 1000,
            gpus,
            memory_mib: 0,
        }
    }

    #[test]
    fn bin_packing_places_the_largest_demands_first() {
        // Two nodes of 4 CPUs: [3, 2, 2, 1] fit as 3+1 and 2+2; in arrival order, 1, 2, 2
        // would leave the 3 out.
        let left = bin_pack_residual(&[r(4, 0), r(4, 0)], &[r(1, 0), r(2, 0), r(2, 0), r(3, 0)]);
        assert!(left.is_empty(), "{left:?}");
        let left = bin_pack_residual(&[r(4, 0)], &[r(1, 0), r(2, 0), r(2, 0)]);
        assert_eq!(left, vec![r(1, 0)]);
    }

    #[test]
    fn a_gpu_demand_picks_the_gpu_type_and_a_cpu_demand_avoids_it() {
        let types = vec![
            NodeType {
                name: "cpu".into(),
                resources: r(8, 0),
                min: 0,
                max: 10,
            },
            NodeType {
                name: "gpu".into(),
                resources: r(8, 1),
                min: 0,
                max: 10,
            },
        ];
        assert_eq!(nodes_for(&types, &[0, 0], 10, vec![r(1, 1)]), vec![0, 1]);
        assert_eq!(nodes_for(&types, &[0, 0], 10, vec![r(1, 0)]), vec![1, 0]);
        // Nine 1-CPU tasks: one node takes 8.
        assert_eq!(nodes_for(&types, &[0, 0], 10, vec![r(1, 0); 9]), vec![2, 0]);
    }

    #[test]
    fn idle_workers_go_after_the_timeout_keeping_the_minimum() {
        let types = vec![NodeType {
            name: "g".into(),
            resources: r(1, 1),
            min: 1,
            max: 4,
        }];
        let w = |last: u64| Worker {
            node_type: 0,
            running: true,
            free: r(1, 1),
            last_used: Some(SimTime::ZERO + SimDuration::from_secs(last)),
        };
        let now = SimTime::ZERO + SimDuration::from_secs(100);
        let d = update(
            &types,
            r(0, 0),
            &[w(10), w(40), w(39)],
            &[],
            now,
            SimDuration::from_secs(60),
            1.0,
        );
        // Idle since 10 and 39 (before 40); the one last used at 40 is not idle yet; the
        // most recently used (40) is kept for the minimum anyway, then 39 and 10 go.
        assert_eq!(d.terminate, vec![0, 2]);
        assert_eq!(d.launch, vec![0]);
    }

    #[test]
    fn the_upscaling_speed_caps_pending_launches() {
        let types = vec![NodeType {
            name: "g".into(),
            resources: r(1, 1),
            min: 0,
            max: 20,
        }];
        let d = update(
            &types,
            r(0, 0),
            &[],
            &[r(1, 1); 12],
            SimTime::ZERO,
            SimDuration::from_secs(60),
            1.0,
        );
        assert_eq!(d.launch, vec![5]);
        let d = update(
            &types,
            r(0, 0),
            &[],
            &[r(1, 1); 12],
            SimTime::ZERO,
            SimDuration::from_secs(60),
            1000.0,
        );
        assert_eq!(d.launch, vec![12]);
        let running = Worker {
            node_type: 0,
            running: true,
            free: r(0, 0),
            last_used: Some(SimTime::ZERO),
        };
        // 7 running, speed 1: 7 pending allowed.
        let d = update(
            &types,
            r(0, 0),
            &[running; 7],
            &[r(1, 1); 12],
            SimTime::ZERO,
            SimDuration::from_secs(60),
            1.0,
        );
        assert_eq!(d.launch, vec![7]);
        // max_workers 20 with 7 workers: 13 at most.
        let d = update(
            &types,
            r(0, 0),
            &[running; 7],
            &[r(1, 1); 30],
            SimTime::ZERO,
            SimDuration::from_secs(60),
            1000.0,
        );
        assert_eq!(d.launch, vec![13]);
    }
}
