//! `PlatformConfig`: everything a platform run needs (node pools, the cluster autoscaler,
//! batch pods, inference services with their HPA, traffic and its HTTPRoutes, the gateway,
//! metrics), with serde defaults and validation.

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

use super::PlatformError;

/// The whole platform: read-only input of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformConfig {
    /// Node pools, in order (the order is the node order of the scheduler's tie-break and
    /// the autoscaler's expander priority).
    pub pools: Vec<NodePoolConfig>,
    /// The cluster autoscaler; absent: pools stay at their initial size.
    pub cluster_autoscaler: Option<ClusterAutoscalerConfig>,
    /// Batch pods (one container, N GPUs, a duration and/or a deletion time).
    pub batch_pods: Vec<BatchPodConfig>,
    /// Inference services (Deployments of GPU replicas behind a shared FIFO queue).
    pub services: Vec<InferenceServiceConfig>,
    /// Request sources, each with the HTTPRoute that sends its requests to services.
    pub traffic: Vec<TrafficConfig>,
    /// The Gateway API implementation; absent: no HTTPRoute is implemented and every
    /// request goes to its route's first backend.
    pub gateway: Option<GatewayConfig>,
    /// Exporters and the monitoring system.
    pub metrics: MetricsConfig,
}

/// A node pool (node group). A pool with `min == max` is static.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePoolConfig {
    pub name: String,
    /// Value of the accelerator node label (`nvidia-h100`); pods select it.
    pub accelerator: String,
    pub gpus_per_node: u32,
    pub min: u32,
    pub max: u32,
    /// Nodes Ready at t=0 (default: `min`).
    #[serde(default)]
    pub initial: Option<u32>,
    /// From the autoscaler's scale-up decision to the node being Ready.
    #[serde(default)]
    pub provisioning_delay: SimDuration,
}

impl NodePoolConfig {
    /// Nodes at t=0.
    pub fn initial_nodes(&self) -> u32 {
        self.initial.unwrap_or(self.min)
    }
}

/// Cluster autoscaler settings (names and defaults of the cluster-autoscaler flags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterAutoscalerConfig {
    /// `--scan-interval` (10s). Scans run at k × scan_interval, k ≥ 1.
    pub scan_interval: SimDuration,
    /// `--scale-down-unneeded-time` (10m).
    pub scale_down_unneeded_time: SimDuration,
    /// `--scale-down-delay-after-add` (10m).
    pub scale_down_delay_after_add: SimDuration,
    /// `--scale-down-utilization-threshold` (0.5): requested / allocatable GPUs.
    pub scale_down_utilization_threshold: f64,
    /// `--max-node-provision-time` (15m): a node not Ready by then is given up.
    pub max_node_provision_time: SimDuration,
    /// Back-off of a pool after a provisioning timeout
    /// (`--initial-node-group-backoff-duration`, 5m).
    pub node_group_backoff: SimDuration,
    /// `--expander`: how a pod's node group is chosen among those that can hold it.
    /// Only `priority` (the first in configuration order) is modelled; upstream's default
    /// is `random`.
    pub expander: Expander,
}

/// The cluster autoscaler's expander.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expander {
    /// The first node group, in configuration order, that can hold the pod (upstream's
    /// `priority` expander with the configuration order as priorities).
    #[default]
    Priority,
}

impl Default for ClusterAutoscalerConfig {
    fn default() -> Self {
        ClusterAutoscalerConfig {
            scan_interval: SimDuration::from_secs(10),
            scale_down_unneeded_time: SimDuration::from_secs(600),
            scale_down_delay_after_add: SimDuration::from_secs(600),
            scale_down_utilization_threshold: 0.5,
            max_node_provision_time: SimDuration::from_secs(900),
            node_group_backoff: SimDuration::from_secs(300),
            expander: Expander::Priority,
        }
    }
}

/// A batch pod: created at `submit`, runs `duration` once bound (then completes), and/or
/// is deleted at `delete_at` whatever its state (as a test deletes its pods).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchPodConfig {
    pub name: String,
    /// Creation time, nanoseconds (or use `SimTime::from_secs`).
    #[serde(default)]
    pub submit: SimTime,
    pub gpus: u32,
    /// nodeSelector on the accelerator label.
    pub accelerator: String,
    /// Run time once bound; absent: runs until deleted.
    #[serde(default)]
    pub duration: Option<SimDuration>,
    /// Deleted at this time (pending or running).
    #[serde(default)]
    pub delete_at: Option<SimTime>,
}

/// Service-time distribution of one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceDistribution {
    /// Exponential with the configured mean (M/M/c-like). Default.
    #[default]
    Exponential,
    /// Exactly the mean.
    Deterministic,
}

/// An inference Deployment: replicas each request GPUs and serve `concurrency` requests
/// at once from a shared FIFO queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceServiceConfig {
    pub name: String,
    pub accelerator: String,
    #[serde(default = "one")]
    pub gpus_per_replica: u32,
    /// Initial `spec.replicas`.
    #[serde(default = "one")]
    pub replicas: u32,
    /// From binding to Ready (model load).
    #[serde(default)]
    pub startup_delay: SimDuration,
    /// Requests a Ready replica serves at once.
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Mean service time (1/μ).
    pub service_time: SimDuration,
    #[serde(default)]
    pub service_distribution: ServiceDistribution,
    /// Horizontal pod autoscaler on this Deployment.
    #[serde(default)]
    pub hpa: Option<HpaConfig>,
    /// Pod priority of the replicas (`spec.priority`, default 0 as in Kubernetes). Only
    /// on the main model (`orrery run`); the platform model has no priorities.
    #[serde(default)]
    pub priority: i32,
    /// What a replica the cluster cannot hold does (main model only): `wait` (default)
    /// or `preempt` lower-priority running jobs.
    #[serde(default)]
    pub on_no_capacity: OnNoCapacity,
}

/// What an inference replica that does not fit does (`services[].on_no_capacity`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnNoCapacity {
    /// Stay Pending until something frees room (Kubernetes between equal priorities, or
    /// a PriorityClass with `preemptionPolicy: Never`).
    #[default]
    Wait,
    /// Evict the lowest-priority running job(s) of lower priority whose release makes
    /// room (kube-scheduler's DefaultPreemption with `preemptionPolicy:
    /// PreemptLowerPriority`); they restart from their checkpoint.
    Preempt,
}

/// The custom metric an HPA reads (per-replica average).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HpaMetric {
    /// Shared queue length / Ready replicas (each Ready replica reports an equal share).
    InferenceQueueDepth,
    /// Requests being served by the replica.
    InferenceRequestsInFlight,
}

impl HpaMetric {
    /// The metric's name as the custom-metrics API serves it.
    pub fn name(self) -> &'static str {
        match self {
            HpaMetric::InferenceQueueDepth => "inference_queue_depth",
            HpaMetric::InferenceRequestsInFlight => "inference_requests_in_flight",
        }
    }

    /// Parse a metric name (`inference_queue_depth`, `inference_requests_in_flight`).
    pub fn from_name(name: &str) -> Option<HpaMetric> {
        [
            HpaMetric::InferenceQueueDepth,
            HpaMetric::InferenceRequestsInFlight,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// `autoscaling/v2` HorizontalPodAutoscaler on one custom Pods metric (AverageValue).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpaConfig {
    pub metric: HpaMetric,
    /// Target average value per replica.
    pub target: f64,
    #[serde(default = "tolerance")]
    pub tolerance: f64,
    #[serde(default = "hpa_sync")]
    pub sync_period: SimDuration,
    /// `behavior.scaleDown.stabilizationWindowSeconds` (300s).
    #[serde(default = "five_minutes")]
    pub scale_down_stabilization: SimDuration,
    #[serde(default = "one")]
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// A custom-metrics adapter serves the metric; without one the HPA never scales.
    #[serde(default = "yes")]
    pub custom_metrics_adapter: bool,
}

/// One step of a piecewise-constant load profile: from `from` on, `rps` requests/s.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadStep {
    pub from: SimDuration,
    pub rps: f64,
}

/// How request inter-arrival gaps are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Poisson process (seeded exponential gaps). Default.
    #[default]
    Poisson,
    /// Evenly spaced: at `from`, `from + 1/rps`, … within each step (for tests).
    Deterministic,
}

/// A header value and its share of a source's requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderShare {
    pub value: String,
    pub weight: u32,
}

/// A request source and the HTTPRoute its requests take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    pub name: String,
    /// Piecewise-constant rate; before the first step the rate is 0.
    pub load: Vec<LoadStep>,
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Mix of the routing header's values carried by requests; empty: no header.
    #[serde(default)]
    pub headers: Vec<HeaderShare>,
    pub route: RouteConfig,
}

/// An HTTPRoute: header-match rules first, then the weighted `backendRefs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Name of the matched header (for display), e.g. `x-model`.
    #[serde(default = "default_header")]
    pub header: String,
    #[serde(default)]
    pub matches: Vec<HeaderMatch>,
    pub backends: Vec<BackendRef>,
}

/// A rule: requests whose header equals `value` go to `backend`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    pub value: String,
    pub backend: String,
}

/// `backendRefs[]`: a service and its weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendRef {
    pub service: String,
    #[serde(default = "one")]
    pub weight: u32,
}

/// What the Gateway API implementation honours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// `backendRefs[].weight` honoured; false: all traffic to the first backend.
    pub weighted_routing: bool,
    /// Header matches honoured; false: matches ignored.
    pub header_matching: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            weighted_routing: true,
            header_matching: true,
        }
    }
}

/// A per-device field of the accelerator exporter (DCGM names in the export).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceField {
    /// `DCGM_FI_DEV_GPU_UTIL`, percent 0–100.
    Utilization,
    /// `DCGM_FI_DEV_FB_USED`, MiB.
    MemoryUsed,
    /// `DCGM_FI_DEV_POWER_USAGE`, W.
    Power,
    /// `DCGM_FI_DEV_GPU_TEMP`, °C.
    Temperature,
}

impl DeviceField {
    /// The DCGM-exporter metric name.
    pub fn metric_name(self) -> &'static str {
        match self {
            DeviceField::Utilization => "DCGM_FI_DEV_GPU_UTIL",
            DeviceField::MemoryUsed => "DCGM_FI_DEV_FB_USED",
            DeviceField::Power => "DCGM_FI_DEV_POWER_USAGE",
            DeviceField::Temperature => "DCGM_FI_DEV_GPU_TEMP",
        }
    }
}

/// A per-device accelerator exporter (DCGM-exporter-like) and its device model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterConfig {
    pub fields: Vec<DeviceField>,
    #[serde(default)]
    pub device: DeviceModel,
}

/// Idle/busy figures of one device (defaults: an H100 SXM). A device's utilisation u
/// (0–1) is 1 while a batch pod runs on it, in-flight / concurrency for an inference
/// replica, 0 otherwise; power and temperature are linear in u between idle and busy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceModel {
    pub idle_power_w: f64,
    pub busy_power_w: f64,
    pub idle_temp_c: f64,
    pub busy_temp_c: f64,
    /// Frame buffer used while a pod holds the device (model weights, KV cache), MiB.
    pub allocated_fb_mib: f64,
}

impl Default for DeviceModel {
    fn default() -> Self {
        DeviceModel {
            idle_power_w: 70.0,
            busy_power_w: 700.0,
            idle_temp_c: 30.0,
            busy_temp_c: 75.0,
            allocated_fb_mib: 40960.0,
        }
    }
}

/// Exporters and the monitoring system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Scrapes at k × scrape_interval, k ≥ 1 (15s).
    pub scrape_interval: SimDuration,
    /// Per-device exporter; absent: no device series.
    pub exporter: Option<ExporterConfig>,
    /// Workloads' `/metrics` are discovered and scraped (per-service series).
    pub service_discovery: bool,
    /// Upper bounds (seconds) of the request-latency histogram buckets (`+Inf` implied).
    pub latency_buckets: Vec<f64>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            scrape_interval: SimDuration::from_secs(15),
            exporter: None,
            service_discovery: false,
            latency_buckets: vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
        }
    }
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn tolerance() -> f64 {
    0.1
}
fn hpa_sync() -> SimDuration {
    SimDuration::from_secs(15)
}
fn five_minutes() -> SimDuration {
    SimDuration::from_secs(300)
}
fn default_header() -> String {
    "x-route".into()
}

/// Bounds on a platform configuration (docs/platform.md, "Limits"): checked before a run
/// so that every run ends in bounded time and memory.
pub mod limits {
    /// GPUs per node (GPU indices are 8-bit elsewhere in Orrery).
    pub const MAX_GPUS_PER_NODE: u32 = 255;
    /// Nodes of one pool (`max`), and of all pools together.
    pub const MAX_NODES: u64 = 10_000;
    /// Replicas of one service (`replicas`, `hpa.max_replicas`); batch pods in total.
    pub const MAX_REPLICAS: u32 = 10_000;
    pub const MAX_BATCH_PODS: usize = 100_000;
    /// Requests a replica serves at once.
    pub const MAX_CONCURRENCY: u32 = 100_000;
    /// Requests per second of one load step.
    pub const MAX_RPS: f64 = 1_000_000.0;
    /// HPA target average value per replica.
    pub const MAX_HPA_TARGET: f64 = 1_000_000.0;
    /// Requests a whole run may generate (from the load profile up to the horizon).
    pub const MAX_REQUESTS: f64 = 10_000_000.0;
    /// Runs of each periodic loop (scrapes, HPA syncs, autoscaler scans) up to the horizon.
    pub const MAX_PERIODIC_RUNS: u64 = 1_000_000;
    /// Device samples the metrics store may hold (scrapes × devices × exporter fields).
    pub const MAX_DEVICE_SAMPLES: u64 = 50_000_000;
}

impl PlatformConfig {
    /// Check that a run to `horizon` stays within the work budget (see [`limits`]); the
    /// first excess found is returned. Wall-clock free: the bound is computed from the
    /// inputs before anything runs.
    pub fn check_budget(&self, horizon: SimTime) -> Result<(), PlatformError> {
        use limits::*;
        let bad = |field: String, msg: String| PlatformError::Invalid { field, msg };
        let h = horizon.as_nanos();
        let runs = |every: SimDuration| h / every.as_nanos().max(1);
        let periodic = |field: &str, every: SimDuration| {
            let n = runs(every);
            if n > MAX_PERIODIC_RUNS {
                return Err(bad(
                    field.to_string(),
                    format!(
                        "{every} gives {n} runs up to the horizon ({horizon}); at most {MAX_PERIODIC_RUNS}: use a longer interval or a shorter horizon"
                    ),
                ));
            }
            Ok(n)
        };
        let scrapes = periodic("metrics.scrape_interval", self.metrics.scrape_interval)?;
        if let Some(ca) = &self.cluster_autoscaler {
            periodic("cluster_autoscaler.scan_interval", ca.scan_interval)?;
        }
        for (i, s) in self.services.iter().enumerate() {
            if let Some(hpa) = &s.hpa {
                periodic(&format!("services[{i}].hpa.sync_period"), hpa.sync_period)?;
            }
        }
        if let Some(e) = &self.metrics.exporter {
            let devices: u64 = self
                .pools
                .iter()
                .map(|p| u64::from(p.max) * u64::from(p.gpus_per_node))
                .sum();
            let samples = scrapes
                .saturating_mul(devices)
                .saturating_mul(e.fields.len() as u64);
            if samples > MAX_DEVICE_SAMPLES {
                return Err(bad(
                    "metrics.exporter".into(),
                    format!(
                        "up to {samples} device samples ({scrapes} scrapes × {devices} GPUs × {} fields); at most {MAX_DEVICE_SAMPLES}: use a longer scrape_interval, fewer fields or a shorter horizon",
                        e.fields.len()
                    ),
                ));
            }
        }
        let mut total = 0.0f64;
        for (i, t) in self.traffic.iter().enumerate() {
            for (j, st) in t.load.iter().enumerate() {
                let from = st.from.as_nanos().min(h);
                let to = t.load.get(j + 1).map_or(h, |n| n.from.as_nanos().min(h));
                let secs = to.saturating_sub(from) as f64 / 1e9;
                total += st.rps * secs;
                if total > MAX_REQUESTS {
                    return Err(bad(
                        format!("traffic[{i}].load[{j}].rps"),
                        format!(
                            "the load profile gives about {total:.0} requests up to the horizon ({horizon}); at most {MAX_REQUESTS:.0}: lower the rates or shorten the horizon"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Check the configuration; the first problem found is returned.
    pub fn validate(&self) -> Result<(), PlatformError> {
        use limits::*;
        let bad = |field: String, msg: String| Err(PlatformError::Invalid { field, msg });
        let mut names = std::collections::BTreeSet::new();
        for (i, p) in self.pools.iter().enumerate() {
            let f = |x: &str| format!("pools[{i}].{x}");
            if p.name.trim().is_empty() {
                return bad(f("name"), "must not be empty".into());
            }
            if !names.insert(p.name.as_str()) {
                return bad(f("name"), format!("duplicate pool {:?}", p.name));
            }
            if p.gpus_per_node == 0 || p.gpus_per_node > MAX_GPUS_PER_NODE {
                return bad(
                    f("gpus_per_node"),
                    format!(
                        "must be from 1 to {MAX_GPUS_PER_NODE}, got {}",
                        p.gpus_per_node
                    ),
                );
            }
            if u64::from(p.max) > MAX_NODES {
                return bad(
                    f("max"),
                    format!("at most {MAX_NODES} nodes, got {}", p.max),
                );
            }
            if p.max < p.min {
                return bad(
                    f("max"),
                    format!("must be at least min ({}), got {}", p.min, p.max),
                );
            }
            let init = p.initial_nodes();
            if init < p.min || init > p.max {
                return bad(
                    f("initial"),
                    format!("must lie in [{}, {}], got {init}", p.min, p.max),
                );
            }
        }
        let nodes: u64 = self.pools.iter().map(|p| u64::from(p.max)).sum();
        if nodes > MAX_NODES {
            return bad(
                "pools".into(),
                format!("at most {MAX_NODES} nodes in all pools together (max), got {nodes}"),
            );
        }
        if self.batch_pods.len() > MAX_BATCH_PODS {
            return bad(
                "batch_pods".into(),
                format!(
                    "at most {MAX_BATCH_PODS} batch pods, got {}",
                    self.batch_pods.len()
                ),
            );
        }
        if let Some(ca) = &self.cluster_autoscaler {
            if ca.scan_interval.as_nanos() == 0 {
                return bad(
                    "cluster_autoscaler.scan_interval".into(),
                    "must be > 0".into(),
                );
            }
            let t = ca.scale_down_utilization_threshold;
            if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
                return bad(
                    "cluster_autoscaler.scale_down_utilization_threshold".into(),
                    format!("must be in [0, 1], got {t}"),
                );
            }
        }
        for (i, b) in self.batch_pods.iter().enumerate() {
            if b.gpus == 0 || b.gpus > MAX_GPUS_PER_NODE {
                return bad(
                    format!("batch_pods[{i}].gpus"),
                    format!("must be from 1 to {MAX_GPUS_PER_NODE}, got {}", b.gpus),
                );
            }
            if b.delete_at.is_some_and(|d| d < b.submit) {
                return bad(
                    format!("batch_pods[{i}].delete_at"),
                    "must not be before submit".into(),
                );
            }
        }
        let mut svc = std::collections::BTreeSet::new();
        for (i, s) in self.services.iter().enumerate() {
            let f = |x: &str| format!("services[{i}].{x}");
            if s.name.trim().is_empty() {
                return bad(f("name"), "must not be empty".into());
            }
            if !svc.insert(s.name.as_str()) {
                return bad(f("name"), format!("duplicate service {:?}", s.name));
            }
            if s.gpus_per_replica == 0 || s.gpus_per_replica > MAX_GPUS_PER_NODE {
                return bad(
                    f("gpus_per_replica"),
                    format!(
                        "must be from 1 to {MAX_GPUS_PER_NODE}, got {}",
                        s.gpus_per_replica
                    ),
                );
            }
            if s.replicas > MAX_REPLICAS {
                return bad(
                    f("replicas"),
                    format!("at most {MAX_REPLICAS}, got {}", s.replicas),
                );
            }
            if s.concurrency == 0 || s.concurrency > MAX_CONCURRENCY {
                return bad(
                    f("concurrency"),
                    format!("must be from 1 to {MAX_CONCURRENCY}, got {}", s.concurrency),
                );
            }
            if s.service_time.as_nanos() == 0 {
                return bad(f("service_time"), "must be > 0".into());
            }
            if let Some(h) = &s.hpa {
                if !(h.target.is_finite() && h.target > 0.0 && h.target <= MAX_HPA_TARGET) {
                    return bad(
                        f("hpa.target"),
                        format!(
                            "must be a positive number up to {MAX_HPA_TARGET}, got {}",
                            h.target
                        ),
                    );
                }
                if !(h.tolerance.is_finite() && (0.0..1.0).contains(&h.tolerance)) {
                    return bad(
                        f("hpa.tolerance"),
                        format!("must be in [0, 1), got {}", h.tolerance),
                    );
                }
                if h.sync_period.as_nanos() == 0 {
                    return bad(f("hpa.sync_period"), "must be > 0".into());
                }
                if h.max_replicas > MAX_REPLICAS {
                    return bad(
                        f("hpa.max_replicas"),
                        format!("at most {MAX_REPLICAS}, got {}", h.max_replicas),
                    );
                }
                if h.min_replicas == 0 || h.max_replicas < h.min_replicas {
                    return bad(
                        f("hpa.max_replicas"),
                        format!(
                            "need 1 <= min_replicas <= max_replicas, got {} and {}",
                            h.min_replicas, h.max_replicas
                        ),
                    );
                }
            }
        }
        for (i, t) in self.traffic.iter().enumerate() {
            let f = |x: &str| format!("traffic[{i}].{x}");
            let mut prev: Option<SimDuration> = None;
            for (j, st) in t.load.iter().enumerate() {
                if !(st.rps.is_finite() && (0.0..=MAX_RPS).contains(&st.rps)) {
                    return bad(
                        f(&format!("load[{j}].rps")),
                        format!("must be a number from 0 to {MAX_RPS}, got {}", st.rps),
                    );
                }
                if prev.is_some_and(|p| st.from <= p) {
                    return bad(
                        f(&format!("load[{j}].from")),
                        "steps must be in strictly increasing time order".into(),
                    );
                }
                prev = Some(st.from);
            }
            if !t.headers.is_empty() && t.headers.iter().all(|h| h.weight == 0) {
                return bad(f("headers"), "header weights sum to 0".into());
            }
            if t.route.backends.is_empty() {
                return bad(
                    f("route.backends"),
                    "a route needs at least one backend".into(),
                );
            }
            if t.route.backends.iter().all(|b| b.weight == 0) {
                return bad(f("route.backends"), "backend weights sum to 0".into());
            }
            let known = |s: &str| self.services.iter().any(|x| x.name == s);
            for b in &t.route.backends {
                if !known(&b.service) {
                    return bad(
                        f("route.backends"),
                        format!("unknown service {:?}", b.service),
                    );
                }
            }
            for m in &t.route.matches {
                if !known(&m.backend) {
                    return bad(
                        f("route.matches"),
                        format!("unknown service {:?}", m.backend),
                    );
                }
            }
        }
        let b = &self.metrics.latency_buckets;
        if b.iter().any(|x| !(x.is_finite() && *x > 0.0)) || b.windows(2).any(|w| w[1] <= w[0]) {
            return bad(
                "metrics.latency_buckets".into(),
                "must be positive, finite and strictly increasing".into(),
            );
        }
        if self.metrics.scrape_interval.as_nanos() == 0 {
            return bad("metrics.scrape_interval".into(), "must be > 0".into());
        }
        Ok(())
    }
}
