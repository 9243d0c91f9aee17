//! The "64 HGX H100 nodes of partitionable ResourceSlices" input of issue 18 (goal 4), made
//! from the committed one-node fixture `scenarios/dra/h100-node.yaml` (8 GPUs, 80 MIG
//! partitions, 8 shared-counter sets): node `h100-<i>` is that node with its names and
//! GPU/MIG UUIDs made unique. Every object is written the way `kubectl get -o yaml`
//! prints it (block style), one document per object: per node its ResourceSlice and its
//! Node object.
//!
//! [`write_h100_scenario`] lays out a manifests-mode scenario around them (the NVIDIA
//! DeviceClasses, the fixture's ResourceClaimTemplates, a small workload), so the load is
//! measured through `orrery run`; `cargo run --release -p orrery-benches --example
//! h100_slices -- DIR [NODES]` writes it. The `dra` bench times the load in process.

use std::fmt::Write as _;
use std::path::Path;

use models::dra::Manifests;

/// The committed fixtures this generator starts from.
pub fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/dra")
}

/// `nodes` copies of the fixture node, as multi-document YAML: per node, its
/// ResourceSlice and its Node object.
pub fn h100_slices_yaml(nodes: usize) -> Result<String, String> {
    let dir = fixture_dir();
    let read =
        |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let slice_text = read("h100-node.yaml")?;
    let node_text = read("run/node.yaml")?;
    let mut out = String::new();
    for i in 0..nodes {
        // The fixture's node is `h100-0`; GPU UUIDs share the prefix `4a1c6b2e`, MIG UUIDs
        // the suffix `7d1e-5b8a-9f2c-0e4d6a8b1c3f` (`parentUUID` follows the GPU's).
        let one = |text: &str| {
            text.replace("h100-0", &format!("h100-{i}"))
                .replace("4a1c6b2e", &format!("{:08x}", 0x4a1c_6b2e_u64 + i as u64))
                .replace("7d1e-5b8a", &format!("7d1e-{:04x}", 0x5b8a + i))
        };
        for text in [one(&slice_text), one(&node_text)] {
            let m = Manifests::parse("h100", &text).map_err(|e| e.to_string())?;
            for s in m.resource_slices.values() {
                push_doc(&mut out, s)?;
            }
            for n in m.nodes.values() {
                push_doc(&mut out, n)?;
            }
        }
    }
    Ok(out)
}

fn push_doc<T: serde::Serialize>(out: &mut String, obj: &T) -> Result<(), String> {
    if !out.is_empty() {
        out.push_str("---\n");
    }
    let yaml = serde_saphyr::to_string(obj).map_err(|e| e.to_string())?;
    out.push_str(&yaml);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(())
}

/// Writes a manifests-mode scenario on `nodes` generated H100 nodes into `dir`:
/// `manifests/` (`slices.yaml` from [`h100_slices_yaml`], the NVIDIA DeviceClasses and
/// the fixture's ResourceClaimTemplates) and `scenario.yaml` (one 8-GPU pod and 64
/// one-MIG-slice pods, so the run itself is short and the load dominates). Returns the
/// size of `slices.yaml` in bytes.
pub fn write_h100_scenario(dir: &Path, nodes: usize) -> Result<usize, String> {
    let m = dir.join("manifests");
    std::fs::create_dir_all(&m).map_err(|e| format!("{}: {e}", m.display()))?;
    let slices = h100_slices_yaml(nodes)?;
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&m.join("slices.yaml"), &slices)?;
    let fixtures = fixture_dir();
    for (from, to) in [
        ("nvidia-deviceclasses.yaml", "classes.yaml"),
        ("run/templates.yaml", "templates.yaml"),
    ] {
        let text =
            std::fs::read_to_string(fixtures.join(from)).map_err(|e| format!("{from}: {e}"))?;
        write(&m.join(to), &text)?;
    }
    let mut scenario = String::new();
    let _ = writeln!(
        scenario,
        "# {nodes} HGX H100 nodes of partitionable ResourceSlices (benches/src/h100_slices.rs)\n\
         name: dra-h100-x{nodes}\nseed: 42\ncluster: {{}}\n\
         dra:\n  manifests: [manifests]\n  claim_templates:\n    \"1\": mig-1g\n    \"8\": eight-gpus\n\
         workload:\n  jobs:\n\
         \x20   - {{id: whole, submit: 0s, duration: 100s, gpus_per_pod: 8}}\n\
         \x20   - {{id: mig, submit: 10s, duration: 50s, pods: 64, gpus_per_pod: 1}}\n\
         scheduler:\n  policy: default"
    );
    write(&dir.join("scenario.yaml"), &scenario)?;
    Ok(slices.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::dra::Allocator;

    /// Two nodes: each the fixture's 8 GPUs and 80 MIG partitions (88 devices) and its
    /// Node object, with names and UUIDs of their own.
    #[test]
    fn two_nodes_load_as_two_copies_of_the_fixture_node() {
        let yaml = h100_slices_yaml(2).expect("generate");
        let m = Manifests::parse("h100x2", &yaml).expect("parse");
        assert_eq!(m.resource_slices.len(), 2);
        assert_eq!(
            m.nodes.keys().map(String::as_str).collect::<Vec<_>>(),
            ["h100-0", "h100-1"]
        );
        let a = Allocator::new(
            &m.resource_slices.values().cloned().collect::<Vec<_>>(),
            &[],
        )
        .expect("allocator");
        assert_eq!(a.devices().len(), 2 * 88);
        let uuids: std::collections::HashSet<_> = a
            .devices()
            .iter()
            .filter_map(|d| d.attributes.get("gpu.nvidia.com/uuid"))
            .collect();
        assert_eq!(uuids.len(), 2 * 88, "every GPU and MIG UUID is distinct");
    }
}
