//! Kueue: quota-based admission of whole workloads in front of kube-scheduler.
//!
//! Modelled (see `docs/policies.md` for what is simplified): ClusterQueues with a nominal
//! GPU quota (one resource flavor), cohorts sharing unused quota within borrowing and
//! lending limits, BestEffortFIFO / StrictFIFO, admission order (no-borrow before borrow,
//! then priority, then queue timestamp), classic preemption (`withinClusterQueue`,
//! `reclaimWithinCohort`) with Kueue's candidate ordering and minimisation, and
//! `waitForPodsReady` (timeout, eviction, requeue with exponential backoff,
//! `blockAdmission`). Admitted workloads' pods are scheduled by the default kube-scheduler
//! one at a time: Kueue itself is not a gang scheduler, which is what makes its documented
//! over-quota deadlock possible.
//!
//! Preemption follows upstream's classic `getTargets` (kubernetes-sigs/kueue,
//! `pkg/scheduler/preemption/preemption.go`, as read in its hierarchical-cohort form,
//! v0.11 and later; earlier releases have the same steps):
//! with candidates only from the preemptor's own queue, a minimal set is found allowing the
//! preemptor to borrow; with candidates from other queues of the cohort (and no
//! `borrowWithinCohort`, which is not modelled), reclaiming is tried only while the
//! preemptor's queue is under its nominal quota and *without* borrowing, then a final
//! attempt with own-queue candidates only, borrowing allowed ("to avoid flapping, Kueue
//! only allows preemption of workloads from the same queue if borrowing"). Other queues'
//! candidates stop counting once their queue no longer borrows. The model then admits the
//! preemptor at once with the quota the eviction freed (upstream admits it in a later cycle
//! once the victims are gone; here eviction is instantaneous), so an evicted workload
//! cannot take its quota back in between. An admission pass that still makes no net
//! progress is cut off after a bounded number of rounds and reported (`no_progress`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, SimDuration, SimTime};

use super::{ClusterSim, Event, JobPhase, ModelError};
use crate::cluster::ClusterSpec;
use crate::scheduler::{
    ClusterQueueDef, KueueConfig, QueueingStrategy, ReclaimWithinCohort, WithinClusterQueue,
};
use crate::workload::Workload;

/// One ClusterQueue at run time (quotas in milli-GPUs).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CqState {
    pub name: String,
    pub cohort: Option<String>,
    pub nominal: u64,
    pub borrowing_limit: Option<u64>,
    pub lending_limit: Option<u64>,
    pub within: WithinClusterQueueKey,
    pub reclaim: ReclaimKey,
    pub usage: u64,
}

/// Plain-data copies of the preemption settings (hashable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WithinClusterQueueKey {
    Never,
    LowerPriority,
    LowerOrNewerEqualPriority,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReclaimKey {
    Never,
    LowerPriority,
    Any,
}

/// Kueue's run-time state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KueueState {
    pub queues: Vec<CqState>,
    /// ClusterQueue of each job.
    pub job_cq: Vec<u32>,
    /// Admission time of admitted jobs (for "most recently admitted first").
    pub admitted_at: BTreeMap<u32, (SimTime, u64)>,
    /// Jobs that did not fit since quota last changed (BestEffortFIFO's inadmissible set).
    pub inadmissible: Vec<u32>,
    pub dirty: bool,
    /// The last admission pass stopped at `blockAdmission` with workloads still queued.
    #[serde(default)]
    pub blocked: bool,
}

fn milli(gpus: f64, field: &str) -> Result<u64, ModelError> {
    if !gpus.is_finite() || gpus < 0.0 {
        return Err(ModelError::Config {
            field: format!("kueue.cluster_queues.{field}"),
            msg: format!("{gpus} is not a valid GPU quota (expected a number >= 0)"),
        });
    }
    Ok((gpus * 1000.0).round() as u64)
}

impl KueueState {
    pub fn new(
        cfg: &KueueConfig,
        spec: &ClusterSpec,
        workload: &Workload,
        resolve_names: bool,
    ) -> Result<KueueState, ModelError> {
        let defs: Vec<ClusterQueueDef> = if cfg.cluster_queues.is_empty() {
            vec![ClusterQueueDef {
                name: "default".into(),
                cohort: None,
                nominal_gpus: spec.total_gpus() as f64,
                borrowing_limit_gpus: None,
                lending_limit_gpus: None,
                preemption: Default::default(),
            }]
        } else {
            cfg.cluster_queues.clone()
        };
        let mut queues: Vec<CqState> = Vec::new();
        for d in &defs {
            let f = |k: &str| format!("{}.{k}", d.name);
            if queues.iter().any(|q| q.name == d.name) {
                return Err(ModelError::Config {
                    field: "kueue.cluster_queues".into(),
                    msg: format!("duplicate ClusterQueue name {:?}", d.name),
                });
            }
            let nominal = milli(d.nominal_gpus, &f("nominal_gpus"))?;
            let borrowing_limit = d
                .borrowing_limit_gpus
                .map(|g| milli(g, &f("borrowing_limit_gpus")))
                .transpose()?;
            let lending_limit = d
                .lending_limit_gpus
                .map(|g| milli(g, &f("lending_limit_gpus")))
                .transpose()?;
            if d.cohort.is_none() && (borrowing_limit.is_some() || lending_limit.is_some()) {
                return Err(ModelError::Config {
                    field: format!("kueue.cluster_queues.{}", d.name),
                    msg: "borrowing/lending limits need a cohort".into(),
                });
            }
            if let Some(l) = lending_limit
                && l > nominal
            {
                return Err(ModelError::Config {
                    field: format!("kueue.cluster_queues.{}.lending_limit_gpus", d.name),
                    msg: "cannot lend more than the nominal quota".into(),
                });
            }
            queues.push(CqState {
                name: d.name.clone(),
                cohort: d.cohort.clone(),
                nominal,
                borrowing_limit,
                lending_limit,
                within: match d.preemption.within_cluster_queue {
                    WithinClusterQueue::Never => WithinClusterQueueKey::Never,
                    WithinClusterQueue::LowerPriority => WithinClusterQueueKey::LowerPriority,
                    WithinClusterQueue::LowerOrNewerEqualPriority => {
                        WithinClusterQueueKey::LowerOrNewerEqualPriority
                    }
                },
                reclaim: match d.preemption.reclaim_within_cohort {
                    ReclaimWithinCohort::Never => ReclaimKey::Never,
                    ReclaimWithinCohort::LowerPriority => ReclaimKey::LowerPriority,
                    ReclaimWithinCohort::Any => ReclaimKey::Any,
                },
                usage: 0,
            });
        }
        let mut job_cq = Vec::with_capacity(workload.jobs.len());
        for j in &workload.jobs {
            let cq =
                match &j.queue {
                    // Under Volcano a job's queue is a Volcano queue (see `proportion`).
                    Some(q) if resolve_names => queues
                        .iter()
                        .position(|c| &c.name == q)
                        .ok_or_else(|| ModelError::Config {
                            field: "kueue.cluster_queues".into(),
                            msg: format!(
                                "job {:?} names queue {q:?}, which is not defined (queues: {})",
                                j.id,
                                queues
                                    .iter()
                                    .map(|c| c.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        })?,
                    _ => 0,
                };
            // A workload larger than its queue could ever get can never be admitted.
            let max = max_available(&queues, cq);
            if j.gpu_milli() > max {
                return Err(ModelError::Config {
                    field: format!("kueue.cluster_queues.{}", queues[cq].name),
                    msg: format!(
                        "job {:?} needs {} GPUs but the queue can never get more than {} (nominal plus what its cohort can lend)",
                        j.id,
                        j.gpu_milli() as f64 / 1000.0,
                        max as f64 / 1000.0
                    ),
                });
            }
            job_cq.push(cq as u32);
        }
        Ok(KueueState {
            queues,
            job_cq,
            admitted_at: BTreeMap::new(),
            inadmissible: Vec::new(),
            dirty: false,
            blocked: false,
        })
    }
}

/// Most a queue could ever hold: its nominal quota plus everything its cohort can lend,
/// within its borrowing limit.
fn max_available(queues: &[CqState], cq: usize) -> u64 {
    let q = &queues[cq];
    let lendable: u64 = match &q.cohort {
        None => 0,
        Some(c) => queues
            .iter()
            .enumerate()
            .filter(|(i, o)| *i != cq && o.cohort.as_ref() == Some(c))
            .map(|(_, o)| o.lending_limit.unwrap_or(o.nominal))
            .sum(),
    };
    q.nominal + q.borrowing_limit.map_or(lendable, |b| b.min(lendable))
}

/// What the cohort can lend `cq` right now.
fn lendable_now(queues: &[CqState], cq: usize) -> u64 {
    let Some(c) = &queues[cq].cohort else {
        return 0;
    };
    let mut total: i128 = 0;
    for (i, o) in queues.iter().enumerate() {
        if i == cq || o.cohort.as_ref() != Some(c) {
            continue;
        }
        // Unused nominal quota, capped by the lending limit; a queue that borrows itself
        // lends nothing and uses up others' lendable quota.
        let unused = o.nominal as i128 - o.usage as i128;
        let cap = o.lending_limit.unwrap_or(o.nominal) as i128;
        total += unused.min(cap);
    }
    total.max(0) as u64
}

/// Does `need` fit in `cq` now? Returns `Some(borrows)`.
fn fits(queues: &[CqState], cq: usize, need: u64) -> Option<bool> {
    let q = &queues[cq];
    if let Some(c) = &q.cohort {
        // The cohort as a whole cannot hand out more than its members' nominal quota:
        // quota lent to a borrowing queue is not available until reclaimed.
        let (used, cap) = queues
            .iter()
            .filter(|o| o.cohort.as_ref() == Some(c))
            .fold((0u64, 0u64), |(u, n), o| (u + o.usage, n + o.nominal));
        if used + need > cap {
            return None;
        }
    }
    if q.usage + need <= q.nominal {
        return Some(false);
    }
    let borrow = q.usage + need - q.nominal.min(q.usage + need);
    let within_limit = q.borrowing_limit.is_none_or(|b| borrow <= b);
    (within_limit && borrow <= lendable_now(queues, cq)).then_some(true)
}

/// Quota was released or changed: every inadmissible workload is worth another look.
pub(super) fn on_finished(m: &mut ClusterSim, job: u32) {
    unadmit(m, job);
}

fn unadmit(m: &mut ClusterSim, job: u32) {
    if !m.state.jobs[job as usize].admitted {
        return;
    }
    let need = m.workload.jobs[job as usize].gpu_milli();
    let cq = m.state.kueue.job_cq[job as usize] as usize;
    m.state.kueue.queues[cq].usage -= need;
    m.state.kueue.admitted_at.remove(&job);
    m.state.jobs[job as usize].admitted = false;
    m.state.kueue.dirty = true;
    m.state.kueue.inadmissible.clear();
}

/// Admission: repeated cycles at this instant until nothing more is admitted.
pub(super) fn admit(m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
    if !m.state.job_dirty && !m.state.kueue.dirty {
        return;
    }
    m.state.job_dirty = false;
    m.state.kueue.dirty = false;
    m.state.fresh_jobs.clear();
    let wfpr = m.config.kueue.wait_for_pods_ready.clone();
    let strategy = m.config.kueue.queueing_strategy;
    let mut unsuspended: Vec<u32> = Vec::new();
    admission_loop(m, &wfpr, strategy, &mut unsuspended, ctx);
    // A workload admitted and then evicted again by a preemption in the same pass is not
    // unsuspended (its pods must not reach the scheduler without quota), and one admitted
    // twice is unsuspended once: otherwise its pods would be queued twice and bound twice.
    let mut seen = std::collections::BTreeSet::new();
    unsuspended.retain(|&j| m.state.jobs[j as usize].admitted && seen.insert(j));
    // The admitted jobs are unsuspended together: their pods reach kube-scheduler in the
    // configured pod order.
    let now = ctx.now();
    let order = m.pod_arrival_order(&unsuspended, ctx.chooser());
    for (j, p) in order {
        m.enqueue_pod(j, p, now);
    }
}

fn admission_loop(
    m: &mut ClusterSim,
    wfpr: &crate::scheduler::WaitForPodsReady,
    strategy: QueueingStrategy,
    unsuspended: &mut Vec<u32>,
    ctx: &mut Ctx<'_, Event>,
) {
    // Every productive round admits a workload, evicts one or sets one aside; a pass that
    // goes on longer than that allows is flapping (workloads evicting each other at one
    // instant): cut it off and report it rather than spin for ever.
    let jobs = m.workload.jobs.len() as u64;
    let max_rounds = jobs.saturating_mul(8).saturating_add(64);
    let mut rounds = 0u64;
    m.state.kueue.blocked = false;
    loop {
        if wfpr.enable && wfpr.block_admission && any_admitted_not_ready(m) {
            m.state.kueue.blocked = !m.state.job_queue.is_empty();
            return;
        }
        rounds += 1;
        if rounds > max_rounds {
            let now = ctx.now();
            m.trip_guard(
                now,
                format!(
                    "Kueue admission at {now} made no net progress after {max_rounds} rounds (workloads preempting each other at one instant)"
                ),
                ctx,
            );
            return;
        }
        // One head per ClusterQueue.
        let mut heads: Vec<(bool, super::QueueKey)> = Vec::new();
        for cq in 0..m.state.kueue.queues.len() {
            let head = m
                .state
                .job_queue
                .iter()
                .filter(|k| m.state.kueue.job_cq[k.job as usize] as usize == cq)
                .find(|k| {
                    strategy == QueueingStrategy::StrictFifo
                        || !m.state.kueue.inadmissible.contains(&k.job)
                })
                .copied();
            if let Some(k) = head {
                let need = m.workload.jobs[k.job as usize].gpu_milli();
                let borrows = fits(&m.state.kueue.queues, cq, need).unwrap_or(true);
                heads.push((borrows, k));
            }
        }
        if heads.is_empty() {
            return;
        }
        // Entries that fit without borrowing first, then priority, then timestamp.
        heads.sort_by_key(|(borrows, k)| (*borrows, k.neg_priority, k.ts, k.seq));
        let mut progress = false;
        for (_, k) in heads {
            let job = k.job;
            let cq = m.state.kueue.job_cq[job as usize] as usize;
            let need = m.workload.jobs[job as usize].gpu_milli();
            if fits(&m.state.kueue.queues, cq, need).is_some() {
                admit_job(m, job, k, ctx);
                unsuspended.push(job);
                progress = true;
                if wfpr.enable && wfpr.block_admission {
                    break;
                }
            } else if preempt_for(m, job, ctx) {
                // Victims evicted: the preemptor takes the quota they freed.
                if fits(&m.state.kueue.queues, cq, need).is_some() {
                    admit_job(m, job, k, ctx);
                    unsuspended.push(job);
                }
                progress = true;
                if wfpr.enable && wfpr.block_admission {
                    break;
                }
            } else {
                m.state.kueue.inadmissible.push(job);
                if strategy == QueueingStrategy::BestEffortFifo {
                    progress = true; // the next workload becomes head
                }
            }
        }
        if !progress {
            return;
        }
    }
}

pub(super) fn any_admitted_not_ready(m: &ClusterSim) -> bool {
    m.state
        .kueue
        .admitted_at
        .keys()
        .any(|&j| m.state.jobs[j as usize].phase == JobPhase::Waiting)
}

fn admit_job(m: &mut ClusterSim, job: u32, key: super::QueueKey, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    let need = m.workload.jobs[job as usize].gpu_milli();
    let cq = m.state.kueue.job_cq[job as usize] as usize;
    m.state.kueue.queues[cq].usage += need;
    let seq = m.next_seq();
    m.state.kueue.admitted_at.insert(job, (now, seq));
    m.state.job_queue.remove(&key);
    let js = &mut m.state.jobs[job as usize];
    js.admitted = true;
    js.generation += 1;
    let generation = js.generation;
    let wfpr = &m.config.kueue.wait_for_pods_ready;
    if wfpr.enable {
        ctx.schedule_in(wfpr.timeout, Event::PodsReadyTimeout { job, generation });
    }
}

/// Classic preemption for `job`; true if victims were evicted (see the module docs).
fn preempt_for(m: &mut ClusterSim, job: u32, ctx: &mut Ctx<'_, Event>) -> bool {
    let cq = m.state.kueue.job_cq[job as usize] as usize;
    let need = m.workload.jobs[job as usize].gpu_milli();
    let prio = m.workload.jobs[job as usize].priority;
    let q = m.state.kueue.queues[cq].clone();
    // Classic preemption only helps a workload whose request is within nominal quota
    // (upstream's flavor assigner gives such a workload mode Preempt, else NoFit).
    if need > q.nominal {
        return false;
    }
    // Candidates: (other CQ first, lower priority first, most recently admitted first).
    type Rank = (bool, i32, std::cmp::Reverse<(SimTime, u64)>);
    let mut cands: Vec<(Rank, u32)> = Vec::new();
    for (&v, &at) in &m.state.kueue.admitted_at {
        let vcq = m.state.kueue.job_cq[v as usize] as usize;
        let vprio = m.workload.jobs[v as usize].priority;
        let ok = if vcq == cq {
            match q.within {
                WithinClusterQueueKey::Never => false,
                WithinClusterQueueKey::LowerPriority => vprio < prio,
                WithinClusterQueueKey::LowerOrNewerEqualPriority => {
                    vprio < prio
                        || (vprio == prio
                            && m.state.jobs[v as usize].queue_ts
                                > m.state.jobs[job as usize].queue_ts)
                }
            }
        } else {
            let o = &m.state.kueue.queues[vcq];
            let same_cohort = q.cohort.is_some() && o.cohort == q.cohort;
            let borrowing = o.usage > o.nominal;
            same_cohort
                && borrowing
                && match q.reclaim {
                    ReclaimKey::Never => false,
                    ReclaimKey::LowerPriority => vprio < prio,
                    ReclaimKey::Any => true,
                }
        };
        if ok {
            cands.push(((vcq == cq, vprio, std::cmp::Reverse(at)), v));
        }
    }
    if cands.is_empty() {
        return false;
    }
    cands.sort();
    let cands: Vec<u32> = cands.into_iter().map(|(_, v)| v).collect();
    let own: Vec<u32> = cands
        .iter()
        .copied()
        .filter(|&v| m.state.kueue.job_cq[v as usize] as usize == cq)
        .collect();
    let targets = if own.len() == cands.len() {
        minimal_preemptions(m, cq, need, &cands, true)
    } else {
        let mut t = None;
        if q.usage < q.nominal {
            t = minimal_preemptions(m, cq, need, &cands, false);
        }
        if t.is_none() {
            t = minimal_preemptions(m, cq, need, &own, true);
        }
        t
    };
    let Some(targets) = targets else {
        return false;
    };
    let now = ctx.now();
    for v in targets {
        evict_and_requeue(m, v, now, None, ctx);
    }
    true
}

/// Upstream's `minimalPreemptions`: remove candidates in order (another queue's only while
/// that queue still borrows) until `need` fits in `cq` (without borrowing unless
/// `allow_borrowing`), then add back, from the second-to-last removed down, every one that
/// is not needed. `None` if it never fits.
fn minimal_preemptions(
    m: &ClusterSim,
    cq: usize,
    need: u64,
    cands: &[u32],
    allow_borrowing: bool,
) -> Option<Vec<u32>> {
    let ok = |queues: &[CqState]| match fits(queues, cq, need) {
        Some(borrows) => allow_borrowing || !borrows,
        None => false,
    };
    let mut queues = m.state.kueue.queues.clone();
    let mut targets: Vec<u32> = Vec::new();
    let mut fit = false;
    for &v in cands {
        let vcq = m.state.kueue.job_cq[v as usize] as usize;
        if vcq != cq && queues[vcq].usage <= queues[vcq].nominal {
            continue; // no longer borrowing: nothing to reclaim there
        }
        queues[vcq].usage -= m.workload.jobs[v as usize].gpu_milli();
        targets.push(v);
        if ok(&queues) {
            fit = true;
            break;
        }
    }
    if !fit {
        return None;
    }
    for i in (0..targets.len().saturating_sub(1)).rev() {
        let v = targets[i];
        let vcq = m.state.kueue.job_cq[v as usize] as usize;
        let g = m.workload.jobs[v as usize].gpu_milli();
        queues[vcq].usage += g;
        if ok(&queues) {
            targets.remove(i); // not needed
        } else {
            queues[vcq].usage -= g;
        }
    }
    Some(targets)
}

/// Evict an admitted workload: release its pods and quota, requeue it (after `backoff`).
fn evict_and_requeue(
    m: &mut ClusterSim,
    job: u32,
    now: SimTime,
    backoff: Option<SimDuration>,
    ctx: &mut Ctx<'_, Event>,
) {
    m.evict(job, now, ctx);
    unadmit(m, job);
    // The job restarts from scratch when re-admitted (its pods were deleted).
    m.state.jobs[job as usize].remaining = m.workload.jobs[job as usize].duration;
    match backoff {
        None => m.enqueue_job(job, now),
        Some(d) => {
            ctx.schedule_in(d, Event::Requeue(job));
            // Ordered by eviction time when it comes back.
            m.state.jobs[job as usize].queue_ts = now;
        }
    }
    m.state.kueue.inadmissible.clear();
}

/// `waitForPodsReady` timeout: evict and requeue with backoff, or deactivate.
pub(super) fn pods_ready_timeout(
    m: &mut ClusterSim,
    job: u32,
    generation: u32,
    ctx: &mut Ctx<'_, Event>,
) {
    let js = &m.state.jobs[job as usize];
    if js.generation != generation || !js.admitted || js.phase != JobPhase::Waiting {
        return;
    }
    let wfpr = m.config.kueue.wait_for_pods_ready.clone();
    let now = ctx.now();
    if m.state.jobs[job as usize].assumed > 0 {
        m.note_gang_release(job, now);
    }
    let count = m.state.jobs[job as usize].requeues + 1;
    if wfpr.backoff_limit_count.is_some_and(|l| count > l) {
        m.evict(job, now, ctx);
        unadmit(m, job);
        m.state.jobs[job as usize].deactivated = true;
        m.state.kueue.inadmissible.clear();
        return;
    }
    m.state.jobs[job as usize].requeues = count;
    let shift = (count - 1).min(62);
    let backoff_ns = wfpr
        .backoff_base
        .as_nanos()
        .saturating_mul(1u64 << shift)
        .min(wfpr.backoff_max.as_nanos());
    evict_and_requeue(m, job, now, Some(SimDuration(backoff_ns)), ctx);
}

/// Backoff over: the workload is pending again.
pub(super) fn requeue(m: &mut ClusterSim, job: u32, _now: SimTime) {
    let ts = m.state.jobs[job as usize].queue_ts;
    if m.state.jobs[job as usize].phase == JobPhase::Waiting && !m.state.jobs[job as usize].admitted
    {
        m.enqueue_job(job, ts);
        m.state.kueue.inadmissible.clear();
    }
}
