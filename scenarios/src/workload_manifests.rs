//! `workload.manifests` and a trace's `template`: jobs from the workload objects people
//! already apply (documented in `docs/scenario-format.md`, "Workloads from Kubernetes
//! manifests").
//!
//! Each object becomes **one Orrery job: a gang of all the pods its controller creates**,
//! in the pod set counts Kueue's integration for that kind admits:
//!
//! | kind | apiVersion | pods |
//! |---|---|---|
//! | `Job` | `batch/v1` (read with `k8s-openapi`) | `min(parallelism, completions)` (Kueue's `podsCount`) |
//! | `JobSet` | `jobset.x-k8s.io/v1alpha2` | Σ `replicatedJobs[].replicas` × its Job's pods |
//! | `PyTorchJob` | `kubeflow.org/v1` | `Master` + `Worker` replicas |
//! | `MPIJob` | `kubeflow.org/v2beta1` | `Launcher` (1) + `Worker` replicas |
//! | `RayCluster` | `ray.io/v1` | 1 head + Σ worker groups' replicas × `numOfHosts` |
//! | `RayJob` | `ray.io/v1` | its `rayClusterSpec`, as `RayCluster`, then its submitter pod in `K8sJobMode` |
//!
//! Per pod, from the pod template: the requests of its containers (a container's limit
//! when it gives no request, as the API server defaults it) summed, init containers by
//! Kubernetes' rule (the largest of an init container plus the sidecars started before it,
//! and of the containers plus all sidecars), plus `overhead`; `cpu`, `memory`,
//! `nvidia.com/gpu` / `amd.com/gpu` (whole GPUs); `nodeSelector`, required node affinity
//! (`matchExpressions`) and `tolerations` (the scheduler's Filter); `spec.priority`.
//! The job's queue is the object's `kueue.x-k8s.io/queue-name` label (a LocalQueue, mapped
//! to its ClusterQueue when `scheduler.kueue.manifests` defines it).
//!
//! The CRDs are serde types of the upstream Go types (files and commits named in the docs),
//! with unknown fields refused at their line; the embedded Kubernetes objects (metadata, pod
//! and Job templates) are `k8s-openapi` types, and a field they do not know is refused at
//! its line too (as `kubectl apply` with strict field validation does). What is not modelled
//! is refused with the field named rather than dropped: elastic PyTorchJobs, RayJobs on an
//! existing cluster (`clusterSelector`) or on a schedule, JobSet
//! `dependsOn` and `InOrder` startup, a gang smaller than the job (`minAvailable`), Ray
//! worker `replicas` outside [`minReplicas`, `maxReplicas`], pod
//! affinity, hard topology spread, DRA claims, pod-level `resources`, extended resources
//! other than GPUs, `nodeName`, `matchFields`, and a `priorityClassName` or Kueue
//! `priority-class` label unless the scenario gives the job's `priority`. A Ray object with
//! `enableInTreeAutoscaling` is the Ray autoscaler's (`crate::ray_autoscaling`): the job is
//! its head, its workers are the autoscaler's slots.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec as KubeJobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodTemplateSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use models::dra::quantity::Quantity;
use models::{GpuRequest, JobSpec, MAX_GPUS_PER_NODE, MAX_PODS_PER_JOB, MAX_QUANTITY, PodRequest};
use serde::Deserialize;
use serde::de::IgnoredAny;
use sim_core::{SimDuration, SimTime};

use crate::constraints::{ConstraintsDef, RequirementDef, TermDef, TolerationDef};
use crate::scenario::{FileSource, ScenarioError};

/// The label Kueue reads a job's LocalQueue from.
pub const QUEUE_LABEL: &str = "kueue.x-k8s.io/queue-name";
/// Kueue's WorkloadPriorityClass label (not read: refused unless the scenario gives the
/// priority).
pub const PRIORITY_CLASS_LABEL: &str = "kueue.x-k8s.io/priority-class";
/// Annotation giving an object's arrival time (since the start of the run), e.g. `30s`.
pub const ARRIVAL_ANNOTATION: &str = "orrery.dev/arrival";
/// Annotation giving an object's run time once all its pods run, e.g. `2h`.
pub const RUN_TIME_ANNOTATION: &str = "orrery.dev/run-time";

const GPUS: [&str; 2] = ["nvidia.com/gpu", "amd.com/gpu"];

/// One `workload.manifests` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestDef {
    /// A YAML file (relative to the scenario's folder) of one or more workload objects.
    pub file: String,
    /// Arrival time of every object of the file (since the start); wins over the
    /// `orrery.dev/arrival` annotation; default: the annotation, else 0.
    pub at: Option<SimDuration>,
    /// Run time once all pods run; wins over the `orrery.dev/run-time` annotation; neither:
    /// the job runs until the horizon (as an inline job without `duration`).
    pub run_time: Option<SimDuration>,
    /// Pod priority of every object of the file; wins over the templates' `priority`.
    pub priority: Option<i32>,
}

/// A workload object read from a manifest: what becomes one Orrery job.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadObject {
    /// `Job`, `JobSet`, `PyTorchJob`, `MPIJob`, `RayCluster` or `RayJob`.
    pub kind: String,
    /// `metadata.name` (empty when the object has only a `generateName`).
    pub name: String,
    /// `file:line` of the object.
    pub at: String,
    /// Every pod of the gang, role by role in the object's order.
    pub pods: Vec<PodRequest>,
    /// (role, pods) in order, e.g. `[("Master", 1), ("Worker", 3)]`.
    pub roles: Vec<(String, u32)>,
    /// The `kueue.x-k8s.io/queue-name` label.
    pub queue: Option<String>,
    /// `spec.priority` of the first pod template that sets it.
    pub priority: Option<i32>,
    /// Why the priority must come from the scenario (a `priorityClassName` or Kueue's
    /// `priority-class` label, neither of which is read).
    pub priority_needed: Option<String>,
    /// `orrery.dev/arrival`.
    pub arrival: Option<SimDuration>,
    /// `orrery.dev/run-time`.
    pub run_time: Option<SimDuration>,
    /// An autoscaled Ray cluster (`enableInTreeAutoscaling: true`): the pods above are the
    /// head's (and a RayJob's submitter's); the workers are the Ray autoscaler's.
    pub ray: Option<models::RayClusterConfig>,
}

// ---------------------------------------------------------------------------------------
// The CRDs, as their Go types (only the fields here are accepted).

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    api_version: Option<String>,
    kind: Option<String>,
}

/// Any of the CRDs: `apiVersion`, `kind`, `metadata` (a `k8s-openapi` ObjectMeta),
/// `spec`, and `status` (ignored: the run starts from the objects' creation).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Crd<S> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    metadata: ObjectMeta,
    spec: S,
    #[allow(dead_code)]
    #[serde(default)]
    status: Option<IgnoredAny>,
}

/// kubernetes-sigs/jobset `api/jobset/v1alpha2/jobset_types.go` `JobSetSpec`.
// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JobSetSpec {
    #[serde(default)]
    replicated_jobs: Vec<ReplicatedJob>,
    #[serde(default)]
    network: Option<IgnoredAny>,
    #[serde(default)]
    success_policy: Option<IgnoredAny>,
    #[serde(default)]
    failure_policy: Option<IgnoredAny>,
    #[serde(default)]
    startup_policy: Option<StartupPolicy>,
    #[serde(default)]
    suspend: Option<bool>,
    #[serde(default)]
    coordinator: Option<IgnoredAny>,
    #[serde(default)]
    managed_by: Option<String>,
    #[serde(default, rename = "ttlSecondsAfterFinished")]
    ttl_seconds_after_finished: Option<i32>,
    #[serde(default)]
    volume_claim_policies: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartupPolicy {
    startup_policy_order: String,
}

// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplicatedJob {
    name: String,
    #[serde(default)]
    group_name: Option<String>,
    template: JobTemplateSpec,
    /// `+kubebuilder:default=1`.
    #[serde(default)]
    replicas: Option<i32>,
    #[serde(default)]
    depends_on: Option<Vec<IgnoredAny>>,
}

/// kubeflow/training-operator `pkg/apis/kubeflow.org/v1` `PyTorchJobSpec`.
// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PyTorchJobSpec {
    #[serde(default)]
    run_policy: Option<RunPolicy>,
    #[serde(default)]
    elastic_policy: Option<IgnoredAny>,
    pytorch_replica_specs: BTreeMap<String, ReplicaSpec>,
    #[serde(default)]
    nproc_per_node: Option<String>,
}

/// `RunPolicy` of training-operator v1 and mpi-operator v2beta1 (the same fields).
// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RunPolicy {
    #[serde(default)]
    clean_pod_policy: Option<String>,
    #[serde(default, rename = "ttlSecondsAfterFinished")]
    ttl_seconds_after_finished: Option<i32>,
    #[serde(default)]
    active_deadline_seconds: Option<i64>,
    #[serde(default)]
    backoff_limit: Option<i32>,
    #[serde(default)]
    scheduling_policy: Option<SchedulingPolicy>,
    #[serde(default)]
    suspend: Option<bool>,
    #[serde(default)]
    managed_by: Option<String>,
}

// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SchedulingPolicy {
    #[serde(default)]
    min_available: Option<i32>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    min_resources: Option<IgnoredAny>,
    #[serde(default)]
    priority_class: Option<String>,
    #[serde(default)]
    schedule_timeout_seconds: Option<i32>,
}

/// `ReplicaSpec` (training-operator v1, mpi-operator v2beta1).
// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplicaSpec {
    /// Default 1.
    #[serde(default)]
    replicas: Option<i32>,
    #[serde(default)]
    template: PodTemplateSpec,
    #[serde(default)]
    restart_policy: Option<String>,
}

/// kubeflow/mpi-operator `pkg/apis/kubeflow/v2beta1/types.go` `MPIJobSpec`.
// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MpiJobSpec {
    #[serde(default)]
    slots_per_worker: Option<i32>,
    #[serde(default)]
    run_launcher_as_worker: Option<bool>,
    #[serde(default)]
    run_policy: Option<RunPolicy>,
    mpi_replica_specs: BTreeMap<String, ReplicaSpec>,
    #[serde(default)]
    ssh_auth_mount_path: Option<String>,
    #[serde(default)]
    launcher_creation_policy: Option<String>,
    #[serde(default)]
    mpi_implementation: Option<String>,
}

/// ray-project/kuberay `ray-operator/apis/ray/v1/raycluster_types.go` `RayClusterSpec`.
// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RayClusterSpec {
    #[serde(default)]
    suspend: Option<bool>,
    #[serde(default)]
    managed_by: Option<String>,
    #[serde(default)]
    autoscaler_options: Option<crate::ray_autoscaling::AutoscalerOptions>,
    #[serde(default)]
    head_service_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    enable_in_tree_autoscaling: Option<bool>,
    #[serde(default)]
    gcs_fault_tolerance_options: Option<IgnoredAny>,
    head_group_spec: HeadGroupSpec,
    #[serde(default)]
    ray_version: Option<String>,
    #[serde(default)]
    worker_group_specs: Vec<WorkerGroupSpec>,
}

// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HeadGroupSpec {
    template: PodTemplateSpec,
    #[serde(default)]
    head_service: Option<IgnoredAny>,
    #[serde(default)]
    enable_ingress: Option<bool>,
    #[serde(default)]
    ray_start_params: Option<BTreeMap<String, String>>,
    #[serde(default)]
    service_type: Option<String>,
}

// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WorkerGroupSpec {
    #[serde(default)]
    suspend: Option<bool>,
    group_name: String,
    /// `+kubebuilder:default:=0`.
    #[serde(default)]
    replicas: Option<i32>,
    #[serde(default)]
    min_replicas: Option<i32>,
    #[serde(default)]
    max_replicas: Option<i32>,
    #[serde(default)]
    idle_timeout_seconds: Option<i32>,
    #[serde(default)]
    ray_start_params: Option<BTreeMap<String, String>>,
    template: PodTemplateSpec,
    #[serde(default)]
    scale_strategy: Option<IgnoredAny>,
    /// `+kubebuilder:default:=1`.
    #[serde(default)]
    num_of_hosts: Option<i32>,
}

/// ray-project/kuberay `ray-operator/apis/ray/v1/rayjob_types.go` `RayJobSpec`.
// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RayJobSpec {
    #[serde(default)]
    active_deadline_seconds: Option<i32>,
    #[serde(default)]
    backoff_limit: Option<i32>,
    #[serde(default)]
    ray_cluster_spec: Option<RayClusterSpec>,
    #[serde(default)]
    submitter_pod_template: Option<PodTemplateSpec>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    cluster_selector: Option<BTreeMap<String, String>>,
    #[serde(default)]
    submitter_config: Option<IgnoredAny>,
    #[serde(default)]
    managed_by: Option<String>,
    #[serde(default)]
    deletion_strategy: Option<IgnoredAny>,
    #[serde(default)]
    entrypoint: Option<String>,
    #[serde(default, rename = "runtimeEnvYAML")]
    runtime_env_yaml: Option<String>,
    #[serde(default)]
    job_id: Option<String>,
    #[serde(default)]
    submission_mode: Option<String>,
    #[serde(default)]
    entrypoint_resources: Option<String>,
    #[serde(default)]
    entrypoint_num_cpus: Option<f64>,
    #[serde(default)]
    entrypoint_num_gpus: Option<f64>,
    #[serde(default, rename = "ttlSecondsAfterFinished")]
    ttl_seconds_after_finished: Option<i32>,
    #[serde(default)]
    shutdown_after_job_finishes: Option<bool>,
    #[serde(default)]
    suspend: Option<bool>,
    #[serde(default)]
    schedule: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Strict reading of the embedded Kubernetes objects, with the line of an unknown field.

/// One step of a path into a document.
#[derive(Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// `a.b[0].c`, as `models::dra::manifests::unknown_field` names a field.
fn dotted(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn sub<'a>(v: &'a serde_json::Value, segs: &[Seg]) -> Option<&'a serde_json::Value> {
    segs.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get(k.as_str()),
        Seg::Index(i) => v.get(i.to_owned()),
    })
}

/// A mapping key of any scalar type, as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeyText, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Walks a document and records the line of every mapping key by its dotted path.
struct KeyLines<'a> {
    path: String,
    out: &'a mut BTreeMap<String, u64>,
}

impl<'de> serde::de::DeserializeSeed<'de> for KeyLines<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyLines<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<serde_saphyr::Spanned<KeyText>>()? {
            let here = if self.path.is_empty() {
                k.value.0.clone()
            } else {
                format!("{}.{}", self.path, k.value.0)
            };
            self.out.entry(here.clone()).or_insert(k.referenced.line());
            map.next_value_seed(KeyLines {
                path: here,
                out: self.out,
            })?;
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(KeyLines {
                path: format!("{}[{i}]", self.path),
                out: self.out,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }
    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A document being read: its file, first line and raw value.
struct Doc<'a> {
    file: &'a str,
    first_line: u64,
    text: &'a str,
    raw: serde_json::Value,
    kind: String,
    name: String,
}

impl Doc<'_> {
    /// `file:line: Kind name: msg`, at the object's first line.
    fn err(&self, msg: impl std::fmt::Display) -> String {
        format!("{}:{}: {}: {msg}", self.file, self.first_line, self.label())
    }

    /// `Kind name` (`Kind` alone when the object has no name).
    fn label(&self) -> String {
        if self.name.is_empty() {
            self.kind.clone()
        } else {
            format!("{} {}", self.kind, self.name)
        }
    }

    /// The line (in the file) of the key at `path`, or the document's first line.
    fn line_of(&self, path: &str) -> u64 {
        let mut out = BTreeMap::new();
        let walked = serde_saphyr::with_deserializer_from_str(self.text, |de| {
            serde::de::DeserializeSeed::deserialize(
                KeyLines {
                    path: String::new(),
                    out: &mut out,
                },
                de,
            )
        });
        match (walked, out.get(path)) {
            (Ok(()), Some(l)) => self.first_line + l.saturating_sub(1),
            _ => self.first_line,
        }
    }

    /// Refuses a field of the raw document that the typed Kubernetes object at `segs`
    /// does not keep (a field the API does not know).
    fn strict<T: serde::Serialize>(&self, segs: &[Seg], typed: &T) -> Result<(), String> {
        let (Some(raw), Ok(typed)) = (sub(&self.raw, segs), serde_json::to_value(typed)) else {
            return Ok(());
        };
        match models::dra::manifests::unknown_field(raw, &typed, &dotted(segs)) {
            None => Ok(()),
            Some(field) => Err(format!(
                "{}:{}: {}: unknown field {field:?} (kubectl apply rejects unknown fields; check its spelling and indentation)",
                self.file,
                self.line_of(&field),
                self.label()
            )),
        }
    }
}

/// A YAML error at its line in the file.
fn yaml_error(file: &str, first_line: u64, kind: &str, e: &serde_saphyr::Error) -> String {
    let (line, column, message) = models::dra::manifests::yaml_error_at(first_line, e);
    let message = message.trim_start_matches("error: ");
    format!("{file}:{line}:{column}: {kind}: {message}")
}

// ---------------------------------------------------------------------------------------
// Pod templates.

/// Amounts of one container or pod, as exact quantities.
#[derive(Clone, Copy, Default)]
struct Amounts {
    cpu: Quantity,
    memory: Quantity,
    gpu: Quantity,
}

impl Amounts {
    fn add(self, o: Amounts, at: &str) -> Result<Amounts, String> {
        let f = |a: Quantity, b: Quantity| {
            a.checked_add(b)
                .ok_or_else(|| format!("{at}: resources too large"))
        };
        Ok(Amounts {
            cpu: f(self.cpu, o.cpu)?,
            memory: f(self.memory, o.memory)?,
            gpu: f(self.gpu, o.gpu)?,
        })
    }
    fn max(self, o: Amounts) -> Amounts {
        let m = |a: Quantity, b: Quantity| if b.nanos() > a.nanos() { b } else { a };
        Amounts {
            cpu: m(self.cpu, o.cpu),
            memory: m(self.memory, o.memory),
            gpu: m(self.gpu, o.gpu),
        }
    }
}

fn quantity(
    q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    at: &str,
) -> Result<Quantity, String> {
    let v = Quantity::parse(&q.0).map_err(|e| format!("{at}: {e}"))?;
    if v.signum() < 0 {
        return Err(format!("{at}: must not be negative, got {}", q.0));
    }
    Ok(v)
}

/// One resource list (requests with limits as defaults), into `Amounts`; `vendor` keeps
/// the GPU resource name seen.
fn amounts(
    r: Option<&ResourceRequirements>,
    at: &str,
    vendor: &mut Option<String>,
) -> Result<Amounts, String> {
    let mut a = Amounts::default();
    let Some(r) = r else { return Ok(a) };
    if r.claims.as_ref().is_some_and(|c| !c.is_empty()) {
        return Err(format!(
            "{at}.claims: DRA claims of workload manifests are not modelled (use `dra:` with inline jobs)"
        ));
    }
    let empty = BTreeMap::new();
    let requests = r.requests.as_ref().unwrap_or(&empty);
    let limits = r.limits.as_ref().unwrap_or(&empty);
    let mut names: Vec<&String> = requests.keys().chain(limits.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (field, q) = match requests.get(name) {
            Some(q) => ("requests", q),
            None => match limits.get(name) {
                Some(q) => ("limits", q),
                None => continue,
            },
        };
        let here = format!("{at}.{field}.{name}");
        let v = quantity(q, &here)?;
        match name.as_str() {
            "cpu" => a.cpu = v,
            "memory" => a.memory = v,
            g if GPUS.contains(&g) => {
                if let (Some(rq), Some(lq)) = (requests.get(name), limits.get(name))
                    && quantity(rq, &here)?.nanos() != quantity(lq, &here)?.nanos()
                {
                    return Err(format!(
                        "{at}: {name} request {} and limit {} differ (the API server requires them equal)",
                        rq.0, lq.0
                    ));
                }
                if !v.is_integer() {
                    return Err(format!("{here}: whole GPUs expected, got {}", q.0));
                }
                if let Some(other) = vendor.as_ref()
                    && other != name
                {
                    return Err(format!(
                        "{at}: both {other} and {name} in one pod (one GPU vendor per pod)"
                    ));
                }
                *vendor = Some(name.clone());
                a.gpu = v;
            }
            "ephemeral-storage" => {}
            h if h.starts_with("hugepages-") => {}
            other => {
                return Err(format!(
                    "{at}: resource {other:?} is not modelled (cpu, memory, nvidia.com/gpu and amd.com/gpu are; ephemeral-storage and hugepages are ignored)"
                ));
            }
        }
    }
    Ok(a)
}

/// What a pod template gives: its request and constraints, its priority and the reason
/// its priority must come from the scenario.
pub(crate) struct PodShape {
    pub(crate) pod: PodRequest,
    pub(crate) priority: Option<i32>,
    pub(crate) priority_class: Option<String>,
}

fn container_amounts(
    c: &Container,
    at: &str,
    vendor: &mut Option<String>,
) -> Result<Amounts, String> {
    amounts(c.resources.as_ref(), &format!("{at}.resources"), vendor)
}

/// The pod a template creates. `at` names the template (`spec.template`).
pub(crate) fn pod_shape(t: &PodTemplateSpec, at: &str) -> Result<PodShape, String> {
    let Some(spec) = &t.spec else {
        return Err(format!("{at}.spec: a pod template needs a spec"));
    };
    let at = format!("{at}.spec");
    if spec.containers.is_empty() {
        return Err(format!(
            "{at}.containers: a pod needs at least one container"
        ));
    }
    if spec.resources.is_some() {
        return Err(format!(
            "{at}.resources: pod-level resources are not modelled (give them per container)"
        ));
    }
    if spec.resource_claims.as_ref().is_some_and(|c| !c.is_empty()) {
        return Err(format!(
            "{at}.resourceClaims: DRA claims of workload manifests are not modelled (use `dra:` with inline jobs)"
        ));
    }
    if let Some(n) = &spec.node_name {
        return Err(format!(
            "{at}.nodeName: {n:?} binds the pod without the scheduler, which is not modelled"
        ));
    }
    let mut vendor = None;
    let mut sum = Amounts::default();
    for (i, c) in spec.containers.iter().enumerate() {
        let a = container_amounts(c, &format!("{at}.containers[{i}]"), &mut vendor)?;
        sum = sum.add(a, &at)?;
    }
    // Init containers: a sidecar (restartPolicy Always) keeps running and adds to the
    // pod; a plain one runs alone with the sidecars started before it.
    let mut sidecars = Amounts::default();
    let mut init_peak = Amounts::default();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let a = container_amounts(c, &format!("{at}.initContainers[{i}]"), &mut vendor)?;
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars = sidecars.add(a, &at)?;
        } else {
            init_peak = init_peak.max(a.add(sidecars, &at)?);
        }
    }
    let mut total = sum.add(sidecars, &at)?.max(init_peak);
    if let Some(o) = &spec.overhead {
        let mut extra = Amounts::default();
        for (name, q) in o {
            let v = quantity(q, &format!("{at}.overhead.{name}"))?;
            match name.as_str() {
                "cpu" => extra.cpu = v,
                "memory" => extra.memory = v,
                _ => {}
            }
        }
        total = total.add(extra, &at)?;
    }
    // Kubernetes rounds a request up to its unit (1m CPU, 1 byte); here to 1 MiB.
    let cpu_milli = u64::try_from(ceil_div(total.cpu.nanos(), 1_000_000)).unwrap_or(u64::MAX);
    let memory_mib = u64::try_from(ceil_div(total.memory.nanos(), 1_000_000_000 * (1 << 20)))
        .unwrap_or(u64::MAX);
    for (what, v) in [("cpu", cpu_milli), ("memory", memory_mib)] {
        if v > MAX_QUANTITY {
            return Err(format!(
                "{at}: {what} request too large (at most {MAX_QUANTITY} millicores or MiB)"
            ));
        }
    }
    let gpus = total
        .gpu
        .as_integer()
        .and_then(|g| u32::try_from(g).ok())
        .filter(|g| *g <= MAX_GPUS_PER_NODE)
        .ok_or_else(|| format!("{at}: at most {MAX_GPUS_PER_NODE} GPUs per pod"))?;
    let gpu = GpuRequest::from_count_and_milli(gpus, 1000).unwrap_or(GpuRequest::None);
    // Constraints, checked as the scenario's own constraint fields are.
    let mut c = ConstraintsDef {
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        ..ConstraintsDef::default()
    };
    if let Some(aff) = &spec.affinity {
        if aff
            .pod_affinity
            .as_ref()
            .and_then(|p| {
                p.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .is_some_and(|v| !v.is_empty())
            || aff
                .pod_anti_affinity
                .as_ref()
                .and_then(|p| {
                    p.required_during_scheduling_ignored_during_execution
                        .as_ref()
                })
                .is_some_and(|v| !v.is_empty())
        {
            return Err(format!(
                "{at}.affinity: required pod affinity and anti-affinity are not modelled (only node affinity; preferred terms are ignored)"
            ));
        }
        if let Some(req) = aff.node_affinity.as_ref().and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        }) {
            for (t, term) in req.node_selector_terms.iter().enumerate() {
                if term.match_fields.as_ref().is_some_and(|m| !m.is_empty()) {
                    return Err(format!(
                        "{at}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{t}].matchFields: not modelled (use matchExpressions on labels)"
                    ));
                }
                c.node_affinity.push(TermDef {
                    match_expressions: term
                        .match_expressions
                        .iter()
                        .flatten()
                        .map(|r| RequirementDef {
                            key: r.key.clone(),
                            operator: r.operator.clone(),
                            values: r.values.clone().unwrap_or_default(),
                        })
                        .collect(),
                });
            }
        }
    }
    for (i, s) in spec
        .topology_spread_constraints
        .iter()
        .flatten()
        .enumerate()
    {
        if s.when_unsatisfiable == "DoNotSchedule" {
            return Err(format!(
                "{at}.topologySpreadConstraints[{i}]: whenUnsatisfiable DoNotSchedule is not modelled (ScheduleAnyway ones are ignored)"
            ));
        }
    }
    c.tolerations = spec
        .tolerations
        .iter()
        .flatten()
        .map(|t| TolerationDef {
            key: t.key.clone().unwrap_or_default(),
            operator: t.operator.clone().unwrap_or_default(),
            value: t.value.clone().unwrap_or_default(),
            effect: t.effect.clone().unwrap_or_default(),
        })
        .collect();
    let constraints = c.build("", &at).map_err(|e| match e {
        ScenarioError::Invalid { field, msg, .. } => format!("{field}: {msg}"),
        other => other.to_string(),
    })?;
    Ok(PodShape {
        pod: PodRequest {
            cpu_milli,
            memory_mib,
            gpu,
            gpu_models: Vec::new(),
            constraints,
        },
        priority: spec.priority,
        priority_class: spec.priority_class_name.clone(),
    })
}

fn ceil_div(a: i128, b: i128) -> i128 {
    if a <= 0 { 0 } else { (a + b - 1) / b }
}

// ---------------------------------------------------------------------------------------
// Objects.

/// A count from a manifest: non-negative and within the pods-per-job limit.
fn count(v: i32, at: &str) -> Result<u32, String> {
    u32::try_from(v)
        .ok()
        .filter(|n| *n <= MAX_PODS_PER_JOB)
        .ok_or_else(|| format!("{at}: must be from 0 to {MAX_PODS_PER_JOB}, got {v}"))
}

/// Gathers the roles of one object.
struct Builder {
    pods: Vec<PodRequest>,
    roles: Vec<(String, u32)>,
    priority: Option<i32>,
    priority_class: Option<String>,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            pods: Vec::new(),
            roles: Vec::new(),
            priority: None,
            priority_class: None,
        }
    }

    fn role(&mut self, name: String, n: u32, t: &PodTemplateSpec, at: &str) -> Result<(), String> {
        let shape = pod_shape(t, at)?;
        if self.pods.len() as u64 + u64::from(n) > u64::from(MAX_PODS_PER_JOB) {
            return Err(format!(
                "{at}: more than {MAX_PODS_PER_JOB} pods in one job"
            ));
        }
        self.priority = self.priority.or(shape.priority);
        if self.priority_class.is_none() {
            self.priority_class = shape.priority_class;
        }
        self.pods.extend(std::iter::repeat_n(shape.pod, n as usize));
        self.roles.push((name, n));
        Ok(())
    }
}

/// Pods of a batch/v1 JobSpec, as Kueue counts them (`min(parallelism, completions)`).
fn job_pods(spec: &KubeJobSpec, at: &str) -> Result<u32, String> {
    match spec.completion_mode.as_deref() {
        None | Some("NonIndexed") | Some("Indexed") => {}
        Some(m) => {
            return Err(format!(
                "{at}.completionMode: {m:?}, expected NonIndexed or Indexed"
            ));
        }
    }
    let parallelism = count(spec.parallelism.unwrap_or(1), &format!("{at}.parallelism"))?;
    let n = match spec.completions {
        Some(c) => parallelism.min(count(c, &format!("{at}.completions"))?),
        None => parallelism,
    };
    Ok(n)
}

fn not_modelled(what: &str) -> String {
    format!("{what} is not modelled")
}

fn run_policy(rp: Option<&RunPolicy>, total: u32) -> Result<(), String> {
    if let Some(m) = rp
        .and_then(|r| r.scheduling_policy.as_ref())
        .and_then(|s| s.min_available)
        && i64::from(m) < i64::from(total)
    {
        return Err(format!(
            "spec.runPolicy.schedulingPolicy.minAvailable: {m} of {total} pods: a gang smaller than the job is not modelled (every pod of the job forms the gang)"
        ));
    }
    Ok(())
}

/// Pods of a RayCluster spec at `at` (e.g. `spec` or `spec.rayClusterSpec`). With
/// `enableInTreeAutoscaling`, only the head's, and the autoscaled cluster (named by the
/// caller) in `auto`.
fn ray_cluster(
    b: &mut Builder,
    s: &RayClusterSpec,
    at: &str,
    auto: &mut Option<models::RayClusterConfig>,
) -> Result<(), String> {
    let autoscaled = s.enable_in_tree_autoscaling == Some(true);
    if autoscaled {
        let (upscaling_speed, idle_timeout) = s
            .autoscaler_options
            .clone()
            .unwrap_or_default()
            .speed_and_timeout(&format!("{at}.autoscalerOptions"))?;
        *auto = Some(models::RayClusterConfig {
            name: String::new(),
            kind: models::RayKind::RayCluster,
            head_job: String::new(),
            head: crate::ray_autoscaling::ray_resources(
                &s.head_group_spec.template,
                s.head_group_spec.ray_start_params.as_ref(),
                &format!("{at}.headGroupSpec.template"),
            )?,
            groups: Vec::new(),
            upscaling_speed,
            idle_timeout,
            tasks: Vec::new(),
        });
    }
    b.role(
        "head".into(),
        1,
        &s.head_group_spec.template,
        &format!("{at}.headGroupSpec.template"),
    )?;
    for (i, g) in s.worker_group_specs.iter().enumerate() {
        let here = format!("{at}.workerGroupSpecs[{i}]");
        let min = count(g.min_replicas.unwrap_or(0), &format!("{here}.minReplicas"))?;
        let max = match g.max_replicas {
            // KubeRay's default is 2147483647: above the pods-per-job limit means no limit.
            Some(m) if m < 0 => {
                return Err(format!("{here}.maxReplicas: must not be negative, got {m}"));
            }
            Some(m) => u32::try_from(m).map_or(MAX_PODS_PER_JOB, |m| m.min(MAX_PODS_PER_JOB)),
            None => MAX_PODS_PER_JOB,
        };
        if min > max {
            return Err(format!(
                "{here}: minReplicas {min} is above maxReplicas {max}"
            ));
        }
        // The CRD defaults replicas to 0. KubeRay creates replicas clamped to [min, max]
        // while Kueue counts replicas as written: outside the range they disagree.
        let replicas = count(g.replicas.unwrap_or(0), &format!("{here}.replicas"))?;
        if replicas < min || replicas > max {
            return Err(format!(
                "{here}.replicas: {replicas} lies outside [minReplicas {min}, maxReplicas {max}] (KubeRay would create the clamped count, Kueue counts {replicas}); give replicas within the range"
            ));
        }
        let hosts = count(
            g.num_of_hosts.unwrap_or(1).max(1),
            &format!("{here}.numOfHosts"),
        )?;
        let n = replicas
            .checked_mul(hosts)
            .filter(|n| *n <= MAX_PODS_PER_JOB)
            .ok_or_else(|| format!("{here}: more than {MAX_PODS_PER_JOB} pods"))?;
        if g.suspend == Some(true) {
            continue;
        }
        if let Some(rc) = auto.as_mut() {
            if g.max_replicas.is_none() {
                return Err(format!(
                    "{here}.maxReplicas: needed under the Ray autoscaler (KubeRay's default, 2147483647, is no bound)"
                ));
            }
            if hosts != 1 {
                return Err(format!(
                    "{here}.numOfHosts: {hosts}: multi-host worker groups under the Ray autoscaler are not modelled"
                ));
            }
            let pod = pod_shape(&g.template, &format!("{here}.template"))?.pod;
            rc.groups.push(models::RayWorkerGroup {
                name: g.group_name.clone(),
                min,
                max,
                replicas,
                pod,
                resources: crate::ray_autoscaling::ray_resources(
                    &g.template,
                    g.ray_start_params.as_ref(),
                    &format!("{here}.template"),
                )?,
            });
            continue;
        }
        b.role(
            g.group_name.clone(),
            n,
            &g.template,
            &format!("{here}.template"),
        )?;
    }
    Ok(())
}

fn metadata_parts(m: &ObjectMeta) -> (String, Option<String>, BTreeMap<String, String>) {
    (
        m.name.clone().unwrap_or_default(),
        m.labels.as_ref().and_then(|l| l.get(QUEUE_LABEL)).cloned(),
        m.annotations.clone().unwrap_or_default(),
    )
}

fn parse_crd<S: serde::de::DeserializeOwned>(
    file: &str,
    line: u64,
    kind: &str,
    text: &str,
) -> Result<Crd<S>, String> {
    serde_saphyr::from_str::<Crd<S>>(text).map_err(|e| yaml_error(file, line, kind, &e))
}

/// Reads one document into a workload object (`None` for an empty document).
fn parse_doc(file: &str, first_line: u64, text: &str) -> Result<WorkloadObject, String> {
    let head: Head =
        serde_saphyr::from_str(text).map_err(|e| yaml_error(file, first_line, "", &e))?;
    let kind = head.kind.unwrap_or_default();
    let api = head.api_version.unwrap_or_default();
    let expected = match kind.as_str() {
        "Job" => "batch/v1",
        "JobSet" => "jobset.x-k8s.io/v1alpha2",
        "PyTorchJob" => "kubeflow.org/v1",
        "MPIJob" => "kubeflow.org/v2beta1",
        "RayCluster" | "RayJob" => "ray.io/v1",
        _ => {
            return Err(format!(
                "{file}:{first_line}: kind {kind:?} ({api}) is not a workload read here (expected Job, JobSet, PyTorchJob, MPIJob, RayJob or RayCluster)"
            ));
        }
    };
    if api != expected {
        return Err(format!(
            "{file}:{first_line}: {kind}: apiVersion {api:?}, expected {expected}"
        ));
    }
    let raw: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| yaml_error(file, first_line, &kind, &e))?;
    let mut doc = Doc {
        file,
        first_line,
        text,
        raw,
        kind: kind.clone(),
        name: String::new(),
    };
    let mut b = Builder::new();
    let mut ray: Option<models::RayClusterConfig> = None;
    let meta: ObjectMeta;
    let in_doc = |doc: &Doc, e: String| doc.err(e);
    match kind.as_str() {
        "Job" => {
            let job: Job = serde_saphyr::from_str(text)
                .map_err(|e| yaml_error(file, first_line, &kind, &e))?;
            doc.name = job.metadata.name.clone().unwrap_or_default();
            doc.strict(&[], &job)?;
            let Some(spec) = &job.spec else {
                return Err(doc.err("needs a spec"));
            };
            let n = job_pods(spec, "spec").map_err(|e| in_doc(&doc, e))?;
            b.role("pods".into(), n, &spec.template, "spec.template")
                .map_err(|e| in_doc(&doc, e))?;
            meta = job.metadata;
        }
        "JobSet" => {
            let o: Crd<JobSetSpec> = parse_crd(file, first_line, &kind, text)?;
            doc.name = o.metadata.name.clone().unwrap_or_default();
            doc.strict(&[key("metadata")], &o.metadata)?;
            if let Some(p) = &o.spec.startup_policy
                && p.startup_policy_order != "AnyOrder"
            {
                return Err(doc.err(format!(
                    "spec.startupPolicy.startupPolicyOrder {:?}: starting replicated jobs in order is not modelled (AnyOrder is)",
                    p.startup_policy_order
                )));
            }
            for (i, rj) in o.spec.replicated_jobs.iter().enumerate() {
                let at = format!("spec.replicatedJobs[{i}]");
                let segs = [
                    key("spec"),
                    key("replicatedJobs"),
                    Seg::Index(i),
                    key("template"),
                ];
                doc.strict(&segs, &rj.template)?;
                if rj.depends_on.as_ref().is_some_and(|d| !d.is_empty()) {
                    return Err(doc.err(format!(
                        "{at}.dependsOn: {}",
                        not_modelled("starting a replicated job after another")
                    )));
                }
                let Some(spec) = &rj.template.spec else {
                    return Err(doc.err(format!("{at}.template.spec: needs a Job spec")));
                };
                let replicas = count(rj.replicas.unwrap_or(1), &format!("{at}.replicas"))
                    .map_err(|e| in_doc(&doc, e))?;
                let per_job =
                    job_pods(spec, &format!("{at}.template.spec")).map_err(|e| in_doc(&doc, e))?;
                let n = replicas
                    .checked_mul(per_job)
                    .filter(|n| *n <= MAX_PODS_PER_JOB)
                    .ok_or_else(|| doc.err(format!("{at}: more than {MAX_PODS_PER_JOB} pods")))?;
                b.role(
                    rj.name.clone(),
                    n,
                    &spec.template,
                    &format!("{at}.template.spec.template"),
                )
                .map_err(|e| in_doc(&doc, e))?;
            }
            meta = o.metadata;
        }
        "PyTorchJob" => {
            let o: Crd<PyTorchJobSpec> = parse_crd(file, first_line, &kind, text)?;
            doc.name = o.metadata.name.clone().unwrap_or_default();
            doc.strict(&[key("metadata")], &o.metadata)?;
            if o.spec.elastic_policy.is_some() {
                return Err(doc.err(format!(
                    "spec.elasticPolicy: {}",
                    not_modelled("an elastic PyTorchJob (its size changing while it runs)")
                )));
            }
            for (role, r) in &o.spec.pytorch_replica_specs {
                let segs = [
                    key("spec"),
                    key("pytorchReplicaSpecs"),
                    key(role),
                    key("template"),
                ];
                doc.strict(&segs, &r.template)?;
            }
            // Master first, as the operator and Kueue order the pod sets.
            for role in o.spec.pytorch_replica_specs.keys() {
                if role != "Master" && role != "Worker" {
                    return Err(doc.err(format!(
                        "spec.pytorchReplicaSpecs.{role}: expected Master or Worker"
                    )));
                }
            }
            for role in ["Master", "Worker"] {
                if let Some(r) = o.spec.pytorch_replica_specs.get(role) {
                    let at = format!("spec.pytorchReplicaSpecs.{role}");
                    let n = count(r.replicas.unwrap_or(1), &format!("{at}.replicas"))
                        .map_err(|e| in_doc(&doc, e))?;
                    b.role(role.into(), n, &r.template, &format!("{at}.template"))
                        .map_err(|e| in_doc(&doc, e))?;
                }
            }
            run_policy(o.spec.run_policy.as_ref(), b.pods.len() as u32)
                .map_err(|e| in_doc(&doc, e))?;
            meta = o.metadata;
        }
        "MPIJob" => {
            let o: Crd<MpiJobSpec> = parse_crd(file, first_line, &kind, text)?;
            doc.name = o.metadata.name.clone().unwrap_or_default();
            doc.strict(&[key("metadata")], &o.metadata)?;
            for (role, r) in &o.spec.mpi_replica_specs {
                let segs = [
                    key("spec"),
                    key("mpiReplicaSpecs"),
                    key(role),
                    key("template"),
                ];
                doc.strict(&segs, &r.template)?;
                if role != "Launcher" && role != "Worker" {
                    return Err(doc.err(format!(
                        "spec.mpiReplicaSpecs.{role}: expected Launcher or Worker"
                    )));
                }
            }
            for role in ["Launcher", "Worker"] {
                if let Some(r) = o.spec.mpi_replica_specs.get(role) {
                    let at = format!("spec.mpiReplicaSpecs.{role}");
                    let n = count(r.replicas.unwrap_or(1), &format!("{at}.replicas"))
                        .map_err(|e| in_doc(&doc, e))?;
                    if role == "Launcher" && n != 1 {
                        return Err(doc.err(format!(
                            "{at}.replicas: an MPIJob has exactly one launcher, got {n}"
                        )));
                    }
                    b.role(role.into(), n, &r.template, &format!("{at}.template"))
                        .map_err(|e| in_doc(&doc, e))?;
                }
            }
            if !o.spec.mpi_replica_specs.contains_key("Launcher") {
                return Err(doc.err("spec.mpiReplicaSpecs: needs a Launcher"));
            }
            run_policy(o.spec.run_policy.as_ref(), b.pods.len() as u32)
                .map_err(|e| in_doc(&doc, e))?;
            meta = o.metadata;
        }
        "RayCluster" => {
            let o: Crd<RayClusterSpec> = parse_crd(file, first_line, &kind, text)?;
            doc.name = o.metadata.name.clone().unwrap_or_default();
            doc.strict(&[key("metadata")], &o.metadata)?;
            ray_strict(&doc, &o.spec, &[key("spec")])?;
            ray_cluster(&mut b, &o.spec, "spec", &mut ray).map_err(|e| in_doc(&doc, e))?;
            meta = o.metadata;
        }
        "RayJob" => {
            let o: Crd<RayJobSpec> = parse_crd(file, first_line, &kind, text)?;
            doc.name = o.metadata.name.clone().unwrap_or_default();
            doc.strict(&[key("metadata")], &o.metadata)?;
            if let Some(t) = &o.spec.submitter_pod_template {
                doc.strict(&[key("spec"), key("submitterPodTemplate")], t)?;
            }
            if o.spec
                .cluster_selector
                .as_ref()
                .is_some_and(|c| !c.is_empty())
            {
                return Err(doc.err(format!(
                    "spec.clusterSelector: {}",
                    not_modelled("a RayJob on an existing RayCluster")
                )));
            }
            if o.spec.schedule.as_ref().is_some_and(|s| !s.is_empty()) {
                return Err(doc.err(format!(
                    "spec.schedule: {}",
                    not_modelled("a RayJob run on a cron schedule")
                )));
            }
            let Some(rc) = &o.spec.ray_cluster_spec else {
                return Err(doc.err("spec.rayClusterSpec: needed (the cluster the job runs on)"));
            };
            ray_strict(&doc, rc, &[key("spec"), key("rayClusterSpec")])?;
            ray_cluster(&mut b, rc, "spec.rayClusterSpec", &mut ray)
                .map_err(|e| in_doc(&doc, e))?;
            if let Some(r) = ray.as_mut() {
                r.kind = models::RayKind::RayJob;
            }
            // K8sJobMode (the default): KubeRay's submitter Job of one pod, which Kueue
            // counts as a pod set; its template, else KubeRay's default submitter
            // container (requests 500m CPU, 200Mi).
            match o.spec.submission_mode.as_deref().unwrap_or("K8sJobMode") {
                "K8sJobMode" => {
                    let default = submitter_template();
                    let (t, at) = match &o.spec.submitter_pod_template {
                        Some(t) => (t, "spec.submitterPodTemplate"),
                        None => (&default, "KubeRay's default submitter"),
                    };
                    b.role("submitter".into(), 1, t, at)
                        .map_err(|e| in_doc(&doc, e))?;
                }
                "HTTPMode" | "InteractiveMode" => {}
                m => {
                    return Err(doc.err(format!(
                        "spec.submissionMode: {m:?}, expected K8sJobMode, HTTPMode or InteractiveMode"
                    )));
                }
            }
            meta = o.metadata;
        }
        other => return Err(doc.err(format!("kind {other:?} is not read here"))),
    }
    if b.pods.is_empty() {
        return Err(doc.err("creates no pods (every replica count is 0)"));
    }
    let (name, queue, annotations) = metadata_parts(&meta);
    if let Some(r) = ray.as_mut() {
        r.name = name.clone();
        r.head_job = name.clone();
        r.tasks = crate::ray_autoscaling::tasks(&annotations).map_err(|e| doc.err(e))?;
        if r.kind == models::RayKind::RayJob && annotations.contains_key(RUN_TIME_ANNOTATION) {
            return Err(doc.err(format!(
                "metadata.annotations.{RUN_TIME_ANNOTATION}: an autoscaled RayJob ends when its tasks ({}) do",
                crate::ray_autoscaling::TASKS_ANNOTATION
            )));
        }
    } else if annotations.contains_key(crate::ray_autoscaling::TASKS_ANNOTATION) {
        return Err(doc.err(format!(
            "metadata.annotations.{}: tasks are run by the Ray autoscaler's clusters only (set enableInTreeAutoscaling: true)",
            crate::ray_autoscaling::TASKS_ANNOTATION
        )));
    }
    let labels = meta.labels.clone().unwrap_or_default();
    let duration = |k: &str| -> Result<Option<SimDuration>, String> {
        annotations
            .get(k)
            .map(|v| {
                v.parse::<SimDuration>().map_err(|e| {
                    doc.err(format!(
                        "metadata.annotations.{k}: {v:?}: {e} (a duration such as 30s or 2h)"
                    ))
                })
            })
            .transpose()
    };
    let priority_needed = if let Some(c) = labels.get(PRIORITY_CLASS_LABEL) {
        Some(format!(
            "metadata.labels.{PRIORITY_CLASS_LABEL}: {c:?} (WorkloadPriorityClass objects are not read)"
        ))
    } else {
        b.priority_class
            .as_ref()
            .filter(|_| b.priority.is_none())
            .map(|c| format!("priorityClassName {c:?} (PriorityClass objects are not read)"))
    };
    Ok(WorkloadObject {
        kind,
        name,
        at: format!("{file}:{first_line}"),
        arrival: duration(ARRIVAL_ANNOTATION)?,
        run_time: duration(RUN_TIME_ANNOTATION)?,
        pods: b.pods,
        roles: b.roles,
        queue,
        priority: b.priority,
        priority_needed,
        ray,
    })
}

/// KubeRay's default submitter pod (`GetDefaultSubmitterContainer`): requests 500m CPU and
/// 200Mi, limits 1 CPU and 1Gi.
fn submitter_template() -> PodTemplateSpec {
    use k8s_openapi::api::core::v1::PodSpec;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;
    let list = |cpu: &str, mem: &str| {
        BTreeMap::from([
            ("cpu".to_string(), Q(cpu.to_string())),
            ("memory".to_string(), Q(mem.to_string())),
        ])
    };
    PodTemplateSpec {
        metadata: None,
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "ray-job-submitter".into(),
                resources: Some(ResourceRequirements {
                    limits: Some(list("1", "1Gi")),
                    requests: Some(list("500m", "200Mi")),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            restart_policy: Some("Never".into()),
            ..PodSpec::default()
        }),
    }
}

fn ray_strict(doc: &Doc, s: &RayClusterSpec, at: &[Seg]) -> Result<(), String> {
    let mut segs = at.to_vec();
    segs.extend([key("headGroupSpec"), key("template")]);
    doc.strict(&segs, &s.head_group_spec.template)?;
    for (i, g) in s.worker_group_specs.iter().enumerate() {
        let mut segs = at.to_vec();
        segs.extend([key("workerGroupSpecs"), Seg::Index(i), key("template")]);
        doc.strict(&segs, &g.template)?;
    }
    Ok(())
}

/// Reads every workload object of a YAML text (documents separated by `---`); `file`
/// names it in messages.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<WorkloadObject>, String> {
    let mut out = Vec::new();
    for (line, doc, item) in crate::kube_list::unwrap_lists(text) {
        out.push(
            parse_doc(file, line, &doc).map_err(|e| crate::kube_list::in_item(e, file, item))?,
        );
    }
    if out.is_empty() {
        return Err(format!(
            "{file}: no workload object (expected Job, JobSet, PyTorchJob, MPIJob, RayJob or RayCluster)"
        ));
    }
    Ok(out)
}

fn invalid(path: &str, field: &str, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

fn read(
    path: &str,
    field: &str,
    name: &str,
    files: &dyn FileSource,
) -> Result<Vec<WorkloadObject>, ScenarioError> {
    let (display, text) = files.read(name).map_err(|e| match e {
        ScenarioError::Read { path: file, source } => {
            invalid(path, field, format!("cannot read {file}: {source}"))
        }
        other => other,
    })?;
    parse_file(&display, &text).map_err(|e| invalid(path, field, e))
}

/// The jobs of `workload.manifests`. `queue_labels`: whether the scenario defines Kueue
/// queues, so that the `kueue.x-k8s.io/queue-name` label is read (a cluster without them
/// ignores it: the jobs go to the one default queue).
pub fn build(
    path: &str,
    defs: &[ManifestDef],
    files: &dyn FileSource,
    inputs: &mut Vec<String>,
    queue_labels: bool,
    ray: &mut Vec<models::RayClusterConfig>,
) -> Result<Vec<JobSpec>, ScenarioError> {
    let mut jobs: Vec<JobSpec> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (i, d) in defs.iter().enumerate() {
        let field = format!("workload.manifests[{i}]");
        for o in read(path, &format!("{field}.file"), &d.file, files)? {
            if o.name.is_empty() {
                return Err(invalid(
                    path,
                    &field,
                    format!("{}: {} has no metadata.name (the job's id)", o.at, o.kind),
                ));
            }
            if let Some(first) = seen.insert(o.name.clone(), o.at.clone()) {
                return Err(invalid(
                    path,
                    &field,
                    format!(
                        "{}: {} {}: the name is already used at {first} (names are job ids)",
                        o.at, o.kind, o.name
                    ),
                ));
            }
            let priority = match (d.priority, &o.priority_needed) {
                (Some(p), _) => p,
                (None, Some(why)) => {
                    return Err(invalid(
                        path,
                        &format!("{field}.priority"),
                        format!(
                            "{}: {} {}: {why}; give the job's priority here",
                            o.at, o.kind, o.name
                        ),
                    ));
                }
                (None, None) => o.priority.unwrap_or(0),
            };
            let at = d.at.or(o.arrival).unwrap_or(SimDuration(0));
            if let Some(r) = o.ray {
                if r.kind == models::RayKind::RayJob && d.run_time.is_some() {
                    return Err(invalid(
                        path,
                        &format!("{field}.run_time"),
                        format!(
                            "{}: RayJob {}: an autoscaled RayJob ends when its tasks do",
                            o.at, o.name
                        ),
                    ));
                }
                ray.push(r);
            }
            jobs.push(JobSpec {
                id: o.name,
                submit: SimTime::ZERO + at,
                duration: d.run_time.or(o.run_time).unwrap_or(models::NO_RUN_TIME),
                pods: o.pods,
                priority,
                queue: o.queue.filter(|_| queue_labels),
            });
        }
        inputs.push(d.file.clone());
    }
    Ok(jobs)
}

/// Applies a trace's `template` (one workload object) to every job of the trace: the
/// pods (count, requests, constraints), the queue and the priority come from the
/// template (the queue only with `queue_labels`, as in [`build`]); id, arrival and run
/// time stay the row's.
pub fn apply_template(
    path: &str,
    field: &str,
    name: &str,
    files: &dyn FileSource,
    jobs: &mut [JobSpec],
    queue_labels: bool,
) -> Result<(), ScenarioError> {
    let objects = read(path, field, name, files)?;
    let [o] = objects.as_slice() else {
        return Err(invalid(
            path,
            field,
            format!(
                "{name}: a template holds exactly one workload object, found {}",
                objects.len()
            ),
        ));
    };
    if let Some(why) = &o.priority_needed {
        return Err(invalid(
            path,
            field,
            format!(
                "{}: {} {}: {why}; a template's priority must be spec.priority of its pods",
                o.at, o.kind, o.name
            ),
        ));
    }
    for j in jobs.iter_mut() {
        j.pods.clone_from(&o.pods);
        j.queue = o.queue.clone().filter(|_| queue_labels);
        j.priority = o.priority.unwrap_or(0);
    }
    Ok(())
}
