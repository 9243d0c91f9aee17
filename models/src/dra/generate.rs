//! ResourceSlices for a modelled cluster: what the NVIDIA DRA driver would publish for
//! each GPU node of a [`ClusterSpec`], so clusters built from node pools or trace node
//! lists can be scheduled through DRA instead of plain GPU counts.
//!
//! Per GPU node: one slice `<node>-gpu.nvidia.com`, pool `<node>`, devices `gpu-0..`
//! with the driver's attributes (`type`, `uuid`, `productName`, `brand`, `architecture`,
//! `driverVersion`, `index`, `minor`, `resource.kubernetes.io/pcieRoot` — four GPUs per
//! root) and `memory` capacity from the node's GPU memory. No MIG partitions (the
//! modelled GPUs are whole or fractionally shared, which DRA does not express here).

use std::collections::BTreeMap;

use k8s_openapi::api::resource::v1::{
    CELDeviceSelector, Device, DeviceAttribute, DeviceCapacity, DeviceClass, DeviceClassSpec,
    DeviceSelector, ResourcePool, ResourceSlice, ResourceSliceSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::allocator::Allocator;
use super::cel::AttrValue;
use super::error::DraError;
use super::quantity::Quantity;
use super::semver::Semver;
use crate::cluster::ClusterSpec;

/// The driver name the generated slices use.
pub const GPU_DRIVER: &str = "gpu.nvidia.com";
/// Driver version published on every generated GPU.
pub const DRIVER_VERSION: &str = "550.54.15";

/// `productName` for a modelled GPU model (the names `nvidia-smi` reports for the
/// common data-centre parts; `NVIDIA <model>` otherwise).
pub fn product_name(model: &str) -> String {
    match model {
        "H100" => "NVIDIA H100 80GB HBM3",
        "H200" => "NVIDIA H200",
        "H800" => "NVIDIA H800",
        "A100" => "NVIDIA A100-SXM4-80GB",
        "A800" => "NVIDIA A800-SXM4-80GB",
        "V100" | "V100M32" => "Tesla V100-SXM2-32GB",
        "V100M16" => "Tesla V100-SXM2-16GB",
        "P100" => "Tesla P100-PCIE-16GB",
        "T4" => "Tesla T4",
        "A10" => "NVIDIA A10",
        "L4" => "NVIDIA L4",
        "L40S" => "NVIDIA L40S",
        "B200" => "NVIDIA B200",
        other => return format!("NVIDIA {other}"),
    }
    .to_string()
}

/// `architecture` for a modelled GPU model (empty when unknown).
pub fn architecture(model: &str) -> &'static str {
    let m = model.to_ascii_uppercase();
    if m.starts_with('B') || m.starts_with("GB") {
        "Blackwell"
    } else if m.starts_with('H') {
        "Hopper"
    } else if m.starts_with("A1") || m.starts_with("A8") || m.starts_with("A3") {
        "Ampere"
    } else if m.starts_with('L') {
        "Ada Lovelace"
    } else if m.starts_with('T') {
        "Turing"
    } else if m.starts_with('V') {
        "Volta"
    } else if m.starts_with('P') {
        "Pascal"
    } else {
        ""
    }
}

fn s(v: &str) -> DeviceAttribute {
    DeviceAttribute {
        string: Some(v.to_string()),
        ..Default::default()
    }
}

fn int(v: i64) -> DeviceAttribute {
    DeviceAttribute {
        int: Some(v),
        ..Default::default()
    }
}

/// The ResourceSlices of every GPU node, in node order.
pub fn slices_for_cluster(cluster: &ClusterSpec) -> Vec<ResourceSlice> {
    cluster
        .nodes
        .iter()
        .filter(|n| n.gpus > 0)
        .map(|n| {
            let model = n.gpu_model.as_deref().unwrap_or("GPU");
            let devices = (0..n.gpus)
                .map(|i| {
                    let mut attributes = BTreeMap::new();
                    attributes.insert("type".to_string(), s("gpu"));
                    attributes.insert("uuid".to_string(), s(&format!("GPU-{}-{i}", n.name)));
                    attributes.insert("productName".to_string(), s(&product_name(model)));
                    attributes.insert("brand".to_string(), s("Nvidia"));
                    attributes.insert("architecture".to_string(), s(architecture(model)));
                    attributes.insert(
                        "driverVersion".to_string(),
                        DeviceAttribute {
                            version: Some(DRIVER_VERSION.to_string()),
                            ..Default::default()
                        },
                    );
                    attributes.insert("index".to_string(), int(i64::from(i)));
                    attributes.insert("minor".to_string(), int(i64::from(i)));
                    attributes.insert(
                        "resource.kubernetes.io/pcieRoot".to_string(),
                        s(&format!("pci{:04x}:00", i / 4)),
                    );
                    let mut capacity = BTreeMap::new();
                    capacity.insert(
                        "memory".to_string(),
                        DeviceCapacity {
                            value: K8sQuantity(format!("{}Mi", n.gpu_memory_mib)),
                            ..Default::default()
                        },
                    );
                    Device {
                        name: format!("gpu-{i}"),
                        attributes: Some(attributes),
                        capacity: Some(capacity),
                        ..Default::default()
                    }
                })
                .collect();
            ResourceSlice {
                metadata: ObjectMeta {
                    name: Some(format!("{}-{GPU_DRIVER}", n.name)),
                    ..Default::default()
                },
                spec: ResourceSliceSpec {
                    driver: GPU_DRIVER.to_string(),
                    node_name: Some(n.name.clone()),
                    pool: ResourcePool {
                        name: n.name.clone(),
                        generation: 1,
                        resource_slice_count: 1,
                    },
                    devices: Some(devices),
                    ..Default::default()
                },
            }
        })
        .collect()
}

/// The NVIDIA driver's `gpu.nvidia.com` DeviceClass (whole GPUs).
pub fn gpu_device_class() -> DeviceClass {
    DeviceClass {
        metadata: ObjectMeta {
            name: Some(GPU_DRIVER.to_string()),
            ..Default::default()
        },
        spec: DeviceClassSpec {
            selectors: Some(vec![DeviceSelector {
                cel: Some(CELDeviceSelector {
                    expression: format!(
                        "device.driver == '{GPU_DRIVER}' && device.attributes['{GPU_DRIVER}'].type == 'gpu'"
                    ),
                }),
            }]),
            ..Default::default()
        },
    }
}

/// An allocator for the cluster: generated slices, the GPU class, every node (GPU-less
/// ones too) with its labels.
pub fn allocator_for_cluster(cluster: &ClusterSpec) -> Result<Allocator, DraError> {
    let mut a = match allocator_direct(cluster) {
        Some(a) => a,
        None => Allocator::new(&slices_for_cluster(cluster), &[gpu_device_class()])?,
    };
    for n in &cluster.nodes {
        a.add_node(&n.name, n.labels.clone());
    }
    Ok(a)
}

/// The allocator [`Allocator::new`] makes of [`slices_for_cluster`] and
/// [`gpu_device_class`], its devices built directly instead of as API objects that are
/// then read back. `None` in the cases that reading handles differently (two GPU nodes
/// of one name, a memory size that is no valid quantity, ...): then read the objects.
fn allocator_direct(cluster: &ClusterSpec) -> Option<Allocator> {
    let mut nodes: Vec<&crate::cluster::NodeSpec> =
        cluster.nodes.iter().filter(|n| n.gpus > 0).collect();
    // Pools in the order `Allocator::new` takes them: by (driver, pool = node name).
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    if nodes.windows(2).any(|w| w[0].name == w[1].name) {
        return None;
    }
    let mut a = Allocator::new(&[], &[gpu_device_class()]).ok()?;
    let version = Semver::parse(DRIVER_VERSION).ok()?;
    // Attribute names, and the values every GPU of a node shares, are made once and
    // cloned per device.
    let q = |name: &str| format!("{GPU_DRIVER}/{name}");
    let [
        k_type,
        k_uuid,
        k_product,
        k_brand,
        k_arch,
        k_driver,
        k_index,
        k_minor,
        k_memory,
    ] = [
        "type",
        "uuid",
        "productName",
        "brand",
        "architecture",
        "driverVersion",
        "index",
        "minor",
        "memory",
    ]
    .map(q);
    let k_root = "resource.kubernetes.io/pcieRoot".to_string();
    let str_attr = |v: &str| AttrValue::String(v.to_string());
    let (gpu, nvidia, driver) = (
        str_attr("gpu"),
        str_attr("Nvidia"),
        AttrValue::Version(version),
    );
    for n in nodes {
        let model = n.gpu_model.as_deref().unwrap_or("GPU");
        let product = str_attr(&product_name(model));
        let arch = str_attr(architecture(model));
        let memory = Quantity::parse(&format!("{}Mi", n.gpu_memory_mib)).ok()?;
        let slice = format!("{}-{GPU_DRIVER}", n.name);
        let devices = (0..n.gpus).map(|i| {
            let attributes = BTreeMap::from([
                (k_type.clone(), gpu.clone()),
                (
                    k_uuid.clone(),
                    AttrValue::String(format!("GPU-{}-{i}", n.name)),
                ),
                (k_product.clone(), product.clone()),
                (k_brand.clone(), nvidia.clone()),
                (k_arch.clone(), arch.clone()),
                (k_driver.clone(), driver.clone()),
                (k_index.clone(), AttrValue::Int(i64::from(i))),
                (k_minor.clone(), AttrValue::Int(i64::from(i))),
                (
                    k_root.clone(),
                    AttrValue::String(format!("pci{:04x}:00", i / 4)),
                ),
            ]);
            let capacity = BTreeMap::from([(k_memory.clone(), memory)]);
            (format!("gpu-{i}"), attributes, capacity)
        });
        a.add_node_pool(GPU_DRIVER, &n.name, &slice, devices);
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::NodeSpec;

    fn node(name: &str, gpus: u32, model: Option<&str>, mem: u64) -> NodeSpec {
        NodeSpec {
            name: name.to_string(),
            pool: "p".to_string(),
            cpu_milli: 1000,
            memory_mib: 1024,
            gpus,
            gpu_model: model.map(str::to_string),
            gpu_memory_mib: mem,
            rack: 0,
            labels: BTreeMap::from([("zone".to_string(), name.to_string())]),
            taints: Vec::new(),
        }
    }

    /// The direct build is the allocator reading the generated API objects.
    #[test]
    fn direct_build_equals_reading_the_slices() {
        let cluster = ClusterSpec {
            nodes: vec![
                node("n-b", 8, Some("H100"), 81920),
                node("cpu-0", 0, None, 0),
                node("n-a", 5, Some("T4"), 15360),
                node("n-10", 2, None, 1024),
                node("n-9", 1, Some("Z9"), 0),
            ],
        };
        let direct = allocator_direct(&cluster).expect("direct build");
        let read = Allocator::new(&slices_for_cluster(&cluster), &[gpu_device_class()]).unwrap();
        assert_eq!(format!("{direct:?}"), format!("{read:?}"));
        // Same CEL values too.
        let sels: Vec<_> = [
            "device.attributes['gpu.nvidia.com'].uuid.endsWith('-1')",
            "device.attributes['gpu.nvidia.com'].index + device.attributes['resource.kubernetes.io'].pcieRoot.size() > 11",
            "device.capacity['gpu.nvidia.com'].memory.isGreaterThan(quantity('16Gi'))",
            "device.attributes['gpu.nvidia.com'].driverVersion.isGreaterThan(semver('550.0.0'))",
            "device.attributes['gpu.nvidia.com'].architecture == ''",
            "size(device.attributes['gpu.nvidia.com']) == 8",
        ]
        .iter()
        .map(|e| crate::dra::cel::compile(e).unwrap())
        .collect();
        for (x, y) in direct.devices().iter().zip(read.devices()) {
            for s in &sels {
                assert_eq!(s.matches(x.cel()), s.matches(y.cel()), "{}", s.expression);
            }
        }
        let mut dup = cluster.clone();
        dup.nodes.push(node("n-a", 1, Some("T4"), 15360));
        assert!(allocator_direct(&dup).is_none());
    }
}
