//! Workloads: jobs made of pods.
//!
//! A job with several pods is a gang: it makes progress only while all of its pods run.
//! Its runtime (from the trace) starts when the last pod is bound.

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

use crate::resources::PodRequest;

/// One job as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobSpec {
    /// Stable, unique id (from the trace, prefixed when several traces are merged).
    pub id: String,
    pub submit: SimTime,
    /// Run time once every pod is running.
    pub duration: SimDuration,
    /// The pods; never empty.
    pub pods: Vec<PodRequest>,
    /// Pod priority (`spec.priority`): higher is scheduled first.
    pub priority: i32,
    /// Queue the job is submitted to (Kueue LocalQueue → ClusterQueue); `None` = the first.
    pub queue: Option<String>,
}

impl JobSpec {
    /// Total GPU amount of the job in thousandths of a GPU.
    pub fn gpu_milli(&self) -> u64 {
        self.pods.iter().map(|p| p.gpu.total_milli()).sum()
    }

    /// GPU-hours the trace asks for (GPUs × duration).
    pub fn gpu_hours(&self) -> f64 {
        self.gpu_milli() as f64 / 1000.0 * self.duration.as_secs_f64() / 3600.0
    }
}

/// A workload: jobs in submission order (ties keep input order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Workload {
    pub jobs: Vec<JobSpec>,
}

impl Workload {
    /// Sort by submit time, stably, so equal submit times keep the input order.
    pub fn sort_by_submit(&mut self) {
        self.jobs.sort_by_key(|j| j.submit);
    }
}
