//! Reading manifests: the fixtures, `kind: List` and `<Kind>List` output, JSON; malformed
//! manifests give errors naming file and line (or object).

mod dra_common;
use dra_common::*;
use models::dra::{DraError, Manifests, ObjectKey};

#[test]
fn fixtures_load_in_the_shape_drivers_publish() {
    let m = h100_manifests();
    assert_eq!(
        m.device_classes.keys().collect::<Vec<_>>(),
        ["dra.net", "gpu.nvidia.com", "mig.nvidia.com"]
    );
    assert_eq!(m.resource_slices.len(), 2);
    let a = allocator(&m);
    // 8 GPUs + 8 x 10 MIG partitions, 9 NICs.
    assert_eq!(a.devices().len(), 8 + 80 + 9);
    let gpu0 = a.device(device(&a, "gpu-0"));
    assert_eq!(gpu0.slice, "h100-0-gpu.nvidia.com-x7k2p");
    assert_eq!(
        gpu0.capacity["gpu.nvidia.com/memory"].to_string(),
        "81559Mi"
    );
    assert!(
        gpu0.attributes
            .contains_key("resource.kubernetes.io/pcieRoot")
    );
    assert_eq!(a.devices_on("h100-0").len(), 97);
    assert!(m.skipped.is_empty());
}

#[test]
fn kubectl_list_output_with_templates_claims_and_pods() {
    let mut m = Manifests::new();
    m.add_file(&fixture("workload-list.yaml")).unwrap();
    assert_eq!(m.claim_templates.len(), 1);
    assert_eq!(m.claims.len(), 1);
    assert_eq!(m.pods.len(), 4);
    let pcs = m
        .pod_claims(&ObjectKey::new("training", "inference-a"))
        .unwrap();
    assert_eq!(pcs.len(), 1);
    assert!(!pcs[0].from_template);
    assert_eq!(pcs[0].claim.metadata.name.as_deref(), Some("shared-gpu"));
}

#[test]
fn typed_lists_and_json() {
    // The API server's own list: items have no kind.
    let yaml = r#"
apiVersion: resource.k8s.io/v1
kind: DeviceClassList
items:
- metadata: {name: a}
  spec: {}
- metadata: {name: b}
  spec: {}
"#;
    let m = Manifests::parse("list.yaml", yaml).unwrap();
    assert_eq!(m.device_classes.len(), 2);
    let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu"},
   "spec": {"selectors": [{"cel": {"expression": "device.driver == \"gpu.nvidia.com\""}}]}},
  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other"}}
]}"#;
    let m = Manifests::parse("list.json", json).unwrap();
    assert_eq!(m.device_classes.len(), 1);
    assert_eq!(m.skipped, ["list.json:4: apps/v1 Deployment"]);
}

/// A list as `kubectl get -o yaml` prints it (block style, read by the fast block reader)
/// and the same list in flow style (read by serde_saphyr): same objects, same skipped
/// kinds at the same lines, same duplicate error naming the first item's line.
#[test]
fn block_and_flow_lists_read_alike() {
    let block = "apiVersion: v1\nitems:\n- apiVersion: resource.k8s.io/v1\n  kind: DeviceClass\n  metadata:\n    name: gpu\n  spec:\n    selectors:\n    - cel:\n        expression: device.driver == 'gpu.nvidia.com'\n\n# a comment line\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: other\n- apiVersion: resource.k8s.io/v1\n  kind: DeviceClass\n  metadata:\n    name: nic\n  spec: {}\nkind: List\nmetadata:\n  resourceVersion: \"\"\n";
    let flow = "apiVersion: v1\nitems:\n- {apiVersion: resource.k8s.io/v1, kind: DeviceClass, metadata: {name: gpu},\n   spec: {selectors: [{cel: {expression: \"device.driver == 'gpu.nvidia.com'\"}}]}}\n\n\n\n\n\n\n\n\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: other}}\n\n\n\n- {apiVersion: resource.k8s.io/v1, kind: DeviceClass, metadata: {name: nic}, spec: {}}\nkind: List\nmetadata: {resourceVersion: \"\"}\n";
    let a = Manifests::parse("l.yaml", block).unwrap();
    let b = Manifests::parse("l.yaml", flow).unwrap();
    assert_eq!(a.skipped, ["l.yaml:13: apps/v1 Deployment"]);
    assert_eq!(a.skipped, b.skipped);
    assert_eq!(
        format!("{:?}", a.device_classes),
        format!("{:?}", b.device_classes)
    );
    assert_eq!(a.device_classes.len(), 2);
    // The second `gpu` (line 17) is a duplicate of the first (line 3).
    let dup = |text: &str| err("l.yaml", &text.replace("name: nic", "name: gpu"));
    assert_eq!(
        dup(block),
        "DeviceClass gpu at l.yaml:17: already defined at l.yaml:3"
    );
    assert_eq!(dup(block), dup(flow));
    // An unknown field in an item: the block list falls back to the full reader, whose
    // error names the item's line.
    let typo = err(
        "l.yaml",
        &block.replace("name: nic", "name: nic\n    lables: x"),
    );
    assert!(typo.starts_with("l.yaml:17:"), "{typo}");
    assert!(typo.contains("\"metadata.lables\""), "{typo}");
}

/// `kubectl get resourceslices -o yaml` of 64 HGX H100 nodes is one List of more than
/// serde_saphyr's default 250,000 nodes; such a List is read (it was refused: "budget
/// breached"), in block style and in flow style alike.
#[test]
fn a_list_over_the_default_yaml_budget_is_read() {
    let mut text = String::from("apiVersion: v1\nitems:\n");
    for i in 0..1000 {
        text.push_str(&format!(
            "- apiVersion: resource.k8s.io/v1\n  kind: DeviceClass\n  metadata:\n    name: c{i}\n    labels:\n"
        ));
        for l in 0..125 {
            text.push_str(&format!("      l{l}: v\n"));
        }
        text.push_str("  spec: {}\n");
    }
    text.push_str("kind: List\n");
    assert!(serde_saphyr::from_str::<serde_json::Value>(&text).is_err());
    let m = Manifests::parse("classes.yaml", &text).unwrap();
    assert_eq!(m.device_classes.len(), 1000);
    let flow = text.replacen("      l0: v\n", "      l0: 'v'  # quoted\n", 1);
    assert_ne!(flow, text);
    let m = Manifests::parse("classes.yaml", &flow).unwrap();
    assert_eq!(m.device_classes.len(), 1000);
}

fn err(file: &str, text: &str) -> String {
    Manifests::parse(file, text).unwrap_err().to_string()
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let text = "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata:\n  name: ok\n---\napiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata:\n  name: [unclosed\n";
    let e = err("bad.yaml", text);
    assert!(
        e.starts_with("bad.yaml:9:") || e.starts_with("bad.yaml:10:"),
        "{e}"
    );
}

#[test]
fn a_field_of_the_wrong_type_names_its_line() {
    let text = "# a claim\napiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata:\n  name: c\nspec:\n  devices:\n    requests:\n    - name: gpu\n      exactly:\n        deviceClassName: gpu\n        count: many\n";
    let e = err("claim.yaml", text);
    assert!(e.starts_with("claim.yaml:12:"), "{e}");
}

#[test]
fn wrong_api_version_names_file_line_and_versions() {
    let text = "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: a}\n---\napiVersion: resource.k8s.io/v1beta1\nkind: DeviceClass\nmetadata: {name: b}\n";
    let e = Manifests::parse("classes.yaml", text).unwrap_err();
    assert!(
        matches!(&e, DraError::WrongApiVersion { line: 5, found, .. } if found == "resource.k8s.io/v1beta1"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        r#"classes.yaml:5: DeviceClass has apiVersion "resource.k8s.io/v1beta1"; Orrery reads "resource.k8s.io/v1""#
    );
    // In a list, the item's line.
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n- apiVersion: resource.k8s.io/v1alpha3\n  kind: ResourceSlice\n  metadata: {name: s}\n";
    let e = Manifests::parse("list.yaml", text).unwrap_err();
    assert!(
        matches!(&e, DraError::WrongApiVersion { line: 7, .. }),
        "{e}"
    );
}

#[test]
fn unknown_device_class_missing_template_and_duplicates() {
    let mut a = h100();
    let e = a
        .prepare(&simple_claim("c", "tpu.example.com", 1, &[]))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"ResourceClaim default/c, request gpu: device class "tpu.example.com" does not exist"#
    );

    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  containers: [{name: c, image: x}]\n  resourceClaims:\n  - name: gpu\n    resourceClaimTemplateName: nope\n";
    let m = Manifests::parse("pod.yaml", pod).unwrap();
    let e = m.pod_claims(&ObjectKey::new("ns", "p")).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"pod ns/p: resource claim "gpu" names ResourceClaimTemplate "nope", which does not exist"#
    );

    let dup = "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: a}\n---\napiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: a}\n";
    let e = err("dup.yaml", dup);
    assert!(e.contains("dup.yaml:5") && e.contains("dup.yaml:1"), "{e}");

    let e = err("nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n");
    assert!(e.starts_with("nokind.yaml:1:") && e.contains("kind"), "{e}");
}

#[test]
fn bad_slices_are_rejected_with_the_slice_and_device() {
    let text = r#"
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {name: s}
spec:
  driver: d.example.com
  nodeName: n
  pool: {name: p, generation: 1, resourceSliceCount: 1}
  devices:
  - name: dev
    capacity:
      memory: {value: lots}
"#;
    let m = Manifests::parse("s.yaml", text).unwrap();
    let e = models::dra::Allocator::new(
        &m.resource_slices.values().cloned().collect::<Vec<_>>(),
        &[],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("ResourceSlice s, device dev: capacity memory"),
        "{e}"
    );
}

/// Issue 14 item 13: unknown fields were ignored (k8s-openapi drops them), so a misspelt
/// or mis-indented field silently changed nothing; they are rejected as `kubectl apply`
/// (strict field validation) does, naming the field's path, file and line.
#[test]
fn unknown_fields_are_rejected_with_their_path() {
    // A misspelt `count` in a claim: used to allocate one device instead of 2.
    let text = "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: a}\n---\napiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata: {name: c}\nspec:\n  devices:\n    requests:\n    - name: gpu\n      exactly: {deviceClassName: a, cuont: 2}\n";
    let e = err("claim.yaml", text);
    assert!(e.starts_with("claim.yaml:5:"), "{e}");
    assert!(e.contains("spec.devices.requests[0].exactly.cuont"), "{e}");
    // In a `kind: List` item, and in metadata.
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: resource.k8s.io/v1\n  kind: DeviceClass\n  metadata: {name: a, lables: {x: y}}\n";
    let e = err("list.yaml", list);
    assert!(e.starts_with("list.yaml:"), "{e}");
    assert!(e.contains("metadata.lables"), "{e}");
    // Known fields, nulls and the fixtures pass.
    let ok = "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: a, labels: null}\nspec: {selectors: []}\n";
    Manifests::parse("ok.yaml", ok).unwrap();
}
