//! Jobs deleted at a time (`workload.jobs[].delete_at`): the job's pods are deleted
//! whatever their state, as `kubectl delete` does in the KAR test plans (a running pod is
//! terminated, a Pending one leaves the queue). A job without a run time
//! (`JobSpec::duration == NO_RUN_TIME`) runs until it is deleted or the horizon.
//!
//! A deleted job ends in `JobPhase::Completed { end: deletion time }` with run time left
//! (`remaining > 0`): that is what tells it from a completed one (`Outcome::Deleted`),
//! and it is plain `SimState`, so the verifier sees deletions like any other state. A job
//! with no run time left when it is deleted (deleted at the very instant its run time runs
//! out, or of zero run time) is reported completed.

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, SimDuration, SimTime};

use super::{ClusterSim, Event, JobPhase, ModelError};
use crate::workload::Workload;

/// The run time of a job that runs until it is deleted or the run ends (146 years).
pub const NO_RUN_TIME: SimDuration = SimDuration(u64::MAX / 4);

/// Delete job `job` (its id) at `at`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobDeletion {
    pub job: String,
    pub at: SimTime,
}

/// Resolve the deletions against the workload: (time, job index), in the given order.
pub(super) fn resolve(
    deletions: &[JobDeletion],
    workload: &Workload,
) -> Result<Vec<(SimTime, u32)>, ModelError> {
    let mut out = Vec::with_capacity(deletions.len());
    for (i, d) in deletions.iter().enumerate() {
        let bad = |msg: String| ModelError::Config {
            field: format!("deletions[{i}]"),
            msg,
        };
        let Some(j) = workload.jobs.iter().position(|j| j.id == d.job) else {
            return Err(bad(format!("no job {:?}", d.job)));
        };
        let submit = workload.jobs[j].submit;
        if d.at < submit {
            return Err(bad(format!(
                "job {:?} is deleted at {} before it is submitted at {submit}",
                d.job, d.at
            )));
        }
        out.push((d.at, j as u32));
    }
    Ok(out)
}

impl ClusterSim {
    /// The deletion events (scheduled after the submissions, so a job deleted at its
    /// submit instant is submitted first).
    pub fn deletion_events(&self) -> Vec<(SimTime, Event)> {
        self.deletions
            .iter()
            .map(|&(at, j)| (at, Event::Delete(j)))
            .collect()
    }

    /// The run deletes jobs at listed times (they can tie with other events).
    pub fn has_deletions(&self) -> bool {
        !self.deletions.is_empty()
    }

    /// Delete `job` now: stop it, release and dequeue its pods, and end it.
    pub(super) fn delete_job(&mut self, job: u32, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let j = job as usize;
        if !matches!(
            self.state.jobs[j].phase,
            JobPhase::Waiting | JobPhase::Running
        ) {
            return;
        }
        // Not a preemption: the counters stay as they were.
        let (preemptions, evictions) = (self.state.preemptions, self.state.jobs[j].evictions);
        self.evict(job, now, ctx);
        self.state.preemptions = preemptions;
        self.state.job_queue.retain(|k| k.job != job);
        self.state.fresh_jobs.retain(|k| k.job != job);
        self.state.arrivals.retain(|&x| x != job);
        let submit = self.workload.jobs[j].submit;
        self.state.detect.never_started.remove(&(submit, job));
        let js = &mut self.state.jobs[j];
        js.evictions = evictions;
        js.phase = JobPhase::Completed { end: now };
        self.state.rescan = true;
        self.state.job_dirty = true;
        self.note_progress();
        let policy = std::sync::Arc::clone(&self.policy);
        policy.on_finished(self, job);
    }
}
