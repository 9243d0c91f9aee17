//! Errors of the FGD reproduction: every parse error names the file, the line and the field.

use std::fmt;

/// What went wrong while reading a trace or an expected-results file, or setting up a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FgdError {
    /// A field could not be parsed (or is missing) in a CSV file.
    Parse {
        file: String,
        /// 1-based line number (the header is line 1).
        line: usize,
        field: String,
        msg: String,
    },
    /// The header lacks a required column.
    MissingColumn { file: String, column: String },
    /// The file has no header line.
    Empty { file: String },
    /// A file could not be read.
    Io { file: String, msg: String },
    /// A policy name that is none of the six.
    UnknownPolicy(String),
    /// The node list holds no node with GPUs.
    NoGpuNodes { file: String },
    /// A pod the main model cannot express (`orrery run` on an FGD scenario).
    Pod {
        file: String,
        pod: String,
        field: String,
        msg: String,
    },
    /// A reproduction run the cluster model refused or stopped (named in the message).
    Model(String),
}

impl fmt::Display for FgdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FgdError::Parse {
                file,
                line,
                field,
                msg,
            } => write!(f, "{file}:{line}: field `{field}`: {msg}"),
            FgdError::MissingColumn { file, column } => {
                write!(f, "{file}:1: missing column `{column}`")
            }
            FgdError::Empty { file } => write!(f, "{file}: empty file (no header line)"),
            FgdError::Io { file, msg } => write!(f, "{file}: {msg}"),
            FgdError::UnknownPolicy(s) => write!(
                f,
                "unknown FGD policy `{s}` (expected one of random, dotprod, gpuclustering, \
                 gpupacking, bestfit, fgd)"
            ),
            FgdError::NoGpuNodes { file } => write!(f, "{file}: no node with GPUs"),
            FgdError::Pod {
                file,
                pod,
                field,
                msg,
            } => write!(f, "{file}: pod {pod}: field `{field}`: {msg}"),
            FgdError::Model(msg) => write!(f, "cluster model: {msg}"),
        }
    }
}

impl std::error::Error for FgdError {}

/// Read a whole file, naming it in the error.
pub fn read_file(path: &std::path::Path) -> Result<String, FgdError> {
    std::fs::read_to_string(path).map_err(|e| FgdError::Io {
        file: path.display().to_string(),
        msg: e.to_string(),
    })
}
