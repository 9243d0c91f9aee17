//! Deadlock-freedom verification: explore the choice points of a run.
//!
//! Every nondeterministic decision of a run goes through the `Chooser`: the order of
//! simultaneous events (`SimultaneousOrder::Chooser`, with completions treated as
//! commuting), the order in which the pods of jobs created together reach the scheduler
//! (`PodOrder::Random`), ties between equally scored nodes (interchangeable nodes merged:
//! symmetry reduction), and optionally a jitter of each arrival. A *schedule* is one
//! sequence of answers; it replays exactly from its choice list.
//!
//! * **Random mode** runs N schedules from seeds `seed, seed+1, …` in parallel (rayon) and
//!   reports the lowest-numbered violating schedule, so the answer does not depend on the
//!   number of cores.
//! * **Exhaustive mode** enumerates choice sequences depth first (each run follows a
//!   scripted prefix, then the first alternative everywhere), skipping any branch that
//!   reaches a state already explored (time-invariant state fingerprints, see
//!   `ClusterSim::abstract_hash`) and closing any run that returns to a state it passed
//!   through (a cycle: a schedule that can repeat for ever). When nothing is left to
//!   enumerate within the bounds, coverage is complete.
//!
//! A **deadlock** is what the run's detector reports (`sim::detect`); a **livelock** is a
//! cycle through a state in which some job is waiting (the schedule can repeat for ever
//! without that job running).

mod failures;
pub mod interrupt;
mod shrink;
pub mod snapshot;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sim_core::{
    Choice, Chooser, ChooserMode, Probe, RngStreams, SimDuration, SimTime, Simulation,
    SimultaneousOrder, StopAt,
};

use crate::cluster::ClusterSpec;
use crate::sim::{
    ClusterSim, Event, JobPhase, JobSymmetry, ModelError, PodOrder, RunConfig, RuntimeSnapshot,
    SimState,
};
use crate::workload::Workload;

pub use failures::{InjectedFailure, nodes_merged, unsupported};
pub use shrink::{
    MitigationBudget, MitigationCheck, MitigationResult, Shrunk, mitigations, shrink,
};
pub use snapshot::{Snapshot, to_dot};

/// What is verified: a cluster, a workload and a configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub name: String,
    pub spec: ClusterSpec,
    pub workload: Workload,
    pub config: RunConfig,
}

/// Which choice points exploration uses, and per-schedule limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExploreOptions {
    /// The order of simultaneous events is a choice point.
    pub event_order: bool,
    /// The interleaving of pods of jobs created at the same instant is a choice point.
    pub pod_order: bool,
    /// Arrival jitter: each job's submit time moves later by one of `jitter_steps + 1`
    /// evenly spaced offsets in `[0, jitter]`.
    pub jitter: Option<SimDuration>,
    pub jitter_steps: u32,
    /// Events per schedule before it counts as inconclusive.
    pub max_events: u64,
    /// Failures as a choice point (`verify --fail-nodes N`): at the end of every instant
    /// the explorer may fail one Ready node, up to this many per schedule (0: off).
    #[serde(skip_serializing_if = "failures::is_zero")]
    pub failures: u32,
    /// Repair time of an injected failure (`--mttr`); `None`: the node stays failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mttr: Option<SimDuration>,
}

impl Default for ExploreOptions {
    fn default() -> Self {
        ExploreOptions {
            event_order: true,
            pod_order: true,
            jitter: None,
            jitter_steps: 2,
            max_events: 2_000_000,
            failures: 0,
            mttr: None,
        }
    }
}

/// How to search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `schedules` seeded schedules, seeds `seed..seed+schedules`.
    Random { schedules: u64, seed: u64 },
    /// Every choice sequence, up to `max_schedules` runs; choices after the first
    /// `max_depth` take the first alternative.
    Exhaustive {
        max_schedules: u64,
        max_depth: Option<u64>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    Deadlock,
    Livelock,
}

impl ViolationKind {
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::Deadlock => "deadlock",
            ViolationKind::Livelock => "livelock",
        }
    }
}

/// A violation seen in one schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub kind: ViolationKind,
    /// Simulated time it was detected.
    pub time: SimTime,
    /// For a cycle: when the run was first in the repeated state.
    pub since: Option<SimTime>,
    pub jobs: Vec<String>,
    pub detail: String,
    pub snapshot: Snapshot,
    /// Failures the explorer injected on this schedule before the violation
    /// (`--fail-nodes`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injected_failures: Vec<InjectedFailure>,
}

/// How one schedule ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleEnd {
    /// Nothing left to happen.
    Drained,
    /// Reached a state explored before (exhaustive mode).
    Pruned,
    /// Returned to a state it passed through.
    Cycle,
    Violation,
    /// Past the horizon.
    Horizon,
    /// Hit `max_events`, or took four times as many model steps (instant ends that kept
    /// scheduling work without an event being handled): ended early, inconclusive.
    EventBudget,
    /// The model's own no-progress guard stopped it (too many events at one instant, or a
    /// Kueue admission pass that kept flapping; `ScheduleRun::guard` says when and why):
    /// ended early, inconclusive — neither a finished schedule nor a violation.
    Guard,
    /// The model reported a broken invariant (`--check-invariants`; `ScheduleRun::invariant`
    /// says which): the exploration stops with [`VerifyError::Invariant`].
    Invariant,
    /// An interrupt was requested ([`interrupt`]) while the schedule ran: it is not
    /// counted, and the exploration stops.
    Interrupted,
}

/// One schedule's run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRun {
    pub choices: Vec<Choice>,
    pub end: ScheduleEnd,
    pub violation: Option<Violation>,
    pub events: u64,
    pub engine_fingerprint: u64,
    /// Closed instants at which a new state was recorded.
    pub new_states: u64,
    /// [`ScheduleEnd::Guard`]: when the model's no-progress guard tripped, and why.
    #[serde(default)]
    pub guard: Option<(SimTime, String)>,
    /// [`ScheduleEnd::Invariant`]: the invariant the model reported broken.
    #[serde(default)]
    pub invariant: Option<String>,
}

/// Errors before exploring.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("witness: {0}")]
    Witness(String),
    /// A scenario feature whose state the explorer cannot snapshot and fingerprint:
    /// refused rather than verified with that state silently left out.
    #[error("{field}: {msg}")]
    Unsupported { field: String, msg: String },
    /// A schedule broke a model invariant (`--check-invariants`): a bug in the model, not a
    /// property of the scenario; nothing is claimed for the exploration.
    #[error(
        "simulation invariant violated in schedule #{schedule}{} after {} choices (`{}`): {message}",
        seed.map(|s| format!(" (seed {s})")).unwrap_or_default(),
        choices.len(),
        choices.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
    )]
    Invariant {
        /// 0-based index of the schedule in exploration order (0 for a replayed witness).
        schedule: u64,
        /// Random mode: the schedule's seed.
        seed: Option<u64>,
        /// The schedule's choice list (replays it).
        choices: Vec<u32>,
        message: String,
    },
}

impl VerifyError {
    /// The error for a schedule that ended on a broken invariant, if it did.
    fn of_invariant(r: &ScheduleRun, schedule: u64, seed: Option<u64>) -> Option<VerifyError> {
        (r.end == ScheduleEnd::Invariant).then(|| VerifyError::Invariant {
            schedule,
            seed,
            choices: r.choices.iter().map(|c| c.picked).collect(),
            message: r
                .invariant
                .clone()
                .unwrap_or_else(|| "(no detail)".to_string()),
        })
    }
}

/// Exhaustive-mode bookkeeping shared across runs.
#[derive(Default)]
struct Visited {
    /// State fingerprint → fewest decisions at which it was reached.
    map: BTreeMap<u64, u64>,
    /// Depth unbounded: a state seen before is pruned however it was reached (with a
    /// depth bound, one reached in fewer decisions is explored again, as it has more
    /// choices left within the bound).
    prune_any: bool,
    /// The explored state graph: (from, to) for every step between closed instants, and
    /// the states in which some job is waiting. Pruning can hide a cycle from the runs
    /// (one through a state first explored on another branch); the graph still has it.
    edges: Vec<(u64, u64)>,
    waiting: BTreeSet<u64>,
}

impl Visited {
    /// Cycles (strongly connected parts with an edge inside) of the explored state graph
    /// that pass through a state with a waiting job.
    fn waiting_cycles(&self) -> u64 {
        use petgraph::graphmap::DiGraphMap;
        let mut g: DiGraphMap<u64, ()> = DiGraphMap::new();
        for &(a, b) in &self.edges {
            g.add_edge(a, b, ());
        }
        petgraph::algo::tarjan_scc(&g)
            .iter()
            .filter(|scc| scc.len() > 1 || g.contains_edge(scc[0], scc[0]))
            .filter(|scc| scc.iter().any(|h| self.waiting.contains(h)))
            .count() as u64
    }
}

/// A point on the current exhaustive-mode path to continue from: the run as it was at
/// the end of an instant, after `decisions` choices.
struct Snap {
    decisions: u64,
    /// Taken where a failure may be injected (`--fail-nodes`): that choice comes first
    /// when a run continues from here.
    failure_point: bool,
    state: SimState,
    /// The network model and seeded failure streams, kept outside `SimState`.
    runtime: Option<RuntimeSnapshot>,
    invariant_violation: Option<String>,
    sim: Simulation<Event>,
    path_len: usize,
}

/// One schedule in progress: the model, the engine, and the states it passed through.
struct Runner {
    model: ClusterSim,
    sim: Simulation<Event>,
    classes: Option<JobSymmetry>,
    horizon: Option<SimTime>,
    stop: StopAt,
    /// Fingerprints of the closed instants of this path, in order, and when each was.
    path: Vec<u64>,
    on_path: BTreeMap<u64, SimTime>,
    /// Exhaustive mode: take snapshots to continue from (`snaps` stack).
    snapshots: bool,
    snaps: Vec<Snap>,
    /// Stop (ending [`ScheduleEnd::Interrupted`]) when an interrupt is requested.
    interruptible: bool,
    /// `--fail-nodes` and `--mttr`.
    failures: u32,
    mttr: Option<SimDuration>,
}

impl Runner {
    /// Set up a run of `p` with the chooser in `mode`.
    fn new(
        p: &Problem,
        opts: &ExploreOptions,
        mode: ChooserMode,
        exhaustive: bool,
        seed: u64,
        symmetry: bool,
    ) -> Result<Runner, ModelError> {
        let streams = RngStreams::new(seed);
        let mut chooser = Chooser::new(mode, &streams);
        chooser.start_recording();
        let mut workload = p.workload.clone();
        if let Some(j) = opts.jitter {
            let steps = u64::from(opts.jitter_steps.max(1));
            for job in &mut workload.jobs {
                let k = chooser.choose(steps as usize + 1) as u64;
                job.submit = SimTime(job.submit.0 + j.as_nanos() / steps * k);
            }
        }
        let mut config = p.config.clone();
        // Merging interchangeable nodes shrinks the space exhaustive mode must cover;
        // random mode samples ties uniformly instead (cheaper, same outcomes up to
        // symmetry). Not when a node's index decides its future: listed node events name
        // nodes, and the autoscaler adds the lowest-index absent node and removes the
        // highest-index unneeded one first.
        config.reduce_symmetry = symmetry && !failures::nodes_distinguished(&config);
        // Injected failures need the fault model's accounting (restart from the last
        // checkpoint, or from zero).
        if opts.failures > 0 && config.faults.is_none() {
            config.faults = Some(crate::sim::FaultConfig::default());
        }
        if opts.pod_order {
            config.pod_order = PodOrder::Random;
        }
        config.detect.starvation_after = None;
        // Cycles are found exactly from the state; the run's release count is not needed.
        config.detect.livelock_releases = 0;
        let model = ClusterSim::new(p.spec.clone(), workload, &config)?;
        // Exhaustive mode also merges states that differ only by which of two identical
        // jobs is which (needs the order of simultaneous events to be a choice point).
        let classes = if exhaustive
            && opts.event_order
            && opts.jitter.is_none()
            && failures::jobs_interchangeable(&config)
        {
            model.job_symmetry_classes()
        } else {
            None
        };
        let mut sim = Simulation::new(chooser);
        if opts.event_order {
            sim.set_simultaneous_order(SimultaneousOrder::Chooser);
        }
        for (i, j) in model.workload.jobs.iter().enumerate() {
            // Replica slots are submitted by the serving controller.
            if !model.is_replica_slot(i as u32) {
                sim.schedule_at(j.submit, Event::Submit(i as u32));
            }
        }
        let mut model = model;
        model.schedule_serving_events(&mut sim);
        model.schedule_node_events(&mut sim);
        let horizon = config.horizon.map(|h| SimTime::ZERO + h);
        let stop = StopAt {
            horizon: horizon.unwrap_or(SimTime::MAX),
            max_events: opts.max_events,
        };
        // The network model's, seeded streams' and serving controller's run-time state is
        // snapshotted with `SimState` (`ClusterSim::runtime_snapshot`).
        let snapshots = exhaustive;
        let mut r = Runner {
            model,
            sim,
            classes,
            horizon,
            stop,
            path: Vec::new(),
            on_path: BTreeMap::new(),
            snapshots,
            snaps: Vec::new(),
            interruptible: false,
            failures: opts.failures,
            mttr: opts.mttr,
        };
        r.push_snap(false);
        Ok(r)
    }

    fn push_snap(&mut self, failure_point: bool) {
        if self.snapshots {
            self.snaps.push(Snap {
                decisions: self.sim.chooser().decisions(),
                failure_point,
                state: self.model.state.clone(),
                runtime: self.model.runtime_snapshot(),
                invariant_violation: self.model.invariant_violation.clone(),
                sim: self.sim.clone(),
                path_len: self.path.len(),
            });
        }
    }

    /// Go back to the latest snapshot taken after at most `k` decisions and follow
    /// `script` from there. False when there is none (the run must start afresh).
    fn restore(&mut self, k: u64, script: Vec<u32>) -> bool {
        while self.snaps.last().is_some_and(|s| s.decisions > k) {
            self.snaps.pop();
        }
        let Some(s) = self.snaps.last() else {
            return false;
        };
        self.model
            .restore_state(s.state.clone(), s.invariant_violation.clone());
        if let Some(rt) = &s.runtime {
            self.model.restore_runtime(rt.clone());
        }
        self.sim = s.sim.clone();
        self.sim
            .chooser_mut()
            .set_mode(ChooserMode::Scripted(script));
        let failure_point = s.failure_point;
        for h in self.path.drain(s.path_len..) {
            self.on_path.remove(&h);
        }
        if failure_point {
            self.inject_failure();
        }
        true
    }

    /// At a failure point: the choice whether to fail a node now, and which one.
    fn inject_failure(&mut self) {
        let nodes = failures::candidates(&self.model, self.failures);
        if nodes.is_empty() || self.sim.chooser_mut().choose(2) == 0 {
            return;
        }
        let k = self.sim.chooser_mut().choose(nodes.len());
        self.model
            .inject_failure(&mut self.sim, nodes[k], self.mttr);
    }

    /// Run on to the end of the schedule. `prefix_len`: decisions that replay an already
    /// explored path (states seen before that point are not pruned); `visited`:
    /// exhaustive-mode state table.
    fn drive(&mut self, prefix_len: u64, mut visited: Option<&mut Visited>) -> ScheduleRun {
        let mut end: Option<ScheduleEnd> = None;
        let mut violation: Option<Violation> = None;
        let mut new_states = 0u64;
        // Model steps (events handled and instant ends) this schedule may take: the event
        // budget bounds events, this bounds an instant that keeps scheduling and
        // cancelling work without an event being handled (no progress), so every schedule
        // ends on its own whatever the model does between events.
        let step_budget = self.stop.max_events.saturating_mul(4).saturating_add(1024);
        let mut steps = 0u64;
        let stats = loop {
            let Runner {
                model,
                sim,
                classes,
                horizon,
                stop,
                path,
                on_path,
                snapshots,
                snaps,
                interruptible,
                failures,
                mttr: _,
            } = self;
            let last_snap = snaps.last().map_or(0, |s| s.decisions);
            let mut pause = false;
            let mut inject = false;
            let stats = sim.run_probed(model, *stop, |probe: &Probe<'_, Event>, m| {
                steps += 1;
                // A broken invariant or a tripped no-progress guard ends the schedule before
                // anything is read from its state (a guard can trip mid-instant, leaving a
                // half-done admission pass that must not count as a deadlock or a state).
                if m.invariant_violation.is_some() || m.dra_violation.is_some() {
                    end = Some(ScheduleEnd::Invariant);
                    return false;
                }
                if m.guard.is_some() {
                    end = Some(ScheduleEnd::Guard);
                    return false;
                }
                if steps > step_budget {
                    end = Some(ScheduleEnd::EventBudget);
                    return false;
                }
                // A long schedule does not keep an interrupt waiting.
                if *interruptible && steps.is_multiple_of(1024) && interrupt::interrupted() {
                    end = Some(ScheduleEnd::Interrupted);
                    return false;
                }
                if !probe.instant_closed {
                    return true;
                }
                if let Some(d) = m.state.detect.deadlocks.first() {
                    violation = Some(violation_of(
                        m,
                        ViolationKind::Deadlock,
                        d.time,
                        None,
                        &d.jobs,
                    ));
                    end = Some(ScheduleEnd::Violation);
                    return false;
                }
                // `--fail-nodes`: the run pauses here for the failure choice (which changes
                // the state only after it is recorded below).
                let offer = *failures > 0 && !failures::candidates(m, *failures).is_empty();
                // Without state pruning, only a state with every job submitted and none
                // running can ever come back (pending arrivals and running jobs count
                // down), so random mode hashes only those.
                if visited.is_none() && !m.could_repeat() {
                    inject = offer;
                    return !offer;
                }
                let pending = probe.queue.pending();
                let h = match classes {
                    Some(c) => m.abstract_hash_symmetric(probe.now, &pending, *horizon, c),
                    None => m.abstract_hash(probe.now, &pending, *horizon),
                };
                if let Some(v) = visited.as_deref_mut()
                    && probe.decisions >= prefix_len
                    && let Some(&prev) = path.last()
                {
                    v.edges.push((prev, h));
                }
                if let Some(&since) = on_path.get(&h) {
                    end = Some(ScheduleEnd::Cycle);
                    let waiting: Vec<u32> = m
                        .state
                        .jobs
                        .iter()
                        .enumerate()
                        .filter(|(_, js)| js.phase == JobPhase::Waiting)
                        .map(|(j, _)| j as u32)
                        .collect();
                    if !waiting.is_empty() {
                        violation = Some(violation_of(
                            m,
                            ViolationKind::Livelock,
                            probe.now,
                            Some(since),
                            &waiting,
                        ));
                    }
                    return false;
                }
                path.push(h);
                on_path.insert(h, probe.now);
                if let Some(v) = visited.as_deref_mut()
                    && probe.decisions >= prefix_len
                {
                    match v.map.get(&h) {
                        Some(&d) if v.prune_any || d <= probe.decisions => {
                            end = Some(ScheduleEnd::Pruned);
                            return false;
                        }
                        _ => {
                            v.map.insert(h, probe.decisions);
                            new_states += 1;
                            if m.state.jobs.iter().any(|js| js.phase == JobPhase::Waiting) {
                                v.waiting.insert(h);
                            }
                        }
                    }
                    // A new state after new choices: worth a snapshot to branch from.
                    if *snapshots
                        && probe.decisions > last_snap
                        && m.invariant_violation.is_none()
                        && m.dra_violation.is_none()
                    {
                        pause = true;
                        inject = offer;
                        return false;
                    }
                }
                inject = offer;
                !offer
            });
            if pause {
                self.push_snap(inject);
            }
            if inject {
                self.inject_failure();
            }
            if pause || inject {
                continue;
            }
            break stats;
        };
        let invariant = self
            .model
            .dra_violation
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| self.model.invariant_violation.clone());
        let guard = self.model.guard.clone();
        let end = if invariant.is_some() {
            ScheduleEnd::Invariant
        } else if guard.is_some() && end != Some(ScheduleEnd::Violation) {
            ScheduleEnd::Guard
        } else {
            end.unwrap_or(match stats.reason {
                sim_core::StopReason::Drained => ScheduleEnd::Drained,
                // Only the model's guard and broken invariants (handled above) stop a
                // schedule on request besides this loop's own probe.
                sim_core::StopReason::Requested => ScheduleEnd::Drained,
                sim_core::StopReason::Horizon => ScheduleEnd::Horizon,
                sim_core::StopReason::EventBudget => ScheduleEnd::EventBudget,
            })
        };
        ScheduleRun {
            choices: self
                .sim
                .chooser()
                .recorded()
                .map(<[Choice]>::to_vec)
                .unwrap_or_default(),
            end,
            violation,
            events: stats.events,
            engine_fingerprint: stats.fingerprint,
            new_states,
            guard: if end == ScheduleEnd::Guard {
                guard
            } else {
                None
            },
            invariant,
        }
    }
}

/// Run one schedule from the start (random mode, replay). `interruptible`: end it
/// early ([`ScheduleEnd::Interrupted`]) when an interrupt is requested.
fn run_schedule(
    p: &Problem,
    opts: &ExploreOptions,
    mode: ChooserMode,
    prefix_len: u64,
    seed: u64,
    symmetry: bool,
    interruptible: bool,
) -> Result<ScheduleRun, ModelError> {
    let mut r = Runner::new(p, opts, mode, false, seed, symmetry)?;
    r.interruptible = interruptible;
    Ok(r.drive(prefix_len, None))
}

/// The jobs of `p` that cannot run even alone on its cluster (under its policy and
/// configuration): one seeded schedule of the job by itself must get it running, and an
/// exhaustive search of the job by itself (up to 2,000 schedules) must show neither a
/// deadlock nor a livelock. A violation involving such a job is not contention between
/// jobs: the job never fits (a pod larger than every node, a quota below its size, a
/// placement that strands its own pods).
pub fn jobs_unable_to_run_alone(p: &Problem, opts: &ExploreOptions) -> Vec<String> {
    (0..p.workload.jobs.len())
        .filter(|&j| !runs_alone(p, opts, j))
        .map(|j| p.workload.jobs[j].id.clone())
        .collect()
}

pub(crate) fn runs_alone(p: &Problem, opts: &ExploreOptions, job: usize) -> bool {
    let mut alone = p.clone();
    alone.workload.jobs = vec![p.workload.jobs[job].clone()];
    let Ok(mut rn) = Runner::new(
        &alone,
        opts,
        ChooserMode::Seeded,
        false,
        alone.config.seed,
        false,
    ) else {
        return false;
    };
    let r = rn.drive(0, None);
    let started = rn
        .model
        .state
        .jobs
        .first()
        .is_some_and(|js| matches!(js.phase, JobPhase::Running | JobPhase::Completed { .. }));
    if !started
        || r.violation.is_some()
        || matches!(
            r.end,
            ScheduleEnd::EventBudget | ScheduleEnd::Guard | ScheduleEnd::Invariant
        )
    {
        return false;
    }
    let mode = Mode::Exhaustive {
        max_schedules: 2_000,
        max_depth: None,
    };
    explore_with(&alone, opts, &mode, &|_, _| {}, false)
        .is_ok_and(|e| e.deadlock_found.is_none() && e.livelock_found.is_none())
}

fn violation_of(
    m: &ClusterSim,
    kind: ViolationKind,
    time: SimTime,
    since: Option<SimTime>,
    jobs: &[u32],
) -> Violation {
    let ids: Vec<String> = jobs
        .iter()
        .map(|&j| m.workload.jobs[j as usize].id.clone())
        .collect();
    let detail = match (kind, since) {
        (ViolationKind::Deadlock, _) => format!(
            "{} hold resources that no future completion, timeout or preemption can release",
            ids.join(", ")
        ),
        (ViolationKind::Livelock, Some(s)) => format!(
            "the state at {} repeats at {} with {} waiting: this schedule can repeat for ever",
            s,
            time,
            ids.join(", ")
        ),
        (ViolationKind::Livelock, None) => format!(
            "{} reserved and released over and over without running",
            ids.join(", ")
        ),
    };
    let injected_failures = failures::injected(m);
    let detail = if injected_failures.is_empty() {
        detail
    } else {
        format!("{detail}; after {}", failures::describe(&injected_failures))
    };
    Violation {
        kind,
        time,
        since,
        jobs: ids,
        detail,
        snapshot: snapshot::snapshot(m, jobs),
        injected_failures,
    }
}

/// Evidence that an exhaustive exploration covered every reachable state under the
/// modelled choice points: no schedule budget, event budget, depth bound or horizon cut
/// it short. Only [`explore`] makes one, so [`Verdict::Verified`] cannot be built from
/// anything less.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompleteCoverage {
    _private: (),
}

/// Verdict for one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Exhaustive exploration with complete coverage found none: within the model, there
    /// is none.
    Verified(CompleteCoverage),
    /// A schedule shows one (with a replayable witness).
    Violation,
    /// None found in the schedules explored, which were not all of them by design (random
    /// mode samples; `--max-depth` or the scenario's horizon bounds each schedule): not a
    /// proof.
    NoneFound,
    /// A limit stopped the search before it could claim anything: the schedule budget ran
    /// out before coverage was complete, an interrupt (Ctrl-C) stopped it, a schedule hit
    /// its event budget or the model's no-progress guard, or (livelock)
    /// the explored state graph has a cycle no run closed.
    Inconclusive,
}

impl Verdict {
    /// `VERIFIED`, `VIOLATION`, `NO VIOLATION FOUND` or `INCONCLUSIVE`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Verified(_) => "VERIFIED",
            Verdict::Violation => "VIOLATION",
            Verdict::NoneFound => "NO VIOLATION FOUND",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }

    /// The verdict in `verify.json`: `VERIFIED`, `VIOLATION`, `NONE_FOUND`, `INCONCLUSIVE`.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Verified(_) => "VERIFIED",
            Verdict::Violation => "VIOLATION",
            Verdict::NoneFound => "NONE_FOUND",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }

    pub fn is_verified(self) -> bool {
        matches!(self, Verdict::Verified(_))
    }
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// What was explored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub schedules: u64,
    /// Distinct states recorded (exhaustive mode).
    pub distinct_states: u64,
    /// Most choices made by one schedule.
    pub max_depth_reached: u64,
    /// Exhaustive mode: every choice sequence within the bounds was covered.
    pub complete: bool,
    /// Choices past `max_depth` took the first alternative only.
    pub depth_bound_hit: bool,
    /// The schedule budget ran out before the space was covered.
    pub budget_exhausted: bool,
    /// An interrupt (Ctrl-C) stopped the exploration: it covers only the schedules
    /// finished before it.
    #[serde(default)]
    pub interrupted: bool,
    /// Schedules that hit `max_events` (each ended early: nothing can be claimed for it).
    pub event_budget_hits: u64,
    /// Schedules the model's own no-progress guard stopped (each ended early: nothing can
    /// be claimed for it).
    #[serde(default)]
    pub guard_hits: u64,
    /// The first of them, in exploration order.
    #[serde(default)]
    pub first_guard: Option<GuardHit>,
    /// Schedules stopped at the scenario's horizon (coverage then holds up to it only).
    #[serde(default)]
    pub horizon_hits: u64,
    pub pruned: u64,
    pub cycles: u64,
    /// Exhaustive mode: cycles of the explored state graph through a state with a waiting
    /// job. With none closed by a run (no witness), they make the livelock verdict
    /// INCONCLUSIVE.
    #[serde(default)]
    pub state_graph_cycles: u64,
}

/// A schedule stopped by the model's no-progress guard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardHit {
    /// 0-based index of the schedule in exploration order.
    pub schedule: u64,
    /// Random mode: the schedule's seed.
    pub seed: Option<u64>,
    /// Simulated time the guard tripped.
    pub time: SimTime,
    /// The guard's own explanation.
    pub why: String,
}

/// A violation found, with how to replay it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// Random mode: the schedule's seed.
    pub seed: Option<u64>,
    /// 0-based index of the schedule in exploration order.
    pub schedule: u64,
    pub choices: Vec<u32>,
    pub violation: Violation,
    pub engine_fingerprint: u64,
    /// Found with interchangeable nodes merged (exhaustive mode).
    pub symmetry: bool,
}

/// The result of exploring one problem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exploration {
    pub deadlock: Verdict,
    pub livelock: Verdict,
    pub coverage: Coverage,
    /// The first deadlock (exploration stops there).
    pub deadlock_found: Option<Found>,
    /// The first livelock (exploration goes on).
    pub livelock_found: Option<Found>,
}

impl Exploration {
    pub fn first(&self) -> Option<&Found> {
        self.deadlock_found
            .as_ref()
            .or(self.livelock_found.as_ref())
    }
}

fn record(cov: &mut Coverage, r: &ScheduleRun, seed: Option<u64>) {
    if r.end == ScheduleEnd::Guard {
        cov.guard_hits += 1;
        if cov.first_guard.is_none()
            && let Some((time, why)) = &r.guard
        {
            cov.first_guard = Some(GuardHit {
                schedule: cov.schedules,
                seed,
                time: *time,
                why: why.clone(),
            });
        }
    }
    cov.schedules += 1;
    cov.distinct_states += r.new_states;
    cov.max_depth_reached = cov.max_depth_reached.max(r.choices.len() as u64);
    match r.end {
        ScheduleEnd::EventBudget => cov.event_budget_hits += 1,
        ScheduleEnd::Horizon => cov.horizon_hits += 1,
        ScheduleEnd::Pruned => cov.pruned += 1,
        ScheduleEnd::Cycle => cov.cycles += 1,
        _ => {}
    }
}

fn found(r: &ScheduleRun, seed: Option<u64>, schedule: u64) -> Option<Found> {
    r.violation.as_ref().map(|v| Found {
        seed,
        schedule,
        choices: r.choices.iter().map(|c| c.picked).collect(),
        violation: v.clone(),
        engine_fingerprint: r.engine_fingerprint,
        symmetry: seed.is_none(),
    })
}

/// Explore `p` per `mode`. `progress(done, total)` is called as schedules finish.
///
/// An interrupt ([`interrupt::request_interrupt`]) stops the exploration at its next
/// check (between schedules, and every 1,024 model steps inside one): the schedule it cut
/// is not counted, `Coverage::interrupted` is set, and the verdicts rest on the schedules
/// finished before it (never VERIFIED or NO VIOLATION FOUND; a violation found before it
/// is still a violation).
pub fn explore(
    p: &Problem,
    opts: &ExploreOptions,
    mode: &Mode,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Exploration, VerifyError> {
    explore_with(p, opts, mode, progress, true)
}

/// [`explore`], ignoring interrupts unless `interruptible`. The searches of shrinking and
/// of the run-alone check are not cut (an answer they give is used as a fact, so it must
/// be whole, and each is bounded; shrinking checks for an interrupt between candidates);
/// a mitigation re-check is cut, and then left out whole.
pub(crate) fn explore_with(
    p: &Problem,
    opts: &ExploreOptions,
    mode: &Mode,
    progress: &(dyn Fn(u64, u64) + Sync),
    interruptible: bool,
) -> Result<Exploration, VerifyError> {
    let stop_requested = || interruptible && interrupt::interrupted();
    if let Some(e) = unsupported(p) {
        return Err(e);
    }
    // Configuration errors surface once, before exploring.
    ClusterSim::new(p.spec.clone(), p.workload.clone(), &p.config)?;
    let mut cov = Coverage::default();
    let mut dl: Option<Found> = None;
    let mut ll: Option<Found> = None;
    match *mode {
        Mode::Random { schedules, seed } => {
            let batch = (rayon::current_num_threads() as u64 * 4).max(4);
            let mut start = 0u64;
            while start < schedules && dl.is_none() {
                if stop_requested() {
                    cov.interrupted = true;
                    break;
                }
                let end = (start + batch).min(schedules);
                let runs: Vec<Result<ScheduleRun, ModelError>> = (start..end)
                    .into_par_iter()
                    .map(|i| {
                        let s = seed.wrapping_add(i);
                        run_schedule(p, opts, ChooserMode::Seeded, 0, s, false, interruptible)
                    })
                    .collect();
                for (k, r) in runs.into_iter().enumerate() {
                    let r = r?;
                    let i = start + k as u64;
                    // The schedules before the first one cut count; none after it does
                    // (what is reported is always a prefix of the seeds).
                    if r.end == ScheduleEnd::Interrupted {
                        cov.interrupted = true;
                        break;
                    }
                    if let Some(e) = VerifyError::of_invariant(&r, i, Some(seed.wrapping_add(i))) {
                        return Err(e);
                    }
                    record(&mut cov, &r, Some(seed.wrapping_add(i)));
                    let f = found(&r, Some(seed.wrapping_add(i)), i);
                    match r.violation.as_ref().map(|v| v.kind) {
                        Some(ViolationKind::Deadlock) if dl.is_none() => dl = f,
                        Some(ViolationKind::Livelock) if ll.is_none() => ll = f,
                        _ => {}
                    }
                    if dl.is_some() {
                        break;
                    }
                }
                if cov.interrupted {
                    break;
                }
                start = end;
                progress(cov.schedules, schedules);
            }
        }
        Mode::Exhaustive {
            max_schedules,
            max_depth,
        } => {
            let mut visited = Visited {
                prune_any: max_depth.is_none(),
                ..Visited::default()
            };
            let mut prefix: Vec<u32> = Vec::new();
            let depth = max_depth.unwrap_or(u64::MAX);
            // Each schedule continues from the latest snapshot on the path it shares with
            // the previous one, instead of replaying that path from the start.
            let mut runner: Option<Runner> = None;
            loop {
                if cov.schedules >= max_schedules {
                    cov.budget_exhausted = true;
                    break;
                }
                if stop_requested() {
                    cov.interrupted = true;
                    break;
                }
                let bumped = prefix.len().saturating_sub(1) as u64;
                let fresh = || {
                    Runner::new(
                        p,
                        opts,
                        ChooserMode::Scripted(prefix.clone()),
                        true,
                        p.config.seed,
                        true,
                    )
                };
                let mut rn = match runner.take() {
                    Some(mut rn) if !prefix.is_empty() => {
                        if rn.restore(bumped, prefix.clone()) {
                            rn
                        } else {
                            fresh()?
                        }
                    }
                    _ => fresh()?,
                };
                rn.interruptible = interruptible;
                let r = rn.drive(prefix.len() as u64, Some(&mut visited));
                runner = Some(rn);
                if r.end == ScheduleEnd::Interrupted {
                    cov.interrupted = true;
                    break;
                }
                if let Some(e) = VerifyError::of_invariant(&r, cov.schedules, None) {
                    return Err(e);
                }
                record(&mut cov, &r, None);
                let i = cov.schedules - 1;
                match r.violation.as_ref().map(|v| v.kind) {
                    Some(ViolationKind::Deadlock) => {
                        dl = found(&r, None, i);
                        break;
                    }
                    Some(ViolationKind::Livelock) if ll.is_none() => ll = found(&r, None, i),
                    _ => {}
                }
                if r.choices.len() as u64 > depth
                    && r.choices[depth as usize..].iter().any(|c| c.among > 1)
                {
                    cov.depth_bound_hit = true;
                }
                // Next sequence: bump the last choice (within the depth bound) that has an
                // untried alternative.
                let lim = r.choices.len().min(depth.min(usize::MAX as u64) as usize);
                match (0..lim)
                    .rev()
                    .find(|&k| r.choices[k].picked + 1 < r.choices[k].among)
                {
                    Some(k) => {
                        prefix = r.choices[..k].iter().map(|c| c.picked).collect();
                        prefix.push(r.choices[k].picked + 1);
                    }
                    None => {
                        cov.complete = !cov.depth_bound_hit;
                        break;
                    }
                }
                if cov.schedules.is_multiple_of(256) {
                    progress(cov.schedules, max_schedules);
                }
            }
            progress(cov.schedules, cov.schedules);
            cov.state_graph_cycles = visited.waiting_cycles();
        }
    }
    let (deadlock, livelock) = verdicts(mode, &cov, dl.is_some(), ll.is_some());
    Ok(Exploration {
        deadlock,
        livelock,
        coverage: cov,
        deadlock_found: dl,
        livelock_found: ll,
    })
}

/// The verdicts a search supports: VERIFIED only from a complete exhaustive search that
/// no event budget, model guard, interrupt, depth bound or horizon cut short (and, for livelock, whose state graph
/// has no cycle through a waiting state that no run closed).
fn verdicts(mode: &Mode, cov: &Coverage, deadlock: bool, livelock: bool) -> (Verdict, Verdict) {
    let exhaustive = matches!(mode, Mode::Exhaustive { .. });
    let verdict = |found: bool, unclosed_cycle: bool| {
        if found {
            Verdict::Violation
        } else if cov.event_budget_hits > 0
            || cov.guard_hits > 0
            || cov.budget_exhausted
            || cov.interrupted
            || unclosed_cycle
        {
            Verdict::Inconclusive
        } else if exhaustive && cov.complete && !cov.depth_bound_hit && cov.horizon_hits == 0 {
            Verdict::Verified(CompleteCoverage { _private: () })
        } else if exhaustive && !cov.complete && !cov.depth_bound_hit {
            // Stopped early (at a deadlock) before the space was covered.
            Verdict::Inconclusive
        } else {
            Verdict::NoneFound
        }
    };
    (
        verdict(deadlock, false),
        verdict(livelock, exhaustive && cov.state_graph_cycles > 0),
    )
}

/// A replayable counterexample: the problem, the options and the choice list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Witness {
    pub orrery_version: String,
    pub problem: Problem,
    pub options: ExploreOptions,
    /// Seed of the run (only the chooser draws from it, and the choices are scripted).
    pub seed: u64,
    pub choices: Vec<u32>,
    /// What the schedule shows.
    pub kind: ViolationKind,
    pub time: SimTime,
    pub jobs: Vec<String>,
    pub engine_fingerprint: u64,
    /// Interchangeable nodes merged at ties (witnesses from exhaustive mode).
    pub symmetry: bool,
}

impl Witness {
    pub fn new(problem: &Problem, options: &ExploreOptions, f: &Found) -> Witness {
        Witness {
            orrery_version: env!("CARGO_PKG_VERSION").to_string(),
            problem: problem.clone(),
            options: options.clone(),
            seed: f.seed.unwrap_or(problem.config.seed),
            choices: f.choices.clone(),
            kind: f.violation.kind,
            time: f.violation.time,
            jobs: f.violation.jobs.clone(),
            engine_fingerprint: f.engine_fingerprint,
            symmetry: f.symmetry,
        }
    }
}

/// Re-run a witness exactly. Returns the schedule and whether it shows the recorded
/// violation at the recorded time with the recorded engine fingerprint.
pub fn replay(w: &Witness) -> Result<(ScheduleRun, bool), VerifyError> {
    if let Some(e) = unsupported(&w.problem) {
        return Err(e);
    }
    let r = run_schedule(
        &w.problem,
        &w.options,
        ChooserMode::Scripted(w.choices.clone()),
        u64::MAX,
        w.seed,
        w.symmetry,
        false,
    )?;
    if let Some(e) = VerifyError::of_invariant(&r, 0, None) {
        return Err(e);
    }
    let same = r
        .violation
        .as_ref()
        .is_some_and(|v| v.kind == w.kind && v.time == w.time && v.jobs == w.jobs)
        && r.engine_fingerprint == w.engine_fingerprint;
    Ok((r, same))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{JobSpec, NodeSpec, PodRequest, PolicyKind};

    /// Two 1-pod jobs at t=0 on one 1-GPU node under `policy`.
    fn tiny(policy: PolicyKind, check_invariants: bool) -> Problem {
        let mut config = RunConfig::default();
        config.scheduler.policy = policy;
        config.check_invariants = check_invariants;
        let job = |id: &str| JobSpec {
            id: id.into(),
            submit: SimTime::ZERO,
            duration: SimDuration::from_secs(100),
            pods: vec![PodRequest::gpus(1)],
            priority: 0,
            queue: None,
        };
        Problem {
            name: "tiny".into(),
            spec: ClusterSpec {
                nodes: vec![NodeSpec {
                    taints: Vec::new(),
                    name: "n0".into(),
                    pool: "gpu".into(),
                    cpu_milli: 32_000,
                    memory_mib: 1024,
                    gpus: 1,
                    gpu_model: None,
                    gpu_memory_mib: 81_920,
                    rack: 0,
                    labels: BTreeMap::new(),
                }],
            },
            workload: Workload {
                jobs: vec![job("a"), job("b")],
            },
            config,
        }
    }

    fn runner(p: &Problem) -> Runner {
        Runner::new(
            p,
            &ExploreOptions::default(),
            ChooserMode::Seeded,
            false,
            7,
            false,
        )
        .expect("valid problem")
    }

    #[test]
    fn a_schedule_cut_by_the_model_guard_ends_guard_not_drained() {
        let p = tiny(PolicyKind::Default, false);
        // Unchanged, the schedule finishes normally.
        let r = runner(&p).drive(0, None);
        assert_eq!(r.end, ScheduleEnd::Drained);
        assert_eq!(r.guard, None);
        // With the guard's per-instant budget lowered to one event, the second submission
        // at t=0 trips it; the engine stops "on request", which used to read as Drained.
        let mut rn = runner(&p);
        rn.model.instant_budget = 1;
        let r = rn.drive(0, None);
        assert_eq!(r.end, ScheduleEnd::Guard);
        let (t, why) = r.guard.clone().expect("guard recorded");
        assert_eq!(t, SimTime::ZERO);
        assert!(why.contains("no progress"), "{why}");
        let mut cov = Coverage::default();
        record(&mut cov, &r, Some(7));
        assert_eq!(cov.guard_hits, 1);
        assert_eq!(
            cov.first_guard,
            Some(GuardHit {
                schedule: 0,
                seed: Some(7),
                time: SimTime::ZERO,
                why,
            })
        );
    }

    #[test]
    fn a_guard_hit_makes_a_complete_exhaustive_search_inconclusive_never_verified() {
        let ex = Mode::Exhaustive {
            max_schedules: 10,
            max_depth: None,
        };
        let mut cov = Coverage {
            schedules: 3,
            complete: true,
            ..Coverage::default()
        };
        let (d, l) = verdicts(&ex, &cov, false, false);
        assert!(d.is_verified() && l.is_verified());
        cov.guard_hits = 1;
        assert_eq!(
            verdicts(&ex, &cov, false, false),
            (Verdict::Inconclusive, Verdict::Inconclusive)
        );
        // A violation found is still a violation.
        assert_eq!(verdicts(&ex, &cov, true, false).0, Verdict::Violation);
        // Random mode: INCONCLUSIVE rather than NO VIOLATION FOUND.
        let rnd = Mode::Random {
            schedules: 3,
            seed: 0,
        };
        assert_eq!(verdicts(&rnd, &cov, false, false).0, Verdict::Inconclusive);
    }

    #[test]
    fn a_broken_invariant_ends_the_schedule_and_is_an_error_not_a_result() {
        let p = tiny(PolicyKind::Default, true);
        let r = runner(&p).drive(0, None);
        assert_eq!(r.end, ScheduleEnd::Drained);
        assert!(VerifyError::of_invariant(&r, 0, None).is_none());
        // Corrupt the bookkeeping: the check after the first instant finds it.
        let mut rn = runner(&p);
        rn.model.state.cluster.gpu_milli_allocated += 1;
        let r = rn.drive(0, None);
        assert_eq!(r.end, ScheduleEnd::Invariant);
        let msg = r.invariant.clone().expect("invariant recorded");
        assert!(msg.contains("allocated GPU total drifted"), "{msg}");
        let e = VerifyError::of_invariant(&r, 5, Some(12)).expect("an error");
        let text = e.to_string();
        assert!(
            text.contains("invariant violated in schedule #5 (seed 12)")
                && text.contains("allocated GPU total drifted"),
            "{text}"
        );
    }
}
