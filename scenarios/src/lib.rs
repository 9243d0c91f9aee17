//! `scenarios`: scenario files, trace importers and the bundled scenarios.

pub mod bundled;
pub mod conformance;
pub mod constraints;
pub mod coscheduling_manifests;
pub mod deletion;
pub mod dra;
pub mod faults;
pub mod fgd;
pub(crate) mod kube_list;
pub mod kube_nodes;
pub mod kube_pods;
pub mod kueue_config;
pub mod kueue_manifests;
pub mod platform;
mod queue_hooks;
pub mod ray_autoscaling;
pub mod scenario;
pub mod scheduler_config;
pub mod serving;
pub mod synth;
pub mod trace;
pub mod training;
pub mod vary;
pub mod volcano_manifests;
pub mod workload_manifests;

pub use scenario::{
    ClusterDef, DirSource, FileSource, Overrides, Scenario, ScenarioError, ScenarioFile, TraceDef,
    build, build_cluster, build_parsed, load, parse,
};
