//! ResourceSlices generated from a modelled cluster, and DRA giving the same placements
//! as plain GPU counts for the equivalent requests (whole GPUs of a model, first fit in
//! node-name order, with releases).

mod dra_common;
use std::collections::BTreeMap;

use dra_common::claim;
use models::dra::generate::{allocator_for_cluster, product_name, slices_for_cluster};
use models::dra::{AllocationState, ObjectKey};
use models::{ClusterSpec, NodeSpec};

fn node(name: &str, gpus: u32, model: Option<&str>) -> NodeSpec {
    NodeSpec {
        taints: Vec::new(),
        name: name.to_string(),
        pool: "test".to_string(),
        cpu_milli: 64_000,
        memory_mib: 512 * 1024,
        gpus,
        gpu_model: model.map(str::to_string),
        gpu_memory_mib: if model == Some("A100") {
            81_920
        } else {
            81_559
        },
        rack: 0,
        labels: BTreeMap::new(),
    }
}

fn cluster() -> ClusterSpec {
    ClusterSpec {
        nodes: vec![
            node("n0", 8, Some("H100")),
            node("n1", 4, Some("A100")),
            node("n2", 0, None),
            node("n3", 2, Some("H100")),
            node("n4", 8, Some("A100")),
        ],
    }
}

#[test]
fn one_slice_per_gpu_node_with_driver_attributes() {
    let c = cluster();
    let slices = slices_for_cluster(&c);
    assert_eq!(slices.len(), 4);
    let a = allocator_for_cluster(&c).unwrap();
    assert_eq!(a.devices().len() as u64, c.total_gpus());
    let d = &a.devices()[0];
    assert_eq!(d.id.to_string(), "gpu.nvidia.com/n0/gpu-0");
    assert_eq!(d.capacity["gpu.nvidia.com/memory"].to_string(), "81559Mi");
    assert_eq!(
        a.node_names().collect::<Vec<_>>(),
        ["n0", "n1", "n2", "n3", "n4"]
    );
}

/// Plain counts: first node in name order with the model and enough free GPUs.
fn plain_place(
    c: &ClusterSpec,
    free: &mut BTreeMap<String, u32>,
    count: u32,
    model: &str,
) -> Option<String> {
    let n = c
        .nodes
        .iter()
        .find(|n| n.gpu_model.as_deref() == Some(model) && free[&n.name] >= count)?;
    *free.get_mut(&n.name).unwrap() -= count;
    Some(n.name.clone())
}

#[test]
fn dra_places_like_plain_gpu_counts() {
    let c = cluster();
    let mut a = allocator_for_cluster(&c).unwrap();
    let mut state = AllocationState::default();
    let mut free: BTreeMap<String, u32> =
        c.nodes.iter().map(|n| (n.name.clone(), n.gpus)).collect();
    let mut running: Vec<(String, u32, Option<String>)> = Vec::new();
    let mut x: u64 = 7;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x >> 33
    };
    for i in 0..300 {
        if !running.is_empty() && next() % 3 == 0 {
            // A pod ends: both models release its GPUs.
            let (pod, count, node) = running.remove((next() % running.len() as u64) as usize);
            if let Some(node) = node {
                *free.get_mut(&node).unwrap() += count;
                a.unreserve(&mut state, &pod, &[ObjectKey::new("default", &pod)]);
            }
            continue;
        }
        let count = [1, 1, 2, 4, 8][(next() % 5) as usize];
        let model = if next() % 2 == 0 { "H100" } else { "A100" };
        let pod = format!("pod-{i}");
        let yaml = format!(
            "apiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata:\n  name: {pod}\nspec:\n  devices:\n    requests:\n    - name: gpus\n      exactly:\n        deviceClassName: gpu.nvidia.com\n        count: {count}\n        selectors:\n        - cel:\n            expression: device.attributes[\"gpu.nvidia.com\"].productName == \"{}\"\n",
            product_name(model)
        );
        let prepared = a.prepare(&claim(&yaml)).unwrap();
        let dra = a.place(&[&prepared], &pod, &state).ok();
        if let Some(p) = &dra {
            a.reserve(&mut state, &pod, p).unwrap();
        }
        let plain = plain_place(&c, &mut free, count, model);
        assert_eq!(
            dra.as_ref().map(|p| p.node.clone()),
            plain,
            "pod {i}: {count} x {model}"
        );
        running.push((pod, count, plain));
        a.check(&state).unwrap();
        let used: u32 = c.nodes.iter().map(|n| n.gpus - free[&n.name]).sum();
        assert_eq!(state.devices_in_use() as u32, used);
    }
}
