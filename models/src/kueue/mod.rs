//! A Kueue admission core: ResourceFlavors, ClusterQueues with per-flavor quotas for
//! several resources in resource groups, cohorts (flat and hierarchical) with borrowing
//! and lending limits, flavor fungibility, classic preemption (`withinClusterQueue`,
//! `reclaimWithinCohort`, `borrowWithinCohort`) and the scheduling cycle. Pure and
//! deterministic: plain data in, plain results out, ordered maps only.
//!
//! Follows kubernetes-sigs/kueue **v0.19.2** (`pkg/scheduler/scheduler.go`,
//! `pkg/scheduler/flavorassigner/`, `pkg/scheduler/preemption/`,
//! `pkg/cache/scheduler/resource_node.go`), re-implemented from its semantics. Not
//! modelled: fair sharing, topology-aware scheduling, admission-check controllers,
//! elastic workload slices, `LastAssignment` carried across cycles, LimitRanges.
//!
//! * [`types`] — the API objects (ResourceFlavor, ClusterQueue, Cohort, Workload, ...).
//! * [`snapshot`] — quota accounting over the cohort tree.
//! * [`assigner`] — the flavor assigner.
//! * [`preemption`] — preemption targets and the preemption oracle.
//! * [`cycle`] — queues and one scheduling cycle.

pub mod assigner;
pub mod cycle;
pub mod preemption;
pub mod snapshot;
pub mod types;

pub use assigner::{Assignment, FlavorAssigner, Mode, PreemptionOracle, PreemptionPossibility};
pub use cycle::{CycleOptions, CycleResult, EntryStatus, Queues, RequeueReason, schedule};
pub use preemption::{Oracle, Target, get_targets};
pub use snapshot::{Snapshot, WorkloadInfo};
pub use types::*;

/// Errors building the core's inputs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KueueError {
    #[error("invalid quantity for {resource}: {msg}")]
    Quantity { resource: String, msg: String },
    #[error("{0}")]
    Config(String),
}
