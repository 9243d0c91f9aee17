//! Jobs whose run time comes from what they compute, not from a trace's duration: the
//! Pollux artefact's application profiles (throughput per placement and batch size,
//! statistical efficiency per epoch) and its progress model (issue 19).
//!
//! * [`profile`] reads an application profile (`app-profiles/<app>/`);
//! * [`app`] turns it into throughput and efficiency, as the artefact does;
//! * [`progress`] advances a job through its epochs on an allocation.
//!
//! The upstream this follows: petuum/adaptdl, `simulator/` on branch `osdi21-artifact`
//! (commit `de25dcc`), the simulator of Qiao et al., "Pollux: Co-adaptive Cluster
//! Scheduling for Goodput-Optimized Deep Learning", OSDI 2021. docs/elastic.md says what
//! is modelled and where Orrery deviates.

pub mod adaptive;
pub mod app;
pub mod goodput;
pub mod profile;
pub mod progress;

pub use app::{Application, BatchConfig, POLLUX_APPLICATIONS};
pub use profile::AppProfile;
pub use progress::{Progress, ProgressError, RESCALE_SECONDS, Run};

use crate::fgd::error::FgdError;

/// A profile that cannot be read or used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// A CSV file could not be parsed (the message names the file, line and field).
    #[error("{0}")]
    Csv(String),
    #[error("{file}: {msg}")]
    Io { file: String, msg: String },
    #[error("{file}: {msg}")]
    Invalid { file: String, msg: String },
}

impl From<FgdError> for ProfileError {
    fn from(e: FgdError) -> Self {
        match e {
            FgdError::Io { file, msg } => ProfileError::Io { file, msg },
            other => ProfileError::Csv(other.to_string()),
        }
    }
}
