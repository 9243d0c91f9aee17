//! Scheduling policies as plugins of the one cluster model.
//!
//! A policy is one type implementing [`Policy`], in one file (or folder) of this module,
//! plus one line in the registry ([`registry`]). The cluster model (`ClusterSim`) owns the
//! state — nodes, jobs, pods, the pod queue (kube-scheduler's activeQ) and the job queue
//! (admission or whole-job placement) — and calls the policy at kube-scheduler's named
//! extension points:
//!
//! | hook | extension point | default |
//! |---|---|---|
//! | [`Policy::queueing`] | PreEnqueue: does a submitted job's pods go straight to the pod queue, or does the job wait in the job queue (admission, gang placement)? | — |
//! | [`Policy::queue_sort`] | QueueSort | PrioritySort: priority, then queue time |
//! | [`Policy::permit`] | Reserve + Permit | allow: bind at once |
//! | [`Policy::post_filter`] | PostFilter | back to the queue, timestamp "now" |
//! | [`Policy::schedule`] | the scheduling pass at the end of an instant | — |
//! | [`Policy::on_timer`] | the policy's own timers ([`PolicyTimer`]) | ignore |
//! | [`Policy::on_started`], [`Policy::on_finished`] | a job's gang started / finished | nothing |
//! | [`Policy::hash_state`] | the verifier's state fingerprint of what the policy keeps | hash [`PolicyState`] whole |
//!
//! Filter and Score are the scheduler profile's plugins (`crate::scheduler`): every policy
//! places pods through the same Filter/Score, so score plugins compose with any policy.
//!
//! What a policy remembers between hooks it keeps in [`PolicyState`] (plain data: clone,
//! compare, hash), which lives in `SimState` and so is part of every verifier snapshot and,
//! through [`Policy::hash_state`], of every state fingerprint: a policy cannot keep state
//! the verifier does not see (the policy object itself is shared and immutable).

mod jobs;
mod kube;
pub mod registry;
mod state;

/// Declares each built-in policy's module and registers it: one line per policy. The
/// module exports `REGISTRATION` (its name, a line of help and how to build it).
macro_rules! builtin_policies {
    ($($module:ident),* $(,)?) => {
        $(mod $module;)*
        /// The built-in policies, in the order `--help` lists them.
        pub static BUILTIN: &[Registration] = &[$($module::REGISTRATION),*];
    };
}

builtin_policies! {
    default,
    gang,
    coscheduling,
    kueue,
    volcano,
    k8s_gang,
    fifo,
    backfill,
    sjf,
    tiresias,
    optimus,
    pollux,
}

use std::fmt::Debug;
use std::hash::Hasher;

use sim_core::{Ctx, SimTime};

use super::{ClusterSim, Event, QueueKey};
use crate::scheduler::{Profile, SchedulerConfig};

pub use jobs::{place_in_order, start_job, take_changes};
pub use kube::{K8S_GANG_TIMEOUT, pod_cycle};
pub use kueue::admission::{KueueState, ReclaimKey, WithinClusterQueueKey};
pub use registry::{Registration, Registry, builtin_names};
pub use state::{PolicyData, PolicyState};

/// Where a submitted job goes (kube-scheduler's PreEnqueue, or an admission controller in
/// front of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queueing {
    /// Its pods enter the pod queue at once; kube-scheduler places them one at a time.
    Pods,
    /// The job waits in the job queue until the policy admits or places it.
    Jobs,
}

/// A timer a policy set (through [`ClusterSim::set_timer`]); `kind` is the policy's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyTimer {
    pub kind: u8,
    pub job: u32,
    /// The job's `generation` when the timer was set (a timer whose job moved on since is
    /// stale); `None` for timers that are never stale.
    pub generation: Option<u32>,
}

/// A scheduling policy. Hooks take `&self`: the policy object holds only configuration;
/// what changes lives in the model's state (see the module documentation).
pub trait Policy: Debug + Send + Sync {
    /// The name it is registered and selected under (`scheduler.policy`).
    fn name(&self) -> &'static str;

    /// The policy's state at the start of a run (kept in `SimState`; empty by default).
    fn initial_state(&self, _m: &ClusterSim) -> PolicyState {
        PolicyState::empty()
    }

    /// PreEnqueue: where submitted jobs go.
    fn queueing(&self) -> Queueing;

    /// The policy resizes training jobs (issue 19): each training job gets one 1-GPU pod
    /// per replica it could ever use, and runs on those the policy gives it
    /// ([`ClusterSim::start_on`], [`ClusterSim::release_job`]).
    fn elastic(&self) -> bool {
        false
    }

    /// The policy's training jobs adapt their batch size to their allocation (Pollux,
    /// `crate::elastic::adaptive`): they are advanced at its rounds, this far apart, and
    /// the policy calls [`ClusterSim::training_checkpoint`] on each running job at every
    /// round.
    fn adapts_batch(&self) -> Option<sim_core::SimDuration> {
        None
    }

    /// The policy keeps its own scheduling rounds (it reads
    /// `scheduler.scheduling_interval` itself); otherwise the model runs its pass only at
    /// the interval's multiples.
    fn keeps_rounds(&self) -> bool {
        false
    }

    /// The scheduling interval when the scenario gives none (`None`: decide at every
    /// event).
    fn default_interval(&self) -> Option<sim_core::SimDuration> {
        None
    }

    /// With an interval, decide at every round while a job waits or runs, even when
    /// nothing happened in between (the research simulators' rounds: their decisions
    /// depend on the jobs' progress). Otherwise a round is set only by what happens
    /// between rounds.
    fn decides_every_round(&self) -> bool {
        false
    }

    /// The scheduler profile (Filter and Score plugins) its pods are placed with: the
    /// scenario's, unless the system it models scores its own way.
    fn profile(&self, config: &SchedulerConfig) -> Profile {
        config.profile()
    }

    /// Whether jobs' `queue` names are Kueue LocalQueues (validated against
    /// `kueue.queues` when the run is built). A policy with queues of its own says no.
    fn queue_names_are_kueue(&self, _config: &SchedulerConfig) -> bool {
        true
    }

    /// QueueSort: the pod-queue key of `pod` of `job`, queued at `ts`.
    fn queue_sort(&self, m: &mut ClusterSim, job: u32, pod: u32, ts: SimTime) -> QueueKey {
        m.priority_sort_key(job, pod, ts)
    }

    /// QueueSort keeps a group's pods back to back: when simultaneous arrivals are ordered
    /// by the seeded chooser only the order of the groups is a choice.
    fn groups_pods(&self) -> bool {
        false
    }

    /// Pods wait at Permit for their PodGroup (Coscheduling, KEP-4671): the pod log words
    /// a pending pod's reason as its group's.
    fn gangs_at_permit(&self) -> bool {
        false
    }

    /// Reserve + Permit for a pod Filter and Score put on `node`.
    fn permit(&self, m: &mut ClusterSim, job: u32, pod: u32, node: u32, ctx: &mut Ctx<'_, Event>) {
        m.assume(job, pod, node, super::PodPhase::Bound);
        m.maybe_start(job, ctx);
    }

    /// PostFilter: no node passed Filter for the pod of `key` (already out of the queue).
    fn post_filter(&self, m: &mut ClusterSim, key: QueueKey, now: SimTime) {
        m.requeue_failed_pod(key, now);
    }

    /// The scheduling pass at the end of an instant (after every event of the instant).
    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>);

    /// A timer this policy set has fired.
    fn on_timer(&self, _m: &mut ClusterSim, _timer: PolicyTimer, _ctx: &mut Ctx<'_, Event>) {}

    /// Whether a pending timer still has an effect (the verifier fingerprints live ones).
    fn timer_live(&self, m: &ClusterSim, timer: &PolicyTimer) -> bool {
        timer
            .generation
            .is_none_or(|g| m.state.jobs[timer.job as usize].generation == g)
    }

    /// A job's pods are all bound and it started running.
    fn on_started(&self, _m: &mut ClusterSim, _job: u32, _ctx: &mut Ctx<'_, Event>) {}

    /// A job completed (its pods are released).
    fn on_finished(&self, _m: &mut ClusterSim, _job: u32) {}

    /// A job lost pods (node failure or drain) and restarts as a whole: release it and put
    /// it back. The default does what the training operators do: with pod-level
    /// scheduling every pod is recreated now (PyTorchJob/JobSet restart all workers); a
    /// whole-job policy requeues the gang at its old queue position (Volcano's
    /// `RestartJob`). Progress and checkpoints are the fault controller's, not the
    /// policy's.
    fn restart(&self, m: &mut ClusterSim, job: u32, now: SimTime, ctx: &mut Ctx<'_, Event>) {
        m.evict(job, now, ctx);
        match self.queueing() {
            Queueing::Pods => m.recreate_pods(job, now),
            Queueing::Jobs => {
                let ts = m.state.jobs[job as usize].queue_ts;
                m.enqueue_job(job, ts);
            }
        }
    }

    /// Whether waiting `job`'s pods have been through a scheduling attempt by `now` (the
    /// cluster autoscaler counts only pods marked unschedulable). The default: every pass
    /// tries every waiting job at the end of the instant it arrives.
    fn attempted(&self, _m: &ClusterSim, _job: u32, _now: SimTime) -> bool {
        true
    }

    /// Why waiting `job` is held back by the policy itself (not by kube-scheduler's
    /// Filter), as `(who, message)`: e.g. `("ClusterQueue team-a", "couldn't assign
    /// flavors …")`. The pod log shows `who: message` as its pods' reason and records a
    /// `Pending` event on the job's Workload when the message changes. The default:
    /// `None`, the generic reasons (FitError, gang size, unschedulable queue).
    fn pending_reason(&self, _m: &ClusterSim, _job: u32) -> Option<(String, String)> {
        None
    }

    /// Whether the policy may break ties by job index (so jobs that differ only by index
    /// are not interchangeable for the verifier's symmetry reduction).
    fn ties_by_job_index(&self, _m: &ClusterSim) -> bool {
        false
    }

    /// Whether a waiting job is retried only when something changes (whole-job placement
    /// without a periodic retry): the end-of-run explanation of a stuck job says so.
    fn retries_only_on_change(&self) -> bool {
        self.queueing() == Queueing::Jobs
    }

    /// Feed what this policy keeps (in `m.state.policy` and any policy-specific fields)
    /// into the verifier's fingerprint at `now`, jobs renamed by `relabel`. The default
    /// hashes [`PolicyState`] whole, which is always sound; override to drop what cannot
    /// change the future (absolute times, counters) so more states merge.
    fn hash_state(
        &self,
        m: &ClusterSim,
        _now: SimTime,
        _relabel: &dyn Fn(u32) -> u32,
        h: &mut dyn Hasher,
    ) {
        m.state.policy.hash_into(h);
    }
}
