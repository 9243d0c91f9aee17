//! The Kueue objects of `scheduler.kueue.manifests` beyond the queues themselves
//! (`kueue_manifests.rs` reads ResourceFlavor, ClusterQueue, LocalQueue): `Cohort` and
//! `WorkloadPriorityClass` (`kueue.x-k8s.io/v1beta1` and `v1beta2`) and Kueue's own
//! `Configuration` (`config.kueue.x-k8s.io/v1beta1`, the `controller_manager_config.yaml`
//! of the `kueue-manager-config` ConfigMap), as upstream defines them (kubernetes-sigs/kueue
//! v0.19: `apis/kueue/v1beta1/cohort_types.go`, `workloadpriorityclass_types.go`,
//! `apis/config/v1beta1/configuration_types.go` and `defaults.go`).
//!
//! Each maps onto the scenario's own keys (documented in `docs/scenario-format.md`, "Kueue
//! queues from their YAML"):
//! * a `Cohort` is a name ClusterQueues share (the simulated Kueue's cohorts are flat):
//!   `spec.parentName` (hierarchical cohorts) and a GPU `nominalQuota` of the Cohort itself
//!   are refused; its `fairSharing.weight` is accepted while fair sharing is off (upstream
//!   ignores it then);
//! * a `WorkloadPriorityClass`'s `value` becomes the priority of every job naming it with
//!   `priority_class:` (what the `kueue.x-k8s.io/priority-class` label holds);
//! * the `Configuration`'s `waitForPodsReady` becomes `scheduler.kueue.wait_for_pods_ready`
//!   with upstream's defaults; `fairSharing.enable: true`, `admissionFairSharing`,
//!   `resources.transformations`, feature gates, `manageJobsWithoutQueueName: true` and the
//!   `Creation` requeuing timestamp are refused; the operational fields (webhook, metrics,
//!   health, leader election, client connection, cert management, integrations,
//!   visibility, MultiKueue, namespace selectors) are read and change nothing in the model.

use std::collections::BTreeMap;

use models::scheduler::WaitForPodsReady;
use serde::Deserialize;
use serde::de::IgnoredAny;
use sim_core::SimDuration;

use crate::kueue_manifests::{QuantityText, yaml_error};

/// Kueue's configuration API.
pub(crate) const CONFIG_API: &str = "config.kueue.x-k8s.io/v1beta1";
/// The data key of the `kueue-manager-config` ConfigMap (namespace `kueue-system`) that holds
/// the Configuration as Kueue installs it (kubernetes-sigs/kueue v0.19:
/// `config/components/manager/kustomization.yaml`'s configMapGenerator `manager-config` with
/// the `kueue-` name prefix; the Helm chart's `templates/manager/manager-config.yaml`).
pub(crate) const CONFIG_KEY: &str = "controller_manager_config.yaml";

/// A `v1` ConfigMap, as `kubectl get configmap kueue-manager-config -n kueue-system -o yaml`
/// prints it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigMap {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Meta,
    #[serde(default)]
    data: BTreeMap<String, String>,
    #[allow(dead_code)]
    #[serde(default)]
    binary_data: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    immutable: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Cohort {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Meta,
    #[serde(default)]
    spec: Option<CohortSpec>,
    #[allow(dead_code)]
    #[serde(default)]
    status: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CohortSpec {
    /// `parentName` (v1beta2, and v1beta1 of Kueue v0.11–v0.14).
    #[serde(default)]
    parent_name: Option<String>,
    /// `parent` (v1beta1 of later Kueue releases).
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    resource_groups: Vec<ResourceGroup>,
    #[serde(default)]
    fair_sharing: Option<FairSharingSpec>,
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

/// `fairSharing` of a ClusterQueue or Cohort: only its weight.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FairSharingSpec {
    #[allow(dead_code)]
    #[serde(default)]
    pub(crate) weight: Option<QuantityText>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PriorityClass {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Meta,
    value: i32,
    #[allow(dead_code)]
    #[serde(default)]
    description: Option<String>,
}

/// `Configuration` (config.kueue.x-k8s.io/v1beta1), every field of Kueue v0.19's.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Configuration {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    manage_jobs_without_queue_name: Option<bool>,
    #[serde(default)]
    wait_for_pods_ready: Option<WaitSpec>,
    #[serde(default)]
    fair_sharing: Option<FairSharingConfig>,
    #[serde(default)]
    admission_fair_sharing: Option<IgnoredAny>,
    #[serde(default)]
    resources: Option<ResourcesConfig>,
    #[serde(default)]
    feature_gates: Option<BTreeMap<String, bool>>,
    // Operational: read, no effect on the model.
    #[allow(dead_code)]
    #[serde(default)]
    namespace: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    webhook: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    leader_election: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    metrics: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    health: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    pprof_bind_address: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    controller: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    managed_jobs_namespace_selector: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    internal_cert_management: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    client_connection: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    integrations: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    queue_visibility: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    multi_kueue: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    object_retention_policies: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WaitSpec {
    #[serde(default)]
    enable: bool,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    block_admission: Option<bool>,
    #[serde(default)]
    requeuing_strategy: Option<Requeuing>,
    #[serde(default)]
    recovery_timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Requeuing {
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    backoff_limit_count: Option<i32>,
    #[serde(default)]
    backoff_base_seconds: Option<i32>,
    #[serde(default)]
    backoff_max_seconds: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FairSharingConfig {
    #[serde(default)]
    enable: bool,
    #[allow(dead_code)]
    #[serde(default)]
    preemption_strategies: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourcesConfig {
    #[serde(default)]
    exclude_resource_prefixes: Vec<String>,
    #[serde(default)]
    transformations: Vec<IgnoredAny>,
}

/// What the Cohorts, WorkloadPriorityClasses and the Configuration say.
#[derive(Default)]
pub(crate) struct Extra {
    /// Cohort name → where.
    pub(crate) cohorts: BTreeMap<String, String>,
    /// WorkloadPriorityClass name → (value, where).
    pub(crate) priority_classes: BTreeMap<String, (i32, String)>,
    /// The Configuration's waitForPodsReady (with upstream's defaults), and where.
    pub(crate) wait_for_pods_ready: Option<(WaitForPodsReady, String)>,
    /// Where the Configuration was read (one per run).
    pub(crate) config_at: Option<String>,
}

/// A `metav1.Duration` as Kueue's configuration writes it (Go's `time.ParseDuration`:
/// `5m`, `10m0s`, `90s`, `1h30m`).
fn go_duration(text: &str, at: &str) -> Result<SimDuration, String> {
    let t = text.trim();
    if t != "0" && !t.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!(
            "{at}: {text:?} is not a duration (a number with a unit, e.g. 5m or 300s)"
        ));
    }
    t.parse::<SimDuration>()
        .map_err(|e| format!("{at}: {text:?}: {e}"))
}

/// A Cohort: refused where the flat cohorts of the model cannot say it.
pub(crate) fn cohort(
    extra: &mut Extra,
    file: &str,
    line: u64,
    doc: &str,
    gpus: &[&str],
) -> Result<(), String> {
    let at = |what: &str| format!("{file}:{line}: {what}");
    let o: Cohort =
        serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "Cohort", &e))?;
    let name = o.metadata.name;
    let spec = o.spec.unwrap_or_default();
    if let Some(p) = spec.parent_name.as_ref().or(spec.parent.as_ref()) {
        return Err(at(&format!(
            "Cohort {name}: spec.parentName {p:?}: hierarchical cohorts are not modelled (the simulated Kueue's cohorts are flat: a Cohort is a name its ClusterQueues share)"
        )));
    }
    for g in &spec.resource_groups {
        for f in &g.flavors {
            for r in &f.resources {
                if r.borrowing_limit.is_some() || r.lending_limit.is_some() {
                    return Err(at(&format!(
                        "Cohort {name}: {} in flavor {}: borrowingLimit and lendingLimit need a parent Cohort (Kueue's webhook rejects them on a root Cohort)",
                        r.name, f.name
                    )));
                }
                if gpus.contains(&r.name.as_str()) {
                    let q = r
                        .nominal_quota
                        .quantity()
                        .map_err(|e| at(&format!("Cohort {name}: {} nominalQuota: {e}", r.name)))?;
                    if q.signum() != 0 {
                        return Err(at(&format!(
                            "Cohort {name}: {} nominalQuota {} in flavor {}: a Cohort's own quota (a pool shared by its ClusterQueues) is not modelled; give it to the ClusterQueues",
                            r.name,
                            q.as_f64(),
                            f.name
                        )));
                    }
                }
            }
        }
    }
    if let Some(w) = spec.fair_sharing.as_ref().and_then(|f| f.weight.as_ref()) {
        w.quantity()
            .map_err(|e| at(&format!("Cohort {name}: fairSharing.weight: {e}")))?;
    }
    if let Some(other) = extra.cohorts.get(&name) {
        return Err(at(&format!("Cohort {name}: also defined at {other}")));
    }
    extra.cohorts.insert(name, format!("{file}:{line}"));
    Ok(())
}

pub(crate) fn priority_class(
    extra: &mut Extra,
    file: &str,
    line: u64,
    doc: &str,
) -> Result<(), String> {
    let o: PriorityClass = serde_saphyr::from_str(doc)
        .map_err(|e| yaml_error(file, line, "WorkloadPriorityClass", &e))?;
    let name = o.metadata.name;
    if let Some((_, other)) = extra.priority_classes.get(&name) {
        return Err(format!(
            "{file}:{line}: WorkloadPriorityClass {name}: also defined at {other}"
        ));
    }
    extra
        .priority_classes
        .insert(name, (o.value, format!("{file}:{line}")));
    Ok(())
}

/// Kueue's Configuration as installed: the `controller_manager_config.yaml` key of its
/// ConfigMap, read as [`configuration`] reads a bare one. When the key's value is a block
/// scalar (`|`, as kubectl and Helm print it) lines in errors are the file's; columns count
/// from the block's indentation.
pub(crate) fn config_map(
    extra: &mut Extra,
    file: &str,
    line: u64,
    doc: &str,
    gpus: &[&str],
) -> Result<(), String> {
    let cm: ConfigMap =
        serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "ConfigMap", &e))?;
    let name = &cm.metadata.name;
    let Some(text) = cm.data.get(CONFIG_KEY) else {
        let keys: Vec<&str> = cm.data.keys().map(String::as_str).collect();
        return Err(format!(
            "{file}:{line}: ConfigMap {name}: no data key {CONFIG_KEY} (where Kueue's kueue-manager-config ConfigMap holds its Configuration); its keys: [{}]",
            keys.join(", ")
        ));
    };
    // The embedded document's first line in the file: the line after `KEY: |`.
    let key_line = doc
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("{CONFIG_KEY}:")));
    let first = match key_line {
        Some(i) => {
            let block = doc.lines().nth(i).is_some_and(|l| {
                let v = l.trim_end();
                v.ends_with('|') || v.ends_with("|-") || v.ends_with("|+")
            });
            let i = u64::try_from(i).unwrap_or(0);
            line.saturating_add(i).saturating_add(u64::from(block))
        }
        None => line,
    };
    let head: crate::kueue_manifests::Head = serde_saphyr::from_str(text).map_err(|e| {
        yaml_error(
            file,
            first,
            &format!("ConfigMap {name} data.{CONFIG_KEY}"),
            &e,
        )
    })?;
    if head.api_version.as_deref() != Some(CONFIG_API)
        || head.kind.as_deref() != Some("Configuration")
    {
        return Err(format!(
            "{file}:{first}: ConfigMap {name} data.{CONFIG_KEY}: {} {}: expected a Configuration of {CONFIG_API}",
            head.kind.unwrap_or_default(),
            head.api_version.unwrap_or_default()
        ));
    }
    configuration(extra, file, first, text, gpus)
}

pub(crate) fn configuration(
    extra: &mut Extra,
    file: &str,
    line: u64,
    doc: &str,
    gpus: &[&str],
) -> Result<(), String> {
    let here = format!("{file}:{line}");
    let at = |what: &str| format!("{here}: Configuration: {what}");
    if let Some(other) = &extra.config_at {
        return Err(at(&format!(
            "a second Configuration (the first is at {other})"
        )));
    }
    let c: Configuration =
        serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "Configuration", &e))?;
    if c.manage_jobs_without_queue_name == Some(true) {
        return Err(at(
            "manageJobsWithoutQueueName: true is not modelled (every job is admitted through a queue; one without `queue:` goes to the first ClusterQueue)",
        ));
    }
    if c.fair_sharing.as_ref().is_some_and(|f| f.enable) {
        return Err(at(
            "fairSharing.enable: true is not modelled (the simulated Kueue admits and preempts by the classic rules; fair sharing off is upstream's default)",
        ));
    }
    if c.admission_fair_sharing.is_some() {
        return Err(at("admissionFairSharing is not modelled"));
    }
    if let Some(r) = &c.resources {
        if !r.transformations.is_empty() {
            return Err(at(
                "resources.transformations are not modelled (the simulated Kueue counts GPUs as the pods request them)",
            ));
        }
        if let Some(p) = r
            .exclude_resource_prefixes
            .iter()
            .find(|p| gpus.iter().any(|g| g.starts_with(p.as_str())))
        {
            return Err(at(&format!(
                "resources.excludeResourcePrefixes {p:?} excludes the GPU, the one resource the simulated Kueue admits on"
            )));
        }
    }
    if let Some(g) = c.feature_gates.as_ref().filter(|g| !g.is_empty()) {
        let names: Vec<&str> = g.keys().map(String::as_str).collect();
        return Err(at(&format!(
            "featureGates ({}) are not modelled: the simulated Kueue follows v0.19.2's defaults",
            names.join(", ")
        )));
    }
    if let Some(w) = c.wait_for_pods_ready {
        // Upstream's defaults (apis/config/v1beta1/defaults.go): timeout 5 min;
        // blockAdmission true when enabled; Eviction timestamp; backoff 60 s .. 3600 s.
        let mut out = WaitForPodsReady {
            enable: w.enable,
            // Upstream defaults blockAdmission to false when disabled; it is only honoured when
            // enabled, so the model's default (true) stands for both.
            block_admission: w.block_admission.unwrap_or(true),
            ..WaitForPodsReady::default()
        };
        if let Some(t) = &w.timeout {
            out.timeout = go_duration(t, &at("waitForPodsReady.timeout"))?;
        }
        if w.recovery_timeout.is_some() {
            return Err(at(
                "waitForPodsReady.recoveryTimeout is not modelled (pods do not fail once running)",
            ));
        }
        if let Some(r) = w.requeuing_strategy {
            match r.timestamp.as_deref() {
                None | Some("Eviction") => {}
                Some("Creation") => {
                    return Err(at(
                        "waitForPodsReady.requeuingStrategy.timestamp: Creation is not modelled (requeued workloads are ordered by eviction time)",
                    ));
                }
                Some(s) => {
                    return Err(at(&format!(
                        "waitForPodsReady.requeuingStrategy.timestamp {s:?}: expected Eviction or Creation"
                    )));
                }
            }
            let secs = |v: i32, k: &str| {
                u64::try_from(v).map_err(|_| {
                    at(&format!(
                        "waitForPodsReady.requeuingStrategy.{k}: must be >= 0, got {v}"
                    ))
                })
            };
            if let Some(v) = r.backoff_limit_count {
                out.backoff_limit_count =
                    Some(u32::try_from(secs(v, "backoffLimitCount")?).map_err(|_| {
                        at("waitForPodsReady.requeuingStrategy.backoffLimitCount: out of range")
                    })?);
            }
            if let Some(v) = r.backoff_base_seconds {
                out.backoff_base = SimDuration::from_secs(secs(v, "backoffBaseSeconds")?);
            }
            if let Some(v) = r.backoff_max_seconds {
                out.backoff_max = SimDuration::from_secs(secs(v, "backoffMaxSeconds")?);
            }
        }
        extra.wait_for_pods_ready = Some((out, here.clone()));
    }
    extra.config_at = Some(here);
    Ok(())
}
