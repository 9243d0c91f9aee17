//! The hand-made gang case: two 4-pod, 1-GPU-per-pod jobs submitted at the same instant,
//! pods reaching the scheduler interleaved (A1, B1, A2, B2, …), on a 6-GPU cluster.
//!
//! Derivation: the default scheduler binds pods one at a time in queue order, so A1, B1,
//! A2, B2, A3, B3 take all six GPUs; A4 and B4 find no GPU. Neither job has all four pods,
//! so neither runs, nothing completes, nothing is released: both are stuck holding three
//! GPUs each. Gang placement instead places A (4 GPUs) whole; B needs 4 but only 2 are
//! left, so it waits without holding anything; A finishes at t=100s, then B runs from
//! 100s to 200s.

use std::collections::BTreeMap;

use models::{
    ClusterSpec, JobSpec, NodeSpec, Outcome, PodOrder, PodRequest, PolicyKind, RunConfig, Workload,
    run,
};
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

fn two_jobs() -> Workload {
    let job = |id: &str| JobSpec {
        id: id.into(),
        submit: SimTime::ZERO,
        duration: SimDuration::from_secs(100),
        pods: vec![PodRequest::gpus(1); 4],
        priority: 0,
        queue: None,
    };
    Workload {
        jobs: vec![job("A"), job("B")],
    }
}

fn config(policy: PolicyKind, seed: u64) -> RunConfig {
    let mut c = RunConfig {
        seed,
        pod_order: PodOrder::Interleaved,
        check_invariants: true,
        ..RunConfig::default()
    };
    c.scheduler.policy = policy;
    c
}

#[test]
fn default_scheduler_deadlocks_holding_all_gpus() {
    for (nodes, gpus) in [(3, 2), (6, 1), (1, 6)] {
        for seed in 1..=5 {
            let r = run(
                cluster(nodes, gpus),
                two_jobs(),
                &config(PolicyKind::Default, seed),
                None,
            )
            .unwrap();
            assert_eq!(r.stop, "drained");
            for j in &r.jobs {
                assert_eq!(
                    j.outcome,
                    Outcome::Stuck,
                    "{nodes}x{gpus} seed {seed}: {j:?}"
                );
                assert_eq!(j.pods_bound, 3);
                assert_eq!(j.end, None);
            }
            // All six GPUs held, by jobs that never ran: allocated all the time, busy never.
            assert_eq!(r.usage.allocated_milli, 6000);
            assert_eq!(r.usage.busy_milli, 0);
            assert_eq!(r.usage.busy_integral, 0);
        }
    }
}

#[test]
fn gang_placement_runs_them_one_after_the_other() {
    for (nodes, gpus) in [(3, 2), (6, 1), (1, 6)] {
        let r = run(
            cluster(nodes, gpus),
            two_jobs(),
            &config(PolicyKind::Gang, 7),
            None,
        )
        .unwrap();
        let a = &r.jobs[0];
        let b = &r.jobs[1];
        assert_eq!(a.outcome, Outcome::Completed);
        assert_eq!(b.outcome, Outcome::Completed);
        assert_eq!(
            (a.start, a.end),
            (Some(SimTime::from_secs(0)), Some(SimTime::from_secs(100)))
        );
        assert_eq!(
            (b.start, b.end),
            (Some(SimTime::from_secs(100)), Some(SimTime::from_secs(200)))
        );
        assert_eq!(r.usage.allocated_milli, 0, "everything released at the end");
        // 4 GPUs busy for 200 s.
        assert_eq!(r.usage.busy_integral, 4000u128 * 200 * 1_000_000_000);
        assert_eq!(r.usage.allocated_integral, r.usage.busy_integral);
    }
}

#[test]
fn grouped_order_lets_the_default_scheduler_finish() {
    // With A's four pods queued before B's, A gets four GPUs and runs; B's first two pods
    // take the rest and B4.. wait until A completes — the default scheduler gets lucky.
    let mut c = config(PolicyKind::Default, 1);
    c.pod_order = PodOrder::Grouped;
    let r = run(cluster(3, 2), two_jobs(), &c, None).unwrap();
    assert!(
        r.jobs.iter().all(|j| j.outcome == Outcome::Completed),
        "{:?}",
        r.jobs
    );
    assert_eq!(r.jobs[1].start, Some(SimTime::from_secs(100)));
    // B held two GPUs idle while waiting for A: allocated exceeds busy by 2 GPUs x 100 s.
    assert_eq!(
        r.usage.allocated_integral - r.usage.busy_integral,
        2000u128 * 100 * 1_000_000_000
    );
}

#[test]
fn pod_larger_than_any_node_is_rejected_before_running() {
    let mut w = two_jobs();
    w.jobs[0].pods[0] = PodRequest::gpus(8);
    let err = run(cluster(3, 2), w, &config(PolicyKind::Gang, 1), None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("\"A\" pod 0") && msg.contains("8 GPUs"),
        "{msg}"
    );
}
