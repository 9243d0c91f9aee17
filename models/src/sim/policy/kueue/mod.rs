//! `kueue`: Kueue (v0.19.2) quota admission of whole workloads in front of the default
//! kube-scheduler. A submitted job waits in the job queue (suspended) until admission
//! reserves quota for it ([`admission`]); its pods then reach kube-scheduler, which places
//! them one at a time with the default Permit (Kueue is not a gang scheduler). Timers:
//! `waitForPodsReady`'s timeout and the requeue after backoff.

pub mod admission;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sim_core::{Ctx, SimTime};

use super::{Policy, PolicyTimer, Queueing, Registration, pod_cycle};
use crate::scheduler::{KueueConfig, ReclaimWithinCohort, WithinClusterQueue};
use crate::sim::{ClusterSim, Event};

pub const REGISTRATION: Registration = Registration {
    name: "kueue",
    about: "Kueue: ClusterQueue quota admission (cohorts, borrowing, preemption) + kube-scheduler",
    build: |config, _, _| {
        Ok(Arc::new(Kueue {
            config: config.kueue.clone(),
        }))
    },
};

/// `waitForPodsReady.timeout` after admission.
pub(super) const PODS_READY_TIMEOUT: u8 = 0;
/// The requeue backoff of an evicted workload is over.
pub(super) const REQUEUE: u8 = 1;

#[derive(Debug)]
struct Kueue {
    config: KueueConfig,
}

impl Policy for Kueue {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Jobs
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        admission::admit(m, ctx);
        pod_cycle(self, m, ctx);
        // blockAdmission: a workload that became ready in this cycle unblocks admission at
        // once (same instant), not at the next event.
        let bound = m.workload.jobs.len() + 1;
        for _ in 0..bound {
            if !m.state.kueue.blocked || admission::any_admitted_not_ready(m) {
                break;
            }
            m.state.kueue.dirty = true;
            admission::admit(m, ctx);
            pod_cycle(self, m, ctx);
        }
        m.schedule_flush(ctx);
    }

    fn on_timer(&self, m: &mut ClusterSim, t: PolicyTimer, ctx: &mut Ctx<'_, Event>) {
        match (t.kind, t.generation) {
            (PODS_READY_TIMEOUT, Some(g)) => admission::pods_ready_timeout(m, t.job, g, ctx),
            _ => admission::requeue(m, t.job, ctx.now()),
        }
    }

    /// Only an admitted workload has pods for kube-scheduler to try.
    fn attempted(&self, m: &ClusterSim, job: u32, _now: SimTime) -> bool {
        m.state.jobs[job as usize].admitted
    }

    /// A workload without quota: Kueue's message on its `QuotaReserved=False` condition.
    fn pending_reason(&self, m: &ClusterSim, job: u32) -> Option<(String, String)> {
        admission::pending_reason(m, job)
    }

    fn on_finished(&self, m: &mut ClusterSim, job: u32) {
        admission::on_finished(m, job);
    }

    /// With `waitForPodsReady`, a workload whose pods failed is evicted and requeued after
    /// the backoff (v0.19.2 `reconcileNotReadyTimeout`); without it Kueue evicts nothing:
    /// the workload keeps its admission and its pods are recreated.
    fn restart(&self, m: &mut ClusterSim, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
        if self.config.wait_for_pods_ready.enable && m.state.jobs[job as usize].admitted {
            admission::evict_after_failure(m, job, now, ctx);
        } else {
            m.evict(job, now, ctx);
            m.recreate_pods(job, now);
        }
    }

    /// Preemption orders candidates by admission time, then job index.
    fn ties_by_job_index(&self, _m: &ClusterSim) -> bool {
        self.config.cluster_queues.iter().any(|q| {
            q.preemption.within_cluster_queue != WithinClusterQueue::Never
                || q.preemption.reclaim_within_cohort != ReclaimWithinCohort::Never
        })
    }

    /// Admission retries on its own when quota frees; a job pending at the end is
    /// explained by its ClusterQueue, not by "retried only on change".
    fn retries_only_on_change(&self) -> bool {
        false
    }

    /// The queues' usage, the admitted workloads in admission order (preemption picks the
    /// most recently admitted), the inadmissible set and whether admission must run again.
    fn hash_state(
        &self,
        m: &ClusterSim,
        _now: SimTime,
        relabel: &dyn Fn(u32) -> u32,
        mut h: &mut dyn Hasher,
    ) {
        let k = &m.state.kueue;
        k.queues.iter().for_each(|q| q.usage.hash(&mut h));
        let mut adm: Vec<(SimTime, u64, u32)> = k
            .admitted_at
            .iter()
            .map(|(&j, &(t, s))| (t, s, j))
            .collect();
        adm.sort_unstable();
        adm.iter().for_each(|a| relabel(a.2).hash(&mut h));
        k.inadmissible.iter().for_each(|&j| relabel(j).hash(&mut h));
        k.dirty.hash(&mut h);
    }
}
