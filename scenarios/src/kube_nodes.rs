//! `cluster.kubernetes_nodes`: the cluster from the output of `kubectl get nodes -o yaml`
//! (a `List` of `v1.Node`, or Node documents), read with `k8s-openapi` (documented in
//! `docs/scenario-format.md`, "Nodes from a live cluster").
//!
//! What the scheduler sees of a Node is what a node becomes:
//!
//! * CPU and memory: `status.allocatable` (`capacity` when a node reports no allocatable);
//! * GPUs: allocatable `nvidia.com/gpu` (NVIDIA device plugin) or `amd.com/gpu` (AMD device
//!   plugin). With time-slicing or MPS the device plugin advertises `gpu.count × replicas`,
//!   and that is the count kube-scheduler fits pods against, so it is the count used;
//! * GPU model and memory: the GPU feature discovery labels `nvidia.com/gpu.product` and
//!   `nvidia.com/gpu.memory` (MiB); AMD's node labeller `amd.com/gpu.product-name`;
//! * racks: nodes with the same value of `rack_label` form a rack (racks ordered by value);
//!   without one, racks of `nodes_per_rack` nodes in name order, as node pools do;
//! * labels: `metadata.labels` (node selectors and affinity match them);
//! * taints: `spec.taints`, except keys listed in `ignore_taints`; pods must tolerate the
//!   `NoSchedule`/`NoExecute` ones (TaintToleration), e.g. with a trace's `tolerations`.
//!
//! Refused with the node named, rather than silently dropped: MIG `mixed` strategy
//! resources (`nvidia.com/mig-<profile>`: one pod shape per profile is not modelled; DRA
//! partitionable devices are), a node with both NVIDIA and AMD GPUs, and a cordoned node
//! (`spec.unschedulable`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use models::cluster::NodeSpec;
use models::dra::Manifests;
use models::dra::quantity::Quantity;
use models::resources::Taint;
use serde::Deserialize;

use crate::dra::Paths;
use crate::scenario::{FileSource, ScenarioError};

/// `cluster.kubernetes_nodes` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeNodesDef {
    /// Files or folders (every `*.yaml`, `*.yml`, `*.json`) of Node objects.
    pub files: Paths,
    /// Node label whose value names a node's rack (e.g. `topology.kubernetes.io/rack`).
    pub rack_label: Option<String>,
    /// Without `rack_label`: nodes per rack, in name order.
    #[serde(default = "default_rack")]
    pub nodes_per_rack: u32,
    /// Taint keys dropped on import (as if every pod tolerated them).
    #[serde(default)]
    pub ignore_taints: Vec<String>,
}

fn default_rack() -> u32 {
    32
}

const FIELD: &str = "cluster.kubernetes_nodes";

fn invalid(path: &str, field: &str, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// Reads the Node objects `def` names (relative to the scenario's folder).
fn read(
    path: &str,
    def: &KubeNodesDef,
    files: &dyn FileSource,
) -> Result<Manifests, ScenarioError> {
    let list = def.files.list();
    if list.is_empty() {
        return Err(invalid(
            path,
            &format!("{FIELD}.files"),
            "needs a file or folder of Node objects (`kubectl get nodes -o yaml`)",
        ));
    }
    let m = crate::dra::read_manifest_files(path, &format!("{FIELD}.files"), &list, files)?;
    let mut other: Vec<String> = Vec::new();
    other.extend(m.pods.keys().map(|k| format!("Pod {k}")));
    other.extend(m.namespaces.keys().map(|k| format!("Namespace {k}")));
    other.extend(m.device_classes.keys().map(|k| format!("DeviceClass {k}")));
    other.extend(
        m.resource_slices
            .keys()
            .map(|k| format!("ResourceSlice {k}")),
    );
    other.extend(m.claims.keys().map(|k| format!("ResourceClaim {k}")));
    other.extend(
        m.claim_templates
            .keys()
            .map(|k| format!("ResourceClaimTemplate {k}")),
    );
    other.extend(
        m.device_taint_rules
            .keys()
            .map(|k| format!("DeviceTaintRule {k}")),
    );
    other.extend(m.skipped.iter().cloned());
    if !other.is_empty() {
        return Err(invalid(
            path,
            FIELD,
            format!(
                "only Node objects are read here (DRA objects go under `dra.manifests`); found {}",
                other.join(", ")
            ),
        ));
    }
    if m.nodes.is_empty() {
        return Err(invalid(
            path,
            FIELD,
            "the files hold no Node object (expected the output of `kubectl get nodes -o yaml`)",
        ));
    }
    Ok(m)
}

/// One Node as the cluster model's node; `rack` is set by the caller.
fn node_spec(
    path: &str,
    name: &str,
    node: &Node,
    def: &KubeNodesDef,
) -> Result<NodeSpec, ScenarioError> {
    let field = format!("{FIELD}: Node {name}");
    let bad = |msg: String| invalid(path, &field, msg);
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        return Err(bad(
            "is cordoned (spec.unschedulable: true); uncordon it in the file, remove it, or cordon it at 0s with `faults.events`".into(),
        ));
    }
    let taints: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| !def.ignore_taints.contains(&t.key))
        .map(|t| Taint {
            key: t.key.clone(),
            value: t.value.clone().unwrap_or_default(),
            effect: t.effect.clone(),
        })
        .collect();
    let status = node.status.as_ref();
    let resources = status.and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()));
    let get = |res: &str| resources.and_then(|a| a.get(res)).map(|q| q.0.as_str());
    let qty = |res: &str| -> Result<i128, ScenarioError> {
        let Some(text) = get(res) else {
            return Err(bad(format!(
                "status.allocatable (or capacity) has no {res}"
            )));
        };
        Quantity::parse(text)
            .map(Quantity::nanos)
            .map_err(|e| bad(format!("status.allocatable.{res} {text:?}: {e}")))
    };
    let whole = |res: &str| -> Result<u32, ScenarioError> {
        match get(res) {
            None => Ok(0),
            Some(text) => {
                let n = Quantity::parse(text)
                    .map(Quantity::nanos)
                    .map_err(|e| bad(format!("status.allocatable.{res} {text:?}: {e}")))?;
                if n % 1_000_000_000 != 0 || n < 0 {
                    return Err(bad(format!(
                        "status.allocatable.{res} {text:?}: a device count must be a whole number"
                    )));
                }
                u32::try_from(n / 1_000_000_000)
                    .map_err(|_| bad(format!("status.allocatable.{res} {text:?}: too large")))
            }
        }
    };
    if let Some(mig) = resources.and_then(|a| a.keys().find(|k| k.starts_with("nvidia.com/mig-"))) {
        return Err(bad(format!(
            "advertises {mig} (MIG `mixed` strategy): MIG profiles as separate resources are not modelled; use DRA partitionable devices (`dra:`) or the `single` strategy"
        )));
    }
    let nvidia = whole("nvidia.com/gpu")?;
    let amd = whole("amd.com/gpu")?;
    if nvidia > 0 && amd > 0 {
        return Err(bad(format!(
            "advertises both nvidia.com/gpu ({nvidia}) and amd.com/gpu ({amd}): one GPU kind per node"
        )));
    }
    let labels: BTreeMap<String, String> = node.metadata.labels.clone().unwrap_or_default();
    let gpus = nvidia.max(amd);
    let (gpu_model, gpu_memory_mib) = if gpus == 0 {
        (None, 0)
    } else if nvidia > 0 {
        let memory = match labels.get("nvidia.com/gpu.memory") {
            None => 0,
            Some(v) => v.parse::<u64>().map_err(|_| {
                bad(format!(
                    "label nvidia.com/gpu.memory {v:?}: expected MiB as a whole number (GPU feature discovery writes e.g. 81559)"
                ))
            })?,
        };
        (labels.get("nvidia.com/gpu.product").cloned(), memory)
    } else {
        (labels.get("amd.com/gpu.product-name").cloned(), 0)
    };
    // Saturating: an absurd quantity stays absurd and fails the node limits below.
    let cpu_milli = u64::try_from((qty("cpu")? / 1_000_000).max(0)).unwrap_or(u64::MAX);
    let memory_mib =
        u64::try_from((qty("memory")? / 1_000_000_000 / (1 << 20)).max(0)).unwrap_or(u64::MAX);
    Ok(NodeSpec {
        taints,
        name: name.to_string(),
        pool: labels
            .get("node.kubernetes.io/instance-type")
            .cloned()
            .unwrap_or_else(|| "kubernetes".to_string()),
        cpu_milli,
        memory_mib,
        gpus,
        gpu_model,
        gpu_memory_mib,
        rack: 0,
        labels,
    })
}

/// The nodes of `cluster.kubernetes_nodes`, racks numbered from `rack_base`: sorted by
/// (rack label value, name) with a rack label, else by name.
pub fn build(
    path: &str,
    def: &KubeNodesDef,
    files: &dyn FileSource,
    rack_base: u32,
) -> Result<Vec<NodeSpec>, ScenarioError> {
    if def.nodes_per_rack == 0 {
        return Err(invalid(
            path,
            &format!("{FIELD}.nodes_per_rack"),
            "must be at least 1",
        ));
    }
    let m = read(path, def, files)?;
    let mut nodes: Vec<(String, NodeSpec)> = Vec::with_capacity(m.nodes.len());
    for (name, node) in &m.nodes {
        let spec = node_spec(path, name, node, def)?;
        let key = match &def.rack_label {
            None => String::new(),
            Some(l) => spec.labels.get(l).cloned().ok_or_else(|| {
                invalid(
                    path,
                    &format!("{FIELD}: Node {name}"),
                    format!("has no label {l} (the `rack_label`)"),
                )
            })?,
        };
        nodes.push((key, spec));
    }
    // BTreeMap order is name order; a stable sort by rack keeps names ordered within.
    nodes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(nodes.len());
    let mut rack = rack_base;
    let mut prev: Option<String> = None;
    for (i, (key, mut spec)) in nodes.into_iter().enumerate() {
        spec.rack = match &def.rack_label {
            None => rack_base + i as u32 / def.nodes_per_rack,
            Some(_) => {
                if prev.as_ref().is_some_and(|p| *p != key) {
                    rack += 1;
                }
                prev = Some(key);
                rack
            }
        };
        out.push(spec);
    }
    Ok(out)
}
