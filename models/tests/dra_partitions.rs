//! Partitionable devices: MIG slices carved from one H100 through its shared counters
//! (8 memory slices and 132 multiprocessors per GPU in the fixture).

mod dra_common;
use dra_common::*;
use models::dra::{AllocationState, Unschedulable};

fn mig(name: &str, profile: &str, parent: u32) -> k8s_openapi::api::resource::v1::ResourceClaim {
    simple_claim(
        name,
        "mig.nvidia.com",
        1,
        &[&format!(
            r#"device.attributes["gpu.nvidia.com"].profile == "{profile}" && device.attributes["gpu.nvidia.com"].parentIndex == {parent}"#
        )],
    )
}

fn whole_gpu(name: &str, index: u32) -> k8s_openapi::api::resource::v1::ResourceClaim {
    simple_claim(
        name,
        "gpu.nvidia.com",
        1,
        &[&format!(
            r#"device.attributes["gpu.nvidia.com"].index == {index}"#
        )],
    )
}

#[test]
fn seven_1g_slices_exhaust_a_gpu() {
    let mut a = h100();
    let mut s = AllocationState::default();
    // The seven 1g.10gb placements of gpu-0 (memory slices 0..6, 7 x 16 = 112 SMs).
    for i in 0..7 {
        let p = place(
            &mut a,
            &mut s,
            &format!("p{i}"),
            &[mig(&format!("m{i}"), "1g.10gb", 0)],
        )
        .unwrap();
        assert_eq!(names(&a, &p, 0), [format!("gpu-0-mig-19-{i}-1")]);
    }
    // No eighth 1g.10gb placement exists; memory slice 7 is free but no profile uses it alone.
    assert!(matches!(
        place(&mut a, &mut s, "p7", &[mig("m7", "1g.10gb", 0)]),
        Err(Unschedulable::NoNode { .. })
    ));
    // The whole GPU and the 7g.80gb slice need all its counters: no.
    assert!(place(&mut a, &mut s, "w0", &[whole_gpu("w0", 0)]).is_err());
    assert!(place(&mut a, &mut s, "big", &[mig("big", "7g.80gb", 0)]).is_err());
    // gpu-1 is untouched.
    let p = place(&mut a, &mut s, "w1", &[whole_gpu("w1", 1)]).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-1"]);
    assert_eq!(s.devices_in_use(), 8);
}

#[test]
fn a_whole_gpu_leaves_no_counters_for_its_partitions() {
    let mut a = h100();
    let mut s = AllocationState::default();
    place(&mut a, &mut s, "w0", &[whole_gpu("w0", 0)]).unwrap();
    assert!(place(&mut a, &mut s, "m0", &[mig("m0", "1g.10gb", 0)]).is_err());
    let p = place(&mut a, &mut s, "m1", &[mig("m1", "1g.10gb", 1)]).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-1-mig-19-0-1"]);
}

#[test]
fn mixed_profiles_share_the_memory_slices_and_free_them_on_unreserve() {
    let mut a = h100();
    let mut s = AllocationState::default();
    // 3g.40gb at slices 0-3 (60 SMs).
    let big = place(&mut a, &mut s, "big", &[mig("big", "3g.40gb", 0)]).unwrap();
    assert_eq!(names(&a, &big, 0), ["gpu-0-mig-9-0-4"]);
    // 1g.10gb fits only at slices 4, 5, 6 now (60 + 3 x 16 = 108 SMs).
    for (i, slice) in [4, 5, 6].into_iter().enumerate() {
        let p = place(
            &mut a,
            &mut s,
            &format!("small{i}"),
            &[mig(&format!("small{i}"), "1g.10gb", 0)],
        )
        .unwrap();
        assert_eq!(names(&a, &p, 0), [format!("gpu-0-mig-19-{slice}-1")]);
    }
    assert!(place(&mut a, &mut s, "small3", &[mig("small3", "1g.10gb", 0)]).is_err());
    // Freeing the 3g.40gb gives its slices back: the next 1g.10gb lands on slice 0.
    a.unreserve(&mut s, "big", &[big.claims[0].0.clone()]);
    a.check(&s).unwrap();
    let p = place(&mut a, &mut s, "small4", &[mig("small4", "1g.10gb", 0)]).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-0-mig-19-0-1"]);
}

/// Issue 14 item 13: a device consuming a shared counter with value 0 (NVIDIA's
/// partitionable slices list such counters) left a zero entry in the state after `reserve`,
/// which `check` then rejected ("shared-counter use does not match the claims").
/// The manifests are a byte-identical copy of the reproduction input.
#[test]
fn zero_valued_counters_keep_the_state_consistent() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/tests/dra/zero-counter.yaml");
    let m = models::dra::Manifests::load(&path).unwrap();
    let mut a = allocator(&m);
    let mut s = AllocationState::default();
    let claims: Vec<_> = m.claims.values().cloned().collect();
    // `place` reserves and then runs `Allocator::check`, which failed here before.
    let p = place(&mut a, &mut s, "default/p", &claims).unwrap();
    assert_eq!(names(&a, &p, 0), ["dev"]);
    a.check(&s).unwrap();
    let keys: Vec<_> = p.claims.iter().map(|(k, _)| k.clone()).collect();
    a.unreserve(&mut s, "default/p", &keys);
    a.check(&s).unwrap();
    assert_eq!(s, AllocationState::default());
}
