//! Nodes, pods and the small kube-scheduler that binds them.
//!
//! Filter: a Ready node whose accelerator label equals the pod's nodeSelector and that
//! has enough free GPUs. Score: kube-scheduler's `MostAllocated` (bin-packing),
//! `floor(100 × (allocated + request) / allocatable)`; the best-scoring nodes are listed
//! in node order and the `Chooser` picks among them (with `ChooserMode::First`, the first).
//! Pods are tried one at a time in creation order; a pod that fails Filter is marked
//! unschedulable and retried at the next scheduling cycle that follows any change.

use std::collections::BTreeSet;

use sim_core::{Chooser, SimTime};

/// Lifecycle of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Asked for by the autoscaler, not Ready yet.
    Provisioning,
    Ready,
    Removed,
}

/// A node of a pool.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub pool: usize,
    pub accelerator: String,
    pub gpus: u32,
    pub allocated: u32,
    pub state: NodeState,
    pub created: SimTime,
    pub ready_at: Option<SimTime>,
    pub removed_at: Option<SimTime>,
    /// Pods bound to it.
    pub pods: BTreeSet<usize>,
    /// Device index → the pod holding it (a pod gets the lowest free indices).
    pub devices: Vec<Option<usize>>,
}

impl Node {
    pub fn free(&self) -> u32 {
        self.gpus - self.allocated
    }
}

/// Who created a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodOwner {
    /// `config.batch_pods[i]`.
    Batch(usize),
    /// A replica of `config.services[i]`.
    Replica(usize),
}

/// Pod phase (Pending covers both "not tried yet" and "unschedulable").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    /// Bound to a node (containers started).
    Running,
    Succeeded,
    Deleted,
}

/// A pod requesting GPUs of one accelerator type.
#[derive(Clone, Debug)]
pub struct Pod {
    pub name: String,
    pub owner: PodOwner,
    pub accelerator: String,
    pub gpus: u32,
    pub phase: PodPhase,
    pub node: Option<usize>,
    pub created: SimTime,
    pub bound_at: Option<SimTime>,
    pub ended_at: Option<SimTime>,
    /// Failed a scheduling attempt and is still Pending (`PodScheduled=False`,
    /// reason `Unschedulable`): what the cluster autoscaler looks for.
    pub unschedulable: bool,
}

/// Nodes and pods.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
}

/// What one scheduling cycle did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleOutcome {
    /// (pod, node) bindings, in the order made.
    pub bound: Vec<(usize, usize)>,
    /// Pods that failed Filter for the first time.
    pub newly_unschedulable: Vec<usize>,
}

impl Cluster {
    /// Pods in `Pending`, in creation order.
    pub fn pending(&self) -> impl Iterator<Item = usize> + '_ {
        self.pods
            .iter()
            .enumerate()
            .filter(|(_, p)| p.phase == PodPhase::Pending)
            .map(|(i, _)| i)
    }

    /// Bind `pod` to `node`.
    pub fn bind(&mut self, pod: usize, node: usize, now: SimTime) {
        let p = &mut self.pods[pod];
        p.phase = PodPhase::Running;
        p.node = Some(node);
        p.bound_at = Some(now);
        p.unschedulable = false;
        let n = &mut self.nodes[node];
        n.allocated += p.gpus;
        n.pods.insert(pod);
        let mut left = p.gpus;
        for d in n.devices.iter_mut().filter(|d| d.is_none()) {
            if left == 0 {
                break;
            }
            *d = Some(pod);
            left -= 1;
        }
    }

    /// End a pod (completed or deleted), releasing its GPUs.
    pub fn end_pod(&mut self, pod: usize, phase: PodPhase, now: SimTime) {
        let p = &mut self.pods[pod];
        if matches!(p.phase, PodPhase::Succeeded | PodPhase::Deleted) {
            return;
        }
        p.phase = phase;
        p.ended_at = Some(now);
        p.unschedulable = false;
        if let Some(n) = p.node {
            let gpus = p.gpus;
            let node = &mut self.nodes[n];
            node.allocated -= gpus;
            node.pods.remove(&pod);
            for d in node.devices.iter_mut().filter(|d| **d == Some(pod)) {
                *d = None;
            }
        }
    }

    /// The nodes that pass Filter for `pod`, in node order.
    pub fn feasible(&self, pod: usize) -> Vec<usize> {
        let p = &self.pods[pod];
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.state == NodeState::Ready && n.accelerator == p.accelerator && n.free() >= p.gpus
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// One scheduling cycle over every Pending pod, in creation order.
    pub fn schedule(&mut self, chooser: &mut Chooser, now: SimTime) -> CycleOutcome {
        let mut out = CycleOutcome::default();
        let pending: Vec<usize> = self.pending().collect();
        for pod in pending {
            let feasible = self.feasible(pod);
            if feasible.is_empty() {
                if !self.pods[pod].unschedulable {
                    self.pods[pod].unschedulable = true;
                    out.newly_unschedulable.push(pod);
                }
                continue;
            }
            let gpus = self.pods[pod].gpus;
            let score = |n: &Node| u64::from(n.allocated + gpus) * 100 / u64::from(n.gpus);
            let best = feasible
                .iter()
                .map(|&i| score(&self.nodes[i]))
                .max()
                .unwrap_or(0);
            let top: Vec<usize> = feasible
                .into_iter()
                .filter(|&i| score(&self.nodes[i]) == best)
                .collect();
            let node = top[chooser.choose(top.len())];
            self.bind(pod, node, now);
            out.bound.push((pod, node));
        }
        out
    }

    /// Nodes of `pool` that count toward its size (Provisioning or Ready).
    pub fn pool_size(&self, pool: usize) -> u32 {
        self.nodes
            .iter()
            .filter(|n| n.pool == pool && n.state != NodeState::Removed)
            .count() as u32
    }

    /// Ready nodes of `pool`.
    pub fn pool_ready(&self, pool: usize) -> u32 {
        self.nodes
            .iter()
            .filter(|n| n.pool == pool && n.state == NodeState::Ready)
            .count() as u32
    }
}
