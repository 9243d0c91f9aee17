//! Trace importers: read public GPU-cluster traces exactly as published (and Orrery's own
//! CSV format) into [`models::JobSpec`]s and [`models::NodeSpec`]s.
//!
//! | format | files | one row is |
//! |---|---|---|
//! | [`TraceFormat::Openb`] | Alibaba GPU v2023 `openb_pod_list_*.csv` | one pod = one job |
//! | [`TraceFormat::Itp`] | Microsoft ITP `raw/clusterNN.csv` (and the `elasticflow/` copies) | one job |
//! | [`TraceFormat::Philly`] | Pollux's `philly.csv` | one job |
//! | [`TraceFormat::Pollux`] | Pollux's `workloads*/workload-N.csv` | one training job (one pod per GPU) |
//! | [`TraceFormat::OrreryCsv`] | users' own traces | one job of N identical pods |
//!
//! Jobs come back in file order; callers sort them stably by submit time. Every error
//! names the file, the 1-based line (header = line 1), the column, what was found and
//! what was expected. See `docs/trace-formats.md`.

mod error;
mod itp;
mod openb;
mod orrery_csv;
mod philly;
mod pollux;
mod table;

use std::fmt;
use std::str::FromStr;

use models::{JobSpec, NodeSpec};
use serde::{Deserialize, Serialize};

pub use error::TraceError;
pub use orrery_csv::{
    OPTIONAL_COLUMNS as ORRERY_CSV_OPTIONAL, REQUIRED_COLUMNS as ORRERY_CSV_REQUIRED,
};
pub use pollux::PolluxJob;

/// The trace formats Orrery can import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormat {
    /// Alibaba GPU cluster trace v2023 ("openb") pod lists.
    Openb,
    /// Microsoft ITP cluster traces (ElasticFlow release).
    Itp,
    /// Microsoft Philly job table as processed by the Pollux authors.
    Philly,
    /// The Pollux artefact's evaluation workloads (training jobs priced by application
    /// profiles).
    Pollux,
    /// Orrery's own CSV format.
    OrreryCsv,
}

impl TraceFormat {
    pub const ALL: [TraceFormat; 5] = [
        TraceFormat::Openb,
        TraceFormat::Itp,
        TraceFormat::Philly,
        TraceFormat::Pollux,
        TraceFormat::OrreryCsv,
    ];

    /// The name used on the command line and in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Openb => "openb",
            TraceFormat::Itp => "itp",
            TraceFormat::Philly => "philly",
            TraceFormat::Pollux => "pollux",
            TraceFormat::OrreryCsv => "orrery-csv",
        }
    }

    fn valid_names() -> String {
        Self::ALL.map(TraceFormat::name).join(", ")
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TraceFormat {
    type Err = TraceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| TraceError::UnknownFormat {
                name: s.to_string(),
                valid: Self::valid_names(),
            })
    }
}

/// Options of [`load_jobs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// ITP and Philly give only a job's GPU count; it is split into pods of at most this
    /// many GPUs (`models::split_gpus`). Must be at least 1. Default 8.
    pub max_gpus_per_pod: u32,
    /// Prepended as `"{prefix}/"` to every job id (to merge several traces).
    pub id_prefix: Option<String>,
    /// Philly only: keep just the rows whose `cluster` (virtual cluster) is this value.
    /// Ignored by the other formats.
    pub philly_vc: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_gpus_per_pod: 8,
            id_prefix: None,
            philly_vc: None,
        }
    }
}

/// Read the jobs of a trace. `path` is only used in error messages; `text` is the file's
/// content. Jobs keep the file's order.
pub fn load_jobs(
    path: &str,
    text: &str,
    format: TraceFormat,
    opts: &ImportOptions,
) -> Result<Vec<JobSpec>, TraceError> {
    if opts.max_gpus_per_pod == 0 {
        return Err(TraceError::InvalidOption(
            "max_gpus_per_pod must be at least 1".to_string(),
        ));
    }
    let jobs = match format {
        TraceFormat::Openb => openb::load_pods(path, text)?,
        TraceFormat::Itp => itp::load(path, text, opts.max_gpus_per_pod)?,
        TraceFormat::Philly => {
            philly::load(path, text, opts.max_gpus_per_pod, opts.philly_vc.as_deref())?
        }
        TraceFormat::Pollux => pollux::load(path, text)?
            .into_iter()
            .map(|(line, job, _)| (line, job))
            .collect(),
        TraceFormat::OrreryCsv => orrery_csv::load(path, text)?,
    };
    finish(path, jobs, opts.id_prefix.as_deref())
}

/// Read a Pollux workload: its jobs (duration 0: a scenario prices them with the
/// application profiles) and, in the same order, what each trains. Ids carry
/// `opts.id_prefix` in both.
pub fn load_pollux(
    path: &str,
    text: &str,
    opts: &ImportOptions,
) -> Result<(Vec<JobSpec>, Vec<PolluxJob>), TraceError> {
    let rows = pollux::load(path, text)?;
    let (jobs, mut what): (Vec<(u64, JobSpec)>, Vec<PolluxJob>) = rows
        .into_iter()
        .map(|(line, job, p)| ((line, job), p))
        .unzip();
    let jobs = finish(path, jobs, opts.id_prefix.as_deref())?;
    for (p, j) in what.iter_mut().zip(&jobs) {
        p.name.clone_from(&j.id);
    }
    Ok((jobs, what))
}

/// Read an openb node list (`sn,cpu_milli,memory_mib,gpu,model`). Node `i` (0-based, file
/// order) goes to rack `i / nodes_per_rack`; pool `"openb"`; `gpu_model` is `None` when
/// `model` is empty or `gpu` is 0; `gpu_memory_mib` 0; no labels.
pub fn load_openb_nodes(
    path: &str,
    text: &str,
    nodes_per_rack: u32,
) -> Result<Vec<NodeSpec>, TraceError> {
    if nodes_per_rack == 0 {
        return Err(TraceError::InvalidOption(
            "nodes_per_rack must be at least 1".to_string(),
        ));
    }
    openb::load_nodes(path, text, nodes_per_rack)
}

/// Reject duplicate ids (naming both lines), then apply the id prefix.
fn finish(
    path: &str,
    jobs: Vec<(u64, JobSpec)>,
    prefix: Option<&str>,
) -> Result<Vec<JobSpec>, TraceError> {
    // A look-up map only (never iterated, so its order cannot reach any output), sized
    // once: a million-job trace is checked in one pass without rehashing.
    let mut first: std::collections::HashMap<&str, u64> =
        std::collections::HashMap::with_capacity(jobs.len());
    for (line, job) in &jobs {
        if let Some(&first_line) = first.get(job.id.as_str()) {
            return Err(TraceError::Duplicate {
                file: path.to_string(),
                what: "job id",
                id: job.id.clone(),
                line: *line,
                first_line,
            });
        }
        first.insert(job.id.as_str(), *line);
    }
    let mut out: Vec<JobSpec> = jobs
        .into_iter()
        .map(|(_, mut job)| {
            if let Some(p) = prefix {
                job.id = format!("{p}/{}", job.id);
            }
            job
        })
        .collect();
    // Collected in place over the (line, job) buffer: give back its tail (a large trace's
    // list is kept for the whole run).
    out.shrink_to_fit();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in TraceFormat::ALL {
            assert_eq!(f.name().parse::<TraceFormat>(), Ok(f));
            assert_eq!(f.to_string(), f.name());
        }
        let err = "alibaba".parse::<TraceFormat>().unwrap_err().to_string();
        assert!(err.contains("\"alibaba\""), "{err}");
        assert!(
            err.contains("openb, itp, philly, pollux, orrery-csv"),
            "{err}"
        );
    }

    #[test]
    fn format_deserializes_kebab_case() {
        #[derive(Deserialize)]
        struct S {
            f: TraceFormat,
        }
        let s: S = serde_saphyr::from_str("f: orrery-csv\n").unwrap();
        assert_eq!(s.f, TraceFormat::OrreryCsv);
        let s: S = serde_saphyr::from_str("f: openb\n").unwrap();
        assert_eq!(s.f, TraceFormat::Openb);
        assert!(serde_saphyr::from_str::<S>("f: OrreryCsv\n").is_err());
    }

    #[test]
    fn id_prefix_and_zero_pod_size() {
        let text = "job_id,submission_time,duration,num_gpu\na,0,10,1\n";
        let opts = ImportOptions {
            id_prefix: Some("itp01".into()),
            ..ImportOptions::default()
        };
        let jobs = load_jobs("x.csv", text, TraceFormat::Itp, &opts).unwrap();
        assert_eq!(jobs[0].id, "itp01/a");
        let opts = ImportOptions {
            max_gpus_per_pod: 0,
            ..ImportOptions::default()
        };
        let err = load_jobs("x.csv", text, TraceFormat::Itp, &opts).unwrap_err();
        assert!(err.to_string().contains("max_gpus_per_pod"));
    }

    #[test]
    fn common_file_shape_errors() {
        for format in TraceFormat::ALL {
            let o = ImportOptions::default();
            let e = load_jobs("t/e.csv", "", format, &o)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("t/e.csv: empty file"), "{format}: {e}");
            let e = load_jobs("t/e.csv", "\n\n", format, &o)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("t/e.csv: empty file"), "{format}: {e}");
            let e = load_jobs("t/h.csv", "a,b\n", format, &o)
                .unwrap_err()
                .to_string();
            assert!(e.contains("t/h.csv: no data rows"), "{format}: {e}");
            let e = load_jobs("t/d.csv", "a,a\n1,2\n", format, &o)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("t/d.csv:1: column 'a' appears more than once"),
                "{format}: {e}"
            );
            let e = load_jobs("t/q.csv", "a,b\n\"1,2\n", format, &o)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("t/q.csv:"), "{format}: {e}");
        }
    }
}
