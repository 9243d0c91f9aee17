//! Behaviour suite for `large_dataset_volumes` (not written yet: the runner scores an empty suite FAIL).

use crate::conformance::outcome::CaseResult;
use crate::conformance::profile::Profile;

/// Run every case of the suite.
pub fn run(_profile: &Profile, _seed: u64) -> Vec<CaseResult> {
    Vec::new()
}
