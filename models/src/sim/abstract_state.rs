//! A time-invariant fingerprint of a run's state, for the verifier.
//!
//! Two states with the same fingerprint behave the same from then on, up to a shift in
//! time: the verifier uses it to skip schedules that reach a state it has already explored,
//! and to recognise a run that comes back to where it was (a cycle it can repeat for ever).
//! It therefore leaves out what only feeds the reports (usage integrals, start times,
//! counters) and what is only a handle (timer ids, generations), and it replaces absolute
//! times by offsets from now and queue timestamps by their relative order.

use std::hash::{DefaultHasher, Hash, Hasher};

use sim_core::{SimTime, TimerId};

use super::{ClusterSim, Event, JobPhase};
use crate::scheduler::PolicyKind;

impl ClusterSim {
    /// Fingerprint of the state at `now` with `pending` events (as `EventQueue::pending`
    /// gives them), relative to `now`; `horizon` when the run has one.
    pub fn abstract_hash(
        &self,
        now: SimTime,
        pending: &[(SimTime, TimerId, &Event)],
        horizon: Option<SimTime>,
    ) -> u64 {
        let mut h = DefaultHasher::new();
        let st = &self.state;
        st.cluster.hash(&mut h);
        let tiresias = self.policy() == PolicyKind::Tiresias;
        let requeue_cap = self.requeue_cap();
        for (j, js) in st.jobs.iter().enumerate() {
            let code: u8 = match js.phase {
                JobPhase::NotSubmitted => 0,
                JobPhase::Waiting => 1,
                JobPhase::Running => 2,
                JobPhase::Completed { .. } => 3,
            };
            code.hash(&mut h);
            if code == 3 {
                continue;
            }
            js.pods.hash(&mut h);
            (js.assumed, js.bound, js.admitted, js.deactivated).hash(&mut h);
            js.permit_deadline.is_some().hash(&mut h);
            js.requeues.min(requeue_cap).hash(&mut h);
            js.tiresias_level.hash(&mut h);
            let ran = js.run_since.map_or(0, |s| now.since(s).as_nanos());
            js.remaining.as_nanos().saturating_sub(ran).hash(&mut h);
            if tiresias {
                let milli = self.workload.jobs[j].gpu_milli();
                (js.attained + u128::from(milli) * u128::from(ran)).hash(&mut h);
            }
        }
        // Queue positions: only their order matters (new entries go behind).
        let mut rank: Vec<(i64, SimTime, u64, u32)> = st
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, js)| js.phase == JobPhase::Waiting)
            .map(|(j, js)| {
                (
                    self.neg_priority(j as u32),
                    js.queue_ts,
                    js.queue_seq,
                    j as u32,
                )
            })
            .collect();
        rank.sort_unstable();
        rank.iter().for_each(|r| r.3.hash(&mut h));
        0xfeu8.hash(&mut h);
        st.pod_queue
            .iter()
            .for_each(|k| (k.job, k.pod).hash(&mut h));
        0xfdu8.hash(&mut h);
        st.job_queue.iter().for_each(|k| k.job.hash(&mut h));
        st.arrivals.hash(&mut h);
        st.fresh.iter().for_each(|k| (k.job, k.pod).hash(&mut h));
        st.fresh_jobs.iter().for_each(|k| k.job.hash(&mut h));
        (
            st.rescan,
            st.job_dirty,
            st.next_start_node,
            st.session_scheduled,
            st.flush_scheduled,
            st.retry_after_backoff,
        )
            .hash(&mut h);
        let k = &st.kueue;
        k.queues.iter().for_each(|q| q.usage.hash(&mut h));
        let mut adm: Vec<(SimTime, u64, u32)> = k
            .admitted_at
            .iter()
            .map(|(&j, &(t, s))| (t, s, j))
            .collect();
        adm.sort_unstable();
        adm.iter().for_each(|a| a.2.hash(&mut h));
        (&k.inadmissible, k.dirty).hash(&mut h);
        // Pending events that still matter, as offsets from now.
        0xfcu8.hash(&mut h);
        for (t, _, ev) in pending {
            let live =
                |job: u32, generation: u32| self.state.jobs[job as usize].generation == generation;
            let dt = t.since(now).as_nanos();
            match **ev {
                Event::Submit(j) => (dt, 0u8, j).hash(&mut h),
                Event::Complete { job, generation } if live(job, generation) => {
                    (dt, 1u8, job).hash(&mut h)
                }
                Event::PermitTimeout { job, generation } if live(job, generation) => {
                    (dt, 2u8, job).hash(&mut h)
                }
                Event::PodsReadyTimeout { job, generation } if live(job, generation) => {
                    (dt, 3u8, job).hash(&mut h)
                }
                Event::Demote { job, generation } if live(job, generation) => {
                    (dt, 4u8, job).hash(&mut h)
                }
                Event::Requeue(j) => (dt, 5u8, j).hash(&mut h),
                Event::Session => (dt, 6u8).hash(&mut h),
                Event::Flush => (dt, 7u8).hash(&mut h),
                _ => {} // stale timer: has no effect when it fires
            }
        }
        horizon.map(|t| t.since(now).as_nanos()).hash(&mut h);
        h.finish()
    }

    /// Could this state recur later in the run? Not while a job runs (its remaining time
    /// counts down) or a job is still to arrive (its arrival comes closer).
    pub fn could_repeat(&self) -> bool {
        self.state.running.is_empty() && self.state.submitted as usize == self.state.jobs.len()
    }

    /// Requeue counts beyond this give the same backoff (Kueue's cap), unless a limit
    /// count makes every count matter.
    fn requeue_cap(&self) -> u32 {
        let w = &self.config.kueue.wait_for_pods_ready;
        if w.backoff_limit_count.is_some() {
            return u32::MAX;
        }
        let (base, max) = (w.backoff_base.as_nanos().max(1), w.backoff_max.as_nanos());
        let mut n = 1u32;
        while n < 63 && base.saturating_mul(1u64 << (n - 1)) < max {
            n += 1;
        }
        n
    }
}
