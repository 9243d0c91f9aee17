//! One scheduling cycle, as Kueue v0.19.2 `pkg/scheduler/scheduler.go` `schedule()` runs
//! it, in named phases: **heads** (one pending workload per active ClusterQueue, from
//! [`Queues`]) → **nominate** (validate each head, assign flavors, find preemption
//! targets) → **order** (no borrowing before borrowing, then priority, then queue time) →
//! **admit / preempt / skip** (re-checking each entry against the quota the earlier
//! entries of the cycle took) → **requeue** (BestEffortFIFO sets a workload that cannot
//! be admitted aside as inadmissible; StrictFIFO keeps it at the head).
//!
//! Simplifications (see docs/policies.md): no fair sharing, no TAS, no admission checks
//! beyond "a failed check makes the workload inadmissible", no second pass, no
//! `LastAssignment` carried across cycles (each cycle scans flavors from the first).

use std::collections::{BTreeMap, BTreeSet};

use super::assigner::{Assignment, FlavorAssigner, Mode, WAITING_FOR_QUOTA};
use super::preemption::{self, Oracle, Target};
use super::snapshot::{Snapshot, WorkloadInfo};
use super::types::*;

/// Why an entry goes back to its queue (`RequeueReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequeueReason {
    Generic,
    FailedAfterNomination,
    NamespaceMismatch,
    PendingPreemption,
    NoFit,
    PreemptionNoCandidates,
    PreemptionGated,
}

/// The pending workloads of each ClusterQueue: the active heap and the inadmissible set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Queues {
    pub strategy: BTreeMap<String, QueueingStrategy>,
    pub active: BTreeMap<String, Vec<WorkloadInfo>>,
    pub inadmissible: BTreeMap<String, BTreeMap<String, WorkloadInfo>>,
}

/// Queue order: higher priority first, then earlier queue time, then UID, then key.
pub fn queue_order(a: &WorkloadInfo, b: &WorkloadInfo) -> std::cmp::Ordering {
    b.obj
        .priority
        .cmp(&a.obj.priority)
        .then_with(|| a.obj.creation_ms.cmp(&b.obj.creation_ms))
        .then_with(|| a.obj.uid.cmp(&b.obj.uid))
        .then_with(|| a.key().cmp(&b.key()))
}

impl Queues {
    pub fn new(cqs: &[ClusterQueue]) -> Queues {
        let mut q = Queues::default();
        for c in cqs {
            q.strategy.insert(c.name.clone(), c.queueing_strategy);
            q.active.insert(c.name.clone(), Vec::new());
            q.inadmissible.insert(c.name.clone(), BTreeMap::new());
        }
        q
    }

    /// Queue a pending workload (ignored if its ClusterQueue is unknown).
    pub fn push(&mut self, info: WorkloadInfo) {
        if let Some(h) = self.active.get_mut(&info.cluster_queue) {
            h.push(info);
            h.sort_by(queue_order);
        }
    }

    /// Pop the head of every active ClusterQueue, in queue-name order.
    pub fn heads(&mut self, snap: &Snapshot) -> Vec<WorkloadInfo> {
        let mut out = Vec::new();
        for (cq, heap) in self.active.iter_mut() {
            let active = snap.cq_index(cq).is_some_and(|i| snap.cqs[i].active);
            if !active || heap.is_empty() {
                continue;
            }
            out.push(heap.remove(0));
        }
        out
    }

    /// Put an entry back: at once into the heap, or aside as inadmissible.
    pub fn requeue(&mut self, info: WorkloadInfo, reason: RequeueReason, pending_flavors: bool) {
        let strict = self.strategy.get(&info.cluster_queue) == Some(&QueueingStrategy::StrictFifo);
        let immediate = if strict {
            reason != RequeueReason::NamespaceMismatch
        } else {
            matches!(
                reason,
                RequeueReason::FailedAfterNomination | RequeueReason::PendingPreemption
            )
        };
        if immediate || pending_flavors {
            self.push(info);
        } else if let Some(s) = self.inadmissible.get_mut(&info.cluster_queue) {
            s.insert(info.key(), info);
        }
    }

    /// Quota changed: every inadmissible workload goes back to its heap.
    pub fn queue_inadmissible(&mut self) {
        let all: Vec<WorkloadInfo> = self
            .inadmissible
            .values_mut()
            .flat_map(|m| std::mem::take(m).into_values())
            .collect();
        for w in all {
            self.push(w);
        }
    }

    /// Keys in each non-empty active heap.
    pub fn dump(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.active
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(cq, h)| (cq.clone(), h.iter().map(|w| w.key()).collect()))
            .collect()
    }

    /// Keys in each non-empty inadmissible set.
    pub fn dump_inadmissible(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.inadmissible
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(cq, h)| (cq.clone(), h.keys().cloned().collect()))
            .collect()
    }
}

/// Cycle options.
#[derive(Clone, Debug, Default)]
pub struct CycleOptions {
    /// Namespace labels (for ClusterQueue namespace selectors); a namespace not listed
    /// has no labels.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Partial admission (feature gate `PartialAdmission`, on by default upstream).
    pub partial_admission: bool,
    /// The clock (for candidates without a quota-reservation time).
    pub now_ms: i64,
    /// Preemption gates are honoured (feature gates `MultiKueueOrchestratedPreemption`
    /// or `ConcurrentAdmission`).
    pub preemption_gates: bool,
}

/// How an entry ended the cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryStatus {
    /// Quota reserved: the workload is admitted.
    Admitted,
    /// Victims were evicted; the workload waits for them.
    Preempting,
    /// Nothing reserved.
    Pending,
    /// Fit when nominated but another entry of the cycle took the quota or the victims.
    Skipped,
    /// Needs preemption but a preemption gate is closed.
    PreemptionGated,
}

/// One head's outcome.
#[derive(Clone, Debug)]
pub struct EntryResult {
    pub info: WorkloadInfo,
    pub status: EntryStatus,
    pub assignment: Assignment,
    pub admission: Option<Admission>,
    pub targets: Vec<Target>,
    pub requeue_reason: RequeueReason,
    /// The QuotaReserved=False message written to the workload (none when admitted).
    pub message: String,
    /// The QuotaReserved=False reason (`WaitingForQuota`, `NoMatchingFlavor`, ...).
    pub pending_reason: String,
}

/// What a cycle decided.
#[derive(Clone, Debug, Default)]
pub struct CycleResult {
    /// In processing order.
    pub entries: Vec<EntryResult>,
    /// Preemptions issued: (victim key, victim ClusterQueue, reason), in issue order; a
    /// victim already being evicted is counted but keeps its conditions.
    pub preempted: Vec<(WorkloadInfo, &'static str)>,
    /// Entries that were skipped with preemption mode, per ClusterQueue.
    pub skipped_preemptions: BTreeMap<String, usize>,
}

struct Entry {
    info: WorkloadInfo,
    assignment: Assignment,
    targets: Vec<Target>,
    status: EntryStatus,
    nominated: bool,
    reason: RequeueReason,
    message: String,
    admission: Option<Admission>,
    pending_flavors: bool,
    pending_reason: String,
}

/// Flavors and preemption targets for a workload: the full assignment; if it needs
/// preemption and has no targets, partial admission searches for smaller counts.
pub fn get_assignments(
    snap: &mut Snapshot,
    cq: usize,
    wl: &WorkloadInfo,
    opts: &CycleOptions,
) -> (Assignment, Vec<Target>) {
    let mut oracle = Oracle {
        now_ms: opts.now_ms,
    };
    let full = FlavorAssigner {
        wl,
        cq,
        enable_fair_sharing: false,
        oracle: &mut oracle,
    }
    .assign(snap, None);
    let mode = full.representative_mode();
    if mode == Mode::Fit {
        return (full, Vec::new());
    }
    if mode == Mode::Preempt {
        let t = preemption::get_targets(snap, wl, cq, &full, opts.now_ms);
        if !t.is_empty() {
            return (full, t);
        }
    }
    let can_partial = wl
        .obj
        .pod_sets
        .iter()
        .any(|p| p.min_count.is_some_and(|m| m < p.count));
    if opts.partial_admission
        && can_partial
        && let Some(found) = partial_search(snap, cq, wl, opts)
    {
        return found;
    }
    (full, Vec::new())
}

/// Upstream `PodSetReducer.Search`: binary search over how far to shrink every pod set
/// toward its `min_count` (together, proportionally) for the largest counts that fit or
/// can preempt.
fn partial_search(
    snap: &mut Snapshot,
    cq: usize,
    wl: &WorkloadInfo,
    opts: &CycleOptions,
) -> Option<(Assignment, Vec<Target>)> {
    let full: Vec<i64> = wl.obj.pod_sets.iter().map(|p| i64::from(p.count)).collect();
    let deltas: Vec<i64> = wl
        .obj
        .pod_sets
        .iter()
        .map(|p| i64::from(p.count) - i64::from(p.min_count.unwrap_or(p.count)))
        .collect();
    let total: i64 = deltas.iter().sum();
    if total <= 0 {
        return None;
    }
    let counts_at = |i: i64| -> Vec<u32> {
        full.iter()
            .zip(&deltas)
            .map(|(f, d)| u32::try_from(f - d * i / total).unwrap_or(0))
            .collect()
    };
    let try_counts = |snap: &mut Snapshot, i: i64| -> Option<(Assignment, Vec<Target>)> {
        let counts = counts_at(i);
        let mut oracle = Oracle {
            now_ms: opts.now_ms,
        };
        let a = FlavorAssigner {
            wl,
            cq,
            enable_fair_sharing: false,
            oracle: &mut oracle,
        }
        .assign(snap, Some(&counts));
        match a.representative_mode() {
            Mode::Fit => Some((a, Vec::new())),
            Mode::Preempt => {
                let t = preemption::get_targets(snap, wl, cq, &a, opts.now_ms);
                (!t.is_empty()).then_some((a, t))
            }
            Mode::NoFit => None,
        }
    };
    // sort.Search over [0, total]: the smallest i for which it fits.
    let (mut lo, mut hi) = (0i64, total + 1);
    let mut last_good: Option<(i64, (Assignment, Vec<Target>))> = None;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match try_counts(snap, mid) {
            Some(r) => {
                last_good = Some((mid, r));
                hi = mid;
            }
            None => lo = mid + 1,
        }
    }
    match last_good {
        Some((i, r)) if i == lo => Some(r),
        _ => None,
    }
}

fn entry_order(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    a.assignment
        .borrowing
        .cmp(&b.assignment.borrowing)
        .then_with(|| b.info.obj.priority.cmp(&a.info.obj.priority))
        .then_with(|| a.info.obj.creation_ms.cmp(&b.info.obj.creation_ms))
}

/// Quota a preempting workload without candidates keeps for itself so lower entries do
/// not take it (`quotaResourcesToReserve`).
fn resources_to_reserve(snap: &Snapshot, cq: usize, a: &Assignment) -> FlavorResourceQuantities {
    if a.representative_mode() != Mode::Preempt {
        return a.usage.clone();
    }
    let node = &snap.cqs[cq].node;
    a.usage
        .iter()
        .map(|(fr, u)| {
            let q = node.quotas.get(fr).copied().unwrap_or_default();
            let used = node.usage(fr);
            let v = if a.borrowing > 0 {
                match q.borrowing_limit {
                    None => *u,
                    Some(bl) => (*u).min(q.nominal.saturating_add(bl).saturating_sub(used)),
                }
            } else {
                (*u).min(q.nominal.saturating_sub(used)).max(0)
            };
            (fr.clone(), v)
        })
        .collect()
}

/// Run one cycle on `snap` (which ends holding the cycle's admissions) and `queues`.
pub fn schedule(snap: &mut Snapshot, queues: &mut Queues, opts: &CycleOptions) -> CycleResult {
    let heads = queues.heads(snap);
    let mut result = CycleResult::default();
    if heads.is_empty() {
        return result;
    }
    // Nominate.
    let mut entries: Vec<Entry> = Vec::new();
    let mut inadmissible: Vec<Entry> = Vec::new();
    for h in heads {
        let mut e = Entry {
            info: h,
            assignment: Assignment::default(),
            targets: Vec::new(),
            status: EntryStatus::Pending,
            nominated: false,
            reason: RequeueReason::Generic,
            message: String::new(),
            admission: None,
            pending_flavors: false,
            pending_reason: String::new(),
        };
        let cq = snap.cq_index(&e.info.cluster_queue);
        let empty = BTreeMap::new();
        let ns_labels = opts.namespaces.get(&e.info.obj.namespace).unwrap_or(&empty);
        if e.info.obj.failed_admission_checks {
            e.message = "The workload has failed admission checks".into();
            e.pending_reason = "PendingEvaluation".into();
        } else if let Some(i) = cq.filter(|&i| !snap.cqs[i].active) {
            e.message = format!("ClusterQueue {} is inactive", snap.cqs[i].spec.name);
            e.pending_reason = "Suspended".into();
        } else if cq.is_none() {
            e.message = format!("ClusterQueue {} not found", e.info.cluster_queue);
            e.pending_reason = "Misconfigured".into();
        } else if let Some(i) = cq
            && snap.cqs[i]
                .spec
                .namespace_selector
                .as_ref()
                .is_some_and(|s| !s.matches(ns_labels))
        {
            e.message = "workload namespace doesn't match ClusterQueue selector".into();
            e.reason = RequeueReason::NamespaceMismatch;
            e.pending_reason = "Misconfigured".into();
        } else if let Err(msg) = e.info.obj.validate_resources() {
            e.message = msg;
            e.pending_reason = "Misconfigured".into();
        } else if let Some(i) = cq {
            let (a, t) = get_assignments(snap, i, &e.info, opts);
            e.message = a.message();
            e.pending_flavors = a.pending_flavors();
            e.assignment = a;
            e.targets = t;
            entries.push(e);
            continue;
        }
        inadmissible.push(e);
    }
    // Order.
    entries.sort_by(entry_order);
    // Admit / preempt / skip.
    let mut preempted: BTreeMap<String, WorkloadInfo> = BTreeMap::new();
    for e in entries.iter_mut() {
        let Some(cq) = snap.cq_index(&e.info.cluster_queue) else {
            continue;
        };
        let usage = e.assignment.usage.clone();
        // Fits once every victim of this cycle (and this entry's own) is gone.
        let mut merged = preempted.clone();
        for t in &e.targets {
            merged.insert(t.info.key(), t.info.clone());
        }
        for v in merged.values() {
            snap.remove_workload(&v.cluster_queue, &v.key());
        }
        let fits = snap.fits(cq, &usage);
        for v in merged.values() {
            snap.add_workload(v.clone());
        }
        let mode = e.assignment.representative_mode();
        if mode == Mode::NoFit {
            e.reason = RequeueReason::NoFit;
            e.pending_reason = e.assignment.no_fit_reason.clone();
            continue;
        }
        if mode == Mode::Preempt && e.targets.is_empty() {
            e.reason = RequeueReason::PreemptionNoCandidates;
            e.pending_reason = WAITING_FOR_QUOTA.into();
            if snap.cqs[cq].spec.preemption.reclaim_within_cohort != PreemptionPolicy::Any {
                let reserve = resources_to_reserve(snap, cq, &e.assignment);
                snap.add_usage(cq, &reserve);
            }
            continue;
        }
        if mode == Mode::Preempt && opts.preemption_gates && e.info.obj.preemption_gated {
            e.status = EntryStatus::PreemptionGated;
            e.message = "Workload requires preemption, but it's gated".into();
            e.pending_reason = "AdmissionGated".into();
            e.reason = RequeueReason::PreemptionGated;
            e.pending_flavors = false;
            continue;
        }
        if e.targets
            .iter()
            .any(|t| preempted.contains_key(&t.info.key()))
        {
            e.status = EntryStatus::Skipped;
            e.message = "Workload has overlapping preemption targets with another workload".into();
            e.pending_reason = WAITING_FOR_QUOTA.into();
            *result
                .skipped_preemptions
                .entry(e.info.cluster_queue.clone())
                .or_insert(0) += 1;
            continue;
        }
        if !fits {
            e.status = EntryStatus::Skipped;
            e.message = "Workload no longer fits after processing another workload".into();
            e.pending_reason = WAITING_FOR_QUOTA.into();
            if mode == Mode::Preempt {
                *result
                    .skipped_preemptions
                    .entry(e.info.cluster_queue.clone())
                    .or_insert(0) += 1;
            }
            continue;
        }
        for t in &e.targets {
            preempted.insert(t.info.key(), t.info.clone());
        }
        snap.add_usage(cq, &usage);
        if mode == Mode::Preempt {
            e.status = EntryStatus::Preempting;
            e.pending_reason = "WaitingForPreemptedWorkloads".into();
            e.pending_flavors = false;
            for t in &e.targets {
                result.preempted.push((t.info.clone(), t.reason));
            }
            let n = e.targets.len();
            if n != 0 {
                e.message += &format!(". Pending the preemption of {n} workload(s)");
                e.reason = RequeueReason::PendingPreemption;
            }
            continue;
        }
        e.nominated = true;
        e.status = EntryStatus::Admitted;
        e.admission = Some(e.assignment.to_admission(&e.info.cluster_queue));
    }
    // Requeue.
    for mut e in entries.into_iter().chain(inadmissible) {
        if e.status != EntryStatus::Admitted {
            let touched = e.status == EntryStatus::Skipped || e.nominated;
            if touched && e.reason == RequeueReason::Generic {
                e.reason = RequeueReason::FailedAfterNomination;
            }
            queues.requeue(e.info.clone(), e.reason, e.pending_flavors);
        } else {
            e.message.clear();
            e.pending_reason.clear();
        }
        result.entries.push(EntryResult {
            info: e.info,
            status: e.status,
            assignment: e.assignment,
            admission: e.admission,
            targets: e.targets,
            requeue_reason: e.reason,
            message: e.message,
            pending_reason: e.pending_reason,
        });
    }
    result
}
