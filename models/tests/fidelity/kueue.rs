//! Fidelity cases for kueue (see scenarios/fidelity/README.md): Kueue v0.19.2's own
//! TestSchedule, TestPreemption and TestAssignFlavors tables, run against
//! `models::kueue` (one scheduling cycle; GetTargets + IssuePreemptions; one flavor
//! assignment with a stub preemption oracle).
//!
//! Every expectation key present is compared, with one stated exception: `events` are
//! compared by object, reason and type (as a multiset), not by message (event messages
//! carry wait times and flavor summaries the core does not produce). A case using a
//! feature tag in [`UNMODELLED_TAGS`], an unknown feature gate, an input the runner does
//! not model, or an expectation it cannot check is reported as not modelled.

use std::collections::{BTreeMap, BTreeSet};

use models::kueue::assigner::{
    FlavorAssigner, FlavorAttempt, Mode, PreemptionOracle, PreemptionPossibility,
};
use models::kueue::cycle::{self, CycleOptions, EntryStatus, Queues};
use models::kueue::snapshot::{Snapshot, WorkloadInfo};
use models::kueue::{self as kq, FlavorResource, preemption};
use serde::Deserialize;
use serde_json::Value;

use super::common::{Outcome, Report, SuiteFile, load};

/// Feature tags Orrery's Kueue core does not model, each with the reason. A case using
/// one is reported as not modelled.
pub const UNMODELLED_TAGS: &[(&str, &str)] = &[
    (
        "fair_sharing",
        "fair sharing (DRS ordering and fair-sharing preemption) is not modelled",
    ),
    ("tas", "topology-aware scheduling is not modelled"),
    ("elastic", "elastic workload slices are not modelled"),
    (
        "pods_ready",
        "waitForPodsReady is modelled by the simulator, not by the one-cycle core",
    ),
    ("limit_range", "LimitRange validation is not modelled"),
    ("runtime_class", "RuntimeClass pod overhead is not modelled"),
    (
        "api_errors",
        "injected API errors are not modelled (the core has no API server)",
    ),
    (
        "eviction_history",
        "prior Evicted/Requeued conditions and requeue timestamps are not modelled",
    ),
];

/// Feature gates the core understands (value = whether any value is supported).
const KNOWN_GATES: &[&str] = &[
    "PartialAdmission",
    "ReclaimablePods",
    "MultiKueueOrchestratedPreemption",
];

/// Case or object keys the runner accepts without them changing a decision.
const INERT_KEYS: &[&str] = &["uid", "job_uid"];

// ---------------------------------------------------------------- data format

/// A quantity as written: a string ("500m", "3Gi") or a bare number.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum Qty {
    S(String),
    I(i64),
    F(f64),
}

impl Qty {
    fn text(&self) -> String {
        match self {
            Qty::S(s) => s.clone(),
            Qty::I(i) => i.to_string(),
            Qty::F(f) => f.to_string(),
        }
    }
    fn amount(&self, res: &str) -> Result<i64, String> {
        kq::amount(res, &self.text()).map_err(|e| e.to_string())
    }
}

type Extra = BTreeMap<String, Value>;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixtures {
    #[serde(default)]
    namespaces: Vec<NamespaceDef>,
    #[serde(default)]
    resource_flavors: Vec<FlavorDef>,
    #[serde(default)]
    cohorts: Vec<CohortDef>,
    #[serde(default)]
    cluster_queues: Vec<CqDef>,
    #[serde(default)]
    local_queues: Vec<LqDef>,
    /// TestAssignFlavors: the stub oracle's answer for pairs a case does not list.
    #[serde(default)]
    preemption_oracle_default: Option<OracleAnswer>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceDef {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
struct TaintDef {
    key: String,
    #[serde(default)]
    value: String,
    effect: String,
}

#[derive(Clone, Debug, Deserialize)]
struct TolerationDef {
    #[serde(default)]
    key: String,
    #[serde(default)]
    operator: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    effect: String,
}

#[derive(Clone, Debug, Deserialize)]
struct FlavorDef {
    name: String,
    #[serde(default)]
    node_labels: BTreeMap<String, String>,
    #[serde(default)]
    taints: Vec<TaintDef>,
    #[serde(default)]
    tolerations: Vec<TolerationDef>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Clone, Debug, Deserialize)]
struct ReqDef {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct SelectorDef {
    #[serde(default)]
    match_labels: BTreeMap<String, String>,
    #[serde(default)]
    match_expressions: Vec<ReqDef>,
}

#[derive(Clone, Debug, Deserialize)]
struct QuotaDef {
    name: String,
    nominal: Qty,
    #[serde(default)]
    borrowing_limit: Option<Qty>,
    #[serde(default)]
    lending_limit: Option<Qty>,
}

#[derive(Clone, Debug, Deserialize)]
struct FlavorQuotasDef {
    name: String,
    #[serde(default)]
    resources: Vec<QuotaDef>,
}

#[derive(Clone, Debug, Deserialize)]
struct GroupDef {
    flavors: Vec<FlavorQuotasDef>,
}

#[derive(Clone, Debug, Deserialize)]
struct BwcDef {
    policy: String,
    #[serde(default)]
    max_priority_threshold: Option<i32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct PreemptionDef {
    #[serde(default)]
    within_cluster_queue: Option<String>,
    #[serde(default)]
    reclaim_within_cohort: Option<String>,
    #[serde(default)]
    borrow_within_cohort: Option<BwcDef>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct FungDef {
    #[serde(default)]
    when_can_borrow: Option<String>,
    #[serde(default)]
    when_can_preempt: Option<String>,
    #[serde(default)]
    preference: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct CqDef {
    name: String,
    #[serde(default)]
    cohort: Option<String>,
    #[serde(default)]
    queueing_strategy: Option<String>,
    #[serde(default)]
    namespace_selector: Option<SelectorDef>,
    #[serde(default)]
    preemption: Option<PreemptionDef>,
    #[serde(default)]
    flavor_fungibility: Option<FungDef>,
    #[serde(default)]
    resource_groups: Vec<GroupDef>,
    #[serde(default)]
    admission_checks: Vec<String>,
    #[serde(default)]
    stop_policy: Option<String>,
    #[serde(default)]
    fair_sharing_weight: Option<Qty>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Clone, Debug, Deserialize)]
struct CohortDef {
    name: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    resource_groups: Vec<GroupDef>,
    /// Fair sharing only: a case setting it is not modelled.
    #[serde(default)]
    fair_weight: Option<Qty>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LqDef {
    namespace: String,
    name: String,
    cluster_queue: String,
}

#[derive(Clone, Debug, Deserialize)]
struct AffinityTermDef {
    #[serde(default)]
    match_expressions: Vec<ReqDef>,
}

#[derive(Clone, Debug, Deserialize)]
struct PodSetDef {
    name: String,
    count: u32,
    #[serde(default)]
    min_count: Option<u32>,
    #[serde(default)]
    requests: BTreeMap<String, Qty>,
    #[serde(default)]
    limits: BTreeMap<String, Qty>,
    #[serde(default)]
    node_selector: BTreeMap<String, String>,
    #[serde(default)]
    node_affinity: Vec<AffinityTermDef>,
    #[serde(default)]
    tolerations: Vec<TolerationDef>,
    #[serde(default)]
    pod_set_group: Option<String>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Clone, Debug, Deserialize)]
struct PsaDef {
    name: String,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    flavors: BTreeMap<String, Value>,
    #[serde(default)]
    usage: BTreeMap<String, Qty>,
}

#[derive(Clone, Debug, Deserialize)]
struct AdmissionDef {
    cluster_queue: String,
    #[serde(default)]
    pod_sets: Vec<PsaDef>,
}

#[derive(Clone, Debug, Deserialize)]
struct CheckDef {
    name: String,
    state: String,
}

#[derive(Clone, Debug, Deserialize)]
struct ConditionDef {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    // Parsed so the format is complete; an eviction's reason and time decide nothing
    // the core models (evicted candidates simply come first).
    #[allow(dead_code)]
    #[serde(default)]
    reason: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    time_s: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
struct WlDef {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    creation_s: Option<f64>,
    #[serde(default)]
    pod_sets: Vec<PodSetDef>,
    #[serde(default)]
    admission: Option<AdmissionDef>,
    #[serde(default)]
    quota_reserved_s: Option<f64>,
    // Admitted=True on an already admitted workload: parsed so the format is complete;
    // quota reservation (`admission`) is what scheduling decisions depend on.
    #[allow(dead_code)]
    #[serde(default)]
    admitted: Option<bool>,
    #[allow(dead_code)]
    #[serde(default)]
    admitted_s: Option<f64>,
    #[serde(default)]
    admission_checks: Vec<CheckDef>,
    #[serde(default)]
    conditions: Vec<ConditionDef>,
    #[serde(default)]
    reclaimable_pods: BTreeMap<String, u32>,
    /// `spec.preemptionGates` (none opened).
    #[serde(default)]
    preemption_gates: Vec<String>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Clone, Debug, Deserialize)]
struct OracleAnswer {
    possibility: String,
    #[serde(default)]
    borrowing_after: i32,
}

#[derive(Clone, Debug, Deserialize)]
struct AssignmentDef {
    pod_sets: Vec<PsaDef>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    line: u32,
    features: Vec<String>,
    /// Free text for readers; no decision depends on it.
    #[allow(dead_code)]
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    feature_gates: BTreeMap<String, bool>,
    #[serde(default)]
    resource_flavors: Vec<FlavorDef>,
    #[serde(default)]
    cohorts: Vec<CohortDef>,
    #[serde(default)]
    cluster_queues: Vec<CqDef>,
    #[serde(default)]
    replace_cluster_queues: bool,
    #[serde(default)]
    local_queues: Vec<LqDef>,
    #[serde(default)]
    workloads: Vec<WlDef>,
    #[serde(default)]
    incoming: Option<WlDef>,
    #[serde(default)]
    target_cq: Option<String>,
    #[serde(default)]
    assignment: Option<AssignmentDef>,
    /// TestAssignFlavors: usage added to queues, {cq: {flavor: {resource: qty}}}.
    #[serde(default)]
    usage: BTreeMap<String, BTreeMap<String, BTreeMap<String, Qty>>>,
    #[serde(default)]
    enable_fair_sharing: bool,
    #[serde(default)]
    preemption_possible: BTreeMap<String, BTreeMap<String, OracleAnswer>>,
    expect: BTreeMap<String, Value>,
    #[serde(flatten)]
    extra: Extra,
}

// ---------------------------------------------------------------- conversion

fn policy(s: &Option<String>) -> Result<kq::PreemptionPolicy, String> {
    Ok(match s.as_deref() {
        None | Some("Never") => kq::PreemptionPolicy::Never,
        Some("LowerPriority") => kq::PreemptionPolicy::LowerPriority,
        Some("LowerOrNewerEqualPriority") => kq::PreemptionPolicy::LowerOrNewerEqualPriority,
        Some("Any") => kq::PreemptionPolicy::Any,
        Some(o) => return Err(format!("unknown preemption policy {o:?}")),
    })
}

fn fungibility_policy(
    s: &Option<String>,
    default: kq::FungibilityPolicy,
) -> Result<kq::FungibilityPolicy, String> {
    Ok(match s.as_deref() {
        None => default,
        // v1beta1 names: Borrow / Preempt stop the search like MayStopSearch.
        Some("MayStopSearch" | "Borrow" | "Preempt" | "") => kq::FungibilityPolicy::MayStopSearch,
        Some("TryNextFlavor") => kq::FungibilityPolicy::TryNextFlavor,
        Some(o) => return Err(format!("unknown fungibility policy {o:?}")),
    })
}

fn groups(defs: &[GroupDef]) -> Result<Vec<kq::ResourceGroup>, String> {
    defs.iter()
        .map(|g| {
            Ok(kq::ResourceGroup {
                flavors: g
                    .flavors
                    .iter()
                    .map(|f| {
                        Ok(kq::FlavorQuotas {
                            name: f.name.clone(),
                            resources: f
                                .resources
                                .iter()
                                .map(|r| {
                                    Ok(kq::ResourceQuota {
                                        name: r.name.clone(),
                                        nominal: r.nominal.amount(&r.name)?,
                                        borrowing_limit: r
                                            .borrowing_limit
                                            .as_ref()
                                            .map(|q| q.amount(&r.name))
                                            .transpose()?,
                                        lending_limit: r
                                            .lending_limit
                                            .as_ref()
                                            .map(|q| q.amount(&r.name))
                                            .transpose()?,
                                    })
                                })
                                .collect::<Result<_, String>>()?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            })
        })
        .collect()
}

fn selector(s: &SelectorDef) -> kq::LabelSelector {
    kq::LabelSelector {
        match_labels: s.match_labels.clone(),
        match_expressions: s.match_expressions.iter().map(req).collect(),
    }
}

fn req(r: &ReqDef) -> kq::Requirement {
    kq::Requirement {
        key: r.key.clone(),
        operator: r.operator.clone(),
        values: r.values.clone(),
    }
}

fn toleration(t: &TolerationDef) -> kq::Toleration {
    kq::Toleration {
        key: t.key.clone(),
        operator: t.operator.clone(),
        value: t.value.clone(),
        effect: t.effect.clone(),
    }
}

fn cluster_queue(d: &CqDef) -> Result<kq::ClusterQueue, String> {
    if let Some(k) = d.extra.keys().next() {
        return Err(format!("unmodelled ClusterQueue field {k:?}"));
    }
    let p = d.preemption.clone().unwrap_or_default();
    let f = d.flavor_fungibility.clone();
    let flavor_fungibility = match &f {
        None => kq::FlavorFungibility::default(),
        // A fungibility block replaces the whole struct: a field left empty behaves as
        // MayStopSearch.
        Some(f) => kq::FlavorFungibility {
            when_can_borrow: fungibility_policy(
                &f.when_can_borrow,
                kq::FungibilityPolicy::MayStopSearch,
            )?,
            when_can_preempt: fungibility_policy(
                &f.when_can_preempt,
                kq::FungibilityPolicy::MayStopSearch,
            )?,
            preference: match f.preference.as_deref() {
                None => None,
                Some("BorrowingOverPreemption") => {
                    Some(kq::FungibilityPreference::BorrowingOverPreemption)
                }
                Some("PreemptionOverBorrowing") => {
                    Some(kq::FungibilityPreference::PreemptionOverBorrowing)
                }
                Some(o) => return Err(format!("unknown fungibility preference {o:?}")),
            },
        },
    };
    Ok(kq::ClusterQueue {
        name: d.name.clone(),
        cohort: d.cohort.clone(),
        resource_groups: groups(&d.resource_groups)?,
        preemption: kq::ClusterQueuePreemption {
            within_cluster_queue: policy(&p.within_cluster_queue)?,
            reclaim_within_cohort: policy(&p.reclaim_within_cohort)?,
            borrow_within_cohort: p
                .borrow_within_cohort
                .as_ref()
                .map(|b| kq::BorrowWithinCohort {
                    lower_priority: b.policy == "LowerPriority",
                    max_priority_threshold: b.max_priority_threshold,
                }),
        },
        flavor_fungibility,
        queueing_strategy: match d.queueing_strategy.as_deref() {
            Some("StrictFIFO") => kq::QueueingStrategy::StrictFifo,
            None | Some("BestEffortFIFO") => kq::QueueingStrategy::BestEffortFifo,
            Some(o) => return Err(format!("unknown queueing strategy {o:?}")),
        },
        namespace_selector: Some(
            d.namespace_selector
                .as_ref()
                .map(selector)
                .unwrap_or_default(),
        ),
        active: d.active.unwrap_or(true) && d.stop_policy.as_deref().is_none_or(|s| s == "None"),
    })
}

fn flavor(d: &FlavorDef) -> Result<kq::ResourceFlavor, String> {
    if let Some(k) = d.extra.keys().next() {
        return Err(format!("unmodelled ResourceFlavor field {k:?}"));
    }
    Ok(kq::ResourceFlavor {
        name: d.name.clone(),
        node_labels: d.node_labels.clone(),
        taints: d
            .taints
            .iter()
            .map(|t| kq::Taint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
            })
            .collect(),
        tolerations: d.tolerations.iter().map(toleration).collect(),
    })
}

fn cohort(d: &CohortDef) -> Result<kq::Cohort, String> {
    if d.fair_weight.is_some() {
        return Err("cohort fair weights (fair sharing) are not modelled".into());
    }
    Ok(kq::Cohort {
        name: d.name.clone(),
        parent: d.parent.clone(),
        resource_groups: groups(&d.resource_groups)?,
    })
}

/// Seconds relative to the test's `now` as milliseconds; an absent creation time is
/// Kubernetes' zero time, earlier than anything the tests set.
fn ms(s: Option<f64>, absent: i64) -> i64 {
    s.map_or(absent, |s| (s * 1000.0).round() as i64)
}

const ZERO_TIME: i64 = -62_135_596_800_000;

fn flavor_name(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("name").and_then(|n| n.as_str()).map(str::to_string),
        _ => None,
    }
}

struct Converted {
    wl: kq::Workload,
    /// Every admission check Ready (Admitted=True can follow quota reservation).
    checks_ready: bool,
    has_checks: Vec<String>,
}

fn workload(d: &WlDef, reclaimable_gate: bool) -> Result<Converted, String> {
    for k in d.extra.keys() {
        if !INERT_KEYS.contains(&k.as_str()) {
            return Err(format!("unmodelled Workload field {k:?}"));
        }
    }
    let uid = d
        .extra
        .get("uid")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let mut pod_sets = Vec::new();
    for p in &d.pod_sets {
        if let Some(k) = p.extra.keys().next() {
            return Err(format!("unmodelled PodSet field {k:?}"));
        }
        let mut requests = BTreeMap::new();
        for (r, q) in &p.requests {
            requests.insert(r.clone(), q.amount(r)?);
        }
        let mut limits = BTreeMap::new();
        for (r, q) in &p.limits {
            limits.insert(r.clone(), q.amount(r)?);
        }
        pod_sets.push(kq::PodSet {
            name: p.name.clone(),
            count: p.count,
            min_count: p.min_count,
            requests,
            limits,
            node_selector: p.node_selector.clone(),
            affinity: p
                .node_affinity
                .iter()
                .map(|t| t.match_expressions.iter().map(req).collect())
                .collect(),
            tolerations: p.tolerations.iter().map(toleration).collect(),
            reclaimable: if reclaimable_gate {
                d.reclaimable_pods.get(&p.name).copied().unwrap_or(0)
            } else {
                0
            },
            group: p.pod_set_group.clone(),
        });
    }
    let admission = match &d.admission {
        None => None,
        Some(a) => Some(kq::Admission {
            cluster_queue: a.cluster_queue.clone(),
            pod_set_assignments: a
                .pod_sets
                .iter()
                .map(|p| {
                    let spec_count = d
                        .pod_sets
                        .iter()
                        .find(|s| s.name == p.name)
                        .map_or(0, |s| s.count);
                    Ok(kq::PodSetAssignment {
                        name: p.name.clone(),
                        count: p.count.unwrap_or(spec_count),
                        flavors: p
                            .flavors
                            .iter()
                            .map(|(r, f)| {
                                flavor_name(f)
                                    .map(|f| (r.clone(), f))
                                    .ok_or(format!("bad flavor for {r}"))
                            })
                            .collect::<Result<_, String>>()?,
                        resource_usage: p
                            .usage
                            .iter()
                            .map(|(r, q)| q.amount(r).map(|a| (r.clone(), a)))
                            .collect::<Result<_, String>>()?,
                    })
                })
                .collect::<Result<_, String>>()?,
        }),
    };
    let mut evicted = false;
    for c in &d.conditions {
        match (c.kind.as_str(), c.status.as_str()) {
            ("Evicted", "True") => evicted = true,
            _ => {
                return Err(format!(
                    "condition {}={} ({}) is not modelled",
                    c.kind,
                    c.status,
                    c.reason.as_deref().unwrap_or("")
                ));
            }
        }
    }
    let failed = d
        .admission_checks
        .iter()
        .any(|c| c.state == "Retry" || c.state == "Rejected");
    Ok(Converted {
        wl: kq::Workload {
            namespace: d.namespace.clone(),
            name: d.name.clone(),
            uid,
            queue_name: d.queue.clone(),
            priority: d.priority,
            creation_ms: ms(d.creation_s, ZERO_TIME),
            pod_sets,
            quota_reserved_ms: d.admission.as_ref().map(|_| ms(d.quota_reserved_s, 0)),
            admission,
            evicted,
            failed_admission_checks: failed,
            preemption_gated: !d.preemption_gates.is_empty(),
        },
        checks_ready: d.admission_checks.iter().all(|c| c.state == "Ready"),
        has_checks: d.admission_checks.iter().map(|c| c.name.clone()).collect(),
    })
}

// ---------------------------------------------------------------- shared checks

fn unmodelled(case: &Case, allowed_gates: &[&str]) -> Option<String> {
    for t in &case.features {
        if let Some((_, why)) = UNMODELLED_TAGS.iter().find(|(tag, _)| tag == t) {
            return Some(format!("{t}: {why}"));
        }
    }
    for (g, v) in &case.feature_gates {
        if !KNOWN_GATES.contains(&g.as_str()) && !allowed_gates.contains(&g.as_str()) {
            return Some(format!("feature gate {g}={v} is not modelled"));
        }
    }
    if case.enable_fair_sharing {
        return Some("fair sharing is not modelled".into());
    }
    if let Some(k) = case.extra.keys().next() {
        return Some(format!("case input {k:?} is not modelled"));
    }
    None
}

struct World {
    flavors: Vec<kq::ResourceFlavor>,
    cohorts: Vec<kq::Cohort>,
    cqs: Vec<kq::ClusterQueue>,
    cq_checks: BTreeMap<String, Vec<String>>,
}

fn world(fx: &Fixtures, case: &Case) -> Result<World, String> {
    // A flavor with a field the core does not model (a TAS topology) only matters to
    // the queues that use it.
    let mut flavors: Vec<kq::ResourceFlavor> = Vec::new();
    let mut odd: BTreeMap<String, String> = BTreeMap::new();
    for f in fx
        .resource_flavors
        .iter()
        .chain(case.resource_flavors.iter())
    {
        flavors.retain(|x| x.name != f.name);
        match flavor(f) {
            Ok(x) => flavors.push(x),
            Err(e) => {
                odd.insert(f.name.clone(), e);
            }
        }
    }
    let mut cohorts: Vec<kq::Cohort> = fx.cohorts.iter().map(cohort).collect::<Result<_, _>>()?;
    cohorts.extend(
        case.cohorts
            .iter()
            .map(cohort)
            .collect::<Result<Vec<_>, _>>()?,
    );
    let defs: Vec<&CqDef> = if case.replace_cluster_queues {
        case.cluster_queues.iter().collect()
    } else {
        fx.cluster_queues
            .iter()
            .chain(case.cluster_queues.iter())
            .collect()
    };
    let mut cqs = Vec::new();
    let mut cq_checks = BTreeMap::new();
    for d in defs {
        if d.fair_sharing_weight.is_some() {
            return Err("fair sharing weights are not modelled".into());
        }
        for g in &d.resource_groups {
            for f in &g.flavors {
                if let Some(e) = odd.get(&f.name) {
                    return Err(format!("flavor {}: {e} (not modelled)", f.name));
                }
            }
        }
        cq_checks.insert(d.name.clone(), d.admission_checks.clone());
        cqs.push(cluster_queue(d)?);
    }
    Ok(World {
        flavors,
        cohorts,
        cqs,
        cq_checks,
    })
}

fn expect_keys(case: &Case, known: &[&str]) -> Option<String> {
    case.expect
        .keys()
        .find(|k| !known.contains(&k.as_str()))
        .map(|k| format!("expectation {k:?} is not checked by the runner"))
}

fn str_list(v: &Value) -> Result<BTreeSet<String>, String> {
    match v {
        Value::Null => Ok(BTreeSet::new()),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or(format!("expected a string, got {x}"))
            })
            .collect(),
        o => Err(format!("expected a list, got {o}")),
    }
}

fn str_map(v: &Value) -> Result<BTreeMap<String, String>, String> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                x.as_str()
                    .map(|s| (k.clone(), s.to_string()))
                    .ok_or(format!("expected a string at {k}"))
            })
            .collect(),
        o => Err(format!("expected a map, got {o}")),
    }
}

fn list_map(v: &Value) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| Ok((k.clone(), str_list(x)?)))
            .collect(),
        o => Err(format!("expected a map, got {o}")),
    }
}

fn cmp<T: PartialEq + std::fmt::Debug>(what: &str, want: &T, got: &T, diffs: &mut Vec<String>) {
    if want != got {
        diffs.push(format!("{what}: want {want:?}, got {got:?}"));
    }
}

/// An admission as comparable data: cq, [(pod set, count, flavors, usage)].
type AdmissionKey = (
    String,
    Vec<(String, u32, BTreeMap<String, String>, BTreeMap<String, i64>)>,
);

fn admission_key(a: &kq::Admission) -> AdmissionKey {
    (
        a.cluster_queue.clone(),
        a.pod_set_assignments
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.count,
                    p.flavors.clone(),
                    p.resource_usage.clone(),
                )
            })
            .collect(),
    )
}

fn want_admission(v: &Value) -> Result<AdmissionKey, String> {
    let d: AdmissionDef = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    let w = WlDef {
        name: String::new(),
        namespace: String::new(),
        queue: None,
        priority: 0,
        creation_s: None,
        pod_sets: Vec::new(),
        admission: Some(d),
        quota_reserved_s: None,
        admitted: None,
        admitted_s: None,
        admission_checks: Vec::new(),
        conditions: Vec::new(),
        reclaimable_pods: BTreeMap::new(),
        preemption_gates: Vec::new(),
        extra: Extra::new(),
    };
    let c = workload(&w, true)?;
    c.wl.admission
        .as_ref()
        .map(admission_key)
        .ok_or("no admission".into())
}

// ---------------------------------------------------------------- TestSchedule

const SCHEDULE_EXPECT: &[&str] = &[
    "assignments",
    "scheduled",
    "left",
    "inadmissible_left",
    "preempted",
    "preemption_reasons",
    "pending_message",
    "pending_reason",
    "skipped_preemptions",
    "awaiting_checks",
    "blocked_on_preemption_gates",
    "events",
];

fn run_schedule_case(fx: &Fixtures, case: &Case) -> Outcome {
    if let Some(r) = unmodelled(case, &[]) {
        return Outcome::NotModelled(r);
    }
    if let Some(r) = expect_keys(case, SCHEDULE_EXPECT) {
        return Outcome::NotModelled(r);
    }
    match schedule_case(fx, case) {
        Ok(diffs) if diffs.is_empty() => Outcome::Pass,
        Ok(diffs) => Outcome::Fail(diffs.join("; ")),
        Err(e) if e.contains("not modelled") => Outcome::NotModelled(e),
        Err(e) => Outcome::Fail(format!("setup: {e}")),
    }
}

fn schedule_case(fx: &Fixtures, case: &Case) -> Result<Vec<String>, String> {
    let w = world(fx, case)?;
    let reclaimable_gate = case
        .feature_gates
        .get("ReclaimablePods")
        .copied()
        .unwrap_or(true);
    let mut snap = Snapshot::new(&w.flavors, &w.cohorts, &w.cqs).map_err(|e| e.to_string())?;
    let lqs: Vec<&LqDef> = fx
        .local_queues
        .iter()
        .chain(case.local_queues.iter())
        .collect();
    let mut queues = Queues::new(&w.cqs);
    let mut before: BTreeMap<String, kq::Admission> = BTreeMap::new();
    let mut converted: BTreeMap<String, Converted> = BTreeMap::new();
    for d in &case.workloads {
        let c = workload(d, reclaimable_gate)?;
        let key = c.wl.key();
        match &c.wl.admission {
            Some(a) => {
                if snap.cq_index(&a.cluster_queue).is_some() {
                    before.insert(key.clone(), a.clone());
                    snap.add_workload(WorkloadInfo::new(c.wl.clone(), &a.cluster_queue));
                }
            }
            None => {
                let lq = c.wl.queue_name.as_ref().and_then(|q| {
                    lqs.iter()
                        .find(|l| l.namespace == c.wl.namespace && &l.name == q)
                });
                if let Some(lq) = lq {
                    queues.push(WorkloadInfo::new(c.wl.clone(), &lq.cluster_queue));
                }
            }
        }
        converted.insert(key, c);
    }
    let opts = CycleOptions {
        namespaces: fx
            .namespaces
            .iter()
            .map(|n| (n.name.clone(), n.labels.clone()))
            .collect(),
        partial_admission: case
            .feature_gates
            .get("PartialAdmission")
            .copied()
            .unwrap_or(true),
        now_ms: 0,
        preemption_gates: case
            .feature_gates
            .get("MultiKueueOrchestratedPreemption")
            .copied()
            .unwrap_or(false),
    };
    let result = cycle::schedule(&mut snap, &mut queues, &opts);

    let mut got_assignments: BTreeMap<String, AdmissionKey> = before
        .iter()
        .map(|(k, a)| (k.clone(), admission_key(a)))
        .collect();
    let mut scheduled = BTreeSet::new();
    let mut awaiting = BTreeSet::new();
    let mut gated = BTreeSet::new();
    let mut pending_message = BTreeMap::new();
    let mut pending_reason = BTreeMap::new();
    let mut events: Vec<(String, String, String)> = Vec::new();
    for e in &result.entries {
        let key = e.info.key();
        match e.status {
            EntryStatus::Admitted => {
                if let Some(a) = &e.admission {
                    got_assignments.insert(key.clone(), admission_key(a));
                }
                scheduled.insert(key.clone());
                events.push((key.clone(), "QuotaReserved".into(), "Normal".into()));
                let c = &converted[&key];
                let required = w
                    .cq_checks
                    .get(&e.info.cluster_queue)
                    .cloned()
                    .unwrap_or_default();
                let ready = c.checks_ready && required.iter().all(|r| c.has_checks.contains(r));
                if ready {
                    events.push((key.clone(), "Admitted".into(), "Normal".into()));
                } else {
                    awaiting.insert(key.clone());
                }
            }
            _ => {
                if e.status == EntryStatus::PreemptionGated {
                    gated.insert(key.clone());
                }
                pending_message.insert(key.clone(), e.message.clone());
                pending_reason.insert(key.clone(), e.pending_reason.clone());
                events.push((key.clone(), e.pending_reason.clone(), "Warning".into()));
            }
        }
    }
    let mut preempted = BTreeSet::new();
    let mut reasons = BTreeMap::new();
    for e in &result.entries {
        for t in &e.targets {
            if e.status != EntryStatus::Preempting || t.info.obj.evicted {
                continue;
            }
            let victim = t.info.key();
            preempted.insert(victim.clone());
            reasons.insert(victim.clone(), t.reason.to_string());
            events.push((
                victim.clone(),
                "EvictedDueToPreempted".into(),
                "Normal".into(),
            ));
            events.push((victim, "Preempted".into(), "Normal".into()));
            events.push((e.info.key(), "PreemptedWorkload".into(), "Normal".into()));
        }
    }

    let mut diffs = Vec::new();
    for (k, v) in &case.expect {
        match k.as_str() {
            "assignments" => {
                let mut want = BTreeMap::new();
                if let Value::Object(m) = v {
                    for (wk, a) in m {
                        want.insert(wk.clone(), want_admission(a)?);
                    }
                }
                cmp("assignments", &want, &got_assignments, &mut diffs);
            }
            "scheduled" => cmp("scheduled", &str_list(v)?, &scheduled, &mut diffs),
            "left" => cmp("left", &list_map(v)?, &queues.dump(), &mut diffs),
            "inadmissible_left" => cmp(
                "inadmissible_left",
                &list_map(v)?,
                &queues.dump_inadmissible(),
                &mut diffs,
            ),
            "preempted" => cmp("preempted", &str_list(v)?, &preempted, &mut diffs),
            "preemption_reasons" => cmp("preemption_reasons", &str_map(v)?, &reasons, &mut diffs),
            "pending_message" => cmp(
                "pending_message",
                &str_map(v)?,
                &pending_message,
                &mut diffs,
            ),
            "pending_reason" => cmp("pending_reason", &str_map(v)?, &pending_reason, &mut diffs),
            "awaiting_checks" => cmp("awaiting_checks", &str_list(v)?, &awaiting, &mut diffs),
            "blocked_on_preemption_gates" => cmp(
                "blocked_on_preemption_gates",
                &str_list(v)?,
                &gated,
                &mut diffs,
            ),
            "skipped_preemptions" => {
                let want: BTreeMap<String, usize> =
                    serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
                for (cq, n) in want {
                    let got = result.skipped_preemptions.get(&cq).copied().unwrap_or(0);
                    cmp(&format!("skipped_preemptions[{cq}]"), &n, &got, &mut diffs);
                }
            }
            "events" => {
                // Event messages (wait times, considered-flavor summaries) are not
                // modelled: object, reason and type are compared, as a multiset.
                let want: Vec<BTreeMap<String, String>> =
                    serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
                let mut want: Vec<(String, String, String)> = want
                    .iter()
                    .map(|e| {
                        let g = |k: &str| e.get(k).cloned().unwrap_or_default();
                        (g("object"), g("reason"), g("type"))
                    })
                    .collect();
                want.sort();
                let mut got = events.clone();
                got.sort();
                cmp("events", &want, &got, &mut diffs);
            }
            _ => {}
        }
    }
    Ok(diffs)
}

// ---------------------------------------------------------------- TestPreemption

fn run_preemption_case(fx: &Fixtures, case: &Case) -> Outcome {
    if let Some(r) = unmodelled(case, &[]) {
        return Outcome::NotModelled(r);
    }
    if let Some(r) = expect_keys(
        case,
        &["preempted", "preempted_count", "preemption_reasons"],
    ) {
        return Outcome::NotModelled(r);
    }
    match preemption_case(fx, case) {
        Ok(diffs) if diffs.is_empty() => Outcome::Pass,
        Ok(diffs) => Outcome::Fail(diffs.join("; ")),
        Err(e) if e.contains("not modelled") => Outcome::NotModelled(e),
        Err(e) => Outcome::Fail(format!("setup: {e}")),
    }
}

fn mode_of(v: &Value) -> Result<Mode, String> {
    let m = match v {
        Value::Object(o) => o.get("mode").and_then(|m| m.as_str()).unwrap_or("Fit"),
        _ => "Fit",
    };
    Ok(match m {
        "Fit" => Mode::Fit,
        "Preempt" => Mode::Preempt,
        "NoFit" => Mode::NoFit,
        o => return Err(format!("unknown mode {o:?}")),
    })
}

fn preemption_case(fx: &Fixtures, case: &Case) -> Result<Vec<String>, String> {
    let w = world(fx, case)?;
    let mut snap = Snapshot::new(&w.flavors, &w.cohorts, &w.cqs).map_err(|e| e.to_string())?;
    for d in &case.workloads {
        let c = workload(d, true)?;
        if let Some(a) = c.wl.admission.clone() {
            snap.add_workload(WorkloadInfo::new(c.wl, &a.cluster_queue));
        }
    }
    let inc = case.incoming.as_ref().ok_or("no incoming workload")?;
    let target = case.target_cq.as_ref().ok_or("no target_cq")?;
    let cq = snap
        .cq_index(target)
        .ok_or(format!("no ClusterQueue {target}"))?;
    let wl = WorkloadInfo::new(workload(inc, true)?.wl, target);
    let a = case.assignment.as_ref().ok_or("no assignment")?;
    let mut assignment = kq::Assignment::default();
    for p in &a.pod_sets {
        let mut flavors = BTreeMap::new();
        for (r, f) in &p.flavors {
            flavors.insert(
                r.clone(),
                kq::assigner::FlavorAssignment {
                    name: flavor_name(f).ok_or("bad flavor")?,
                    mode: mode_of(f)?,
                    tried_flavor_idx: -1,
                    borrow: 0,
                },
            );
        }
        assignment
            .pod_sets
            .push(kq::assigner::PodSetAssignmentResult {
                name: p.name.clone(),
                flavors,
                status: Default::default(),
                requests: BTreeMap::new(),
                count: p.count.unwrap_or(1),
                attempts: Vec::new(),
            });
    }
    let before = snap.clone();
    let targets = preemption::get_targets(&mut snap, &wl, cq, &assignment, 0);
    let mut diffs = Vec::new();
    if snap != before {
        diffs.push("GetTargets left the snapshot modified".into());
    }
    let mut preempted = BTreeSet::new();
    let mut reasons = BTreeMap::new();
    for t in &targets {
        if !t.info.obj.evicted {
            preempted.insert(t.info.key());
            reasons.insert(t.info.key(), t.reason.to_string());
        }
    }
    for (k, v) in &case.expect {
        match k.as_str() {
            "preempted" => cmp("preempted", &str_list(v)?, &preempted, &mut diffs),
            "preemption_reasons" => cmp("preemption_reasons", &str_map(v)?, &reasons, &mut diffs),
            "preempted_count" => {
                let n = v.as_u64().ok_or("preempted_count")? as usize;
                cmp("preempted_count", &n, &targets.len(), &mut diffs);
            }
            _ => {}
        }
    }
    Ok(diffs)
}

// ---------------------------------------------------------------- TestAssignFlavors

struct StubOracle {
    answers: BTreeMap<FlavorResource, (PreemptionPossibility, i32)>,
    default: (PreemptionPossibility, i32),
}

impl PreemptionOracle for StubOracle {
    fn simulate(
        &mut self,
        _snap: &mut Snapshot,
        _cq: usize,
        _wl: &WorkloadInfo,
        fr: &FlavorResource,
        _quantity: i64,
    ) -> (PreemptionPossibility, i32) {
        self.answers.get(fr).copied().unwrap_or(self.default)
    }
}

fn possibility(s: &str) -> Result<PreemptionPossibility, String> {
    Ok(match s {
        "NoCandidates" => PreemptionPossibility::NoCandidates,
        "Preempt" => PreemptionPossibility::Preempt,
        "Reclaim" => PreemptionPossibility::Reclaim,
        o => return Err(format!("unknown preemption possibility {o:?}")),
    })
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Fit => "Fit",
        Mode::Preempt => "Preempt",
        Mode::NoFit => "NoFit",
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WantAttempt {
    flavor: String,
    mode: String,
    #[serde(default)]
    borrow: i32,
    #[serde(default)]
    preemption_possibility: Option<String>,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    no_fit_reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WantFlavor {
    name: String,
    mode: String,
    tried_flavor_idx: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WantPodSet {
    name: String,
    count: u32,
    #[serde(default)]
    requests: BTreeMap<String, Qty>,
    #[serde(default)]
    flavors: BTreeMap<String, WantFlavor>,
    #[serde(default)]
    status: Vec<String>,
    #[serde(default)]
    status_error: Option<String>,
    #[serde(default)]
    attempts: Vec<WantAttempt>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WantAssignment {
    rep_mode: String,
    borrowing: i32,
    #[serde(default)]
    no_fit_reason: String,
    pod_sets: Vec<WantPodSet>,
    #[serde(default)]
    usage: BTreeMap<String, BTreeMap<String, Qty>>,
}

fn run_assign_case(fx: &Fixtures, case: &Case) -> Outcome {
    if let Some(r) = unmodelled(case, &[]) {
        return Outcome::NotModelled(r);
    }
    if let Some(r) = expect_keys(case, &["assignment"]) {
        return Outcome::NotModelled(r);
    }
    match assign_case(fx, case) {
        Ok(diffs) if diffs.is_empty() => Outcome::Pass,
        Ok(diffs) => Outcome::Fail(diffs.join("; ")),
        Err(e) if e.contains("not modelled") => Outcome::NotModelled(e),
        Err(e) => Outcome::Fail(format!("setup: {e}")),
    }
}

fn attempt_matches(w: &WantAttempt, g: &FlavorAttempt) -> bool {
    let mut wr = w.reasons.clone();
    wr.sort();
    w.flavor == g.flavor
        && w.mode == mode_name(g.mode)
        && w.borrow == g.borrow
        && w.preemption_possibility.as_deref() == g.possibility.map(|p| format!("{p:?}")).as_deref()
        && wr == g.reasons
        && w.no_fit_reason == g.no_fit_reason
}

fn assign_case(fx: &Fixtures, case: &Case) -> Result<Vec<String>, String> {
    let w = world(fx, case)?;
    let mut snap = Snapshot::new(&w.flavors, &w.cohorts, &w.cqs).map_err(|e| e.to_string())?;
    let target = case.target_cq.as_ref().ok_or("no target_cq")?;
    let cq = snap
        .cq_index(target)
        .ok_or(format!("no ClusterQueue {target}"))?;
    for (q, per_flavor) in &case.usage {
        let i = snap
            .cq_index(q)
            .ok_or(format!("usage for unknown queue {q}"))?;
        let mut u = kq::FlavorResourceQuantities::new();
        for (f, per_res) in per_flavor {
            for (r, qty) in per_res {
                u.insert(FlavorResource::new(f, r), qty.amount(r)?);
            }
        }
        snap.add_usage(i, &u);
    }
    let reclaimable_gate = case
        .feature_gates
        .get("ReclaimablePods")
        .copied()
        .unwrap_or(true);
    let d = case.workloads.first().ok_or("no workload")?;
    let wl = WorkloadInfo::new(workload(d, reclaimable_gate)?.wl, target);
    let default = match &fx.preemption_oracle_default {
        Some(a) => (possibility(&a.possibility)?, a.borrowing_after),
        None => (PreemptionPossibility::Preempt, 0),
    };
    let mut answers = BTreeMap::new();
    for (f, per_res) in &case.preemption_possible {
        for (r, a) in per_res {
            answers.insert(
                FlavorResource::new(f, r),
                (possibility(&a.possibility)?, a.borrowing_after),
            );
        }
    }
    let mut oracle = StubOracle { answers, default };
    let got = FlavorAssigner {
        wl: &wl,
        cq,
        enable_fair_sharing: case.enable_fair_sharing,
        oracle: &mut oracle,
    }
    .assign(&mut snap, None);
    let want: WantAssignment = serde_json::from_value(
        case.expect
            .get("assignment")
            .cloned()
            .ok_or("no expect.assignment")?,
    )
    .map_err(|e| format!("expect.assignment: {e}"))?;

    let mut diffs = Vec::new();
    cmp(
        "rep_mode",
        &want.rep_mode.as_str(),
        &mode_name(got.representative_mode()),
        &mut diffs,
    );
    cmp("borrowing", &want.borrowing, &got.borrowing, &mut diffs);
    cmp(
        "no_fit_reason",
        &want.no_fit_reason,
        &got.no_fit_reason,
        &mut diffs,
    );
    let mut want_usage = kq::FlavorResourceQuantities::new();
    for (f, per_res) in &want.usage {
        for (r, q) in per_res {
            want_usage.insert(FlavorResource::new(f, r), q.amount(r)?);
        }
    }
    cmp("usage", &want_usage, &got.usage, &mut diffs);
    cmp(
        "pod set count",
        &want.pod_sets.len(),
        &got.pod_sets.len(),
        &mut diffs,
    );
    for (wp, gp) in want.pod_sets.iter().zip(got.pod_sets.iter()) {
        let p = &wp.name;
        cmp(&format!("{p}.name"), &wp.name, &gp.name, &mut diffs);
        cmp(&format!("{p}.count"), &wp.count, &gp.count, &mut diffs);
        let mut wr = BTreeMap::new();
        for (r, q) in &wp.requests {
            wr.insert(r.clone(), q.amount(r)?);
        }
        cmp(&format!("{p}.requests"), &wr, &gp.requests, &mut diffs);
        let wf: BTreeMap<String, (String, String, i32)> = wp
            .flavors
            .iter()
            .map(|(r, f)| {
                (
                    r.clone(),
                    (f.name.clone(), f.mode.clone(), f.tried_flavor_idx),
                )
            })
            .collect();
        let gf: BTreeMap<String, (String, String, i32)> = gp
            .flavors
            .iter()
            .map(|(r, f)| {
                (
                    r.clone(),
                    (
                        f.name.clone(),
                        mode_name(f.mode).to_string(),
                        f.tried_flavor_idx,
                    ),
                )
            })
            .collect();
        cmp(&format!("{p}.flavors"), &wf, &gf, &mut diffs);
        match &wp.status_error {
            Some(e) => cmp(
                &format!("{p}.status_error"),
                &Some(e.clone()),
                &gp.status.err,
                &mut diffs,
            ),
            None => {
                let mut ws = wp.status.clone();
                ws.sort();
                let mut gs = gp.status.reasons.clone();
                gs.sort();
                cmp(&format!("{p}.status"), &ws, &gs, &mut diffs);
            }
        }
        // Attempts, compared as upstream's flexAssertConsidered does.
        if !wp.attempts.is_empty() {
            let any_fit = gp.attempts.iter().any(|a| a.mode == Mode::Fit);
            if any_fit {
                for g in &gp.attempts {
                    let ok = wp.attempts.iter().any(|w| {
                        attempt_matches(w, g)
                            || (g.mode == Mode::Fit
                                && w.flavor == g.flavor
                                && w.mode == "NoFit"
                                && !w.reasons.is_empty()
                                && w.reasons
                                    .iter()
                                    .all(|r| r.contains("does not provide resource")))
                    });
                    if !ok {
                        diffs.push(format!("{p}.attempts: unexpected {g:?}"));
                    }
                }
            } else {
                for wa in &wp.attempts {
                    if !gp.attempts.iter().any(|g| attempt_matches(wa, g)) {
                        diffs.push(format!(
                            "{p}.attempts: missing {wa:?}; got {:?}",
                            gp.attempts
                        ));
                    }
                }
            }
        }
    }
    Ok(diffs)
}

// ---------------------------------------------------------------- the tests

type KueueFile = SuiteFile<Fixtures, Case>;

fn run_file(rel: &str, suite: &str, run: Runner) -> Report {
    let file: KueueFile = load(rel);
    let mut report = Report::new(suite, &file);
    for case in &file.cases {
        // A difference names the upstream line, so it can be read next to the test.
        let outcome = match run(&file.fixtures, case) {
            Outcome::Fail(msg) => Outcome::Fail(format!("(upstream line {}) {msg}", case.line)),
            o => o,
        };
        report.push(&case.name, outcome);
    }
    report
}

/// How one case of a file is run.
type Runner = fn(&Fixtures, &Case) -> Outcome;

const FILES: [(&str, &str, Runner); 4] = [
    (
        "kueue/scheduler_test.1.yaml",
        "kueue TestSchedule (part 1)",
        run_schedule_case,
    ),
    (
        "kueue/scheduler_test.2.yaml",
        "kueue TestSchedule (part 2)",
        run_schedule_case,
    ),
    (
        "kueue/preemption_test.yaml",
        "kueue TestPreemption",
        run_preemption_case,
    ),
    (
        "kueue/flavorassigner_test.yaml",
        "kueue TestAssignFlavors",
        run_assign_case,
    ),
];

/// Every file's report, in upstream order.
pub fn reports() -> Vec<Report> {
    FILES
        .iter()
        .map(|(rel, suite, run)| run_file(rel, suite, *run))
        .collect()
}

fn check(i: usize) {
    let (rel, suite, run) = FILES[i];
    let r = run_file(rel, suite, run);
    println!("{}", r.row());
    r.check();
}

#[test]
fn kueue_schedule_part_1() {
    check(0);
}

#[test]
fn kueue_schedule_part_2() {
    check(1);
}

#[test]
fn kueue_preemption() {
    check(2);
}

#[test]
fn kueue_assign_flavors() {
    check(3);
}
