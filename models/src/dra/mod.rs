//! Dynamic Resource Allocation (`resource.k8s.io/v1`, GA in Kubernetes 1.34), as a
//! self-contained library: manifests, CEL device selectors and the structured-parameters
//! allocator. See `docs/dra.md` for what is modelled and which Kubernetes version each
//! feature belongs to.

pub mod allocator;
pub mod block_yaml;
pub mod cel;
pub mod error;
pub mod generate;
pub mod known_fields;
pub mod manifests;
pub mod quantity;
pub mod semver;

pub use allocator::{
    AllocatedDevice, Allocation, AllocationState, Allocator, ClaimStatus, DeviceId, DeviceIdx,
    DeviceInfo, InvariantViolation, PodFilter, PodPlacement, PreparedClaim, Unschedulable,
};
pub use error::DraError;
pub use manifests::{Manifests, ObjectKey, PodClaim, claim_from_template, exactly_claim_yaml};
pub use quantity::Quantity;
pub use semver::Semver;
