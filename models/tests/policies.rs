//! Policy behaviours on small hand-made cases whose outcome is derived by hand in the
//! comments. Times are seconds.

use std::collections::BTreeMap;

use models::scheduler::{
    ClusterQueueDef, KueuePreemption, ReclaimWithinCohort, VolcanoQueueDef, VolcanoResources,
    WithinClusterQueue,
};
use models::{
    ClusterSpec, JobSpec, NodeSpec, Outcome, PodOrder, PodRequest, PolicyKind, RunConfig,
    RunResult, Workload, run,
};
use sim_core::{SimDuration, SimTime};

fn cluster(nodes: u32, gpus: u32) -> ClusterSpec {
    ClusterSpec {
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                taints: Vec::new(),
                name: format!("node-{i}"),
                pool: "gpu".into(),
                cpu_milli: 64_000,
                memory_mib: 512 * 1024,
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

fn cfg(policy: PolicyKind) -> RunConfig {
    let mut c = RunConfig {
        seed: 3,
        check_invariants: true,
        ..RunConfig::default()
    };
    c.scheduler.policy = policy;
    c
}

fn go(spec: ClusterSpec, jobs: Vec<JobSpec>, c: &RunConfig) -> RunResult {
    let mut w = Workload { jobs };
    w.sort_by_submit();
    run(spec, w, c, None).expect("run")
}

fn times(r: &RunResult, id: &str) -> (Option<u64>, Option<u64>) {
    let j = r.jobs.iter().find(|j| j.id == id).expect("job");
    let s = |t: Option<SimTime>| t.map(|t| t.as_nanos() / 1_000_000_000);
    (s(j.start), s(j.end))
}

fn outcome(r: &RunResult, id: &str) -> Outcome {
    r.jobs.iter().find(|j| j.id == id).expect("job").outcome
}

const GPU_HOUR: u128 = 1000 * 3600 * 1_000_000_000; // milli-GPU x ns

// ---------------------------------------------------------------------------------------
// The two-job deadlock case: two 4-pod gangs (1 GPU each), pods interleaved, 6 GPUs.

fn deadlock_case(policy: PolicyKind, tweak: impl FnOnce(&mut RunConfig)) -> RunResult {
    let mut c = cfg(policy);
    c.pod_order = PodOrder::Interleaved;
    c.horizon = Some(SimDuration::from_secs(3600));
    tweak(&mut c);
    go(
        cluster(3, 2),
        vec![job("A", 0, 100, 4, 1), job("B", 0, 100, 4, 1)],
        &c,
    )
}

#[test]
fn default_deadlocks_and_holds_gpus_idle_until_the_horizon() {
    // A1 B1 A2 B2 A3 B3 take all six GPUs; A4, B4 never fit; nothing ever completes.
    // The run drains at 0 (it ends then: nothing happens afterwards), with the six GPUs
    // held by the stuck gangs; they stay held, idle, until the 1 h horizon: 6 GPU-hours,
    // which the reports add from `held_at_end_milli` (see reports' summary tests).
    let r = deadlock_case(PolicyKind::Default, |_| {});
    assert_eq!(outcome(&r, "A"), Outcome::Stuck);
    assert_eq!(outcome(&r, "B"), Outcome::Stuck);
    assert_eq!(r.end_time, SimTime::ZERO);
    assert_eq!(r.horizon, Some(SimTime::from_secs(3600)));
    assert_eq!(r.held_at_end_milli, 6000);
    let after = r.horizon.expect("horizon").since(r.end_time).as_nanos();
    assert_eq!(
        r.usage.allocated_integral - r.usage.busy_integral
            + u128::from(r.held_at_end_milli) * u128::from(after),
        6 * GPU_HOUR
    );
}

#[test]
fn coscheduling_completes_both() {
    // QueueSort puts A's four pods first (group timestamps tie, A sorts first): A is
    // complete at Permit and runs 0-100. B1, B2 wait at Permit; B3 fails Filter; PostFilter
    // sees 2 of 4 missing (50 % > 10 %) and releases B's waiters. A's completion at 100
    // requeues B, which then runs 100-200.
    let r = deadlock_case(PolicyKind::Coscheduling, |_| {});
    assert_eq!(times(&r, "A"), (Some(0), Some(100)));
    assert_eq!(times(&r, "B"), (Some(100), Some(200)));
}

#[test]
fn kueue_with_wait_for_pods_ready_completes_both() {
    // Default quota = 6 GPUs: A (4) is admitted, B (4) does not fit the quota until A
    // finishes; with blockAdmission B is not even considered while A's pods start.
    let r = deadlock_case(PolicyKind::Kueue, |c| {
        c.scheduler.kueue.wait_for_pods_ready.enable = true;
    });
    assert_eq!(times(&r, "A"), (Some(0), Some(100)));
    assert_eq!(times(&r, "B"), (Some(100), Some(200)));
}

#[test]
fn kueue_quota_twice_capacity_still_completes_with_wait_for_pods_ready() {
    // Quota 12 on 6 GPUs admits both by quota; blockAdmission admits B only once A's pods
    // are all running (t=0, A's four pods bind in the same cycle; admission runs again at
    // that instant), so B's pods take the 2 GPUs left and wait for A's, which free at 100.
    let r = deadlock_case(PolicyKind::Kueue, |c| {
        c.scheduler.kueue.cluster_queues = vec![cq("default", None, 12.0)];
        c.scheduler.kueue.wait_for_pods_ready.enable = true;
    });
    assert_eq!(times(&r, "A"), (Some(0), Some(100)));
    assert_eq!(times(&r, "B"), (Some(100), Some(200)));
}

#[test]
fn kueue_quota_twice_capacity_without_wait_for_pods_ready_deadlocks() {
    // Kueue's documented case: both workloads fit the 2x quota and are admitted; the
    // default kube-scheduler interleaves their pods: 3 + 3 bound, both stuck.
    let r = deadlock_case(PolicyKind::Kueue, |c| {
        c.scheduler.kueue.cluster_queues = vec![cq("default", None, 12.0)];
        c.scheduler.kueue.wait_for_pods_ready.enable = false;
    });
    assert_eq!(outcome(&r, "A"), Outcome::Stuck);
    assert_eq!(outcome(&r, "B"), Outcome::Stuck);
    // The run drains at 0 with all six GPUs held: they stay held until the horizon.
    assert_eq!(r.held_at_end_milli, 6000);
}

#[test]
fn volcano_completes_both_on_session_ticks() {
    // Sessions run on whole seconds after a change: at t=1 A is committed whole; B does
    // not fit. A ends at 101; the next session (t=102) commits B.
    let r = deadlock_case(PolicyKind::Volcano, |_| {});
    assert_eq!(times(&r, "A"), (Some(1), Some(101)));
    assert_eq!(times(&r, "B"), (Some(102), Some(202)));
}

#[test]
fn k8s_gang_completes_both_after_the_five_minute_deadline() {
    // A1 B1 A2 B2 A3 B3 wait at Permit; A4, B4 fail (no PostFilter in KEP-4671 alpha).
    // Both groups' 5-minute deadlines expire at 300: A's waiters are rejected first (its
    // timer was set first) and requeued, then B's. The retry at 300 takes the oldest
    // queue entries first: A4 and B4 (failed at 0), then A1-A3: A reaches 4 and runs
    // 300-400; B4 waits with a new deadline; B's other pods fit when A finishes.
    let r = deadlock_case(PolicyKind::K8sGang, |_| {});
    assert_eq!(times(&r, "A"), (Some(300), Some(400)));
    assert_eq!(times(&r, "B"), (Some(400), Some(500)));
}

// ---------------------------------------------------------------------------------------
// Kueue: cohort borrowing and reclaim; preemption by priority.

fn cq(name: &str, cohort: Option<&str>, nominal: f64) -> ClusterQueueDef {
    ClusterQueueDef {
        name: name.into(),
        cohort: cohort.map(str::to_string),
        nominal_gpus: nominal,
        borrowing_limit_gpus: None,
        lending_limit_gpus: None,
        preemption: KueuePreemption::default(),
    }
}

#[test]
fn kueue_cohort_borrowing_and_reclaim() {
    // Cohort "c": queues a and b with 4 GPUs each on 8 physical GPUs.
    // t=0: B1 (queue b, 8 GPUs) borrows a's unused 4 and runs.
    // t=10: A1 (queue a, 4 GPUs) is within a's nominal quota, but the cohort's 8 are in
    // use; a reclaims (reclaimWithinCohort: Any) from b, which is borrowing: B1 is evicted
    // (2 pods), A1 admitted at 10 and runs 10-110. B1 cannot borrow again until A1 ends;
    // it restarts from scratch at 110 and ends at 1110.
    let mut c = cfg(PolicyKind::Kueue);
    let mut a = cq("a", Some("c"), 4.0);
    a.preemption.reclaim_within_cohort = ReclaimWithinCohort::Any;
    c.scheduler.kueue.cluster_queues = vec![a, cq("b", Some("c"), 4.0)];
    let mut b1 = job("B1", 0, 1000, 2, 4);
    b1.queue = Some("b".into());
    let mut a1 = job("A1", 10, 100, 1, 4);
    a1.queue = Some("a".into());
    let r = go(cluster(2, 4), vec![b1, a1], &c);
    assert_eq!(times(&r, "A1"), (Some(10), Some(110)));
    assert_eq!(times(&r, "B1"), (Some(0), Some(1110)));
    assert_eq!(r.jobs.iter().find(|j| j.id == "B1").unwrap().evictions, 1);
    assert_eq!(r.preemptions, 2);
}

#[test]
fn kueue_without_reclaim_lets_the_borrower_finish() {
    // Same, reclaimWithinCohort: Never: A1 waits until B1 releases the cohort's quota.
    let mut c = cfg(PolicyKind::Kueue);
    c.scheduler.kueue.cluster_queues = vec![cq("a", Some("c"), 4.0), cq("b", Some("c"), 4.0)];
    let mut b1 = job("B1", 0, 1000, 2, 4);
    b1.queue = Some("b".into());
    let mut a1 = job("A1", 10, 100, 1, 4);
    a1.queue = Some("a".into());
    let r = go(cluster(2, 4), vec![b1, a1], &c);
    assert_eq!(times(&r, "B1"), (Some(0), Some(1000)));
    assert_eq!(times(&r, "A1"), (Some(1000), Some(1100)));
    assert_eq!(r.preemptions, 0);
}

#[test]
fn kueue_preemption_by_priority() {
    // One queue of 4 GPUs, withinClusterQueue: LowerPriority. L (priority 0, 4 GPUs,
    // 1000 s) runs from 0; H (priority 100, 4 GPUs, 100 s) arrives at 50 and preempts it:
    // H 50-150, L restarts at 150 and ends at 1150.
    let mut c = cfg(PolicyKind::Kueue);
    let mut q = cq("q", None, 4.0);
    q.preemption.within_cluster_queue = WithinClusterQueue::LowerPriority;
    c.scheduler.kueue.cluster_queues = vec![q];
    let l = job("L", 0, 1000, 1, 4);
    let mut h = job("H", 50, 100, 1, 4);
    h.priority = 100;
    let r = go(cluster(1, 4), vec![l, h], &c);
    assert_eq!(times(&r, "H"), (Some(50), Some(150)));
    assert_eq!(times(&r, "L"), (Some(0), Some(1150)));
    assert_eq!(r.preemptions, 1);
    // Equal priority never preempts.
    let mut c2 = c.clone();
    c2.scheduler.kueue.cluster_queues[0]
        .preemption
        .within_cluster_queue = WithinClusterQueue::LowerPriority;
    let l = job("L", 0, 1000, 1, 4);
    let h = job("H", 50, 100, 1, 4);
    let r = go(cluster(1, 4), vec![l, h], &c2);
    assert_eq!(times(&r, "H"), (Some(1000), Some(1100)));
}

// ---------------------------------------------------------------------------------------
// Job-level disciplines.

fn backfill_jobs() -> Vec<JobSpec> {
    // 4 GPUs. R (2 GPUs) runs 0-100. H (4 GPUs, 100 s) arrives at 1 and cannot start.
    // S (2 GPUs, 50 s) at 2; X (2 GPUs, 200 s) at 3.
    vec![
        job("R", 0, 100, 1, 2),
        job("H", 1, 100, 1, 4),
        job("S", 2, 50, 1, 2),
        job("X", 3, 200, 1, 2),
    ]
}

#[test]
fn easy_backfill_starts_a_short_job_without_delaying_the_head() {
    // H's reservation: R ends at 100, freeing 2 + 2 = 4 GPUs: shadow = 100, extra = 0.
    // S fits now and ends at 52 <= 100: backfilled, 2-52. X would end after the shadow
    // time and there are no extra GPUs: it waits. H starts at 100 as reserved (100-200),
    // X after it (200-400).
    let r = go(cluster(1, 4), backfill_jobs(), &cfg(PolicyKind::Backfill));
    assert_eq!(times(&r, "S"), (Some(2), Some(52)));
    assert_eq!(times(&r, "H"), (Some(100), Some(200)));
    assert_eq!(times(&r, "X"), (Some(200), Some(400)));
    // Strict FIFO: S waits behind H. Greedy gang: X jumps in at 52 and delays H to 252.
    let f = go(cluster(1, 4), backfill_jobs(), &cfg(PolicyKind::Fifo));
    assert_eq!(times(&f, "S"), (Some(200), Some(250)));
    assert_eq!(times(&f, "H"), (Some(100), Some(200)));
    let g = go(cluster(1, 4), backfill_jobs(), &cfg(PolicyKind::Gang));
    assert_eq!(times(&g, "X"), (Some(52), Some(252)));
    assert_eq!(times(&g, "H"), (Some(252), Some(352)));
}

#[test]
fn sjf_picks_the_shortest_waiting_job() {
    // 1 GPU. R runs 0-100; J1 (300 s) arrives at 1, J2 (50 s) at 2. At 100 SJF starts J2
    // (100-150), then J1 (150-450). FIFO would do J1 first.
    let jobs = || {
        vec![
            job("R", 0, 100, 1, 1),
            job("J1", 1, 300, 1, 1),
            job("J2", 2, 50, 1, 1),
        ]
    };
    let r = go(cluster(1, 1), jobs(), &cfg(PolicyKind::Sjf));
    assert_eq!(times(&r, "J2"), (Some(100), Some(150)));
    assert_eq!(times(&r, "J1"), (Some(150), Some(450)));
    let f = go(cluster(1, 1), jobs(), &cfg(PolicyKind::Fifo));
    assert_eq!(times(&f, "J1"), (Some(100), Some(400)));
}

#[test]
fn tiresias_demotes_a_long_job_and_lets_a_short_one_preempt_it() {
    // 1 GPU, one threshold of 100 GPU-s (queues Q0 | Q1). L (500 s) runs from 0 and
    // crosses 100 GPU-s at t=100: demoted to Q1. S (50 s) arrives at 150 into Q0 and
    // preempts L: S 150-200. L resumes at 200 with 350 s left: ends at 550.
    let mut c = cfg(PolicyKind::Tiresias);
    c.scheduler.tiresias.thresholds_gpu_s = vec![100];
    let r = go(
        cluster(1, 1),
        vec![job("L", 0, 500, 1, 1), job("S", 150, 50, 1, 1)],
        &c,
    );
    assert_eq!(times(&r, "S"), (Some(150), Some(200)));
    assert_eq!(times(&r, "L"), (Some(0), Some(550)));
    assert_eq!(r.preemptions, 1);
    // If S arrives before L is demoted (t=50), both are in Q0 and L, running, keeps the
    // GPU until its demotion at 100; then S (Q0) preempts it: S 100-150, L ends at
    // 150 + 400 = 550.
    let r = go(
        cluster(1, 1),
        vec![job("L", 0, 500, 1, 1), job("S", 50, 50, 1, 1)],
        &c,
    );
    assert_eq!(times(&r, "S"), (Some(100), Some(150)));
    assert_eq!(times(&r, "L"), (Some(0), Some(550)));
    // With the default thresholds (3250 GPU-s) L is never demoted: S waits until 500.
    let r = go(
        cluster(1, 1),
        vec![job("L", 0, 500, 1, 1), job("S", 50, 50, 1, 1)],
        &cfg(PolicyKind::Tiresias),
    );
    assert_eq!(times(&r, "S"), (Some(500), Some(550)));
    assert_eq!(r.preemptions, 0);
}

#[test]
fn tiresias_keeps_strict_arrival_order_within_a_queue() {
    // 1 node x 4 GPUs, one queue (threshold never reached). R (3 GPUs, 10 s) runs 0-10.
    // A (4 GPUs, 5 s) arrives at 1 and does not fit; B (1 GPU, 100 s) arrives at 2 and
    // runs. At 10 R ends. Q0 in arrival order is [A, B]: A takes all 4 GPUs and B, running,
    // is preempted after 8 s: A 10-15, B resumes at 15 with 92 s left and ends at 107.
    let jobs = || {
        vec![
            job("R", 0, 10, 1, 3),
            job("A", 1, 5, 1, 4),
            job("B", 2, 100, 1, 1),
        ]
    };
    let mut c = cfg(PolicyKind::Tiresias);
    c.scheduler.tiresias.thresholds_gpu_s = vec![1_000_000];
    let r = go(cluster(1, 4), jobs(), &c);
    assert_eq!(times(&r, "A"), (Some(10), Some(15)));
    assert_eq!(times(&r, "B"), (Some(2), Some(107)));
    assert_eq!(r.preemptions, 1);
    // running-first: B, running, keeps its GPU; A waits for it: B 2-102, A 102-107.
    c.scheduler.tiresias.queue_order = models::scheduler::TiresiasQueueOrder::RunningFirst;
    let r = go(cluster(1, 4), jobs(), &c);
    assert_eq!(times(&r, "B"), (Some(2), Some(102)));
    assert_eq!(times(&r, "A"), (Some(102), Some(107)));
    assert_eq!(r.preemptions, 0);
}

#[test]
fn tiresias_scheduling_interval_decides_in_rounds() {
    // 1 GPU, rounds every 60 s (at 0, 60, 120, ...). A (30 s) arrives at 1 and starts in
    // the round at 60, ends at 90; B (10 s) arrives at 70 and starts in the round at 120 (the GPU is idle from
    // 90 to 120), ends at 130. C (5 s) arrives exactly at 180, a round instant: the round
    // at 180 sees it (rounds run after every event of their instant): 180-185.
    let mut c = cfg(PolicyKind::Tiresias);
    c.scheduler.tiresias.scheduling_interval = Some(SimDuration::from_secs(60));
    let r = go(
        cluster(1, 1),
        vec![
            job("A", 1, 30, 1, 1),
            job("B", 70, 10, 1, 1),
            job("C", 180, 5, 1, 1),
        ],
        &c,
    );
    assert_eq!(times(&r, "A"), (Some(60), Some(90)));
    assert_eq!(times(&r, "B"), (Some(120), Some(130)));
    assert_eq!(times(&r, "C"), (Some(180), Some(185)));
    // Without rounds every job starts on arrival.
    c.scheduler.tiresias.scheduling_interval = None;
    let r = go(
        cluster(1, 1),
        vec![
            job("A", 1, 30, 1, 1),
            job("B", 70, 10, 1, 1),
            job("C", 180, 5, 1, 1),
        ],
        &c,
    );
    assert_eq!(times(&r, "A"), (Some(1), Some(31)));
    assert_eq!(times(&r, "B"), (Some(70), Some(80)));
}

// ---------------------------------------------------------------------------------------
// Coscheduling: the Permit timeout releases reservations.

#[test]
fn coscheduling_timeout_releases_reservations() {
    // 2 nodes x 5 GPUs. X (1 GPU, 1000 s) runs from 0. A (10 pods x 1 GPU, 100 s) arrives
    // at 1: nine pods are placed and wait at Permit; the tenth fails, but only 1 of 10 is
    // missing (10 % is not more than podGroupRejectPercentage 10 %), so PostFilter keeps
    // the waiters. B (3 x 1 GPU, 50 s) arrives at 10 and finds no GPU. A's Permit deadline
    // (1 + 60 s) releases its nine GPUs at 61: B, now ahead of A in the queue (A's failure
    // time is 61), runs 61-111. A keeps retrying (each attempt waits 60 s) until X frees
    // the tenth GPU at 1000; A then runs 1000-1100.
    let r = go(
        cluster(2, 5),
        vec![
            job("X", 0, 1000, 1, 1),
            job("A", 1, 100, 10, 1),
            job("B", 10, 50, 3, 1),
        ],
        &cfg(PolicyKind::Coscheduling),
    );
    assert_eq!(times(&r, "B"), (Some(61), Some(111)));
    assert_eq!(times(&r, "A"), (Some(1000), Some(1100)));
    // From 1 to 61 A's nine waiting pods held 9 GPUs that did nothing.
    assert!(r.usage.allocated_integral - r.usage.busy_integral >= 9 * 60 * 1000 * 1_000_000_000);
}

// ---------------------------------------------------------------------------------------
// Topology: gangs packed into one rack.

#[test]
fn pack_racks_keeps_a_gang_in_one_rack() {
    // Two racks of two 4-GPU nodes. A 1-GPU job occupies rack 0. A 2-pod x 4-GPU gang
    // fits only in rack 1 as a whole; with pack-racks both pods land there.
    let mut spec = cluster(4, 4);
    for (i, n) in spec.nodes.iter_mut().enumerate() {
        n.rack = (i / 2) as u32;
    }
    let mut c = cfg(PolicyKind::Gang);
    c.scheduler.topology = models::scheduler::Topology::PackRacks;
    let r = go(
        spec,
        vec![job("small", 0, 1000, 1, 1), job("gang", 1, 10, 2, 4)],
        &c,
    );
    let g = r.jobs.iter().find(|j| j.id == "gang").unwrap();
    assert_eq!(g.outcome, Outcome::Completed);
    assert_eq!(g.nodes, 2);
}

// ---------------------------------------------------------------------------------------
// Volcano queues (the proportion plugin).

fn vqueue(name: &str, weight: u32) -> VolcanoQueueDef {
    VolcanoQueueDef {
        name: name.into(),
        weight,
        capability: None,
        guarantee: None,
    }
}

fn in_queue(mut j: JobSpec, q: &str) -> JobSpec {
    j.queue = Some(q.into());
    j
}

#[test]
fn volcano_queue_weights_split_the_cluster_one_to_three() {
    // One node of 8 GPUs; queues a (weight 1) and b (weight 3); eight 1-GPU jobs in each,
    // a's submitted first. Session at t=1: both queues ask for 8 GPUs, so a deserves
    // 8·1/4 = 2 and b 8·3/4 = 6. Allocate serves the queue of smallest share (allocated /
    // deserved; ties: the order listed): a1 (a: 1/2), b1 (b: 1/6), b2 (2/6), b3 (3/6),
    // a2 (tie at 1/2 goes to a; a: 1, overused), b4, b5, b6 (b: 1, overused). a3..a8 and
    // b7, b8 wait though a's jobs came first. At 101 all end; at the session of 102 a asks
    // for 6 and b for 2: b deserves 2 (its request) and a the other 6; all eight start.
    // (An overcommit factor of 3 lets every job through enqueue: at 1.2 only 9.6 GPUs of
    // jobs would be Inqueue, a1..a8 and b1.)
    let mut c = cfg(PolicyKind::Volcano);
    c.scheduler.volcano.overcommit_factor = 3.0;
    c.scheduler.volcano.queues = vec![vqueue("a", 1), vqueue("b", 3)];
    let mut jobs = Vec::new();
    for q in ["a", "b"] {
        for i in 1..=8 {
            jobs.push(in_queue(job(&format!("{q}{i}"), 0, 100, 1, 1), q));
        }
    }
    let r = go(cluster(1, 8), jobs, &c);
    let first: Vec<&str> = r
        .jobs
        .iter()
        .filter(|j| j.start == Some(SimTime::from_secs(1)))
        .map(|j| j.id.as_str())
        .collect();
    assert_eq!(first, ["a1", "a2", "b1", "b2", "b3", "b4", "b5", "b6"]);
    for id in ["a3", "a8", "b7", "b8"] {
        assert_eq!(times(&r, id), (Some(102), Some(202)), "{id}");
    }
}

#[test]
fn volcano_queue_order_by_share_not_submission() {
    // 8 GPUs. Queue a (weight 1): A1 (2 GPUs) then A2 (6 GPUs); queue b (weight 3): B1
    // (6 GPUs), submitted last. a asks for 8, b for 6: a deserves 2, b 6 (its request).
    // t=1: shares tie at 0, a goes first: A1 (a: 2/2, overused); b (share 0): B1 fits its
    // 6 (b: 1). a is overused, so A2 waits although it came before B1; it runs at 102 after
    // both end at 101. With one queue (no `queues`), submission order: A1 and A2 fill the
    // node and B1 waits instead. (Overcommit factor 3: every job passes enqueue; at 1.2 B1
    // would not, yet its pending request would still count in b's deserved.)
    let jobs = vec![
        in_queue(job("A1", 0, 100, 1, 2), "a"),
        in_queue(job("A2", 0, 100, 1, 6), "a"),
        in_queue(job("B1", 0, 100, 1, 6), "b"),
    ];
    let mut c = cfg(PolicyKind::Volcano);
    c.scheduler.volcano.overcommit_factor = 3.0;
    c.scheduler.volcano.queues = vec![vqueue("a", 1), vqueue("b", 3)];
    let r = go(cluster(1, 8), jobs.clone(), &c);
    assert_eq!(times(&r, "A1"), (Some(1), Some(101)));
    assert_eq!(times(&r, "B1"), (Some(1), Some(101)));
    assert_eq!(times(&r, "A2"), (Some(102), Some(202)));
    // One queue: the same jobs without queue names.
    let one: Vec<JobSpec> = jobs
        .into_iter()
        .map(|mut j| {
            j.queue = None;
            j
        })
        .collect();
    let mut c = cfg(PolicyKind::Volcano);
    c.scheduler.volcano.overcommit_factor = 3.0;
    let r = go(cluster(1, 8), one, &c);
    assert_eq!(times(&r, "A1"), (Some(1), Some(101)));
    assert_eq!(times(&r, "A2"), (Some(1), Some(101)));
    assert_eq!(times(&r, "B1"), (Some(102), Some(202)));
}

#[test]
fn volcano_queue_capability_holds_jobs_at_enqueue() {
    // Queue a may hold 4 GPUs; A1 and A2 (3 GPUs each) both fit the 8-GPU node, but the
    // enqueue gate lets A2 in only when A1 plus A2 fits a's capability: A2 waits for A1.
    // Queue b (no capability) is capped at the cluster: B1 (2 GPUs) runs at once.
    let mut c = cfg(PolicyKind::Volcano);
    let mut a = vqueue("a", 1);
    a.capability = Some(VolcanoResources {
        gpus: Some(4.0),
        ..VolcanoResources::default()
    });
    c.scheduler.volcano.queues = vec![a, vqueue("b", 1)];
    let jobs = vec![
        in_queue(job("A1", 0, 100, 1, 3), "a"),
        in_queue(job("A2", 0, 100, 1, 3), "a"),
        in_queue(job("B1", 0, 100, 1, 2), "b"),
    ];
    let r = go(cluster(1, 8), jobs, &c);
    assert_eq!(times(&r, "A1"), (Some(1), Some(101)));
    assert_eq!(times(&r, "B1"), (Some(1), Some(101)));
    assert_eq!(times(&r, "A2"), (Some(102), Some(202)));
}

#[test]
fn volcano_unknown_queue_is_a_config_error() {
    let mut c = cfg(PolicyKind::Volcano);
    c.scheduler.volcano.queues = vec![vqueue("a", 1)];
    let w = Workload {
        jobs: vec![in_queue(job("J", 0, 10, 1, 1), "nope")],
    };
    let e = run(cluster(1, 8), w, &c, None).expect_err("unknown queue");
    let msg = e.to_string();
    assert!(msg.contains("scheduler.volcano.queues"), "{msg}");
    assert!(msg.contains("\"nope\""), "{msg}");
}
