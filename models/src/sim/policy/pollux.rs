//! `pollux`: Pollux (Qiao et al., OSDI 2021) as its artefact simulates it (petuum/adaptdl
//! `simulator/pollux.py` and `simulator.py`, branch `osdi21-artifact`, commit `de25dcc`).
//! Training jobs only; every job is elastic and adapts its batch size
//! (`crate::elastic::adaptive`).
//!
//! Every round (`scheduler.scheduling_interval`, default 60 s, at its multiples after 0):
//! 1. Each running job is advanced to the round (its observed throughput refits its
//!    performance model; its batch size follows its predicted goodput).
//! 2. Allocations are chosen to maximise the artefact's objective: the power mean
//!    (p = −1) over the active jobs of each job's scaled speedup + 0.001, where the
//!    speedup is predicted goodput on (nodes, replicas) over the goodput of a fair share
//!    (⌈GPUs ÷ jobs⌉ replicas on ⌈nodes ÷ GPUs⌉ node), scaled by nodes ÷ GPUs, and a job
//!    whose allocation changes has it multiplied by max(age − restarts × delay, 0) ÷
//!    (age + delay). A job gets at most max(2 × the most replicas it has run on, 1), at
//!    most 64 and at most `max_batch_size ÷ min_local_bsz` replicas (`ncf`: 1); at most
//!    one job spanning several nodes may use a node.
//! 3. Jobs whose allocation changed restart (their `restart_delay`).
//!
//! Deviation (docs/elastic.md, docs/fidelity.md): the artefact searches allocations with
//! NSGA-II (pymoo, population 100, 100 generations, seeded by the last round's
//! population, unseeded randomness); Orrery optimises the same objective
//! deterministically: replica counts by greatest cost decrease per GPU (the power mean
//! with p = −1 is the sum of 1 ÷ (speedup + 0.001), separable over jobs), a job keeping
//! its exact allocation as an option free of the restart penalty; then placements packed
//! (kept jobs first, then largest first, best fit).

use std::sync::Arc;

use sim_core::{Ctx, SimDuration, SimTime};

use super::{Policy, PolicyState, Queueing, Registration};
use crate::elastic::adaptive::Speedup;
use crate::sim::{ClusterSim, Event, JobPhase};

pub const REGISTRATION: Registration = Registration {
    name: "pollux",
    about: "Pollux (OSDI'21 artefact): training jobs adapt batch size and replicas every round to maximise fair goodput",
    build: |config, _, _| {
        Ok(Arc::new(Pollux {
            every: super::optimus::interval(config)?,
        }))
    },
};

/// The power mean's exponent and offset (`p = -1`, `+ 1e-3` in `Problem._evaluate`).
const OFFSET: f64 = 1e-3;

/// The artefact's cap on replicas ("simulator can't handle more").
const MAX_REPLICAS: u32 = 64;

/// The round last decided (ns).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Decided {
    at: Option<u64>,
}

#[derive(Debug)]
struct Pollux {
    every: SimDuration,
}

impl Policy for Pollux {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Jobs
    }

    fn elastic(&self) -> bool {
        true
    }

    fn default_interval(&self) -> Option<SimDuration> {
        Some(self.every)
    }

    fn decides_every_round(&self) -> bool {
        true
    }

    fn adapts_batch(&self) -> Option<SimDuration> {
        Some(self.every)
    }

    fn initial_state(&self, _m: &ClusterSim) -> PolicyState {
        PolicyState::new(Decided::default())
    }

    /// One decision per round: the instant's later passes (after the round's own starts)
    /// leave it be.
    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now().as_nanos();
        let fresh = match m.state.policy.get_mut::<Decided>() {
            Some(d) if d.at == Some(now) => false,
            Some(d) => {
                d.at = Some(now);
                true
            }
            None => true,
        };
        if fresh {
            self.round(m, ctx);
        }
        m.state.job_dirty = false;
        m.state.rescan = false;
        m.state.fresh_jobs.clear();
    }

    /// Jobs are first considered at the first round at or after they arrive.
    fn attempted(&self, m: &ClusterSim, job: u32, now: SimTime) -> bool {
        m.workload.jobs[job as usize].submit < now
    }

    fn pending_reason(&self, m: &ClusterSim, _job: u32) -> Option<(String, String)> {
        Some((
            "pollux".into(),
            format!(
                "no GPU allocated: every {} Pollux shares the {} GPUs to maximise the jobs' fair goodput (power mean, p = -1); a job's first allocation is one GPU",
                self.every,
                m.spec.total_gpus()
            ),
        ))
    }

    fn ties_by_job_index(&self, _m: &ClusterSim) -> bool {
        true
    }
}

/// One active job in a round.
struct Cand {
    job: u32,
    speedup: Speedup,
    max_replicas: u32,
    /// Its nodes now, one per GPU, in node order (empty when it has none).
    base: Vec<u32>,
    /// Its (nodes, replicas) now.
    base_shape: (u32, u32),
    /// The factor on its speedup if its allocation changes.
    restart_factor: f64,
    /// Speedups of packed shapes by replicas (memo), and of its current allocation.
    packed: Vec<Option<f64>>,
    kept: Option<f64>,
}

/// A job's allocation option in the count phase.
#[derive(Clone, Copy, PartialEq)]
enum Choice {
    None,
    /// Its current allocation, unchanged.
    Keep,
    /// This many replicas on the fewest nodes.
    Packed(u32),
}

impl Cand {
    fn replicas(&self, c: Choice) -> u32 {
        match c {
            Choice::None => 0,
            Choice::Keep => self.base_shape.1,
            Choice::Packed(r) => r,
        }
    }
}

/// What the round sees of the cluster.
struct Shape {
    nodes: u32,
    gpus: u64,
    per_node: u32,
}

impl Shape {
    fn packed_nodes(&self, r: u32) -> u32 {
        r.div_ceil(self.per_node.max(1))
    }
    fn scale(&self) -> f64 {
        f64::from(self.nodes) / self.gpus.max(1) as f64
    }
}

/// The term a job adds to the minimised sum: 1 ÷ (scaled speedup + 0.001).
fn term(speedup: f64, scale: f64, factor: f64) -> f64 {
    1.0 / (speedup * scale * factor + OFFSET)
}

impl Pollux {
    fn cost(&self, sh: &Shape, c: &mut Cand, choice: Choice) -> f64 {
        match choice {
            Choice::None => term(0.0, 1.0, 1.0),
            Choice::Keep => {
                let (n, r) = c.base_shape;
                let s = *c.kept.get_or_insert_with(|| c.speedup.at(n, r));
                term(s, sh.scale(), 1.0)
            }
            Choice::Packed(r) => {
                let n = sh.packed_nodes(r);
                let slot = &mut c.packed[r as usize];
                let s = *slot.get_or_insert_with(|| c.speedup.at(n, r));
                term(s, sh.scale(), c.restart_factor)
            }
        }
    }

    fn round(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let now_s = now.as_nanos() / 1_000_000_000;
        let jobs = m.workload.jobs.len() as u32;
        // 1. Advance the running jobs to the round.
        let mut done = vec![false; jobs as usize];
        for j in 0..jobs {
            if m.state.jobs[j as usize].phase == JobPhase::Running {
                match m.training_checkpoint(j, now, ctx) {
                    Some(true) => done[j as usize] = true,
                    Some(false) => {}
                    None => {
                        if m.training_error.is_some() {
                            return;
                        }
                    }
                }
            }
        }
        let sh = Shape {
            nodes: m.spec.nodes.len() as u32,
            gpus: m.spec.total_gpus(),
            per_node: m.spec.nodes.iter().map(|n| n.gpus).max().unwrap_or(0),
        };
        // 2. The active jobs, in the artefact's order: least attained service first, then
        // earliest submitted.
        let mut order: Vec<(u64, SimTime, u32)> = Vec::new();
        for j in 0..jobs {
            let js = &m.state.jobs[j as usize];
            if !matches!(js.phase, JobPhase::Waiting | JobPhase::Running) || done[j as usize] {
                continue;
            }
            let spec = &m.workload.jobs[j as usize];
            if spec.submit > now {
                continue;
            }
            let Some(view) = m.adaptive_view(j) else {
                continue;
            };
            let attained = view.adaptive.map_or(0, |a| a.attained_gpu_s);
            order.push((attained, spec.submit, j));
        }
        order.sort_unstable();
        if order.is_empty() {
            return;
        }
        let fair_replicas = sh.gpus.div_ceil(order.len() as u64).min(u64::from(u32::MAX)) as u32;
        let fair_nodes = u64::from(sh.nodes).div_ceil(sh.gpus.max(1)).max(1) as u32;
        let mut cands: Vec<Cand> = Vec::with_capacity(order.len());
        for &(_, submit, j) in &order {
            let Some(view) = m.adaptive_view(j) else {
                continue;
            };
            let app = view.app;
            let (speedup, profiled, restarts) = match view.adaptive {
                Some(a) => (
                    a.speedup_fn(app, fair_nodes, fair_replicas),
                    a.max_profiled_replicas(),
                    a.restarts.unwrap_or(0),
                ),
                None => (
                    Speedup::Linear {
                        base_replicas: f64::from(fair_replicas.max(1)),
                    },
                    0,
                    0,
                ),
            };
            let pods = m.workload.jobs[j as usize].pods.len() as u32;
            let max_replicas = if app.profile.name == "ncf" {
                1
            } else {
                // max(2 × profiled, 1), at most 64 and what the largest batch allows.
                let cap = MAX_REPLICAS
                    .min(app.max_batch_size / app.min_local_bsz.max(1))
                    .max(1);
                profiled.saturating_mul(2).clamp(1, cap)
            }
            .min(pods)
            .min(sh.gpus.min(u64::from(u32::MAX)) as u32);
            let mut base: Vec<u32> = m.state.jobs[j as usize]
                .pods
                .iter()
                .filter_map(|p| p.placement.as_ref().map(|pl| pl.node))
                .collect();
            base.sort_unstable();
            let mut distinct = base.clone();
            distinct.dedup();
            let age = now_s.saturating_sub(submit.as_nanos() / 1_000_000_000) as f64;
            let delay = view.restart_s as f64;
            let restart_factor =
                ((age - f64::from(restarts) * delay).max(0.0) / (age + delay)).max(0.0);
            let restart_factor = if restart_factor.is_finite() {
                restart_factor
            } else {
                0.0
            };
            cands.push(Cand {
                job: j,
                speedup,
                max_replicas,
                base_shape: (distinct.len() as u32, base.len() as u32),
                base,
                restart_factor,
                packed: vec![None; max_replicas as usize + 1],
                kept: None,
            });
        }
        let choice = self.counts(&sh, &mut cands);
        let alloc = self.place(m, &sh, &mut cands, &choice);
        // 3. Apply: release every job whose allocation changed, then start them anew.
        let changed: Vec<usize> = (0..cands.len())
            .filter(|&i| alloc[i] != cands[i].base)
            .collect();
        for &i in &changed {
            let j = cands[i].job;
            if m.state.jobs[j as usize].phase == JobPhase::Running {
                m.release_job(j, now, ctx);
                let ts = m.state.jobs[j as usize].queue_ts;
                m.enqueue_job(j, ts);
            }
        }
        for &i in &changed {
            if !alloc[i].is_empty() && !m.start_on(cands[i].job, &alloc[i], ctx) {
                return;
            }
        }
    }

    /// Replica counts: from nothing, repeatedly the move of greatest cost decrease per GPU
    /// (to more replicas packed, or back to the job's current allocation), while GPUs
    /// remain and a move decreases the cost.
    fn counts(&self, sh: &Shape, cands: &mut [Cand]) -> Vec<Choice> {
        let mut choice = vec![Choice::None; cands.len()];
        let mut cost: Vec<f64> = vec![term(0.0, 1.0, 1.0); cands.len()];
        let mut free = sh.gpus;
        loop {
            let mut best: Option<(f64, usize, Choice)> = None;
            for i in 0..cands.len() {
                let r = cands[i].replicas(choice[i]);
                let mut consider = |this: &Self, c: &mut Cand, to: Choice| {
                    let r2 = c.replicas(to);
                    if r2 <= r || u64::from(r2 - r) > free {
                        return;
                    }
                    let gain = (cost[i] - this.cost(sh, c, to)) / f64::from(r2 - r);
                    if gain > 0.0 && best.is_none_or(|(g, _, _)| gain > g) {
                        best = Some((gain, i, to));
                    }
                };
                let c = &mut cands[i];
                if !c.base.is_empty() && choice[i] != Choice::Keep {
                    consider(self, c, Choice::Keep);
                }
                let top = u64::from(c.max_replicas).min(u64::from(r) + free) as u32;
                for r2 in r + 1..=top {
                    consider(self, c, Choice::Packed(r2));
                }
            }
            let Some((_, i, to)) = best else {
                break;
            };
            let (r, r2) = (cands[i].replicas(choice[i]), cands[i].replicas(to));
            free -= u64::from(r2 - r);
            cost[i] = self.cost(sh, &mut cands[i], to);
            choice[i] = to;
        }
        choice
    }

    /// Nodes for the counts: kept jobs keep theirs; the others, most replicas first, go
    /// packed (a job of at most a node's GPUs on the fullest node it fits; a larger one on
    /// free nodes, its remainder best fit), spread over the free GPUs of nodes without
    /// another multi-node job when packing fails (or on fewer replicas when that is
    /// better). One GPU per entry, in node order.
    fn place(
        &self,
        m: &ClusterSim,
        sh: &Shape,
        cands: &mut [Cand],
        choice: &[Choice],
    ) -> Vec<Vec<u32>> {
        let nodes = m.spec.nodes.len();
        let mut free: Vec<u32> = m.spec.nodes.iter().map(|n| n.gpus).collect();
        let mut multi = vec![false; nodes];
        let mut alloc: Vec<Vec<u32>> = vec![Vec::new(); cands.len()];
        for (i, c) in cands.iter().enumerate() {
            if choice[i] == Choice::Keep {
                for &n in &c.base {
                    free[n as usize] = free[n as usize].saturating_sub(1);
                }
                if c.base_shape.0 > 1 {
                    let mut d = c.base.clone();
                    d.dedup();
                    for n in d {
                        multi[n as usize] = true;
                    }
                }
                alloc[i].clone_from(&c.base);
            }
        }
        let mut order: Vec<usize> = (0..cands.len())
            .filter(|&i| matches!(choice[i], Choice::Packed(_)))
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(cands[i].replicas(choice[i])));
        for i in order {
            let r = cands[i].replicas(choice[i]);
            let mut got = self.packed(&free, &multi, sh.per_node, r);
            if got.is_none() {
                // Spread over nodes without another multi-node job, or fewer replicas on
                // one node: whichever costs less.
                let spread = spread(&free, &multi, r);
                let single = (0..nodes)
                    .filter(|&n| free[n] > 0)
                    .max_by_key(|&n| (free[n], std::cmp::Reverse(n)))
                    .map(|n| vec![(n, free[n].min(r))]);
                let cost_of = |p: &Vec<(usize, u32)>, c: &mut Cand| {
                    let r: u32 = p.iter().map(|x| x.1).sum();
                    if r == 0 {
                        return term(0.0, 1.0, 1.0);
                    }
                    let s = c.speedup.at(p.len() as u32, r);
                    term(s, sh.scale(), c.restart_factor)
                };
                got = match (spread, single) {
                    (Some(a), Some(b)) => {
                        if cost_of(&a, &mut cands[i]) <= cost_of(&b, &mut cands[i]) {
                            Some(a)
                        } else {
                            Some(b)
                        }
                    }
                    (a, b) => a.or(b),
                };
            }
            let Some(p) = got else {
                continue;
            };
            let mut p = p;
            p.sort_unstable();
            if p.len() > 1 {
                for &(n, _) in &p {
                    multi[n] = true;
                }
            }
            for (n, g) in p {
                free[n] -= g;
                alloc[i].extend(std::iter::repeat_n(n as u32, g as usize));
            }
        }
        alloc
    }

    /// `r` GPUs on the fewest nodes: within one node (the fullest that fits), or whole
    /// free nodes without a multi-node job plus the remainder best fit on one more.
    fn packed(
        &self,
        free: &[u32],
        multi: &[bool],
        per_node: u32,
        r: u32,
    ) -> Option<Vec<(usize, u32)>> {
        let best_fit = |need: u32, skip: &[usize], only_single: bool| {
            (0..free.len())
                .filter(|&n| free[n] >= need && !skip.contains(&n) && !(only_single && multi[n]))
                .min_by_key(|&n| (free[n], n))
        };
        if r <= per_node {
            return best_fit(r, &[], false).map(|n| vec![(n, r)]);
        }
        let whole = r / per_node;
        let rest = r % per_node;
        let full: Vec<usize> = (0..free.len())
            .filter(|&n| free[n] == per_node && !multi[n])
            .take(whole as usize)
            .collect();
        if full.len() < whole as usize {
            return None;
        }
        let mut out: Vec<(usize, u32)> = full.iter().map(|&n| (n, per_node)).collect();
        if rest > 0 {
            let n = best_fit(rest, &full, true)?;
            out.push((n, rest));
        }
        Some(out)
    }
}

/// `r` GPUs from the nodes without a multi-node job, most free first (ties: lowest
/// index); `None` when they have fewer.
fn spread(free: &[u32], multi: &[bool], r: u32) -> Option<Vec<(usize, u32)>> {
    let mut nodes: Vec<usize> = (0..free.len())
        .filter(|&n| free[n] > 0 && !multi[n])
        .collect();
    nodes.sort_by_key(|&n| (std::cmp::Reverse(free[n]), n));
    let mut out = Vec::new();
    let mut left = r;
    for n in nodes {
        if left == 0 {
            break;
        }
        let g = free[n].min(left);
        out.push((n, g));
        left -= g;
    }
    (left == 0).then_some(out)
}
