//! The scenario's `faults:` section and the inline jobs' checkpoint fields (documented in
//! `docs/scenario-format.md`, "Nodes and faults").

use models::{Checkpoint, ClusterSpec, FaultConfig, NodeAction, NodeEventSpec, SeededFaults};
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
    pub node: String,
    pub action: NodeAction,
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
        let Some(node) = cluster.nodes.iter().position(|n| n.name == e.node) else {
            let example = cluster
                .nodes
                .first()
                .map(|n| format!(" (nodes are named like {:?})", n.name))
                .unwrap_or_default();
            return Err(invalid(
                path,
                &format!("faults.events[{i}].node"),
                format!("no node named {:?} in the cluster{example}", e.node),
            ));
        };
        fc.events.push(NodeEventSpec {
            at: SimTime::ZERO + e.at,
            node: node as u32,
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
