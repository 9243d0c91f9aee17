//! Inference services, their HPA, Gateway routing and metrics as a controller on the main
//! model (issue 16 item 3). The decisions are the `crate::controllers` code (`serving`: dispatch and scale-down victims, `hpa`: the
//! replica calculation and stabilisation, `gateway`: arrivals, header draws, routes and
//! service times, `metrics`: the scrape and the store); this module is the main model's
//! view of its replicas and the events that carry the decisions out.
//!
//! * **Replicas are jobs.** Each service gets `max(replicas, hpa.max_replicas)` replica
//!   slots, 1-pod jobs appended to the workload (`<service>-<k>`, `gpus_per_replica`
//!   whole GPUs of model `accelerator`, the service's `priority`), never submitted by the
//!   trace. Creating a replica submits a free slot: its pod goes through the policy's
//!   queue and the profile's Filter/Score like any pod, on the same GPUs as the training
//!   jobs. Deleting one withdraws the slot (its pod released, the slot free again).
//! * A replica is Pending until its job runs, then Starting for `startup_delay`, then
//!   Ready; a replica that loses its node (a fault) is Pending again.
//! * `on_no_capacity: preempt`: at the end of an instant, after the scheduling pass,
//!   Pending replicas of such a service evict running non-replica jobs of lower priority
//!   (lowest priority first, then the most recently started), as many as needed for the
//!   replica to fit on some node; the victims restart from their checkpoint exactly as
//!   after a node failure (`faults::restart_job`, the policy's `restart` hook), then the
//!   scheduling pass runs again so the replicas (higher priority: first in PrioritySort)
//!   bind at that instant. `wait` (default) leaves them Pending.
//! * Requests, routing, the HPA's syncs (k × `sync_period`, k ≥ 1) and scrapes
//!   (k × `scrape_interval`, once the instant is closed) as docs/platform.md describes.
//!
//! The controller's state lives outside `SimState` (it holds floating-point sums and
//! RNG streams): `orrery verify` snapshots it with `SimState` (`explore.rs`) and
//! fingerprints what of it decides the future (`serving/verify_hash.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sim_core::{Ctx, RngStreams, SimDuration, SimTime, TimerId};

use super::{ClusterSim, Event, JobPhase, ModelError};
use crate::controllers::gateway;
use crate::controllers::hpa::{self, HpaSample, HpaView, Stabilizer};
use crate::controllers::metrics::{self, DeviceReading, MetricsStore, ServiceReading};
use crate::controllers::serving::{ReplicaPhase, ServiceBook, pick_replica, scale_down_victim};
use crate::platform::{
    GatewayConfig, InferenceServiceConfig, MetricsConfig, OnNoCapacity, PlatformConfig,
    PlatformEvent, PlatformRun, PodSummary, RequestRecord, TrafficConfig,
};
use crate::resources::{GpuRequest, PodRequest};
use crate::state::NodeCondition;
use crate::workload::{JobSpec, Workload};

mod verify_hash;

/// A replica's run time: it runs until it is deleted (146 years, never reached).
const FOREVER: SimDuration = SimDuration(u64::MAX / 4);

/// The scenario's `services:`, `traffic:`, `gateway:` and `metrics:` (the platform
/// configuration's types: one format).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServingConfig {
    pub services: Vec<InferenceServiceConfig>,
    #[serde(default)]
    pub traffic: Vec<TrafficConfig>,
    #[serde(default)]
    pub gateway: Option<GatewayConfig>,
    #[serde(default)]
    pub metrics: MetricsConfig,
}

impl ServingConfig {
    /// The platform configuration with these sections (for its validation and limits).
    fn as_platform(&self) -> PlatformConfig {
        PlatformConfig {
            services: self.services.clone(),
            traffic: self.traffic.clone(),
            gateway: self.gateway.clone(),
            metrics: self.metrics.clone(),
            ..PlatformConfig::default()
        }
    }

    /// Check the sections as a platform configuration is checked, and the run's budget up to
    /// `horizon` (required: services run for ever).
    pub fn validate(&self, horizon: Option<SimDuration>) -> Result<(), ModelError> {
        let err = |field: String, msg: String| ModelError::Config { field, msg };
        let Some(h) = horizon else {
            return Err(err(
                "horizon".into(),
                "required with services (they run for ever)".into(),
            ));
        };
        let p = self.as_platform();
        let map = |e: crate::platform::PlatformError| match e {
            crate::platform::PlatformError::Invalid { field, msg } => err(field, msg),
        };
        p.validate().map_err(map)?;
        p.check_budget(SimTime::ZERO + h).map_err(map)?;
        Ok(())
    }

    /// Replica slots of service `s`.
    fn slots(&self, s: usize) -> u32 {
        let svc = &self.services[s];
        svc.hpa
            .as_ref()
            .map_or(svc.replicas, |h| h.max_replicas.max(svc.replicas))
    }
}

/// Check the serving sections against the run and append the replica slots to
/// `workload`; returns the index of the first slot.
pub(super) fn prepare(
    cfg: &ServingConfig,
    run: &super::RunConfig,
    workload: &mut Workload,
) -> Result<u32, ModelError> {
    use crate::scheduler::PolicyKind;
    let err = |field: &str, msg: &str| ModelError::Config {
        field: field.into(),
        msg: msg.into(),
    };
    cfg.validate(run.horizon)?;
    if run.scheduler.policy == PolicyKind::Kueue || run.scheduler.policy == PolicyKind::Volcano {
        return Err(err(
            "services",
            "inference services are modelled with kube-scheduler policies and the gang policies, not with kueue or volcano (their admission would have to admit replica pods)",
        ));
    }
    if run.dra.is_some() {
        return Err(err(
            "services",
            "inference services together with dra are not modelled",
        ));
    }
    if run.network.is_some() {
        return Err(err(
            "services",
            "inference services together with the network model are not modelled",
        ));
    }
    Ok(add_replica_jobs(workload, cfg))
}

/// Append every service's replica slots to `workload` (after the trace's jobs). Returns
/// the index of the first slot.
fn add_replica_jobs(workload: &mut Workload, cfg: &ServingConfig) -> u32 {
    let first = workload.jobs.len() as u32;
    for (s, svc) in cfg.services.iter().enumerate() {
        for k in 0..cfg.slots(s) {
            workload.jobs.push(JobSpec {
                id: format!("{}-{k}", svc.name),
                submit: SimTime::ZERO,
                duration: FOREVER,
                pods: vec![PodRequest {
                    constraints: None,
                    cpu_milli: 0,
                    memory_mib: 0,
                    gpu: GpuRequest::Whole(svc.gpus_per_replica),
                    gpu_models: vec![svc.accelerator.clone()],
                }],
                priority: svc.priority,
                queue: None,
            });
        }
    }
    first
}

/// Engine events of the serving controller (`Event::Serving`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServingEvent {
    /// t = 0: the services' initial replicas.
    Init,
    Arrival(u32),
    RequestDone {
        job: u32,
        req: u32,
    },
    ReplicaReady(u32),
    HpaSync(u32),
    Scrape,
}

#[derive(Clone, Debug)]
struct Slot {
    service: usize,
    /// `None`: free (the slot's job is not submitted).
    phase: Option<ReplicaPhase>,
    in_flight: u32,
    ready_timer: Option<TimerId>,
    /// This incarnation's entry in `pods`.
    pod: Option<usize>,
}

#[derive(Clone, Debug)]
struct Svc {
    spec: u32,
    /// Live (not draining) replica jobs, in creation order.
    live: Vec<u32>,
    book: ServiceBook,
    rng: ChaCha8Rng,
    stabilizer: Stabilizer,
    metric_failed: bool,
}

#[derive(Clone, Debug)]
struct Source {
    arrivals: ChaCha8Rng,
    headers: ChaCha8Rng,
    route: ChaCha8Rng,
    prev: Option<SimTime>,
}

/// The controller's run-time state and record (cloned whole into a verifier snapshot,
/// `explore.rs`; hashed by `verify_hash.rs`).
#[derive(Clone, Debug)]
pub struct ServingRuntime {
    cfg: ServingConfig,
    first_job: u32,
    slots: Vec<Slot>,
    services: Vec<Svc>,
    sources: Vec<Source>,
    requests: Vec<RequestRecord>,
    log: Vec<(SimTime, PlatformEvent)>,
    replica_series: BTreeMap<String, Vec<(SimTime, u32)>>,
    ready_series: BTreeMap<String, Vec<(SimTime, u32)>>,
    hpa_samples: BTreeMap<String, Vec<HpaSample>>,
    routed: BTreeMap<(String, String), u64>,
    service_samples: BTreeMap<String, Vec<crate::platform::ServiceSample>>,
    metrics: MetricsStore,
    pods: Vec<PodSummary>,
    scrape_due: bool,
}

fn push_change(series: &mut BTreeMap<String, Vec<(SimTime, u32)>>, key: &str, at: SimTime, v: u32) {
    let s = series.entry(key.to_string()).or_default();
    match s.last_mut() {
        Some(last) if last.1 == v => {}
        Some(last) if last.0 == at => last.1 = v,
        _ => s.push((at, v)),
    }
}

impl ServingRuntime {
    pub(super) fn new(cfg: &ServingConfig, first_job: u32, seed: u64) -> ServingRuntime {
        let streams = RngStreams::new(seed);
        let mut slots = Vec::new();
        for s in 0..cfg.services.len() {
            for _ in 0..cfg.slots(s) {
                slots.push(Slot {
                    service: s,
                    phase: None,
                    in_flight: 0,
                    ready_timer: None,
                    pod: None,
                });
            }
        }
        let mut m = MetricsStore::default();
        metrics::describe(&mut m, &cfg.metrics);
        ServingRuntime {
            first_job,
            slots,
            services: cfg
                .services
                .iter()
                .map(|s| Svc {
                    spec: 0,
                    live: Vec::new(),
                    book: ServiceBook::new(cfg.metrics.latency_buckets.len()),
                    rng: streams.stream(&format!("service/{}", s.name)),
                    stabilizer: Stabilizer::default(),
                    metric_failed: false,
                })
                .collect(),
            sources: cfg
                .traffic
                .iter()
                .map(|t| Source {
                    arrivals: streams.stream(&format!("traffic/{}/arrivals", t.name)),
                    headers: streams.stream(&format!("traffic/{}/headers", t.name)),
                    route: streams.stream(&format!("gateway/{}", t.name)),
                    prev: None,
                })
                .collect(),
            cfg: cfg.clone(),
            requests: Vec::new(),
            log: Vec::new(),
            replica_series: BTreeMap::new(),
            ready_series: BTreeMap::new(),
            hpa_samples: BTreeMap::new(),
            routed: BTreeMap::new(),
            service_samples: BTreeMap::new(),
            metrics: m,
            pods: Vec::new(),
            scrape_due: false,
        }
    }

    /// The first replica slot's job index (the trace's jobs come before).
    pub fn first_replica_job(&self) -> u32 {
        self.first_job
    }

    /// Is `job` a replica slot?
    pub fn is_replica(&self, job: u32) -> bool {
        job >= self.first_job && ((job - self.first_job) as usize) < self.slots.len()
    }

    fn slot(&self, job: u32) -> &Slot {
        &self.slots[(job - self.first_job) as usize]
    }

    fn slot_mut(&mut self, job: u32) -> &mut Slot {
        &mut self.slots[(job - self.first_job) as usize]
    }

    /// The events that start the controller.
    pub(super) fn initial_events(&mut self) -> Vec<(SimTime, Event)> {
        let mut out = vec![(SimTime::ZERO, Event::Serving(ServingEvent::Init))];
        for (s, svc) in self.cfg.services.iter().enumerate() {
            if let Some(h) = &svc.hpa {
                out.push((
                    SimTime::ZERO + h.sync_period,
                    Event::Serving(ServingEvent::HpaSync(s as u32)),
                ));
            }
        }
        for (t, tc) in self.cfg.traffic.iter().enumerate() {
            let st = &mut self.sources[t];
            if let Some(at) = gateway::next_arrival(&tc.load, tc.arrivals, None, &mut st.arrivals) {
                st.prev = Some(at);
                out.push((at, Event::Serving(ServingEvent::Arrival(t as u32))));
            }
        }
        out.push((
            SimTime::ZERO + self.cfg.metrics.scrape_interval,
            Event::Serving(ServingEvent::Scrape),
        ));
        out
    }

    /// The record of the run, in the platform's shape (the same writers).
    pub(super) fn finish(&self, m: &ClusterSim, end: SimTime, events: u64) -> PlatformRun {
        let mut pods = self.pods.clone();
        for p in &mut pods {
            p.node_accelerator = p.node.as_ref().and_then(|n| {
                m.spec
                    .nodes
                    .iter()
                    .find(|s| &s.name == n)
                    .and_then(|s| s.gpu_model.clone())
            });
        }
        PlatformRun {
            events: self.log.clone(),
            metrics: self.metrics.clone(),
            requests: self.requests.clone(),
            replicas: self.replica_series.clone(),
            ready_replicas: self.ready_series.clone(),
            nodes: BTreeMap::new(),
            hpa: self.hpa_samples.clone(),
            routed: self.routed.clone(),
            services: self.service_samples.clone(),
            pods,
            end,
            events_handled: events,
        }
    }
}

/// The main model's view of one service for the HPA.
struct View<'a> {
    rt: &'a ServingRuntime,
    s: usize,
}

impl View<'_> {
    fn ready(&self) -> impl Iterator<Item = &Slot> {
        self.rt.services[self.s]
            .live
            .iter()
            .map(|&j| self.rt.slot(j))
            .filter(|r| r.phase == Some(ReplicaPhase::Ready))
    }
}

impl HpaView for View<'_> {
    fn spec_replicas(&self) -> u32 {
        self.rt.services[self.s].spec
    }
    fn live_replicas(&self) -> u32 {
        self.rt.services[self.s].live.len() as u32
    }
    fn ready_replicas(&self) -> u32 {
        self.ready().count() as u32
    }
    fn queue_depth(&self) -> u32 {
        self.rt.services[self.s].book.queue.len() as u32
    }
    fn ready_in_flight(&self) -> u64 {
        self.ready().map(|r| u64::from(r.in_flight)).sum()
    }
}

impl ClusterSim {
    /// Take the runtime out for the duration of `f` (it calls the model's methods).
    fn with_serving(&mut self, f: impl FnOnce(&mut ClusterSim, &mut ServingRuntime)) {
        if let Some(mut rt) = self.serving.take() {
            f(self, &mut rt);
            self.serving = Some(rt);
        }
    }

    pub(super) fn serving_event(&mut self, e: ServingEvent, ctx: &mut Ctx<'_, Event>) {
        self.with_serving(|m, rt| m.serving_handle(rt, e, ctx));
    }

    pub(super) fn serving_instant_end(&mut self, ctx: &mut Ctx<'_, Event>) {
        self.with_serving(|m, rt| m.serving_end(rt, ctx));
    }

    fn serving_handle(
        &mut self,
        rt: &mut ServingRuntime,
        e: ServingEvent,
        ctx: &mut Ctx<'_, Event>,
    ) {
        let now = ctx.now();
        match e {
            ServingEvent::Init => {
                for s in 0..rt.cfg.services.len() {
                    let n = rt.cfg.services[s].replicas;
                    self.set_replicas(rt, s, n, now, ctx);
                }
            }
            ServingEvent::Arrival(t) => self.arrival(rt, t as usize, ctx),
            ServingEvent::RequestDone { job, req } => self.request_done(rt, job, req as usize, ctx),
            ServingEvent::ReplicaReady(job) => {
                let r = rt.slot_mut(job);
                if r.phase != Some(ReplicaPhase::Starting) {
                    return;
                }
                r.phase = Some(ReplicaPhase::Ready);
                r.ready_timer = None;
                let s = r.service;
                let pod = self.workload.jobs[job as usize].id.clone();
                rt.log.push((
                    now,
                    PlatformEvent::ReplicaReady {
                        service: rt.cfg.services[s].name.clone(),
                        pod,
                    },
                ));
                record_ready(rt, s, now);
                self.dispatch(rt, s, ctx);
            }
            ServingEvent::HpaSync(s) => self.hpa_sync(rt, s as usize, ctx),
            ServingEvent::Scrape => {
                rt.scrape_due = true;
                ctx.schedule_in(
                    rt.cfg.metrics.scrape_interval,
                    Event::Serving(ServingEvent::Scrape),
                );
            }
        }
    }

    /// Set a service's `spec.replicas`: submit free slots, or delete victims (Pending,
    /// then starting, then Ready; newest first; a Ready one with requests in flight
    /// drains them first).
    fn set_replicas(
        &mut self,
        rt: &mut ServingRuntime,
        s: usize,
        n: u32,
        now: SimTime,
        ctx: &mut Ctx<'_, Event>,
    ) {
        rt.services[s].spec = n;
        let name = rt.cfg.services[s].name.clone();
        push_change(&mut rt.replica_series, &name, now, n);
        while (rt.services[s].live.len() as u32) < n {
            let Some(k) = rt
                .slots
                .iter()
                .position(|r| r.service == s && r.phase.is_none())
            else {
                break;
            };
            let job = rt.first_job + k as u32;
            let svc = &rt.cfg.services[s];
            let spec = &self.workload.jobs[job as usize];
            rt.pods.push(PodSummary {
                name: spec.id.clone(),
                owner: Some(svc.name.clone()),
                accelerator: svc.accelerator.clone(),
                gpus: svc.gpus_per_replica,
                node: None,
                node_accelerator: None,
                created: now,
                bound_at: None,
                ended_at: None,
                pending: true,
            });
            rt.log.push((
                now,
                PlatformEvent::PodCreated {
                    pod: spec.id.clone(),
                    gpus: svc.gpus_per_replica,
                    accelerator: svc.accelerator.clone(),
                },
            ));
            let r = &mut rt.slots[k];
            r.phase = Some(ReplicaPhase::Pending);
            r.in_flight = 0;
            r.pod = Some(rt.pods.len() - 1);
            rt.services[s].live.push(job);
            self.submit_slot(job, FOREVER);
        }
        while (rt.services[s].live.len() as u32) > n {
            let phases: Vec<ReplicaPhase> = rt.services[s]
                .live
                .iter()
                .map(|&j| rt.slot(j).phase.unwrap_or(ReplicaPhase::Pending))
                .collect();
            let Some(idx) = scale_down_victim(&phases) else {
                break;
            };
            let job = rt.services[s].live.remove(idx);
            let r = rt.slot_mut(job);
            if let Some(t) = r.ready_timer.take() {
                ctx.cancel(t);
            }
            if r.phase == Some(ReplicaPhase::Ready) && r.in_flight > 0 {
                r.phase = Some(ReplicaPhase::Draining);
            } else {
                self.withdraw_replica(rt, job, now, ctx);
            }
        }
        record_ready(rt, s, now);
    }

    /// Delete a replica's pod: the slot's job releases what it holds and is free again.
    fn withdraw_replica(
        &mut self,
        rt: &mut ServingRuntime,
        job: u32,
        now: SimTime,
        ctx: &mut Ctx<'_, Event>,
    ) {
        self.withdraw_slot(job, FOREVER, now, ctx);
        let r = rt.slot_mut(job);
        r.phase = None;
        r.in_flight = 0;
        if let Some(p) = r.pod.take() {
            rt.pods[p].ended_at = Some(now);
            rt.pods[p].pending = false;
        }
        let pod = self.workload.jobs[job as usize].id.clone();
        rt.log.push((now, PlatformEvent::PodDeleted { pod }));
    }

    /// Start queued requests on Ready replicas with a free slot.
    fn dispatch(&mut self, rt: &mut ServingRuntime, s: usize, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let (concurrency, mean, dist) = {
            let svc = &rt.cfg.services[s];
            (svc.concurrency, svc.service_time, svc.service_distribution)
        };
        while let Some(&req) = rt.services[s].book.queue.front() {
            let pick = pick_replica(
                rt.services[s].live.iter().map(|&j| {
                    let r = rt.slot(j);
                    (r.phase.unwrap_or(ReplicaPhase::Pending), r.in_flight)
                }),
                concurrency,
            )
            .map(|i| rt.services[s].live[i]);
            let Some(job) = pick else { break };
            rt.services[s].book.queue.pop_front();
            rt.slot_mut(job).in_flight += 1;
            rt.requests[req].start = Some(now);
            rt.requests[req].pod = Some(self.workload.jobs[job as usize].id.clone());
            let d = gateway::service_time(mean, dist, &mut rt.services[s].rng);
            ctx.schedule_in(
                d,
                Event::Serving(ServingEvent::RequestDone {
                    job,
                    req: req as u32,
                }),
            );
        }
    }

    fn arrival(&mut self, rt: &mut ServingRuntime, t: usize, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let tc = &rt.cfg.traffic[t];
        let st = &mut rt.sources[t];
        let header = gateway::draw_header(&tc.headers, &mut st.headers);
        let backend = gateway::route_request(
            &tc.route,
            rt.cfg.gateway.as_ref(),
            header.as_deref(),
            &mut st.route,
        )
        .to_string();
        if let Some(next) = gateway::next_arrival(&tc.load, tc.arrivals, st.prev, &mut st.arrivals)
        {
            st.prev = Some(next);
            ctx.schedule_at(next, Event::Serving(ServingEvent::Arrival(t as u32)));
        }
        let traffic = tc.name.clone();
        let s = rt
            .cfg
            .services
            .iter()
            .position(|x| x.name == backend)
            .unwrap_or(0);
        *rt.routed
            .entry((traffic.clone(), backend.clone()))
            .or_default() += 1;
        let id = rt.requests.len();
        rt.requests.push(RequestRecord {
            traffic,
            service: backend,
            header,
            arrival: now,
            start: None,
            end: None,
            pod: None,
        });
        rt.services[s].book.queue.push_back(id);
        self.dispatch(rt, s, ctx);
    }

    fn request_done(
        &mut self,
        rt: &mut ServingRuntime,
        job: u32,
        req: usize,
        ctx: &mut Ctx<'_, Event>,
    ) {
        let now = ctx.now();
        let r = rt.slot_mut(job);
        r.in_flight = r.in_flight.saturating_sub(1);
        let (s, drained) = (
            r.service,
            r.phase == Some(ReplicaPhase::Draining) && r.in_flight == 0,
        );
        let rec = &mut rt.requests[req];
        rec.end = Some(now);
        let (arrival, start) = (rec.arrival, rec.start);
        rt.services[s]
            .book
            .served(arrival, start, now, &rt.cfg.metrics.latency_buckets);
        if drained {
            self.withdraw_replica(rt, job, now, ctx);
        }
        self.dispatch(rt, s, ctx);
    }

    fn hpa_sync(&mut self, rt: &mut ServingRuntime, s: usize, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let Some(h) = rt.cfg.services[s].hpa.clone() else {
            return;
        };
        let name = rt.cfg.services[s].name.clone();
        ctx.schedule_in(
            h.sync_period,
            Event::Serving(ServingEvent::HpaSync(s as u32)),
        );
        if !h.custom_metrics_adapter {
            if !rt.services[s].metric_failed {
                rt.services[s].metric_failed = true;
                rt.log.push((
                    now,
                    PlatformEvent::HpaFailedGetMetric {
                        service: name,
                        metric: h.metric.name().into(),
                    },
                ));
            }
            return;
        }
        let mut stabilizer = std::mem::take(&mut rt.services[s].stabilizer);
        let sample = hpa::sync(&View { rt, s }, &h, &mut stabilizer, now);
        rt.services[s].stabilizer = stabilizer;
        let Some(sample) = sample else {
            return;
        };
        let (current, applied, value) = (sample.current, sample.applied, sample.value);
        rt.hpa_samples.entry(name.clone()).or_default().push(sample);
        if applied != current {
            rt.log.push((
                now,
                PlatformEvent::HpaRescale {
                    service: name,
                    from: current,
                    to: applied,
                    metric: h.metric.name().into(),
                    value,
                    target: h.target,
                },
            ));
            self.set_replicas(rt, s, applied, now, ctx);
        }
    }

    /// After the scheduling pass: replicas whose job started are Starting; replicas
    /// whose job lost its pods are Pending again; `preempt` services make room; a due
    /// scrape runs once the instant is closed.
    fn serving_end(&mut self, rt: &mut ServingRuntime, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        self.note_bindings(rt, ctx);
        if self.preempt_for_replicas(rt, now, ctx) {
            let policy = Arc::clone(&self.policy);
            policy.schedule(self, ctx);
            self.note_bindings(rt, ctx);
        }
        if rt.scrape_due && ctx.next_event_time().is_none_or(|t| t > now) {
            rt.scrape_due = false;
            self.serving_scrape(rt, now);
        }
    }

    fn note_bindings(&mut self, rt: &mut ServingRuntime, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        for s in 0..rt.services.len() {
            let mut changed = false;
            for i in 0..rt.services[s].live.len() {
                let job = rt.services[s].live[i];
                let running = self.state.jobs[job as usize].phase == JobPhase::Running;
                let phase = rt.slot(job).phase;
                if phase == Some(ReplicaPhase::Pending) && running {
                    let node = self.state.jobs[job as usize].pods[0]
                        .placement
                        .as_ref()
                        .map(|p| self.spec.nodes[p.node as usize].name.clone())
                        .unwrap_or_default();
                    let delay = rt.cfg.services[s].startup_delay;
                    let t = ctx.schedule_in(delay, Event::Serving(ServingEvent::ReplicaReady(job)));
                    let r = rt.slot_mut(job);
                    r.phase = Some(ReplicaPhase::Starting);
                    r.ready_timer = Some(t);
                    if let Some(p) = r.pod {
                        rt.pods[p].node = Some(node.clone());
                        rt.pods[p].bound_at = Some(now);
                        rt.pods[p].pending = false;
                    }
                    let pod = self.workload.jobs[job as usize].id.clone();
                    rt.log.push((now, PlatformEvent::PodBound { pod, node }));
                } else if matches!(phase, Some(ReplicaPhase::Starting | ReplicaPhase::Ready))
                    && !running
                {
                    // Its node failed or was drained: the pod is recreated and waits.
                    let r = rt.slot_mut(job);
                    if let Some(t) = r.ready_timer.take() {
                        ctx.cancel(t);
                    }
                    r.phase = Some(ReplicaPhase::Pending);
                    changed = true;
                }
            }
            if changed {
                record_ready(rt, s, now);
            }
        }
    }

    /// Evict lower-priority running jobs for the Pending replicas of `preempt` services;
    /// true if some were evicted.
    fn preempt_for_replicas(
        &mut self,
        rt: &mut ServingRuntime,
        now: SimTime,
        ctx: &mut Ctx<'_, Event>,
    ) -> bool {
        let mut pending: Vec<u32> = Vec::new();
        for (s, svc) in rt.cfg.services.iter().enumerate() {
            if svc.on_no_capacity != OnNoCapacity::Preempt {
                continue;
            }
            for &job in &rt.services[s].live {
                let js = &self.state.jobs[job as usize];
                if rt.slot(job).phase == Some(ReplicaPhase::Pending)
                    && js.phase == JobPhase::Waiting
                    && js.assumed == 0
                {
                    pending.push(job);
                }
            }
        }
        if pending.is_empty() {
            return false;
        }
        // Candidates: running jobs that are not replicas, lowest priority first, then the
        // most recently started, then the highest index.
        let mut candidates: Vec<u32> = self
            .state
            .running
            .iter()
            .copied()
            .filter(|&j| !rt.is_replica(j))
            .collect();
        candidates.sort_by_key(|&j| {
            let js = &self.state.jobs[j as usize];
            (
                self.workload.jobs[j as usize].priority,
                std::cmp::Reverse(js.run_since),
                std::cmp::Reverse(j),
            )
        });
        let mut trial = self.state.cluster.clone();
        // (victim, the service whose replica needs the room).
        let mut victims: Vec<(u32, usize)> = Vec::new();
        for job in pending {
            let req = self.workload.jobs[job as usize].pods[0].clone();
            let prio = self.workload.jobs[job as usize].priority;
            let mut t = trial.clone();
            let mut chosen: Vec<u32> = Vec::new();
            // A victim must hold something on a node that could host the replica at all
            // (its GPU model, enough GPUs when empty): evicting others frees nothing useful.
            let could_host = |n: u32| {
                let ns = &self.spec.nodes[n as usize];
                crate::state::NodeState::new(ns).fits(ns, &req).is_ok()
            };
            let mut rest = candidates.iter().copied().filter(|j| {
                !victims.iter().any(|(v, _)| v == j)
                    && self.workload.jobs[*j as usize].priority < prio
                    && self.state.jobs[*j as usize]
                        .pods
                        .iter()
                        .any(|ps| ps.placement.as_ref().is_some_and(|pl| could_host(pl.node)))
            });
            let placed = loop {
                if let Some((n, gpus)) = (0..t.nodes.len()).find_map(|n| {
                    let st = &t.nodes[n];
                    (st.condition == NodeCondition::Ready
                        && st.fits(&self.spec.nodes[n], &req).is_ok())
                    .then(|| st.pick_gpus(req.gpu).map(|g| (n as u32, g)))
                    .flatten()
                }) {
                    t.bind(n, &req, &gpus);
                    break true;
                }
                let Some(v) = rest.next() else {
                    break false;
                };
                for (p, ps) in self.state.jobs[v as usize].pods.iter().enumerate() {
                    if let Some(pl) = &ps.placement {
                        t.unbind(pl.node, &self.workload.jobs[v as usize].pods[p], &pl.gpus);
                    }
                }
                chosen.push(v);
            };
            if placed {
                trial = t;
                let by = rt.slot(job).service;
                victims.extend(chosen.into_iter().map(|v| (v, by)));
            }
        }
        if victims.is_empty() {
            return false;
        }
        for (v, by) in victims {
            let held = u64::from(self.state.jobs[v as usize].assumed);
            let evictions = self.state.jobs[v as usize].evictions;
            super::faults::restart_job(self, v, now, ctx);
            self.state.preemptions += held;
            self.state.jobs[v as usize].evictions = evictions + 1;
            rt.log.push((
                now,
                PlatformEvent::Preempted {
                    job: self.workload.jobs[v as usize].id.clone(),
                    service: rt.cfg.services[by].name.clone(),
                },
            ));
        }
        true
    }

    fn serving_scrape(&mut self, rt: &mut ServingRuntime, now: SimTime) {
        // Who holds each device: the job whose pod's placement names it.
        let mut holder: BTreeMap<(u32, u8), u32> = BTreeMap::new();
        if rt.cfg.metrics.exporter.is_some() {
            for (j, js) in self.state.jobs.iter().enumerate() {
                for ps in &js.pods {
                    if let Some(pl) = &ps.placement {
                        for &g in &pl.gpus {
                            holder.entry((pl.node, g)).or_insert(j as u32);
                        }
                    }
                }
            }
        }
        let mut devices = Vec::new();
        if rt.cfg.metrics.exporter.is_some() {
            for (n, ns) in self.spec.nodes.iter().enumerate() {
                if self.state.cluster.nodes[n].condition != NodeCondition::Ready {
                    continue;
                }
                for g in 0..ns.gpus {
                    let h = holder.get(&(n as u32, g as u8)).copied();
                    let util = match h {
                        None => 0.0,
                        Some(j) if rt.is_replica(j) => {
                            let r = rt.slot(j);
                            match r.phase {
                                Some(ReplicaPhase::Ready | ReplicaPhase::Draining) => {
                                    f64::from(r.in_flight)
                                        / f64::from(rt.cfg.services[r.service].concurrency)
                                }
                                _ => 0.0,
                            }
                        }
                        Some(j) if self.state.jobs[j as usize].phase == JobPhase::Running => 1.0,
                        Some(_) => 0.0,
                    };
                    devices.push(DeviceReading {
                        node: &ns.name,
                        accelerator: ns.gpu_model.as_deref().unwrap_or(""),
                        gpu: g as usize,
                        held: h.is_some(),
                        util,
                    });
                }
            }
        }
        let readings: Vec<(u32, u32)> = (0..rt.services.len())
            .map(|s| {
                let (mut in_flight, mut ready) = (0, 0);
                for r in rt.slots.iter().filter(|r| r.service == s) {
                    in_flight += r.in_flight;
                    ready += u32::from(r.phase == Some(ReplicaPhase::Ready));
                }
                (in_flight, ready)
            })
            .collect();
        let services: Vec<ServiceReading<'_>> = rt
            .cfg
            .services
            .iter()
            .enumerate()
            .map(|(s, svc)| ServiceReading {
                name: &svc.name,
                book: &rt.services[s].book,
                in_flight: readings[s].0,
                ready: readings[s].1,
            })
            .collect();
        metrics::scrape(
            &mut rt.metrics,
            &mut rt.service_samples,
            &rt.cfg.metrics,
            &devices,
            &services,
            now,
        );
    }
}

fn record_ready(rt: &mut ServingRuntime, s: usize, now: SimTime) {
    let ready = rt.services[s]
        .live
        .iter()
        .filter(|&&j| rt.slot(j).phase == Some(ReplicaPhase::Ready))
        .count() as u32;
    let name = rt.cfg.services[s].name.clone();
    push_change(&mut rt.ready_series, &name, now, ready);
}
