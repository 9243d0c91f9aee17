//! `k8s-gang`: upstream gang scheduling (KEP-4671, Kubernetes 1.35 alpha). Placed pods
//! wait at Permit for `minCount` (all pods) with a fixed per-group 5-minute deadline; no
//! PostFilter. When the deadline passes every waiting pod is rejected and returns to the
//! queue.

use std::sync::Arc;

use sim_core::Ctx;

use super::kube::{K8S_GANG_TIMEOUT, gang_permit};
use super::{Policy, PolicyTimer, Queueing, Registration, pod_cycle};
use crate::sim::{ClusterSim, Event, JobPhase, PodPhase, QueueKey};

pub const REGISTRATION: Registration = Registration {
    name: "k8s-gang",
    about: "KEP-4671 gang scheduling (alpha): Permit waits for the whole group, 5 min deadline",
    build: |_, _, _| Ok(Arc::new(K8sGang)),
};

/// The group's Permit deadline.
const PERMIT_TIMEOUT: u8 = 0;

#[derive(Debug)]
struct K8sGang;

impl Policy for K8sGang {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn gangs_at_permit(&self) -> bool {
        true
    }

    fn queueing(&self) -> Queueing {
        Queueing::Pods
    }

    fn permit(&self, m: &mut ClusterSim, job: u32, pod: u32, node: u32, ctx: &mut Ctx<'_, Event>) {
        gang_permit(m, job, pod, node, K8S_GANG_TIMEOUT, PERMIT_TIMEOUT, ctx);
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        pod_cycle(self, m, ctx);
        m.schedule_flush(ctx);
    }

    fn on_timer(&self, m: &mut ClusterSim, t: PolicyTimer, ctx: &mut Ctx<'_, Event>) {
        let job = t.job;
        let js = &m.state.jobs[job as usize];
        if Some(js.generation) != t.generation || js.phase != JobPhase::Waiting {
            return;
        }
        m.state.jobs[job as usize].permit_deadline = sim_core::TimerSlot::NONE;
        let now = ctx.now();
        let n = m.workload.jobs[job as usize].pods.len() as u32;
        m.note_gang_release(job, now);
        for p in 0..n {
            if m.state.jobs[job as usize].pods[p as usize].phase == PodPhase::Waiting {
                m.release(job, p);
                let seq = m.next_seq();
                let key = QueueKey {
                    neg_priority: m.neg_priority(job),
                    ts: now,
                    seq,
                    job,
                    pod: p,
                };
                m.state.pod_queue.insert(key);
            }
        }
        m.state.jobs[job as usize].generation += 1;
    }
}
