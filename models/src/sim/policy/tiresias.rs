//! `tiresias`: Tiresias discretised 2D-LAS on attained GPU-time, with preemption (the
//! official simulator's semantics). Queues Q0…QK−1 by attained-service thresholds; at every
//! change (or every `scheduling_interval`) the allocation is recomputed from Q0 down
//! (strictly by queue entry within a queue, as the Tiresias simulator; `running-first` puts
//! running jobs ahead); jobs not selected are preempted (suspended, resumed later with the
//! service they attained). A running job that crosses its queue's threshold is demoted
//! (appended to the next queue).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sim_core::{Ctx, SimDuration, SimTime};

use super::jobs::take_changes;
use super::{
    Policy, PolicyState, PolicyTimer, Queueing, Registration, place_in_order, start_job,
};
use crate::scheduler::{TiresiasConfig, TiresiasQueueOrder};
use crate::sim::{ClusterSim, Event, JobPhase, ModelError, QueueKey};

pub const REGISTRATION: Registration = Registration {
    name: "tiresias",
    about: "Tiresias 2D-LAS on attained GPU-time, with preemption",
    build: |config, _, _| {
        let mut own = config.tiresias.clone();
        // `scheduling_interval` is Tiresias' own rounds (`tiresias.scheduling_interval`).
        match (own.scheduling_interval, config.scheduling_interval) {
            (Some(a), Some(b)) if a != b => {
                return Err(ModelError::Config {
                    field: "scheduling_interval".into(),
                    msg: format!(
                        "{b} differs from tiresias.scheduling_interval {a}: give one of them"
                    ),
                });
            }
            (None, b) => own.scheduling_interval = b,
            _ => {}
        }
        Ok(Arc::new(Tiresias { config: own }))
    },
};

const NS_PER_S: u128 = 1_000_000_000;
/// A running job crosses its queue's threshold.
const DEMOTE: u8 = 0;
/// A scheduling round (with `scheduling_interval`).
const ROUND: u8 = 1;

#[derive(Debug)]
struct Tiresias {
    config: TiresiasConfig,
}

/// What Tiresias keeps between passes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct TiresiasState {
    /// Each job's queue (0 = highest priority).
    level: Vec<u8>,
    /// A round falls at this instant (run at its end, after every event of the instant, so
    /// the order of same-instant events does not matter).
    round_due: bool,
}

fn st(m: &ClusterSim) -> &TiresiasState {
    m.state
        .policy
        .get::<TiresiasState>()
        .expect("the tiresias policy's state is set when the run is built")
}

fn st_mut(m: &mut ClusterSim) -> &mut TiresiasState {
    m.state
        .policy
        .get_mut::<TiresiasState>()
        .expect("the tiresias policy's state is set when the run is built")
}

impl Policy for Tiresias {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Jobs
    }

    fn keeps_rounds(&self) -> bool {
        true
    }

    fn initial_state(&self, m: &ClusterSim) -> PolicyState {
        PolicyState::new(TiresiasState {
            level: vec![0; m.workload.jobs.len()],
            round_due: false,
        })
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        let Some(every) = self.config.scheduling_interval else {
            if take_changes(m).is_some() {
                tiresias(m, ctx);
            }
            return;
        };
        // Rounds at multiples of the interval: changes wait for the next round; a change at
        // a round instant is decided in that round.
        let now = ctx.now();
        let on_round = now.as_nanos() % every.as_nanos().max(1) == 0;
        let changed = m.state.job_dirty || m.state.rescan;
        if std::mem::take(&mut st_mut(m).round_due) || (on_round && changed) {
            m.state.job_dirty = true;
            if take_changes(m).is_some() {
                tiresias(m, ctx);
            }
        }
        if m.state.job_dirty || m.state.rescan {
            m.schedule_round(every, ROUND, ctx);
        }
    }

    fn on_timer(&self, m: &mut ClusterSim, t: PolicyTimer, ctx: &mut Ctx<'_, Event>) {
        match t.kind {
            DEMOTE => {
                if let Some(generation) = t.generation {
                    demote(m, t.job, generation, ctx);
                }
            }
            _ => {
                // A round: the allocation is recomputed at the end of the instant.
                m.state.session_scheduled = false;
                st_mut(m).round_due = true;
            }
        }
    }

    /// With a scheduling interval a job is first tried at the next round.
    fn attempted(&self, m: &ClusterSim, job: u32, now: SimTime) -> bool {
        self.config.scheduling_interval.is_none() || m.workload.jobs[job as usize].submit < now
    }

    fn on_started(&self, m: &mut ClusterSim, job: u32, ctx: &mut Ctx<'_, Event>) {
        schedule_demotion(m, job, ctx);
    }

    /// Candidates tie on (level, queue position), which ends in the job index.
    fn ties_by_job_index(&self, _m: &ClusterSim) -> bool {
        true
    }

    /// The level and attained service of every job not yet completed, as of `now` (they
    /// set its queue and so the future), and whether a round is due.
    fn hash_state(
        &self,
        m: &ClusterSim,
        now: SimTime,
        relabel: &dyn Fn(u32) -> u32,
        mut h: &mut dyn Hasher,
    ) {
        for (j, js) in m.state.jobs.iter().enumerate() {
            if matches!(js.phase, JobPhase::Completed { .. }) {
                continue;
            }
            let ran = js.run_since.map_or(0, |s| now.since(s).as_nanos());
            let milli = m.workload.jobs[j].gpu_milli();
            relabel(j as u32).hash(&mut h);
            st(m).level[j].hash(&mut h);
            (js.attained.get() + u128::from(milli) * u128::from(ran)).hash(&mut h);
        }
        st(m).round_due.hash(&mut h);
    }
}

/// Tiresias level of a job from its attained service.
fn level(m: &ClusterSim, job: u32) -> u8 {
    let attained_gpu_s = m.state.jobs[job as usize].attained.get() / (1000 * NS_PER_S);
    m.config
        .tiresias
        .thresholds_gpu_s
        .iter()
        .take_while(|&&t| attained_gpu_s >= u128::from(t))
        .count() as u8
}

fn tiresias(m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    // Candidates: running jobs and queued ones, by (level, queue position), or with
    // `running-first` by (level, running first, queue position).
    let running_first = m.config.tiresias.queue_order == TiresiasQueueOrder::RunningFirst;
    let mut cands: Vec<(u8, bool, SimTime, u64, u32)> = Vec::new();
    for &k in m
        .state
        .running
        .iter()
        .chain(m.state.job_queue.iter().map(|q| &q.job))
    {
        let js = &m.state.jobs[k as usize];
        let running = js.phase == JobPhase::Running;
        cands.push((
            st(m).level[k as usize],
            running_first && !running,
            js.queue_ts,
            js.queue_seq,
            k,
        ));
    }
    cands.sort_unstable();
    let total = m.spec.total_gpus() * 1000;
    let mut budget = total;
    let mut keep = Vec::new();
    let mut start = Vec::new();
    for &(_, _, _, _, j) in &cands {
        let need = m.workload.jobs[j as usize].gpu_milli();
        let pending = m.state.jobs[j as usize].phase != JobPhase::Running;
        if need <= budget {
            budget -= need;
            if pending {
                start.push(j);
            } else {
                keep.push(j);
            }
        }
    }
    // Preempt running jobs that lost their place.
    let keep_set: std::collections::BTreeSet<u32> = keep.iter().copied().collect();
    for &j in cands.iter().map(|c| &c.4) {
        let running = m.state.jobs[j as usize].phase == JobPhase::Running;
        if running && !keep_set.contains(&j) {
            m.evict(j, now, ctx);
            m.enqueue_job(j, m.state.jobs[j as usize].queue_ts);
        }
    }
    for j in start {
        let key = m.job_key(j);
        if m.state.job_queue.contains(&key) {
            start_job(m, key, ctx);
        }
    }
    // The GPU-count budget above ignores fragmentation: a chosen job may not be placeable
    // (its pods need whole nodes that are not free), and jobs preempted for it would then
    // wait on an idle cluster with nothing left to wake them. Fill what is free, queued
    // jobs in Tiresias order (level, then queue position), so no job that fits is left
    // waiting at the end of a pass.
    let mut rest: Vec<(u8, SimTime, u64, QueueKey)> = m
        .state
        .job_queue
        .iter()
        .map(|k| {
            let js = &m.state.jobs[k.job as usize];
            (st(m).level[k.job as usize], js.queue_ts, js.queue_seq, *k)
        })
        .collect();
    rest.sort_unstable();
    let order: Vec<QueueKey> = rest.into_iter().map(|r| r.3).collect();
    place_in_order(m, &order, false, ctx);
    m.state.job_dirty = false;
    m.state.rescan = false;
}

/// Schedule the moment a running Tiresias job crosses its queue's threshold.
fn schedule_demotion(m: &mut ClusterSim, job: u32, ctx: &mut Ctx<'_, Event>) {
    let js = &m.state.jobs[job as usize];
    let Some(&threshold) = m
        .config
        .tiresias
        .thresholds_gpu_s
        .get(st(m).level[job as usize] as usize)
    else {
        return; // already in the last queue
    };
    let milli = u128::from(m.workload.jobs[job as usize].gpu_milli());
    if milli == 0 {
        return;
    }
    let target = u128::from(threshold) * 1000 * NS_PER_S;
    let left = target.saturating_sub(js.attained.get());
    let ns = left.div_ceil(milli);
    let generation = js.generation;
    if ns < u128::from(js.remaining.as_nanos()) {
        ctx.schedule_in(
            SimDuration(ns as u64),
            Event::Timer(PolicyTimer {
                kind: DEMOTE,
                job,
                generation: Some(generation),
            }),
        );
    }
}

/// A running job crossed its threshold: account its service and move it down a queue.
fn demote(m: &mut ClusterSim, job: u32, generation: u32, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    let milli = u128::from(m.workload.jobs[job as usize].gpu_milli());
    let seq = m.next_seq();
    {
        let js = &m.state.jobs[job as usize];
        if js.generation != generation || js.phase != JobPhase::Running {
            return;
        }
    }
    let on_net = m.net_bank_if_running(job, now);
    let js = &mut m.state.jobs[job as usize];
    if let Some(since) = js.run_since {
        let ran = now.since(since);
        js.attained.add(milli * u128::from(ran.as_nanos()));
        if !on_net {
            js.remaining = SimDuration(js.remaining.0.saturating_sub(ran.0));
        }
        js.run_since = Some(now);
    }
    // Demotion appends the job to its new queue.
    js.queue_ts = now;
    js.queue_seq = seq;
    let lvl = level(m, job);
    st_mut(m).level[job as usize] = lvl;
    m.state.job_dirty = true;
    schedule_demotion(m, job, ctx);
}

