//! The cluster autoscaler (cluster-autoscaler semantics, reduced to GPUs).
//!
//! **Scale-up.** At each scan, the unschedulable pods (they failed a scheduling attempt)
//! are bin-packed, largest first, onto the free GPUs of Ready nodes (pods the scheduler
//! will place anyway) and of nodes already being provisioned (so a pod waiting for an
//! upcoming node is not counted twice), then onto new template
//! nodes: a pod opens a node in the first pool, in configuration order (a fixed-priority
//! expander), whose accelerator matches, whose nodes have enough GPUs, that is below max
//! and not backed off. Each pool grows by the nodes opened, capped at its max.
//!
//! **Scale-down.** A Ready node is unneeded when its GPU utilisation (requested /
//! allocatable) is below the threshold *and it has no pods*: pods are never moved (a
//! simplification of the drain simulation). A node unneeded at every scan for
//! `scale_down_unneeded_time` is removed, newest first, never taking a pool below its
//! min, and nothing is removed within `scale_down_delay_after_add` of the last scale-up
//! or in a scan that scaled up.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::SimTime;

use super::cluster::{Cluster, NodeState, PodPhase};
use super::config::{ClusterAutoscalerConfig, NodePoolConfig};

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

/// Autoscaler memory between scans.
#[derive(Clone, Debug, Default)]
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
    pub fn scan(
        &mut self,
        now: SimTime,
        cfg: &ClusterAutoscalerConfig,
        pools: &[NodePoolConfig],
        cluster: &Cluster,
    ) -> Vec<CaAction> {
        let mut actions = self.scale_up(now, pools, cluster);
        let scaled_up = actions
            .iter()
            .any(|a| matches!(a, CaAction::ScaleUp { .. }));
        if scaled_up {
            self.last_scale_up = Some(now);
        }
        actions.extend(self.scale_down(now, cfg, pools, cluster, scaled_up));
        actions
    }

    fn scale_up(
        &mut self,
        now: SimTime,
        pools: &[NodePoolConfig],
        cluster: &Cluster,
    ) -> Vec<CaAction> {
        let mut pending: Vec<usize> = cluster
            .pods
            .iter()
            .enumerate()
            .filter(|(_, p)| p.phase == PodPhase::Pending && p.unschedulable)
            .map(|(i, _)| i)
            .collect();
        // Largest first, then creation order.
        pending.sort_by_key(|&i| (std::cmp::Reverse(cluster.pods[i].gpus), i));
        // Free GPUs of Ready nodes (a pod that fits there now will be scheduled: the
        // autoscaler's "filter out schedulable pods") and of upcoming nodes:
        // (accelerator, free, pool if planned in this scan).
        let mut slots: Vec<(String, u32, Option<usize>)> = cluster
            .nodes
            .iter()
            .filter(|n| n.state != NodeState::Removed)
            .map(|n| (n.accelerator.clone(), n.free(), None))
            .collect();
        let mut added: BTreeMap<usize, (u32, u32)> = BTreeMap::new(); // pool → (nodes, pods)
        let mut actions = Vec::new();
        for pod in pending {
            let p = &cluster.pods[pod];
            if let Some(s) = slots
                .iter_mut()
                .find(|(a, free, _)| *a == p.accelerator && *free >= p.gpus)
            {
                s.1 -= p.gpus;
                if let Some(e) = s.2.and_then(|pool| added.get_mut(&pool)) {
                    e.1 += 1;
                }
                continue;
            }
            let pool = pools.iter().enumerate().position(|(i, pc)| {
                pc.accelerator == p.accelerator
                    && pc.gpus_per_node >= p.gpus
                    && cluster.pool_size(i) + added.get(&i).map_or(0, |a| a.0) < pc.max
                    && self.backoff_until.get(&i).is_none_or(|&t| now >= t)
            });
            match pool {
                Some(i) => {
                    let e = added.entry(i).or_insert((0, 0));
                    e.0 += 1;
                    e.1 += 1;
                    slots.push((
                        p.accelerator.clone(),
                        pools[i].gpus_per_node - p.gpus,
                        Some(i),
                    ));
                }
                None => {
                    if self.reported.insert(pod) {
                        actions.push(CaAction::NoScaleUp {
                            pod,
                            reason: no_scale_up_reason(pools, cluster, &p.accelerator, p.gpus),
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

    fn scale_down(
        &mut self,
        now: SimTime,
        cfg: &ClusterAutoscalerConfig,
        pools: &[NodePoolConfig],
        cluster: &Cluster,
        scaled_up: bool,
    ) -> Vec<CaAction> {
        let mut unneeded = BTreeMap::new();
        for (i, n) in cluster.nodes.iter().enumerate() {
            if n.state != NodeState::Ready {
                continue;
            }
            let util = f64::from(n.allocated) / f64::from(n.gpus);
            if util < cfg.scale_down_utilization_threshold && n.pods.is_empty() {
                let since = self.unneeded_since.get(&i).copied().unwrap_or(now);
                unneeded.insert(i, since);
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
        let mut sizes: Vec<u32> = (0..pools.len()).map(|p| cluster.pool_size(p)).collect();
        let mut out = Vec::new();
        // Newest nodes first.
        for (&node, &since) in self.unneeded_since.iter().rev() {
            if now.since(since) < cfg.scale_down_unneeded_time {
                continue;
            }
            let pool = cluster.nodes[node].pool;
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
}

/// Why no pool can host a pod of `gpus` GPUs of `accelerator`.
fn no_scale_up_reason(
    pools: &[NodePoolConfig],
    cluster: &Cluster,
    accelerator: &str,
    gpus: u32,
) -> String {
    let typed: Vec<usize> = (0..pools.len())
        .filter(|&i| pools[i].accelerator == accelerator)
        .collect();
    if typed.is_empty() {
        return format!("no node group has accelerator {accelerator:?}");
    }
    if typed.iter().all(|&i| pools[i].gpus_per_node < gpus) {
        return format!("no node group of {accelerator:?} has {gpus} GPUs per node");
    }
    if typed.iter().all(|&i| cluster.pool_size(i) >= pools[i].max) {
        return format!("every node group of {accelerator:?} is at its max size");
    }
    format!("node groups of {accelerator:?} are backed off")
}
