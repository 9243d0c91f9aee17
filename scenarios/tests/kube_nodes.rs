//! `cluster.kubernetes_nodes`: a cluster read from `kubectl get nodes -o yaml`
//! (`scenarios/kubernetes/dgx-h100-nodes.yaml`, see the NOTE.md beside it).

use std::path::{Path, PathBuf};

use scenarios::{Overrides, ScenarioError};

fn dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/kubernetes")).to_path_buf()
}

fn load(name: &str) -> scenarios::Scenario {
    scenarios::load(&dir().join(name), &Overrides::default()).expect("scenario loads")
}

/// A scenario in a temporary folder beside a copy of the fixture (edited by `edit`).
fn load_edited(
    tag: &str,
    edit: impl Fn(String) -> String,
    cluster: &str,
) -> Result<scenarios::Scenario, ScenarioError> {
    let d = std::env::temp_dir().join(format!("orrery-kube-nodes-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let nodes = std::fs::read_to_string(dir().join("dgx-h100-nodes.yaml")).unwrap();
    std::fs::write(d.join("nodes.yaml"), edit(nodes)).unwrap();
    let yaml = format!(
        "name: t\nseed: 1\ncluster:\n  kubernetes_nodes:\n{cluster}\nworkload:\n  jobs:\n    - {{id: a, submit: 0s, duration: 10s, pods: 1, gpus_per_pod: 1}}\nscheduler:\n  policy: gang\n"
    );
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    scenarios::load(&d.join("s.yaml"), &Overrides::default())
}

fn err(r: Result<scenarios::Scenario, ScenarioError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

const PLAIN: &str = "    files: nodes.yaml\n    ignore_taints: [nvidia.com/gpu]";

#[test]
fn nodes_read_as_the_scheduler_sees_them() {
    let sc = load("dgx-h100-imported.yaml");
    let nodes = &sc.cluster.nodes;
    assert_eq!(nodes.len(), 8);
    let n = &nodes[0];
    assert_eq!(n.name, "dgx-0000");
    // allocatable cpu 223500m, memory 2113309052Ki = 2063778.37 MiB (floor).
    assert_eq!((n.cpu_milli, n.memory_mib), (223_500, 2_063_778));
    // allocatable nvidia.com/gpu, GFD product and memory labels.
    assert_eq!(n.gpus, 8);
    assert_eq!(n.gpu_model.as_deref(), Some("NVIDIA-H100-80GB-HBM3"));
    assert_eq!(n.gpu_memory_mib, 81_559);
    assert_eq!(n.pool, "dgx-h100");
    assert_eq!(
        n.labels.get("nvidia.com/gpu.family").map(String::as_str),
        Some("hopper")
    );
    // Racks by cloud.provider.com/topology-rack: r01 = nodes 0-3, r02 = nodes 4-7.
    let racks: Vec<u32> = nodes.iter().map(|n| n.rack).collect();
    assert_eq!(racks, [0, 0, 0, 0, 1, 1, 1, 1]);
}

/// The same cluster written as a node pool and as imported Nodes: identical runs.
#[test]
fn imported_nodes_run_exactly_as_the_equivalent_pool() {
    let a = load("dgx-h100-imported.yaml");
    let b = load("dgx-h100-pools.yaml");
    assert_eq!(a.workload.jobs.len(), 400);
    let ra = models::sim::run(a.cluster, a.workload, &a.config, None).unwrap();
    let rb = models::sim::run(b.cluster, b.workload, &b.config, None).unwrap();
    assert_eq!(ra.jobs, rb.jobs);
    assert_eq!(ra.usage, rb.usage);
    assert_eq!(ra.end_time, rb.end_time);
    assert!(ra.jobs.iter().all(|j| j.end.is_some()));
}

/// Racks follow the label's values (sorted), not the file order; without a rack label,
/// racks of `nodes_per_rack` in name order.
#[test]
fn racks_from_label_values_or_name_order() {
    // Swap the two racks' labels: dgx-0000..3 become r02, so they are the second rack.
    let swapped = load_edited(
        "swap",
        |s| {
            s.replace("topology-rack: r01", "topology-rack: rX")
                .replace("topology-rack: r02", "topology-rack: r01")
                .replace("topology-rack: rX", "topology-rack: r02")
        },
        &format!("{PLAIN}\n    rack_label: cloud.provider.com/topology-rack"),
    )
    .unwrap();
    let names: Vec<&str> = swapped
        .cluster
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(&names[..2], ["dgx-0004", "dgx-0005"]);
    let racks: Vec<u32> = swapped.cluster.nodes.iter().map(|n| n.rack).collect();
    assert_eq!(racks, [0, 0, 0, 0, 1, 1, 1, 1]);
    let by_count = load_edited("count", |s| s, &format!("{PLAIN}\n    nodes_per_rack: 3")).unwrap();
    let racks: Vec<u32> = by_count.cluster.nodes.iter().map(|n| n.rack).collect();
    assert_eq!(racks, [0, 0, 0, 1, 1, 1, 2, 2]);
}

#[test]
fn what_is_not_modelled_is_refused_with_the_node_named() {
    // The GPU Operator's NoSchedule taint, not listed in ignore_taints.
    let e = err(load_edited("taint", |s| s, "    files: nodes.yaml"));
    assert!(
        e.contains("cluster.kubernetes_nodes: Node dgx-0000")
            && e.contains("has taint nvidia.com/gpu=present:NoSchedule")
            && e.contains("ignore_taints"),
        "{e}"
    );
    // A PreferNoSchedule taint only lowers a score: accepted.
    let soft = load_edited(
        "soft",
        |s| s.replace("effect: NoSchedule", "effect: PreferNoSchedule"),
        "    files: nodes.yaml",
    );
    assert!(soft.is_ok(), "{:?}", soft.err());
    // A cordoned node.
    let e = err(load_edited(
        "cordon",
        |s| s.replacen("  spec:\n", "  spec:\n    unschedulable: true\n", 1),
        PLAIN,
    ));
    assert!(
        e.contains("Node dgx-0000") && e.contains("spec.unschedulable"),
        "{e}"
    );
    // MIG `mixed` strategy: profiles as resources.
    let e = err(load_edited(
        "mig",
        |s| {
            s.replacen(
                "      nvidia.com/gpu: \"8\"\n",
                "      nvidia.com/mig-1g.10gb: \"56\"\n",
                1,
            )
        },
        PLAIN,
    ));
    assert!(
        e.contains("Node dgx-0000") && e.contains("nvidia.com/mig-1g.10gb"),
        "{e}"
    );
    // A missing rack label.
    let e = err(load_edited(
        "norack",
        |s| s.replacen("      cloud.provider.com/topology-rack: r01\n", "", 1),
        &format!("{PLAIN}\n    rack_label: cloud.provider.com/topology-rack"),
    ));
    assert!(
        e.contains("Node dgx-0000: ")
            && e.contains("has no label cloud.provider.com/topology-rack"),
        "{e}"
    );
    // A GPU memory label that is not MiB.
    let e = err(load_edited(
        "mem",
        |s| {
            s.replacen(
                "nvidia.com/gpu.memory: \"81559\"",
                "nvidia.com/gpu.memory: 80GB",
                1,
            )
        },
        PLAIN,
    ));
    assert!(e.contains("label nvidia.com/gpu.memory \"80GB\""), "{e}");
}

#[test]
fn bad_files_get_file_and_line() {
    // A misspelt field of a Node is rejected as `kubectl apply` would, with the line.
    let e = err(load_edited(
        "typo",
        |s| s.replacen("    podCIDR:", "    podCIRD:", 1),
        PLAIN,
    ));
    assert!(e.contains("nodes.yaml:") && e.contains("podCIRD"), "{e}");
    eprintln!("{e}");
    // Another kind in the file.
    let e = err(load_edited(
        "kind",
        |s| format!("{s}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n"),
        PLAIN,
    ));
    assert!(
        e.contains("only Node objects") && e.contains("Namespace team-a"),
        "{e}"
    );
    // A missing file names the folder it is relative to.
    let e = err(load_edited("missing", |s| s, "    files: nodes-typo.yaml"));
    assert!(
        e.contains("nodes-typo.yaml does not exist (relative to the scenario's folder)"),
        "{e}"
    );
}
