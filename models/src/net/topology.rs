//! The cluster's interconnect as a graph (petgraph): GPUs on an NVSwitch domain per node,
//! per-GPU RDMA NICs on rails (rail-optimized leaves per scalable unit) or a classic fat-tree
//! (one leaf per SU), an aggregated spine with a configurable oversubscription, a storage
//! network to a shared filesystem, and a local NVMe per node.
//!
//! Every capacity-limited resource is a directed edge carrying a [`LinkId`]; edges without a
//! link (GPU↔NIC over PCIe, GPU↔host) are free. Routes for the common cases are computed
//! structurally (O(1), deterministic: one path, the spine aggregated into one uplink bundle
//! per leaf so ECMP is not modelled); [`Topology::route`] finds any route in the graph.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use super::config::{FabricKind, NetworkConfig, Scope, SuGrouping, gbit_s, gbyte_s};
use super::flow::{FlowNet, FlowSpec, LinkId};
use crate::cluster::ClusterSpec;

/// One GPU: node index (position in the topology) and GPU index inside the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GpuRef {
    pub node: u32,
    pub gpu: u32,
}

impl GpuRef {
    pub fn new(node: u32, gpu: u32) -> Self {
        GpuRef { node, gpu }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Vertex {
    Gpu { node: u32, gpu: u32 },
    NvSwitch { node: u32 },
    Host { node: u32 },
    Nic { node: u32, nic: u32 },
    Leaf { leaf: u32 },
    Spine,
    StorageCore,
    Filesystem,
    Nvme { node: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    NvlinkUp,
    NvlinkDown,
    NicUp,
    NicDown,
    LeafUp,
    LeafDown,
    StorageUp,
    StorageDown,
    FsRead,
    FsWrite,
    NvmeRead,
    NvmeWrite,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkInfo {
    pub kind: LinkKind,
    /// Bytes/s.
    pub capacity: f64,
    pub from: Vertex,
    pub to: Vertex,
}

/// What the topology needs to know about a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeShape {
    pub name: String,
    pub gpus: u32,
    pub rack: u32,
}

#[derive(Clone, Debug)]
struct NodeNet {
    gpus: u32,
    su: u32,
    nvl_up: Vec<LinkId>,
    nvl_down: Vec<LinkId>,
    nic_up: Vec<LinkId>,
    nic_down: Vec<LinkId>,
    nic_leaf: Vec<u32>,
    stor_up: LinkId,
    stor_down: LinkId,
    nvme_read: LinkId,
    nvme_write: LinkId,
}

#[derive(Clone, Debug)]
struct Leaf {
    up: LinkId,
    down: LinkId,
}

#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum NetError {
    #[error("network config: {0}")]
    Config(String),
    #[error("unknown node {0:?}")]
    UnknownNode(String),
    #[error("GPU {gpu} of node {node} does not exist")]
    NoSuchGpu { node: u32, gpu: u32 },
}

/// The built interconnect.
#[derive(Clone, Debug)]
pub struct Topology {
    cfg: NetworkConfig,
    graph: DiGraph<Vertex, Option<LinkId>>,
    vertex: BTreeMap<Vertex, NodeIndex>,
    links: Vec<LinkInfo>,
    nodes: Vec<NodeNet>,
    names: BTreeMap<String, u32>,
    leaves: Vec<Leaf>,
    fs_read: LinkId,
    fs_write: LinkId,
}

struct Builder {
    graph: DiGraph<Vertex, Option<LinkId>>,
    vertex: BTreeMap<Vertex, NodeIndex>,
    links: Vec<LinkInfo>,
}

impl Builder {
    fn v(&mut self, x: Vertex) -> NodeIndex {
        if let Some(&i) = self.vertex.get(&x) {
            return i;
        }
        let i = self.graph.add_node(x);
        self.vertex.insert(x, i);
        i
    }
    fn link(&mut self, from: Vertex, to: Vertex, kind: LinkKind, capacity: f64) -> LinkId {
        let id = LinkId(self.links.len() as u32);
        self.links.push(LinkInfo {
            kind,
            capacity,
            from,
            to,
        });
        let (a, b) = (self.v(from), self.v(to));
        self.graph.add_edge(a, b, Some(id));
        id
    }
    fn free(&mut self, a: Vertex, b: Vertex) {
        let (x, y) = (self.v(a), self.v(b));
        self.graph.add_edge(x, y, None);
        self.graph.add_edge(y, x, None);
    }
}

fn check(cfg: &NetworkConfig) -> Result<(), NetError> {
    let pos = |name: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(NetError::Config(format!("{name} must be > 0, got {v}")))
        }
    };
    let n = &cfg.node;
    pos("node.nvlink_gbyte_s", n.nvlink_gbyte_s)?;
    pos("node.nvlink_efficiency", n.nvlink_efficiency)?;
    pos("node.compute_nic_gbit_s", n.compute_nic_gbit_s)?;
    pos("node.storage_nic_gbit_s", n.storage_nic_gbit_s)?;
    pos("node.nvme_read_gbyte_s", n.nvme_read_gbyte_s)?;
    pos("node.nvme_write_gbyte_s", n.nvme_write_gbyte_s)?;
    pos("fabric.efficiency", cfg.fabric.efficiency)?;
    pos("storage.read_gbyte_s", cfg.storage.read_gbyte_s)?;
    pos("storage.write_gbyte_s", cfg.storage.write_gbyte_s)?;
    pos(
        "storage.client_read_gbyte_s",
        cfg.storage.client_read_gbyte_s,
    )?;
    pos(
        "storage.client_write_gbyte_s",
        cfg.storage.client_write_gbyte_s,
    )?;
    if !(cfg.fabric.oversubscription >= 1.0 && cfg.fabric.oversubscription.is_finite()) {
        return Err(NetError::Config(format!(
            "fabric.oversubscription must be ≥ 1, got {}",
            cfg.fabric.oversubscription
        )));
    }
    if cfg.fabric.nodes_per_su == 0 {
        return Err(NetError::Config("fabric.nodes_per_su must be ≥ 1".into()));
    }
    if cfg.fabric.spine_uplinks == 0 {
        return Err(NetError::Config("fabric.spine_uplinks must be ≥ 1".into()));
    }
    if n.compute_nics == 0 || n.storage_nics == 0 {
        return Err(NetError::Config(
            "node.compute_nics and node.storage_nics must be ≥ 1".into(),
        ));
    }
    for c in &cfg.calibration {
        pos("calibration.busbw_gbyte_s", c.busbw_gbyte_s)?;
    }
    Ok(())
}

impl Topology {
    /// Build from the cluster's nodes (in cluster order: node `i` is `GpuRef { node: i, .. }`).
    pub fn from_cluster(cfg: &NetworkConfig, cluster: &ClusterSpec) -> Result<Self, NetError> {
        let shapes: Vec<NodeShape> = cluster
            .nodes
            .iter()
            .map(|n| NodeShape {
                name: n.name.clone(),
                gpus: n.gpus,
                rack: n.rack,
            })
            .collect();
        Self::build(cfg, &shapes)
    }

    /// `n` identical nodes with `gpus` GPUs each, named `node-0` …, grouped by index.
    pub fn uniform(cfg: &NetworkConfig, n: u32, gpus: u32) -> Result<Self, NetError> {
        let shapes: Vec<NodeShape> = (0..n)
            .map(|i| NodeShape {
                name: format!("node-{i}"),
                gpus,
                rack: i / cfg.fabric.nodes_per_su.max(1),
            })
            .collect();
        Self::build(cfg, &shapes)
    }

    pub fn build(cfg: &NetworkConfig, shapes: &[NodeShape]) -> Result<Self, NetError> {
        check(cfg)?;
        let mut b = Builder {
            graph: DiGraph::new(),
            vertex: BTreeMap::new(),
            links: Vec::new(),
        };
        let nc = &cfg.node;
        let nvl = gbyte_s(nc.nvlink_gbyte_s) * nc.nvlink_efficiency;
        let nic = gbit_s(nc.compute_nic_gbit_s) * cfg.fabric.efficiency;
        let stor = gbit_s(nc.storage_nic_gbit_s) * f64::from(nc.storage_nics);
        let fs_read = b.link(
            Vertex::Filesystem,
            Vertex::StorageCore,
            LinkKind::FsRead,
            gbyte_s(cfg.storage.read_gbyte_s),
        );
        let fs_write = b.link(
            Vertex::StorageCore,
            Vertex::Filesystem,
            LinkKind::FsWrite,
            gbyte_s(cfg.storage.write_gbyte_s),
        );
        // SU of every node, renumbered densely in order of first appearance.
        let mut su_ids: BTreeMap<u32, u32> = BTreeMap::new();
        let mut sus = Vec::with_capacity(shapes.len());
        for (i, s) in shapes.iter().enumerate() {
            let raw = match cfg.fabric.su_grouping {
                SuGrouping::Index => i as u32 / cfg.fabric.nodes_per_su,
                SuGrouping::Rack => s.rack,
            };
            let next = su_ids.len() as u32;
            sus.push(*su_ids.entry(raw).or_insert(next));
        }
        // Leaves: (su, rail) for rail-optimized, su for fat-tree; downlink totals for the
        // uplink bundle.
        let rails = nc.compute_nics;
        let leaf_of = |su: u32, nic_idx: u32| match cfg.fabric.kind {
            FabricKind::RailOptimized => su * rails + nic_idx,
            FabricKind::FatTree => su,
        };
        let n_leaves = match cfg.fabric.kind {
            FabricKind::RailOptimized => su_ids.len() as u32 * rails,
            FabricKind::FatTree => su_ids.len() as u32,
        };
        let mut leaf_down_total = vec![0.0f64; n_leaves as usize];
        let mut names = BTreeMap::new();
        let mut nodes = Vec::with_capacity(shapes.len());
        for (i, s) in shapes.iter().enumerate() {
            let node = i as u32;
            if names.insert(s.name.clone(), node).is_some() {
                return Err(NetError::Config(format!(
                    "duplicate node name {:?}",
                    s.name
                )));
            }
            let su = sus[i];
            let mut nn = NodeNet {
                gpus: s.gpus,
                su,
                nvl_up: Vec::new(),
                nvl_down: Vec::new(),
                nic_up: Vec::new(),
                nic_down: Vec::new(),
                nic_leaf: Vec::new(),
                stor_up: LinkId(0),
                stor_down: LinkId(0),
                nvme_read: LinkId(0),
                nvme_write: LinkId(0),
            };
            let host = Vertex::Host { node };
            let sw = Vertex::NvSwitch { node };
            for g in 0..s.gpus {
                let gv = Vertex::Gpu { node, gpu: g };
                nn.nvl_up.push(b.link(gv, sw, LinkKind::NvlinkUp, nvl));
                nn.nvl_down.push(b.link(sw, gv, LinkKind::NvlinkDown, nvl));
                b.free(gv, host);
            }
            let nics = if s.gpus > 0 { rails } else { 0 };
            for k in 0..nics {
                let nv = Vertex::Nic { node, nic: k };
                let leaf = leaf_of(su, k);
                let lv = Vertex::Leaf { leaf };
                nn.nic_up.push(b.link(nv, lv, LinkKind::NicUp, nic));
                nn.nic_down.push(b.link(lv, nv, LinkKind::NicDown, nic));
                nn.nic_leaf.push(leaf);
                leaf_down_total[leaf as usize] += nic;
            }
            for g in 0..s.gpus {
                if nics > 0 {
                    let k = g * nics / s.gpus;
                    b.free(Vertex::Gpu { node, gpu: g }, Vertex::Nic { node, nic: k });
                }
            }
            nn.stor_up = b.link(host, Vertex::StorageCore, LinkKind::StorageUp, stor);
            nn.stor_down = b.link(Vertex::StorageCore, host, LinkKind::StorageDown, stor);
            let nvme = Vertex::Nvme { node };
            nn.nvme_read = b.link(
                nvme,
                host,
                LinkKind::NvmeRead,
                gbyte_s(nc.nvme_read_gbyte_s),
            );
            nn.nvme_write = b.link(
                host,
                nvme,
                LinkKind::NvmeWrite,
                gbyte_s(nc.nvme_write_gbyte_s),
            );
            nodes.push(nn);
        }
        let mut leaves = Vec::with_capacity(n_leaves as usize);
        for (l, &down) in leaf_down_total.iter().enumerate() {
            let cap = down / cfg.fabric.oversubscription;
            let lv = Vertex::Leaf { leaf: l as u32 };
            let up = b.link(lv, Vertex::Spine, LinkKind::LeafUp, cap);
            let dn = b.link(Vertex::Spine, lv, LinkKind::LeafDown, cap);
            leaves.push(Leaf { up, down: dn });
        }
        Ok(Topology {
            cfg: cfg.clone(),
            graph: b.graph,
            vertex: b.vertex,
            links: b.links,
            nodes,
            names,
            leaves,
            fs_read,
            fs_write,
        })
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.cfg
    }
    pub fn graph(&self) -> &DiGraph<Vertex, Option<LinkId>> {
        &self.graph
    }
    pub fn links(&self) -> &[LinkInfo] {
        &self.links
    }
    pub fn link(&self, l: LinkId) -> &LinkInfo {
        &self.links[l.index()]
    }
    pub fn num_nodes(&self) -> u32 {
        self.nodes.len() as u32
    }
    pub fn node_index(&self, name: &str) -> Result<u32, NetError> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| NetError::UnknownNode(name.to_string()))
    }
    pub fn gpus(&self, node: u32) -> u32 {
        self.nodes[node as usize].gpus
    }
    /// Scalable unit (dense index) of a node.
    pub fn su(&self, node: u32) -> u32 {
        self.nodes[node as usize].su
    }
    pub fn fs_read_link(&self) -> LinkId {
        self.fs_read
    }
    pub fn fs_write_link(&self) -> LinkId {
        self.fs_write
    }
    /// Compute NIC `nic` of `node`: its (up, down) links to the leaf, if it exists.
    pub fn nic_links(&self, node: u32, nic: u32) -> Option<(LinkId, LinkId)> {
        let n = self.nodes.get(node as usize)?;
        Some((*n.nic_up.get(nic as usize)?, *n.nic_down.get(nic as usize)?))
    }
    /// Compute NICs of `node` (0 if it has no GPUs or does not exist).
    pub fn nic_count(&self, node: u32) -> u32 {
        self.nodes
            .get(node as usize)
            .map_or(0, |n| n.nic_up.len() as u32)
    }
    /// Leaf uplink and downlink bundles, by leaf index.
    pub fn leaf_links(&self) -> Vec<(LinkId, LinkId)> {
        self.leaves.iter().map(|l| (l.up, l.down)).collect()
    }
    /// A solver with one link per topology link, same ids.
    pub fn flow_net(&self) -> FlowNet {
        let caps: Vec<f64> = self.links.iter().map(|l| l.capacity).collect();
        FlowNet::new(&caps)
    }

    /// NIC (rail) used by a GPU.
    pub fn nic_of(&self, g: GpuRef) -> u32 {
        let n = &self.nodes[g.node as usize];
        let nics = n.nic_up.len() as u32;
        if n.gpus == 0 || nics == 0 {
            0
        } else {
            g.gpu * nics / n.gpus
        }
    }

    /// Leaf a GPU's NIC hangs off.
    pub fn leaf_of(&self, g: GpuRef) -> u32 {
        self.nodes[g.node as usize].nic_leaf[self.nic_of(g) as usize]
    }

    pub fn validate(&self, g: GpuRef) -> Result<(), NetError> {
        if (g.node as usize) < self.nodes.len() && g.gpu < self.nodes[g.node as usize].gpus {
            Ok(())
        } else {
            Err(NetError::NoSuchGpu {
                node: g.node,
                gpu: g.gpu,
            })
        }
    }

    /// Links a transfer from GPU `a` to GPU `b` crosses: NVLink inside a node; otherwise
    /// a's NIC up, (leaf up, leaf down if the leaves differ), b's NIC down.
    pub fn gpu_path(&self, a: GpuRef, b: GpuRef) -> Vec<LinkId> {
        if a == b {
            return Vec::new();
        }
        let na = &self.nodes[a.node as usize];
        if a.node == b.node {
            return vec![na.nvl_up[a.gpu as usize], na.nvl_down[b.gpu as usize]];
        }
        let nb = &self.nodes[b.node as usize];
        let (ia, ib) = (self.nic_of(a) as usize, self.nic_of(b) as usize);
        let (la, lb) = (na.nic_leaf[ia], nb.nic_leaf[ib]);
        let mut p = vec![na.nic_up[ia]];
        if la != lb {
            p.push(self.leaves[la as usize].up);
            p.push(self.leaves[lb as usize].down);
        }
        p.push(nb.nic_down[ib]);
        p
    }

    /// Scope of a set of GPUs communicating (NVLink if one node, Rail if the inter-node
    /// edges stay under one leaf per rail, CrossLeaf otherwise).
    pub fn scope(&self, gpus: &[GpuRef]) -> Scope {
        let Some(first) = gpus.first() else {
            return Scope::Nvlink;
        };
        if gpus.iter().all(|g| g.node == first.node) {
            return Scope::Nvlink;
        }
        let su = self.su(first.node);
        let same_leaf = match self.cfg.fabric.kind {
            FabricKind::RailOptimized => gpus.iter().all(|g| self.su(g.node) == su),
            FabricKind::FatTree => gpus.iter().all(|g| self.su(g.node) == su),
        };
        if same_leaf {
            Scope::Rail
        } else {
            Scope::CrossLeaf
        }
    }

    /// Filesystem → node read path (aggregate read, node's storage NICs).
    pub fn fs_read_path(&self, node: u32) -> Vec<LinkId> {
        vec![self.fs_read, self.nodes[node as usize].stor_down]
    }
    /// Node → filesystem write path.
    pub fn fs_write_path(&self, node: u32) -> Vec<LinkId> {
        vec![self.nodes[node as usize].stor_up, self.fs_write]
    }
    pub fn nvme_read_path(&self, node: u32) -> Vec<LinkId> {
        vec![self.nodes[node as usize].nvme_read]
    }
    pub fn nvme_write_path(&self, node: u32) -> Vec<LinkId> {
        vec![self.nodes[node as usize].nvme_write]
    }
    /// A filesystem read by `node` of `bytes`, with the per-client cap.
    pub fn fs_read_flow(&self, node: u32, bytes: f64) -> FlowSpec {
        FlowSpec::new(self.fs_read_path(node), bytes)
            .with_cap(gbyte_s(self.cfg.storage.client_read_gbyte_s))
    }
    /// A filesystem write by `node` of `bytes`, with the per-client cap.
    pub fn fs_write_flow(&self, node: u32, bytes: f64) -> FlowSpec {
        FlowSpec::new(self.fs_write_path(node), bytes)
            .with_cap(gbyte_s(self.cfg.storage.client_write_gbyte_s))
    }

    /// Any route between two vertices through the graph (fewest hops, A*), as the links it
    /// crosses (free edges omitted). `None` if unreachable. Routes between GPUs/NICs avoid the
    /// storage network.
    pub fn route(&self, from: Vertex, to: Vertex) -> Option<Vec<LinkId>> {
        let (&s, &t) = (self.vertex.get(&from)?, self.vertex.get(&to)?);
        // GPU traffic does not use the storage network: the storage core is only a transit
        // vertex for routes that start or end at the storage side.
        let storage = |v: Vertex| matches!(v, Vertex::Filesystem | Vertex::StorageCore);
        let allow_storage = storage(from) || storage(to);
        let g = &self.graph;
        let filtered = petgraph::visit::NodeFiltered::from_fn(g, |n: NodeIndex| {
            allow_storage || g[n] != Vertex::StorageCore
        });
        let (_, nodes) = petgraph::algo::astar(&filtered, s, |n| n == t, |_| 1u32, |_| 0u32)?;
        let mut out = Vec::new();
        for w in nodes.windows(2) {
            let e = self.graph.find_edge(w[0], w[1])?;
            if let Some(l) = self.graph[e] {
                out.push(l);
            }
        }
        Some(out)
    }

    /// Graphviz rendering of the topology graph.
    pub fn to_dot(&self) -> String {
        format!(
            "{:?}",
            petgraph::dot::Dot::with_config(&self.graph, &[petgraph::dot::Config::EdgeNoLabel])
        )
    }
}
