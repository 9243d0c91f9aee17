//! `verify` on network runs and seeded failures (issue 16 item 5): the network model's
//! solver and per-job progress, and the seeded failure streams, are snapshotted with
//! `SimState` and fingerprinted through their owners' hooks. Every figure below is derived
//! by hand in the comments.

use std::collections::BTreeMap;

use models::net::{FabricConfig, LatencyConfig, NetworkConfig, NodeNetConfig, StepSpec};
use models::sim::{ClusterSim, Event, JobPhase, NetModel};
use models::verify::{
    ExploreOptions, Mode, Problem, Verdict, ViolationKind, Witness, explore, replay,
};
use models::{
    ClusterSpec, FaultConfig, JobSpec, NodeSpec, PodRequest, PolicyKind, RunConfig, SeededFaults,
    Workload,
};
use sim_core::{Chooser, ChooserMode, RngStreams, SimDuration, SimTime, Simulation, StopAt};

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

/// Node ties only: X has 4 nodes to choose from, A's pods then 3 and 2, Y takes the last
/// one: 24 placements at t = 0. Per node of X (nodes are not merged on the network: a
/// node's place in the fabric decides its traffic):
/// * A inside the other unit (2 orders of its pods): at 15 s C takes A's two nodes in 2
///   orders: 2 × 2 = 4 schedules;
/// * A across units (the 4 ordered pairs of X's partner and one node of the other unit):
///   at 20 s C takes 2 of the 3 free nodes in 3 × 2 = 6 orders: 4 × 6 = 24 schedules.
///
/// 4 × (4 + 24) = 112 schedules. Distinct states (the fingerprint holds the network's
/// flows, so states merge only where the solver is the same): 24 at t = 0; inside, per X
/// and order of C (A's order is gone once A completed: its two flows leave the same free
/// slots), one at 15 s (C placed) and one at 17 s (Y done): 8 + 8, then one per X at 21 s
/// (C done; which way round C sat is gone too): 4; across, per X and placement of A, one at
/// 17 s: 16; per X and placement of C, one at 20 s: 24; per X, one when C is done, at
/// 20 + 4 × 1.5 = 26 s (C inside a unit) and 20 + 4 × 2 = 28 s (across): 4 + 4; and the
/// end (X done at 100 s: every job done, every flow gone), one state for all:
/// 24 + 8 + 8 + 4 + 16 + 24 + 4 + 4 + 1 = 93. Only the first schedule reaches the end as
/// a new state; every other one reaches a state seen before: 111 pruned. No deadlock, no
/// livelock: VERIFIED.
#[test]
fn exploring_the_contention_scenario_covers_every_placement_and_merges_only_equal_networks() {
    let p = contention();
    let e = explore(&p, &ties_only(), &exhaustive(), QUIET).unwrap();
    assert!(e.deadlock.is_verified(), "{:?}", e.deadlock);
    assert!(e.livelock.is_verified(), "{:?}", e.livelock);
    let c = &e.coverage;
    assert_eq!(
        (c.schedules, c.distinct_states, c.pruned, c.cycles),
        (112, 93, 111, 0),
        "{c:?}"
    );
}

/// Under the default scheduler (pod by pod, no gang) with every choice point: W (2 × 1
/// GPU, 10 steps) starts at 0 s; A and B (3 × 1 GPU each) arrive at 1 s and get the two
/// free nodes between them. Depth first, W sits on n0, n1 (inside unit 0: 10 × 1.5 s =
/// 15 s) and the last choices tried are the interleavings of A's and B's pods: a1, b1 at
/// 1 s and a2, b2 on W's nodes at 15 s leave A and B holding 2 of 3 GPUs each, nothing
/// running: a deadlock at 15 s. The witness replays through the network model.
#[test]
fn a_deadlock_after_a_network_timed_completion_is_found_and_its_witness_replays() {
    let mut config = RunConfig {
        check_invariants: true,
        network: Some(network()),
        ..RunConfig::default()
    };
    config.scheduler.policy = PolicyKind::Default;
    let p = Problem {
        name: "net-deadlock".into(),
        spec: cluster(4),
        workload: Workload {
            jobs: vec![job("W", 2, 0, 10), job("A", 3, 1, 2), job("B", 3, 1, 2)],
        },
        config,
    };
    let opts = ExploreOptions::default();
    let e = explore(&p, &opts, &exhaustive(), QUIET).unwrap();
    assert_eq!(e.deadlock, Verdict::Violation);
    let f = e.deadlock_found.clone().unwrap();
    assert_eq!(f.violation.kind, ViolationKind::Deadlock);
    assert_eq!(f.violation.jobs, vec!["A", "B"]);
    assert_eq!(f.violation.time, SimTime::ZERO + SimDuration::from_secs(15));
    let w = Witness::new(&p, &opts, &f);
    let (r, same) = replay(&w).unwrap();
    assert!(same, "{r:?}");
    let w2: Witness = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
    assert!(replay(&w2).unwrap().1);
}

/// Seeded failures: node_mtbf 200 s, repairs after 10 min, none drawn at or after 100 s,
/// seed 4. Each node's first failure is `ceil(-ln(1 - U) × 200 s)` with U the first f64 of
/// its stream `faults/node/<name>` (recomputed here from the stream): n0 at 40.444882925
/// s, n1 at 182.13 s (past `until`: never). A (1 GPU, 100 s) at 0 s, default scheduler,
/// node ties only: A on n0 loses its pod at 40.44 s and runs again from zero on n1, done
/// at 140.444882925 s; A on n1 is done at 100 s. 2 schedules. States: A on n0 at 0 s, at
/// the failure, at the end; A on n1 at 0 s, at the failure (n0 down, A with 59.56 s
/// left); its end (every job done, n0 down, its repair cancelled, both streams one draw
/// in) is the first branch's: 5 states, 1 schedule pruned. VERIFIED.
#[test]
fn a_seeded_node_failure_is_an_ordinary_event_once_drawn() {
    use rand::RngExt;
    let mtbf = 200e9;
    let first = |node: &str| {
        let mut r = RngStreams::new(4).stream(&format!("faults/node/{node}"));
        let u: f64 = 1.0 - r.random::<f64>();
        (-u.ln() * mtbf).ceil() as u64
    };
    assert_eq!(first("n0"), 40_444_882_925);
    assert!(first("n1") > 100_000_000_000);
    let seeded = FaultConfig {
        seeded: Some(SeededFaults {
            node_mtbf: Some(SimDuration::from_secs(200)),
            gpu_mtbf: None,
            mttr: SimDuration::from_secs(600),
            until: Some(SimTime::ZERO + SimDuration::from_secs(100)),
        }),
        ..FaultConfig::default()
    };
    let mut config = RunConfig {
        seed: 4,
        check_invariants: true,
        faults: Some(seeded),
        ..RunConfig::default()
    };
    config.scheduler.policy = PolicyKind::Default;
    let p = Problem {
        name: "seeded".into(),
        spec: cluster(2),
        workload: Workload {
            jobs: vec![job("A", 1, 0, 100)],
        },
        config,
    };
    let on_n0 = completions(&p, vec![0]);
    assert_eq!(on_n0, vec![("A".to_string(), 140.444882925)]);
    let on_n1 = completions(&p, vec![1]);
    assert_eq!(on_n1, vec![("A".to_string(), 100.0)]);
    let e = explore(&p, &ties_only(), &exhaustive(), QUIET).unwrap();
    assert!(e.deadlock.is_verified(), "{:?}", e.deadlock);
    let c = &e.coverage;
    assert_eq!(
        (c.schedules, c.distinct_states, c.pruned),
        (2, 5, 1),
        "{c:?}"
    );
}

/// Two nodes, each its own unit (own leaf), leaf uplink bundles of 12.5 / 4 = 3.125 GB/s
/// made of 2 spine uplinks; J (2 × 1 GPU, 10 steps of 1 s compute + 6.25 GB all-reduce)
/// arrives at 10 s. At 5 s a listed event fails one uplink of leaf 0 (`fail`), or
/// "recovers" one that is up (`!fail`: nothing happens). At 5 s the two runs differ only
/// in the network (the failed member, the bundle at half capacity): the scheduling state,
/// the pending events and the fault controller's own hash are the same. Their futures
/// differ: J's ring crosses both bundles, 6.25 GB at 3.125 GB/s = 2 s, a step 3 s, done at
/// 10 + 30 = 40 s; through the halved bundle 4 s, a step 5 s, done at 10 + 50 = 60 s. So
/// their fingerprints must differ: the network's hash hook tells them apart.
#[test]
fn the_fingerprint_tells_apart_states_that_differ_only_in_the_network() {
    let problem = |fail: bool| {
        let mut net = network();
        net.config.fabric.nodes_per_su = 1;
        net.config.fabric.spine_uplinks = 2;
        let faults = FaultConfig {
            part_events: vec![models::PartEventSpec {
                at: SimTime::ZERO + SimDuration::from_secs(5),
                part: models::Part::SpineUplink { leaf: 0, link: 1 },
                fail,
                source: 0,
            }],
            ..FaultConfig::default()
        };
        let mut config = RunConfig {
            check_invariants: true,
            network: Some(net),
            faults: Some(faults),
            ..RunConfig::default()
        };
        config.scheduler.policy = PolicyKind::Gang;
        Problem {
            name: "link".into(),
            spec: cluster(2),
            workload: Workload {
                jobs: vec![job("J", 2, 10, 10)],
            },
            config,
        }
    };
    let hash_at = |p: &Problem, secs: u64| {
        let mut m = ClusterSim::new(p.spec.clone(), p.workload.clone(), &p.config).unwrap();
        let mut sim = Simulation::new(Chooser::new(ChooserMode::First, &RngStreams::new(0)));
        for (i, j) in p.workload.jobs.iter().enumerate() {
            sim.schedule_at(j.submit, Event::Submit(i as u32));
        }
        m.schedule_node_events(&mut sim);
        let at = SimTime::ZERO + SimDuration::from_secs(secs);
        let mut h = None;
        let stop = StopAt {
            horizon: SimTime::MAX,
            max_events: 10_000,
        };
        sim.run_probed(&mut m, stop, |probe, m| {
            if probe.instant_closed && probe.now == at {
                h = Some(m.abstract_hash(probe.now, &probe.queue.pending(), None));
                return false;
            }
            true
        });
        h.expect("an instant at that time")
    };
    let (failed, healthy) = (problem(true), problem(false));
    assert_eq!(completions(&healthy, vec![]), vec![("J".to_string(), 40.0)]);
    assert_eq!(completions(&failed, vec![]), vec![("J".to_string(), 60.0)]);
    assert_ne!(hash_at(&failed, 5), hash_at(&healthy, 5));
}

/// `scenarios/bundled/verify/k8s-gang-2gang.yaml` (2 nodes, A and B of 2 × 1 GPU) with
/// and without the network model: under KEP-4671 alpha, a1 and b1 wait at Permit from 0 s,
/// time out at 5 min, are released and interleave again, with nothing ever running, so
/// nothing on the network. The network's fingerprint is time-invariant (nothing of it grows
/// with the clock while nothing runs), so the same cycle is closed with the network as
/// without it, from the same state to the same recurrence, and reported as a livelock
/// whose witness replays; the deadlock is VERIFIED in both.
#[test]
fn a_livelock_cycle_is_recognised_on_the_network_model() {
    let problem = |net: bool| {
        let mut config = RunConfig {
            check_invariants: true,
            network: net.then(network),
            ..RunConfig::default()
        };
        config.scheduler.policy = PolicyKind::K8sGang;
        Problem {
            name: "k8s-gang-2gang".into(),
            spec: cluster(2),
            workload: Workload {
                jobs: vec![job("A", 2, 0, 100), job("B", 2, 0, 100)],
            },
            config,
        }
    };
    let opts = ExploreOptions::default();
    let cycle = |p: &Problem| {
        let e = explore(p, &opts, &exhaustive(), QUIET).unwrap();
        assert!(e.deadlock.is_verified(), "{:?}", e.deadlock);
        assert_eq!(e.livelock, Verdict::Violation);
        let f = e.livelock_found.clone().unwrap();
        assert_eq!(f.violation.kind, ViolationKind::Livelock);
        assert_eq!(f.violation.jobs, vec!["A", "B"]);
        assert!(replay(&Witness::new(p, &opts, &f)).unwrap().1);
        (f.violation.since, f.violation.time)
    };
    let plain = cycle(&problem(false));
    assert_eq!(plain.0, Some(SimTime::ZERO + SimDuration::from_secs(300)));
    assert_eq!(cycle(&problem(true)), plain);
}
