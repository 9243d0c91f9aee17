//! Cluster-autoscaler outputs of `orrery run` (only when node pools autoscale):
//! `autoscaler_actions.csv`, `autoscaler_nodes.csv` and the `autoscaler` block of
//! `summary.json`.

use models::sim::AutoscalerResult;
use serde::Serialize;

use crate::write::{ReportError, secs};

const GPU_NS_PER_HOUR: f64 = 3600.0 * 1e9;

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The `autoscaler` block of `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutoscalerSummary {
    /// GPUs × hours of every node that existed (from the scale-up decision, while being
    /// provisioned, to its removal; nodes of static pools for the whole run), from t = 0
    /// to the end of the run: what a cloud bill counts.
    pub gpu_hours_provisioned: f64,
    /// Same for Ready nodes only.
    pub gpu_hours_ready: f64,
    /// `gpu_hours_allocated` / `gpu_hours_provisioned`.
    pub allocation_of_provisioned: f64,
    pub scale_ups: u32,
    pub nodes_added: u32,
    pub nodes_removed: u32,
    /// Most nodes Ready at once in the autoscaled pools.
    pub peak_ready_nodes: u32,
}

pub fn summary(a: &AutoscalerResult, gpu_hours_allocated: f64) -> AutoscalerSummary {
    let prov = a.provisioned_gpu_ns as f64 / GPU_NS_PER_HOUR;
    AutoscalerSummary {
        gpu_hours_provisioned: round6(prov),
        gpu_hours_ready: round6(a.ready_gpu_ns as f64 / GPU_NS_PER_HOUR),
        allocation_of_provisioned: if prov > 0.0 {
            round6(gpu_hours_allocated / prov)
        } else {
            0.0
        },
        scale_ups: a.scale_ups,
        nodes_added: a.nodes_added,
        nodes_removed: a.nodes_removed,
        peak_ready_nodes: a.peak_ready_nodes,
    }
}

pub(crate) fn csv_out(
    what: &'static str,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<Vec<u8>, ReportError> {
    let enc = |e: csv::Error| ReportError::Encode {
        what,
        msg: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(enc)?;
    for r in rows {
        w.write_record(&r).map_err(enc)?;
    }
    w.into_inner().map_err(|e| ReportError::Encode {
        what,
        msg: e.to_string(),
    })
}

/// `autoscaler_actions.csv`: `time_s,action,pool,count,node,detail`, one row per scale-up
/// decision, node Ready, removal, provisioning time-out and pod no node group can host.
pub fn actions_csv(a: &AutoscalerResult) -> Result<Vec<u8>, ReportError> {
    csv_out(
        "autoscaler_actions.csv",
        &["time_s", "action", "pool", "count", "node", "detail"],
        a.actions.iter().map(|r| {
            vec![
                secs(r.time.as_nanos()),
                r.action.clone(),
                r.pool.clone(),
                r.count.to_string(),
                r.node.clone(),
                r.detail.clone(),
            ]
        }),
    )
}

/// `autoscaler_nodes.csv`: `time_s,pool,ready,provisioning`, a row per autoscaled pool at
/// t = 0 and whenever its counts change.
pub fn nodes_csv(a: &AutoscalerResult) -> Result<Vec<u8>, ReportError> {
    csv_out(
        "autoscaler_nodes.csv",
        &["time_s", "pool", "ready", "provisioning"],
        a.nodes.iter().map(|c| {
            vec![
                secs(c.time.as_nanos()),
                c.pool.clone(),
                c.ready.to_string(),
                c.provisioning.to_string(),
            ]
        }),
    )
}
