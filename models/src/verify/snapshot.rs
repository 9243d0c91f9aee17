//! What a violating state looks like: who holds what where, who waits for whom.

use std::collections::BTreeSet;

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use serde::{Deserialize, Serialize};

use crate::sim::{ClusterSim, JobPhase, PodPhase};

/// One pod of a job in the violating state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSnap {
    pub pod: u32,
    /// `pending`, `waiting` (reserved at Permit) or `bound`.
    pub phase: String,
    pub node: Option<String>,
    pub gpus: Vec<u8>,
    /// The request, in words.
    pub request: String,
}

/// One job involved in the violation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSnap {
    pub id: String,
    pub pods: Vec<PodSnap>,
    /// GPUs it holds / GPUs it needs in all.
    pub holds_gpus: f64,
    pub needs_gpus: f64,
}

/// One node's allocation in the violating state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSnap {
    pub name: String,
    pub gpus: u32,
    pub idle_gpus: u32,
    /// Job ids holding GPUs or pods here.
    pub holders: Vec<String>,
}

/// A wait-for edge: `from` needs something `to` holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WaitEdge {
    pub from: String,
    pub to: String,
    pub label: String,
}

/// The state at the violation, with its wait-for graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub jobs: Vec<JobSnap>,
    pub nodes: Vec<NodeSnap>,
    pub wait_for: Vec<WaitEdge>,
    /// Strongly connected sets of the wait-for graph with more than one job (the cycles).
    pub cycles: Vec<Vec<String>>,
}

fn phase_name(p: PodPhase) -> &'static str {
    match p {
        PodPhase::Pending => "pending",
        PodPhase::Waiting => "waiting",
        PodPhase::Bound => "bound",
    }
}

/// Snapshot of `jobs` (indices) in `m`.
pub fn snapshot(m: &ClusterSim, jobs: &[u32]) -> Snapshot {
    let set: BTreeSet<u32> = jobs.iter().copied().collect();
    let node_name = |n: u32| m.spec.nodes[n as usize].name.clone();
    let mut job_snaps = Vec::new();
    for &j in &set {
        let spec = &m.workload.jobs[j as usize];
        let js = &m.state.jobs[j as usize];
        let mut held = 0u64;
        let pods = js
            .pods
            .iter()
            .enumerate()
            .map(|(p, ps)| {
                if ps.placement.is_some() {
                    held += spec.pods[p].gpu.total_milli();
                }
                PodSnap {
                    pod: p as u32,
                    phase: phase_name(ps.phase).into(),
                    node: ps.placement.as_ref().map(|pl| node_name(pl.node)),
                    gpus: ps
                        .placement
                        .as_ref()
                        .map(|pl| pl.gpus.clone())
                        .unwrap_or_default(),
                    request: crate::sim::describe_request(&spec.pods[p]),
                }
            })
            .collect();
        job_snaps.push(JobSnap {
            id: spec.id.clone(),
            pods,
            holds_gpus: held as f64 / 1000.0,
            needs_gpus: spec.gpu_milli() as f64 / 1000.0,
        });
    }
    // Who holds what on each node.
    let mut holders: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); m.spec.nodes.len()];
    for (j, js) in m.state.jobs.iter().enumerate() {
        if matches!(js.phase, JobPhase::Completed { .. }) {
            continue;
        }
        for ps in &js.pods {
            if let Some(pl) = &ps.placement {
                holders[pl.node as usize].insert(j as u32);
            }
        }
    }
    let nodes = m
        .spec
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| NodeSnap {
            name: n.name.clone(),
            gpus: n.gpus,
            idle_gpus: m.state.cluster.nodes[i].idle_gpus,
            holders: holders[i]
                .iter()
                .map(|&j| m.workload.jobs[j as usize].id.clone())
                .collect(),
        })
        .collect();
    // Wait-for: a pending pod of J could go on node n (it fits the empty node) where K
    // (also in the set) holds resources.
    let mut g: DiGraph<u32, ()> = DiGraph::new();
    let idx: Vec<(u32, petgraph::graph::NodeIndex)> =
        set.iter().map(|&j| (j, g.add_node(j))).collect();
    let index_of = |j: u32| idx.iter().find(|(k, _)| *k == j).map(|(_, i)| *i);
    let mut edges: BTreeSet<WaitEdge> = BTreeSet::new();
    for &j in &set {
        let spec = &m.workload.jobs[j as usize];
        let js = &m.state.jobs[j as usize];
        for (p, ps) in js.pods.iter().enumerate() {
            if ps.phase != PodPhase::Pending {
                continue;
            }
            for (n, ns) in m.spec.nodes.iter().enumerate() {
                let empty = crate::state::NodeState::new(ns);
                if empty.fits(ns, &spec.pods[p]).is_err() {
                    continue;
                }
                for &k in &holders[n] {
                    if k == j || !set.contains(&k) {
                        continue;
                    }
                    let (Some(a), Some(b)) = (index_of(j), index_of(k)) else {
                        continue;
                    };
                    if !g.contains_edge(a, b) {
                        g.add_edge(a, b, ());
                    }
                    edges.insert(WaitEdge {
                        from: spec.id.clone(),
                        to: m.workload.jobs[k as usize].id.clone(),
                        label: format!("needs {} on {}", describe_short(&spec.pods[p]), ns.name),
                    });
                }
            }
        }
    }
    let mut cycles: Vec<Vec<String>> = tarjan_scc(&g)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut ids: Vec<String> = c
                .iter()
                .map(|&i| m.workload.jobs[g[i] as usize].id.clone())
                .collect();
            ids.sort();
            ids
        })
        .collect();
    cycles.sort();
    // Collapse parallel labels per (from, to): one edge per pair, labels joined.
    let mut wait_for: Vec<WaitEdge> = Vec::new();
    for e in edges {
        match wait_for.last_mut() {
            Some(l) if l.from == e.from && l.to == e.to => {
                if !l.label.split("; ").any(|x| x == e.label) {
                    l.label = format!("{}; {}", l.label, e.label);
                }
            }
            _ => wait_for.push(e),
        }
    }
    Snapshot {
        jobs: job_snaps,
        nodes,
        wait_for,
        cycles,
    }
}

fn describe_short(p: &crate::resources::PodRequest) -> String {
    use crate::resources::GpuRequest;
    match p.gpu {
        GpuRequest::None => "a CPU pod slot".into(),
        GpuRequest::Whole(1) => "1 GPU".into(),
        GpuRequest::Whole(n) => format!("{n} GPUs"),
        GpuRequest::Shared(m) => format!("{m}/1000 GPU"),
    }
}

/// Graphviz DOT of the wait-for graph: jobs as boxes listing what they hold, an edge from
/// each waiting job to each job holding what it needs.
pub fn to_dot(s: &Snapshot, title: &str) -> String {
    let q = |x: &str| format!("\"{}\"", x.replace('\\', "\\\\").replace('"', "\\\""));
    let mut o = String::new();
    o.push_str("digraph waitfor {\n");
    o.push_str(&format!("  label={};\n  labelloc=t;\n", q(title)));
    o.push_str("  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for j in &s.jobs {
        let mut held: Vec<String> = Vec::new();
        for p in &j.pods {
            if let Some(n) = &p.node {
                held.push(format!("pod {} {} on {}", p.pod, p.phase, n));
            }
        }
        let pending = j.pods.iter().filter(|p| p.node.is_none()).count();
        let label = format!(
            "{}\\nholds {} of {} GPUs; {} pods pending\\n{}",
            j.id,
            j.holds_gpus,
            j.needs_gpus,
            pending,
            held.join("\\n")
        );
        let cyc = s.cycles.iter().any(|c| c.contains(&j.id));
        o.push_str(&format!(
            "  {} [label=\"{}\"{}];\n",
            q(&j.id),
            label.replace('"', "\\\""),
            if cyc { ", color=red" } else { "" }
        ));
    }
    for e in &s.wait_for {
        o.push_str(&format!(
            "  {} -> {} [label={}];\n",
            q(&e.from),
            q(&e.to),
            q(&e.label)
        ));
    }
    o.push_str("}\n");
    o
}
