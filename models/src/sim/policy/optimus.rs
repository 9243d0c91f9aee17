//! `optimus`: Optimus with an oracle (Peng et al., EuroSys 2018), as the Pollux artefact
//! simulates it (petuum/adaptdl `simulator/optimus.py`, branch `osdi21-artifact`, commit
//! `de25dcc`). Training jobs only; every job is elastic (1 … its maximum replicas).
//!
//! Every round (`scheduler.scheduling_interval`, default 60 s, at its multiples after 0):
//! 1. Each active job (submitted, not completed; in submission order) gets one GPU while
//!    GPUs remain.
//! 2. The remaining GPUs go one at a time to the job of largest marginal gain:
//!    (predicted step time on r replicas − on r + 1) × iterations left, with the true
//!    throughput from the profile ("oracle"), placed packed on 4-GPU nodes; ties go to
//!    the earlier job; a job stops gaining at its maximum replicas (target batch ÷ the
//!    smallest local batch; 1 for `ncf`, as the artefact sets).
//! 3. A job whose replica count is unchanged keeps its nodes. The others, fewest replicas
//!    first, take GPUs from the node with the most free GPUs (ties: lowest index) until
//!    they have their count; each such job restarts (30 s).
//!
//! Deviations (docs/fidelity.md): the throughput of placements over more than four nodes
//! is Orrery's piecewise-linear interpolation, not scipy's Delaunay one
//! (`crate::elastic::app`); a placement the profile cannot price gains nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sim_core::{Ctx, SimDuration, SimTime};

use super::{Policy, Queueing, Registration};
use crate::elastic::Application;
use crate::scheduler::SchedulerConfig;
use crate::sim::{ClusterSim, Event, JobPhase, ModelError};

pub const REGISTRATION: Registration = Registration {
    name: "optimus",
    about: "Optimus+Oracle (Pollux artefact): elastic training jobs, greedy marginal gain every round",
    build: |config, _, _| {
        Ok(Arc::new(Optimus {
            every: interval(config)?,
            step_times: Mutex::new(BTreeMap::new()),
        }))
    },
};

/// The artefact's default `--interval` (Optimus' and Pollux's rounds).
pub const DEFAULT_INTERVAL: SimDuration = SimDuration(60_000_000_000);

/// The scenario's `scheduling_interval`, or the artefact's 60 s; it must be positive.
pub(super) fn interval(config: &SchedulerConfig) -> Result<SimDuration, ModelError> {
    let every = config.scheduling_interval.unwrap_or(DEFAULT_INTERVAL);
    if every.as_nanos() == 0 {
        return Err(ModelError::Config {
            field: "scheduling_interval".into(),
            msg: "must be positive".into(),
        });
    }
    Ok(every)
}

/// Predicted step times by (application index, batch size, replicas): pure functions of
/// the profile, memoised (as the artefact's `get_throughput` is).
type StepTimes = BTreeMap<(usize, u32, u32), Option<f64>>;

#[derive(Debug)]
struct Optimus {
    every: SimDuration,
    step_times: Mutex<StepTimes>,
}

impl Policy for Optimus {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Jobs
    }

    fn elastic(&self) -> bool {
        true
    }

    /// Rounds every `scheduling_interval` (60 s unless the scenario says), kept going by
    /// the model while a job waits or runs; the pass runs only at them.
    fn default_interval(&self) -> Option<SimDuration> {
        Some(self.every)
    }

    fn decides_every_round(&self) -> bool {
        true
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        self.round(m, ctx);
        m.state.job_dirty = false;
        m.state.rescan = false;
        m.state.fresh_jobs.clear();
    }

    /// Jobs are first considered at the round after they arrive.
    fn attempted(&self, m: &ClusterSim, job: u32, now: SimTime) -> bool {
        m.workload.jobs[job as usize].submit < now
    }

    /// A waiting job got no GPU at the last round (or has not been through one yet).
    fn pending_reason(&self, m: &ClusterSim, _job: u32) -> Option<(String, String)> {
        Some((
            "optimus".into(),
            format!(
                "no GPU allocated: every {} Optimus gives each job one GPU while GPUs remain, in submission order, then the rest by marginal gain ({} GPUs)",
                self.every,
                m.spec.total_gpus()
            ),
        ))
    }

    /// Gains tie by submission order.
    fn ties_by_job_index(&self, _m: &ClusterSim) -> bool {
        true
    }
}

/// One active job in a round.
struct Active {
    job: u32,
    /// Index into the run's applications.
    app: usize,
    batch_size: u32,
    /// Iterations left to the last epoch (1 once there).
    remaining: f64,
    max_replicas: u32,
    /// Its nodes now, in placement order (empty when not running).
    nodes: Vec<u32>,
}

impl Optimus {
    fn step_time(&self, apps: &[Application], a: &Active, replicas: u32) -> Option<f64> {
        let key = (a.app, a.batch_size, replicas);
        let mut memo = self
            .step_times
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *memo
            .entry(key)
            .or_insert_with(|| apps[a.app].optimus_step_time(a.batch_size, replicas))
    }

    /// The marginal gain of one more replica for `a` on `r`.
    fn gain(&self, apps: &[Application], a: &Active, r: u32, free: u64) -> f64 {
        if r + 1 > a.max_replicas || free < 1 {
            return 0.0;
        }
        match (self.step_time(apps, a, r), self.step_time(apps, a, r + 1)) {
            (Some(t0), Some(t1)) => (t0 - t1) * a.remaining,
            _ => 0.0,
        }
    }

    fn round(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let Some(config) = m.training_config() else {
            return;
        };
        let apps = config.apps.as_slice();
        let mut active: Vec<Active> = Vec::new();
        for j in 0..m.workload.jobs.len() as u32 {
            let js = &m.state.jobs[j as usize];
            if !matches!(js.phase, JobPhase::Waiting | JobPhase::Running) {
                continue;
            }
            let (Some(view), Some(t)) = (m.training_view(j, now), m.training_job(j)) else {
                continue;
            };
            let last = view.app.max_epochs - 1;
            let b = u64::from(view.batch_size);
            let remaining = if last <= view.progress.epoch {
                1.0
            } else {
                match (
                    view.app.iterations_after(b, last),
                    view.app.iterations_after(b, view.progress.epoch),
                ) {
                    (Some(end), Some(at)) => end - at,
                    _ => 1.0,
                }
            };
            let pods = m.workload.jobs[j as usize].pods.len() as u32;
            let max_replicas = if view.app.profile.name == "ncf" {
                1
            } else {
                (view.batch_size / view.app.min_local_bsz.max(1)).min(pods)
            };
            let nodes: Vec<u32> = js
                .pods
                .iter()
                .filter_map(|p| p.placement.as_ref().map(|pl| pl.node))
                .collect();
            active.push(Active {
                job: j,
                app: t.app,
                batch_size: view.batch_size,
                remaining,
                max_replicas,
                nodes,
            });
        }
        // Replica counts: one each while GPUs last, then by marginal gain.
        let mut free = m.spec.total_gpus();
        let mut replicas = vec![0u32; active.len()];
        let mut gain = vec![0.0f64; active.len()];
        for (i, a) in active.iter().enumerate() {
            if free < 1 {
                continue;
            }
            replicas[i] = 1;
            free -= 1;
            gain[i] = self.gain(apps, a, 1, free);
        }
        while free > 0 {
            // The first job of the largest gain (Python's `max` over the jobs in order).
            let mut best: Option<usize> = None;
            for (i, &g) in gain.iter().enumerate() {
                if best.is_none_or(|b| g > gain[b]) {
                    best = Some(i);
                }
            }
            let Some(i) = best.filter(|&b| gain[b] > 0.0) else {
                break;
            };
            replicas[i] += 1;
            gain[i] = self.gain(apps, &active[i], replicas[i], free);
            free -= 1;
        }
        // Placements: a job keeping its count keeps its nodes; the others, fewest
        // replicas first, fill from the node with the most free GPUs.
        let mut node_free: Vec<u64> = m.spec.nodes.iter().map(|n| u64::from(n.gpus)).collect();
        let mut alloc: Vec<Option<Vec<u32>>> = vec![None; active.len()];
        for (i, a) in active.iter().enumerate() {
            if a.nodes.len() as u32 == replicas[i] && replicas[i] > 0 {
                for &n in &a.nodes {
                    node_free[n as usize] = node_free[n as usize].saturating_sub(1);
                }
                alloc[i] = Some(a.nodes.clone());
            }
        }
        let mut order: Vec<usize> = (0..active.len()).collect();
        order.sort_by_key(|&i| replicas[i]);
        for i in order {
            if replicas[i] == 0 || alloc[i].is_some() {
                continue;
            }
            let mut nodes = Vec::with_capacity(replicas[i] as usize);
            while (nodes.len() as u32) < replicas[i] {
                let mut most: Option<usize> = None;
                for (n, &f) in node_free.iter().enumerate() {
                    if most.is_none_or(|b| f > node_free[b]) {
                        most = Some(n);
                    }
                }
                let Some(n) = most.filter(|&n| node_free[n] > 0) else {
                    break; // cannot happen: the counts fit the cluster's GPUs
                };
                let take = node_free[n].min(u64::from(replicas[i]) - nodes.len() as u64);
                nodes.extend(std::iter::repeat_n(n as u32, take as usize));
                node_free[n] -= take;
            }
            alloc[i] = Some(nodes);
        }
        // Apply: release every job whose allocation changed, then start them anew.
        let changed: Vec<usize> = (0..active.len())
            .filter(|&i| alloc[i].as_deref().unwrap_or(&[]) != active[i].nodes.as_slice())
            .collect();
        for &i in &changed {
            let j = active[i].job;
            if m.state.jobs[j as usize].phase == JobPhase::Running {
                m.release_job(j, now, ctx);
                let ts = m.state.jobs[j as usize].queue_ts;
                m.enqueue_job(j, ts);
            }
        }
        for &i in &changed {
            if let Some(nodes) = alloc[i].as_deref().filter(|n| !n.is_empty()) {
                let j = active[i].job;
                if !m.start_on(j, nodes, ctx) {
                    return;
                }
            }
        }
    }
}
