//! Behaviour suite for `high_performance_networking` (1.36 SHOULD, KAR-0010): RDMA or
//! secondary NICs are discoverable and offered to pods, a multi-node job's pods land on
//! nodes that have them, and pod-to-pod traffic goes over them.
//!
//! The traffic oracle runs an all-reduce of `ALLREDUCE_BYTES` (1 GB) per rank between the pods
//! of a job (one pod per node, each with all the node's GPUs) through the fabric model
//! (`models::net`: topology, max-min flow solver, hierarchical collective plan) and compares
//! the bus bandwidth the inter-node phase achieved with the figure derived by hand from
//! the profile's `nics_per_node × gbps_per_nic` (`expected_busbw`). When the NICs are
//! absent or not offered to pods, the pods' traffic takes the default network
//! (`PodNetwork::Default`) and the case fails with the figure measured there. The
//! derivations are in `docs/conformance-network-storage.md`.
//!
//! The fabric helpers here are shared with `job_level_networking`.

use models::net::{
    CollectiveKind, CollectivePlan, FabricKind, FlowId, FlowNet, GpuRef, NetworkConfig, Scope,
    Topology, gbit_s, plan,
};
use rand::Rng;
use sim_core::{RngStreams, SimTime};

use crate::conformance::outcome::{CaseResult, Observation};
use crate::conformance::profile::Profile;

/// Per-rank all-reduce buffer (nccl-tests `size`): 1 GB, large enough that the per-step
/// latencies (7 µs each) are under 2 % of the transfer.
pub(crate) const ALLREDUCE_BYTES: u64 = 1_000_000_000;
/// Largest relative gap between achieved and hand-derived bus bandwidth that still counts
/// as "the traffic uses the RDMA NICs" (covers the α terms the hand figure leaves out).
pub(crate) const TOLERANCE: f64 = 0.05;
/// Nodes of the modelled cluster slice the cases use.
pub(crate) const SLICE_NODES: u32 = 4;
/// In-band (default network) NICs per node and their line rate: the storage/management
/// ports of an HGX/DGX node, `node.storage_nics × storage_nic_gbit_s` of the network
/// config defaults (2 × 400 Gb/s, `docs/hardware-model.md` §7). Pods without a secondary
/// interface send their traffic (NCCL's socket transport) through these.
pub(crate) const DEFAULT_NET_NICS: u32 = 2;
/// See [`DEFAULT_NET_NICS`].
pub(crate) const DEFAULT_NET_GBIT_S: f64 = 400.0;

/// Which network carries a job's pod-to-pod traffic on the profiled platform.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PodNetwork {
    /// The pods have interfaces on the RDMA NICs.
    Rdma { nics: u32, gbit_s: f64 },
    /// Only the default pod network (TCP over the node's in-band NICs).
    Default,
}

impl PodNetwork {
    /// RDMA when the profile has NICs and offers them to pods, else the default network.
    pub(crate) fn of(profile: &Profile) -> PodNetwork {
        match &profile.network.rdma {
            Some(r) if r.offered_to_pods => PodNetwork::Rdma {
                nics: r.nics_per_node,
                gbit_s: r.gbps_per_nic,
            },
            _ => PodNetwork::Default,
        }
    }

    /// Human-readable name with the NIC figures.
    pub(crate) fn label(&self) -> String {
        match self {
            PodNetwork::Rdma { nics, gbit_s } => format!("{nics} × {gbit_s} Gb/s RDMA NICs"),
            PodNetwork::Default => format!(
                "the default pod network (TCP over {DEFAULT_NET_NICS} × {DEFAULT_NET_GBIT_S} Gb/s in-band NICs)"
            ),
        }
    }

    /// The network config of this fabric: rail-optimized for RDMA (one rail per NIC), one
    /// top-of-rack leaf per group for the default network; `nodes_per_su` nodes per group.
    pub(crate) fn config(&self, nodes_per_su: u32) -> NetworkConfig {
        let mut cfg = NetworkConfig::default();
        cfg.fabric.nodes_per_su = nodes_per_su.max(1);
        match *self {
            PodNetwork::Rdma { nics, gbit_s } => {
                cfg.node.compute_nics = nics;
                cfg.node.compute_nic_gbit_s = gbit_s;
                cfg.fabric.kind = FabricKind::RailOptimized;
            }
            PodNetwork::Default => {
                cfg.node.compute_nics = DEFAULT_NET_NICS;
                cfg.node.compute_nic_gbit_s = DEFAULT_NET_GBIT_S;
                cfg.fabric.kind = FabricKind::FatTree;
            }
        }
        cfg
    }

    /// A slice of [`SLICE_NODES`] nodes of the profile's GPU shape on this fabric.
    pub(crate) fn topology(
        &self,
        profile: &Profile,
        nodes_per_su: u32,
    ) -> Result<Topology, String> {
        Topology::uniform(
            &self.config(nodes_per_su),
            SLICE_NODES,
            profile.accelerators.gpus_per_node,
        )
        .map_err(|e| e.to_string())
    }
}

/// Inter-node bus bandwidth (bytes/s) of a ring all-reduce between whole nodes on the
/// profile's RDMA NICs, by hand: each of the G GPUs of a node drives one rail ring through
/// NIC ⌊g·k/G⌋, so the busiest NIC carries ⌈G / min(k, G)⌉ rings and every ring moves at
/// the NIC rate divided by that; busbw = G × ring rate. With k dividing G this is
/// k × gbps/8 GB/s (8 × 400/8 = 400 GB/s for the fully-conformant profile). `None` without
/// RDMA NICs.
pub(crate) fn expected_busbw(profile: &Profile) -> Option<f64> {
    let r = profile.network.rdma.as_ref()?;
    Some(busbw_by_hand(
        profile.accelerators.gpus_per_node,
        r.nics_per_node,
        r.gbps_per_nic,
    ))
}

/// See [`expected_busbw`]; also the default network's figure with its NIC numbers.
pub(crate) fn busbw_by_hand(gpus: u32, nics: u32, gbit_per_nic: f64) -> f64 {
    let g = gpus.max(1);
    let used = nics.clamp(1, g);
    let rings_per_nic = g.div_ceil(used);
    f64::from(g) * gbit_s(gbit_per_nic) / f64::from(rings_per_nic)
}

/// One job of a traffic case: a name and the slice nodes of its pods, in ring order.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub name: String,
    pub nodes: Vec<u32>,
}

/// What one job's all-reduce did.
#[derive(Clone, Debug)]
pub(crate) struct JobRun {
    pub name: String,
    pub nodes: u32,
    /// Inter-node phase: start (its latency included) and end.
    pub inter: Option<(SimTime, SimTime)>,
    /// All-reduce completion; `None` if it never finished (a starved flow).
    pub done: Option<SimTime>,
}

impl JobRun {
    /// Achieved inter-node bus bandwidth, bytes/s: 2(N−1)/N · S over the phase's duration.
    pub(crate) fn busbw(&self) -> f64 {
        match self.inter {
            Some((s, e)) if e > s => {
                CollectiveKind::AllReduce.bus_factor(self.nodes) * ALLREDUCE_BYTES as f64
                    / e.since(s).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// A collective in flight, phase by phase.
struct Live {
    plan: CollectivePlan,
    phase: usize,
    started: Option<SimTime>,
    inject_at: Option<SimTime>,
    flows: Vec<FlowId>,
    inter: Option<(SimTime, SimTime)>,
    done: Option<SimTime>,
}

impl Live {
    /// Advance as far as possible at `now`: end finished phases, start the next one (its
    /// latency first), inject its flows when the latency has elapsed.
    fn step(&mut self, net: &mut FlowNet, now: SimTime, owner: u64) {
        loop {
            if self.done.is_some() {
                return;
            }
            self.flows.retain(|&f| net.contains(f));
            if !self.flows.is_empty() {
                return;
            }
            if let Some(t) = self.inject_at {
                if now < t {
                    return;
                }
                self.inject_at = None;
                let specs = self.plan.phases[self.phase].specs(owner, false);
                self.flows = net.add_flows(now, specs);
                continue;
            }
            if let Some(s) = self.started.take() {
                if self.plan.phases[self.phase].scope != Scope::Nvlink {
                    self.inter = Some((s, now));
                }
                self.phase += 1;
            }
            if self.phase >= self.plan.phases.len() {
                self.done = Some(now);
                return;
            }
            self.started = Some(now);
            self.inject_at = Some(now + self.plan.phases[self.phase].latency);
        }
    }
}

/// Run one all-reduce per job, all starting at t = 0 on the same fabric, to completion.
/// Each pod has all `gpus` GPUs of its node; ranks are grouped by node in the job's order.
pub(crate) fn run_allreduces(topo: &Topology, jobs: &[Job], gpus: u32) -> Vec<JobRun> {
    let mut net = topo.flow_net();
    let mut live: Vec<Live> = jobs
        .iter()
        .map(|j| {
            let ranks: Vec<GpuRef> = j
                .nodes
                .iter()
                .flat_map(|&n| (0..gpus).map(move |g| GpuRef::new(n, g)))
                .collect();
            Live {
                plan: plan(topo, CollectiveKind::AllReduce, &ranks, ALLREDUCE_BYTES),
                phase: 0,
                started: None,
                inject_at: None,
                flows: Vec::new(),
                inter: None,
                done: None,
            }
        })
        .collect();
    let mut now = SimTime::ZERO;
    loop {
        for (i, l) in live.iter_mut().enumerate() {
            l.step(&mut net, now, i as u64);
        }
        if live.iter().all(|l| l.done.is_some()) {
            break;
        }
        let mut next = live.iter().filter_map(|l| l.inject_at).min();
        if let Some((t, _)) = net.next_completion() {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        let Some(t) = next else {
            break; // starved: nothing will ever change
        };
        now = t;
        net.pop_completed(now);
    }
    jobs.iter()
        .zip(live)
        .map(|(j, l)| JobRun {
            name: j.name.clone(),
            nodes: j.nodes.len() as u32,
            inter: l.inter,
            done: l.done,
        })
        .collect()
}

/// Bytes/s as GB/s with one decimal.
pub(crate) fn gbs(x: f64) -> String {
    format!("{:.1} GB/s", x / 1e9)
}

/// Nanoseconds as milliseconds with three decimals.
pub(crate) fn ms(t: SimTime) -> String {
    format!("{:.3} ms", t.as_nanos() as f64 / 1e6)
}

/// Log lines of a run: the inter-node phase and the completion.
pub(crate) fn run_log(r: &JobRun, network: &str) -> Vec<Observation> {
    let mut log = Vec::new();
    if let Some((s, e)) = r.inter {
        log.push(Observation::new(
            s,
            format!(
                "{}: inter-node all-reduce phase starts on {network}",
                r.name
            ),
        ));
        log.push(Observation::new(
            e,
            format!(
                "{}: inter-node phase done in {} (bus bandwidth {})",
                r.name,
                ms(SimTime(e.since(s).as_nanos())),
                gbs(r.busbw())
            ),
        ));
    }
    if let Some(d) = r.done {
        log.push(Observation::new(
            d,
            format!("{}: all-reduce of 1 GB per rank complete", r.name),
        ));
    }
    log
}

/// The verdict on runs against the profile's RDMA figure: every job's achieved busbw within
/// [`TOLERANCE`] of [`expected_busbw`]; fails without RDMA offered to pods.
pub(crate) fn judge_bandwidth(
    profile: &Profile,
    runs: &[JobRun],
    network: PodNetwork,
) -> (bool, String, Option<Observation>) {
    let label = network.label();
    let measured: Vec<String> = runs
        .iter()
        .map(|r| format!("{} {}", r.name, gbs(r.busbw())))
        .collect();
    let measured = measured.join(", ");
    let first_done = runs.iter().filter_map(|r| r.done).max();
    let observed = |ok: bool| {
        first_done.map(|t| {
            Observation::new(
                t,
                format!(
                    "all-reduce complete over {label}: inter-node bus bandwidth {measured}{}",
                    if ok { "" } else { " (not the RDMA figure)" }
                ),
            )
        })
    };
    if runs.iter().any(|r| r.done.is_none()) {
        return (
            false,
            format!("an all-reduce over {label} never completed (starved flow)"),
            None,
        );
    }
    let Some(want) = expected_busbw(profile) else {
        return (
            false,
            format!(
                "the profile has no RDMA NICs: pod traffic used {label} and reached {measured} inter-node bus bandwidth"
            ),
            observed(false),
        );
    };
    if !matches!(network, PodNetwork::Rdma { .. }) {
        return (
            false,
            format!(
                "the RDMA NICs are not offered to pods: pod traffic used {label} and reached {measured}, expected {} from the RDMA NICs (±{:.0} %)",
                gbs(want),
                TOLERANCE * 100.0
            ),
            observed(false),
        );
    }
    let worst = runs
        .iter()
        .map(|r| (r.busbw() - want).abs() / want)
        .fold(0.0f64, f64::max);
    let ok = worst <= TOLERANCE;
    (
        ok,
        format!(
            "achieved {measured} over {label}; expected {} by hand (within ±{:.0} %, worst gap {:.1} %)",
            gbs(want),
            TOLERANCE * 100.0,
            worst * 100.0
        ),
        observed(ok),
    )
}

/// A seeded permutation of `v` (Fisher–Yates on the suite's stream).
pub(crate) fn shuffled(mut v: Vec<u32>, seed: u64, stream: &str) -> Vec<u32> {
    let mut rng = RngStreams::new(seed).stream(stream);
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

/// Run every case of the suite.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    vec![
        pods_scheduled(profile, seed),
        allreduce_case(profile, seed, 2),
        allreduce_case(profile, seed, 4),
    ]
}

/// `rdma-pods-scheduled`: a 2-pod job whose pods each request every RDMA NIC of a node
/// (one on a platform without NICs) is placed, first fit, onto nodes that advertise them.
fn pods_scheduled(profile: &Profile, seed: u64) -> CaseResult {
    let checks = "a 2-pod job requesting RDMA interfaces is scheduled onto nodes that offer them to pods (multi-NIC pods)";
    let (advertised, request) = match &profile.network.rdma {
        Some(r) if r.offered_to_pods => (r.nics_per_node, r.nics_per_node),
        Some(r) => (0, r.nics_per_node),
        None => (0, 1),
    };
    let mut free = vec![advertised; SLICE_NODES as usize];
    let mut log = Vec::new();
    let mut pending = None;
    for pod in 0..2u32 {
        match free.iter().position(|&f| f >= request) {
            Some(n) => {
                free[n] -= request;
                log.push(Observation::new(
                    SimTime::ZERO,
                    format!("pod trainer-{pod} bound to node-{n} with {request} RDMA interfaces"),
                ));
            }
            None => {
                let o = Observation::new(
                    SimTime::ZERO,
                    format!(
                        "pod trainer-{pod} Pending: 0 of {SLICE_NODES} nodes offer {request} RDMA interface(s) to pods"
                    ),
                );
                log.push(o.clone());
                pending.get_or_insert(o);
            }
        }
    }
    let why = match &profile.network.rdma {
        None => "the profile has no RDMA NICs, so no node advertises any".to_string(),
        Some(r) if !r.offered_to_pods => format!(
            "the {} NICs per node serve the host only (offered_to_pods: false), so no node advertises them",
            r.nics_per_node
        ),
        Some(r) => format!(
            "every node advertises {} RDMA interfaces; both pods got {} each",
            r.nics_per_node, r.nics_per_node
        ),
    };
    let passed = pending.is_none();
    let observed = pending.unwrap_or_else(|| {
        log.last()
            .cloned()
            .unwrap_or_else(|| Observation::new(SimTime::ZERO, "no pods"))
    });
    CaseResult::new("rdma-pods-scheduled", checks, 2, seed, passed, why)
        .observed(observed)
        .with_log(log)
}

/// `allreduce-2-node` / `allreduce-4-node-cross-leaf`: one job, one pod per node, an
/// all-reduce of 1 GB per rank. The 4-node case puts 2 nodes under each leaf group, so its
/// ring also crosses the (non-blocking) spine, and takes its ring order from the seed.
fn allreduce_case(profile: &Profile, seed: u64, nodes: u32) -> CaseResult {
    let network = PodNetwork::of(profile);
    let (name, checks, per_su, order) = if nodes == 2 {
        (
            "allreduce-2-node",
            "pod-to-pod all-reduce between 2 nodes reaches the RDMA NICs' bus bandwidth",
            32,
            vec![0, 1],
        )
    } else {
        (
            "allreduce-4-node-cross-leaf",
            "pod-to-pod all-reduce between 4 nodes under two leaf groups reaches the RDMA NICs' bus bandwidth",
            2,
            shuffled(
                (0..nodes).collect(),
                seed,
                "conformance/high_performance_networking",
            ),
        )
    };
    let topo = match network.topology(profile, per_su) {
        Ok(t) => t,
        Err(e) => {
            return CaseResult::new(
                name,
                checks,
                nodes,
                seed,
                false,
                format!("fabric model: {e}"),
            );
        }
    };
    let job = Job {
        name: "trainer".into(),
        nodes: order,
    };
    let runs = run_allreduces(&topo, &[job], profile.accelerators.gpus_per_node);
    let (passed, detail, observed) = judge_bandwidth(profile, &runs, network);
    CaseResult::new(name, checks, nodes, seed, passed, detail)
        .with_log(
            runs.iter()
                .flat_map(|r| run_log(r, &network.label()))
                .collect(),
        )
        .observed(observed)
}
