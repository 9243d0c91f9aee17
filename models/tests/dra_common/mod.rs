//! Helpers shared by the DRA tests: the fixtures of `scenarios/dra/` and small wrappers.
#![allow(dead_code)]

use std::path::PathBuf;

use k8s_openapi::api::resource::v1::ResourceClaim;
use models::dra::{
    AllocationState, Allocator, DeviceIdx, Manifests, PodPlacement, PreparedClaim, Unschedulable,
};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/dra")
        .join(name)
}

/// The H100 node's GPU and NIC slices with the NVIDIA and DraNet classes.
pub fn h100_manifests() -> Manifests {
    let mut m = Manifests::new();
    for f in [
        "nvidia-deviceclasses.yaml",
        "h100-node.yaml",
        "nic-rdma.yaml",
    ] {
        m.add_file(&fixture(f)).unwrap();
    }
    m
}

pub fn allocator(m: &Manifests) -> Allocator {
    Allocator::from_manifests(m).unwrap()
}

pub fn h100() -> Allocator {
    allocator(&h100_manifests())
}

/// One ResourceClaim from YAML (namespace `default` unless the YAML says otherwise).
pub fn claim(yaml: &str) -> ResourceClaim {
    let m = Manifests::parse("test.yaml", yaml).unwrap();
    assert_eq!(m.claims.len(), 1, "expected one claim");
    m.claims.into_values().next().unwrap()
}

/// A claim named `name` with one `exactly` request `gpu` of `count` devices of `class`,
/// with optional selectors.
pub fn simple_claim(name: &str, class: &str, count: u32, selectors: &[&str]) -> ResourceClaim {
    claim(&models::dra::exactly_claim_yaml(
        name, class, count, selectors,
    ))
}

/// Places one pod with these claims on the first node that fits and reserves them.
pub fn place(
    a: &mut Allocator,
    state: &mut AllocationState,
    pod: &str,
    claims: &[ResourceClaim],
) -> Result<PodPlacement, Unschedulable> {
    let prepared: Vec<PreparedClaim> = claims.iter().map(|c| a.prepare(c).unwrap()).collect();
    let refs: Vec<&PreparedClaim> = prepared.iter().collect();
    let p = a.place(&refs, pod, state)?;
    a.reserve(state, pod, &p).unwrap();
    a.check(state).unwrap();
    Ok(p)
}

/// Device names of a placement's new allocation of claim `i`, in allocation order.
pub fn names(a: &Allocator, p: &PodPlacement, i: usize) -> Vec<String> {
    p.claims[i]
        .1
        .as_ref()
        .expect("claim was allocated by this placement")
        .devices
        .iter()
        .map(|d| a.device(d.device).id.device.clone())
        .collect()
}

pub fn device(a: &Allocator, name: &str) -> DeviceIdx {
    a.devices()
        .iter()
        .position(|d| d.id.device == name)
        .unwrap_or_else(|| panic!("no device {name}")) as DeviceIdx
}
