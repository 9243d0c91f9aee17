//! The YAML scenario format (documented in `docs/scenario-format.md`) and its loader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use models::{
    ClusterSpec, GpuRequest, JobSpec, MAX_GPUS_PER_NODE, MAX_NODES, MAX_PODS_PER_JOB, MAX_QUANTITY,
    NodeSpec, PodOrder, PodRequest, RunConfig, SchedulerConfig, Workload,
};
use serde::Deserialize;
use sim_core::{ChooserMode, SimDuration, SimTime};

use crate::trace::{self, ImportOptions, TraceFormat};

/// A scenario file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Master seed (default 42).
    pub seed: Option<u64>,
    /// Stop simulating at this time (default: when nothing is left to happen).
    pub horizon: Option<SimDuration>,
    pub cluster: ClusterDef,
    pub workload: WorkloadDef,
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// Network and storage model for step-based jobs (see docs/hardware-model.md);
    /// absent: jobs run for their trace duration.
    pub network: Option<models::NetModel>,
    /// Deadlock, livelock and starvation detection (see docs/verify.md).
    #[serde(default)]
    pub detect: models::DetectConfig,
    /// Dynamic Resource Allocation (see docs/dra.md); absent: plain GPU counts.
    pub dra: Option<crate::dra::DraDef>,
    /// Node events, seeded failures and checkpoints (docs/scenario-format.md, "Nodes and
    /// faults"); absent: no faults.
    pub faults: Option<crate::faults::FaultsDef>,
    /// Cluster-autoscaler settings (see docs/scenario-format.md); used when a node pool
    /// has `autoscale`, defaults otherwise.
    pub autoscaler: Option<models::platform::ClusterAutoscalerConfig>,
    /// Inference services on the cluster, their traffic, Gateway routes and metrics
    /// (docs/scenario-format.md, "Inference services"); absent: none.
    #[serde(default)]
    pub services: Vec<models::platform::InferenceServiceConfig>,
    #[serde(default)]
    pub traffic: Vec<models::platform::TrafficConfig>,
    pub gateway: Option<models::platform::GatewayConfig>,
    pub metrics: Option<models::platform::MetricsConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterDef {
    #[serde(default)]
    pub node_pools: Vec<NodePool>,
    #[serde(default)]
    pub node_lists: Vec<NodeListDef>,
    /// Nodes from `kubectl get nodes -o yaml` (see `crate::kube_nodes`).
    pub kubernetes_nodes: Option<crate::kube_nodes::KubeNodesDef>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePool {
    pub name: String,
    pub count: u32,
    pub cpu_milli: u64,
    pub memory_mib: u64,
    #[serde(default)]
    pub gpus: u32,
    pub gpu_model: Option<String>,
    #[serde(default)]
    pub gpu_memory_mib: u64,
    /// Nodes per rack (scalable unit); racks are numbered across pools.
    #[serde(default = "default_rack")]
    pub nodes_per_rack: u32,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A node group of the cluster autoscaler: `count` is its initial size.
    pub autoscale: Option<AutoscaleDef>,
    /// `spec.taints` of every node of the pool.
    #[serde(default)]
    pub taints: Vec<crate::constraints::TaintDef>,
}

/// `autoscale:` of a node pool.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleDef {
    pub min: u32,
    pub max: u32,
    /// From the scale-up decision to the new node being Ready (default 0).
    #[serde(default)]
    pub provisioning_delay: SimDuration,
}

impl NodePool {
    /// Nodes of the pool in the cluster spec: `max` for an autoscaled pool (those beyond
    /// the current size are absent), `count` otherwise.
    pub fn slots(&self) -> u32 {
        self.autoscale.as_ref().map_or(self.count, |a| a.max)
    }
}

fn default_rack() -> u32 {
    32
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeListFormat {
    /// Alibaba openb node list (`sn,cpu_milli,memory_mib,gpu,model`).
    Openb,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeListDef {
    pub file: String,
    pub format: NodeListFormat,
    #[serde(default = "default_rack")]
    pub nodes_per_rack: u32,
    /// Keep only nodes that have GPUs.
    #[serde(default)]
    pub gpu_nodes_only: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadDef {
    #[serde(default)]
    pub traces: Vec<TraceDef>,
    #[serde(default)]
    pub jobs: Vec<InlineJob>,
    /// Jobs from Kubernetes workload manifests (see `crate::workload_manifests`).
    #[serde(default)]
    pub manifests: Vec<crate::workload_manifests::ManifestDef>,
    /// Running and pending pods of a live cluster (see `crate::kube_pods`).
    #[serde(default)]
    pub kubernetes_pods: Option<crate::kube_pods::KubePodsDef>,
    /// How pods of simultaneously submitted jobs reach the queue.
    #[serde(default)]
    pub pod_order: PodOrder,
    /// Jobs from GPU-count traces are split into pods of at most this many GPUs.
    #[serde(default = "default_gpus_per_pod")]
    pub max_gpus_per_pod: u32,
}

fn default_gpus_per_pod() -> u32 {
    8
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceDef {
    pub file: String,
    pub format: TraceFormat,
    /// Prefix for job ids (`prefix/id`); needed when several traces reuse ids.
    pub id_prefix: Option<String>,
    /// Philly only: keep one virtual cluster.
    pub philly_vc: Option<String>,
    /// Pollux only (required): the folder of application profiles, one sub-folder per
    /// application (`cifar10/placements.csv`, …), relative to the scenario's folder.
    pub profiles: Option<String>,
    /// Pollux only: what every (re)start or resize of a job costs before it trains again
    /// (whole seconds; default 30 s, the artefact's).
    pub restart_delay: Option<SimDuration>,
    /// Keep only the first N jobs in submission order.
    pub limit: Option<usize>,
    /// Given to every pod of the trace's jobs (see `crate::constraints`).
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub node_affinity: Vec<crate::constraints::TermDef>,
    #[serde(default)]
    pub tolerations: Vec<crate::constraints::TolerationDef>,
    /// A workload manifest whose pods, queue and priority every job of the trace takes
    /// (see `crate::workload_manifests::apply_template`).
    pub template: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineJob {
    pub id: String,
    #[serde(default)]
    pub submit: SimDuration,
    /// Run time once all pods run; absent: until `delete_at` or the horizon.
    #[serde(default)]
    pub duration: Option<SimDuration>,
    /// The job is deleted at this time (since the start), whatever its state.
    #[serde(default)]
    pub delete_at: Option<SimDuration>,
    #[serde(default = "one")]
    pub pods: u32,
    #[serde(default = "one")]
    pub gpus_per_pod: u32,
    /// Whole GPUs of each pod, when the pods differ (e.g. `[1, 2]`: one pod of 1 GPU and
    /// one of 2); replaces `pods` and `gpus_per_pod`.
    pub pod_gpus: Option<Vec<u32>>,
    /// Share of one GPU in thousandths (only with `gpus_per_pod: 1`).
    pub gpu_milli: Option<u32>,
    #[serde(default)]
    pub cpu_milli: u64,
    #[serde(default)]
    pub memory_mib: u64,
    #[serde(default)]
    pub gpu_models: Vec<String>,
    #[serde(default)]
    pub priority: i32,
    /// The queue the job is submitted to (Kueue ClusterQueue or Volcano queue); default the first.
    pub queue: Option<String>,
    /// A Kueue WorkloadPriorityClass of `scheduler.kueue.manifests` (the
    /// `kueue.x-k8s.io/priority-class` label): its value becomes the job's priority.
    pub priority_class: Option<String>,
    /// A checkpoint every this much run time: a restart after a fault resumes from the last.
    pub checkpoint_interval: Option<SimDuration>,
    /// Checkpoint bytes each node reads to restore (restore time from the network model's
    /// storage when `network:` is on).
    pub checkpoint_bytes: Option<u64>,
    /// Node selector, required node affinity and tolerations of every pod of the job.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub node_affinity: Vec<crate::constraints::TermDef>,
    #[serde(default)]
    pub tolerations: Vec<crate::constraints::TolerationDef>,
}

fn one() -> u32 {
    1
}

/// A scenario ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub cluster: ClusterSpec,
    pub workload: Workload,
    pub config: RunConfig,
    /// Trace files used, for provenance.
    pub inputs: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// `msg` names the file and position itself ([`yaml_error_message`]).
    #[error("{msg}")]
    Yaml { path: String, msg: String },
    #[error("{path}: {field}: {msg}")]
    Invalid {
        path: String,
        field: String,
        msg: String,
    },
    #[error(transparent)]
    Trace(#[from] trace::TraceError),
}

/// Where the files a scenario names come from: the file system (relative to the scenario's
/// folder) or the copies compiled into the binary.
pub trait FileSource {
    /// Returns (display path, contents).
    fn read(&self, name: &str) -> Result<(String, String), ScenarioError>;
    /// The file-system path of `name` (files and folders), when the source is on disk.
    fn path(&self, _name: &str) -> Option<PathBuf> {
        None
    }
}

/// Files relative to a base directory.
pub struct DirSource(pub PathBuf);

impl FileSource for DirSource {
    fn path(&self, name: &str) -> Option<PathBuf> {
        if name.starts_with(crate::bundled::PREFIX) {
            return None;
        }
        Some(self.0.join(name))
    }
    fn read(&self, name: &str) -> Result<(String, String), ScenarioError> {
        if name.starts_with(crate::bundled::PREFIX) {
            return crate::bundled::embedded(name)
                .map(|(display, text)| (display, text.to_string()))
                .ok_or_else(|| crate::bundled::not_embedded(name));
        }
        let p = self.0.join(name);
        let display = p.display().to_string();
        read_regular_file(&p)
            .map(|s| (display.clone(), s))
            .map_err(|source| ScenarioError::Read {
                path: self.relative_note(name, display),
                source,
            })
    }
}

impl DirSource {
    /// `display`, and for a relative name what it is relative to (the scenario's folder,
    /// as an absolute path when the working directory is known).
    fn relative_note(&self, name: &str, display: String) -> String {
        if Path::new(name).is_absolute() {
            return display;
        }
        let base = if self.0.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            self.0.clone()
        };
        let abs = std::path::absolute(&base).unwrap_or(base);
        format!(
            "{display} (relative to the scenario's folder {})",
            abs.display()
        )
    }
}

/// The largest input file read (4 GiB): the largest real trace is well under 1 GiB.
pub const MAX_INPUT_BYTES: u64 = 4 << 30;

/// Reads a regular file (after resolving links) of at most [`MAX_INPUT_BYTES`]: a device
/// (`/dev/zero`), a FIFO, a socket or a folder is refused without being opened, so a run
/// never hangs or reads without end on one.
pub fn read_regular_file(p: &Path) -> std::io::Result<String> {
    String::from_utf8(read_regular_bytes(p)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// [`read_regular_file`] for files that need not be text.
pub fn read_regular_bytes(p: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(p)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a folder, device, FIFO or socket)",
        ));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than {MAX_INPUT_BYTES} bytes"),
        ));
    }
    // Sized from the metadata (one buffer, no doubling); `take` still bounds the read
    // should the file grow in between.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).map_or(0, |n| n + 1));
    std::fs::File::open(p)?
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than {MAX_INPUT_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// Names the scenario field of a file that could not be read.
fn in_field(path: &str, field: String, e: ScenarioError) -> ScenarioError {
    match e {
        ScenarioError::Read { path: file, source } => ScenarioError::Invalid {
            path: path.to_string(),
            field,
            msg: format!("cannot read {file}: {source}"),
        },
        other => other,
    }
}

/// A YAML error as `path:LINE:COLUMN: message`: the file and position, and the message
/// without a snippet of the file (which could be any file the user named, so its content is
/// not echoed beyond the offending value the message itself quotes, clipped).
pub fn yaml_error_message(path: &str, e: &serde_saphyr::Error) -> String {
    const MAX_CHARS: usize = 300;
    let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let mut msg = e.without_snippet().render_with_options(opts);
    let at = e.location().map(|l| (l.line(), l.column()));
    if at.is_some()
        && let Some(i) = msg.rfind(" at line ")
    {
        msg.truncate(i);
    }
    let msg = msg.trim();
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    let mut msg: String = msg
        .replace("<input>", path)
        .replace(
            "invalid u64",
            "invalid u64 (expected a non-negative integer)",
        )
        .replace(
            "invalid u32",
            "invalid u32 (expected a non-negative integer)",
        )
        .replace("invalid i32", "invalid i32 (expected an integer)")
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if msg.chars().count() == MAX_CHARS {
        msg.push('…');
    }
    match at {
        Some((line, column)) => format!("{path}:{line}:{column}: {msg}"),
        None => format!("{path}: {msg}"),
    }
}

/// Parse scenario YAML. `path` is only used in messages.
pub fn parse(path: &str, yaml: &str) -> Result<ScenarioFile, ScenarioError> {
    serde_saphyr::from_str::<ScenarioFile>(yaml).map_err(|e| ScenarioError::Yaml {
        path: path.to_string(),
        msg: yaml_error_message(path, &e),
    })
}

/// Load a scenario file from disk; the files it names are read relative to its folder.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Scenario, ScenarioError> {
    let display = path.display().to_string();
    let yaml = read_regular_file(path).map_err(|source| ScenarioError::Read {
        path: display.clone(),
        source,
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    build(&display, &yaml, &DirSource(base), overrides)
}

/// Command-line overrides applied on top of a scenario file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    pub trace_format: Option<TraceFormat>,
    pub policy: Option<models::PolicyKind>,
    pub horizon: Option<SimDuration>,
    /// Check the whole-state invariants (no over-commit of GPUs, CPU, memory, DRA
    /// devices) after every instant; a violation ends the run with an error.
    pub check_invariants: bool,
}

/// Parse and build a scenario.
pub fn build(
    path: &str,
    yaml: &str,
    files: &dyn FileSource,
    ov: &Overrides,
) -> Result<Scenario, ScenarioError> {
    build_parsed(path, parse(path, yaml)?, files, ov)
}

/// Build from an already parsed (and possibly edited) scenario.
pub fn build_parsed(
    path: &str,
    mut f: ScenarioFile,
    files: &dyn FileSource,
    ov: &Overrides,
) -> Result<Scenario, ScenarioError> {
    if let Some(fmt) = ov.trace_format {
        if f.workload.traces.is_empty() {
            return Err(invalid(
                path,
                "workload.traces",
                "--trace-format was given but the scenario has no trace files",
            ));
        }
        for t in &mut f.workload.traces {
            t.format = fmt;
        }
    }
    if let Some(p) = ov.policy {
        f.scheduler.policy = p;
    }
    let manifests = match &f.dra {
        Some(d) => crate::dra::load_manifests(path, d, files)?,
        None => None,
    };
    let cluster = build_cluster(path, &f.cluster, files, manifests.as_ref())?;
    let dra = f
        .dra
        .as_ref()
        .map(|d| crate::dra::build(path, d, manifests))
        .transpose()?;
    let mut inputs = Vec::new();
    // Kueue's queue-name label of workload manifests is read only when Kueue queues exist.
    let kueue = &f.scheduler.kueue;
    let queue_labels = !kueue.cluster_queues.is_empty() || !kueue.manifests.is_empty();
    let mut trained = Vec::new();
    let mut ray = Vec::new();
    let mut workload = build_workload(
        path,
        &f.workload,
        files,
        &mut inputs,
        queue_labels,
        &mut trained,
        &mut ray,
    )?;
    let training =
        crate::training::build(path, &f.workload, files, &mut workload, trained, &cluster)?;
    let mut config = RunConfig {
        seed: ov.seed.or(f.seed).unwrap_or(42),
        horizon: ov.horizon.or(f.horizon),
        scheduler: f.scheduler.clone(),
        pod_order: f.workload.pod_order,
        chooser: ChooserMode::Seeded,
        check_invariants: ov.check_invariants,
        network: f.network.clone(),
        detect: f.detect.clone(),
        reduce_symmetry: false,
        dra,
        faults: crate::faults::build(
            path,
            f.faults.as_ref(),
            &f.workload.jobs,
            &cluster,
            ov.horizon.or(f.horizon),
        )?,
        autoscaler: autoscaler_config(path, &f)?,
        serving: crate::serving::build(
            path,
            &f.services,
            &f.traffic,
            f.gateway.as_ref(),
            f.metrics.as_ref(),
            ov.horizon.or(f.horizon),
        )?,
        ray: (!ray.is_empty()).then_some(models::RayConfig { clusters: ray }),
        pod_log: false,
        deletions: crate::deletion::build(path, &f.workload.jobs, ov.horizon.or(f.horizon))?,
        training,
    };
    let classes: BTreeMap<String, String> = f
        .workload
        .jobs
        .iter()
        .filter_map(|j| Some((j.id.clone(), j.priority_class.clone()?)))
        .collect();
    crate::kueue_manifests::resolve(
        path,
        &mut config.scheduler.kueue,
        &mut workload.jobs,
        &classes,
        files,
    )?;
    crate::queue_hooks::resolve(path, &mut config, &mut workload.jobs, files)?;
    validate_scheduler(path, &config.scheduler)?;
    // Checked here, where the file is known (the run would report it without the file).
    models::scheduler::fgd::check_cluster(config.scheduler.placement, &cluster)
        .map_err(|e| invalid(path, "scheduler.placement", e.0))?;
    if let Some(n) = &config.network {
        // Checked here, where the file is known, with the field as written (the run would
        // report it later as a `scheduler.network` error without the file).
        n.config
            .validate()
            .map_err(|(field, msg)| invalid(path, &format!("network.config.{field}"), msg))?;
        if n.steps.compute.as_nanos() == 0 {
            return Err(invalid(
                path,
                "network.steps.compute",
                "must be > 0 (a job runs duration / compute steps)",
            ));
        }
        for (key, v) in [
            ("overlap", n.steps.overlap),
            ("cache_hit", n.steps.cache_hit),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(
                    path,
                    &format!("network.steps.{key}"),
                    format!("must be a fraction from 0 to 1, got {v}"),
                ));
            }
        }
    }
    Ok(Scenario {
        name: f.name.clone().unwrap_or_else(|| {
            Path::new(path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into())
        }),
        cluster,
        workload,
        config,
        inputs,
    })
}

/// The cluster autoscaler of a scenario: its settings and the node groups (pools with
/// `autoscale`, whose nodes come first in the cluster, in pool order).
fn autoscaler_config(
    path: &str,
    f: &ScenarioFile,
) -> Result<Option<models::AutoscalerConfig>, ScenarioError> {
    let mut pools = Vec::new();
    let mut first = 0u32;
    for p in &f.cluster.node_pools {
        if let Some(a) = &p.autoscale {
            pools.push(models::AutoscaledPool {
                name: p.name.clone(),
                first,
                min: a.min,
                max: a.max,
                initial: p.count,
                provisioning_delay: a.provisioning_delay,
            });
        }
        // Within MAX_NODES (checked by build_cluster).
        first = first.saturating_add(p.slots());
    }
    if pools.is_empty() {
        if f.autoscaler.is_some() {
            return Err(invalid(
                path,
                "autoscaler",
                "no node pool has `autoscale: {min, max}`: the autoscaler would have nothing to scale",
            ));
        }
        return Ok(None);
    }
    if f.dra.is_some() {
        return Err(invalid(
            path,
            "autoscaler",
            "autoscaled node pools together with dra are not modelled",
        ));
    }
    let settings = f.autoscaler.clone().unwrap_or_default();
    // Scans are periodic while a countdown runs: bound each countdown in scans, so a run
    // never needs more than a million scans per wait.
    let every = settings.scan_interval;
    if every < SimDuration::from_millis(1) {
        return Err(invalid(
            path,
            "autoscaler.scan_interval",
            format!("must be at least 1ms, got {every}"),
        ));
    }
    for (k, d) in [
        (
            "scale_down_unneeded_time",
            settings.scale_down_unneeded_time,
        ),
        (
            "scale_down_delay_after_add",
            settings.scale_down_delay_after_add,
        ),
        ("max_node_provision_time", settings.max_node_provision_time),
        ("node_group_backoff", settings.node_group_backoff),
    ] {
        if d.as_nanos() / every.as_nanos() > 1_000_000 {
            return Err(invalid(
                path,
                &format!("autoscaler.{k}"),
                format!(
                    "{d} is more than a million scans of scan_interval ({every}): use a longer scan_interval"
                ),
            ));
        }
    }
    let t = settings.scale_down_utilization_threshold;
    if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
        return Err(invalid(
            path,
            "autoscaler.scale_down_utilization_threshold",
            format!("must be a fraction from 0 to 1, got {t}"),
        ));
    }
    Ok(Some(models::AutoscalerConfig { settings, pools }))
}

pub(crate) fn invalid(path: &str, field: &str, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

pub(crate) fn validate_scheduler(path: &str, s: &SchedulerConfig) -> Result<(), ScenarioError> {
    if s.score_resources.is_empty() {
        return Err(invalid(
            path,
            "scheduler.score_resources",
            "needs at least one resource, e.g. [[cpu, 1], [memory, 1]]",
        ));
    }
    if s.score_resources.iter().any(|(_, w)| *w <= 0) {
        return Err(invalid(
            path,
            "scheduler.score_resources",
            "weights must be positive integers",
        ));
    }
    if s.balanced_allocation_weight < 0 {
        return Err(invalid(
            path,
            "scheduler.balanced_allocation_weight",
            "must be 0 (off) or a positive integer",
        ));
    }
    if s.percentage_of_nodes_to_score > 100 {
        return Err(invalid(
            path,
            "scheduler.percentage_of_nodes_to_score",
            "must be 0 (adaptive) to 100",
        ));
    }
    // The policies' blocks are checked whatever the policy, with the field as written (the
    // run would report a quota later without the file, and silently clamp the others).
    for (i, q) in s.kueue.cluster_queues.iter().enumerate() {
        for (key, v) in [
            ("nominal_gpus", Some(q.nominal_gpus)),
            ("borrowing_limit_gpus", q.borrowing_limit_gpus),
            ("lending_limit_gpus", q.lending_limit_gpus),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(invalid(
                    path,
                    &format!("scheduler.kueue.cluster_queues[{i}].{key}"),
                    format!("{v} is not a valid GPU quota (expected a number >= 0)"),
                ));
            }
        }
    }
    if s.coscheduling.reject_percentage > 100 {
        return Err(invalid(
            path,
            "scheduler.coscheduling.reject_percentage",
            format!(
                "must be 0 to 100 (a percentage), got {}",
                s.coscheduling.reject_percentage
            ),
        ));
    }
    if s.volcano.session_period.as_nanos() == 0 {
        return Err(invalid(
            path,
            "scheduler.volcano.session_period",
            "must be > 0",
        ));
    }
    let f = s.volcano.overcommit_factor;
    if !(f.is_finite() && f >= 1.0) {
        return Err(invalid(
            path,
            "scheduler.volcano.overcommit_factor",
            format!("must be a finite number >= 1, got {f}"),
        ));
    }
    for (i, q) in s.volcano.queues.iter().enumerate() {
        if s.volcano.queues[..i].iter().any(|o| o.name == q.name) {
            return Err(invalid(
                path,
                &format!("scheduler.volcano.queues[{i}].name"),
                format!("duplicate queue name {:?}", q.name),
            ));
        }
        if q.weight == 0 {
            return Err(invalid(
                path,
                &format!("scheduler.volcano.queues[{i}].weight"),
                "must be > 0",
            ));
        }
        for (key, r) in [("capability", &q.capability), ("guarantee", &q.guarantee)] {
            if let Some(g) = r.as_ref().and_then(|r| r.gpus)
                && !(g.is_finite() && g >= 0.0)
            {
                return Err(invalid(
                    path,
                    &format!("scheduler.volcano.queues[{i}].{key}.gpus"),
                    format!("{g} is not a valid GPU amount (expected a number >= 0)"),
                ));
            }
        }
    }
    if s.scheduling_interval == Some(SimDuration(0)) {
        return Err(invalid(
            path,
            "scheduler.scheduling_interval",
            "must be longer than 0 s (omit it to decide at every event)".to_string(),
        ));
    }
    if s.tiresias.scheduling_interval == Some(SimDuration(0)) {
        return Err(invalid(
            path,
            "scheduler.tiresias.scheduling_interval",
            "must be longer than 0 s (omit it to decide at every event)".to_string(),
        ));
    }
    if s.tiresias.thresholds_gpu_s.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid(
            path,
            "scheduler.tiresias.thresholds_gpu_s",
            format!(
                "must be strictly increasing, got {:?}",
                s.tiresias.thresholds_gpu_s
            ),
        ));
    }
    Ok(())
}

/// The nodes of a `cluster:` section (also used to build resized variants).
pub fn build_cluster(
    path: &str,
    def: &ClusterDef,
    files: &dyn FileSource,
    manifests: Option<&models::dra::Manifests>,
) -> Result<ClusterSpec, ScenarioError> {
    let mut nodes: Vec<NodeSpec> = Vec::new();
    let mut rack_base = 0u32;
    // Checked before any node is allocated: `count: 1e9` is bad input, not an OOM kill.
    let mut total = 0u64;
    for (i, p) in def.node_pools.iter().enumerate() {
        let field = |k: &str| format!("cluster.node_pools[{i}].{k}");
        total += u64::from(p.slots());
        if total > MAX_NODES {
            return Err(invalid(
                path,
                &field(if p.autoscale.is_some() {
                    "autoscale.max"
                } else {
                    "count"
                }),
                format!(
                    "at most {MAX_NODES} nodes in a cluster (node pools and node lists together), got {total} so far"
                ),
            ));
        }
        for (k, v) in [("cpu_milli", p.cpu_milli), ("memory_mib", p.memory_mib)] {
            if v > MAX_QUANTITY {
                return Err(invalid(
                    path,
                    &field(k),
                    format!(
                        "at most {MAX_QUANTITY} (2^40, so that no sum of requests can wrap), got {v}"
                    ),
                ));
            }
        }
    }
    for (i, p) in def.node_pools.iter().enumerate() {
        let field = |k: &str| format!("cluster.node_pools[{i}].{k}");
        match &p.autoscale {
            None if p.count == 0 => {
                return Err(invalid(path, &field("count"), "must be at least 1"));
            }
            None => {}
            Some(a) => {
                if a.max == 0 {
                    return Err(invalid(path, &field("autoscale.max"), "must be at least 1"));
                }
                if a.min > a.max {
                    return Err(invalid(
                        path,
                        &field("autoscale.min"),
                        format!("must be at most max ({}), got {}", a.max, a.min),
                    ));
                }
                if p.count < a.min || p.count > a.max {
                    return Err(invalid(
                        path,
                        &field("count"),
                        format!(
                            "the initial size of an autoscaled pool must lie in [min, max] = [{}, {}], got {}",
                            a.min, a.max, p.count
                        ),
                    ));
                }
            }
        }
        if p.nodes_per_rack == 0 {
            return Err(invalid(
                path,
                &field("nodes_per_rack"),
                "must be at least 1",
            ));
        }
        if p.gpus > MAX_GPUS_PER_NODE {
            return Err(invalid(
                path,
                &field("gpus"),
                format!("at most {MAX_GPUS_PER_NODE} GPUs per node"),
            ));
        }
        if p.gpus > 0 && p.gpu_model.is_none() {
            return Err(invalid(
                path,
                &field("gpu_model"),
                "a pool with GPUs needs a gpu_model (e.g. H100)",
            ));
        }
        let taints = crate::constraints::taints(
            path,
            &format!("cluster.node_pools[{i}].taints"),
            &p.taints,
        )?;
        for k in 0..p.slots() {
            nodes.push(NodeSpec {
                taints: taints.clone(),
                name: format!("{}-{k:04}", p.name),
                pool: p.name.clone(),
                cpu_milli: p.cpu_milli,
                memory_mib: p.memory_mib,
                gpus: p.gpus,
                gpu_model: if p.gpus > 0 {
                    p.gpu_model.clone()
                } else {
                    None
                },
                gpu_memory_mib: p.gpu_memory_mib,
                rack: rack_base + k / p.nodes_per_rack,
                labels: p.labels.clone(),
            });
        }
        rack_base += p.slots().div_ceil(p.nodes_per_rack);
    }
    for (i, l) in def.node_lists.iter().enumerate() {
        if l.nodes_per_rack == 0 {
            return Err(invalid(
                path,
                &format!("cluster.node_lists[{i}].nodes_per_rack"),
                "must be at least 1",
            ));
        }
        let (display, text) = files
            .read(&l.file)
            .map_err(|e| in_field(path, format!("cluster.node_lists[{i}].file"), e))?;
        let mut list = match l.format {
            NodeListFormat::Openb => trace::load_openb_nodes(&display, &text, l.nodes_per_rack)?,
        };
        if l.gpu_nodes_only {
            list.retain(|n| n.gpus > 0);
        }
        for n in &mut list {
            n.rack += rack_base;
        }
        rack_base = list.iter().map(|n| n.rack + 1).max().unwrap_or(rack_base);
        nodes.extend(list);
        if nodes.len() as u64 > MAX_NODES {
            return Err(invalid(
                path,
                &format!("cluster.node_lists[{i}]"),
                format!(
                    "at most {MAX_NODES} nodes in a cluster (node pools and node lists together), got {}",
                    nodes.len()
                ),
            ));
        }
    }
    if let Some(k) = &def.kubernetes_nodes {
        nodes.extend(crate::kube_nodes::build(path, k, files, rack_base)?);
        if nodes.len() as u64 > MAX_NODES {
            return Err(invalid(
                path,
                "cluster.kubernetes_nodes",
                format!(
                    "at most {MAX_NODES} nodes in a cluster (all sources together), got {}",
                    nodes.len()
                ),
            ));
        }
    }
    if nodes.is_empty()
        && let Some(m) = manifests
    {
        nodes = crate::dra::nodes_from_manifests(path, m)?;
    }
    // Whatever the source (pools, node lists, Node manifests): no node beyond the limits.
    for n in &nodes {
        if n.gpus > MAX_GPUS_PER_NODE || n.cpu_milli > MAX_QUANTITY || n.memory_mib > MAX_QUANTITY {
            return Err(invalid(
                path,
                "cluster",
                format!(
                    "node {:?} has {} GPUs, {} millicores, {} MiB; at most {MAX_GPUS_PER_NODE} GPUs and {MAX_QUANTITY} (2^40) of each",
                    n.name, n.gpus, n.cpu_milli, n.memory_mib
                ),
            ));
        }
    }
    if nodes.is_empty() {
        return Err(invalid(
            path,
            "cluster",
            "no nodes: give node_pools, node_lists or kubernetes_nodes (or Node objects in dra.manifests)",
        ));
    }
    Ok(ClusterSpec { nodes })
}

fn build_workload(
    path: &str,
    def: &WorkloadDef,
    files: &dyn FileSource,
    inputs: &mut Vec<String>,
    queue_labels: bool,
    trained: &mut Vec<(usize, trace::PolluxJob)>,
    ray: &mut Vec<models::RayClusterConfig>,
) -> Result<Workload, ScenarioError> {
    if def.max_gpus_per_pod == 0 {
        return Err(invalid(
            path,
            "workload.max_gpus_per_pod",
            "must be at least 1",
        ));
    }
    let mut jobs: Vec<JobSpec> = Vec::new();
    for (i, t) in def.traces.iter().enumerate() {
        let (display, text) = files
            .read(&t.file)
            .map_err(|e| in_field(path, format!("workload.traces[{i}].file"), e))?;
        let opts = ImportOptions {
            max_gpus_per_pod: def.max_gpus_per_pod,
            id_prefix: t.id_prefix.clone(),
            philly_vc: t.philly_vc.clone(),
        };
        if t.format == TraceFormat::Pollux && t.template.is_some() {
            return Err(invalid(
                path,
                &format!("workload.traces[{i}].template"),
                "a pollux trace's pods are one 1-GPU pod per replica, which its profiles price: drop the template",
            ));
        }
        if t.format != TraceFormat::Pollux && t.profiles.is_some() {
            return Err(invalid(
                path,
                &format!("workload.traces[{i}].profiles"),
                "only the pollux format reads application profiles",
            ));
        }
        if let Some(d) = t.restart_delay {
            let field = format!("workload.traces[{i}].restart_delay");
            if t.format != TraceFormat::Pollux {
                return Err(invalid(
                    path,
                    &field,
                    "only the pollux format's training jobs restart (see docs/elastic.md)",
                ));
            }
            if !d.as_nanos().is_multiple_of(1_000_000_000) {
                return Err(invalid(
                    path,
                    &field,
                    format!(
                        "{d} is not a whole number of seconds (training time is counted in seconds, as the artefact counts it)"
                    ),
                ));
            }
        }
        let mut js = if t.format == TraceFormat::Pollux {
            let (js, what) = trace::load_pollux(&display, &text, &opts)?;
            trained.extend(what.into_iter().map(|w| (i, w)));
            js
        } else {
            trace::load_jobs(&display, &text, t.format, &opts)?
        };
        if let Some(n) = t.limit {
            js.sort_by_key(|j| j.submit);
            js.truncate(n);
        }
        let c = crate::constraints::ConstraintsDef {
            node_selector: t.node_selector.clone(),
            node_affinity: t.node_affinity.clone(),
            tolerations: t.tolerations.clone(),
        }
        .build(path, &format!("workload.traces[{i}]"))?;
        if let Some(tpl) = &t.template {
            if c.is_some() {
                return Err(invalid(
                    path,
                    &format!("workload.traces[{i}].template"),
                    "a template gives the pods' constraints: drop the trace's node_selector, node_affinity and tolerations",
                ));
            }
            let field = format!("workload.traces[{i}].template");
            crate::workload_manifests::apply_template(
                path,
                &field,
                tpl,
                files,
                &mut js,
                queue_labels,
            )?;
            inputs.push(tpl.clone());
        }
        if c.is_some() {
            for p in js.iter_mut().flat_map(|j| j.pods.iter_mut()) {
                p.constraints.clone_from(&c);
            }
        }
        inputs.push(t.file.clone());
        drop(text);
        if jobs.is_empty() {
            // The first trace's list is kept as it is (a million-job trace is not copied).
            jobs = js;
        } else {
            jobs.extend(js);
        }
    }
    for (i, j) in def.jobs.iter().enumerate() {
        let field = |k: &str| format!("workload.jobs[{i}].{k}");
        if j.pods == 0 || j.pods > MAX_PODS_PER_JOB {
            return Err(invalid(
                path,
                &field("pods"),
                format!("must be from 1 to {MAX_PODS_PER_JOB}, got {}", j.pods),
            ));
        }
        if let Some(list) = &j.pod_gpus
            && list.len() > MAX_PODS_PER_JOB as usize
        {
            return Err(invalid(
                path,
                &field("pod_gpus"),
                format!("at most {MAX_PODS_PER_JOB} pods, got {}", list.len()),
            ));
        }
        for (k, v) in [("cpu_milli", j.cpu_milli), ("memory_mib", j.memory_mib)] {
            if v > MAX_QUANTITY {
                return Err(invalid(
                    path,
                    &field(k),
                    format!(
                        "at most {MAX_QUANTITY} (2^40, so that no sum of requests can wrap), got {v}"
                    ),
                ));
            }
        }
        let gpu = match j.gpu_milli {
            None => GpuRequest::from_count_and_milli(j.gpus_per_pod, 1000),
            Some(m) => GpuRequest::from_count_and_milli(j.gpus_per_pod, m),
        }
        .ok_or_else(|| {
            invalid(
                path,
                &field("gpu_milli"),
                "a GPU share (1..999) needs gpus_per_pod: 1; whole GPUs use 1000 or omit it",
            )
        })?;
        let constraints = crate::constraints::ConstraintsDef {
            node_selector: j.node_selector.clone(),
            node_affinity: j.node_affinity.clone(),
            tolerations: j.tolerations.clone(),
        }
        .build(path, &format!("workload.jobs[{i}]"))?;
        let pod = PodRequest {
            constraints,
            cpu_milli: j.cpu_milli,
            memory_mib: j.memory_mib,
            gpu,
            gpu_models: j.gpu_models.clone(),
        };
        let pods = match &j.pod_gpus {
            None => vec![pod; j.pods as usize],
            Some(list) if list.is_empty() => {
                return Err(invalid(
                    path,
                    &field("pod_gpus"),
                    "needs at least one pod (a list of GPUs per pod, e.g. [1, 2])",
                ));
            }
            Some(_) if j.gpu_milli.is_some() => {
                return Err(invalid(
                    path,
                    &field("pod_gpus"),
                    "lists whole GPUs per pod; it cannot be combined with gpu_milli",
                ));
            }
            Some(list) => list
                .iter()
                .map(|&g| PodRequest {
                    gpu: GpuRequest::from_count_and_milli(g, 1000).unwrap_or(GpuRequest::None),
                    ..pod.clone()
                })
                .collect(),
        };
        jobs.push(JobSpec {
            id: j.id.clone(),
            submit: SimTime::ZERO + j.submit,
            duration: j.duration.unwrap_or(models::NO_RUN_TIME),
            pods,
            priority: j.priority,
            queue: j.queue.clone(),
        });
    }
    jobs.extend(crate::workload_manifests::build(
        path,
        &def.manifests,
        files,
        inputs,
        queue_labels,
        ray,
    )?);
    if let Some(k) = &def.kubernetes_pods {
        jobs.extend(crate::kube_pods::build(
            path,
            k,
            files,
            inputs,
            queue_labels,
        )?);
    }
    if jobs.is_empty() {
        return Err(invalid(
            path,
            "workload",
            "no jobs: give traces, jobs, manifests or kubernetes_pods",
        ));
    }
    let mut w = Workload { jobs };
    w.sort_by_submit();
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario_with_trace(file: &str) -> String {
        format!(
            "name: t\ncluster:\n  node_pools:\n    - {{name: a, count: 1, cpu_milli: 1000, memory_mib: 1024, gpus: 8, gpu_model: H100}}\n\
             workload:\n  traces:\n    - {{file: \"{file}\", format: itp}}\n"
        )
    }

    /// Issue 14 item 12: a trace path naming a folder, device or FIFO is refused without
    /// being read, naming the scenario field (the old code read `/dev/zero` without end and
    /// reported a folder without the field).
    #[test]
    fn special_trace_files_are_refused_naming_the_field() {
        let dir = std::env::temp_dir();
        let mut names = vec![dir.display().to_string()];
        if cfg!(unix) {
            names.push("/dev/zero".to_string());
        }
        for name in names {
            let yaml = scenario_with_trace(&name);
            let e = build(
                "s.yaml",
                &yaml,
                &DirSource(dir.clone()),
                &Overrides::default(),
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(
                e.starts_with("s.yaml: workload.traces[0].file: cannot read"),
                "{e}"
            );
            assert!(e.contains("not a regular file"), "{e}");
        }
    }

    /// Trace content quoted in an error is clipped and escaped, never dumped.
    #[test]
    fn errors_quote_at_most_a_clipped_line_of_the_file() {
        let long = format!("\u{1b}[2J{}\n1,2,3\n", "x".repeat(10_000));
        let e = trace::load_jobs("t.csv", &long, trace::TraceFormat::Itp, &Default::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("t.csv:"), "{e}");
        assert!(e.len() < 400, "{} bytes: {e}", e.len());
        assert!(!e.contains('\u{1b}'), "{e}");
    }
}
