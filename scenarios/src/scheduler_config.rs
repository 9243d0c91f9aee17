//! `scheduler.config`: a `KubeSchedulerConfiguration` (`kubescheduler.config.k8s.io/v1`,
//! kubernetes `staging/src/k8s.io/kube-scheduler/config/v1/types.go` and
//! `types_pluginargs.go` of the 1.35 line; default plugins from
//! `pkg/scheduler/apis/config/v1/default_plugins.go`) read into the scenario's own
//! `scheduler` keys. The mapping table is in `docs/policies.md` ("kube-scheduler's
//! configuration from its YAML").
//!
//! The profile used is the one pods without a `schedulerName` get, `default-scheduler`
//! (or the only profile). Its plugins are merged with the defaults as kube-scheduler does
//! (`multiPoint`, then each extension point's `enabled` / `disabled`, `*` included), then:
//! * Score weights of `NodeResourcesFit` and `NodeResourcesBalancedAllocation` →
//!   `balanced_allocation_weight` (the model's Fit weight is 1, so the Balanced weight must
//!   be a multiple of Fit's: the ranking of nodes is then the same); Balanced disabled → 0;
//! * `NodeResourcesFit` args `scoringStrategy` → `score` and `score_resources`;
//! * `percentageOfNodesToScore` (profile, else global) → `percentage_of_nodes_to_score`;
//! * `Coscheduling` enabled → needs `policy: coscheduling`; its args
//!   `permitWaitingTimeSeconds` and `podGroupRejectPercentage` → `scheduler.coscheduling`;
//! * the other in-tree plugins have nothing to act on in the model (no volumes, ports,
//!   images, pod affinity, topology spread constraints or scheduling gates): enabling or
//!   disabling them changes nothing;
//! * refused, naming the plugin or field: a plugin the model does not have, the Filters the
//!   model always runs disabled (`NodeResourcesFit`, `NodeAffinity`, `TaintToleration`),
//!   the Fit score disabled, `RequestedToCapacityRatio`, `ignoredResources`, a Balanced
//!   resource list other than Fit's, `addedAffinity`, extenders, backoff timers other than
//!   the defaults, `podGroupBackoffSeconds`.

use std::collections::{BTreeMap, BTreeSet};

use models::scheduler::{CoschedulingArgs, FitStrategy, PolicyKind, Resource, SchedulerConfig};
use serde::Deserialize;
use serde::de::IgnoredAny;
use sim_core::SimDuration;

use crate::FileSource;
use crate::kueue_manifests::{for_each_document, invalid, yaml_error};
use crate::scenario::ScenarioError;

const FIELD: &str = "scheduler.config";
const API: &str = "kubescheduler.config.k8s.io/v1";
const DEFAULT_SCHEDULER: &str = "default-scheduler";

/// kube-scheduler's default `multiPoint` plugins (1.35, DynamicResourceAllocation on) with
/// their Score weights.
const DEFAULTS: [(&str, Option<i32>); 19] = [
    ("SchedulingGates", None),
    ("PrioritySort", None),
    ("NodeUnschedulable", None),
    ("NodeName", None),
    ("TaintToleration", Some(3)),
    ("NodeAffinity", Some(2)),
    ("NodePorts", None),
    ("NodeResourcesFit", Some(1)),
    ("VolumeRestrictions", None),
    ("NodeVolumeLimits", None),
    ("VolumeBinding", None),
    ("VolumeZone", None),
    ("PodTopologySpread", Some(2)),
    ("InterPodAffinity", Some(2)),
    ("DynamicResources", None),
    ("DefaultPreemption", None),
    ("NodeResourcesBalancedAllocation", Some(1)),
    ("ImageLocality", Some(1)),
    ("DefaultBinder", None),
];

/// Plugins the model knows, with the extension points they implement (as far as the model
/// looks at them: queue sort, filter, score, permit, bind).
fn points(name: &str) -> Option<&'static [&'static str]> {
    let p: &'static [&'static str] = match name {
        "PrioritySort" => &["queueSort"],
        "TaintToleration" | "NodeAffinity" | "NodeResourcesFit" | "PodTopologySpread"
        | "InterPodAffinity" | "VolumeBinding" => &["filter", "score"],
        "NodeUnschedulable" | "NodeName" | "NodePorts" | "VolumeRestrictions"
        | "NodeVolumeLimits" | "VolumeZone" | "DynamicResources" => &["filter"],
        "NodeResourcesBalancedAllocation" | "ImageLocality" => &["score"],
        "SchedulingGates" | "DefaultPreemption" => &["other"],
        "DefaultBinder" => &["bind"],
        // scheduler-plugins v0.34 Coscheduling; KEP-4671 GangScheduling (1.35 alpha).
        "Coscheduling" => &["queueSort", "permit"],
        "GangScheduling" => &["permit"],
        _ => return None,
    };
    Some(p)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    api_version: Option<String>,
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    percentage_of_nodes_to_score: Option<i32>,
    #[serde(default)]
    pod_initial_backoff_seconds: Option<i64>,
    #[serde(default)]
    pod_max_backoff_seconds: Option<i64>,
    #[serde(default)]
    profiles: Vec<Profile>,
    #[serde(default)]
    extenders: Vec<IgnoredAny>,
    // Operational: read, no effect on the model.
    #[allow(dead_code)]
    #[serde(default)]
    parallelism: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    leader_election: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    client_connection: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    enable_profiling: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    enable_contention_profiling: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    delay_cache_until_active: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default)]
    percentage_of_placements_to_score: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Profile {
    #[serde(default)]
    scheduler_name: Option<String>,
    #[serde(default)]
    percentage_of_nodes_to_score: Option<i32>,
    #[allow(dead_code)]
    #[serde(default)]
    percentage_of_placements_to_score: Option<IgnoredAny>,
    #[serde(default)]
    plugins: Option<Plugins>,
    #[serde(default)]
    plugin_config: Vec<PluginConfig>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Plugins {
    #[serde(default)]
    pre_enqueue: PluginSet,
    #[serde(default)]
    queue_sort: PluginSet,
    #[serde(default)]
    pre_filter: PluginSet,
    #[serde(default)]
    filter: PluginSet,
    #[serde(default)]
    post_filter: PluginSet,
    #[serde(default)]
    pre_score: PluginSet,
    #[serde(default)]
    score: PluginSet,
    #[serde(default)]
    reserve: PluginSet,
    #[serde(default)]
    permit: PluginSet,
    #[serde(default)]
    pre_bind: PluginSet,
    #[serde(default)]
    bind: PluginSet,
    #[serde(default)]
    post_bind: PluginSet,
    #[serde(default)]
    multi_point: PluginSet,
    #[serde(default)]
    placement_generate: PluginSet,
    #[serde(default)]
    placement_score: PluginSet,
    #[serde(default)]
    placement_feasible: PluginSet,
    #[serde(default)]
    pod_group_post_filter: PluginSet,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PluginSet {
    #[serde(default)]
    enabled: Vec<Plugin>,
    #[serde(default)]
    disabled: Vec<Plugin>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Plugin {
    name: String,
    #[serde(default)]
    weight: Option<i32>,
}

/// `pluginConfig[]`: `{name, args}`, args typed by the plugin's name.
#[derive(Deserialize)]
#[serde(tag = "name", content = "args", deny_unknown_fields)]
enum PluginConfig {
    NodeResourcesFit(FitArgs),
    NodeResourcesBalancedAllocation(BalancedArgs),
    Coscheduling(CoschedulingPluginArgs),
    NodeAffinity(NodeAffinityArgs),
    // No effect in the model: accepted as written.
    DefaultPreemption(IgnoredAny),
    InterPodAffinity(IgnoredAny),
    PodTopologySpread(IgnoredAny),
    VolumeBinding(IgnoredAny),
    DynamicResources(IgnoredAny),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FitArgs {
    #[allow(dead_code)]
    #[serde(default)]
    api_version: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    ignored_resources: Vec<String>,
    #[serde(default)]
    ignored_resource_groups: Vec<String>,
    #[serde(default)]
    scoring_strategy: Option<ScoringStrategy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScoringStrategy {
    #[serde(default, rename = "type")]
    strategy: Option<String>,
    #[serde(default)]
    resources: Option<Vec<ResourceSpec>>,
    #[serde(default)]
    requested_to_capacity_ratio: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourceSpec {
    name: String,
    #[serde(default)]
    weight: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BalancedArgs {
    #[allow(dead_code)]
    #[serde(default)]
    api_version: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    resources: Option<Vec<ResourceSpec>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CoschedulingPluginArgs {
    #[allow(dead_code)]
    #[serde(default)]
    api_version: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    permit_waiting_time_seconds: Option<i64>,
    #[serde(default)]
    pod_group_backoff_seconds: Option<i64>,
    #[serde(default)]
    pod_group_reject_percentage: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NodeAffinityArgs {
    #[allow(dead_code)]
    #[serde(default)]
    api_version: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    added_affinity: Option<IgnoredAny>,
}

/// kube-scheduler's `mergePluginSet`: the custom set's disabled names (or `*`) drop
/// defaults, a re-listed default takes the custom entry in place, other enabled ones follow.
fn merge(defaults: &[Plugin], custom: &PluginSet) -> Vec<Plugin> {
    let disabled: BTreeSet<&str> = custom.disabled.iter().map(|p| p.name.as_str()).collect();
    let mut out = Vec::new();
    let mut replaced = BTreeSet::new();
    if !disabled.contains("*") {
        for d in defaults {
            if disabled.contains(d.name.as_str()) {
                continue;
            }
            match custom.enabled.iter().position(|c| c.name == d.name) {
                Some(i) => {
                    replaced.insert(i);
                    out.push(custom.enabled[i].clone());
                }
                None => out.push(d.clone()),
            }
        }
    }
    for (i, c) in custom.enabled.iter().enumerate() {
        if !replaced.contains(&i) {
            out.push(c.clone());
        }
    }
    out
}

/// The plugins running at one extension point with their weights: the multiPoint plugins
/// implementing it (unless the point disables them or `*`), overridden by the point's own
/// `enabled` (the framework's `expandMultiPointPlugins`). A weight of 0 or none is 1.
fn at_point(multi: &[Plugin], set: &PluginSet, point: &str) -> BTreeMap<String, i64> {
    let disabled: BTreeSet<&str> = set.disabled.iter().map(|p| p.name.as_str()).collect();
    let mut out = BTreeMap::new();
    let w = |p: &Plugin| i64::from(p.weight.filter(|w| *w != 0).unwrap_or(1));
    if !disabled.contains("*") {
        for p in multi {
            if disabled.contains(p.name.as_str())
                || !points(&p.name).is_some_and(|ps| ps.contains(&point))
            {
                continue;
            }
            out.insert(p.name.clone(), w(p));
        }
    }
    for p in &set.enabled {
        out.insert(p.name.clone(), w(p));
    }
    out
}

fn resource(name: &str) -> Option<Resource> {
    match name {
        "cpu" => Some(Resource::Cpu),
        "memory" => Some(Resource::Memory),
        "nvidia.com/gpu" | "amd.com/gpu" => Some(Resource::Gpu),
        _ => None,
    }
}

fn resources(list: &[ResourceSpec], what: &str) -> Result<Vec<(Resource, i64)>, String> {
    let mut out = Vec::new();
    for r in list {
        let res = resource(&r.name).ok_or_else(|| {
            format!(
                "{what}: resource {:?} is not modelled (cpu, memory, nvidia.com/gpu, amd.com/gpu)",
                r.name
            )
        })?;
        if out.iter().any(|(seen, _)| *seen == res) {
            return Err(format!(
                "{what}: {} repeats a resource (nvidia.com/gpu and amd.com/gpu are the model's one GPU resource)",
                r.name
            ));
        }
        let w = r.weight.unwrap_or(1);
        if !(1..=100).contains(&w) {
            return Err(format!("{what}: {} weight {w}: must be 1 to 100", r.name));
        }
        out.push((res, w));
    }
    if out.is_empty() {
        return Err(format!("{what}: needs at least one resource"));
    }
    Ok(out)
}

/// What the configuration sets.
struct Mapped {
    score: FitStrategy,
    score_resources: Vec<(Resource, i64)>,
    balanced_allocation_weight: i64,
    percentage_of_nodes_to_score: u32,
    coscheduling: Option<CoschedulingArgs>,
    gang_scheduling: bool,
    dynamic_resources: bool,
}

fn map_profile(c: &Config, p: &Profile) -> Result<Mapped, String> {
    let name = p.scheduler_name.as_deref().unwrap_or(DEFAULT_SCHEDULER);
    let prof = |what: String| format!("profile {name}: {what}");
    let plugins = p.plugins.clone().unwrap_or_default();
    for (set, point) in [
        (&plugins.placement_generate, "placementGenerate"),
        (&plugins.placement_score, "placementScore"),
        (&plugins.placement_feasible, "placementFeasible"),
        (&plugins.pod_group_post_filter, "podGroupPostFilter"),
    ] {
        if let Some(x) = set.enabled.first() {
            return Err(prof(format!(
                "plugins.{point}: plugin {} (workload scheduling) is not modelled",
                x.name
            )));
        }
    }
    // Every plugin named as enabled must be one the model knows.
    for (set, point) in [
        (&plugins.pre_enqueue, "preEnqueue"),
        (&plugins.queue_sort, "queueSort"),
        (&plugins.pre_filter, "preFilter"),
        (&plugins.filter, "filter"),
        (&plugins.post_filter, "postFilter"),
        (&plugins.pre_score, "preScore"),
        (&plugins.score, "score"),
        (&plugins.reserve, "reserve"),
        (&plugins.permit, "permit"),
        (&plugins.pre_bind, "preBind"),
        (&plugins.bind, "bind"),
        (&plugins.post_bind, "postBind"),
        (&plugins.multi_point, "multiPoint"),
    ] {
        if let Some(x) = set.enabled.iter().find(|x| points(&x.name).is_none()) {
            return Err(prof(format!(
                "plugins.{point}.enabled: plugin {} is not modelled (the model has kube-scheduler's in-tree plugins, scheduler-plugins' Coscheduling and KEP-4671's GangScheduling)",
                x.name
            )));
        }
    }
    let defaults: Vec<Plugin> = DEFAULTS
        .iter()
        .map(|(n, w)| Plugin {
            name: (*n).to_string(),
            weight: *w,
        })
        .collect();
    let multi = merge(&defaults, &plugins.multi_point);
    let filter = at_point(&multi, &plugins.filter, "filter");
    for f in ["NodeResourcesFit", "NodeAffinity", "TaintToleration"] {
        if !filter.contains_key(f) {
            return Err(prof(format!(
                "the {f} Filter is disabled: the model always filters with it"
            )));
        }
    }
    let score = at_point(&multi, &plugins.score, "score");
    // kube-scheduler refuses a negative Score weight (validation of the profile's plugins);
    // taken here it would invert the ranking.
    if let Some((n, w)) = score.iter().find(|(_, w)| **w < 0) {
        return Err(prof(format!(
            "plugin {n} has Score weight {w}: weights must not be negative"
        )));
    }
    let Some(&fit_w) = score.get("NodeResourcesFit") else {
        return Err(prof(
            "the NodeResourcesFit Score is disabled: the model always scores with it".into(),
        ));
    };
    let bal_w = score
        .get("NodeResourcesBalancedAllocation")
        .copied()
        .unwrap_or(0);
    if bal_w % fit_w != 0 {
        return Err(prof(format!(
            "Score weights NodeResourcesFit {fit_w} and NodeResourcesBalancedAllocation {bal_w}: the model's Fit weight is 1, so Balanced's must be a multiple of Fit's (the same ranking)"
        )));
    }
    let queue_sort = at_point(&multi, &plugins.queue_sort, "queueSort");
    let sorts: Vec<&str> = queue_sort.keys().map(String::as_str).collect();
    let coscheduling = match sorts.as_slice() {
        ["PrioritySort"] => false,
        ["Coscheduling"] => true,
        other => {
            return Err(prof(format!(
                "queueSort plugins [{}]: exactly one of PrioritySort or Coscheduling",
                other.join(", ")
            )));
        }
    };
    let permit = at_point(&multi, &plugins.permit, "permit");
    if coscheduling != permit.contains_key("Coscheduling") {
        return Err(prof(
            "Coscheduling must be both the queueSort and a permit plugin (as scheduler-plugins' sample configuration enables it)".into(),
        ));
    }
    let bind = at_point(&multi, &plugins.bind, "bind");
    if !bind.contains_key("DefaultBinder") {
        return Err(prof(
            "the DefaultBinder is disabled: pods would never bind".into(),
        ));
    }
    let mut m = Mapped {
        score: FitStrategy::LeastAllocated,
        score_resources: vec![(Resource::Cpu, 1), (Resource::Memory, 1)],
        balanced_allocation_weight: bal_w / fit_w,
        percentage_of_nodes_to_score: 0,
        coscheduling: coscheduling.then(CoschedulingArgs::default),
        gang_scheduling: permit.contains_key("GangScheduling"),
        dynamic_resources: filter.contains_key("DynamicResources"),
    };
    let mut balanced: Option<Vec<(Resource, i64)>> = None;
    let mut seen = BTreeSet::new();
    for (i, pc) in p.plugin_config.iter().enumerate() {
        let at = |what: String| prof(format!("pluginConfig[{i}]: {what}"));
        let name = match pc {
            PluginConfig::NodeResourcesFit(_) => "NodeResourcesFit",
            PluginConfig::NodeResourcesBalancedAllocation(_) => "NodeResourcesBalancedAllocation",
            PluginConfig::Coscheduling(_) => "Coscheduling",
            PluginConfig::NodeAffinity(_) => "NodeAffinity",
            PluginConfig::DefaultPreemption(_) => "DefaultPreemption",
            PluginConfig::InterPodAffinity(_) => "InterPodAffinity",
            PluginConfig::PodTopologySpread(_) => "PodTopologySpread",
            PluginConfig::VolumeBinding(_) => "VolumeBinding",
            PluginConfig::DynamicResources(_) => "DynamicResources",
        };
        if !seen.insert(name) {
            return Err(at(format!("a second entry for {name}")));
        }
        match pc {
            PluginConfig::NodeResourcesFit(a) => {
                if let Some(r) = a
                    .ignored_resources
                    .first()
                    .or(a.ignored_resource_groups.first())
                {
                    return Err(at(format!(
                        "NodeResourcesFit ignoredResources / ignoredResourceGroups ({r}) are not modelled"
                    )));
                }
                if let Some(s) = &a.scoring_strategy {
                    if s.requested_to_capacity_ratio.is_some() {
                        return Err(at(
                            "NodeResourcesFit scoringStrategy.requestedToCapacityRatio is not modelled".into(),
                        ));
                    }
                    m.score = match s.strategy.as_deref().unwrap_or("LeastAllocated") {
                        "LeastAllocated" => FitStrategy::LeastAllocated,
                        "MostAllocated" => FitStrategy::MostAllocated,
                        other => {
                            return Err(at(format!(
                                "NodeResourcesFit scoringStrategy.type {other:?} is not modelled (LeastAllocated or MostAllocated)"
                            )));
                        }
                    };
                    if let Some(r) = &s.resources {
                        m.score_resources =
                            resources(r, "NodeResourcesFit scoringStrategy.resources")
                                .map_err(at)?;
                    }
                }
            }
            PluginConfig::NodeResourcesBalancedAllocation(a) => {
                if let Some(r) = &a.resources {
                    balanced = Some(
                        resources(r, "NodeResourcesBalancedAllocation resources").map_err(at)?,
                    );
                }
            }
            PluginConfig::Coscheduling(a) => {
                let Some(cs) = m.coscheduling.as_mut() else {
                    return Err(at(
                        "args for Coscheduling, which the profile does not enable".into(),
                    ));
                };
                if let Some(s) = a.permit_waiting_time_seconds {
                    let s = u64::try_from(s).ok().filter(|s| *s > 0).ok_or_else(|| {
                        at(format!(
                            "Coscheduling permitWaitingTimeSeconds must be > 0, got {s}"
                        ))
                    })?;
                    cs.schedule_timeout = SimDuration::from_secs(s);
                }
                if a.pod_group_backoff_seconds.is_some_and(|s| s != 0) {
                    return Err(at(
                        "Coscheduling podGroupBackoffSeconds is not modelled (default 0: off)"
                            .into(),
                    ));
                }
                if let Some(r) = a.pod_group_reject_percentage {
                    cs.reject_percentage =
                        u32::try_from(r).ok().filter(|r| *r <= 100).ok_or_else(|| {
                            at(format!(
                                "Coscheduling podGroupRejectPercentage must be 0 to 100, got {r}"
                            ))
                        })?;
                }
            }
            PluginConfig::NodeAffinity(a) if a.added_affinity.is_some() => {
                return Err(at("NodeAffinity addedAffinity is not modelled".into()));
            }
            _ => {}
        }
    }
    // kube's BalancedAllocation defaults to cpu and memory; the model's looks at Fit's
    // resources.
    let bal_names: Vec<Resource> = balanced
        .unwrap_or_else(|| vec![(Resource::Cpu, 1), (Resource::Memory, 1)])
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let fit_names: Vec<Resource> = m.score_resources.iter().map(|(r, _)| *r).collect();
    if m.balanced_allocation_weight != 0 && bal_names != fit_names {
        return Err(prof(format!(
            "NodeResourcesBalancedAllocation looks at {bal_names:?} but NodeResourcesFit scores {fit_names:?}: the model's Balanced uses Fit's resources (list the same resources in both, or disable the Balanced score)"
        )));
    }
    let pct = p
        .percentage_of_nodes_to_score
        .or(c.percentage_of_nodes_to_score);
    if let Some(v) = pct {
        m.percentage_of_nodes_to_score = u32::try_from(v)
            .ok()
            .filter(|v| *v <= 100)
            .ok_or_else(|| prof(format!("percentageOfNodesToScore {v}: must be 0 to 100")))?;
    }
    Ok(m)
}

fn read_config(file: &str, line: u64, doc: &str) -> Result<Config, String> {
    let head: Head = serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "", &e))?;
    if head.api_version.as_deref() != Some(API)
        || head.kind.as_deref() != Some("KubeSchedulerConfiguration")
    {
        return Err(format!(
            "{file}:{line}: {} of apiVersion {:?} is not read here (expected a KubeSchedulerConfiguration of {API})",
            head.kind.unwrap_or_default(),
            head.api_version.unwrap_or_default()
        ));
    }
    serde_saphyr::from_str(doc)
        .map_err(|e| yaml_error(file, line, "KubeSchedulerConfiguration", &e))
}

/// Reads `cfg.config` into `cfg`'s own keys, which must be left at their defaults.
pub fn resolve(
    path: &str,
    cfg: &mut SchedulerConfig,
    uses_dra: bool,
    files: &dyn FileSource,
) -> Result<(), ScenarioError> {
    let Some(file) = cfg.config.take() else {
        return Ok(());
    };
    let mut found: Vec<(Config, String)> = Vec::new();
    for_each_document(
        path,
        (FIELD, false),
        std::slice::from_ref(&file),
        files,
        &mut |name, line, doc| {
            found.push((read_config(name, line, doc)?, format!("{name}:{line}")));
            Ok(())
        },
    )?;
    let err = |msg: String| invalid(path, FIELD, msg);
    let (c, at) = match found.len() {
        1 => found.remove(0),
        n => {
            return Err(err(format!(
                "{file}: {n} KubeSchedulerConfigurations, expected one"
            )));
        }
    };
    let e = |msg: String| err(format!("{at}: {msg}"));
    if !c.extenders.is_empty() {
        return Err(e("extenders are not modelled".into()));
    }
    if c.pod_initial_backoff_seconds.is_some_and(|s| s != 1)
        || c.pod_max_backoff_seconds.is_some_and(|s| s != 10)
    {
        return Err(e(
            "podInitialBackoffSeconds / podMaxBackoffSeconds other than the defaults (1, 10): the model has no backoff timers (a failed pod waits for a release)".into(),
        ));
    }
    let profile = if c.profiles.len() <= 1 {
        c.profiles.first()
    } else {
        let p = c
            .profiles
            .iter()
            .find(|p| p.scheduler_name.as_deref() == Some(DEFAULT_SCHEDULER));
        if p.is_none() {
            let names: Vec<&str> = c
                .profiles
                .iter()
                .map(|p| p.scheduler_name.as_deref().unwrap_or("?"))
                .collect();
            return Err(e(format!(
                "profiles [{}]: none is {DEFAULT_SCHEDULER}, the one pods without a schedulerName get",
                names.join(", ")
            )));
        }
        p
    };
    let empty = Profile {
        scheduler_name: None,
        percentage_of_nodes_to_score: None,
        percentage_of_placements_to_score: None,
        plugins: None,
        plugin_config: Vec::new(),
    };
    let m = map_profile(&c, profile.unwrap_or(&empty)).map_err(e)?;
    // The scenario's own keys must not say something else.
    let d = SchedulerConfig::default();
    let mut both = Vec::new();
    if cfg.score != d.score {
        both.push("score");
    }
    if cfg.score_resources != d.score_resources {
        both.push("score_resources");
    }
    if cfg.balanced_allocation_weight != d.balanced_allocation_weight {
        both.push("balanced_allocation_weight");
    }
    if cfg.percentage_of_nodes_to_score != d.percentage_of_nodes_to_score {
        both.push("percentage_of_nodes_to_score");
    }
    if cfg.coscheduling.schedule_timeout != d.coscheduling.schedule_timeout
        || cfg.coscheduling.reject_percentage != d.coscheduling.reject_percentage
    {
        both.push("coscheduling");
    }
    if !both.is_empty() {
        return Err(invalid(
            path,
            &format!("scheduler.{}", both[0]),
            format!(
                "also set by the KubeSchedulerConfiguration {file}: give scheduler.{} in one place",
                both.join(", scheduler.")
            ),
        ));
    }
    let policy = cfg.policy;
    if policy == PolicyKind::Volcano {
        return Err(e(
            "policy volcano: Volcano's scheduler is configured by volcano-scheduler.conf, not a KubeSchedulerConfiguration".into(),
        ));
    }
    match (m.coscheduling.is_some(), policy == PolicyKind::Coscheduling) {
        (true, false) => {
            return Err(e(format!(
                "the profile enables the Coscheduling plugin: set scheduler.policy: coscheduling (it is {policy})"
            )));
        }
        (false, true) => {
            return Err(e(
                "scheduler.policy is coscheduling but the profile does not enable the Coscheduling plugin".into(),
            ));
        }
        _ => {}
    }
    if m.gang_scheduling != (policy == PolicyKind::K8sGang) {
        return Err(e(format!(
            "the GangScheduling plugin is {} but scheduler.policy is {policy}: they go together",
            if m.gang_scheduling {
                "enabled"
            } else {
                "not enabled"
            }
        )));
    }
    if uses_dra && !m.dynamic_resources {
        return Err(e(
            "the DynamicResources plugin is disabled but the scenario's pods use DRA claims".into(),
        ));
    }
    cfg.score = m.score;
    cfg.score_resources = m.score_resources;
    cfg.balanced_allocation_weight = m.balanced_allocation_weight;
    cfg.percentage_of_nodes_to_score = m.percentage_of_nodes_to_score;
    if let Some(cs) = m.coscheduling {
        cfg.coscheduling.schedule_timeout = cs.schedule_timeout;
        cfg.coscheduling.reject_percentage = cs.reject_percentage;
    }
    Ok(())
}
