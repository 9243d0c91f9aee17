//! `reports`: metrics computed from a finished run and the files they are written to
//! (`jobs.csv`, `summary.json`) plus the terminal summary.

pub mod autoscaler;
pub mod capacity;
pub mod compare;
pub mod compare_page;
pub mod conformance;
pub mod platform;
pub mod plot;
pub mod podlog;
pub mod ray;
pub mod run_page;
pub mod summary;
pub mod verify;
pub mod write;

pub use compare::{RunRow, compare_files};
pub use summary::{Distribution, FaultsSummary, Summary, summarize};
pub use write::{
    Content, OUT_MARKER, ReportError, add_files, human, jobs_csv, network_jobs_csv,
    network_series_csv, secs, summary_json, write_all, write_all_streamed, write_jobs_csv,
};
