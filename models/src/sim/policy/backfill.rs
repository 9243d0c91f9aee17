//! `backfill`: EASY backfilling. FCFS from the head; when the head does not fit it gets a
//! reservation at the "shadow" time when enough GPUs will have been freed by running jobs
//! (by their known end times); later jobs start now only if they fit and either end before
//! the shadow time or use only GPUs the head will not need. Runtimes are the oracle's (the
//! trace's durations).

use std::sync::Arc;

use sim_core::{Ctx, SimTime};

use super::jobs::take_changes;
use super::{Policy, Queueing, Registration, start_job};
use crate::sim::{ClusterSim, Event, QueueKey};

pub const REGISTRATION: Registration = Registration {
    name: "backfill",
    about: "all-or-nothing gangs with EASY backfilling (oracle runtimes)",
    build: |_, _, _| Ok(Arc::new(Backfill)),
};

#[derive(Debug)]
struct Backfill;

impl Policy for Backfill {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Jobs
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        if take_changes(m).is_some() {
            backfill(m, ctx);
        }
    }

    /// Running jobs with equal end times tie by job index.
    fn ties_by_job_index(&self, _m: &ClusterSim) -> bool {
        true
    }
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

