//! `PlatformSim`: the platform as a `sim_core::Model`. Events change nodes, pods,
//! replicas and queues; at the end of each instant one scheduling cycle binds whatever
//! fits (if anything changed) and a due scrape samples the metrics.

use std::collections::{BTreeMap, VecDeque};

use rand_chacha::ChaCha8Rng;
use sim_core::{Ctx, Model, RngStreams, SimTime, TimerId};

use super::autoscaler::{CaAction, CaState};
use super::cluster::{Cluster, Node, NodeState, Pod, PodOwner, PodPhase};
use super::config::{DeviceField, HpaMetric, PlatformConfig};
use super::events::PlatformEvent;
use super::hpa::{HpaInput, HpaSample, Stabilizer, desired_replicas};
use super::metrics::{MetricKind, MetricsStore, SeriesKey};
use super::traffic;
use super::{PodSummary, RequestRecord};

/// Engine events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    SubmitBatch(usize),
    DeleteBatch(usize),
    BatchDone(usize),
    CaScan,
    NodeReady(usize),
    ProvisionTimeout(usize),
    ReplicaReady(usize),
    Arrival(usize),
    RequestDone { pod: usize, req: usize },
    HpaSync(usize),
    Scrape,
}

/// State of one replica pod of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReplicaPhase {
    Pending,
    Starting,
    Ready,
    /// Deleted by a scale-down; finishes its in-flight requests, takes no new ones.
    Draining,
}

#[derive(Clone, Debug)]
struct Replica {
    service: usize,
    phase: ReplicaPhase,
    in_flight: u32,
    ready_timer: Option<TimerId>,
}

#[derive(Clone, Debug)]
struct ServiceState {
    spec: u32,
    /// Live (not draining) replica pods, in creation order.
    pods: Vec<usize>,
    queue: VecDeque<usize>,
    rng: ChaCha8Rng,
    seq: u32,
    completed: u64,
    latency_sum: f64,
    wait_sum: f64,
    /// Served requests with latency ≤ each bucket bound.
    buckets: Vec<u64>,
    stabilizer: Stabilizer,
    metric_failed: bool,
}

#[derive(Clone, Debug)]
struct TrafficState {
    arrivals: ChaCha8Rng,
    headers: ChaCha8Rng,
    route: ChaCha8Rng,
    prev: Option<SimTime>,
}

/// The model.
pub struct PlatformSim<'a> {
    cfg: &'a PlatformConfig,
    pub(crate) cluster: Cluster,
    node_seq: Vec<u32>,
    ca: CaState,
    batch_pod: Vec<Option<usize>>,
    batch_timer: BTreeMap<usize, TimerId>,
    services: Vec<ServiceState>,
    replicas: BTreeMap<usize, Replica>,
    traffic: Vec<TrafficState>,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) hpa_samples: BTreeMap<String, Vec<HpaSample>>,
    pub(crate) metrics: MetricsStore,
    pub(crate) log: Vec<(SimTime, PlatformEvent)>,
    pub(crate) replica_series: BTreeMap<String, Vec<(SimTime, u32)>>,
    pub(crate) ready_series: BTreeMap<String, Vec<(SimTime, u32)>>,
    pub(crate) node_series: BTreeMap<String, Vec<(SimTime, u32)>>,
    pub(crate) routed: BTreeMap<(String, String), u64>,
    dirty: bool,
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

impl<'a> PlatformSim<'a> {
    /// The platform at t=0: initial nodes Ready, initial replica pods created.
    pub fn new(cfg: &'a PlatformConfig, seed: u64) -> PlatformSim<'a> {
        let streams = RngStreams::new(seed);
        let mut sim = PlatformSim {
            cfg,
            cluster: Cluster::default(),
            node_seq: vec![0; cfg.pools.len()],
            ca: CaState::default(),
            batch_pod: vec![None; cfg.batch_pods.len()],
            batch_timer: BTreeMap::new(),
            services: cfg
                .services
                .iter()
                .map(|s| ServiceState {
                    spec: 0,
                    pods: Vec::new(),
                    queue: VecDeque::new(),
                    rng: streams.stream(&format!("service/{}", s.name)),
                    seq: 0,
                    completed: 0,
                    latency_sum: 0.0,
                    wait_sum: 0.0,
                    buckets: vec![0; cfg.metrics.latency_buckets.len()],
                    stabilizer: Stabilizer::default(),
                    metric_failed: false,
                })
                .collect(),
            replicas: BTreeMap::new(),
            traffic: cfg
                .traffic
                .iter()
                .map(|t| TrafficState {
                    arrivals: streams.stream(&format!("traffic/{}/arrivals", t.name)),
                    headers: streams.stream(&format!("traffic/{}/headers", t.name)),
                    route: streams.stream(&format!("gateway/{}", t.name)),
                    prev: None,
                })
                .collect(),
            requests: Vec::new(),
            hpa_samples: BTreeMap::new(),
            metrics: MetricsStore::default(),
            log: Vec::new(),
            replica_series: BTreeMap::new(),
            ready_series: BTreeMap::new(),
            node_series: BTreeMap::new(),
            routed: BTreeMap::new(),
            dirty: true,
            scrape_due: false,
        };
        for (p, pool) in cfg.pools.iter().enumerate() {
            for _ in 0..pool.initial_nodes() {
                let n = sim.add_node(p, SimTime::ZERO);
                sim.cluster.nodes[n].state = NodeState::Ready;
                sim.cluster.nodes[n].ready_at = Some(SimTime::ZERO);
            }
            sim.record_pool(p, SimTime::ZERO);
        }
        for (s, svc) in cfg.services.iter().enumerate() {
            let _ = svc;
            sim.set_replicas(s, svc.replicas, SimTime::ZERO, None);
        }
        sim.describe_metrics();
        sim
    }

    /// The events that start the run.
    pub fn initial_events(&mut self) -> Vec<(SimTime, Ev)> {
        let cfg = self.cfg;
        let mut out = Vec::new();
        for (i, b) in cfg.batch_pods.iter().enumerate() {
            out.push((b.submit, Ev::SubmitBatch(i)));
        }
        for (i, b) in cfg.batch_pods.iter().enumerate() {
            if let Some(t) = b.delete_at {
                out.push((t, Ev::DeleteBatch(i)));
            }
        }
        if let Some(ca) = &cfg.cluster_autoscaler {
            out.push((SimTime::ZERO + ca.scan_interval, Ev::CaScan));
        }
        for (s, svc) in cfg.services.iter().enumerate() {
            if let Some(h) = &svc.hpa {
                out.push((SimTime::ZERO + h.sync_period, Ev::HpaSync(s)));
            }
        }
        for (t, tc) in cfg.traffic.iter().enumerate() {
            let st = &mut self.traffic[t];
            if let Some(at) = traffic::next_arrival(&tc.load, tc.arrivals, None, &mut st.arrivals) {
                st.prev = Some(at);
                out.push((at, Ev::Arrival(t)));
            }
        }
        out.push((SimTime::ZERO + cfg.metrics.scrape_interval, Ev::Scrape));
        out
    }

    fn log(&mut self, at: SimTime, e: PlatformEvent) {
        self.log.push((at, e));
    }

    fn add_node(&mut self, pool: usize, now: SimTime) -> usize {
        let pc = &self.cfg.pools[pool];
        let name = format!("{}-{}", pc.name, self.node_seq[pool]);
        self.node_seq[pool] += 1;
        self.cluster.nodes.push(Node {
            name,
            pool,
            accelerator: pc.accelerator.clone(),
            gpus: pc.gpus_per_node,
            allocated: 0,
            state: NodeState::Provisioning,
            created: now,
            ready_at: None,
            removed_at: None,
            pods: Default::default(),
            devices: vec![None; pc.gpus_per_node as usize],
        });
        self.cluster.nodes.len() - 1
    }

    fn record_pool(&mut self, pool: usize, now: SimTime) {
        let ready = self.cluster.pool_ready(pool);
        push_change(
            &mut self.node_series,
            &self.cfg.pools[pool].name,
            now,
            ready,
        );
    }

    fn record_ready(&mut self, s: usize, now: SimTime) {
        let ready = self.services[s]
            .pods
            .iter()
            .filter(|p| self.replicas[p].phase == ReplicaPhase::Ready)
            .count() as u32;
        push_change(
            &mut self.ready_series,
            &self.cfg.services[s].name,
            now,
            ready,
        );
    }

    fn new_pod(
        &mut self,
        name: String,
        owner: PodOwner,
        acc: &str,
        gpus: u32,
        now: SimTime,
    ) -> usize {
        self.cluster.pods.push(Pod {
            name: name.clone(),
            owner,
            accelerator: acc.to_string(),
            gpus,
            phase: PodPhase::Pending,
            node: None,
            created: now,
            bound_at: None,
            ended_at: None,
            unschedulable: false,
        });
        self.log(
            now,
            PlatformEvent::PodCreated {
                pod: name,
                gpus,
                accelerator: acc.to_string(),
            },
        );
        self.dirty = true;
        self.cluster.pods.len() - 1
    }

    fn end_pod(&mut self, pod: usize, phase: PodPhase, now: SimTime) {
        self.cluster.end_pod(pod, phase, now);
        let name = self.cluster.pods[pod].name.clone();
        self.log(
            now,
            match phase {
                PodPhase::Succeeded => PlatformEvent::PodCompleted { pod: name },
                _ => PlatformEvent::PodDeleted { pod: name },
            },
        );
        self.dirty = true;
    }

    /// Set a Deployment's `spec.replicas`: create pods or delete victims (Pending, then
    /// starting, then Ready replicas; newest first within each).
    fn set_replicas(&mut self, s: usize, n: u32, now: SimTime, mut ctx: Option<&mut Ctx<'_, Ev>>) {
        let svc = &self.cfg.services[s];
        self.services[s].spec = n;
        push_change(&mut self.replica_series, &svc.name, now, n);
        while (self.services[s].pods.len() as u32) < n {
            let name = format!("{}-{}", svc.name, self.services[s].seq);
            self.services[s].seq += 1;
            let pod = self.new_pod(
                name,
                PodOwner::Replica(s),
                &svc.accelerator,
                svc.gpus_per_replica,
                now,
            );
            self.services[s].pods.push(pod);
            self.replicas.insert(
                pod,
                Replica {
                    service: s,
                    phase: ReplicaPhase::Pending,
                    in_flight: 0,
                    ready_timer: None,
                },
            );
        }
        while (self.services[s].pods.len() as u32) > n {
            let rank = |p: &ReplicaPhase| match p {
                ReplicaPhase::Pending => 0,
                ReplicaPhase::Starting => 1,
                _ => 2,
            };
            let Some(idx) = (0..self.services[s].pods.len())
                .rev()
                .min_by_key(|&i| rank(&self.replicas[&self.services[s].pods[i]].phase))
            else {
                break;
            };
            let pod = self.services[s].pods.remove(idx);
            let r = self.replicas.get_mut(&pod).map(|r| {
                if let Some(t) = r.ready_timer.take() {
                    (r.phase, r.in_flight, Some(t))
                } else {
                    (r.phase, r.in_flight, None)
                }
            });
            if let Some((_, _, Some(t))) = r
                && let Some(c) = ctx.as_deref_mut()
            {
                c.cancel(t);
            }
            match r {
                Some((ReplicaPhase::Ready, inflight, _)) if inflight > 0 => {
                    if let Some(r) = self.replicas.get_mut(&pod) {
                        r.phase = ReplicaPhase::Draining;
                    }
                }
                _ => {
                    self.replicas.remove(&pod);
                    self.end_pod(pod, PodPhase::Deleted, now);
                }
            }
        }
        // The Ready count may have dropped.
        self.record_ready(s, now);
    }

    /// Start queued requests on Ready replicas with a free slot (least in-flight first,
    /// then the oldest replica).
    fn dispatch(&mut self, s: usize, ctx: &mut Ctx<'_, Ev>) {
        let svc = &self.cfg.services[s];
        let now = ctx.now();
        while let Some(&req) = self.services[s].queue.front() {
            let pick = self.services[s]
                .pods
                .iter()
                .copied()
                .filter(|p| {
                    let r = &self.replicas[p];
                    r.phase == ReplicaPhase::Ready && r.in_flight < svc.concurrency
                })
                .min_by_key(|p| self.replicas[p].in_flight);
            let Some(pod) = pick else { break };
            self.services[s].queue.pop_front();
            if let Some(r) = self.replicas.get_mut(&pod) {
                r.in_flight += 1;
            }
            self.requests[req].start = Some(now);
            self.requests[req].pod = Some(self.cluster.pods[pod].name.clone());
            let d = traffic::service_time(
                svc.service_time,
                svc.service_distribution,
                &mut self.services[s].rng,
            );
            ctx.schedule_in(d, Ev::RequestDone { pod, req });
        }
    }

    fn ca_scan(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let Some(cacfg) = &self.cfg.cluster_autoscaler else {
            return;
        };
        let now = ctx.now();
        let actions = self.ca.scan(now, cacfg, &self.cfg.pools, &self.cluster);
        for a in actions {
            match a {
                CaAction::ScaleUp { pool, add, pods } => {
                    let from = self.cluster.pool_size(pool);
                    let pc = &self.cfg.pools[pool];
                    for _ in 0..add {
                        let n = self.add_node(pool, now);
                        if pc.provisioning_delay > cacfg.max_node_provision_time {
                            ctx.schedule_in(cacfg.max_node_provision_time, Ev::ProvisionTimeout(n));
                        } else {
                            ctx.schedule_in(pc.provisioning_delay, Ev::NodeReady(n));
                        }
                    }
                    self.log(
                        now,
                        PlatformEvent::ScaleUp {
                            pool: pc.name.clone(),
                            from,
                            to: from + add,
                            pending_pods: pods,
                        },
                    );
                }
                CaAction::NoScaleUp { pod, reason } => {
                    let pod = self.cluster.pods[pod].name.clone();
                    self.log(now, PlatformEvent::NoScaleUp { pod, reason });
                }
                CaAction::Remove { node, since } => {
                    let n = &mut self.cluster.nodes[node];
                    n.state = NodeState::Removed;
                    n.removed_at = Some(now);
                    let (name, pool) = (n.name.clone(), n.pool);
                    self.log(
                        now,
                        PlatformEvent::NodeRemoved {
                            node: name,
                            pool: self.cfg.pools[pool].name.clone(),
                            unneeded_for: now.since(since),
                        },
                    );
                    self.record_pool(pool, now);
                }
            }
        }
        ctx.schedule_in(cacfg.scan_interval, Ev::CaScan);
    }

    fn hpa_sync(&mut self, s: usize, ctx: &mut Ctx<'_, Ev>) {
        let svc = &self.cfg.services[s];
        let Some(h) = &svc.hpa else { return };
        let now = ctx.now();
        ctx.schedule_in(h.sync_period, Ev::HpaSync(s));
        if !h.custom_metrics_adapter {
            if !self.services[s].metric_failed {
                self.services[s].metric_failed = true;
                self.log(
                    now,
                    PlatformEvent::HpaFailedGetMetric {
                        service: svc.name.clone(),
                        metric: h.metric.name().into(),
                    },
                );
            }
            return;
        }
        let st = &self.services[s];
        let ready: Vec<usize> = st
            .pods
            .iter()
            .copied()
            .filter(|p| self.replicas[p].phase == ReplicaPhase::Ready)
            .collect();
        let sum = match h.metric {
            HpaMetric::InferenceQueueDepth => st.queue.len() as f64,
            HpaMetric::InferenceRequestsInFlight => ready
                .iter()
                .map(|p| f64::from(self.replicas[p].in_flight))
                .sum(),
        };
        let input = HpaInput {
            current: st.spec,
            ready: ready.len() as u32,
            unready: (st.pods.len() - ready.len()) as u32,
            sum,
        };
        let Some((desired, counted)) = desired_replicas(input, h.target, h.tolerance) else {
            return;
        };
        let rec = desired.clamp(h.min_replicas, h.max_replicas);
        let applied = self.services[s]
            .stabilizer
            .apply(
                now,
                input.current,
                rec,
                h.scale_down_stabilization,
                h.max_replicas,
            )
            .clamp(h.min_replicas, h.max_replicas);
        let value = sum / f64::from(input.ready);
        self.hpa_samples
            .entry(svc.name.clone())
            .or_default()
            .push(HpaSample {
                at: now,
                current: input.current,
                ready: input.ready,
                value,
                counted,
                desired,
                recommendation: rec,
                applied,
            });
        if applied != input.current {
            self.log(
                now,
                PlatformEvent::HpaRescale {
                    service: svc.name.clone(),
                    from: input.current,
                    to: applied,
                    metric: h.metric.name().into(),
                    value,
                    target: h.target,
                },
            );
            self.set_replicas(s, applied, now, Some(ctx));
        }
    }

    fn arrival(&mut self, t: usize, ctx: &mut Ctx<'_, Ev>) {
        let cfg = self.cfg;
        let tc = &cfg.traffic[t];
        let now = ctx.now();
        let st = &mut self.traffic[t];
        let header = traffic::draw_header(&tc.headers, &mut st.headers);
        let backend = traffic::route_request(
            &tc.route,
            cfg.gateway.as_ref(),
            header.as_deref(),
            &mut st.route,
        );
        if let Some(next) = traffic::next_arrival(&tc.load, tc.arrivals, st.prev, &mut st.arrivals)
        {
            st.prev = Some(next);
            ctx.schedule_at(next, Ev::Arrival(t));
        }
        let s = cfg
            .services
            .iter()
            .position(|x| x.name == backend)
            .unwrap_or(0);
        *self
            .routed
            .entry((tc.name.clone(), backend.to_string()))
            .or_default() += 1;
        let id = self.requests.len();
        self.requests.push(RequestRecord {
            traffic: tc.name.clone(),
            service: backend.to_string(),
            header,
            arrival: now,
            start: None,
            end: None,
            pod: None,
        });
        self.services[s].queue.push_back(id);
        self.dispatch(s, ctx);
    }

    fn request_done(&mut self, pod: usize, req: usize, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let Some(r) = self.replicas.get_mut(&pod) else {
            return;
        };
        r.in_flight = r.in_flight.saturating_sub(1);
        let (s, drained) = (
            r.service,
            r.phase == ReplicaPhase::Draining && r.in_flight == 0,
        );
        let rec = &mut self.requests[req];
        rec.end = Some(now);
        let total = now.since(rec.arrival).as_secs_f64();
        let wait = rec.start.unwrap_or(now).since(rec.arrival).as_secs_f64();
        let st = &mut self.services[s];
        st.completed += 1;
        st.latency_sum += total;
        st.wait_sum += wait;
        for (b, bound) in st.buckets.iter_mut().zip(&self.cfg.metrics.latency_buckets) {
            if total <= *bound {
                *b += 1;
            }
        }
        if drained {
            self.replicas.remove(&pod);
            self.end_pod(pod, PodPhase::Deleted, now);
        }
        self.dispatch(s, ctx);
    }

    fn describe_metrics(&mut self) {
        let m = &mut self.metrics;
        if let Some(ex) = &self.cfg.metrics.exporter {
            for f in &ex.fields {
                let help = match f {
                    DeviceField::Utilization => "GPU utilization (in %).",
                    DeviceField::MemoryUsed => "Framebuffer memory used (in MiB).",
                    DeviceField::Power => "Power draw (in W).",
                    DeviceField::Temperature => "GPU temperature (in C).",
                };
                m.describe(f.metric_name(), MetricKind::Gauge, help);
            }
        }
        if self.cfg.metrics.service_discovery {
            m.describe(
                "inference_requests_total",
                MetricKind::Counter,
                "Requests served.",
            );
            m.describe(
                "inference_request_duration_seconds",
                MetricKind::Histogram,
                "Request latency (queueing and service), seconds.",
            );
            m.describe(
                "inference_request_queue_seconds_sum",
                MetricKind::Counter,
                "Total queueing latency, seconds.",
            );
            m.describe(
                "inference_queue_depth",
                MetricKind::Gauge,
                "Requests waiting in the service's queue.",
            );
            m.describe(
                "inference_requests_in_flight",
                MetricKind::Gauge,
                "Requests being served.",
            );
        }
    }

    /// Sample every exported series.
    fn scrape(&mut self, now: SimTime) {
        let cfg = self.cfg;
        if let Some(ex) = &cfg.metrics.exporter {
            let dm = &ex.device;
            for n in &self.cluster.nodes {
                if n.state != NodeState::Ready {
                    continue;
                }
                for (g, holder) in n.devices.iter().enumerate() {
                    let util = match holder {
                        None => 0.0,
                        Some(p) => match self.replicas.get(p) {
                            None => 1.0,
                            Some(r) => match r.phase {
                                ReplicaPhase::Ready | ReplicaPhase::Draining => {
                                    f64::from(r.in_flight)
                                        / f64::from(cfg.services[r.service].concurrency)
                                }
                                _ => 0.0,
                            },
                        },
                    };
                    let gpu = g.to_string();
                    for f in &ex.fields {
                        let v = match f {
                            DeviceField::Utilization => (util * 100.0).round(),
                            DeviceField::MemoryUsed => {
                                if holder.is_some() {
                                    dm.allocated_fb_mib
                                } else {
                                    0.0
                                }
                            }
                            DeviceField::Power => {
                                dm.idle_power_w + (dm.busy_power_w - dm.idle_power_w) * util
                            }
                            DeviceField::Temperature => {
                                dm.idle_temp_c + (dm.busy_temp_c - dm.idle_temp_c) * util
                            }
                        };
                        let key = SeriesKey::new(
                            f.metric_name(),
                            &[
                                ("gpu", &gpu),
                                ("Hostname", &n.name),
                                ("modelName", &n.accelerator),
                            ],
                        );
                        self.metrics.record(key, now, v);
                    }
                }
            }
        }
        if cfg.metrics.service_discovery {
            for (s, svc) in cfg.services.iter().enumerate() {
                let st = &self.services[s];
                let in_flight: u32 = self
                    .replicas
                    .values()
                    .filter(|r| r.service == s)
                    .map(|r| r.in_flight)
                    .sum();
                let l = [("service", svc.name.as_str())];
                let rows = [
                    ("inference_requests_total", st.completed as f64),
                    ("inference_request_duration_seconds_sum", st.latency_sum),
                    (
                        "inference_request_duration_seconds_count",
                        st.completed as f64,
                    ),
                    ("inference_request_queue_seconds_sum", st.wait_sum),
                    ("inference_queue_depth", st.queue.len() as f64),
                    ("inference_requests_in_flight", f64::from(in_flight)),
                ];
                for (name, v) in rows {
                    self.metrics.record(SeriesKey::new(name, &l), now, v);
                }
                let bounds = &cfg.metrics.latency_buckets;
                for (bound, n) in bounds.iter().zip(&st.buckets) {
                    let le = super::metrics::format_value(*bound);
                    let key = SeriesKey::new(
                        "inference_request_duration_seconds_bucket",
                        &[("service", svc.name.as_str()), ("le", le.as_str())],
                    );
                    self.metrics.record(key, now, *n as f64);
                }
                let key = SeriesKey::new(
                    "inference_request_duration_seconds_bucket",
                    &[("service", svc.name.as_str()), ("le", "+Inf")],
                );
                self.metrics.record(key, now, st.completed as f64);
            }
        }
    }

    /// Pod summaries for the run's result.
    pub(crate) fn pod_summaries(&self) -> Vec<PodSummary> {
        self.cluster
            .pods
            .iter()
            .map(|p| PodSummary {
                name: p.name.clone(),
                owner: match p.owner {
                    PodOwner::Batch(_) => None,
                    PodOwner::Replica(s) => Some(self.cfg.services[s].name.clone()),
                },
                accelerator: p.accelerator.clone(),
                gpus: p.gpus,
                node: p.node.map(|n| self.cluster.nodes[n].name.clone()),
                node_accelerator: p.node.map(|n| self.cluster.nodes[n].accelerator.clone()),
                created: p.created,
                bound_at: p.bound_at,
                ended_at: p.ended_at,
                pending: p.phase == PodPhase::Pending,
            })
            .collect()
    }
}

impl Model for PlatformSim<'_> {
    type Event = Ev;

    fn handle(&mut self, event: Ev, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let cfg = self.cfg;
        match event {
            Ev::SubmitBatch(b) => {
                let bc = &cfg.batch_pods[b];
                let pod = self.new_pod(
                    bc.name.clone(),
                    PodOwner::Batch(b),
                    &bc.accelerator,
                    bc.gpus,
                    now,
                );
                self.batch_pod[b] = Some(pod);
            }
            Ev::DeleteBatch(b) => {
                if let Some(pod) = self.batch_pod[b] {
                    if let Some(t) = self.batch_timer.remove(&pod) {
                        ctx.cancel(t);
                    }
                    if matches!(
                        self.cluster.pods[pod].phase,
                        PodPhase::Pending | PodPhase::Running
                    ) {
                        self.end_pod(pod, PodPhase::Deleted, now);
                    }
                }
            }
            Ev::BatchDone(pod) => {
                self.batch_timer.remove(&pod);
                self.end_pod(pod, PodPhase::Succeeded, now);
            }
            Ev::CaScan => self.ca_scan(ctx),
            Ev::NodeReady(n) => {
                if self.cluster.nodes[n].state == NodeState::Provisioning {
                    let node = &mut self.cluster.nodes[n];
                    node.state = NodeState::Ready;
                    node.ready_at = Some(now);
                    let (name, pool) = (node.name.clone(), node.pool);
                    self.log(
                        now,
                        PlatformEvent::NodeReady {
                            node: name,
                            pool: cfg.pools[pool].name.clone(),
                        },
                    );
                    self.record_pool(pool, now);
                    self.dirty = true;
                }
            }
            Ev::ProvisionTimeout(n) => {
                if self.cluster.nodes[n].state == NodeState::Provisioning {
                    let node = &mut self.cluster.nodes[n];
                    node.state = NodeState::Removed;
                    node.removed_at = Some(now);
                    let (name, pool) = (node.name.clone(), node.pool);
                    if let Some(ca) = &cfg.cluster_autoscaler {
                        self.ca
                            .backoff_until
                            .insert(pool, now + ca.node_group_backoff);
                    }
                    self.log(
                        now,
                        PlatformEvent::NodeProvisionTimedOut {
                            node: name,
                            pool: cfg.pools[pool].name.clone(),
                        },
                    );
                }
            }
            Ev::ReplicaReady(pod) => {
                let Some(r) = self.replicas.get_mut(&pod) else {
                    return;
                };
                if r.phase != ReplicaPhase::Starting {
                    return;
                }
                r.phase = ReplicaPhase::Ready;
                r.ready_timer = None;
                let s = r.service;
                self.log(
                    now,
                    PlatformEvent::ReplicaReady {
                        service: cfg.services[s].name.clone(),
                        pod: self.cluster.pods[pod].name.clone(),
                    },
                );
                self.record_ready(s, now);
                self.dispatch(s, ctx);
            }
            Ev::Arrival(t) => self.arrival(t, ctx),
            Ev::RequestDone { pod, req } => self.request_done(pod, req, ctx),
            Ev::HpaSync(s) => self.hpa_sync(s, ctx),
            Ev::Scrape => {
                self.scrape_due = true;
                ctx.schedule_in(cfg.metrics.scrape_interval, Ev::Scrape);
            }
        }
    }

    fn instant_end(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        if self.dirty {
            self.dirty = false;
            let out = self.cluster.schedule(ctx.chooser(), now);
            for pod in out.newly_unschedulable {
                let name = self.cluster.pods[pod].name.clone();
                self.log(now, PlatformEvent::PodUnschedulable { pod: name });
            }
            for (pod, node) in out.bound {
                let (pname, nname) = (
                    self.cluster.pods[pod].name.clone(),
                    self.cluster.nodes[node].name.clone(),
                );
                self.log(
                    now,
                    PlatformEvent::PodBound {
                        pod: pname,
                        node: nname,
                    },
                );
                match self.cluster.pods[pod].owner {
                    PodOwner::Batch(b) => {
                        if let Some(d) = self.cfg.batch_pods[b].duration {
                            let t = ctx.schedule_in(d, Ev::BatchDone(pod));
                            self.batch_timer.insert(pod, t);
                        }
                    }
                    PodOwner::Replica(s) => {
                        let delay = self.cfg.services[s].startup_delay;
                        let t = ctx.schedule_in(delay, Ev::ReplicaReady(pod));
                        if let Some(r) = self.replicas.get_mut(&pod) {
                            r.phase = ReplicaPhase::Starting;
                            r.ready_timer = Some(t);
                        }
                    }
                }
            }
        }
        if self.scrape_due {
            self.scrape_due = false;
            self.scrape(now);
        }
    }
}
