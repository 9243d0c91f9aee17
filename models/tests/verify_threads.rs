//! Exhaustive mode on several threads finds exactly what it finds on one (the same
//! verdicts, counts, witnesses: the whole `Exploration`), and a search split into shards
//! and merged gives what the single search gives (random mode: exactly; exhaustive mode:
//! the same verdicts and distinct states).

use std::collections::BTreeMap;

use models::verify::{
    Exploration, ExploreOptions, Mode, Problem, ShardOf, Verdict, VerifyError, explore,
    explore_shard, merge_shards,
};
use models::{ClusterSpec, JobSpec, NodeSpec, PodRequest, PolicyKind, RunConfig, Workload};
use sim_core::{SimDuration, SimTime};

const QUIET: &(dyn Fn(u64, u64) + Sync) = &|_, _| {};

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

fn job(id: &str, submit: u64, secs: u64, pods: Vec<u32>) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::ZERO + SimDuration::from_secs(submit),
        duration: SimDuration::from_secs(secs),
        pods: pods.into_iter().map(PodRequest::gpus).collect(),
        priority: 0,
        queue: None,
    }
}

fn problem(policy: PolicyKind, spec: ClusterSpec, jobs: Vec<JobSpec>) -> Problem {
    let mut config = RunConfig {
        check_invariants: true,
        ..RunConfig::default()
    };
    config.scheduler.policy = policy;
    Problem {
        name: "threads".into(),
        spec,
        workload: Workload { jobs },
        config,
    }
}

/// `n` gangs of 2 one-hour 1-GPU pods on 4 × 1 GPU (`four-gangs.yaml` for n = 4).
fn gangs(policy: PolicyKind, n: usize) -> Problem {
    let jobs = ["A", "B", "C", "D"][..n]
        .iter()
        .map(|id| job(id, 0, 3600, vec![1, 1]))
        .collect();
    problem(policy, cluster(4, 1), jobs)
}

fn exhaustive(max_schedules: u64, max_depth: Option<u64>) -> Mode {
    Mode::Exhaustive {
        max_schedules,
        max_depth,
    }
}

/// `explore` on a pool of `threads` threads.
fn on(
    threads: usize,
    p: &Problem,
    opts: &ExploreOptions,
    mode: &Mode,
) -> Result<Exploration, VerifyError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(|| explore(p, opts, mode, QUIET))
}

/// The same exploration on 1, 2 and 4 threads.
fn same_on_any_threads(p: &Problem, opts: &ExploreOptions, mode: &Mode) -> Exploration {
    let one = on(1, p, opts, mode);
    for threads in [2, 4] {
        let many = on(threads, p, opts, mode);
        assert_eq!(many, one, "{threads} threads vs 1: {mode:?}");
    }
    one.expect("explore")
}

#[test]
fn exhaustive_mode_is_the_same_on_one_two_and_four_threads() {
    let opts = ExploreOptions::default();
    // KEP-4671 alpha, three gangs: VERIFIED both ways after 1,746 schedules.
    let e = same_on_any_threads(
        &gangs(PolicyKind::K8sGang, 3),
        &opts,
        &exhaustive(1_000_000, None),
    );
    assert!(
        e.deadlock.is_verified() && e.livelock.is_verified(),
        "{e:?}"
    );
    assert!(e.coverage.schedules > 1000, "{:?}", e.coverage);
    // Four gangs under KEP-4671 alpha, cut by the schedule budget: the livelock found
    // first and the counts at the cut.
    let e = same_on_any_threads(
        &gangs(PolicyKind::K8sGang, 4),
        &opts,
        &exhaustive(8_000, None),
    );
    assert_eq!(e.livelock, Verdict::Violation);
    assert!(e.coverage.budget_exhausted, "{:?}", e.coverage);
    // Depth-bounded: a state reached in fewer choices is explored again.
    let e = same_on_any_threads(
        &gangs(PolicyKind::K8sGang, 4),
        &opts,
        &exhaustive(20_000, Some(10)),
    );
    assert!(e.coverage.depth_bound_hit, "{:?}", e.coverage);
    // The default scheduler (no gang layer): the first deadlock stops the search.
    let e = same_on_any_threads(
        &gangs(PolicyKind::Default, 4),
        &opts,
        &exhaustive(1_000_000, None),
    );
    assert_eq!(e.deadlock, Verdict::Violation);
    // The event budget cuts schedules short.
    let tight = ExploreOptions {
        max_events: 40,
        ..ExploreOptions::default()
    };
    let e = same_on_any_threads(
        &gangs(PolicyKind::K8sGang, 4),
        &tight,
        &exhaustive(3_000, None),
    );
    assert!(e.coverage.event_budget_hits > 0, "{:?}", e.coverage);
}

#[test]
fn exhaustive_mode_with_jitter_and_injected_failures_is_the_same_on_any_threads() {
    // Arrival jitter: each run's workload differs, and a thread's run is set up anew
    // when it moves to another jitter.
    let jitter = ExploreOptions {
        jitter: Some(SimDuration::from_secs(20)),
        jitter_steps: 2,
        ..ExploreOptions::default()
    };
    let p = problem(
        PolicyKind::Default,
        cluster(3, 1),
        vec![
            job("A", 0, 100, vec![1, 1]),
            job("B", 10, 100, vec![1, 1]),
            job("C", 20, 50, vec![1]),
        ],
    );
    same_on_any_threads(&p, &jitter, &exhaustive(1_000_000, None));
    // A node failure at the end of any instant (never repaired, then repaired).
    for mttr in [None, Some(SimDuration::from_secs(600))] {
        let fail = ExploreOptions {
            failures: 1,
            mttr,
            ..ExploreOptions::default()
        };
        let p = problem(
            PolicyKind::Coscheduling,
            cluster(3, 1),
            vec![job("A", 0, 100, vec![1, 1]), job("B", 0, 100, vec![1, 1])],
        );
        same_on_any_threads(&p, &fail, &exhaustive(200_000, None));
    }
}

/// xorshift64*.
fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    move |n| {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

#[test]
fn random_small_problems_explore_the_same_on_one_and_three_threads() {
    let policies = [
        PolicyKind::Default,
        PolicyKind::Coscheduling,
        PolicyKind::K8sGang,
        PolicyKind::Gang,
        PolicyKind::Kueue,
    ];
    let mut large = 0;
    for seed in 1..=40 {
        let mut r = rng(seed);
        let nodes = 3 + r(2) as u32;
        let gpus = 1 + r(2) as u32;
        // Jobs of different lengths (no two interchangeable), most of them at t = 0.
        let jobs = (0..3 + r(2))
            .map(|j| {
                let pods = (0..2 + r(2))
                    .map(|_| 1 + r(u64::from(gpus)) as u32)
                    .collect();
                job(&format!("J{j}"), 10 * (r(4) / 3), 100 + 60 * j, pods)
            })
            .collect();
        let p = problem(
            policies[r(policies.len() as u64) as usize],
            cluster(nodes, gpus),
            jobs,
        );
        let mode = exhaustive(4_000, None);
        let opts = ExploreOptions::default();
        // Some problems are refused (a job larger than the cluster): the same error.
        let one = on(1, &p, &opts, &mode);
        let three = on(3, &p, &opts, &mode);
        assert_eq!(three, one, "seed {seed}: {p:?}");
        if one.is_ok_and(|e| e.coverage.schedules > 64) {
            large += 1;
        }
    }
    // Enough of them large enough for the other threads to start (after 64 steps).
    assert!(large >= 8, "{large} large problems");
}

fn shards(
    p: &Problem,
    opts: &ExploreOptions,
    mode: &Mode,
    count: u32,
) -> Vec<models::verify::ShardRun> {
    // Any order: the merge sorts them out.
    (1..=count)
        .rev()
        .map(|index| {
            explore_shard(p, opts, mode, ShardOf { index, count }, QUIET).expect("a shard")
        })
        .collect()
}

#[test]
fn random_mode_shards_merge_into_the_single_run() {
    let opts = ExploreOptions::default();
    for (p, n) in [
        // A deadlock in some schedule: the merge stops where the single run stops.
        (gangs(PolicyKind::Default, 2), 40),
        // None: every schedule, the livelocks found first.
        (gangs(PolicyKind::K8sGang, 3), 30),
        (gangs(PolicyKind::Coscheduling, 4), 25),
    ] {
        let mode = Mode::Random {
            schedules: n,
            seed: 5,
        };
        let whole = explore(&p, &opts, &mode, QUIET).expect("explore");
        for count in [1, 2, 3, 7] {
            let merged = merge_shards(&mode, &shards(&p, &opts, &mode, count)).expect("merge");
            assert_eq!(merged, whole, "{count} shards");
        }
    }
}

#[test]
fn exhaustive_mode_shards_merge_into_the_same_verdicts_and_states() {
    let opts = ExploreOptions::default();
    let mode = exhaustive(1_000_000, None);
    // VERIFIED: every shard complete; the union of their states is the single run's.
    let p = gangs(PolicyKind::K8sGang, 3);
    let whole = explore(&p, &opts, &mode, QUIET).expect("explore");
    assert!(whole.deadlock.is_verified() && whole.livelock.is_verified());
    for count in [2, 3, 5] {
        let parts = shards(&p, &opts, &mode, count);
        // A shard alone covers its part only: nothing in it is a verdict, and it never
        // says complete for anything but its part.
        assert!(
            parts
                .iter()
                .all(|s| s.coverage.schedules < whole.coverage.schedules)
        );
        let merged = merge_shards(&mode, &parts).expect("merge");
        assert!(
            merged.deadlock.is_verified(),
            "{count}: {:?}",
            merged.deadlock
        );
        assert!(
            merged.livelock.is_verified(),
            "{count}: {:?}",
            merged.livelock
        );
        assert_eq!(
            merged.coverage.distinct_states, whole.coverage.distinct_states,
            "{count} shards"
        );
        assert!(merged.coverage.schedules >= whole.coverage.schedules);
        // A shard missing: no merge.
        assert!(merge_shards(&mode, &parts[1..]).is_err());
    }
    // A deadlock in one part: VIOLATION, with its witness (and the shard that found it).
    let p = gangs(PolicyKind::Default, 4);
    let merged = merge_shards(&mode, &shards(&p, &opts, &mode, 3)).expect("merge");
    assert_eq!(merged.deadlock, Verdict::Violation);
    let f = merged.deadlock_found.expect("the witness");
    assert!(f.shard.is_some());
    let w = models::verify::Witness::new(&p, &opts, &f);
    let (_, same) = models::verify::replay(&w).expect("replay");
    assert!(same, "the merged witness replays");
    // Shards of two different splits do not merge.
    let mut a = shards(&p, &opts, &mode, 2);
    a.extend(shards(&p, &opts, &mode, 3));
    assert!(merge_shards(&mode, &a).is_err());
}
