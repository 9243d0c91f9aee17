//! Training jobs of `pollux` traces: their application profiles (`profiles:` of the
//! trace) and what each job trains, for `models::sim::training` (issue 19). See
//! docs/elastic.md.

use std::collections::BTreeMap;
use std::sync::Arc;

use models::elastic::{AppProfile, Application, Progress, Run, progress};
use models::sim::training::{TrainingConfig, TrainingJob};
use models::{ClusterSpec, Workload};
use sim_core::SimDuration;

use crate::scenario::{FileSource, ScenarioError, WorkloadDef, invalid};
use crate::trace::PolluxJob;

/// The GPUs per node of the placement a job's trace duration is priced on: the artefact's
/// 4-GPU nodes, filled in order.
pub const PRICED_GPUS_PER_NODE: u32 = 4;

/// `replicas` GPUs packed on nodes of [`PRICED_GPUS_PER_NODE`].
pub fn packed(replicas: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut left = replicas;
    while left > 0 {
        let n = left.min(PRICED_GPUS_PER_NODE);
        out.push(n);
        left -= n;
    }
    out
}

/// The training config of the workload's Pollux jobs (`None` without any). A job that
/// could get more GPUs on one of `cluster`'s nodes than its profile measures per node is
/// refused (its run would stop when placed so). Each job's
/// duration becomes its run time packed on 4-GPU nodes from a fresh start (the estimate
/// duration-reading policies see; the run prices the placement it gets).
pub(crate) fn build(
    path: &str,
    def: &WorkloadDef,
    files: &dyn FileSource,
    workload: &mut Workload,
    trained: Vec<(usize, PolluxJob)>,
    cluster: &ClusterSpec,
) -> Result<Option<Arc<TrainingConfig>>, ScenarioError> {
    if trained.is_empty() {
        return Ok(None);
    }
    let workload_max_node_gpus = cluster.nodes.iter().map(|n| n.gpus).max().unwrap_or(0);
    let mut apps: Vec<Application> = Vec::new();
    // (trace, application) → index into `apps`.
    let mut app_of: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut jobs: BTreeMap<String, TrainingJob> = BTreeMap::new();
    let mut row_of: BTreeMap<String, (usize, PolluxJob)> = BTreeMap::new();
    for (i, p) in trained {
        row_of.insert(p.name.clone(), (i, p));
    }
    for job in &mut workload.jobs {
        // Jobs of other traces, and rows a `limit` dropped, are not here.
        let Some((i, p)) = row_of.get(&job.id) else {
            continue;
        };
        let field = format!("workload.traces[{i}].profiles");
        let key = (*i, p.application.clone());
        let app = match app_of.get(&key) {
            Some(&a) => a,
            None => {
                let Some(dir) = def.traces.get(*i).and_then(|t| t.profiles.as_ref()) else {
                    return Err(invalid(
                        path,
                        &field,
                        "the pollux format needs the folder of application profiles: give it as `profiles:` on the trace in a scenario file (see docs/elastic.md)",
                    ));
                };
                let Some(root) = files.path(dir) else {
                    return Err(invalid(
                        path,
                        &field,
                        format!("`{dir}` must be a folder on disk"),
                    ));
                };
                let folder = root.join(&p.application);
                if !folder.is_dir() {
                    return Err(invalid(
                        path,
                        &field,
                        format!(
                            "job `{}` (line {}) trains `{}`, but {} is not a folder",
                            p.name,
                            p.line,
                            p.application,
                            folder.display()
                        ),
                    ));
                }
                let profile =
                    AppProfile::load(&folder).map_err(|e| invalid(path, &field, e.to_string()))?;
                let app = Application::pollux(profile)
                    .map_err(|e| invalid(path, &field, e.to_string()))?;
                apps.push(app);
                app_of.insert(key, apps.len() - 1);
                apps.len() - 1
            }
        };
        let restart_s = def
            .traces
            .get(*i)
            .and_then(|t| t.restart_delay)
            .map_or(models::elastic::RESCALE_SECONDS, |d| {
                d.as_nanos() / 1_000_000_000
            });
        // The scheduler may put up to this many of the job's GPUs on one node: the
        // profile must price that (it measures at most a few per node).
        let per_node = workload_max_node_gpus.min(p.num_replicas);
        if per_node > apps[app].max_gpus_per_node() {
            return Err(invalid(
                path,
                &format!("workload.traces[{i}].file"),
                format!(
                    "job `{}` (line {}) could get {per_node} GPUs on one node, but the `{}` profile measures at most {} per node: use nodes of at most {} GPUs",
                    p.name,
                    p.line,
                    p.application,
                    apps[app].max_gpus_per_node(),
                    apps[app].max_gpus_per_node()
                ),
            ));
        }
        // Priced once packed: also checks that the batch size is one the profile covers.
        let mut fresh = Progress::default();
        progress::reallocate_with(&mut fresh, restart_s);
        let secs = Run::new(&apps[app], p.batch_size, &packed(p.num_replicas))
            .seconds_to_finish(&fresh)
            .map_err(|e| {
                invalid(
                    path,
                    &format!("workload.traces[{i}].file"),
                    format!("job `{}` (line {}): {e}", p.name, p.line),
                )
            })?;
        job.duration = SimDuration::from_secs(secs);
        jobs.insert(
            job.id.clone(),
            TrainingJob {
                app,
                batch_size: p.batch_size,
                restart_s,
            },
        );
    }
    Ok(Some(Arc::new(TrainingConfig { apps, jobs })))
}
