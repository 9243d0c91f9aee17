//! Platform profiles (`scenarios/profiles/*.yaml`): which components a modelled platform
//! has and how they are configured. `orrery conformance` runs the behaviour suites against
//! one. The format is documented in `docs/conformance.md`.
//!
//! Every section but `name` is optional; an absent section means the platform does not
//! have that component (no cluster autoscaler, no HPA, no accelerator exporter, …), which
//! is what a bare default cluster looks like.

pub use models::platform::DeviceField;
use models::scheduler::{PolicyKind, SchedulerConfig};
use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

/// A platform profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Metadata copied into the self-assessment draft.
    #[serde(default)]
    pub platform: PlatformMeta,
    /// The scheduler and its gang implementation, exactly as a scenario file's `scheduler:`
    /// (docs/scenario-format.md). Default: kube-scheduler's default profile, no gang.
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// The accelerator nodes and how devices reach pods.
    #[serde(default)]
    pub accelerators: Accelerators,
    /// The cluster autoscaler; absent: none (the conditional MUST is N/A).
    #[serde(default)]
    pub cluster_autoscaler: Option<ClusterAutoscaler>,
    /// The horizontal pod autoscaler and its custom-metrics pipeline; absent: none.
    #[serde(default)]
    pub pod_autoscaler: Option<PodAutoscaler>,
    /// Metrics exporters and the monitoring system.
    #[serde(default)]
    pub metrics: Metrics,
    /// The Gateway API implementation for inference traffic; absent: none.
    #[serde(default)]
    pub gateway: Option<Gateway>,
    /// Pod networking beyond the default network.
    #[serde(default)]
    pub network: Network,
    /// Storage for datasets.
    #[serde(default)]
    pub storage: Storage,
}

/// Metadata for the self-assessment draft (the checklist's `metadata:`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformMeta {
    pub name: String,
    pub version: String,
    pub vendor: String,
    pub website: String,
}

/// How devices are advertised to and allocated for pods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocation {
    /// A device plugin: integer counts (`nvidia.com/gpu: 1`) only. Kubernetes' default.
    #[default]
    DevicePlugin,
    /// Dynamic Resource Allocation (`resource.k8s.io/v1`): ResourceSlices, DeviceClasses,
    /// ResourceClaims with CEL selectors, allocated by the scheduler.
    Dra,
}

/// The accelerator nodes and how devices reach pods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Accelerators {
    pub allocation: Allocation,
    /// The accelerator type of the static GPU nodes (a node label value,
    /// e.g. `nvidia-h100`).
    pub accelerator: String,
    pub gpu_model: String,
    pub gpus_per_node: u32,
    /// Static accelerator nodes (besides any autoscaled pools).
    pub nodes: u32,
    /// GPU sharing offered to pods.
    pub sharing: Sharing,
    /// The container runtime's device mediation.
    pub runtime: Runtime,
}

impl Default for Accelerators {
    fn default() -> Self {
        Accelerators {
            allocation: Allocation::DevicePlugin,
            accelerator: "nvidia-h100".into(),
            gpu_model: "H100".into(),
            gpus_per_node: 8,
            nodes: 4,
            sharing: Sharing::default(),
            runtime: Runtime::default(),
        }
    }
}

/// GPU sharing strategies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sharing {
    /// MIG partitions advertised as schedulable devices (`nvidia.com/mig-1g.10gb`, or as
    /// DRA partitionable devices).
    pub mig: bool,
    /// Time-slicing: each GPU is advertised this many times (0 or 1: off).
    pub time_slicing_replicas: u32,
}

/// The container runtime's device mediation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Runtime {
    /// The runtime honours `NVIDIA_VISIBLE_DEVICES` set by an unprivileged container
    /// (nvidia-container-toolkit `accept-nvidia-visible-devices-envvar-when-unprivileged`):
    /// a container that requested no device can name them all. Default false.
    pub accept_visible_devices_envvar: bool,
}

/// Cluster autoscaler settings (names as the cluster-autoscaler flags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterAutoscaler {
    #[serde(default = "ca_scan_interval")]
    pub scan_interval: SimDuration,
    #[serde(default = "ten_minutes")]
    pub scale_down_unneeded_time: SimDuration,
    #[serde(default = "ten_minutes")]
    pub scale_down_delay_after_add: SimDuration,
    /// Node-group scale-up gives up after this long without a Ready node.
    #[serde(default = "fifteen_minutes")]
    pub max_node_provision_time: SimDuration,
    /// A node is unneeded when its requested share of every resource is below this.
    #[serde(default = "half")]
    pub scale_down_utilization_threshold: f64,
    pub pools: Vec<AutoscaledPool>,
}

/// One autoscaled node group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscaledPool {
    pub name: String,
    /// The accelerator type its nodes carry (node label value).
    pub accelerator: String,
    pub gpus_per_node: u32,
    pub min: u32,
    pub max: u32,
    /// From the scale-up decision to the node being Ready.
    pub provisioning_delay: SimDuration,
}

/// Horizontal pod autoscaler settings (`autoscaling/v2`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodAutoscaler {
    /// A custom-metrics adapter (prometheus-adapter, KEDA) serves
    /// `custom.metrics.k8s.io`; without one the HPA cannot read AI metrics.
    #[serde(default = "yes")]
    pub custom_metrics_adapter: bool,
    /// The per-pod custom metric the HPA targets (average value).
    #[serde(default = "default_metric")]
    pub metric: String,
    /// Target average value per replica.
    pub target: f64,
    #[serde(default = "tolerance")]
    pub tolerance: f64,
    #[serde(default = "hpa_sync")]
    pub sync_period: SimDuration,
    /// `behavior.scaleDown.stabilizationWindowSeconds`.
    #[serde(default = "five_minutes")]
    pub scale_down_stabilization: SimDuration,
    #[serde(default = "one")]
    pub min_replicas: u32,
    #[serde(default = "ten")]
    pub max_replicas: u32,
}

/// Metrics exporters and the monitoring system.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    /// Per-device accelerator exporter (DCGM-exporter-like); absent: none.
    pub accelerator_exporter: Option<AcceleratorExporter>,
    /// The monitoring system discovers workloads' `/metrics` endpoints
    /// (ServiceMonitor/PodMonitor or equivalent) and scrapes them.
    pub service_discovery: bool,
    /// Scrape interval of the monitoring system.
    pub scrape_interval: Option<SimDuration>,
}

/// A per-device exporter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceleratorExporter {
    pub fields: Vec<DeviceField>,
}

/// The Gateway API implementation for inference traffic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// HTTPRoute `backendRefs[].weight` honoured.
    #[serde(default = "yes")]
    pub weighted_routing: bool,
    /// HTTPRoute header matches honoured.
    #[serde(default = "yes")]
    pub header_matching: bool,
}

/// Pod networking.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// RDMA NICs on the accelerator nodes; absent: none (TCP over the default network).
    pub rdma: Option<Rdma>,
}

/// RDMA NICs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rdma {
    pub nics_per_node: u32,
    pub gbps_per_nic: f64,
    /// The NICs are offered to pods (device plugin / DRANET), not only to the host.
    #[serde(default = "yes")]
    pub offered_to_pods: bool,
    /// Each distributed job's pods get interfaces on a network of their own.
    #[serde(default)]
    pub job_networks: bool,
}

/// Storage for datasets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// A shared dataset volume; absent: none.
    pub dataset_volume: Option<DatasetVolume>,
}

/// Volume access modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessMode {
    ReadWriteOnce,
    ReadOnlyMany,
    ReadWriteMany,
}

/// A shared dataset volume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetVolume {
    pub access_mode: AccessMode,
    /// Aggregate read throughput of the backing store, GB/s.
    pub read_gbps: f64,
    /// Node-local dataset cache: a second job on the node reads from it.
    #[serde(default)]
    pub node_cache: bool,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn ten() -> u32 {
    10
}
fn half() -> f64 {
    0.5
}
fn tolerance() -> f64 {
    0.1
}
fn default_metric() -> String {
    "inference_queue_depth".into()
}
fn ca_scan_interval() -> SimDuration {
    SimDuration::from_secs(10)
}
fn hpa_sync() -> SimDuration {
    SimDuration::from_secs(15)
}
fn five_minutes() -> SimDuration {
    SimDuration::from_secs(300)
}
fn ten_minutes() -> SimDuration {
    SimDuration::from_secs(600)
}
fn fifteen_minutes() -> SimDuration {
    SimDuration::from_secs(900)
}

/// A YAML error message with the file named where the parser says `<input>`.
pub(crate) fn yaml_message(e: &serde_saphyr::Error, path: &str) -> String {
    crate::scenario::yaml_error_message(path, e)
}

/// Bounds on a profile (docs/conformance.md): a profile describes real accelerator
/// nodes; sizes beyond these are bad input, not a scored failure.
pub const MAX_GPUS_PER_NODE: u32 = 128;
/// Static accelerator nodes, nodes of an autoscaled pool, HPA replicas, time-slice
/// replicas, RDMA NICs per node.
pub const MAX_NODES: u32 = 1_000;
pub const MAX_REPLICAS: u32 = 1_000;
pub const MAX_TIME_SLICES: u32 = 64;
pub const MAX_NICS: u32 = 64;
/// HPA target average value per replica.
pub const MAX_HPA_TARGET: f64 = 1_000_000.0;
/// Shortest scrape, HPA sync and autoscaler scan interval.
pub const MIN_INTERVAL: SimDuration = SimDuration(1_000_000_000);
/// Longest autoscaler delay, provisioning time or stabilization window: the suites' runs
/// last a few of these, and the platform model's work budget must hold for them.
pub const MAX_DELAY: SimDuration = SimDuration(86_400_000_000_000);

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// `msg` names the file and position itself.
    #[error("{msg}")]
    Parse { path: String, msg: String },
    #[error("{path}: {field}: {msg}")]
    Invalid {
        path: String,
        field: String,
        msg: String,
    },
}

impl Profile {
    /// Read and check a profile file.
    pub fn load(path: &std::path::Path) -> Result<Profile, ProfileError> {
        let shown = path.display().to_string();
        let text = crate::scenario::read_regular_file(path).map_err(|source| ProfileError::Io {
            path: shown.clone(),
            source,
        })?;
        Profile::parse(&text, &shown)
    }

    /// Parse and check a profile; `path` names it in errors.
    pub fn parse(yaml: &str, path: &str) -> Result<Profile, ProfileError> {
        let p: Profile = serde_saphyr::from_str(yaml).map_err(|e| ProfileError::Parse {
            path: path.into(),
            msg: yaml_message(&e, path),
        })?;
        p.validate(path)?;
        Ok(p)
    }

    fn validate(&self, path: &str) -> Result<(), ProfileError> {
        let bad = |field: &str, msg: String| ProfileError::Invalid {
            path: path.into(),
            field: field.into(),
            msg,
        };
        if self.name.trim().is_empty() {
            return Err(bad("name", "must not be empty".into()));
        }
        crate::scenario::validate_scheduler(path, &self.scheduler).map_err(|e| match e {
            crate::ScenarioError::Invalid { field, msg, .. } => bad(&field, msg),
            other => bad("scheduler", other.to_string()),
        })?;
        // The scheduler's own checks (Kueue queues, …) run when a case's cluster model is
        // built: build a one-job case once here so a bad block is reported as bad input.
        super::suites::check_scheduler(self).map_err(|msg| bad("scheduler", msg))?;
        let a = &self.accelerators;
        if a.gpus_per_node == 0 || a.gpus_per_node > MAX_GPUS_PER_NODE {
            return Err(bad(
                "accelerators.gpus_per_node",
                format!(
                    "must be from 1 to {MAX_GPUS_PER_NODE}, got {}",
                    a.gpus_per_node
                ),
            ));
        }
        if a.nodes == 0 || a.nodes > MAX_NODES {
            return Err(bad(
                "accelerators.nodes",
                format!(
                    "must be from 1 to {MAX_NODES} (static accelerator nodes), got {}",
                    a.nodes
                ),
            ));
        }
        if a.sharing.time_slicing_replicas > MAX_TIME_SLICES {
            return Err(bad(
                "accelerators.sharing.time_slicing_replicas",
                format!(
                    "at most {MAX_TIME_SLICES}, got {}",
                    a.sharing.time_slicing_replicas
                ),
            ));
        }
        let interval = |field: &str, d: SimDuration| {
            if d < MIN_INTERVAL {
                Err(bad(
                    field,
                    format!("must be at least {MIN_INTERVAL}, got {d}"),
                ))
            } else {
                Ok(())
            }
        };
        let delay = |field: &str, d: SimDuration| {
            if d > MAX_DELAY {
                Err(bad(field, format!("must be at most {MAX_DELAY}, got {d}")))
            } else {
                Ok(())
            }
        };
        if let Some(d) = self.metrics.scrape_interval {
            interval("metrics.scrape_interval", d)?;
        }
        if a.accelerator.trim().is_empty() {
            return Err(bad("accelerators.accelerator", "must not be empty".into()));
        }
        if let Some(ca) = &self.cluster_autoscaler {
            if ca.pools.is_empty() {
                return Err(bad(
                    "cluster_autoscaler.pools",
                    "an autoscaler needs at least one node pool".into(),
                ));
            }
            interval("cluster_autoscaler.scan_interval", ca.scan_interval)?;
            for (k, d) in [
                ("scale_down_unneeded_time", ca.scale_down_unneeded_time),
                ("scale_down_delay_after_add", ca.scale_down_delay_after_add),
                ("max_node_provision_time", ca.max_node_provision_time),
            ] {
                delay(&format!("cluster_autoscaler.{k}"), d)?;
            }
            if !(0.0..=1.0).contains(&ca.scale_down_utilization_threshold) {
                return Err(bad(
                    "cluster_autoscaler.scale_down_utilization_threshold",
                    format!(
                        "must be between 0 and 1, got {}",
                        ca.scale_down_utilization_threshold
                    ),
                ));
            }
            let mut names = std::collections::BTreeSet::new();
            for (i, pool) in ca.pools.iter().enumerate() {
                let f = |x: &str| format!("cluster_autoscaler.pools[{i}].{x}");
                if !names.insert(pool.name.as_str()) {
                    return Err(bad(&f("name"), format!("duplicate pool {:?}", pool.name)));
                }
                if pool.max < pool.min || pool.max == 0 {
                    return Err(bad(
                        &f("max"),
                        format!(
                            "must be at least min ({}) and at least 1, got {}",
                            pool.min, pool.max
                        ),
                    ));
                }
                delay(&f("provisioning_delay"), pool.provisioning_delay)?;
                if pool.max > MAX_NODES {
                    return Err(bad(
                        &f("max"),
                        format!("at most {MAX_NODES}, got {}", pool.max),
                    ));
                }
                if pool.gpus_per_node == 0 || pool.gpus_per_node > MAX_GPUS_PER_NODE {
                    return Err(bad(
                        &f("gpus_per_node"),
                        format!(
                            "must be from 1 to {MAX_GPUS_PER_NODE}, got {}",
                            pool.gpus_per_node
                        ),
                    ));
                }
            }
        }
        if let Some(h) = &self.pod_autoscaler {
            if !(h.target.is_finite() && h.target > 0.0 && h.target <= MAX_HPA_TARGET) {
                return Err(bad(
                    "pod_autoscaler.target",
                    format!(
                        "must be a positive number up to {MAX_HPA_TARGET}, got {}",
                        h.target
                    ),
                ));
            }
            if !(h.tolerance.is_finite() && (0.0..1.0).contains(&h.tolerance)) {
                return Err(bad(
                    "pod_autoscaler.tolerance",
                    format!("must be in [0, 1), got {}", h.tolerance),
                ));
            }
            interval("pod_autoscaler.sync_period", h.sync_period)?;
            delay(
                "pod_autoscaler.scale_down_stabilization",
                h.scale_down_stabilization,
            )?;
            if h.sync_period > MAX_DELAY {
                return Err(bad(
                    "pod_autoscaler.sync_period",
                    format!("must be at most {MAX_DELAY}"),
                ));
            }
            if h.min_replicas == 0
                || h.max_replicas < h.min_replicas
                || h.max_replicas > MAX_REPLICAS
            {
                return Err(bad(
                    "pod_autoscaler.max_replicas",
                    format!(
                        "need 1 <= min_replicas <= max_replicas <= {MAX_REPLICAS}, got {} and {}",
                        h.min_replicas, h.max_replicas
                    ),
                ));
            }
        }
        if let Some(r) = &self.network.rdma
            && (r.nics_per_node == 0
                || r.nics_per_node > MAX_NICS
                || !(r.gbps_per_nic.is_finite() && r.gbps_per_nic > 0.0))
        {
            return Err(bad(
                "network.rdma",
                format!("nics_per_node must be from 1 to {MAX_NICS} and gbps_per_nic positive"),
            ));
        }
        if let Some(v) = &self.storage.dataset_volume
            && !(v.read_gbps.is_finite() && v.read_gbps > 0.0)
        {
            return Err(bad(
                "storage.dataset_volume.read_gbps",
                format!("must be a positive number, got {}", v.read_gbps),
            ));
        }
        if a.sharing.mig && a.gpu_model != "H100" && a.gpu_model != "A100" {
            return Err(bad(
                "accelerators.sharing.mig",
                format!(
                    "MIG is modelled for H100 and A100 only, the profile's GPU is {:?}",
                    a.gpu_model
                ),
            ));
        }
        Ok(())
    }

    /// Whether the scheduler gives all-or-nothing placement by design.
    pub fn gang_policy(&self) -> PolicyKind {
        self.scheduler.policy
    }
}
