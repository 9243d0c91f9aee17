//! The verifier on hand-made cases whose answers can be derived by hand.

use std::collections::BTreeMap;

use models::verify::{
    ExploreOptions, MitigationBudget, Mode, Problem, ScheduleEnd, Verdict, ViolationKind, Witness,
    explore, mitigations, replay, shrink,
};
use models::{ClusterSpec, JobSpec, NodeSpec, PodRequest, PolicyKind, RunConfig, Workload};
use sim_core::{SimDuration, SimTime};

fn cluster(nodes: u32, gpus: u32) -> ClusterSpec {
    ClusterSpec {
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                taints: Vec::new(),
                name: format!("node-{i}"),
                pool: "gpu".into(),
                cpu_milli: 32_000,
                memory_mib: 256 * 1024,
                gpus,
                gpu_model: Some("H100".into()),
                gpu_memory_mib: 81_920,
                rack: 0,
                labels: BTreeMap::new(),
            })
            .collect(),
    }
}

fn job(id: &str, pods: Vec<u32>) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::ZERO,
        duration: SimDuration::from_secs(100),
        pods: pods.into_iter().map(PodRequest::gpus).collect(),
        priority: 0,
        queue: None,
    }
}

fn problem(policy: PolicyKind, spec: ClusterSpec, jobs: Vec<JobSpec>) -> Problem {
    // Every schedule explored checks the model's invariants after each instant: a broken
    // one makes `explore` fail with the schedule (`VerifyError::Invariant`).
    let mut config = RunConfig {
        check_invariants: true,
        ..RunConfig::default()
    };
    config.scheduler.policy = policy;
    Problem {
        name: "test".into(),
        spec,
        workload: Workload { jobs },
        config,
    }
}

/// §8's smallest case: A = {a1, a2}, B = {b1, b2}, 2 nodes × 1 GPU.
fn two_gangs(policy: PolicyKind) -> Problem {
    problem(
        policy,
        cluster(2, 1),
        vec![job("A", vec![1, 1]), job("B", vec![1, 1])],
    )
}

fn exhaustive(n: u64) -> Mode {
    Mode::Exhaustive {
        max_schedules: n,
        max_depth: None,
    }
}

const QUIET: &(dyn Fn(u64, u64) + Sync) = &|_, _| {};

#[test]
fn kube_default_two_gangs_deadlock_in_exhaustive_and_random_mode() {
    let p = two_gangs(PolicyKind::Default);
    let opts = ExploreOptions::default();
    let e = explore(&p, &opts, &exhaustive(1000), QUIET).unwrap();
    assert_eq!(e.deadlock, Verdict::Violation);
    let f = e.deadlock_found.as_ref().unwrap();
    assert_eq!(f.violation.jobs, vec!["A", "B"]);
    // Each holds one GPU and waits for the other's.
    let s = &f.violation.snapshot;
    assert!(
        s.jobs
            .iter()
            .all(|j| j.holds_gpus == 1.0 && j.needs_gpus == 2.0)
    );
    assert_eq!(s.cycles, vec![vec!["A".to_string(), "B".to_string()]]);
    // The pods of A and B interleave in half of the job-level orders: random finds it fast.
    let r = explore(
        &p,
        &opts,
        &Mode::Random {
            schedules: 50,
            seed: 1,
        },
        QUIET,
    )
    .unwrap();
    assert_eq!(r.deadlock, Verdict::Violation);
    assert!(r.deadlock_found.unwrap().schedule < 10);
}

#[test]
fn gang_plugins_are_deadlock_free_with_complete_coverage() {
    for policy in [
        PolicyKind::Coscheduling,
        PolicyKind::K8sGang,
        PolicyKind::Gang,
    ] {
        let p = two_gangs(policy);
        let e = explore(&p, &ExploreOptions::default(), &exhaustive(100_000), QUIET).unwrap();
        assert!(e.deadlock.is_verified(), "{policy:?}: {:?}", e.deadlock);
        assert!(e.coverage.complete, "{policy:?}: {:?}", e.coverage);
    }
}

#[test]
fn k8s_gang_alpha_can_livelock_coscheduling_cannot() {
    // KEP-4671 alpha: a1 and b1 both wait at Permit, both time out after 5 min, both go
    // back to the queue and can interleave again — a cycle.
    let e = explore(
        &two_gangs(PolicyKind::K8sGang),
        &ExploreOptions::default(),
        &exhaustive(100_000),
        QUIET,
    )
    .unwrap();
    assert_eq!(e.livelock, Verdict::Violation);
    let f = e.livelock_found.unwrap();
    assert_eq!(f.violation.kind, ViolationKind::Livelock);
    assert!(f.violation.since.is_some());
    // The explored state graph holds the cycle the run closed.
    assert!(e.coverage.state_graph_cycles >= 1, "{:?}", e.coverage);
    // Coscheduling's QueueSort keeps a group's pods together: the first group is placed
    // whole in one pass, so no interleaving and no cycle, even with a 1 ms timeout.
    let mut p = two_gangs(PolicyKind::Coscheduling);
    p.config.scheduler.coscheduling.schedule_timeout = SimDuration(1_000_000);
    let e = explore(&p, &ExploreOptions::default(), &exhaustive(100_000), QUIET).unwrap();
    assert!(
        e.deadlock.is_verified() && e.livelock.is_verified(),
        "{:?}",
        (e.deadlock, e.livelock)
    );
    assert!(e.coverage.complete);
    assert_eq!(e.coverage.state_graph_cycles, 0);
}

#[test]
fn rare_event_order_deadlock_found_only_by_exhaustive_mode() {
    // Two 2-GPU nodes. G and H each need pods of 1 and 2 GPUs; S needs 1 GPU. With
    // grouped pods and arrival order G, H, S (the input order): G takes 1 GPU on node-0
    // and 2 on node-1 and runs; H's 1-GPU pod waits on node-0; S finds nothing. G ends,
    // H and S run: no deadlock. If S arrives first: S takes node-0, G's 1-GPU pod goes to
    // the emptier node-1, its 2-GPU pod fits nowhere; H's 1-GPU pod takes the last GPU of
    // node-0. When S ends, one GPU is free on each node: neither 2-GPU pod ever fits.
    let p = problem(
        PolicyKind::Default,
        cluster(2, 2),
        vec![
            job("G", vec![1, 2]),
            job("H", vec![1, 2]),
            job("S", vec![1]),
        ],
    );
    let opts = ExploreOptions {
        pod_order: false,
        ..ExploreOptions::default()
    };
    let one = models::run(p.spec.clone(), p.workload.clone(), &p.config, None).unwrap();
    assert!(
        one.deadlocks.is_empty(),
        "the default order does not deadlock"
    );
    let e = explore(&p, &opts, &exhaustive(10_000), QUIET).unwrap();
    assert_eq!(e.deadlock, Verdict::Violation);
    let f = e.deadlock_found.unwrap();
    assert_eq!(f.violation.jobs, vec!["G", "H"]);
    assert!(f.schedule > 0, "not the first (default-order) schedule");
}

#[test]
fn witness_replays_exactly_and_shrinks() {
    // Three gangs of 3 one-GPU pods on 4 × 1 GPU: shrinks to two 2-pod gangs on 2 GPUs.
    let p = problem(
        PolicyKind::Default,
        cluster(4, 1),
        vec![
            job("A", vec![1, 1, 1]),
            job("B", vec![1, 1, 1]),
            job("C", vec![1, 1, 1]),
        ],
    );
    let opts = ExploreOptions::default();
    let e = explore(
        &p,
        &opts,
        &Mode::Random {
            schedules: 20,
            seed: 7,
        },
        QUIET,
    )
    .unwrap();
    let f = e.deadlock_found.unwrap();
    let w = Witness::new(&p, &opts, &f);
    let (r, same) = replay(&w).unwrap();
    assert!(same);
    assert_eq!(r.end, ScheduleEnd::Violation);
    let json = serde_json::to_string(&w).unwrap();
    let back: Witness = serde_json::from_str(&json).unwrap();
    assert!(replay(&back).unwrap().1);

    let s = shrink(&p, &opts, ViolationKind::Deadlock, &f);
    assert_eq!((s.jobs, s.pods, s.nodes), (2, 4, 2), "{s:?}");
    assert!(replay(&s.witness).unwrap().1);
    let m = mitigations(
        &p,
        Some(&s.witness.problem),
        &opts,
        MitigationBudget::default(),
    );
    let get = |n: &str| m.iter().find(|x| x.name == n).unwrap();
    assert!(get("coscheduling").fixes);
    assert!(get("gang").fixes);
    assert!(get("kueue-wait-for-pods-ready").fixes);
    let k8s = get("k8s-gang");
    assert!(
        k8s.shrunk.as_ref().unwrap().deadlock.is_verified(),
        "{k8s:?}"
    );
    assert_ne!(k8s.original.deadlock, Verdict::Violation, "{k8s:?}");
}

/// Four gangs of two 1-GPU pods on 4 × 1 GPU (`scenarios/bundled/verify/four-gangs.yaml`).
fn four_gangs(policy: PolicyKind) -> Problem {
    problem(
        policy,
        cluster(4, 1),
        ["A", "B", "C", "D"]
            .into_iter()
            .map(|id| JobSpec {
                duration: SimDuration::from_secs(3600),
                ..job(id, vec![1, 1])
            })
            .collect(),
    )
}

#[test]
fn exhaustive_schedules_continued_from_snapshots_replay_from_the_start() {
    // Exhaustive mode continues each schedule from a snapshot of the path it shares with
    // the previous one. A violation found that way must replay exactly when run from the
    // start: same choices, same violation, same engine fingerprint.
    let opts = ExploreOptions::default();
    for (policy, kind) in [
        (PolicyKind::K8sGang, ViolationKind::Livelock),
        (PolicyKind::Default, ViolationKind::Deadlock),
    ] {
        let p = four_gangs(policy);
        let e = explore(&p, &opts, &exhaustive(5_000), QUIET).unwrap();
        let f = e.first().unwrap_or_else(|| panic!("{policy:?}: {e:?}"));
        assert_eq!(f.violation.kind, kind);
        assert!(
            f.schedule > 0,
            "found after backtracking, not on the first run"
        );
        let (r, same) = replay(&Witness::new(&p, &opts, f)).unwrap();
        assert!(same, "{policy:?}: {r:?}");
    }
}

/// KEP-4671 alpha on four gangs: the whole space is covered (about 680k schedules, 61k
/// states; the slowest test of this file, ~30 s in a debug build). No deadlock (the
/// Permit timeout always releases), but the symmetric timeout cycle is a livelock.
#[test]
fn k8s_gang_four_gangs_covered_completely() {
    let e = explore(
        &four_gangs(PolicyKind::K8sGang),
        &ExploreOptions::default(),
        &exhaustive(5_000_000),
        QUIET,
    )
    .unwrap();
    assert!(e.coverage.complete, "{:?}", e.coverage);
    assert!(e.coverage.distinct_states > 50_000, "{:?}", e.coverage);
    assert!(e.deadlock.is_verified(), "{:?}", e.deadlock);
    assert_eq!(e.livelock, Verdict::Violation);
}

/// `scenarios/bundled/verify/rare-order.yaml`: G and H ([1, 2] GPUs each) and S (1 GPU) on
/// two 2-GPU nodes, pods grouped.
fn rare_order(policy: PolicyKind) -> (Problem, ExploreOptions) {
    let p = problem(
        policy,
        cluster(2, 2),
        vec![
            job("G", vec![1, 2]),
            job("H", vec![1, 2]),
            job("S", vec![1]),
        ],
    );
    let opts = ExploreOptions {
        pod_order: false,
        ..ExploreOptions::default()
    };
    (p, opts)
}

#[test]
fn verified_only_from_complete_exhaustive_coverage() {
    // Random mode samples: however many schedules show nothing, it is not a proof.
    let p = two_gangs(PolicyKind::Coscheduling);
    let opts = ExploreOptions::default();
    let r = explore(
        &p,
        &opts,
        &Mode::Random {
            schedules: 8,
            seed: 1,
        },
        QUIET,
    )
    .unwrap();
    assert_eq!(
        (r.deadlock, r.livelock),
        (Verdict::NoneFound, Verdict::NoneFound)
    );
    // The same problem explored completely is VERIFIED.
    let e = explore(&p, &opts, &exhaustive(100_000), QUIET).unwrap();
    assert!(e.coverage.complete && e.deadlock.is_verified() && e.livelock.is_verified());
    // An exhaustive search that runs out of schedules before covering the space is
    // INCONCLUSIVE, not VERIFIED.
    let e = explore(
        &four_gangs(PolicyKind::Coscheduling),
        &opts,
        &exhaustive(2),
        QUIET,
    )
    .unwrap();
    assert!(
        e.coverage.budget_exhausted && !e.coverage.complete,
        "{:?}",
        e.coverage
    );
    assert_eq!(
        (e.deadlock, e.livelock),
        (Verdict::Inconclusive, Verdict::Inconclusive)
    );
    // Exhaustive mode stops at the first deadlock: nothing is claimed about livelock.
    let e = explore(
        &two_gangs(PolicyKind::Default),
        &opts,
        &exhaustive(1000),
        QUIET,
    )
    .unwrap();
    assert_eq!(e.deadlock, Verdict::Violation);
    assert_eq!(e.livelock, Verdict::Inconclusive);
    // A schedule cut by its event budget makes the verdict INCONCLUSIVE.
    let tiny = ExploreOptions {
        max_events: 2,
        ..ExploreOptions::default()
    };
    let e = explore(&p, &tiny, &exhaustive(1000), QUIET).unwrap();
    assert!(e.coverage.event_budget_hits > 0);
    assert_eq!(e.deadlock, Verdict::Inconclusive);
}

#[test]
fn shrunk_rare_order_deadlock_stays_genuine_contention() {
    let (p, opts) = rare_order(PolicyKind::Default);
    let e = explore(&p, &opts, &exhaustive(10_000), QUIET).unwrap();
    let f = e.deadlock_found.unwrap();
    let s = shrink(&p, &opts, ViolationKind::Deadlock, &f);
    // Every job of the shrunk problem runs when alone on the shrunk cluster (the old
    // shrinker reduced it to G alone on 2 + 1 GPUs, which deadlocks by itself), and it
    // still deadlocks, between at least two jobs.
    assert!(s.unable_to_run_alone.is_empty(), "{s:?}");
    assert!(
        models::verify::jobs_unable_to_run_alone(&s.witness.problem, &opts).is_empty(),
        "{:?}",
        s.witness.problem
    );
    assert!(s.jobs >= 2, "{s:?}");
    assert_eq!(s.found.violation.kind, ViolationKind::Deadlock);
    assert!(s.found.violation.jobs.len() >= 2, "{:?}", s.found.violation);
    assert!(replay(&s.witness).unwrap().1);
    // A job that cannot fit the cluster alone is named.
    let mut big = p.clone();
    big.workload.jobs.push(job("X", vec![3]));
    assert_eq!(
        models::verify::jobs_unable_to_run_alone(&big, &opts),
        vec!["X"]
    );
}

#[test]
fn rare_order_mitigations_are_checked_on_the_original_and_name_their_cause() {
    // The truth on the original scenario (each policy explored completely): Coscheduling
    // keeps a group's pods together and fixes it; KEP-4671 alpha trades the deadlock for a
    // livelock (G and H time out at Permit together and interleave again); Kueue with the
    // default quota (= capacity, 4 GPUs) admits G and S only, so there is no contention —
    // waitForPodsReady has nothing to do with it.
    let (p, opts) = rare_order(PolicyKind::Default);
    let e = explore(&p, &opts, &exhaustive(10_000), QUIET).unwrap();
    let s = shrink(
        &p,
        &opts,
        ViolationKind::Deadlock,
        &e.deadlock_found.unwrap(),
    );
    let m = mitigations(
        &p,
        Some(&s.witness.problem),
        &opts,
        MitigationBudget::default(),
    );
    let get = |n: &str| m.iter().find(|x| x.name == n).unwrap();
    let cos = get("coscheduling");
    assert!(cos.fixes && cos.proven, "{cos:?}");
    assert!(cos.original.deadlock.is_verified() && cos.original.livelock.is_verified());
    let k8s = get("k8s-gang");
    assert!(!k8s.fixes, "{k8s:?}");
    assert_eq!(k8s.original.livelock, Verdict::Violation);
    assert!(k8s.label.contains("original scenario"), "{}", k8s.label);
    assert!(get("gang").proven);
    let control = get("kueue-admission");
    assert!(control.proven, "{control:?}");
    assert!(
        control.label.contains("waitForPodsReady not needed"),
        "{}",
        control.label
    );
    for n in [
        "kueue-wait-for-pods-ready",
        "kueue-wait-for-pods-ready-no-block",
    ] {
        let w = get(n);
        assert!(w.fixes, "{w:?}");
        assert!(
            !w.label.contains("waitForPodsReady fixes it")
                && w.label.contains("not because of waitForPodsReady"),
            "{n}: {}",
            w.label
        );
    }
}
