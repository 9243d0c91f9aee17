//! Configuration of the hardware model (a scenario's `network:` key).
//!
//! Every field has a default for an H100/H200 8-GPU HGX/DGX node on a rail-optimized
//! SuperPOD-style fabric; sources are in `docs/hardware-model.md`. Bandwidths are in GB/s
//! (10^9 bytes/s) unless the name says `gbit_s` (10^9 bits/s).

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

/// Bytes per second from GB/s.
pub fn gbyte_s(x: f64) -> f64 {
    x * 1e9
}
/// Bytes per second from Gb/s.
pub fn gbit_s(x: f64) -> f64 {
    x * 1e9 / 8.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct NetworkConfig {
    pub node: NodeNetConfig,
    pub fabric: FabricConfig,
    pub storage: StorageConfig,
    pub latency: LatencyConfig,
    /// Measured bus bandwidths (e.g. from nccl-tests) that override the α-β model.
    pub calibration: Vec<CalibrationPoint>,
}

/// Inside one node: NVLink domain, NICs, local NVMe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeNetConfig {
    /// NVLink bandwidth per GPU per direction (900 GB/s bidirectional → 450).
    pub nvlink_gbyte_s: f64,
    /// Fraction of NVLink line rate a ring collective achieves (≈370/450).
    pub nvlink_efficiency: f64,
    /// Compute-fabric NICs per node (one per GPU on HGX H100/H200).
    pub compute_nics: u32,
    pub compute_nic_gbit_s: f64,
    /// Storage/in-band NICs used for the storage network.
    pub storage_nics: u32,
    pub storage_nic_gbit_s: f64,
    /// Node-local NVMe cache.
    pub nvme_capacity_tb: f64,
    pub nvme_read_gbyte_s: f64,
    pub nvme_write_gbyte_s: f64,
}

impl Default for NodeNetConfig {
    fn default() -> Self {
        NodeNetConfig {
            nvlink_gbyte_s: 450.0,
            nvlink_efficiency: 370.0 / 450.0,
            compute_nics: 8,
            compute_nic_gbit_s: 400.0,
            storage_nics: 2,
            storage_nic_gbit_s: 400.0,
            nvme_capacity_tb: 30.0,
            nvme_read_gbyte_s: 20.0,
            nvme_write_gbyte_s: 10.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FabricKind {
    /// One leaf per (scalable unit, rail); NIC `r` of every node in the SU on leaf `r`.
    RailOptimized,
    /// One leaf (top-of-rack) per scalable unit; all NICs of a node on it.
    FatTree,
}

/// How nodes are grouped into scalable units (SUs) / racks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuGrouping {
    /// Consecutive nodes, `nodes_per_su` at a time, in cluster order.
    Index,
    /// `NodeSpec::rack` is the SU.
    Rack,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FabricConfig {
    pub kind: FabricKind,
    pub nodes_per_su: u32,
    pub su_grouping: SuGrouping,
    /// Leaf downlink : uplink bandwidth ratio (1 = non-blocking, 2 = 2:1).
    pub oversubscription: f64,
    /// Fraction of NIC line rate achievable by a flow (protocol overhead).
    pub efficiency: f64,
    /// Equal-cost links a leaf's uplink bundle to the spine is made of (ECMP members).
    /// Only link faults read it: one failed member takes `1/spine_uplinks` of the bundle's
    /// capacity away. Default 1.
    #[serde(skip_serializing_if = "is_one")]
    pub spine_uplinks: u32,
}

fn is_one(x: &u32) -> bool {
    *x == 1
}

impl Default for FabricConfig {
    fn default() -> Self {
        FabricConfig {
            kind: FabricKind::RailOptimized,
            nodes_per_su: 32,
            su_grouping: SuGrouping::Index,
            oversubscription: 1.0,
            efficiency: 1.0,
            spine_uplinks: 1,
        }
    }
}

/// Shared parallel filesystem and the storage network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Aggregate read bandwidth of the filesystem.
    pub read_gbyte_s: f64,
    /// Aggregate write bandwidth.
    pub write_gbyte_s: f64,
    /// Per-client (per-node) caps of the FS client / GDS path.
    pub client_read_gbyte_s: f64,
    pub client_write_gbyte_s: f64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            read_gbyte_s: 40.0,
            write_gbyte_s: 20.0,
            client_read_gbyte_s: 40.0,
            client_write_gbyte_s: 40.0,
        }
    }
}

/// Per-step latencies (α) of the collective cost model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    pub nvlink_step: SimDuration,
    pub network_step: SimDuration,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            nvlink_step: SimDuration::from_nanos(3_000),
            network_step: SimDuration::from_nanos(7_000),
        }
    }
}

/// Which collective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectiveKind {
    AllReduce,
    AllGather,
    ReduceScatter,
    AllToAll,
}

impl CollectiveKind {
    /// nccl-tests bus-bandwidth factor: busbw = algbw · factor(n).
    pub fn bus_factor(self, n: u32) -> f64 {
        let n = f64::from(n.max(1));
        match self {
            CollectiveKind::AllReduce => 2.0 * (n - 1.0) / n,
            _ => (n - 1.0) / n,
        }
    }
}

/// Where a collective phase runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Inside one node's NVLink domain.
    Nvlink,
    /// Across nodes, all under the same leaf (switch) per rail.
    Rail,
    /// Across nodes under different leaves (through the spine).
    CrossLeaf,
}

/// One measured point: `busbw` for `collective` in `scope` at `message_bytes` (per rank
/// buffer, nccl-tests `size`). `ranks` restricts it to a group size (ranks in that phase).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationPoint {
    pub collective: CollectiveKind,
    pub scope: Scope,
    #[serde(default)]
    pub ranks: Option<u32>,
    pub message_bytes: u64,
    pub busbw_gbyte_s: f64,
}

/// Most NICs of each kind per node (the topology builds a link per NIC).
pub const MAX_NICS_PER_NODE: u32 = 64;

impl NetworkConfig {
    /// Check the configuration; the first problem found is returned as (field, message),
    /// the field as written under a scenario's `network.config:` (e.g.
    /// `node.nvlink_gbyte_s`, `calibration[2].busbw_gbyte_s`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let pos = |name: String, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err((name, format!("must be a finite number > 0, got {v}")))
            }
        };
        let n = &self.node;
        for (k, v) in [
            ("node.nvlink_gbyte_s", n.nvlink_gbyte_s),
            ("node.nvlink_efficiency", n.nvlink_efficiency),
            ("node.compute_nic_gbit_s", n.compute_nic_gbit_s),
            ("node.storage_nic_gbit_s", n.storage_nic_gbit_s),
            ("node.nvme_read_gbyte_s", n.nvme_read_gbyte_s),
            ("node.nvme_write_gbyte_s", n.nvme_write_gbyte_s),
            ("fabric.efficiency", self.fabric.efficiency),
            ("storage.read_gbyte_s", self.storage.read_gbyte_s),
            ("storage.write_gbyte_s", self.storage.write_gbyte_s),
            (
                "storage.client_read_gbyte_s",
                self.storage.client_read_gbyte_s,
            ),
            (
                "storage.client_write_gbyte_s",
                self.storage.client_write_gbyte_s,
            ),
        ] {
            pos(k.to_string(), v)?;
        }
        if !(n.nvme_capacity_tb.is_finite() && n.nvme_capacity_tb >= 0.0) {
            return Err((
                "node.nvme_capacity_tb".into(),
                format!("must be a finite number >= 0, got {}", n.nvme_capacity_tb),
            ));
        }
        if !(self.fabric.oversubscription.is_finite() && self.fabric.oversubscription >= 1.0) {
            return Err((
                "fabric.oversubscription".into(),
                format!(
                    "must be a finite number >= 1, got {}",
                    self.fabric.oversubscription
                ),
            ));
        }
        if self.fabric.nodes_per_su == 0 {
            return Err(("fabric.nodes_per_su".into(), "must be at least 1".into()));
        }
        for (k, v) in [
            ("node.compute_nics", n.compute_nics),
            ("node.storage_nics", n.storage_nics),
        ] {
            if !(1..=MAX_NICS_PER_NODE).contains(&v) {
                return Err((
                    k.into(),
                    format!("must be from 1 to {MAX_NICS_PER_NODE}, got {v}"),
                ));
            }
        }
        for (i, c) in self.calibration.iter().enumerate() {
            pos(format!("calibration[{i}].busbw_gbyte_s"), c.busbw_gbyte_s)?;
        }
        Ok(())
    }
}
