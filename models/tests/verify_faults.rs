//! `verify` over faults: listed node events as ordinary (reorderable) events, failures as
//! a choice point (`ExploreOptions::failures`); seeded failures and network runs are in
//! `verify_network.rs`. Every case is small enough to derive by hand.

use std::collections::BTreeMap;

use models::verify::{
    ExploreOptions, Mode, Problem, Verdict, ViolationKind, Witness, explore, replay, shrink,
};
use models::{
    ClusterSpec, FaultConfig, JobSpec, NodeAction, NodeEventSpec, NodeSpec, PodRequest, PolicyKind,
    RunConfig, Workload,
};
use sim_core::{SimDuration, SimTime};

fn cluster(nodes: u32) -> ClusterSpec {
    ClusterSpec {
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                taints: Vec::new(),
                name: format!("node-{i}"),
                pool: "gpu".into(),
                cpu_milli: 32_000,
                memory_mib: 256 * 1024,
                gpus: 1,
                gpu_model: Some("H100".into()),
                gpu_memory_mib: 81_920,
                rack: 0,
                labels: BTreeMap::new(),
            })
            .collect(),
    }
}

fn job(id: &str, pods: u32, submit_s: u64, duration_s: u64) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::ZERO + SimDuration::from_secs(submit_s),
        duration: SimDuration::from_secs(duration_s),
        pods: (0..pods).map(|_| PodRequest::gpus(1)).collect(),
        priority: 0,
        queue: None,
    }
}

fn problem(nodes: u32, jobs: Vec<JobSpec>, faults: Option<FaultConfig>) -> Problem {
    let mut config = RunConfig {
        check_invariants: true,
        faults,
        ..RunConfig::default()
    };
    config.scheduler.policy = PolicyKind::Default;
    Problem {
        name: "test".into(),
        spec: cluster(nodes),
        workload: Workload { jobs },
        config,
    }
}

fn event(at_s: u64, node: u32, action: NodeAction) -> NodeEventSpec {
    NodeEventSpec {
        at: SimTime::ZERO + SimDuration::from_secs(at_s),
        node,
        action,
    }
}

fn exhaustive() -> Mode {
    Mode::Exhaustive {
        max_schedules: 100_000,
        max_depth: None,
    }
}

const QUIET: &(dyn Fn(u64, u64) + Sync) = &|_, _| {};

/// The kube-scheduler case of `docs/verify.md` §8 with a spare node: A and B, 2 pods of
/// 1 GPU each, arrive at 10 s on 3 nodes × 1 GPU; C (1 pod, 5 s) runs at 0 s so that
/// there are instants before A and B arrive. With 3 GPUs two 2-pod jobs cannot
/// deadlock (of any 3 pods placed, one job has both), so without failures: VERIFIED.
fn spare_node() -> Problem {
    problem(
        3,
        vec![
            job("C", 1, 0, 5),
            job("A", 2, 10, 100),
            job("B", 2, 10, 100),
        ],
        None,
    )
}

#[test]
fn a_spare_node_makes_two_gangs_safe_without_failures() {
    let p = spare_node();
    let e = explore(&p, &ExploreOptions::default(), &exhaustive(), QUIET).unwrap();
    assert!(e.deadlock.is_verified(), "{:?}", e.deadlock);
    assert!(e.livelock.is_verified(), "{:?}", e.livelock);
}

/// One injected failure of a node that never comes back, before A and B arrive, leaves
/// them 2 GPUs: the interleaving a1, b1 deadlocks them (§8's case). The explorer finds
/// it; depth first, the last instant before the arrivals (C's completion at 5 s) has its
/// alternatives tried first, and of the three Ready nodes the first (node-0).
#[test]
fn one_permanent_failure_is_enough_to_deadlock_and_the_witness_replays_it() {
    let p = spare_node();
    let opts = ExploreOptions {
        failures: 1,
        ..ExploreOptions::default()
    };
    let e = explore(&p, &opts, &exhaustive(), QUIET).unwrap();
    assert_eq!(e.deadlock, Verdict::Violation);
    let f = e.deadlock_found.clone().unwrap();
    assert_eq!(f.violation.kind, ViolationKind::Deadlock);
    assert_eq!(f.violation.jobs, vec!["A", "B"]);
    assert_eq!(f.violation.time, SimTime::ZERO + SimDuration::from_secs(10));
    let inj = &f.violation.injected_failures;
    assert_eq!(inj.len(), 1, "{inj:?}");
    assert_eq!(inj[0].node, "node-0");
    assert_eq!(inj[0].time, SimTime::ZERO + SimDuration::from_secs(5));
    assert!(
        f.violation
            .detail
            .ends_with("after injected failure: node node-0 at t=5s"),
        "{}",
        f.violation.detail
    );
    // The witness (problem, options with the failure budget, choice list) replays it.
    let w = Witness::new(&p, &opts, &f);
    let (r, same) = replay(&w).unwrap();
    assert!(same, "{r:?}");
    assert_eq!(r.violation.unwrap().injected_failures, *inj);
    // Through JSON too (the options' failure fields are written).
    let w2: Witness = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
    assert_eq!(w2, w);
    assert!(replay(&w2).unwrap().1);
}

/// The shrinker keeps the failure budget in the witness's options: the minimal witness
/// replays. C goes (the start of the run, t = 0, is already an instant at which a node
/// can fail, before A and B arrive); no node can go: on 2 nodes A alone dies with a node
/// that never comes back (it does not run alone, so the candidate is not a contention
/// violation). Left: A and B on 3 nodes, node-0 failed at 0 s.
#[test]
fn the_shrunk_witness_keeps_the_injected_failure_and_replays() {
    let p = spare_node();
    let opts = ExploreOptions {
        failures: 1,
        ..ExploreOptions::default()
    };
    let e = explore(&p, &opts, &exhaustive(), QUIET).unwrap();
    let f = e.deadlock_found.unwrap();
    let s = shrink(&p, &opts, ViolationKind::Deadlock, &f);
    assert_eq!((s.jobs, s.nodes), (2, 3), "{s:?}");
    assert_eq!(s.witness.options.failures, 1);
    let inj = &s.found.violation.injected_failures;
    assert_eq!(inj.len(), 1);
    assert_eq!(
        (inj[0].node.as_str(), inj[0].time),
        ("node-0", SimTime::ZERO)
    );
    assert!(replay(&s.witness).unwrap().1);
}

/// With a repair (`mttr`) the same failure cannot deadlock: while node-0 is down a1 and b1
/// wait on a node that is coming back (not a deadlock), and when it is back the first
/// waiting pod takes it and its job runs; the other follows. VERIFIED.
#[test]
fn with_a_repair_the_failure_only_delays() {
    let p = spare_node();
    let opts = ExploreOptions {
        failures: 1,
        mttr: Some(SimDuration::from_secs(600)),
        ..ExploreOptions::default()
    };
    let e = explore(&p, &opts, &exhaustive(), QUIET).unwrap();
    assert!(e.deadlock.is_verified(), "{:?}", e.deadlock);
    assert!(e.livelock.is_verified(), "{:?}", e.livelock);
}

/// A listed failure at the instant a job completes is a tie the explorer orders both
/// ways: A (1 pod, 10 s) on the only node, `fail node-0` at 10 s, `recover` at 20 s.
/// Completion first: A is done at 10 s. Failure first: A restarts (no checkpoint: from
/// zero) and runs 20 s to 30 s. Exactly those 2 schedules, both ending well: VERIFIED.
#[test]
fn a_listed_failure_tied_with_a_completion_is_explored_in_both_orders() {
    let faults = FaultConfig {
        events: vec![
            event(10, 0, NodeAction::Fail),
            event(20, 0, NodeAction::Recover),
        ],
        ..FaultConfig::default()
    };
    let p = problem(1, vec![job("A", 1, 0, 10)], Some(faults));
    let e = explore(&p, &ExploreOptions::default(), &exhaustive(), QUIET).unwrap();
    assert_eq!(e.coverage.schedules, 2, "{:?}", e.coverage);
    assert!(e.deadlock.is_verified());
    assert!(e.livelock.is_verified());
}

/// The listed-event version of the failure above: node-0 fails at 5 s for good, so A
/// and B (arriving at 10 s) deadlock on the 2 nodes left; recovering it at 600 s makes
/// the scenario safe again (the deadlock check counts the pending recovery).
#[test]
fn a_listed_failure_deadlocks_unless_the_node_recovers() {
    let jobs = || vec![job("A", 2, 10, 100), job("B", 2, 10, 100)];
    let fail = FaultConfig {
        events: vec![event(5, 0, NodeAction::Fail)],
        ..FaultConfig::default()
    };
    let p = problem(3, jobs(), Some(fail.clone()));
    let e = explore(&p, &ExploreOptions::default(), &exhaustive(), QUIET).unwrap();
    assert_eq!(e.deadlock, Verdict::Violation);
    let f = e.deadlock_found.unwrap();
    assert_eq!(f.violation.jobs, vec!["A", "B"]);
    assert!(f.violation.injected_failures.is_empty());
    let mut repaired = fail;
    repaired.events.push(event(600, 0, NodeAction::Recover));
    let p = problem(3, jobs(), Some(repaired));
    let e = explore(&p, &ExploreOptions::default(), &exhaustive(), QUIET).unwrap();
    assert!(e.deadlock.is_verified(), "{:?}", e.deadlock);
    assert!(e.livelock.is_verified(), "{:?}", e.livelock);
}

/// Shrinking drops a node with its listed events (the last node is tried first): the
/// shrunk witness of the listed-failure deadlock still replays.
#[test]
fn shrinking_drops_a_node_with_its_listed_events() {
    let fail = FaultConfig {
        events: vec![event(5, 2, NodeAction::Fail)],
        ..FaultConfig::default()
    };
    let p = problem(
        3,
        vec![job("A", 2, 10, 100), job("B", 2, 10, 100)],
        Some(fail),
    );
    let opts = ExploreOptions::default();
    let e = explore(&p, &opts, &exhaustive(), QUIET).unwrap();
    let f = e.deadlock_found.unwrap();
    let s = shrink(&p, &opts, ViolationKind::Deadlock, &f);
    // Two 2-pod jobs on 2 nodes deadlock without any failure: node-2 and its event go.
    assert_eq!((s.jobs, s.nodes), (2, 2), "{s:?}");
    let events = &s.witness.problem.config.faults.as_ref().unwrap().events;
    assert!(events.is_empty(), "{events:?}");
    assert!(replay(&s.witness).unwrap().1);
}

fn gpu_event(at_s: u64, node: u32, fail: bool) -> models::PartEventSpec {
    models::PartEventSpec {
        at: SimTime::ZERO + SimDuration::from_secs(at_s),
        part: models::Part::Gpu { node, gpu: 0 },
        fail,
        source: 0,
    }
}

/// A listed GPU failure is an event like a node's: tied with A's completion at 10 s it is
/// explored in both orders (A completes first, or loses its GPU and restarts, runs again
/// from 20 s when the GPU recovers).
#[test]
fn a_listed_gpu_failure_tied_with_a_completion_is_explored_in_both_orders() {
    let faults = FaultConfig {
        part_events: vec![gpu_event(10, 0, true), gpu_event(20, 0, false)],
        ..FaultConfig::default()
    };
    let p = problem(1, vec![job("A", 1, 0, 10)], Some(faults));
    let e = explore(&p, &ExploreOptions::default(), &exhaustive(), QUIET).unwrap();
    assert_eq!(e.coverage.schedules, 2, "{:?}", e.coverage);
    assert!(e.deadlock.is_verified());
}

/// The GPU of node-0 fails at 5 s for good: A and B (2 pods of 1 GPU, arriving at 10 s)
/// have two healthy GPUs left, on node-1 and node-2, and deadlock under the default
/// scheduler; recovering the GPU at 600 s makes it safe (the pending recovery counts).
#[test]
fn a_listed_gpu_failure_deadlocks_unless_it_recovers() {
    let jobs = || vec![job("A", 2, 10, 100), job("B", 2, 10, 100)];
    let fail = FaultConfig {
        part_events: vec![gpu_event(5, 0, true)],
        ..FaultConfig::default()
    };
    let p = problem(3, jobs(), Some(fail.clone()));
    let e = explore(&p, &ExploreOptions::default(), &exhaustive(), QUIET).unwrap();
    assert_eq!(e.deadlock, Verdict::Violation);
    assert_eq!(e.deadlock_found.unwrap().violation.jobs, vec!["A", "B"]);
    let mut repaired = fail;
    repaired.part_events.push(gpu_event(600, 0, false));
    let p = problem(3, jobs(), Some(repaired));
    let e = explore(&p, &ExploreOptions::default(), &exhaustive(), QUIET).unwrap();
    assert!(e.deadlock.is_verified(), "{:?}", e.deadlock);
}
