//! DRA in runs: the scheduler's DynamicResources plugin on top of [`crate::dra`].
//!
//! * `config`: what a run is told ([`DraConfig`]: generated slices, or objects read from
//!   manifests with a GPU-count → ResourceClaimTemplate map).
//! * `plugin`: the run-time plugin: each pod's ResourceClaims (prepared once), Filter
//!   (can the pod's claims be allocated on this node?), Reserve (allocate and reserve
//!   them for the pod), Unreserve (release them; a claim with no consumer left is
//!   deallocated).
//! * `invariants`: the per-event checks (exclusive devices, claims before binding, no
//!   device without a claim) and the violation report.
//!
//! The allocation itself ([`DraState`]) is part of `SimState`: plain data.

mod config;
mod invariants;
mod plugin;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dra::{AllocationState, ObjectKey};

pub use config::{DraConfig, DraObjects, DraSource};
pub use invariants::{DraInvariant, DraViolation};
pub(super) use invariants::{PodView, check_pod};
pub(super) use plugin::{DraRuntime, strip_gpu_requests};

/// DRA's part of the simulation state: the claims' allocations and, per pod holding
/// resources, the claims reserved for it. Plain data (clone, compare, hash), iterated in
/// key order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DraState {
    pub allocation: AllocationState,
    /// (job, pod) → the claims whose `reservedFor` names the pod.
    pub reserved: BTreeMap<(u32, u32), Vec<ObjectKey>>,
}
