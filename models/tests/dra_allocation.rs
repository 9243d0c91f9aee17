//! The allocator on the H100 fixture: `ExactCount`, `All`, `firstAvailable`,
//! `matchAttribute` and `distinctAttribute`. Device order is slice order: gpu-0..gpu-7
//! (PCIe root pci0000:15 for 0-3, pci0000:95 for 4-7), then the MIG partitions.

mod dra_common;
use std::hash::{DefaultHasher, Hash, Hasher};

use dra_common::*;
use models::dra::{AllocationState, Unschedulable};

const INDEX_1: &str = r#"device.attributes["gpu.nvidia.com"].index == 1"#;

#[test]
fn exact_count() {
    let mut a = h100();
    let mut s = AllocationState::default();
    let p = place(
        &mut a,
        &mut s,
        "p1",
        &[simple_claim("three", "gpu.nvidia.com", 3, &[])],
    )
    .unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-0", "gpu-1", "gpu-2"]);
    // 5 GPUs are left.
    assert!(
        place(
            &mut a,
            &mut s,
            "p2",
            &[simple_claim("six", "gpu.nvidia.com", 6, &[])]
        )
        .is_err()
    );
    let p = place(
        &mut a,
        &mut s,
        "p3",
        &[simple_claim("five", "gpu.nvidia.com", 5, &[])],
    )
    .unwrap();
    assert_eq!(
        names(&a, &p, 0),
        ["gpu-3", "gpu-4", "gpu-5", "gpu-6", "gpu-7"]
    );
    assert_eq!(s.devices_in_use(), 8);
}

fn all_claim(name: &str, selector: Option<&str>) -> k8s_openapi::api::resource::v1::ResourceClaim {
    let sel = selector
        .map(|e| format!("        selectors:\n        - cel:\n            expression: '{e}'\n"))
        .unwrap_or_default();
    claim(&format!(
        "apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: {name}
spec:
  devices:
    requests:
    - name: gpus
      exactly:
        deviceClassName: gpu.nvidia.com
        allocationMode: All
{sel}"
    ))
}

#[test]
fn all_takes_every_matching_device_of_the_node() {
    let mut a = h100();
    let mut s = AllocationState::default();
    let p = place(&mut a, &mut s, "p1", &[all_claim("all", None)]).unwrap();
    assert_eq!(
        names(&a, &p, 0),
        (0..8).map(|i| format!("gpu-{i}")).collect::<Vec<_>>()
    );
    // Nothing is left for a second `All` claim.
    assert!(place(&mut a, &mut s, "p2", &[all_claim("again", None)]).is_err());
}

#[test]
fn all_fails_if_one_matching_device_is_in_use_or_none_matches() {
    let mut a = h100();
    let mut s = AllocationState::default();
    place(
        &mut a,
        &mut s,
        "p1",
        &[simple_claim("one", "gpu.nvidia.com", 1, &[INDEX_1])],
    )
    .unwrap();
    assert!(matches!(
        place(&mut a, &mut s, "p2", &[all_claim("all", None)]),
        Err(Unschedulable::NoNode { .. })
    ));
    // All of the GPUs on root pci0000:95 are free: that works.
    let p = place(
        &mut a,
        &mut s,
        "p3",
        &[all_claim(
            "root95",
            Some(r#"device.attributes["resource.kubernetes.io"].pcieRoot == "pci0000:95""#),
        )],
    )
    .unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-4", "gpu-5", "gpu-6", "gpu-7"]);
    // `All` of nothing is not a success.
    assert!(
        place(
            &mut a,
            &mut s,
            "p4",
            &[all_claim(
                "none",
                Some(r#"device.attributes["gpu.nvidia.com"].index > 100"#)
            )]
        )
        .is_err()
    );
}

const FIRST_AVAILABLE: &str = r#"
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: flexible
spec:
  devices:
    requests:
    - name: gpu
      firstAvailable:
      - name: big
        deviceClassName: gpu.nvidia.com
        selectors:
        - cel:
            expression: device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("100Gi")) >= 0
      - name: mig
        deviceClassName: mig.nvidia.com
        selectors:
        - cel:
            expression: device.attributes["gpu.nvidia.com"].profile == "3g.40gb"
"#;

#[test]
fn first_available_falls_back_to_the_second_choice() {
    let mut a = h100();
    let mut s = AllocationState::default();
    // No GPU has 100Gi: the 3g.40gb MIG slice is taken instead.
    let p = place(&mut a, &mut s, "p1", &[claim(FIRST_AVAILABLE)]).unwrap();
    let alloc = p.claims[0].1.as_ref().unwrap();
    assert_eq!(alloc.devices.len(), 1);
    assert_eq!(alloc.devices[0].request, "gpu/mig");
    assert_eq!(names(&a, &p, 0), ["gpu-0-mig-9-0-4"]);
}

#[test]
fn first_available_prefers_the_first_choice_and_falls_back_on_count() {
    let mut a = h100();
    let mut s = AllocationState::default();
    let yaml = r#"
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: eight-or-two
spec:
  devices:
    requests:
    - name: gpus
      firstAvailable:
      - name: eight
        deviceClassName: gpu.nvidia.com
        count: 8
      - name: two
        deviceClassName: gpu.nvidia.com
        count: 2
"#;
    // With all 8 free, the first choice wins.
    let p = place(&mut a, &mut s, "p1", &[claim(yaml)]).unwrap();
    assert_eq!(
        p.claims[0].1.as_ref().unwrap().devices[0].request,
        "gpus/eight"
    );
    a.unreserve(&mut s, "p1", &[p.claims[0].0.clone()]);
    assert_eq!(s.devices_in_use(), 0);
    // With 6 taken, 2 remain: the second choice.
    place(
        &mut a,
        &mut s,
        "p2",
        &[simple_claim("six", "gpu.nvidia.com", 6, &[])],
    )
    .unwrap();
    let p = place(&mut a, &mut s, "p3", &[claim(yaml)]).unwrap();
    assert_eq!(
        p.claims[0].1.as_ref().unwrap().devices[0].request,
        "gpus/two"
    );
    assert_eq!(names(&a, &p, 0), ["gpu-6", "gpu-7"]);
}

#[test]
fn match_attribute_keeps_four_gpus_under_one_pcie_root() {
    let mut a = h100();
    let mut s = AllocationState::default();
    // gpu-1 is taken, so root pci0000:15 has only 3 free GPUs; root pci0000:95 has 4.
    place(
        &mut a,
        &mut s,
        "other",
        &[simple_claim("other", "gpu.nvidia.com", 1, &[INDEX_1])],
    )
    .unwrap();
    let c = claim(
        r#"
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: four-on-one-root
spec:
  devices:
    requests:
    - name: gpus
      exactly:
        deviceClassName: gpu.nvidia.com
        count: 4
    constraints:
    - matchAttribute: resource.kubernetes.io/pcieRoot
"#,
    );
    let p = place(&mut a, &mut s, "p1", &[c]).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-4", "gpu-5", "gpu-6", "gpu-7"]);
    // Without the constraint the first four free ones would do: gpu-0, 2, 3, 4.
    let mut a = h100();
    let mut s = AllocationState::default();
    place(
        &mut a,
        &mut s,
        "other",
        &[simple_claim("other", "gpu.nvidia.com", 1, &[INDEX_1])],
    )
    .unwrap();
    let p = place(
        &mut a,
        &mut s,
        "p1",
        &[simple_claim("any-four", "gpu.nvidia.com", 4, &[])],
    )
    .unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-0", "gpu-2", "gpu-3", "gpu-4"]);
}

#[test]
fn match_attribute_pairs_a_gpu_with_the_rdma_nic_on_its_pcie_root() {
    let mut a = h100();
    let mut s = AllocationState::default();
    place(
        &mut a,
        &mut s,
        "p0",
        &[simple_claim("first-four", "gpu.nvidia.com", 4, &[])],
    )
    .unwrap();
    let c = claim(
        r#"
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: gpu-and-nic
spec:
  devices:
    requests:
    - name: gpu
      exactly:
        deviceClassName: gpu.nvidia.com
    - name: nic
      exactly:
        deviceClassName: dra.net
        selectors:
        - cel:
            expression: device.attributes["dra.net"].rdma == true
    constraints:
    - requests: [gpu, nic]
      matchAttribute: resource.kubernetes.io/pcieRoot
"#,
    );
    // gpu-4 is the first free GPU (root pci0000:95); the first RDMA NIC on that root is
    // ens5np0 at 0000:9b:00.0.
    let p = place(&mut a, &mut s, "p1", &[c]).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-4", "pci-0000-9b-00-0"]);
    let nic = a.device(p.claims[0].1.as_ref().unwrap().devices[1].device);
    assert_eq!(
        format!("{:?}", nic.attributes["dra.net/ifName"]),
        r#"String("ens5np0")"#
    );
}

#[test]
fn distinct_attribute_spreads_gpus_over_pcie_roots() {
    let mut a = h100();
    let mut s = AllocationState::default();
    let c = claim(
        r#"
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: spread
spec:
  devices:
    requests:
    - name: gpus
      exactly:
        deviceClassName: gpu.nvidia.com
        count: 2
    constraints:
    - distinctAttribute: resource.kubernetes.io/pcieRoot
"#,
    );
    let p = place(&mut a, &mut s, "p1", std::slice::from_ref(&c)).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-0", "gpu-4"]);
    // Three distinct roots do not exist.
    let mut three = c;
    three.metadata.name = Some("spread3".into());
    three
        .spec
        .devices
        .as_mut()
        .unwrap()
        .requests
        .as_mut()
        .unwrap()[0]
        .exactly
        .as_mut()
        .unwrap()
        .count = Some(3);
    assert!(place(&mut a, &mut s, "p2", &[three]).is_err());
}

#[test]
fn allocation_state_is_plain_deterministic_data() {
    let run = || {
        let mut a = h100();
        let mut s = AllocationState::default();
        place(&mut a, &mut s, "p1", &[claim(FIRST_AVAILABLE)]).unwrap();
        place(
            &mut a,
            &mut s,
            "p2",
            &[simple_claim("two", "gpu.nvidia.com", 2, &[])],
        )
        .unwrap();
        let mut h = DefaultHasher::new();
        s.hash(&mut h);
        (s.clone(), h.finish())
    };
    let (s1, h1) = run();
    let (s2, h2) = run();
    assert_eq!(s1, s2);
    assert_eq!(h1, h2);
}
