//! The example platform profiles parse and check.

use scenarios::conformance::Profile;

#[test]
fn example_profiles_parse() {
    for name in ["bare", "fully-conformant"] {
        let path = format!("{}/profiles/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let p = Profile::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.name, name);
    }
}

// ---- A profile from the platform's objects (`--profile DIR`) ----

use scenarios::conformance::objects::{Assembled, load_dir};
use std::path::{Path, PathBuf};

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("profiles")
        .join(name)
}

fn assembled() -> Assembled {
    load_dir(&folder("fully-conformant")).unwrap_or_else(|e| panic!("{e}"))
}

/// The folder of real objects gives the hand-written profile value for value; the only
/// difference is the accelerator label's value, which real GKE nodes spell
/// `nvidia-h100-80gb` (`cloud.google.com/gke-accelerator`).
#[test]
fn fully_conformant_folder_is_the_yaml_profile() {
    let a = assembled();
    let mut want =
        Profile::load(&folder("fully-conformant.yaml")).unwrap_or_else(|e| panic!("{e}"));
    want.accelerators.accelerator = "nvidia-h100-80gb".into();
    for p in &mut want.cluster_autoscaler.as_mut().expect("autoscaler").pools {
        p.accelerator = "nvidia-h100-80gb".into();
    }
    assert_eq!(a.profile, want);
}

/// Each requirement's basis, derived by hand from which files hold its inputs:
/// time-slicing replicas, the pool's shape and delay, RDMA figures and the volume's
/// throughput are in platform.yaml; everything else is read from objects.
#[test]
fn fully_conformant_folder_rows_say_simulated_or_declared() {
    let p = assembled().provenance;
    for id in [
        "gang_scheduling",
        "dra_support",
        "secure_accelerator_access",
        "accelerator_metrics",
        "ai_service_metrics",
        "ai_inference",
    ] {
        let b = p.basis(id);
        assert_eq!(b.basis, "simulated from configuration", "{id}: {b:?}");
        assert!(b.declared.is_empty(), "{id}");
    }
    let declared = |id: &str| {
        let b = p.basis(id);
        assert_eq!(b.basis, "declared only", "{id}");
        b.declared
    };
    assert_eq!(
        declared("gpu_sharing"),
        ["accelerators.sharing.time_slicing_replicas"]
    );
    assert_eq!(
        declared("cluster_autoscaling"),
        [
            "cluster_autoscaler.pools[h100-pool].accelerator",
            "cluster_autoscaler.pools[h100-pool].gpus_per_node",
            "cluster_autoscaler.pools[h100-pool].provisioning_delay",
        ]
    );
    assert_eq!(
        declared("large_dataset_volumes"),
        [
            "storage.dataset_volume.node_cache",
            "storage.dataset_volume.read_gbps"
        ]
    );
    assert_eq!(declared("job_level_networking").len(), 4);
    // The gang row names the objects it was read from.
    let g = p.basis("gang_scheduling").configured_from;
    assert!(
        g.iter()
            .any(|o| o.starts_with("KubeSchedulerConfiguration"))
            && g.iter()
                .any(|o| o.starts_with("Node gpu-h100-0 and 3 more")),
        "{g:?}"
    );
    // Not simulable: no basis. A hand-written profile: every simulable row declared.
    assert_eq!(p.basis("robust_controller").basis, "-");
    let hand = scenarios::conformance::Provenance::hand_written("p.yaml");
    assert_eq!(hand.basis("gang_scheduling").basis, "declared only");
}

/// A scratch copy of the example folder with `edit` applied (file name → new text; an
/// empty text deletes the file).
fn edited(tag: &str, edit: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("profile-dir-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(folder("fully-conformant")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    for (name, text) in edit {
        if text.is_empty() {
            std::fs::remove_file(dir.join(name)).unwrap();
        } else {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    dir
}

fn load_err(dir: &Path) -> String {
    match load_dir(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn profile_folder_errors_name_file_line_and_what() {
    // An object kind the reader does not know: named with its file and line.
    let d = edited(
        "unknown-kind",
        &[(
            "extra.yaml",
            "# a comment\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
        )],
    );
    let e = load_err(&d);
    assert!(
        e.contains("extra.yaml:2") && e.contains("v1 Service web") && e.contains("not an object"),
        "{e}"
    );
    // A value both read from an object and declared: both places named.
    let d = edited(
        "twice",
        &[("platform.yaml", "name: x\naccelerators:\n  nodes: 4\n")],
    );
    let e = load_err(&d);
    assert!(
        e.contains("accelerators.nodes is set twice") && e.contains("nodes.yaml"),
        "{e}"
    );
    // An HPA field autoscaling/v2 does not have (strict, as kubectl apply).
    let hpa = std::fs::read_to_string(folder("fully-conformant").join("hpa.yaml"))
        .unwrap()
        .replace("  maxReplicas: 8\n", "  maxReplicas: 8\n  maxReplica: 9\n");
    let d = edited("hpa-field", &[("hpa.yaml", &hpa)]);
    let e = load_err(&d);
    assert!(
        e.contains("hpa.yaml:3") && e.contains("spec.maxReplica"),
        "{e}"
    );
    // A malformed --nodes flag.
    let ca = std::fs::read_to_string(folder("fully-conformant").join("cluster-autoscaler.yaml"))
        .unwrap()
        .replace("--nodes=2:4:h100-pool", "--nodes=2-4-h100-pool");
    let d = edited("ca-nodes", &[("cluster-autoscaler.yaml", &ca)]);
    let e = load_err(&d);
    assert!(e.contains("expected MIN:MAX:NAME"), "{e}");
    // No accelerator nodes at all.
    let d = edited("no-nodes", &[("nodes.yaml", "")]);
    assert!(load_err(&d).contains("no accelerator Node"));
}

/// Components absent from the folder are absent from the profile; a device plugin's
/// time-slicing ConfigMap (found by its label) gives the replicas; an HPA without the
/// custom-metrics APIService has no adapter.
#[test]
fn profile_folder_absence_and_device_plugin_config() {
    let hpa = std::fs::read_to_string(folder("fully-conformant").join("hpa.yaml")).unwrap();
    let hpa_only = &hpa[..hpa.find("---").unwrap()];
    let plugin = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: time-slicing-config\n  namespace: gpu-operator\n  labels:\n    app.kubernetes.io/name: nvidia-device-plugin\ndata:\n  any: |-\n    version: v1\n    flags:\n      migStrategy: none\n    sharing:\n      timeSlicing:\n        resources:\n        - name: nvidia.com/gpu\n          replicas: 6\n";
    let platform = "name: partial\n";
    let d = edited(
        "partial",
        &[
            ("cluster-autoscaler.yaml", ""),
            ("gateway.yaml", ""),
            ("gpu-operator.yaml", ""),
            ("dra.yaml", ""),
            ("storage.yaml", ""),
            ("hpa.yaml", hpa_only),
            ("plugin.yaml", plugin),
            ("platform.yaml", platform),
        ],
    );
    let a = load_dir(&d).unwrap_or_else(|e| panic!("{e}"));
    let p = &a.profile;
    assert_eq!(p.name, "partial");
    assert!(p.cluster_autoscaler.is_none() && p.gateway.is_none());
    assert!(p.storage.dataset_volume.is_none() && p.network.rdma.is_none());
    assert_eq!(
        p.accelerators.allocation,
        scenarios::conformance::profile::Allocation::DevicePlugin
    );
    assert_eq!(p.accelerators.sharing.time_slicing_replicas, 6);
    assert!(p.metrics.accelerator_exporter.is_none());
    let hpa = p.pod_autoscaler.as_ref().expect("hpa");
    assert!(!hpa.custom_metrics_adapter);
    assert_eq!(
        (hpa.target, hpa.min_replicas, hpa.max_replicas),
        (4.0, 1, 8)
    );
    assert_eq!(
        a.provenance.basis("gpu_sharing").basis,
        "simulated from configuration"
    );
}

/// Kueue's objects in the folder (Kueue's sample single-ClusterQueue setup, as in
/// kubernetes-sigs/kueue `config/samples/single-clusterqueue-setup.yaml`, with a GPU
/// quota, and the Configuration with waitForPodsReady) instead of the Coscheduling
/// KubeSchedulerConfiguration.
const KUEUE_OBJECTS: &str = "apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata:
  name: default-flavor
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: team
spec:
  namespaceSelector: {}
  resourceGroups:
    - coveredResources: [nvidia.com/gpu]
      flavors:
        - name: default-flavor
          resources:
            - name: nvidia.com/gpu
              nominalQuota: 32
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata:
  namespace: default
  name: team-queue
spec:
  clusterQueue: team
---
apiVersion: config.kueue.x-k8s.io/v1beta1
kind: Configuration
waitForPodsReady:
  enable: true
  timeout: 5m
";

/// The folder with Kueue's objects gives the profile whose `scheduler:` block is what the
/// same objects give a scenario (`scheduler.kueue.manifests`): policy kueue, one
/// ClusterQueue `team` of 32 GPUs, waitForPodsReady on with a 5 min timeout and
/// upstream's defaults for the rest; every other value as the YAML profile's. The gang
/// row is simulated from those objects.
#[test]
fn profile_folder_reads_kueue_objects_as_the_scheduler() {
    let dir = edited(
        "kueue",
        &[("scheduler.yaml", ""), ("kueue.yaml", KUEUE_OBJECTS)],
    );
    let a = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let s = &a.profile.scheduler;
    assert_eq!(s.policy, models::scheduler::PolicyKind::Kueue);
    assert_eq!(s.kueue.cluster_queues.len(), 1);
    assert_eq!(s.kueue.cluster_queues[0].name, "team");
    assert_eq!(s.kueue.cluster_queues[0].nominal_gpus, 32.0);
    assert!(s.kueue.wait_for_pods_ready.enable);
    assert_eq!(
        s.kueue.wait_for_pods_ready.timeout.as_nanos(),
        300_000_000_000
    );
    assert!(s.kueue.manifests.is_empty());
    // The same objects as a scenario's scheduler.kueue.manifests: the same block.
    std::fs::write(
        dir.join("s.yaml.txt"),
        "name: s\ncluster:\n  node_pools:\n    - {name: g, count: 4, cpu_milli: 64000, memory_mib: 262144, gpus: 8, gpu_model: H100}\nworkload:\n  jobs:\n    - {id: a, duration: 60s, pods: 1, gpus_per_pod: 1, queue: team-queue}\nscheduler:\n  policy: kueue\n  kueue:\n    manifests: [kueue.yaml]\n",
    )
    .unwrap();
    let sc = scenarios::scenario::load(&dir.join("s.yaml.txt"), &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.kueue, sc.config.scheduler.kueue);
    // Everything else is the YAML profile's.
    let mut rest = a.profile.clone();
    rest.scheduler = assembled().profile.scheduler;
    assert_eq!(rest, assembled().profile);
    let b = a.provenance.basis("gang_scheduling");
    assert_eq!(b.basis, "simulated from configuration", "{b:?}");
    assert!(
        b.configured_from
            .iter()
            .any(|o| o.starts_with("ResourceFlavor")),
        "{b:?}"
    );
    // Kueue on the default scheduler: a KubeSchedulerConfiguration without a gang plugin
    // beside Kueue's objects leaves the policy kueue.
    let on_default = edited(
        "kueue-default-scheduler",
        &[
            (
                "scheduler.yaml",
                "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n  - schedulerName: default-scheduler\n",
            ),
            ("kueue.yaml", KUEUE_OBJECTS),
        ],
    );
    let k = load_dir(&on_default).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        k.profile.scheduler.policy,
        models::scheduler::PolicyKind::Kueue
    );
    assert_eq!(k.profile.scheduler.kueue, a.profile.scheduler.kueue);
    // Kueue's and Volcano's queues together: refused, naming both.
    let both = edited(
        "kueue-volcano",
        &[
            ("scheduler.yaml", ""),
            ("kueue.yaml", KUEUE_OBJECTS),
            (
                "volcano.yaml",
                "apiVersion: scheduling.volcano.sh/v1beta1\nkind: Queue\nmetadata:\n  name: q\nspec:\n  weight: 1\n",
            ),
        ],
    );
    let e = load_err(&both);
    assert!(e.contains("volcano.yaml:1") && e.contains("Kueue"), "{e}");
    // A Kueue object's unknown field: refused, naming the object and the field.
    let typo = edited(
        "kueue-typo",
        &[
            ("scheduler.yaml", ""),
            (
                "kueue.yaml",
                &KUEUE_OBJECTS.replace("namespaceSelector", "namespaceSelektor"),
            ),
        ],
    );
    let e = load_err(&typo);
    assert!(
        e.contains("namespaceSelektor") && e.contains("ClusterQueue"),
        "{e}"
    );
}
