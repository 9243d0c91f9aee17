//! The cluster autoscaler's decisions (cluster-autoscaler semantics, flags and defaults of
//! kubernetes/autoscaler `cluster-autoscaler` 1.3x, see `docs/platform.md`), as a pure
//! function over a [`CaView`] of the cluster. The main model implements the view
//! (`sim/autoscaler.rs`) and calls [`CaState::scan`].
//!
//! **Scale-up.** At each scan, the unschedulable pods (they failed a scheduling attempt),
//! in the view's order (largest first), are bin-packed onto the free capacity of the nodes
//! that exist (pods the scheduler will place anyway: cluster-autoscaler's "filter out
//! schedulable pods") and of nodes already being provisioned (so a pod waiting for an
//! upcoming node is not counted twice), then onto new template nodes: a pod opens a node
//! in the first pool, in configuration order (a fixed-priority expander), whose empty node
//! can hold it, that is below max and not backed off. Each pool grows by the nodes opened,
//! capped at its max. Pods are simulated one by one, as upstream does: a gang's pods are
//! not treated as a unit.
//!
//! **Scale-down.** A Ready node is unneeded when its utilisation is below the threshold
//! *and it has no pods*: pods are never moved (a simplification of the drain simulation).
//! A node unneeded at every scan for `scale_down_unneeded_time` is removed, highest node
//! index (newest) first, never taking a pool below its min, and nothing is removed within
//! `scale_down_delay_after_add` of the last scale-up or in a scan that scaled up.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sim_core::SimTime;

use crate::platform::ClusterAutoscalerConfig;

/// Size limits of one node group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolLimits {
    pub min: u32,
    pub max: u32,
}

/// A Ready node of a node group, as scale-down sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadyNode {
    /// The view's node id.
    pub node: usize,
    /// Node group (index into [`CaView::pools`]).
    pub pool: usize,
    /// Requested / allocatable of the resource that counts (GPUs on GPU nodes).
    pub utilization: f64,
    /// No pod is bound to it.
    pub empty: bool,
}

/// What the autoscaler reads of a cluster.
pub trait CaView {
    /// What one pending pod requests.
    type Req;
    /// The free capacity of one node (existing, upcoming or planned).
    type Free;
    /// Pending pods that failed a scheduling attempt, in the estimator's order (largest
    /// first), each with an id stable over the run.
    fn unschedulable(&self) -> Vec<(usize, Self::Req)>;
    /// Free capacity of every node that exists or is being provisioned, in node order.
    fn free_slots(&self) -> Vec<Self::Free>;
    /// An empty node of node group `pool`.
    fn template(&self, pool: usize) -> Self::Free;
    /// Take `req` from `free` if it fits there (leaving `free` unchanged otherwise).
    fn try_take(&self, free: &mut Self::Free, req: &Self::Req) -> bool;
    /// The node groups, in expander priority order.
    fn pools(&self) -> &[PoolLimits];
    /// Nodes of `pool` that count toward its size (being provisioned or present).
    fn pool_size(&self, pool: usize) -> u32;
    /// Ready nodes of the node groups, in node order.
    fn ready_nodes(&self) -> Vec<ReadyNode>;
    /// Why no node group can host `req` (every group refused it); `planned` holds the
    /// nodes this scan has already opened per pool.
    fn no_scale_up_reason(&self, req: &Self::Req, planned: &BTreeMap<usize, u32>) -> String;
}

/// What a scan decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaAction {
    /// Grow `pool` by `add` nodes for `pods` pending pods.
    ScaleUp { pool: usize, add: u32, pods: u32 },
    /// No pool can host this pod (reported once per pod).
    NoScaleUp { pod: usize, reason: String },
    /// Remove this empty node; it was unneeded since `since`.
    Remove { node: usize, since: SimTime },
}

/// Autoscaler memory between scans. Plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaState {
    pub last_scale_up: Option<SimTime>,
    /// Ready node → first scan at which it was (continuously) unneeded.
    pub unneeded_since: BTreeMap<usize, SimTime>,
    /// Pool → end of its back-off after a provisioning timeout.
    pub backoff_until: BTreeMap<usize, SimTime>,
    reported: BTreeSet<usize>,
}

impl CaState {
    /// One scan at `now`.
    pub fn scan<V: CaView>(
        &mut self,
        now: SimTime,
        cfg: &ClusterAutoscalerConfig,
        view: &V,
    ) -> Vec<CaAction> {
        let mut actions = self.scale_up(now, view);
        let scaled_up = actions
            .iter()
            .any(|a| matches!(a, CaAction::ScaleUp { .. }));
        if scaled_up {
            self.last_scale_up = Some(now);
        }
        actions.extend(self.scale_down(now, cfg, view, scaled_up));
        actions
    }

    fn scale_up<V: CaView>(&mut self, now: SimTime, view: &V) -> Vec<CaAction> {
        let pools = view.pools();
        // Free capacity of present and upcoming nodes, with the pool if planned in this
        // scan.
        let mut slots: Vec<(V::Free, Option<usize>)> =
            view.free_slots().into_iter().map(|f| (f, None)).collect();
        let mut added: BTreeMap<usize, (u32, u32)> = BTreeMap::new(); // pool → (nodes, pods)
        let mut actions = Vec::new();
        for (pod, req) in view.unschedulable() {
            if let Some(s) = slots.iter_mut().find_map(|s| {
                let (free, pool) = s;
                view.try_take(free, &req).then_some(*pool)
            }) {
                if let Some(e) = s.and_then(|pool| added.get_mut(&pool)) {
                    e.1 += 1;
                }
                continue;
            }
            let opened = (0..pools.len()).find_map(|i| {
                if view.pool_size(i) + added.get(&i).map_or(0, |a| a.0) >= pools[i].max
                    || self.backoff_until.get(&i).is_some_and(|&t| now < t)
                {
                    return None;
                }
                let mut free = view.template(i);
                view.try_take(&mut free, &req).then_some((i, free))
            });
            match opened {
                Some((i, free)) => {
                    let e = added.entry(i).or_insert((0, 0));
                    e.0 += 1;
                    e.1 += 1;
                    slots.push((free, Some(i)));
                }
                None => {
                    if self.reported.insert(pod) {
                        let planned = added.iter().map(|(&p, &(n, _))| (p, n)).collect();
                        actions.push(CaAction::NoScaleUp {
                            pod,
                            reason: view.no_scale_up_reason(&req, &planned),
                        });
                    }
                }
            }
        }
        for (pool, (add, pods)) in added {
            actions.push(CaAction::ScaleUp { pool, add, pods });
        }
        actions
    }

    fn scale_down<V: CaView>(
        &mut self,
        now: SimTime,
        cfg: &ClusterAutoscalerConfig,
        view: &V,
        scaled_up: bool,
    ) -> Vec<CaAction> {
        let pools = view.pools();
        let mut unneeded = BTreeMap::new();
        let mut node_pool = BTreeMap::new();
        for n in view.ready_nodes() {
            if n.utilization < cfg.scale_down_utilization_threshold && n.empty {
                let since = self.unneeded_since.get(&n.node).copied().unwrap_or(now);
                unneeded.insert(n.node, since);
                node_pool.insert(n.node, n.pool);
            }
        }
        self.unneeded_since = unneeded;
        if scaled_up
            || self
                .last_scale_up
                .is_some_and(|t| now < t + cfg.scale_down_delay_after_add)
        {
            return Vec::new();
        }
        let mut sizes: Vec<u32> = (0..pools.len()).map(|p| view.pool_size(p)).collect();
        let mut out = Vec::new();
        // Newest nodes first.
        for (&node, &since) in self.unneeded_since.iter().rev() {
            if now.since(since) < cfg.scale_down_unneeded_time {
                continue;
            }
            let pool = node_pool[&node];
            if sizes[pool] > pools[pool].min {
                sizes[pool] -= 1;
                out.push(CaAction::Remove { node, since });
            }
        }
        for a in &out {
            if let CaAction::Remove { node, .. } = a {
                self.unneeded_since.remove(node);
            }
        }
        out
    }

    /// Some Ready node is counting down to its removal: unneeded, in a pool above its min.
    pub fn removal_pending<V: CaView>(&self, view: &V) -> bool {
        let pools = view.pools();
        view.ready_nodes().iter().any(|n| {
            self.unneeded_since.contains_key(&n.node) && view.pool_size(n.pool) > pools[n.pool].min
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    /// GPUs only: nodes are (pool, free, empty), templates are GPUs per node.
    struct Toy {
        limits: Vec<PoolLimits>,
        per_node: Vec<u32>,
        nodes: Vec<(usize, u32, bool)>,
        pending: Vec<u32>,
    }

    impl CaView for Toy {
        type Req = u32;
        type Free = u32;
        fn unschedulable(&self) -> Vec<(usize, u32)> {
            self.pending.iter().copied().enumerate().collect()
        }
        fn free_slots(&self) -> Vec<u32> {
            self.nodes.iter().map(|n| n.1).collect()
        }
        fn template(&self, pool: usize) -> u32 {
            self.per_node[pool]
        }
        fn try_take(&self, free: &mut u32, req: &u32) -> bool {
            let ok = *free >= *req;
            if ok {
                *free -= req;
            }
            ok
        }
        fn pools(&self) -> &[PoolLimits] {
            &self.limits
        }
        fn pool_size(&self, pool: usize) -> u32 {
            self.nodes.iter().filter(|n| n.0 == pool).count() as u32
        }
        fn ready_nodes(&self) -> Vec<ReadyNode> {
            (self.nodes.iter().enumerate())
                .map(|(i, n)| ReadyNode {
                    node: i,
                    pool: n.0,
                    utilization: if n.2 { 0.0 } else { 1.0 },
                    empty: n.2,
                })
                .collect()
        }
        fn no_scale_up_reason(&self, _: &u32, planned: &BTreeMap<usize, u32>) -> String {
            format!("planned {planned:?}")
        }
    }

    /// Pools A (4 GPUs/node, max 2) and B (8 GPUs/node, max 5); one A node with 2 GPUs
    /// free; pods of 8, 4, 2, 2 GPUs. 8 → only B's template holds it: new B node. 4 → the
    /// A node has 2, the planned B node 0: new A node (A now 2 = max). 2 → fits the present
    /// A node (filtered out: the scheduler will place it). 2 → nothing left; A is at max
    /// with the planned node, so a second B node. Scale-ups: A +1 (1 pod), B +2 (2 pods).
    #[test]
    fn bin_packs_onto_present_then_planned_then_new_nodes_in_pool_order() {
        let toy = Toy {
            limits: vec![PoolLimits { min: 0, max: 2 }, PoolLimits { min: 0, max: 5 }],
            per_node: vec![4, 8],
            nodes: vec![(0, 2, false)],
            pending: vec![8, 4, 2, 2],
        };
        let cfg = ClusterAutoscalerConfig::default();
        let mut st = CaState::default();
        let now = SimTime::from_secs(10);
        assert_eq!(
            st.scan(now, &cfg, &toy),
            vec![
                CaAction::ScaleUp {
                    pool: 0,
                    add: 1,
                    pods: 1
                },
                CaAction::ScaleUp {
                    pool: 1,
                    add: 2,
                    pods: 2
                },
            ]
        );
        assert_eq!(st.last_scale_up, Some(now));
    }

    /// Three empty Ready nodes of one pool (min 1), unneeded from 0 s: at 10 min (the
    /// unneeded time; no scale-up ever) the two highest indices go, the lowest stays for
    /// min; at 9 min 59 s nothing goes. A pod of 16 GPUs no template holds is reported once
    /// with the pools' planned additions (none).
    #[test]
    fn removes_newest_first_down_to_min_after_the_unneeded_time() {
        let toy = Toy {
            limits: vec![PoolLimits { min: 1, max: 3 }],
            per_node: vec![8],
            nodes: vec![(0, 8, true), (0, 8, true), (0, 8, true)],
            pending: vec![16],
        };
        let cfg = ClusterAutoscalerConfig::default();
        let mut st = CaState::default();
        let first = st.scan(SimTime::ZERO, &cfg, &toy);
        assert_eq!(
            first,
            vec![CaAction::NoScaleUp {
                pod: 0,
                reason: "planned {}".into()
            }]
        );
        let almost = SimTime::ZERO + SimDuration::from_secs(599);
        assert_eq!(st.scan(almost, &cfg, &toy), vec![]);
        let at = SimTime::ZERO + SimDuration::from_secs(600);
        assert_eq!(
            st.scan(at, &cfg, &toy),
            vec![
                CaAction::Remove {
                    node: 2,
                    since: SimTime::ZERO
                },
                CaAction::Remove {
                    node: 1,
                    since: SimTime::ZERO
                },
            ]
        );
    }
}
