//! Fidelity cases for Kubernetes KEP-4671 gang scheduling (the `GangScheduling` plugin of
//! Kubernetes 1.35, alpha) against Orrery's `k8s-gang` policy. The data and how each case
//! is asked of Orrery: `scenarios/fidelity/README.md`, section "Kubernetes".
//!
//! Orrery has no Workload objects: under `k8s-gang` a job is a gang whose minCount is its
//! pod count, and its pods are submitted together. The runner turns each upstream gang
//! (namespace, workload, pod group, replica key) into one job and reads the observable
//! outcome of a small run: when jobs start, and when a gang's reservations are released
//! (the livelock detector, set to report the first release, gives that instant).

use std::collections::{BTreeMap, BTreeSet};

use models::sim::K8S_GANG_TIMEOUT;
use models::{
    ClusterSpec, DetectConfig, GpuRequest, JobRecord, JobSpec, NodeSpec, PodRequest, PolicyKind,
    RunConfig, RunResult, StarvedKind, Workload, run,
};
use serde::Deserialize;
use sim_core::{SimDuration, SimTime};

use super::common::{Outcome, Report, SuiteFile, load};

// ---------------------------------------------------------------------------------------
// Data.

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkloadRef {
    name: String,
    pod_group: String,
    #[serde(default)]
    replica_key: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pod {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    workload_ref: Option<WorkloadRef>,
    #[serde(default)]
    requests: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum GroupPolicy {
    Gang,
    Basic,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PodGroup {
    name: String,
    policy: GroupPolicy,
    #[serde(default)]
    min_count: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkloadObj {
    name: String,
    #[serde(default)]
    namespace: String,
    pod_groups: Vec<PodGroup>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Node {
    name: String,
    capacity: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixtures {
    /// A test's override of the group deadline (seconds); Orrery's is fixed at 5 min.
    #[serde(default)]
    scheduling_timeout_s: Option<u64>,
    #[serde(default)]
    nodes: Vec<Node>,
    #[serde(default)]
    workloads: Vec<WorkloadObj>,
    #[serde(default)]
    pods: Vec<Pod>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
enum Hint {
    Queue,
    QueueSkip,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HintExpect {
    #[allow(dead_code)] // transcribed; queueing hints are not modelled
    hint: Hint,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HintPodCase {
    name: String,
    line: u32,
    features: Vec<String>,
    #[serde(default)]
    notes: Option<String>,
    #[allow(dead_code)] // transcribed; queueing hints are not modelled
    pod: Pod,
    #[allow(dead_code)] // transcribed; queueing hints are not modelled
    new_pod: Pod,
    #[allow(dead_code)] // transcribed; queueing hints are not modelled
    expect: HintExpect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HintWorkloadCase {
    name: String,
    line: u32,
    features: Vec<String>,
    #[serde(default)]
    notes: Option<String>,
    #[allow(dead_code)] // transcribed; queueing hints are not modelled
    pod: Pod,
    #[allow(dead_code)] // transcribed; queueing hints are not modelled
    new_workload: WorkloadObj,
    #[allow(dead_code)] // transcribed; queueing hints are not modelled
    expect: HintExpect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
enum Code {
    Success,
    Wait,
    Unschedulable,
    UnschedulableAndUnresolvable,
    Error,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Status {
    code: Code,
    #[serde(default)]
    #[allow(dead_code)] // transcribed; Orrery has no status messages
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowExpect {
    pre_enqueue: Status,
    #[serde(default)]
    permit: Option<Status>,
    #[serde(default)]
    activated: Vec<String>,
    #[serde(default)]
    allowed: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowCase {
    name: String,
    line: u32,
    features: Vec<String>,
    #[serde(default)]
    notes: Option<String>,
    pod: String,
    #[serde(default)]
    initial_pods: Vec<String>,
    #[serde(default)]
    workloads: Vec<String>,
    #[serde(default)]
    waiting_on_permit: Vec<String>,
    expect: FlowExpect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    name: String,
    #[serde(default)]
    create_workload: Option<String>,
    #[serde(default)]
    create_pods: Vec<String>,
    #[serde(default)]
    delete_pods: Vec<String>,
    #[serde(default)]
    wait_for_pods_gated_on_pre_enqueue: Vec<String>,
    #[serde(default)]
    wait_for_pods_unschedulable: Vec<String>,
    #[serde(default)]
    wait_for_pods_scheduled: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntegrationCase {
    name: String,
    line: u32,
    features: Vec<String>,
    #[serde(default)]
    notes: Option<String>,
    steps: Vec<Step>,
}

// ---------------------------------------------------------------------------------------
// Feature tags.

/// Every tag of the suite's vocabulary, with `None` when Orrery models it and the reason
/// when it does not.
const FEATURES: &[(&str, Option<&str>)] = &[
    ("pre_enqueue", None),
    ("reserve", None),
    ("permit", None),
    ("timeout", None),
    ("no_workload_ref", None),
    ("multi_group", None),
    ("replica_key", None),
    ("node_resources", None),
    ("workload_late", None),
    (
        "queueing_hint",
        Some(
            "queueing hints: Orrery has no Pod/Add or Workload/Add events (a gang's pods are \
             submitted together with their group; pods are retried when resources are released)",
        ),
    ),
    (
        "basic_policy",
        Some("the Basic pod-group policy: under k8s-gang every job is a gang"),
    ),
    (
        "workload_missing",
        Some("Workload objects: a job's group exists from its submission, so no pod waits for it"),
    ),
    (
        "pods_missing",
        Some(
            "a gang with fewer pods than minCount: Orrery submits a job's pods together and its \
             minCount is its pod count, so PreEnqueue's pod-count gate is never closed",
        ),
    ),
    (
        "other",
        Some("a feature outside the suite's vocabulary (see notes)"),
    ),
];

/// The reason a case is not modelled, from its tags; panics on an unknown tag.
fn not_modelled(case: &str, features: &[String]) -> Option<String> {
    let mut reasons = Vec::new();
    for f in features {
        match FEATURES.iter().find(|(t, _)| t == f) {
            None => panic!("case {case:?}: unknown feature tag {f:?}"),
            Some((_, Some(r))) => reasons.push(format!("{f}: {r}")),
            Some((_, None)) => {}
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Run one case: not modelled by its tags, or asked of Orrery. A case whose data needs a
/// feature it does not tag is a data error.
fn judge(
    case: &str,
    features: &[String],
    notes: &Option<String>,
    ask: impl FnOnce() -> Result<Outcome, String>,
) -> Outcome {
    if let Some(r) = not_modelled(case, features) {
        return Outcome::NotModelled(r);
    }
    match ask() {
        Ok(Outcome::Fail(m)) => Outcome::Fail(match notes {
            Some(n) => format!("{m} (case notes: {n})"),
            None => m,
        }),
        Ok(o) => o,
        Err(e) => panic!("case {case:?} needs a feature it does not tag: {e}"),
    }
}

fn check_line(case: &str, line: u32) {
    assert!(line > 0, "case {case:?}: line must be set");
}

// ---------------------------------------------------------------------------------------
// Asking Orrery.

/// The deadline Orrery uses (KEP-4671 alpha's fixed 5 minutes); spaces the integration
/// test's steps.
fn deadline() -> SimDuration {
    K8S_GANG_TIMEOUT
}

/// Upstream's default group deadline in 1.35 (`defaultSchedulingTimeoutSeconds = 300` in
/// the workload manager): what a flow case's `Wait` is checked against.
const UPSTREAM_DEADLINE: SimDuration = SimDuration(300 * 1_000_000_000);

/// A gang instance: namespace, workload, pod group, replica key.
type GangKey = (String, String, String, String);

fn gang_id(k: &GangKey) -> String {
    let (ns, wl, pg, rk) = k;
    if rk.is_empty() {
        format!("{ns}/{wl}/{pg}")
    } else {
        format!("{ns}/{wl}/{pg}#{rk}")
    }
}

/// The gang a pod belongs to and its minCount; `None` for a pod without `workloadRef`.
/// `Err` when the data needs what Orrery does not model.
fn gang_of(pod: &Pod, workloads: &[&WorkloadObj]) -> Result<Option<(GangKey, u32)>, String> {
    let Some(r) = &pod.workload_ref else {
        return Ok(None);
    };
    let Some(w) = workloads
        .iter()
        .find(|w| w.name == r.name && w.namespace == pod.namespace)
    else {
        return Err(format!(
            "workload_missing: pod {:?}'s workload {:?} does not exist",
            pod.name, r.name
        ));
    };
    let Some(g) = w.pod_groups.iter().find(|g| g.name == r.pod_group) else {
        return Err(format!(
            "other: workload {:?} has no pod group {:?}",
            w.name, r.pod_group
        ));
    };
    match (g.policy, g.min_count) {
        (GroupPolicy::Basic, _) => Err(format!(
            "basic_policy: pod {:?}'s pod group {:?} is Basic",
            pod.name, g.name
        )),
        (GroupPolicy::Gang, None) => Err(format!("gang pod group {:?} without min_count", g.name)),
        (GroupPolicy::Gang, Some(n)) => Ok(Some((
            (
                pod.namespace.clone(),
                r.name.clone(),
                r.pod_group.clone(),
                r.replica_key.clone(),
            ),
            n,
        ))),
    }
}

fn record<'a>(r: &'a RunResult, id: &str) -> &'a JobRecord {
    r.jobs
        .iter()
        .find(|j| j.id == id)
        .unwrap_or_else(|| panic!("no job {id:?} in the run"))
}

/// When the job's reservations were first released (Permit rejection), if ever.
fn first_release(j: &JobRecord) -> Option<SimTime> {
    match j.starved {
        Some((t, StarvedKind::Livelock)) => Some(t),
        _ => None,
    }
}

fn secs(t: Option<SimTime>) -> String {
    match t {
        Some(t) => format!("{}s", t.as_secs_f64()),
        None => "never".into(),
    }
}

fn config(horizon: SimTime) -> RunConfig {
    let mut c = RunConfig {
        seed: 1,
        horizon: Some(horizon.since(SimTime::ZERO)),
        check_invariants: true,
        detect: DetectConfig {
            deadlock: true,
            starvation_after: None,
            // Report the first release: its instant is the Permit rejection's.
            livelock_releases: 1,
        },
        ..RunConfig::default()
    };
    c.scheduler.policy = PolicyKind::K8sGang;
    c
}

/// A node of `gpus` GPUs of `model`.
fn gpu_node(name: &str, model: &str, gpus: u32) -> NodeSpec {
    NodeSpec {
        taints: Vec::new(),
        name: name.into(),
        pool: "fidelity".into(),
        cpu_milli: 64_000,
        memory_mib: 64 * 1024,
        gpus,
        gpu_model: Some(model.into()),
        gpu_memory_mib: 81_920,
        rack: 0,
        labels: BTreeMap::new(),
    }
}

/// One GPU of `model`.
fn gpu_pod(model: &str) -> PodRequest {
    PodRequest {
        constraints: None,
        cpu_milli: 0,
        memory_mib: 0,
        gpu: GpuRequest::Whole(1),
        gpu_models: vec![model.into()],
    }
}

/// Long enough never to end inside a case.
const FOREVER: SimDuration = SimDuration(1_000_000 * 1_000_000_000);

/// The node the pods that reach Reserve fit on, exactly.
const FITS: &str = "FITS";
/// The node a blocker holds: pods pinned to it stay unscheduled.
const HELD: &str = "HELD";

fn run_flow(fx: &Fixtures, c: &FlowCase) -> Result<Outcome, String> {
    let pod = |name: &str| -> &Pod {
        fx.pods
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("case {:?}: no fixture pod {name:?}", c.name))
    };
    let workloads: Vec<&WorkloadObj> = c
        .workloads
        .iter()
        .map(|w| {
            fx.workloads
                .iter()
                .find(|x| &x.name == w)
                .unwrap_or_else(|| panic!("case {:?}: no fixture workload {w:?}", c.name))
        })
        .collect();
    if c.expect.pre_enqueue.code != Code::Success {
        return Err(format!(
            "PreEnqueue expected {:?}: Orrery's gate is always open for a submitted gang",
            c.expect.pre_enqueue.code
        ));
    }
    let Some(permit) = &c.expect.permit else {
        return Err("PreEnqueue succeeds but no Permit status is expected".into());
    };
    if permit.code == Code::Success && !c.expect.activated.is_empty() {
        return Err("other: pod activation is not modelled".into());
    }
    // Known pods (the pod under test last) and those run through Reserve and Permit.
    let mut known: Vec<&str> = c.initial_pods.iter().map(String::as_str).collect();
    known.push(&c.pod);
    let reached: BTreeSet<&str> = c
        .waiting_on_permit
        .iter()
        .map(String::as_str)
        .chain([c.pod.as_str()])
        .collect();
    for p in &reached {
        assert!(
            known.contains(p),
            "case {:?}: {p:?} waits but is not known",
            c.name
        );
    }
    let own = gang_of(pod(&c.pod), &workloads)?;
    // Orrery jobs: one per gang (pods that reach Reserve first, then the rest), one per
    // pod without a workloadRef.
    let mut gangs: BTreeMap<GangKey, (u32, Vec<&str>, Vec<&str>)> = BTreeMap::new();
    let mut singles: Vec<&str> = Vec::new();
    let mut job_of: BTreeMap<&str, String> = BTreeMap::new();
    for &p in &known {
        match gang_of(pod(p), &workloads)? {
            None => {
                singles.push(p);
                job_of.insert(p, p.to_string());
            }
            Some((k, n)) => {
                job_of.insert(p, gang_id(&k));
                let e = gangs.entry(k).or_insert((n, Vec::new(), Vec::new()));
                if reached.contains(p) {
                    e.1.push(p);
                } else {
                    e.2.push(p);
                }
            }
        }
    }
    let mut jobs = vec![JobSpec {
        id: "blocker".into(),
        submit: SimTime::ZERO,
        duration: FOREVER,
        pods: vec![gpu_pod(HELD)],
        priority: 0,
        queue: None,
    }];
    let submit = SimTime::from_secs(1);
    for (k, (n, placed, unplaced)) in &gangs {
        let known_here = (placed.len() + unplaced.len()) as u32;
        if known_here > *n {
            return Err(format!(
                "other: gang {} has {known_here} pods for minCount {n} (Orrery's minCount is the pod count)",
                gang_id(k)
            ));
        }
        if Some(k) == own.as_ref().map(|(k, _)| k) && known_here < *n {
            return Err(format!(
                "pods_missing: gang {} has {known_here} of its {n} pods",
                gang_id(k)
            ));
        }
        // Pods of another gang the test never created stand in, unscheduled.
        let mut pods = vec![gpu_pod(FITS); placed.len()];
        pods.resize(*n as usize, gpu_pod(HELD));
        jobs.push(JobSpec {
            id: gang_id(k),
            submit,
            duration: FOREVER,
            pods,
            priority: 0,
            queue: None,
        });
    }
    for &p in &singles {
        let model = if reached.contains(p) { FITS } else { HELD };
        jobs.push(JobSpec {
            id: p.to_string(),
            submit,
            duration: FOREVER,
            pods: vec![gpu_pod(model)],
            priority: 0,
            queue: None,
        });
    }
    let cluster = ClusterSpec {
        nodes: vec![
            gpu_node("fits", FITS, reached.len() as u32),
            gpu_node("held", HELD, 1),
        ],
    };
    let horizon = submit + UPSTREAM_DEADLINE.max(deadline()) + SimDuration::from_secs(60);
    let r = match run(cluster, Workload { jobs }, &config(horizon), None) {
        Ok(r) => r,
        Err(e) => return Ok(Outcome::Fail(format!("run failed: {e}"))),
    };
    let timed_out_at = submit + UPSTREAM_DEADLINE;
    let mut diffs = Vec::new();
    // The pod under test.
    let me = record(&r, &job_of[c.pod.as_str()]);
    match permit.code {
        Code::Success => {
            if me.start != Some(submit) || first_release(me).is_some() {
                diffs.push(format!(
                    "Permit: want Success (job {} starts at {}s, never released); Orrery: starts {}, released {}",
                    me.id,
                    submit.as_secs_f64(),
                    secs(me.start),
                    secs(first_release(me))
                ));
            }
        }
        Code::Wait => {
            if me.start.is_some() || first_release(me) != Some(timed_out_at) {
                diffs.push(format!(
                    "Permit: want Wait (job {} not started, its waiters released at the deadline {}s); Orrery: starts {}, released {}",
                    me.id,
                    timed_out_at.as_secs_f64(),
                    secs(me.start),
                    secs(first_release(me))
                ));
            }
        }
        other => {
            return Err(format!("Permit {other:?} is not something Orrery decides"));
        }
    }
    // Upstream requires each pre-waiting pod's Permit to return Wait; for another gang's
    // pods that stays observable: their gang neither starts nor keeps its reservations
    // past the deadline.
    let own_id = own.as_ref().map(|(k, _)| gang_id(k));
    for p in &c.waiting_on_permit {
        let id = &job_of[p.as_str()];
        if Some(id) == own_id.as_ref() {
            continue;
        }
        let j = record(&r, id);
        if j.start.is_some() || first_release(j) != Some(timed_out_at) {
            diffs.push(format!(
                "{p} (gang {id}) should wait at Permit: starts {}, released {}",
                secs(j.start),
                secs(first_release(j))
            ));
        }
    }
    for p in &c.expect.allowed {
        let j = record(&r, &job_of[p.as_str()]);
        if j.start != Some(submit) {
            diffs.push(format!(
                "{p} should be allowed at {}s: its job {} starts {}",
                submit.as_secs_f64(),
                j.id,
                secs(j.start)
            ));
        }
    }
    Ok(if diffs.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(diffs.join("; "))
    })
}

/// "4" → 4000, "500m" → 500.
fn cpu_milli(q: &str) -> Result<u64, String> {
    let bad = || format!("unsupported CPU quantity {q:?}");
    match q.strip_suffix('m') {
        Some(m) => m.parse().map_err(|_| bad()),
        None => q.parse::<u64>().map(|c| c * 1000).map_err(|_| bad()),
    }
}

fn requests_cpu(m: &BTreeMap<String, String>, what: &str) -> Result<u64, String> {
    let mut cpu = 0;
    for (k, v) in m {
        match k.as_str() {
            "cpu" => cpu = cpu_milli(v)?,
            _ => return Err(format!("other: {what} uses resource {k:?}")),
        }
    }
    Ok(cpu)
}

enum Check<'a> {
    Gated(&'a [String]),
    Unschedulable(&'a [String]),
    Scheduled(&'a [String]),
}

fn run_integration(fx: &Fixtures, c: &IntegrationCase) -> Result<Outcome, String> {
    let pod = |name: &str| -> &Pod {
        fx.pods
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("case {:?}: no fixture pod {name:?}", c.name))
    };
    // Step times: actions at `now`; each wait owns a window long enough for a deadline.
    let window = deadline() + SimDuration::from_secs(100);
    let mut now = SimTime::ZERO;
    let mut created: BTreeMap<&str, SimTime> = BTreeMap::new();
    let mut deleted: BTreeMap<&str, SimTime> = BTreeMap::new();
    let mut workload_at: BTreeMap<&str, SimTime> = BTreeMap::new();
    let mut checks: Vec<(&str, Check, SimTime, SimTime)> = Vec::new();
    for s in &c.steps {
        let actions = usize::from(s.create_workload.is_some())
            + [
                &s.create_pods,
                &s.delete_pods,
                &s.wait_for_pods_gated_on_pre_enqueue,
                &s.wait_for_pods_unschedulable,
                &s.wait_for_pods_scheduled,
            ]
            .iter()
            .filter(|v| !v.is_empty())
            .count();
        assert_eq!(
            actions, 1,
            "case {:?} step {:?}: one action per step",
            c.name, s.name
        );
        if let Some(w) = &s.create_workload {
            workload_at.insert(w, now);
        }
        for p in &s.create_pods {
            created.insert(p, now);
        }
        for p in &s.delete_pods {
            deleted.insert(p, now);
        }
        let check = if !s.wait_for_pods_gated_on_pre_enqueue.is_empty() {
            Some(Check::Gated(&s.wait_for_pods_gated_on_pre_enqueue))
        } else if !s.wait_for_pods_unschedulable.is_empty() {
            Some(Check::Unschedulable(&s.wait_for_pods_unschedulable))
        } else if !s.wait_for_pods_scheduled.is_empty() {
            Some(Check::Scheduled(&s.wait_for_pods_scheduled))
        } else {
            None
        };
        if let Some(k) = check {
            checks.push((&s.name, k, now, now + window));
            now += window;
        }
    }
    let end = now;
    // Jobs: one per gang, submitted when its Workload and all its pods exist; one per pod
    // without a workloadRef, ending at its deletion.
    let workloads: Vec<&WorkloadObj> = fx
        .workloads
        .iter()
        .filter(|w| workload_at.contains_key(w.name.as_str()))
        .collect();
    let mut gangs: BTreeMap<GangKey, (u32, Vec<&str>)> = BTreeMap::new();
    let mut job_of: BTreeMap<&str, String> = BTreeMap::new();
    let mut jobs = Vec::new();
    let mut deletions: Vec<(&str, SimTime, SimTime)> = Vec::new();
    for (&p, &t) in &created {
        let spec = pod(p);
        let req = PodRequest {
            constraints: None,
            cpu_milli: requests_cpu(&spec.requests, p)?,
            memory_mib: 0,
            gpu: GpuRequest::None,
            gpu_models: Vec::new(),
        };
        match gang_of(spec, &workloads)? {
            None => {
                let duration = match deleted.get(p) {
                    Some(&d) => {
                        deletions.push((p, t, d));
                        d.since(t)
                    }
                    None => FOREVER,
                };
                job_of.insert(p, p.to_string());
                jobs.push(JobSpec {
                    id: p.to_string(),
                    submit: t,
                    duration,
                    pods: vec![req],
                    priority: 0,
                    queue: None,
                });
            }
            Some((k, n)) => {
                if deleted.contains_key(p) {
                    return Err(format!("other: gang pod {p:?} is deleted"));
                }
                job_of.insert(p, gang_id(&k));
                gangs.entry(k).or_insert((n, Vec::new())).1.push(p);
            }
        }
    }
    for (k, (n, members)) in &gangs {
        let times: BTreeSet<SimTime> = members.iter().map(|p| created[p]).collect();
        if members.len() as u32 != *n || times.len() != 1 {
            return Err(format!(
                "pods_missing: gang {} has {} of {n} pods, created at {} different times",
                gang_id(k),
                members.len(),
                times.len()
            ));
        }
        let (_, wl, _, _) = k;
        let submit = created[members[0]].max(workload_at[wl.as_str()]);
        let pods = members
            .iter()
            .map(|p| {
                Ok(PodRequest {
                    constraints: None,
                    cpu_milli: requests_cpu(&pod(p).requests, p)?,
                    memory_mib: 0,
                    gpu: GpuRequest::None,
                    gpu_models: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        jobs.push(JobSpec {
            id: gang_id(k),
            submit,
            duration: FOREVER,
            pods,
            priority: 0,
            queue: None,
        });
    }
    let mut nodes = Vec::new();
    for n in &fx.nodes {
        nodes.push(NodeSpec {
            taints: Vec::new(),
            name: n.name.clone(),
            pool: "fidelity".into(),
            cpu_milli: requests_cpu(&n.capacity, &n.name)?,
            memory_mib: 0,
            gpus: 0,
            gpu_model: None,
            gpu_memory_mib: 0,
            rack: 0,
            labels: BTreeMap::new(),
        });
    }
    let mut w = Workload { jobs };
    w.sort_by_submit();
    let r = match run(ClusterSpec { nodes }, w, &config(end), None) {
        Ok(r) => r,
        Err(e) => return Ok(Outcome::Fail(format!("run failed: {e}"))),
    };
    let mut diffs = Vec::new();
    // A deletion is a job's end: it must have started when created.
    for (p, t, d) in deletions {
        let j = record(&r, p);
        if j.start != Some(t) {
            diffs.push(format!(
                "{p} must run from its creation ({}s) to its deletion ({}s): starts {}",
                t.as_secs_f64(),
                d.as_secs_f64(),
                secs(j.start)
            ));
        }
    }
    for (step, check, from, to) in &checks {
        let pods = match check {
            Check::Gated(p) | Check::Scheduled(p) | Check::Unschedulable(p) => *p,
        };
        for p in pods {
            let Some(id) = job_of.get(p.as_str()) else {
                diffs.push(format!("{step:?}: pod {p:?} was never created"));
                continue;
            };
            let j = record(&r, id);
            let started = j.start.is_some_and(|s| s < *to);
            let ok = match check {
                // Not submitted before the window ends (by construction: see the README).
                Check::Gated(_) => j.submit >= *to,
                Check::Scheduled(_) => started,
                // Not started, and its reservations released (a Permit rejection) in the
                // window.
                Check::Unschedulable(_) => {
                    !started && first_release(j).is_some_and(|t| t >= *from && t < *to)
                }
            };
            if !ok {
                diffs.push(format!(
                    "{step:?} [{}s, {}s): {p} (job {id}) submitted {}s, starts {}, first released {}",
                    from.as_secs_f64(),
                    to.as_secs_f64(),
                    j.submit.as_secs_f64(),
                    secs(j.start),
                    secs(first_release(j))
                ));
            }
        }
    }
    Ok(if diffs.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(diffs.join("; "))
    })
}

// ---------------------------------------------------------------------------------------
// One test per file.

fn finish<C>(
    suite: &str,
    file: &SuiteFile<Fixtures, C>,
    results: Vec<(String, Outcome)>,
) -> Report {
    let mut report = Report::new(suite, file);
    for (name, o) in results {
        report.push(&name, o);
    }
    report
}

/// Every file's report, in upstream order.
pub fn reports() -> Vec<Report> {
    vec![
        is_schedulable_after_pod_added(),
        is_schedulable_after_workload_added(),
        gang_scheduling_flow(),
        integration_gang_scheduling(),
    ]
}

fn check(r: Report) {
    println!("{}", r.row());
    r.check();
}

#[test]
fn test_is_schedulable_after_pod_added() {
    check(is_schedulable_after_pod_added());
}

#[test]
fn test_is_schedulable_after_workload_added() {
    check(is_schedulable_after_workload_added());
}

#[test]
fn test_gang_scheduling_flow() {
    check(gang_scheduling_flow());
}

#[test]
fn test_integration_gang_scheduling() {
    check(integration_gang_scheduling());
}

/// What every case type of this suite shares.
trait CaseMeta {
    fn meta(&self) -> (&str, u32, &[String], &Option<String>);
}

macro_rules! case_meta {
    ($($t:ty),*) => {$(
        impl CaseMeta for $t {
            fn meta(&self) -> (&str, u32, &[String], &Option<String>) {
                (&self.name, self.line, &self.features, &self.notes)
            }
        }
    )*};
}
case_meta!(HintPodCase, HintWorkloadCase, FlowCase, IntegrationCase);

/// Load one file and judge each case with `ask` (not called for a case not modelled).
fn run_suite<C: CaseMeta + for<'de> serde::Deserialize<'de>>(
    rel: &str,
    suite: &str,
    check_fixtures: impl Fn(&Fixtures),
    ask: impl Fn(&Fixtures, &C) -> Result<Outcome, String>,
) -> Report {
    let file: SuiteFile<Fixtures, C> = load(rel);
    check_fixtures(&file.fixtures);
    let results = file
        .cases
        .iter()
        .map(|c| {
            let (name, line, features, notes) = c.meta();
            check_line(name, line);
            let o = judge(name, features, notes, || ask(&file.fixtures, c));
            (name.to_string(), o)
        })
        .collect();
    finish(suite, &file, results)
}

fn hint_not_modelled<C>(_: &Fixtures, _: &C) -> Result<Outcome, String> {
    Err("a queueing hint case must be tagged queueing_hint".into())
}

fn is_schedulable_after_pod_added() -> Report {
    run_suite::<HintPodCase>(
        "kubernetes/is_schedulable_after_pod_added.yaml",
        "kubernetes (Pod/Add hint)",
        |_| {},
        hint_not_modelled,
    )
}

fn is_schedulable_after_workload_added() -> Report {
    run_suite::<HintWorkloadCase>(
        "kubernetes/is_schedulable_after_workload_added.yaml",
        "kubernetes (Workload/Add hint)",
        |_| {},
        hint_not_modelled,
    )
}

fn gang_scheduling_flow() -> Report {
    run_suite(
        "kubernetes/gang_scheduling_flow.yaml",
        "kubernetes (plugin flow)",
        |_| {},
        run_flow,
    )
}

fn integration_gang_scheduling() -> Report {
    run_suite(
        "kubernetes/integration_gang_scheduling.yaml",
        "kubernetes (integration)",
        |f| {
            assert!(
                f.scheduling_timeout_s.is_some(),
                "the integration test overrides the deadline; record it"
            )
        },
        run_integration,
    )
}
