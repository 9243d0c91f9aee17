//! Fidelity cases for volcano (see scenarios/fidelity/README.md, "## Volcano").
//!
//! Each file under `scenarios/fidelity/volcano/` is one upstream test function. A case whose
//! features Orrery models is run as one Volcano session of Orrery's own model: the
//! PodGroups become jobs (running groups pre-placed on their nodes with
//! `ClusterSim::start_preplaced`, pending ones submitted at time 0), the run stops after the
//! first session (`session_period`), and the bindings and gang verdicts are compared with
//! upstream's expectations.

use std::collections::{BTreeMap, BTreeSet};

use models::dra::{Manifests, ObjectKey, Quantity};
use models::resources::GpuRequest;
use models::scheduler::{PolicyKind, SchedulerConfig, VolcanoQueueDef, VolcanoResources};
use models::sim::{ClusterSim, Event, JobPhase, PodPhase};
use models::{
    ClusterSpec, DraConfig, DraObjects, DraSource, JobSpec, NodeSpec, PodRequest, RunConfig,
    Workload,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sim_core::{Chooser, ChooserMode, RngStreams, SimDuration, SimTime, Simulation, StopAt};

use super::common::{Outcome, Report, SuiteFile, load};

// ---------------------------------------------------------------------------------------
// The data (scenarios/fidelity/README.md, "## Volcano")

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Fixtures {
    /// Actions the test runs, in order.
    #[serde(default)]
    actions: Vec<String>,
    /// The session's plugin tiers (conf.Tier).
    #[serde(default)]
    tiers: Vec<Tier>,
    /// `options.ServerOpts` the function sets.
    #[serde(default)]
    options: BTreeMap<String, u32>,
    #[serde(default)]
    storage_classes: Vec<StorageClass>,
    #[serde(default)]
    pvcs: Vec<Pvc>,
    #[serde(default)]
    pvs: Vec<Pv>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tier {
    plugins: Vec<PluginOption>,
}

/// conf.PluginOption: the plugin and the `Enabled*` switches the test sets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PluginOption {
    name: String,
    job_order: Option<bool>,
    job_ready: Option<bool>,
    job_pipelined: Option<bool>,
    job_starving: Option<bool>,
    task_order: Option<bool>,
    preemptable: Option<bool>,
    reclaimable: Option<bool>,
    queue_order: Option<bool>,
    allocatable: Option<bool>,
    predicate: Option<bool>,
    node_order: Option<bool>,
    hyper_node_order: Option<bool>,
    hyper_node_gradient: Option<bool>,
    sub_job_ready: Option<bool>,
    sub_job_order: Option<bool>,
    #[serde(default)]
    arguments: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StorageClass {
    name: String,
    provisioner: String,
    volume_binding_mode: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Pvc {
    name: String,
    requests: BTreeMap<String, String>,
    storage_class: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Pv {
    name: String,
    storage_class: String,
    capacity: BTreeMap<String, String>,
    phase: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Case {
    name: String,
    line: u32,
    features: Vec<String>,
    notes: Option<String>,
    #[serde(default)]
    queues: Vec<Queue>,
    #[serde(default)]
    nodes: Vec<Node>,
    #[serde(default)]
    pod_groups: Vec<PodGroup>,
    #[serde(default)]
    pods: Vec<Pod>,
    hypernodes: Option<HyperNodes>,
    storage: Option<Storage>,
    dra: Option<Dra>,
    /// Unit tests of internal functions: their inputs, as the test builds them.
    unit: Option<Value>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Queue {
    name: String,
    weight: i32,
    #[serde(default)]
    capability: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Node {
    name: String,
    allocatable: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PodGroup {
    /// namespace/name
    name: String,
    queue: String,
    min_member: i32,
    #[serde(default)]
    min_task_member: BTreeMap<String, i32>,
    phase: String,
    /// The `JobAllocatedHyperNode` annotation (set by the builders with network topology).
    allocated_hypernode: Option<String>,
    network_topology: Option<NetworkTopology>,
    #[serde(default)]
    sub_group_policy: Vec<SubGroupPolicy>,
    /// The default sub-job's NominatedHyperNode, set before the action runs.
    nominated_hypernode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct NetworkTopology {
    mode: String,
    highest_tier_allowed: Option<i32>,
    highest_tier_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SubGroupPolicy {
    name: String,
    match_label_keys: Vec<String>,
    sub_group_size: i32,
    min_sub_groups: i32,
    network_topology: Option<NetworkTopology>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Pod {
    /// namespace/name
    name: String,
    /// The PodGroup's name, in the pod's namespace.
    group: String,
    phase: String,
    node: Option<String>,
    requests: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    node_selector: BTreeMap<String, String>,
    pvc: Option<String>,
    #[serde(default)]
    resource_claims: Vec<PodClaim>,
    nominated_node: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PodClaim {
    name: String,
    claim: String,
    container_request: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct HyperNodes {
    /// HyperNodesSetByTier.
    #[serde(default)]
    by_tier: BTreeMap<u32, Vec<String>>,
    /// HyperNodesTierNameMap.
    #[serde(default)]
    tier_names: BTreeMap<String, u32>,
    /// HyperNodes: the real nodes under each HyperNode.
    #[serde(default)]
    leaves: BTreeMap<String, Vec<String>>,
    /// HyperNodesMap: key → HyperNode object.
    #[serde(default)]
    objects: BTreeMap<String, HyperNode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct HyperNode {
    name: String,
    tier: u32,
    tier_name: Option<String>,
    parent: Option<String>,
    members: Vec<Member>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Member {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    selector: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Storage {
    storage_classes: Vec<String>,
    pvs: Vec<String>,
    pvcs: Vec<String>,
    ignore_provisioners: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dra {
    device_classes: Vec<DraClass>,
    resource_slices: Vec<DraSlice>,
    resource_claims: Vec<DraClaim>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraClass {
    name: String,
    /// CEL expressions.
    selectors: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraSlice {
    name: String,
    driver: String,
    node: String,
    pool: DraPool,
    devices: Vec<DraDevice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraPool {
    name: String,
    generation: i64,
    resource_slice_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraDevice {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraClaim {
    /// namespace/name
    name: String,
    requests: Vec<DraRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraRequest {
    name: String,
    device_class: String,
    allocation_mode: String,
    count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// ExpectBindMap: pod → node.
    binds: Option<BTreeMap<String, String>>,
    /// ExpectBindsNum.
    bind_count: Option<usize>,
    /// MinimalBindCheck: only the number of bindings is checked upstream.
    #[serde(default)]
    count_only: bool,
    /// ExpectBindNumsInHyperNode (sorted bind counts per HyperNode).
    binds_per_hypernode: Option<Vec<u32>>,
    /// ExpectStatus: PodGroup phase after the session.
    #[serde(default)]
    pod_group_phase: BTreeMap<String, String>,
    /// ExpectTaskStatusNums: per PodGroup, task status → count.
    #[serde(default)]
    task_status_counts: BTreeMap<String, BTreeMap<String, usize>>,
    /// Unit tests: what the test asserts.
    unit: Option<Value>,
}

// ---------------------------------------------------------------------------------------
// Features

/// Features Orrery's `volcano` policy models.
const MODELLED: &[&str] = &[
    "gang",
    "drf",
    "binpack",
    "running_pods",
    "dra",
    "overcommit",
    "predicates",
    "proportion",
    "queue_capability",
];

/// Features it does not, with the reason a case using one is not modelled.
const NOT_MODELLED: &[(&str, &str)] = &[
    (
        "min_available",
        "minMember below the group's pod count: Orrery's Volcano gangs need every pod (minAvailable = pod count)",
    ),
    (
        "min_task_member",
        "per-task minimums (minTaskMember) are not modelled",
    ),
    (
        "nodeorder",
        "nodeorder plugin scores (least-requested and others) choose between nodes: Orrery's Volcano scores with binpack",
    ),
    (
        "node_affinity",
        "nodeSelector / node affinity: Orrery's pods carry no node selector",
    ),
    (
        "rescheduling",
        "a group with both running and pending pods: Orrery places a job's pods together",
    ),
    (
        "network_topology",
        "PodGroup networkTopology constraints are not modelled",
    ),
    ("hypernode", "HyperNodes are not modelled"),
    ("subgroup", "SubGroupPolicy partitions are not modelled"),
    ("volumes", "PVC / PV volume binding is not modelled"),
    (
        "releasing",
        "Releasing (terminating) pods are not modelled: Orrery frees a pod's resources at once",
    ),
    (
        "nomination",
        "nominated nodes / HyperNodes (from gangpreempt, gangreclaim) are not modelled",
    ),
    ("preemption", "the preempt action is not modelled"),
    ("reclaim", "the reclaim action is not modelled"),
    (
        "unit",
        "a unit test of an internal function: no scheduling decision to compare",
    ),
    ("other", "see the case's notes"),
];

/// Features the runner can read off the data; a case's tags must name exactly these (of
/// this set), so a case cannot be made "modelled" by leaving a tag out.
const DERIVED: &[&str] = &[
    "gang",
    "min_available",
    "min_task_member",
    "proportion",
    "queue_capability",
    "drf",
    "binpack",
    "nodeorder",
    "node_affinity",
    "running_pods",
    "rescheduling",
    "network_topology",
    "hypernode",
    "subgroup",
    "volumes",
    "dra",
    "nomination",
];

fn namespace(name: &str) -> &str {
    name.split_once('/').map_or("", |(ns, _)| ns)
}

fn group_pods<'a>(case: &'a Case, pg: &PodGroup) -> Vec<&'a Pod> {
    let (ns, name) = pg.name.split_once('/').unwrap_or(("", &pg.name));
    case.pods
        .iter()
        .filter(|p| namespace(&p.name) == ns && p.group == name)
        .collect()
}

fn derived_features(fx: &Fixtures, case: &Case) -> BTreeSet<&'static str> {
    let plugins: BTreeSet<&str> = fx
        .tiers
        .iter()
        .flat_map(|t| t.plugins.iter().map(|p| p.name.as_str()))
        .collect();
    let mut f = BTreeSet::new();
    for pg in &case.pod_groups {
        let pods = group_pods(case, pg);
        let n = pods.len() as i32;
        if plugins.contains("gang") && n >= 2 && pg.min_member >= 2 {
            f.insert("gang");
        }
        if n >= 2 && pg.min_member < n {
            f.insert("min_available");
        }
        if !pg.min_task_member.is_empty() {
            f.insert("min_task_member");
        }
        let phases: BTreeSet<&str> = pods.iter().map(|p| p.phase.as_str()).collect();
        if phases.contains("Running") && phases.contains("Pending") {
            f.insert("rescheduling");
        }
        if pg
            .network_topology
            .as_ref()
            .is_some_and(|t| !t.mode.is_empty())
            || pg
                .sub_group_policy
                .iter()
                .any(|s| s.network_topology.is_some())
        {
            f.insert("network_topology");
        }
        if !pg.sub_group_policy.is_empty() {
            f.insert("subgroup");
        }
        if pg.nominated_hypernode.is_some() {
            f.insert("nomination");
        }
    }
    if case.queues.len() > 1 {
        f.insert("proportion");
    }
    if case.queues.iter().any(|q| !q.capability.is_empty()) {
        f.insert("queue_capability");
    }
    for (plugin, tag) in [("drf", "drf"), ("binpack", "binpack")] {
        if plugins.contains(plugin) {
            f.insert(tag);
        }
    }
    if plugins.contains("nodeorder") && case.nodes.len() > 1 {
        f.insert("nodeorder");
    }
    for p in &case.pods {
        if p.phase == "Pending" && !p.node_selector.is_empty() {
            f.insert("node_affinity");
        }
        if p.phase == "Running" {
            f.insert("running_pods");
        }
        if p.nominated_node.is_some() {
            f.insert("nomination");
        }
        if p.pvc.is_some() {
            f.insert("volumes");
        }
        if !p.resource_claims.is_empty() {
            f.insert("dra");
        }
    }
    if case.hypernodes.is_some() {
        f.insert("hypernode");
    }
    if case.storage.is_some() {
        f.insert("volumes");
    }
    if case.dra.is_some() {
        f.insert("dra");
    }
    f
}

/// The tags are from the vocabulary and, for scenario cases, name exactly the derivable
/// features the data shows.
fn check_tags(fx: &Fixtures, case: &Case) {
    for t in &case.features {
        assert!(
            MODELLED.contains(&t.as_str()) || NOT_MODELLED.iter().any(|(n, _)| n == t),
            "case {:?}: unknown feature tag {t:?}",
            case.name
        );
    }
    assert!(case.line > 0, "case {:?}: no line", case.name);
    if case.features.iter().any(|t| t == "other") {
        assert!(
            case.notes.is_some(),
            "case {:?}: `other` needs notes",
            case.name
        );
    }
    if case.features.iter().any(|t| t == "unit") {
        return;
    }
    let tagged: BTreeSet<&str> = case
        .features
        .iter()
        .map(String::as_str)
        .filter(|t| DERIVED.contains(t))
        .collect();
    let derived = derived_features(fx, case);
    assert_eq!(
        tagged, derived,
        "case {:?} (line {}): feature tags do not match the data",
        case.name, case.line
    );
}

fn not_modelled(case: &Case) -> Option<String> {
    let reasons: Vec<String> = case
        .features
        .iter()
        .filter_map(|t| {
            NOT_MODELLED
                .iter()
                .find(|(n, _)| n == t)
                .map(|(n, why)| format!("{n}: {why}"))
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

// ---------------------------------------------------------------------------------------
// One session of Orrery's Volcano model

/// A quantity in thousandths (CPU millicores), or in MiB (memory), rounded as stated.
fn quantity_nanos(q: &str) -> Result<i128, String> {
    Quantity::parse(q)
        .map(|v| v.nanos())
        .map_err(|e| format!("quantity {q:?}: {e:?}"))
}

fn milli(q: &str, round_up: bool) -> Result<u64, String> {
    let n = quantity_nanos(q)?;
    let per = 1_000_000i128;
    let v = if round_up {
        (n + per - 1) / per
    } else {
        n / per
    };
    u64::try_from(v).map_err(|_| format!("quantity {q:?} out of range"))
}

fn mib(q: &str, round_up: bool, unit: i128) -> Result<u64, String> {
    let n = quantity_nanos(q)?;
    let v = if round_up {
        (n + unit - 1) / unit
    } else {
        n / unit
    };
    u64::try_from(v).map_err(|_| format!("quantity {q:?} out of range"))
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Orrery's memory unit (`memory_mib`) for a case, in nanobytes: the largest amount that
/// divides every memory quantity of the case, so nodes, pods and capabilities keep their
/// exact ratios (the model only adds, compares and divides amounts; upstream counts bytes:
/// five pods of `1G` fill a node of `5G`, which whole MiB would round apart). Falls back
/// to MiB (nodes rounded down, pods up) if amounts in that unit would be too large.
fn memory_unit(case: &Case) -> Result<i128, String> {
    const MIB: i128 = 1_000_000_000 * 1024 * 1024;
    let mut all = Vec::new();
    for n in &case.nodes {
        all.extend(n.allocatable.get("memory"));
    }
    for p in &case.pods {
        all.extend(p.requests.get("memory"));
    }
    for q in &case.queues {
        all.extend(q.capability.get("memory"));
    }
    let mut unit = 0i128;
    let mut max = 0i128;
    for q in all {
        let n = quantity_nanos(q)?;
        unit = gcd(unit, n.abs());
        max = max.max(n);
    }
    if unit == 0 || max / unit > 1 << 40 {
        return Ok(MIB);
    }
    Ok(unit)
}

fn whole(q: &str) -> Result<u32, String> {
    let n = quantity_nanos(q)?;
    if n % 1_000_000_000 != 0 {
        return Err(format!("GPU count {q:?} is not whole"));
    }
    u32::try_from(n / 1_000_000_000).map_err(|_| format!("GPU count {q:?} out of range"))
}

/// Node allocatable → NodeSpec (memory rounded down to whole MiB).
fn node_spec(n: &Node, pods_in_case: usize, mem_unit: i128) -> Result<NodeSpec, String> {
    let mut spec = NodeSpec {
        taints: Vec::new(),
        name: n.name.clone(),
        pool: "fidelity".to_string(),
        cpu_milli: 0,
        memory_mib: 0,
        gpus: 0,
        gpu_model: None,
        gpu_memory_mib: 0,
        rack: 0,
        labels: n.labels.clone(),
    };
    for (r, q) in &n.allocatable {
        match r.as_str() {
            "cpu" => spec.cpu_milli = milli(q, false)?,
            "memory" => spec.memory_mib = mib(q, false, mem_unit)?,
            "nvidia.com/gpu" => spec.gpus = whole(q)?,
            // The pod-count limit is not modelled; it must not be able to bind.
            "pods" => {
                let limit = whole(q)? as usize;
                if pods_in_case > limit {
                    return Err(format!(
                        "node {} allows {limit} pods and the case has {pods_in_case}: the pod limit is not modelled",
                        n.name
                    ));
                }
            }
            other => return Err(format!("node {}: resource {other:?} not modelled", n.name)),
        }
    }
    Ok(spec)
}

/// Pod requests → PodRequest (memory rounded up to whole MiB). A pod with a resource
/// claim gets `claim_gpus` whole GPUs: in DRA manifests mode that count only picks the
/// claim template (it is dropped as a request).
fn pod_request(p: &Pod, claim_gpus: u32, mem_unit: i128) -> Result<PodRequest, String> {
    let mut req = PodRequest::gpus(claim_gpus);
    for (r, q) in &p.requests {
        match r.as_str() {
            "cpu" => req.cpu_milli = milli(q, true)?,
            "memory" => req.memory_mib = mib(q, true, mem_unit)?,
            "nvidia.com/gpu" => {
                let n = whole(q)?;
                req.gpu = if n == 0 {
                    GpuRequest::None
                } else {
                    GpuRequest::Whole(n)
                };
            }
            other => return Err(format!("pod {}: resource {other:?} not modelled", p.name)),
        }
    }
    Ok(req)
}

/// The case's DRA objects as Orrery's run-time DRA configuration. Upstream's pods name
/// pre-created ResourceClaims; Orrery's runs make each pod's claim from a template, so
/// each claim becomes a template with the same spec, chosen by a GPU count of its own
/// (claim `i` in the list ↔ `i + 1` GPUs).
fn dra_config(d: &Dra) -> Result<(DraConfig, BTreeMap<String, u32>), String> {
    let mut items = Vec::new();
    for c in &d.device_classes {
        let selectors: Vec<Value> = c
            .selectors
            .iter()
            .map(|e| json!({"cel": {"expression": e}}))
            .collect();
        items.push(json!({
            "apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
            "metadata": {"name": c.name}, "spec": {"selectors": selectors}
        }));
    }
    for s in &d.resource_slices {
        let devices: Vec<Value> = s.devices.iter().map(|x| json!({"name": x.name})).collect();
        items.push(json!({
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
            "metadata": {"name": s.name},
            "spec": {
                "driver": s.driver, "nodeName": s.node,
                "pool": {"name": s.pool.name, "generation": s.pool.generation,
                         "resourceSliceCount": s.pool.resource_slice_count},
                "devices": devices
            }
        }));
    }
    let mut gpus_of_claim = BTreeMap::new();
    let mut templates_by_gpus = BTreeMap::new();
    for (i, c) in d.resource_claims.iter().enumerate() {
        let (ns, name) = c
            .name
            .split_once('/')
            .ok_or_else(|| format!("claim {:?}: no namespace", c.name))?;
        let requests: Vec<Value> = c
            .requests
            .iter()
            .map(|r| {
                json!({"name": r.name, "exactly": {
                    "deviceClassName": r.device_class,
                    "allocationMode": r.allocation_mode, "count": r.count}})
            })
            .collect();
        items.push(json!({
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"spec": {"devices": {"requests": requests}}}
        }));
        let gpus = i as u32 + 1;
        gpus_of_claim.insert(c.name.clone(), gpus);
        templates_by_gpus.insert(gpus, ObjectKey::new(ns, name));
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let m = Manifests::parse("case.json", &list.to_string()).map_err(|e| e.to_string())?;
    let objects = DraObjects {
        device_classes: m.device_classes.into_values().collect(),
        resource_slices: m.resource_slices.into_values().collect(),
        claim_templates: m.claim_templates.into_values().collect(),
        device_taint_rules: Vec::new(),
        node_labels: BTreeMap::new(),
        admin_namespaces: Vec::new(),
        templates_by_gpus,
    };
    Ok((
        DraConfig {
            source: DraSource::Manifests(Box::new(objects)),
        },
        gpus_of_claim,
    ))
}

/// One job of the session: its PodGroup, its pods, and their nodes when it runs already.
struct SessionJob<'a> {
    group: &'a PodGroup,
    pods: Vec<&'a Pod>,
    placed: Option<Vec<u32>>,
}

/// What one session decided.
struct SessionResult {
    /// Pods bound in the session: pod → node.
    binds: BTreeMap<String, String>,
    /// PodGroup → its phase after the session.
    phases: BTreeMap<String, String>,
    /// PodGroup → pods bound in the session.
    bound_per_group: BTreeMap<String, usize>,
}

/// The case's queues as Orrery's Volcano queues, in UID (name) order: the order Volcano
/// falls back to when queue shares tie.
fn volcano_queues(case: &Case, mem_unit: i128) -> Result<Vec<VolcanoQueueDef>, String> {
    let mut queues: Vec<&Queue> = case.queues.iter().collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    queues
        .into_iter()
        .map(|q| {
            let weight = u32::try_from(q.weight)
                .ok()
                .filter(|w| *w > 0)
                .ok_or_else(|| format!("queue {}: weight {} not modelled", q.name, q.weight))?;
            let capability = if q.capability.is_empty() {
                None
            } else {
                let mut r = VolcanoResources::default();
                for (k, v) in &q.capability {
                    match k.as_str() {
                        "cpu" => r.cpu_milli = Some(milli(v, false)?),
                        "memory" => r.memory_mib = Some(mib(v, false, mem_unit)?),
                        "nvidia.com/gpu" => r.gpus = Some(f64::from(whole(v)?)),
                        other => {
                            return Err(format!(
                                "queue {}: capability {other:?} not modelled",
                                q.name
                            ));
                        }
                    }
                }
                Some(r)
            };
            Ok(VolcanoQueueDef {
                name: q.name.clone(),
                weight,
                capability,
                guarantee: None,
            })
        })
        .collect()
}

/// The proportion plugin's `Allocatable` switch as the fixtures set it (Volcano's
/// `isEnabled`: unset is on); off when the plugin is not in the tiers.
fn queue_allocatable(fx: &Fixtures) -> bool {
    fx.tiers
        .iter()
        .flat_map(|t| &t.plugins)
        .find(|p| p.name == "proportion")
        .is_some_and(|p| p.allocatable.unwrap_or(true))
}

fn run_session(case: &Case) -> Result<SessionResult, String> {
    run_session_with(case, true)
}

fn run_session_with(case: &Case, allocatable: bool) -> Result<SessionResult, String> {
    let pods_in_case = case.pods.len();
    let mem_unit = memory_unit(case)?;
    let nodes: Vec<NodeSpec> = case
        .nodes
        .iter()
        .map(|n| node_spec(n, pods_in_case, mem_unit))
        .collect::<Result<_, _>>()?;
    let node_index: BTreeMap<&str, u32> = case
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i as u32))
        .collect();
    let (dra, gpus_of_claim) = match &case.dra {
        Some(d) => {
            let (c, g) = dra_config(d)?;
            (Some(c), g)
        }
        None => (None, BTreeMap::new()),
    };
    for p in &case.pods {
        let group = format!("{}/{}", namespace(&p.name), p.group);
        if !case.pod_groups.iter().any(|pg| pg.name == group) {
            return Err(format!("pod {} names no PodGroup of the case", p.name));
        }
    }
    // Jobs in creation order; every object of an upstream test has the same (zero)
    // creation time, so Volcano breaks the tie by UID (namespace/name): so do we.
    let mut groups: Vec<&PodGroup> = case.pod_groups.iter().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let mut jobs = Vec::new();
    let mut members: Vec<SessionJob<'_>> = Vec::new();
    for pg in groups {
        let pods = group_pods(case, pg);
        if pods.is_empty() {
            continue;
        }
        let running = pods.iter().all(|p| p.phase == "Running");
        let pending = pods.iter().all(|p| p.phase == "Pending");
        let placed = if running {
            let at: Vec<u32> = pods
                .iter()
                .map(|p| {
                    p.node
                        .as_deref()
                        .and_then(|n| node_index.get(n).copied())
                        .ok_or_else(|| format!("running pod {} has no known node", p.name))
                })
                .collect::<Result<_, _>>()?;
            Some(at)
        } else if pending {
            if pg.phase != "Inqueue" {
                return Err(format!(
                    "PodGroup {} is {} (allocate takes Inqueue groups only): not modelled",
                    pg.name, pg.phase
                ));
            }
            None
        } else {
            return Err(format!("PodGroup {}: pods in mixed phases", pg.name));
        };
        let requests: Vec<PodRequest> = pods
            .iter()
            .map(|p| {
                let gpus = match p.resource_claims.as_slice() {
                    [] => Ok(0),
                    [c] => {
                        let key = format!("{}/{}", namespace(&p.name), c.claim);
                        gpus_of_claim
                            .get(&key)
                            .copied()
                            .ok_or_else(|| format!("pod {}: no claim {key}", p.name))
                    }
                    _ => Err(format!("pod {}: several claims not modelled", p.name)),
                }?;
                pod_request(p, gpus, mem_unit)
            })
            .collect::<Result<_, _>>()?;
        jobs.push(JobSpec {
            id: pg.name.clone(),
            submit: SimTime::ZERO,
            duration: SimDuration::from_secs(86_400),
            pods: requests,
            priority: 0,
            queue: Some(pg.queue.clone()),
        });
        members.push(SessionJob {
            group: pg,
            pods,
            placed,
        });
    }
    let mut scheduler = SchedulerConfig {
        policy: PolicyKind::Volcano,
        ..SchedulerConfig::default()
    };
    scheduler.volcano.session_period = SimDuration::from_secs(1);
    scheduler.volcano.queues = volcano_queues(case, mem_unit)?;
    scheduler.volcano.queue_allocatable = allocatable;
    let config = RunConfig {
        scheduler,
        chooser: ChooserMode::First,
        dra,
        ..RunConfig::default()
    };
    let mut model = ClusterSim::new(ClusterSpec { nodes }, Workload { jobs }, &config)
        .map_err(|e| format!("Orrery refuses the input: {e}"))?;
    let streams = RngStreams::new(config.seed);
    let mut sim = Simulation::new(Chooser::new(config.chooser.clone(), &streams));
    for (j, m) in members.iter().enumerate() {
        match &m.placed {
            Some(at) => model.start_preplaced(j as u32, at)?,
            None => {
                sim.schedule_at(SimTime::ZERO, Event::Submit(j as u32));
            }
        }
    }
    // One session: the first falls at `session_period`.
    let stop = StopAt {
        horizon: SimTime::ZERO + config.scheduler.volcano.session_period,
        max_events: 1_000_000,
    };
    sim.run(&mut model, stop, |_, _| true);
    if let Some(v) = &model.invariant_violation {
        return Err(format!("invariant violated: {v}"));
    }
    let mut out = SessionResult {
        binds: BTreeMap::new(),
        phases: BTreeMap::new(),
        bound_per_group: BTreeMap::new(),
    };
    for (j, m) in members.iter().enumerate() {
        let (pg, pods, placed) = (m.group, &m.pods, &m.placed);
        let js = &model.state.jobs[j];
        let mut bound = 0;
        if placed.is_none() {
            for (i, p) in pods.iter().enumerate() {
                let ps = &js.pods[i];
                if let (PodPhase::Bound, Some(pl)) = (ps.phase, &ps.placement) {
                    out.binds
                        .insert(p.name.clone(), case.nodes[pl.node as usize].name.clone());
                    bound += 1;
                }
            }
        }
        let phase = match js.phase {
            JobPhase::Running => "Running".to_string(),
            _ => pg.phase.clone(),
        };
        out.phases.insert(pg.name.clone(), phase);
        out.bound_per_group.insert(pg.name.clone(), bound);
    }
    Ok(out)
}

/// Compare one session with upstream's expectations.
fn compare(case: &Case, got: &SessionResult) -> Outcome {
    let e = &case.expect;
    let mut diffs = Vec::new();
    if e.unit.is_some() || e.binds_per_hypernode.is_some() {
        return Outcome::Fail("expectation the runner cannot compare (unit / hypernode)".into());
    }
    if let Some(n) = e.bind_count
        && got.binds.len() != n
    {
        diffs.push(format!(
            "{} bindings, upstream {n} ({:?})",
            got.binds.len(),
            got.binds
        ));
    }
    if let Some(want) = &e.binds
        && !e.count_only
        && want != &got.binds
    {
        diffs.push(format!("bindings {:?}, upstream {want:?}", got.binds));
    }
    for (pg, want) in &e.pod_group_phase {
        match got.phases.get(pg) {
            Some(p) if p == want => {}
            other => diffs.push(format!("PodGroup {pg} phase {other:?}, upstream {want}")),
        }
    }
    for (pg, statuses) in &e.task_status_counts {
        for (status, want) in statuses {
            if status != "Binding" {
                diffs.push(format!("task status {status} is not modelled"));
                continue;
            }
            let n = got.bound_per_group.get(pg).copied().unwrap_or(0);
            if n != *want {
                diffs.push(format!("PodGroup {pg}: {n} pods Binding, upstream {want}"));
            }
        }
    }
    if diffs.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(diffs.join("; "))
    }
}

fn run_case(fx: &Fixtures, case: &Case) -> Outcome {
    check_tags(fx, case);
    if let Some(why) = not_modelled(case) {
        return Outcome::NotModelled(why);
    }
    assert!(
        fx.actions.iter().all(|a| a == "allocate"),
        "case {:?}: only the allocate action is modelled",
        case.name
    );
    match run_session_with(case, queue_allocatable(fx)) {
        Ok(got) => compare(case, &got),
        Err(e) => Outcome::Fail(e),
    }
}

const FILES: [&str; 19] = [
    "volcano/gang_TestShouldSkipUnschedulableForReleasing.yaml",
    "volcano/allocate_TestParseArgs.yaml",
    "volcano/allocate_TestAllocate.yaml",
    "volcano/allocate_TestAllocateWithNetWorkTopologies.yaml",
    "volcano/allocate_TestNodeLevelScoreWithNetWorkTopologies.yaml",
    "volcano/allocate_TestHyperNodeBinpackWithNetWorkTopologies.yaml",
    "volcano/allocate_TestFareShareAllocate.yaml",
    "volcano/allocate_TestAllocateWithPVC.yaml",
    "volcano/allocate_TestAllocateWithDRA.yaml",
    "volcano/allocate_TestWorksheetShallowCopy.yaml",
    "volcano/allocate_TestWorksheetEmpty.yaml",
    "volcano/allocate_TestWorksheetClone.yaml",
    "volcano/allocate_TestAllocateWithPartitionPolicyNetworkTopology.yaml",
    "volcano/allocate_TestInvalidateSubJobNomination.yaml",
    "volcano/allocate_TestAllocateFromNomination_FallsBackWhenHyperNodeMissing.yaml",
    "volcano/allocate_TestValidateNomination_MissBranches.yaml",
    "volcano/allocate_TestAllocateFromNomination_HappyPath.yaml",
    "volcano/allocate_TestAllocateFromNomination_AllocateErrorFallsBack.yaml",
    "volcano/allocate_TestAllocate_FlatPathHonorsAndClearsNomination.yaml",
];

/// Every file's report, in upstream order.
pub fn reports() -> Vec<Report> {
    FILES.iter().map(|f| run_file(f)).collect()
}

fn run_file(rel: &str) -> Report {
    let file: SuiteFile<Fixtures, Case> = load(rel);
    assert_eq!(file.upstream.repo, "volcano-sh/volcano", "{rel}");
    let mut report = Report::new("volcano", &file);
    for case in &file.cases {
        report.push(&case.name, run_case(&file.fixtures, case));
    }
    println!("{}", report.row());
    report.check();
    report
}

// ---------------------------------------------------------------------------------------
// One test per upstream test function, in upstream order.

#[test]
fn gang_should_skip_unschedulable_for_releasing() {
    let r = run_file("volcano/gang_TestShouldSkipUnschedulableForReleasing.yaml");
    assert_eq!(r.count().0, 5);
}

#[test]
fn allocate_parse_args() {
    let r = run_file("volcano/allocate_TestParseArgs.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_allocate() {
    let r = run_file("volcano/allocate_TestAllocate.yaml");
    assert_eq!(r.count().0, 6);
}

#[test]
fn allocate_with_network_topologies() {
    let r = run_file("volcano/allocate_TestAllocateWithNetWorkTopologies.yaml");
    assert_eq!(r.count().0, 25);
}

#[test]
fn allocate_node_level_score_with_network_topologies() {
    let r = run_file("volcano/allocate_TestNodeLevelScoreWithNetWorkTopologies.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_hypernode_binpack_with_network_topologies() {
    let r = run_file("volcano/allocate_TestHyperNodeBinpackWithNetWorkTopologies.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_fair_share() {
    let r = run_file("volcano/allocate_TestFareShareAllocate.yaml");
    assert_eq!(r.count().0, 3);
}

#[test]
fn allocate_with_pvc() {
    let r = run_file("volcano/allocate_TestAllocateWithPVC.yaml");
    assert_eq!(r.count().0, 2);
}

#[test]
fn allocate_with_dra() {
    let r = run_file("volcano/allocate_TestAllocateWithDRA.yaml");
    assert_eq!(r.count().0, 2);
}

#[test]
fn allocate_worksheet_shallow_copy() {
    let r = run_file("volcano/allocate_TestWorksheetShallowCopy.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_worksheet_empty() {
    let r = run_file("volcano/allocate_TestWorksheetEmpty.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_worksheet_clone() {
    let r = run_file("volcano/allocate_TestWorksheetClone.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_with_partition_policy_network_topology() {
    let r = run_file("volcano/allocate_TestAllocateWithPartitionPolicyNetworkTopology.yaml");
    assert_eq!(r.count().0, 37);
}

#[test]
fn allocate_invalidate_sub_job_nomination() {
    let r = run_file("volcano/allocate_TestInvalidateSubJobNomination.yaml");
    assert_eq!(r.count().0, 2);
}

#[test]
fn allocate_from_nomination_falls_back_when_hypernode_missing() {
    let r =
        run_file("volcano/allocate_TestAllocateFromNomination_FallsBackWhenHyperNodeMissing.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_validate_nomination_miss_branches() {
    let r = run_file("volcano/allocate_TestValidateNomination_MissBranches.yaml");
    assert_eq!(r.count().0, 4);
}

#[test]
fn allocate_from_nomination_happy_path() {
    let r = run_file("volcano/allocate_TestAllocateFromNomination_HappyPath.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_from_nomination_allocate_error_falls_back() {
    let r = run_file("volcano/allocate_TestAllocateFromNomination_AllocateErrorFallsBack.yaml");
    assert_eq!(r.count().0, 1);
}

#[test]
fn allocate_flat_path_honors_and_clears_nomination() {
    let r = run_file("volcano/allocate_TestAllocate_FlatPathHonorsAndClearsNomination.yaml");
    assert_eq!(r.count().0, 1);
}

/// The runner itself: a modelled case whose expectation is wrong must fail (the session is
/// really compared).
#[test]
fn runner_detects_a_wrong_expectation() {
    let file: SuiteFile<Fixtures, Case> = load("volcano/allocate_TestFareShareAllocate.yaml");
    let case = file
        .cases
        .iter()
        .find(|c| c.name == "queue's one jobs has no pending tasks, should be put back to queues for next job")
        .expect("case present");
    assert!(matches!(run_case(&file.fixtures, case), Outcome::Pass));
    let got = run_session(case).expect("session runs");
    let mut wrong = Expect {
        binds: Some(BTreeMap::new()),
        bind_count: Some(0),
        count_only: false,
        binds_per_hypernode: None,
        pod_group_phase: BTreeMap::new(),
        task_status_counts: BTreeMap::new(),
        unit: None,
    };
    let mut probe = Case {
        name: case.name.clone(),
        line: case.line,
        features: case.features.clone(),
        notes: None,
        queues: Vec::new(),
        nodes: Vec::new(),
        pod_groups: Vec::new(),
        pods: Vec::new(),
        hypernodes: None,
        storage: None,
        dra: None,
        unit: None,
        expect: wrong,
    };
    assert!(matches!(compare(&probe, &got), Outcome::Fail(_)));
    wrong = Expect {
        binds: None,
        bind_count: None,
        count_only: false,
        binds_per_hypernode: None,
        pod_group_phase: [("ns-1/pg-2".to_string(), "Inqueue".to_string())].into(),
        task_status_counts: BTreeMap::new(),
        unit: None,
    };
    probe.expect = wrong;
    assert!(matches!(compare(&probe, &got), Outcome::Fail(_)));
}

/// A case whose tags leave out a feature its data shows is refused (it cannot be passed
/// off as modelled).
#[test]
#[should_panic(expected = "feature tags do not match the data")]
fn runner_refuses_a_missing_tag() {
    let file: SuiteFile<Fixtures, Case> = load("volcano/allocate_TestAllocate.yaml");
    let mut case = file
        .cases
        .into_iter()
        .find(|c| c.name == "one Job with two Pods on one node")
        .expect("case present");
    case.features.retain(|t| t != "min_available");
    check_tags(&file.fixtures, &case);
}

fn probe_case(yaml: &str) -> Case {
    serde_saphyr::from_str(yaml).expect("probe case parses")
}

/// The runner wires DRA into the session: with two empty nodes (scores tie, the first
/// would win), the pod goes to the node that holds the claim's device.
#[test]
fn runner_places_a_claim_on_its_device_node() {
    let case = probe_case(
        r#"
name: probe
line: 1
features: [dra]
queues: [{name: c1, weight: 1}]
nodes:
  - {name: n1, allocatable: {cpu: "2", memory: "4Gi"}}
  - {name: n2, allocatable: {cpu: "2", memory: "4Gi"}}
pod_groups: [{name: c1/pg1, queue: c1, min_member: 1, phase: Inqueue}]
pods:
  - {name: c1/p1, group: pg1, phase: Pending, requests: {cpu: "1"}, resource_claims: [{name: gpu, claim: claim1, container_request: gpu}]}
dra:
  device_classes: [{name: gpu.example.com, selectors: ["device.driver == 'gpu.example.com'"]}]
  resource_slices:
    - {name: s, driver: gpu.example.com, node: n2, pool: {name: p, generation: 1, resource_slice_count: 1}, devices: [{name: gpu-1}]}
  resource_claims:
    - {name: c1/claim1, requests: [{name: gpu, device_class: gpu.example.com, allocation_mode: ExactCount, count: 1}]}
expect: {binds: {c1/p1: n2}, bind_count: 1}
"#,
    );
    let outcome = run_case(&Fixtures::default(), &case);
    assert!(matches!(outcome, Outcome::Pass), "{outcome:?}");
}

/// Running pods are really on their nodes: binpack sends the new pod to the node that
/// already runs one (the emptier node would win on a tie).
#[test]
fn runner_preplaces_running_pods() {
    let case = probe_case(
        r#"
name: probe
line: 1
features: [running_pods]
queues: [{name: q, weight: 1}]
nodes:
  - {name: n1, allocatable: {cpu: "2", memory: "4Gi"}}
  - {name: n2, allocatable: {cpu: "2", memory: "4Gi"}}
pod_groups:
  - {name: ns/run, queue: q, min_member: 1, phase: Running}
  - {name: ns/new, queue: q, min_member: 1, phase: Inqueue}
pods:
  - {name: ns/r, group: run, phase: Running, node: n2, requests: {cpu: "1", memory: "1Gi"}}
  - {name: ns/p, group: new, phase: Pending, requests: {cpu: "1", memory: "1Gi"}}
expect: {binds: {ns/p: n2}, bind_count: 1, pod_group_phase: {ns/new: Running, ns/run: Running}}
"#,
    );
    let outcome = run_case(&Fixtures::default(), &case);
    assert!(matches!(outcome, Outcome::Pass), "{outcome:?}");
}

/// A running pod that cannot be where the case puts it is refused, not half placed.
#[test]
fn runner_refuses_a_running_pod_that_does_not_fit() {
    let case = probe_case(
        r#"
name: probe
line: 1
features: [running_pods]
queues: [{name: q, weight: 1}]
nodes:
  - {name: n1, allocatable: {cpu: "2", memory: "4Gi"}}
  - {name: n2, allocatable: {cpu: "2", memory: "4Gi"}}
pod_groups:
  - {name: ns/run, queue: q, min_member: 2, phase: Running}
pods:
  - {name: ns/a, group: run, phase: Running, node: n1, requests: {cpu: "1"}}
  - {name: ns/b, group: run, phase: Running, node: n1, requests: {cpu: "2"}}
expect: {binds: {}, bind_count: 0}
"#,
    );
    match run_session(&case) {
        Err(e) => assert!(e.contains("does not fit on n1"), "{e}"),
        Ok(_) => panic!("an overfull node was accepted"),
    }
}
