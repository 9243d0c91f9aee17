//! The flavor assigner: for each pod set and each resource group, walk the group's
//! flavors in order and pick one per the queue's fungibility policy. Re-implements the
//! semantics of Kueue v0.19.2 `pkg/scheduler/flavorassigner/flavorassigner.go`:
//! a flavor is skipped when its taints are not tolerated or its node labels cannot match
//! the pod set's node selector / required affinity; otherwise each resource is checked
//! against quota — `Fit` (unused quota, perhaps borrowed), `Preempt` (within reach if
//! workloads are preempted, as the preemption oracle simulates) or `NoFit` — and the
//! search stops at the first flavor the fungibility policy accepts, else keeps the best.

use std::collections::BTreeMap;

use super::snapshot::{NodeId, Snapshot, WorkloadInfo, scaled};
use super::types::*;

/// How a flavor can be assigned (`FlavorAssignmentMode`), worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    NoFit,
    Preempt,
    Fit,
}

/// What a preemption simulation found (worst first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreemptionPossibility {
    NoCandidates,
    /// Candidates include workloads of the queue itself.
    Preempt,
    /// Only other queues' workloads.
    Reclaim,
}

/// The assigner's finer mode, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum PMode {
    NoFit,
    NoCandidates,
    Preempt,
    Reclaim,
    Fit,
}

impl PMode {
    fn mode(self) -> Mode {
        match self {
            PMode::NoFit => Mode::NoFit,
            PMode::Fit => Mode::Fit,
            _ => Mode::Preempt,
        }
    }
    fn possibility(self) -> Option<PreemptionPossibility> {
        match self {
            PMode::NoCandidates => Some(PreemptionPossibility::NoCandidates),
            PMode::Preempt => Some(PreemptionPossibility::Preempt),
            PMode::Reclaim => Some(PreemptionPossibility::Reclaim),
            _ => None,
        }
    }
    fn from_possibility(p: PreemptionPossibility) -> PMode {
        match p {
            PreemptionPossibility::NoCandidates => PMode::NoCandidates,
            PreemptionPossibility::Preempt => PMode::Preempt,
            PreemptionPossibility::Reclaim => PMode::Reclaim,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Granular {
    p: PMode,
    borrow: i32,
}

const WORST: Granular = Granular {
    p: PMode::NoFit,
    borrow: i32::MAX,
};
const BEST: Granular = Granular {
    p: PMode::Fit,
    borrow: 0,
};

/// `a` is better than `b` under the queue's fungibility preference.
fn is_preferred(a: Granular, b: Granular, f: &FlavorFungibility) -> bool {
    if a.p == PMode::NoFit {
        return false;
    }
    if b.p == PMode::NoFit {
        return true;
    }
    let a_none = a.p == PMode::NoCandidates;
    let b_none = b.p == PMode::NoCandidates;
    if a_none != b_none {
        return !a_none;
    }
    let borrowing_over_preemption = || {
        if a.p != b.p {
            a.p > b.p
        } else {
            a.borrow < b.borrow
        }
    };
    match f.preference {
        Some(FungibilityPreference::PreemptionOverBorrowing) => {
            if a.borrow != b.borrow {
                a.borrow < b.borrow
            } else {
                a.p > b.p
            }
        }
        _ => borrowing_over_preemption(),
    }
}

fn should_try_next_flavor(m: Granular, f: &FlavorFungibility) -> bool {
    if m.p == PMode::NoFit || m.p == PMode::NoCandidates {
        return true;
    }
    let preempts = m.p == PMode::Preempt || m.p == PMode::Reclaim;
    if preempts && f.when_can_preempt == FungibilityPolicy::TryNextFlavor {
        return true;
    }
    m.borrow != 0 && f.when_can_borrow == FungibilityPolicy::TryNextFlavor
}

/// The flavor chosen for one resource of a pod set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlavorAssignment {
    pub name: String,
    pub mode: Mode,
    /// Index of the last flavor tried, -1 when the search reached the group's end.
    pub tried_flavor_idx: i32,
    pub borrow: i32,
}

/// Why flavors could not be assigned (at once).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Status {
    pub reasons: Vec<String>,
    pub err: Option<String>,
}

impl Status {
    pub fn is_fit(&self) -> bool {
        self.err.is_none() && self.reasons.is_empty()
    }
    pub fn message(&self) -> String {
        if let Some(e) = &self.err {
            return e.clone();
        }
        let mut r = self.reasons.clone();
        r.sort();
        r.join(", ")
    }
}

/// Upstream reasons a workload stays pending (`QuotaReserved=False`).
pub const NO_MATCHING_FLAVOR: &str = "NoMatchingFlavor";
pub const EXCEEDS_MAX_QUOTA: &str = "ExceedsMaxQuota";
pub const WAITING_FOR_QUOTA: &str = "WaitingForQuota";

fn severity(r: &str) -> u8 {
    match r {
        NO_MATCHING_FLAVOR => 4,
        EXCEEDS_MAX_QUOTA => 3,
        WAITING_FOR_QUOTA => 2,
        "TopologyPlacementFailed" => 1,
        _ => 0,
    }
}

/// The more severe of two pending reasons (`a` on a tie).
pub fn most_severe<'s>(a: &'s str, b: &'s str) -> &'s str {
    if severity(a) >= severity(b) { a } else { b }
}

/// One flavor the search considered for a pod set (`FlavorAssignmentAttempt`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlavorAttempt {
    pub flavor: String,
    pub mode: Mode,
    pub borrow: i32,
    pub possibility: Option<PreemptionPossibility>,
    /// Sorted, without duplicates.
    pub reasons: Vec<String>,
    pub no_fit_reason: String,
}

fn merge_attempts(dst: &mut BTreeMap<String, FlavorAttempt>, src: &[FlavorAttempt]) {
    for at in src {
        match dst.get_mut(&at.flavor) {
            Some(e) => {
                e.mode = e.mode.min(at.mode);
                e.borrow = e.borrow.max(at.borrow);
                if let Some(p) = at.possibility
                    && e.possibility.is_none_or(|q| p < q)
                {
                    e.possibility = Some(p);
                }
                e.reasons.extend(at.reasons.iter().cloned());
                e.reasons.sort();
                e.reasons.dedup();
                e.no_fit_reason = most_severe(&e.no_fit_reason, &at.no_fit_reason).to_string();
            }
            None => {
                let mut c = at.clone();
                c.reasons.sort();
                c.reasons.dedup();
                dst.insert(at.flavor.clone(), c);
            }
        }
    }
}

/// One pod set's assignment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodSetAssignmentResult {
    pub name: String,
    pub flavors: BTreeMap<String, FlavorAssignment>,
    pub status: Status,
    /// Total requests (for `count` pods), including `pods` when the queue covers it.
    pub requests: BTreeMap<String, Amount>,
    pub count: u32,
    /// The flavors considered, by name.
    pub attempts: Vec<FlavorAttempt>,
}

impl PodSetAssignmentResult {
    pub fn mode(&self) -> Mode {
        if self.status.is_fit() {
            return Mode::Fit;
        }
        if self.status.err.is_some() || self.flavors.is_empty() {
            return Mode::NoFit;
        }
        self.flavors
            .values()
            .map(|f| f.mode)
            .min()
            .unwrap_or(Mode::Fit)
    }
}

/// A workload's flavor assignment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Assignment {
    pub pod_sets: Vec<PodSetAssignmentResult>,
    /// Height of the lowest cohort subtree the assignment borrows from (0: no borrowing).
    pub borrowing: i32,
    pub usage: FlavorResourceQuantities,
    /// Why the workload cannot be admitted at all (when the mode is `NoFit`).
    pub no_fit_reason: String,
}

impl Assignment {
    /// The worst mode over pod sets (`NoFit` when nothing was assigned).
    pub fn representative_mode(&self) -> Mode {
        if self.pod_sets.is_empty() {
            return Mode::NoFit;
        }
        self.pod_sets
            .iter()
            .map(|p| p.mode())
            .min()
            .unwrap_or(Mode::NoFit)
    }

    /// Whether some resource's flavor search stopped before the group's last flavor.
    pub fn pending_flavors(&self) -> bool {
        self.pod_sets
            .iter()
            .any(|p| p.flavors.values().any(|f| f.tried_flavor_idx != -1))
    }

    /// Upstream's `Assignment.Message()`.
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        for ps in &self.pod_sets {
            if ps.status.is_fit() {
                continue;
            }
            if let Some(e) = &ps.status.err {
                return format!("failed to assign flavors to pod set {}: {e}", ps.name);
            }
            parts.push(format!(
                "couldn't assign flavors to pod set {}: {}",
                ps.name,
                ps.status.message()
            ));
        }
        parts.join("; ")
    }

    /// The admission this assignment becomes.
    pub fn to_admission(&self, cluster_queue: &str) -> Admission {
        Admission {
            cluster_queue: cluster_queue.to_string(),
            pod_set_assignments: self
                .pod_sets
                .iter()
                .map(|ps| PodSetAssignment {
                    name: ps.name.clone(),
                    count: ps.count,
                    flavors: ps
                        .flavors
                        .iter()
                        .map(|(r, f)| (r.clone(), f.name.clone()))
                        .collect(),
                    resource_usage: ps
                        .flavors
                        .keys()
                        .map(|r| (r.clone(), ps.requests.get(r).copied().unwrap_or(0)))
                        .collect(),
                })
                .collect(),
        }
    }

    /// (flavor, resource) pairs assigned in mode `Preempt`.
    pub fn needing_preemption(&self) -> std::collections::BTreeSet<FlavorResource> {
        self.pod_sets
            .iter()
            .flat_map(|ps| {
                ps.flavors
                    .iter()
                    .filter(|(_, f)| f.mode == Mode::Preempt)
                    .map(|(r, f)| FlavorResource::new(&f.name, r))
            })
            .collect()
    }

    /// Quota the workload would use with this assignment (`TotalRequestsFor`: the pod
    /// sets' own requests, without the synthetic `pods` resource).
    pub fn total_requests_for(&self, wl: &WorkloadInfo) -> FlavorResourceQuantities {
        let mut out = FlavorResourceQuantities::new();
        for (i, ps) in wl.obj.pod_sets.iter().enumerate() {
            let Some(a) = self.pod_sets.get(i) else {
                continue;
            };
            for (res, q) in scaled(&ps.requests, a.count) {
                if q == 0 {
                    continue;
                }
                if let Some(f) = a.flavors.get(&res) {
                    let e = out.entry(FlavorResource::new(&f.name, &res)).or_insert(0);
                    *e = e.saturating_add(q);
                }
            }
        }
        out
    }
}

/// Simulates preemption for one (flavor, resource) during flavor assignment.
pub trait PreemptionOracle {
    fn simulate(
        &mut self,
        snap: &mut Snapshot,
        cq: usize,
        wl: &WorkloadInfo,
        fr: &FlavorResource,
        quantity: Amount,
    ) -> (PreemptionPossibility, i32);
}

/// The inputs of one assignment.
pub struct FlavorAssigner<'a> {
    pub wl: &'a WorkloadInfo,
    pub cq: usize,
    pub enable_fair_sharing: bool,
    pub oracle: &'a mut dyn PreemptionOracle,
}

fn untolerated_taint<'t>(
    flavor: &'t ResourceFlavor,
    tolerations: &[Toleration],
) -> Option<&'t Taint> {
    flavor.taints.iter().find(|t| {
        (t.effect == "NoSchedule" || t.effect == "NoExecute")
            && !tolerations
                .iter()
                .chain(flavor.tolerations.iter())
                .any(|tol| tol.tolerates(t))
    })
}

/// The pod set's node selector and required affinity, restricted to the flavor's label
/// keys, match the flavor's labels.
fn matches_flavor_labels(ps: &PodSet, flavor: &ResourceFlavor) -> bool {
    let keys = &flavor.node_labels;
    for (k, v) in &ps.node_selector {
        if keys.contains_key(k) && keys.get(k) != Some(v) {
            return false;
        }
    }
    if ps.affinity.is_empty() {
        return true;
    }
    let mut terms: Vec<Vec<&Requirement>> = Vec::new();
    for t in &ps.affinity {
        let kept: Vec<&Requirement> = t.iter().filter(|r| keys.contains_key(&r.key)).collect();
        if kept.is_empty() {
            // A term with no relevant key matches any flavor.
            return true;
        }
        terms.push(kept);
    }
    terms
        .iter()
        .any(|t| t.iter().all(|r| r.matches(&flavor.node_labels)))
}

impl FlavorAssigner<'_> {
    /// Assign flavors to every pod set, with `counts` pods each when given (partial
    /// admission), else the full counts (less reclaimable pods).
    pub fn assign(&mut self, snap: &mut Snapshot, counts: Option<&[u32]>) -> Assignment {
        let mut assignment = Assignment::default();
        let covers_pods = snap.cqs[self.cq].group_of(PODS).is_some();
        let pod_sets = &self.wl.obj.pod_sets;
        // Per pod set: count and total requests.
        let mut ps_requests: Vec<(u32, BTreeMap<String, Amount>)> = Vec::new();
        for (i, ps) in pod_sets.iter().enumerate() {
            let full = ps.count.saturating_sub(ps.reclaimable);
            let count = counts.and_then(|c| c.get(i).copied()).unwrap_or(full);
            let mut requests = scaled(&ps.requests, count);
            if covers_pods {
                requests.insert(PODS.to_string(), i64::from(count));
            }
            ps_requests.push((count, requests));
        }
        // Pod-set groups, in order of first appearance.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, ps) in pod_sets.iter().enumerate() {
            let key = ps.group.clone().unwrap_or_else(|| format!("#{i}"));
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        for (_, ids) in &groups {
            let mut requests: BTreeMap<String, Amount> = BTreeMap::new();
            for &i in ids {
                for (r, q) in &ps_requests[i].1 {
                    let e = requests.entry(r.clone()).or_insert(0);
                    *e = e.saturating_add(*q);
                }
            }
            let mut considered: BTreeMap<String, FlavorAttempt> = BTreeMap::new();
            let mut group_flavors: Option<BTreeMap<String, FlavorAssignment>> =
                Some(BTreeMap::new());
            let mut group_status = Status::default();
            for (res, qty) in &requests {
                if snap.cqs[self.cq].group_of(res).is_none() && *qty == 0 {
                    continue;
                }
                if group_flavors.as_ref().is_some_and(|g| g.contains_key(res)) {
                    continue;
                }
                let (flavors, status, attempts) =
                    self.find_flavor(snap, ids, &requests, res, &assignment.usage);
                merge_attempts(&mut considered, &attempts);
                if !attempts.is_empty()
                    && let Some(g) = snap.cqs[self.cq].group_of(res)
                {
                    for (fl, at) in considered.iter_mut() {
                        if g.flavors.contains(fl) && !attempts.iter().any(|a| &a.flavor == fl) {
                            at.mode = Mode::NoFit;
                            at.reasons
                                .push(format!("flavor {fl} does not provide resource {res}"));
                            at.reasons.sort();
                            at.reasons.dedup();
                            at.no_fit_reason = NO_MATCHING_FLAVOR.to_string();
                        }
                    }
                }
                let failed = status.as_ref().is_some_and(|s| s.err.is_some())
                    || flavors.as_ref().is_none_or(|f| f.is_empty());
                if failed {
                    group_flavors = None;
                    group_status = status.unwrap_or_default();
                    break;
                }
                if let (Some(g), Some(f)) = (group_flavors.as_mut(), flavors) {
                    g.extend(f);
                }
                if let Some(s) = status {
                    group_status.reasons.extend(s.reasons);
                }
            }
            let attempts: Vec<FlavorAttempt> = considered.into_values().collect();
            let group_flavors = group_flavors.unwrap_or_default();
            let mut failed = false;
            for &i in ids {
                let (count, requests) = &ps_requests[i];
                let flavors: BTreeMap<String, FlavorAssignment> = group_flavors
                    .iter()
                    .filter(|(r, _)| requests.contains_key(*r))
                    .map(|(r, f)| (r.clone(), f.clone()))
                    .collect();
                for (res, f) in &flavors {
                    assignment.borrowing = assignment.borrowing.max(f.borrow);
                    let q = requests.get(res).copied().unwrap_or(0);
                    let e = assignment
                        .usage
                        .entry(FlavorResource::new(&f.name, res))
                        .or_insert(0);
                    *e = e.saturating_add(q);
                }
                if group_status.err.is_some() || (!requests.is_empty() && flavors.is_empty()) {
                    failed = true;
                }
                assignment.pod_sets.push(PodSetAssignmentResult {
                    name: pod_sets[i].name.clone(),
                    flavors,
                    status: group_status.clone(),
                    requests: requests.clone(),
                    count: *count,
                    attempts: attempts.clone(),
                });
            }
            if failed {
                assignment.no_fit_reason = resolve_no_fit_reason(&assignment, snap, self.cq);
                return assignment;
            }
        }
        assignment.no_fit_reason = resolve_no_fit_reason(&assignment, snap, self.cq);
        assignment
    }

    /// One resource group for one pod-set group: the flavor for `res` and the group's
    /// other resources (`None` = nothing assignable), why not at once, and the attempts.
    fn find_flavor(
        &mut self,
        snap: &mut Snapshot,
        ps_ids: &[usize],
        requests: &BTreeMap<String, Amount>,
        res: &str,
        assignment_usage: &FlavorResourceQuantities,
    ) -> (
        Option<BTreeMap<String, FlavorAssignment>>,
        Option<Status>,
        Vec<FlavorAttempt>,
    ) {
        let Some(group) = snap.cqs[self.cq].group_of(res).cloned() else {
            return (
                None,
                Some(Status {
                    reasons: vec![format!("resource {res} unavailable in ClusterQueue")],
                    err: None,
                }),
                Vec::new(),
            );
        };
        let fungibility = snap.cqs[self.cq].spec.flavor_fungibility;
        let requests: BTreeMap<&String, Amount> = requests
            .iter()
            .filter(|(r, _)| group.covered.contains(*r))
            .map(|(r, q)| (r, *q))
            .collect();
        let mut status = Status::default();
        let mut attempts: Vec<FlavorAttempt> = Vec::new();
        let mut best: Option<BTreeMap<String, FlavorAssignment>> = None;
        let mut best_mode = WORST;
        let mut attempted: i32 = -1;
        for (idx, fname) in group.flavors.iter().enumerate() {
            attempted = idx as i32;
            if let Some(reason) = self.check_flavor(snap, fname, ps_ids) {
                status.reasons.push(reason.clone());
                attempts.push(FlavorAttempt {
                    flavor: fname.clone(),
                    mode: Mode::NoFit,
                    borrow: 0,
                    possibility: None,
                    reasons: vec![reason],
                    no_fit_reason: NO_MATCHING_FLAVOR.to_string(),
                });
                continue;
            }
            let mut assignments = BTreeMap::new();
            let mut rep = BEST;
            let mut max_borrow = 0;
            let mut flavor_reasons: Vec<String> = Vec::new();
            let mut flavor_no_fit = String::new();
            for (rname, val) in &requests {
                let fr = FlavorResource::new(fname, rname);
                let nominal = snap.cqs[self.cq]
                    .node
                    .quotas
                    .get(&fr)
                    .map_or(0, |q| q.nominal);
                let used = assignment_usage.get(&fr).copied().unwrap_or(0);
                let (pmode, borrow, reasons, no_fit) =
                    self.fits_quota(snap, &fr, used, *val, nominal);
                flavor_reasons.extend(reasons.iter().cloned());
                status.reasons.extend(reasons);
                flavor_no_fit = most_severe(&flavor_no_fit, no_fit).to_string();
                max_borrow = max_borrow.max(borrow);
                let mode = Granular { p: pmode, borrow };
                if is_preferred(rep, mode, &fungibility) {
                    rep = mode;
                }
                if rep.p == PMode::NoFit {
                    continue;
                }
                assignments.insert(
                    (*rname).clone(),
                    FlavorAssignment {
                        name: fname.clone(),
                        mode: pmode.mode(),
                        tried_flavor_idx: 0,
                        borrow,
                    },
                );
            }
            flavor_reasons.sort();
            attempts.push(FlavorAttempt {
                flavor: fname.clone(),
                mode: rep.p.mode(),
                borrow: max_borrow,
                possibility: rep.p.possibility(),
                reasons: flavor_reasons,
                no_fit_reason: flavor_no_fit,
            });
            if !should_try_next_flavor(rep, &fungibility) {
                best = Some(assignments);
                best_mode = rep;
                break;
            }
            if is_preferred(rep, best_mode, &fungibility) {
                best = Some(assignments);
                best_mode = rep;
            }
        }
        let last = group.flavors.len() as i32 - 1;
        if let Some(b) = best.as_mut() {
            for f in b.values_mut() {
                f.tried_flavor_idx = if attempted == last { -1 } else { attempted };
            }
        }
        if best_mode.p == PMode::Fit {
            return (best, None, attempts);
        }
        (best, Some(status), attempts)
    }

    /// Why the flavor cannot serve these pod sets at all (taints, node labels), if so.
    fn check_flavor(&self, snap: &Snapshot, fname: &str, ps_ids: &[usize]) -> Option<String> {
        let Some(flavor) = snap.flavors.get(fname) else {
            return Some(format!("flavor {fname} not found"));
        };
        for &i in ps_ids {
            let ps = &self.wl.obj.pod_sets[i];
            if let Some(t) = untolerated_taint(flavor, &ps.tolerations) {
                return Some(format!("untolerated taint {t} in flavor {fname}"));
            }
            if !matches_flavor_labels(ps, flavor) {
                return Some(format!("flavor {fname} doesn't match node affinity"));
            }
        }
        None
    }

    /// How (flavor, resource) can take `used + request`: mode, borrowing level, reasons.
    fn fits_quota(
        &mut self,
        snap: &mut Snapshot,
        fr: &FlavorResource,
        used: Amount,
        request: Amount,
        nominal: Amount,
    ) -> (PMode, i32, Vec<String>, &'static str) {
        let cq = self.cq;
        let available = snap.available(cq, fr);
        let max_capacity = snap.potential_available(NodeId::Cq(cq), fr);
        let val = used.saturating_add(request);
        let res = fr.resource.as_str();
        if val > max_capacity {
            return (
                PMode::NoFit,
                0,
                vec![format!(
                    "insufficient quota for {res} in flavor {}, previously considered podsets requests ({}) + current podset request ({}) > maximum capacity ({})",
                    fr.flavor,
                    snap.format_amount(res, used),
                    snap.format_amount(res, request),
                    snap.format_amount(res, max_capacity)
                )],
                EXCEEDS_MAX_QUOTA,
            );
        }
        let (borrow, may_reclaim) = snap.lowest_subtree_that_fits(cq, fr, val);
        if val <= available {
            return (PMode::Fit, borrow, Vec::new(), "");
        }
        let reasons = vec![format!(
            "insufficient unused quota for {res} in flavor {}, {} more needed",
            fr.flavor,
            snap.format_amount(res, val - available)
        )];
        if nominal >= val || may_reclaim || self.can_preempt_while_borrowing(snap) {
            let (p, b) = self.oracle.simulate(snap, cq, self.wl, fr, val);
            return (PMode::from_possibility(p), b, reasons, "");
        }
        (PMode::NoFit, borrow, reasons, WAITING_FOR_QUOTA)
    }

    fn can_preempt_while_borrowing(&self, snap: &Snapshot) -> bool {
        let p = &snap.cqs[self.cq].spec.preemption;
        p.borrow_within_cohort
            .as_ref()
            .is_some_and(|b| b.lower_priority)
            || (self.enable_fair_sharing && p.reclaim_within_cohort != PreemptionPolicy::Never)
    }
}

/// Upstream `resolveNoFitReason`: per pod set that cannot fit, the least severe reason
/// among each resource group's alternative flavors, the most severe across groups; the
/// most severe across pod sets.
fn resolve_no_fit_reason(a: &Assignment, snap: &Snapshot, cq: usize) -> String {
    if a.representative_mode() != Mode::NoFit {
        return String::new();
    }
    let mut overall = String::new();
    for ps in &a.pod_sets {
        if ps.mode() != Mode::NoFit {
            continue;
        }
        if ps.attempts.is_empty() {
            overall = most_severe(&overall, NO_MATCHING_FLAVOR).to_string();
            continue;
        }
        let mut per_group: BTreeMap<i64, String> = BTreeMap::new();
        for (i, at) in ps.attempts.iter().enumerate() {
            if at.mode != Mode::NoFit {
                continue;
            }
            let mut idx: Vec<i64> = snap.cqs[cq]
                .groups
                .iter()
                .enumerate()
                .filter(|(_, g)| g.flavors.contains(&at.flavor))
                .map(|(j, _)| j as i64)
                .collect();
            if idx.is_empty() {
                idx.push(-1 - i as i64);
            }
            for g in idx {
                match per_group.get(&g) {
                    Some(e) if severity(&at.no_fit_reason) >= severity(e) => {}
                    _ => {
                        per_group.insert(g, at.no_fit_reason.clone());
                    }
                }
            }
        }
        let mut ps_reason = String::new();
        for r in per_group.values() {
            ps_reason = most_severe(&ps_reason, r).to_string();
        }
        overall = most_severe(&overall, &ps_reason).to_string();
    }
    overall
}
