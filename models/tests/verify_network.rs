//! `verify` on network runs and seeded failures (issue 16 item 5): the network model's
//! solver and per-job progress, and the seeded failure streams, are snapshotted with
//! `SimState` and fingerprinted through their owners' hooks. Every figure below is derived
//! by hand in the comments.

use std::collections::BTreeMap;

use models::net::{FabricConfig, LatencyConfig, NetworkConfig, NodeNetConfig, StepSpec};
use models::sim::{ClusterSim, Event, JobPhase, NetModel};
use models::verify::{ExploreOptions, Mode, Problem, Verdict, explore};
use models::{
    ClusterSpec, FaultConfig, JobSpec, NodeSpec, PodRequest, PolicyKind, RunConfig, SeededFaults,
    Workload,
};
use sim_core::{
    Chooser, ChooserMode, RngStreams, SimDuration, SimTime, Simulation, StopAt,
};

fn cluster(nodes: u32) -> ClusterSpec {
    ClusterSpec {
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                taints: Vec::new(),
                name: format!("n{i}"),
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

/// A tiny rail fabric: 4 nodes of 1 GPU and 1 compute NIC of 100 Gbit/s (12.5 GB/s), two
/// scalable units of 2 nodes (n0, n1 | n2, n3), each with its own leaf; a leaf's uplink
/// to the spine carries (2 × 12.5) / 4 = 6.25 GB/s (oversubscription 4). No latency. A
/// step is 1 s of compute and an all-reduce of S = 6.25 GB per rank, none of it hidden.
/// A 2-rank ring moves S each way: inside a unit at the NIC's 12.5 GB/s (0.5 s, a step of
/// 1.5 s); across units through both leaves' uplinks at 6.25 GB/s (1 s, a step of 2 s).
/// A 1-GPU job has no collective: its step is its compute.
fn network() -> NetModel {
    NetModel {
        config: NetworkConfig {
            node: NodeNetConfig {
                compute_nics: 1,
                compute_nic_gbit_s: 100.0,
                ..NodeNetConfig::default()
            },
            fabric: FabricConfig {
                nodes_per_su: 2,
                oversubscription: 4.0,
                ..FabricConfig::default()
            },
            latency: LatencyConfig {
                nvlink_step: SimDuration::ZERO,
                network_step: SimDuration::ZERO,
            },
            ..NetworkConfig::default()
        },
        steps: StepSpec {
            comm_bytes: 6_250_000_000,
            ..StepSpec::compute_only(SimDuration::from_secs(1))
        },
        staging: None,
    }
}

/// Gang scheduling (whole jobs, queue order X, A, Y, C) at t = 0: X (1 GPU, 100 s), A
/// (2 × 1 GPU, 10 steps), Y (1 GPU, 17 s); C (2 × 1 GPU, 4 steps) waits for two GPUs.
/// Where A lands decides whether A or Y completes first:
/// * A inside one unit (X and Y share the other): 10 × 1.5 s = 15 s, before Y (17 s);
///   C then gets A's two nodes (inside a unit): 15 + 4 × 1.5 = 21 s;
/// * A across units: 10 × 2 s = 20 s, after Y; C then has three free nodes.
fn contention() -> Problem {
    let mut config = RunConfig {
        check_invariants: true,
        network: Some(network()),
        ..RunConfig::default()
    };
    config.scheduler.policy = PolicyKind::Gang;
    Problem {
        name: "net-contention".into(),
        spec: cluster(4),
        workload: Workload {
            jobs: vec![
                job("X", 1, 0, 100),
                job("A", 2, 0, 10),
                job("Y", 1, 0, 17),
                job("C", 2, 0, 4),
            ],
        },
        config,
    }
}

/// Only node ties are choices (the simultaneous events and pods stay in FIFO order), so
/// the schedules can be counted by hand.
fn ties_only() -> ExploreOptions {
    ExploreOptions {
        event_order: false,
        pod_order: false,
        ..ExploreOptions::default()
    }
}

fn exhaustive() -> Mode {
    Mode::Exhaustive {
        max_schedules: 100_000,
        max_depth: None,
    }
}

const QUIET: &(dyn Fn(u64, u64) + Sync) = &|_, _| {};

/// One schedule of `p` following `script` (node ties only, as `ties_only`): each job's
/// completion time in seconds, in job order.
fn completions(p: &Problem, script: Vec<u32>) -> Vec<(String, f64)> {
    let mut m = ClusterSim::new(p.spec.clone(), p.workload.clone(), &p.config).unwrap();
    let mut sim = Simulation::new(Chooser::new(
        ChooserMode::Scripted(script),
        &RngStreams::new(p.config.seed),
    ));
    for (i, j) in p.workload.jobs.iter().enumerate() {
        sim.schedule_at(j.submit, Event::Submit(i as u32));
    }
    m.schedule_node_events(&mut sim);
    let stop = StopAt {
        horizon: SimTime::MAX,
        max_events: 10_000,
    };
    sim.run(&mut m, stop, |_, _| true);
    m.state
        .jobs
        .iter()
        .zip(&p.workload.jobs)
        .map(|(js, spec)| match js.phase {
            JobPhase::Completed { end } => (spec.id.clone(), end.as_nanos() as f64 / 1e9),
            _ => (spec.id.clone(), f64::NAN),
        })
        .collect()
}

#[test]
fn where_a_gang_lands_on_the_fabric_decides_which_job_completes_first() {
    let p = contention();
    // Ties in node order: X on n0, A's pods on the first free node each time (n1, then
    // n2: across units), Y on n3. A ends at 20 s, after Y (17 s); at 20 s C takes the
    // first two of n1, n2, n3 (n1, n2: across units) and runs 4 × 2 s: 28 s.
    let cross = completions(&p, vec![]);
    let ends = |v: &[(String, f64)]| v.iter().map(|(_, t)| *t).collect::<Vec<_>>();
    assert_eq!(ends(&cross), vec![100.0, 20.0, 17.0, 28.0], "{cross:?}");
    // A's first pod on the second free node (n2), its second on the second of n1, n3 (n3):
    // A inside unit 1, done at 15 s, before Y; C on n2, n3 (inside): 21 s.
    let inside = completions(&p, vec![0, 1, 1]);
    assert_eq!(ends(&inside), vec![100.0, 15.0, 17.0, 21.0], "{inside:?}");
}
