//! Step-based jobs on the network and storage model (`models::net`), when a scenario turns
//! it on. A job's trace duration is taken as its pure compute time: it runs
//! `duration / steps.compute` steps, and each step takes what the model says for its
//! placement and the traffic of every other running job (communication not hidden behind
//! compute, input reads, checkpoints). Whenever a job starts or stops, the jobs whose flow
//! rates changed are re-timed: progress so far is banked and the completion rescheduled.
//! With the model off (the default) nothing here runs and results are byte-identical to
//! duration-based runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, SimDuration, SimTime};

use super::{ClusterSim, Event, ModelError};
use crate::cluster::ClusterSpec;
use crate::net::{
    FlowNet, GpuRef, JobTraffic, LinkId, LinkKind, NetworkConfig, Placement, StepSpec, Topology,
    changed_owners,
};

/// Link kinds whose load is sampled into the run's network time series.
const SAMPLED: [(LinkKind, &str); 5] = [
    (LinkKind::NicUp, "nic_up"),
    (LinkKind::LeafUp, "leaf_uplink"),
    (LinkKind::StorageUp, "storage_nic"),
    (LinkKind::FsRead, "fs_read"),
    (LinkKind::FsWrite, "fs_write"),
];

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
}

/// The network model of a run: hardware configuration and the step every GPU job runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetModel {
    #[serde(default)]
    pub config: NetworkConfig,
    pub steps: StepSpec,
}

/// Per running job: its registered traffic, current step time and when it was last timed.
#[derive(Debug)]
struct Running {
    traffic: JobTraffic,
    step_ns: u64,
    since: SimTime,
}

/// Run-time network state.
#[derive(Debug)]
pub struct NetRuntime {
    topo: Topology,
    flows: FlowNet,
    steps: StepSpec,
    running: BTreeMap<u32, Running>,
    /// Per job: (steps run, exposed communication + I/O time in ns) so far.
    pub accounting: BTreeMap<u32, (f64, u128)>,
    /// Sampled links by kind.
    sampled: Vec<(&'static str, Vec<LinkId>)>,
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
        let sampled = SAMPLED
            .iter()
            .map(|(k, name)| {
                let ids: Vec<LinkId> = topo
                    .links()
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.kind == *k)
                    .map(|(i, _)| LinkId(i as u32))
                    .collect();
                (*name, ids)
            })
            .filter(|(_, ids)| !ids.is_empty())
            .collect();
        Ok(NetRuntime {
            topo,
            flows,
            steps: m.steps.clone(),
            running: BTreeMap::new(),
            accounting: BTreeMap::new(),
            sampled,
            series: Vec::new(),
        })
    }

    /// Record the load on every sampled kind of link at `now` (after a change).
    fn sample(&mut self, now: SimTime) {
        for (name, ids) in &self.sampled {
            let (mut sum, mut max) = (0.0f64, 0.0f64);
            for &l in ids {
                let st = self.flows.link_state(l, now);
                let u = if st.capacity > 0.0 {
                    st.load / st.capacity
                } else {
                    0.0
                };
                sum += u;
                max = max.max(u);
            }
            self.series.push(NetSample {
                time: now,
                kind: (*name).to_string(),
                links: ids.len() as u32,
                mean_utilisation: sum / ids.len() as f64,
                max_utilisation: max,
            });
        }
    }

    /// Per-job accounting, in job order.
    pub fn jobs(&self, compute: SimDuration) -> Vec<NetJob> {
        self.accounting
            .iter()
            .map(|(&job, &(steps, exposed))| NetJob {
                job,
                steps,
                compute_ns: (steps * compute.as_nanos() as f64) as u128,
                exposed_ns: exposed,
            })
            .collect()
    }

    pub fn compute_per_step(&self) -> SimDuration {
        self.steps.compute
    }
}

impl ClusterSim {
    /// Start a GPU job on the network: register its traffic and time its completion.
    /// Returns false when the job does not use the network model (no whole GPUs).
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
        if ranks.is_empty()
            || !self.workload.jobs[job as usize]
                .gpu_milli()
                .is_multiple_of(1000)
        {
            return false;
        }
        let now = ctx.now();
        let placement = Placement { ranks };
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
        true
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
        let ns = (left * r.step_ns as f64).ceil() as u64;
        let js = &mut self.state.jobs[job as usize];
        if let Some(t) = js.completion.take() {
            ctx.cancel(t);
        }
        let generation = js.generation;
        js.completion = Some(ctx.schedule_in(SimDuration(ns), Event::Complete { job, generation }));
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
        let steps = elapsed as f64 / r.step_ns as f64;
        r.since = now;
        let acc = net.accounting.entry(job).or_insert((0.0, 0));
        acc.0 += steps;
        acc.1 += (steps * r.step_ns.saturating_sub(compute) as f64) as u128;
        let js = &mut self.state.jobs[job as usize];
        let done = (steps * compute as f64) as u64;
        js.remaining = SimDuration(js.remaining.0.saturating_sub(done));
    }

    /// Bank progress if the job runs on the network model; false otherwise.
    pub(super) fn net_bank_if_running(&mut self, job: u32, now: SimTime) -> bool {
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
    }

    /// The job stops (completion or preemption): bank its progress, take its traffic off.
    /// Returns the remaining run time in compute terms (unchanged semantics for callers).
    pub(super) fn net_stop(&mut self, job: u32, ctx: &mut Ctx<'_, Event>) -> bool {
        if !self
            .net
            .as_ref()
            .is_some_and(|n| n.running.contains_key(&job))
        {
            return false;
        }
        let now = ctx.now();
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
