//! Faults of parts (issue 16, item 4): a single GPU of a node, and links of the network
//! model. Node-level faults are in `faults.rs`; this module adds what is smaller than a
//! node.
//!
//! * **GPU** (`{at, node, gpu: 3, action: fail|recover}`, or seeded from
//!   `faults.seeded.gpu_mtbf`, every GPU its own exponential clock): an NVIDIA XID-style
//!   fault takes one GPU out of service. The pods using it are lost and their jobs restart
//!   exactly as after a node failure (`faults::restart_job`: from the last checkpoint, as
//!   the policy requeues); the node stays `Ready` for its other GPUs. A failed GPU shows as
//!   fully used in the node's `gpu_free`, so Filter, the GPU choice at Reserve and every
//!   score skip it, and it is not an idle GPU. Refused with DRA (the DRA allocator picks
//!   devices from its ResourceSlices, which do not know the fault).
//! * **Link** (network runs only): a compute NIC's cable (`{at, node, link: nic-2, …}`,
//!   both directions) or one of the `fabric.spine_uplinks` equal-cost uplinks of a leaf
//!   (`{at, link: leaf-0/spine-1, …}`). A failed uplink leaves its leaf's traffic on the
//!   remaining uplinks of the bundle (ECMP re-hashing / the subnet manager's re-routing):
//!   the bundle's capacity drops by one member and the max-min rates are re-solved at that
//!   instant. Traffic with no path left (a failed NIC, or every uplink of a leaf down) gets
//!   rate 0: the jobs using it stall (their steps stop) until the link recovers.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, RngStreams, SimDuration, SimTime, TimerId};

use super::{ClusterSim, Event, ModelError, faults};
use crate::net::LinkId;
use crate::state::{MAX_FAULTY_GPU_INDEX, NodeCondition};

/// For `skip_serializing_if`: counters that are absent while zero (outputs of runs
/// without GPU or link faults do not change).
pub(super) fn is_zero(x: &u32) -> bool {
    *x == 0
}

/// A part that can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// GPU `gpu` of node `node` (node index in the cluster).
    Gpu { node: u32, gpu: u8 },
    /// Compute NIC (rail) `nic` of node `node`: its link to the leaf, both directions.
    Nic { node: u32, nic: u32 },
    /// Uplink `link` (of `fabric.spine_uplinks`) of leaf `leaf` to the spine, both
    /// directions.
    SpineUplink { leaf: u32, link: u32 },
}

/// One listed part event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEventSpec {
    pub at: SimTime,
    pub part: Part,
    /// `true`: fail; `false`: recover.
    pub fail: bool,
    /// Position in the scenario's `faults.events` (for error messages).
    pub source: u32,
}

/// The engine event of this module (`Event::Part`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartEvent {
    pub part: Part,
    pub fail: bool,
    /// Drawn from the GPU MTBF (the next failure or repair follows from it).
    pub seeded: bool,
}

/// Run-time machinery for part faults (configuration and seeded streams).
#[derive(Clone, Debug, Default)]
pub struct PartRuntime {
    events: Vec<PartEventSpec>,
    /// Per node: index of its first GPU in the flattened per-GPU vectors.
    first_gpu: Vec<usize>,
    gpu_rate: f64,
    rngs: Vec<Option<rand_chacha::ChaCha8Rng>>,
    pending: Vec<Option<(TimerId, bool)>>,
    /// How many of `pending` are `Some` (checked after every event: O(1)).
    n_pending: usize,
    until: SimTime,
    mttr: SimDuration,
    /// Per leaf: how many of its spine uplinks are down (network runs with link faults).
    uplinks_down: Vec<u32>,
    /// Spine uplinks down (bundle members).
    down_members: BTreeSet<Part>,
    /// Per node and NIC: down.
    nics_down: BTreeSet<(u32, u32)>,
}

impl PartRuntime {
    /// Check the listed events against the cluster (and the network) and set up one seeded
    /// stream per GPU when `gpu_mtbf` is given.
    pub(super) fn new(
        events: &[PartEventSpec],
        sim: &ClusterSim,
        seed: u64,
        gpu_mtbf: Option<SimDuration>,
        until: SimTime,
        mttr: SimDuration,
    ) -> Result<PartRuntime, ModelError> {
        let err = |field: String, msg: String| ModelError::Faults { field, msg };
        let nodes = &sim.spec.nodes;
        let gpu_faults =
            gpu_mtbf.is_some() || events.iter().any(|e| matches!(e.part, Part::Gpu { .. }));
        if gpu_faults && sim.dra.is_some() {
            let field = match events.iter().find(|e| matches!(e.part, Part::Gpu { .. })) {
                Some(e) => format!("events[{}].gpu", e.source),
                None => "seeded.gpu_mtbf".into(),
            };
            return Err(err(
                field,
                "GPU faults are not modelled with DRA (the DRA allocator would still hand out the failed device): use node faults".into(),
            ));
        }
        let spine_uplinks = sim
            .net
            .as_ref()
            .map_or(1, |n| n.topology().config().fabric.spine_uplinks.max(1));
        for e in events {
            let field = |k: &str| format!("events[{}].{k}", e.source);
            match e.part {
                Part::Gpu { node, gpu } => {
                    let n = nodes.get(node as usize).ok_or_else(|| {
                        err(
                            field("node"),
                            format!("no node {node} (the cluster has {})", nodes.len()),
                        )
                    })?;
                    if u32::from(gpu) >= n.gpus {
                        return Err(err(
                            field("gpu"),
                            format!(
                                "node {:?} has {} GPUs (0 to {})",
                                n.name,
                                n.gpus,
                                n.gpus.saturating_sub(1)
                            ),
                        ));
                    }
                    if u32::from(gpu) >= MAX_FAULTY_GPU_INDEX {
                        return Err(err(
                            field("gpu"),
                            format!("only GPUs 0 to {} can fail", MAX_FAULTY_GPU_INDEX - 1),
                        ));
                    }
                }
                Part::Nic { node, nic } => {
                    let Some(net) = sim.net.as_ref() else {
                        return Err(err(
                            field("link"),
                            "link faults need the network model (a `network:` section)".into(),
                        ));
                    };
                    let name = nodes.get(node as usize).map_or("?", |n| n.name.as_str());
                    if net.topology().nic_links(node, nic).is_none() {
                        let nics = net.topology().nic_count(node);
                        return Err(err(
                            field("link"),
                            format!(
                                "node {name:?} has {nics} compute NICs (nic-0 to nic-{})",
                                nics.saturating_sub(1)
                            ),
                        ));
                    }
                }
                Part::SpineUplink { leaf, link } => {
                    let Some(net) = sim.net.as_ref() else {
                        return Err(err(
                            field("link"),
                            "link faults need the network model (a `network:` section)".into(),
                        ));
                    };
                    let leaves = net.topology().leaf_links().len() as u32;
                    if leaf >= leaves {
                        return Err(err(
                            field("link"),
                            format!(
                                "no leaf {leaf} (the fabric has {leaves} leaves, leaf-0 to leaf-{})",
                                leaves.saturating_sub(1)
                            ),
                        ));
                    }
                    if link >= spine_uplinks {
                        return Err(err(
                            field("link"),
                            format!(
                                "a leaf has {spine_uplinks} spine uplinks (network.config.fabric.spine_uplinks): spine-0 to spine-{}",
                                spine_uplinks - 1
                            ),
                        ));
                    }
                }
            }
        }
        let mut first_gpu = Vec::with_capacity(nodes.len());
        let mut total = 0usize;
        for n in nodes {
            first_gpu.push(total);
            total += n.gpus as usize;
        }
        let mut rt = PartRuntime {
            events: events.to_vec(),
            first_gpu,
            gpu_rate: 0.0,
            rngs: Vec::new(),
            pending: Vec::new(),
            n_pending: 0,
            until,
            mttr,
            uplinks_down: vec![
                0;
                sim.net
                    .as_ref()
                    .map_or(0, |n| n.topology().leaf_links().len())
            ],
            down_members: BTreeSet::new(),
            nics_down: BTreeSet::new(),
        };
        if let Some(mtbf) = gpu_mtbf.filter(|d| d.as_nanos() > 0) {
            if let Some(n) = nodes.iter().find(|n| n.gpus > MAX_FAULTY_GPU_INDEX) {
                return Err(err(
                    "seeded.gpu_mtbf".into(),
                    format!(
                        "node {:?} has {} GPUs; single-GPU faults are modelled for GPUs 0 to {}",
                        n.name,
                        n.gpus,
                        MAX_FAULTY_GPU_INDEX - 1
                    ),
                ));
            }
            rt.gpu_rate = 1.0 / mtbf.as_nanos() as f64;
            let streams = RngStreams::new(seed);
            rt.rngs = Vec::with_capacity(total);
            for n in nodes {
                for g in 0..n.gpus {
                    rt.rngs
                        .push(Some(streams.stream(&format!("faults/gpu/{}/{g}", n.name))));
                }
            }
        }
        rt.pending = vec![None; if rt.gpu_rate > 0.0 { total } else { 0 }];
        Ok(rt)
    }

    fn slot(&self, node: u32, gpu: u8) -> usize {
        self.first_gpu[node as usize] + usize::from(gpu)
    }

    /// The next failure of GPU slot `i` after `from`, if before `until`.
    fn draw(&mut self, i: usize, from: SimTime) -> Option<SimTime> {
        let rate = self.gpu_rate;
        let rng = self.rngs.get_mut(i)?.as_mut()?;
        faults::exponential_after(rng, rate, from, self.until)
    }

    /// Any seeded event still pending.
    pub(super) fn any_pending(&self) -> bool {
        self.n_pending > 0
    }

    /// Set GPU slot `i`'s pending seeded event, keeping the count.
    fn set_pending(&mut self, i: usize, p: Option<(TimerId, bool)>) {
        let Some(slot) = self.pending.get_mut(i) else {
            return;
        };
        match (slot.is_some(), p.is_some()) {
            (false, true) => self.n_pending += 1,
            (true, false) => self.n_pending -= 1,
            _ => {}
        }
        *slot = p;
    }

    /// Cancel every pending seeded event (every job has completed).
    pub(super) fn cancel_pending(&mut self, ctx: &mut Ctx<'_, Event>) {
        for (t, _) in self.pending.iter_mut().filter_map(Option::take) {
            ctx.cancel(t);
        }
        self.n_pending = 0;
    }

    /// Will a pending event bring GPU `gpu` of `node` back: a listed recovery not yet past
    /// or its seeded repair?
    fn gpu_returns(&self, node: u32, gpu: u8, now: SimTime) -> bool {
        self.events
            .iter()
            .any(|e| !e.fail && e.part == Part::Gpu { node, gpu } && e.at >= now)
            || (self.gpu_rate > 0.0
                && self.pending[self.slot(node, gpu)].is_some_and(|(_, fail)| !fail))
    }

    /// Will a pending listed event bring a failed link back?
    pub(super) fn links_returning(&self, now: SimTime) -> bool {
        let down = |p: &Part| match *p {
            Part::Nic { node, nic } => self.nics_down.contains(&(node, nic)),
            Part::SpineUplink { leaf, .. } => {
                self.uplinks_down.get(leaf as usize).is_some_and(|&d| d > 0)
            }
            Part::Gpu { .. } => false,
        };
        self.events
            .iter()
            .any(|e| !e.fail && e.at >= now && down(&e.part))
    }
}

/// Before the run: the listed part events and every GPU's first seeded failure.
pub(super) fn initial_events(rt: &mut PartRuntime) -> Vec<(SimTime, Event)> {
    let mut out: Vec<(SimTime, Event)> = rt
        .events
        .iter()
        .map(|e| {
            (
                e.at,
                Event::Part(PartEvent {
                    part: e.part,
                    fail: e.fail,
                    seeded: false,
                }),
            )
        })
        .collect();
    if rt.gpu_rate > 0.0 {
        for node in 0..rt.first_gpu.len() {
            let start = rt.first_gpu[node];
            let end = rt.first_gpu.get(node + 1).copied().unwrap_or(rt.rngs.len());
            for i in start..end {
                if let Some(at) = rt.draw(i, SimTime::ZERO) {
                    out.push((
                        at,
                        Event::Part(PartEvent {
                            part: Part::Gpu {
                                node: node as u32,
                                gpu: (i - start) as u8,
                            },
                            fail: true,
                            seeded: true,
                        }),
                    ));
                }
            }
        }
    }
    out
}

/// Record the timer of a seeded GPU event scheduled before the run.
pub(super) fn note_initial_timer(rt: &mut PartRuntime, ev: &PartEvent, id: TimerId) {
    if let (true, Part::Gpu { node, gpu }) = (ev.seeded, ev.part) {
        let i = rt.slot(node, gpu);
        rt.set_pending(i, Some((id, ev.fail)));
    }
}

fn schedule_seeded(m: &mut ClusterSim, node: u32, gpu: u8, fail: bool, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    let Some(rt) = m.faults.as_mut() else {
        return;
    };
    if rt.quiet() {
        return;
    }
    let parts = rt.parts_mut();
    let i = parts.slot(node, gpu);
    let at = if fail {
        parts.draw(i, now)
    } else {
        Some(now + parts.mttr)
    };
    let p = at.map(|at| {
        let id = ctx.schedule_at(
            at,
            Event::Part(PartEvent {
                part: Part::Gpu { node, gpu },
                fail,
                seeded: true,
            }),
        );
        (id, fail)
    });
    parts.set_pending(i, p);
}

/// Handle a part event.
pub(super) fn handle(m: &mut ClusterSim, ev: PartEvent, ctx: &mut Ctx<'_, Event>) {
    match ev.part {
        Part::Gpu { node, gpu } => gpu_event(m, node, gpu, ev, ctx),
        Part::Nic { node, nic } => {
            let Some(links) = m
                .net
                .as_ref()
                .and_then(|n| n.topology().nic_links(node, nic))
            else {
                return;
            };
            let Some(rt) = m.faults.as_mut() else {
                return;
            };
            let changed = if ev.fail {
                rt.parts_mut().nics_down.insert((node, nic))
            } else {
                rt.parts_mut().nics_down.remove(&(node, nic))
            };
            if changed {
                if ev.fail
                    && let Some(fs) = m.state.faults.as_mut()
                {
                    fs.link_failures += 1;
                }
                let frac = if ev.fail { 0.0 } else { 1.0 };
                m.net_scale_links(&[links.0, links.1], frac, ctx);
            }
        }
        Part::SpineUplink { leaf, .. } => {
            let Some((up, down)) = m
                .net
                .as_ref()
                .and_then(|n| n.topology().leaf_links().get(leaf as usize).copied())
            else {
                return;
            };
            let members = m
                .net
                .as_ref()
                .map_or(1, |n| n.topology().config().fabric.spine_uplinks.max(1));
            let Some(rt) = m.faults.as_mut() else {
                return;
            };
            // Which member fails does not matter to the fluid bundle, only how many are
            // down; a member is counted once (a listed fail of a failed member is ignored).
            let key = ev.part;
            let parts = rt.parts_mut();
            let was = parts.down_members.contains(&key);
            if was == ev.fail {
                return;
            }
            if ev.fail {
                parts.down_members.insert(key);
                parts.uplinks_down[leaf as usize] += 1;
            } else {
                parts.down_members.remove(&key);
                parts.uplinks_down[leaf as usize] -= 1;
            }
            let down_n = parts.uplinks_down[leaf as usize];
            if ev.fail
                && let Some(fs) = m.state.faults.as_mut()
            {
                fs.link_failures += 1;
            }
            let frac = f64::from(members - down_n.min(members)) / f64::from(members);
            let links: [LinkId; 2] = [up, down];
            m.net_scale_links(&links, frac, ctx);
        }
    }
}

fn gpu_event(m: &mut ClusterSim, node: u32, gpu: u8, ev: PartEvent, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    if ev.seeded
        && let Some(rt) = m.faults.as_mut()
    {
        let parts = rt.parts_mut();
        let i = parts.slot(node, gpu);
        parts.set_pending(i, None);
    }
    let st = &m.state.cluster.nodes[node as usize];
    if ev.fail {
        if st.condition == NodeCondition::Absent || st.failed_gpus.contains(gpu) {
            // Not provisioned, or already failed: a seeded failure draws the next one.
            if ev.seeded {
                schedule_seeded(m, node, gpu, true, ctx);
            }
            return;
        }
        // The pods on the GPU are lost: their jobs restart as after a node failure.
        let hit: BTreeSet<u32> = m
            .state
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, js)| {
                js.pods.iter().any(|p| {
                    p.placement
                        .as_ref()
                        .is_some_and(|pl| pl.node == node && pl.gpus.contains(&gpu))
                })
            })
            .map(|(j, _)| j as u32)
            .collect();
        for job in hit {
            faults::restart_job(m, job, now, ctx);
        }
        match m.state.cluster.fail_gpu(node, gpu) {
            Ok(true) => {
                if let Some(fs) = m.state.faults.as_mut() {
                    fs.gpu_failures += 1;
                }
            }
            Ok(false) => {}
            Err(e) => {
                m.invariant_violation
                    .get_or_insert_with(|| format!("GPU fault at {now}: {e}"));
            }
        }
        m.scratch.invalidate(node);
        if ev.seeded {
            schedule_seeded(m, node, gpu, false, ctx);
        }
    } else {
        if m.state.cluster.recover_gpu(node, gpu) {
            m.scratch.invalidate(node);
            // Everything waiting is retried (as when a node comes back).
            m.state.rescan = true;
            m.state.job_dirty = true;
            m.state.kueue.dirty = true;
        }
        if ev.seeded {
            schedule_seeded(m, node, gpu, true, ctx);
        }
    }
}

/// For the no-progress guard: a failed GPU or link that a pending event brings back.
pub(super) fn parts_returning(m: &ClusterSim, parts: &PartRuntime) -> bool {
    let now = m.state.usage.last;
    parts.links_returning(now)
        || m.state.cluster.nodes.iter().enumerate().any(|(i, n)| {
            !n.failed_gpus.is_empty()
                && (0..n.gpu_free.len().min(MAX_FAULTY_GPU_INDEX as usize)).any(|g| {
                    n.failed_gpus.contains(g as u8) && parts.gpu_returns(i as u32, g as u8, now)
                })
        })
}

/// For the deadlock check: in `pool`, put back every failed GPU a pending event recovers.
pub(super) fn revive_returning(
    m: &ClusterSim,
    parts: &PartRuntime,
    pool: &mut crate::state::ClusterState,
) {
    let now = m.state.usage.last;
    for node in 0..pool.nodes.len() {
        let failed = pool.nodes[node].failed_gpus;
        if failed.is_empty() {
            continue;
        }
        for g in 0..pool.nodes[node]
            .gpu_free
            .len()
            .min(MAX_FAULTY_GPU_INDEX as usize)
        {
            let g = g as u8;
            if failed.contains(g) && parts.gpu_returns(node as u32, g, now) {
                pool.recover_gpu(node as u32, g);
            }
        }
    }
}

impl PartRuntime {
    /// The part faults' share of [`super::faults::FaultRuntime::hash_runtime`]: each GPU
    /// stream's position and pending seeded event, the time left before `until`, and the
    /// links that are down.
    pub(super) fn hash_runtime(&self, now: SimTime, h: &mut dyn std::hash::Hasher) {
        use std::hash::Hash;
        let mut h = h;
        h.write_u64(self.until.since(now).as_nanos());
        h.write_usize(self.rngs.len());
        for (i, rng) in self.rngs.iter().enumerate() {
            h.write_u128(rng.as_ref().map_or(u128::MAX, |r| r.get_word_pos()));
            let p = self.pending.get(i).copied().flatten();
            h.write_u8(p.map_or(0xff, |(_, fail)| u8::from(fail)));
        }
        self.uplinks_down.hash(&mut h);
        self.down_members.hash(&mut h);
        self.nics_down.hash(&mut h);
    }
}
