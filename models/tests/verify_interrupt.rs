//! Interrupting an exploration (Ctrl-C in `orrery verify`): it stops with what it has,
//! marked interrupted, and claims nothing for the rest.
//!
//! The interrupt is one flag for the whole process, so these tests live in their own test
//! binary (no other test can see the flag) and take turns through `serial()`, each
//! clearing the flag before and after.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use models::verify::{
    Coverage, ExploreOptions, MitigationBudget, Mode, Problem, Verdict, ViolationKind, Witness,
    explore, interrupt, mitigations, replay, shrink,
};
use models::{ClusterSpec, JobSpec, NodeSpec, PodRequest, PolicyKind, RunConfig, Workload};
use sim_core::{SimDuration, SimTime};

static TURN: Mutex<()> = Mutex::new(());

/// Holds the turn; the flag is clear when it is taken and when it is given back (even
/// after a failed assertion).
struct Serial(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Serial {
    fn drop(&mut self) {
        interrupt::reset();
    }
}

fn serial() -> Serial {
    let g = TURN.lock().unwrap_or_else(|e| e.into_inner());
    interrupt::reset();
    Serial(g)
}

/// Gangs of `pods` 1-GPU pods, one hour each, on `nodes` 1-GPU nodes.
fn gangs(policy: PolicyKind, nodes: u32, gangs: &[&str], pods: usize) -> Problem {
    let mut config = RunConfig {
        check_invariants: true,
        ..RunConfig::default()
    };
    config.scheduler.policy = policy;
    Problem {
        name: "interrupt".into(),
        spec: ClusterSpec {
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
        },
        workload: Workload {
            jobs: gangs
                .iter()
                .map(|id| JobSpec {
                    id: (*id).into(),
                    submit: SimTime::ZERO,
                    duration: SimDuration::from_secs(3600),
                    pods: vec![PodRequest::gpus(1); pods],
                    priority: 0,
                    queue: None,
                })
                .collect(),
        },
        config,
    }
}

fn exhaustive(n: u64) -> Mode {
    Mode::Exhaustive {
        max_schedules: n,
        max_depth: None,
    }
}

const QUIET: &(dyn Fn(u64, u64) + Sync) = &|_, _| {};

#[test]
fn an_interrupt_before_exploring_stops_at_once_and_claims_nothing() {
    let _turn = serial();
    // KEP-4671 alpha, three 2-pod gangs on 4 GPUs: 1,746 schedules, VERIFIED both ways.
    let p = gangs(PolicyKind::K8sGang, 4, &["A", "B", "C"], 2);
    let opts = ExploreOptions::default();
    // Uninterrupted, the space is covered: VERIFIED both ways.
    let whole = explore(&p, &opts, &exhaustive(1_000_000), QUIET).unwrap();
    assert!(whole.coverage.complete, "{:?}", whole.coverage);
    assert!(whole.deadlock.is_verified() && whole.livelock.is_verified());
    assert!(!whole.coverage.interrupted);
    assert!(whole.coverage.schedules > 1, "{:?}", whole.coverage);
    // Interrupted before it starts: nothing explored, nothing claimed.
    assert!(!interrupt::request_interrupt(), "the flag starts clear");
    assert!(
        interrupt::request_interrupt(),
        "a second request sees the first"
    );
    for mode in [
        exhaustive(1_000_000),
        Mode::Random {
            schedules: 1000,
            seed: 1,
        },
    ] {
        let e = explore(&p, &opts, &mode, QUIET).unwrap();
        assert!(e.coverage.interrupted, "{mode:?}: {:?}", e.coverage);
        assert_eq!(e.coverage.schedules, 0, "{mode:?}");
        assert!(!e.coverage.complete && !e.coverage.budget_exhausted);
        assert_eq!(
            (e.deadlock, e.livelock),
            (Verdict::Inconclusive, Verdict::Inconclusive),
            "{mode:?}"
        );
    }
    // Cleared, the same exploration is whole again.
    interrupt::reset();
    assert!(!interrupt::interrupted());
    let again = explore(&p, &opts, &exhaustive(1_000_000), QUIET).unwrap();
    assert_eq!(again, whole);
}

#[test]
fn an_interrupt_mid_exploration_keeps_the_schedules_finished_before_it() {
    let _turn = serial();
    let p = gangs(PolicyKind::K8sGang, 4, &["A", "B", "C"], 2);
    let opts = ExploreOptions::default();
    let whole = explore(&p, &opts, &exhaustive(1_000_000), QUIET).unwrap();
    assert!(
        whole.coverage.schedules > 600 && whole.deadlock.is_verified(),
        "needs a longer exploration: {:?}",
        whole.coverage
    );
    // Exhaustive mode reports progress every 256 schedules: interrupt at the second
    // report. The schedule in progress then is the last one (the check is between
    // schedules), so exactly 512 are counted.
    let at_512 = |done: u64, _: u64| {
        if done >= 512 {
            interrupt::request_interrupt();
        }
    };
    let e = explore(&p, &opts, &exhaustive(1_000_000), &at_512).unwrap();
    assert!(e.coverage.interrupted);
    assert_eq!(e.coverage.schedules, 512, "{:?}", e.coverage);
    assert!(e.coverage.distinct_states > 0 && !e.coverage.complete);
    assert!(!e.coverage.budget_exhausted);
    assert_eq!(
        (e.deadlock, e.livelock),
        (Verdict::Inconclusive, Verdict::Inconclusive),
        "an interrupted search is never VERIFIED"
    );
    // Random mode (progress after each batch): what is reported is a whole prefix of the
    // seeds, never NO VIOLATION FOUND.
    interrupt::reset();
    let first_batch = |done: u64, _: u64| {
        if done > 0 {
            interrupt::request_interrupt();
        }
    };
    let mode = Mode::Random {
        schedules: 100_000,
        seed: 3,
    };
    let e = explore(&p, &opts, &mode, &first_batch).unwrap();
    assert!(e.coverage.interrupted);
    assert!(
        e.coverage.schedules > 0 && e.coverage.schedules < 100_000,
        "{:?}",
        e.coverage
    );
    assert_eq!(
        (e.deadlock, e.livelock),
        (Verdict::Inconclusive, Verdict::Inconclusive)
    );
    // Uninterrupted, random mode says NO VIOLATION FOUND for the same schedules.
    interrupt::reset();
    let n = e.coverage.schedules;
    let same = explore(
        &p,
        &opts,
        &Mode::Random {
            schedules: n,
            seed: 3,
        },
        QUIET,
    )
    .unwrap();
    assert_eq!(same.coverage.schedules, n);
    assert_eq!(same.deadlock, Verdict::NoneFound);
    assert_eq!(
        Coverage {
            interrupted: false,
            ..e.coverage.clone()
        },
        same.coverage,
        "the interrupted run explored exactly the first {n} seeds"
    );
}

#[test]
fn a_violation_found_before_the_interrupt_is_still_reported() {
    let _turn = serial();
    // KEP-4671 alpha on four 2-pod gangs: a livelock in schedule #4922; exploration goes
    // on after it (about 680k schedules in all, VERIFIED deadlock-free when whole).
    let p = gangs(PolicyKind::K8sGang, 4, &["A", "B", "C", "D"], 2);
    let opts = ExploreOptions::default();
    let at_5120 = |done: u64, _: u64| {
        if done >= 5120 {
            interrupt::request_interrupt();
        }
    };
    let e = explore(&p, &opts, &exhaustive(5_000_000), &at_5120).unwrap();
    assert!(e.coverage.interrupted);
    assert_eq!(e.coverage.schedules, 5120, "{:?}", e.coverage);
    assert_eq!(e.livelock, Verdict::Violation);
    assert_eq!(e.deadlock, Verdict::Inconclusive);
    let f = e
        .livelock_found
        .as_ref()
        .expect("the livelock and its witness");
    assert_eq!(f.violation.kind, ViolationKind::Livelock);
    assert!(f.schedule < 5120);
    // Its witness replays (replaying ignores the interrupt, which is still requested).
    assert!(interrupt::interrupted());
    let (r, same) = replay(&Witness::new(&p, &opts, f)).unwrap();
    assert!(same, "{r:?}");
}

#[test]
fn shrinking_and_mitigations_stop_at_an_interrupt_with_what_they_have() {
    let _turn = serial();
    // Kubernetes' default scheduler: three 3-pod gangs on 4 × 1 GPU deadlock.
    let p = gangs(PolicyKind::Default, 4, &["A", "B", "C"], 3);
    let opts = ExploreOptions::default();
    let e = explore(&p, &opts, &exhaustive(100_000), QUIET).unwrap();
    let f = e.deadlock_found.clone().expect("a deadlock");
    // Uninterrupted: shrinks, and six mitigations are checked.
    let whole = shrink(&p, &opts, ViolationKind::Deadlock, &f);
    assert!(!whole.interrupted);
    assert!(whole.attempts > 0 && whole.jobs < 3, "{whole:?}");
    let budget = MitigationBudget {
        original: 200,
        shrunk: 2_000,
    };
    assert_eq!(mitigations(&p, None, &opts, budget).len(), 6);
    // Interrupted: no candidate is tried; the witness is the original one and replays.
    interrupt::request_interrupt();
    let s = shrink(&p, &opts, ViolationKind::Deadlock, &f);
    assert!(s.interrupted);
    assert_eq!((s.attempts, s.jobs, s.nodes), (0, 3, 4));
    assert_eq!(s.found.choices, f.choices);
    assert!(replay(&s.witness).unwrap().1);
    assert!(mitigations(&p, None, &opts, budget).is_empty());
}
