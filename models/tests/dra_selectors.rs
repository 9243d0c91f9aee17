//! CEL selectors on the H100 fixture: memory, product name, MIG profile, driver version;
//! selectors that fail to compile or to evaluate.

mod dra_common;
use dra_common::*;
use models::dra::{AllocationState, Allocator, DraError, Manifests, Unschedulable};

#[test]
fn memory_selector_compares_capacity_as_quantity() {
    let mut a = h100();
    let mut s = AllocationState::default();
    // 81559Mi (79.6Gi) per H100: at least 40Gi matches every GPU, the first is gpu-0.
    let c = simple_claim(
        "big",
        "gpu.nvidia.com",
        1,
        &[r#"device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("40Gi")) >= 0"#],
    );
    let p = place(&mut a, &mut s, "p1", &[c]).unwrap();
    assert_eq!(p.node, "h100-0");
    assert_eq!(names(&a, &p, 0), ["gpu-0"]);
    // More than 80Gi: none of them.
    let c = simple_claim(
        "huge",
        "gpu.nvidia.com",
        1,
        &[r#"device.capacity["gpu.nvidia.com"].memory.isGreaterThan(quantity("80Gi"))"#],
    );
    assert!(matches!(
        place(&mut a, &mut s, "p2", &[c]),
        Err(Unschedulable::NoNode { .. })
    ));
}

#[test]
fn product_name_selector() {
    let mut a = h100();
    let mut s = AllocationState::default();
    let c = simple_claim(
        "h100s",
        "gpu.nvidia.com",
        8,
        &[r#"device.attributes["gpu.nvidia.com"].productName == "NVIDIA H100 80GB HBM3""#],
    );
    let p = place(&mut a, &mut s, "p1", &[c]).unwrap();
    assert_eq!(
        names(&a, &p, 0),
        (0..8).map(|i| format!("gpu-{i}")).collect::<Vec<_>>()
    );
    let c = simple_claim(
        "h200",
        "gpu.nvidia.com",
        1,
        &[r#"device.attributes["gpu.nvidia.com"].productName.startsWith("NVIDIA H200")"#],
    );
    assert!(place(&mut a, &mut s, "p2", &[c]).is_err());
}

#[test]
fn mig_profile_and_driver_version_selectors() {
    let mut a = h100();
    let mut s = AllocationState::default();
    // The two 3g.40gb placements of gpu-0 (slices 0-3 and 4-7, 60+60 of 132 SMs) come
    // first in device order.
    let c = simple_claim(
        "mig",
        "mig.nvidia.com",
        2,
        &[r#"device.attributes["gpu.nvidia.com"].profile == "3g.40gb""#],
    );
    let p = place(&mut a, &mut s, "p1", &[c]).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-0-mig-9-0-4", "gpu-0-mig-9-4-4"]);
    let c = simple_claim(
        "new-driver",
        "gpu.nvidia.com",
        1,
        &[r#"device.attributes["gpu.nvidia.com"].driverVersion.isGreaterThan(semver("535.0.0"))"#],
    );
    // gpu-0's counters are all used by its two MIG slices: gpu-1 is next.
    let p = place(&mut a, &mut s, "p2", &[c]).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-1"]);
    let c = simple_claim(
        "old-driver",
        "gpu.nvidia.com",
        1,
        &[r#"device.attributes["gpu.nvidia.com"].driverVersion.isLessThan(semver("535.0.0"))"#],
    );
    assert!(place(&mut a, &mut s, "p3", &[c]).is_err());
}

#[test]
fn selector_that_does_not_compile_names_claim_and_expression() {
    let mut a = h100();
    let expr = r#"device.capacity["gpu.nvidia.com"].memory >="#;
    let c = simple_claim("bad", "gpu.nvidia.com", 1, &[expr]);
    let err = a.prepare(&c).unwrap_err();
    assert!(
        matches!(&err, DraError::CelCompile { object, expression, .. } if object == "ResourceClaim default/bad, request gpu" && expression == expr),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("ResourceClaim default/bad") && msg.contains(expr),
        "{msg}"
    );

    // A DeviceClass whose selector does not compile stops the allocator being built.
    let m = Manifests::parse(
        "classes.yaml",
        "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata:\n  name: broken\nspec:\n  selectors:\n  - cel:\n      expression: device.driver == \n",
    )
    .unwrap();
    let classes: Vec<_> = m.device_classes.values().cloned().collect();
    let err = Allocator::new(&[], &classes).unwrap_err();
    assert!(
        err.to_string().contains("DeviceClass broken")
            && err.to_string().contains("device.driver =="),
        "{err}"
    );

    // Unknown variables are compile errors too.
    let c = simple_claim(
        "typo",
        "gpu.nvidia.com",
        1,
        &[r#"devcie.driver == "gpu.nvidia.com""#],
    );
    let err = a.prepare(&c).unwrap_err().to_string();
    assert!(err.contains("devcie"), "{err}");
}

#[test]
fn selector_that_fails_to_evaluate_names_claim_expression_and_device() {
    let mut a = h100();
    let mut s = AllocationState::default();
    // Full GPUs have no `profile` attribute: reading it is an evaluation error, as in
    // Kubernetes (use `"profile" in device.attributes[...]` or has() to guard it).
    let expr = r#"device.attributes["gpu.nvidia.com"].profile == "1g.10gb""#;
    let c = simple_claim("needs-guard", "gpu.nvidia.com", 1, &[expr]);
    let err = place(&mut a, &mut s, "p1", &[c]).unwrap_err();
    let Unschedulable::Error(DraError::CelEval {
        object,
        expression,
        device,
        message,
    }) = &err
    else {
        panic!("expected an evaluation error, got {err}");
    };
    assert_eq!(object, "ResourceClaim default/needs-guard, request gpu");
    assert_eq!(expression, expr);
    assert_eq!(device, "gpu.nvidia.com/h100-0/gpu-0");
    assert!(message.contains("profile"), "{message}");

    // Guarded, it simply does not match.
    let c = simple_claim(
        "guarded",
        "gpu.nvidia.com",
        1,
        &[
            r#""profile" in device.attributes["gpu.nvidia.com"] && device.attributes["gpu.nvidia.com"].profile == "1g.10gb""#,
        ],
    );
    assert!(matches!(
        place(&mut a, &mut s, "p2", &[c]),
        Err(Unschedulable::NoNode { .. })
    ));
}
