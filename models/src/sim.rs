//! The cluster model on the engine: jobs arrive, their pods queue, the scheduler binds them,
//! gangs run when complete and release their resources when done.
//!
//! Everything that changes during a run lives in `SimState`, which is plain data (clone,
//! compare, hash). The configuration (cluster, workload, policy) is read-only.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sim_core::{
    Chooser, ChooserMode, Ctx, Model, RngStreams, SimDuration, SimTime, Simulation, StopAt,
    StopReason,
};

use crate::cluster::ClusterSpec;
use crate::resources::PodRequest;
use crate::scheduler::{PolicyKind, Profile, SchedulerConfig, Scratch};
use crate::state::{ClusterState, Placement};
use crate::workload::Workload;

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
    /// An order chosen by the seeded `Chooser` (a choice point for the verifier).
    Random,
}

/// Everything about a run that is not the cluster or the workload.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunConfig {
    pub seed: u64,
    pub horizon: Option<SimDuration>,
    pub scheduler: SchedulerConfig,
    pub pod_order: PodOrder,
    pub chooser: ChooserMode,
    /// Check allocation invariants after every instant (slow; for tests).
    pub check_invariants: bool,
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
        }
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
    #[error("job {job:?} has no pods")]
    EmptyJob { job: String },
    #[error("duplicate job id {0:?}")]
    DuplicateJob(String),
    #[error("the cluster has no nodes")]
    NoNodes,
}

/// Engine events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    Submit(u32),
    Complete(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobPhase {
    NotSubmitted,
    /// Submitted; some pods may be bound (holding resources) while others wait.
    Waiting,
    Running {
        start: SimTime,
    },
    Completed {
        start: SimTime,
        end: SimTime,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobState {
    pub phase: JobPhase,
    pub placements: Vec<Option<Placement>>,
    pub bound: u32,
    /// Distinct nodes the job ran on, recorded when it started.
    pub nodes_at_start: u32,
}

/// A queued item: one pod (default policy) or one whole job (gang policy). Ordered as
/// kube's PrioritySort: higher priority first, then arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueKey {
    pub neg_priority: i64,
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
    pub jobs: Vec<JobState>,
    pub queue: BTreeSet<QueueKey>,
    /// Jobs that arrived during the current instant, not yet queued.
    pub arrivals: Vec<u32>,
    /// Queue entries added since the last scan.
    pub fresh: Vec<QueueKey>,
    /// Resources were released since the last scan: every queued item must be retried.
    pub rescan: bool,
    pub next_seq: u64,
    /// kube-scheduler's `nextStartNodeIndex`.
    pub next_start_node: usize,
    pub usage: Usage,
    pub first_submit: Option<SimTime>,
}

/// The model: read-only configuration plus `SimState`.
#[derive(Debug)]
pub struct ClusterSim {
    pub spec: ClusterSpec,
    pub workload: Workload,
    pub policy: PolicyKind,
    pub pod_order: PodOrder,
    pub check_invariants: bool,
    profile: Profile,
    /// Interned pod shapes per job/pod and gang shapes per job, for the per-scan memo of
    /// requests already known not to fit.
    pod_shape: Vec<Vec<u32>>,
    job_shape: Vec<u32>,
    scratch: Scratch,
    pub state: SimState,
    pub invariant_violation: Option<String>,
}

impl ClusterSim {
    pub fn new(
        spec: ClusterSpec,
        workload: Workload,
        config: &RunConfig,
    ) -> Result<ClusterSim, ModelError> {
        validate(&spec, &workload)?;
        let mut pod_ids: BTreeMap<&PodRequest, u32> = BTreeMap::new();
        let mut job_ids: BTreeMap<Vec<u32>, u32> = BTreeMap::new();
        let mut pod_shape = Vec::with_capacity(workload.jobs.len());
        let mut job_shape = Vec::with_capacity(workload.jobs.len());
        for j in &workload.jobs {
            let shapes: Vec<u32> = j
                .pods
                .iter()
                .map(|p| {
                    let n = pod_ids.len() as u32;
                    *pod_ids.entry(p).or_insert(n)
                })
                .collect();
            let n = job_ids.len() as u32;
            job_shape.push(*job_ids.entry(shapes.clone()).or_insert(n));
            pod_shape.push(shapes);
        }
        let jobs = workload
            .jobs
            .iter()
            .map(|j| JobState {
                phase: JobPhase::NotSubmitted,
                placements: vec![None; j.pods.len()],
                bound: 0,
                nodes_at_start: 0,
            })
            .collect();
        let state = SimState {
            cluster: ClusterState::new(&spec),
            jobs,
            queue: BTreeSet::new(),
            arrivals: Vec::new(),
            fresh: Vec::new(),
            rescan: false,
            next_seq: 0,
            next_start_node: 0,
            usage: Usage::default(),
            first_submit: None,
        };
        Ok(ClusterSim {
            profile: config.scheduler.profile(),
            policy: config.scheduler.policy,
            pod_order: config.pod_order,
            check_invariants: config.check_invariants,
            spec,
            workload,
            pod_shape,
            job_shape,
            scratch: Scratch::default(),
            state,
            invariant_violation: None,
        })
    }

    fn enqueue(&mut self, job: u32, pod: u32) {
        let key = QueueKey {
            neg_priority: -i64::from(self.workload.jobs[job as usize].priority),
            seq: self.state.next_seq,
            job,
            pod,
        };
        self.state.next_seq += 1;
        self.state.queue.insert(key);
        self.state.fresh.push(key);
    }

    /// Turn this instant's arrivals into queue entries, in the configured pod order.
    fn queue_arrivals(&mut self, chooser: &mut Chooser) {
        let arrivals = std::mem::take(&mut self.state.arrivals);
        if arrivals.is_empty() {
            return;
        }
        // (job, pod) in the order the pods reach the scheduler.
        let mut order: Vec<(u32, u32)> = Vec::new();
        match self.pod_order {
            PodOrder::Grouped => {
                for &j in &arrivals {
                    let n = self.workload.jobs[j as usize].pods.len() as u32;
                    order.extend((0..n).map(|p| (j, p)));
                }
            }
            PodOrder::Interleaved => {
                let max = arrivals
                    .iter()
                    .map(|&j| self.workload.jobs[j as usize].pods.len())
                    .max()
                    .unwrap_or(0) as u32;
                for p in 0..max {
                    for &j in &arrivals {
                        if (p as usize) < self.workload.jobs[j as usize].pods.len() {
                            order.push((j, p));
                        }
                    }
                }
            }
            PodOrder::Random => {
                for &j in &arrivals {
                    let n = self.workload.jobs[j as usize].pods.len() as u32;
                    order.extend((0..n).map(|p| (j, p)));
                }
                // Fisher–Yates driven by the chooser.
                for i in 0..order.len() {
                    let k = i + chooser.choose(order.len() - i);
                    order.swap(i, k);
                }
            }
        }
        match self.policy {
            PolicyKind::Default => {
                for (j, p) in order {
                    self.enqueue(j, p);
                }
            }
            PolicyKind::Gang => {
                // A gang queues once, at the position of its first pod.
                let mut seen = BTreeSet::new();
                for (j, _) in order {
                    if seen.insert(j) {
                        self.enqueue(j, 0);
                    }
                }
            }
        }
    }

    /// Scheduling cycle over the queue. Only entries that could have become schedulable are
    /// tried: everything after a release, otherwise only new arrivals (resources only
    /// shrank since they last failed). Within one scan, a request shape that failed is not
    /// retried: resources only shrink during a scan, and a failed kube scheduling attempt
    /// examines every node, which leaves `nextStartNodeIndex` where it was.
    fn schedule(&mut self, now: SimTime, ctx: &mut Ctx<'_, Event>) {
        let candidates: Vec<QueueKey> = if self.state.rescan {
            self.state.queue.iter().copied().collect()
        } else {
            let mut f = std::mem::take(&mut self.state.fresh);
            f.sort_unstable();
            f
        };
        self.state.rescan = false;
        self.state.fresh.clear();
        let mut failed: BTreeSet<u32> = BTreeSet::new();
        for key in candidates {
            let placed = match self.policy {
                PolicyKind::Default => {
                    let shape = self.pod_shape[key.job as usize][key.pod as usize];
                    if failed.contains(&shape) {
                        continue;
                    }
                    let ok = self.try_place_pod(key.job, key.pod, ctx.chooser());
                    if !ok {
                        failed.insert(shape);
                    }
                    ok
                }
                PolicyKind::Gang => {
                    let shape = self.job_shape[key.job as usize];
                    if failed.contains(&shape) {
                        continue;
                    }
                    let ok = self.try_place_gang(key.job, ctx.chooser());
                    if !ok {
                        failed.insert(shape);
                    }
                    ok
                }
            };
            if placed {
                self.state.queue.remove(&key);
                self.maybe_start(key.job, now, ctx);
            }
        }
    }

    fn try_place_pod(&mut self, job: u32, pod: u32, chooser: &mut Chooser) -> bool {
        let req = &self.workload.jobs[job as usize].pods[pod as usize];
        if !self.state.cluster.could_fit(std::slice::from_ref(req)) {
            return false;
        }
        let shape = self.pod_shape[job as usize][pod as usize];
        let Some(node) = self.profile.select_node(
            req,
            Some(shape),
            &self.spec,
            &self.state.cluster,
            &mut self.state.next_start_node,
            chooser,
            &mut self.scratch,
        ) else {
            return false;
        };
        self.bind(job, pod, node);
        true
    }

    /// All-or-nothing: place every pod in turn (each placement sees the previous ones);
    /// if one fails, release the ones placed and leave the start index as it was.
    fn try_place_gang(&mut self, job: u32, chooser: &mut Chooser) -> bool {
        let pods = &self.workload.jobs[job as usize].pods;
        if !self.state.cluster.could_fit(pods) {
            return false;
        }
        let n = pods.len() as u32;
        let start_before = self.state.next_start_node;
        for p in 0..n {
            let req = &self.workload.jobs[job as usize].pods[p as usize];
            let shape = self.pod_shape[job as usize][p as usize];
            let node = self.profile.select_node(
                req,
                Some(shape),
                &self.spec,
                &self.state.cluster,
                &mut self.state.next_start_node,
                chooser,
                &mut self.scratch,
            );
            match node {
                Some(node) => self.bind(job, p, node),
                None => {
                    for q in 0..p {
                        self.unbind(job, q);
                    }
                    self.state.next_start_node = start_before;
                    return false;
                }
            }
        }
        true
    }

    fn bind(&mut self, job: u32, pod: u32, node: u32) {
        let req = &self.workload.jobs[job as usize].pods[pod as usize];
        let Some(gpus) = self.state.cluster.nodes[node as usize].pick_gpus(req.gpu) else {
            // select_node only returns nodes that pass Filter, which checks the same
            // condition; reaching this is a bug in a plugin.
            self.invariant_violation = Some(format!(
                "node {node} passed Filter but has no GPUs for job {job} pod {pod}"
            ));
            return;
        };
        self.state.cluster.bind(node, req, &gpus);
        self.scratch.invalidate(node);
        let js = &mut self.state.jobs[job as usize];
        js.placements[pod as usize] = Some(Placement { node, gpus });
        js.bound += 1;
    }

    fn unbind(&mut self, job: u32, pod: u32) {
        let req = &self.workload.jobs[job as usize].pods[pod as usize];
        let js = &mut self.state.jobs[job as usize];
        if let Some(pl) = js.placements[pod as usize].take() {
            js.bound -= 1;
            self.state.cluster.unbind(pl.node, req, &pl.gpus);
            self.scratch.invalidate(pl.node);
        }
    }

    fn maybe_start(&mut self, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
        let spec = &self.workload.jobs[job as usize];
        let js = &mut self.state.jobs[job as usize];
        if js.bound as usize == spec.pods.len() && js.phase == JobPhase::Waiting {
            js.phase = JobPhase::Running { start: now };
            let nodes: BTreeSet<u32> = js.placements.iter().flatten().map(|p| p.node).collect();
            js.nodes_at_start = nodes.len() as u32;
            self.state.usage.busy_milli += spec.gpu_milli();
            ctx.schedule_in(spec.duration, Event::Complete(job));
        }
    }

    fn complete(&mut self, job: u32, now: SimTime) {
        let JobPhase::Running { start } = self.state.jobs[job as usize].phase else {
            return;
        };
        for p in 0..self.workload.jobs[job as usize].pods.len() as u32 {
            self.unbind(job, p);
        }
        self.state.usage.busy_milli -= self.workload.jobs[job as usize].gpu_milli();
        self.state.jobs[job as usize].phase = JobPhase::Completed { start, end: now };
        self.state.rescan = true;
    }
}

impl Model for ClusterSim {
    type Event = Event;

    fn handle(&mut self, event: Event, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        self.state.usage.advance(now);
        match event {
            Event::Submit(j) => {
                self.state.jobs[j as usize].phase = JobPhase::Waiting;
                self.state.first_submit.get_or_insert(now);
                self.state.arrivals.push(j);
            }
            Event::Complete(j) => self.complete(j, now),
        }
        self.state.usage.allocated_milli = self.state.cluster.gpu_milli_allocated;
    }

    fn instant_end(&mut self, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        self.state.usage.advance(now);
        self.queue_arrivals(ctx.chooser());
        if self.state.rescan || !self.state.fresh.is_empty() {
            self.schedule(now, ctx);
        }
        self.state.usage.allocated_milli = self.state.cluster.gpu_milli_allocated;
        if self.check_invariants
            && self.invariant_violation.is_none()
            && let Err(e) = self.state.cluster.check_invariants(&self.spec)
        {
            self.invariant_violation = Some(format!("{now}: {e}"));
        }
        if self.invariant_violation.is_some() {
            ctx.stop();
        }
    }
}

/// Reject inputs that can never run, before simulating.
fn validate(spec: &ClusterSpec, workload: &Workload) -> Result<(), ModelError> {
    if spec.nodes.is_empty() {
        return Err(ModelError::NoNodes);
    }
    let mut ids = BTreeSet::new();
    for j in &workload.jobs {
        if !ids.insert(j.id.as_str()) {
            return Err(ModelError::DuplicateJob(j.id.clone()));
        }
        if j.pods.is_empty() {
            return Err(ModelError::EmptyJob { job: j.id.clone() });
        }
    }
    // Distinct requests, checked once each against empty nodes.
    let mut checked: BTreeSet<&PodRequest> = BTreeSet::new();
    for j in &workload.jobs {
        for (i, p) in j.pods.iter().enumerate() {
            if !checked.insert(p) {
                continue;
            }
            let fits = spec
                .nodes
                .iter()
                .any(|n| crate::state::NodeState::new(n).fits(n, p).is_ok());
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
                    request: describe(p),
                    largest,
                });
            }
        }
    }
    Ok(())
}

fn describe(p: &PodRequest) -> String {
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

/// How a job ended up when the run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    /// Started, still running at the horizon.
    Running,
    /// Some pods bound, the rest waiting, and no future event can change that: the run
    /// drained with the job holding resources (a gang deadlock).
    Stuck,
    /// Some pods bound, the rest waiting, at the horizon.
    PartiallyPlaced,
    /// Submitted but no pod bound.
    Pending,
    /// Its submit time lies beyond the horizon.
    NotSubmitted,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Running => "running",
            Outcome::Stuck => "stuck",
            Outcome::PartiallyPlaced => "partially_placed",
            Outcome::Pending => "pending",
            Outcome::NotSubmitted => "not_submitted",
        }
    }
}

/// One job's fate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub submit: SimTime,
    pub start: Option<SimTime>,
    pub end: Option<SimTime>,
    pub gpu_milli: u64,
    pub pods: u32,
    pub pods_bound: u32,
    /// Distinct nodes the job's pods were placed on (at start, or when the run ended).
    pub nodes: u32,
    pub trace_gpu_hours: f64,
    pub outcome: Outcome,
}

/// Everything reports need from a finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub jobs: Vec<JobRecord>,
    pub total_gpu_milli: u64,
    pub nodes: u32,
    pub stop: String,
    pub end_time: SimTime,
    pub first_submit: SimTime,
    pub usage: Usage,
    pub events: u64,
    /// Pods evicted by preemption (no policy preempts yet).
    pub preemptions: u64,
    pub choices: u64,
    /// Hash of every choice among equals the run made (seed-dependent).
    pub choices_fingerprint: u64,
    pub engine_fingerprint: u64,
    pub seed: u64,
    pub policy: String,
}

/// Progress callback: (simulated now, jobs finished so far, total jobs).
pub type Progress<'a> = &'a mut dyn FnMut(SimTime, u64, u64);

/// Run a workload on a cluster to completion (or the horizon).
pub fn run(
    spec: ClusterSpec,
    workload: Workload,
    config: &RunConfig,
    progress: Option<Progress<'_>>,
) -> Result<RunResult, RunError> {
    let mut model = ClusterSim::new(spec, workload, config)?;
    let streams = RngStreams::new(config.seed);
    let mut sim = Simulation::new(Chooser::new(config.chooser.clone(), &streams));
    for (i, j) in model.workload.jobs.iter().enumerate() {
        sim.schedule_at(j.submit, Event::Submit(i as u32));
    }
    let stop = StopAt {
        horizon: config
            .horizon
            .map(|h| SimTime::ZERO + h)
            .unwrap_or(SimTime::MAX),
        max_events: u64::MAX,
    };
    let total = model.workload.jobs.len() as u64;
    let stats = match progress {
        Some(cb) => {
            let mut n = 0u64;
            sim.run(&mut model, stop, |now, m: &ClusterSim| {
                n += 1;
                if n.is_multiple_of(4096) {
                    let done = m
                        .state
                        .jobs
                        .iter()
                        .filter(|j| matches!(j.phase, JobPhase::Completed { .. }))
                        .count() as u64;
                    cb(now, done, total);
                }
                true
            })
        }
        None => sim.run(&mut model, stop, |_, _| true),
    };
    if let Some(v) = model.invariant_violation.take() {
        return Err(RunError::Invariant(v));
    }
    model.state.usage.advance(stats.now);
    let chooser = sim.chooser();
    Ok(collect(
        model,
        stats,
        config,
        (chooser.decisions(), chooser.fingerprint()),
    ))
}

/// A run that could not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("simulation invariant violated: {0}")]
    Invariant(String),
}

fn collect(
    m: ClusterSim,
    stats: sim_core::RunStats,
    config: &RunConfig,
    (choices, choices_fingerprint): (u64, u64),
) -> RunResult {
    let drained = stats.reason == StopReason::Drained;
    let jobs = m
        .workload
        .jobs
        .iter()
        .zip(&m.state.jobs)
        .map(|(spec, st)| {
            let (start, end, outcome) = match st.phase {
                JobPhase::Completed { start, end } => (Some(start), Some(end), Outcome::Completed),
                JobPhase::Running { start } => (Some(start), None, Outcome::Running),
                JobPhase::NotSubmitted => (None, None, Outcome::NotSubmitted),
                JobPhase::Waiting if st.bound == 0 => (None, None, Outcome::Pending),
                JobPhase::Waiting if drained => (None, None, Outcome::Stuck),
                JobPhase::Waiting => (None, None, Outcome::PartiallyPlaced),
            };
            let nodes = match st.phase {
                JobPhase::Running { .. } | JobPhase::Completed { .. } => st.nodes_at_start,
                _ => st
                    .placements
                    .iter()
                    .flatten()
                    .map(|p| p.node)
                    .collect::<BTreeSet<u32>>()
                    .len() as u32,
            };
            JobRecord {
                id: spec.id.clone(),
                submit: spec.submit,
                start,
                end,
                gpu_milli: spec.gpu_milli(),
                pods: spec.pods.len() as u32,
                pods_bound: st.bound,
                nodes,
                trace_gpu_hours: spec.gpu_hours(),
                outcome,
            }
        })
        .collect();
    RunResult {
        jobs,
        total_gpu_milli: m.spec.total_gpus() * 1000,
        nodes: m.spec.nodes.len() as u32,
        stop: match stats.reason {
            StopReason::Drained => "drained",
            StopReason::Horizon => "horizon",
            StopReason::Requested => "requested",
            StopReason::EventBudget => "event_budget",
        }
        .to_string(),
        end_time: stats.now,
        first_submit: m.state.first_submit.unwrap_or(SimTime::ZERO),
        usage: m.state.usage.clone(),
        events: stats.events,
        preemptions: 0,
        choices,
        choices_fingerprint,
        engine_fingerprint: stats.fingerprint,
        seed: config.seed,
        policy: config.scheduler.policy.name().to_string(),
    }
}
