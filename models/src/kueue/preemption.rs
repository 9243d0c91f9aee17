//! Classic preemption: which admitted workloads to evict so an incoming workload fits.
//! Re-implements Kueue v0.19.2 `pkg/scheduler/preemption/preemption.go` and
//! `classical/` (candidate generation, hierarchical reclaim, `borrowWithinCohort`):
//!
//! * candidates come from the queue itself (`withinClusterQueue`) and from queues of the
//!   cohort tree that are over their nominal quota in a resource needing preemption
//!   (`reclaimWithinCohort`); a candidate must use such a (flavor, resource);
//! * candidates are ordered: already evicted first, other queues before the queue itself,
//!   lower priority first, most recently admitted first, then UID;
//! * attempts: with borrowing allowed, or first without (reclaim only while the queue is
//!   under nominal), depending on `borrowWithinCohort` and where candidates are;
//! * candidates are removed in order until the workload fits, then every removed one not
//!   needed is added back (from the second-to-last down).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::assigner::{Assignment, PreemptionOracle, PreemptionPossibility};
use super::snapshot::{NodeId, Snapshot, WorkloadInfo};
use super::types::*;

/// Upstream `Preempted` condition reasons.
pub const IN_CLUSTER_QUEUE: &str = "InClusterQueue";
pub const IN_COHORT_RECLAMATION: &str = "InCohortReclamation";
pub const IN_COHORT_RECLAIM_WHILE_BORROWING: &str = "InCohortReclaimWhileBorrowing";

/// A workload to evict and why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub info: WorkloadInfo,
    pub reason: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Never,
    WithinCq,
    HierarchicalReclaim,
    ReclaimWithoutBorrowing,
    ReclaimWhileBorrowing,
}

impl Variant {
    fn reason(self) -> &'static str {
        match self {
            Variant::WithinCq => IN_CLUSTER_QUEUE,
            Variant::ReclaimWhileBorrowing => IN_COHORT_RECLAIM_WHILE_BORROWING,
            _ => IN_COHORT_RECLAMATION,
        }
    }
}

struct Candidate {
    info: WorkloadInfo,
    /// The cohort below which the candidate's queue need not be checked for borrowing.
    lca: Option<usize>,
    variant: Variant,
}

/// Whether `policy` lets `preemptor` preempt `candidate`.
pub fn satisfies_policy(
    preemptor: &Workload,
    candidate: &Workload,
    policy: PreemptionPolicy,
) -> bool {
    let lower = preemptor.priority > candidate.priority;
    match policy {
        PreemptionPolicy::Never => false,
        PreemptionPolicy::LowerPriority => lower,
        PreemptionPolicy::LowerOrNewerEqualPriority => {
            lower
                || (preemptor.priority == candidate.priority
                    && preemptor.creation_ms < candidate.creation_ms)
        }
        PreemptionPolicy::Any => true,
    }
}

/// Upstream `CandidatesOrdering`.
pub fn candidates_ordering(a: &WorkloadInfo, b: &WorkloadInfo, cq: &str, now_ms: i64) -> Ordering {
    b.obj
        .evicted
        .cmp(&a.obj.evicted)
        .then_with(|| (a.cluster_queue == cq).cmp(&(b.cluster_queue == cq)))
        .then_with(|| a.obj.priority.cmp(&b.obj.priority))
        .then_with(|| {
            let ta = a.obj.quota_reserved_ms.unwrap_or(now_ms);
            let tb = b.obj.quota_reserved_ms.unwrap_or(now_ms);
            tb.cmp(&ta)
        })
        .then_with(|| a.obj.uid.cmp(&b.obj.uid))
        .then_with(|| a.key().cmp(&b.key()))
}

fn bwc_forbidden(snap: &Snapshot, cq: usize) -> (bool, Option<i32>) {
    match &snap.cqs[cq].spec.preemption.borrow_within_cohort {
        Some(b) if b.lower_priority => (false, b.max_priority_threshold),
        _ => (true, None),
    }
}

struct Ctx<'a> {
    wl: &'a WorkloadInfo,
    cq: usize,
    frs: &'a BTreeSet<FlavorResource>,
    requests: &'a FlavorResourceQuantities,
    now_ms: i64,
}

fn classify(snap: &Snapshot, ctx: &Ctx<'_>, cand: &WorkloadInfo, hier_adv: bool) -> Variant {
    if !cand.uses_any(ctx.frs) {
        return Variant::Never;
    }
    let p = &snap.cqs[ctx.cq].spec.preemption;
    let same = cand.cluster_queue == snap.cqs[ctx.cq].spec.name;
    let policy = if same {
        p.within_cluster_queue
    } else {
        p.reclaim_within_cohort
    };
    if !satisfies_policy(&ctx.wl.obj, &cand.obj, policy) {
        return Variant::Never;
    }
    if same {
        return Variant::WithinCq;
    }
    if hier_adv {
        return Variant::HierarchicalReclaim;
    }
    let (forbidden, threshold) = bwc_forbidden(snap, ctx.cq);
    if forbidden {
        return Variant::ReclaimWithoutBorrowing;
    }
    let cp = i64::from(cand.obj.priority);
    let ip = i64::from(ctx.wl.obj.priority);
    if cp >= ip || threshold.is_some_and(|t| cp > i64::from(t)) {
        return Variant::ReclaimWithoutBorrowing;
    }
    Variant::ReclaimWhileBorrowing
}

fn candidates_from_cq(
    snap: &Snapshot,
    ctx: &Ctx<'_>,
    cq: usize,
    lca: Option<usize>,
    hier_adv: bool,
    out: &mut Vec<Candidate>,
) {
    for info in snap.cqs[cq].workloads.values() {
        let v = classify(snap, ctx, info, hier_adv);
        if v != Variant::Never {
            out.push(Candidate {
                info: info.clone(),
                lca,
                variant: v,
            });
        }
    }
}

fn collect_in_subtree(
    snap: &Snapshot,
    ctx: &Ctx<'_>,
    current: usize,
    subtree_root: usize,
    skip: Option<usize>,
    hier_adv: bool,
    out: &mut Vec<Candidate>,
) {
    for &child in &snap.cohorts[current].child_cohorts {
        if Some(child) == skip || snap.within_nominal(NodeId::Cohort(child), ctx.frs) {
            continue;
        }
        collect_in_subtree(snap, ctx, child, subtree_root, skip, hier_adv, out);
    }
    for &q in &snap.cohorts[current].child_cqs {
        if q == ctx.cq {
            continue;
        }
        if !snap.within_nominal(NodeId::Cq(q), ctx.frs) {
            candidates_from_cq(snap, ctx, q, Some(subtree_root), hier_adv, out);
        }
    }
}

/// Candidates in iteration order, and whether any come from other queues / give a
/// hierarchical advantage.
fn candidates(snap: &Snapshot, ctx: &Ctx<'_>) -> (Vec<Candidate>, bool, bool) {
    let spec = &snap.cqs[ctx.cq].spec;
    let mut same = Vec::new();
    if spec.preemption.within_cluster_queue != PreemptionPolicy::Never {
        candidates_from_cq(snap, ctx, ctx.cq, None, false, &mut same);
    }
    let mut hier = Vec::new();
    let mut prio = Vec::new();
    if snap.cqs[ctx.cq].parent.is_some()
        && spec.preemption.reclaim_within_cohort != PreemptionPolicy::Never
    {
        let (mut adv, mut remaining) =
            snap.quantities_fit_in_quota(NodeId::Cq(ctx.cq), ctx.requests);
        let mut prev: Option<usize> = None;
        for root in snap.ancestors(NodeId::Cq(ctx.cq)) {
            let list = if adv { &mut hier } else { &mut prio };
            collect_in_subtree(snap, ctx, root, root, prev, adv, list);
            let (fits, rem) = snap.quantities_fit_in_quota(NodeId::Cohort(root), &remaining);
            remaining = rem;
            adv = adv || fits;
            prev = Some(root);
        }
    }
    let name = spec.name.clone();
    let sort = |v: &mut Vec<Candidate>| {
        v.sort_by(|a, b| candidates_ordering(&a.info, &b.info, &name, ctx.now_ms));
    };
    sort(&mut same);
    sort(&mut hier);
    sort(&mut prio);
    let no_other = hier.is_empty() && prio.is_empty();
    let no_hier = hier.is_empty();
    let split = |v: Vec<Candidate>| -> (Vec<Candidate>, Vec<Candidate>) {
        v.into_iter().partition(|c| c.info.obj.evicted)
    };
    let (eh, nh) = split(hier);
    let (ep, np) = split(prio);
    let (es, ns) = split(same);
    let mut all = Vec::new();
    all.extend(eh);
    all.extend(ep);
    all.extend(es);
    all.extend(nh);
    all.extend(np);
    all.extend(ns);
    (all, no_other, no_hier)
}

fn candidate_valid(snap: &Snapshot, ctx: &Ctx<'_>, c: &Candidate, borrow: bool) -> bool {
    if c.info.cluster_queue == snap.cqs[ctx.cq].spec.name {
        return true;
    }
    if borrow && c.variant == Variant::ReclaimWithoutBorrowing {
        return false;
    }
    let Some(q) = snap.cq_index(&c.info.cluster_queue) else {
        return false;
    };
    if snap.within_nominal(NodeId::Cq(q), ctx.frs) {
        return false;
    }
    for node in snap.ancestors(NodeId::Cq(q)) {
        if Some(node) == c.lca {
            break;
        }
        if snap.within_nominal(NodeId::Cohort(node), ctx.frs) {
            return false;
        }
    }
    true
}

fn workload_fits(snap: &Snapshot, ctx: &Ctx<'_>, allow_borrowing: bool) -> bool {
    ctx.requests.iter().all(|(fr, v)| {
        (allow_borrowing || !snap.cq_borrowing_with(ctx.cq, fr, *v))
            && *v <= snap.available(ctx.cq, fr)
    })
}

fn queue_under_nominal(snap: &Snapshot, ctx: &Ctx<'_>) -> bool {
    let n = &snap.cqs[ctx.cq].node;
    ctx.frs
        .iter()
        .all(|fr| n.quotas.get(fr).map_or(0, |q| q.nominal) > n.usage(fr))
}

fn remove(snap: &mut Snapshot, info: &WorkloadInfo) {
    snap.remove_workload(&info.cluster_queue, &info.key());
}

fn restore(snap: &mut Snapshot, targets: &[Target]) {
    for t in targets {
        snap.add_workload(t.info.clone());
    }
}

fn fill_back(
    snap: &mut Snapshot,
    ctx: &Ctx<'_>,
    mut targets: Vec<Target>,
    allow_borrowing: bool,
) -> Vec<Target> {
    let n = targets.len();
    if n < 2 {
        return targets;
    }
    let mut i = n - 2;
    loop {
        snap.add_workload(targets[i].info.clone());
        if workload_fits(snap, ctx, allow_borrowing) {
            // Not needed: upstream moves the last target into its slot.
            let last = targets.len() - 1;
            targets.swap(i, last);
            targets.pop();
        } else {
            remove(snap, &targets[i].info);
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
    targets
}

/// Upstream `classicalPreemptions`; the snapshot is restored before returning.
fn classical(
    snap: &mut Snapshot,
    wl: &WorkloadInfo,
    cq: usize,
    frs: &BTreeSet<FlavorResource>,
    requests: &FlavorResourceQuantities,
    now_ms: i64,
) -> Vec<Target> {
    let ctx = Ctx {
        wl,
        cq,
        frs,
        requests,
        now_ms,
    };
    let (cands, no_other, no_hier) = candidates(snap, &ctx);
    let (forbidden, _) = bwc_forbidden(snap, cq);
    let attempts: &[bool] = if no_other || (forbidden && !queue_under_nominal(snap, &ctx)) {
        &[true]
    } else if forbidden && no_hier {
        &[false, true]
    } else {
        &[true, false]
    };
    for &borrowing in attempts {
        let mut targets: Vec<Target> = Vec::new();
        for c in &cands {
            if !candidate_valid(snap, &ctx, c, borrowing) {
                continue;
            }
            remove(snap, &c.info);
            targets.push(Target {
                info: c.info.clone(),
                reason: c.variant.reason(),
            });
            if workload_fits(snap, &ctx, borrowing) {
                let targets = fill_back(snap, &ctx, targets, borrowing);
                restore(snap, &targets);
                return targets;
            }
        }
        restore(snap, &targets);
    }
    Vec::new()
}

/// Upstream `GetTargets`: workloads to preempt so `wl` fits in queue `cq` with
/// `assignment` (empty when preemption cannot help).
pub fn get_targets(
    snap: &mut Snapshot,
    wl: &WorkloadInfo,
    cq: usize,
    assignment: &Assignment,
    now_ms: i64,
) -> Vec<Target> {
    let frs = assignment.needing_preemption();
    let requests = assignment.total_requests_for(wl);
    classical(snap, wl, cq, &frs, &requests, now_ms)
}

/// The preemption oracle the flavor assigner consults.
pub struct Oracle {
    pub now_ms: i64,
}

impl PreemptionOracle for Oracle {
    fn simulate(
        &mut self,
        snap: &mut Snapshot,
        cq: usize,
        wl: &WorkloadInfo,
        fr: &FlavorResource,
        quantity: Amount,
    ) -> (PreemptionPossibility, i32) {
        let frs: BTreeSet<FlavorResource> = [fr.clone()].into_iter().collect();
        let requests: FlavorResourceQuantities = [(fr.clone(), quantity)].into_iter().collect();
        let targets = classical(snap, wl, cq, &frs, &requests, self.now_ms);
        if targets.is_empty() {
            let (b, _) = snap.lowest_subtree_that_fits(cq, fr, quantity);
            return (PreemptionPossibility::NoCandidates, b);
        }
        for t in &targets {
            remove(snap, &t.info);
        }
        let (b, _) = snap.lowest_subtree_that_fits(cq, fr, quantity);
        restore(snap, &targets);
        let name = &snap.cqs[cq].spec.name;
        if targets.iter().any(|t| &t.info.cluster_queue == name) {
            (PreemptionPossibility::Preempt, b)
        } else {
            (PreemptionPossibility::Reclaim, b)
        }
    }
}
