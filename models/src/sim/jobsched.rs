//! Job-level policies: whole jobs placed all-or-nothing, in an order set by a discipline.
//!
//! * `gang`: queue order (priority, arrival); any job that fits starts (best-effort FIFO).
//! * `fifo`: strict FCFS: stop at the first job that does not fit.
//! * `sjf`: shortest (oracle) runtime first; non-fitting jobs are skipped.
//! * `backfill`: EASY: FCFS from the head; when the head does not fit it gets a
//!   reservation at the "shadow" time when enough GPUs will have been freed by running jobs
//!   (by their known end times); later jobs start now only if they fit and either end
//!   before the shadow time or use only GPUs the head will not need.
//! * `tiresias`: discretised 2D-LAS on attained GPU-time with preemption: queues Q0…QK−1 by
//!   thresholds; at every event (or every `scheduling_interval`) the allocation is
//!   recomputed from Q0 down (strictly by queue entry within a queue, as the Tiresias
//!   simulator; `running-first` puts running jobs ahead), jobs not selected are preempted
//!   (suspended, resumed later with the service they attained).
//! * `volcano`: sessions every `session_period`; enqueue gate with overcommit (and queue
//!   capabilities); allocate queue by queue, smallest proportion share first (see
//!   `proportion`), jobs by priority then creation within a queue, each committed
//!   all-or-nothing, binpack scoring.

use sim_core::{Ctx, SimDuration, SimTime};

use super::proportion::{self, QueueAttr, Res, VolcanoQueues};
use super::{ClusterSim, Event, JobPhase, QueueKey};
use crate::scheduler::{PolicyKind, TiresiasQueueOrder};

const NS_PER_S: u128 = 1_000_000_000;

/// One pass of the job-level policy.
pub(super) fn cycle(m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
    let changed = m.state.job_dirty || m.state.rescan;
    if !changed {
        return;
    }
    let released = m.state.rescan;
    m.state.job_dirty = false;
    m.state.rescan = false;
    let fresh = std::mem::take(&mut m.state.fresh_jobs);
    match m.policy() {
        PolicyKind::Tiresias => tiresias(m, ctx),
        PolicyKind::Backfill => backfill(m, ctx),
        PolicyKind::Gang if !released => {
            // Nothing was released since the last pass, so only new arrivals can fit.
            let mut order: Vec<QueueKey> = fresh
                .into_iter()
                .filter(|k| m.state.job_queue.contains(k))
                .collect();
            order.sort_unstable();
            place_in_order(m, &order, false, ctx);
        }
        p => {
            let mut order: Vec<QueueKey> = m.state.job_queue.iter().copied().collect();
            if p == PolicyKind::Sjf {
                order.sort_by_key(|k| (m.workload.jobs[k.job as usize].duration, *k));
            }
            let strict = p == PolicyKind::Fifo;
            place_in_order(m, &order, strict, ctx);
        }
    }
}

/// Try each job in `order`; start those that fit. With `strict`, stop at the first that
/// does not. A gang shape that failed is not retried in this pass (resources only shrink).
fn place_in_order(m: &mut ClusterSim, order: &[QueueKey], strict: bool, ctx: &mut Ctx<'_, Event>) {
    let mut failed = std::collections::BTreeSet::new();
    for key in order {
        let shape = m.job_shape[key.job as usize];
        if failed.contains(&shape) {
            if strict {
                return;
            }
            continue;
        }
        if start_job(m, *key, ctx) {
            continue;
        }
        failed.insert(shape);
        if strict {
            return;
        }
    }
}

/// Place a queued job all-or-nothing and start it.
fn start_job(m: &mut ClusterSim, key: QueueKey, ctx: &mut Ctx<'_, Event>) -> bool {
    if !m.try_place_gang(key.job, ctx.chooser()) {
        return false;
    }
    m.state.job_queue.remove(&key);
    m.maybe_start(key.job, ctx);
    true
}

/// Expected end of a running job (its completion is known to the oracle).
fn expected_end(m: &ClusterSim, job: u32) -> SimTime {
    let js = &m.state.jobs[job as usize];
    js.run_since.unwrap_or(SimTime::ZERO) + js.remaining
}

fn backfill(m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    let order: Vec<QueueKey> = m.state.job_queue.iter().copied().collect();
    let mut i = 0;
    // FCFS while the head fits.
    while i < order.len() {
        if !start_job(m, order[i], ctx) {
            break;
        }
        i += 1;
    }
    if i >= order.len() {
        return;
    }
    let head = order[i].job;
    let head_need = m.workload.jobs[head as usize].gpu_milli();
    let total = m.spec.total_gpus() * 1000;
    let mut free = total - m.state.cluster.gpu_milli_allocated;
    // Shadow time: walk running jobs by expected end until the head's GPUs are free.
    let mut running: Vec<(SimTime, u32)> = m
        .state
        .running
        .iter()
        .map(|&k| (expected_end(m, k), k))
        .collect();
    running.sort_unstable();
    let mut freed = 0u64;
    let mut shadow = SimTime::MAX;
    let mut extra = 0u64;
    for (end, j) in running {
        freed += m.workload.jobs[j as usize].gpu_milli();
        if free + freed >= head_need {
            shadow = end;
            extra = free + freed - head_need;
            break;
        }
    }
    for key in &order[i + 1..] {
        let need = m.workload.jobs[key.job as usize].gpu_milli();
        let ends = now + m.state.jobs[key.job as usize].remaining;
        if need > free {
            continue;
        }
        let before_shadow = ends <= shadow;
        if !(before_shadow || need <= free.min(extra)) {
            continue;
        }
        if start_job(m, *key, ctx) {
            free -= need;
            if !before_shadow {
                extra -= need;
            }
        }
    }
}

/// Tiresias level of a job from its attained service.
fn level(m: &ClusterSim, job: u32) -> u8 {
    let attained_gpu_s = m.state.jobs[job as usize].attained / (1000 * NS_PER_S);
    m.config
        .tiresias
        .thresholds_gpu_s
        .iter()
        .take_while(|&&t| attained_gpu_s >= u128::from(t))
        .count() as u8
}

fn tiresias(m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    // Candidates: running jobs and queued ones, by (level, queue position), or with
    // `running-first` by (level, running first, queue position).
    let running_first = m.config.tiresias.queue_order == TiresiasQueueOrder::RunningFirst;
    let mut cands: Vec<(u8, bool, SimTime, u64, u32)> = Vec::new();
    for &k in m
        .state
        .running
        .iter()
        .chain(m.state.job_queue.iter().map(|q| &q.job))
    {
        let js = &m.state.jobs[k as usize];
        let running = js.phase == JobPhase::Running;
        cands.push((
            js.tiresias_level,
            running_first && !running,
            js.queue_ts,
            js.queue_seq,
            k,
        ));
    }
    cands.sort_unstable();
    let total = m.spec.total_gpus() * 1000;
    let mut budget = total;
    let mut keep = Vec::new();
    let mut start = Vec::new();
    for &(_, _, _, _, j) in &cands {
        let need = m.workload.jobs[j as usize].gpu_milli();
        let pending = m.state.jobs[j as usize].phase != JobPhase::Running;
        if need <= budget {
            budget -= need;
            if pending {
                start.push(j);
            } else {
                keep.push(j);
            }
        }
    }
    // Preempt running jobs that lost their place.
    let keep_set: std::collections::BTreeSet<u32> = keep.iter().copied().collect();
    for &j in cands.iter().map(|c| &c.4) {
        let running = m.state.jobs[j as usize].phase == JobPhase::Running;
        if running && !keep_set.contains(&j) {
            m.evict(j, now, ctx);
            m.enqueue_job(j, m.state.jobs[j as usize].queue_ts);
        }
    }
    for j in start {
        let key = m.job_key(j);
        if m.state.job_queue.contains(&key) {
            start_job(m, key, ctx);
        }
    }
    // The GPU-count budget above ignores fragmentation: a chosen job may not be placeable
    // (its pods need whole nodes that are not free), and jobs preempted for it would then
    // wait on an idle cluster with nothing left to wake them. Fill what is free, queued
    // jobs in Tiresias order (level, then queue position), so no job that fits is left
    // waiting at the end of a pass.
    let mut rest: Vec<(u8, SimTime, u64, QueueKey)> = m
        .state
        .job_queue
        .iter()
        .map(|k| {
            let js = &m.state.jobs[k.job as usize];
            (js.tiresias_level, js.queue_ts, js.queue_seq, *k)
        })
        .collect();
    rest.sort_unstable();
    let order: Vec<QueueKey> = rest.into_iter().map(|r| r.3).collect();
    place_in_order(m, &order, false, ctx);
    m.state.job_dirty = false;
    m.state.rescan = false;
}

/// Schedule the moment a running Tiresias job crosses its queue's threshold.
pub(super) fn schedule_demotion(m: &mut ClusterSim, job: u32, ctx: &mut Ctx<'_, Event>) {
    let js = &m.state.jobs[job as usize];
    let Some(&threshold) = m
        .config
        .tiresias
        .thresholds_gpu_s
        .get(js.tiresias_level as usize)
    else {
        return; // already in the last queue
    };
    let milli = u128::from(m.workload.jobs[job as usize].gpu_milli());
    if milli == 0 {
        return;
    }
    let target = u128::from(threshold) * 1000 * NS_PER_S;
    let left = target.saturating_sub(js.attained);
    let ns = left.div_ceil(milli);
    let generation = js.generation;
    if ns < u128::from(js.remaining.as_nanos()) {
        ctx.schedule_in(SimDuration(ns as u64), Event::Demote { job, generation });
    }
}

/// A running job crossed its threshold: account its service and move it down a queue.
pub(super) fn demote(m: &mut ClusterSim, job: u32, generation: u32, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    let milli = u128::from(m.workload.jobs[job as usize].gpu_milli());
    let seq = m.next_seq();
    {
        let js = &m.state.jobs[job as usize];
        if js.generation != generation || js.phase != JobPhase::Running {
            return;
        }
    }
    let on_net = m.net_bank_if_running(job, now);
    let js = &mut m.state.jobs[job as usize];
    if let Some(since) = js.run_since {
        let ran = now.since(since);
        js.attained += milli * u128::from(ran.as_nanos());
        if !on_net {
            js.remaining = SimDuration(js.remaining.0.saturating_sub(ran.0));
        }
        js.run_since = Some(now);
    }
    // Demotion appends the job to its new queue.
    js.queue_ts = now;
    js.queue_seq = seq;
    let lvl = level(m, job);
    m.state.jobs[job as usize].tiresias_level = lvl;
    m.state.job_dirty = true;
    schedule_demotion(m, job, ctx);
}

/// A Volcano session: enqueue, then allocate, queue by queue (the proportion plugin).
pub(super) fn volcano_session(m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
    let Some(vq) = m.volcano_queues.take() else {
        return;
    };
    volcano_session_with(m, &vq, ctx);
    m.volcano_queues = Some(vq);
}

/// A job's total request.
fn job_res(m: &ClusterSim, job: u32) -> Res {
    let mut r = Res::default();
    for p in &m.workload.jobs[job as usize].pods {
        r.add(&Res::of_pod(p));
    }
    r
}

fn volcano_session_with(m: &mut ClusterSim, vq: &VolcanoQueues, ctx: &mut Ctx<'_, Event>) {
    let nq = vq.defs.len();
    // The queues' figures: what their jobs hold and ask for.
    let mut attrs = vec![QueueAttr::default(); nq];
    let mut total = Res::default();
    for n in &m.spec.nodes {
        total.add(&Res([
            n.cpu_milli as f64,
            n.memory_mib as f64,
            f64::from(n.gpus) * 1000.0,
        ]));
    }
    let order: Vec<QueueKey> = m.state.job_queue.iter().copied().collect();
    for j in m
        .state
        .running
        .iter()
        .copied()
        .chain(order.iter().map(|k| k.job))
    {
        let a = &mut attrs[vq.job_queue[j as usize] as usize];
        a.active = true;
        let pods = &m.workload.jobs[j as usize].pods;
        for (p, ps) in pods.iter().zip(&m.state.jobs[j as usize].pods) {
            let r = Res::of_pod(p);
            a.request.add(&r);
            if ps.placement.is_some() {
                a.allocated.add(&r);
            }
        }
    }
    proportion::water_fill(&vq.defs, &mut attrs, total);

    // enqueue: Pending jobs become Inqueue while Σ minResources fits the overcommitted idle
    // (GPUs) and, when queues set capabilities or guarantees, their queue's real capability.
    let total_gpu = m.spec.total_gpus() as f64 * 1000.0;
    let idle =
        total_gpu * m.config.volcano.overcommit_factor - m.state.cluster.gpu_milli_allocated as f64;
    let mut inqueue = 0.0;
    let mut allowed: Vec<Vec<QueueKey>> = vec![Vec::new(); nq];
    for key in &order {
        let need = m.workload.jobs[key.job as usize].gpu_milli() as f64;
        if inqueue + need > idle {
            continue;
        }
        let q = vq.job_queue[key.job as usize] as usize;
        if vq.gated {
            let r = job_res(m, key.job);
            if !attrs[q].enqueueable(&r) {
                continue;
            }
            attrs[q].inqueue.add(&r);
        }
        inqueue += need;
        allowed[q].push(*key);
    }

    // allocate: the queue with the smallest share first (ties: the order they are listed);
    // an overused queue or one out of jobs leaves; otherwise its next job (priority, then
    // creation: the DRF share is 0 for every job not yet running) is tried and the queue
    // goes back with its new share. A gang shape that failed to fit is not retried.
    let mut next = vec![0usize; nq];
    let mut live: Vec<bool> = allowed.iter().map(|a| !a.is_empty()).collect();
    let mut failed = std::collections::BTreeSet::new();
    while let Some(q) = (0..nq)
        .filter(|&q| live[q])
        .min_by(|&a, &b| attrs[a].share.total_cmp(&attrs[b].share).then(a.cmp(&b)))
    {
        if attrs[q].overused() || next[q] >= allowed[q].len() {
            live[q] = false;
            continue;
        }
        let key = allowed[q][next[q]];
        next[q] += 1;
        let r = job_res(m, key.job);
        if m.config.volcano.queue_allocatable && !attrs[q].allocatable(&r) {
            continue;
        }
        let shape = m.job_shape[key.job as usize];
        if failed.contains(&shape) {
            continue;
        }
        if start_job(m, key, ctx) {
            attrs[q].allocated.add(&r);
            attrs[q].update_share();
        } else {
            failed.insert(shape);
        }
    }
}
