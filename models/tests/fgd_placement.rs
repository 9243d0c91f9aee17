//! FGD placement as scheduler-framework plugins (`scheduler.placement`), composed with the
//! main model's policies on traces with departures (issue 16, item 2).

use std::collections::BTreeMap;

use models::fgd::openb::{parse_nodes, parse_pods};
use models::resources::GpuRequest;
use models::scheduler::Placement;
use models::sim::{ClusterSim, Event};
use models::state::Placement as Bound;
use models::{
    ClusterSpec, JobSpec, NodeSpec, Outcome, PodRequest, PolicyKind, RunConfig, Workload, run,
};
use sim_core::{Chooser, ChooserMode, RngStreams, SimDuration, SimTime, Simulation, StopAt};

fn node(i: u32) -> NodeSpec {
    NodeSpec {
        taints: Vec::new(),
        name: format!("n{i}"),
        pool: "gpu".into(),
        cpu_milli: 32_000,
        memory_mib: 65_536,
        gpus: 2,
        gpu_model: Some("T4".into()),
        gpu_memory_mib: 16_384,
        rack: 0,
        labels: BTreeMap::new(),
    }
}

fn share(id: &str, submit: u64, duration: u64, milli: u32) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::ZERO + SimDuration::from_secs(submit),
        duration: SimDuration::from_secs(duration),
        pods: vec![PodRequest {
            constraints: None,
            cpu_milli: 1000,
            memory_mib: 4096,
            gpu: GpuRequest::Shared(milli),
            gpu_models: Vec::new(),
        }],
        priority: 0,
        queue: None,
    }
}

fn config(policy: PolicyKind, placement: Placement) -> RunConfig {
    let mut c = RunConfig {
        chooser: ChooserMode::First,
        check_invariants: true,
        ..RunConfig::default()
    };
    c.scheduler.policy = policy;
    c.scheduler.placement = placement;
    c
}

/// Run to the end, recording each job's first placement (node, GPUs) as it binds.
fn placements(spec: ClusterSpec, wl: Workload, cfg: &RunConfig) -> Vec<Option<Bound>> {
    let mut model = ClusterSim::new(spec, wl, cfg).expect("valid model");
    let mut sim = Simulation::new(Chooser::new(
        cfg.chooser.clone(),
        &RngStreams::new(cfg.seed),
    ));
    for (i, j) in model.workload.jobs.iter().enumerate() {
        sim.schedule_at(j.submit, Event::Submit(i as u32));
    }
    let mut seen: Vec<Option<Bound>> = vec![None; model.workload.jobs.len()];
    let stop = StopAt {
        horizon: SimTime::MAX,
        max_events: 10_000,
    };
    sim.run(&mut model, stop, |_, m: &ClusterSim| {
        for (j, js) in m.state.jobs.iter().enumerate() {
            if seen[j].is_none() {
                seen[j] = js.pods[0].placement.clone();
            }
        }
        true
    });
    seen
}

fn bound(node: u32, gpu: u8) -> Option<Bound> {
    Some(Bound {
        node,
        gpus: vec![gpu],
    })
}

/// 2 nodes × 2 GPUs; one-pod jobs A (0.4 GPU, t=0), D (0.2 GPU, t=1), B (0.5 GPU, t=2),
/// each 1 CPU / 4 GiB, 100 s. FGD's targets are the workload's three shapes (500, 400, 200
/// milli), weight 1/3 each, all hostable while CPU is plentiful, so a node's fragmentation
/// is F = Σ_k (free milli of its GPUs below k's request) / 3 (a shape no GPU can host would
/// count all free milli; none occurs here). Score = ⌊100·σ((F_before − F_after)/1000)⌋.
///
/// - A (400): every GPU gives [600,1000]: F 0 → 0, score 50 everywhere; ties go to the
///   first node (chooser `first`) and the first GPU: n0 GPU 0. The default scorer also
///   ties (empty nodes): n0, best-fit GPU 0.
/// - D (200), FGD: on n0 ([600,1000], F 0) GPU 0 → [400,1000], F = (400+0+0)/3 = 133.3,
///   score ⌊100·σ(−0.1333)⌋ = 46; GPU 1 → [600,800], F 0, score 50. On n1 [800,1000],
///   F 0, score 50. Tie at 50 → n0, on GPU 1, where best fit would take GPU 0.
///   Default: LeastAllocated prefers the emptier n1 (cpu 96 vs 93, memory 93 vs 87,
///   balanced allocation 98 vs 96): n1 GPU 0.
/// - B (500), FGD: n0 [600,800] (F 0): GPU 0 → [100,800], F = (100+100+100)/3 = 100,
///   score ⌊100·σ(−0.1)⌋ = 47; GPU 1 → [600,300], F = (300+300+0)/3 = 200, score 45.
///   n1 GPU 0 → [500,1000], F 0 (no free GPU below any request), score 50 → n1 GPU 0.
///   Default: n0 and n1 each hold one equal pod: tie → n0, best-fit GPU 0 (600 free).
#[test]
fn fgd_places_differently_from_the_default_scorer_under_gang() {
    let spec = ClusterSpec {
        nodes: vec![node(0), node(1)],
    };
    let wl = Workload {
        jobs: vec![
            share("A", 0, 100, 400),
            share("D", 1, 100, 200),
            share("B", 2, 100, 500),
        ],
    };
    let fgd = placements(
        spec.clone(),
        wl.clone(),
        &config(PolicyKind::Gang, Placement::Fgd),
    );
    assert_eq!(fgd, vec![bound(0, 0), bound(0, 1), bound(1, 0)]);
    let default = placements(spec, wl, &config(PolicyKind::Gang, Placement::Default));
    assert_eq!(default, vec![bound(0, 0), bound(1, 0), bound(0, 0)]);
}

/// The first `nodes` GPU nodes of the openb node list and the first `pods` pods of the
/// default pod list that fit on one of them, one pod per job, arriving every 30 s, each
/// running 600–2,370 s (so pods depart while others arrive).
fn openb_slice(nodes: usize, pods: usize) -> (ClusterSpec, Workload) {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/traces/alibaba-gpu-v2023-openb/"
    );
    let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).expect("bundled trace");
    let node_rows = parse_nodes("nodes", &read("openb_node_list_gpu_node.csv")).expect("nodes");
    let pod_rows = parse_pods("pods", &read("openb_pod_list_default.csv")).expect("pods");
    let spec = ClusterSpec {
        nodes: node_rows[..nodes]
            .iter()
            .map(|r| NodeSpec {
                taints: Vec::new(),
                name: r.name.clone(),
                pool: "gpu".into(),
                cpu_milli: r.cpu_milli as u64,
                memory_mib: r.memory_mib as u64,
                gpus: r.gpus as u32,
                gpu_model: Some(r.model.clone()),
                gpu_memory_mib: 0,
                rack: 0,
                labels: BTreeMap::new(),
            })
            .collect(),
    };
    let mut jobs = Vec::new();
    for r in &pod_rows {
        if jobs.len() == pods {
            break;
        }
        let Some(gpu) = GpuRequest::from_count_and_milli(r.num_gpu as u32, r.gpu_milli as u32)
        else {
            continue;
        };
        let req = PodRequest {
            constraints: None,
            cpu_milli: r.cpu_milli as u64,
            memory_mib: r.memory_mib as u64,
            gpu,
            gpu_models: r
                .gpu_spec
                .split('|')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        };
        let fits = spec
            .nodes
            .iter()
            .any(|n| models::state::NodeState::new(n).fits(n, &req).is_ok());
        if !fits {
            continue;
        }
        let i = jobs.len() as u64;
        jobs.push(JobSpec {
            id: r.name.clone(),
            submit: SimTime::ZERO + SimDuration::from_secs(30 * i),
            duration: SimDuration::from_secs(600 + (i * 397) % 1771),
            pods: vec![req],
            priority: 0,
            queue: None,
        });
    }
    assert_eq!(jobs.len(), pods, "enough fitting pods in the trace");
    (spec, Workload { jobs })
}

/// Every policy of the main model with the FGD placement on 12 openb nodes and 120 pods
/// with departures: the run ends with every job completed (and the allocation invariants
/// checked after every instant). The elastic policies resize training jobs only.
#[test]
fn fgd_placement_completes_an_openb_slice_with_departures_under_every_policy() {
    let (spec, wl) = openb_slice(12, 120);
    for policy in PolicyKind::any_workload() {
        let r = run(
            spec.clone(),
            wl.clone(),
            &config(policy, Placement::Fgd),
            None,
        )
        .expect("run");
        let done = r
            .jobs
            .iter()
            .filter(|j| j.outcome == Outcome::Completed)
            .count();
        assert_eq!(done, 120, "{}: {} of 120 completed", policy.name(), done);
    }
}

/// The other artefact placements run under gang on the same slice too.
#[test]
fn every_artefact_placement_runs_under_gang() {
    let (spec, wl) = openb_slice(12, 120);
    for p in [
        Placement::Random,
        Placement::DotProd,
        Placement::GpuClustering,
        Placement::GpuPacking,
        Placement::BestFit,
    ] {
        let r = run(spec.clone(), wl.clone(), &config(PolicyKind::Gang, p), None).expect("run");
        assert!(
            r.jobs.iter().all(|j| j.outcome == Outcome::Completed),
            "{}",
            p.name()
        );
    }
}

/// A node of more than 8 GPUs is refused with a message naming the field and the node.
#[test]
fn nodes_beyond_eight_gpus_are_refused() {
    let mut n = node(0);
    n.gpus = 16;
    let spec = ClusterSpec { nodes: vec![n] };
    let wl = Workload {
        jobs: vec![share("A", 0, 1, 500)],
    };
    let e = match ClusterSim::new(spec, wl, &config(PolicyKind::Gang, Placement::Fgd)) {
        Ok(_) => panic!("a 16-GPU node was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("scheduler.placement") && e.contains("\"n0\" has 16"),
        "{e}"
    );
}

/// The first `nodes` node rows and `pods` pod rows of the bundled openb lists, as CSV text.
fn openb_head(nodes: usize, pods: usize) -> (String, String) {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/traces/alibaba-gpu-v2023-openb/"
    );
    let head = |f: &str, n: usize| {
        let t = std::fs::read_to_string(format!("{dir}{f}")).expect("bundled trace");
        t.lines().take(n + 1).collect::<Vec<_>>().join("\n") + "\n"
    };
    (
        head("openb_node_list_gpu_node.csv", nodes),
        head("openb_pod_list_default.csv", pods),
    )
}

/// The artefact's run replayed through the main model as `orrery run` does it
/// (`Trace::main_model`: nodes in the artefact's tie-break rank, chooser `first`, pods one
/// per second, no departures, through `models::run`) places exactly the pods the
/// reproduction (`Trace::run`, through `run_finished`) places, for each deterministic
/// policy, on 40 openb nodes and the first 400 pods tuned to 1.3 × their GPU capacity (seed
/// 42): 264 pods; placed 214 / 211 / 215 / 215 / 217 for DotProd / GpuClustering /
/// GpuPacking / BestFit / FGD — the counts the reproduction's former one-pod-at-a-time
/// loop (`fgd/sched.rs`, removed) placed, so the policies do differ here.
#[test]
fn main_model_replays_the_artefact_run_pod_for_pod() {
    use models::fgd::{Policy, Trace};
    let (nodes, pods) = openb_head(40, 400);
    let trace = Trace::parse("nodes.csv", &nodes, "pods.csv", &pods).expect("trace");
    let mm = trace.main_model(42, "pods.csv").expect("main model");
    for (policy, placement, loop_placed) in [
        (Policy::DotProd, Placement::DotProd, 214),
        (Policy::GpuClustering, Placement::GpuClustering, 211),
        (Policy::GpuPacking, Placement::GpuPacking, 215),
        (Policy::BestFit, Placement::BestFit, 215),
        (Policy::Fgd, Placement::Fgd, 217),
    ] {
        let art = trace.run(policy, 42).unwrap();
        assert_eq!((art.pods, art.placed), (264, loop_placed), "{policy}");
        let mut cfg = config(PolicyKind::Default, placement);
        cfg.horizon = Some(mm.horizon);
        cfg.scheduler.fgd_target_pods = Some(mm.target_pods.clone());
        let r = run(mm.cluster.clone(), mm.workload.clone(), &cfg, None).expect("run");
        let placed = r
            .jobs
            .iter()
            .filter(|j| j.outcome == Outcome::Running)
            .count();
        let used: u64 = r
            .jobs
            .iter()
            .zip(&mm.workload.jobs)
            .filter(|(j, _)| j.outcome == Outcome::Running)
            .map(|(_, s)| s.gpu_milli())
            .sum();
        assert!(
            art.failed > 0,
            "{policy}: the tuned list over-fills the cluster"
        );
        assert_eq!(placed, art.placed, "{policy}: pods placed");
        assert_eq!(r.jobs.len(), art.pods, "{policy}: pods");
        let art_used = (art.final_allocation * art.capacity_milli as f64 / 100.0).round() as u64;
        assert_eq!(used, art_used, "{policy}: GPU milli allocated at the end");
    }
}

/// The whole default openb trace (1,213 nodes, 10,866 tuned pods, seed 42) through
/// `models::run` places, for each deterministic policy, exactly the pods the reproduction
/// (`Trace::run`) places (FGD: 8,334, as the former loop did). About 6 s: `cargo test -p models --test fgd_placement -- --ignored`.
#[test]
#[ignore]
fn main_model_replays_the_full_default_trace() {
    use models::fgd::{Policy, Trace};
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/traces/alibaba-gpu-v2023-openb"
    ));
    let trace = Trace::load(
        &dir.join("openb_node_list_gpu_node.csv"),
        &dir.join("openb_pod_list_default.csv"),
    )
    .expect("trace");
    let mm = trace.main_model(42, "pods.csv").expect("main model");
    for (policy, placement) in [
        (Policy::DotProd, Placement::DotProd),
        (Policy::GpuClustering, Placement::GpuClustering),
        (Policy::GpuPacking, Placement::GpuPacking),
        (Policy::BestFit, Placement::BestFit),
        (Policy::Fgd, Placement::Fgd),
    ] {
        let art = trace.run(policy, 42).unwrap();
        let mut cfg = config(PolicyKind::Default, placement);
        cfg.check_invariants = false;
        cfg.horizon = Some(mm.horizon);
        cfg.scheduler.fgd_target_pods = Some(mm.target_pods.clone());
        let r = run(mm.cluster.clone(), mm.workload.clone(), &cfg, None).expect("run");
        let placed = r
            .jobs
            .iter()
            .filter(|j| j.outcome == Outcome::Running)
            .count();
        assert_eq!(placed, art.placed, "{policy}");
        if policy == Policy::Fgd {
            assert_eq!(placed, 8334);
        }
    }
}

/// The artefact's Random GPU draw for a GPU-sharing pod (`FgdPlacement::draw_gpu`, on with
/// `fgd_random_gpu`): reservoir sampling over the GPUs that fit, in index order, the k-th
/// fitting GPU taking the pick when `choose(k) == 0`. Free milli [1000, 300, 600, 1000] and
/// a 500-milli pod: GPUs 0, 2 and 3 fit, so the chooser is asked choose(2) at GPU 2 and
/// choose(3) at GPU 3 (choose(1) at GPU 0 is no choice). Script [0, 1]: GPU 2 takes the
/// pick, GPU 3 does not → GPU 2. Script [1, 0]: GPU 2 does not, GPU 3 does → GPU 3.
/// Script [1, 1]: GPU 0 keeps it. Off (the default), or for a whole-GPU pod: no draw.
#[test]
fn random_draws_a_sharing_pods_gpu_as_the_artefact() {
    use models::scheduler::fgd::FgdPlacement;
    use models::state::NodeState;
    let mut n = node(0);
    n.gpus = 4;
    let spec = ClusterSpec {
        nodes: vec![n.clone()],
    };
    let wl = Workload {
        jobs: vec![share("a", 0, 10, 500)],
    };
    let pod = wl.jobs[0].pods[0].clone();
    let mut st = NodeState::new(&n);
    st.gpu_free = vec![1000, 300, 600, 1000];
    let mut p = FgdPlacement::new(Placement::Random, &spec, &wl, None)
        .expect("placement")
        .expect("not default");
    let draw = |p: &FgdPlacement, pod: &PodRequest, script: Vec<u32>| {
        let mut ch = Chooser::new(ChooserMode::Scripted(script), &RngStreams::new(0));
        let g = p.draw_gpu(pod, &st, &mut ch);
        (g, ch.decisions())
    };
    assert_eq!(draw(&p, &pod, vec![0, 1]), (None, 0), "off by default");
    p.random_gpu = true;
    assert_eq!(draw(&p, &pod, vec![0, 1]), (Some(2), 2));
    assert_eq!(draw(&p, &pod, vec![1, 0]), (Some(3), 2));
    assert_eq!(draw(&p, &pod, vec![1, 1]), (Some(0), 2));
    let mut whole = pod.clone();
    whole.gpu = GpuRequest::Whole(1);
    assert_eq!(draw(&p, &whole, vec![1, 1]), (None, 0));
}

/// The scheduler's per-shape score memo (`Scratch`): a node's verdict for a shape is kept
/// until that node changes, whatever other shapes are scheduled in between. Three equal
/// nodes, two pod shapes A and B, a Score plugin that counts its calls. A: 3 calls
/// (every node), B: 3; a pod bound on node 0 (invalidated); A again: 1 call (node 0 only),
/// B: 1; A once more, nothing changed: 0. Total 8 (a memo of one shape per node would
/// re-score every node whenever the shape alternates: 3 + 3 + 3 + 3 + 0 = 12). The score
/// is minus the CPU cores in use: A goes first to node 0 (three-way tie, first node), then
/// to node 1 (node 0 is busier; tie with node 2, first node).
#[test]
fn score_memo_keeps_each_shapes_verdicts_until_the_node_changes() {
    use models::scheduler::{Profile, ScorePlugin, Scratch};
    use models::state::{ClusterState, NodeState};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Debug)]
    struct Counting(Arc<AtomicUsize>);
    impl ScorePlugin for Counting {
        fn name(&self) -> &'static str {
            "Counting"
        }
        fn score(&self, _: &PodRequest, _: &NodeSpec, st: &NodeState) -> i64 {
            self.0.fetch_add(1, Ordering::Relaxed);
            -((st.cpu_used / 1000) as i64)
        }
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let profile = Profile {
        filters: Vec::new(),
        scorers: vec![(Box::new(Counting(calls.clone())), 1)],
        percentage_of_nodes_to_score: 100,
        merge_identical_nodes: false,
    };
    let spec = ClusterSpec {
        nodes: (0..3).map(node).collect(),
    };
    let mut cs = ClusterState::new(&spec);
    let pod = |cpu: u64| PodRequest {
        constraints: None,
        cpu_milli: cpu,
        memory_mib: 0,
        gpu: GpuRequest::None,
        gpu_models: Vec::new(),
    };
    let (a, b) = (pod(1000), pod(2000));
    let mut scratch = Scratch::default();
    let mut ch = Chooser::new(ChooserMode::First, &RngStreams::new(0));
    let mut start = 0;
    let mut select = |cs: &ClusterState, scratch: &mut Scratch, p: &PodRequest, shape: u32| {
        profile.select_node(
            p,
            Some(shape),
            &spec,
            cs,
            &mut start,
            None,
            &mut ch,
            scratch,
            None,
        )
    };
    let n = |c: &Arc<AtomicUsize>| c.load(Ordering::Relaxed);
    assert_eq!(select(&cs, &mut scratch, &a, 0), Some(0));
    assert_eq!(n(&calls), 3);
    assert_eq!(select(&cs, &mut scratch, &b, 1), Some(0));
    assert_eq!(n(&calls), 6);
    cs.bind(0, &a, &[]);
    scratch.invalidate(0);
    assert_eq!(select(&cs, &mut scratch, &a, 0), Some(1));
    assert_eq!(n(&calls), 7);
    assert_eq!(select(&cs, &mut scratch, &b, 1), Some(1));
    assert_eq!(n(&calls), 8);
    assert_eq!(select(&cs, &mut scratch, &a, 0), Some(1));
    assert_eq!(n(&calls), 8);
}
