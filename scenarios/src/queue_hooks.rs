//! The scenario loader's one call into the queue and scheduler-configuration readers that
//! came after Kueue's queues (`scheduler.config`, `scheduler.coscheduling.manifests`,
//! `scheduler.volcano.manifests`), in the order they depend on each other: the
//! KubeSchedulerConfiguration sets Coscheduling's `permitWaitingTimeSeconds` before the
//! PodGroups' own timeouts are compared with it.

use models::RunConfig;
use models::workload::JobSpec;

use crate::FileSource;
use crate::scenario::ScenarioError;

pub(crate) fn resolve(
    path: &str,
    config: &mut RunConfig,
    jobs: &mut [JobSpec],
    files: &dyn FileSource,
) -> Result<(), ScenarioError> {
    let uses_dra = config.dra.is_some();
    crate::scheduler_config::resolve(path, &mut config.scheduler, uses_dra, files)?;
    crate::coscheduling_manifests::resolve(path, &mut config.scheduler.coscheduling, jobs, files)?;
    crate::volcano_manifests::resolve(path, &mut config.scheduler.volcano, jobs, files)?;
    Ok(())
}
