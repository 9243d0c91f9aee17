//! Storage in the same solver: filesystem caps, staging, checkpoints, input stalls, cache.

use models::net::{
    CheckpointSpec, JobTraffic, LinkKind, LinkSampler, NetworkConfig, NodeCache, Placement,
    StepSpec, Topology, estimate, fs_throughput, staging_flows,
};
use sim_core::{SimDuration, SimTime};

const GB: f64 = 1e9;

/// 64 clients reading from a filesystem capped at 100 GB/s aggregate. Each client's own caps
/// are higher (FS client 40 GB/s, storage NICs 2 × 400 Gb/s = 100 GB/s), so each gets the
/// fair share 100/64 = 1.5625 GB/s, and the FS runs at 100 % for the whole second sampled.
#[test]
fn sixty_four_clients_share_the_filesystem() {
    let mut cfg = NetworkConfig::default();
    cfg.storage.read_gbyte_s = 100.0;
    let topo = Topology::uniform(&cfg, 64, 8).unwrap();
    let mut net = topo.flow_net();
    let mut sampler = LinkSampler::of_kinds(&topo, &net, &[LinkKind::FsRead], SimTime(0));
    let ids = net.add_flows(
        SimTime(0),
        (0..64).map(|n| topo.fs_read_flow(n, 1000.0 * GB)).collect(),
    );
    for &f in &ids {
        assert!((net.rate(f).unwrap() - 100.0 / 64.0 * GB).abs() < 1.0);
    }
    let (read, write) = fs_throughput(&topo, &net, SimTime(0));
    assert!((read - 100.0 * GB).abs() < 1e3);
    assert_eq!(write, 0.0);
    let s = sampler.sample(&net, SimTime::from_secs(1));
    assert_eq!(s.len(), 1);
    assert!((s[0].utilisation - 1.0).abs() < 1e-9, "{s:?}");
    assert!((s[0].bytes - 100.0 * GB).abs() < 1e3);
}

/// Dataset staging before a job starts: 100 GB per node into local NVMe.
///   64 nodes at once: FS 100 GB/s / 64 = 1.5625 GB/s each → 64 s.
///   4 nodes: FS share 25, client cap 40, NIC 100, NVMe write 10 → NVMe binds: 10 s.
#[test]
fn staging_is_capped_by_the_filesystem_or_the_nvme() {
    let mut cfg = NetworkConfig::default();
    cfg.storage.read_gbyte_s = 100.0;
    let topo = Topology::uniform(&cfg, 64, 8).unwrap();
    let mut net = topo.flow_net();
    let all: Vec<u32> = (0..64).collect();
    let ids = net.add_flows(SimTime(0), staging_flows(&topo, &all, 100_000_000_000, 1));
    assert_eq!(net.completion_time(ids[0]), Some(SimTime::from_secs(64)));
    let mut net = topo.flow_net();
    let ids = net.add_flows(
        SimTime(0),
        staging_flows(&topo, &[0, 1, 2, 3], 100_000_000_000, 1),
    );
    assert_eq!(net.completion_time(ids[3]), Some(SimTime::from_secs(10)));
}

/// Checkpoint bursts on the default 20 GB/s write bandwidth: 16 nodes × 50 GB = 800 GB
/// → 1.25 GB/s per node → 40 s per checkpoint. Every 100 steps of 1 s compute:
///   synchronous: 1 s + 40 s / 100 = 1.4 s per step;
///   asynchronous: snapshot 50 GB to NVMe at 10 GB/s = 5 s, drain 40 s < 100 · 1 s window
///   → 1 s + 5 s / 100 = 1.05 s per step.
#[test]
fn checkpoint_bursts_amortize_into_the_step() {
    let topo = Topology::uniform(&NetworkConfig::default(), 16, 8).unwrap();
    let net = topo.flow_net();
    let pl = Placement::whole_nodes(&topo, &(0..16).collect::<Vec<_>>());
    let mut spec = StepSpec::compute_only(SimDuration::from_secs(1));
    spec.checkpoint = Some(CheckpointSpec {
        bytes_per_node: 50_000_000_000,
        every_steps: 100,
        asynchronous: false,
    });
    assert_eq!(
        estimate(&topo, &net, &pl, &spec).step,
        SimDuration::from_millis(1_400)
    );
    spec.checkpoint.as_mut().unwrap().asynchronous = true;
    assert_eq!(
        estimate(&topo, &net, &pl, &spec).step,
        SimDuration::from_millis(1_050)
    );
}

/// Input stalls: 16 nodes each read 2 GB per step with 100 ms compute (needs 20 GB/s per
/// node); the default FS reads 40 GB/s → 2.5 GB/s per node → 0.8 s per step (data-bound).
/// With 75 % of the input in the local NVMe cache: miss 0.5 GB / 2.5 = 0.2 s, hit
/// 1.5 GB / 20 GB/s = 75 ms → 0.2 s per step.
#[test]
fn input_pipeline_can_stall_training() {
    let topo = Topology::uniform(&NetworkConfig::default(), 16, 8).unwrap();
    let pl = Placement::whole_nodes(&topo, &(0..16).collect::<Vec<_>>());
    let mut spec = StepSpec::compute_only(SimDuration::from_millis(100));
    spec.data_bytes_per_node = 2_000_000_000;
    let mut net = topo.flow_net();
    assert_eq!(
        estimate(&topo, &net, &pl, &spec).step,
        SimDuration::from_millis(800)
    );
    // Registered, its reads are persistent flows capped at the 20 GB/s it needs; it gets
    // 2.5 GB/s and sees the same 0.8 s.
    let job = JobTraffic::register(&topo, &mut net, SimTime(0), 1, &pl, &spec);
    assert_eq!(
        job.step_time(&topo, &net).step,
        SimDuration::from_millis(800)
    );
    job.unregister(&mut net, SimTime(0));
    spec.cache_hit = 0.75;
    assert_eq!(
        estimate(&topo, &net, &pl, &spec).step,
        SimDuration::from_millis(200)
    );
}

#[test]
fn node_cache_is_lru() {
    let mut c = NodeCache::new(100);
    assert_eq!(c.insert("a", 60), 60);
    assert_eq!(c.insert("b", 30), 30);
    assert_eq!(c.hit_fraction("a", 60), 1.0); // a is now more recent than b
    assert_eq!(c.insert("c", 40), 40); // evicts b (least recently used)
    assert_eq!(c.resident("b"), 0);
    assert_eq!(c.used(), 100);
    assert_eq!(c.hit_fraction("b", 30), 0.0);
    // Larger than the cache: only what fits stays (evicting everything else).
    assert_eq!(c.insert("d", 250), 100);
    assert_eq!(c.hit_fraction("d", 250), 0.4);
}
