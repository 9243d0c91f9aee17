//! Acceptance 1 (solver part): analytic max-min cases with hand-derived numbers.

use models::net::{FlowNet, FlowSpec, LinkId, max_min_rates};
use sim_core::SimTime;

const GB: f64 = 1e9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn one_flow_gets_the_link() {
    // 50 GB/s link, 10 GB: 10 / 50 = 0.2 s = 200,000,000 ns.
    let mut n = FlowNet::new(&[50.0 * GB]);
    let f = n.add_flow(SimTime(0), FlowSpec::new(vec![LinkId(0)], 10.0 * GB));
    assert_eq!(n.rate(f), Some(50.0 * GB));
    assert_eq!(n.completion_time(f), Some(SimTime(200_000_000)));
    assert_eq!(n.next_completion(), Some((SimTime(200_000_000), f)));
    assert_eq!(n.take_changed(), vec![f]);
}

#[test]
fn n_flows_share_equally() {
    // 4 flows on 50 GB/s: 12.5 GB/s each; 1 GB each takes 1/12.5 = 0.08 s.
    let mut n = FlowNet::new(&[50.0 * GB]);
    let ids = n.add_flows(
        SimTime(0),
        (0..4).map(|_| FlowSpec::new(vec![LinkId(0)], GB)).collect(),
    );
    for &f in &ids {
        assert!(close(n.rate(f).unwrap(), 12.5 * GB));
        assert_eq!(n.completion_time(f), Some(SimTime(80_000_000)));
    }
    let done = n.pop_completed(SimTime(80_000_000));
    assert_eq!(done, ids);
    assert_eq!(n.num_flows(), 0);
}

/// A textbook-style max-min example with links of different capacity (the construction of
/// Bertsekas & Gallager, *Data Networks*, §6.5: raise all rates together, freeze at the first
/// saturated link, repeat).
///
/// Links: L0 = 10, L1 = 4, L2 = 6 (GB/s). Flows: A {L0, L1}, B {L1}, C {L0, L2}, D {L2},
/// E {L0}.
/// Step 1: fair shares L0 10/3 = 3.33, L1 4/2 = 2, L2 6/2 = 3 → L1 saturates first at 2:
///   A = B = 2.
/// Step 2: L0 has 10 − 2 = 8 left for {C, E} → 4; L2 6/2 = 3 for {C, D} → L2 saturates: C = D = 3.
/// Step 3: L0 has 10 − 2 − 3 = 5 left for E → E = 5.
/// Result (A, B, C, D, E) = (2, 2, 3, 3, 5); every link is full (L0 = 2+3+5 = 10).
#[test]
fn classic_max_min_example() {
    let caps = [10.0, 4.0, 6.0];
    let paths = vec![vec![0, 1], vec![1], vec![0, 2], vec![2], vec![0]];
    let r = max_min_rates(&caps, &paths, &[]);
    assert_eq!(r, vec![2.0, 2.0, 3.0, 3.0, 5.0]);

    // Same through the incremental solver, adding flows one by one.
    let mut n = FlowNet::new(&[10.0 * GB, 4.0 * GB, 6.0 * GB]);
    let ids: Vec<_> = paths
        .iter()
        .map(|p| {
            n.add_flow(
                SimTime(0),
                FlowSpec::new(p.iter().map(|&l| LinkId(l as u32)).collect(), GB),
            )
        })
        .collect();
    let got: Vec<f64> = ids.iter().map(|&f| n.rate(f).unwrap() / GB).collect();
    for (g, w) in got.iter().zip([2.0, 2.0, 3.0, 3.0, 5.0]) {
        assert!(close(*g, w), "{got:?}");
    }

    // A per-flow cap: E capped at 4 leaves L0 one unit idle; nobody else can use it
    // (A is held by L1, C by L2) → (2, 2, 3, 3, 4).
    let r = max_min_rates(&caps, &paths, &[None, None, None, None, Some(4.0)]);
    assert_eq!(r, vec![2.0, 2.0, 3.0, 3.0, 4.0]);
}

#[test]
fn arrival_and_departure_reschedule() {
    // t=0: A (10 GB) alone on 50 GB/s → would end at 0.2 s.
    // t=0.1 s: A has 5 GB left; B (2.5 GB) arrives; both at 25 GB/s.
    //   B ends at 0.1 + 2.5/25 = 0.2 s. A has 5 − 2.5 = 2.5 GB left at 0.2 s.
    // then A alone at 50 GB/s: 2.5/50 = 0.05 s → A ends at 0.25 s.
    let mut n = FlowNet::new(&[50.0 * GB]);
    let a = n.add_flow(SimTime(0), FlowSpec::new(vec![LinkId(0)], 10.0 * GB));
    assert_eq!(n.take_changed(), vec![a]);
    assert_eq!(n.completion_time(a), Some(SimTime(200_000_000)));
    let b = n.add_flow(
        SimTime(100_000_000),
        FlowSpec::new(vec![LinkId(0)], 2.5 * GB),
    );
    assert_eq!(n.take_changed(), vec![a, b]);
    assert_eq!(n.completion_time(a), Some(SimTime(300_000_000)));
    assert_eq!(n.completion_time(b), Some(SimTime(200_000_000)));
    let (t, f) = n.next_completion().unwrap();
    assert_eq!((t, f), (SimTime(200_000_000), b));
    assert_eq!(n.pop_completed(t), vec![b]);
    assert_eq!(n.take_changed(), vec![a]);
    assert_eq!(n.completion_time(a), Some(SimTime(250_000_000)));
    // Byte counter of the link: 10 + 2.5 GB moved by the time A is done.
    assert_eq!(n.pop_completed(SimTime(250_000_000)), vec![a]);
    let s = n.link_state(LinkId(0), SimTime(250_000_000));
    assert!(close(s.bytes, 12.5 * GB), "{}", s.bytes);
    assert_eq!(s.load, 0.0);
}

#[test]
fn only_the_touched_component_changes() {
    // Two disjoint links; a flow on link 1 must not touch the flow on link 0.
    let mut n = FlowNet::new(&[GB, GB]);
    let a = n.add_flow(SimTime(0), FlowSpec::new(vec![LinkId(0)], GB));
    n.take_changed();
    let before = n.solver_stats().1;
    let b = n.add_flow(SimTime(5), FlowSpec::new(vec![LinkId(1)], GB));
    assert_eq!(n.take_changed(), vec![b]);
    assert_eq!(n.solver_stats().1 - before, 1, "only one flow re-solved");
    assert_eq!(n.completion_time(a), Some(SimTime(1_000_000_000)));
}

#[test]
fn filesystem_shared_by_64_capped_clients() {
    // FS aggregate read 100 GB/s (link 0); 64 clients, each behind its own 50 GB/s storage
    // NIC (links 1..=64) and with a 40 GB/s client cap. Fair share 100/64 = 1.5625 GB/s
    // is below both the NIC and the client cap, so each gets exactly 1.5625 GB/s.
    let mut caps = vec![100.0 * GB];
    caps.extend(std::iter::repeat_n(50.0 * GB, 64));
    let mut n = FlowNet::new(&caps);
    let ids = n.add_flows(
        SimTime(0),
        (0..64)
            .map(|i| FlowSpec::new(vec![LinkId(0), LinkId(1 + i)], 10.0 * GB).with_cap(40.0 * GB))
            .collect(),
    );
    for &f in &ids {
        assert!(close(n.rate(f).unwrap(), 100.0 / 64.0 * GB));
    }
    // With only 2 clients the client cap binds instead: min(100/2, 40) = 40 GB/s.
    n.remove_flows(&ids[2..], SimTime(0));
    assert!(close(n.rate(ids[0]).unwrap(), 40.0 * GB));
    assert!(close(
        n.link_state(LinkId(0), SimTime(0)).utilisation(),
        0.8
    ));
}

#[test]
fn probe_does_not_disturb() {
    let mut n = FlowNet::new(&[10.0 * GB, 4.0 * GB]);
    let a = n.add_flow(SimTime(0), FlowSpec::new(vec![LinkId(0), LinkId(1)], GB));
    n.take_changed();
    // Probing a flow on L0 only: A stays bottlenecked at L1 = 4, probe gets 10 − 4 = 6.
    let r = n.probe_rates(&[FlowSpec::new(vec![LinkId(0)], GB)]);
    assert!(close(r[0], 6.0 * GB));
    assert!(n.take_changed().is_empty());
    assert_eq!(n.rate(a), Some(4.0 * GB));
}

/// The incremental solver agrees with a from-scratch solve after a long random sequence of
/// arrivals and departures (deterministic LCG); the max-min allocation is unique.
#[test]
fn incremental_matches_from_scratch() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move |m: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % m
    };
    let caps: Vec<f64> = (0..40).map(|i| (1 + i % 7) as f64 * GB).collect();
    let mut n = FlowNet::new(&caps);
    let mut live: Vec<(models::net::FlowId, FlowSpec)> = Vec::new();
    let mut t = 0u64;
    for step in 0..2000 {
        t += rnd(1000);
        if live.is_empty() || rnd(3) > 0 {
            let len = 1 + rnd(4) as usize;
            let path: Vec<LinkId> = (0..len).map(|_| LinkId(rnd(40) as u32)).collect();
            let mut s = FlowSpec::new(path, 1e15);
            if rnd(4) == 0 {
                s = s.with_cap((1 + rnd(5)) as f64 * 0.3 * GB);
            }
            live.push((n.add_flow(SimTime(t), s.clone()), s));
        } else {
            let i = rnd(live.len() as u64) as usize;
            let (f, _) = live.swap_remove(i);
            n.remove_flow(f, SimTime(t)).unwrap();
        }
        if step % 50 == 0 {
            let paths: Vec<Vec<usize>> = live
                .iter()
                .map(|(_, s)| s.path.iter().map(|l| l.index()).collect())
                .collect();
            let fcaps: Vec<Option<f64>> = live.iter().map(|(_, s)| s.cap).collect();
            let want = max_min_rates(&caps, &paths, &fcaps);
            for ((f, _), w) in live.iter().zip(&want) {
                let r = n.rate(*f).unwrap();
                assert!(
                    (r - w).abs() <= 1e-6 * w.max(1.0),
                    "step {step}: {r} vs {w}"
                );
            }
            for (l, &c) in caps.iter().enumerate() {
                assert!(n.link_state(LinkId(l as u32), SimTime(t)).load <= c * (1.0 + 1e-9));
            }
        }
    }
}
