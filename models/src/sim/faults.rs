//! Node lifecycle and faults (issue 16, items 3 and 4): cordon, uncordon, drain, failure
//! and recovery of nodes, given as a list of timed events or drawn from a seeded MTBF per
//! node, and how the jobs that lose pods react. Single-GPU and link faults are in
//! `parts.rs` (its jobs restart through [`restart_job`] here).
//!
//! * `cordon` (`kubectl cordon`, `spec.unschedulable`): running pods stay, no new pods.
//! * `uncordon`: the node takes pods again.
//! * `drain` (`kubectl drain`): cordon, then evict every pod on the node.
//! * `fail` (`Ready=False`): every pod on the node is lost; no new pods until it recovers.
//! * `recover`: a failed node is `Ready` again (also when it was cordoned before failing).
//!
//! A job that loses a pod restarts as a whole: a distributed training job cannot go on
//! with a worker missing. Per policy (see `docs/scenario-format.md`, "Nodes and faults"):
//!
//! * gang policies (`gang`, `fifo`, `backfill`, `sjf`, `tiresias`, `volcano`): the whole
//!   gang is released and the job goes back to its queue at its old position (Volcano's
//!   `RestartJob` policy on `PodEvicted`/`PodFailed`: the job's pods are killed and
//!   recreated, the job keeps its creation time; Tiresias keeps its attained service);
//! * pod-level policies (`default`, `coscheduling`, `k8s-gang`): every pod of the job is
//!   deleted and recreated at the failure time (Kubeflow PyTorchJob / JobSet restart all
//!   workers), so the new pods queue behind the ones already waiting;
//! * `kueue` with `waitForPodsReady`: the workload is evicted (`PodsReadyTimeout`, the
//!   recovery timeout taken as 0) and requeued after the requeuing backoff, or deactivated
//!   past `backoffLimitCount`, by the same code as a `waitForPodsReady` timeout; without
//!   `waitForPodsReady` Kueue does not evict: the workload stays admitted (keeps its quota)
//!   and its pods are recreated and rescheduled as under `default`.
//!
//! A job restarts from its last checkpoint (a multiple of its checkpoint interval in its
//! own progress, run time) or from zero without one: the lost work is the run time since
//! that checkpoint. Restoring costs `checkpoint_restore`, or with the network model and a
//! checkpoint size, the time every node of the job needs to read its share from the
//! shared filesystem at the rates of that moment (storage model); a restart from zero
//! restores nothing.

use std::collections::BTreeSet;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::{Ctx, RngStreams, SimDuration, SimTime, TimerId};

use super::parts::{self, PartEventSpec, PartRuntime};
use super::{ClusterSim, Event, JobPhase, ModelError};
use crate::state::NodeCondition;

/// What happens to a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeAction {
    Cordon,
    Uncordon,
    Drain,
    Fail,
    Recover,
}

impl NodeAction {
    pub fn name(self) -> &'static str {
        match self {
            NodeAction::Cordon => "cordon",
            NodeAction::Uncordon => "uncordon",
            NodeAction::Drain => "drain",
            NodeAction::Fail => "fail",
            NodeAction::Recover => "recover",
        }
    }
}

/// The engine event of this module (`Event::Node`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeEvent {
    pub node: u32,
    pub action: NodeAction,
    /// Drawn from the MTBF (the next failure or repair follows from it).
    pub seeded: bool,
}

/// One listed node event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEventSpec {
    pub at: SimTime,
    /// Node index in the cluster.
    pub node: u32,
    pub action: NodeAction,
}

/// Failures drawn from exponential inter-failure times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeededFaults {
    /// Mean time between failures of one node (`None`: only GPU failures).
    pub node_mtbf: Option<SimDuration>,
    /// Mean time between failures of one GPU: every GPU has its own exponential clock and
    /// a failure takes only that GPU out of service (see `parts.rs`).
    pub gpu_mtbf: Option<SimDuration>,
    /// Repair time: a failed node (or GPU) recovers this long after it failed.
    pub mttr: SimDuration,
    /// No failure is drawn at or after this time (default: the horizon; one is needed).
    pub until: Option<SimTime>,
}

/// A job's checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Checkpoint {
    /// A checkpoint every this much progress (run time).
    pub interval: SimDuration,
    /// Checkpoint size in bytes (restore time from the storage model on network runs).
    pub bytes: Option<u64>,
}

/// The scenario's `faults:` section (and the jobs' checkpoint fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    pub events: Vec<NodeEventSpec>,
    /// Listed GPU and link events (`parts.rs`).
    #[serde(default)]
    pub part_events: Vec<PartEventSpec>,
    pub seeded: Option<SeededFaults>,
    /// Per job id (inline jobs).
    pub checkpoints: std::collections::BTreeMap<String, Checkpoint>,
    /// For every job without its own.
    pub default_checkpoint: Option<Checkpoint>,
    /// Restore time after a restart from a checkpoint (without the storage model).
    pub checkpoint_restore: SimDuration,
}

/// Per-job fault accounting. Plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobFaults {
    /// Restarts after losing pods while running.
    pub restarts: u32,
    /// Run time lost (progress since the last checkpoint), summed over restarts, ns.
    pub lost_ns: u64,
    /// GPU thousandths × ns lost.
    pub lost_gpu_milli_ns: u128,
    /// Restore time spent (or to spend) after restarts, ns.
    pub restore_ns: u64,
    /// Progress saved by the last checkpoint restarted from.
    pub checkpoint: SimDuration,
    /// `remaining` at the last restart and the restore time it included.
    pub restart_remaining: Option<SimDuration>,
    pub restore: SimDuration,
}

/// The fault model's part of `SimState`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FaultState {
    pub jobs: Vec<JobFaults>,
    pub node_failures: u32,
    pub drains: u32,
    /// Single-GPU failures that happened (listed and seeded).
    #[serde(default, skip_serializing_if = "super::parts::is_zero")]
    pub gpu_failures: u32,
    /// Link failures that happened (network runs).
    #[serde(default, skip_serializing_if = "super::parts::is_zero")]
    pub link_failures: u32,
    /// `verify --fail-nodes`: failures the explorer injected so far, in order (time, node).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<(SimTime, u32)>,
    /// `verify --fail-nodes`: node → when its injected failure is repaired (the pending
    /// `recover` event), so the deadlock check and the no-progress guard see it coming.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub injected_repairs: std::collections::BTreeMap<u32, SimTime>,
}

/// Run-time fault machinery outside `SimState` (configuration and seeded streams;
/// `Clone`: the verifier snapshots it with `SimState` when it holds seeded streams).
#[derive(Clone, Debug)]
pub struct FaultRuntime {
    pub(super) config: FaultConfig,
    checkpoints: Vec<Option<Checkpoint>>,
    /// Per node: failure rate in failures per ns (0: never), its stream, its pending
    /// seeded event (timer and what it does).
    rate: Vec<f64>,
    rngs: Vec<Option<rand_chacha::ChaCha8Rng>>,
    pending: Vec<Option<(TimerId, NodeAction)>>,
    until: SimTime,
    mttr: SimDuration,
    /// Seeded failures stopped (every job completed).
    quiet: bool,
    /// GPU and link faults.
    parts: PartRuntime,
}

impl FaultRuntime {
    pub(super) fn new(
        config: &FaultConfig,
        sim: &ClusterSim,
        seed: u64,
        horizon: Option<SimDuration>,
    ) -> Result<FaultRuntime, ModelError> {
        let err = |field: &str, msg: String| ModelError::Faults {
            field: field.into(),
            msg,
        };
        let n = sim.spec.nodes.len();
        for (i, e) in config.events.iter().enumerate() {
            if e.node as usize >= n {
                return Err(err(
                    &format!("events[{i}].node"),
                    format!("no node {} (the cluster has {n})", e.node),
                ));
            }
        }
        let ck_ok = |c: &Checkpoint| c.interval.as_nanos() > 0;
        if let Some(c) = &config.default_checkpoint
            && !ck_ok(c)
        {
            return Err(err("checkpoint.interval", "must be > 0".into()));
        }
        let mut checkpoints = Vec::with_capacity(sim.workload.jobs.len());
        for j in &sim.workload.jobs {
            let c = config
                .checkpoints
                .get(&j.id)
                .or(config.default_checkpoint.as_ref());
            if let Some(c) = c
                && !ck_ok(c)
            {
                return Err(err(
                    "checkpoint_interval",
                    format!("job {:?}: must be > 0", j.id),
                ));
            }
            checkpoints.push(c.copied());
        }
        let mut rate = vec![0.0; n];
        let mut rngs = vec![None; n];
        let mut until = SimTime::ZERO;
        let mut mttr = SimDuration::ZERO;
        if let Some(s) = &config.seeded {
            let per_ns = |d: Option<SimDuration>, field: &str| -> Result<f64, ModelError> {
                match d {
                    None => Ok(0.0),
                    Some(d) if d.as_nanos() == 0 => Err(err(field, "must be > 0".into())),
                    Some(d) => Ok(1.0 / d.as_nanos() as f64),
                }
            };
            let node_rate = per_ns(s.node_mtbf, "seeded.node_mtbf")?;
            let gpu_rate = per_ns(s.gpu_mtbf, "seeded.gpu_mtbf")?;
            if node_rate == 0.0 && gpu_rate == 0.0 {
                return Err(err(
                    "seeded",
                    "needs node_mtbf or gpu_mtbf (or both)".into(),
                ));
            }
            until = match (s.until, horizon) {
                (Some(u), _) => u,
                (None, Some(h)) => SimTime::ZERO + h,
                (None, None) => {
                    return Err(err(
                        "seeded.until",
                        "seeded failures need an end so the run terminates: set faults.seeded.until or a horizon".into(),
                    ));
                }
            };
            mttr = s.mttr;
            if gpu_rate > 0.0 && sim.dra.is_some() {
                return Err(err(
                    "seeded.gpu_mtbf",
                    "GPU faults are not modelled with DRA (the DRA allocator would still hand out the failed device): use node_mtbf".into(),
                ));
            }
            // Every failure is an event: bound how many the MTBFs imply, so a tiny MTBF
            // over a long window is refused rather than run for ever.
            let per_node: f64 = sim
                .spec
                .nodes
                .iter()
                .map(|n| node_rate + gpu_rate * f64::from(n.gpus))
                .sum();
            let expected = per_node * until.as_nanos() as f64;
            if expected > MAX_EXPECTED_FAILURES {
                return Err(err(
                    "seeded.node_mtbf",
                    format!(
                        "the MTBFs imply about {expected:.0} failures before {until}, more than the {MAX_EXPECTED_FAILURES:.0} a run allows: raise the MTBF or shorten `until`"
                    ),
                ));
            }
            let streams = RngStreams::new(seed);
            for (i, node) in sim.spec.nodes.iter().enumerate() {
                // GPU failures have their own clocks (parts.rs).
                rate[i] = node_rate;
                if rate[i] > 0.0 {
                    rngs[i] = Some(streams.stream(&format!("faults/node/{}", node.name)));
                }
            }
        }
        let parts = PartRuntime::new(
            &config.part_events,
            sim,
            seed,
            config.seeded.as_ref().and_then(|s| s.gpu_mtbf),
            until,
            mttr,
        )?;
        Ok(FaultRuntime {
            parts,
            config: config.clone(),
            checkpoints,
            rate,
            rngs,
            pending: vec![None; n],
            until,
            mttr,
            quiet: false,
        })
    }

    pub(super) fn quiet(&self) -> bool {
        self.quiet
    }

    pub(super) fn parts_mut(&mut self) -> &mut PartRuntime {
        &mut self.parts
    }

    /// The next failure of `node` after `from`, if before `until`.
    fn draw(&mut self, node: u32, from: SimTime) -> Option<SimTime> {
        let rate = self.rate[node as usize];
        let rng = self.rngs[node as usize].as_mut()?;
        exponential_after(rng, rate, from, self.until)
    }
}

/// The next event of a Poisson process of `rate` per ns after `from` (inverse transform:
/// -ln(U)/rate with U in (0, 1], at least 1 ns later, saturating), if before `until`.
pub(super) fn exponential_after(
    rng: &mut rand_chacha::ChaCha8Rng,
    rate: f64,
    from: SimTime,
    until: SimTime,
) -> Option<SimTime> {
    let u: f64 = 1.0 - rng.random::<f64>();
    let ns = (-u.ln() / rate).ceil();
    let ns = if ns.is_finite() && ns < u64::MAX as f64 {
        ns as u64
    } else {
        u64::MAX
    };
    let at = SimTime(from.as_nanos().saturating_add(ns.max(1)));
    (at < until).then_some(at)
}

/// Most failures the seeded MTBFs may imply over the run (each is an engine event).
const MAX_EXPECTED_FAILURES: f64 = 1e6;

/// Before the run: the listed events and every node's first seeded failure.
pub(super) fn initial_events(m: &mut ClusterSim) -> Vec<(SimTime, Event)> {
    let Some(rt) = m.faults.as_mut() else {
        return Vec::new();
    };
    let mut out: Vec<(SimTime, Event)> = rt
        .config
        .events
        .iter()
        .map(|e| {
            (
                e.at,
                Event::Node(NodeEvent {
                    node: e.node,
                    action: e.action,
                    seeded: false,
                }),
            )
        })
        .collect();
    for node in 0..rt.rate.len() as u32 {
        if let Some(at) = rt.draw(node, SimTime::ZERO) {
            out.push((
                at,
                Event::Node(NodeEvent {
                    node,
                    action: NodeAction::Fail,
                    seeded: true,
                }),
            ));
        }
    }
    out.extend(parts::initial_events(&mut rt.parts));
    out
}

/// Record the timers of the seeded events scheduled before the run (so they can be
/// cancelled when every job has completed).
pub(super) fn note_initial_timer(m: &mut ClusterSim, ev: &Event, id: TimerId) {
    if let (Event::Node(e), Some(rt)) = (ev, m.faults.as_mut())
        && e.seeded
    {
        rt.pending[e.node as usize] = Some((id, e.action));
    }
    if let (Event::Part(e), Some(rt)) = (ev, m.faults.as_mut()) {
        parts::note_initial_timer(&mut rt.parts, e, id);
    }
}

fn schedule_seeded(m: &mut ClusterSim, node: u32, action: NodeAction, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    let Some(rt) = m.faults.as_mut() else {
        return;
    };
    if rt.quiet {
        return;
    }
    let at = match action {
        NodeAction::Recover => Some(now + rt.mttr),
        _ => rt.draw(node, now),
    };
    rt.pending[node as usize] = at.map(|at| {
        let id = ctx.schedule_at(
            at,
            Event::Node(NodeEvent {
                node,
                action,
                seeded: true,
            }),
        );
        (id, action)
    });
}

/// Handle a node event.
pub(super) fn handle(m: &mut ClusterSim, ev: NodeEvent, ctx: &mut Ctx<'_, Event>) {
    let now = ctx.now();
    let node = ev.node;
    if ev.seeded
        && let Some(rt) = m.faults.as_mut()
    {
        rt.pending[node as usize] = None;
    }
    let cond = m.state.cluster.nodes[node as usize].condition;
    match ev.action {
        NodeAction::Cordon => {
            if cond == NodeCondition::Ready {
                set_condition(m, node, NodeCondition::Cordoned);
            }
        }
        NodeAction::Uncordon => {
            if cond == NodeCondition::Cordoned {
                make_ready(m, node);
            }
        }
        NodeAction::Drain => {
            if cond == NodeCondition::Absent {
                return;
            }
            if cond == NodeCondition::Ready {
                set_condition(m, node, NodeCondition::Cordoned);
            }
            if let Some(fs) = m.state.faults.as_mut() {
                fs.drains += 1;
            }
            lose_pods(m, node, now, ctx);
        }
        NodeAction::Fail => {
            if matches!(cond, NodeCondition::Failed | NodeCondition::Absent) {
                // Already down: a seeded failure draws the next one instead.
                if ev.seeded {
                    schedule_seeded(m, node, NodeAction::Fail, ctx);
                }
                return;
            }
            set_condition(m, node, NodeCondition::Failed);
            if let Some(fs) = m.state.faults.as_mut() {
                fs.node_failures += 1;
            }
            lose_pods(m, node, now, ctx);
            if ev.seeded {
                schedule_seeded(m, node, NodeAction::Recover, ctx);
            }
        }
        NodeAction::Recover => {
            if let Some(fs) = m.state.faults.as_mut()
                && fs.injected_repairs.get(&node).is_some_and(|&at| at <= now)
            {
                fs.injected_repairs.remove(&node);
            }
            if cond == NodeCondition::Failed {
                make_ready(m, node);
            }
            if ev.seeded {
                schedule_seeded(m, node, NodeAction::Fail, ctx);
            }
        }
    }
}

fn set_condition(m: &mut ClusterSim, node: u32, c: NodeCondition) {
    m.set_node_condition(node, c);
}

/// The node takes pods again: everything waiting is retried.
fn make_ready(m: &mut ClusterSim, node: u32) {
    set_condition(m, node, NodeCondition::Ready);
    m.state.rescan = true;
    m.state.job_dirty = true;
    // Admission (Kueue) looks again too (nothing reads the flag under other policies).
    m.state.kueue.dirty = true;
}

/// After every event: once every job has completed, seeded failures stop (their pending
/// timers are cancelled, so the run ends when the work does).
pub(super) fn after_event(m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
    let Some(rt) = m.faults.as_mut() else {
        return;
    };
    if rt.quiet || (rt.pending.iter().all(Option::is_none) && !rt.parts.any_pending()) {
        return;
    }
    let all_done = m
        .state
        .jobs
        .iter()
        .all(|j| matches!(j.phase, JobPhase::Completed { .. }));
    if all_done {
        rt.quiet = true;
        for (t, _) in rt.pending.iter_mut().filter_map(Option::take) {
            ctx.cancel(t);
        }
        rt.parts.cancel_pending(ctx);
    }
}

/// Every pod on `node` is gone (failure or drain): each job that had one restarts.
fn lose_pods(m: &mut ClusterSim, node: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
    let hit: BTreeSet<u32> = m
        .state
        .jobs
        .iter()
        .enumerate()
        .filter(|(_, js)| {
            js.pods
                .iter()
                .any(|p| p.placement.as_ref().is_some_and(|pl| pl.node == node))
        })
        .map(|(j, _)| j as u32)
        .collect();
    for job in hit {
        restart_job(m, job, now, ctx);
    }
}

/// The job lost pods: release the whole job, roll it back to its last checkpoint and
/// requeue it as its policy does.
pub(super) fn restart_job(m: &mut ClusterSim, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
    let was_running = m.state.jobs[job as usize].phase == JobPhase::Running;
    // Bank the progress of the run segment (and stop it) before anything else.
    m.stop_running(job, now, ctx);
    let remaining = m.state.jobs[job as usize].remaining;
    let new_remaining = if was_running {
        rollback(m, job, remaining)
    } else {
        remaining
    };
    // A fault is not a preemption: the preemption and eviction counters stay as they were.
    let preemptions = m.state.preemptions;
    let evictions = m.state.jobs[job as usize].evictions;
    // How the job goes back is the policy's (whole-gang requeue, pods recreated, Kueue
    // eviction with backoff).
    let policy = std::sync::Arc::clone(&m.policy);
    policy.restart(m, job, now, ctx);
    m.state.preemptions = preemptions;
    let js = &mut m.state.jobs[job as usize];
    js.evictions = evictions;
    js.remaining = new_remaining;
}

/// Roll a job that was running back to its last checkpoint; returns its new remaining
/// run time (restore included) and records the loss.
fn rollback(m: &mut ClusterSim, job: u32, remaining: SimDuration) -> SimDuration {
    let duration = m.workload.jobs[job as usize].duration;
    let milli = m.workload.jobs[job as usize].gpu_milli();
    let ck = m
        .faults
        .as_ref()
        .and_then(|rt| rt.checkpoints[job as usize]);
    let restore_fixed = m
        .faults
        .as_ref()
        .map_or(SimDuration::ZERO, |rt| rt.config.checkpoint_restore);
    let nodes: Vec<u32> = m.state.jobs[job as usize]
        .pods
        .iter()
        .filter_map(|p| p.placement.as_ref().map(|pl| pl.node))
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    let restore_net = match (ck.and_then(|c| c.bytes), &m.net) {
        (Some(bytes), Some(net)) => Some(net.restore_time(&nodes, bytes)),
        _ => None,
    };
    let Some(fs) = m.state.faults.as_mut() else {
        return remaining;
    };
    let jf = &mut fs.jobs[job as usize];
    // Progress (run time) so far: since the last restart, the restore time first.
    let progress = match jf.restart_remaining {
        Some(r0) if remaining <= r0 => {
            let ran = SimDuration(r0.0 - remaining.0);
            jf.checkpoint + SimDuration(ran.0.saturating_sub(jf.restore.0))
        }
        _ => SimDuration(duration.0.saturating_sub(remaining.0)),
    }
    .min(duration);
    let saved = match ck {
        Some(c) => SimDuration(progress.0 / c.interval.0 * c.interval.0),
        None => SimDuration::ZERO,
    };
    let lost = SimDuration(progress.0 - saved.0);
    let restore = if saved.0 > 0 {
        restore_net.unwrap_or(restore_fixed)
    } else {
        SimDuration::ZERO
    };
    let new_remaining = SimDuration((duration.0 - saved.0).saturating_add(restore.0));
    jf.restarts += 1;
    jf.lost_ns = jf.lost_ns.saturating_add(lost.0);
    jf.lost_gpu_milli_ns += u128::from(milli) * u128::from(lost.0);
    jf.restore_ns = jf.restore_ns.saturating_add(restore.0);
    jf.checkpoint = saved;
    jf.restart_remaining = Some(new_remaining);
    jf.restore = restore;
    new_remaining
}

/// Will a pending event bring `node` (in condition `cond`) back to `Ready`: a listed
/// `recover`/`uncordon` not yet past, or the seeded repair of a failed node?
fn returns(m: &ClusterSim, rt: &FaultRuntime, node: u32, cond: NodeCondition) -> bool {
    let back = match cond {
        NodeCondition::Failed => NodeAction::Recover,
        NodeCondition::Cordoned => NodeAction::Uncordon,
        _ => return false,
    };
    let now = m.state.usage.last;
    rt.config
        .events
        .iter()
        .any(|e| e.node == node && e.action == back && e.at >= now)
        || rt.pending[node as usize].is_some_and(|(_, a)| a == back)
        || (back == NodeAction::Recover
            && m.state
                .faults
                .as_ref()
                .is_some_and(|fs| fs.injected_repairs.contains_key(&node)))
}

/// For the no-progress guard: some node is down and a pending event brings it back (the
/// waiting jobs may run then).
pub(super) fn nodes_returning(m: &ClusterSim) -> bool {
    let Some(rt) = m.faults.as_ref() else {
        return false;
    };
    m.state
        .cluster
        .nodes
        .iter()
        .enumerate()
        .any(|(i, n)| returns(m, rt, i as u32, n.condition))
        || parts::parts_returning(m, &rt.parts)
}

/// For the deadlock check: in `pool` (a copy of the cluster), mark `Ready` every node that
/// a pending event will bring back, so a job waiting for it is not called deadlocked.
pub(super) fn revive_returning(m: &ClusterSim, pool: &mut crate::state::ClusterState) {
    let Some(rt) = m.faults.as_ref() else {
        return;
    };
    for node in 0..pool.nodes.len() as u32 {
        if returns(m, rt, node, pool.nodes[node as usize].condition) {
            pool.set_condition(node, NodeCondition::Ready);
        }
    }
    parts::revive_returning(m, &rt.parts, pool);
}

/// The fault controller's hash hook for the verifier's state fingerprint (see
/// `abstract_state.rs`): everything of `FaultState` that influences what happens next,
/// time-invariant (absolute times as offsets from `now`). Node conditions are part of the
/// cluster state and pending node events are hashed with the other pending events; the
/// listed events and checkpoint settings are configuration. Per job not completed: the
/// checkpoint it last restarted from, `remaining` at that restart and the restore time it
/// included (what the next rollback computes progress from). Restart counts and lost
/// work only feed the reports. Seeded failures (a random stream outside `SimState`) are
/// refused by `verify` before this is ever called.
pub(super) fn hash_state(
    m: &ClusterSim,
    now: SimTime,
    relabel: &dyn Fn(u32) -> u32,
    h: &mut dyn std::hash::Hasher,
) {
    let Some(fs) = m.state.faults.as_ref() else {
        return;
    };
    let mut order: Vec<u32> = (0..fs.jobs.len() as u32).collect();
    order.sort_unstable_by_key(|&j| relabel(j));
    for j in order {
        if matches!(m.state.jobs[j as usize].phase, JobPhase::Completed { .. }) {
            h.write_u8(0);
            continue;
        }
        let jf = &fs.jobs[j as usize];
        h.write_u64(jf.checkpoint.as_nanos());
        h.write_u64(jf.restart_remaining.map_or(u64::MAX, |r| r.as_nanos()));
        h.write_u64(jf.restore.as_nanos());
    }
    h.write_usize(fs.injected.len());
    for (&node, &at) in &fs.injected_repairs {
        h.write_u32(node);
        h.write_u64(at.since(now).as_nanos());
    }
}

impl ClusterSim {
    /// The listed node events (and every node's first seeded failure), scheduled before a
    /// run that is not driven by [`super::run`] (the verifier's schedules).
    pub fn schedule_node_events(&mut self, sim: &mut sim_core::Simulation<Event>) {
        for (at, ev) in initial_events(self) {
            let id = sim.schedule_at(at, ev);
            note_initial_timer(self, &ev, id);
        }
        // Jobs deleted at listed times (`deletion.rs`) are listed events too.
        for (at, ev) in self.deletion_events() {
            sim.schedule_at(at, ev);
        }
    }

    /// The run lists node, GPU or link events (`faults.events`): they can tie with other
    /// events.
    pub fn has_node_events(&self) -> bool {
        self.faults
            .as_ref()
            .is_some_and(|rt| !rt.config.events.is_empty() || !rt.config.part_events.is_empty())
    }

    /// `verify --fail-nodes`: fail `node` now (an event at the current instant) and, with
    /// `mttr`, repair it that much later; recorded in `FaultState`.
    pub fn inject_failure(
        &mut self,
        sim: &mut sim_core::Simulation<Event>,
        node: u32,
        mttr: Option<SimDuration>,
    ) {
        let now = sim.now();
        let ev = |action| {
            Event::Node(NodeEvent {
                node,
                action,
                seeded: false,
            })
        };
        sim.schedule_at(now, ev(NodeAction::Fail));
        let jobs = self.workload.jobs.len();
        let fs = self.state.faults.get_or_insert_with(|| FaultState {
            jobs: vec![JobFaults::default(); jobs],
            ..FaultState::default()
        });
        fs.injected.push((now, node));
        if let Some(d) = mttr {
            let at = now + d;
            sim.schedule_at(at, ev(NodeAction::Recover));
            fs.injected_repairs.insert(node, at);
        }
    }
}

impl FaultRuntime {
    /// The seeded-failure hash hook for the verifier's state fingerprint (see
    /// `abstract_state.rs`, and `docs/verify.md`): what of this run-time part decides the
    /// future. Each stream's position (ChaCha's word position: the seed and the stream name
    /// are fixed, so the position is the whole state of the stream, and two states whose
    /// streams stand at the same positions draw the same delays from then on), which
    /// seeded event each node and GPU has pending (the events themselves are hashed with
    /// the other pending events), whether seeded failures have stopped, the time left
    /// before `until` (a draw past it is dropped), and which links are down (a recovery
    /// scales a spine bundle by how many of its members are down).
    pub(super) fn hash_runtime(&self, now: SimTime, h: &mut dyn std::hash::Hasher) {
        h.write_u8(u8::from(self.quiet));
        h.write_u64(self.until.since(now).as_nanos());
        for (rng, p) in self.rngs.iter().zip(&self.pending) {
            h.write_u128(rng.as_ref().map_or(u128::MAX, |r| r.get_word_pos()));
            h.write_u8(p.map_or(0xff, |(_, a)| a as u8));
        }
        self.parts.hash_runtime(now, h);
    }
}
