//! The Pollux artefact's workloads (`workloads*/workload-N.csv`):
//! `name,time,application,num_replicas,batch_size` — a job's id, its submission in seconds
//! from the workload's start, its application (a profile under `app-profiles/`), its GPUs
//! and its total batch size. Each GPU is one pod of one GPU (the artefact places replicas
//! one GPU at a time). A job trains its application for the artefact's epochs; its run time
//! comes from the placement it gets (`models::elastic`), so the trace has no duration:
//! [`load`] gives each job duration 0 and the scenario prices it with the profiles (see
//! docs/elastic.md).

use models::{JobSpec, PodRequest};
use sim_core::{SimDuration, SimTime};

use super::error::TraceError;
use super::table::Table;

pub(crate) const HEADER: &str = "name,time,application,num_replicas,batch_size";
const COLUMNS: [&str; 5] = ["name", "time", "application", "num_replicas", "batch_size"];

/// What a Pollux workload says of one job beyond its pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolluxJob {
    /// The job's id (before any `id_prefix`).
    pub name: String,
    pub application: String,
    pub num_replicas: u32,
    pub batch_size: u32,
    /// The row's line (header = 1).
    pub line: u64,
}

/// Most GPUs one Pollux job may ask for (one pod each).
const MAX_REPLICAS: u32 = models::MAX_PODS_PER_JOB;

pub(crate) fn load(path: &str, text: &str) -> Result<Vec<(u64, JobSpec, PolluxJob)>, TraceError> {
    let t = Table::parse(path, text, HEADER)?;
    let c = t.require(&COLUMNS, HEADER)?;
    let mut jobs = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        let name = t.cell(row, c[0]).non_empty("a job name")?.to_string();
        let submit = t.cell(row, c[1]).secs()?;
        let app_cell = t.cell(row, c[2]);
        let application = app_cell.non_empty("an application name (a profile folder)")?;
        if !application
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(app_cell.error("an application name of letters, digits, `-` and `_`"));
        }
        let rep_cell = t.cell(row, c[3]);
        let replicas = rep_cell.u32()?;
        if replicas == 0 || replicas > MAX_REPLICAS {
            return Err(rep_cell.error(format!("1 to {MAX_REPLICAS} GPUs")));
        }
        let bsz_cell = t.cell(row, c[4]);
        let batch_size = bsz_cell.u32()?;
        if batch_size == 0 {
            return Err(bsz_cell.error("a positive total batch size"));
        }
        jobs.push((
            row.line,
            JobSpec {
                id: name.clone(),
                submit: SimTime::from_secs(submit),
                duration: SimDuration::ZERO,
                pods: (0..replicas).map(|_| PodRequest::gpus(1)).collect(),
                priority: 0,
                queue: None,
            },
            PolluxJob {
                name,
                application: application.to_string(),
                num_replicas: replicas,
                batch_size,
                line: row.line,
            },
        ));
    }
    Ok(jobs)
}
