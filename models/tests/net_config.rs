//! The `network:` configuration: the documented YAML example parses, defaults hold, and
//! unknown fields are rejected.

use models::net::{CollectiveKind, FabricKind, NetworkConfig, Scope, SuGrouping, Topology};
use serde::Deserialize;
use sim_core::SimDuration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    network: Net,
}

/// The scenario's `network:` section minus `steps` (tested elsewhere).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Net {
    config: NetworkConfig,
}

fn doc_example() -> String {
    let doc = include_str!("../../docs/hardware-model.md");
    let start = doc.find("```yaml\n").expect("yaml block") + 8;
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_string()
}

#[test]
fn documented_example_parses_to_the_defaults() {
    let s: Scenario = serde_saphyr::from_str(&doc_example()).unwrap();
    let mut got = s.network.config;
    let d = NetworkConfig::default();
    assert!((got.node.nvlink_efficiency - d.node.nvlink_efficiency).abs() < 1e-4);
    got.node.nvlink_efficiency = d.node.nvlink_efficiency;
    assert_eq!(got.node, d.node);
    assert_eq!(got.fabric, d.fabric);
    assert_eq!(got.storage, d.storage);
    assert_eq!(got.latency, d.latency);
    assert_eq!(got.latency.network_step, SimDuration::from_nanos(7_000));
    assert_eq!(got.fabric.kind, FabricKind::RailOptimized);
    assert_eq!(got.fabric.su_grouping, SuGrouping::Index);
    assert_eq!(got.calibration.len(), 2);
    assert_eq!(got.calibration[0].collective, CollectiveKind::AllReduce);
    assert_eq!(got.calibration[1].scope, Scope::Rail);
    assert_eq!(got.calibration[1].ranks, Some(16));
}

#[test]
fn empty_and_partial_configs_use_defaults() {
    let s: Scenario = serde_saphyr::from_str("network: {config: {}}\n").unwrap();
    assert_eq!(s.network.config, NetworkConfig::default());
    let s: Scenario = serde_saphyr::from_str(
        "network:\n  config:\n    fabric:\n      kind: fat_tree\n      oversubscription: 3\n",
    )
    .unwrap();
    assert_eq!(s.network.config.fabric.kind, FabricKind::FatTree);
    assert_eq!(s.network.config.fabric.oversubscription, 3.0);
    assert_eq!(s.network.config.fabric.nodes_per_su, 32);
}

#[test]
fn unknown_fields_and_bad_values_are_rejected() {
    assert!(serde_saphyr::from_str::<Scenario>("network:\n  config:\n    nvlink: 1\n").is_err());
    assert!(
        serde_saphyr::from_str::<Scenario>(
            "network:\n  config:\n    node:\n      nvlnk_gbyte_s: 1\n"
        )
        .is_err()
    );
    let mut cfg = NetworkConfig::default();
    cfg.fabric.oversubscription = 0.5;
    assert!(Topology::uniform(&cfg, 2, 8).is_err());
}

/// Topology shape: 64 nodes × 8 GPUs, rail-optimized, 32 per SU, 2:1.
///   links = 2 (FS) + 64 · (8·2 NVLink + 8·2 NIC + 2 storage + 2 NVMe) + 2 SUs · 8 rails · 2
///         = 2 + 64 · 36 + 32 = 2,338; leaf uplink = 32 · 50 GB/s / 2 = 800 GB/s.
/// The structural route agrees with a graph search.
#[test]
fn topology_shape_and_routes() {
    use models::net::{GpuRef, Vertex};
    let mut cfg = NetworkConfig::default();
    cfg.fabric.oversubscription = 2.0;
    let topo = Topology::uniform(&cfg, 64, 8).unwrap();
    assert_eq!(topo.links().len(), 2_338);
    let (up, _) = topo.leaf_links()[0];
    assert_eq!(topo.link(up).capacity, 800e9);
    let (a, b) = (GpuRef::new(3, 5), GpuRef::new(40, 5));
    let mut p = topo.gpu_path(a, b);
    assert_eq!(p.len(), 4);
    let mut r = topo
        .route(
            Vertex::Gpu { node: 3, gpu: 5 },
            Vertex::Gpu { node: 40, gpu: 5 },
        )
        .unwrap();
    p.sort();
    r.sort();
    assert_eq!(p, r);
    assert!(topo.to_dot().contains("digraph"));
    // Fat tree: both nodes' NICs under SU leaves, cross-SU through the spine.
    cfg.fabric.kind = FabricKind::FatTree;
    let ft = Topology::uniform(&cfg, 64, 8).unwrap();
    assert_eq!(ft.leaf_links().len(), 2);
    assert_eq!(
        ft.link(ft.leaf_links()[0].0).capacity,
        32.0 * 8.0 * 50e9 / 2.0
    );
    assert_eq!(ft.gpu_path(GpuRef::new(0, 0), GpuRef::new(1, 3)).len(), 2);
}
