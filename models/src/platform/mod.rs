//! The platform model: dynamic node pools, pods and a small kube-scheduler, the cluster
//! autoscaler, inference services (Deployments of GPU replicas behind a FIFO queue) with
//! a horizontal pod autoscaler, Gateway API HTTPRoutes (weights, header matches), and a
//! metrics store with Prometheus text export (DCGM-style device series and per-service
//! series). A second `sim_core::Model`, independent of the batch simulator in `sim`.
//!
//! `run(config, seed, horizon)` is a pure function of its inputs: randomness comes from
//! named `RngStreams` (`traffic/<name>/arrivals`, `traffic/<name>/headers`,
//! `gateway/<name>`, `service/<name>`), ties among equal nodes from the seeded `Chooser`.
//! See `docs/platform.md`.

mod autoscaler;
mod cluster;
mod config;
mod events;
mod sim;

/// The metrics store and exposition, shared with the main model (`crate::controllers::metrics`).
pub use crate::controllers::metrics;

use std::collections::BTreeMap;

use sim_core::{Chooser, SimTime, Simulation, StopAt};

pub use crate::controllers::gateway::{next_arrival, route_request, weighted_index};
pub use crate::controllers::hpa::{HpaInput, HpaSample, Stabilizer, desired_replicas};
pub use autoscaler::{CaAction, CaState};
pub use cluster::{Cluster, CycleOutcome, Node, NodeState, Pod, PodOwner, PodPhase};
pub use config::{
    Arrivals, BackendRef, BatchPodConfig, ClusterAutoscalerConfig, DeviceField, DeviceModel,
    Expander, ExporterConfig, GatewayConfig, HeaderMatch, HeaderShare, HpaConfig, HpaMetric,
    InferenceServiceConfig, LoadStep, MetricsConfig, NodePoolConfig, OnNoCapacity, PlatformConfig,
    RouteConfig, ServiceDistribution, TrafficConfig,
};
pub use events::PlatformEvent;
pub use metrics::{MetricKind, MetricsStore, ParsedExposition, SeriesKey, parse_exposition};
pub use sim::{Ev, PlatformSim};

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("platform config: {field}: {msg}")]
    Invalid { field: String, msg: String },
    /// The run used up the event budget derived from its inputs before the horizon.
    #[error(
        "the run handled {events} engine events (the budget derived from the load, periodic loops and pods) and stopped at {at}, before the horizon; the model needs more work than its inputs imply"
    )]
    Budget { events: u64, at: SimTime },
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

/// Run the platform from t=0 to `horizon` (events at the horizon included).
pub fn run(
    config: &PlatformConfig,
    seed: u64,
    horizon: SimTime,
) -> Result<PlatformRun, PlatformError> {
    config.validate()?;
    for (i, s) in config.services.iter().enumerate() {
        let field = |x: &str| format!("services[{i}].{x}");
        let msg = "the platform model has no pod priorities or preemption; run the service on the main model (`orrery run`, docs/scenario-format.md)";
        if s.priority != 0 {
            return Err(PlatformError::Invalid {
                field: field("priority"),
                msg: msg.into(),
            });
        }
        if s.on_no_capacity != OnNoCapacity::Wait {
            return Err(PlatformError::Invalid {
                field: field("on_no_capacity"),
                msg: msg.into(),
            });
        }
    }
    config.check_budget(horizon)?;
    let max_events = config.event_budget(horizon);
    let mut model = PlatformSim::new(config, seed);
    let mut sim = Simulation::new(Chooser::seeded(seed));
    for (at, ev) in model.initial_events() {
        sim.schedule_at(at, ev);
    }
    let stats = sim.run(
        &mut model,
        StopAt {
            horizon,
            max_events,
        },
        |_, _| true,
    );
    if stats.reason == sim_core::StopReason::EventBudget {
        return Err(PlatformError::Budget {
            events: max_events,
            at: stats.now,
        });
    }
    let pods = model.pod_summaries();
    Ok(PlatformRun {
        events: model.log,
        metrics: model.metrics,
        requests: model.requests,
        replicas: model.replica_series,
        ready_replicas: model.ready_series,
        nodes: model.node_series,
        hpa: model.hpa_samples,
        routed: model.routed,
        services: model.service_samples,
        pods,
        end: stats.now,
        events_handled: stats.events,
    })
}
