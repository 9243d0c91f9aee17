//! The cluster model on the engine: jobs arrive, their pods queue, a policy admits and
//! places them, gangs run when complete and release their resources when done.
//!
//! Everything that changes during a run lives in `SimState`, which is plain data (clone,
//! compare, hash). The configuration (cluster, workload) is read-only. The scheduling
//! policy is a plugin ([`policy::Policy`], one file per policy, chosen from a
//! [`policy::Registry`]) called at kube-scheduler's extension points; see `ARCHITECTURE.md`.

mod abstract_state;
mod autoscaler;
pub use abstract_state::JobSymmetry;
pub use explore::RuntimeSnapshot;
mod deletion;
mod detect;
mod dra;
mod explore;
mod faults;
pub mod jobs;
mod network;
mod parts;
pub mod podlog;
pub mod policy;
mod ray;
mod result;
mod serving;
mod slots;
pub mod training;

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sim_core::{
    Chooser, ChooserMode, Ctx, Model, RngStreams, SimDuration, SimTime, Simulation, StopAt,
    TimerSlot,
};

use crate::cluster::ClusterSpec;
use crate::resources::PodRequest;
use crate::scheduler::{Profile, SchedulerConfig, Scratch};
use crate::state::{ClusterState, Placement};
use crate::workload::Workload;

pub use autoscaler::{
    AutoscaledPool, AutoscalerConfig, AutoscalerResult, AutoscalerState, CaEvent, CaRecord,
    NodeCount,
};
pub use deletion::{JobDeletion, NO_RUN_TIME};
pub use detect::{DeadlockRecord, DetectConfig, DetectState, StarvedKind, StarvedRecord};
pub use dra::{DraConfig, DraInvariant, DraObjects, DraSource, DraState, DraViolation};
pub use faults::{
    Checkpoint, FaultConfig, FaultState, JobFaults, NodeAction, NodeEvent, NodeEventSpec,
    SeededFaults,
};
pub use network::{DatasetScope, NetModel, NetSample, StagingSpec};
pub use parts::{Part, PartEvent, PartEventSpec};
/// KEP-4671's fixed per-group Permit deadline (for tests comparing against upstream).
pub use policy::K8S_GANG_TIMEOUT;
pub use policy::KueueState;
use policy::{Policy, PolicyState, PolicyTimer, Queueing, Registry};
pub use ray::{
    RayClusterConfig, RayConfig, RayEvent, RayKind, RayRecord, RayReport, RayTaskGroup,
    RayWorkerGroup,
};
pub use result::{FaultReport, JobRecord, NetJobRecord, Outcome, RunResult};
pub use serving::{ServingConfig, ServingEvent};

/// How the pods of jobs submitted at the same instant reach the scheduling queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PodOrder {
    /// All pods of one job, then the next job's (input order). Default.
    #[default]
    Grouped,
    /// Round-robin across the jobs (A1, B1, A2, B2, …), as when a job controller creates
    /// the pods of several jobs concurrently.
    Interleaved,
    /// An order chosen by the seeded `Chooser` (a choice point for the verifier): each
    /// next pod comes from a job chosen among those with pods left, a job's own pods in
    /// order (they are interchangeable), as when job controllers race.
    Random,
}

/// Everything about a run that is not the cluster or the workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub seed: u64,
    pub horizon: Option<SimDuration>,
    pub scheduler: SchedulerConfig,
    pub pod_order: PodOrder,
    pub chooser: ChooserMode,
    /// Check allocation invariants after every instant (slow; for tests). The pod log then
    /// also looks at every job and node at every instant instead of only the touched ones
    /// (same log: tested in `models/tests/property.rs`).
    pub check_invariants: bool,
    /// Network and storage model for step-based jobs; `None` (default): jobs run for their
    /// trace duration.
    pub network: Option<NetModel>,
    /// Deadlock, livelock and starvation detection.
    pub detect: DetectConfig,
    /// Verifier's symmetry reduction: tied interchangeable nodes count as one choice.
    pub reduce_symmetry: bool,
    /// Dynamic Resource Allocation: pods' accelerators as ResourceClaims (see
    /// `docs/dra.md`); `None` (default): plain `nvidia.com/gpu` counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dra: Option<DraConfig>,
    /// Node events, seeded failures and checkpoints (see `faults`); `None` (default): no
    /// faults, and the outputs carry no fault columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultConfig>,
    /// The cluster autoscaler on autoscaled node pools (see `autoscaler.rs`); `None`
    /// (default): every node is present for the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<AutoscalerConfig>,
    /// Inference services, traffic, Gateway routes and metrics (see `serving.rs`);
    /// `None` (default): none, and no serving outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<ServingConfig>,
    /// Autoscaled KubeRay clusters and jobs (see `ray.rs`); `None` (default): none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ray: Option<RayConfig>,
    /// Keep the pod log (`pods.csv`, `events.csv`; see `podlog`): every pod's intervals
    /// with the scheduler's reasons, and Kubernetes-style events. Off by default; it does
    /// not change the run.
    #[serde(default)]
    pub pod_log: bool,
    /// Jobs deleted at a time (`deletion.rs`); empty (default): none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deletions: Vec<JobDeletion>,
    /// Training jobs whose run time comes from their placement (`training.rs`, issue 19);
    /// `None` (default): every job runs for its duration. A scenario builds it from its
    /// traces' application profiles; absent from serialized configs without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<std::sync::Arc<training::TrainingConfig>>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seed: 42,
            horizon: None,
            scheduler: SchedulerConfig::default(),
            pod_order: PodOrder::Grouped,
            chooser: ChooserMode::Seeded,
            check_invariants: false,
            network: None,
            detect: DetectConfig::default(),
            reduce_symmetry: false,
            dra: None,
            faults: None,
            autoscaler: None,
            serving: None,
            ray: None,
            pod_log: false,
            deletions: Vec::new(),
            training: None,
        }
    }
}

/// A job names a queue (Kueue ClusterQueue or Volcano queue) that `field` does not define.
pub(crate) fn unknown_queue<'a>(
    field: &str,
    job: &str,
    queue: &str,
    defined: impl Iterator<Item = &'a str>,
) -> ModelError {
    ModelError::Config {
        field: field.into(),
        msg: format!(
            "job {job:?} names queue {queue:?}, which is not defined (queues: {})",
            defined.collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Errors found before the run starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error(
        "job {job:?} pod {pod}: requests {request} but no node could ever hold it (largest node: {largest})"
    )]
    PodLargerThanAnyNode {
        job: String,
        pod: usize,
        request: String,
        largest: String,
    },
    #[error(
        "job {job:?} needs {gpus} GPUs (or more CPU/memory) in total but the whole cluster has {cluster_gpus}: it could never run"
    )]
    JobLargerThanCluster {
        job: String,
        gpus: String,
        cluster_gpus: String,
    },
    #[error("job {job:?} has no pods")]
    EmptyJob { job: String },
    #[error("duplicate job id {0:?}")]
    DuplicateJob(String),
    #[error("the cluster has no nodes")]
    NoNodes,
    #[error("scheduler.{field}: {msg}")]
    Config { field: String, msg: String },
    /// DRA set-up: manifests, claim templates, claims that can never be allocated.
    #[error("dra: {0}")]
    Dra(String),
    /// The `faults:` section (node events, seeded failures, checkpoints).
    #[error("faults.{field}: {msg}")]
    Faults { field: String, msg: String },
}

/// Engine events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    Submit(u32),
    Complete {
        job: u32,
        generation: u32,
    },
    /// A timer the policy set (a Permit deadline, Kueue's `waitForPodsReady` timeout or
    /// requeue, a Volcano session, a Tiresias demotion or round, …).
    Timer(PolicyTimer),
    /// kube-scheduler's unschedulable-pods flush: pods parked by a gang rejection are
    /// retried at the next resource release or, at the latest, after 5 minutes.
    Flush,
    /// Network model: the earliest finite flow (dataset staging) completes.
    NetFlows,
    /// A node lifecycle event: cordon, drain, failure, recovery (see `faults`).
    Node(faults::NodeEvent),
    /// A GPU or link failure or recovery (see `parts`).
    Part(parts::PartEvent),
    /// The cluster autoscaler (`autoscaler.rs`).
    Autoscaler(CaEvent),
    /// Inference services, HPA, traffic and scrapes (`serving.rs`).
    Serving(ServingEvent),
    /// Autoscaled Ray clusters (`ray.rs`).
    Ray(RayEvent),
    /// A job deleted at a listed time (`deletion.rs`).
    Delete(u32),
    /// A scheduling round (`scheduler.scheduling_interval`): the policy's pass runs.
    Round,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    /// Assumed on a node (holding its resources), waiting at Permit for its gang.
    Waiting,
    Bound,
}

/// A job's pods' states: inline for a one-pod job, on the heap for a gang.
pub type PodStates = smallvec::SmallVec<[PodState; 1]>;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PodState {
    pub phase: PodPhase,
    pub placement: Option<Placement>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobPhase {
    NotSubmitted,
    /// Submitted; some pods may hold resources while others wait.
    Waiting,
    Running,
    Completed {
        end: SimTime,
    },
}

/// A job's attained service, milli-GPU × ns, as a `u128` stored in two `u64` words: a
/// `u128` field would align [`JobState`] (a million of them in a large run) to 16 bytes.
/// Hashes, serialises, compares and prints as the `u128` it holds.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Attained([u64; 2]);

impl Attained {
    pub const ZERO: Attained = Attained([0; 2]);

    pub fn get(self) -> u128 {
        (u128::from(self.0[1]) << 64) | u128::from(self.0[0])
    }

    pub fn set(&mut self, v: u128) {
        self.0 = [v as u64, (v >> 64) as u64];
    }

    /// Add `v` (saturating at `u128::MAX`, which no run reaches).
    pub fn add(&mut self, v: u128) {
        self.set(self.get().saturating_add(v));
    }
}

impl std::fmt::Debug for Attained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.get(), f)
    }
}

impl std::hash::Hash for Attained {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.get().hash(state);
    }
}

impl Serialize for Attained {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u128(self.get())
    }
}

impl<'de> Deserialize<'de> for Attained {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut a = Attained::ZERO;
        a.set(u128::deserialize(d)?);
        Ok(a)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobState {
    pub phase: JobPhase,
    pub pods: PodStates,
    /// Pods holding resources (waiting at Permit or bound).
    pub assumed: u32,
    pub bound: u32,
    pub nodes_at_start: u32,
    pub first_start: Option<SimTime>,
    /// Run time still needed.
    pub remaining: SimDuration,
    /// Start of the current run segment.
    pub run_since: Option<SimTime>,
    /// Attained service in milli-GPU × ns (GPU-time received; Tiresias orders by it).
    pub attained: Attained,
    /// Bumped whenever the job is started, stopped or its gang released: invalidates timers.
    pub generation: u32,
    pub completion: TimerSlot,
    /// Job-level queue position (arrival, or last requeue/demotion).
    pub queue_ts: SimTime,
    pub queue_seq: u64,
    /// Pending gang deadline (Coscheduling, KEP-4671).
    pub permit_deadline: TimerSlot,
    /// Kueue: quota reserved.
    pub admitted: bool,
    pub requeues: u32,
    pub deactivated: bool,
    pub evictions: u32,
}

/// A queued item. Ordered as kube's PrioritySort: higher priority first, then the queue
/// timestamp, then arrival sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueKey {
    pub neg_priority: i64,
    pub ts: SimTime,
    pub seq: u64,
    pub job: u32,
    pub pod: u32,
}

/// Time integrals of allocated and busy GPU thousandths (milli-GPU × ns).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Usage {
    pub last: SimTime,
    pub allocated_milli: u64,
    pub busy_milli: u64,
    pub allocated_integral: u128,
    pub busy_integral: u128,
}

impl Usage {
    fn advance(&mut self, now: SimTime) {
        let dt = u128::from(now.since(self.last).as_nanos());
        self.allocated_integral += u128::from(self.allocated_milli) * dt;
        self.busy_integral += u128::from(self.busy_milli) * dt;
        self.last = now;
    }
}

/// The mutable state of a run. Plain data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SimState {
    pub cluster: ClusterState,
    pub jobs: jobs::Jobs,
    /// Pods waiting for kube-scheduler (pod-level policies).
    pub pod_queue: BTreeSet<QueueKey>,
    /// Jobs waiting for admission or gang placement (job-level policies, Kueue).
    pub job_queue: BTreeSet<QueueKey>,
    /// Jobs that arrived during the current instant, not yet queued.
    pub arrivals: Vec<u32>,
    /// Pod-queue entries added since the last scan.
    pub fresh: Vec<QueueKey>,
    /// Resources were released since the last scan: every queued item must be retried.
    pub rescan: bool,
    /// Something changed that job-level policies must react to.
    pub job_dirty: bool,
    /// Job-queue entries added since the last pass.
    pub fresh_jobs: Vec<QueueKey>,
    /// Jobs currently running.
    pub running: BTreeSet<u32>,
    pub next_seq: u64,
    /// kube-scheduler's `nextStartNodeIndex`.
    pub next_start_node: usize,
    pub usage: Usage,
    pub first_submit: Option<SimTime>,
    /// Jobs submitted so far.
    pub submitted: u32,
    pub preemptions: u64,
    pub kueue: KueueState,
    pub session_scheduled: bool,
    pub flush_scheduled: bool,
    /// Pods were released by a gang rejection during the last pass.
    pub retry_after_backoff: bool,
    pub detect: DetectState,
    /// What the policy keeps between hooks (see `policy::PolicyState`).
    #[serde(skip)]
    pub policy: PolicyState,
    /// DRA's claims and their allocations (when DRA is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dra: Option<DraState>,
    /// Fault accounting (when the run has faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultState>,
    /// The cluster autoscaler's state (when node pools autoscale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<AutoscalerState>,
    /// Training jobs' progress (when the run has training jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<training::TrainingState>,
    /// A round of `scheduler.scheduling_interval` is set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub round_set: bool,
}

/// The model: read-only configuration plus `SimState`.
#[derive(Debug)]
pub struct ClusterSim {
    pub spec: ClusterSpec,
    pub workload: Workload,
    pub config: SchedulerConfig,
    pub pod_order: PodOrder,
    pub check_invariants: bool,
    pub detect: DetectConfig,
    profile: Profile,
    /// FGD-family placement (`scheduler.placement`): its GPU choice at Reserve.
    fgd: Option<std::sync::Arc<crate::scheduler::fgd::FgdPlacement>>,
    /// (job, pod, node, GPU): a GPU the FGD placement drew with the pod's node, for its
    /// Reserve (the artefact's Random; `FgdPlacement::draw_gpu`). Lives for one cycle.
    fgd_drawn: Option<(u32, u32, u32, u8)>,
    /// Interned gang shapes per job, and each gang shape's pod shapes (stored once per
    /// distinct gang, not per job), for the per-scan memo of requests already known not
    /// to fit; see [`ClusterSim::pod_shape`].
    job_shape: Vec<u32>,
    gang_pods: Vec<Vec<u32>>,
    /// The scheduling policy (immutable; its state is `state.policy`).
    policy: Arc<dyn Policy>,
    /// Node index ranges of each rack, for topology-aware gang placement.
    racks: Vec<Range<usize>>,
    scratch: Scratch,
    pub state: SimState,
    /// The network model's run-time state (when enabled).
    pub net: Option<network::NetRuntime>,
    pub invariant_violation: Option<String>,
    /// Training jobs (when the run has them) and a placement their profile cannot price.
    training: Option<training::TrainingRuntime>,
    pub training_error: Option<String>,
    /// The policy resizes jobs (`Policy::elastic`): a job runs on the pods it was given,
    /// not on all of them.
    elastic: bool,
    /// The DynamicResources plugin (when DRA is on).
    dra: Option<dra::DraRuntime>,
    pub dra_violation: Option<DraViolation>,
    /// The no-progress guard stopped the run: when and why (see `trip_guard`).
    pub guard: Option<(SimTime, String)>,
    /// Events handled at the current instant (the no-progress guard's per-instant budget).
    instant_events: (SimTime, u64),
    /// The guard's per-instant event budget (crate-visible so tests can lower it).
    pub(crate) instant_budget: u64,
    /// Node events and seeded failures (when the run has faults).
    faults: Option<faults::FaultRuntime>,
    /// The cluster autoscaler's configuration and report (when node pools autoscale).
    autoscaler: Option<autoscaler::AutoscalerRuntime>,
    /// Inference services (when the run has some).
    serving: Option<Box<serving::ServingRuntime>>,
    /// Autoscaled Ray clusters (when the run has some).
    ray: Option<Box<ray::RayRuntime>>,
    /// The pod log (when `RunConfig::pod_log`).
    pub(crate) podlog: Option<Box<podlog::PodLog>>,
    /// Jobs deleted at a time: (time, job), see `deletion.rs`.
    deletions: Vec<(SimTime, u32)>,
}

impl ClusterSim {
    pub fn new(
        spec: ClusterSpec,
        workload: Workload,
        config: &RunConfig,
    ) -> Result<ClusterSim, ModelError> {
        Self::with_registry(spec, workload, config, &Registry::builtin())
    }

    /// As [`ClusterSim::new`], with `config.scheduler.policy` looked up in `registry`
    /// (the built-ins plus any a program registered).
    pub fn with_registry(
        spec: ClusterSpec,
        mut workload: Workload,
        config: &RunConfig,
        registry: &Registry,
    ) -> Result<ClusterSim, ModelError> {
        // With services and no nodes (routing alone, replicas that are never placed) the
        // run goes on; otherwise a cluster needs nodes (checked again below, once the
        // replica slots are in the workload).
        if spec.nodes.is_empty() && config.serving.is_none() {
            return Err(ModelError::NoNodes);
        }
        let dra = config
            .dra
            .as_ref()
            .map(|c| dra::DraRuntime::new(c, &spec, &workload))
            .transpose()?;
        // Request shapes over the requests as written (in manifests mode the GPU count
        // chooses the claim template, so it stays part of the shape).
        let written = match &config.dra {
            Some(DraConfig {
                source: DraSource::Manifests(_),
            }) => {
                let w = workload.clone();
                dra::strip_gpu_requests(&mut workload);
                Some(w)
            }
            _ => None,
        };
        let serving_first = config
            .serving
            .as_ref()
            .map(|c| serving::prepare(c, config, &mut workload))
            .transpose()?;
        let ray_slots = config
            .ray
            .as_ref()
            .map(|c| ray::prepare(c, config, &mut workload))
            .transpose()?;
        if spec.nodes.is_empty() && !workload.jobs.is_empty() {
            return Err(ModelError::NoNodes);
        }
        // An elastic policy's jobs get their replicas before anything is checked: the
        // trace's replica count does not bound them (the cluster does). A policy that does
        // not build is reported by the build below.
        let elastic = config.training.is_some()
            && registry
                .build(&config.scheduler, &spec, &workload)
                .is_ok_and(|p| p.elastic());
        if elastic {
            for (on, field) in [
                (config.dra.is_some(), "dra"),
                (config.autoscaler.is_some(), "autoscaler"),
            ] {
                if on {
                    return Err(ModelError::Config {
                        field: "policy".into(),
                        msg: format!(
                            "the {} policy together with {field} is not modelled",
                            config.scheduler.policy.name()
                        ),
                    });
                }
            }
            training::expand_elastic(
                &mut workload,
                config.training.as_deref(),
                &spec,
                config.scheduler.policy.name(),
            )?;
        }
        validate(&spec, &workload)?;
        let deletions = deletion::resolve(&config.deletions, &workload)?;
        if let Some(rt) = &dra {
            rt.validate_claims(&spec)?;
        }
        let policy = registry.build(&config.scheduler, &spec, &workload)?;
        if policy.elastic() && !elastic {
            // No training jobs: the error says what an elastic policy needs.
            training::expand_elastic(&mut workload, None, &spec, policy.name())?;
        }
        let kueue_names = policy.queue_names_are_kueue(&config.scheduler);
        let kueue =
            policy::KueueState::new(&config.scheduler.kueue, &spec, &workload, kueue_names)?;
        let net = config
            .network
            .as_ref()
            .map(|n| network::NetRuntime::new(n, &spec))
            .transpose()?;
        // Ids in order of first appearance; the maps are only looked up, never iterated.
        type Ids<K> =
            std::collections::HashMap<K, u32, std::hash::BuildHasherDefault<crate::fgd::FxHasher>>;
        let mut pod_ids: Ids<&PodRequest> = Ids::default();
        let mut job_ids: Ids<Vec<u32>> = Ids::default();
        let mut job_shape = Vec::with_capacity(workload.jobs.len());
        let mut gang_pods: Vec<Vec<u32>> = Vec::new();
        let mut shapes: Vec<u32> = Vec::new();
        for j in &written.as_ref().unwrap_or(&workload).jobs {
            shapes.clear();
            shapes.extend(j.pods.iter().map(|p| {
                let n = pod_ids.len() as u32;
                *pod_ids.entry(p).or_insert(n)
            }));
            let id = match job_ids.get(&shapes) {
                Some(&id) => id,
                None => {
                    let id = gang_pods.len() as u32;
                    job_ids.insert(shapes.clone(), id);
                    gang_pods.push(shapes.clone());
                    id
                }
            };
            job_shape.push(id);
        }
        let jobs: jobs::Jobs = workload
            .jobs
            .iter()
            .map(|j| JobState {
                phase: JobPhase::NotSubmitted,
                pods: PodStates::from_elem(
                    PodState {
                        phase: PodPhase::Pending,
                        placement: None,
                    },
                    j.pods.len(),
                ),
                assumed: 0,
                bound: 0,
                nodes_at_start: 0,
                first_start: None,
                remaining: j.duration,
                run_since: None,
                attained: Attained::ZERO,
                generation: 0,
                completion: TimerSlot::NONE,
                queue_ts: j.submit,
                queue_seq: 0,
                permit_deadline: TimerSlot::NONE,
                admitted: false,
                requeues: 0,
                deactivated: false,
                evictions: 0,
            })
            .collect();
        let mut racks: Vec<Range<usize>> = Vec::new();
        for (i, n) in spec.nodes.iter().enumerate() {
            match racks.last_mut() {
                Some(r) if spec.nodes[r.start].rack == n.rack => r.end = i + 1,
                _ => racks.push(i..i + 1),
            }
        }
        let (training_rt, training_state) = match &config.training {
            Some(c) => {
                for (on, field) in [
                    (config.network.is_some(), "network"),
                    (config.faults.is_some(), "faults"),
                    (config.serving.is_some(), "services"),
                ] {
                    if on {
                        return Err(ModelError::Config {
                            field: "training".into(),
                            msg: format!("training jobs together with {field} are not modelled"),
                        });
                    }
                }
                let (rt, st) = training::TrainingRuntime::new(c, &workload)?;
                (Some(rt), Some(st))
            }
            None => (None, None),
        };
        let mut cluster = ClusterState::new(&spec);
        if config.autoscaler.is_some() && config.dra.is_some() {
            return Err(ModelError::Config {
                field: "autoscaler".into(),
                msg: "the cluster autoscaler together with dra is not modelled".into(),
            });
        }
        let (autoscaler, autoscaler_state) = match &config.autoscaler {
            Some(c) => {
                let (rt, st) = autoscaler::AutoscalerRuntime::new(c, &spec, &mut cluster)?;
                (Some(rt), Some(st))
            }
            None => (None, None),
        };
        let state = SimState {
            cluster,
            jobs,
            pod_queue: BTreeSet::new(),
            job_queue: BTreeSet::new(),
            arrivals: Vec::new(),
            fresh: Vec::new(),
            rescan: false,
            job_dirty: false,
            fresh_jobs: Vec::new(),
            running: BTreeSet::new(),
            next_seq: 0,
            next_start_node: 0,
            usage: Usage::default(),
            first_submit: None,
            submitted: 0,
            preemptions: 0,
            kueue,
            session_scheduled: false,
            flush_scheduled: false,
            retry_after_backoff: false,
            detect: DetectState::default(),
            policy: PolicyState::empty(),
            dra: dra.as_ref().map(|_| DraState::default()),
            faults: None,
            autoscaler: autoscaler_state,
            training: training_state,
            round_set: false,
        };
        let mut profile = policy.profile(&config.scheduler);
        profile.merge_identical_nodes = config.reduce_symmetry;
        let fgd = crate::scheduler::fgd::setup(
            &mut profile,
            &config.scheduler,
            &spec,
            &workload,
            &job_shape,
            &gang_pods,
        )?;
        let mut state = state;
        if fgd.is_some() {
            state.cluster.track_gpu_kinds();
        }
        let workload_pods: u64 = workload.jobs.iter().map(|j| j.pods.len() as u64).sum();
        let mut sim = ClusterSim {
            profile,
            fgd,
            fgd_drawn: None,
            config: config.scheduler.clone(),
            pod_order: config.pod_order,
            check_invariants: config.check_invariants,
            detect: config.detect.clone(),
            spec,
            workload,
            job_shape,
            gang_pods,
            policy,
            racks,
            scratch: Scratch::default(),
            state,
            net,
            invariant_violation: None,
            training: training_rt,
            training_error: None,
            elastic,
            dra,
            dra_violation: None,
            guard: None,
            instant_events: (SimTime::ZERO, 0),
            instant_budget: {
                let pods: u64 = workload_pods;
                pods.saturating_mul(64).saturating_add(1_000_000)
            },
            faults: None,
            autoscaler,
            serving: match (&config.serving, serving_first) {
                (Some(c), Some(first)) => Some(Box::new(serving::ServingRuntime::new(
                    c,
                    first,
                    config.seed,
                ))),
                _ => None,
            },
            ray: match (&config.ray, ray_slots) {
                (Some(c), Some((first, heads))) => {
                    Some(Box::new(ray::RayRuntime::new(c, first, &heads)))
                }
                _ => None,
            },
            podlog: None,
            deletions,
        };
        sim.state.policy = sim.policy.initial_state(&sim);
        if let Some(every) = sim.policy.adapts_batch() {
            sim.set_adaptive(every);
        }
        if config.pod_log {
            sim.podlog = Some(Box::new(podlog::PodLog::new(&sim)));
            // The log looks again only at the jobs and nodes touched since its last look;
            // with invariant checks on (tests), at every job and node at every instant:
            // the reference the incremental look is tested against.
            if !config.check_invariants {
                sim.state.jobs.track_touched();
                sim.scratch.track_touched(sim.state.cluster.nodes.len());
            }
        }
        // Preempted jobs restart as after a fault (from zero without checkpoints).
        let preempts = config.serving.as_ref().is_some_and(|c| {
            c.services
                .iter()
                .any(|s| s.on_no_capacity == crate::platform::OnNoCapacity::Preempt)
        });
        let implied = (config.faults.is_none() && preempts).then(FaultConfig::default);
        if let Some(fc) = config.faults.as_ref().or(implied.as_ref()) {
            sim.faults = Some(faults::FaultRuntime::new(
                fc,
                &sim,
                config.seed,
                config.horizon,
            )?);
            sim.state.faults = Some(FaultState {
                jobs: vec![JobFaults::default(); sim.workload.jobs.len()],
                ..FaultState::default()
            });
        }
        Ok(sim)
    }

    /// How many times a node changed (gained or lost a pod, changed condition, lost or
    /// regained a GPU) so far: equal counts mean no node changed in between.
    pub fn node_changes(&self) -> u64 {
        self.scratch.changes()
    }

    /// The interned request shape of pod `pod` of job `job`.
    pub(crate) fn pod_shape(&self, job: u32, pod: u32) -> u32 {
        self.gang_pods[self.job_shape[job as usize] as usize][pod as usize]
    }

    /// The run's scheduling policy.
    pub fn policy(&self) -> &dyn Policy {
        self.policy.as_ref()
    }

    /// Put the run back to `state` (a clone of `self.state` taken earlier in this run or
    /// another run of the same inputs), e.g. to continue from a verifier snapshot. The
    /// per-node score memo is dropped: it describes the nodes as they were. Not for runs
    /// with the network model, whose run-time state is not part of `SimState`.
    pub fn restore_state(&mut self, state: SimState, invariant_violation: Option<String>) {
        self.state = state;
        if self.podlog.is_some() && !self.check_invariants {
            // Every job's state was replaced.
            self.state.jobs.track_touched();
        }
        self.invariant_violation = invariant_violation;
        // Snapshots are taken only while no training job failed to price (the run stops).
        self.training_error = None;
        // Snapshots are taken only while no DRA invariant is broken (the run stops there).
        self.dra_violation = None;
        self.guard = None;
        self.instant_events = (SimTime::ZERO, 0);
        self.scratch.clear();
    }

    /// Before the run: make `job` a running job whose pods are already bound, pod `i` on
    /// node index `nodes[i]`, as if an earlier scheduling pass had placed it. For tests
    /// that start from a cluster with running pods (the fidelity suite's upstream cases).
    /// The job is never queued and no completion is scheduled for it (it runs until the
    /// run ends), so the caller must not also schedule its `Submit`. Refused, with nothing
    /// left placed, for a job that was submitted already, a wrong number of nodes, an
    /// unknown node, or a pod that does not fit where it is put.
    pub fn start_preplaced(&mut self, job: u32, nodes: &[u32]) -> Result<(), String> {
        let Some(spec) = self.workload.jobs.get(job as usize) else {
            return Err(format!("no job {job}"));
        };
        if self.state.jobs[job as usize].phase != JobPhase::NotSubmitted {
            return Err(format!("job {:?} was submitted already", spec.id));
        }
        if nodes.len() != spec.pods.len() {
            return Err(format!(
                "job {:?} has {} pods but {} nodes were given",
                spec.id,
                spec.pods.len(),
                nodes.len()
            ));
        }
        // Check every pod against the nodes as they fill, before changing anything.
        let mut trial = self.state.cluster.clone();
        for (p, &n) in nodes.iter().enumerate() {
            let (Some(ns), Some(st)) =
                (self.spec.nodes.get(n as usize), trial.nodes.get(n as usize))
            else {
                return Err(format!("job {:?} pod {p}: no node {n}", spec.id));
            };
            let req = &spec.pods[p];
            st.fits(ns, req).map_err(|m| {
                format!(
                    "job {:?} pod {p} does not fit on {}: {m:?}",
                    spec.id, ns.name
                )
            })?;
            let gpus = st
                .pick_gpus(req.gpu)
                .ok_or_else(|| format!("job {:?} pod {p}: no GPUs on {}", spec.id, ns.name))?;
            trial.bind(n, req, &gpus);
        }
        for (p, &n) in nodes.iter().enumerate() {
            self.assume(job, p as u32, n, PodPhase::Bound);
            // Reserve can still refuse (DRA claims): give back what was taken.
            if let Some(v) = self.invariant_violation.take() {
                for q in 0..p as u32 {
                    self.release(job, q);
                }
                return Err(v);
            }
        }
        let milli = self.workload.jobs[job as usize].gpu_milli();
        let distinct: BTreeSet<u32> = nodes.iter().copied().collect();
        let js = &mut self.state.jobs[job as usize];
        js.phase = JobPhase::Running;
        js.first_start = Some(SimTime::ZERO);
        js.run_since = Some(SimTime::ZERO);
        js.nodes_at_start = distinct.len() as u32;
        self.state.running.insert(job);
        self.state.submitted += 1;
        self.state.usage.busy_milli += milli;
        self.state.usage.allocated_milli = self.state.cluster.gpu_milli_allocated;
        self.track_holding(job);
        Ok(())
    }

    /// The no-progress guard: stop the run, recording why. Every caller of the model (run,
    /// verify) sees the engine stop and `guard` set; the result reports stop `no_progress`.
    pub(crate) fn trip_guard(&mut self, now: SimTime, why: String, ctx: &mut Ctx<'_, Event>) {
        if self.guard.is_none() {
            self.guard = Some((now, why));
        }
        ctx.stop();
    }

    /// Most events one instant may take before the guard calls it a livelock at one
    /// instant (time would never advance).
    fn instant_event_budget(&self) -> u64 {
        self.instant_budget
    }

    /// Nothing can progress any more: nothing runs, nothing is left to arrive, and gangs
    /// have been reserved and released over and over (livelock) with no job completing.
    /// `run` checks it whenever an instant closes with events still pending (the verifier
    /// bounds its schedules itself and keeps exploring such cycles to report them).
    fn no_progress(&self) -> Option<String> {
        if self.state.detect.releases.is_empty()
            || !self.state.running.is_empty()
            || (self.state.submitted as usize) < self.workload.jobs.len()
            || faults::nodes_returning(self)
        {
            return None;
        }
        let waiting = self
            .state
            .jobs
            .iter()
            .filter(|j| j.phase == JobPhase::Waiting && !j.deactivated)
            .count() as u64;
        if waiting == 0 {
            return None;
        }
        let per_job = u64::from(if self.detect.livelock_releases > 0 {
            self.detect.livelock_releases
        } else {
            10
        });
        let releases: u64 = self
            .state
            .detect
            .releases
            .values()
            .map(|&n| u64::from(n))
            .sum();
        (releases >= per_job.saturating_mul(waiting)).then(|| {
            format!(
                "no progress: {releases} gang reservations released with no job completing, nothing running and nothing left to arrive ({waiting} jobs waiting)"
            )
        })
    }

    /// The guard stopped the run for `no_progress`: record it, and report every job whose
    /// reservations were released as livelocked (the detector may be off or not yet due).
    fn stop_no_progress(&mut self, now: SimTime, why: String) {
        let ids: Vec<(u32, u32)> = self
            .state
            .detect
            .releases
            .iter()
            .map(|(&j, &n)| (j, n))
            .collect();
        for (j, n) in ids {
            self.state.detect.starved.entry(j).or_insert(StarvedRecord {
                job: j,
                time: now,
                kind: StarvedKind::Livelock,
                detail: format!("reserved and released {n} times without running"),
            });
        }
        if self.guard.is_none() {
            self.guard = Some((now, why));
        }
    }

    /// Arrivals of one instant are sorted (by job index) before their pods are ordered.
    fn arrivals_canonical(&self) -> bool {
        self.pod_order == PodOrder::Random && self.policy.queueing() == Queueing::Pods
    }

    /// The next arrival sequence number (queue keys' tie-breaker).
    pub fn next_seq(&mut self) -> u64 {
        let s = self.state.next_seq;
        self.state.next_seq += 1;
        s
    }

    /// A job's priority negated (queue keys sort the highest priority first).
    pub fn neg_priority(&self, job: u32) -> i64 {
        -i64::from(self.workload.jobs[job as usize].priority)
    }

    /// kube-scheduler's PrioritySort key for a pod queued at `ts`: priority, then queue
    /// time, then arrival (the default QueueSort).
    pub fn priority_sort_key(&mut self, job: u32, pod: u32, ts: SimTime) -> QueueKey {
        let seq = self.next_seq();
        QueueKey {
            neg_priority: self.neg_priority(job),
            ts,
            seq,
            job,
            pod,
        }
    }

    /// Put a pod in the scheduling queue with queue timestamp `ts` (QueueSort's key).
    pub fn enqueue_pod(&mut self, job: u32, pod: u32, ts: SimTime) {
        let policy = Arc::clone(&self.policy);
        let key = policy.queue_sort(self, job, pod, ts);
        self.state.pod_queue.insert(key);
        self.state.fresh.push(key);
    }

    /// Move `node` to lifecycle condition `c` (the scheduler's per-node memo no longer
    /// describes it). What is bound to it stays: evicting is the caller's business.
    pub fn set_node_condition(&mut self, node: u32, c: crate::state::NodeCondition) {
        self.state.cluster.set_condition(node, c);
        self.scratch.invalidate(node);
    }

    /// Every pod of `job` deleted and created again now: the group's queue position is
    /// now, each pod enters the pod queue.
    pub fn recreate_pods(&mut self, job: u32, now: SimTime) {
        let seq = self.next_seq();
        let js = &mut self.state.jobs[job as usize];
        js.queue_ts = now;
        js.queue_seq = seq;
        let n = self.workload.jobs[job as usize].pods.len() as u32;
        for p in 0..n {
            self.enqueue_pod(job, p, now);
        }
    }

    /// Queue a pod without marking it fresh (it is retried on the next rescan).
    pub fn enqueue_pod_quietly(&mut self, job: u32, pod: u32, now: SimTime) {
        self.enqueue_pod(job, pod, now);
        self.state.fresh.retain(|k| !(k.job == job && k.pod == pod));
    }

    /// The default PostFilter outcome: the pod goes back to the queue; kube sets a failed
    /// pod's queue timestamp to "now".
    pub fn requeue_failed_pod(&mut self, key: QueueKey, now: SimTime) {
        let seq = self.next_seq();
        self.state.pod_queue.insert(QueueKey {
            ts: now,
            seq,
            ..key
        });
    }

    /// Put a job in the job-level queue at time `ts`.
    pub fn enqueue_job(&mut self, job: u32, ts: SimTime) {
        let seq = self.next_seq();
        let js = &mut self.state.jobs[job as usize];
        js.queue_ts = ts;
        js.queue_seq = seq;
        let key = self.job_key(job);
        self.state.job_queue.insert(key);
        self.state.fresh_jobs.push(key);
        self.state.job_dirty = true;
    }

    /// A queued job's key in the job queue.
    pub fn job_key(&self, job: u32) -> QueueKey {
        let js = &self.state.jobs[job as usize];
        QueueKey {
            neg_priority: self.neg_priority(job),
            ts: js.queue_ts,
            seq: js.queue_seq,
            job,
            pod: 0,
        }
    }

    /// Turn this instant's arrivals into queue entries, in the configured pod order.
    fn queue_arrivals(&mut self, now: SimTime, chooser: &mut Chooser) {
        let arrivals = std::mem::take(&mut self.state.arrivals);
        if arrivals.is_empty() {
            return;
        }
        if self.policy.queueing() == Queueing::Jobs {
            for j in arrivals {
                self.enqueue_job(j, now);
            }
            return;
        }
        if let [j] = arrivals[..] {
            // One job arriving: every pod order lists its pods in index order (a choice
            // among one is no choice), and it takes the group's queue position — what
            // `recreate_pods` does.
            self.recreate_pods(j, now);
            self.state.arrivals = arrivals;
            self.state.arrivals.clear();
            return;
        }
        let mut arrivals = arrivals;
        if self.arrivals_canonical() {
            // Every interleaving is a choice anyway: the arrival order adds nothing.
            arrivals.sort_unstable();
        }
        let order = self.pod_arrival_order(&arrivals, chooser);
        // The group's queue position (Coscheduling) is its first pod's. (A look-up set,
        // never iterated.)
        let mut seen: std::collections::HashSet<
            u32,
            std::hash::BuildHasherDefault<crate::fgd::FxHasher>,
        > = Default::default();
        for &(j, _) in &order {
            if seen.insert(j) {
                let seq = self.next_seq();
                let js = &mut self.state.jobs[j as usize];
                js.queue_ts = now;
                js.queue_seq = seq;
            }
        }
        for (j, p) in order {
            self.enqueue_pod(j, p, now);
        }
    }

    /// (job, pod) in the order the pods of `jobs` (created at the same instant) reach the
    /// scheduler, per `pod_order`.
    pub fn pod_arrival_order(&self, jobs: &[u32], chooser: &mut Chooser) -> Vec<(u32, u32)> {
        let mut order: Vec<(u32, u32)> = Vec::new();
        match self.pod_order {
            PodOrder::Random if self.policy.groups_pods() => {
                // Coscheduling's QueueSort keeps a group's pods together whatever order
                // they arrive in: only the order of the groups is a choice.
                let mut left: Vec<u32> = jobs.to_vec();
                while !left.is_empty() {
                    let j = left.remove(chooser.choose(left.len()));
                    let n = self.workload.jobs[j as usize].pods.len() as u32;
                    order.extend((0..n).map(|p| (j, p)));
                }
            }
            PodOrder::Random => {
                let mut left: Vec<(u32, u32, u32)> = jobs
                    .iter()
                    .map(|&j| (j, 0, self.workload.jobs[j as usize].pods.len() as u32))
                    .collect();
                while !left.is_empty() {
                    let k = chooser.choose(left.len());
                    let (j, p, n) = left[k];
                    order.push((j, p));
                    if p + 1 == n {
                        left.remove(k);
                    } else {
                        left[k].1 = p + 1;
                    }
                }
            }
            PodOrder::Grouped => {
                for &j in jobs {
                    let n = self.workload.jobs[j as usize].pods.len() as u32;
                    order.extend((0..n).map(|p| (j, p)));
                }
            }
            PodOrder::Interleaved => {
                let max = jobs
                    .iter()
                    .map(|&j| self.workload.jobs[j as usize].pods.len())
                    .max()
                    .unwrap_or(0) as u32;
                for p in 0..max {
                    for &j in jobs {
                        if (p as usize) < self.workload.jobs[j as usize].pods.len() {
                            order.push((j, p));
                        }
                    }
                }
            }
        }
        order
    }

    /// Filter + Score for one pod: the node it would go to.
    pub fn select_node(
        &mut self,
        job: u32,
        pod: u32,
        range: Option<Range<usize>>,
        chooser: &mut Chooser,
    ) -> Option<u32> {
        let req = &self.workload.jobs[job as usize].pods[pod as usize];
        let mut shape = Some(self.pod_shape(job, pod));
        let dra_filter = match (&self.dra, &self.state.dra) {
            (Some(rt), Some(st)) => {
                if !rt.node_local {
                    shape = None;
                }
                rt.filter_for(job, pod, st)
            }
            _ => None,
        };
        let extra = dra_filter
            .as_ref()
            .map(|f| f as &dyn crate::scheduler::NodeFilter);
        let node = match range {
            None => self.profile.select_node(
                req,
                shape,
                &self.spec,
                &self.state.cluster,
                &mut self.state.next_start_node,
                None,
                chooser,
                &mut self.scratch,
                extra,
            ),
            Some(r) => {
                let mut start = r.start;
                self.profile.select_node(
                    req,
                    shape,
                    &self.spec,
                    &self.state.cluster,
                    &mut start,
                    Some(r),
                    chooser,
                    &mut self.scratch,
                    extra,
                )
            }
        };
        if let (Some(n), Some(f)) = (node, &self.fgd) {
            let st = &self.state.cluster.nodes[n as usize];
            self.fgd_drawn = f.draw_gpu(req, st, chooser).map(|g| (job, pod, n, g));
        }
        node
    }

    /// Reserve: take the pod's resources on `node` (it now holds them).
    pub fn assume(&mut self, job: u32, pod: u32, node: u32, phase: PodPhase) {
        let req = &self.workload.jobs[job as usize].pods[pod as usize];
        let picked = match (&mut self.dra, &mut self.state.dra) {
            // Reserve: allocate the pod's claims and reserve them for it.
            (Some(rt), Some(st)) => {
                let ns = &self.state.cluster.nodes[node as usize];
                match rt.reserve(st, &self.spec, ns, job, pod, node, req.gpu) {
                    Ok(gpus) => Some(gpus),
                    Err(e) => {
                        self.invariant_violation = Some(format!("DynamicResources Reserve: {e}"));
                        return;
                    }
                }
            }
            _ => {
                let st = &self.state.cluster.nodes[node as usize];
                match &self.fgd {
                    Some(f) => match self.fgd_drawn.take() {
                        Some((j, p, n, g)) if (j, p, n) == (job, pod, node) => Some(vec![g]),
                        _ => {
                            let ns = &self.spec.nodes[node as usize];
                            let shape = self.pod_shape(job, pod);
                            f.pick_gpus_at(req, Some(shape), Some(node as usize), ns, st)
                        }
                    },
                    None => st.pick_gpus(req.gpu),
                }
            }
        };
        let Some(gpus) = picked else {
            self.invariant_violation = Some(format!(
                "node {node} passed Filter but has no GPUs for job {job} pod {pod}"
            ));
            return;
        };
        self.state.cluster.bind(node, req, &gpus);
        self.scratch.invalidate(node);
        let js = &mut self.state.jobs[job as usize];
        let ps = &mut js.pods[pod as usize];
        ps.placement = Some(Placement { node, gpus });
        ps.phase = phase;
        js.assumed += 1;
        if phase == PodPhase::Bound {
            js.bound += 1;
        }
        self.track_holding(job);
    }

    /// Give a pod's resources back; it becomes pending (not queued).
    pub fn release(&mut self, job: u32, pod: u32) {
        let req = &self.workload.jobs[job as usize].pods[pod as usize];
        let js = &mut self.state.jobs[job as usize];
        let ps = &mut js.pods[pod as usize];
        if let Some(pl) = ps.placement.take() {
            if ps.phase == PodPhase::Bound {
                js.bound -= 1;
            }
            js.assumed -= 1;
            ps.phase = PodPhase::Pending;
            self.state.cluster.unbind(pl.node, req, &pl.gpus);
            if let (Some(rt), Some(st)) = (&mut self.dra, &mut self.state.dra) {
                // Unreserve: the claims no longer name the pod; unused claims are freed.
                rt.unreserve(st, job, pod);
            }
            self.scratch.invalidate(pl.node);
            self.state.rescan = true;
            self.state.job_dirty = true;
            self.track_holding(job);
        }
    }

    /// All-or-nothing: place every pod in turn (each placement sees the previous ones); if
    /// one fails, release the ones placed and leave the start index as it was. With
    /// `topology: pack-racks`, one rack is tried first.
    pub fn try_place_gang(&mut self, job: u32, chooser: &mut Chooser) -> bool {
        if !self
            .state
            .cluster
            .could_fit(&self.workload.jobs[job as usize].pods)
        {
            return false;
        }
        if self.config.topology == crate::scheduler::Topology::PackRacks {
            let need = self.workload.jobs[job as usize].gpu_milli();
            // Fullest rack first among those with enough idle GPU capacity.
            // Kept per rack by the scratch, summed again only for racks that changed.
            let (spec, cs) = (&self.spec, &self.state.cluster);
            let free = self
                .scratch
                .rack_free_gpu_milli(&self.racks, spec.nodes.len(), |n| {
                    u64::from(spec.nodes[n].gpus) * 1000 - cs.nodes[n].gpu_used_milli
                });
            let mut order: Vec<(u64, usize)> = free
                .iter()
                .enumerate()
                .map(|(i, &free)| (free, i))
                .filter(|(free, _)| *free >= need)
                .collect();
            order.sort_unstable();
            for (_, i) in order {
                let r = self.racks[i].clone();
                if self.place_all(job, Some(r), chooser) {
                    return true;
                }
            }
        }
        self.place_all(job, None, chooser)
    }

    /// Jobs waiting at the end that the scheduler's own placement (pod by pod, Filter and
    /// Score as in the run, ties in canonical order) cannot place all at once even on the
    /// empty cluster. Each is tried on a copy of the state; the state is left as it was.
    pub(super) fn unplaceable_on_empty(&mut self) -> BTreeSet<u32> {
        let waiting: Vec<u32> = (0..self.state.jobs.len() as u32)
            .filter(|&j| self.state.jobs[j as usize].phase == JobPhase::Waiting)
            .collect();
        let mut out = BTreeSet::new();
        if waiting.is_empty() {
            return out;
        }
        let saved = self.state.clone();
        let mut chooser = Chooser::new(ChooserMode::First, &RngStreams::new(0));
        // The empty cluster; a failed placement rolls itself back, so it is rebuilt only
        // after a success (rare: such a job is a limitation or a bug).
        let empty = {
            let mut e = saved.clone();
            for js in &mut e.jobs {
                for p in &mut js.pods {
                    p.placement = None;
                }
            }
            e.cluster = ClusterState::new(&self.spec);
            if self.fgd.is_some() {
                e.cluster.track_gpu_kinds();
            }
            e
        };
        // The scheduler's memos describe the live cluster, not the empty one: the trials
        // start from empty memos (again after every success, which leaves pods behind),
        // and the live memos come back with the live state.
        let live = std::mem::take(&mut self.scratch);
        self.state = empty.clone();
        for j in waiting {
            if self.place_all(j, None, &mut chooser) {
                self.state = empty.clone();
                self.scratch = Scratch::default();
            } else {
                out.insert(j);
            }
        }
        self.state = saved;
        self.scratch = live;
        out
    }

    fn place_all(&mut self, job: u32, range: Option<Range<usize>>, chooser: &mut Chooser) -> bool {
        let n = self.workload.jobs[job as usize].pods.len() as u32;
        let start_before = self.state.next_start_node;
        for p in 0..n {
            match self.select_node(job, p, range.clone(), chooser) {
                Some(node) => self.assume(job, p, node, PodPhase::Bound),
                None => {
                    // A rollback frees nothing that was free before the attempt.
                    let flags = (self.state.rescan, self.state.job_dirty);
                    for q in 0..p {
                        self.release(job, q);
                    }
                    (self.state.rescan, self.state.job_dirty) = flags;
                    self.state.next_start_node = start_before;
                    return false;
                }
            }
        }
        true
    }

    /// Start the job if every pod is bound.
    pub fn maybe_start(&mut self, job: u32, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let spec = &self.workload.jobs[job as usize];
        let js = &mut self.state.jobs[job as usize];
        // An elastic job runs on the pods it was given.
        let need = if self.elastic {
            (js.assumed as usize).max(1)
        } else {
            spec.pods.len()
        };
        if js.bound as usize != need || js.phase != JobPhase::Waiting {
            return;
        }
        // A training job runs for what its placement needs.
        match self.training_start(job, now) {
            Some(Ok(d)) => self.state.jobs[job as usize].remaining = d,
            Some(Err(e)) => {
                if self.training_error.is_none() {
                    let id = &self.workload.jobs[job as usize].id;
                    self.training_error = Some(format!("{now}: job {id:?}: {e}"));
                }
                ctx.stop();
                return;
            }
            None => {}
        }
        let js = &mut self.state.jobs[job as usize];
        js.phase = JobPhase::Running;
        self.state.running.insert(job);
        js.first_start.get_or_insert(now);
        js.run_since = Some(now);
        js.generation += 1;
        let mut nodes: Vec<u32> = js
            .pods
            .iter()
            .filter_map(|p| p.placement.as_ref().map(|pl| pl.node))
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        js.nodes_at_start = nodes.len() as u32;
        let generation = js.generation;
        js.completion.set(Some(
            ctx.schedule_in(js.remaining, Event::Complete { job, generation }),
        ));
        self.state.usage.busy_milli += self.run_milli(job);
        if self.net.is_some() {
            self.net_start(job, ctx);
        }
        self.track_holding(job);
        let policy = Arc::clone(&self.policy);
        policy.on_started(self, job, ctx);
    }

    /// Stop a running job (preemption): it keeps the service it attained.
    pub fn stop_running(&mut self, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
        let milli = self.run_milli(job);
        if self.state.jobs[job as usize].phase != JobPhase::Running {
            return;
        }
        // On the network model, progress is banked in steps; otherwise in run time.
        let on_net = self.net_stop(job, ctx);
        let ran = self.state.jobs[job as usize]
            .run_since
            .take()
            .map(|since| now.since(since));
        if self.training.is_some() {
            self.training_stop(job, now);
        }
        let js = &mut self.state.jobs[job as usize];
        if let Some(ran) = ran {
            if !on_net {
                js.remaining = SimDuration(js.remaining.0.saturating_sub(ran.0));
            }
            js.attained
                .add(u128::from(milli) * u128::from(ran.as_nanos()));
        }
        if let Some(t) = js.completion.take() {
            ctx.cancel(t);
        }
        js.generation += 1;
        js.phase = JobPhase::Waiting;
        self.state.running.remove(&job);
        self.state.usage.busy_milli -= milli;
        self.track_holding(job);
    }

    /// A running job's completion moves to `at + d` (a job whose run time is found as it
    /// runs: the adaptive training jobs).
    pub(crate) fn reschedule_completion(
        &mut self,
        job: u32,
        at: SimTime,
        d: SimDuration,
        ctx: &mut Ctx<'_, Event>,
    ) {
        let js = &mut self.state.jobs[job as usize];
        if js.phase != JobPhase::Running {
            return;
        }
        // What is left of the run as of its start, as a stop accounts it.
        let since = js.run_since.map_or(SimDuration::ZERO, |s| at.since(s));
        let remaining = SimDuration(since.0.saturating_add(d.0));
        if remaining == js.remaining {
            return;
        }
        if let Some(t) = js.completion.take() {
            ctx.cancel(t);
        }
        js.remaining = remaining;
        let generation = js.generation;
        let when = SimTime(at.as_nanos().saturating_add(d.0));
        js.completion.set(Some(
            ctx.schedule_at(when, Event::Complete { job, generation }),
        ));
    }

    /// GPU thousandths a running job uses: all its pods', or for an elastic job those it
    /// was given.
    fn run_milli(&self, job: u32) -> u64 {
        let spec = &self.workload.jobs[job as usize];
        if !self.elastic {
            return spec.gpu_milli();
        }
        spec.pods
            .iter()
            .zip(self.state.jobs[job as usize].pods.iter())
            .filter(|(_, st)| st.placement.is_some())
            .map(|(p, _)| p.gpu.total_milli())
            .sum()
    }

    /// Elastic policies: stop `job` if it runs and give back every pod it holds; it waits
    /// (not queued) for its next allocation, keeping its progress.
    pub fn release_job(&mut self, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
        self.stop_running(job, now, ctx);
        for p in 0..self.workload.jobs[job as usize].pods.len() as u32 {
            self.release(job, p);
        }
        self.state.jobs[job as usize].generation += 1;
    }

    /// Elastic policies: run waiting `job` on `nodes`, pod `i` on `nodes[i]` (the order
    /// is the job's placement order), and start it. `false` (and an invariant violation)
    /// if a node has no free GPU for its pod.
    pub fn start_on(&mut self, job: u32, nodes: &[u32], ctx: &mut Ctx<'_, Event>) -> bool {
        if nodes.is_empty() || nodes.len() > self.workload.jobs[job as usize].pods.len() {
            return false;
        }
        for (p, &n) in nodes.iter().enumerate() {
            self.assume(job, p as u32, n, PodPhase::Bound);
            if self.invariant_violation.is_some() {
                return false;
            }
        }
        let key = self.job_key(job);
        self.state.job_queue.remove(&key);
        self.maybe_start(job, ctx);
        true
    }

    /// Evict a job: stop it if running, release every pod, drop its queued pods.
    pub fn evict(&mut self, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
        self.stop_running(job, now, ctx);
        let n = self.workload.jobs[job as usize].pods.len() as u32;
        let held = self.state.jobs[job as usize].assumed;
        self.state.preemptions += u64::from(held);
        for p in 0..n {
            self.release(job, p);
        }
        self.state.pod_queue.retain(|k| k.job != job);
        self.state.fresh.retain(|k| k.job != job);
        let js = &mut self.state.jobs[job as usize];
        js.evictions += 1;
        js.generation += 1;
        if let Some(t) = js.permit_deadline.take() {
            ctx.cancel(t);
        }
    }

    fn complete(&mut self, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
        self.net_stop(job, ctx);
        let milli = self.run_milli(job);
        let js = &mut self.state.jobs[job as usize];
        if let Some(since) = js.run_since.take() {
            js.attained
                .add(u128::from(milli) * u128::from(now.since(since).as_nanos()));
        }
        js.remaining = SimDuration::ZERO;
        js.completion = TimerSlot::NONE;
        js.phase = JobPhase::Completed { end: now };
        self.note_progress();
        self.state.running.remove(&job);
        self.state.usage.busy_milli -= milli;
        for p in 0..self.workload.jobs[job as usize].pods.len() as u32 {
            self.release(job, p);
        }
        let policy = Arc::clone(&self.policy);
        policy.on_finished(self, job);
    }

    /// Pods released during a pass (gang rejections) are retried at the next release or
    /// after kube's `podMaxInUnschedulablePodsDuration` (5 min).
    pub fn schedule_flush(&mut self, ctx: &mut Ctx<'_, Event>) {
        if self.state.retry_after_backoff && !self.state.flush_scheduled {
            self.state.retry_after_backoff = false;
            if !self.state.pod_queue.is_empty() {
                ctx.schedule_in(SimDuration::from_secs(300), Event::Flush);
                self.state.flush_scheduled = true;
            }
        }
    }

    /// The DRA invariants for the pods whose claims changed during this event.
    fn check_dra(&mut self, now: SimTime) {
        let Some(rt) = &mut self.dra else {
            return;
        };
        if rt.dirty.is_empty() {
            return;
        }
        let mut dirty = std::mem::take(&mut rt.dirty);
        let (Some(rt), Some(st)) = (&self.dra, &self.state.dra) else {
            return;
        };
        if self.dra_violation.is_none() {
            dirty.sort_unstable();
            dirty.dedup();
            for &(job, pod) in &dirty {
                let pv = dra::PodView {
                    job,
                    pod,
                    state: &self.state.jobs[job as usize].pods[pod as usize],
                    gpu: self.workload.jobs[job as usize].pods[pod as usize].gpu,
                };
                if let Err(v) = dra::check_pod(rt, &self.spec, st, &pv, now) {
                    self.dra_violation = Some(v);
                    break;
                }
            }
        }
        dirty.clear();
        if let Some(rt) = &mut self.dra {
            rt.dirty = dirty;
        }
    }

    /// `scheduler.scheduling_interval`, for a policy that does not keep rounds of its own:
    /// its pass runs only at multiples of the interval (what changed in between waits for
    /// the round); an instant between rounds sets the next round.
    fn on_round(&mut self, ctx: &mut Ctx<'_, Event>) -> bool {
        let Some(every) = self
            .config
            .scheduling_interval
            .or_else(|| self.policy.default_interval())
        else {
            return true;
        };
        if self.policy.keeps_rounds() {
            return true;
        }
        let p = every.as_nanos().max(1);
        let now = ctx.now().as_nanos();
        // Rounds fall at the interval's multiples after 0 (the research simulators step
        // first, then decide).
        let on_round = now > 0 && now % p == 0;
        // A policy deciding every round keeps them going while a job waits or runs.
        let periodic = self.policy.decides_every_round()
            && !(self.state.running.is_empty() && self.state.job_queue.is_empty());
        if (!on_round || periodic) && !self.state.round_set {
            let next = (now / p).saturating_add(1).saturating_mul(p);
            ctx.schedule_at(SimTime(next), Event::Round);
            self.state.round_set = true;
        }
        on_round
    }

    /// A periodic policy (Volcano sessions, Tiresias rounds): set a timer of `kind` at the
    /// next multiple of `period` after now, unless one is set or nothing is queued.
    pub fn schedule_round(&mut self, period: SimDuration, kind: u8, ctx: &mut Ctx<'_, Event>) {
        if self.state.session_scheduled || self.state.job_queue.is_empty() {
            return;
        }
        let period = period.as_nanos().max(1);
        let now = ctx.now().as_nanos();
        let next = (now / period + 1) * period;
        let t = PolicyTimer {
            kind,
            job: u32::MAX,
            generation: None,
        };
        ctx.schedule_at(SimTime(next), Event::Timer(t));
        self.state.session_scheduled = true;
    }
}

impl Model for ClusterSim {
    type Event = Event;

    /// A completion releases resources and quota and marks the queues for a retry; the
    /// scheduling itself happens at the end of the instant, so its order among the
    /// instant's other events does not matter. (On the network model it re-times the
    /// other jobs in floating point, so there it is not claimed.)
    /// With a chosen pod order on a pod-level policy (not Kueue, which admits jobs in
    /// arrival order) arrivals are sorted before their pods are ordered, so submissions
    /// commute too.
    fn commutes(&self, event: &Event) -> bool {
        // A listed node event (a failure, a drain) at the same instant as a completion,
        // flush or arrival gives a different result in each order (a job that completes
        // before its node fails is not restarted): nothing is reordered away then.
        if self.has_node_events() || self.has_deletions() {
            return false;
        }
        match event {
            Event::Complete { .. } | Event::Flush => self.net.is_none(),
            Event::Submit(_) => self.arrivals_canonical(),
            _ => false,
        }
    }

    fn handle(&mut self, event: Event, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        self.state.usage.advance(now);
        if self.instant_events.0 == now {
            self.instant_events.1 += 1;
        } else {
            self.instant_events = (now, 1);
        }
        if self.instant_events.1 > self.instant_event_budget() {
            let n = self.instant_events.1;
            self.trip_guard(
                now,
                format!("no progress: {n} events at the one instant {now} (time never advances)"),
                ctx,
            );
            return;
        }
        self.autoscaler_touch(&event);
        match event {
            Event::Submit(j) => {
                self.state.jobs[j as usize].phase = JobPhase::Waiting;
                self.state.submitted += 1;
                if self.detect.starvation_after.is_some() {
                    let submit = self.workload.jobs[j as usize].submit;
                    self.state.detect.never_started.insert((submit, j));
                    self.state.detect.starve_dirty = true;
                }
                self.state.first_submit.get_or_insert(now);
                self.state.arrivals.push(j);
                if let Some(mut log) = self.podlog.take() {
                    log.submitted(self, j, now);
                    self.podlog = Some(log);
                }
            }
            Event::Complete { job, generation } => {
                if self.state.jobs[job as usize].generation == generation {
                    self.complete(job, now, ctx);
                }
            }
            Event::Timer(t) => {
                let policy = Arc::clone(&self.policy);
                policy.on_timer(self, t, ctx);
            }
            Event::Flush => {
                self.state.flush_scheduled = false;
                self.state.rescan = true;
            }
            Event::NetFlows => self.net_flows_done(ctx),
            Event::Node(e) => faults::handle(self, e, ctx),
            Event::Part(e) => parts::handle(self, e, ctx),
            Event::Autoscaler(e) => self.autoscaler_event(e, ctx),
            Event::Serving(e) => self.serving_event(e, ctx),
            Event::Ray(e) => self.ray_event(e, ctx),
            Event::Delete(j) => self.delete_job(j, ctx),
            Event::Round => self.state.round_set = false,
        }
        faults::after_event(self, ctx);
        self.state.usage.allocated_milli = self.state.cluster.gpu_milli_allocated;
        self.check_dra(now);
        if self.dra_violation.is_some() {
            ctx.stop();
        }
    }

    fn instant_end(&mut self, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        self.state.usage.advance(now);
        self.queue_arrivals(now, ctx.chooser());
        let policy = Arc::clone(&self.policy);
        if self.on_round(ctx) {
            policy.schedule(self, ctx);
        }
        self.serving_instant_end(ctx);
        self.ray_instant_end(ctx);
        self.autoscaler_instant_end(ctx);
        self.state.usage.allocated_milli = self.state.cluster.gpu_milli_allocated;
        if let Some(mut log) = self.podlog.take() {
            let jobs = self.state.jobs.take_touched();
            let nodes = self.scratch.take_touched(self.state.cluster.nodes.len());
            log.observe(self, now, jobs, nodes);
            self.podlog = Some(log);
        }
        let next = ctx.next_event_time();
        self.detect(now, next);

        if self.check_invariants
            && self.invariant_violation.is_none()
            && let Err(e) = self.state.cluster.check_invariants(&self.spec)
        {
            self.invariant_violation = Some(format!("{now}: {e}"));
        }
        self.check_dra(now);
        if self.check_invariants
            && self.dra_violation.is_none()
            && let (Some(rt), Some(st)) = (&self.dra, &self.state.dra)
            && let Err(e) = rt.allocator().check(&st.allocation)
        {
            self.dra_violation = Some(DraViolation {
                invariant: DraInvariant::AllocationState,
                time: now,
                detail: e.0,
                device: None,
                claims: Vec::new(),
                pods: Vec::new(),
            });
        }
        if self.invariant_violation.is_some() || self.dra_violation.is_some() {
            ctx.stop();
        }
    }
}

/// Reject inputs that can never run, before simulating.
/// Whether `p` fits an empty node by its resources alone: a pod whose node selector,
/// affinity or tolerations no node satisfies is not bad input; it stays Pending, as in
/// Kubernetes, and its end-of-run reason says why.
fn fits_ignoring_constraints(spec: &ClusterSpec, p: &PodRequest) -> bool {
    let bare = PodRequest {
        constraints: None,
        ..p.clone()
    };
    spec.nodes.iter().any(|n| {
        let mut n = n.clone();
        n.taints.clear();
        crate::state::NodeState::new(&n).fits(&n, &bare).is_ok()
    })
}

fn validate(spec: &ClusterSpec, workload: &Workload) -> Result<(), ModelError> {
    // Look-up sets only (never iterated): the first duplicate in job order is reported.
    type Set<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<crate::fgd::FxHasher>>;
    let mut ids: Set<&str> = Set::with_capacity_and_hasher(workload.jobs.len(), Default::default());
    for j in &workload.jobs {
        if !ids.insert(j.id.as_str()) {
            return Err(ModelError::DuplicateJob(j.id.clone()));
        }
        if j.pods.is_empty() {
            return Err(ModelError::EmptyJob { job: j.id.clone() });
        }
    }
    // Distinct requests, checked once each against empty nodes.
    let mut checked: Set<&PodRequest> = Set::default();
    let mut empty: Vec<crate::state::NodeState> = Vec::new();
    for j in &workload.jobs {
        for (i, p) in j.pods.iter().enumerate() {
            if !checked.insert(p) {
                continue;
            }
            if empty.is_empty() {
                empty = spec
                    .nodes
                    .iter()
                    .map(crate::state::NodeState::new)
                    .collect();
            }
            let fits = spec
                .nodes
                .iter()
                .zip(&empty)
                .any(|(n, st)| st.fits(n, p).is_ok())
                || fits_ignoring_constraints(spec, p);
            if !fits {
                let largest = spec
                    .nodes
                    .iter()
                    .max_by_key(|n| (n.gpus, n.cpu_milli, n.memory_mib))
                    .map(|n| {
                        format!(
                            "{} with {} GPUs ({}), {} mCPU, {} MiB",
                            n.name,
                            n.gpus,
                            n.gpu_model.as_deref().unwrap_or("no GPU model"),
                            n.cpu_milli,
                            n.memory_mib
                        )
                    })
                    .unwrap_or_default();
                return Err(ModelError::PodLargerThanAnyNode {
                    job: j.id.clone(),
                    pod: i,
                    request: describe_request(p),
                    largest,
                });
            }
        }
    }
    // A job larger than the whole cluster can never run.
    let (cpu, mem, gpu) = spec.nodes.iter().fold((0u64, 0u64, 0u64), |(c, m, g), n| {
        (
            c + n.cpu_milli,
            m + n.memory_mib,
            g + u64::from(n.gpus) * 1000,
        )
    });
    for j in &workload.jobs {
        let jc: u64 = j.pods.iter().map(|p| p.cpu_milli).sum();
        let jm: u64 = j.pods.iter().map(|p| p.memory_mib).sum();
        if j.gpu_milli() > gpu || jc > cpu || jm > mem {
            return Err(ModelError::JobLargerThanCluster {
                job: j.id.clone(),
                gpus: (j.gpu_milli() as f64 / 1000.0).to_string(),
                cluster_gpus: (gpu as f64 / 1000.0).to_string(),
            });
        }
    }
    Ok(())
}

/// A pod request in words ("2 GPUs of model H100, 8000 mCPU, 65536 MiB").
pub fn describe_request(p: &PodRequest) -> String {
    use crate::resources::GpuRequest;
    let gpu = match p.gpu {
        GpuRequest::None => "no GPU".to_string(),
        GpuRequest::Whole(n) => format!("{n} GPUs"),
        GpuRequest::Shared(m) => format!("{m}/1000 of a GPU"),
    };
    let models = if p.gpu_models.is_empty() {
        String::new()
    } else {
        format!(" of model {}", p.gpu_models.join("|"))
    };
    format!("{gpu}{models}, {} mCPU, {} MiB", p.cpu_milli, p.memory_mib)
}

/// Progress callback, called every 4,096 events: (simulated now, a count of the jobs
/// finished so far, total jobs). The count walks every job: call it only when it is shown
/// (a run of a million jobs calls back 500 times per million events).
pub type Progress<'a> = &'a mut dyn FnMut(SimTime, &dyn Fn() -> u64, u64);

/// A run that could not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("simulation invariant violated: {0}")]
    Invariant(String),
    #[error(transparent)]
    Dra(#[from] DraViolation),
    /// A training job's placement its application profile cannot price.
    #[error("training: {0}")]
    Training(String),
}

/// Run a workload on a cluster to completion (or the horizon).
pub fn run(
    spec: ClusterSpec,
    workload: Workload,
    config: &RunConfig,
    progress: Option<Progress<'_>>,
) -> Result<RunResult, RunError> {
    run_with_registry(spec, workload, config, &Registry::builtin(), progress)
}

/// As [`run`], choosing `config.scheduler.policy` from `registry` (built-ins plus any a
/// program registered with [`Registry::with`]).
pub fn run_with_registry(
    spec: ClusterSpec,
    workload: Workload,
    config: &RunConfig,
    registry: &Registry,
    progress: Option<Progress<'_>>,
) -> Result<RunResult, RunError> {
    run_observed(spec, workload, config, registry, progress, &mut |_, _| {})
}

/// As [`run_with_registry`], showing the model to `observe` each time an instant closes
/// (its events handled, its scheduling pass and controllers run): how the platform view
/// (`crate::platform`) sees pods bound, Pending and ended.
pub fn run_observed(
    spec: ClusterSpec,
    workload: Workload,
    config: &RunConfig,
    registry: &Registry,
    progress: Option<Progress<'_>>,
    observe: &mut dyn FnMut(&ClusterSim, SimTime),
) -> Result<RunResult, RunError> {
    run_inner(
        spec,
        workload,
        config,
        registry,
        progress,
        observe,
        collect_result(config),
    )
}

/// As [`run`], handing the model as it ends to `at_end` (e.g. to read where each pod
/// was bound) instead of collecting a [`RunResult`] (a caller that reads only the final
/// state skips the result's per-job records and pending reasons).
pub fn run_finished(
    spec: ClusterSpec,
    workload: Workload,
    config: &RunConfig,
    at_end: impl FnOnce(&ClusterSim),
) -> Result<(), RunError> {
    run_inner(
        spec,
        workload,
        config,
        &Registry::builtin(),
        None,
        &mut |_, _| {},
        |e| at_end(&e.model),
    )
}

fn run_inner<R>(
    spec: ClusterSpec,
    workload: Workload,
    config: &RunConfig,
    registry: &Registry,
    progress: Option<Progress<'_>>,
    observe: &mut dyn FnMut(&ClusterSim, SimTime),
    finish: impl FnOnce(RunEnd) -> R,
) -> Result<R, RunError> {
    let mut model = ClusterSim::with_registry(spec, workload, config, registry)?;
    let streams = RngStreams::new(config.seed);
    let mut sim = Simulation::new(Chooser::new(config.chooser.clone(), &streams));
    for (i, j) in model.workload.jobs.iter().enumerate() {
        // Replica and worker slots are submitted by their controllers, not the trace.
        if !model.is_controller_slot(i as u32) {
            sim.schedule_at(j.submit, Event::Submit(i as u32));
        }
    }
    model.schedule_serving_events(&mut sim);
    for (at, ev) in faults::initial_events(&mut model) {
        let id = sim.schedule_at(at, ev);
        faults::note_initial_timer(&mut model, &ev, id);
    }
    for (at, ev) in model.deletion_events() {
        sim.schedule_at(at, ev);
    }
    let horizon = config.horizon.map(|h| SimTime::ZERO + h);
    let stop = StopAt {
        horizon: horizon.unwrap_or(SimTime::MAX),
        max_events: u64::MAX,
    };
    let total = model.workload.jobs.len() as u64;
    // The no-progress guard (see `ClusterSim::no_progress`), checked when an instant
    // closes with events still pending.
    let mut stalled: Option<(SimTime, String)> = None;
    let mut n = 0u64;
    let mut cb = progress;
    let stats = sim.run_probed(&mut model, stop, |p, m: &ClusterSim| {
        n += 1;
        if p.instant_closed {
            observe(m, p.now);
        }
        if let Some(cb) = cb.as_mut()
            && n.is_multiple_of(4096)
        {
            let done = || {
                m.state
                    .jobs
                    .iter()
                    .filter(|j| matches!(j.phase, JobPhase::Completed { .. }))
                    .count() as u64
            };
            cb(p.now, &done, total);
        }
        if p.instant_closed
            && !p.queue.is_empty()
            && let Some(why) = m.no_progress()
        {
            stalled = Some((p.now, why));
            return false;
        }
        true
    });
    if let Some((now, why)) = stalled {
        model.stop_no_progress(now, why);
    }
    if let Some(v) = model.dra_violation.take() {
        return Err(RunError::Dra(v));
    }
    if let Some(v) = model.invariant_violation.take() {
        return Err(RunError::Invariant(v));
    }
    if let Some(v) = model.training_error.take() {
        return Err(RunError::Training(v));
    }
    // The run ends when it stops: a run that drains before the horizon ends then (nothing
    // happens afterwards, so utilisation is not diluted). GPUs still held by stuck gangs
    // stay held until the horizon; `RunResult::held_at_end_milli` and `horizon` let the
    // reports count them (see docs/output-formats.md).
    let end = stats.now;
    model.state.usage.advance(end);
    let choices = (sim.chooser().decisions(), sim.chooser().fingerprint());
    // The engine's queue keeps its capacity (every submission of the trace); give it back
    // before the results are built.
    drop(sim);
    Ok(finish(RunEnd {
        model,
        stats,
        ends: (end, horizon),
        choices,
    }))
}

/// How a run ended, for [`run_inner`]'s `finish`.
struct RunEnd {
    model: ClusterSim,
    stats: sim_core::RunStats,
    /// (when it stopped, the horizon).
    ends: (SimTime, Option<SimTime>),
    /// (chooser decisions, their fingerprint).
    choices: (u64, u64),
}

/// [`run_inner`]'s usual end: the run's [`RunResult`].
fn collect_result(config: &RunConfig) -> impl FnOnce(RunEnd) -> RunResult + '_ {
    move |e| result::collect(e.model, e.stats, e.ends, config, e.choices)
}
