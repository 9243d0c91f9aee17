//! `scenarios`: scenario files, trace importers and the bundled scenarios.

pub mod bundled;
pub mod dra;
pub mod fgd;
pub mod scenario;
pub mod trace;

pub use scenario::{
    DirSource, FileSource, Overrides, Scenario, ScenarioError, ScenarioFile, TraceDef, build,
    build_parsed, load, parse,
};
