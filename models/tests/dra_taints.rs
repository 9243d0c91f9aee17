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

/// Two GPU nodes (gpu.nvidia.com, pools node-0 and node-1, two GPUs each) and one NIC per
/// node (dra.net), untainted, plus the DeviceTaintRule given.
fn with_rule(rule: &str) -> String {
    let mut y = String::from(
        r#"
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata: {name: gpu.nvidia.com}
spec:
  selectors:
  - cel: {expression: device.driver == "gpu.nvidia.com"}
---
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata: {name: nic}
spec:
  selectors:
  - cel: {expression: device.driver == "dra.net"}
"#,
    );
    for n in 0..2 {
        y.push_str(&format!(
            r#"---
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {{name: node-{n}-gpus}}
spec:
  driver: gpu.nvidia.com
  nodeName: node-{n}
  pool: {{name: node-{n}, generation: 1, resourceSliceCount: 1}}
  devices:
  - name: gpu-0
    attributes: {{index: {{int: 0}}}}
  - name: gpu-1
    attributes: {{index: {{int: 1}}}}
---
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {{name: node-{n}-nics}}
spec:
  driver: dra.net
  nodeName: node-{n}
  pool: {{name: node-{n}, generation: 1, resourceSliceCount: 1}}
  devices:
  - name: eth0
"#
        ));
    }
    y.push_str("---\napiVersion: resource.k8s.io/v1alpha3\nkind: DeviceTaintRule\n");
    y.push_str(rule);
    y
}

/// The (driver, pool, device) of every device an allocator from these manifests leaves
/// usable by a claim without tolerations: one 1-device claim per device, placed until
/// none fits.
fn usable(yaml: &str) -> Vec<String> {
    let m = Manifests::parse("rule.yaml", yaml).unwrap();
    assert_eq!(m.device_taint_rules.len(), 1);
    assert!(m.skipped.is_empty(), "{:?}", m.skipped);
    let mut a = allocator(&m);
    let mut s = AllocationState::default();
    let mut out = Vec::new();
    for class in ["gpu.nvidia.com", "nic"] {
        for i in 0.. {
            let c = simple_claim(&format!("{class}-{i}"), class, 1, &[]);
            let Ok(p) = place(&mut a, &mut s, &format!("p-{class}-{i}"), &[c]) else {
                break;
            };
            let d = &p.claims[0].1.as_ref().unwrap().devices[0];
            out.push(a.device(d.device).id.to_string());
        }
    }
    out.sort();
    out
}

const GPU_TAINT: &str = "taint: {key: gpu.nvidia.com/maintenance, effect: NoSchedule}";

/// Issue 14 item 13: a DeviceTaintRule selecting by driver only taints every device of that
/// driver (both nodes' GPUs), and no other driver's (the NICs stay usable). Before, the
/// rule was skipped and every device was usable.
#[test]
fn taint_rule_by_driver_taints_all_of_that_drivers_devices() {
    let rule = format!(
        "metadata: {{name: gpus-down}}\nspec:\n  deviceSelector: {{driver: gpu.nvidia.com}}\n  {GPU_TAINT}\n"
    );
    assert_eq!(
        usable(&with_rule(&rule)),
        ["dra.net/node-0/eth0", "dra.net/node-1/eth0"]
    );
    // A claim that tolerates the taint gets the GPUs.
    let m = Manifests::parse("rule.yaml", &with_rule(&rule)).unwrap();
    let mut a = allocator(&m);
    let mut s = AllocationState::default();
    let t = tolerating(
        "tol",
        2,
        "{key: gpu.nvidia.com/maintenance, operator: Exists}",
    );
    let p = place(&mut a, &mut s, "p", &[t]).unwrap();
    assert_eq!(names(&a, &p, 0), ["gpu-0", "gpu-1"]);
}

/// pool, device, deviceClassName and CEL selectors narrow the selection (all must hold);
/// no deviceSelector selects nothing; an empty one selects every device.
#[test]
fn taint_rule_selectors_narrow_the_devices() {
    let all = [
        "dra.net/node-0/eth0",
        "dra.net/node-1/eth0",
        "gpu.nvidia.com/node-0/gpu-0",
        "gpu.nvidia.com/node-0/gpu-1",
        "gpu.nvidia.com/node-1/gpu-0",
        "gpu.nvidia.com/node-1/gpu-1",
    ];
    let except = |tainted: &[&str]| -> Vec<String> {
        all.iter()
            .filter(|d| !tainted.contains(d))
            .map(|d| d.to_string())
            .collect()
    };
    let rule = |sel: &str| format!("metadata: {{name: r}}\nspec:\n  {sel}\n  {GPU_TAINT}\n");
    // No selector: no device.
    assert_eq!(usable(&with_rule(&rule(""))), except(&[]));
    // Empty selector: every device.
    assert_eq!(
        usable(&with_rule(&rule("deviceSelector: {}"))),
        except(&all)
    );
    // Pool node-0 (both drivers use that pool name).
    assert_eq!(
        usable(&with_rule(&rule("deviceSelector: {pool: node-0}"))),
        except(&[
            "dra.net/node-0/eth0",
            "gpu.nvidia.com/node-0/gpu-0",
            "gpu.nvidia.com/node-0/gpu-1"
        ])
    );
    // Device name gpu-1 of pool node-1.
    assert_eq!(
        usable(&with_rule(&rule(
            "deviceSelector: {pool: node-1, device: gpu-1}"
        ))),
        except(&["gpu.nvidia.com/node-1/gpu-1"])
    );
    // The class's selectors and a CEL selector: GPUs of index 0.
    assert_eq!(
        usable(&with_rule(&rule(
            "deviceSelector: {deviceClassName: gpu.nvidia.com, selectors: [{cel: {expression: 'device.attributes[\"gpu.nvidia.com\"].index == 0'}}]}"
        ))),
        except(&["gpu.nvidia.com/node-0/gpu-0", "gpu.nvidia.com/node-1/gpu-0"])
    );
}

/// A rule that cannot be applied as written is an error naming it, never skipped.
#[test]
fn bad_taint_rules_are_errors_naming_the_rule() {
    let err = |rule: &str| -> String {
        let m = Manifests::parse("rule.yaml", &with_rule(rule)).unwrap();
        models::dra::Allocator::from_manifests(&m)
            .expect_err("error")
            .to_string()
    };
    // A wrong effect is caught when reading (file and line), and by the allocator.
    let bad = with_rule(
        "metadata: {name: r}\nspec:\n  deviceSelector: {}\n  taint: {key: k, effect: NoSchedul}\n",
    );
    let e = Manifests::parse("rule.yaml", &bad)
        .expect_err("error")
        .to_string();
    assert!(
        e.contains("DeviceTaintRule r at rule.yaml:") && e.contains("NoSchedul"),
        "{e}"
    );
    let mut rule: k8s_openapi::api::resource::v1alpha3::DeviceTaintRule =
        serde_json::from_str(r#"{"metadata": {"name": "r"}, "spec": {"deviceSelector": {}, "taint": {"key": "k", "effect": "NoSchedul"}}}"#).unwrap();
    let mut a = allocator(&Manifests::new());
    let e = a
        .apply_device_taint_rule(&rule)
        .expect_err("error")
        .to_string();
    assert!(
        e.contains("DeviceTaintRule r") && e.contains("NoSchedul"),
        "{e}"
    );
    rule.spec.taint.effect = "NoExecute".to_string();
    assert_eq!(a.apply_device_taint_rule(&rule), Ok(0));
    let e = err(
        "metadata: {name: r}\nspec:\n  deviceSelector: {deviceClassName: nosuch}\n  taint: {key: k, effect: NoSchedule}\n",
    );
    assert!(
        e.contains("DeviceTaintRule r") && e.contains("nosuch"),
        "{e}"
    );
    // Evaluated on a NIC, which has no index attribute.
    let e = err(
        "metadata: {name: r}\nspec:\n  deviceSelector: {selectors: [{cel: {expression: 'device.attributes[\"gpu.nvidia.com\"].index == 0'}}]}\n  taint: {key: k, effect: NoSchedule}\n",
    );
    assert!(e.contains("DeviceTaintRule r") && e.contains("eth0"), "{e}");
    // Another apiVersion, and an unknown field, name the file and line.
    let m = Manifests::parse(
        "rule.yaml",
        "apiVersion: resource.k8s.io/v1\nkind: DeviceTaintRule\nmetadata: {name: r}\nspec: {taint: {key: k, effect: NoSchedule}}\n",
    );
    let e = m.expect_err("error").to_string();
    assert!(e.contains("rule.yaml:1") && e.contains("v1alpha3"), "{e}");
    let m = Manifests::parse(
        "rule.yaml",
        "apiVersion: resource.k8s.io/v1alpha3\nkind: DeviceTaintRule\nmetadata: {name: r}\nspec: {taint: {key: k, effect: NoSchedule}, selector: {}}\n",
    );
    let e = m.expect_err("error").to_string();
    assert!(
        e.contains("rule.yaml:1") && e.contains("spec.selector"),
        "{e}"
    );
}
