//! `PlatformSim`: the platform as a `sim_core::Model`. Events change nodes, pods,
//! replicas and queues; at the end of each instant one scheduling cycle binds whatever
//! fits (if anything changed) and a due scrape samples the metrics.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use sim_core::{Ctx, Model, RngStreams, SimTime, TimerId};

mod scrape;
mod serving;

use super::autoscaler::{CaAction, CaState, PlatformCaView};
use super::cluster::{Cluster, Node, NodeState, Pod, PodOwner, PodPhase};
use super::config::PlatformConfig;
use super::events::PlatformEvent;
use super::{PodSummary, RequestRecord};
use crate::controllers::gateway as traffic;
use crate::controllers::hpa::{HpaSample, Stabilizer};
use crate::controllers::metrics::MetricsStore;
pub(crate) use crate::controllers::serving::ReplicaPhase;
use crate::controllers::serving::ServiceBook;

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
    /// The queue and what was served (the metrics read it).
    book: ServiceBook,
    rng: ChaCha8Rng,
    seq: u32,
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
    pub(crate) service_samples: BTreeMap<String, Vec<super::ServiceSample>>,
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
                    book: ServiceBook::new(cfg.metrics.latency_buckets.len()),
                    rng: streams.stream(&format!("service/{}", s.name)),
                    seq: 0,
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
            service_samples: BTreeMap::new(),
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
    fn ca_scan(&mut self, ctx: &mut Ctx<'_, Ev>) {
        let Some(cacfg) = &self.cfg.cluster_autoscaler else {
            return;
        };
        let now = ctx.now();
        let view = PlatformCaView::new(&self.cfg.pools, &self.cluster);
        let actions = self.ca.scan(now, cacfg, &view);
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
        // Scrape once the instant is closed (nothing more due now, e.g. replicas that are
        // Ready as soon as bound).
        if self.scrape_due && ctx.next_event_time().is_none_or(|t| t > now) {
            self.scrape_due = false;
            self.scrape(now);
        }
    }
}
