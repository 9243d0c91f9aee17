//! The Kueue API objects the admission core works on, as plain data, named as users say
//! them. Quantities are integer [`Amount`]s in Kueue's own units: milli-units for `cpu`,
//! whole units for every other resource (see [`amount`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::KueueError;
use crate::dra::quantity::Quantity;

/// A quantity of one resource: milli-CPU for `cpu`, whole units (bytes, pods, devices)
/// for everything else, as upstream's `resources.Amount`.
pub type Amount = i64;

/// The CPU resource name (the one resource Kueue counts in milli-units).
pub const CPU: &str = "cpu";
/// The `pods` resource: when a ClusterQueue covers it, a pod set requests `count` pods.
pub const PODS: &str = "pods";

/// A Kubernetes quantity string as an [`Amount`] of `resource`, rounded up as Kubernetes'
/// `MilliValue`/`Value` do.
pub fn amount(resource: &str, text: &str) -> Result<Amount, KueueError> {
    let q = Quantity::parse(text).map_err(|e| KueueError::Quantity {
        resource: resource.to_string(),
        msg: e.to_string(),
    })?;
    let per_unit: i128 = if resource == CPU {
        1_000_000
    } else {
        1_000_000_000
    };
    let n = q.nanos();
    let v = if n >= 0 {
        (n + per_unit - 1) / per_unit
    } else {
        n / per_unit
    };
    // Upstream clamps a value beyond int64 to the largest one.
    Ok(i64::try_from(v).unwrap_or(if v > 0 { i64::MAX } else { i64::MIN }))
}

/// How upstream prints an amount in messages (`resource.Quantity.String()` in its
/// canonical form: decimal SI for `cpu` and counts, binary SI for memory-like resources).
pub fn format_amount(resource: &str, v: Amount) -> String {
    if resource == CPU {
        decimal_si(i128::from(v), -3)
    } else if resource == "memory"
        || resource == "ephemeral-storage"
        || resource.starts_with("hugepages-")
    {
        binary_si(v)
    } else {
        decimal_si(i128::from(v), 0)
    }
}

/// `mantissa * 10^exp` in canonical decimal SI form (largest exponent, multiple of 3, that
/// keeps the mantissa integral).
fn decimal_si(mantissa: i128, exp: i32) -> String {
    if mantissa == 0 {
        return "0".into();
    }
    let mut m = mantissa;
    let mut e = exp;
    while m % 10 == 0 && e < 18 {
        m /= 10;
        e += 1;
    }
    // Bring the exponent down to a multiple of 3.
    while e.rem_euclid(3) != 0 {
        m *= 10;
        e -= 1;
    }
    let suffix = match e {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    };
    format!("{m}{suffix}")
}

fn binary_si(v: Amount) -> String {
    if v.abs() < 1024 {
        return v.to_string();
    }
    let suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let mut m = v;
    let mut idx: Option<usize> = None;
    while m % 1024 == 0 && idx.is_none_or(|i| i + 1 < suffixes.len()) && m != 0 {
        m /= 1024;
        idx = Some(idx.map_or(0, |i| i + 1));
    }
    match idx {
        Some(i) => format!("{m}{}", suffixes[i]),
        None => decimal_si(i128::from(v), 0),
    }
}

/// A (flavor, resource) pair: the unit of quota accounting.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FlavorResource {
    pub flavor: String,
    pub resource: String,
}

impl FlavorResource {
    pub fn new(flavor: &str, resource: &str) -> FlavorResource {
        FlavorResource {
            flavor: flavor.to_string(),
            resource: resource.to_string(),
        }
    }
}

impl fmt::Display for FlavorResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.flavor, self.resource)
    }
}

/// Quantities per (flavor, resource).
pub type FlavorResourceQuantities = BTreeMap<FlavorResource, Amount>;

/// A node taint (effect `NoSchedule`, `PreferNoSchedule` or `NoExecute`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

impl fmt::Display for Taint {
    /// As upstream's messages print a taint (Go's `%s` of the struct, no time added):
    /// `{key value effect <nil>}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{} {} {} <nil>}}", self.key, self.value, self.effect)
    }
}

/// A pod (or flavor) toleration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Toleration {
    pub key: String,
    /// `Equal` (also when empty) or `Exists`.
    pub operator: String,
    pub value: String,
    /// Empty tolerates every effect.
    pub effect: String,
}

impl Toleration {
    /// `corev1.Toleration.ToleratesTaint`.
    pub fn tolerates(&self, t: &Taint) -> bool {
        if !self.effect.is_empty() && self.effect != t.effect {
            return false;
        }
        if !self.key.is_empty() && self.key != t.key {
            return false;
        }
        match self.operator.as_str() {
            "Exists" => true,
            "" | "Equal" => self.value == t.value,
            _ => false,
        }
    }
}

/// A ResourceFlavor: node labels a pod set must be able to match, taints it must tolerate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceFlavor {
    pub name: String,
    pub node_labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// Tolerations the flavor adds to the pods admitted with it.
    pub tolerations: Vec<Toleration>,
}

/// One requirement of a label selector or a node selector term.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Requirement {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`.
    pub operator: String,
    pub values: Vec<String>,
}

impl Requirement {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        match self.operator.as_str() {
            "In" => v.is_some_and(|v| self.values.contains(v)),
            "NotIn" => v.is_none_or(|v| !self.values.contains(v)),
            "Exists" => v.is_some(),
            "DoesNotExist" => v.is_none(),
            "Gt" | "Lt" => {
                let (Some(v), Some(bound)) = (v, self.values.first()) else {
                    return false;
                };
                match (v.parse::<i64>(), bound.parse::<i64>()) {
                    (Ok(v), Ok(b)) if self.operator == "Gt" => v > b,
                    (Ok(v), Ok(b)) => v < b,
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

/// A label selector (`matchLabels` and `matchExpressions`, ANDed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

/// A preemption policy (`withinClusterQueue`, `reclaimWithinCohort`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PreemptionPolicy {
    #[default]
    Never,
    LowerPriority,
    LowerOrNewerEqualPriority,
    Any,
}

/// `borrowWithinCohort`: preempt in other queues while borrowing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BorrowWithinCohort {
    /// `false` = policy `Never`; `true` = `LowerPriority`.
    pub lower_priority: bool,
    pub max_priority_threshold: Option<i32>,
}

/// A ClusterQueue's preemption settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterQueuePreemption {
    pub within_cluster_queue: PreemptionPolicy,
    pub reclaim_within_cohort: PreemptionPolicy,
    pub borrow_within_cohort: Option<BorrowWithinCohort>,
}

/// `whenCanBorrow` / `whenCanPreempt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FungibilityPolicy {
    /// Stop at the first flavor where it can borrow / preempt (v1beta1 `Borrow`/`Preempt`).
    MayStopSearch,
    TryNextFlavor,
}

/// `flavorFungibility.preference`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FungibilityPreference {
    BorrowingOverPreemption,
    PreemptionOverBorrowing,
}

/// `flavorFungibility`; the default is upstream's (`MayStopSearch`, `TryNextFlavor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlavorFungibility {
    pub when_can_borrow: FungibilityPolicy,
    pub when_can_preempt: FungibilityPolicy,
    pub preference: Option<FungibilityPreference>,
}

impl Default for FlavorFungibility {
    fn default() -> Self {
        FlavorFungibility {
            when_can_borrow: FungibilityPolicy::MayStopSearch,
            when_can_preempt: FungibilityPolicy::TryNextFlavor,
            preference: None,
        }
    }
}

/// `queueingStrategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueingStrategy {
    StrictFifo,
    #[default]
    BestEffortFifo,
}

/// One resource's quota in one flavor.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceQuota {
    pub name: String,
    pub nominal: Amount,
    pub borrowing_limit: Option<Amount>,
    pub lending_limit: Option<Amount>,
}

/// A flavor's quotas inside a resource group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlavorQuotas {
    pub name: String,
    pub resources: Vec<ResourceQuota>,
}

/// A resource group: resources assigned together, flavors in fungibility order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub flavors: Vec<FlavorQuotas>,
}

impl ResourceGroup {
    /// The covered resources (every resource any of its flavors lists).
    pub fn covered(&self) -> BTreeSet<String> {
        self.flavors
            .iter()
            .flat_map(|f| f.resources.iter().map(|r| r.name.clone()))
            .collect()
    }
}

/// A ClusterQueue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterQueue {
    pub name: String,
    pub cohort: Option<String>,
    pub resource_groups: Vec<ResourceGroup>,
    pub preemption: ClusterQueuePreemption,
    pub flavor_fungibility: FlavorFungibility,
    pub queueing_strategy: QueueingStrategy,
    /// `None` = every namespace.
    pub namespace_selector: Option<LabelSelector>,
    /// False when the queue is stopped or otherwise inactive.
    pub active: bool,
}

/// A Cohort object (hierarchical cohorts): its parent and its own quotas.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cohort {
    pub name: String,
    pub parent: Option<String>,
    pub resource_groups: Vec<ResourceGroup>,
}

/// A LocalQueue: a namespace's door to a ClusterQueue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalQueue {
    pub namespace: String,
    pub name: String,
    pub cluster_queue: String,
}

/// One pod set of a workload; `requests` are per pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PodSet {
    pub name: String,
    pub count: u32,
    /// Partial admission: the fewest pods the pod set may run with.
    pub min_count: Option<u32>,
    pub requests: BTreeMap<String, Amount>,
    /// Per-pod limits; a request above its limit makes the workload invalid.
    pub limits: BTreeMap<String, Amount>,
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: terms ORed, requirements in a term ANDed.
    pub affinity: Vec<Vec<Requirement>>,
    pub tolerations: Vec<Toleration>,
    /// Pods that finished and no longer need quota (`status.reclaimablePods`).
    pub reclaimable: u32,
    /// PodSet group: the pod sets of one group get their flavors together.
    pub group: Option<String>,
}

/// How one pod set was admitted: a flavor per resource and the quota it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PodSetAssignment {
    pub name: String,
    pub count: u32,
    pub flavors: BTreeMap<String, String>,
    pub resource_usage: BTreeMap<String, Amount>,
}

/// A workload's admission (quota reservation) in a ClusterQueue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Admission {
    pub cluster_queue: String,
    pub pod_set_assignments: Vec<PodSetAssignment>,
}

/// A workload. Times are milliseconds on any fixed clock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Workload {
    pub namespace: String,
    pub name: String,
    /// The last tie-breaker of every ordering.
    pub uid: String,
    /// LocalQueue name (`spec.queueName`).
    pub queue_name: Option<String>,
    pub priority: i32,
    pub creation_ms: i64,
    pub pod_sets: Vec<PodSet>,
    /// Quota reserved: the workload counts against its ClusterQueue.
    pub admission: Option<Admission>,
    pub quota_reserved_ms: Option<i64>,
    /// An `Evicted=True` condition (eviction under way).
    pub evicted: bool,
    /// An admission check in state `Retry` or `Rejected`.
    pub failed_admission_checks: bool,
    /// A closed preemption gate (`spec.preemptionGates`): it may not preempt yet.
    pub preemption_gated: bool,
}

impl Workload {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Upstream `ValidateResources`: every request within its limit (one container per
    /// pod set here). The error message as upstream words it.
    pub fn validate_resources(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        for (i, ps) in self.pod_sets.iter().enumerate() {
            let over: Vec<String> = ps
                .requests
                .iter()
                .filter(|(r, q)| ps.limits.get(*r).is_some_and(|l| *q > l))
                .map(|(r, _)| format!("\"{r}\""))
                .collect();
            if !over.is_empty() {
                errs.push(format!(
                    "spec.podSets[{i}].template.spec.containers[0]: Invalid value: [{}]: requests must not exceed its limits",
                    over.join(" ")
                ));
            }
        }
        match errs.len() {
            0 => Ok(()),
            1 => Err(format!("resources validation failed: {}", errs[0])),
            _ => Err(format!(
                "resources validation failed: [{}]",
                errs.join(", ")
            )),
        }
    }
}
