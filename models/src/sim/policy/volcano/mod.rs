//! `volcano`: Volcano's scheduler (v1.15.1) reduced to GPU jobs. Sessions every
//! `session_period`; each session runs
//!
//! * **enqueue**: Pending jobs become Inqueue while their minResources fit the
//!   overcommitted idle capacity (and, when queues set capabilities or guarantees, their
//!   queue's real capability);
//! * **allocate**: queue by queue, smallest proportion share first (see [`proportion`]),
//!   jobs by priority then creation within a queue, each gang (minAvailable = all pods)
//!   committed all-or-nothing, with binpack scoring (the profile's MostAllocated).

pub mod proportion;

use std::sync::Arc;

use sim_core::Ctx;

use super::jobs::start_job;
use super::{Policy, PolicyTimer, Queueing, Registration};
use crate::scheduler::{FitStrategy, Profile, Resource, SchedulerConfig};
use crate::sim::{ClusterSim, Event, QueueKey};
use proportion::{QueueAttr, Res, VolcanoQueues};

pub const REGISTRATION: Registration = Registration {
    name: "volcano",
    about: "Volcano: periodic sessions, gangs, proportion queues, binpack",
    build: |config, _, workload| {
        Ok(Arc::new(Volcano {
            queues: VolcanoQueues::new(&config.volcano, workload)?,
            // `scheduling_interval` is Volcano's own session period when given.
            period: config
                .scheduling_interval
                .unwrap_or(config.volcano.session_period),
        }))
    },
};

/// The next session.
const SESSION: u8 = 0;

#[derive(Debug)]
struct Volcano {
    /// The queues and each job's queue.
    queues: VolcanoQueues,
    period: sim_core::SimDuration,
}

impl Policy for Volcano {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Jobs
    }

    /// Volcano scores with its binpack plugin (MostAllocated over cpu, memory and GPUs)
    /// plus nodeorder's balanced-resource.
    fn profile(&self, config: &SchedulerConfig) -> Profile {
        let binpack = vec![(Resource::Cpu, 1), (Resource::Memory, 1), (Resource::Gpu, 1)];
        config.profile_with(FitStrategy::MostAllocated, binpack)
    }

    /// Jobs' queue names are Volcano queues once `volcano.queues` lists some; before that
    /// they stay Kueue's (a scenario compared under both policies runs as before).
    fn queue_names_are_kueue(&self, config: &SchedulerConfig) -> bool {
        config.volcano.queues.is_empty()
    }

    fn keeps_rounds(&self) -> bool {
        true
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        if m.state.job_dirty || m.state.rescan {
            m.schedule_round(self.period, SESSION, ctx);
        }
    }

    /// A job is first tried at the next session, after the instant it arrived.
    fn attempted(&self, m: &ClusterSim, job: u32, now: sim_core::SimTime) -> bool {
        m.workload.jobs[job as usize].submit < now
    }

    fn on_timer(&self, m: &mut ClusterSim, _t: PolicyTimer, ctx: &mut Ctx<'_, Event>) {
        m.state.session_scheduled = false;
        m.state.fresh_jobs.clear();
        m.state.job_dirty = false;
        m.state.rescan = false;
        session(m, &self.queues, ctx);
    }
}

/// A job's total request.
fn job_res(m: &ClusterSim, job: u32) -> Res {
    let mut r = Res::default();
    for p in &m.workload.jobs[job as usize].pods {
        r.add(&Res::of_pod(p));
    }
    r
}

fn session(m: &mut ClusterSim, vq: &VolcanoQueues, ctx: &mut Ctx<'_, Event>) {
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
