//! `scheduler.kueue.manifests`: Kueue's queues from their YAML
//! (`scenarios/kubernetes/kueue/cohort-teams.yaml`, in the shape of Kueue's own sample).

use std::path::{Path, PathBuf};

use models::scheduler::{QueueingStrategy, ReclaimWithinCohort, WithinClusterQueue};
use scenarios::{Overrides, ScenarioError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// `cohort-teams.yaml` edited by `edit`, beside a scenario naming `queue` for its job.
fn load_edited(
    tag: &str,
    edit: impl Fn(String) -> String,
    queue: &str,
) -> Result<scenarios::Scenario, ScenarioError> {
    let d = std::env::temp_dir().join(format!("orrery-kueue-yaml-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let q = std::fs::read_to_string(root().join("kubernetes/kueue/cohort-teams.yaml")).unwrap();
    std::fs::write(d.join("queues.yaml"), edit(q)).unwrap();
    let yaml = format!(
        "name: t\nseed: 1\ncluster:\n  node_pools:\n    - {{name: h, count: 1, cpu_milli: 1000, memory_mib: 1024, gpus: 8, gpu_model: H100}}\nworkload:\n  jobs:\n    - {{id: a, submit: 0s, duration: 10s, pods: 1, gpus_per_pod: 1, queue: {queue}}}\nscheduler:\n  policy: kueue\n  kueue:\n    manifests: [queues.yaml]\n"
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

#[test]
fn queues_and_local_queues_become_cluster_queues() {
    let sc = load_edited("ok", |s| s, "team-a-queue").expect("loads");
    let k = &sc.config.scheduler.kueue;
    assert!(k.manifests.is_empty());
    assert_eq!(k.queueing_strategy, QueueingStrategy::BestEffortFifo);
    let names: Vec<&str> = k.cluster_queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["team-a", "team-b"]);
    let a = &k.cluster_queues[0];
    assert_eq!(a.cohort.as_deref(), Some("research"));
    assert_eq!(a.nominal_gpus, 4.0);
    assert_eq!(a.borrowing_limit_gpus, Some(2.0));
    assert_eq!(a.lending_limit_gpus, None);
    assert_eq!(a.preemption.within_cluster_queue, WithinClusterQueue::Never);
    // The LocalQueue stands for its ClusterQueue.
    assert_eq!(sc.workload.jobs[0].queue.as_deref(), Some("team-a"));
}

#[test]
fn preemption_strategy_and_v1beta2_cohort_name() {
    let sc = load_edited(
        "v2",
        |s| {
            s.replace("kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2")
                .replace("  cohort: \"research\"", "  cohortName: \"research\"")
                .replace(
                    "  namespaceSelector: {} # match all.\n  cohortName: \"research\"\n  resourceGroups:\n  - coveredResources: [\"cpu\", \"memory\", \"nvidia.com/gpu\"]\n    flavors:\n    - name: \"default-flavor\"\n      resources:\n      - name: \"cpu\"\n        nominalQuota: 96\n      - name: \"memory\"\n        nominalQuota: 1Ti\n      - name: \"nvidia.com/gpu\"\n        nominalQuota: 4\n        borrowingLimit: 2",
                    "  namespaceSelector: {} # match all.\n  cohortName: \"research\"\n  queueingStrategy: StrictFIFO\n  preemption:\n    withinClusterQueue: LowerPriority\n    reclaimWithinCohort: Any\n  resourceGroups:\n  - coveredResources: [\"nvidia.com/gpu\"]\n    flavors:\n    - name: \"default-flavor\"\n      resources:\n      - name: \"nvidia.com/gpu\"\n        nominalQuota: \"500m\"\n        lendingLimit: 0",
                )
                .replace("        nominalQuota: 4\n---\napiVersion: kueue.x-k8s.io/v1beta2\nkind: LocalQueue", "        nominalQuota: 4\n  queueingStrategy: StrictFIFO\n---\napiVersion: kueue.x-k8s.io/v1beta2\nkind: LocalQueue")
        },
        "team-a",
    )
    .expect("loads");
    let k = &sc.config.scheduler.kueue;
    assert_eq!(k.queueing_strategy, QueueingStrategy::StrictFifo);
    let a = &k.cluster_queues[0];
    assert_eq!(a.cohort.as_deref(), Some("research"));
    assert_eq!(a.nominal_gpus, 0.5);
    assert_eq!(a.lending_limit_gpus, Some(0.0));
    assert_eq!(
        a.preemption.within_cluster_queue,
        WithinClusterQueue::LowerPriority
    );
    assert_eq!(a.preemption.reclaim_within_cohort, ReclaimWithinCohort::Any);
}

#[test]
fn what_is_not_modelled_is_refused_with_file_and_line() {
    let e = err(load_edited(
        "unknown",
        |s| s.replace("  cohort: \"research\"", "  cohrt: \"research\""),
        "team-a",
    ));
    assert!(
        e.contains("queues.yaml:18:3: ClusterQueue: unknown field") && e.contains("cohrt"),
        "{e}"
    );
    let e = err(load_edited(
        "twoflavors",
        |s| {
            s.replacen("    - name: \"default-flavor\"\n      resources:\n      - name: \"cpu\"", "    - name: \"spot\"\n      resources:\n      - name: \"nvidia.com/gpu\"\n        nominalQuota: 8\n    - name: \"default-flavor\"\n      resources:\n      - name: \"cpu\"", 1)
        },
        "team-a",
    ));
    assert!(
        e.contains("ClusterQueue team-a")
            && e.contains("flavors spot and default-flavor")
            && e.contains("not modelled"),
        "{e}"
    );
    let e = err(load_edited(
        "noflavor",
        |s| s.replace("  name: \"default-flavor\"\n", "  name: \"other\"\n"),
        "team-a",
    ));
    assert!(
        e.contains("ResourceFlavor \"default-flavor\", which no manifest defines"),
        "{e}"
    );
    let e = err(load_edited(
        "lq",
        |s| s.replace("  clusterQueue: \"team-b\"", "  clusterQueue: \"team-c\""),
        "team-a",
    ));
    assert!(
        e.contains("LocalQueue team-b-queue points to ClusterQueue \"team-c\""),
        "{e}"
    );
    // A fairSharing weight only matters with fair sharing on (Kueue's Configuration, off by
    // default; refused there when on: tests/queue_manifests.rs), so it is accepted.
    load_edited(
        "fair",
        |s| {
            s.replacen(
                "  namespaceSelector: {}",
                "  fairSharing: {weight: 1}\n  namespaceSelector: {}",
                1,
            )
        },
        "team-a",
    )
    .expect("a fairSharing weight with fair sharing off loads");
    let e = err(load_edited(
        "kind",
        |s| {
            format!(
                "{s}---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: Workload\nmetadata: {{name: w}}\n"
            )
        },
        "team-a",
    ));
    assert!(e.contains("kind \"Workload\" is not read here"), "{e}");
}
