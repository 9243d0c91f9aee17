//! `scenarios`: scenario files, trace importers and the bundled scenarios.

pub mod bundled;
pub mod conformance;
pub mod constraints;
pub mod deletion;
pub mod dra;
pub mod faults;
pub mod fgd;
pub mod kube_nodes;
pub mod kube_pods;
pub mod kueue_manifests;
pub mod platform;
pub mod scenario;
pub mod serving;
pub mod trace;
pub mod vary;
pub mod workload_manifests;

pub use scenario::{
    ClusterDef, DirSource, FileSource, Overrides, Scenario, ScenarioError, ScenarioFile, TraceDef,
    build, build_cluster, build_parsed, load, parse,
};
