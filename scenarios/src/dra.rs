//! The scenario's `dra:` key: Dynamic Resource Allocation from generated ResourceSlices or
//! from a folder of manifests (see `docs/dra.md` and `docs/scenario-format.md`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use models::dra::{Manifests, ObjectKey, Quantity};
use models::{DraConfig, DraObjects, DraSource, NodeSpec};
use serde::Deserialize;

use crate::scenario::{FileSource, ScenarioError};

/// `dra:` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraDef {
    /// `generated` or `manifests`; default: `manifests` when `manifests` is given, else
    /// `generated`.
    pub mode: Option<DraMode>,
    /// Manifest files or folders (`*.yaml`, `*.yml`, `*.json`), relative to the scenario
    /// file: one path or a list.
    #[serde(default)]
    pub manifests: Option<Paths>,
    /// Manifests mode: whole GPUs per pod → ResourceClaimTemplate (`name`, namespace
    /// `default`, or `namespace/name`), e.g. `{"1": one-gpu, "8": eight-gpus}`.
    #[serde(default)]
    pub claim_templates: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DraMode {
    Generated,
    Manifests,
}

/// One path or a list of paths.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Paths {
    One(String),
    Many(Vec<String>),
}

impl Paths {
    pub(crate) fn list(&self) -> Vec<&str> {
        match self {
            Paths::One(p) => vec![p.as_str()],
            Paths::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

fn invalid(path: &str, field: &str, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// The manifests of a `dra:` key in manifests mode (read before the cluster is built:
/// their Nodes may be the cluster).
pub fn load_manifests(
    path: &str,
    def: &DraDef,
    files: &dyn FileSource,
) -> Result<Option<Manifests>, ScenarioError> {
    let paths = def.manifests.as_ref().map(Paths::list).unwrap_or_default();
    match (def.mode, paths.is_empty()) {
        (Some(DraMode::Generated), false) => {
            return Err(invalid(
                path,
                "dra.manifests",
                "mode generated makes its own ResourceSlices; drop `manifests` or use mode manifests",
            ));
        }
        (Some(DraMode::Manifests), true) => {
            return Err(invalid(
                path,
                "dra.manifests",
                "mode manifests needs a folder or files of manifests",
            ));
        }
        (_, true) => {
            if !def.claim_templates.is_empty() {
                return Err(invalid(
                    path,
                    "dra.claim_templates",
                    "only for mode manifests (generated mode makes one template per GPU count)",
                ));
            }
            return Ok(None);
        }
        _ => {}
    }
    let m = read_manifest_files(path, "dra.manifests", &paths, files)?;
    unused_objects(path, &m)?;
    Ok(Some(m))
}

/// Reads `paths` (files or folders, relative to the scenario's folder) into one
/// [`Manifests`]; `field` names the scenario key in errors (`field[i]`).
pub(crate) fn read_manifest_files(
    path: &str,
    field: &str,
    paths: &[&str],
    files: &dyn FileSource,
) -> Result<Manifests, ScenarioError> {
    let mut m = Manifests::new();
    for (i, p) in paths.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let full: PathBuf = files.path(p).ok_or_else(|| {
            invalid(
                path,
                &field,
                "manifests can only be read next to a scenario file on disk",
            )
        })?;
        let res = if full.is_dir() {
            m.add_dir(&full)
        } else if full.exists() {
            m.add_file(&full)
        } else {
            return Err(invalid(
                path,
                &field,
                format!(
                    "{} does not exist (relative to the scenario's folder)",
                    full.display()
                ),
            ));
        };
        res.map_err(|e| invalid(path, &field, e.to_string()))?;
    }
    Ok(m)
}

/// A run uses the manifests' DeviceClasses, ResourceSlices, ResourceClaimTemplates,
/// DeviceTaintRules, Nodes and Namespaces; its pods come from the workload. Pods,
/// ResourceClaims and kinds that are not modelled would be dropped without effect: refused,
/// listed.
fn unused_objects(path: &str, m: &Manifests) -> Result<(), ScenarioError> {
    let mut unused: Vec<String> = Vec::new();
    unused.extend(m.pods.keys().map(|k| format!("Pod {k}")));
    unused.extend(m.claims.keys().map(|k| format!("ResourceClaim {k}")));
    unused.extend(m.skipped.iter().map(|s| format!("{s} (kind not modelled)")));
    if unused.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 10;
    let more = unused.len().saturating_sub(SHOWN);
    unused.truncate(SHOWN);
    Err(invalid(
        path,
        "dra.manifests",
        format!(
            "holds objects a run does not use: {}{}; a run's pods come from the workload and get \
             their claims from claim_templates; give dra.manifests only DeviceClasses, \
             ResourceSlices, ResourceClaimTemplates, DeviceTaintRules, Nodes and Namespaces",
            unused.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    ))
}

/// Cluster nodes from the manifests' Node objects (allocatable cpu and memory, labels), in
/// name order; racks of `nodes_per_rack` nodes. Accelerators are the DRA devices.
pub fn nodes_from_manifests(path: &str, m: &Manifests) -> Result<Vec<NodeSpec>, ScenarioError> {
    let mut out = Vec::new();
    for (i, (name, node)) in m.nodes.iter().enumerate() {
        let field = format!("dra.manifests: Node {name}");
        let status = node.status.as_ref();
        let get = |res: &str| {
            status
                .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()))
                .and_then(|a| a.get(res))
                .map(|q| q.0.clone())
        };
        let qty = |res: &str| -> Result<i128, ScenarioError> {
            let Some(text) = get(res) else {
                return Err(invalid(
                    path,
                    &field,
                    format!("status.allocatable (or capacity) has no {res}"),
                ));
            };
            Quantity::parse(&text)
                .map(Quantity::nanos)
                .map_err(|e| invalid(path, &field, format!("{res} {text:?}: {e}")))
        };
        // Saturating: an absurd quantity stays absurd and fails the node limits below.
        let cpu_milli = u64::try_from((qty("cpu")? / 1_000_000).max(0)).unwrap_or(u64::MAX);
        let memory_mib =
            u64::try_from((qty("memory")? / 1_000_000_000 / (1 << 20)).max(0)).unwrap_or(u64::MAX);
        out.push(NodeSpec {
            taints: Vec::new(),
            name: name.clone(),
            pool: "manifests".to_string(),
            cpu_milli,
            memory_mib,
            gpus: 0,
            gpu_model: None,
            gpu_memory_mib: 0,
            rack: i as u32 / 32,
            labels: node.metadata.labels.clone().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The run's DRA configuration.
pub fn build(
    path: &str,
    def: &DraDef,
    manifests: Option<Manifests>,
) -> Result<DraConfig, ScenarioError> {
    let Some(m) = manifests else {
        return Ok(DraConfig {
            source: DraSource::Generated,
        });
    };
    let mut templates_by_gpus = BTreeMap::new();
    for (k, v) in &def.claim_templates {
        let field = format!("dra.claim_templates.{k}");
        let n: u32 = k
            .trim()
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| invalid(path, &field, "keys are whole GPUs per pod (1, 2, 8, …)"))?;
        let key = match v.split_once('/') {
            Some((ns, name)) => ObjectKey::new(ns, name),
            None => ObjectKey::new("default", v),
        };
        if !m.claim_templates.contains_key(&key) {
            let have: Vec<String> = m.claim_templates.keys().map(ToString::to_string).collect();
            return Err(invalid(
                path,
                &field,
                format!(
                    "ResourceClaimTemplate {key} is not in the manifests (they hold: {})",
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                ),
            ));
        }
        templates_by_gpus.insert(n, key);
    }
    let admin_namespaces = m
        .namespaces
        .iter()
        .filter(|(_, ns)| {
            ns.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("resource.kubernetes.io/admin-access"))
                .map(String::as_str)
                == Some("true")
        })
        .map(|(n, _)| n.clone())
        .collect();
    Ok(DraConfig {
        source: DraSource::Manifests(Box::new(DraObjects {
            device_classes: m.device_classes.into_values().collect(),
            resource_slices: m.resource_slices.into_values().collect(),
            claim_templates: m.claim_templates.into_values().collect(),
            device_taint_rules: m.device_taint_rules.into_values().collect(),
            node_labels: m
                .nodes
                .iter()
                .map(|(n, node)| (n.clone(), node.metadata.labels.clone().unwrap_or_default()))
                .collect(),
            admin_namespaces,
            templates_by_gpus,
        })),
    })
}
