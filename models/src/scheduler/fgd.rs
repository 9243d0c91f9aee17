//! The FGD artefact's placement policies as scheduler-framework plugins (`scheduler:
//! {placement: …}`): a Score plugin per policy and the GPU choice it implies at Reserve,
//! usable under every policy of the main model.
//!
//! The formulas are not re-implemented here: a node of the main model is viewed as the
//! artefact's node ([`crate::fgd::cluster::NodeState`]) and a pod as its shape, and the
//! score and GPU choice are those of [`crate::fgd::policy`], which the FGD reproduction
//! (`crate::fgd::one_model` runs through the one model). Semantics: `hkust-adsl/kubernetes-scheduler-simulator`
//! @8f3d641. Fragmentation targets (FGD's typical pods) are computed from the run's
//! workload, every pod counted once, as the artefact computes them from its pod list.
//!
//! Deviations from the artefact (see `docs/policies.md`): ties between equal node scores go
//! to the run's chooser (the artefact ranks nodes by a shuffled order); `random` draws its
//! node from the chooser among all feasible nodes (all score 0) and gives a sharing pod the
//! best-fit GPU (the artefact draws the GPU at random too); under DRA the claim allocator
//! chooses the GPUs.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterSpec, NodeSpec};
use crate::fgd::cluster::{MAX_GPUS, MILLI, NodeState as FgdNode, Shape};
use crate::fgd::frag::Targets;
use crate::fgd::policy::{self, Policy, Score};
use crate::resources::{GpuRequest, PodRequest};
use crate::state::NodeState;
use crate::workload::Workload;

use super::framework::{Profile, ScorePlugin};

/// Which node scores and GPU choice place pods (`scheduler.placement`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// The policy's own scoring (NodeResourcesFit + BalancedAllocation, or Volcano's
    /// binpack) and the best-fit GPU: today's behaviour.
    #[default]
    Default,
    Random,
    #[serde(rename = "dotprod")]
    DotProd,
    #[serde(rename = "gpuclustering")]
    GpuClustering,
    #[serde(rename = "gpupacking")]
    GpuPacking,
    #[serde(rename = "bestfit")]
    BestFit,
    Fgd,
}

impl Placement {
    pub const NAMES: &'static [&'static str] = &[
        "default",
        "random",
        "dotprod",
        "gpuclustering",
        "gpupacking",
        "bestfit",
        "fgd",
    ];

    pub fn is_default(&self) -> bool {
        *self == Placement::Default
    }

    /// The FGD artefact policy, `None` for `default`.
    pub fn fgd_policy(self) -> Option<Policy> {
        match self {
            Placement::Default => None,
            Placement::Random => Some(Policy::Random),
            Placement::DotProd => Some(Policy::DotProd),
            Placement::GpuClustering => Some(Policy::GpuClustering),
            Placement::GpuPacking => Some(Policy::GpuPacking),
            Placement::BestFit => Some(Policy::BestFit),
            Placement::Fgd => Some(Policy::Fgd),
        }
    }

    pub fn name(self) -> &'static str {
        self.fgd_policy().map_or("default", Policy::name)
    }
}

/// A pod list for FGD's targets: (CPU milli, per-GPU milli, GPU count, GPU spec) per pod,
/// shared (cheap to clone) and with the [`Targets`] computed from it kept for the next run
/// on a cluster of the same GPU models (the FGD reproduction runs one pod list many times).
/// Equality and hashing look at the pod list only.
#[derive(Clone, Debug)]
pub struct TargetPods(std::sync::Arc<TargetPodsInner>);

#[derive(Debug)]
struct TargetPodsInner {
    pods: Vec<(i64, i64, i64, String)>,
    /// The GPU model names the targets were last computed for, and those targets.
    targets: Mutex<Option<(Vec<String>, Targets)>>,
}

impl TargetPods {
    pub fn new(pods: Vec<(i64, i64, i64, String)>) -> TargetPods {
        TargetPods(std::sync::Arc::new(TargetPodsInner {
            pods,
            targets: Mutex::new(None),
        }))
    }

    /// FGD's targets of this pod list for a cluster of GPU models `models` (sorted
    /// names): `Targets::from_requests`, computed once per list and models.
    pub fn targets(&self, models: &[String]) -> Targets {
        // A poisoned lock only means another thread panicked mid-update of a pure cache.
        let mut cache = self.0.targets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((m, t)) = cache.as_ref()
            && m.as_slice() == models
        {
            return t.clone();
        }
        let t = Targets::from_requests(
            self.0
                .pods
                .iter()
                .map(|(c, m, n, s)| (*c, *m, *n, s.as_str())),
            models,
        );
        *cache = Some((models.to_vec(), t.clone()));
        t
    }
}

impl PartialEq for TargetPods {
    fn eq(&self, other: &TargetPods) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0.pods == other.0.pods
    }
}

impl Eq for TargetPods {}

impl std::hash::Hash for TargetPods {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.pods.hash(h);
    }
}

/// Why an FGD placement cannot run on a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementError(pub String);

impl fmt::Display for PlacementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Node state (free milli per GPU and what a score reads) and pod shape, as a memo key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MemoKey {
    cpu: u64,
    milli: u32,
    num: u32,
    access: u64,
    model: u32,
    cpu_left: i64,
    gpus: [u16; MAX_GPUS],
    n_gpu: u8,
}

impl std::hash::Hash for MemoKey {
    /// Every field, packed into whole words (the hasher mixes one word at a time).
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let word = |g: &[u16]| g.iter().fold(0u64, |w, &x| (w << 16) | u64::from(x));
        h.write_u64(self.cpu);
        h.write_u64(u64::from(self.milli) << 32 | u64::from(self.num));
        h.write_u64(self.access);
        h.write_u64(u64::from(self.model) << 8 | u64::from(self.n_gpu));
        h.write_u64(self.cpu_left as u64);
        h.write_u64(word(&self.gpus[..4]));
        h.write_u64(word(&self.gpus[4..]));
    }
}

/// Most memoised FGD scores kept (the memo is emptied when full; it is only a cache).
const MEMO_CAP: usize = 1 << 20;

/// An FGD-family placement for one run: the artefact policy, the GPU models (ids as the
/// artefact numbers them: sorted names) and the fragmentation targets of the workload.
#[derive(Debug)]
pub struct FgdPlacement {
    pub policy: Policy,
    /// Sorted GPU model names; a node without a model gets id `models.len() - 1` (`""`)
    /// when any such node exists.
    models: Vec<String>,
    /// Per node of the cluster it was set up for: its model id (`model_id`), so the
    /// scheduling cycle's node index finds it without comparing names.
    node_models: Vec<u32>,
    pub targets: Targets,
    /// FGD scores by (pod shape, node state): many nodes share a state. A pure cache
    /// (never iterated).
    memo: Mutex<HashMap<MemoKey, Score, std::hash::BuildHasherDefault<crate::fgd::FxHasher>>>,
    /// The artefact's view of each interned request shape of the run's workload (the
    /// cycle's `shape` id), with `access` as a bit set: set up once, read without a lock.
    by_id: Vec<(Shape, u64)>,
    /// The last pod viewed without a shape id and its shape (a pod is scored on many
    /// nodes in a row): a pure cache, so the hot path builds no strings.
    last: Mutex<Option<LastPod>>,
    /// Random draws a GPU-sharing pod's GPU (`SchedulerConfig::fgd_random_gpu`).
    pub random_gpu: bool,
}

/// A pod request and the artefact's view of it.
#[derive(Debug)]
struct LastPod {
    /// The pod's interned request shape, when the caller gave one.
    id: Option<u32>,
    pod: PodRequest,
    shape: Shape,
    /// `shape.access` as a bit set (models beyond 64: unused).
    access: u64,
}

/// `shape.access` as a bit set (models beyond 64: unused).
fn access_bits(shape: &Shape) -> u64 {
    let mut access = 0u64;
    for (i, a) in shape.access.iter().enumerate().take(64) {
        access |= u64::from(*a) << i;
    }
    access
}

/// The artefact's spec string of a pod's allowed GPU models (`|`-separated; empty = any).
fn spec_string(pod: &PodRequest) -> String {
    pod.gpu_models.join("|")
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// (per-GPU milli, GPU count) of a request, as the artefact writes it.
fn milli_num(gpu: GpuRequest) -> (i64, i64) {
    match gpu {
        GpuRequest::None => (0, 0),
        GpuRequest::Whole(n) => (MILLI, i64::from(n)),
        GpuRequest::Shared(m) => (i64::from(m), 1),
    }
}

/// The id of `spec`'s GPU model in `models` (sorted names; a node without a model: `""`).
fn model_id(models: &[String], spec: &NodeSpec) -> usize {
    let m = spec.gpu_model.as_deref().unwrap_or("");
    models.binary_search_by(|x| x.as_str().cmp(m)).unwrap_or(0)
}

/// Whether `placement` can run on the cluster: the artefact's formulas model nodes of at
/// most 8 GPUs.
pub fn check_cluster(placement: Placement, spec: &ClusterSpec) -> Result<(), PlacementError> {
    if placement.is_default() {
        return Ok(());
    }
    match spec.nodes.iter().find(|n| n.gpus as usize > MAX_GPUS) {
        Some(n) => Err(PlacementError(format!(
            "{} models nodes of at most {MAX_GPUS} GPUs (the FGD artefact's), but node {:?} has {}",
            placement.name(),
            n.name,
            n.gpus
        ))),
        None => Ok(()),
    }
}

impl FgdPlacement {
    /// Set up `placement` for a cluster and workload; `None` for `default`. Refused when a
    /// node has more GPUs than the artefact's nodes (8).
    pub fn new(
        placement: Placement,
        spec: &ClusterSpec,
        workload: &Workload,
        target_pods: Option<&TargetPods>,
    ) -> Result<Option<FgdPlacement>, PlacementError> {
        let Some(policy) = placement.fgd_policy() else {
            return Ok(None);
        };
        check_cluster(placement, spec)?;
        let mut models: Vec<String> = spec
            .nodes
            .iter()
            .map(|n| n.gpu_model.clone().unwrap_or_default())
            .collect();
        models.sort();
        models.dedup();
        let from_workload = || -> Vec<(i64, i64, i64, String)> {
            workload
                .jobs
                .iter()
                .flat_map(|j| &j.pods)
                .map(|p| {
                    let (milli, num) = milli_num(p.gpu);
                    (to_i64(p.cpu_milli), milli, num, spec_string(p))
                })
                .collect()
        };
        let targets = match target_pods {
            Some(t) => t.targets(&models),
            None => {
                let pods = from_workload();
                Targets::from_requests(
                    pods.iter().map(|(c, m, n, s)| (*c, *m, *n, s.as_str())),
                    &models,
                )
            }
        };
        let node_models = spec
            .nodes
            .iter()
            .map(|n| model_id(&models, n) as u32)
            .collect();
        Ok(Some(FgdPlacement {
            policy,
            models,
            node_models,
            targets,
            memo: Mutex::new(HashMap::default()),
            by_id: Vec::new(),
            last: Mutex::new(None),
            random_gpu: false,
        }))
    }

    /// Know the pods' interned request shapes: `gang_pods[job_shape[j]][p]` is the shape
    /// id of pod `p` of job `j` of `workload` (ids numbered from 0 in order of first
    /// appearance), as the scheduling cycle passes them to [`FgdPlacement::score_at`].
    pub fn intern(&mut self, workload: &Workload, job_shape: &[u32], gang_pods: &[Vec<u32>]) {
        let mut by_id: Vec<Option<(Shape, u64)>> = Vec::new();
        for (j, &gang) in workload.jobs.iter().zip(job_shape) {
            let ids = gang_pods.get(gang as usize).map_or(&[][..], |v| &v[..]);
            for (pod, &id) in j.pods.iter().zip(ids) {
                let id = id as usize;
                if by_id.len() <= id {
                    by_id.resize_with(id + 1, || None);
                }
                if by_id[id].is_none() {
                    let shape = self.shape(pod);
                    let access = access_bits(&shape);
                    by_id[id] = Some((shape, access));
                }
            }
        }
        // Ids are dense when numbered in order of first appearance; a gap leaves the
        // table unused (the lock-guarded path then serves every pod).
        self.by_id = by_id
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
    }

    fn model_id(&self, spec: &NodeSpec) -> usize {
        model_id(&self.models, spec)
    }

    /// The model id of node `idx` of the cluster set up for, which is `spec`.
    fn model_at(&self, idx: usize, spec: &NodeSpec) -> usize {
        match self.node_models.get(idx) {
            Some(&m) => {
                debug_assert_eq!(m as usize, self.model_id(spec), "node {idx}");
                m as usize
            }
            None => self.model_id(spec),
        }
    }

    /// The artefact's view of a pod.
    pub fn shape(&self, pod: &PodRequest) -> Shape {
        let (milli, num) = milli_num(pod.gpu);
        Shape {
            cpu: to_i64(pod.cpu_milli),
            mem: to_i64(pod.memory_mib),
            milli,
            num,
            spec: spec_string(pod),
            access: self
                .models
                .iter()
                .map(|m| pod.gpu_models.is_empty() || pod.gpu_models.iter().any(|w| w == m))
                .collect(),
        }
    }

    /// The artefact's view of a node (at most 8 GPUs: checked by [`FgdPlacement::new`]).
    pub fn node(&self, spec: &NodeSpec, st: &NodeState) -> FgdNode {
        self.node_of(self.model_id(spec), spec, st)
    }

    /// [`FgdPlacement::node`] with the node's model id known.
    fn node_of(&self, model: usize, spec: &NodeSpec, st: &NodeState) -> FgdNode {
        let mut gpus = [0i64; MAX_GPUS];
        for (d, &f) in gpus.iter_mut().zip(&st.gpu_free) {
            *d = i64::from(f);
        }
        let mut tags = [0u32; MAX_GPUS + 1];
        if let Some(t) = st.gpu_tags.as_deref() {
            tags.copy_from_slice(&t.0);
        }
        FgdNode {
            cpu_left: to_i64(spec.cpu_milli.saturating_sub(st.cpu_used)),
            mem_left: to_i64(spec.memory_mib.saturating_sub(st.memory_used)),
            pods: st.pods,
            gpus,
            n_gpu: st.gpu_free.len().min(MAX_GPUS),
            model,
            tags,
        }
    }

    /// Run `f` on the artefact's view of `pod` (cached across calls for the same pod;
    /// `id`: its interned request shape, if known, compared instead of the request).
    fn with_shape<R>(
        &self,
        pod: &PodRequest,
        id: Option<u32>,
        f: impl FnOnce(&Shape, u64) -> R,
    ) -> R {
        if let Some((shape, access)) = id.and_then(|i| self.by_id.get(i as usize)) {
            return f(shape, *access);
        }
        // A poisoned lock only means another thread panicked mid-update of a pure cache.
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let hit = last.as_ref().is_some_and(|l| match id {
            Some(_) => l.id == id,
            None => l.id.is_none() && l.pod == *pod,
        });
        if !hit {
            let shape = self.shape(pod);
            let access = access_bits(&shape);
            *last = Some(LastPod {
                id,
                pod: pod.clone(),
                shape,
                access,
            });
        }
        match last.as_ref() {
            Some(l) => f(&l.shape, l.access),
            None => f(&self.shape(pod), 0),
        }
    }

    /// The policy's raw score of a feasible node (and FGD's GPU for a sharing pod).
    pub fn score(&self, pod: &PodRequest, spec: &NodeSpec, st: &NodeState) -> Score {
        self.score_with(pod, None, self.model_id(spec), spec, st)
    }

    /// [`FgdPlacement::score`] of node `idx` of the cluster set up for (`spec`) for a pod
    /// of interned request shape `shape` (if known).
    pub fn score_at(
        &self,
        pod: &PodRequest,
        shape: Option<u32>,
        idx: usize,
        spec: &NodeSpec,
        st: &NodeState,
    ) -> Score {
        self.score_with(pod, shape, self.model_at(idx, spec), spec, st)
    }

    fn score_with(
        &self,
        pod: &PodRequest,
        id: Option<u32>,
        model: usize,
        spec: &NodeSpec,
        st: &NodeState,
    ) -> Score {
        if self.policy == Policy::Random {
            // Random scores every feasible node 0 (`policy::score`).
            return Score {
                score: 0,
                gpu: u8::MAX,
            };
        }
        let n = self.node_of(model, spec, st);
        if self.policy != Policy::Fgd || self.models.len() > 64 {
            return self.with_shape(pod, id, |shape, _| {
                policy::score(self.policy, shape, &n, &self.targets)
            });
        }
        let (milli, num) = milli_num(pod.gpu);
        let mut g = [0u16; MAX_GPUS];
        for (d, &s) in g.iter_mut().zip(&st.gpu_free) {
            *d = s;
        }
        self.with_shape(pod, id, |shape, access| {
            let key = MemoKey {
                cpu: pod.cpu_milli,
                milli: milli as u32,
                num: num as u32,
                access,
                model: n.model as u32,
                cpu_left: n.cpu_left,
                gpus: g,
                n_gpu: n.n_gpu as u8,
            };
            let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
            if memo.len() >= MEMO_CAP {
                memo.clear();
            }
            *memo
                .entry(key)
                .or_insert_with(|| policy::score(self.policy, shape, &n, &self.targets))
        })
    }

    /// The artefact's Random GPU draw for a GPU-sharing pod placed on a node in state `st`
    /// (`random_gpu` on): among the GPUs with enough free milli, in index order, the k-th
    /// replaces the pick with probability 1/k (`chooser.choose(k) == 0`: reservoir
    /// sampling, the artefact's draw, one chooser call per fitting GPU). `None` otherwise.
    pub fn draw_gpu(
        &self,
        pod: &PodRequest,
        st: &NodeState,
        chooser: &mut sim_core::Chooser,
    ) -> Option<u8> {
        let GpuRequest::Shared(m) = pod.gpu else {
            return None;
        };
        if !self.random_gpu || self.policy != Policy::Random || st.gpu_free.len() > MAX_GPUS {
            return None;
        }
        let mut pick = None;
        let mut seen = 0;
        for (g, &free) in st.gpu_free.iter().enumerate() {
            if u32::from(free) >= m {
                seen += 1;
                if chooser.choose(seen) == 0 {
                    pick = Some(g as u8);
                }
            }
        }
        pick
    }

    /// Reserve: the GPUs the pod takes on `spec`'s node, chosen by
    /// [`policy::choose_gpus`] (Random's sharing pods: best fit); `None` if they do not fit.
    pub fn pick_gpus(&self, pod: &PodRequest, spec: &NodeSpec, st: &NodeState) -> Option<Vec<u8>> {
        self.pick_gpus_at(pod, None, None, spec, st)
    }

    /// [`FgdPlacement::pick_gpus`] on node `idx` (if known) of the cluster set up for.
    /// `shape`: the pod's interned request shape, if known.
    pub fn pick_gpus_at(
        &self,
        pod: &PodRequest,
        shape: Option<u32>,
        idx: Option<usize>,
        spec: &NodeSpec,
        st: &NodeState,
    ) -> Option<Vec<u8>> {
        if pod.gpu == GpuRequest::None {
            return Some(Vec::new());
        }
        let model = match idx {
            Some(i) => self.model_at(i, spec),
            None => self.model_id(spec),
        };
        let n = self.node_of(model, spec, st);
        let shape_id = shape;
        let pick = |shape: &Shape| {
            let s = if self.policy == Policy::Fgd && shape.is_share() {
                self.score_with(pod, shape_id, model, spec, st)
            } else {
                Score {
                    score: 0,
                    gpu: u8::MAX,
                }
            };
            policy::choose_gpus(self.policy, shape, &n, s)
                .unwrap_or_else(|| crate::fgd::cluster::best_fit_gpus(shape, &n))
        };
        let gpus = match shape_id.and_then(|i| self.by_id.get(i as usize)) {
            Some((shape, _)) => pick(shape),
            None => pick(&self.shape(pod)),
        };
        let want = match pod.gpu {
            GpuRequest::Whole(k) => k as usize,
            _ => 1,
        };
        (gpus.len() == want).then(|| gpus.into_iter().map(|g| g as u8).collect())
    }
}

/// The Score plugin of an FGD-family placement. BestFit normalises over the feasible nodes
/// (`NormalizeScore`); the others score each node on its own.
#[derive(Debug)]
pub struct FgdScore(pub std::sync::Arc<FgdPlacement>);

impl ScorePlugin for FgdScore {
    fn name(&self) -> &'static str {
        match self.0.policy {
            Policy::Random => "FGD/Random",
            Policy::DotProd => "FGD/DotProd",
            Policy::GpuClustering => "FGD/GpuClustering",
            Policy::GpuPacking => "FGD/GpuPacking",
            Policy::BestFit => "FGD/BestFit",
            Policy::Fgd => "FGD/FGDScore",
        }
    }
    fn score(&self, pod: &PodRequest, spec: &NodeSpec, st: &NodeState) -> i64 {
        self.0.score(pod, spec, st).score
    }
    fn score_node(
        &self,
        pod: &PodRequest,
        shape: Option<u32>,
        idx: usize,
        spec: &NodeSpec,
        st: &NodeState,
    ) -> i64 {
        self.0.score_at(pod, shape, idx, spec, st).score
    }
    fn normalize(&self, scores: &mut [i64]) {
        if self.0.policy != Policy::BestFit {
            return;
        }
        let (Some(&lo), Some(&hi)) = (scores.iter().min(), scores.iter().max()) else {
            return;
        };
        for s in scores.iter_mut() {
            *s = policy::normalize(*s, lo, hi);
        }
    }
    fn normalizes(&self) -> bool {
        self.0.policy == Policy::BestFit
    }
    /// BestFit's `(raw - lo) * 100 / (hi - lo)` is 100 exactly at `raw == hi` and below
    /// 100 for every `lo <= raw < hi` (all 0 when `hi == lo`): the best nodes are those of
    /// the best raw score.
    fn normalize_keeps_best(&self) -> bool {
        true
    }
}

/// Put an FGD-family placement into a profile: its Score plugin replaces the policy's
/// scorers (the artefact's profiles enable one score plugin), and with the adaptive
/// `percentage_of_nodes_to_score` (0) every feasible node is scored, as in the artefact.
pub fn install(profile: &mut Profile, placement: std::sync::Arc<FgdPlacement>) {
    profile.scorers = vec![(Box::new(FgdScore(placement)), 1)];
    if profile.percentage_of_nodes_to_score == 0 {
        profile.percentage_of_nodes_to_score = 100;
    }
}

/// Set up `config.placement` for a run and put its plugin into `profile` (nothing for
/// `default`).
pub fn setup(
    profile: &mut Profile,
    config: &super::SchedulerConfig,
    spec: &ClusterSpec,
    workload: &Workload,
    job_shape: &[u32],
    gang_pods: &[Vec<u32>],
) -> Result<Option<std::sync::Arc<FgdPlacement>>, crate::sim::ModelError> {
    let p = FgdPlacement::new(
        config.placement,
        spec,
        workload,
        config.fgd_target_pods.as_ref(),
    )
    .map_err(|e| crate::sim::ModelError::Config {
        field: "placement".into(),
        msg: e.0,
    })?
    .map(|mut p| {
        p.random_gpu = config.fgd_random_gpu;
        p.intern(workload, job_shape, gang_pods);
        std::sync::Arc::new(p)
    });
    if let Some(p) = &p {
        install(profile, p.clone());
    }
    Ok(p)
}
