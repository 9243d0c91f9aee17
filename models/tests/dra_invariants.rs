//! Random arrivals and departures of pods with mixed claims (whole GPUs, MIG slices, NICs,
//! constraints, shared claims) on the H100 fixture: after every step the allocation
//! state's invariants hold, and no device is ever allocated to two claims.

mod dra_common;
use std::collections::BTreeMap;

use dra_common::*;
use models::dra::{AllocationState, ObjectKey};

const KINDS: &[(&str, u32, &str)] = &[
    ("gpu.nvidia.com", 1, ""),
    ("gpu.nvidia.com", 2, ""),
    ("gpu.nvidia.com", 4, "pcie"),
    (
        "mig.nvidia.com",
        1,
        r#"device.attributes["gpu.nvidia.com"].profile == "1g.10gb""#,
    ),
    (
        "mig.nvidia.com",
        1,
        r#"device.attributes["gpu.nvidia.com"].profile == "3g.40gb""#,
    ),
    (
        "mig.nvidia.com",
        2,
        r#"device.attributes["gpu.nvidia.com"].profile == "7g.80gb""#,
    ),
    ("dra.net", 1, r#"device.attributes["dra.net"].rdma"#),
];

#[test]
fn invariants_hold_under_random_arrivals_and_departures() {
    let mut a = h100();
    let mut s = AllocationState::default();
    let mut x: u64 = 12345;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    // pod -> claims it holds
    let mut running: BTreeMap<String, Vec<ObjectKey>> = BTreeMap::new();
    let mut placed = 0;
    for i in 0..400 {
        if !running.is_empty() && next(3) == 0 {
            let k = running
                .keys()
                .nth(next(running.len() as u64) as usize)
                .unwrap()
                .clone();
            let claims = running.remove(&k).unwrap();
            a.unreserve(&mut s, &k, &claims);
        } else {
            let (class, count, sel) = KINDS[next(KINDS.len() as u64) as usize];
            let shared = next(4) == 0;
            let name = if shared {
                "shared".to_string()
            } else {
                format!("c{i}")
            };
            let mut c = if sel == "pcie" {
                let mut c = simple_claim(&name, class, count, &[]);
                c.spec.devices.as_mut().unwrap().constraints =
                    Some(vec![k8s_openapi::api::resource::v1::DeviceConstraint {
                        match_attribute: Some("resource.kubernetes.io/pcieRoot".into()),
                        ..Default::default()
                    }]);
                c
            } else if sel.is_empty() {
                simple_claim(&name, class, count, &[])
            } else {
                simple_claim(&name, class, count, &[sel])
            };
            if shared {
                // Every pod naming "shared" uses the same claim: one GPU.
                c = simple_claim("shared", "gpu.nvidia.com", 1, &[]);
            }
            let pod = format!("pod-{i}");
            if let Ok(p) = place(&mut a, &mut s, &pod, &[c]) {
                placed += 1;
                running.insert(pod, p.claims.iter().map(|(k, _)| k.clone()).collect());
            }
        }
        a.check(&s).unwrap();
        // Directly: every exclusive device has exactly one owner among the claims.
        let mut owners: BTreeMap<u32, &ObjectKey> = BTreeMap::new();
        for (key, st) in s.claims() {
            for d in st.allocation.devices.iter().filter(|d| !d.admin_access) {
                assert!(
                    owners.insert(d.device, key).is_none(),
                    "device {} in two claims",
                    d.device
                );
            }
        }
        assert_eq!(owners.len(), s.devices_in_use());
    }
    assert!(placed > 100, "{placed}");
}

#[test]
fn reserve_refuses_a_device_twice_and_changes_nothing() {
    let mut a = h100();
    let mut s = AllocationState::default();
    let c1 = a
        .prepare(&simple_claim("c1", "gpu.nvidia.com", 1, &[]))
        .unwrap();
    let c2 = a
        .prepare(&simple_claim("c2", "gpu.nvidia.com", 1, &[]))
        .unwrap();
    // Both filtered against the same state: both get gpu-0.
    let p1 = a.filter(&[&c1], "h100-0", "p1", &s).unwrap();
    let p2 = a.filter(&[&c2], "h100-0", "p2", &s).unwrap();
    a.reserve(&mut s, "p1", &p1).unwrap();
    let before = s.clone();
    let err = a.reserve(&mut s, "p2", &p2).unwrap_err();
    assert!(
        err.to_string().contains("gpu-0") && err.to_string().contains("default/c1"),
        "{err}"
    );
    assert_eq!(s, before);
    a.check(&s).unwrap();
    // Reserving the same new allocation twice is refused too.
    assert!(a.reserve(&mut s, "p1", &p1).is_err());
    // Once everything is released, the state equals a fresh one.
    a.unreserve(&mut s, "p1", std::slice::from_ref(&c1.key));
    assert_eq!(s, AllocationState::default());
}
