//! Faults, failures as a choice point, and what the explorer refuses.
//!
//! * **Listed node events** (`faults.events`: cordon, uncordon, drain, fail, recover) are
//!   ordinary engine events: the explorer orders them against the other events of their
//!   instant like any other (a completion at the instant of a failure is then not
//!   reordered away, see `ClusterSim::commutes`), and the fault state (checkpoints,
//!   restarts) is snapshotted with `SimState` and fingerprinted through the fault
//!   controller's hash hook.
//! * **Injected failures** (`ExploreOptions::failures`, `verify --fail-nodes N`): at the
//!   end of every instant, while some job has not completed and fewer than N failures
//!   were injected, the explorer chooses whether to fail a node now (two alternatives:
//!   no, yes) and, if so, which Ready node (one alternative per Ready node, in index
//!   order). The failure is an event at that instant; with `mttr` a `recover` follows
//!   that much later. Both choices are ordinary chooser decisions, so a schedule with
//!   injected failures replays from its choice list like any other.
//! * **Seeded failures** (`faults.seeded`): the draws are fixed by the scenario's seed;
//!   once drawn, a failure is an ordinary pending event. The streams' positions (what the
//!   next draws will be) are snapshotted with `SimState` and fingerprinted
//!   (`FaultRuntime::hash_runtime`); nodes are told apart (each has its own stream).
//! * **Network runs**: the network model's solver, per-job progress, staging and caches
//!   are snapshotted and fingerprinted (`NetRuntime::hash_state`); nodes are told apart
//!   (a node's place in the fabric decides its traffic) and jobs are not relabelled (the
//!   solver's flows belong to jobs by index).
//! * **Inference services** (`services:`): the serving controller's replicas, HPA,
//!   traffic streams and request queues are snapshotted and fingerprinted
//!   (`ServingRuntime::hash_state`, its pending events through `hash_event`); nodes are
//!   told apart (a `preempt` service makes room on the first node, by index, where its
//!   replica fits) and jobs are not relabelled (replica slots are identical jobs that the
//!   controller tells apart by creation order). Services run for ever, so every schedule
//!   ends at the horizon: coverage holds up to it, never a VERIFIED for all time.
//! * **Refused**: nothing.

use serde::{Deserialize, Serialize};
use sim_core::SimTime;

use super::{Problem, VerifyError};
use crate::sim::{ClusterSim, JobPhase, RunConfig};
use crate::state::NodeCondition;

/// One failure the explorer injected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedFailure {
    pub time: SimTime,
    pub node: String,
}

pub(super) fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Why `p` cannot be explored soundly, if it cannot. Nothing is refused today (inference
/// services were, until their controller's state was snapshotted and fingerprinted); the
/// hook stays for the next controller whose state is not.
pub fn unsupported(_p: &Problem) -> Option<VerifyError> {
    None
}

/// A node's index decides its future (listed node events name nodes; the autoscaler
/// adds and removes nodes in index order; each node has its own seeded failure stream;
/// on the network model a node's place in the fabric decides its traffic):
/// interchangeable nodes must not be merged.
pub(super) fn nodes_distinguished(c: &RunConfig) -> bool {
    c.autoscaler.is_some()
        || c.network.is_some()
        || c.serving.is_some()
        || c.faults.as_ref().is_some_and(|f| {
            !f.events.is_empty() || !f.part_events.is_empty() || f.seeded.is_some()
        })
}

/// Exhaustive mode merges interchangeable nodes at ties for `p` (see
/// [`nodes_distinguished`]).
pub fn nodes_merged(p: &Problem) -> bool {
    !nodes_distinguished(&p.config)
}

/// Identical jobs may be relabelled only when nothing job-specific tells them apart:
/// not with per-job checkpoint settings, nor on the network model (its flows, progress
/// and per-job datasets are kept by job index), nor with services (replica slots are
/// kept by job index).
pub(super) fn jobs_interchangeable(c: &RunConfig) -> bool {
    c.faults.as_ref().is_none_or(|f| f.checkpoints.is_empty())
        && c.network.is_none()
        && c.serving.is_none()
}

/// The nodes the explorer may fail now: the Ready ones, while fewer than `budget`
/// failures were injected and some job has not completed (failing a node of a drained
/// cluster changes nothing that is checked).
pub(super) fn candidates(m: &ClusterSim, budget: u32) -> Vec<u32> {
    let used = m.state.faults.as_ref().map_or(0, |f| f.injected.len());
    if used >= budget as usize
        || m.state
            .jobs
            .iter()
            .all(|j| matches!(j.phase, JobPhase::Completed { .. }))
    {
        return Vec::new();
    }
    m.state
        .cluster
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.condition == NodeCondition::Ready)
        .map(|(i, _)| i as u32)
        .collect()
}

/// The failures injected so far on this schedule.
pub(super) fn injected(m: &ClusterSim) -> Vec<InjectedFailure> {
    m.state.faults.as_ref().map_or_else(Vec::new, |f| {
        f.injected
            .iter()
            .map(|&(time, n)| InjectedFailure {
                time,
                node: m.spec.nodes[n as usize].name.clone(),
            })
            .collect()
    })
}

/// "injected failures: node n1 at 0s, …".
pub(super) fn describe(f: &[InjectedFailure]) -> String {
    let list: Vec<String> = f
        .iter()
        .map(|x| format!("node {} at {}", x.node, x.time))
        .collect();
    format!(
        "injected failure{}: {}",
        if f.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}
