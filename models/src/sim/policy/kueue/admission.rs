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
//! The quota decisions are the Kueue admission core's (`crate::kueue`, following
//! kubernetes-sigs/kueue v0.19.2): each job is a Workload with one pod set per distinct
//! per-pod GPU amount (`count` = pods, requests `nvidia.com/gpu` in milli-GPUs), each
//! ClusterQueue one resource group with a single flavor `default`. The core decides
//! whether a head fits and how far it borrows (the flavor assigner over the cohort's
//! quota tree: nominal quota, borrowing and lending limits), the entry order (no
//! borrowing first, then priority, then queue time) and the preemption targets
//! (classic preemption: candidates, ordering, the borrowing/no-borrowing attempts and
//! the minimal set). What stays the simulator's own: admission runs repeated cycles at
//! one instant until nothing changes, and a preemptor is admitted at once with the quota
//! its victims freed (upstream admits it in a later cycle once they are gone; eviction is
//! instantaneous here), so an evicted workload cannot take its quota back in between. An
//! admission pass that still makes no net progress is cut off after a bounded number of
//! rounds and reported (`no_progress`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, SimDuration, SimTime};

use super::{PODS_READY_TIMEOUT, REQUEUE};
use crate::sim::policy::PolicyTimer;
use crate::sim::{ClusterSim, Event, JobPhase, ModelError};
use crate::cluster::ClusterSpec;
use crate::kueue as kq;
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
        // Most each queue could ever hold, from one quota tree (not one per job).
        let ceilings = max_available(&queues);
        let mut job_cq = Vec::with_capacity(workload.jobs.len());
        for j in &workload.jobs {
            let cq = match &j.queue {
                // Under Volcano a job's queue is a Volcano queue (see `proportion`).
                Some(q) if resolve_names => {
                    queues.iter().position(|c| &c.name == q).ok_or_else(|| {
                        crate::sim::unknown_queue(
                            "kueue.cluster_queues",
                            &j.id,
                            q,
                            queues.iter().map(|c| c.name.as_str()),
                        )
                    })?
                }
                _ => 0,
            };
            // A workload larger than its queue could ever get can never be admitted.
            let max = ceilings[cq];
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

/// The one flavor and resource a simulated ClusterQueue has quota for.
const FLAVOR: &str = "default";
const GPU: &str = "nvidia.com/gpu";

fn amount(v: u64) -> kq::Amount {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A simulated ClusterQueue as the core's ClusterQueue: one resource group, one flavor.
fn core_cq(q: &CqState) -> kq::ClusterQueue {
    kq::ClusterQueue {
        name: q.name.clone(),
        cohort: q.cohort.clone(),
        resource_groups: vec![kq::ResourceGroup {
            flavors: vec![kq::FlavorQuotas {
                name: FLAVOR.into(),
                resources: vec![kq::ResourceQuota {
                    name: GPU.into(),
                    nominal: amount(q.nominal),
                    borrowing_limit: q.borrowing_limit.map(amount),
                    lending_limit: q.lending_limit.map(amount),
                }],
            }],
        }],
        preemption: preemption(q),
        flavor_fungibility: kq::FlavorFungibility::default(),
        queueing_strategy: kq::QueueingStrategy::BestEffortFifo,
        namespace_selector: None,
        active: true,
    }
}

/// A simulated ClusterQueue's preemption settings as the core's.
fn preemption(q: &CqState) -> kq::ClusterQueuePreemption {
    kq::ClusterQueuePreemption {
        within_cluster_queue: match q.within {
            WithinClusterQueueKey::Never => kq::PreemptionPolicy::Never,
            WithinClusterQueueKey::LowerPriority => kq::PreemptionPolicy::LowerPriority,
            WithinClusterQueueKey::LowerOrNewerEqualPriority => {
                kq::PreemptionPolicy::LowerOrNewerEqualPriority
            }
        },
        reclaim_within_cohort: match q.reclaim {
            ReclaimKey::Never => kq::PreemptionPolicy::Never,
            ReclaimKey::LowerPriority => kq::PreemptionPolicy::LowerPriority,
            ReclaimKey::Any => kq::PreemptionPolicy::Any,
        },
        borrow_within_cohort: None,
    }
}

/// The quota tree of the simulated queues, without any usage.
fn empty_snapshot(queues: &[CqState]) -> kq::Snapshot {
    let flavor = kq::ResourceFlavor {
        name: FLAVOR.into(),
        ..Default::default()
    };
    let cqs: Vec<kq::ClusterQueue> = queues.iter().map(core_cq).collect();
    // Queue names are checked unique in `KueueState::new`, and cohorts are flat, so
    // building the tree cannot fail; an empty snapshot admits nothing if it ever did.
    let mut snap = kq::Snapshot::new(&[flavor], &[], &cqs).unwrap_or_default();
    snap.milli_resources.insert(GPU.to_string());
    snap
}

/// Job `job` as a core Workload: one pod set per distinct per-pod GPU amount. Times
/// are the simulator's (nanoseconds); the quota-reservation time is the admission
/// sequence number, which orders like (admission time, sequence).
/// A job's pods grouped by GPU milli per pod, in first-seen order: (milli, pod count).
fn gpu_sets(spec: &crate::workload::JobSpec) -> Vec<(u64, u32)> {
    let mut sets: Vec<(u64, u32)> = Vec::new();
    for p in &spec.pods {
        let g = p.gpu.total_milli();
        match sets.iter_mut().find(|(a, _)| *a == g) {
            Some((_, n)) => *n += 1,
            None => sets.push((g, 1)),
        }
    }
    sets
}

fn job_workload(m: &ClusterSim, job: u32) -> kq::Workload {
    let spec = &m.workload.jobs[job as usize];
    let sets = gpu_sets(spec);
    let pod_sets = sets
        .iter()
        .enumerate()
        .map(|(i, (g, n))| kq::PodSet {
            name: format!("ps{i}"),
            count: *n,
            requests: [(GPU.to_string(), amount(*g))].into_iter().collect(),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let cq = &m.state.kueue.queues[m.state.kueue.job_cq[job as usize] as usize];
    let admitted = m.state.kueue.admitted_at.get(&job);
    let admission = admitted.map(|_| kq::Admission {
        cluster_queue: cq.name.clone(),
        pod_set_assignments: pod_sets
            .iter()
            .map(|ps| kq::PodSetAssignment {
                name: ps.name.clone(),
                count: ps.count,
                flavors: [(GPU.to_string(), FLAVOR.to_string())]
                    .into_iter()
                    .collect(),
                resource_usage: kq::snapshot::scaled(&ps.requests, ps.count),
            })
            .collect(),
    });
    kq::Workload {
        namespace: String::new(),
        name: format!("job-{job}"),
        uid: format!("{job:010}"),
        queue_name: None,
        priority: spec.priority,
        creation_ms: i64::try_from(m.state.jobs[job as usize].queue_ts.0).unwrap_or(i64::MAX),
        pod_sets,
        admission,
        quota_reserved_ms: admitted.map(|(_, seq)| i64::try_from(*seq).unwrap_or(i64::MAX)),
        evicted: false,
        failed_admission_checks: false,
        preemption_gated: false,
    }
}

fn job_info(m: &ClusterSim, job: u32) -> kq::WorkloadInfo {
    let cq = &m.state.kueue.queues[m.state.kueue.job_cq[job as usize] as usize];
    kq::WorkloadInfo::new(job_workload(m, job), &cq.name)
}

/// The quota tree with every admitted job's usage, charged per queue in bulk (the tree's
/// accounting of a sum is the same as that of its parts). Admitted workloads are
/// attached as preemption candidates only while a preemption is simulated, and only
/// those the preemptor's policies allow: attaching every admitted workload at every
/// instant would dominate the run time, and the others could never be candidates.
fn snapshot(m: &ClusterSim) -> kq::Snapshot {
    let mut snap = empty_snapshot(&m.state.kueue.queues);
    let fr = kq::FlavorResource::new(FLAVOR, GPU);
    for (i, q) in m.state.kueue.queues.iter().enumerate() {
        snap.add_usage(i, &[(fr.clone(), amount(q.usage))].into_iter().collect());
    }
    snap
}

/// Admitted jobs that `job`'s queue policies allow it to preempt (in its own queue with
/// `withinClusterQueue`, in its cohort with `reclaimWithinCohort`).
fn policy_candidates(m: &ClusterSim, job: u32) -> Vec<u32> {
    let cq = m.state.kueue.job_cq[job as usize] as usize;
    let q = &m.state.kueue.queues[cq];
    let prio = m.workload.jobs[job as usize].priority;
    let ts = m.state.jobs[job as usize].queue_ts;
    let allowed = |policy: kq::PreemptionPolicy, v: u32| {
        let vprio = m.workload.jobs[v as usize].priority;
        match policy {
            kq::PreemptionPolicy::Never => false,
            kq::PreemptionPolicy::LowerPriority => vprio < prio,
            kq::PreemptionPolicy::LowerOrNewerEqualPriority => {
                vprio < prio || (vprio == prio && ts < m.state.jobs[v as usize].queue_ts)
            }
            kq::PreemptionPolicy::Any => true,
        }
    };
    let spec = preemption(q);
    let reclaims = q.cohort.is_some() && spec.reclaim_within_cohort != kq::PreemptionPolicy::Never;
    if spec.within_cluster_queue == kq::PreemptionPolicy::Never && !reclaims {
        return Vec::new(); // no policy lets it preempt anything
    }
    m.state
        .kueue
        .admitted_at
        .keys()
        .copied()
        .filter(|&v| {
            let vcq = m.state.kueue.job_cq[v as usize] as usize;
            if vcq == cq {
                allowed(spec.within_cluster_queue, v)
            } else {
                q.cohort.is_some()
                    && m.state.kueue.queues[vcq].cohort == q.cohort
                    && allowed(spec.reclaim_within_cohort, v)
            }
        })
        .collect()
}

/// Run `f` with `job`'s possible preemption candidates attached to the snapshot; those
/// `f` did not remove are detached again.
fn with_candidates<R>(
    m: &ClusterSim,
    snap: &mut kq::Snapshot,
    job: u32,
    f: impl FnOnce(&mut kq::Snapshot) -> R,
) -> R {
    let infos: Vec<kq::WorkloadInfo> = policy_candidates(m, job)
        .into_iter()
        .map(|v| job_info(m, v))
        .collect();
    for i in &infos {
        snap.attach_workload(i.clone());
    }
    let r = f(snap);
    for i in &infos {
        snap.detach_workload(&i.cluster_queue, &i.key());
    }
    r
}

/// The preemption oracle over the simulator's snapshot.
struct SimOracle<'a> {
    m: &'a ClusterSim,
    job: u32,
}

impl kq::PreemptionOracle for SimOracle<'_> {
    fn simulate(
        &mut self,
        snap: &mut kq::Snapshot,
        cq: usize,
        wl: &kq::WorkloadInfo,
        fr: &kq::FlavorResource,
        quantity: kq::Amount,
    ) -> (kq::PreemptionPossibility, i32) {
        with_candidates(self.m, snap, self.job, |snap| {
            kq::Oracle { now_ms: 0 }.simulate(snap, cq, wl, fr, quantity)
        })
    }
}

/// The job whose core workload key is `key`.
fn job_of(key: &str) -> Option<u32> {
    key.strip_prefix("/job-")?.parse().ok()
}

/// The core's flavor assignment for pending job `job` (with the real preemption oracle).
fn assign(m: &ClusterSim, snap: &mut kq::Snapshot, job: u32) -> kq::Assignment {
    let cq = m.state.kueue.job_cq[job as usize] as usize;
    let info = job_info(m, job);
    let mut oracle = SimOracle { m, job };
    kq::FlavorAssigner {
        wl: &info,
        cq,
        enable_fair_sharing: false,
        oracle: &mut oracle,
    }
    .assign(snap, None)
}

/// Why `job` has no quota (`None` once admitted): as Kueue writes it on the Workload's
/// `QuotaReserved=False` condition (the flavor assigner's message, or the reason when the
/// workload is deactivated or admission is blocked).
pub(super) fn pending_reason(m: &ClusterSim, job: u32) -> Option<(String, String)> {
    let js = &m.state.jobs[job as usize];
    if js.admitted {
        return None;
    }
    let cq = m.state.kueue.job_cq[job as usize] as usize;
    let who = format!("ClusterQueue {}", m.state.kueue.queues[cq].name);
    if js.deactivated {
        return Some((
            who,
            format!(
                "The workload is deactivated due to exceeding the maximum number of re-queuing retries ({} requeues)",
                js.requeues
            ),
        ));
    }
    if !m.state.job_queue.iter().any(|k| k.job == job) {
        return Some((
            who,
            "Requeued after eviction; waiting for its backoff to expire".into(),
        ));
    }
    let mut snap = snapshot(m);
    let a = assign(m, &mut snap, job);
    let msg = a.message();
    let msg = if a.representative_mode() == kq::Mode::Fit {
        "Workload fits; waiting for its turn in the ClusterQueue (one head per ClusterQueue per cycle, or admission blocked by waitForPodsReady)".into()
    } else if msg.is_empty() {
        a.no_fit_reason
    } else {
        msg
    };
    Some((who, msg))
}

/// Most each queue could ever hold: its nominal quota plus everything its cohort can lend,
/// within its borrowing limit.
fn max_available(queues: &[CqState]) -> Vec<u64> {
    let snap = empty_snapshot(queues);
    let fr = kq::FlavorResource::new(FLAVOR, GPU);
    (0..queues.len())
        .map(|cq| {
            u64::try_from(snap.potential_available(kq::snapshot::NodeId::Cq(cq), &fr)).unwrap_or(0)
        })
        .collect()
}

/// Does job `job` fit in its queue now? Returns `Some(borrows)`.
fn fits(m: &ClusterSim, snap: &mut kq::Snapshot, job: u32) -> Option<bool> {
    let a = assign(m, snap, job);
    (a.representative_mode() == kq::Mode::Fit).then_some(a.borrowing > 0)
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
    // Kept in step with every admission and eviction of this pass.
    let mut snap = snapshot(m);
    // Where each ClusterQueue's next head is searched from (inclusive). Every earlier key
    // of that queue was admitted (gone) or set aside as inadmissible in this pass, so the
    // search need not pass them again: a pass costs O(queued) per ClusterQueue instead of
    // O(queued) per round. A preemption requeues victims and clears the inadmissible set,
    // so it starts every search from the front again.
    let n_cq = m.state.kueue.queues.len();
    let mut from: Vec<Cursor> = vec![Cursor::Front; n_cq];
    // Membership of the inadmissible set (its order is kept in the Vec), allocated only
    // once the set is non-empty: most passes set nothing aside.
    let jobs_n = m.workload.jobs.len();
    let mut aside: Vec<bool> = Vec::new();
    for &j in &m.state.kueue.inadmissible {
        set_aside(&mut aside, jobs_n, j);
    }
    // Heads that neither fit nor can preempt in the current snapshot, by what their
    // assignment depends on (with the borrowing level it gave): a head with the same key
    // has the same outcome until the snapshot changes (an admission or a preemption), so
    // it is set aside without running the flavor assigner again. Without this, a pass over
    // Q queued workloads that do not fit costs Q assignments after every quota change.
    let ts_matters = m.state.kueue.queues.iter().any(|q| {
        q.within == WithinClusterQueueKey::LowerOrNewerEqualPriority
    });
    let mut no_fit: std::collections::BTreeMap<AssignKey, i32> = Default::default();
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
        let mut heads: Vec<(i32, crate::sim::QueueKey)> = Vec::new();
        for (cq, cursor) in from.iter_mut().enumerate() {
            let range = match *cursor {
                Cursor::Front => m.state.job_queue.range(..),
                Cursor::At(k) => m.state.job_queue.range(k..),
                Cursor::Done => continue,
            };
            let head = range
                .filter(|k| m.state.kueue.job_cq[k.job as usize] as usize == cq)
                .find(|k| {
                    strategy == QueueingStrategy::StrictFifo
                        || !aside.get(k.job as usize).copied().unwrap_or(false)
                })
                .copied();
            match head {
                Some(k) => {
                    *cursor = Cursor::At(k);
                    heads.push((0, k));
                }
                None => *cursor = Cursor::Done,
            }
        }
        if heads.is_empty() {
            return;
        }
        // The core's borrowing level orders entries (0 = within nominal quota); a lone
        // head needs no ordering.
        if heads.len() > 1 {
            for h in heads.iter_mut() {
                let known = (!no_fit.is_empty())
                    .then(|| no_fit.get(&assign_key(m, h.1.job, ts_matters)).copied())
                    .flatten();
                h.0 = match known {
                    Some(b) => b,
                    None => assign(m, &mut snap, h.1.job).borrowing,
                };
            }
        }
        // Entries that fit without borrowing first, then priority, then timestamp.
        heads.sort_by_key(|(borrows, k)| (*borrows, k.neg_priority, k.ts, k.seq));
        let mut progress = false;
        for (_, k) in heads {
            let job = k.job;
            // Keyed only once some head failed in this snapshot (most passes: none).
            let key = (!no_fit.is_empty()).then(|| assign_key(m, job, ts_matters));
            if key.as_ref().is_some_and(|k| no_fit.contains_key(k)) {
                m.state.kueue.inadmissible.push(job);
                set_aside(&mut aside, jobs_n, job);
                if strategy == QueueingStrategy::BestEffortFifo {
                    progress = true; // the next workload becomes head
                }
                continue;
            }
            // One flavor assignment per head: Fit admits, Preempt tries preemption with it.
            let a = assign(m, &mut snap, job);
            if a.representative_mode() == kq::Mode::Fit {
                no_fit.clear();
                admit_job(m, &mut snap, job, k, ctx);
                unsuspended.push(job);
                progress = true;
                if wfpr.enable && wfpr.block_admission {
                    break;
                }
            } else if preempt_for(m, &mut snap, job, &a, ctx) {
                // Victims requeued, the inadmissible set cleared: search from the front.
                from.fill(Cursor::Front);
                aside.clear();
                no_fit.clear();
                // Victims evicted: the preemptor takes the quota they freed.
                if fits(m, &mut snap, job).is_some() {
                    admit_job(m, &mut snap, job, k, ctx);
                    unsuspended.push(job);
                }
                progress = true;
                if wfpr.enable && wfpr.block_admission {
                    break;
                }
            } else {
                let key = key.unwrap_or_else(|| assign_key(m, job, ts_matters));
                no_fit.insert(key, a.borrowing);
                m.state.kueue.inadmissible.push(job);
                set_aside(&mut aside, jobs_n, job);
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

fn admit_job(
    m: &mut ClusterSim,
    snap: &mut kq::Snapshot,
    job: u32,
    key: crate::sim::QueueKey,
    ctx: &mut Ctx<'_, Event>,
) {
    let now = ctx.now();
    let need = m.workload.jobs[job as usize].gpu_milli();
    let cq = m.state.kueue.job_cq[job as usize] as usize;
    m.state.kueue.queues[cq].usage += need;
    let seq = m.next_seq();
    m.state.kueue.admitted_at.insert(job, (now, seq));
    snap.add_usage(cq, &job_info(m, job).usage());
    m.state.job_queue.remove(&key);
    let js = &mut m.state.jobs[job as usize];
    js.admitted = true;
    js.generation += 1;
    let generation = js.generation;
    let wfpr = &m.config.kueue.wait_for_pods_ready;
    if wfpr.enable {
        ctx.schedule_in(
            wfpr.timeout,
            Event::Timer(PolicyTimer {
                kind: PODS_READY_TIMEOUT,
                job,
                generation: Some(generation),
            }),
        );
    }
}

/// What a pending job's flavor assignment and preemption attempt depend on besides the
/// snapshot: its ClusterQueue, priority, pod sets (GPU milli per pod, pod count, in
/// `job_workload`'s order) and, when a queue preempts `LowerOrNewerEqualPriority` (the one
/// policy that reads the preemptor's timestamp), its queue timestamp.
type AssignKey = (usize, i32, u64, Vec<(u64, u32)>);

fn assign_key(m: &ClusterSim, job: u32, ts_matters: bool) -> AssignKey {
    let spec = &m.workload.jobs[job as usize];
    let sets = gpu_sets(spec);
    let ts = if ts_matters {
        m.state.jobs[job as usize].queue_ts.0
    } else {
        0
    };
    (
        m.state.kueue.job_cq[job as usize] as usize,
        spec.priority,
        ts,
        sets,
    )
}

/// Marks `job` set aside in a bitmap of `n` jobs, allocating it on first use.
fn set_aside(aside: &mut Vec<bool>, n: usize, job: u32) {
    if aside.is_empty() {
        *aside = vec![false; n];
    }
    if let Some(b) = aside.get_mut(job as usize) {
        *b = true;
    }
}

/// Where a ClusterQueue's head search starts in one admission pass.
#[derive(Clone, Copy)]
enum Cursor {
    Front,
    At(crate::sim::QueueKey),
    /// No eligible workload left in this pass.
    Done,
}

/// Classic preemption for `job` (the core's `GetTargets` on the assignment the flavor
/// assigner gives it); true if victims were evicted.
fn preempt_for(
    m: &mut ClusterSim,
    snap: &mut kq::Snapshot,
    job: u32,
    a: &kq::Assignment,
    ctx: &mut Ctx<'_, Event>,
) -> bool {
    if a.representative_mode() != kq::Mode::Preempt {
        return false;
    }
    let cq = m.state.kueue.job_cq[job as usize] as usize;
    let info = job_info(m, job);
    let targets = with_candidates(m, snap, job, |snap| {
        let targets = kq::get_targets(snap, &info, cq, a, 0);
        // The victims leave the snapshot with their quota.
        for t in &targets {
            snap.remove_workload(&t.info.cluster_queue, &t.info.key());
        }
        targets
    });
    let victims: Vec<u32> = targets
        .iter()
        .filter_map(|t| job_of(&t.info.key()))
        .collect();
    if victims.is_empty() || victims.len() != targets.len() {
        return false;
    }
    let now = ctx.now();
    for v in victims {
        evict_and_requeue(m, v, now, None, ctx);
    }
    true
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
            ctx.schedule_in(
                d,
                Event::Timer(PolicyTimer {
                    kind: REQUEUE,
                    job,
                    generation: None,
                }),
            );
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
    let now = ctx.now();
    if m.state.jobs[job as usize].assumed > 0 {
        m.note_gang_release(job, now);
    }
    backoff_or_deactivate(m, job, now, ctx);
}

/// A node failure or drain lost pods of the admitted workload `job` (`waitForPodsReady`
/// on): Kueue v0.19.2 marks it `PodsReady=False` (`WaitForRecovery`) and, once
/// `recoveryTimeout` passes (taken as 0 here), evicts it with `PodsReadyTimeout` and the
/// requeuing backoff (`workload_controller.go` `reconcileNotReadyTimeout`,
/// `workload.UpdateRequeueState`), the same path as a `waitForPodsReady` timeout.
pub(super) fn evict_after_failure(
    m: &mut ClusterSim,
    job: u32,
    now: SimTime,
    ctx: &mut Ctx<'_, Event>,
) {
    backoff_or_deactivate(m, job, now, ctx);
}

/// Evict and requeue after the requeuing backoff (`backoffBaseSeconds * 2^(n-1)`, at
/// most `backoffMaxSeconds`), or deactivate past `backoffLimitCount`.
fn backoff_or_deactivate(m: &mut ClusterSim, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
    let wfpr = m.config.kueue.wait_for_pods_ready.clone();
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
