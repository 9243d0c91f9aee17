//! `scheduler.coscheduling.manifests`: scheduler-plugins `PodGroup` objects
//! (`scheduling.x-k8s.io/v1alpha1`, kubernetes-sigs/scheduler-plugins v0.34
//! `apis/scheduling/v1alpha1/types.go`), documented in `docs/scenario-format.md`
//! ("Coscheduling PodGroups from their YAML").
//!
//! The simulated Coscheduling makes every job one PodGroup with `minMember` = its pod count
//! and one Permit timeout for all groups (`scheduler.coscheduling.schedule_timeout`, the
//! plugin's `permitWaitingTimeSeconds`). A PodGroup stands for the job whose id is its name
//! (what the pods' `scheduling.x-k8s.io/pod-group` label holds): its `minMember` must be
//! the job's pod count; its `scheduleTimeoutSeconds` replaces the plugin's timeout for that
//! group, as upstream's `GetWaitTimeDuration` does, and since the model has one timeout,
//! every multi-pod job must end up with the same one (a job without a PodGroup timeout has
//! the plugin's). Refused with file and line: unknown fields, `minResources` (the PreFilter
//! check is not modelled), a PodGroup naming no job, different timeouts.

use std::collections::BTreeMap;

use models::scheduler::CoschedulingArgs;
use models::workload::JobSpec;
use serde::Deserialize;
use serde::de::IgnoredAny;
use sim_core::SimDuration;

use crate::FileSource;
use crate::kueue_manifests::{QuantityText, for_each_document, invalid, yaml_error};
use crate::scenario::ScenarioError;

const FIELD: &str = "scheduler.coscheduling.manifests";
const API: &str = "scheduling.x-k8s.io/v1alpha1";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    api_version: Option<String>,
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PodGroup {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Meta,
    #[serde(default)]
    spec: Option<Spec>,
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
struct Spec {
    #[serde(default)]
    min_member: Option<i32>,
    #[serde(default)]
    min_resources: BTreeMap<String, QuantityText>,
    #[serde(default)]
    schedule_timeout_seconds: Option<i32>,
}

/// Reads `cfg.manifests`: checks each PodGroup against its job and sets
/// `cfg.schedule_timeout` from their `scheduleTimeoutSeconds`.
pub fn resolve(
    path: &str,
    cfg: &mut CoschedulingArgs,
    jobs: &[JobSpec],
    files: &dyn FileSource,
) -> Result<(), ScenarioError> {
    if cfg.manifests.is_empty() {
        return Ok(());
    }
    // PodGroup name → (minMember, timeout, where).
    let mut groups: BTreeMap<String, (Option<i32>, Option<SimDuration>, String)> = BTreeMap::new();
    for_each_document(
        path,
        (FIELD, true),
        &cfg.manifests,
        files,
        &mut |file, line, doc| {
            let here = format!("{file}:{line}");
            let head: Head =
                serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "", &e))?;
            let kind = head.kind.unwrap_or_default();
            if head.api_version.as_deref() != Some(API) || kind != "PodGroup" {
                return Err(format!(
                    "{here}: {kind} of apiVersion {:?} is not read here (expected PodGroup of {API})",
                    head.api_version.unwrap_or_default()
                ));
            }
            let o: PodGroup =
                serde_saphyr::from_str(doc).map_err(|e| yaml_error(file, line, "PodGroup", &e))?;
            let name = o.metadata.name;
            let g = |what: String| format!("{here}: PodGroup {name}: {what}");
            let spec = o.spec.unwrap_or_default();
            if !spec.min_resources.is_empty() {
                return Err(g(
                "spec.minResources is not modelled (Coscheduling's PreFilter check of the cluster's free resources); leave it out".into(),
            ));
            }
            let timeout = match spec.schedule_timeout_seconds {
                None => None,
                Some(s) if s > 0 => Some(SimDuration::from_secs(s.unsigned_abs().into())),
                Some(s) => {
                    return Err(g(format!(
                        "spec.scheduleTimeoutSeconds must be > 0, got {s}"
                    )));
                }
            };
            if let Some((.., other)) = groups.get(&name) {
                return Err(g(format!("also defined at {other}")));
            }
            groups.insert(name, (spec.min_member, timeout, here));
            Ok(())
        },
    )?;
    // The timeout each multi-pod job's group gets, and from where.
    let mut chosen: Option<(SimDuration, String)> = None;
    for (name, (min_member, _, at)) in &groups {
        let Some(job) = jobs.iter().find(|j| j.id == *name) else {
            return Err(invalid(
                path,
                FIELD,
                format!(
                    "{at}: PodGroup {name}: no job has this id (a PodGroup stands for the job it is named after)"
                ),
            ));
        };
        if let Some(m) = min_member
            && usize::try_from(*m).ok() != Some(job.pods.len())
        {
            return Err(invalid(
                path,
                FIELD,
                format!(
                    "{at}: PodGroup {name}: spec.minMember {m} but the job has {} pods: minMember smaller than the group is not modelled",
                    job.pods.len()
                ),
            ));
        }
    }
    for j in jobs.iter().filter(|j| j.pods.len() > 1) {
        let (t, from) = match groups.get(&j.id) {
            Some((_, Some(t), at)) => (*t, format!("PodGroup {} ({at})", j.id)),
            _ => (
                cfg.schedule_timeout,
                format!(
                    "job {}'s group, with the plugin's permitWaitingTimeSeconds",
                    j.id
                ),
            ),
        };
        if let Some((c, first)) = &chosen {
            if *c != t {
                return Err(invalid(
                    path,
                    FIELD,
                    format!(
                        "{first} waits {c} at Permit but {from} waits {t}: the simulated Coscheduling has one timeout for all groups"
                    ),
                ));
            }
        } else {
            chosen = Some((t, from));
        }
    }
    if let Some((t, _)) = chosen {
        cfg.schedule_timeout = t;
    }
    cfg.manifests.clear();
    Ok(())
}
