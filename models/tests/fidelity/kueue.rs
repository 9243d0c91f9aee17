//! Fidelity cases for kueue (see scenarios/fidelity/README.md).

/// This suite's reports (none yet).
pub fn reports() -> Vec<crate::common::Report> {
    Vec::new()
}
