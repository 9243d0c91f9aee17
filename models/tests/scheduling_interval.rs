//! `scheduler.scheduling_interval` for every policy (issue 19 item 5): the research
//! simulators decide every 60 s. With it, a policy's pass runs only at the interval's
//! multiples: what arrives or frees up in between waits for the next round.
//! Hand-derived timelines on 6 GPUs (3 nodes of 2), two 4-GPU jobs of 100 s.

use std::collections::BTreeMap;

use models::{ClusterSpec, JobSpec, NodeSpec, PodRequest, PolicyKind, RunConfig, Workload, run};
use sim_core::{SimDuration, SimTime};

fn cluster() -> ClusterSpec {
    ClusterSpec {
        nodes: (0..3)
            .map(|i| NodeSpec {
                taints: Vec::new(),
                name: format!("node-{i}"),
                pool: "gpu".into(),
                cpu_milli: 32_000,
                memory_mib: 262_144,
                gpus: 2,
                gpu_model: Some("H100".into()),
                gpu_memory_mib: 81_920,
                rack: 0,
                labels: BTreeMap::new(),
            })
            .collect(),
    }
}

fn job(id: &str, submit_s: u64) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::from_secs(submit_s),
        duration: SimDuration::from_secs(100),
        pods: vec![PodRequest::gpus(1); 4],
        priority: 0,
        queue: None,
    }
}

/// (start s, end s) of A (submitted at 10 s) and B (at 20 s) under `policy`.
fn timeline(policy: &'static str, every: Option<u64>) -> [(u64, u64); 2] {
    let mut config = RunConfig {
        check_invariants: true,
        ..RunConfig::default()
    };
    config.scheduler.policy = PolicyKind::new(policy);
    config.scheduler.scheduling_interval = every.map(SimDuration::from_secs);
    let w = Workload {
        jobs: vec![job("A", 10), job("B", 20)],
    };
    let r = run(cluster(), w, &config, None).expect("run");
    let secs = |t: Option<SimTime>| t.expect("ran").as_nanos() / 1_000_000_000;
    [0, 1].map(|i| (secs(r.jobs[i].start), secs(r.jobs[i].end)))
}

#[test]
fn without_an_interval_jobs_start_when_they_can() {
    assert_eq!(timeline("gang", None), [(10, 110), (110, 210)]);
}

#[test]
fn with_an_interval_a_gang_policy_decides_only_at_rounds() {
    // A and B both wait for the 60 s round; A fits, B does not. A ends at 160 s, between
    // rounds: B starts at the 180 s round.
    for policy in ["gang", "fifo", "kueue", "volcano"] {
        assert_eq!(
            timeline(policy, Some(60)),
            [(60, 160), (180, 280)],
            "{policy}"
        );
    }
}

#[test]
fn with_an_interval_kube_scheduler_binds_only_at_rounds() {
    // The default scheduler at the 60 s round binds A's four pods, then two of B's (B
    // holds them, waiting for two more). A's end at 160 s frees its GPUs; B's last two
    // pods bind at the 180 s round, when B starts.
    assert_eq!(timeline("default", Some(60)), [(60, 160), (180, 280)]);
}

#[test]
fn tiresias_takes_the_interval_as_its_own_rounds() {
    let mut config = RunConfig::default();
    config.scheduler.policy = PolicyKind::Tiresias;
    config.scheduler.scheduling_interval = Some(SimDuration::from_secs(60));
    config.scheduler.tiresias.scheduling_interval = Some(SimDuration::from_secs(30));
    let w = Workload {
        jobs: vec![job("A", 10)],
    };
    let e = run(cluster(), w, &config, None)
        .expect_err("two different intervals")
        .to_string();
    assert!(e.contains("tiresias.scheduling_interval"), "{e}");
    assert_eq!(timeline("tiresias", Some(60)), [(60, 160), (180, 280)]);
}
