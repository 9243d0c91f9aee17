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
mod search;
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
    /// `orrery merge`: the shards given are not the shards of one search.
    #[error("{0}")]
    Shards(String),
    /// A bug: the search broke its own bookkeeping.
    #[error("internal error: {0}")]
    Internal(String),
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

/// What one step of exhaustive mode ([`Runner::run_to_next_instant`]) reached.
// One is returned per step and moved once: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Reached {
    /// The end of an instant: not a state the path already passed through, and no
    /// deadlock. `offer`: a failure may be injected here (`--fail-nodes`).
    Instant {
        h: u64,
        now: SimTime,
        waiting: bool,
        offer: bool,
    },
    /// The schedule ended. `cycle`: the fingerprint of the state it returned to.
    End {
        end: ScheduleEnd,
        violation: Option<Violation>,
        cycle: Option<u64>,
        guard: Option<(SimTime, String)>,
        invariant: Option<String>,
        /// The engine's fingerprint at the end.
        fingerprint: u64,
    },
}

/// A copy of a run at the end of an instant (or at its start), to continue from.
#[derive(Clone)]
pub(super) struct Resume {
    state: SimState,
    /// The network model, seeded failure streams and serving controller, kept outside
    /// `SimState`.
    runtime: Option<RuntimeSnapshot>,
    invariant_violation: Option<String>,
    sim: Simulation<Event>,
    steps: u64,
}

/// One schedule in progress: the model, the engine, and the states it passed through.
pub(super) struct Runner {
    model: ClusterSim,
    sim: Simulation<Event>,
    classes: Option<JobSymmetry>,
    horizon: Option<SimTime>,
    stop: StopAt,
    /// Random mode: fingerprints of the closed instants of this path that could recur, and
    /// when each was.
    on_path: BTreeMap<u64, SimTime>,
    /// Stop (ending [`ScheduleEnd::Interrupted`]) when an interrupt is requested.
    interruptible: bool,
    /// `--fail-nodes` and `--mttr`.
    failures: u32,
    mttr: Option<SimDuration>,
    /// Model steps (events handled and instant ends) since the schedule started.
    steps: u64,
}

impl Runner {
    /// Set up a run of `p` with the chooser in `mode`.
    pub(super) fn new(
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
            // Replica and worker slots are submitted by their controllers.
            if !model.is_controller_slot(i as u32) {
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
        Ok(Runner {
            model,
            sim,
            classes,
            horizon,
            stop,
            on_path: BTreeMap::new(),
            interruptible: false,
            failures: opts.failures,
            mttr: opts.mttr,
            steps: 0,
        })
    }

    /// A copy of the run as it is now (the network model's, seeded streams' and serving
    /// controller's run-time state with `SimState`: `ClusterSim::runtime_snapshot`).
    pub(super) fn resume_point(&self) -> Resume {
        Resume {
            state: self.model.state.clone(),
            runtime: self.model.runtime_snapshot(),
            invariant_violation: self.model.invariant_violation.clone(),
            sim: self.sim.clone(),
            steps: self.steps,
        }
    }

    /// Put the run back where `r` was taken, to follow `script` (the choices from there
    /// on) from there.
    pub(super) fn resume(&mut self, r: &Resume, script: Vec<u32>) {
        self.model
            .restore_state(r.state.clone(), r.invariant_violation.clone());
        if let Some(rt) = &r.runtime {
            self.model.restore_runtime(rt.clone());
        }
        self.sim = r.sim.clone();
        self.steps = r.steps;
        self.follow(script);
    }

    /// Follow `script` (the choices from here on) from here on.
    pub(super) fn follow(&mut self, script: Vec<u32>) {
        self.sim.chooser_mut().follow(script);
    }

    /// The choices made since the schedule started.
    pub(super) fn choices(&self) -> &[Choice] {
        self.sim.chooser().recorded().unwrap_or_default()
    }

    /// At a failure point: the choice whether to fail a node now, and which one.
    pub(super) fn inject_failure(&mut self) {
        let nodes = failures::candidates(&self.model, self.failures);
        if nodes.is_empty() || self.sim.chooser_mut().choose(2) == 0 {
            return;
        }
        let k = self.sim.chooser_mut().choose(nodes.len());
        self.model
            .inject_failure(&mut self.sim, nodes[k], self.mttr);
    }

    /// Model steps a schedule may take: the event budget bounds events, this bounds
    /// an instant that keeps scheduling and cancelling work without an event being
    /// handled (no progress), so every schedule ends on its own whatever the model does
    /// between events. Counted from the schedule's start, wherever it was resumed.
    fn step_budget(&self) -> u64 {
        self.stop.max_events.saturating_mul(4).saturating_add(1024)
    }

    /// Exhaustive mode: run on to the end of the next instant (or to the end of the
    /// schedule). `on_path(h)`: when the path passed through the state with fingerprint
    /// `h`, if it did (returning to it closes a cycle).
    pub(super) fn run_to_next_instant(
        &mut self,
        on_path: &dyn Fn(u64) -> Option<SimTime>,
    ) -> Reached {
        let mut end: Option<ScheduleEnd> = None;
        let mut violation: Option<Violation> = None;
        let mut reached: Option<Reached> = None;
        let mut cycle: Option<u64> = None;
        let step_budget = self.step_budget();
        let Runner {
            model,
            sim,
            classes,
            horizon,
            stop,
            interruptible,
            failures,
            steps,
            ..
        } = self;
        let stats = sim.run_probed(model, *stop, |probe: &Probe<'_, Event>, m| {
            *steps += 1;
            if let Some(e) = must_end(m, *steps, step_budget, *interruptible) {
                end = Some(e);
                return false;
            }
            if !probe.instant_closed {
                return true;
            }
            if let Some(v) = first_deadlock(m) {
                violation = Some(v);
                end = Some(ScheduleEnd::Violation);
                return false;
            }
            let pending = probe.queue.pending();
            let h = match classes {
                Some(c) => m.abstract_hash_symmetric(probe.now, &pending, *horizon, c),
                None => m.abstract_hash(probe.now, &pending, *horizon),
            };
            if let Some(since) = on_path(h) {
                end = Some(ScheduleEnd::Cycle);
                cycle = Some(h);
                let waiting = waiting_jobs(m);
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
            reached = Some(Reached::Instant {
                h,
                now: probe.now,
                waiting: m.state.jobs.iter().any(|js| js.phase == JobPhase::Waiting),
                offer: *failures > 0 && !failures::candidates(m, *failures).is_empty(),
            });
            false
        });
        if let Some(r) = reached {
            return r;
        }
        let (end, guard, invariant) = self.end_of(end, stats.reason);
        Reached::End {
            end,
            violation,
            cycle,
            guard,
            invariant,
            fingerprint: stats.fingerprint,
        }
    }

    /// How a schedule ended: a broken invariant first, then the model's guard (unless a
    /// violation was seen), then what the probe or the engine stopped it for.
    fn end_of(
        &self,
        end: Option<ScheduleEnd>,
        reason: sim_core::StopReason,
    ) -> (ScheduleEnd, Option<(SimTime, String)>, Option<String>) {
        let invariant = self
            .model
            .dra_violation
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| self.model.invariant_violation.clone())
            .or_else(|| {
                self.model
                    .training_error
                    .as_ref()
                    .map(|e| format!("training: {e}"))
            });
        let guard = self.model.guard.clone();
        let end = if invariant.is_some() {
            ScheduleEnd::Invariant
        } else if guard.is_some() && end != Some(ScheduleEnd::Violation) {
            ScheduleEnd::Guard
        } else {
            end.unwrap_or(match reason {
                sim_core::StopReason::Drained => ScheduleEnd::Drained,
                // Only the model's guard and broken invariants (handled above) stop a
                // schedule on request besides the probe.
                sim_core::StopReason::Requested => ScheduleEnd::Drained,
                sim_core::StopReason::Horizon => ScheduleEnd::Horizon,
                sim_core::StopReason::EventBudget => ScheduleEnd::EventBudget,
            })
        };
        let guard = if end == ScheduleEnd::Guard {
            guard
        } else {
            None
        };
        (end, guard, invariant)
    }

    /// Random mode and replays: run the schedule to its end. Without state pruning, only
    /// a state with every job submitted and none running can ever come back (pending
    /// arrivals and running jobs count down), so only those are fingerprinted: a run
    /// that returns to one is a cycle.
    fn drive(&mut self) -> ScheduleRun {
        let mut end: Option<ScheduleEnd> = None;
        let mut violation: Option<Violation> = None;
        let step_budget = self.step_budget();
        let stats = loop {
            let Runner {
                model,
                sim,
                classes,
                horizon,
                stop,
                on_path,
                interruptible,
                failures,
                steps,
                ..
            } = self;
            let mut inject = false;
            let stats = sim.run_probed(model, *stop, |probe: &Probe<'_, Event>, m| {
                *steps += 1;
                if let Some(e) = must_end(m, *steps, step_budget, *interruptible) {
                    end = Some(e);
                    return false;
                }
                if !probe.instant_closed {
                    return true;
                }
                if let Some(v) = first_deadlock(m) {
                    violation = Some(v);
                    end = Some(ScheduleEnd::Violation);
                    return false;
                }
                // `--fail-nodes`: the run pauses here for the failure choice (which
                // changes the state only after it is recorded below).
                let offer = *failures > 0 && !failures::candidates(m, *failures).is_empty();
                if !m.could_repeat() {
                    inject = offer;
                    return !offer;
                }
                let pending = probe.queue.pending();
                let h = match classes {
                    Some(c) => m.abstract_hash_symmetric(probe.now, &pending, *horizon, c),
                    None => m.abstract_hash(probe.now, &pending, *horizon),
                };
                if let Some(&since) = on_path.get(&h) {
                    end = Some(ScheduleEnd::Cycle);
                    let waiting = waiting_jobs(m);
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
                on_path.insert(h, probe.now);
                inject = offer;
                !offer
            });
            if inject {
                self.inject_failure();
                continue;
            }
            break stats;
        };
        let (end, guard, invariant) = self.end_of(end, stats.reason);
        ScheduleRun {
            choices: self.choices().to_vec(),
            end,
            violation,
            events: stats.events,
            engine_fingerprint: stats.fingerprint,
            new_states: 0,
            guard,
            invariant,
        }
    }
}

/// The jobs waiting in `m` (a state that repeats with one of them is a livelock).
fn waiting_jobs(m: &ClusterSim) -> Vec<u32> {
    m.state
        .jobs
        .iter()
        .enumerate()
        .filter(|(_, js)| js.phase == JobPhase::Waiting)
        .map(|(j, _)| j as u32)
        .collect()
}

/// Run one schedule from the start (random mode, replay). `interruptible`: end it
/// early ([`ScheduleEnd::Interrupted`]) when an interrupt is requested.
fn run_schedule(
    p: &Problem,
    opts: &ExploreOptions,
    mode: ChooserMode,
    seed: u64,
    symmetry: bool,
    interruptible: bool,
) -> Result<ScheduleRun, ModelError> {
    let mut r = Runner::new(p, opts, mode, false, seed, symmetry)?;
    r.interruptible = interruptible;
    Ok(r.drive())
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
    let r = rn.drive();
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

/// Why a schedule ends at this step before anything is read from its state, if it does:
/// a broken invariant or a tripped no-progress guard (a guard can trip mid-instant,
/// leaving a half-done admission pass that must not count as a deadlock or a state), the
/// step budget spent, or an interrupt (looked at every 1,024 steps, so a long schedule
/// does not keep it waiting).
fn must_end(
    m: &ClusterSim,
    steps: u64,
    step_budget: u64,
    interruptible: bool,
) -> Option<ScheduleEnd> {
    if m.invariant_violation.is_some() || m.dra_violation.is_some() || m.training_error.is_some() {
        Some(ScheduleEnd::Invariant)
    } else if m.guard.is_some() {
        Some(ScheduleEnd::Guard)
    } else if steps > step_budget {
        Some(ScheduleEnd::EventBudget)
    } else if interruptible && steps.is_multiple_of(1024) && interrupt::interrupted() {
        Some(ScheduleEnd::Interrupted)
    } else {
        None
    }
}

/// The detector's first deadlock, as a violation.
fn first_deadlock(m: &ClusterSim) -> Option<Violation> {
    let d = m.state.detect.deadlocks.first()?;
    Some(violation_of(
        m,
        ViolationKind::Deadlock,
        d.time,
        None,
        &d.jobs,
    ))
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
    /// A merged exhaustive search (`orrery merge` of `verify --shard` runs): the shard
    /// (1-based) that found it; `schedule` counts that shard's schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u32>,
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

/// Count one schedule: how it ended, the guard that stopped it (if one did), the new
/// states it recorded, its choices, its index in exploration order and (random mode) its
/// seed.
fn record(
    cov: &mut Coverage,
    end: ScheduleEnd,
    guard: Option<&(SimTime, String)>,
    new_states: u64,
    choices: u64,
    schedule: u64,
    seed: Option<u64>,
) {
    if end == ScheduleEnd::Guard {
        cov.guard_hits += 1;
        if cov.first_guard.is_none()
            && let Some((time, why)) = guard
        {
            cov.first_guard = Some(GuardHit {
                schedule,
                seed,
                time: *time,
                why: why.clone(),
            });
        }
    }
    cov.schedules += 1;
    cov.distinct_states += new_states;
    cov.max_depth_reached = cov.max_depth_reached.max(choices);
    match end {
        ScheduleEnd::EventBudget => cov.event_budget_hits += 1,
        ScheduleEnd::Horizon => cov.horizon_hits += 1,
        ScheduleEnd::Pruned => cov.pruned += 1,
        ScheduleEnd::Cycle => cov.cycles += 1,
        _ => {}
    }
}

/// A violation found in schedule `schedule` (its whole choice list and the engine's
/// fingerprint at its end).
fn found(
    v: &Violation,
    choices: &[Choice],
    engine_fingerprint: u64,
    seed: Option<u64>,
    schedule: u64,
) -> Found {
    Found {
        seed,
        schedule,
        choices: choices.iter().map(|c| c.picked).collect(),
        violation: v.clone(),
        engine_fingerprint,
        symmetry: seed.is_none(),
        shard: None,
    }
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
    explore_part(p, opts, mode, progress, interruptible, None).map(|(e, _)| e)
}

/// `verify --shard I/N`: one of `count` shards (`index` 1-based) of a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardOf {
    pub index: u32,
    pub count: u32,
}

/// One schedule of a random-mode shard: its index (seed − first seed), how it ended and
/// its number of choices (what the merge needs to count the schedules of a prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRecord(pub u64, pub ScheduleEnd, pub u64);

/// What one shard explored, for `orrery merge`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRun {
    pub shard: ShardOf,
    /// This shard's own search: never a verdict for the whole space.
    pub coverage: Coverage,
    pub deadlock_found: Option<Found>,
    pub livelock_found: Option<Found>,
    pub detail: ShardDetail,
}

/// The raw material of a shard's search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardDetail {
    /// Random mode: the shard ran the schedules whose index is ≡ I−1 mod N, in order, up
    /// to its first deadlock (or the end, or an interrupt): every one of them.
    Random { schedules: Vec<ScheduleRecord> },
    /// Exhaustive mode: the prefixes the space was cut at (the same in every shard; this
    /// shard took every N-th from the I-th), the states it explored (fingerprints, with
    /// those where a job waits) and the steps between them (the state graph).
    Exhaustive {
        prefixes: Vec<Vec<u32>>,
        states: Vec<u64>,
        waiting: Vec<u64>,
        edges: Vec<(u64, u64)>,
    },
}

/// Explore the part of `mode`'s search that shard `shard` owns (see [`ShardRun`]). In
/// random mode the schedules are dealt round-robin by index; in exhaustive mode the
/// choice sequences are cut at the prefixes where the space first splits into at least
/// 4 × N parts, dealt round-robin, and each shard explores its own parts depth first,
/// pruning only with the states it explored in them (the few steps above the cut are
/// run by every shard, without pruning). `--schedules` is the total in random mode and
/// each shard's budget in exhaustive mode.
pub fn explore_shard(
    p: &Problem,
    opts: &ExploreOptions,
    mode: &Mode,
    shard: ShardOf,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ShardRun, VerifyError> {
    if shard.index == 0 || shard.index > shard.count {
        return Err(VerifyError::Shards(format!(
            "shard {}/{}: expected 1 ≤ I ≤ N",
            shard.index, shard.count
        )));
    }
    let (e, detail) = explore_part(p, opts, mode, progress, true, Some(shard))?;
    let detail = detail.ok_or_else(|| VerifyError::Internal("no shard detail".into()))?;
    let (deadlock_found, livelock_found) = match detail {
        // Exhaustive: tell which shard found it (its schedule index is the shard's).
        ShardDetail::Exhaustive { .. } => {
            let tag = |f: Option<Found>| {
                f.map(|f| Found {
                    shard: Some(shard.index),
                    ..f
                })
            };
            (tag(e.deadlock_found), tag(e.livelock_found))
        }
        ShardDetail::Random { .. } => (e.deadlock_found, e.livelock_found),
    };
    Ok(ShardRun {
        shard,
        coverage: e.coverage,
        deadlock_found,
        livelock_found,
        detail,
    })
}

/// The search of `p` per `mode`, or of a shard's part of it (with that part's raw
/// material).
fn explore_part(
    p: &Problem,
    opts: &ExploreOptions,
    mode: &Mode,
    progress: &(dyn Fn(u64, u64) + Sync),
    interruptible: bool,
    shard: Option<ShardOf>,
) -> Result<(Exploration, Option<ShardDetail>), VerifyError> {
    if let Some(e) = unsupported(p) {
        return Err(e);
    }
    // Configuration errors surface once, before exploring.
    ClusterSim::new(p.spec.clone(), p.workload.clone(), &p.config)?;
    let (cov, dl, ll, detail) = match *mode {
        Mode::Random { schedules, seed } => {
            let r = random(p, opts, schedules, seed, progress, interruptible, shard)?;
            let detail = shard.map(|_| ShardDetail::Random {
                schedules: r.records,
            });
            (r.cov, r.deadlock, r.livelock, detail)
        }
        Mode::Exhaustive {
            max_schedules,
            max_depth,
        } => {
            let part = match shard {
                Some(s) => Some(search::ShardPart {
                    index: s.index - 1,
                    count: s.count,
                    prefixes: search::split(p, opts, s.count, max_depth)?,
                }),
                None => None,
            };
            let owner = part.as_ref().map(search::Owner::new);
            let s = search::Search {
                p,
                opts,
                max_schedules,
                max_depth,
                interruptible,
                threads: rayon::current_num_threads(),
                owner: owner.as_ref(),
            };
            let r = s.run(progress)?;
            let detail = part.map(|part| {
                let mut states: Vec<u64> = r.states.keys().copied().collect();
                states.extend(r.shared.iter().copied());
                states.sort_unstable();
                states.dedup();
                let mut edges = r.edges;
                edges.sort_unstable();
                edges.dedup();
                ShardDetail::Exhaustive {
                    prefixes: part.prefixes,
                    states,
                    waiting: r.waiting.into_iter().collect(),
                    edges,
                }
            });
            (r.cov, r.deadlock, r.livelock, detail)
        }
    };
    let (deadlock, livelock) = verdicts(mode, &cov, dl.is_some(), ll.is_some());
    Ok((
        Exploration {
            deadlock,
            livelock,
            coverage: cov,
            deadlock_found: dl,
            livelock_found: ll,
        },
        detail,
    ))
}

/// What random mode found.
struct RandomRun {
    cov: Coverage,
    deadlock: Option<Found>,
    livelock: Option<Found>,
    /// A shard's schedules (empty otherwise).
    records: Vec<ScheduleRecord>,
}

/// Random mode: schedules from seeds `seed + i`, in parallel (rayon) batches, counted in
/// index order up to the first deadlock; a shard takes the indices ≡ I−1 mod N.
fn random(
    p: &Problem,
    opts: &ExploreOptions,
    schedules: u64,
    seed: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
    interruptible: bool,
    shard: Option<ShardOf>,
) -> Result<RandomRun, VerifyError> {
    let stop_requested = || interruptible && interrupt::interrupted();
    let (first, step) = match shard {
        Some(s) => (
            u64::from(s.index.saturating_sub(1)),
            u64::from(s.count.max(1)),
        ),
        None => (0, 1),
    };
    // The number of schedules this search runs: indices first, first + step, … < schedules.
    let total = if first >= schedules {
        0
    } else {
        (schedules - first).div_ceil(step)
    };
    let mut out = RandomRun {
        cov: Coverage::default(),
        deadlock: None,
        livelock: None,
        records: Vec::new(),
    };
    let cov = &mut out.cov;
    let batch = (rayon::current_num_threads() as u64 * 4).max(4);
    let mut start = 0u64;
    while start < total && out.deadlock.is_none() {
        if stop_requested() {
            cov.interrupted = true;
            break;
        }
        let end = (start + batch).min(total);
        let runs: Vec<Result<ScheduleRun, ModelError>> = (start..end)
            .into_par_iter()
            .map(|j| {
                let s = seed.wrapping_add(first + j * step);
                run_schedule(p, opts, ChooserMode::Seeded, s, false, interruptible)
            })
            .collect();
        for (k, r) in runs.into_iter().enumerate() {
            let r = r?;
            let i = first + (start + k as u64) * step;
            let s = seed.wrapping_add(i);
            // The schedules before the first one cut count; none after it does (what is
            // reported is always a prefix of the seeds).
            if r.end == ScheduleEnd::Interrupted {
                cov.interrupted = true;
                break;
            }
            if let Some(e) = VerifyError::of_invariant(&r, i, Some(s)) {
                return Err(e);
            }
            let n = r.choices.len() as u64;
            record(cov, r.end, r.guard.as_ref(), r.new_states, n, i, Some(s));
            if shard.is_some() {
                out.records.push(ScheduleRecord(i, r.end, n));
            }
            if let Some(v) = &r.violation {
                let f = || found(v, &r.choices, r.engine_fingerprint, Some(s), i);
                match v.kind {
                    ViolationKind::Deadlock if out.deadlock.is_none() => out.deadlock = Some(f()),
                    ViolationKind::Livelock if out.livelock.is_none() => out.livelock = Some(f()),
                    _ => {}
                }
            }
            if out.deadlock.is_some() {
                break;
            }
        }
        if cov.interrupted {
            break;
        }
        start = end;
        progress(cov.schedules, total);
    }
    Ok(out)
}

/// Join the shards of one search (`orrery merge`): every shard of 1..=N exactly once, all
/// of the same mode.
///
/// * **Random mode**: the result is the one a single run gives, exactly: the schedules
///   up to the first deadlock of any shard (the lowest index), or all of them, or (when
///   a shard was interrupted) the prefix every shard covered.
/// * **Exhaustive mode**: VIOLATION if any shard found one (the witness with the
///   lexicographically least choice list, from the shard that found it); VERIFIED only
///   if every shard covered its part completely with nothing cutting it short and the
///   union of their state graphs has no cycle through a waiting state that no run
///   closed. Distinct states are the union of the shards' (the same as a single run's
///   when coverage is complete and the depth unbounded); schedules, pruned, cycles and
///   the hit counts are sums (a shard does not prune with another shard's states, so
///   they are at least a single run's); the deepest schedule is the deepest of all.
pub fn merge_shards(mode: &Mode, runs: &[ShardRun]) -> Result<Exploration, VerifyError> {
    let bad = |m: String| Err(VerifyError::Shards(m));
    let Some(first) = runs.first() else {
        return bad("no shard given".into());
    };
    let count = first.shard.count;
    let mut have: BTreeMap<u32, &ShardRun> = BTreeMap::new();
    for r in runs {
        if r.shard.count != count {
            return bad(format!(
                "shard {}/{} and shard {}/{} are of different splits",
                first.shard.index, count, r.shard.index, r.shard.count
            ));
        }
        if have.insert(r.shard.index, r).is_some() {
            return bad(format!("shard {}/{count} is given twice", r.shard.index));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !have.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return bad(format!("missing shard(s) {}", missing.join(", ")));
    }
    let (cov, dl, ll) = match *mode {
        Mode::Random { schedules, .. } => merge_random(schedules, count, &have)?,
        Mode::Exhaustive { .. } => merge_exhaustive(&have)?,
    };
    let (deadlock, livelock) = verdicts(mode, &cov, dl.is_some(), ll.is_some());
    Ok(Exploration {
        deadlock,
        livelock,
        coverage: cov,
        deadlock_found: dl,
        livelock_found: ll,
    })
}

type Merged = (Coverage, Option<Found>, Option<Found>);

fn merge_random(
    schedules: u64,
    count: u32,
    shards: &BTreeMap<u32, &ShardRun>,
) -> Result<Merged, VerifyError> {
    let step = u64::from(count);
    // Where the single run stops: after the first deadlock, or before the first schedule
    // an interrupted shard did not run, or at the end.
    let mut stop = schedules;
    let mut interrupted = false;
    let mut records: Vec<ScheduleRecord> = Vec::new();
    for (&index, r) in shards {
        let ShardDetail::Random { schedules: recs } = &r.detail else {
            return Err(VerifyError::Shards(format!(
                "shard {index}/{count} is not of a random-mode search"
            )));
        };
        let first = u64::from(index - 1);
        // A shard runs its indices in order, each once.
        for (k, rec) in recs.iter().enumerate() {
            if rec.0 != first + k as u64 * step {
                return Err(VerifyError::Shards(format!(
                    "shard {index}/{count}: schedule {} is not the shard's next",
                    rec.0
                )));
            }
        }
        if let Some(f) = &r.deadlock_found {
            stop = stop.min(f.schedule + 1);
        }
        if r.coverage.interrupted {
            let next = first + recs.len() as u64 * step;
            if next < stop {
                stop = next;
                interrupted = true;
            }
        }
        records.extend(recs.iter().copied());
    }
    // An interrupt after the first deadlock cuts nothing.
    let deadlock = shards
        .values()
        .filter_map(|r| r.deadlock_found.clone())
        .filter(|f| f.schedule < stop)
        .min_by_key(|f| f.schedule);
    if deadlock.is_some() {
        interrupted = false;
    }
    records.retain(|r| r.0 < stop);
    records.sort_unstable_by_key(|r| r.0);
    if records.len() as u64 != stop || records.iter().enumerate().any(|(k, r)| r.0 != k as u64) {
        return Err(VerifyError::Shards(format!(
            "the shards do not hold every schedule below {stop}"
        )));
    }
    let mut cov = Coverage::default();
    for rec in &records {
        record(&mut cov, rec.1, None, 0, rec.2, rec.0, None);
    }
    cov.interrupted = interrupted;
    cov.first_guard = shards
        .values()
        .filter_map(|r| r.coverage.first_guard.clone())
        .filter(|g| g.schedule < stop)
        .min_by_key(|g| g.schedule);
    let livelock = shards
        .values()
        .filter_map(|r| r.livelock_found.clone())
        .filter(|f| f.schedule < stop)
        .min_by_key(|f| f.schedule);
    Ok((cov, deadlock, livelock))
}

fn merge_exhaustive(shards: &BTreeMap<u32, &ShardRun>) -> Result<Merged, VerifyError> {
    let mut cov = Coverage {
        complete: true,
        ..Coverage::default()
    };
    let mut states: BTreeSet<u64> = BTreeSet::new();
    let mut waiting: BTreeSet<u64> = BTreeSet::new();
    let mut edges: Vec<(u64, u64)> = Vec::new();
    let mut prefixes: Option<&Vec<Vec<u32>>> = None;
    let mut deadlock: Option<Found> = None;
    let mut livelock: Option<Found> = None;
    let least = |a: Option<Found>, b: &Option<Found>| match (a, b) {
        (Some(a), Some(b)) if b.choices < a.choices => Some(b.clone()),
        (None, b) => b.clone(),
        (a, _) => a,
    };
    for (&index, r) in shards {
        let ShardDetail::Exhaustive {
            prefixes: pre,
            states: st,
            waiting: w,
            edges: e,
        } = &r.detail
        else {
            return Err(VerifyError::Shards(format!(
                "shard {index} is not of an exhaustive search"
            )));
        };
        match prefixes {
            None => prefixes = Some(pre),
            Some(p) if p != pre => {
                return Err(VerifyError::Shards(format!(
                    "shard {index} split the space differently from shard 1 (another scenario or Orrery version?)"
                )));
            }
            Some(_) => {}
        }
        let c = &r.coverage;
        cov.schedules += c.schedules;
        cov.max_depth_reached = cov.max_depth_reached.max(c.max_depth_reached);
        cov.complete &= c.complete;
        cov.depth_bound_hit |= c.depth_bound_hit;
        cov.budget_exhausted |= c.budget_exhausted;
        cov.interrupted |= c.interrupted;
        cov.event_budget_hits += c.event_budget_hits;
        cov.guard_hits += c.guard_hits;
        if cov.first_guard.is_none() {
            cov.first_guard = c.first_guard.clone();
        }
        cov.horizon_hits += c.horizon_hits;
        cov.pruned += c.pruned;
        cov.cycles += c.cycles;
        states.extend(st);
        waiting.extend(w);
        edges.extend(e);
        deadlock = least(deadlock, &r.deadlock_found);
        livelock = least(livelock, &r.livelock_found);
    }
    cov.distinct_states = states.len() as u64;
    edges.sort_unstable();
    edges.dedup();
    cov.state_graph_cycles = search::waiting_cycles(&edges, &waiting);
    Ok((cov, deadlock, livelock))
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
        let r = runner(&p).drive();
        assert_eq!(r.end, ScheduleEnd::Drained);
        assert_eq!(r.guard, None);
        // With the guard's per-instant budget lowered to one event, the second submission
        // at t=0 trips it; the engine stops "on request", which used to read as Drained.
        let mut rn = runner(&p);
        rn.model.instant_budget = 1;
        let r = rn.drive();
        assert_eq!(r.end, ScheduleEnd::Guard);
        let (t, why) = r.guard.clone().expect("guard recorded");
        assert_eq!(t, SimTime::ZERO);
        assert!(why.contains("no progress"), "{why}");
        let mut cov = Coverage::default();
        let n = r.choices.len() as u64;
        record(
            &mut cov,
            r.end,
            r.guard.as_ref(),
            r.new_states,
            n,
            0,
            Some(7),
        );
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
        let r = runner(&p).drive();
        assert_eq!(r.end, ScheduleEnd::Drained);
        assert!(VerifyError::of_invariant(&r, 0, None).is_none());
        // Corrupt the bookkeeping: the check after the first instant finds it.
        let mut rn = runner(&p);
        rn.model.state.cluster.gpu_milli_allocated += 1;
        let r = rn.drive();
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
