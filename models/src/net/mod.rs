//! Network and storage performance models (issue 5): topology, flow-level max-min bandwidth
//! sharing, collectives, shared storage and a training-step model that feels them.
//!
//! How a job model drives it (all times integer ns):
//! 1. Build a [`Topology`] from the cluster and the `network:` config, and a [`FlowNet`] from
//!    it ([`Topology::flow_net`]).
//! 2. Score a candidate placement with [`step::estimate`] (a what-if; changes nothing).
//! 3. When a job starts, [`JobTraffic::register`] its traffic and read its step time with
//!    [`JobTraffic::step_time`]; when it ends, [`JobTraffic::unregister`].
//! 4. Finite transfers (dataset staging, checkpoint bursts, explicit collectives via
//!    [`collective::CollectiveRun`]) are flows: arm a timer at
//!    [`FlowNet::completion_time`], on it call [`FlowNet::pop_completed`].
//! 5. After every mutation, [`FlowNet::take_changed`] lists flows whose completion time moved
//!    (re-arm their timers) and [`step::changed_owners`] the jobs whose step time moved
//!    (re-plan their progress).
//!
//! See `docs/hardware-model.md` for the model, its defaults and their sources.

pub mod collective;
pub mod config;
pub mod flow;
pub mod observe;
pub mod step;
pub mod storage;
pub mod topology;

pub use collective::{
    CollectivePlan, CollectiveRun, Phase, PlannedFlow, RunPoll, alpha_beta_time, plan,
    run_to_completion,
};
pub use config::{
    CalibrationPoint, CollectiveKind, FabricConfig, FabricKind, LatencyConfig, NetworkConfig,
    NodeNetConfig, Scope, StorageConfig, SuGrouping, gbit_s, gbyte_s,
};
pub use flow::{FlowId, FlowNet, FlowSpec, LinkId, LinkState, max_min_rates};
pub use observe::{LinkSample, LinkSampler, fs_throughput};
pub use step::{
    CheckpointSpec, JobTraffic, Placement, StepBreakdown, StepSpec, changed_owners, estimate,
};
pub use storage::{NodeCache, checkpoint_flows, read_flows, staging_flows};
pub use topology::{GpuRef, LinkInfo, LinkKind, NetError, NodeShape, Topology, Vertex};
