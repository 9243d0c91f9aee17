//! Controller-owned jobs ("slots"): 1-pod jobs appended to the workload that a controller
//! (the serving controller's replicas, the Ray autoscaler's workers) submits and withdraws
//! itself, never the trace.

use sim_core::{Ctx, SimDuration, SimTime};

use super::{ClusterSim, Event, JobPhase};

impl ClusterSim {
    /// Submit slot `job` now, to run for `remaining`: it is queued at the end of the
    /// instant, like a trace arrival.
    pub(super) fn submit_slot(&mut self, job: u32, remaining: SimDuration) {
        let js = &mut self.state.jobs[job as usize];
        js.phase = JobPhase::Waiting;
        js.remaining = remaining;
        self.state.submitted += 1;
        self.state.arrivals.push(job);
    }

    /// Withdraw slot `job`: it releases what it holds, leaves every queue and is free to be
    /// submitted again (with `remaining` left). A withdrawal is not a preemption: the
    /// counters stay as they were.
    pub(super) fn withdraw_slot(
        &mut self,
        job: u32,
        remaining: SimDuration,
        now: SimTime,
        ctx: &mut Ctx<'_, Event>,
    ) {
        let preemptions = self.state.preemptions;
        let evictions = self.state.jobs[job as usize].evictions;
        self.evict(job, now, ctx);
        self.state.preemptions = preemptions;
        self.state.job_queue.retain(|k| k.job != job);
        self.state.fresh_jobs.retain(|k| k.job != job);
        self.state.arrivals.retain(|&j| j != job);
        let js = &mut self.state.jobs[job as usize];
        js.evictions = evictions;
        js.phase = JobPhase::NotSubmitted;
        js.remaining = remaining;
        self.state.submitted = self.state.submitted.saturating_sub(1);
    }
}
