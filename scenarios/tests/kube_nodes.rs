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
    // The GPU Operator's NoSchedule taint is imported; PreferNoSchedule ones too (they
    // only lower a score, so they never keep a pod off).
    let tainted = load_edited("taint", |s| s, "    files: nodes.yaml").unwrap();
    let t = &tainted.cluster.nodes[0].taints;
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].key.as_str(), t[0].value.as_str(), t[0].effect.as_str()),
        ("nvidia.com/gpu", "present", "NoSchedule")
    );
    // A pod without a toleration never lands there: the one job stays unfinished.
    let r = models::sim::run(tainted.cluster, tainted.workload, &tainted.config, None).unwrap();
    assert_eq!(r.jobs[0].end, None);
    let why = r.jobs[0].reason.as_deref().unwrap_or_default();
    assert!(
        why.contains(
            "found no placement: 0/8 nodes are available: 8 node(s) had untolerated taint {nvidia.com/gpu: present}"
        ),
        "{why}"
    );
    // ignore_taints drops it on import: the job runs.
    let ignored = load_edited("ignored", |s| s, PLAIN).unwrap();
    assert!(ignored.cluster.nodes[0].taints.is_empty());
    let r = models::sim::run(ignored.cluster, ignored.workload, &ignored.config, None).unwrap();
    assert!(r.jobs[0].end.is_some());
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

/// Two pools of one 1-GPU node each, `a` (label tier=a) and `b` (tier=b, optionally
/// tainted), and two 1-GPU jobs of 10 s at 0 s with `job_extra` fields: the jobs' end
/// times.
fn two_pool_ends(taint_b: bool, job_extra: &str) -> Vec<Option<u64>> {
    let taint = if taint_b {
        "\n      taints: [{key: dedicated, value: inference, effect: NoSchedule}]"
    } else {
        ""
    };
    let yaml = format!(
        "name: t\nseed: 1\ncluster:\n  node_pools:\n    - name: a\n      count: 1\n      cpu_milli: 8000\n      memory_mib: 65536\n      gpus: 1\n      gpu_model: H100\n      labels: {{tier: a}}\n    - name: b\n      count: 1\n      cpu_milli: 8000\n      memory_mib: 65536\n      gpus: 1\n      gpu_model: H100\n      labels: {{tier: b}}{taint}\nworkload:\n  jobs:\n    - {{id: j1, submit: 0s, duration: 10s{job_extra}}}\n    - {{id: j2, submit: 0s, duration: 10s{job_extra}}}\nscheduler:\n  policy: default\n"
    );
    let sc = scenarios::build(
        "s.yaml",
        &yaml,
        &scenarios::DirSource(PathBuf::new()),
        &Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let r = models::sim::run(sc.cluster, sc.workload, &sc.config, None).unwrap();
    r.jobs
        .iter()
        .map(|j| j.end.map(|t| t.as_nanos() / 1_000_000_000))
        .collect()
}

/// NodeAffinity and TaintToleration in Filter: hand-derived end times (two 1-GPU jobs of
/// 10 s; both run at once on the two nodes, or one after the other on one node).
#[test]
fn node_selector_affinity_and_taints_decide_where_pods_go() {
    // Nothing: both nodes, in parallel.
    assert_eq!(two_pool_ends(false, ""), [Some(10), Some(10)]);
    // nodeSelector tier=b: one node, one after the other.
    assert_eq!(
        two_pool_ends(false, ", node_selector: {tier: b}"),
        [Some(10), Some(20)]
    );
    // Required affinity tier NotIn [a]: the same.
    assert_eq!(
        two_pool_ends(
            false,
            ", node_affinity: [{match_expressions: [{key: tier, operator: NotIn, values: [a]}]}]"
        ),
        [Some(10), Some(20)]
    );
    // Terms are ORed: tier In [a] or tier In [b] is both nodes.
    assert_eq!(
        two_pool_ends(
            false,
            ", node_affinity: [{match_expressions: [{key: tier, operator: In, values: [a]}]}, {match_expressions: [{key: tier, operator: In, values: [b]}]}]"
        ),
        [Some(10), Some(10)]
    );
    // A selector no node matches: neither runs.
    assert_eq!(
        two_pool_ends(false, ", node_selector: {tier: c}"),
        [None, None]
    );
    // b tainted NoSchedule: only a, one after the other...
    assert_eq!(two_pool_ends(true, ""), [Some(10), Some(20)]);
    // ...unless the pods tolerate it (Equal with the value, or Exists on the key)...
    assert_eq!(
        two_pool_ends(
            true,
            ", tolerations: [{key: dedicated, operator: Equal, value: inference, effect: NoSchedule}]"
        ),
        [Some(10), Some(10)]
    );
    assert_eq!(
        two_pool_ends(true, ", tolerations: [{key: dedicated, operator: Exists}]"),
        [Some(10), Some(10)]
    );
    // ...but not with another value or effect.
    assert_eq!(
        two_pool_ends(
            true,
            ", tolerations: [{key: dedicated, operator: Equal, value: training}]"
        ),
        [Some(10), Some(20)]
    );
    assert_eq!(
        two_pool_ends(
            true,
            ", tolerations: [{key: dedicated, operator: Exists, effect: NoExecute}]"
        ),
        [Some(10), Some(20)]
    );
    // Tolerating b but selecting b: one after the other on b.
    assert_eq!(
        two_pool_ends(
            true,
            ", node_selector: {tier: b}, tolerations: [{operator: Exists}]"
        ),
        [Some(10), Some(20)]
    );
}

#[test]
fn bad_constraints_name_the_field() {
    let bad = |extra: &str| -> String {
        let yaml = format!(
            "name: t\nseed: 1\ncluster:\n  node_pools:\n    - {{name: a, count: 1, cpu_milli: 8000, memory_mib: 65536, gpus: 1, gpu_model: H100}}\nworkload:\n  jobs:\n    - {{id: j1, submit: 0s, duration: 10s{extra}}}\nscheduler:\n  policy: default\n"
        );
        match scenarios::build(
            "s.yaml",
            &yaml,
            &scenarios::DirSource(PathBuf::new()),
            &Overrides::default(),
        ) {
            Ok(_) => panic!("accepted: {extra}"),
            Err(e) => e.to_string(),
        }
    };
    let e = bad(", node_affinity: [{match_expressions: [{key: k, operator: Near, values: [x]}]}]");
    assert!(
        e.contains("workload.jobs[0].node_affinity[0].match_expressions[0].operator")
            && e.contains("unknown operator \"Near\""),
        "{e}"
    );
    let e = bad(", node_affinity: [{match_expressions: [{key: k, operator: In}]}]");
    assert!(
        e.contains("match_expressions[0].values") && e.contains("In and NotIn need values"),
        "{e}"
    );
    let e = bad(", tolerations: [{key: k, operator: Exists, value: v}]");
    assert!(e.contains("workload.jobs[0].tolerations[0].value"), "{e}");
    let e = bad(", tolerations: [{key: k, effect: NoWay}]");
    assert!(
        e.contains("tolerations[0].effect") && e.contains("unknown effect \"NoWay\""),
        "{e}"
    );
    let e = bad(", tolerations: [{value: v}]");
    assert!(
        e.contains("tolerations[0].key") && e.contains("needs operator Exists"),
        "{e}"
    );
}
