//! Training-step model: a job's step time from its placement and the bandwidth it gets.
//!
//! ```text
//! comm      = Σ phases (latency + slowest flow)          (collective of comm_bytes per rank)
//! exposed   = comm − min(overlap · comm, compute)
//! data      = max over nodes of max(miss / fs_rate, hit / nvme_rate)   (prefetched in parallel)
//! core      = max(compute + exposed, data)
//! ckpt      = sync:  write_time / every
//!             async: (snapshot_time + max(0, write_time − every·core)) / every
//! step      = core + ckpt
//! ```
//! Two ways to get the rates:
//! * [`estimate`]: a what-if for a job not on the network (probe, nothing changes), e.g. to
//!   score a placement;
//! * [`JobTraffic`]: a running job registers persistent flows standing for its traffic, so
//!   other jobs see it; its own step time reads its flows' current rates. When any of them
//!   changes rate ([`FlowNet::take_changed`] + [`changed_owners`]) the job's step time moves
//!   and the caller re-plans its progress.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

use super::collective::{CollectivePlan, plan, secs_ceil};
use super::config::CollectiveKind;
use super::flow::{FlowId, FlowNet, FlowSpec, LinkId};
use super::storage::{checkpoint_flows, read_flows};
use super::topology::{GpuRef, NetError, Topology};

/// Which GPUs a job holds, in rank order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub ranks: Vec<GpuRef>,
}

impl Placement {
    /// All GPUs of each listed node (topology indices), node-major.
    pub fn whole_nodes(topo: &Topology, nodes: &[u32]) -> Self {
        Placement {
            ranks: nodes
                .iter()
                .flat_map(|&n| (0..topo.gpus(n)).map(move |g| GpuRef::new(n, g)))
                .collect(),
        }
    }
    /// From (node name, GPU indices) pairs.
    pub fn from_names(topo: &Topology, nodes: &[(&str, Vec<u32>)]) -> Result<Self, NetError> {
        let mut ranks = Vec::new();
        for (name, gpus) in nodes {
            let n = topo.node_index(name)?;
            for &g in gpus {
                let r = GpuRef::new(n, g);
                topo.validate(r)?;
                ranks.push(r);
            }
        }
        Ok(Placement { ranks })
    }
    /// Distinct nodes in order of first appearance.
    pub fn nodes(&self) -> Vec<u32> {
        let mut seen = BTreeSet::new();
        self.ranks
            .iter()
            .filter(|g| seen.insert(g.node))
            .map(|g| g.node)
            .collect()
    }
}

fn default_kind() -> CollectiveKind {
    CollectiveKind::AllReduce
}
fn one() -> u64 {
    1
}

/// Periodic checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSpec {
    /// Bytes each node writes per checkpoint.
    pub bytes_per_node: u64,
    /// A checkpoint every this many steps.
    #[serde(default = "one")]
    pub every_steps: u64,
    /// Snapshot to local NVMe, then drain to the filesystem in the background.
    #[serde(default)]
    pub asynchronous: bool,
}

/// What one training step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Compute time per step per GPU.
    pub compute: SimDuration,
    #[serde(default = "default_kind")]
    pub collective: CollectiveKind,
    /// Bytes per rank exchanged by the collective each step (e.g. gradient bytes).
    #[serde(default)]
    pub comm_bytes: u64,
    /// Fraction of communication that can hide behind compute (0 … 1).
    #[serde(default)]
    pub overlap: f64,
    /// Input bytes read per node per step.
    #[serde(default)]
    pub data_bytes_per_node: u64,
    /// Fraction of the input served by the node-local NVMe cache (0 … 1).
    #[serde(default)]
    pub cache_hit: f64,
    #[serde(default)]
    pub checkpoint: Option<CheckpointSpec>,
}

impl StepSpec {
    pub fn compute_only(compute: SimDuration) -> Self {
        StepSpec {
            compute,
            collective: CollectiveKind::AllReduce,
            comm_bytes: 0,
            overlap: 0.0,
            data_bytes_per_node: 0,
            cache_hit: 0.0,
            checkpoint: None,
        }
    }
    fn split_data(&self) -> (f64, f64) {
        let d = self.data_bytes_per_node as f64;
        let h = self.cache_hit.clamp(0.0, 1.0);
        (d * (1.0 - h), d * h)
    }
}

/// Where a step's time goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StepBreakdown {
    pub compute: SimDuration,
    /// Collective time if nothing overlapped.
    pub comm: SimDuration,
    /// Part of `comm` not hidden behind compute.
    pub exposed_comm: SimDuration,
    /// Time to read one step's input (runs in parallel with compute).
    pub data: SimDuration,
    /// Checkpoint cost amortized per step.
    pub checkpoint: SimDuration,
    pub step: SimDuration,
}

impl StepBreakdown {
    /// Steps per second.
    pub fn rate(&self) -> f64 {
        if self.step.0 == 0 {
            f64::INFINITY
        } else {
            1e9 / self.step.0 as f64
        }
    }
}

fn combine(
    spec: &StepSpec,
    comm: SimDuration,
    data: SimDuration,
    ckpt_write: SimDuration,
    snapshot: SimDuration,
) -> StepBreakdown {
    let compute = spec.compute;
    let hidden = ((comm.0 as f64) * spec.overlap.clamp(0.0, 1.0)).floor() as u64;
    let exposed = SimDuration(comm.0 - hidden.min(compute.0).min(comm.0));
    let core = (compute + exposed).max(data);
    let ckpt = match &spec.checkpoint {
        None => SimDuration::ZERO,
        Some(c) => {
            let every = c.every_steps.max(1);
            let per = if c.asynchronous {
                let window = core.0.saturating_mul(every);
                snapshot
                    .0
                    .saturating_add(ckpt_write.0.saturating_sub(window))
            } else {
                ckpt_write.0
            };
            SimDuration(per.div_ceil(every))
        }
    };
    StepBreakdown {
        compute,
        comm,
        exposed_comm: exposed,
        data,
        checkpoint: ckpt,
        step: core + ckpt,
    }
}

fn slowest(specs: &[FlowSpec], rates: &[f64]) -> SimDuration {
    let mut worst = SimDuration::ZERO;
    for (s, &r) in specs.iter().zip(rates) {
        if s.bytes > 0.0 {
            let t = if r > 0.0 {
                secs_ceil(s.bytes / r)
            } else {
                SimDuration::MAX
            };
            worst = worst.max(t);
        }
    }
    worst
}

fn data_specs(topo: &Topology, nodes: &[u32], spec: &StepSpec) -> Vec<FlowSpec> {
    let (miss, hit) = spec.split_data();
    nodes
        .iter()
        .flat_map(|&n| read_flows(topo, n, miss, hit))
        .collect()
}

fn ckpt_times(
    topo: &Topology,
    net: &FlowNet,
    nodes: &[u32],
    spec: &StepSpec,
) -> (SimDuration, SimDuration) {
    match &spec.checkpoint {
        None => (SimDuration::ZERO, SimDuration::ZERO),
        Some(c) => {
            let w = checkpoint_flows(topo, nodes, c.bytes_per_node, 0);
            let write = slowest(&w, &net.probe_rates(&w));
            let snapshot = if c.asynchronous {
                let s: Vec<FlowSpec> = nodes
                    .iter()
                    .map(|&n| FlowSpec::new(topo.nvme_write_path(n), c.bytes_per_node as f64))
                    .collect();
                slowest(&s, &net.probe_rates(&s))
            } else {
                SimDuration::ZERO
            };
            (write, snapshot)
        }
    }
}

/// The collective one step runs.
pub fn step_plan(topo: &Topology, placement: &Placement, spec: &StepSpec) -> CollectivePlan {
    plan(topo, spec.collective, &placement.ranks, spec.comm_bytes)
}

/// Step time of a job that is not on the network, given everything that is (a what-if).
pub fn estimate(
    topo: &Topology,
    net: &FlowNet,
    placement: &Placement,
    spec: &StepSpec,
) -> StepBreakdown {
    let comm = if spec.comm_bytes > 0 {
        step_plan(topo, placement, spec).time_on(net)
    } else {
        SimDuration::ZERO
    };
    let nodes = placement.nodes();
    let d = data_specs(topo, &nodes, spec);
    let data = slowest(&d, &net.probe_rates(&d));
    let (w, s) = ckpt_times(topo, net, &nodes, spec);
    combine(spec, comm, data, w, s)
}

/// A running job's traffic registered as persistent flows (see module docs).
#[derive(Clone, Debug)]
pub struct JobTraffic {
    pub owner: u64,
    placement: Placement,
    spec: StepSpec,
    plan: CollectivePlan,
    /// For every phase flow, the registered flow carrying its path.
    phase_flows: Vec<Vec<FlowId>>,
    data: Vec<(FlowSpec, FlowId)>,
    all: Vec<FlowId>,
}

impl JobTraffic {
    /// Register the job's communication (one persistent flow per distinct path: phases that
    /// reuse the same links, like the two NVLink halves of an all-reduce, share flows) and
    /// its input reads (persistent, capped at the rate that keeps compute fed).
    pub fn register(
        topo: &Topology,
        net: &mut FlowNet,
        now: SimTime,
        owner: u64,
        placement: &Placement,
        spec: &StepSpec,
    ) -> Self {
        let plan = step_plan(topo, placement, spec);
        let mut by_path: BTreeMap<Vec<LinkId>, usize> = BTreeMap::new();
        let mut specs: Vec<FlowSpec> = Vec::new();
        let mut idx: Vec<Vec<usize>> = Vec::new();
        if spec.comm_bytes > 0 {
            for ph in &plan.phases {
                let mut v = Vec::new();
                for f in &ph.flows {
                    let mut key = f.path.clone();
                    key.sort_unstable();
                    let i = *by_path.entry(key).or_insert_with(|| {
                        specs.push(FlowSpec {
                            path: f.path.clone(),
                            bytes: f64::INFINITY,
                            cap: f.cap,
                            owner,
                        });
                        specs.len() - 1
                    });
                    v.push(i);
                }
                idx.push(v);
            }
        }
        let n_comm = specs.len();
        let nodes = placement.nodes();
        let compute_s = spec.compute.as_secs_f64().max(1e-9);
        let data_specs = data_specs(topo, &nodes, spec);
        for d in &data_specs {
            let demand = d.bytes / compute_s;
            specs.push(FlowSpec {
                path: d.path.clone(),
                bytes: f64::INFINITY,
                cap: Some(d.cap.map_or(demand, |c| c.min(demand))),
                owner,
            });
        }
        let ids = net.add_flows(now, specs);
        let phase_flows = idx
            .iter()
            .map(|v| v.iter().map(|&i| ids[i]).collect())
            .collect();
        let data = data_specs
            .into_iter()
            .zip(ids[n_comm..].iter().copied())
            .collect();
        JobTraffic {
            owner,
            placement: placement.clone(),
            spec: spec.clone(),
            plan,
            phase_flows,
            data,
            all: ids,
        }
    }

    pub fn flows(&self) -> &[FlowId] {
        &self.all
    }
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// Step time at the rates the job's flows currently get.
    pub fn step_time(&self, topo: &Topology, net: &FlowNet) -> StepBreakdown {
        let mut comm = SimDuration::ZERO;
        for (ph, ids) in self.plan.phases.iter().zip(&self.phase_flows) {
            let rates: Vec<f64> = ids.iter().map(|&f| net.rate(f).unwrap_or(0.0)).collect();
            comm = comm + ph.time_at(&rates);
        }
        let mut data = SimDuration::ZERO;
        for (s, f) in &self.data {
            let r = net.rate(*f).unwrap_or(0.0);
            data = data.max(slowest(std::slice::from_ref(s), &[r]));
        }
        let (w, s) = ckpt_times(topo, net, &self.placement.nodes(), &self.spec);
        combine(&self.spec, comm, data, w, s)
    }

    /// For the verifier's fingerprint: which solver slots carry the job's phases and input
    /// reads (the plan and the read specs follow from the placement, which the cluster
    /// state holds).
    pub fn hash_flows(&self, h: &mut dyn std::hash::Hasher) {
        h.write_u64(self.owner);
        for ids in &self.phase_flows {
            h.write_usize(ids.len());
            ids.iter().for_each(|f| h.write_u32(f.slot()));
        }
        h.write_usize(self.data.len());
        self.data.iter().for_each(|(_, f)| h.write_u32(f.slot()));
        h.write_usize(self.all.len());
        self.all.iter().for_each(|f| h.write_u32(f.slot()));
    }

    /// Take the job's flows off the network (job finished or preempted).
    pub fn unregister(self, net: &mut FlowNet, now: SimTime) {
        net.remove_flows(&self.all, now);
    }
}

/// Owners of the flows whose rates (completion times) changed since the last call: the jobs
/// whose step time must be recomputed.
pub fn changed_owners(net: &mut FlowNet) -> BTreeSet<u64> {
    net.take_changed()
        .into_iter()
        .filter_map(|f| net.owner(f))
        .collect()
}
