//! Autoscaled KubeRay objects (`enableInTreeAutoscaling: true` in a `RayCluster` or a
//! `RayJob`'s `rayClusterSpec`): the Ray autoscaler's configuration as KubeRay derives it,
//! and the tasks the object's `orrery.dev/ray-tasks` annotation lists (docs/ray.md).
//!
//! Followed: ray-project/ray `python/ray/autoscaler/_private/kuberay/autoscaling_config.py`
//! (`_derive_autoscaling_config_from_ray_cr`, `_get_num_cpus`, `_get_num_gpus`,
//! `_get_memory`): a group's Ray resources come from its pod's first container, the
//! `rayStartParams` (`num-cpus`, `num-gpus`, `memory`) first, then the limits, then the
//! requests, rounded up to whole units; `upscalingMode: Conservative` is an upscaling
//! speed of 1, `Default`, `Aggressive` or none 1000; `idleTimeoutSeconds` defaults to 60.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use models::dra::quantity::Quantity;
use models::{RayResources, RayTaskGroup};
use serde::Deserialize;
use sim_core::SimDuration;

/// The annotation listing the tasks the Ray program submits.
pub const TASKS_ANNOTATION: &str = "orrery.dev/ray-tasks";

/// KubeRay's `idleTimeoutSeconds` default, as the autoscaler reads it (1 minute).
pub const DEFAULT_IDLE_TIMEOUT: SimDuration = SimDuration(60_000_000_000);

/// ray-project/kuberay `ray-operator/apis/ray/v1/raycluster_types.go` `AutoscalerOptions`.
// Fields that do not change scheduling are read only to be accepted.
#[allow(dead_code)]
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AutoscalerOptions {
    #[serde(default)]
    resources: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    image_pull_policy: Option<String>,
    #[serde(default)]
    security_context: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    idle_timeout_seconds: Option<i32>,
    #[serde(default)]
    upscaling_mode: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    env: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    env_from: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    volume_mounts: Option<serde::de::IgnoredAny>,
}

impl AutoscalerOptions {
    /// (upscaling speed, idle timeout); `at` names the options in errors.
    pub(crate) fn speed_and_timeout(&self, at: &str) -> Result<(f64, SimDuration), String> {
        let speed = match self.upscaling_mode.as_deref() {
            Some("Conservative") => 1.0,
            None | Some("Default") | Some("Aggressive") => 1000.0,
            Some(m) => {
                return Err(format!(
                    "{at}.upscalingMode: {m:?}, expected Default, Conservative or Aggressive"
                ));
            }
        };
        if let Some(v) = &self.version
            && v != "v1"
        {
            return Err(format!(
                "{at}.version: {v:?}: the v1 autoscaler is modelled (give v1 or leave it out; docs/ray.md says what v2 changes)"
            ));
        }
        let timeout = match self.idle_timeout_seconds {
            None => DEFAULT_IDLE_TIMEOUT,
            Some(s) if s >= 0 => SimDuration::from_secs(s as u64),
            Some(s) => {
                return Err(format!(
                    "{at}.idleTimeoutSeconds: must not be negative, got {s}"
                ));
            }
        };
        Ok((speed, timeout))
    }
}

/// Whole units of `q` rounded up (`_round_up_k8s_quantity`).
fn round_up(q: &str, at: &str) -> Result<u64, String> {
    let v = Quantity::parse(q).map_err(|e| format!("{at}: {e}"))?;
    if v.signum() < 0 {
        return Err(format!("{at}: must not be negative, got {q}"));
    }
    let units = (v.nanos() + 999_999_999) / 1_000_000_000;
    u64::try_from(units).map_err(|_| format!("{at}: out of range: {q}"))
}

/// The Ray resources of a pod from `template` with `params` (`rayStartParams`).
pub(crate) fn ray_resources(
    template: &PodTemplateSpec,
    params: Option<&BTreeMap<String, String>>,
    at: &str,
) -> Result<RayResources, String> {
    let Some(c) = template.spec.as_ref().and_then(|s| s.containers.first()) else {
        return Err(format!("{at}.spec.containers: a pod needs a container"));
    };
    let empty = BTreeMap::new();
    let res = c.resources.as_ref();
    let limits = res.and_then(|r| r.limits.as_ref()).unwrap_or(&empty);
    let requests = res.and_then(|r| r.requests.as_ref()).unwrap_or(&empty);
    let param = |k: &str| params.and_then(|p| p.get(k));
    let here = format!("{at}.spec.containers[0].resources");
    let cpus = match param("num-cpus") {
        Some(v) => round_up(v.trim_matches('"'), "rayStartParams.num-cpus")?,
        None => match limits
            .get("cpu")
            .map(|q| ("limits", q))
            .or(requests.get("cpu").map(|q| ("requests", q)))
        {
            Some((f, q)) => round_up(&q.0, &format!("{here}.{f}.cpu"))?,
            None => {
                return Err(format!(
                    "{here}: no CPU count (a cpu limit or request, or rayStartParams num-cpus): the Ray autoscaler needs one"
                ));
            }
        },
    };
    let gpus = match param("num-gpus") {
        Some(v) => round_up(v.trim_matches('"'), "rayStartParams.num-gpus")?,
        None => {
            let find =
                |m: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>| {
                    m.iter()
                        .find(|(k, q)| {
                            k.ends_with("gpu")
                                && Quantity::parse(&q.0).is_ok_and(|v| v.signum() > 0)
                        })
                        .map(|(k, q)| (k.clone(), q.0.clone()))
                };
            match find(limits).or_else(|| find(requests)) {
                Some((k, q)) => round_up(&q, &format!("{here}.{k}"))?,
                None => 0,
            }
        }
    };
    let bytes = match param("memory") {
        Some(v) => round_up(v.trim_matches('"'), "rayStartParams.memory")?,
        None => match limits.get("memory").or(requests.get("memory")) {
            Some(q) => round_up(&q.0, &format!("{here}.memory"))?,
            None => 0,
        },
    };
    Ok(RayResources {
        cpu_milli: cpus
            .checked_mul(1000)
            .ok_or_else(|| format!("{at}: too many CPUs"))?,
        gpus: u32::try_from(gpus).map_err(|_| format!("{at}: too many GPUs"))?,
        memory_mib: bytes.div_ceil(1 << 20),
    })
}

/// One entry of `orrery.dev/ray-tasks`: `count` tasks as `@ray.remote(num_cpus=…,
/// num_gpus=…, memory=…)` declares them, each running `duration`, submitted `after` the
/// cluster is ready.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskDef {
    count: u32,
    /// Ray's default for a task: 1 CPU.
    #[serde(default = "one")]
    num_cpus: f64,
    #[serde(default)]
    num_gpus: u32,
    /// Bytes, as a Kubernetes quantity (`4Gi`).
    #[serde(default)]
    memory: Option<String>,
    duration: SimDuration,
    #[serde(default)]
    after: SimDuration,
}

fn one() -> f64 {
    1.0
}

/// The tasks of an object's annotations (none without the annotation).
pub(crate) fn tasks(annotations: &BTreeMap<String, String>) -> Result<Vec<RayTaskGroup>, String> {
    let at = format!("metadata.annotations.{TASKS_ANNOTATION}");
    let Some(text) = annotations.get(TASKS_ANNOTATION) else {
        return Ok(Vec::new());
    };
    let defs: Vec<TaskDef> = serde_saphyr::from_str(text).map_err(|e| {
        format!("{at}: {e} (a list such as [{{count: 4, num_gpus: 1, duration: 5m}}])")
    })?;
    defs.into_iter()
        .enumerate()
        .map(|(i, d)| {
            let here = format!("{at}[{i}]");
            if d.count == 0 {
                return Err(format!("{here}.count: must be at least 1"));
            }
            if !(d.num_cpus.is_finite() && d.num_cpus >= 0.0 && d.num_cpus <= 1e9) {
                return Err(format!(
                    "{here}.num_cpus: must be between 0 and 1e9, got {}",
                    d.num_cpus
                ));
            }
            if d.duration == SimDuration::ZERO {
                return Err(format!("{here}.duration: must be above 0"));
            }
            let memory_mib = match &d.memory {
                Some(q) => round_up(q, &format!("{here}.memory"))?.div_ceil(1 << 20),
                None => 0,
            };
            Ok(RayTaskGroup {
                count: d.count,
                resources: RayResources {
                    cpu_milli: (d.num_cpus * 1000.0).ceil() as u64,
                    gpus: d.num_gpus,
                    memory_mib,
                },
                duration: d.duration,
                after: d.after,
            })
        })
        .collect()
}
