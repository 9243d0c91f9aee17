//! The platform configuration (`PlatformConfig`: node pools, the cluster autoscaler,
//! batch pods, inference services with their HPA, Gateway API HTTPRoutes, metrics) and
//! its record (`PlatformRun`), a view of the one cluster model: `run` translates the
//! configuration into the main model's inputs (`view::translate`), runs `ClusterSim` and
//! reads the run back in the platform's shape. There is no second simulator.
//!
//! `run(config, seed, horizon)` is a pure function of its inputs: randomness comes from
//! named `RngStreams` (`traffic/<name>/arrivals`, `traffic/<name>/headers`,
//! `gateway/<name>`, `service/<name>`), ties among equal nodes from the seeded `Chooser`.
//! See `docs/platform.md`.

mod config;
mod events;
mod view;

/// The metrics store and exposition, shared with the main model (`crate::controllers::metrics`).
pub use crate::controllers::metrics;

use std::collections::BTreeMap;

use sim_core::SimTime;

pub use crate::controllers::cluster_autoscaler::{CaAction, CaState};
pub use crate::controllers::gateway::{next_arrival, route_request, weighted_index};
pub use crate::controllers::hpa::{HpaInput, HpaSample, Stabilizer, desired_replicas};
pub use config::{
    Arrivals, BackendRef, BatchPodConfig, ClusterAutoscalerConfig, DeviceField, DeviceModel,
    Expander, ExporterConfig, GatewayConfig, HeaderMatch, HeaderShare, HpaConfig, HpaMetric,
    InferenceServiceConfig, LoadStep, MetricsConfig, NodePoolConfig, OnNoCapacity, PlatformConfig,
    RouteConfig, ServiceDistribution, TrafficConfig,
};
pub use events::PlatformEvent;
pub use metrics::{MetricKind, MetricsStore, ParsedExposition, SeriesKey, parse_exposition};
pub use view::{ACCELERATOR_LABEL, translate};

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("platform config: {field}: {msg}")]
    Invalid { field: String, msg: String },
}

/// One request's life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// The traffic source.
    pub traffic: String,
    /// The backend service the route chose.
    pub service: String,
    /// The routing header's value, if the source sends one.
    pub header: Option<String>,
    pub arrival: SimTime,
    /// Taken by a replica (`None`: still queued at the end).
    pub start: Option<SimTime>,
    /// Served (`None`: not finished at the end).
    pub end: Option<SimTime>,
    /// The replica that served it.
    pub pod: Option<String>,
}

impl RequestRecord {
    /// Time spent in the queue, if started.
    pub fn queueing(&self) -> Option<sim_core::SimDuration> {
        self.start.map(|s| s.since(self.arrival))
    }
    /// Arrival to completion, if finished.
    pub fn latency(&self) -> Option<sim_core::SimDuration> {
        self.end.map(|e| e.since(self.arrival))
    }
}

/// A service's state at one scrape instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceSample {
    pub at: SimTime,
    /// Requests waiting in the queue.
    pub queue_depth: u32,
    /// Requests being served.
    pub in_flight: u32,
    /// Requests served so far.
    pub completed: u64,
    /// Ready replicas.
    pub ready: u32,
}

/// A pod at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSummary {
    pub name: String,
    /// The service whose replica it is (`None`: a batch pod).
    pub owner: Option<String>,
    pub accelerator: String,
    pub gpus: u32,
    /// The node it was bound to, and that node's accelerator label.
    pub node: Option<String>,
    pub node_accelerator: Option<String>,
    pub created: SimTime,
    pub bound_at: Option<SimTime>,
    pub ended_at: Option<SimTime>,
    /// Still Pending at the end.
    pub pending: bool,
}

/// Everything a run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct PlatformRun {
    /// Key events in time order.
    pub events: Vec<(SimTime, PlatformEvent)>,
    /// Every scraped series.
    pub metrics: MetricsStore,
    /// Every request, in arrival order.
    pub requests: Vec<RequestRecord>,
    /// `spec.replicas` of each service, at each change.
    pub replicas: BTreeMap<String, Vec<(SimTime, u32)>>,
    /// Ready replicas of each service, at each change.
    pub ready_replicas: BTreeMap<String, Vec<(SimTime, u32)>>,
    /// Ready nodes of each pool, at each change.
    pub nodes: BTreeMap<String, Vec<(SimTime, u32)>>,
    /// Every HPA sync that produced a recommendation, per service.
    pub hpa: BTreeMap<String, Vec<HpaSample>>,
    /// Requests routed, per (traffic source, backend service).
    pub routed: BTreeMap<(String, String), u64>,
    /// Per service, its state at every scrape instant (recorded whether or not the
    /// monitoring system discovers the service).
    pub services: BTreeMap<String, Vec<ServiceSample>>,
    pub pods: Vec<PodSummary>,
    /// When the run stopped.
    pub end: SimTime,
    /// Engine events handled.
    pub events_handled: u64,
}

/// Value of a step series at `t` (the last change at or before `t`).
pub fn value_at(series: &[(SimTime, u32)], t: SimTime) -> Option<u32> {
    series
        .iter()
        .rev()
        .find(|(at, _)| *at <= t)
        .map(|&(_, v)| v)
}

impl PlatformRun {
    /// Events whose `Display` contains `needle`, with their times.
    pub fn events_containing<'a>(
        &'a self,
        needle: &'a str,
    ) -> impl Iterator<Item = &'a (SimTime, PlatformEvent)> + 'a {
        self.events
            .iter()
            .filter(move |(_, e)| e.to_string().contains(needle))
    }

    /// Ready nodes of `pool` at `t`.
    pub fn nodes_at(&self, pool: &str, t: SimTime) -> Option<u32> {
        self.nodes.get(pool).and_then(|s| value_at(s, t))
    }

    /// `spec.replicas` of `service` at `t`.
    pub fn replicas_at(&self, service: &str, t: SimTime) -> Option<u32> {
        self.replicas.get(service).and_then(|s| value_at(s, t))
    }

    /// Requests served.
    pub fn completed(&self) -> usize {
        self.requests.iter().filter(|r| r.end.is_some()).count()
    }
}

/// Run the platform from t=0 to `horizon` (events at the horizon included): on the main
/// model (`view::translate`, then `ClusterSim`), read back as a `PlatformRun`.
pub fn run(
    config: &PlatformConfig,
    seed: u64,
    horizon: SimTime,
) -> Result<PlatformRun, PlatformError> {
    config.validate()?;
    config.check_budget(horizon)?;
    view::run_on_main(config, seed, horizon)
}
