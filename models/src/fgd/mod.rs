//! Reproduction of the FGD artefact (Weng et al., "Beware of Fragmentation: Scheduling
//! GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC'23;
//! `hkust-adsl/kubernetes-scheduler-simulator` @8f3d641), run by run.
//!
//! One run = (openb trace, policy, tune seed): the GPU nodes of the openb node list; the pod
//! list sorted by name, shuffled and tuned to 1.3 × GPU capacity with Go's `math/rand`
//! seeded by the tune seed ([`go_rand`], [`workload`]); pods arriving one at a time with
//! no departures, placed by the one cluster model ([`crate::sim::ClusterSim`]) with one of
//! six placement policies ([`policy`], as Score/Reserve plugins in
//! [`crate::scheduler::fgd`]; the run: [`one_model`]); and the
//! artefact's analysis into columns 0…130 ([`analysis`]). [`expected`] reads the
//! artefact's published per-seed curves for comparison. See `docs/fgd-reproduction.md`.
//!
//! Everything is deterministic: the deterministic policies break ties by the artefact's
//! node rank; Random draws from Orrery's seeded ChaCha stream (`sim_core::RngStreams`).

pub mod analysis;
pub mod cluster;
pub(crate) mod csv;
pub mod error;
pub mod expected;
pub mod frag;
pub mod go_rand;
pub mod main_model;
pub mod one_model;
pub mod openb;
pub mod policy;
pub mod workload;

use std::collections::BTreeMap;
use std::path::Path;

pub use error::FgdError;
pub use expected::{Expected, ExpectedRow, abs_diff, max_abs_diff};
pub use policy::Policy;

use cluster::{Cluster, Shape};
use frag::Targets;
use openb::{NodeRow, PodRow};

/// A parsed trace, ready to run any (policy, seed).
#[derive(Clone, Debug)]
pub struct Trace {
    cluster: Cluster,
    /// The original pods sorted by name.
    pods: Vec<PodRow>,
    shapes: Vec<Shape>,
    /// Shape id of each pod in `pods`.
    shape_of: Vec<usize>,
    targets: Targets,
    /// The pod list's name, for errors.
    pods_file: String,
    /// The original pod list as FGD's target pods (`SchedulerConfig::fgd_target_pods`),
    /// shared by every run.
    target_pods: crate::scheduler::fgd::TargetPods,
    /// Each pod's request in the main model, `None` if it cannot be expressed (the run
    /// reports that pod's error).
    requests: Vec<Option<crate::resources::PodRequest>>,
    /// Per shape: whether some empty node can hold it (the main model's Filter).
    holdable: Vec<bool>,
}

/// The result of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct FgdRun {
    pub policy: Policy,
    pub seed: u64,
    /// GPU allocation ratio (%) at arrived demand 0…130 % (`analysis_allo_discrete.csv`).
    pub alloc: Vec<f64>,
    /// Fragmented GPUs as % of all GPUs at arrived demand 0…130 % (`analysis_frag_discrete.csv`).
    pub frag: Vec<f64>,
    /// Pods in the tuned list (= pods scheduled one after another).
    pub pods: usize,
    /// Clones appended by tune-up / pods deleted by tune-down.
    pub clones: usize,
    pub removed: usize,
    pub placed: usize,
    pub failed: usize,
    /// Total GPU request of the tuned list and GPU capacity, milli.
    pub request_milli: i64,
    pub capacity_milli: i64,
    pub total_gpus: usize,
    /// GPU allocation ratio (%) at 100 % arrived demand (= `alloc[100]`).
    pub gpu_allocation_ratio: f64,
    /// Allocated GPUs (%) after the last pod.
    pub final_allocation: f64,
}

impl Trace {
    /// Parse a node list and a pod list (`*_file` name them in errors).
    pub fn parse(
        nodes_file: &str,
        nodes_csv: &str,
        pods_file: &str,
        pods_csv: &str,
    ) -> Result<Trace, FgdError> {
        let nodes: Vec<NodeRow> = openb::parse_nodes(nodes_file, nodes_csv)?;
        let mut pods = openb::parse_pods(pods_file, pods_csv)?;
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        let cluster = Cluster::new(&nodes);
        let mut ids: BTreeMap<(i64, i64, i64, i64, &str), usize> = BTreeMap::new();
        let mut shapes = Vec::new();
        let mut shape_of = Vec::with_capacity(pods.len());
        for p in &pods {
            let key = (
                p.cpu_milli,
                p.memory_mib,
                p.gpu_milli,
                p.num_gpu,
                p.gpu_spec.as_str(),
            );
            let id = *ids.entry(key).or_insert_with(|| {
                shapes.push(Shape::of(p, &cluster.models));
                shapes.len() - 1
            });
            shape_of.push(id);
        }
        let targets = Targets::from_pods(&pods, &cluster.models);
        let target_pods = crate::scheduler::fgd::TargetPods::new(
            pods.iter()
                .map(|p| (p.cpu_milli, p.gpu_milli, p.num_gpu, p.gpu_spec.clone()))
                .collect(),
        );
        let requests: Vec<_> = pods
            .iter()
            .map(|p| main_model::request(pods_file, p).ok())
            .collect();
        let holdable = main_model::holdable(&cluster, &shape_of, &requests, shapes.len());
        Ok(Trace {
            cluster,
            pods,
            shapes,
            shape_of,
            targets,
            pods_file: pods_file.to_string(),
            target_pods,
            requests,
            holdable,
        })
    }

    /// Read and parse the two files.
    pub fn load(nodes: &Path, pods: &Path) -> Result<Trace, FgdError> {
        Trace::parse(
            &nodes.display().to_string(),
            &error::read_file(nodes)?,
            &pods.display().to_string(),
            &error::read_file(pods)?,
        )
    }

    /// FGD's target workload of this trace.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The scheduled sequence for a tune seed (pods as indices into the name-sorted list).
    pub fn sequence(&self, seed: u64) -> workload::Sequence {
        workload::prepare(
            &self.pods,
            self.cluster.capacity_milli(),
            self.cluster.nodes.len(),
            seed as i64,
        )
    }

    /// Name of the i-th pod of the name-sorted original list.
    pub fn pod_name(&self, i: usize) -> &str {
        &self.pods[i].name
    }
}

/// Parse the node and pod lists and run one (policy, tune seed).
pub fn run(nodes_csv: &str, pods_csv: &str, policy: Policy, seed: u64) -> Result<FgdRun, FgdError> {
    Trace::parse("nodes.csv", nodes_csv, "pods.csv", pods_csv)?.run(policy, seed)
}

/// Feed `bytes` to `mix` as whole little-endian words (one mixing step per 8 bytes, not
/// per byte); returns the remaining bytes (fewer than 8) as one word with their count in
/// its top bits, so "a" and "a\0" differ, and that count. The byte loop of the crate's
/// fixed hashers ([`FxHasher`], the verifier's state hasher).
pub(crate) fn le_words(bytes: &[u8], mut mix: impl FnMut(u64)) -> (u64, usize) {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        mix(u64::from_le_bytes(b));
    }
    let tail = words.remainder();
    let mut b = [0u8; 8];
    b[..tail.len()].copy_from_slice(tail);
    (
        u64::from_le_bytes(b) ^ ((tail.len() as u64) << 59),
        tail.len(),
    )
}

/// FxHash-style hasher: fixed (deterministic) and fast for small integer keys. Only used
/// for look-ups, never iterated.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    /// Whole little-endian words, then the tail's bytes in one word (strings and byte
    /// slices: one mixing step per 8 bytes, not per byte).
    fn write(&mut self, bytes: &[u8]) {
        let (tail, len) = le_words(bytes, |w| self.write_u64(w));
        if len > 0 {
            self.write_u64(tail);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_i16(&mut self, i: i16) {
        self.write_u64(i as u64);
    }
}
