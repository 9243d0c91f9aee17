//! Inline jobs' `delete_at` and jobs without a `duration` (docs/scenario-format.md,
//! `workload.jobs`): the main model's job deletions (`models::JobDeletion`).

use models::JobDeletion;
use sim_core::{SimDuration, SimTime};

use crate::scenario::{InlineJob, ScenarioError};

/// The deletions of the inline jobs, checked: a job is deleted no earlier than it is
/// submitted, and a job without a run time needs a `delete_at` or a horizon (it runs
/// until one of them).
pub fn build(
    path: &str,
    jobs: &[InlineJob],
    horizon: Option<SimDuration>,
) -> Result<Vec<JobDeletion>, ScenarioError> {
    let invalid = |field: String, msg: String| ScenarioError::Invalid {
        path: path.to_string(),
        field,
        msg,
    };
    let mut out = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        if j.duration.is_none() && j.delete_at.is_none() && horizon.is_none() {
            return Err(invalid(
                format!("workload.jobs[{i}].duration"),
                "required unless the job has a delete_at or the scenario a horizon (a job without a run time runs until it is deleted or the horizon)".into(),
            ));
        }
        if let Some(at) = j.delete_at {
            if at < j.submit {
                return Err(invalid(
                    format!("workload.jobs[{i}].delete_at"),
                    format!("{at} is before the job's submit time {}", j.submit),
                ));
            }
            out.push(JobDeletion {
                job: j.id.clone(),
                at: SimTime::ZERO + at,
            });
        }
    }
    Ok(out)
}
