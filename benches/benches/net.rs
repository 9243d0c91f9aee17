//! The bandwidth solver (`models::net::FlowNet`) at 10,000 concurrent flows.
//!
//! Each iteration is one departure (a random live flow leaves) plus one arrival (a new flow of
//! the same class), so the population stays at 10,000; criterion reports the time per
//! iteration, i.e. per departure + arrival pair (half of it per event).
//!
//! `net/cluster_mix`: 1,024 nodes × 8 GPUs (32 scalable units of 32), rail-optimized, 2:1
//! oversubscribed. 90 % of the flows are ring edges of jobs (one per rail; 80 % of jobs inside
//! one SU, 20 % spread over SUs through the spine), 10 % are filesystem reads (all of which
//! share the filesystem link, so each of those events re-solves ~1,000 flows; the selective
//! update re-solves only a few dozen flows for the other events).
//! `net/within_su`: jobs packed inside scalable units and no filesystem traffic, so each
//! (SU, rail) leaf is its own component of ~40 flows (the solver's best case).
//! `net/one_component`: the worst case, 10,000 flows on 8 rails between random nodes
//! anywhere in the cluster, so each rail is one component of ~1,250 flows.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use models::net::{FlowId, FlowNet, FlowSpec, GpuRef, NetworkConfig, Topology};
use sim_core::SimTime;

const FLOWS: usize = 10_000;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, m: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % m
    }
}

fn topology() -> Topology {
    let mut cfg = NetworkConfig::default();
    cfg.fabric.oversubscription = 2.0;
    Topology::uniform(&cfg, 1024, 8).unwrap()
}

/// A ring edge of a job (node-level: consecutive nodes of a job on one rail) or an FS read.
fn mixed_flow(topo: &Topology, rng: &mut Lcg) -> FlowSpec {
    let bytes = 1e9 * (1 + rng.next(100)) as f64;
    if rng.next(10) == 0 {
        return topo.fs_read_flow(rng.next(1024) as u32, bytes);
    }
    let rail = rng.next(8) as u32;
    let a = rng.next(1024) as u32;
    let b = if rng.next(5) == 0 {
        rng.next(1024) as u32 // spread job: anywhere
    } else {
        (a / 32) * 32 + (a % 32 + 1 + rng.next(31) as u32) % 32 // same SU
    };
    FlowSpec::new(
        topo.gpu_path(GpuRef::new(a, rail), GpuRef::new(b, rail)),
        bytes,
    )
}

fn su_flow(topo: &Topology, rng: &mut Lcg) -> FlowSpec {
    let rail = rng.next(8) as u32;
    let a = rng.next(1024) as u32;
    let b = (a / 32) * 32 + (a % 32 + 1 + rng.next(31) as u32) % 32;
    FlowSpec::new(
        topo.gpu_path(GpuRef::new(a, rail), GpuRef::new(b, rail)),
        1e9 * (1 + rng.next(100)) as f64,
    )
}

fn global_flow(topo: &Topology, rng: &mut Lcg) -> FlowSpec {
    let rail = rng.next(8) as u32;
    let a = rng.next(1024) as u32;
    let b = (a + 1 + rng.next(1023) as u32) % 1024;
    FlowSpec::new(
        topo.gpu_path(GpuRef::new(a, rail), GpuRef::new(b, rail)),
        1e9 * (1 + rng.next(100)) as f64,
    )
}

fn populate(
    topo: &Topology,
    rng: &mut Lcg,
    make: fn(&Topology, &mut Lcg) -> FlowSpec,
) -> (FlowNet, Vec<FlowId>) {
    let mut net = topo.flow_net();
    let specs: Vec<FlowSpec> = (0..FLOWS).map(|_| make(topo, rng)).collect();
    let ids = net.add_flows(SimTime(0), specs);
    (net, ids)
}

fn bench(c: &mut Criterion) {
    let topo = topology();
    let mut g = c.benchmark_group("net");
    for (name, make) in [
        (
            "cluster_mix",
            mixed_flow as fn(&Topology, &mut Lcg) -> FlowSpec,
        ),
        ("within_su", su_flow),
        ("one_component", global_flow),
    ] {
        let mut rng = Lcg(42);
        let (mut net, mut ids) = populate(&topo, &mut rng, make);
        let mut now = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                now += 1_000;
                let i = rng.next(ids.len() as u64) as usize;
                let gone = ids.swap_remove(i);
                net.remove_flow(gone, SimTime(now));
                let spec = make(&topo, &mut rng);
                ids.push(net.add_flow(SimTime(now), spec));
                black_box(net.take_changed().len())
            })
        });
        assert_eq!(net.num_flows(), FLOWS);
        let (solves, solved) = net.solver_stats();
        eprintln!(
            "net/{name}: {} flows, mean flows re-solved per change {:.0}",
            net.num_flows(),
            solved as f64 / solves.max(1) as f64
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
