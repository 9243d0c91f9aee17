//! Fidelity cases for coscheduling (see scenarios/fidelity/README.md, "Coscheduling"):
//! scheduler-plugins' Coscheduling unit and integration tests, run against Orrery's
//! `coscheduling` policy.
//!
//! Permit and PostFilter are asked directly of the rules the simulator runs
//! (`CoschedulingArgs::permit_allows`, `CoschedulingArgs::post_filter_rejects`). QueueSort
//! and the integration tests are small simulations whose outcome shows the decision: which
//! group takes a node first, which pods are bound in time, what timestamp a queued pod
//! sorts by.

use std::collections::{BTreeMap, BTreeSet};

use models::dra::Quantity;
use models::scheduler::CoschedulingArgs;
use models::sim::{ClusterSim, Event};
use models::{
    ClusterSpec, JobSpec, NodeSpec, PodRequest, PolicyKind, RunConfig, RunResult, Workload, run,
};
use serde::Deserialize;
use sim_core::{Chooser, RngStreams, SimDuration, SimTime, Simulation, StopAt};

use super::common::{Outcome, Report, SuiteFile, load};

// ---------------------------------------------------------------------------------------
// The data (scenarios/fidelity/README.md, "Coscheduling").

#[derive(Debug, Default, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct Fixtures {
    #[serde(default)]
    nodes: Vec<Node>,
    schedule_timeout_s: Option<u64>,
    reject_percentage: Option<u32>,
    backoff_s: Option<u64>,
    #[serde(default)]
    pod_groups: Vec<PodGroup>,
    #[serde(default)]
    pods: Vec<Pod>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Node {
    name: String,
    capacity: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct PodGroup {
    name: String,
    namespace: String,
    #[serde(default)]
    min_member: u32,
    created_s: Option<i64>,
    schedule_timeout_s: Option<u64>,
    #[serde(default)]
    min_resources: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct Pod {
    name: String,
    #[serde(default)]
    namespace: String,
    group: Option<String>,
    #[serde(default)]
    priority: i32,
    queued_s: Option<i64>,
    #[serde(default)]
    requests: BTreeMap<String, String>,
    node: Option<String>,
    #[serde(default)]
    scheduling_gates: Vec<String>,
    phase: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Failure {
    /// `namespace/name`.
    group: String,
    at_s: i64,
    #[serde(default)]
    cleared: bool,
}

#[derive(Debug, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct ClusterResourceCheck {
    pod_group: String,
    min_resources: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct SchemeCheck {
    object: String,
    op: String,
}

#[derive(Debug, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    line: u32,
    features: Vec<String>,
    notes: Option<String>,
    nodes: Option<Vec<Node>>,
    reject_percentage: Option<u32>,
    #[serde(default)]
    pod_groups: Vec<PodGroup>,
    #[serde(default)]
    pods: Vec<Pod>,
    less: Option<[String; 2]>,
    #[serde(default)]
    failures: Vec<Failure>,
    sort_time_of: Option<String>,
    permit: Option<String>,
    post_filter: Option<String>,
    pre_filter: Option<String>,
    check_cluster_resource: Option<ClusterResourceCheck>,
    scheme: Option<SchemeCheck>,
    get_pod_group: Option<String>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct Status {
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    rejected: Option<bool>,
    code: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct GroupRef {
    name: String,
    min_member: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SortTime {
    Creation,
    AfterCreation,
}

#[derive(Debug, Deserialize)]
// Some fields record upstream facts no runner path reads (the case is not modelled).
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct Expect {
    less: Option<bool>,
    sort_time: Option<SortTime>,
    permit: Option<String>,
    activated: Option<Vec<String>>,
    post_filter: Option<Status>,
    pre_filter: Option<Status>,
    cluster_resource_satisfied: Option<bool>,
    registered: Option<bool>,
    pod_group: Option<GroupRef>,
    #[serde(default)]
    scheduled: Vec<String>,
    within_s: Option<u64>,
    #[serde(default)]
    not_scheduled: Vec<String>,
    after_s: Option<u64>,
}

// ---------------------------------------------------------------------------------------
// Feature tags.

/// Tags whose semantics Orrery models.
const MODELLED: &[&str] = &[
    "queue_sort",
    "failure_time",
    "prefilter",
    "permit",
    "postfilter",
    "reject_threshold",
    "timeout",
    "no_pod_group",
    "integration",
];

/// Tags Orrery does not model, with the reason a case using one is not modelled.
const NOT_MODELLED: &[(&str, &str)] = &[
    (
        "failure_clear",
        "Orrery never clears a group's failure time; with minMember = every pod, no pod of \
         an Orrery group is left to sort once its Permit succeeds",
    ),
    (
        "missing_pod_group",
        "a pod whose PodGroup does not exist (every Orrery pod belongs to its job's group)",
    ),
    (
        "min_member_exceeds_pods",
        "fewer pods than minMember (an Orrery group's minMember is its pod count)",
    ),
    (
        "partial_min_member",
        "minMember below the group's pod count (an Orrery group's minMember is its pod count)",
    ),
    ("scheduling_gates", "pod scheduling gates"),
    (
        "min_resources",
        "PodGroup minResources (PreFilter's cluster capacity check)",
    ),
    (
        "pod_group_backoff",
        "podGroupBackoffSeconds (PreFilter denying a group that failed recently)",
    ),
    (
        "activate_siblings",
        "Permit moving a group's siblings to the active queue",
    ),
    (
        "never_fits",
        "a PodGroup larger than the whole cluster (Orrery refuses the workload before the run)",
    ),
    ("completed_pods", "pods of a group that already completed"),
    (
        "api_client",
        "the plugin's API client and its scheme (not scheduling)",
    ),
    ("other", "see the case's notes"),
];

// ---------------------------------------------------------------------------------------
// Times and quantities.

/// Simulated time of the upstream test's `now`: timestamps are `BASE + t` seconds.
const BASE: u64 = 100;
/// An unset timestamp (the zero time): earlier than any set one.
const UNSET: u64 = 10;
/// Pods run (pause containers) far longer than any check looks.
const LONG: u64 = 100_000;

fn at(t: i64) -> Result<SimTime, String> {
    let s = i64::try_from(BASE).map_err(|e| e.to_string())? + t;
    let s = u64::try_from(s).map_err(|_| format!("time {t} s is before the simulation"))?;
    if s <= UNSET {
        return Err(format!("time {t} s is not after the unset time"));
    }
    Ok(SimTime::from_secs(s))
}

fn secs(t: SimTime) -> u64 {
    t.as_nanos() / 1_000_000_000
}

/// A quantity in whole units of `1 / per_unit` (cpu: millicores with 10^6 nanos; memory:
/// bytes with 10^9 nanos).
fn units(q: &str, nanos_per_unit: i128) -> Result<u64, String> {
    let n = Quantity::parse(q)
        .map_err(|e| format!("quantity {q:?}: {e:?}"))?
        .nanos();
    if n % nanos_per_unit != 0 {
        return Err(format!("quantity {q:?} is not a whole unit"));
    }
    u64::try_from(n / nanos_per_unit).map_err(|e| format!("quantity {q:?}: {e}"))
}

/// (cpu millicores, memory) of a resource list. Memory goes into Orrery's MiB field as
/// bytes: only comparisons matter, and they are exact. `pods` (allocatable pod count) is
/// not modelled; the cases never come near it.
fn resources(list: &BTreeMap<String, String>) -> Result<(u64, u64), String> {
    let (mut cpu, mut mem) = (0, 0);
    for (k, v) in list {
        match k.as_str() {
            "cpu" => cpu = units(v, 1_000_000)?,
            "memory" => mem = units(v, 1_000_000_000)?,
            "pods" => {}
            other => return Err(format!("resource {other} is not modelled here")),
        }
    }
    Ok((cpu, mem))
}

fn node_spec(name: &str, cpu_milli: u64, memory: u64) -> NodeSpec {
    NodeSpec {
        taints: Vec::new(),
        name: name.to_string(),
        pool: "fidelity".into(),
        cpu_milli,
        memory_mib: memory,
        gpus: 0,
        gpu_model: None,
        gpu_memory_mib: 0,
        rack: 0,
        labels: BTreeMap::new(),
    }
}

fn cpu_pod(cpu_milli: u64) -> PodRequest {
    PodRequest {
        cpu_milli,
        ..PodRequest::gpus(0)
    }
}

fn job(id: &str, submit: SimTime, duration: u64, pods: Vec<PodRequest>, priority: i32) -> JobSpec {
    JobSpec {
        id: id.to_string(),
        submit,
        duration: SimDuration::from_secs(duration),
        pods,
        priority,
        queue: None,
    }
}

fn config(timeout_s: u64, reject_percentage: u32, horizon_s: u64) -> RunConfig {
    let mut c = RunConfig {
        seed: 1,
        check_invariants: true,
        horizon: Some(SimDuration::from_secs(horizon_s)),
        ..RunConfig::default()
    };
    c.scheduler.policy = PolicyKind::Coscheduling;
    c.scheduler.coscheduling = CoschedulingArgs {
        schedule_timeout: SimDuration::from_secs(timeout_s),
        reject_percentage,
        ..CoschedulingArgs::default()
    };
    c
}

fn simulate(
    nodes: Vec<NodeSpec>,
    mut jobs: Vec<JobSpec>,
    c: &RunConfig,
) -> Result<RunResult, String> {
    jobs.sort_by_key(|j| j.submit);
    run(ClusterSpec { nodes }, Workload { jobs }, c, None).map_err(|e| format!("Orrery: {e}"))
}

fn start(r: &RunResult, id: &str) -> Result<Option<SimTime>, String> {
    r.jobs
        .iter()
        .find(|j| j.id == id)
        .map(|j| j.start)
        .ok_or_else(|| format!("no job {id}"))
}

/// The earlier of two start times (of those that started).
fn first(a: Option<SimTime>, b: Option<SimTime>) -> Option<SimTime> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Did `a` start before `b` (never = after everything)?
fn earlier(a: Option<SimTime>, b: Option<SimTime>) -> Result<bool, String> {
    match (a, b) {
        (Some(x), Some(y)) if x == y => Err(format!("both started at {} s", secs(x))),
        (Some(x), Some(y)) => Ok(x < y),
        (Some(_), None) => Ok(true),
        (None, Some(_)) => Ok(false),
        (None, None) => Err("neither started".into()),
    }
}

// ---------------------------------------------------------------------------------------
// One case's world: the fixtures' objects and the case's.

struct World<'a> {
    nodes: &'a [Node],
    groups: Vec<&'a PodGroup>,
    pods: Vec<&'a Pod>,
    reject_percentage: u32,
    timeout_s: Option<u64>,
}

impl<'a> World<'a> {
    fn new(f: &'a Fixtures, c: &'a Case) -> World<'a> {
        World {
            nodes: c.nodes.as_deref().unwrap_or(&f.nodes),
            groups: f.pod_groups.iter().chain(&c.pod_groups).collect(),
            pods: f.pods.iter().chain(&c.pods).collect(),
            reject_percentage: c
                .reject_percentage
                .or(f.reject_percentage)
                .unwrap_or(CoschedulingArgs::default().reject_percentage),
            timeout_s: f.schedule_timeout_s,
        }
    }

    fn pod(&self, name: &str) -> Result<&'a Pod, String> {
        let mut it = self.pods.iter().filter(|p| p.name == name);
        match (it.next(), it.next()) {
            (Some(p), None) => Ok(p),
            (None, _) => Err(format!("no pod {name}")),
            _ => Err(format!("two pods named {name}")),
        }
    }

    /// The PodGroup a pod's label names, in the pod's namespace (None: no label, or no
    /// such PodGroup).
    fn group_of(&self, p: &Pod) -> Option<&'a PodGroup> {
        let g = p.group.as_deref()?;
        self.groups
            .iter()
            .copied()
            .find(|pg| pg.name == g && pg.namespace == p.namespace)
    }

    /// Pods of `pg`, in list order.
    fn members(&self, pg: &PodGroup) -> Vec<&'a Pod> {
        self.pods
            .iter()
            .copied()
            .filter(|p| p.group.as_deref() == Some(pg.name.as_str()) && p.namespace == pg.namespace)
            .collect()
    }

    /// Upstream's assigned count for `pg`: its pods with a node, `p` left out.
    fn assigned(&self, pg: &PodGroup, p: &Pod) -> u64 {
        self.members(pg)
            .iter()
            .filter(|q| q.node.is_some() && !std::ptr::eq(**q, p))
            .count() as u64
    }

    /// (assigned, minMember) as Orrery sees the pod's group: a pod without group is a
    /// PodGroup of one with nothing assigned.
    fn quorum(&self, p: &Pod) -> Result<(u64, u64), String> {
        match (&p.group, self.group_of(p)) {
            (None, _) => Ok((0, 1)),
            (Some(g), None) => Err(format!(
                "PodGroup {g} does not exist: tag missing_pod_group"
            )),
            (Some(_), Some(pg)) => Ok((self.assigned(pg, p), u64::from(pg.min_member))),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Permit and PostFilter: the rules the simulator runs.

fn check_permit(w: &World, pod: &str, want: &str) -> Result<(), String> {
    let p = w.pod(pod)?;
    let (assigned, min) = w.quorum(p)?;
    // The pod at Permit is assigned too.
    let got = if CoschedulingArgs::permit_allows(assigned + 1, min) {
        "Success"
    } else {
        "Wait"
    };
    // The plugin turns the manager's PodGroupNotSpecified into Success.
    let want = match want {
        "Success" | "PodGroupNotSpecified" => "Success",
        "Wait" => "Wait",
        other => {
            return Err(format!(
                "Permit expectation {other} has no Orrery counterpart"
            ));
        }
    };
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "Permit: want {want}, Orrery {got} ({} of {min} assigned)",
            assigned + 1
        ))
    }
}

fn check_post_filter(w: &World, pod: &str, want: &Status) -> Result<(), String> {
    let p = w.pod(pod)?;
    let (assigned, min) = w.quorum(p)?;
    let args = CoschedulingArgs {
        reject_percentage: w.reject_percentage,
        ..CoschedulingArgs::default()
    };
    let got = args.post_filter_rejects(assigned, min);
    let want = want
        .rejected
        .ok_or("post_filter expectation without `rejected`")?;
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "PostFilter: want rejected={want}, Orrery rejects={got} ({assigned} of {min} \
             assigned, reject percentage {})",
            w.reject_percentage
        ))
    }
}

// ---------------------------------------------------------------------------------------
// QueueSort: which of two groups takes the node first.

/// A pod under QueueSort as Orrery runs it: its group (or itself, as a group of one).
struct Contender {
    id: String,
    priority: i32,
    /// Sort time: the PodGroup's creation, or the pod's own timestamp without group.
    arrive: SimTime,
    size: u32,
    group: Option<String>,
}

fn contender(w: &World, pod: &str) -> Result<Contender, String> {
    let p = w.pod(pod)?;
    Ok(match w.group_of(p) {
        Some(pg) => Contender {
            id: format!("{}/{}", pg.namespace, pg.name),
            priority: p.priority,
            arrive: match pg.created_s {
                Some(t) => at(t)?,
                None => SimTime::from_secs(UNSET),
            },
            size: pg.min_member.max(1),
            group: Some(format!("{}/{}", pg.namespace, pg.name)),
        },
        // Upstream's QueueSort falls back to the pod's own timestamp (a nil one is never
        // read: in those cases the priorities differ).
        None => Contender {
            id: format!("{}/{}", p.namespace, p.name),
            priority: p.priority,
            arrive: match p.queued_s {
                Some(t) => at(t)?,
                None => SimTime::from_secs(BASE),
            },
            size: 1,
            group: None,
        },
    })
}

fn contender_job(c: &Contender) -> JobSpec {
    job(
        &c.id,
        c.arrive,
        10,
        vec![cpu_pod(1000); c.size as usize],
        c.priority,
    )
}

/// Less(a, b) with no failure marked: a blocker holds the only node (room for the larger
/// group, one cpu a pod) until 150 s; both groups arrive meanwhile, fail (their failure
/// time is their arrival) and wait; when the node frees, the group QueueSort puts first
/// takes it and starts at 150 s, the other cannot fit beside it.
fn less_plain(w: &World, a: &Contender, b: &Contender) -> Result<bool, String> {
    const FREE: u64 = 150;
    for c in [a, b] {
        if secs(c.arrive) >= FREE {
            return Err(format!("{} arrives after the blocker ends", c.id));
        }
    }
    let cap = u64::from(a.size.max(b.size)) * 1000;
    let jobs = vec![
        job("blocker", SimTime::ZERO, FREE, vec![cpu_pod(cap)], 0),
        contender_job(a),
        contender_job(b),
    ];
    let r = simulate(
        vec![node_spec("node", cap, 0)],
        jobs,
        &config(w.timeout_s.unwrap_or(60), w.reject_percentage, 1000),
    )?;
    let (sa, sb) = (start(&r, &a.id)?, start(&r, &b.id)?);
    if first(sa, sb) != Some(SimTime::from_secs(FREE)) {
        return Err(format!(
            "the scenario did not play out: starts {:?} / {:?}",
            sa.map(secs),
            sb.map(secs)
        ));
    }
    earlier(sa, sb)
}

/// The set-up in which group `failed` (of `m` pods) waits at Permit from its creation
/// until `fail_at`: the node has room for 2m-2 pods, a blocker holds m-1 of it, so the
/// group places m-1 pods and waits (reject percentage 100: PostFilter keeps them); its
/// Permit deadline, set to `fail_at`, rejects them there and records the failure.
fn waiting_setup(
    failed: &Contender,
    fail_at: SimTime,
    blocker_until: u64,
) -> Result<(Vec<NodeSpec>, Vec<JobSpec>, RunConfig), String> {
    let m = u64::from(failed.size);
    if m < 2 {
        return Err("a failed group needs two or more pods to wait at Permit".into());
    }
    if fail_at <= failed.arrive {
        return Err("the failure is marked before the group exists".into());
    }
    let timeout = secs(fail_at) - secs(failed.arrive);
    let nodes = vec![node_spec("node", (2 * m - 2) * 1000, 0)];
    let jobs = vec![
        job(
            "blocker",
            SimTime::ZERO,
            blocker_until,
            vec![cpu_pod((m - 1) * 1000)],
            0,
        ),
        contender_job(failed),
    ];
    Ok((nodes, jobs, config(timeout, 100, 1000)))
}

/// Less(a, b) after one group's failure at `fail_at`: the failed group waits at Permit
/// (see `waiting_setup`) while the other, created later, finds no room and waits in the
/// queue. At `fail_at` the deadline rejects the failed group and the blocker ends: the
/// node (2m-2) fits one group of m; the group QueueSort puts first takes it.
fn less_after_failure(a: &Contender, b: &Contender, failure: &Failure) -> Result<bool, String> {
    let (failed, other) = match (&a.group, &b.group) {
        (Some(g), _) if *g == failure.group => (a, b),
        (_, Some(g)) if *g == failure.group => (b, a),
        _ => return Err(format!("{} is neither pod's group", failure.group)),
    };
    if failed.size != other.size {
        return Err("the set-up needs groups of the same size".into());
    }
    let fail_at = at(failure.at_s)?;
    if !(failed.arrive < other.arrive && other.arrive < fail_at) {
        return Err(
            "the set-up needs the failed group created first, both before the failure".into(),
        );
    }
    let (nodes, mut jobs, c) = waiting_setup(failed, fail_at, secs(fail_at))?;
    jobs.push(contender_job(other));
    let r = simulate(nodes, jobs, &c)?;
    let (sa, sb) = (start(&r, &a.id)?, start(&r, &b.id)?);
    if first(sa, sb) != Some(fail_at) {
        return Err(format!(
            "the scenario did not play out: starts {:?} / {:?}",
            sa.map(secs),
            sb.map(secs)
        ));
    }
    earlier(sa, sb)
}

fn check_less(w: &World, c: &Case, pair: &[String; 2]) -> Result<(), String> {
    let want = c.expect.less.ok_or("less without expect.less")?;
    let (a, b) = (contender(w, &pair[0])?, contender(w, &pair[1])?);
    if a.id == b.id {
        return Err("both pods sort as the same group".into());
    }
    let got = match c.failures.as_slice() {
        [] => less_plain(w, &a, &b)?,
        [f] if !f.cleared => less_after_failure(&a, &b, f)?,
        _ => return Err("only one uncleared failure can be set up".into()),
    };
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "Less({}, {}): want {want}, Orrery {got}",
            pair[0], pair[1]
        ))
    }
}

/// The QueueSort timestamp of `pod`'s group, read from the simulator's pod queue at the
/// close of the instant it arrives (no failure) or of the failure (its Permit deadline).
fn check_sort_time(w: &World, c: &Case, pod: &str) -> Result<(), String> {
    let want = c
        .expect
        .sort_time
        .as_ref()
        .ok_or("sort_time_of without expect.sort_time")?;
    let g = contender(w, pod)?;
    if g.group.is_none() {
        return Err(format!("{pod} has no PodGroup"));
    }
    let (read_at, setup) = match c.failures.as_slice() {
        [] => (
            g.arrive,
            waiting_setup(&g, SimTime::from_secs(LONG / 2), LONG)?,
        ),
        [f] if !f.cleared && Some(&f.group) == g.group.as_ref() => {
            let t = at(f.at_s)?;
            (t, waiting_setup(&g, t, LONG)?)
        }
        _ => return Err("only one uncleared failure of the pod's group can be set up".into()),
    };
    let (nodes, mut jobs, cfg) = setup;
    jobs.sort_by_key(|j| j.submit);
    let index = jobs
        .iter()
        .position(|j| j.id == g.id)
        .ok_or("the group's job is missing")? as u32;
    let mut model = ClusterSim::new(ClusterSpec { nodes }, Workload { jobs }, &cfg)
        .map_err(|e| format!("Orrery: {e}"))?;
    let streams = RngStreams::new(cfg.seed);
    let mut sim = Simulation::new(Chooser::new(cfg.chooser.clone(), &streams));
    for (i, j) in model.workload.jobs.iter().enumerate() {
        sim.schedule_at(j.submit, Event::Submit(i as u32));
    }
    let stop = StopAt {
        horizon: read_at + SimDuration::from_secs(1),
        max_events: 1_000_000,
    };
    let mut seen: Option<BTreeSet<SimTime>> = None;
    sim.run_probed(&mut model, stop, |p, m: &ClusterSim| {
        if p.instant_closed && p.now == read_at {
            seen = Some(
                m.state
                    .pod_queue
                    .iter()
                    .filter(|k| k.job == index)
                    .map(|k| k.ts)
                    .collect(),
            );
        }
        true
    });
    let ts = match seen.map(|s| s.into_iter().collect::<Vec<_>>()).as_deref() {
        Some([t]) => *t,
        other => {
            return Err(format!(
                "expected one queued timestamp of the group, saw {other:?}"
            ));
        }
    };
    let ok = match want {
        SortTime::Creation => ts == g.arrive,
        SortTime::AfterCreation => ts > g.arrive,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "sort time: want {want:?}, Orrery sorts by {} s (created {} s)",
            secs(ts),
            secs(g.arrive)
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Whole runs: the case's objects as Orrery jobs.

/// The case's nodes.
fn nodes(w: &World) -> Result<Vec<NodeSpec>, String> {
    w.nodes
        .iter()
        .map(|n| {
            let (cpu, mem) = resources(&n.capacity)?;
            Ok(node_spec(&n.name, cpu, mem))
        })
        .collect()
}

/// Every pod as Orrery jobs submitted at `BASE`: a PodGroup is one job of its pods (its
/// minMember must be its pod count), groups ordered by their first pod's name (upstream
/// breaks equal timestamps by pod name), then each pod without group as a job of one.
/// Returns the jobs and each pod's job id.
fn jobs(w: &World) -> Result<(Vec<JobSpec>, BTreeMap<String, String>), String> {
    let mut of = BTreeMap::new();
    let mut groups: Vec<(String, JobSpec)> = Vec::new();
    for pg in &w.groups {
        let members = w.members(pg);
        if members.is_empty() {
            continue;
        }
        if members.len() != pg.min_member as usize {
            return Err(format!(
                "{} has {} pods for minMember {}: tag it",
                pg.name,
                members.len(),
                pg.min_member
            ));
        }
        let priority = members[0].priority;
        if members.iter().any(|p| p.priority != priority) {
            return Err(format!("{}'s pods have different priorities", pg.name));
        }
        let id = format!("{}/{}", pg.namespace, pg.name);
        let mut pods = Vec::new();
        for p in &members {
            let (cpu, mem) = resources(&p.requests)?;
            pods.push(PodRequest {
                cpu_milli: cpu,
                memory_mib: mem,
                ..PodRequest::gpus(0)
            });
            of.insert(p.name.clone(), id.clone());
        }
        let first = members
            .iter()
            .map(|p| p.name.clone())
            .min()
            .unwrap_or_default();
        groups.push((
            first,
            job(&id, SimTime::from_secs(BASE), LONG, pods, priority),
        ));
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<JobSpec> = groups.into_iter().map(|(_, j)| j).collect();
    for p in &w.pods {
        if p.node.is_some() || p.phase.is_some() || !p.scheduling_gates.is_empty() {
            return Err(format!("{} is assigned, finished or gated: tag it", p.name));
        }
        match (&p.group, w.group_of(p)) {
            (Some(g), None) => return Err(format!("PodGroup {g} does not exist: tag it")),
            (Some(_), Some(_)) => {}
            (None, _) => {
                let id = format!("{}/{}", p.namespace, p.name);
                let (cpu, mem) = resources(&p.requests)?;
                let req = PodRequest {
                    cpu_milli: cpu,
                    memory_mib: mem,
                    ..PodRequest::gpus(0)
                };
                out.push(job(
                    &id,
                    SimTime::from_secs(BASE),
                    LONG,
                    vec![req],
                    p.priority,
                ));
                of.insert(p.name.clone(), id);
            }
        }
    }
    Ok((out, of))
}

/// The Permit deadline: every group's scheduleTimeoutSeconds (they must agree), else the
/// plugin's.
fn timeout(w: &World) -> Result<u64, String> {
    let set: BTreeSet<u64> = w
        .groups
        .iter()
        .filter_map(|g| g.schedule_timeout_s)
        .collect();
    match set.len() {
        0 => Ok(w.timeout_s.unwrap_or(60)),
        1 => Ok(set.into_iter().next().unwrap_or(60)),
        _ => Err("PodGroups with different timeouts".into()),
    }
}

fn whole_run(
    w: &World,
    horizon_after_base: u64,
) -> Result<(RunResult, BTreeMap<String, String>), String> {
    let (jobs, of) = jobs(w)?;
    let c = config(
        timeout(w)?,
        w.reject_percentage,
        BASE + horizon_after_base + 1,
    );
    Ok((simulate(nodes(w)?, jobs, &c)?, of))
}

/// PreFilter succeeded if the pod got through to a node. (Orrery has no PreFilter denial:
/// its groups always have minMember pods.)
fn check_pre_filter(w: &World, pod: &str, want: &Status) -> Result<(), String> {
    if want.success != Some(true) {
        return Err("Orrery has no PreFilter denial to compare".into());
    }
    let (r, of) = whole_run(w, 10)?;
    let id = of.get(pod).ok_or_else(|| format!("no pod {pod}"))?;
    match start(&r, id)? {
        Some(t) if t == SimTime::from_secs(BASE) => Ok(()),
        other => Err(format!(
            "{pod} was not placed at once (start {:?})",
            other.map(secs)
        )),
    }
}

fn check_integration(w: &World, e: &Expect) -> Result<(), String> {
    let within = e.within_s.unwrap_or(0);
    let after = e.after_s.unwrap_or(0);
    let (r, of) = whole_run(w, within.max(after))?;
    let mut wrong = Vec::new();
    for p in &e.scheduled {
        let id = of.get(p).ok_or_else(|| format!("no pod {p}"))?;
        match start(&r, id)? {
            Some(t) if secs(t) <= BASE + within => {}
            other => wrong.push(format!(
                "{p} not bound by {within} s ({:?})",
                other.map(secs)
            )),
        }
    }
    for p in &e.not_scheduled {
        let id = of.get(p).ok_or_else(|| format!("no pod {p}"))?;
        if let Some(t) = start(&r, id)?
            && secs(t) <= BASE + after
        {
            wrong.push(format!("{p} bound at {} s", secs(t) - BASE));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

// ---------------------------------------------------------------------------------------
// The cases.

fn run_case(f: &Fixtures, c: &Case) -> Outcome {
    for t in &c.features {
        assert!(
            MODELLED.contains(&t.as_str()) || NOT_MODELLED.iter().any(|(n, _)| n == t),
            "case {:?} (line {}): unknown feature tag {t:?}",
            c.name,
            c.line
        );
    }
    let missing: Vec<String> = NOT_MODELLED
        .iter()
        .filter(|(n, _)| c.features.iter().any(|t| t == n))
        .map(|(n, why)| format!("{n}: {why}"))
        .collect();
    if !missing.is_empty() {
        return Outcome::NotModelled(missing.join("; "));
    }
    let w = World::new(f, c);
    let e = &c.expect;
    let result = if let Some(pair) = &c.less {
        check_less(&w, c, pair)
    } else if let Some(p) = &c.sort_time_of {
        check_sort_time(&w, c, p)
    } else if let Some(p) = &c.permit {
        match &e.permit {
            Some(want) => check_permit(&w, p, want),
            None => Err("permit without expect.permit".into()),
        }
    } else if let Some(p) = &c.post_filter {
        match &e.post_filter {
            Some(want) => check_post_filter(&w, p, want),
            None => Err("post_filter without expect.post_filter".into()),
        }
    } else if let Some(p) = &c.pre_filter {
        match &e.pre_filter {
            Some(want) => check_pre_filter(&w, p, want),
            None => Err("pre_filter without expect.pre_filter".into()),
        }
    } else if !e.scheduled.is_empty() || !e.not_scheduled.is_empty() {
        check_integration(&w, e)
    } else {
        Err("the case names no decision the runner can check".into())
    };
    match result {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(why),
    }
}

const FILES: [&str; 14] = [
    "coscheduling_test.TestPodGroupBackoffTime.yaml",
    "coscheduling_test.TestLess.yaml",
    "coscheduling_test.TestPermit.yaml",
    "coscheduling_test.TestLessAfterScheduleFailure.yaml",
    "coscheduling_test.TestPostFilter.yaml",
    "coscheduling_test.TestPostFilterRejectThreshold.yaml",
    "core_test.TestPreFilter.yaml",
    "core_test.TestPermit.yaml",
    "core_test.TestCheckClusterResource.yaml",
    "core_test.TestMarkAndClearPodGroupScheduleFailure.yaml",
    "core_test.TestSchemeRestriction.yaml",
    "integration_coscheduling_test.TestCoschedulingPlugin.yaml",
    "integration_coscheduling_test.TestPodCompleted.yaml",
    "integration_coscheduling_test.TestPodgroupBackoff.yaml",
];

/// Every file's report, in upstream file order.
pub fn reports() -> Vec<Report> {
    FILES.iter().map(|f| report(f)).collect()
}

fn suite(rel: &str) {
    let report = report(rel);
    report.check();
    println!("{}", report.row());
}

fn report(rel: &str) -> Report {
    let file: SuiteFile<Fixtures, Case> = load(&format!("coscheduling/{rel}"));
    let mut report = Report::new("coscheduling", &file);
    let mut last = 0;
    for c in &file.cases {
        assert!(
            c.line > last,
            "{rel}: case {:?} is out of upstream order",
            c.name
        );
        last = c.line;
        report.push(&c.name, run_case(&file.fixtures, c));
    }
    report
}

#[test]
fn coscheduling_test_pod_group_backoff_time() {
    suite("coscheduling_test.TestPodGroupBackoffTime.yaml");
}

#[test]
fn coscheduling_test_less() {
    suite("coscheduling_test.TestLess.yaml");
}

#[test]
fn coscheduling_test_permit() {
    suite("coscheduling_test.TestPermit.yaml");
}

#[test]
fn coscheduling_test_less_after_schedule_failure() {
    suite("coscheduling_test.TestLessAfterScheduleFailure.yaml");
}

#[test]
fn coscheduling_test_post_filter() {
    suite("coscheduling_test.TestPostFilter.yaml");
}

#[test]
fn coscheduling_test_post_filter_reject_threshold() {
    suite("coscheduling_test.TestPostFilterRejectThreshold.yaml");
}

#[test]
fn core_test_pre_filter() {
    suite("core_test.TestPreFilter.yaml");
}

#[test]
fn core_test_permit() {
    suite("core_test.TestPermit.yaml");
}

#[test]
fn core_test_check_cluster_resource() {
    suite("core_test.TestCheckClusterResource.yaml");
}

#[test]
fn core_test_mark_and_clear_pod_group_schedule_failure() {
    suite("core_test.TestMarkAndClearPodGroupScheduleFailure.yaml");
}

#[test]
fn core_test_scheme_restriction() {
    suite("core_test.TestSchemeRestriction.yaml");
}

#[test]
fn integration_coscheduling_plugin() {
    suite("integration_coscheduling_test.TestCoschedulingPlugin.yaml");
}

#[test]
fn integration_pod_completed() {
    suite("integration_coscheduling_test.TestPodCompleted.yaml");
}

#[test]
fn integration_podgroup_backoff() {
    suite("integration_coscheduling_test.TestPodgroupBackoff.yaml");
}
