//! Dataset staging before step one: analytic (64 clients share a 100 GB/s filesystem) and in
//! runs (staging delays the start of compute by the time the model predicts; the node-local
//! NVMe cache spares a shared dataset the second time).

use std::collections::BTreeMap;

use models::net::StepSpec;
use models::net::{FlowNet, NetworkConfig, Topology, staging_flows};
use models::{
    ClusterSpec, DatasetScope, JobSpec, NetModel, NodeSpec, PodRequest, RunConfig, StagingSpec,
    Workload, run,
};
use sim_core::{NANOS_PER_SEC, SimDuration, SimTime};

const GB: f64 = 1e9;

fn fs_100() -> NetworkConfig {
    let mut cfg = NetworkConfig::default();
    cfg.storage.read_gbyte_s = 100.0;
    // Each client could read at 40 GB/s on its own; the filesystem is the bottleneck.
    cfg.storage.client_read_gbyte_s = 40.0;
    cfg
}

#[test]
fn sixty_four_clients_stage_in_64_x_over_100_gbyte_s() {
    // Every node gets 100/64 GB/s (below its client cap, storage NIC and NVMe write), so
    // X bytes each take X / (100/64 GB/s) = 64·X / 100 GB/s.
    let topo = Topology::uniform(&fs_100(), 64, 8).unwrap();
    let mut net: FlowNet = topo.flow_net();
    let nodes: Vec<u32> = (0..64).collect();
    let x = 25e9;
    let ids = net.add_flows(SimTime::ZERO, staging_flows(&topo, &nodes, x as u64, 1));
    let want = 64.0 * x / (100.0 * GB);
    for &f in &ids {
        let r = net.rate(f).unwrap();
        assert!((r - 100.0 * GB / 64.0).abs() < 1e-6 * r, "rate {r}");
        let t = net.completion_time(f).unwrap().as_nanos() as f64 / NANOS_PER_SEC as f64;
        assert!((t - want).abs() < 1e-6, "done at {t} s, want {want} s");
    }
    // All finish together at 16 s.
    assert_eq!(net.pop_completed(SimTime(16 * NANOS_PER_SEC)).len(), 64);
}

fn cluster(nodes: u32) -> ClusterSpec {
    ClusterSpec {
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                taints: Vec::new(),
                name: format!("node-{i}"),
                pool: "gpu".into(),
                cpu_milli: 192_000,
                memory_mib: 2 * 1024 * 1024,
                gpus: 8,
                gpu_model: Some("H100".into()),
                gpu_memory_mib: 81_920,
                rack: i / 32,
                labels: BTreeMap::new(),
            })
            .collect(),
    }
}

/// 64 whole-node jobs at t = 0 and, when `second_wave`, 64 more at t = 200 s (each node runs
/// one job of each wave, 100 s of compute).
fn workload(second_wave: bool) -> Workload {
    let waves = if second_wave { 2 } else { 1 };
    let jobs = (0..64 * waves)
        .map(|i| JobSpec {
            id: format!("j{i}"),
            submit: SimTime::from_secs(if i < 64 { 0 } else { 200 }),
            duration: SimDuration::from_secs(100),
            pods: vec![PodRequest::gpus(8)],
            priority: 0,
            queue: None,
        })
        .collect();
    Workload { jobs }
}

fn config(staging: Option<StagingSpec>) -> RunConfig {
    RunConfig {
        network: Some(NetModel {
            config: fs_100(),
            // One node per job, no communication, no input: a step is exactly its compute.
            steps: StepSpec::compute_only(SimDuration::from_secs(1)),
            staging,
        }),
        check_invariants: true,
        ..RunConfig::default()
    }
}

fn ends(r: &models::RunResult) -> Vec<u64> {
    r.jobs.iter().map(|j| j.end.unwrap().as_nanos()).collect()
}

#[test]
fn staging_delays_the_first_step_by_the_predicted_time() {
    let x = 25_000_000_000u64; // 25 GB per node → 64 · 25 / 100 = 16 s
    let staged = config(Some(StagingSpec {
        bytes_per_node: x,
        dataset: DatasetScope::PerJob,
    }));
    let with = run(cluster(64), workload(false), &staged, None).unwrap();
    let without = run(cluster(64), workload(false), &config(None), None).unwrap();
    let stage_ns = 16 * NANOS_PER_SEC;
    for ((a, b), nj) in ends(&with)
        .iter()
        .zip(ends(&without))
        .zip(&with.network_jobs)
    {
        assert_eq!(b, 100 * NANOS_PER_SEC);
        assert!(a.abs_diff(b + stage_ns) <= 2, "end {a} vs {b} + 16 s");
        assert!(
            (nj.staging_ns as u64).abs_diff(stage_ns) <= 2,
            "staging {}",
            nj.staging_ns
        );
        assert!((nj.steps - 100.0).abs() < 1e-6);
    }
    assert!(without.network_jobs.iter().all(|j| j.staging_ns == 0));
}

#[test]
fn a_shared_dataset_is_served_from_the_node_cache_the_second_time() {
    let x = 25_000_000_000u64;
    let per = |dataset| {
        let cfg = config(Some(StagingSpec {
            bytes_per_node: x,
            dataset,
        }));
        run(cluster(64), workload(true), &cfg, None).unwrap()
    };
    let shared = per(DatasetScope::Shared);
    let own = per(DatasetScope::PerJob);
    // First wave: 16 s of staging either way.
    for e in &ends(&shared)[..64] {
        assert!(e.abs_diff(116 * NANOS_PER_SEC) <= 2);
    }
    // Second wave at 200 s: the shared dataset is already on every node's NVMe.
    for e in &ends(&shared)[64..] {
        assert_eq!(*e, 300 * NANOS_PER_SEC);
    }
    for e in &ends(&own)[64..] {
        assert!(e.abs_diff(316 * NANOS_PER_SEC) <= 2);
    }
}

#[test]
fn documented_run_section_parses_with_staging() {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Scenario {
        network: NetModel,
    }
    let doc = include_str!("../../docs/hardware-model.md");
    let at = doc.find("## 8a.").expect("section 8a");
    let start = at + doc[at..].find("```yaml\n").expect("yaml block") + 8;
    let end = start + doc[start..].find("```").unwrap();
    let s: Scenario = serde_saphyr::from_str(&doc[start..end]).unwrap();
    let st = s.network.staging.expect("staging in the example");
    assert_eq!(st.bytes_per_node, 500_000_000_000);
    assert_eq!(st.dataset, DatasetScope::PerJob);
}

#[test]
fn a_job_preempted_while_staging_starts_its_copy_again() {
    // One node; staging is bound by its NVMe write (10 GB/s): 1,000 GB take 100 s. Kueue,
    // one queue of 8 GPUs, lower priority preempted. L (priority 0) starts at 0 and stages;
    // H (priority 100) arrives at 50 and preempts L mid-copy; H stages 0-100 s of its own
    // (50-150) and computes 150-250. L restarts at 250 without its partial copy: stages
    // 250-350, computes 350-450. L's staging time counts both attempts (50 + 100 s).
    use models::PolicyKind;
    use models::scheduler::{ClusterQueueDef, KueuePreemption, WithinClusterQueue};
    let mut cfg = config(Some(StagingSpec {
        bytes_per_node: 1_000_000_000_000,
        dataset: DatasetScope::PerJob,
    }));
    cfg.scheduler.policy = PolicyKind::Kueue;
    let preemption = KueuePreemption {
        within_cluster_queue: WithinClusterQueue::LowerPriority,
        ..Default::default()
    };
    cfg.scheduler.kueue.cluster_queues = vec![ClusterQueueDef {
        name: "q".into(),
        cohort: None,
        nominal_gpus: 8.0,
        borrowing_limit_gpus: None,
        lending_limit_gpus: None,
        preemption,
    }];
    let job = |id: &str, at: u64, priority: i32| JobSpec {
        id: id.into(),
        submit: SimTime::from_secs(at),
        duration: SimDuration::from_secs(100),
        pods: vec![PodRequest::gpus(8)],
        priority,
        queue: None,
    };
    let w = Workload {
        jobs: vec![job("L", 0, 0), job("H", 50, 100)],
    };
    let r = run(cluster(1), w, &cfg, None).unwrap();
    let s = NANOS_PER_SEC;
    let end = |id: &str| r.jobs.iter().find(|j| j.id == id).unwrap().end.unwrap();
    assert!(end("H").as_nanos().abs_diff(250 * s) <= 2, "{:?}", end("H"));
    assert!(end("L").as_nanos().abs_diff(450 * s) <= 2, "{:?}", end("L"));
    assert_eq!(r.preemptions, 1);
    let l = r.network_jobs.iter().find(|j| j.id == "L").unwrap();
    assert!(
        (l.staging_ns as u64).abs_diff(150 * s) <= 4,
        "{}",
        l.staging_ns
    );
    assert!((l.steps - 100.0).abs() < 1e-6);
}
