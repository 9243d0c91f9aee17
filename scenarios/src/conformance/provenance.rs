//! Where each value of a platform profile came from, and what that makes of each
//! scorecard row: **behaviour simulated from configuration** (every profile value the
//! requirement's suite reads was read from one of the platform's own Kubernetes objects,
//! or is the real component's default for a setting the object leaves out) or **declared
//! only** (at least one of those values was only declared: a hand-written profile, or the
//! `platform.yaml` of a profile folder). Documented in docs/conformance.md.

use std::collections::BTreeMap;

use serde::Serialize;

/// Where one profile value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// Read from a Kubernetes object: `at` is `file:line`, `object` is `Kind namespace/name`,
    /// `field` the object's field (or flag) it came from.
    Object {
        at: String,
        object: String,
        field: String,
    },
    /// Declared in an Orrery file (a hand-written profile or a folder's `platform.yaml`).
    Declared { file: String },
}

/// The sources of a profile's values, by dotted profile path (`cluster_autoscaler.scan_interval`,
/// `cluster_autoscaler.pools[h100-pool].min`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// `None`: a hand-written profile (everything in it is declared).
    pub hand_written: Option<String>,
    pub sources: BTreeMap<String, Source>,
}

/// What a scorecard row's behaviour rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Basis {
    /// `simulated from configuration`, `declared only`, or `-` (a row no suite runs).
    pub basis: &'static str,
    /// The profile values the suite reads that were only declared (profile paths).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub declared: Vec<String>,
    /// The objects the suite's values were read from (`Kind namespace/name (file:line)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configured_from: Vec<String>,
}

pub const SIMULATED: &str = "simulated from configuration";
pub const DECLARED: &str = "declared only";

impl Basis {
    /// A row of a hand-written profile.
    pub fn hand_written() -> Basis {
        Basis {
            basis: DECLARED,
            declared: vec!["(the whole hand-written profile)".into()],
            configured_from: Vec::new(),
        }
    }

    /// A row no suite runs (not simulable).
    pub fn none() -> Basis {
        Basis {
            basis: "-",
            declared: Vec::new(),
            configured_from: Vec::new(),
        }
    }
}

/// The profile paths (prefixes) each requirement's suite reads; `None` for a requirement
/// no suite runs. Kept beside the suites: `tests` check every simulable requirement of the
/// catalogue is listed.
pub fn inputs(requirement: &str) -> Option<&'static [&'static str]> {
    const NODES: &str = "accelerators.nodes";
    const GPUS: &str = "accelerators.gpus_per_node";
    const MODEL: &str = "accelerators.gpu_model";
    const LABEL: &str = "accelerators.accelerator";
    Some(match requirement {
        "gang_scheduling" => &["scheduler", MODEL, GPUS, NODES],
        "dra_support" => &["accelerators.allocation", MODEL, GPUS],
        "secure_accelerator_access" => &[
            "accelerators.allocation",
            "accelerators.runtime",
            MODEL,
            GPUS,
        ],
        "gpu_sharing" => &["accelerators.allocation", "accelerators.sharing", MODEL],
        "cluster_autoscaling" => &["cluster_autoscaler", "scheduler", LABEL, MODEL],
        "pod_autoscaling" => &["pod_autoscaler", "cluster_autoscaler", LABEL, GPUS, NODES],
        "accelerator_metrics" => &[
            "metrics.accelerator_exporter",
            "metrics.service_discovery",
            LABEL,
            GPUS,
        ],
        "ai_service_metrics" => &[
            "metrics.service_discovery",
            "metrics.scrape_interval",
            LABEL,
            GPUS,
        ],
        "ai_inference" => &["gateway", LABEL],
        "high_performance_networking" | "job_level_networking" => &["network.rdma", GPUS],
        "large_dataset_volumes" => &["storage.dataset_volume", GPUS],
        _ => return None,
    })
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

impl Provenance {
    /// A hand-written profile file.
    pub fn hand_written(file: &str) -> Provenance {
        Provenance {
            hand_written: Some(file.to_string()),
            sources: BTreeMap::new(),
        }
    }

    /// The basis of one requirement's row.
    pub fn basis(&self, requirement: &str) -> Basis {
        let Some(prefixes) = inputs(requirement) else {
            return Basis::none();
        };
        if self.hand_written.is_some() {
            return Basis::hand_written();
        }
        let mut declared = Vec::new();
        let mut objects = std::collections::BTreeSet::new();
        for (path, source) in &self.sources {
            if !prefixes.iter().any(|p| under(path, p)) {
                continue;
            }
            match source {
                Source::Declared { .. } => declared.push(path.clone()),
                Source::Object { at, object, .. } => {
                    objects.insert(format!("{object} ({at})"));
                }
            }
        }
        Basis {
            basis: if declared.is_empty() {
                SIMULATED
            } else {
                DECLARED
            },
            declared,
            configured_from: objects.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(under("network.rdma", "network.rdma"));
        assert!(under("network.rdma.nics_per_node", "network.rdma"));
        assert!(under(
            "cluster_autoscaler.pools[a].min",
            "cluster_autoscaler"
        ));
        assert!(!under("accelerators.nodes_extra", "accelerators.nodes"));
    }

    #[test]
    fn one_declared_input_makes_a_row_declared() {
        let mut p = Provenance::default();
        let obj = |f: &str| Source::Object {
            at: "a.yaml:1".into(),
            object: "Node n1".into(),
            field: f.into(),
        };
        p.sources
            .insert("accelerators.gpus_per_node".into(), obj("x"));
        p.sources.insert("accelerators.gpu_model".into(), obj("y"));
        p.sources.insert(
            "storage.dataset_volume.read_gbps".into(),
            Source::Declared {
                file: "platform.yaml".into(),
            },
        );
        assert_eq!(p.basis("dra_support").basis, SIMULATED);
        let b = p.basis("large_dataset_volumes");
        assert_eq!(b.basis, DECLARED);
        assert_eq!(b.declared, ["storage.dataset_volume.read_gbps"]);
        assert_eq!(p.basis("runtime_class_exists").basis, "-");
        assert_eq!(
            Provenance::hand_written("p.yaml")
                .basis("dra_support")
                .basis,
            DECLARED
        );
    }
}
