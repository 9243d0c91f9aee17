//! `coscheduling`: scheduler-plugins Coscheduling (v0.34.7). A job is a PodGroup with
//! minMember = all its pods.
//!
//! * QueueSort keeps a group's pods back to back, ordered by the group's timestamp
//!   (creation, or last failure).
//! * Permit: placed pods wait, holding their resources, until the whole group is placed.
//! * PostFilter rejects the group's waiters when a member cannot be placed and more than
//!   `reject_percentage` of the group is missing.
//! * The group's Permit deadline (`schedule_timeout` after its first pod started waiting)
//!   releases them otherwise.

use std::sync::Arc;

use sim_core::{Ctx, SimTime};

use super::kube::gang_permit;
use super::{Policy, PolicyTimer, Queueing, Registration, pod_cycle};
use crate::scheduler::CoschedulingArgs;
use crate::sim::{ClusterSim, Event, JobPhase, PodPhase, QueueKey};

pub const REGISTRATION: Registration = Registration {
    name: "coscheduling",
    about: "scheduler-plugins Coscheduling: PodGroups wait at Permit, PostFilter rejects",
    build: |config, _, _| {
        Ok(Arc::new(Coscheduling {
            args: config.coscheduling.clone(),
        }))
    },
};

/// The group's Permit deadline.
const PERMIT_TIMEOUT: u8 = 0;

#[derive(Debug)]
struct Coscheduling {
    args: CoschedulingArgs,
}

impl Policy for Coscheduling {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn gangs_at_permit(&self) -> bool {
        true
    }

    fn queueing(&self) -> Queueing {
        Queueing::Pods
    }

    fn queue_sort(&self, m: &mut ClusterSim, job: u32, pod: u32, _ts: SimTime) -> QueueKey {
        let js = &m.state.jobs[job as usize];
        QueueKey {
            neg_priority: m.neg_priority(job),
            ts: js.queue_ts,
            seq: js.queue_seq,
            job,
            pod,
        }
    }

    fn groups_pods(&self) -> bool {
        true
    }

    fn permit(&self, m: &mut ClusterSim, job: u32, pod: u32, node: u32, ctx: &mut Ctx<'_, Event>) {
        let timeout = self.args.schedule_timeout;
        gang_permit(m, job, pod, node, timeout, PERMIT_TIMEOUT, ctx);
    }

    fn post_filter(&self, m: &mut ClusterSim, key: QueueKey, now: SimTime) {
        let job = key.job;
        let n = m.workload.jobs[job as usize].pods.len() as u64;
        let assumed = u64::from(m.state.jobs[job as usize].assumed);
        if self.args.post_filter_rejects(assumed, n) {
            reject_group(m, job, now); // re-queues every pending pod of the group
        } else {
            m.state.pod_queue.insert(key);
        }
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        pod_cycle(self, m, ctx);
        m.schedule_flush(ctx);
    }

    fn on_timer(&self, m: &mut ClusterSim, t: PolicyTimer, ctx: &mut Ctx<'_, Event>) {
        let js = &m.state.jobs[t.job as usize];
        if Some(js.generation) != t.generation || js.phase != JobPhase::Waiting {
            return;
        }
        m.state.jobs[t.job as usize].permit_deadline = sim_core::TimerSlot::NONE;
        reject_group(m, t.job, ctx.now());
    }
}

/// Reject every waiting pod of a group: release their reservations and put the whole group
/// back in the queue behind newer equal-priority groups (its failure time is "now").
fn reject_group(m: &mut ClusterSim, job: u32, now: SimTime) {
    let n = m.workload.jobs[job as usize].pods.len() as u32;
    if m.state.jobs[job as usize].assumed > 0 {
        m.note_gang_release(job, now);
    }
    for p in 0..n {
        if m.state.jobs[job as usize].pods[p as usize].phase == PodPhase::Waiting {
            m.release(job, p);
        }
    }
    let seq = m.next_seq();
    let js = &mut m.state.jobs[job as usize];
    js.permit_deadline = sim_core::TimerSlot::NONE; // its timer, if any, is now stale (generation bumps below)
    js.generation += 1;
    js.queue_ts = now;
    js.queue_seq = seq;
    m.state.pod_queue.retain(|k| k.job != job);
    for p in 0..n {
        if m.state.jobs[job as usize].pods[p as usize].phase == PodPhase::Pending {
            m.enqueue_pod_quietly(job, p, now);
        }
    }
}
