//! `scheduler.kueue.manifests`: Kueue's queues from their real YAML (`kubectl get
//! clusterqueues,localqueues,resourceflavors -o yaml`, or the files applied): `ResourceFlavor`,
//! `ClusterQueue` and `LocalQueue` of `kueue.x-k8s.io/v1beta1` (Kueue v0.9+ field names),
//! documented in `docs/scenario-format.md` ("Kueue queues from their YAML").
//!
//! The simulated Kueue admits on one resource, the GPU, in one flavor (its admission core
//! runs Kueue's flavor assigner over `nvidia.com/gpu`), so what becomes a
//! `cluster_queues` entry is each ClusterQueue's `nvidia.com/gpu` (or `amd.com/gpu`) quota
//! in its one GPU flavor: `nominalQuota`, `borrowingLimit`, `lendingLimit`; its `cohort`;
//! `preemption.withinClusterQueue` and `reclaimWithinCohort`; `queueingStrategy` (one for
//! all queues). Jobs may name a LocalQueue (as the `kueue.x-k8s.io/queue-name` label does):
//! it stands for its ClusterQueue.
//!
//! Refused with file, line and field rather than dropped: unknown fields, a GPU quota in
//! more than one flavor of a queue (multi-flavor admission is not modelled), a flavor no
//! ResourceFlavor defines, `borrowWithinCohort` other than `Never`, `admissionChecks`, a
//! `stopPolicy` other than `None`, different queueing strategies, a LocalQueue of an
//! unknown ClusterQueue, and other kinds. Quotas of other resources (`cpu`, `memory`,
//! `pods`) are read and not enforced: the simulator's Kueue does not count them (a
//! documented deviation; the pods' CPU and memory still go through Filter). A
//! `fairSharing.weight` is accepted: it only matters with fair sharing on, which the
//! Configuration refuses.
//!
//! The same files may hold Cohorts, WorkloadPriorityClasses and Kueue's Configuration
//! (`kueue_config.rs`); the file reader here (`for_each_document`) is shared by every
//! queue and scheduler-configuration reader.

use std::collections::{BTreeMap, BTreeSet};

use models::dra::quantity::Quantity;
use models::scheduler::{
    ClusterQueueDef, KueueConfig, KueuePreemption, QueueingStrategy, ReclaimWithinCohort,
    WaitForPodsReady, WithinClusterQueue,
};
use models::workload::JobSpec;
use serde::Deserialize;

use crate::scenario::{FileSource, ScenarioError};

const FIELD: &str = "scheduler.kueue.manifests";
const API: &str = "kueue.x-k8s.io/v1beta1";
/// Kueue v0.15's API: as v1beta1 here, but the cohort is `spec.cohortName`.
const API2: &str = "kueue.x-k8s.io/v1beta2";
const GPUS: [&str; 2] = ["nvidia.com/gpu", "amd.com/gpu"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Head {
    pub(crate) api_version: Option<String>,
    pub(crate) kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Object<S> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Meta,
    #[serde(default = "Option::default")]
    spec: Option<S>,
    /// Status as `kubectl get -o yaml` prints it: ignored (the run starts empty).
    #[allow(dead_code)]
    #[serde(default)]
    status: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FlavorSpec {
    #[serde(default)]
    #[allow(dead_code)]
    node_labels: BTreeMap<String, String>,
    #[serde(default)]
    #[allow(dead_code)]
    node_taints: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    tolerations: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    topology_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CqSpec {
    #[serde(default)]
    cohort: Option<String>,
    #[serde(default)]
    cohort_name: Option<String>,
    #[serde(default)]
    resource_groups: Vec<ResourceGroup>,
    #[serde(default)]
    queueing_strategy: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    namespace_selector: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    flavor_fungibility: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    preemption: Option<Preemption>,
    #[serde(default)]
    stop_policy: Option<String>,
    /// Its weight only matters with fair sharing on (refused in the Configuration).
    #[serde(default)]
    fair_sharing: Option<crate::kueue_config::FairSharingSpec>,
    #[serde(default)]
    admission_checks: Option<Vec<serde::de::IgnoredAny>>,
    #[serde(default)]
    admission_checks_strategy: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourceGroup {
    #[allow(dead_code)]
    covered_resources: Vec<String>,
    flavors: Vec<FlavorQuotas>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FlavorQuotas {
    name: String,
    resources: Vec<ResourceQuota>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourceQuota {
    name: String,
    nominal_quota: QuantityText,
    #[serde(default)]
    borrowing_limit: Option<QuantityText>,
    #[serde(default)]
    lending_limit: Option<QuantityText>,
}

/// A quantity as YAML gives it: `8`, `"8"`, `500m`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum QuantityText {
    Int(i64),
    Text(String),
}

impl QuantityText {
    pub(crate) fn quantity(&self) -> Result<Quantity, String> {
        match self {
            QuantityText::Int(n) => Ok(Quantity::from_units(*n)),
            QuantityText::Text(t) => Quantity::parse(t).map_err(|e| e.to_string()),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Preemption {
    #[serde(default)]
    within_cluster_queue: Option<String>,
    #[serde(default)]
    reclaim_within_cohort: Option<String>,
    #[serde(default)]
    borrow_within_cohort: Option<BorrowWithinCohort>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BorrowWithinCohort {
    policy: String,
    #[serde(default)]
    #[allow(dead_code)]
    max_priority_threshold: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LqSpec {
    cluster_queue: String,
    #[serde(default)]
    #[allow(dead_code)]
    stop_policy: Option<String>,
}

pub(crate) fn invalid(path: &str, field: &str, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// GPUs of a quota, as the simulated Kueue counts them (fractions allowed).
fn gpus(q: &QuantityText, at: &str) -> Result<f64, String> {
    let v = q.quantity().map_err(|e| format!("{at}: {e}"))?;
    if v.signum() < 0 {
        return Err(format!("{at}: a quota cannot be negative"));
    }
    Ok(v.as_f64())
}

/// What the manifests define.
#[derive(Default)]
struct Read {
    flavors: BTreeSet<String>,
    queues: Vec<(String, ClusterQueueDef, Option<QueueingStrategy>)>,
    /// (GPU flavor, ClusterQueue, where): checked against `flavors` at the end.
    gpu_flavors: Vec<(String, String, String)>,
    /// LocalQueue name → (namespace, ClusterQueue, where).
    local: BTreeMap<String, (String, String, String)>,
    /// Cohorts, WorkloadPriorityClasses, the Configuration.
    extra: crate::kueue_config::Extra,
}

/// A YAML error at its line in the file (`first_line` is the document's first line).
pub(crate) fn yaml_error(
    file: &str,
    first_line: u64,
    kind: &str,
    e: &serde_saphyr::Error,
) -> String {
    let (line, column, message) = models::dra::manifests::yaml_error_at(first_line, e);
    let message = message.trim_start_matches("error: ");
    format!("{file}:{line}:{column}: {kind}: {message}")
}

fn parse_doc(read: &mut Read, file: &str, line: u64, doc: &str) -> Result<(), String> {
    let at = |what: &str| format!("{file}:{line}: {what}");
    let head: Head = serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "", &e))?;
    let kind = head.kind.unwrap_or_default();
    if head.api_version.as_deref() == Some(crate::kueue_config::CONFIG_API) {
        if kind != "Configuration" {
            return Err(at(&format!(
                "kind {kind:?} of {}: expected Configuration",
                crate::kueue_config::CONFIG_API
            )));
        }
        return crate::kueue_config::configuration(&mut read.extra, file, line, doc, &GPUS);
    }
    if head.api_version.as_deref() == Some("v1") && kind == "ConfigMap" {
        return crate::kueue_config::config_map(&mut read.extra, file, line, doc, &GPUS);
    }
    let v2 = match head.api_version.as_deref() {
        Some(API) => false,
        Some(API2) => true,
        other => {
            return Err(at(&format!(
                "{kind}: apiVersion {:?}, expected {API} or {API2} (or {} for the Configuration)",
                other.unwrap_or_default(),
                crate::kueue_config::CONFIG_API
            )));
        }
    };
    match kind.as_str() {
        "ResourceFlavor" => {
            let o: Object<FlavorSpec> = serde_saphyr::from_str(doc)
                .map_err(|e| yaml_error(file, line, "ResourceFlavor", &e))?;
            read.flavors.insert(o.metadata.name);
        }
        "LocalQueue" => {
            let o: Object<LqSpec> = serde_saphyr::from_str(doc)
                .map_err(|e| yaml_error(file, line, "LocalQueue", &e))?;
            let ns = o.metadata.namespace.unwrap_or_else(|| "default".into());
            let spec = o
                .spec
                .ok_or_else(|| at("LocalQueue: needs spec.clusterQueue"))?;
            if let Some((other, _, w)) = read.local.get(&o.metadata.name) {
                return Err(at(&format!(
                    "LocalQueue {}: also defined in namespace {other} ({w}); jobs name a queue without a namespace here, so names must be unique",
                    o.metadata.name
                )));
            }
            read.local.insert(
                o.metadata.name,
                (ns, spec.cluster_queue, format!("{file}:{line}")),
            );
        }
        "ClusterQueue" => {
            let o: Object<CqSpec> = serde_saphyr::from_str(doc)
                .map_err(|e| yaml_error(file, line, "ClusterQueue", &e))?;
            let name = o.metadata.name;
            let spec = o.spec.unwrap_or_default();
            let cq = |what: String| at(&format!("ClusterQueue {name}: {what}"));
            let cohort = match (v2, spec.cohort, spec.cohort_name) {
                (false, c, None) | (true, None, c) => c,
                (false, _, Some(_)) => {
                    return Err(cq(format!(
                        "unknown field spec.cohortName in {API} (it is spec.cohort; cohortName is {API2})"
                    )));
                }
                (true, Some(_), _) => {
                    return Err(cq(format!(
                        "unknown field spec.cohort in {API2} (it is spec.cohortName)"
                    )));
                }
            };
            if let Some(w) = spec.fair_sharing.as_ref().and_then(|f| f.weight.as_ref()) {
                w.quantity()
                    .map_err(|e| cq(format!("spec.fairSharing.weight: {e}")))?;
            }
            if spec
                .admission_checks
                .as_ref()
                .is_some_and(|a| !a.is_empty())
                || spec.admission_checks_strategy.is_some()
            {
                return Err(cq("spec.admissionChecks are not modelled".into()));
            }
            if spec.stop_policy.as_deref().is_some_and(|s| s != "None") {
                return Err(cq(format!(
                    "spec.stopPolicy {:?} is not modelled (only None)",
                    spec.stop_policy.unwrap_or_default()
                )));
            }
            let strategy = match spec.queueing_strategy.as_deref() {
                None => None,
                Some("BestEffortFIFO") => Some(QueueingStrategy::BestEffortFifo),
                Some("StrictFIFO") => Some(QueueingStrategy::StrictFifo),
                Some(s) => {
                    return Err(cq(format!(
                        "spec.queueingStrategy {s:?}: expected BestEffortFIFO or StrictFIFO"
                    )));
                }
            };
            let mut gpu: Option<(String, &ResourceQuota)> = None;
            for g in &spec.resource_groups {
                for f in &g.flavors {
                    for r in &f.resources {
                        if !GPUS.contains(&r.name.as_str()) {
                            continue;
                        }
                        if let Some((other, _)) = &gpu {
                            return Err(cq(format!(
                                "{} quota in flavors {other} and {}: admission over several GPU flavors is not modelled (one GPU flavor per ClusterQueue)",
                                r.name, f.name
                            )));
                        }
                        gpu = Some((f.name.clone(), r));
                    }
                }
            }
            let (nominal, borrowing, lending) = match gpu {
                Some((flavor, r)) => {
                    read.gpu_flavors
                        .push((flavor, name.clone(), format!("{file}:{line}")));
                    let f = |q: &QuantityText, k: &str| {
                        gpus(q, &format!("ClusterQueue {name}: {} {k}", r.name)).map_err(|e| at(&e))
                    };
                    (
                        f(&r.nominal_quota, "nominalQuota")?,
                        r.borrowing_limit
                            .as_ref()
                            .map(|q| f(q, "borrowingLimit"))
                            .transpose()?,
                        r.lending_limit
                            .as_ref()
                            .map(|q| f(q, "lendingLimit"))
                            .transpose()?,
                    )
                }
                None => (0.0, None, None),
            };
            let p = spec.preemption.unwrap_or(Preemption {
                within_cluster_queue: None,
                reclaim_within_cohort: None,
                borrow_within_cohort: None,
            });
            if let Some(b) = &p.borrow_within_cohort
                && b.policy != "Never"
            {
                return Err(cq(format!(
                    "spec.preemption.borrowWithinCohort.policy {:?} is not modelled (only Never)",
                    b.policy
                )));
            }
            let within = match p.within_cluster_queue.as_deref().unwrap_or("Never") {
                "Never" => WithinClusterQueue::Never,
                "LowerPriority" => WithinClusterQueue::LowerPriority,
                "LowerOrNewerEqualPriority" => WithinClusterQueue::LowerOrNewerEqualPriority,
                s => {
                    return Err(cq(format!(
                        "spec.preemption.withinClusterQueue {s:?}: expected Never, LowerPriority or LowerOrNewerEqualPriority"
                    )));
                }
            };
            let reclaim = match p.reclaim_within_cohort.as_deref().unwrap_or("Never") {
                "Never" => ReclaimWithinCohort::Never,
                "LowerPriority" => ReclaimWithinCohort::LowerPriority,
                "Any" => ReclaimWithinCohort::Any,
                s => {
                    return Err(cq(format!(
                        "spec.preemption.reclaimWithinCohort {s:?}: expected Never, LowerPriority or Any"
                    )));
                }
            };
            if read.queues.iter().any(|(n, _, _)| *n == name) {
                return Err(cq("defined twice".into()));
            }
            read.queues.push((
                name.clone(),
                ClusterQueueDef {
                    name,
                    cohort,
                    nominal_gpus: nominal,
                    borrowing_limit_gpus: borrowing,
                    lending_limit_gpus: lending,
                    preemption: KueuePreemption {
                        within_cluster_queue: within,
                        reclaim_within_cohort: reclaim,
                    },
                },
                strategy,
            ));
        }
        "Cohort" => crate::kueue_config::cohort(&mut read.extra, file, line, doc, &GPUS)?,
        "WorkloadPriorityClass" => {
            crate::kueue_config::priority_class(&mut read.extra, file, line, doc)?
        }
        other => {
            return Err(at(&format!(
                "kind {other:?} is not read here (expected ResourceFlavor, ClusterQueue, LocalQueue, Cohort or WorkloadPriorityClass of {API}, or a {} Configuration)",
                crate::kueue_config::CONFIG_API
            )));
        }
    }
    Ok(())
}

/// Calls `f(file, first line, document)` for every YAML document of the files and folders
/// (every `*.yaml` / `*.yml` of a folder, by name, not recursive) listed in `list`, relative
/// to the scenario's folder. `f`'s error is reported under `field[i]` (a list key) or
/// `field` (a single path, `indexed` false). Shared by every `*.manifests` reader (Kueue,
/// Volcano, Coscheduling) and `scheduler.config`.
pub(crate) fn for_each_document(
    path: &str,
    (field, indexed): (&str, bool),
    list: &[String],
    files: &dyn FileSource,
    f: &mut dyn FnMut(&str, u64, &str) -> Result<(), String>,
) -> Result<(), ScenarioError> {
    for (i, p) in list.iter().enumerate() {
        let field = if indexed {
            format!("{field}[{i}]")
        } else {
            field.to_string()
        };
        let Some(full) = files.path(p) else {
            // A source of objects in memory (a conformance profile folder's): one file.
            let (name, text) = files.read(p).map_err(|_| {
                invalid(
                    path,
                    &field,
                    "manifests can only be read next to a scenario file on disk",
                )
            })?;
            documents(path, &field, &name, &text, f)?;
            continue;
        };
        let mut found: Vec<std::path::PathBuf> = if full.is_dir() {
            std::fs::read_dir(&full)
                .map_err(|e| invalid(path, &field, format!("{}: {e}", full.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && matches!(f.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                })
                .collect()
        } else {
            vec![full.clone()]
        };
        found.sort();
        for file in found {
            let text = crate::scenario::read_regular_file(&file).map_err(|e| {
                invalid(
                    path,
                    &field,
                    format!(
                        "{} (relative to the scenario's folder): {e}",
                        file.display()
                    ),
                )
            })?;
            let name = file.display().to_string();
            documents(path, &field, &name, &text, f)?;
        }
    }
    Ok(())
}

/// Calls `f` for every document of one file (List items one by one).
fn documents(
    path: &str,
    field: &str,
    name: &str,
    text: &str,
    f: &mut dyn FnMut(&str, u64, &str) -> Result<(), String>,
) -> Result<(), ScenarioError> {
    for (line, doc, item) in crate::kube_list::unwrap_lists(text) {
        f(name, line, &doc)
            .map_err(|e| invalid(path, field, crate::kube_list::in_item(e, name, item)))?;
    }
    Ok(())
}

/// Reads `cfg.manifests` (relative to the scenario's folder) into `cfg.cluster_queues`,
/// `cfg.queueing_strategy` and `cfg.wait_for_pods_ready`, renames jobs' LocalQueue names to
/// their ClusterQueue, and gives the jobs of `priority_classes` (job id → the
/// WorkloadPriorityClass it names) that class's value as priority.
pub fn resolve(
    path: &str,
    cfg: &mut KueueConfig,
    jobs: &mut [JobSpec],
    priority_classes: &BTreeMap<String, String>,
    files: &dyn FileSource,
) -> Result<(), ScenarioError> {
    if cfg.manifests.is_empty() {
        if let Some((job, class)) = priority_classes.iter().next() {
            return Err(invalid(
                path,
                "workload.jobs",
                format!(
                    "job {job:?} names priority_class {class:?}: WorkloadPriorityClasses come from scheduler.kueue.manifests, which is not given"
                ),
            ));
        }
        return Ok(());
    }
    let mut read = Read::default();
    for_each_document(
        path,
        (FIELD, true),
        &cfg.manifests,
        files,
        &mut |name, line, doc| parse_doc(&mut read, name, line, doc),
    )?;
    if !read.queues.is_empty() && !cfg.cluster_queues.is_empty() {
        return Err(invalid(
            path,
            FIELD,
            "give the queues either as manifests or as scheduler.kueue.cluster_queues, not both",
        ));
    }
    if let Some((f, cq, at)) = read
        .gpu_flavors
        .iter()
        .find(|(f, _, _)| !read.flavors.contains(f))
    {
        return Err(invalid(
            path,
            FIELD,
            format!(
                "{at}: ClusterQueue {cq}'s GPU quota names ResourceFlavor {f:?}, which no manifest defines"
            ),
        ));
    }
    let names: BTreeSet<String> = if read.queues.is_empty() {
        // Only Cohorts, WorkloadPriorityClasses or the Configuration: the queues are the
        // scenario's own.
        cfg.cluster_queues.iter().map(|q| q.name.clone()).collect()
    } else {
        let mut strategies: Vec<QueueingStrategy> = read
            .queues
            .iter()
            .map(|(_, _, s)| s.unwrap_or_default())
            .collect();
        strategies.dedup();
        if strategies.len() > 1 {
            return Err(invalid(
                path,
                FIELD,
                "ClusterQueues with different queueingStrategy: the simulated Kueue has one strategy for all queues",
            ));
        }
        cfg.queueing_strategy = strategies.first().copied().unwrap_or_default();
        read.queues.iter().map(|(n, _, _)| n.clone()).collect()
    };
    for (lq, (_, cq, at)) in &read.local {
        if !names.contains(cq) {
            return Err(invalid(
                path,
                FIELD,
                format!(
                    "{at}: LocalQueue {lq} points to ClusterQueue {cq:?}, which no manifest defines"
                ),
            ));
        }
    }
    for j in jobs.iter_mut() {
        if let Some(q) = &j.queue
            && !names.contains(q)
            && let Some((_, cq, _)) = read.local.get(q)
        {
            j.queue = Some(cq.clone());
        }
        if let Some(class) = priority_classes.get(&j.id) {
            let Some((value, _)) = read.extra.priority_classes.get(class) else {
                let known: Vec<&str> = read
                    .extra
                    .priority_classes
                    .keys()
                    .map(String::as_str)
                    .collect();
                return Err(invalid(
                    path,
                    "workload.jobs",
                    format!(
                        "job {:?} names priority_class {class:?}, which no WorkloadPriorityClass in {FIELD} defines (defined: {})",
                        j.id,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            if j.priority != 0 {
                return Err(invalid(
                    path,
                    "workload.jobs",
                    format!(
                        "job {:?} gives both priority and priority_class (the class's value is the priority)",
                        j.id
                    ),
                ));
            }
            j.priority = *value;
        }
    }
    if let Some((w, at)) = read.extra.wait_for_pods_ready {
        if cfg.wait_for_pods_ready != WaitForPodsReady::default() {
            return Err(invalid(
                path,
                "scheduler.kueue.wait_for_pods_ready",
                format!(
                    "also given by the Configuration at {at}: give waitForPodsReady in one place"
                ),
            ));
        }
        cfg.wait_for_pods_ready = w;
    }
    if !read.queues.is_empty() {
        cfg.cluster_queues = read.queues.into_iter().map(|(_, d, _)| d).collect();
    }
    cfg.manifests.clear();
    Ok(())
}
