//! Storage as flows in the same solver: dataset staging, checkpoint bursts, and a node-local
//! NVMe read cache (LRU over datasets).

use std::collections::BTreeMap;

use super::flow::FlowSpec;
use super::topology::Topology;

/// Flows that stage `bytes_per_node` of a dataset from the shared filesystem into each
/// node's local NVMe (FS read bandwidth, storage NIC, NVMe write; per-client read cap).
pub fn staging_flows(
    topo: &Topology,
    nodes: &[u32],
    bytes_per_node: u64,
    owner: u64,
) -> Vec<FlowSpec> {
    nodes
        .iter()
        .map(|&n| {
            let mut f = topo
                .fs_read_flow(n, bytes_per_node as f64)
                .with_owner(owner);
            f.path.extend(topo.nvme_write_path(n));
            f
        })
        .collect()
}

/// A synchronous checkpoint burst: every node writes `bytes_per_node` to the filesystem.
pub fn checkpoint_flows(
    topo: &Topology,
    nodes: &[u32],
    bytes_per_node: u64,
    owner: u64,
) -> Vec<FlowSpec> {
    nodes
        .iter()
        .map(|&n| {
            topo.fs_write_flow(n, bytes_per_node as f64)
                .with_owner(owner)
        })
        .collect()
}

/// Input reads of one step on one node: the miss part from the filesystem, the hit part
/// from local NVMe.
pub fn read_flows(topo: &Topology, node: u32, miss_bytes: f64, hit_bytes: f64) -> Vec<FlowSpec> {
    let mut v = Vec::new();
    if miss_bytes > 0.0 {
        v.push(topo.fs_read_flow(node, miss_bytes));
    }
    if hit_bytes > 0.0 {
        v.push(FlowSpec::new(topo.nvme_read_path(node), hit_bytes));
    }
    v
}

/// A node's local NVMe cache: datasets resident (possibly partly), evicted least recently
/// used first (ties by name, so deterministic).
#[derive(Clone, Debug, Default, PartialEq, Hash)]
pub struct NodeCache {
    capacity: u64,
    used: u64,
    tick: u64,
    /// dataset → (resident bytes, last use)
    entries: BTreeMap<String, (u64, u64)>,
}

impl NodeCache {
    pub fn new(capacity_bytes: u64) -> Self {
        NodeCache {
            capacity: capacity_bytes,
            ..Default::default()
        }
    }
    pub fn used(&self) -> u64 {
        self.used
    }
    pub fn resident(&self, dataset: &str) -> u64 {
        self.entries.get(dataset).map_or(0, |e| e.0)
    }
    /// Fraction of a dataset of `size` bytes served from the cache (and mark it used).
    pub fn hit_fraction(&mut self, dataset: &str, size: u64) -> f64 {
        self.tick += 1;
        match self.entries.get_mut(dataset) {
            Some(e) if size > 0 => {
                e.1 = self.tick;
                (e.0 as f64 / size as f64).min(1.0)
            }
            _ => 0.0,
        }
    }
    /// Make up to `bytes` of `dataset` resident, evicting LRU datasets; returns the bytes
    /// now resident.
    pub fn insert(&mut self, dataset: &str, bytes: u64) -> u64 {
        self.tick += 1;
        let want = bytes.min(self.capacity);
        let have = self.resident(dataset);
        if want <= have {
            if let Some(e) = self.entries.get_mut(dataset) {
                e.1 = self.tick;
            }
            return have;
        }
        let mut need = want - have;
        while self.capacity - self.used < need {
            let victim = self
                .entries
                .iter()
                .filter(|(k, _)| k.as_str() != dataset)
                .min_by(|a, b| a.1.1.cmp(&b.1.1).then(a.0.cmp(b.0)))
                .map(|(k, _)| k.clone());
            let Some(v) = victim else {
                need = self.capacity - self.used;
                break;
            };
            let (b, _) = self.entries.remove(&v).unwrap_or((0, 0));
            self.used -= b;
        }
        let e = self.entries.entry(dataset.to_string()).or_insert((0, 0));
        e.0 += need;
        e.1 = self.tick;
        self.used += need;
        e.0
    }
}
