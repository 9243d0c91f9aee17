//! Ray outputs of `orrery run` (only when the run has autoscaled Ray clusters): `ray.csv`,
//! a row per thing the clusters did (docs/ray.md).

use models::RayReport;

use crate::autoscaler::csv_out;
use crate::write::{ReportError, secs};

/// `ray.csv`: `time_s,cluster,event,node,task`. Events: `cluster-created`, `cluster-up`
/// (the head runs: the autoscaler starts), `job-submitted` (the head and the first workers
/// run), `worker-created`, `worker-ready`, `worker-deleted`, `task-submitted`,
/// `task-started`, `task-finished`, `job-finished`.
pub fn ray_csv(r: &RayReport) -> Result<Vec<u8>, ReportError> {
    csv_out(
        "ray.csv",
        &["time_s", "cluster", "event", "node", "task"],
        r.records.iter().map(|x| {
            vec![
                secs(x.time.as_nanos()),
                x.cluster.clone(),
                x.event.to_string(),
                x.node.clone(),
                x.task.map(|t| t.to_string()).unwrap_or_default(),
            ]
        }),
    )
}
