//! Claims shared by several pods, one claim per pod from a template, admin access.

mod dra_common;
use dra_common::*;
use models::dra::{
    AllocationState, Allocator, DraError, Manifests, ObjectKey, PreparedClaim, Unschedulable,
};

fn workload() -> Manifests {
    let mut m = h100_manifests();
    m.add_file(&fixture("workload-list.yaml")).unwrap();
    m
}

fn pod_claims(a: &mut Allocator, m: &Manifests, pod: &str) -> Vec<PreparedClaim> {
    m.pod_claims(&ObjectKey::new("training", pod))
        .unwrap()
        .iter()
        .map(|pc| a.prepare(&pc.claim).unwrap())
        .collect()
}

#[test]
fn a_shared_claim_is_used_by_two_pods() {
    let m = workload();
    let mut a = allocator(&m);
    let mut s = AllocationState::default();
    let key = ObjectKey::new("training", "shared-gpu");

    let ca = pod_claims(&mut a, &m, "inference-a");
    let pa = a
        .place(&ca.iter().collect::<Vec<_>>(), "training/inference-a", &s)
        .unwrap();
    a.reserve(&mut s, "training/inference-a", &pa).unwrap();
    assert_eq!(names(&a, &pa, 0), ["gpu-0"]);

    // The second pod finds the claim allocated: nothing new to allocate, same node.
    let cb = pod_claims(&mut a, &m, "inference-b");
    let pb = a
        .place(&cb.iter().collect::<Vec<_>>(), "training/inference-b", &s)
        .unwrap();
    assert_eq!(pb.node, "h100-0");
    assert_eq!(pb.claims, vec![(key.clone(), None)]);
    a.reserve(&mut s, "training/inference-b", &pb).unwrap();
    let st = s.claim(&key).unwrap();
    assert_eq!(
        st.reserved_for
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["training/inference-a", "training/inference-b"]
    );
    assert_eq!(s.devices_in_use(), 1);
    assert_eq!(s.device_owner(device(&a, "gpu-0")), Some(&key));

    // The claim stays allocated while one pod uses it, and is freed after the last.
    a.unreserve(&mut s, "training/inference-a", std::slice::from_ref(&key));
    assert_eq!(s.devices_in_use(), 1);
    a.unreserve(&mut s, "training/inference-b", std::slice::from_ref(&key));
    assert_eq!(s.devices_in_use(), 0);
    assert!(s.claim(&key).is_none());
    a.check(&s).unwrap();
}

#[test]
fn a_template_gives_each_pod_its_own_claim() {
    let m = workload();
    let mut a = allocator(&m);
    let mut s = AllocationState::default();
    let mut got = Vec::new();
    for pod in ["worker-0", "worker-1"] {
        let pcs = m.pod_claims(&ObjectKey::new("training", pod)).unwrap();
        assert!(pcs[0].from_template);
        assert_eq!(
            pcs[0].claim.metadata.name.as_deref(),
            Some(format!("{pod}-gpu").as_str())
        );
        let prepared: Vec<_> = pcs.iter().map(|pc| a.prepare(&pc.claim).unwrap()).collect();
        let p = a
            .place(&prepared.iter().collect::<Vec<_>>(), pod, &s)
            .unwrap();
        a.reserve(&mut s, pod, &p).unwrap();
        got.push(names(&a, &p, 0));
    }
    assert_eq!(got, [["gpu-0"], ["gpu-1"]]);
    a.check(&s).unwrap();
}

#[test]
fn a_shared_claim_pins_its_pods_to_the_node_of_its_devices() {
    let yaml = r#"
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata: {name: gpu}
spec: {}
---
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {name: node-a-gpus}
spec:
  driver: gpu.example.com
  nodeName: node-a
  pool: {name: node-a, generation: 1, resourceSliceCount: 1}
  devices:
  - name: gpu-0
---
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {name: node-b-gpus}
spec:
  driver: gpu.example.com
  nodeName: node-b
  pool: {name: node-b, generation: 1, resourceSliceCount: 1}
  devices:
  - name: gpu-0
"#;
    let m = Manifests::parse("two-nodes.yaml", yaml).unwrap();
    let mut a = allocator(&m);
    let mut s = AllocationState::default();
    let shared = a.prepare(&simple_claim("shared", "gpu", 1, &[])).unwrap();
    let p = a.filter(&[&shared], "node-a", "p1", &s).unwrap();
    a.reserve(&mut s, "p1", &p).unwrap();
    let err = a.filter(&[&shared], "node-b", "p2", &s).unwrap_err();
    assert!(
        matches!(&err, Unschedulable::Node { node, reason } if node == "node-b" && reason.contains("not available on this node")),
        "{err}"
    );
    assert_eq!(a.place(&[&shared], "p2", &s).unwrap().node, "node-a");
}

#[test]
fn admin_access_gets_devices_in_use_without_taking_them() {
    let mut a = h100();
    let mut s = AllocationState::default();
    let user = place(
        &mut a,
        &mut s,
        "user",
        &[simple_claim("user", "dra.net", 1, &[])],
    )
    .unwrap();
    assert_eq!(names(&a, &user, 0), ["pci-0000-01-00-0"]);
    let monitor = claim(
        r#"
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: monitor
  namespace: monitoring
spec:
  devices:
    requests:
    - name: nics
      exactly:
        deviceClassName: dra.net
        allocationMode: All
        adminAccess: true
"#,
    );
    // Only in a namespace labelled resource.kubernetes.io/admin-access=true.
    let err = a.prepare(&monitor).unwrap_err();
    assert!(
        matches!(&err, DraError::Invalid { message, .. } if message.contains("admin access")),
        "{err}"
    );
    a.allow_admin_access_in("monitoring");
    let p = place(&mut a, &mut s, "monitor", &[monitor]).unwrap();
    assert_eq!(
        names(&a, &p, 0).len(),
        9,
        "all 9 NICs, the one in use included"
    );
    assert!(
        p.claims[0]
            .1
            .as_ref()
            .unwrap()
            .devices
            .iter()
            .all(|d| d.admin_access)
    );
    // Admin access does not take the devices: the other 8 are still free for users.
    assert_eq!(s.devices_in_use(), 1);
    let p = place(
        &mut a,
        &mut s,
        "user2",
        &[simple_claim("user2", "dra.net", 8, &[])],
    )
    .unwrap();
    assert_eq!(names(&a, &p, 0)[0], "pci-0000-19-00-0");
}

#[test]
fn admin_namespaces_and_node_labels_come_from_the_manifests() {
    let mut m = h100_manifests();
    m.add_str(
        "cluster.yaml",
        r#"
apiVersion: v1
kind: Namespace
metadata:
  name: monitoring
  labels: {resource.kubernetes.io/admin-access: "true"}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Node
metadata:
  name: h100-0
  labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
---
apiVersion: v1
kind: Node
metadata: {name: cpu-0}
---
# A network-attached device for the nodes with that label.
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {name: fabric}
spec:
  driver: fabric.example.com
  pool: {name: fabric, generation: 1, resourceSliceCount: 1}
  nodeSelector:
    nodeSelectorTerms:
    - matchExpressions:
      - {key: nvidia.com/gpu.product, operator: In, values: [NVIDIA-H100-80GB-HBM3]}
  devices:
  - name: switch-port-0
"#,
    )
    .unwrap();
    let mut a = allocator(&m);
    let admin = |ns: &str| {
        let mut c = simple_claim("monitor", "dra.net", 1, &[]);
        c.metadata.namespace = Some(ns.into());
        c.spec.devices.as_mut().unwrap().requests.as_mut().unwrap()[0]
            .exactly
            .as_mut()
            .unwrap()
            .admin_access = Some(true);
        c
    };
    assert!(a.prepare(&admin("monitoring")).is_ok());
    assert!(a.prepare(&admin("team-a")).is_err());
    assert_eq!(a.node_names().collect::<Vec<_>>(), ["cpu-0", "h100-0"]);
    let port = device(&a, "switch-port-0");
    assert!(a.devices_on("h100-0").contains(&port));
    assert!(!a.devices_on("cpu-0").contains(&port));
}

#[test]
fn admin_access_still_needs_shared_counters() {
    // As upstream: the counter check has no admin-access exemption, so a partitionable
    // GPU in use cannot be given to an admin-access request.
    let mut a = h100();
    let mut s = AllocationState::default();
    place(
        &mut a,
        &mut s,
        "user",
        &[simple_claim("user", "gpu.nvidia.com", 1, &[])],
    )
    .unwrap();
    a.allow_admin_access_in("monitoring");
    let mut c = simple_claim("monitor", "gpu.nvidia.com", 8, &[]);
    c.metadata.namespace = Some("monitoring".into());
    c.spec.devices.as_mut().unwrap().requests.as_mut().unwrap()[0]
        .exactly
        .as_mut()
        .unwrap()
        .admin_access = Some(true);
    assert!(place(&mut a, &mut s, "monitor", std::slice::from_ref(&c)).is_err());
    c.spec.devices.as_mut().unwrap().requests.as_mut().unwrap()[0]
        .exactly
        .as_mut()
        .unwrap()
        .count = Some(7);
    let p = place(&mut a, &mut s, "monitor", &[c]).unwrap();
    assert_eq!(names(&a, &p, 0)[0], "gpu-1");
}
