//! Step-based jobs on the network and storage model (`models::net`), when a scenario turns
//! it on. A job's trace duration is taken as its pure compute time: it runs
//! `duration / steps.compute` steps, and each step takes what the model says for its
//! placement and the traffic of every other running job (communication not hidden behind
//! compute, input reads, checkpoints). Whenever a job starts or stops, the jobs whose flow
//! rates changed are re-timed: progress so far is banked and the completion rescheduled.
//! With the model off (the default) nothing here runs and results are byte-identical to
//! duration-based runs.
//!
//! Dataset staging (optional, `network.staging`): before its first step a job copies a
//! dataset volume from the shared filesystem into the local NVMe of each of its nodes, as
//! finite flows in the same solver (filesystem read bandwidth, storage NIC, NVMe write,
//! per-client read cap). What a node's NVMe cache already holds of the dataset is not read
//! again. The job holds its GPUs while staging; its steps start when the last node is done.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, SimDuration, SimTime};

use super::{ClusterSim, Event, ModelError};
use crate::cluster::ClusterSpec;
use crate::net::{
    FlowId, FlowNet, GpuRef, JobTraffic, LinkKind, NetworkConfig, NodeCache, Placement, StepSpec,
    Topology, changed_owners, staging_flows,
};

/// Link kinds whose load is sampled into the run's network time series.
const SAMPLED: [(LinkKind, &str); 5] = [
    (LinkKind::NicUp, "nic_up"),
    (LinkKind::LeafUp, "leaf_uplink"),
    (LinkKind::StorageUp, "storage_nic"),
    (LinkKind::FsRead, "fs_read"),
    (LinkKind::FsWrite, "fs_write"),
];

/// Fixed-point unit of the sampled utilisations.
const UTIL_ONE: f64 = 4_294_967_296.0;

/// One sampled kind of link: the sum and the multiset of its links' utilisations.
#[derive(Clone, Debug)]
struct KindLoad {
    name: &'static str,
    links: u32,
    sum: u128,
    /// Utilisation (fixed point) → number of links at it.
    counts: BTreeMap<u64, u32>,
    /// (sum, max) of the last sample written.
    last: Option<(u128, u64)>,
}

/// Load on one kind of link at one instant (utilisation = load / capacity).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetSample {
    pub time: SimTime,
    pub kind: String,
    pub links: u32,
    pub mean_utilisation: f64,
    pub max_utilisation: f64,
}

/// Where one job's time went on the network model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetJob {
    pub job: u32,
    pub steps: f64,
    /// Compute time (steps × compute per step), ns.
    pub compute_ns: u128,
    /// Communication and I/O not hidden behind compute, ns.
    pub exposed_ns: u128,
    /// Time spent staging the dataset before step one (all attempts), ns.
    pub staging_ns: u128,
}

/// The network model of a run: hardware configuration and the step every GPU job runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetModel {
    #[serde(default)]
    pub config: NetworkConfig,
    pub steps: StepSpec,
    /// A dataset volume every step-based job stages before its first step.
    #[serde(default)]
    pub staging: Option<StagingSpec>,
}

/// Dataset staging before a job's first step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagingSpec {
    /// Bytes of the dataset each node of the job must hold locally before step one.
    pub bytes_per_node: u64,
    /// Which jobs read the same dataset (the key of the node-local NVMe cache).
    #[serde(default)]
    pub dataset: DatasetScope,
}

/// Which jobs share a dataset, and so find it in a node's NVMe cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetScope {
    /// Each job has its own dataset: only the job itself finds it cached (when it restarts
    /// on a node it staged before, e.g. after preemption).
    #[default]
    PerJob,
    /// Jobs of one queue share a dataset (jobs without a queue share the default one).
    PerQueue,
    /// Every job reads the same dataset: a node that staged it serves later jobs from cache.
    Shared,
}

/// Per job: time accounting on the network model.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NetAccount {
    pub steps: f64,
    /// Exposed communication + I/O time, ns.
    pub exposed_ns: u128,
    /// Staging time, ns.
    pub staging_ns: u128,
}

/// A job copying its dataset to its nodes.
#[derive(Clone, Debug)]
struct Staging {
    flows: Vec<FlowId>,
    left: usize,
    since: SimTime,
    dataset: String,
    /// (node, dataset bytes it must hold).
    nodes: Vec<(u32, u64)>,
}

/// Per running job: its registered traffic, current step time and when it was last timed.
#[derive(Clone, Debug)]
struct Running {
    traffic: JobTraffic,
    step_ns: u64,
    since: SimTime,
}

/// Run-time network state (`Clone`: the verifier snapshots it with `SimState`).
#[derive(Clone, Debug)]
pub struct NetRuntime {
    topo: Topology,
    flows: FlowNet,
    steps: StepSpec,
    running: BTreeMap<u32, Running>,
    staging_spec: Option<StagingSpec>,
    /// Jobs staging their dataset, and the owner of every staging flow.
    staging: BTreeMap<u32, Staging>,
    staging_flow: BTreeMap<FlowId, u32>,
    /// Node-local NVMe caches (topology node order; empty without staging).
    caches: Vec<NodeCache>,
    /// The engine timer armed for the earliest finite flow completion.
    timer: Option<(SimTime, sim_core::TimerId)>,
    /// Per job: steps run, exposed communication + I/O and staging time so far.
    pub accounting: BTreeMap<u32, NetAccount>,
    /// Sampled kinds of link, and per link its kind (`u8::MAX`: not sampled) and current
    /// utilisation in fixed point.
    sampled: Vec<KindLoad>,
    link_kind: Vec<u8>,
    link_util: Vec<u64>,
    pub series: Vec<NetSample>,
}

impl NetRuntime {
    pub fn new(m: &NetModel, spec: &ClusterSpec) -> Result<NetRuntime, ModelError> {
        if m.steps.compute.as_nanos() == 0 {
            return Err(ModelError::Config {
                field: "network.steps.compute".into(),
                msg: "must be > 0 (a job runs duration / compute steps)".into(),
            });
        }
        let topo = Topology::from_cluster(&m.config, spec).map_err(|e| ModelError::Config {
            field: "network".into(),
            msg: e.to_string(),
        })?;
        let flows = topo.flow_net();
        let mut flows = flows;
        flows.track_link_loads(true);
        let mut link_kind = vec![u8::MAX; topo.links().len()];
        let mut sampled = Vec::new();
        for (k, name) in SAMPLED {
            let n = topo.links().iter().filter(|l| l.kind == k).count() as u32;
            if n == 0 {
                continue;
            }
            for (i, l) in topo.links().iter().enumerate() {
                if l.kind == k {
                    link_kind[i] = sampled.len() as u8;
                }
            }
            sampled.push(KindLoad {
                name,
                links: n,
                sum: 0,
                counts: BTreeMap::from([(0, n)]),
                last: None,
            });
        }
        let link_util = vec![0; topo.links().len()];
        let caches = if m.staging.is_some() {
            let bytes = (m.config.node.nvme_capacity_tb.max(0.0) * 1e12) as u64;
            (0..topo.num_nodes())
                .map(|_| NodeCache::new(bytes))
                .collect()
        } else {
            Vec::new()
        };
        Ok(NetRuntime {
            topo,
            flows,
            steps: m.steps.clone(),
            running: BTreeMap::new(),
            staging_spec: m.staging.clone(),
            staging: BTreeMap::new(),
            staging_flow: BTreeMap::new(),
            caches,
            timer: None,
            link_kind,
            link_util,
            accounting: BTreeMap::new(),
            sampled,
            series: Vec::new(),
        })
    }

    /// Time for each node in `nodes` to read `bytes_per_node` from the shared filesystem
    /// (a checkpoint restore) at the rates those reads would get now: a probe of the
    /// flow solver, the reads are not added as flows. The slowest node decides.
    pub(super) fn restore_time(&self, nodes: &[u32], bytes_per_node: u64) -> SimDuration {
        let specs: Vec<crate::net::FlowSpec> = nodes
            .iter()
            .map(|&n| self.topo.fs_read_flow(n, bytes_per_node as f64))
            .collect();
        let rates = self.flows.probe_rates(&specs);
        specs
            .iter()
            .zip(&rates)
            .filter(|(s, _)| s.bytes > 0.0)
            .map(|(s, &r)| {
                if r > 0.0 {
                    crate::net::collective::secs_ceil(s.bytes / r)
                } else {
                    SimDuration::MAX
                }
            })
            .max()
            .unwrap_or(SimDuration::ZERO)
    }

    /// Record the load on every sampled kind of link at `now` (after a change), for the
    /// kinds whose figures moved. Only the links whose load changed are looked at: per-link
    /// utilisations are kept in fixed point (2^-32), so the sums stay exact.
    fn sample(&mut self, now: SimTime) {
        for l in self.flows.take_changed_links() {
            let k = self.link_kind[l.index()];
            let Some(kind) = self.sampled.get_mut(usize::from(k)) else {
                continue;
            };
            let st = self.flows.link_state(l, now);
            let u = if st.capacity > 0.0 {
                st.load / st.capacity
            } else {
                0.0
            };
            let new = (u.max(0.0) * UTIL_ONE).round() as u64;
            let old = std::mem::replace(&mut self.link_util[l.index()], new);
            if new == old {
                continue;
            }
            kind.sum = kind.sum - u128::from(old) + u128::from(new);
            if let Some(c) = kind.counts.get_mut(&old) {
                *c -= 1;
                if *c == 0 {
                    kind.counts.remove(&old);
                }
            }
            *kind.counts.entry(new).or_insert(0) += 1;
        }
        for kind in &mut self.sampled {
            let max = kind.counts.last_key_value().map_or(0, |(&u, _)| u);
            if kind.last == Some((kind.sum, max)) {
                continue;
            }
            kind.last = Some((kind.sum, max));
            self.series.push(NetSample {
                time: now,
                kind: kind.name.to_string(),
                links: kind.links,
                mean_utilisation: kind.sum as f64 / f64::from(kind.links) / UTIL_ONE,
                max_utilisation: max as f64 / UTIL_ONE,
            });
        }
    }

    /// Per-job accounting, in job order.
    pub fn jobs(&self, compute: SimDuration) -> Vec<NetJob> {
        self.accounting
            .iter()
            .map(|(&job, a)| NetJob {
                job,
                steps: a.steps,
                compute_ns: (a.steps * compute.as_nanos() as f64) as u128,
                exposed_ns: a.exposed_ns,
                staging_ns: a.staging_ns,
            })
            .collect()
    }

    pub fn compute_per_step(&self) -> SimDuration {
        self.steps.compute
    }

    pub fn topology(&self) -> &Topology {
        &self.topo
    }
}

/// Step time of a job whose traffic has no path left (a failed link): it makes no progress.
const STALLED: u64 = u64::MAX;

impl ClusterSim {
    /// Start a GPU job on the network: stage its dataset if the model asks for it, else
    /// register its traffic and time its completion. Returns false when the job does not use
    /// the network model (no whole GPUs).
    pub(super) fn net_start(&mut self, job: u32, ctx: &mut Ctx<'_, Event>) -> bool {
        let Some(net) = self.net.as_mut() else {
            return false;
        };
        let js = &self.state.jobs[job as usize];
        let ranks: Vec<GpuRef> = js
            .pods
            .iter()
            .filter_map(|p| p.placement.as_ref())
            .flat_map(|pl| pl.gpus.iter().map(|&g| GpuRef::new(pl.node, u32::from(g))))
            .collect();
        let spec = &self.workload.jobs[job as usize];
        if ranks.is_empty() || !spec.gpu_milli().is_multiple_of(1000) {
            return false;
        }
        let now = ctx.now();
        let placement = Placement { ranks };
        if let Some(st) = &net.staging_spec {
            let dataset = match st.dataset {
                DatasetScope::PerJob => format!("job:{}", spec.id),
                DatasetScope::PerQueue => format!("queue:{}", spec.queue.as_deref().unwrap_or("")),
                DatasetScope::Shared => "shared".to_string(),
            };
            let nodes: Vec<(u32, u64)> = placement
                .nodes()
                .into_iter()
                .map(|n| (n, st.bytes_per_node))
                .collect();
            let mut specs = Vec::new();
            for &(n, bytes) in &nodes {
                let cache = &mut net.caches[n as usize];
                let hit = (cache.hit_fraction(&dataset, bytes) * bytes as f64) as u64;
                let miss = bytes.saturating_sub(hit);
                if miss > 0 {
                    specs.extend(staging_flows(&net.topo, &[n], miss, u64::from(job)));
                }
            }
            if !specs.is_empty() {
                let flows = net.flows.add_flows(now, specs);
                for &f in &flows {
                    net.staging_flow.insert(f, job);
                }
                net.staging.insert(
                    job,
                    Staging {
                        left: flows.len(),
                        flows,
                        since: now,
                        dataset,
                        nodes,
                    },
                );
                // No step runs before the data is there: no completion yet.
                if let Some(t) = self.state.jobs[job as usize].completion.take() {
                    ctx.cancel(t);
                }
                self.net_retime(ctx);
                return true;
            }
        }
        self.net_begin_steps(job, placement, ctx);
        true
    }

    /// The job's data is in place: register its traffic and time its completion.
    fn net_begin_steps(&mut self, job: u32, placement: Placement, ctx: &mut Ctx<'_, Event>) {
        let Some(net) = self.net.as_mut() else {
            return;
        };
        let now = ctx.now();
        let traffic = JobTraffic::register(
            &net.topo,
            &mut net.flows,
            now,
            u64::from(job),
            &placement,
            &net.steps,
        );
        let step_ns = traffic
            .step_time(&net.topo, &net.flows)
            .step
            .as_nanos()
            .max(1);
        net.running.insert(
            job,
            Running {
                traffic,
                step_ns,
                since: now,
            },
        );
        self.net_schedule_completion(job, ctx);
        self.net_retime(ctx);
    }

    /// Finite flows (dataset staging) completed: jobs whose every node has its data start
    /// their steps.
    pub(super) fn net_flows_done(&mut self, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let Some(net) = self.net.as_mut() else {
            return;
        };
        net.timer = None;
        let done = net.flows.pop_completed(now);
        let mut ready = Vec::new();
        for f in done {
            let Some(job) = net.staging_flow.remove(&f) else {
                continue;
            };
            if let Some(st) = net.staging.get_mut(&job) {
                st.left -= 1;
                if st.left == 0 {
                    ready.push(job);
                }
            }
        }
        for job in ready {
            let Some(net) = self.net.as_mut() else {
                return;
            };
            let Some(st) = net.staging.remove(&job) else {
                continue;
            };
            for &(n, bytes) in &st.nodes {
                net.caches[n as usize].insert(&st.dataset, bytes);
            }
            net.accounting.entry(job).or_default().staging_ns +=
                u128::from(now.since(st.since).as_nanos());
            let js = &self.state.jobs[job as usize];
            let ranks: Vec<GpuRef> = js
                .pods
                .iter()
                .filter_map(|p| p.placement.as_ref())
                .flat_map(|pl| pl.gpus.iter().map(|&g| GpuRef::new(pl.node, u32::from(g))))
                .collect();
            self.net_begin_steps(job, Placement { ranks }, ctx);
        }
        self.net_retime(ctx);
    }

    /// Keep one engine timer on the earliest finite flow completion.
    fn net_arm(&mut self, ctx: &mut Ctx<'_, Event>) {
        let Some(net) = self.net.as_mut() else {
            return;
        };
        let next = net.flows.next_completion().map(|(t, _)| t);
        if next == net.timer.map(|(t, _)| t) {
            return;
        }
        if let Some((_, id)) = net.timer.take() {
            ctx.cancel(id);
        }
        if let Some(t) = next {
            net.timer = Some((t, ctx.schedule_at(t, Event::NetFlows)));
        }
    }

    /// Steps left, from the job's remaining compute time.
    fn steps_left(&self, job: u32) -> f64 {
        let compute = self
            .net
            .as_ref()
            .map_or(1, |n| n.steps.compute.as_nanos().max(1));
        self.state.jobs[job as usize].remaining.as_nanos() as f64 / compute as f64
    }

    fn net_schedule_completion(&mut self, job: u32, ctx: &mut Ctx<'_, Event>) {
        let left = self.steps_left(job);
        let Some(r) = self.net.as_ref().and_then(|n| n.running.get(&job)) else {
            return;
        };
        let stalled = r.step_ns == STALLED;
        let ns = (left * r.step_ns as f64).ceil() as u64;
        let js = &mut self.state.jobs[job as usize];
        if let Some(t) = js.completion.take() {
            ctx.cancel(t);
        }
        if stalled {
            // No path for its traffic (a failed link): no completion until it recovers.
            return;
        }
        let generation = js.generation;
        js.completion.set(Some(
            ctx.schedule_in(SimDuration(ns), Event::Complete { job, generation }),
        ));
    }

    /// Bank the progress of `job` at its current step time up to now.
    fn net_bank(&mut self, job: u32, now: SimTime) {
        let compute = self
            .net
            .as_ref()
            .map_or(1, |n| n.steps.compute.as_nanos().max(1));
        let Some(net) = self.net.as_mut() else {
            return;
        };
        let Some(r) = net.running.get_mut(&job) else {
            return;
        };
        let elapsed = now.since(r.since).as_nanos();
        let steps = if r.step_ns == STALLED {
            0.0
        } else {
            elapsed as f64 / r.step_ns as f64
        };
        r.since = now;
        let acc = net.accounting.entry(job).or_default();
        acc.steps += steps;
        acc.exposed_ns += (steps * r.step_ns.saturating_sub(compute) as f64) as u128;
        let js = &mut self.state.jobs[job as usize];
        let done = (steps * compute as f64) as u64;
        js.remaining = SimDuration(js.remaining.0.saturating_sub(done));
    }

    /// Bank progress if the job runs on the network model (a job still staging its data has
    /// made none); false if the job is not on the model.
    pub(super) fn net_bank_if_running(&mut self, job: u32, now: SimTime) -> bool {
        if self
            .net
            .as_ref()
            .is_some_and(|n| n.staging.contains_key(&job))
        {
            return true;
        }
        if self
            .net
            .as_ref()
            .is_some_and(|n| n.running.contains_key(&job))
        {
            self.net_bank(job, now);
            true
        } else {
            false
        }
    }

    /// Re-time every running job whose flow rates changed, and sample link loads.
    fn net_retime(&mut self, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let owners = match self.net.as_mut() {
            Some(n) => {
                n.sample(now);
                changed_owners(&mut n.flows)
            }
            None => return,
        };
        for o in owners {
            let job = o as u32;
            if !self
                .net
                .as_ref()
                .is_some_and(|n| n.running.contains_key(&job))
            {
                continue;
            }
            self.net_bank(job, now);
            if let Some(net) = self.net.as_mut()
                && let Some(r) = net.running.get_mut(&job)
            {
                r.step_ns = r
                    .traffic
                    .step_time(&net.topo, &net.flows)
                    .step
                    .as_nanos()
                    .max(1);
            }
            self.net_schedule_completion(job, ctx);
        }
        self.net_arm(ctx);
    }

    /// Whether `job` runs on the network model with no path for its traffic (a failed
    /// link): it makes no progress.
    pub(super) fn net_stalled(&self, job: u32) -> bool {
        self.net
            .as_ref()
            .and_then(|n| n.running.get(&job))
            .is_some_and(|r| r.step_ns == STALLED)
    }

    /// Link faults (`parts.rs`): `links` carry `fraction` of the capacity the topology
    /// gives them from now on (0: failed); the max-min rates are re-solved and the jobs
    /// whose rates moved are re-timed.
    pub(super) fn net_scale_links(
        &mut self,
        links: &[crate::net::LinkId],
        fraction: f64,
        ctx: &mut Ctx<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(net) = self.net.as_mut() else {
            return;
        };
        for &l in links {
            let full = net.topo.link(l).capacity;
            net.flows.set_link_capacity(l, full * fraction, now);
        }
        self.net_retime(ctx);
    }

    /// The job stops (completion or preemption): bank its progress, take its traffic off.
    /// Returns the remaining run time in compute terms (unchanged semantics for callers).
    pub(super) fn net_stop(&mut self, job: u32, ctx: &mut Ctx<'_, Event>) -> bool {
        let now = ctx.now();
        if let Some(net) = self.net.as_mut()
            && let Some(st) = net.staging.remove(&job)
        {
            // Preempted while staging: the partial copy is dropped.
            for f in &st.flows {
                net.staging_flow.remove(f);
            }
            net.flows.remove_flows(&st.flows, now);
            net.accounting.entry(job).or_default().staging_ns +=
                u128::from(now.since(st.since).as_nanos());
            self.net_retime(ctx);
            return true;
        }
        if !self
            .net
            .as_ref()
            .is_some_and(|n| n.running.contains_key(&job))
        {
            return false;
        }
        self.net_bank(job, now);
        if let Some(net) = self.net.as_mut()
            && let Some(r) = net.running.remove(&job)
        {
            r.traffic.unregister(&mut net.flows, now);
        }
        self.net_retime(ctx);
        true
    }
}

impl NetRuntime {
    /// The network model's hash hook for the verifier's state fingerprint (see
    /// `abstract_state.rs`, and `docs/verify.md`): everything that decides what the model
    /// does next, time-invariant (absolute times as offsets from `now`). The solver's
    /// flows, links and rates ([`FlowNet::hash_state`]); per job on the network, which
    /// slots carry its traffic, its current step time, how long ago its progress was last
    /// banked and the compute time left at that bank (`remaining`, which the model's own
    /// fingerprint only has mixed with the time since the job started); per job staging
    /// its dataset, its flows, how many are left, the dataset and its nodes; every node's
    /// NVMe cache; the pending flow-completion timer. Left out: what only feeds the
    /// reports (per-job accounting, link-load samples) and the topology and step spec,
    /// fixed for the run.
    pub(super) fn hash_state(
        &self,
        jobs: &[super::JobState],
        now: SimTime,
        h: &mut dyn std::hash::Hasher,
    ) {
        use std::hash::Hash;
        let mut h = h;
        self.flows.hash_state(now, h);
        h.write_usize(self.running.len());
        for (&job, r) in &self.running {
            h.write_u32(job);
            r.traffic.hash_flows(h);
            h.write_u64(r.step_ns);
            h.write_u64(now.since(r.since).as_nanos());
            h.write_u64(jobs[job as usize].remaining.as_nanos());
        }
        h.write_usize(self.staging.len());
        for (&job, st) in &self.staging {
            h.write_u32(job);
            st.flows.iter().for_each(|f| h.write_u32(f.slot()));
            h.write_usize(st.left);
            st.dataset.hash(&mut h);
            st.nodes.hash(&mut h);
            h.write_u64(jobs[job as usize].remaining.as_nanos());
        }
        self.caches.hash(&mut h);
        h.write_u64(
            self.timer
                .map_or(u64::MAX, |(t, _)| t.since(now).as_nanos()),
        );
    }
}
