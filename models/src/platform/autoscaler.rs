//! The platform model's view of its cluster for the cluster autoscaler. The decisions
//! themselves are [`crate::controllers::cluster_autoscaler`], shared with the main model;
//! here, reduced to GPUs: a pod requests GPUs of one accelerator, a node's free capacity
//! is its accelerator and free GPUs, utilisation is requested / allocatable GPUs.

use std::collections::BTreeMap;

use super::cluster::{Cluster, NodeState, PodPhase};
use super::config::NodePoolConfig;
use crate::controllers::cluster_autoscaler::{CaView, PoolLimits, ReadyNode};

pub use crate::controllers::cluster_autoscaler::{CaAction, CaState};

/// The platform cluster as the autoscaler sees it.
pub(crate) struct PlatformCaView<'a> {
    pub pools: &'a [NodePoolConfig],
    pub limits: Vec<PoolLimits>,
    pub cluster: &'a Cluster,
}

impl<'a> PlatformCaView<'a> {
    pub fn new(pools: &'a [NodePoolConfig], cluster: &'a Cluster) -> Self {
        PlatformCaView {
            pools,
            limits: pools
                .iter()
                .map(|p| PoolLimits {
                    min: p.min,
                    max: p.max,
                })
                .collect(),
            cluster,
        }
    }
}

impl CaView for PlatformCaView<'_> {
    /// (accelerator, GPUs).
    type Req = (String, u32);
    /// (accelerator, free GPUs).
    type Free = (String, u32);

    fn unschedulable(&self) -> Vec<(usize, Self::Req)> {
        let mut pending: Vec<usize> = self
            .cluster
            .pods
            .iter()
            .enumerate()
            .filter(|(_, p)| p.phase == PodPhase::Pending && p.unschedulable)
            .map(|(i, _)| i)
            .collect();
        // Largest first, then creation order.
        pending.sort_by_key(|&i| (std::cmp::Reverse(self.cluster.pods[i].gpus), i));
        pending
            .into_iter()
            .map(|i| {
                let p = &self.cluster.pods[i];
                (i, (p.accelerator.clone(), p.gpus))
            })
            .collect()
    }

    fn free_slots(&self) -> Vec<Self::Free> {
        self.cluster
            .nodes
            .iter()
            .filter(|n| n.state != NodeState::Removed)
            .map(|n| (n.accelerator.clone(), n.free()))
            .collect()
    }

    fn template(&self, pool: usize) -> Self::Free {
        let p = &self.pools[pool];
        (p.accelerator.clone(), p.gpus_per_node)
    }

    fn try_take(&self, free: &mut Self::Free, req: &Self::Req) -> bool {
        if free.0 == req.0 && free.1 >= req.1 {
            free.1 -= req.1;
            true
        } else {
            false
        }
    }

    fn pools(&self) -> &[PoolLimits] {
        &self.limits
    }

    fn pool_size(&self, pool: usize) -> u32 {
        self.cluster.pool_size(pool)
    }

    fn ready_nodes(&self) -> Vec<ReadyNode> {
        self.cluster
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.state == NodeState::Ready)
            .map(|(i, n)| ReadyNode {
                node: i,
                pool: n.pool,
                utilization: f64::from(n.allocated) / f64::from(n.gpus),
                empty: n.pods.is_empty(),
            })
            .collect()
    }

    /// The platform model's reason counts the pools' sizes before this scan's scale-ups
    /// (`planned` is not used, so its event log is as it was).
    fn no_scale_up_reason(&self, req: &Self::Req, _planned: &BTreeMap<usize, u32>) -> String {
        no_scale_up_reason(self.pools, self.cluster, &req.0, req.1)
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
