//! Errors of the DRA model: each names the file (and line) or the object and, for CEL,
//! the expression.

/// A bad input: manifest, selector or claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraError {
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },
    #[error("{file}:{line}:{column}: {message}")]
    Manifest {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{file}:{line}: {kind} has apiVersion {found:?}; Orrery reads {expected:?}")]
    WrongApiVersion {
        file: String,
        line: u64,
        kind: String,
        found: String,
        expected: String,
    },
    #[error("{object}: selector #{index} {expression:?} does not compile: {message}")]
    CelCompile {
        object: String,
        index: usize,
        expression: String,
        message: String,
    },
    #[error("{object}: selector {expression:?} failed on device {device}: {message}")]
    CelEval {
        object: String,
        expression: String,
        device: String,
        message: String,
    },
    #[error("{claim}, request {request}: device class {class:?} does not exist")]
    UnknownDeviceClass {
        claim: String,
        request: String,
        class: String,
    },
    #[error("pod {pod}: resource claim {claim:?} names {what} {name:?}, which does not exist")]
    MissingClaimSource {
        pod: String,
        claim: String,
        what: &'static str,
        name: String,
    },
    #[error("{object}: {message}")]
    Invalid { object: String, message: String },
}
