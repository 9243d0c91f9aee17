//! The behaviour suites: one per requirement a simulation can judge. Each takes the
//! profile and a seed and returns its cases; a requirement passes when every case does.
//!
//! A suite's oracles come from the requirement's test plan (KAR) and are hardened beyond
//! it: contention, load, several sizes, timing against the configured delays.

pub mod accelerator_metrics;
pub mod ai_inference;
pub mod ai_service_metrics;
pub mod cluster_autoscaling;
mod common;
pub mod dra_support;
pub mod gang_scheduling;
pub mod gpu_sharing;
pub mod high_performance_networking;
pub mod job_level_networking;
pub mod large_dataset_volumes;
pub mod pod_autoscaling;
pub mod secure_accelerator_access;

use super::outcome::CaseResult;
use super::profile::Profile;

/// A behaviour suite.
pub struct Suite {
    /// The requirement id it judges.
    pub requirement: &'static str,
    /// `Some(reason)` when the requirement's condition does not hold for this profile
    /// (conditional MUSTs: no cluster autoscaler, no HPA): N/A, cases not run.
    pub not_applicable: fn(&Profile) -> Option<String>,
    /// Run every case.
    pub run: fn(&Profile, u64) -> Vec<CaseResult>,
}

fn always(_: &Profile) -> Option<String> {
    None
}

fn no_cluster_autoscaler(p: &Profile) -> Option<String> {
    p.cluster_autoscaler.is_none().then(|| {
        "the profile has no cluster autoscaler (the MUST holds only if the platform provides one)"
            .to_string()
    })
}

fn no_pod_autoscaler(p: &Profile) -> Option<String> {
    p.pod_autoscaler.is_none().then(|| {
        "the profile has no horizontal pod autoscaler (the MUST holds only if the platform supports HPA)"
            .to_string()
    })
}

/// Every suite, in catalogue order. Requirements without a suite here are scored from the
/// catalogue (not simulable).
pub fn all() -> Vec<Suite> {
    vec![
        Suite {
            requirement: "dra_support",
            not_applicable: always,
            run: dra_support::run,
        },
        Suite {
            requirement: "ai_inference",
            not_applicable: always,
            run: ai_inference::run,
        },
        Suite {
            requirement: "gang_scheduling",
            not_applicable: always,
            run: gang_scheduling::run,
        },
        Suite {
            requirement: "cluster_autoscaling",
            not_applicable: no_cluster_autoscaler,
            run: cluster_autoscaling::run,
        },
        Suite {
            requirement: "pod_autoscaling",
            not_applicable: no_pod_autoscaler,
            run: pod_autoscaling::run,
        },
        Suite {
            requirement: "accelerator_metrics",
            not_applicable: always,
            run: accelerator_metrics::run,
        },
        Suite {
            requirement: "ai_service_metrics",
            not_applicable: always,
            run: ai_service_metrics::run,
        },
        Suite {
            requirement: "secure_accelerator_access",
            not_applicable: always,
            run: secure_accelerator_access::run,
        },
        Suite {
            requirement: "gpu_sharing",
            not_applicable: always,
            run: gpu_sharing::run,
        },
        Suite {
            requirement: "high_performance_networking",
            not_applicable: always,
            run: high_performance_networking::run,
        },
        Suite {
            requirement: "job_level_networking",
            not_applicable: always,
            run: job_level_networking::run,
        },
        Suite {
            requirement: "large_dataset_volumes",
            not_applicable: always,
            run: large_dataset_volumes::run,
        },
    ]
}

/// The suite for a requirement, if there is one.
pub fn find(requirement: &str) -> Option<Suite> {
    all().into_iter().find(|s| s.requirement == requirement)
}

/// Build the cluster model of a one-job case under the profile's scheduler: the checks a
/// scenario's `scheduler:` block gets (Kueue queues, Volcano settings, …).
pub(crate) fn check_scheduler(profile: &Profile) -> Result<(), String> {
    let spec = common::CaseSpec {
        name: "profile-check".into(),
        description: String::new(),
        seed: 1,
        nodes: 1,
        gpus_per_node: 1,
        gpu_model: profile.accelerators.gpu_model.clone(),
        jobs: vec![common::CaseJob::new("job", 0, 1, 1, 1)],
        horizon_s: None,
        extra: String::new(),
    };
    let sc = common::build(&common::scenario_yaml(profile, &spec), "profile")?;
    models::sim::ClusterSim::new(sc.cluster, sc.workload, &sc.config)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
