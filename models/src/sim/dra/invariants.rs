//! DRA invariants, checked at every event for the pods whose claims changed (O(changed)):
//!
//! * an exclusive device is never allocated to two claims;
//! * a pod is never bound (or waiting at Permit, holding resources) before its claims are
//!   allocated and reserved for it;
//! * a pod without a claim is given no device, and a pod that holds nothing has no claim
//!   reserved for it.
//!
//! A violation aborts the run with a [`DraViolation`] naming the invariant, the time, the
//! device, the claims and the pods.

use std::fmt;

use serde::{Deserialize, Serialize};
use sim_core::SimTime;

use super::{DraRuntime, DraState};
use crate::cluster::ClusterSpec;
use crate::resources::GpuRequest;
use crate::sim::{PodPhase, PodState};

/// Which invariant was broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DraInvariant {
    /// An exclusive device is allocated to two claims.
    ExclusiveDevice,
    /// A pod holds a node (bound, or waiting at Permit) while one of its claims is not
    /// allocated or not reserved for it.
    ClaimsBeforeBinding,
    /// A pod holds a device that none of its claims allocates (a pod without a claim is
    /// given no device).
    DeviceWithoutClaim,
    /// A pod that holds nothing is still named in a claim's `reservedFor`.
    StaleReservation,
    /// The allocation state disagrees with itself (in-use index, shared counters, a claim
    /// with no consumer): `Allocator::check`, run when invariant checking is on.
    AllocationState,
}

impl fmt::Display for DraInvariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DraInvariant::ExclusiveDevice => "an exclusive device is never allocated to two claims",
            DraInvariant::ClaimsBeforeBinding => {
                "a pod is never bound before its claims are allocated and reserved for it"
            }
            DraInvariant::DeviceWithoutClaim => "a pod without a claim is given no device",
            DraInvariant::StaleReservation => {
                "a pod that holds nothing is not reserved in any claim"
            }
            DraInvariant::AllocationState => "the allocation state is consistent",
        })
    }
}

/// A broken DRA invariant: the run is aborted and no results are written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error(
    "DRA invariant violated at {time}: {invariant}: {detail} (pods: {pods:?}, claims: {claims:?}, device: {})",
    device.as_deref().unwrap_or("-")
)]
pub struct DraViolation {
    pub invariant: DraInvariant,
    pub time: SimTime,
    pub detail: String,
    pub device: Option<String>,
    pub claims: Vec<String>,
    pub pods: Vec<String>,
}

/// What the checker needs to know about one pod.
pub(in crate::sim) struct PodView<'a> {
    pub job: u32,
    pub pod: u32,
    pub state: &'a PodState,
    pub gpu: GpuRequest,
}

/// Check the invariants for one pod.
pub(in crate::sim) fn check_pod(
    rt: &DraRuntime,
    spec: &ClusterSpec,
    st: &DraState,
    pv: &PodView<'_>,
    now: SimTime,
) -> Result<(), DraViolation> {
    let name = rt.pod_name(pv.job, pv.pod);
    let fail = |invariant, detail: String, device: Option<String>, claims: Vec<String>| {
        Err(DraViolation {
            invariant,
            time: now,
            detail,
            device,
            claims,
            pods: vec![name.to_string()],
        })
    };
    let placement = pv
        .state
        .placement
        .as_ref()
        .map(|p| (p.node, p.gpus.as_slice()));
    let expected = rt.expected_claims(spec, pv.job, pv.pod, placement, pv.gpu);
    let Some((node, gpus)) = placement else {
        // Holds nothing: no claim may still be reserved for it.
        if let Some(keys) = st.reserved.get(&(pv.job, pv.pod)) {
            return fail(
                DraInvariant::StaleReservation,
                "the pod holds no node but claims are still reserved for it".to_string(),
                None,
                keys.iter().map(ToString::to_string).collect(),
            );
        }
        for key in &expected {
            if st
                .allocation
                .claim(key)
                .is_some_and(|c| c.reserved_for.contains(name))
            {
                return fail(
                    DraInvariant::StaleReservation,
                    "the pod holds no node but its claim is reserved for it".to_string(),
                    None,
                    vec![key.to_string()],
                );
            }
        }
        return Ok(());
    };
    let phase = match pv.state.phase {
        PodPhase::Bound => "bound",
        PodPhase::Waiting => "waiting at Permit",
        PodPhase::Pending => "pending",
    };
    let node_name = &spec.nodes[node as usize].name;
    let mut claimed_gpus: Vec<u8> = Vec::new();
    for key in &expected {
        let Some(claim) = st.allocation.claim(key) else {
            return fail(
                DraInvariant::ClaimsBeforeBinding,
                format!("the pod is {phase} on {node_name} but its claim is not allocated"),
                None,
                vec![key.to_string()],
            );
        };
        if !claim.reserved_for.contains(name) {
            return fail(
                DraInvariant::ClaimsBeforeBinding,
                format!("the pod is {phase} on {node_name} but its claim is not reserved for it"),
                None,
                vec![key.to_string()],
            );
        }
        for d in claim.allocation.devices.iter().filter(|d| !d.admin_access) {
            match st.allocation.device_owner(d.device) {
                Some(owner) if owner == key => {}
                other => {
                    let device = rt
                        .alloc
                        .devices()
                        .get(d.device as usize)
                        .map_or_else(|| format!("#{}", d.device), |dev| dev.id.to_string());
                    let mut claims = vec![key.to_string()];
                    claims.extend(other.map(ToString::to_string));
                    return fail(
                        DraInvariant::ExclusiveDevice,
                        "the device is allocated to this claim but the in-use index names another owner (or none)".to_string(),
                        Some(device),
                        claims,
                    );
                }
            }
            if rt.generated {
                claimed_gpus.push(rt.device_gpu[d.device as usize]);
            }
        }
    }
    if rt.generated {
        claimed_gpus.sort_unstable();
        claimed_gpus.dedup();
        if let Some(g) = gpus.iter().find(|g| !claimed_gpus.contains(g)) {
            return fail(
                DraInvariant::DeviceWithoutClaim,
                format!("the pod holds GPU {g} of {node_name}, which none of its claims allocates"),
                Some(format!(
                    "{}/{node_name}/gpu-{g}",
                    crate::dra::generate::GPU_DRIVER
                )),
                expected.iter().map(ToString::to_string).collect(),
            );
        }
    } else if expected.is_empty() && !gpus.is_empty() {
        return fail(
            DraInvariant::DeviceWithoutClaim,
            format!("the pod has no claim but holds GPUs {gpus:?} of {node_name}"),
            None,
            Vec::new(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::NodeSpec;
    use crate::dra::ObjectKey;
    use crate::resources::PodRequest;
    use crate::sim::dra::{DraConfig, DraSource};
    use crate::state::{NodeState, Placement};
    use crate::workload::{JobSpec, Workload};
    use sim_core::SimDuration;
    use std::collections::BTreeMap;

    fn setup() -> (ClusterSpec, DraRuntime) {
        let node = NodeSpec {
            taints: Vec::new(),
            name: "n0".into(),
            pool: "p".into(),
            cpu_milli: 8000,
            memory_mib: 8192,
            gpus: 2,
            gpu_model: Some("H100".into()),
            gpu_memory_mib: 81920,
            rack: 0,
            labels: BTreeMap::new(),
        };
        let spec = ClusterSpec { nodes: vec![node] };
        let job = |id: &str, gpus: u32| JobSpec {
            id: id.into(),
            submit: SimTime::ZERO,
            duration: SimDuration::from_secs(10),
            pods: vec![PodRequest::gpus(gpus)],
            priority: 0,
            queue: None,
        };
        let w = Workload {
            jobs: vec![job("a", 1), job("b", 1), job("c", 0)],
        };
        let cfg = DraConfig {
            source: DraSource::Generated,
        };
        let rt = DraRuntime::new(&cfg, &spec, &w).unwrap();
        (spec, rt)
    }

    fn bound(gpus: Vec<u8>) -> PodState {
        PodState {
            phase: PodPhase::Bound,
            placement: Some(Placement { node: 0, gpus }),
        }
    }

    fn view(job: u32, state: &PodState, gpus: u32) -> PodView<'_> {
        PodView {
            job,
            pod: 0,
            state,
            gpu: PodRequest::gpus(gpus).gpu,
        }
    }

    #[test]
    fn normal_reserve_and_unreserve_pass() {
        let (spec, mut rt) = setup();
        let mut st = DraState::default();
        let ns = NodeState::new(&spec.nodes[0]);
        let g = rt
            .reserve(&mut st, &spec, &ns, 0, 0, 0, GpuRequest::Whole(1))
            .unwrap();
        assert_eq!(g, vec![0]);
        let ps = bound(g);
        check_pod(&rt, &spec, &st, &view(0, &ps, 1), SimTime::ZERO).unwrap();
        rt.unreserve(&mut st, 0, 0);
        let pending = PodState {
            phase: PodPhase::Pending,
            placement: None,
        };
        check_pod(&rt, &spec, &st, &view(0, &pending, 1), SimTime::ZERO).unwrap();
        assert_eq!(st, DraState::default());
    }

    #[test]
    fn bound_pod_without_reserved_claim_is_caught() {
        let (spec, rt) = setup();
        let st = DraState::default();
        let ps = bound(vec![0]);
        let e = check_pod(&rt, &spec, &st, &view(0, &ps, 1), SimTime::from_secs(7)).unwrap_err();
        assert_eq!(e.invariant, DraInvariant::ClaimsBeforeBinding);
        assert_eq!(e.time, SimTime::from_secs(7));
        assert_eq!(e.pods, vec!["a-0".to_string()]);
        assert_eq!(e.claims, vec!["default/a-0-gpu".to_string()]);
    }

    #[test]
    fn pod_without_claim_holding_a_gpu_is_caught() {
        let (spec, rt) = setup();
        let st = DraState::default();
        let ps = bound(vec![1]);
        let e = check_pod(&rt, &spec, &st, &view(2, &ps, 0), SimTime::ZERO).unwrap_err();
        assert_eq!(e.invariant, DraInvariant::DeviceWithoutClaim);
        assert_eq!(e.device.as_deref(), Some("gpu.nvidia.com/n0/gpu-1"));
    }

    #[test]
    fn device_in_two_claims_is_caught() {
        // Pod a's claim takes gpu-0; then a hand-made second claim (b's) lists gpu-0 too.
        let (spec, mut rt) = setup();
        let mut st = DraState::default();
        let ns = NodeState::new(&spec.nodes[0]);
        rt.reserve(&mut st, &spec, &ns, 0, 0, 0, GpuRequest::Whole(1))
            .unwrap();
        let a_key = ObjectKey::new("default", "a-0-gpu");
        let mut b = st.allocation.claim(&a_key).unwrap().clone();
        b.reserved_for = ["b-0".to_string()].into_iter().collect();
        let mut bad = st.clone();
        bad.allocation
            .insert_unchecked(ObjectKey::new("default", "b-0-gpu"), b);
        let b_key = ObjectKey::new("default", "b-0-gpu");
        assert!(bad.allocation.claim(&b_key).is_some());
        let ps = bound(vec![0]);
        let e = check_pod(&rt, &spec, &bad, &view(1, &ps, 1), SimTime::ZERO).unwrap_err();
        assert_eq!(e.invariant, DraInvariant::ExclusiveDevice);
        assert_eq!(e.device.as_deref(), Some("gpu.nvidia.com/n0/gpu-0"));
        assert_eq!(
            e.claims,
            vec!["default/b-0-gpu".to_string(), "default/a-0-gpu".to_string()]
        );
        // The whole-state check agrees.
        assert!(rt.allocator().check(&bad.allocation).is_err());
    }

    #[test]
    fn released_pod_still_reserved_is_caught() {
        let (spec, mut rt) = setup();
        let mut st = DraState::default();
        let ns = NodeState::new(&spec.nodes[0]);
        rt.reserve(&mut st, &spec, &ns, 0, 0, 0, GpuRequest::Whole(1))
            .unwrap();
        let pending = PodState {
            phase: PodPhase::Pending,
            placement: None,
        };
        let e = check_pod(&rt, &spec, &st, &view(0, &pending, 1), SimTime::ZERO).unwrap_err();
        assert_eq!(e.invariant, DraInvariant::StaleReservation);
    }
}
