//! Issue 14 (trust), the Kueue slice: every run terminates and says why. Reproductions of
//! the reported hang and "pending for ever on an idle cluster", the upstream defaults, the
//! blockAdmission timeline and the no-progress guard. Times are seconds.

use std::collections::BTreeMap;

use models::scheduler::{
    ClusterQueueDef, KueuePreemption, ReclaimWithinCohort, WaitForPodsReady, WithinClusterQueue,
};
use models::{
    ClusterSpec, JobSpec, NodeSpec, PodOrder, PodRequest, PolicyKind, RunConfig, RunResult,
    Workload, run,
};
use sim_core::{SimDuration, SimTime};

fn cluster(nodes: u32, gpus: u32) -> ClusterSpec {
    ClusterSpec {
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                taints: Vec::new(),
                name: format!("node-{i}"),
                pool: "gpu".into(),
                cpu_milli: 192_000,
                memory_mib: 2 * 1024 * 1024,
                gpus,
                gpu_model: Some("H100".into()),
                gpu_memory_mib: 81_920,
                rack: 0,
                labels: BTreeMap::new(),
            })
            .collect(),
    }
}

fn job(id: &str, submit: u64, duration: u64, pods: u32, gpus_per_pod: u32) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::from_secs(submit),
        duration: SimDuration::from_secs(duration),
        pods: vec![PodRequest::gpus(gpus_per_pod); pods as usize],
        priority: 0,
        queue: None,
    }
}

/// The repro traces of issue 14 (`orrery-csv`: id,submit,duration,pods,gpus_per_pod,
/// priority,queue), copied byte for byte into `scenarios/tests/kueue-cohort/`.
fn trace(name: &str) -> Vec<JobSpec> {
    let path = format!(
        "{}/../scenarios/tests/kueue-cohort/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("read trace");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let mut j = job(
                f[0],
                f[1].parse().expect("submit"),
                f[2].parse().expect("duration"),
                f[3].parse().expect("pods"),
                f[4].parse().expect("gpus_per_pod"),
            );
            j.priority = f[5].parse().expect("priority");
            j.queue = Some(f[6].to_string());
            j
        })
        .collect()
}

fn cq(name: &str, nominal: f64, within: WithinClusterQueue) -> ClusterQueueDef {
    ClusterQueueDef {
        name: name.into(),
        cohort: Some("research".into()),
        nominal_gpus: nominal,
        borrowing_limit_gpus: None,
        lending_limit_gpus: None,
        preemption: KueuePreemption {
            within_cluster_queue: within,
            reclaim_within_cohort: ReclaimWithinCohort::Never,
        },
    }
}

/// `hang.yaml` / `pending-forever.yaml`: team-a (64, borrowing limit 32, reclaim any,
/// `within`) and team-b (64) in one cohort on 16 x 8 H100, waitForPodsReady off.
fn two_teams(within: WithinClusterQueue) -> RunConfig {
    let mut c = RunConfig {
        seed: 42,
        ..RunConfig::default()
    };
    c.scheduler.policy = PolicyKind::Kueue;
    let mut a = cq("team-a", 64.0, within);
    a.borrowing_limit_gpus = Some(32.0);
    a.preemption.reclaim_within_cohort = ReclaimWithinCohort::Any;
    c.scheduler.kueue.cluster_queues = vec![a, cq("team-b", 64.0, WithinClusterQueue::Never)];
    c.scheduler.kueue.wait_for_pods_ready.enable = false;
    c
}

fn go(spec: ClusterSpec, jobs: Vec<JobSpec>, c: &RunConfig) -> RunResult {
    let mut w = Workload { jobs };
    w.sort_by_submit();
    run(spec, w, c, None).expect("run")
}

/// Every job that did not complete says why.
fn assert_explained(r: &RunResult) {
    for j in &r.jobs {
        assert!(
            j.end.is_some() || j.reason.is_some(),
            "job {} unfinished without a reason",
            j.id
        );
        assert_eq!(j.end.is_some(), j.reason.is_none(), "job {}", j.id);
    }
}

fn times(r: &RunResult, id: &str) -> (Option<u64>, Option<u64>) {
    let j = r.jobs.iter().find(|j| j.id == id).expect("job");
    let s = |t: Option<SimTime>| t.map(|t| t.as_nanos() / 1_000_000_000);
    (s(j.start), s(j.end))
}

/// Issue 14 item 1: `hang.yaml` (reclaim any, within never) span at t=27,606 s for ever on
/// the old model (team-a reclaimed from team-b while borrowing itself, the victim took its
/// quota back the next round, and so on at one instant). Now it finishes, drained, with
/// every job completed.
#[test]
fn cohort_reclaim_repro_terminates_and_completes_every_job() {
    let mut c = two_teams(WithinClusterQueue::Never);
    c.check_invariants = true;
    let r = go(cluster(16, 8), trace("teams51.csv"), &c);
    assert_eq!(r.stop, "drained");
    assert!(r.guard.is_none());
    let unfinished: Vec<&str> = r
        .jobs
        .iter()
        .filter(|j| j.end.is_none())
        .map(|j| j.id.as_str())
        .collect();
    assert!(unfinished.is_empty(), "unfinished: {unfinished:?}");
    assert_explained(&r);
}

/// Issue 14 item 2: `pending-forever.yaml` left five 64-GPU team-b jobs pending on an
/// idle cluster (exit 0, no detection): a workload admitted and evicted again by a
/// preemption in the same admission pass had its pods queued anyway (twice when it was
/// re-admitted), so they were bound twice and GPUs leaked. Now every job completes and the
/// allocation invariants hold throughout.
#[test]
fn cohort_preemption_repro_leaves_nothing_pending() {
    let mut c = two_teams(WithinClusterQueue::LowerPriority);
    c.check_invariants = true;
    let r = go(cluster(16, 8), trace("t80.csv"), &c);
    assert_eq!(r.stop, "drained");
    let unfinished: Vec<&str> = r
        .jobs
        .iter()
        .filter(|j| j.end.is_none())
        .map(|j| j.id.as_str())
        .collect();
    assert!(unfinished.is_empty(), "unfinished: {unfinished:?}");
    assert_explained(&r);
}

/// Issue 14 item 3: upstream Kueue's defaults (config v1beta1 `defaults.go`):
/// waitForPodsReady off; when enabled, 5 min, blockAdmission, backoff 60 s .. 3600 s, no
/// limit.
#[test]
fn wait_for_pods_ready_defaults_match_upstream() {
    let w = WaitForPodsReady::default();
    assert!(!w.enable);
    assert_eq!(w.timeout, SimDuration::from_secs(300));
    assert!(w.block_admission);
    assert_eq!(w.backoff_base, SimDuration::from_secs(60));
    assert_eq!(w.backoff_max, SimDuration::from_secs(3600));
    assert_eq!(w.backoff_limit_count, None);
    assert!(
        !RunConfig::default()
            .scheduler
            .kueue
            .wait_for_pods_ready
            .enable
    );
}

/// Issue 14 item 4: two 4-GPU jobs at t=0 on 2 x 4 GPUs, waitForPodsReady with
/// blockAdmission. A is admitted and its pod binds at t=0 (A is Ready); admission runs
/// again at that instant and admits B, which also starts at 0. (The old model admitted B
/// only at the next event, A's completion at 100.)
#[test]
fn block_admission_admits_the_next_workload_as_soon_as_the_first_is_ready() {
    let mut c = RunConfig {
        seed: 1,
        check_invariants: true,
        ..RunConfig::default()
    };
    c.scheduler.policy = PolicyKind::Kueue;
    c.scheduler.kueue.wait_for_pods_ready.enable = true;
    let r = go(
        cluster(2, 4),
        vec![job("A", 0, 100, 1, 4), job("B", 0, 100, 1, 4)],
        &c,
    );
    assert_eq!(times(&r, "A"), (Some(0), Some(100)));
    assert_eq!(times(&r, "B"), (Some(0), Some(100)));
}

/// Issue 14 item 5: waitForPodsReady without blockAdmission, two gangs of 3 x 1 GPU on
/// 2 x 2 GPUs, quota 8, pods interleaved: both are admitted, bind two pods each, time out
/// together at 300, come back together after the same backoff, and interleave again, for
/// ever. With no horizon the run must still end: the no-progress guard stops it once 20
/// reservations (10 per waiting job) were released with nothing completing, and both jobs
/// are reported livelocked.
#[test]
fn wait_for_pods_ready_livelock_without_horizon_ends_with_no_progress() {
    let mut c = RunConfig {
        seed: 1,
        ..RunConfig::default()
    };
    c.scheduler.policy = PolicyKind::Kueue;
    c.pod_order = PodOrder::Interleaved;
    let mut q = cq("q", 8.0, WithinClusterQueue::Never);
    q.cohort = None;
    c.scheduler.kueue.cluster_queues = vec![q];
    let w = &mut c.scheduler.kueue.wait_for_pods_ready;
    w.enable = true;
    w.block_admission = false;
    let r = go(
        cluster(2, 2),
        vec![job("A", 0, 100, 3, 1), job("B", 0, 100, 3, 1)],
        &c,
    );
    assert_eq!(r.stop, "no_progress");
    assert!(r.guard.is_some());
    assert!(r.events < 1000, "{} events", r.events);
    for id in ["A", "B"] {
        let j = r.jobs.iter().find(|j| j.id == id).expect("job");
        assert_eq!(j.end, None);
        let reason = j.reason.as_deref().unwrap_or("");
        assert!(reason.starts_with("livelocked"), "{id}: {reason}");
        assert!(reason.contains("no-progress guard"), "{id}: {reason}");
    }
    assert_explained(&r);
}

/// Issue 14 item 5: a gang that fits the cluster's GPU count but not its shape (4 pods of
/// 3 GPUs on 3 nodes of 4 GPUs: one pod per node) is retried for ever under Coscheduling
/// (PostFilter rejection, retry after the 5-minute flush) and KEP-4671 (5-minute Permit
/// deadline). Without a horizon both runs end through the guard, the gang livelocked.
#[test]
fn gang_that_can_never_fit_ends_with_no_progress() {
    for policy in [PolicyKind::Coscheduling, PolicyKind::K8sGang] {
        let mut c = RunConfig {
            seed: 1,
            ..RunConfig::default()
        };
        c.scheduler.policy = policy;
        let r = go(cluster(3, 4), vec![job("G", 0, 100, 4, 3)], &c);
        assert_eq!(r.stop, "no_progress", "{}", policy.name());
        let j = &r.jobs[0];
        let reason = j.reason.as_deref().unwrap_or("");
        assert!(
            reason.starts_with("livelocked"),
            "{}: {reason}",
            policy.name()
        );
        assert!(!r.starved.is_empty());
        assert_explained(&r);
    }
}
