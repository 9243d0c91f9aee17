//! AI Conformance scoring: the requirement catalogue, platform profiles, the behaviour
//! suites that judge a profile requirement by requirement, and the scorecard they fill.

mod catalogue;
pub mod objects;
pub mod outcome;
pub mod profile;
pub mod provenance;
mod queue_objects;
pub mod runner;
pub mod suites;

pub use catalogue::*;
pub use outcome::{CaseResult, CaseScenario, Observation, Status};
pub use profile::{Profile, ProfileError};
pub use provenance::{Basis, Provenance};
pub use runner::{RequirementScore, ScoreError, ScoreOptions, Scorecard, Summary, score};
