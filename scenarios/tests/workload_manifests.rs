//! Workloads from Kubernetes manifests (`workload.manifests`, a trace's `template`): each
//! fixture of `scenarios/kubernetes/workloads/` imported with its pods, GPUs, queue and
//! constraints derived by hand from the YAML; refusals naming file and line; runs with
//! start and end times derived by hand.

use std::collections::BTreeMap;
use std::path::PathBuf;

use models::resources::{PodConstraints, Requirement, Toleration};
use models::{GpuRequest, PodRequest};
use scenarios::workload_manifests::{WorkloadObject, parse_file};
use scenarios::{DirSource, FileSource, Overrides, ScenarioError};
use sim_core::SimDuration;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kubernetes/workloads")
}

fn fixture(name: &str) -> WorkloadObject {
    let text = std::fs::read_to_string(dir().join(name)).expect("fixture");
    let mut objects = parse_file(name, &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(objects.len(), 1, "{name}");
    objects.remove(0)
}

fn pod(cpu_milli: u64, memory_mib: u64, gpus: u32, c: Option<PodConstraints>) -> PodRequest {
    PodRequest {
        cpu_milli,
        memory_mib,
        gpu: if gpus == 0 {
            GpuRequest::None
        } else {
            GpuRequest::Whole(gpus)
        },
        gpu_models: Vec::new(),
        constraints: c.map(Box::new),
    }
}

fn roles(o: &WorkloadObject) -> Vec<(&str, u32)> {
    o.roles.iter().map(|(r, n)| (r.as_str(), *n)).collect()
}

const PRODUCT: &str = "nvidia.com/gpu.product";
const H100: &str = "NVIDIA-H100-80GB-HBM3";

fn gpu_toleration() -> Toleration {
    Toleration {
        key: "nvidia.com/gpu".into(),
        operator: "Exists".into(),
        value: String::new(),
        effect: "NoSchedule".into(),
    }
}

/// Indexed Job: parallelism 3, completions 5 → Kueue's podsCount min(3, 5) = 3 pods. Per
/// pod: the worker requests cpu 2 and 8Gi with a 1-GPU limit; the init container (500m,
/// 64Mi) runs alone first, so the pod asks max(2000, 500) = 2000 millicores and
/// max(8192, 64) = 8192 MiB. Queue and times from its label and annotations.
#[test]
fn indexed_job() {
    let o = fixture("indexed-job.yaml");
    assert_eq!((o.kind.as_str(), o.name.as_str()), ("Job", "indexed-job"));
    assert_eq!(roles(&o), [("pods", 3)]);
    assert_eq!(o.pods, vec![pod(2000, 8192, 1, None); 3]);
    assert_eq!(o.queue.as_deref(), Some("team-a-queue"));
    assert_eq!(o.arrival, Some(SimDuration::from_secs(10)));
    assert_eq!(o.run_time, Some(SimDuration::from_secs(1800)));
    assert_eq!((o.priority, o.priority_needed.as_deref()), (None, None));
}

/// JobSet: replicatedJobs[0] has 2 replicas of a Job with parallelism 2 → 4 pods of 2 GPUs
/// each, with the template's node selector and toleration.
#[test]
fn jobset() {
    let o = fixture("jobset-pytorch.yaml");
    assert_eq!((o.kind.as_str(), o.name.as_str()), ("JobSet", "pytorch"));
    assert_eq!(roles(&o), [("workers", 4)]);
    let c = PodConstraints {
        node_selector: BTreeMap::from([(PRODUCT.into(), H100.into())]),
        node_affinity: Vec::new(),
        tolerations: vec![gpu_toleration()],
    };
    assert_eq!(o.pods, vec![pod(0, 0, 2, Some(c)); 4]);
    assert_eq!(o.queue.as_deref(), Some("team-b-queue"));
    assert_eq!((o.arrival, o.run_time), (None, None));
}

/// PyTorchJob: Master 1 + Worker 3 = 4 pods of 8 GPUs (limits only: requests default to
/// them), each with the required node affinity `nvidia.com/gpu.product In [H100]`.
#[test]
fn pytorchjob() {
    let o = fixture("pytorchjob.yaml");
    assert_eq!(
        (o.kind.as_str(), o.name.as_str()),
        ("PyTorchJob", "pytorch-dist-mnist-nccl")
    );
    assert_eq!(roles(&o), [("Master", 1), ("Worker", 3)]);
    let c = PodConstraints {
        node_selector: BTreeMap::new(),
        node_affinity: vec![vec![Requirement {
            key: PRODUCT.into(),
            operator: "In".into(),
            values: vec![H100.into()],
        }]],
        tolerations: vec![gpu_toleration()],
    };
    assert_eq!(o.pods, vec![pod(0, 0, 8, Some(c)); 4]);
    assert_eq!(o.queue.as_deref(), Some("team-a-queue"));
}

/// MPIJob: the launcher (50m, 128Mi, no GPU) and 2 workers of 8 GPUs: 3 pods.
#[test]
fn mpijob() {
    let o = fixture("mpijob.yaml");
    assert_eq!((o.kind.as_str(), o.name.as_str()), ("MPIJob", "nccl-tests"));
    assert_eq!(roles(&o), [("Launcher", 1), ("Worker", 2)]);
    assert_eq!(
        o.pods,
        vec![
            pod(50, 128, 0, None),
            pod(0, 0, 8, None),
            pod(0, 0, 8, None)
        ]
    );
    assert_eq!(o.queue.as_deref(), Some("team-b-queue"));
}

/// RayJob: its rayClusterSpec's head (request 200m under a 1-CPU limit: the request
/// counts), 2 workers of the `small-group` (200m, 1 GPU) and, in the default K8sJobMode,
/// KubeRay's submitter pod (500m, 200Mi): 4 pods.
#[test]
fn rayjob() {
    let o = fixture("rayjob.yaml");
    assert_eq!(
        (o.kind.as_str(), o.name.as_str()),
        ("RayJob", "rayjob-sample")
    );
    assert_eq!(
        roles(&o),
        [("head", 1), ("small-group", 2), ("submitter", 1)]
    );
    assert_eq!(
        o.pods,
        vec![
            pod(200, 0, 0, None),
            pod(200, 0, 1, None),
            pod(200, 0, 1, None),
            pod(500, 200, 0, None)
        ]
    );
    assert_eq!(o.queue.as_deref(), Some("team-a-queue"));
}

const CONTAINER: &str =
    "      containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}]\n";

/// RayCluster worker groups: replicas × numOfHosts, here 1 head + 5 × 2 + 2 = 13 pods; a
/// group without replicas has the CRD's default 0. Replicas outside [min, max] (which KubeRay
/// would clamp and Kueue count as written) are refused.
#[test]
fn raycluster_worker_groups() {
    let head = "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: rc}\nspec:\n  headGroupSpec:\n    template:\n      spec:\n        containers: [{name: h, image: i}]\n  workerGroupSpecs:\n";
    let group = |name: &str, fields: &str| {
        format!("  - groupName: {name}\n{fields}    template:\n      spec:\n  {CONTAINER}")
    };
    let yaml = format!(
        "{head}{}{}{}",
        group(
            "tpu",
            "    replicas: 5\n    minReplicas: 1\n    maxReplicas: 5\n    numOfHosts: 2\n"
        ),
        group("small", "    replicas: 2\n"),
        group("idle", "")
    );
    let o = parse_file("rc.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        roles(&o[0]),
        [("head", 1), ("tpu", 10), ("small", 2), ("idle", 0)]
    );
    assert_eq!(o[0].pods.len(), 13);
    let yaml = format!(
        "{head}{}",
        group(
            "tpu",
            "    replicas: 7\n    minReplicas: 1\n    maxReplicas: 5\n"
        )
    );
    assert_eq!(
        parse_file("rc.yaml", &yaml).err().as_deref(),
        Some(
            "rc.yaml:1: RayCluster rc: spec.workerGroupSpecs[0].replicas: 7 lies outside [minReplicas 1, maxReplicas 5] (KubeRay would create the clamped count, Kueue counts 7); give replicas within the range"
        )
    );
}

/// An unknown field of a CRD is refused by the serde type, at its line and column; one of
/// an embedded Kubernetes object (a pod template read with k8s-openapi) at its line, with
/// its path. The second document starts at line 9 of the file.
#[test]
fn unknown_fields_are_refused_at_their_line() {
    let ok_job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: ok}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]\n---\n";
    // Line 18 of the file: `resource:` (a typo of `resources`).
    let bad_job = format!(
        "{ok_job}apiVersion: batch/v1\nkind: Job\nmetadata: {{name: bad}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: i\n        resource:\n          limits: {{nvidia.com/gpu: 1}}\n"
    );
    let e = parse_file("f.yaml", &bad_job).err().unwrap_or_default();
    assert_eq!(
        e,
        "f.yaml:18: Job bad: unknown field \"spec.template.spec.containers[0].resource\" (kubectl apply rejects unknown fields; check its spelling and indentation)"
    );
    // Line 16 of the file: `replica:` (a typo of `replicas`), column 7.
    let bad_pytorch = format!(
        "{ok_job}apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {{name: typo}}\nspec:\n  pytorchReplicaSpecs:\n    Worker:\n      replicas: 1\n      replica: 3\n      template:\n        spec:\n          containers: [{{name: c, image: i}}]\n"
    );
    let e = parse_file("f.yaml", &bad_pytorch).err().unwrap_or_default();
    assert!(
        e.starts_with("f.yaml:16:7: PyTorchJob: unknown field `replica`"),
        "{e}"
    );
    // A field of the metadata (ObjectMeta, k8s-openapi): line 3 of a one-document file.
    let bad_meta = "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata:\n  nmae: rc\nspec:\n  headGroupSpec:\n    template:\n      spec:\n        containers: [{name: h, image: i}]\n";
    let e = parse_file("m.yaml", bad_meta).err().unwrap_or_default();
    // Through a scenario: its file, the entry's field, then the manifest's file and line.
    let files = Mem(BTreeMap::from([("f.yaml", bad_job.clone())]));
    let yaml = format!("{CLUSTER}workload:\n  manifests: [{{file: f.yaml, run_time: 1h}}]\n");
    let err = scenarios::build("s.yaml", &yaml, &files, &Overrides::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("s.yaml: workload.manifests[0].file: f.yaml:18: Job bad: unknown field"),
        "{err}"
    );
    assert!(
        e.starts_with("m.yaml:4: RayCluster: unknown field \"metadata.nmae\""),
        "{e}"
    );
}

/// What is not modelled is refused with the field named.
#[test]
fn unmodelled_features_are_refused() {
    let head = "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: p}\nspec:\n";
    let workers = "  pytorchReplicaSpecs:\n    Worker:\n      replicas: 4\n      template:\n        spec:\n          containers: [{name: c, image: i}]\n";
    let cases = [
        (
            format!("{head}  elasticPolicy: {{minReplicas: 1, maxReplicas: 4}}\n{workers}"),
            "p.yaml:1: PyTorchJob p: spec.elasticPolicy: an elastic PyTorchJob (its size changing while it runs) is not modelled",
        ),
        (
            format!("{head}  runPolicy: {{schedulingPolicy: {{minAvailable: 2}}}}\n{workers}"),
            "p.yaml:1: PyTorchJob p: spec.runPolicy.schedulingPolicy.minAvailable: 2 of 4 pods: a gang smaller than the job is not modelled (every pod of the job forms the gang)",
        ),
        (
            "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: r}\nspec:\n  enableInTreeAutoscaling: true\n  headGroupSpec:\n    template:\n      spec:\n        containers: [{name: h, image: i}]\n".to_string(),
            // Autoscaled: the Ray autoscaler needs each node type's CPU count.
            "p.yaml:1: RayCluster r: spec.headGroupSpec.template.spec.containers[0].resources: no CPU count (a cpu limit or request, or rayStartParams num-cpus): the Ray autoscaler needs one",
        ),
        (
            "apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {name: j}\nspec:\n  clusterSelector: {ray.io/cluster: shared}\n".to_string(),
            "p.yaml:1: RayJob j: spec.clusterSelector: a RayJob on an existing RayCluster is not modelled",
        ),
        (
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: i, resources: {limits: {rdma/hca: 1}}}]\n".to_string(),
            "p.yaml:1: Job j: spec.template.spec.containers[0].resources: resource \"rdma/hca\" is not modelled (cpu, memory, nvidia.com/gpu and amd.com/gpu are; ephemeral-storage and hugepages are ignored)",
        ),
        (
            // A List is read as its items (kubectl's output); an item's error names its
            // line (4) and the List's (1).
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n".to_string(),
            "p.yaml:4: kind \"ConfigMap\" (v1) is not a workload read here (expected Job, JobSet, PyTorchJob, MPIJob, RayJob or RayCluster) (items[0] of the List at p.yaml:1)",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n".to_string(),
            "p.yaml:1: kind \"ConfigMap\" (v1) is not a workload read here (expected Job, JobSet, PyTorchJob, MPIJob, RayJob or RayCluster)",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(parse_file("p.yaml", &yaml).err().as_deref(), Some(want));
    }
}

/// Files in memory, for scenario-level refusals.
struct Mem(BTreeMap<&'static str, String>);

impl FileSource for Mem {
    fn read(&self, name: &str) -> Result<(String, String), ScenarioError> {
        self.0
            .get(name)
            .map(|t| (name.to_string(), t.clone()))
            .ok_or_else(|| ScenarioError::Read {
                path: name.into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })
    }
}

const CLUSTER: &str = "cluster:\n  node_pools:\n    - {name: a, count: 1, cpu_milli: 8000, memory_mib: 8192, gpus: 8, gpu_model: H100}\n";

/// A priorityClassName is not read: the scenario must give the priority, which then wins.
#[test]
fn a_priority_class_needs_the_scenarios_priority() {
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      priorityClassName: high\n      containers: [{name: c, image: i}]\n";
    let files = Mem(BTreeMap::from([("j.yaml", job.to_string())]));
    let yaml = format!("{CLUSTER}workload:\n  manifests: [{{file: j.yaml}}]\n");
    let e = scenarios::build("s.yaml", &yaml, &files, &Overrides::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "s.yaml: workload.manifests[0].priority: j.yaml:1: Job j: priorityClassName \"high\" (PriorityClass objects are not read); give the job's priority here"
        )
    );
    let yaml = format!("{CLUSTER}workload:\n  manifests: [{{file: j.yaml, priority: 7}}]\n");
    let s = scenarios::build("s.yaml", &yaml, &files, &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.workload.jobs[0].priority, 7);
}

/// The queue-name label is a LocalQueue: with Kueue's queues from their YAML it becomes its
/// ClusterQueue (team-a-queue → team-a, team-b-queue → team-b in cohort-teams.yaml).
#[test]
fn queue_label_resolves_through_kueue_manifests() {
    let yaml = "cluster:\n  node_pools:\n    - {name: a, count: 4, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100}\n\
                workload:\n  manifests:\n    - {file: workloads/pytorchjob.yaml, at: 5s, run_time: 1h}\n    - {file: workloads/mpijob.yaml}\n\
                scheduler:\n  policy: kueue\n  kueue:\n    manifests: [kueue/cohort-teams.yaml]\n";
    let base = dir().join("..");
    let s = scenarios::build("s.yaml", yaml, &DirSource(base), &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let jobs: Vec<(&str, Option<&str>, u64, u64)> = s
        .workload
        .jobs
        .iter()
        .map(|j| {
            (
                j.id.as_str(),
                j.queue.as_deref(),
                j.submit.as_nanos() / 1_000_000_000,
                j.duration.as_nanos() / 1_000_000_000,
            )
        })
        .collect();
    // Sorted by arrival: the MPIJob (no time: 0 s, no run time) before the PyTorchJob (5 s).
    assert_eq!(jobs[0].0, "nccl-tests");
    assert_eq!(jobs[0].1, Some("team-b"));
    assert_eq!(jobs[0].2, 0);
    assert_eq!(s.workload.jobs[0].duration, models::NO_RUN_TIME);
    assert_eq!(
        jobs[1],
        ("pytorch-dist-mnist-nccl", Some("team-a"), 5, 3600)
    );
}

fn run(name: &str) -> models::sim::RunResult {
    let ov = Overrides {
        check_invariants: true,
        ..Overrides::default()
    };
    let s = scenarios::load(&dir().join(name), &ov).unwrap_or_else(|e| panic!("{e}"));
    models::sim::run(s.cluster, s.workload, &s.config, None).unwrap_or_else(|e| panic!("{e}"))
}

fn times(r: &models::sim::RunResult) -> Vec<(String, u64, Option<u64>, Option<u64>)> {
    let s = |t: sim_core::SimTime| t.as_nanos() / 1_000_000_000;
    r.jobs
        .iter()
        .map(|j| (j.id.clone(), s(j.submit), j.start.map(s), j.end.map(s)))
        .collect()
}

/// Without Kueue queues in the scenario the queue-name label is not read (a cluster without
/// Kueue ignores it): both jobs of two-gangs.yaml go to the default queue.
#[test]
fn without_kueue_queues_the_label_is_not_read() {
    let s = scenarios::load(&dir().join("two-gangs.yaml"), &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.workload.jobs.len(), 2);
    assert!(s.workload.jobs.iter().all(|j| j.queue.is_none()));
}

/// two-gangs.yaml: the MPIJob (launcher + 2 × 8 GPUs) holds all 16 GPUs 0–3600 s; the
/// Indexed Job (3 × 1 GPU) arrives at 10 s (annotation), waits, then runs its 30 min
/// (annotation) from 3600 s to 5400 s.
#[test]
fn two_gang_jobs_from_manifests_run_one_after_the_other() {
    let r = run("two-gangs.yaml");
    let mut t = times(&r);
    t.sort();
    assert_eq!(
        t,
        [
            ("indexed-job".into(), 10, Some(3600), Some(5400)),
            ("nccl-tests".into(), 0, Some(0), Some(3600)),
        ]
    );
    let pods: Vec<(String, u32)> = r.jobs.iter().map(|j| (j.id.clone(), j.pods)).collect();
    assert!(pods.contains(&("nccl-tests".into(), 3)), "{pods:?}");
    assert!(pods.contains(&("indexed-job".into(), 3)), "{pods:?}");
}

/// trace-template.yaml: both rows take the JobSet's 4 pods × 2 GPUs (8 GPUs: the whole
/// tainted node, tolerated by the template) whatever the row says; t1 runs 0–600 s, t2
/// arrives at 60 s and runs its 300 s from 600 s to 900 s.
#[test]
fn a_trace_with_a_template() {
    let r = run("trace-template.yaml");
    assert_eq!(
        times(&r),
        [
            ("t1".into(), 0, Some(0), Some(600)),
            ("t2".into(), 60, Some(600), Some(900)),
        ]
    );
    assert!(r.jobs.iter().all(|j| j.pods == 4 && j.gpu_milli == 8000));
}

/// Under Kueue with cohort-teams.yaml (team-a and team-b, 4 GPUs each, one cohort, team-a
/// may borrow 2, no preemption), the queue labels decide admission:
/// * rayjob-sample (team-a-queue → team-a, 2 GPUs) at 0 s: admitted, runs 0–600 s;
/// * pytorch (JobSet, team-b-queue → team-b, 8 GPUs) at 5 s: team-b's 4 plus what team-a
///   does not use (4 − 2 = 2) is 6 < 8: waits;
/// * indexed-job (team-a, 3 GPUs) at 10 s: team-a at 5 ≤ 4 + 2 borrowed, cohort 5 ≤ 8:
///   admitted, runs 10–1810 s (its 30 min annotation);
/// * at 600 s team-a still uses 3, so team-b could have 4 + 1 = 5 < 8; at 1810 s team-a
///   uses nothing: the JobSet is admitted and runs 1810–5410 s.
#[test]
fn kueue_admits_manifests_by_their_queue_labels() {
    let yaml = "cluster:\n  node_pools:\n    - {name: h100, count: 2, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100, labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}}\n\
                workload:\n  manifests:\n    - {file: workloads/rayjob.yaml, run_time: 10m}\n    - {file: workloads/jobset-pytorch.yaml, at: 5s, run_time: 1h}\n    - {file: workloads/indexed-job.yaml}\n\
                scheduler:\n  policy: kueue\n  kueue:\n    manifests: [kueue/cohort-teams.yaml]\n";
    let ov = Overrides {
        check_invariants: true,
        ..Overrides::default()
    };
    let s = scenarios::build("s.yaml", yaml, &DirSource(dir().join("..")), &ov)
        .unwrap_or_else(|e| panic!("{e}"));
    let r =
        models::sim::run(s.cluster, s.workload, &s.config, None).unwrap_or_else(|e| panic!("{e}"));
    let mut t = times(&r);
    t.sort();
    assert_eq!(
        t,
        [
            ("indexed-job".into(), 10, Some(10), Some(1810)),
            ("pytorch".into(), 5, Some(1810), Some(5410)),
            ("rayjob-sample".into(), 0, Some(0), Some(600)),
        ]
    );
}
