//! `workload.kubernetes_pods`: the pods of a live cluster (`kubectl get pods -A -o yaml`,
//! read with `k8s-openapi`) as the run's initial state and pending work. Documented in
//! docs/scenario-format.md, "A snapshot of a live cluster".
//!
//! * A **Running** pod (`status.phase: Running`, `spec.nodeName` set) becomes a one-pod
//!   job submitted at 0 and pinned to its node (a node selector on the node's
//!   `kubernetes.io/hostname` label, which the kubelet sets), with its requests and
//!   tolerations and `remaining` run time left (the pod's `orrery.dev/run-time` annotation
//!   wins). Its other constraints are not read: it is already placed.
//! * A **Pending** pod without a node becomes a pod of a gang: pods with the same
//!   controller (`metadata.ownerReferences[controller: true]`, e.g. a Job) or the same
//!   scheduler-plugins PodGroup label form one job, in creation order; each job is
//!   submitted one nanosecond after the running pods, so the live placement is restored
//!   before any pending pod competes for it, and runs for `pending_run_time` (or the
//!   first pod's `orrery.dev/run-time` annotation).
//! * Pods that finished (`Succeeded`, `Failed`) are skipped; so are pods in
//!   `skip_namespaces`.
//!
//! Requests, priority (`spec.priority`, resolved by the API server from the priority
//! class) and constraints come from the pod spec as for workload manifests
//! ([`crate::workload_manifests`]); the Kueue `kueue.x-k8s.io/queue-name` label gives the
//! queue when the scenario defines Kueue queues.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use models::{JobSpec, MAX_PODS_PER_JOB};
use serde::Deserialize;
use sim_core::{SimDuration, SimTime};

use crate::dra::Paths;
use crate::scenario::{FileSource, ScenarioError};

const FIELD: &str = "workload.kubernetes_pods";
const HOSTNAME: &str = "kubernetes.io/hostname";
const QUEUE_LABEL: &str = "kueue.x-k8s.io/queue-name";
const POD_GROUP_LABEL: &str = "scheduling.x-k8s.io/pod-group";

/// `workload.kubernetes_pods` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubePodsDef {
    /// Files of Pod objects (`kubectl get pods -A -o yaml`: a `List`, or Pod documents).
    pub files: Paths,
    /// Run time left of each Running pod; absent: until the horizon (as a job without
    /// `duration`) unless the pod has an `orrery.dev/run-time` annotation.
    pub remaining: Option<SimDuration>,
    /// Run time of each Pending gang once all its pods run; absent: until the horizon
    /// unless annotated.
    pub pending_run_time: Option<SimDuration>,
    /// Namespaces whose pods are left out (e.g. `kube-system`).
    #[serde(default)]
    pub skip_namespaces: Vec<String>,
}

fn invalid(path: &str, field: &str, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// Every Pod of a YAML text, with `file:line` of its document.
pub fn parse_pods(file: &str, text: &str) -> Result<Vec<(String, Pod)>, String> {
    let mut out = Vec::new();
    let mut scalars = models::dra::block_yaml::Scalars::new();
    for (line, doc) in models::dra::manifests::split_documents(text) {
        let at = format!("{file}:{line}");
        let raw = models::dra::manifests::yaml_value(&doc, &mut scalars).map_err(|e| {
            let (l, c, m) = models::dra::manifests::yaml_error_at(line, &e);
            format!("{file}:{l}:{c}: {m}")
        })?;
        let kind = raw.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
        let items = match kind {
            "List" | "PodList" => raw
                .get("items")
                .and_then(|i| i.as_array())
                .cloned()
                .unwrap_or_default(),
            "Pod" => vec![raw],
            other => {
                return Err(format!(
                    "{at}: kind {other:?}: expected Pod objects or a List of them (kubectl get pods -A -o yaml)"
                ));
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let k = item.get("kind").and_then(|k| k.as_str()).unwrap_or("Pod");
            if k != "Pod" {
                return Err(format!("{at}: items[{i}]: kind {k:?}, expected Pod"));
            }
            let pod: Pod = serde_json::from_value(item)
                .map_err(|e| format!("{at}: items[{i}]: not a v1 Pod: {e}"))?;
            out.push((at.clone(), pod));
        }
    }
    Ok(out)
}

fn annotation_time(pod: &Pod, key: &str, at: &str) -> Result<Option<SimDuration>, String> {
    match pod.metadata.annotations.as_ref().and_then(|a| a.get(key)) {
        None => Ok(None),
        Some(v) => v
            .parse::<SimDuration>()
            .map(Some)
            .map_err(|e| format!("{at}: annotation {key}: {e}")),
    }
}

/// The jobs of `workload.kubernetes_pods`.
pub fn build(
    path: &str,
    def: &KubePodsDef,
    files: &dyn FileSource,
    inputs: &mut Vec<String>,
    queue_labels: bool,
) -> Result<Vec<JobSpec>, ScenarioError> {
    let bad = |msg: String| invalid(path, FIELD, msg);
    let mut pods = Vec::new();
    for name in def.files.list() {
        let (display, text) = files.read(name).map_err(|e| match e {
            ScenarioError::Read { path: file, source } => {
                bad(format!("files: cannot read {file}: {source}"))
            }
            other => other,
        })?;
        pods.extend(parse_pods(&display, &text).map_err(bad)?);
        inputs.push(name.to_string());
    }
    let mut running = Vec::new();
    // Gang key → its pods as (creation time, where, pod).
    let mut pending: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for (at, pod) in pods {
        let ns = pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        if def.skip_namespaces.contains(&ns) {
            continue;
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let id = format!("{ns}/{name}");
        let at = format!("{at}: Pod {id}");
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Pending".into());
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        match (phase.as_str(), node) {
            ("Succeeded" | "Failed", _) => {}
            ("Running", Some(node)) | ("Pending", Some(node)) => {
                running.push((id, at, node, pod));
            }
            ("Pending", None) => {
                let owner = pod
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .find(|o| o.controller == Some(true))
                    .map(|o| format!("{ns}/{}/{}", o.kind, o.name));
                let group = pod
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(POD_GROUP_LABEL))
                    .map(|g| format!("{ns}/PodGroup/{g}"));
                let key = group.or(owner).unwrap_or_else(|| id.clone());
                let created = pod
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| format!("{:?}", t.0))
                    .unwrap_or_default();
                pending.entry(key).or_default().push((created, at, pod));
            }
            (other, _) => {
                return Err(bad(format!(
                    "{at}: status.phase {other:?}: expected Running, Pending, Succeeded or Failed"
                )));
            }
        }
    }
    let mut jobs = Vec::new();
    for (id, at, node, pod) in running {
        let mut spec = pod.spec.clone().unwrap_or_default();
        // Already placed: only its requests and tolerations matter; it is pinned below.
        spec.node_name = None;
        spec.node_selector = None;
        spec.affinity = None;
        spec.topology_spread_constraints = None;
        // A NoSchedule taint put on the node after the pod was bound does not evict it:
        // the running pod stays on its node whatever the node's NoSchedule or
        // PreferNoSchedule taints (NoExecute ones still apply, as they evict).
        let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
        for effect in ["NoSchedule", "PreferNoSchedule"] {
            tolerations.push(k8s_openapi::api::core::v1::Toleration {
                operator: Some("Exists".into()),
                effect: Some(effect.into()),
                ..Default::default()
            });
        }
        let t = PodTemplateSpec {
            metadata: Some(pod.metadata.clone()),
            spec: Some(spec),
        };
        let mut shape = crate::workload_manifests::pod_shape(&t, "spec")
            .map_err(|e| bad(format!("{at}: {e}")))?;
        let c = shape.pod.constraints.get_or_insert_with(Default::default);
        c.node_selector.insert(HOSTNAME.to_string(), node);
        let run = annotation_time(&pod, crate::workload_manifests::RUN_TIME_ANNOTATION, &at)
            .map_err(bad)?
            .or(def.remaining);
        jobs.push(JobSpec {
            id,
            submit: SimTime::ZERO,
            duration: run.unwrap_or(models::NO_RUN_TIME),
            pods: vec![shape.pod],
            priority: pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0),
            queue: queue_of(&pod, queue_labels),
        });
    }
    // Pending gangs in creation order of their first pod (then by key).
    let mut gangs: Vec<(String, String, Vec<Member>)> = pending
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            (v[0].0.clone(), k, v)
        })
        .collect();
    gangs.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    for (_, key, members) in gangs {
        if members.len() as u64 > u64::from(MAX_PODS_PER_JOB) {
            return Err(bad(format!(
                "{key}: {} pending pods in one gang, more than {MAX_PODS_PER_JOB}",
                members.len()
            )));
        }
        let first = &members[0].2;
        let mut requests = Vec::with_capacity(members.len());
        for (_, at, pod) in &members {
            let t = PodTemplateSpec {
                metadata: Some(pod.metadata.clone()),
                spec: pod.spec.clone(),
            };
            let shape = crate::workload_manifests::pod_shape(&t, "spec")
                .map_err(|e| bad(format!("{at}: {e}")))?;
            requests.push(shape.pod);
        }
        let run = annotation_time(
            first,
            crate::workload_manifests::RUN_TIME_ANNOTATION,
            &members[0].1,
        )
        .map_err(bad)?
        .or(def.pending_run_time);
        jobs.push(JobSpec {
            id: key,
            submit: SimTime::ZERO + SimDuration(1),
            duration: run.unwrap_or(models::NO_RUN_TIME),
            pods: requests,
            priority: first.spec.as_ref().and_then(|s| s.priority).unwrap_or(0),
            queue: queue_of(first, queue_labels),
        });
    }
    Ok(jobs)
}

/// A pending pod of a gang: (creation time, `file:line: Pod ns/name`, the pod).
type Member = (String, String, Pod);

fn queue_of(pod: &Pod, queue_labels: bool) -> Option<String> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(QUEUE_LABEL))
        .cloned()
        .filter(|_| queue_labels)
}

#[cfg(test)]
mod tests {
    use super::parse_pods;

    /// `kubectl get pods -A -o yaml` of a thousand pods is one List document of more than
    /// serde_saphyr's default 250,000 nodes: read, not refused ("budget breached").
    #[test]
    fn a_large_pod_list_is_read() {
        let mut text = String::from("apiVersion: v1\nitems:\n");
        for i in 0..1000 {
            text.push_str(&format!(
                "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p{i}\n    namespace: default\n    labels:\n"
            ));
            for l in 0..120 {
                text.push_str(&format!("      label-{l}: v{l}\n"));
            }
            text.push_str("  spec:\n    containers:\n    - name: c\n      image: x\n");
        }
        text.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
        let refused = serde_saphyr::from_str::<serde_json::Value>(&text).expect_err("over budget");
        assert!(refused.to_string().contains("budget"), "{refused}");
        let pods = parse_pods("pods.yaml", &text).expect("read");
        assert_eq!(pods.len(), 1000);
        assert_eq!(pods[999].1.metadata.name.as_deref(), Some("p999"));
        // The same list in flow style goes through serde_saphyr, with the same budget.
        let flow = text.replacen(
            "    containers:\n    - name: c\n      image: x\n",
            "    containers: [{name: c, image: x}]\n",
            1,
        );
        assert_ne!(flow, text);
        assert_eq!(parse_pods("pods.yaml", &flow).map(|p| p.len()), Ok(1000));
    }
}
