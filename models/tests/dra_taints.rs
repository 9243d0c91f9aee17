//! Device taints keep devices unused unless a request tolerates them.

mod dra_common;
use dra_common::*;
use models::dra::{AllocationState, Manifests};

const SLICE: &str = r#"
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata: {name: gpu.nvidia.com}
spec:
  selectors:
  - cel: {expression: device.driver == "gpu.nvidia.com"}
---
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {name: node-0-gpus}
spec:
  driver: gpu.nvidia.com
  nodeName: node-0
  pool: {name: node-0, generation: 1, resourceSliceCount: 1}
  devices:
  - name: gpu-0
    taints:
    - {key: gpu.nvidia.com/xid, value: "79", effect: NoSchedule}
  - name: gpu-1
    taints:
    - {key: gpu.nvidia.com/xid, value: "48", effect: NoExecute}
  - name: gpu-2
    taints:
    - {key: example.com/note, effect: None}
  - name: gpu-3
"#;

fn tolerating(
    name: &str,
    count: u32,
    toleration: &str,
) -> k8s_openapi::api::resource::v1::ResourceClaim {
    claim(&format!(
        "apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: {name}
spec:
  devices:
    requests:
    - name: gpu
      exactly:
        deviceClassName: gpu.nvidia.com
        count: {count}
        tolerations:
        - {toleration}
"
    ))
}

#[test]
fn tainted_devices_stay_unused() {
    let m = Manifests::parse("tainted.yaml", SLICE).unwrap();
    let mut a = allocator(&m);
    let mut s = AllocationState::default();
    // NoSchedule and NoExecute block; effect None does not.
    assert!(
        place(
            &mut a,
            &mut s,
            "p0",
            &[simple_claim("three", "gpu.nvidia.com", 3, &[])]
        )
        .is_err()
    );
    let p = place(
        &mut a,
        &mut s,
        "p1",
        &[simple_claim("two", "gpu.nvidia.com", 2, &[])],
    )
    .unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-2", "gpu-3"]);
    assert!(
        place(
            &mut a,
            &mut s,
            "p2",
            &[simple_claim("one", "gpu.nvidia.com", 1, &[])]
        )
        .is_err()
    );
}

#[test]
fn tolerations_let_requests_use_tainted_devices() {
    let m = Manifests::parse("tainted.yaml", SLICE).unwrap();
    // Exists on the key: both taints tolerated.
    let mut a = allocator(&m);
    let mut s = AllocationState::default();
    let p = place(
        &mut a,
        &mut s,
        "p",
        &[tolerating(
            "all4",
            4,
            "{key: gpu.nvidia.com/xid, operator: Exists}",
        )],
    )
    .unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-0", "gpu-1", "gpu-2", "gpu-3"]);
    // Only the NoSchedule effect: gpu-1 (NoExecute) stays out.
    let mut s = AllocationState::default();
    assert!(
        place(
            &mut a,
            &mut s,
            "p",
            &[tolerating(
                "four",
                4,
                "{key: gpu.nvidia.com/xid, operator: Exists, effect: NoSchedule}"
            )]
        )
        .is_err()
    );
    let p = place(
        &mut a,
        &mut s,
        "p",
        &[tolerating(
            "three",
            3,
            "{key: gpu.nvidia.com/xid, operator: Exists, effect: NoSchedule}",
        )],
    )
    .unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-0", "gpu-2", "gpu-3"]);
    // Equal with another value tolerates nothing; with the value, that one taint.
    let mut s = AllocationState::default();
    assert!(
        place(
            &mut a,
            &mut s,
            "p",
            &[tolerating(
                "wrong",
                3,
                "{key: gpu.nvidia.com/xid, operator: Equal, value: \"13\"}"
            )]
        )
        .is_err()
    );
    let p = place(
        &mut a,
        &mut s,
        "p",
        &[tolerating(
            "right",
            3,
            "{key: gpu.nvidia.com/xid, value: \"48\"}",
        )],
    )
    .unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-1", "gpu-2", "gpu-3"]);
}
