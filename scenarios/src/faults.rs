//! The scenario's `faults:` section and the inline jobs' checkpoint fields (documented in
//! `docs/scenario-format.md`, "Nodes and faults").

use models::{
    Checkpoint, ClusterSpec, FaultConfig, NodeAction, NodeEventSpec, Part, PartEventSpec,
    SeededFaults,
};
use serde::Deserialize;
use sim_core::{SimDuration, SimTime};

use crate::scenario::{InlineJob, ScenarioError};

/// `faults:` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsDef {
    /// Timed node events: `{at: 3h, node: gpu-0001, action: fail}`.
    #[serde(default)]
    pub events: Vec<NodeEventDef>,
    /// Failures drawn from an MTBF per node and/or per GPU.
    pub seeded: Option<SeededDef>,
    /// Checkpoints of every job without its own (`checkpoint_interval` on inline jobs).
    pub checkpoint: Option<CheckpointDef>,
    /// Time to restore a checkpoint after a restart (without the network model's storage).
    #[serde(default)]
    pub checkpoint_restore: SimDuration,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEventDef {
    pub at: SimDuration,
    /// The node (needed unless `link` names a leaf uplink).
    pub node: Option<String>,
    /// One GPU of the node (index): a single-GPU fault.
    pub gpu: Option<u32>,
    /// A link of the network model: `nic-K` (with `node`) or `leaf-L/spine-K`.
    pub link: Option<String>,
    pub action: NodeAction,
}

/// `nic-K` → `(None, K)`; `leaf-L/spine-K` → `(Some(L), K)`.
fn parse_link(s: &str) -> Option<(Option<u32>, u32)> {
    if let Some(k) = s.strip_prefix("nic-") {
        return Some((None, k.parse().ok()?));
    }
    let (leaf, spine) = s.split_once('/')?;
    let l = leaf.strip_prefix("leaf-")?.parse().ok()?;
    let k = spine.strip_prefix("spine-")?.parse().ok()?;
    Some((Some(l), k))
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeededDef {
    pub node_mtbf: Option<SimDuration>,
    pub gpu_mtbf: Option<SimDuration>,
    pub mttr: SimDuration,
    pub until: Option<SimDuration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointDef {
    pub interval: SimDuration,
    pub bytes: Option<u64>,
}

fn invalid(path: &str, field: &str, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

fn checkpoint(
    path: &str,
    field: &str,
    interval: SimDuration,
    bytes: Option<u64>,
) -> Result<Checkpoint, ScenarioError> {
    if interval.as_nanos() == 0 {
        return Err(invalid(
            path,
            field,
            "must be > 0 (a checkpoint every this much run time)",
        ));
    }
    Ok(Checkpoint { interval, bytes })
}

/// Index of the node named `name`, or an error naming `field`.
fn node_index(
    path: &str,
    cluster: &ClusterSpec,
    name: &str,
    field: &str,
) -> Result<u32, ScenarioError> {
    match cluster.nodes.iter().position(|n| n.name == name) {
        Some(i) => Ok(i as u32),
        None => {
            let example = cluster
                .nodes
                .first()
                .map(|n| format!(" (nodes are named like {:?})", n.name))
                .unwrap_or_default();
            Err(invalid(
                path,
                field,
                format!("no node named {name:?} in the cluster{example}"),
            ))
        }
    }
}

/// The run's fault configuration: `Some` when the scenario has a `faults:` section or an
/// inline job declares a checkpoint; `None` otherwise (outputs as before).
pub(crate) fn build(
    path: &str,
    def: Option<&FaultsDef>,
    inline: &[InlineJob],
    cluster: &ClusterSpec,
    horizon: Option<SimDuration>,
) -> Result<Option<FaultConfig>, ScenarioError> {
    let any_job = inline
        .iter()
        .any(|j| j.checkpoint_interval.is_some() || j.checkpoint_bytes.is_some());
    if def.is_none() && !any_job {
        return Ok(None);
    }
    let mut fc = FaultConfig::default();
    for (i, j) in inline.iter().enumerate() {
        match (j.checkpoint_interval, j.checkpoint_bytes) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(invalid(
                    path,
                    &format!("workload.jobs[{i}].checkpoint_bytes"),
                    "needs checkpoint_interval (how often the checkpoint is written)",
                ));
            }
            (Some(iv), bytes) => {
                let c = checkpoint(
                    path,
                    &format!("workload.jobs[{i}].checkpoint_interval"),
                    iv,
                    bytes,
                )?;
                fc.checkpoints.insert(j.id.clone(), c);
            }
        }
    }
    let Some(def) = def else {
        return Ok(Some(fc));
    };
    for (i, e) in def.events.iter().enumerate() {
        let field = |k: &str| format!("faults.events[{i}].{k}");
        let part_action = || -> Result<bool, ScenarioError> {
            match e.action {
                NodeAction::Fail => Ok(true),
                NodeAction::Recover => Ok(false),
                other => Err(invalid(
                    path,
                    &field("action"),
                    format!(
                        "{:?} applies to nodes; a GPU or link event takes fail or recover",
                        other.name()
                    ),
                )),
            }
        };
        if e.gpu.is_some() && e.link.is_some() {
            return Err(invalid(
                path,
                &field("gpu"),
                "an event names a GPU or a link, not both",
            ));
        }
        if let Some(link) = &e.link {
            let Some((leaf, k)) = parse_link(link) else {
                return Err(invalid(
                    path,
                    &field("link"),
                    format!(
                        "{link:?} is not a link name: `nic-K` (compute NIC K of `node`) or `leaf-L/spine-K` (uplink K of leaf L)"
                    ),
                ));
            };
            let part = match (leaf, &e.node) {
                (Some(leaf), None) => Part::SpineUplink { leaf, link: k },
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        path,
                        &field("node"),
                        "a leaf uplink belongs to no node: leave `node` out",
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        path,
                        &field("node"),
                        "a NIC link needs the node it belongs to",
                    ));
                }
                (None, Some(name)) => Part::Nic {
                    node: node_index(path, cluster, name, &field("node"))?,
                    nic: k,
                },
            };
            fc.part_events.push(PartEventSpec {
                at: SimTime::ZERO + e.at,
                part,
                fail: part_action()?,
                source: i as u32,
            });
            continue;
        }
        let Some(name) = &e.node else {
            return Err(invalid(
                path,
                &field("node"),
                "missing: a node event names its node",
            ));
        };
        let node = node_index(path, cluster, name, &field("node"))?;
        if let Some(gpu) = e.gpu {
            let n = &cluster.nodes[node as usize];
            if gpu >= n.gpus || gpu >= u32::from(u8::MAX) {
                return Err(invalid(
                    path,
                    &field("gpu"),
                    format!(
                        "node {name:?} has {} GPUs (indices 0 to {})",
                        n.gpus,
                        n.gpus.saturating_sub(1)
                    ),
                ));
            }
            fc.part_events.push(PartEventSpec {
                at: SimTime::ZERO + e.at,
                part: Part::Gpu {
                    node,
                    gpu: gpu as u8,
                },
                fail: part_action()?,
                source: i as u32,
            });
            continue;
        }
        fc.events.push(NodeEventSpec {
            at: SimTime::ZERO + e.at,
            node,
            action: e.action,
        });
    }
    if let Some(s) = &def.seeded {
        for (key, v) in [("node_mtbf", s.node_mtbf), ("gpu_mtbf", s.gpu_mtbf)] {
            if v.is_some_and(|d| d.as_nanos() == 0) {
                return Err(invalid(
                    path,
                    &format!("faults.seeded.{key}"),
                    "must be > 0 (a mean time between failures)",
                ));
            }
        }
        if s.node_mtbf.is_none() && s.gpu_mtbf.is_none() {
            return Err(invalid(
                path,
                "faults.seeded",
                "needs node_mtbf or gpu_mtbf (or both)",
            ));
        }
        if s.until.is_none() && horizon.is_none() {
            return Err(invalid(
                path,
                "faults.seeded.until",
                "seeded failures need an end so the run terminates: set faults.seeded.until or a horizon",
            ));
        }
        fc.seeded = Some(SeededFaults {
            node_mtbf: s.node_mtbf,
            gpu_mtbf: s.gpu_mtbf,
            mttr: s.mttr,
            until: s.until.map(|u| SimTime::ZERO + u),
        });
    }
    if let Some(c) = &def.checkpoint {
        fc.default_checkpoint = Some(checkpoint(
            path,
            "faults.checkpoint.interval",
            c.interval,
            c.bytes,
        )?);
    }
    fc.checkpoint_restore = def.checkpoint_restore;
    Ok(Some(fc))
}
