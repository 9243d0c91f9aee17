//! `scheduler.volcano.manifests`: Volcano's `Queue` and `PodGroup` objects
//! (`scheduling.volcano.sh/v1beta1`, volcano-sh/apis `pkg/apis/scheduling/v1beta1/types.go`
//! as of Volcano v1.15) read into the scenario's own `scheduler.volcano.queues` and the
//! jobs' `queue:`; documented in `docs/scenario-format.md` ("Volcano queues and PodGroups
//! from their YAML").
//!
//! A Queue becomes a `queues` entry, in file order: `spec.weight` (0 or absent → 1, as
//! Volcano's admission webhook defaults it), `spec.capability` and `spec.guarantee.resource`
//! over `cpu`, `memory` and `nvidia.com/gpu` / `amd.com/gpu`. `spec.reclaimable` and
//! `spec.preemptable` are read and change nothing: the simulated Volcano has no reclaim or
//! preempt action. Refused with file and line:
//! unknown fields, other resources in a capability or guarantee, hierarchical queues
//! (`spec.parent` other than `root`), `spec.deserved` (the capacity plugin's), a queue
//! `priority`, `extendClusters` and `affinity`.
//!
//! A PodGroup is the gang of the job whose id is its name (the simulated Volcano makes every
//! job one PodGroup with `minMember` = its pod count): `spec.queue` becomes the job's queue;
//! `minMember` must be the job's pod count and `minResources`, when given, the job's total
//! request (what Volcano's job controller writes); `minTaskMember`, `priorityClassName` and
//! `networkTopology` are refused.

use std::collections::BTreeMap;

use models::scheduler::{VolcanoConfig, VolcanoQueueDef, VolcanoResources};
use models::workload::JobSpec;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::FileSource;
use crate::kueue_manifests::{QuantityText, for_each_document, invalid, yaml_error};
use crate::scenario::ScenarioError;

const FIELD: &str = "scheduler.volcano.manifests";
const API: &str = "scheduling.volcano.sh/v1beta1";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    api_version: Option<String>,
    kind: Option<String>,
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
struct QueueSpec {
    #[serde(default)]
    weight: Option<i32>,
    #[serde(default)]
    capability: BTreeMap<String, QuantityText>,
    #[allow(dead_code)]
    #[serde(default)]
    reclaimable: Option<bool>,
    /// Defaulted to true by Volcano's queue webhook (v1.12+); no preempt action here.
    #[allow(dead_code)]
    #[serde(default)]
    preemptable: Option<bool>,
    #[serde(default)]
    extend_clusters: Vec<IgnoredAny>,
    #[serde(default)]
    guarantee: Option<Guarantee>,
    #[serde(default)]
    affinity: Option<IgnoredAny>,
    #[allow(dead_code)]
    #[serde(default, rename = "type")]
    queue_type: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    deserved: BTreeMap<String, QuantityText>,
    #[serde(default)]
    priority: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Guarantee {
    #[serde(default)]
    resource: BTreeMap<String, QuantityText>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PodGroupSpec {
    #[serde(default)]
    min_member: Option<i32>,
    #[serde(default)]
    min_task_member: BTreeMap<String, i32>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    priority_class_name: Option<String>,
    #[serde(default)]
    min_resources: Option<BTreeMap<String, QuantityText>>,
    #[serde(default)]
    network_topology: Option<IgnoredAny>,
}

/// A `v1.ResourceList` as the model's queue resources: `cpu` in millicores, `memory` in
/// whole MiB, GPUs (fractions allowed). Other resources are refused (the model would leave
/// them unlimited).
pub(crate) fn resources(
    list: &BTreeMap<String, QuantityText>,
    what: &str,
) -> Result<VolcanoResources, String> {
    let mut out = VolcanoResources::default();
    for (name, q) in list {
        let v = q.quantity().map_err(|e| format!("{what}.{name}: {e}"))?;
        if v.signum() < 0 {
            return Err(format!("{what}.{name}: cannot be negative"));
        }
        let nanos = v.nanos();
        match name.as_str() {
            "cpu" => {
                // 1 core = 10^9 nanos of a unit; millicores = nanos / 10^6, exactly.
                if nanos % 1_000_000 != 0 {
                    return Err(format!(
                        "{what}.cpu: {} is finer than a millicore",
                        v.as_f64()
                    ));
                }
                out.cpu_milli = Some(
                    u64::try_from(nanos / 1_000_000)
                        .map_err(|_| format!("{what}.cpu: out of range"))?,
                );
            }
            "memory" => {
                let per_mib: i128 = 1_000_000_000 * 1024 * 1024;
                if nanos % per_mib != 0 {
                    return Err(format!(
                        "{what}.memory: the model counts memory in whole MiB (e.g. 512Mi, 64Gi)"
                    ));
                }
                out.memory_mib = Some(
                    u64::try_from(nanos / per_mib)
                        .map_err(|_| format!("{what}.memory: out of range"))?,
                );
            }
            "nvidia.com/gpu" | "amd.com/gpu" => {
                if out.gpus.is_some() {
                    return Err(format!(
                        "{what}: both nvidia.com/gpu and amd.com/gpu given; the model has one GPU resource"
                    ));
                }
                out.gpus = Some(v.as_f64());
            }
            other => {
                return Err(format!(
                    "{what}: resource {other:?} is not modelled (cpu, memory, nvidia.com/gpu, amd.com/gpu)"
                ));
            }
        }
    }
    Ok(out)
}

/// A PodGroup as read: queue, minMember, minResources, where.
struct Group {
    queue: Option<String>,
    min_member: Option<i32>,
    min_resources: Option<VolcanoResources>,
    at: String,
}

#[derive(Default)]
struct Read {
    queues: Vec<(VolcanoQueueDef, String)>,
    /// PodGroup name (= job id) → what it says.
    groups: BTreeMap<String, Group>,
}

fn parse_doc(read: &mut Read, file: &str, line: u64, doc: &str) -> Result<(), String> {
    let here = format!("{file}:{line}");
    let at = |what: &str| format!("{here}: {what}");
    let head: Head = serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "", &e))?;
    let kind = head.kind.unwrap_or_default();
    if head.api_version.as_deref() != Some(API) {
        return Err(at(&format!(
            "{kind}: apiVersion {:?}, expected {API}",
            head.api_version.unwrap_or_default()
        )));
    }
    match kind.as_str() {
        "Queue" => {
            let o: Object<QueueSpec> =
                serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "Queue", &e))?;
            let name = o.metadata.name;
            let q = |what: String| at(&format!("Queue {name}: {what}"));
            let spec = o.spec.unwrap_or_default();
            if let Some(p) = spec.parent.as_deref().filter(|p| *p != "root") {
                return Err(q(format!(
                    "spec.parent {p:?}: hierarchical queues are not modelled (only children of root)"
                )));
            }
            if !spec.deserved.is_empty() {
                return Err(q(
                    "spec.deserved is the capacity plugin's; the simulated Volcano follows the proportion plugin (weight, capability, guarantee)".into(),
                ));
            }
            if spec.priority.is_some_and(|p| p != 0) {
                return Err(q("spec.priority: queue priority is not modelled".into()));
            }
            if !spec.extend_clusters.is_empty() {
                return Err(q("spec.extendClusters is not modelled".into()));
            }
            if spec.affinity.is_some() {
                return Err(q("spec.affinity (node groups) is not modelled".into()));
            }
            let weight = match spec.weight.unwrap_or(0) {
                0 => 1,
                w => {
                    u32::try_from(w).map_err(|_| q(format!("spec.weight: must be > 0, got {w}")))?
                }
            };
            let capability = if spec.capability.is_empty() {
                None
            } else {
                Some(resources(&spec.capability, "spec.capability").map_err(q)?)
            };
            let guarantee = match spec.guarantee {
                Some(g) if !g.resource.is_empty() => {
                    Some(resources(&g.resource, "spec.guarantee.resource").map_err(q)?)
                }
                _ => None,
            };
            if let Some((_, other)) = read.queues.iter().find(|(d, _)| d.name == name) {
                return Err(q(format!("also defined at {other}")));
            }
            read.queues.push((
                VolcanoQueueDef {
                    name,
                    weight,
                    capability,
                    guarantee,
                },
                here.clone(),
            ));
        }
        "PodGroup" => {
            let o: Object<PodGroupSpec> =
                serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "PodGroup", &e))?;
            let name = o.metadata.name;
            let g = |what: String| at(&format!("PodGroup {name}: {what}"));
            let spec = o.spec.unwrap_or_default();
            if !spec.min_task_member.is_empty() {
                return Err(g(
                    "spec.minTaskMember is not modelled (a job's pods are one task)".into(),
                ));
            }
            if let Some(p) = &spec.priority_class_name {
                return Err(g(format!(
                    "spec.priorityClassName {p:?}: PriorityClass objects are not read; give the job a priority"
                )));
            }
            if spec.network_topology.is_some() {
                return Err(g("spec.networkTopology (HyperNodes) is not modelled".into()));
            }
            let min_res = spec
                .min_resources
                .as_ref()
                .map(|r| resources(r, "spec.minResources"))
                .transpose()
                .map_err(g)?;
            if let Some(Group { at: other, .. }) = read.groups.get(&name) {
                return Err(g(format!("also defined at {other}")));
            }
            read.groups.insert(
                name,
                Group {
                    queue: spec.queue,
                    min_member: spec.min_member,
                    min_resources: min_res,
                    at: here.clone(),
                },
            );
        }
        other => {
            return Err(at(&format!(
                "kind {other:?} is not read here (expected Queue or PodGroup of {API})"
            )));
        }
    }
    Ok(())
}

/// Reads `cfg.manifests` into `cfg.queues` and the jobs' queues.
pub fn resolve(
    path: &str,
    cfg: &mut VolcanoConfig,
    jobs: &mut [JobSpec],
    files: &dyn FileSource,
) -> Result<(), ScenarioError> {
    if cfg.manifests.is_empty() {
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
    if !read.queues.is_empty() && !cfg.queues.is_empty() {
        return Err(invalid(
            path,
            FIELD,
            "give the queues either as manifests or as scheduler.volcano.queues, not both",
        ));
    }
    for (
        name,
        Group {
            queue,
            min_member,
            min_resources: min_res,
            at,
        },
    ) in &read.groups
    {
        let g = |what: String| invalid(path, FIELD, format!("{at}: PodGroup {name}: {what}"));
        let Some(job) = jobs.iter_mut().find(|j| j.id == *name) else {
            return Err(g(
                "no job has this id (a PodGroup stands for the job it is named after)".into(),
            ));
        };
        let pods = job.pods.len();
        match min_member {
            Some(m) if usize::try_from(*m).ok() != Some(pods) => {
                return Err(g(format!(
                    "spec.minMember {m} but the job has {pods} pods: the simulated Volcano gangs all of a job's pods (minMember = pod count)"
                )));
            }
            _ => {}
        }
        if let Some(r) = min_res {
            // Summed wide: no per-pod value can overflow the total.
            let cpu: u128 = job.pods.iter().map(|p| u128::from(p.cpu_milli)).sum();
            let mem: u128 = job.pods.iter().map(|p| u128::from(p.memory_mib)).sum();
            let gpu_milli: u128 = job
                .pods
                .iter()
                .map(|p| u128::from(p.gpu.total_milli()))
                .sum();
            let differs = r.cpu_milli.is_some_and(|c| u128::from(c) != cpu)
                || r.memory_mib.is_some_and(|m| u128::from(m) != mem)
                || r.gpus
                    .is_some_and(|g| (g * 1000.0).round() as u128 != gpu_milli);
            if differs {
                return Err(g(format!(
                    "spec.minResources differs from the job's total request (cpu {cpu}m, memory {mem}Mi, GPUs {}): the simulated Volcano's enqueue gate uses the job's total",
                    gpu_milli as f64 / 1000.0
                )));
            }
        }
        if let Some(q) = queue {
            if let Some(own) = &job.queue
                && own != q
            {
                return Err(g(format!(
                    "spec.queue {q:?} but the job says queue {own:?}"
                )));
            }
            job.queue = Some(q.clone());
        }
    }
    if !read.queues.is_empty() {
        cfg.queues = read.queues.into_iter().map(|(d, _)| d).collect();
    }
    cfg.manifests.clear();
    Ok(())
}
