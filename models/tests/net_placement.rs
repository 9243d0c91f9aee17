//! Acceptance 2: placement and contention change a job's progress rate.

use models::net::{
    CollectiveKind, FlowNet, FlowSpec, GpuRef, JobTraffic, NetworkConfig, Placement, StepSpec,
    Topology, changed_owners, estimate, plan,
};
use sim_core::{SimDuration, SimTime};

/// 4 scalable units of 16 nodes × 8 GPUs, rail-optimized, 2:1 oversubscribed.
/// Leaf uplink bundle per (SU, rail) = 16 nodes × 50 GB/s / 2 = 400 GB/s per direction.
fn fabric(oversubscription: f64) -> Topology {
    let mut cfg = NetworkConfig::default();
    cfg.fabric.nodes_per_su = 16;
    cfg.fabric.oversubscription = oversubscription;
    Topology::uniform(&cfg, 64, 8).unwrap()
}

/// Other tenants: every node of `bg` sends one persistent flow per rail to the node with
/// the same local index in the next SU among `sus` (cross-SU traffic through the spine).
fn background(topo: &Topology, net: &mut FlowNet, bg: &[u32], sus: &[u32]) {
    let mut specs = Vec::new();
    for &n in bg {
        let k = sus.iter().position(|&s| s == n / 16).unwrap();
        let dst = sus[(k + 1) % sus.len()] * 16 + n % 16;
        for r in 0..8 {
            specs.push(
                FlowSpec::new(
                    topo.gpu_path(GpuRef::new(n, r), GpuRef::new(dst, r)),
                    f64::INFINITY,
                )
                .with_owner(1000 + u64::from(n)),
            );
        }
    }
    net.add_flows(SimTime(0), specs);
}

fn step() -> StepSpec {
    StepSpec {
        comm_bytes: 4_000_000_000, // 2 B params of bf16 gradients
        ..StepSpec::compute_only(SimDuration::from_millis(100))
    }
}

/// The same 16-node job, packed in one SU vs spread 4 + 4 + 4 + 4 over four SUs, with the
/// rest of the cluster busy with cross-SU traffic.
///
/// Hierarchical all-reduce of S = 4 GB per rank (N = 16 nodes, g = 8):
///   intra RS = intra AG = 7·3 µs + (7/8 · 4e9)/370e9 = 21 µs + 9.459460 ms
///   inter (8 rail rings, S/8 = 0.5 GB): 2·15·7 µs = 210 µs + (2·15/16 · 0.5e9) / B
///                                      = 210 µs + 9.375e8 / B
/// Packed: every ring edge stays under its rail's leaf → B = NIC = 50 GB/s → 18.75 ms.
/// Spread: ring 0-1-2-3 | 16-17-18-19 | 32-… | 48-…-51 → 4 edges per rail ring cross SUs.
///   Each (SU, rail) uplink carries 12 background flows + 1 job edge = 13 flows on
///   400 GB/s → 30.769 GB/s < 50, so the crossing edges get 400/13 GB/s and the ring moves
///   at that pace: 9.375e8 · 13 / 4e11 = 30.46875 ms.
/// Difference = 30.46875 − 18.75 = 11.71875 ms per step (compute 100 ms):
///   packed step = 100 + 2·9.480460 + 0.21 + 18.75 = 137.920920 ms
///   spread step = 149.639670 ms (8.5 % slower).
/// On a non-blocking (1:1) fabric the uplink is 800 GB/s → 61.5 GB/s per flow > 50, so the
/// NIC binds again and spreading costs nothing.
#[test]
fn packed_vs_spread_on_oversubscribed_fabric() {
    let topo = fabric(2.0);
    let packed_nodes: Vec<u32> = (0..16).collect();
    let spread_nodes: Vec<u32> = (0..4)
        .flat_map(|su| (0..4).map(move |i| su * 16 + i))
        .collect();

    // Packed: background everywhere else (SUs 1–3 send to each other, never into SU 0).
    let mut net = topo.flow_net();
    background(&topo, &mut net, &(16..64).collect::<Vec<_>>(), &[1, 2, 3]);
    let packed = estimate(
        &topo,
        &net,
        &Placement::whole_nodes(&topo, &packed_nodes),
        &step(),
    );

    // Spread: background on the 12 other nodes of every SU.
    let mut net = topo.flow_net();
    let bg: Vec<u32> = (0..64).filter(|n| n % 16 >= 4).collect();
    background(&topo, &mut net, &bg, &[0, 1, 2, 3]);
    let spread_pl = Placement::whole_nodes(&topo, &spread_nodes);
    let spread = estimate(&topo, &net, &spread_pl, &step());

    assert!(packed.step.0.abs_diff(137_920_920) <= 3, "{:?}", packed);
    assert!(spread.step.0.abs_diff(149_639_670) <= 3, "{:?}", spread);
    let diff = spread.step.0 - packed.step.0;
    assert!(diff.abs_diff(11_718_750) <= 3, "difference {diff} ns");

    // Registered as a running job, its own flows see the same rates.
    let job = JobTraffic::register(&topo, &mut net, SimTime(0), 7, &spread_pl, &step());
    let running = job.step_time(&topo, &net);
    assert!(running.step.0.abs_diff(spread.step.0) <= 3, "{running:?}");

    // Non-blocking fabric: no penalty.
    let topo1 = fabric(1.0);
    let mut net1 = topo1.flow_net();
    background(&topo1, &mut net1, &bg, &[0, 1, 2, 3]);
    let s1 = estimate(
        &topo1,
        &net1,
        &Placement::whole_nodes(&topo1, &spread_nodes),
        &step(),
    );
    assert!(s1.step.0.abs_diff(137_920_920) <= 3, "{s1:?}");
}

/// Two jobs whose rings cross the same leaf uplink slow each other; when one finishes the
/// other speeds up. 2 SUs of 4 nodes, 4:1 oversubscribed → uplink per (SU, rail) =
/// 4 × 50 / 4 = 50 GB/s. One GPU per node (rail 0), so only the inter-node ring runs.
///   A on nodes 0,1 | 4,5: ring edges 0→1, 1→4 (SU0 up), 4→5, 5→0 (SU1 up)
///   B on nodes 2,3 | 6,7: ring edges 2→3, 3→6 (SU0 up), 6→7, 7→2 (SU1 up)
/// All-reduce, N = 4: per-edge bytes 2·3/4·S; α = 2·3·7 µs = 42 µs (flows start at 42 µs).
///   A: S = 4 GB → 6 GB per edge; B: S = 2 GB → 3 GB per edge.
/// While both run, each SU uplink carries one A edge and one B edge: 25 GB/s each; the
/// in-SU edges run at the NIC's 50 GB/s.
///   B's crossing edges: 3e9 / 25e9 = 120 ms → B done at 120.042 ms (alone: 60.042 ms).
///   A's crossing edges moved 3 GB by then; alone again at 50 GB/s: 3e9/50e9 = 60 ms more
///   → A done at 180.042 ms (alone: 120.042 ms).
#[test]
fn two_jobs_share_a_leaf_over_time() {
    let mut cfg = NetworkConfig::default();
    cfg.fabric.nodes_per_su = 4;
    cfg.fabric.oversubscription = 4.0;
    let topo = Topology::uniform(&cfg, 8, 8).unwrap();
    let ranks = |ns: [u32; 4]| ns.map(|n| GpuRef::new(n, 0)).to_vec();
    let pa = plan(
        &topo,
        CollectiveKind::AllReduce,
        &ranks([0, 1, 4, 5]),
        4_000_000_000,
    );
    let pb = plan(
        &topo,
        CollectiveKind::AllReduce,
        &ranks([2, 3, 6, 7]),
        2_000_000_000,
    );
    let mut net = topo.flow_net();

    // A tiny event loop: both collectives start at t = 0.
    use models::net::{CollectiveRun, RunPoll};
    let mut runs = [CollectiveRun::new(pa, 1), CollectiveRun::new(pb, 2)];
    let mut done = [None, None];
    let mut wake = [Some(SimTime(0)), Some(SimTime(0))];
    let mut a_rates = Vec::new();
    loop {
        let next_wake = wake.iter().flatten().min().copied();
        let next_flow = net.next_completion().map(|(t, _)| t);
        let now = match (next_wake, next_flow) {
            (None, None) => break,
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap(),
        };
        net.pop_completed(now);
        for (i, r) in runs.iter_mut().enumerate() {
            if done[i].is_some() {
                continue;
            }
            match r.poll(&mut net, now) {
                RunPoll::Done(t) => {
                    done[i] = Some(t);
                    wake[i] = None;
                }
                RunPoll::WakeAt(t) => wake[i] = Some(t),
                RunPoll::Flows => wake[i] = None,
            }
        }
        // Rate of A's crossing edge 1→4 (its second flow) after this instant.
        if let Some(&f) = runs[0].flows().get(1) {
            a_rates.push((now, net.rate(f).unwrap()));
        }
    }
    let (a, b) = (done[0].unwrap(), done[1].unwrap());
    assert!(b.0.abs_diff(120_042_000) <= 2, "B done at {b}");
    assert!(a.0.abs_diff(180_042_000) <= 2, "A done at {a}");
    // A's crossing edge: 25 GB/s while B runs, 50 GB/s after.
    assert!(a_rates.iter().any(|&(t, r)| t.0 < 120_000_000 && r == 25e9));
    assert!(
        a_rates
            .iter()
            .any(|&(t, r)| t.0 >= 120_042_000 && r == 50e9)
    );
}

/// The same contention seen by the step model: A's step time with B registered, and the
/// notification that A's rate changed when B leaves.
///   A alone: comm = 42 µs + 6e9/50e9 = 120.042 ms; with B: 42 µs + 6e9/25e9 = 240.042 ms.
#[test]
fn step_time_reacts_to_a_neighbour() {
    let mut cfg = NetworkConfig::default();
    cfg.fabric.nodes_per_su = 4;
    cfg.fabric.oversubscription = 4.0;
    let topo = Topology::uniform(&cfg, 8, 8).unwrap();
    let pl = |ns: [u32; 4]| Placement {
        ranks: ns.map(|n| GpuRef::new(n, 0)).to_vec(),
    };
    let spec = |bytes| StepSpec {
        comm_bytes: bytes,
        ..StepSpec::compute_only(SimDuration::from_millis(10))
    };
    let mut net = topo.flow_net();
    let a = JobTraffic::register(
        &topo,
        &mut net,
        SimTime(0),
        1,
        &pl([0, 1, 4, 5]),
        &spec(4_000_000_000),
    );
    assert_eq!(
        a.step_time(&topo, &net).comm,
        SimDuration::from_nanos(120_042_000)
    );
    changed_owners(&mut net);
    let b = JobTraffic::register(
        &topo,
        &mut net,
        SimTime(5),
        2,
        &pl([2, 3, 6, 7]),
        &spec(2_000_000_000),
    );
    assert_eq!(
        changed_owners(&mut net).into_iter().collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        a.step_time(&topo, &net).comm,
        SimDuration::from_nanos(240_042_000)
    );
    assert_eq!(
        b.step_time(&topo, &net).comm,
        SimDuration::from_nanos(2 * 60_000_000 + 42_000)
    );
    b.unregister(&mut net, SimTime(10));
    assert_eq!(
        changed_owners(&mut net).into_iter().collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(
        a.step_time(&topo, &net).comm,
        SimDuration::from_nanos(120_042_000)
    );
}
