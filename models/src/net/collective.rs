//! Collectives as phases of flows (for the max-min solver) and as α–β closed forms.
//!
//! Hierarchical algorithms for N nodes × g GPUs (NVLink inside a node, one ring per rail
//! across nodes; c = min GPUs per node = number of rail rings):
//!
//! | collective | phases (bytes per ring edge) | α term |
//! |---|---|---|
//! | all-reduce | intra RS (g−1)/g·S; inter AR per rail 2(N−1)/N·S/c; intra AG (g−1)/g·S | 2(g−1)α_nv + 2(N−1)α_net |
//! | reduce-scatter | intra RS (g−1)/g·S; inter RS (N−1)/N·S/c | (g−1)α_nv + (N−1)α_net |
//! | all-gather | inter AG (N−1)/N·S/c; intra AG (g−1)/g·S | (N−1)α_net + (g−1)α_nv |
//! | all-to-all | one phase: per GPU (g−1)·S/p over NVLink; per node pair and rail g_A·g_B·S/(p·c) | (p−1)α |
//!
//! `S` is the per-rank buffer (nccl-tests `size`). A phase's time is its latency (paid
//! before its flows start, as in SimGrid) plus the time of its slowest flow: a ring moves at
//! the pace of its slowest edge. A calibration point for (collective, scope, ranks, size)
//! replaces the phase's α and caps each of its flows at the measured bus bandwidth.

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimTime};

use super::config::{CalibrationPoint, CollectiveKind, Scope, gbyte_s};
use super::flow::{FlowId, FlowNet, FlowSpec, LinkId};
use super::topology::{GpuRef, Topology};

/// One flow of a phase.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedFlow {
    pub path: Vec<LinkId>,
    pub bytes: f64,
    pub cap: Option<f64>,
}

/// A set of concurrent flows preceded by a latency.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub scope: Scope,
    /// Ranks taking part in one ring of this phase (g inside a node, N across nodes).
    pub ranks: u32,
    pub latency: SimDuration,
    pub flows: Vec<PlannedFlow>,
    /// Whether a calibration point replaced the α-β parameters.
    pub calibrated: bool,
}

impl Phase {
    /// Phase duration given each flow's rate (bytes/s), ceil to ns.
    pub fn time_at(&self, rates: &[f64]) -> SimDuration {
        let mut worst = 0.0f64;
        for (f, &r) in self.flows.iter().zip(rates) {
            if f.bytes > 0.0 {
                if r <= 0.0 {
                    return SimDuration::MAX;
                }
                worst = worst.max(f.bytes / r);
            }
        }
        self.latency + secs_ceil(worst)
    }
    pub fn specs(&self, owner: u64, persistent: bool) -> Vec<FlowSpec> {
        self.flows
            .iter()
            .map(|f| FlowSpec {
                path: f.path.clone(),
                bytes: if persistent { f64::INFINITY } else { f.bytes },
                cap: f.cap,
                owner,
            })
            .collect()
    }
}

/// Seconds (f64) to a duration, rounded up to the nanosecond.
pub fn secs_ceil(s: f64) -> SimDuration {
    if !s.is_finite() || s >= 1.8e10 {
        return SimDuration::MAX;
    }
    SimDuration((s.max(0.0) * 1e9).ceil() as u64)
}

/// A collective broken into phases.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectivePlan {
    pub kind: CollectiveKind,
    pub bytes: u64,
    pub ranks: u32,
    pub phases: Vec<Phase>,
}

impl CollectivePlan {
    /// Time if it ran alone on an idle network (congestion-unaware): each flow at the
    /// bottleneck of its own path under max-min with its phase siblings.
    pub fn time_alone(&self, topo: &Topology) -> SimDuration {
        let empty = topo.flow_net();
        self.time_on(&empty)
    }

    /// Time if it started now on `net` (other flows present), each phase probed separately.
    pub fn time_on(&self, net: &FlowNet) -> SimDuration {
        let mut t = SimDuration::ZERO;
        for p in &self.phases {
            let rates = net.probe_rates(&p.specs(0, false));
            t = t + p.time_at(&rates);
        }
        t
    }
}

/// Nodes in order of first appearance and their GPUs (in rank order).
fn group_by_node(ranks: &[GpuRef]) -> Vec<(u32, Vec<GpuRef>)> {
    let mut order: Vec<u32> = Vec::new();
    let mut by: BTreeMap<u32, Vec<GpuRef>> = BTreeMap::new();
    for &g in ranks {
        let e = by.entry(g.node).or_default();
        if e.is_empty() {
            order.push(g.node);
        }
        if !e.contains(&g) {
            e.push(g);
        }
    }
    order
        .into_iter()
        .map(|n| {
            let v = by.remove(&n).unwrap_or_default();
            (n, v)
        })
        .collect()
}

/// Log-linear interpolation of measured busbw; exact-`ranks` points win over generic ones;
/// `CrossLeaf` falls back to `Rail`.
pub fn calibrated_busbw(
    table: &[CalibrationPoint],
    kind: CollectiveKind,
    scope: Scope,
    ranks: u32,
    message_bytes: f64,
) -> Option<f64> {
    let pick = |scope: Scope| -> Vec<&CalibrationPoint> {
        let all: Vec<&CalibrationPoint> = table
            .iter()
            .filter(|c| c.collective == kind && c.scope == scope)
            .collect();
        let exact: Vec<&CalibrationPoint> = all
            .iter()
            .copied()
            .filter(|c| c.ranks == Some(ranks))
            .collect();
        if exact.is_empty() {
            all.into_iter().filter(|c| c.ranks.is_none()).collect()
        } else {
            exact
        }
    };
    let mut pts = pick(scope);
    if pts.is_empty() && scope == Scope::CrossLeaf {
        pts = pick(Scope::Rail);
    }
    if pts.is_empty() {
        return None;
    }
    pts.sort_by_key(|c| c.message_bytes);
    let m = message_bytes.max(1.0);
    let first = pts[0];
    let last = pts[pts.len() - 1];
    if m <= first.message_bytes as f64 {
        return Some(gbyte_s(first.busbw_gbyte_s));
    }
    if m >= last.message_bytes as f64 {
        return Some(gbyte_s(last.busbw_gbyte_s));
    }
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (xa, xb) = (a.message_bytes as f64, b.message_bytes as f64);
        if m >= xa && m <= xb {
            if xb <= xa {
                return Some(gbyte_s(b.busbw_gbyte_s));
            }
            let t = (m.ln() - xa.ln()) / (xb.ln() - xa.ln());
            return Some(gbyte_s(
                a.busbw_gbyte_s + t * (b.busbw_gbyte_s - a.busbw_gbyte_s),
            ));
        }
    }
    Some(gbyte_s(last.busbw_gbyte_s))
}

fn ring_edges(ring: &[GpuRef]) -> Vec<(GpuRef, GpuRef)> {
    let n = ring.len();
    if n < 2 {
        return Vec::new();
    }
    (0..n).map(|i| (ring[i], ring[(i + 1) % n])).collect()
}

/// Plan `kind` over `ranks` (ring order = order given, grouped by node) with `bytes` per rank.
pub fn plan(topo: &Topology, kind: CollectiveKind, ranks: &[GpuRef], bytes: u64) -> CollectivePlan {
    let cfg = topo.config();
    let a_nv = cfg.latency.nvlink_step;
    let a_net = cfg.latency.network_step;
    let nodes = group_by_node(ranks);
    let p: u32 = nodes.iter().map(|(_, g)| g.len() as u32).sum();
    let n = nodes.len() as u32;
    let s = bytes as f64;
    let gmax = nodes.iter().map(|(_, g)| g.len() as u32).max().unwrap_or(0);
    let c = nodes.iter().map(|(_, g)| g.len() as u32).min().unwrap_or(0);
    let all: Vec<GpuRef> = nodes.iter().flat_map(|(_, g)| g.iter().copied()).collect();

    let intra = |factor_steps: u32| -> Phase {
        // ring inside every node; bytes per edge (g−1)/g·S.
        let mut flows = Vec::new();
        for (_, g) in &nodes {
            let gl = g.len() as f64;
            for (a, b) in ring_edges(g) {
                flows.push(PlannedFlow {
                    path: topo.gpu_path(a, b),
                    bytes: (gl - 1.0) / gl * s,
                    cap: None,
                });
            }
        }
        Phase {
            scope: Scope::Nvlink,
            ranks: gmax,
            latency: SimDuration(a_nv.0 * u64::from(factor_steps) * u64::from(gmax.max(1) - 1)),
            flows,
            calibrated: false,
        }
    };
    let inter = |steps: u32, factor: f64| -> Phase {
        // c rings, ring j through the j-th GPU of every node; bytes per edge factor·S/c.
        let mut flows = Vec::new();
        let mut members = Vec::new();
        for j in 0..c as usize {
            let ring: Vec<GpuRef> = nodes.iter().map(|(_, g)| g[j]).collect();
            members.extend(ring.iter().copied());
            for (a, b) in ring_edges(&ring) {
                flows.push(PlannedFlow {
                    path: topo.gpu_path(a, b),
                    bytes: factor * s / f64::from(c.max(1)),
                    cap: None,
                });
            }
        }
        Phase {
            scope: topo.scope(&members),
            ranks: n,
            latency: SimDuration(a_net.0 * u64::from(steps) * u64::from(n.max(1) - 1)),
            flows,
            calibrated: false,
        }
    };
    let nf = f64::from(n.max(1));
    let multi = n > 1;
    let local = gmax > 1;
    let mut phases = Vec::new();
    match kind {
        CollectiveKind::AllReduce => {
            if local {
                phases.push(intra(1));
            }
            if multi {
                phases.push(inter(2, 2.0 * (nf - 1.0) / nf));
            }
            if local {
                phases.push(intra(1));
            }
        }
        CollectiveKind::ReduceScatter => {
            if local {
                phases.push(intra(1));
            }
            if multi {
                phases.push(inter(1, (nf - 1.0) / nf));
            }
        }
        CollectiveKind::AllGather => {
            if multi {
                phases.push(inter(1, (nf - 1.0) / nf));
            }
            if local {
                phases.push(intra(1));
            }
        }
        CollectiveKind::AllToAll => {
            let pf = f64::from(p.max(1));
            let mut flows = Vec::new();
            for (_, g) in &nodes {
                let gl = g.len();
                if gl > 1 {
                    for i in 0..gl {
                        flows.push(PlannedFlow {
                            path: topo.gpu_path(g[i], g[(i + 1) % gl]),
                            bytes: (gl as f64 - 1.0) * s / pf,
                            cap: None,
                        });
                    }
                }
            }
            for (ia, (_, ga)) in nodes.iter().enumerate() {
                for (ib, (_, gb)) in nodes.iter().enumerate() {
                    if ia == ib {
                        continue;
                    }
                    for j in 0..c as usize {
                        flows.push(PlannedFlow {
                            path: topo.gpu_path(ga[j], gb[j]),
                            bytes: ga.len() as f64 * gb.len() as f64 * s / (pf * f64::from(c)),
                            cap: None,
                        });
                    }
                }
            }
            let (scope, alpha) = if multi {
                (topo.scope(&all), a_net)
            } else {
                (Scope::Nvlink, a_nv)
            };
            if !flows.is_empty() {
                phases.push(Phase {
                    scope,
                    ranks: p,
                    latency: SimDuration(alpha.0 * u64::from(p.max(1) - 1)),
                    flows,
                    calibrated: false,
                });
            }
        }
    }
    // Calibration overrides.
    if !cfg.calibration.is_empty() {
        for ph in &mut phases {
            let msg = if ph.scope == Scope::Nvlink || kind == CollectiveKind::AllToAll {
                s
            } else {
                s / f64::from(c.max(1))
            };
            if let Some(bw) = calibrated_busbw(&cfg.calibration, kind, ph.scope, ph.ranks, msg) {
                ph.latency = SimDuration::ZERO;
                ph.calibrated = true;
                for f in &mut ph.flows {
                    f.cap = Some(f.cap.map_or(bw, |c| c.min(bw)));
                }
            }
        }
    }
    CollectivePlan {
        kind,
        bytes,
        ranks: p,
        phases,
    }
}

/// α–β closed forms (NCCL bus-bandwidth convention; `bw` in bytes/s).
pub fn alpha_beta_time(
    kind: CollectiveKind,
    ranks: u32,
    bytes: u64,
    bw: f64,
    alpha: SimDuration,
) -> SimDuration {
    let n = u64::from(ranks.max(1));
    let steps = match kind {
        CollectiveKind::AllReduce => 2 * (n - 1),
        _ => n - 1,
    };
    SimDuration(alpha.0 * steps) + secs_ceil(kind.bus_factor(ranks) * bytes as f64 / bw)
}

/// What [`CollectiveRun::poll`] asks the caller to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunPoll {
    /// Call `poll` again at this time (a phase's latency elapses).
    WakeAt(SimTime),
    /// Waiting for this run's flows; call `poll` when one of them completes.
    Flows,
    /// Finished at this time.
    Done(SimTime),
}

/// Executes a plan on a [`FlowNet`] over simulated time: phase latency, then its flows;
/// the next phase starts when all of them are done.
#[derive(Clone, Debug)]
pub struct CollectiveRun {
    plan: CollectivePlan,
    owner: u64,
    phase: usize,
    /// Flows in flight for the current phase.
    flows: Vec<FlowId>,
    inject_at: Option<SimTime>,
    done: Option<SimTime>,
}

impl CollectiveRun {
    pub fn new(plan: CollectivePlan, owner: u64) -> Self {
        CollectiveRun {
            plan,
            owner,
            phase: 0,
            flows: Vec::new(),
            inject_at: None,
            done: None,
        }
    }
    pub fn flows(&self) -> &[FlowId] {
        &self.flows
    }

    /// Advance as far as possible at `now`. Flows that completed must already have been
    /// removed from `net` (e.g. by [`FlowNet::pop_completed`]).
    pub fn poll(&mut self, net: &mut FlowNet, now: SimTime) -> RunPoll {
        loop {
            if let Some(t) = self.done {
                return RunPoll::Done(t);
            }
            self.flows.retain(|&f| net.contains(f));
            if !self.flows.is_empty() {
                return RunPoll::Flows;
            }
            if let Some(t) = self.inject_at {
                if now < t {
                    return RunPoll::WakeAt(t);
                }
                self.inject_at = None;
                let specs = self.plan.phases[self.phase].specs(self.owner, false);
                self.flows = net.add_flows(now, specs);
                self.phase += 1;
                // Zero-byte flows finish at once.
                let done: Vec<FlowId> = self
                    .flows
                    .iter()
                    .copied()
                    .filter(|&f| net.completion_time(f) == Some(now))
                    .collect();
                if !done.is_empty() {
                    net.remove_flows(&done, now);
                }
                continue;
            }
            if self.phase >= self.plan.phases.len() {
                self.done = Some(now);
                continue;
            }
            self.inject_at = Some(now + self.plan.phases[self.phase].latency);
        }
    }
}

/// Run a plan alone from `start` (nothing else changes the network meanwhile); returns the
/// finish time. A minimal event loop over [`FlowNet::next_completion`].
pub fn run_to_completion(plan: &CollectivePlan, net: &mut FlowNet, start: SimTime) -> SimTime {
    let mut run = CollectiveRun::new(plan.clone(), u64::MAX);
    let mut now = start;
    loop {
        match run.poll(net, now) {
            RunPoll::Done(t) => return t,
            RunPoll::WakeAt(t) => now = t,
            RunPoll::Flows => {
                let Some((t, _)) = net.next_completion() else {
                    return SimTime::MAX;
                };
                now = t;
                net.pop_completed(now);
            }
        }
    }
}
