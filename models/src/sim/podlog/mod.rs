//! The pod log: where every pod went and why it waited (`pods.csv`, `events.csv`).
//!
//! An observer, not a participant: at the end of every instant (after the policy's pass
//! and the controllers) it compares each live job's pods with what it saw last and
//! records the changes — a pod's state intervals (pending with the scheduler's reason,
//! waiting at Permit, bound to a node and GPUs) and Kubernetes-style events (`Scheduled`,
//! `FailedScheduling`, `Preempted`, `QuotaReserved`, `Admitted`, `Evicted`, `Completed`,
//! node conditions). It reads the state and never changes it, so a run with the log is the
//! same run as without it (same outputs, same fingerprints); it is off unless
//! [`super::RunConfig::pod_log`] asks for it.
//!
//! It looks only where something may have changed: at the nodes the scheduler invalidated
//! and the jobs whose state was reached mutably since its last look
//! ([`super::jobs::Jobs`]), and at the jobs with a pod still pending (their reasons depend
//! on the whole cluster). Looking at every job and node instead gives the same log
//! (`check_invariants` does, and `models/tests/property.rs` compares the two).
//!
//! A pending pod's reason is made at the end of an instant in which what it depends on
//! changed (a cheap [`Key`]: the pod's state, whether its shape fits some Ready node, the
//! Ready node count, the job's queue state; the policy's own reason when the cluster
//! signature changed), so the counts inside a FitError are those of the moment the reason
//! began:
//! * Kueue, workload without quota: Kueue's own message for the workload's `QuotaReserved`
//!   condition (`couldn't assign flavors to pod set main: insufficient unused quota …`,
//!   from the admission core's flavor assigner);
//! * a pod no Ready node can take: kube-scheduler's FitError (`0/16 nodes are available:
//!   16 Insufficient nvidia.com/gpu.`);
//! * a pod waiting at Permit: `waiting at Permit for K more pods of PodGroup J`;
//! * a gang (job-level policies): how many GPUs it needs at once against how many are free;
//! * otherwise (pod-level, fits now): in the unschedulable queue until a cluster change or
//!   the 5-minute flush.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::SimTime;

use super::{ClusterSim, JobPhase, PodPhase};
use crate::marks::Marked;
use crate::state::NodeCondition;

mod store;

use store::{
    Event, EventReason as R, FIXED_TEXTS, Interner, Interval, JOB_COMPLETED, JOB_DELETED, Message,
    NO_NODE,
};
pub use store::{
    EventReason, EventRow, LogObject, MessageText, ObjectName, PodLogReport, PodLogView, PodRow,
};

/// A pod's state in one interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogState {
    Pending,
    /// Reserved on a node, waiting at Permit for its gang.
    Waiting,
    Bound,
    /// A replica an elastic job does not run on now: no pod exists (it is created when
    /// the job grows); never written.
    Absent,
}

impl LogState {
    pub fn name(self) -> &'static str {
        match self {
            LogState::Pending => "pending",
            LogState::Waiting => "waiting",
            LogState::Bound => "bound",
            LogState::Absent => "absent",
        }
    }
}

/// What a waiting pod's reason depends on, cheap to compare: the text is made only when
/// this changes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    /// Bound: no reason.
    None,
    /// Waiting at Permit for this many more pods.
    Waiting(u32),
    /// Held by the policy (its message is compared).
    Held,
    /// No Ready node can take the pod (shape) now; with the Ready node count.
    Fit {
        shape: u32,
        ready: u32,
    },
    /// A job-level gang: not enough GPUs free / enough free but not placed.
    GangShort,
    GangBlocked,
    /// A PodGroup rejected as a whole (its pods fit one by one).
    GroupRejected,
    /// In the unschedulable queue.
    Unschedulable,
}

#[derive(Clone, Debug)]
struct Open {
    since: SimTime,
    state: LogState,
    node: Option<u32>,
    gpus: Vec<u8>,
    key: Key,
    reason: String,
}

impl Open {
    fn pending(now: SimTime) -> Open {
        Open {
            since: now,
            state: LogState::Pending,
            node: None,
            gpus: Vec::new(),
            key: Key::None,
            reason: String::new(),
        }
    }
}

/// The job fields whose change means its pods may have changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct JobSig {
    phase: u8,
    assumed: u32,
    bound: u32,
    generation: u32,
    evictions: u32,
    requeues: u32,
    admitted: bool,
}

impl JobSig {
    fn of(js: &super::JobState) -> JobSig {
        JobSig {
            phase: match js.phase {
                JobPhase::NotSubmitted => 0,
                JobPhase::Waiting => 1,
                JobPhase::Running => 2,
                JobPhase::Completed { .. } => 3,
            },
            assumed: js.assumed,
            bound: js.bound,
            generation: js.generation,
            evictions: js.evictions,
            requeues: js.requeues,
            admitted: js.admitted,
        }
    }
}

#[derive(Clone, Debug)]
struct OpenJob {
    pods: Vec<Open>,
    /// The job as last seen (`None` before the first look).
    sig: Option<JobSig>,
    /// The cluster signature its reasons were made against.
    seen: u64,
    /// The policy's message for the job (Kueue's Workload `Pending` event), and the
    /// cluster signature it was asked at.
    held: Option<(String, String)>,
    held_at: Option<u64>,
    /// Since when the Workload has been queued (submission, or its last eviction).
    queued_since: SimTime,
}

/// The log (see the module doc).
#[derive(Clone, Debug)]
pub struct PodLog {
    intervals: Vec<Interval>,
    events: Vec<Event>,
    texts: Interner<str>,
    gpu_lists: Interner<[u8]>,
    live: BTreeMap<u32, OpenJob>,
    /// Live jobs not settled: seen with some pod not yet holding resources, or not seen
    /// yet. A settled job (every pod waiting at Permit or bound) is looked at again only
    /// when it was touched ([`super::jobs::Jobs`]); these, at every instant.
    unsettled: BTreeSet<u32>,
    nodes: Vec<NodeCondition>,
    /// Per node: its free GPU milli if `Ready`, else `None`, as last seen; and the sums over
    /// every node (free GPU milli and `Ready` nodes), kept up to date from the nodes
    /// touched.
    node_free: Vec<Option<u64>>,
    free_milli: u64,
    ready: u32,
}

/// Per-instant facts shared by every waiting pod's reason.
struct Instant {
    /// What the reasons depend on beyond the job itself (allocation, idle GPUs, Ready
    /// nodes, queues, Kueue quota usage): reasons are looked at again only when it or the
    /// job changed.
    sig: u64,
    free_milli: u64,
    ready: u32,
    /// Whether a pod shape fits some node now (computed once per instant).
    fits: BTreeMap<u32, bool>,
    /// Jobs in the job queue (built on first use).
    queued: Option<std::collections::BTreeSet<u32>>,
}

impl Instant {
    /// This instant's facts, given the free GPU milli and the number of nodes over the
    /// `Ready` nodes.
    fn new(m: &ClusterSim, (free_milli, ready): (u64, u32)) -> Instant {
        use std::hash::{Hash, Hasher};
        let c = &m.state.cluster;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            c.gpu_milli_allocated,
            c.idle_gpus(),
            free_milli,
            ready,
            m.state.job_queue.len(),
            m.state.pod_queue.len(),
            m.state.running.len(),
        )
            .hash(&mut h);
        m.state
            .kueue
            .queues
            .iter()
            .for_each(|q| q.usage.hash(&mut h));
        m.state.kueue.admitted_at.len().hash(&mut h);
        Instant {
            sig: h.finish(),
            free_milli,
            ready,
            fits: BTreeMap::new(),
            queued: None,
        }
    }

    fn fits(&mut self, m: &ClusterSim, j: u32, p: u32) -> bool {
        let shape = m.pod_shape(j, p);
        *self.fits.entry(shape).or_insert_with(|| {
            let req = &m.workload.jobs[j as usize].pods[p as usize];
            m.state.cluster.could_fit(std::slice::from_ref(req))
                && m.spec
                    .nodes
                    .iter()
                    .zip(&m.state.cluster.nodes)
                    .any(|(n, st)| st.fits(n, req).is_ok())
        })
    }

    fn queued(&mut self, m: &ClusterSim, j: u32) -> bool {
        self.queued
            .get_or_insert_with(|| m.state.job_queue.iter().map(|k| k.job).collect())
            .contains(&j)
    }
}

/// `1`, `0.5`: thousandths of a GPU as a number of GPUs.
pub fn gpus(milli: u64) -> String {
    if milli.is_multiple_of(1000) {
        (milli / 1000).to_string()
    } else {
        let s = format!("{}.{:03}", milli / 1000, milli % 1000);
        s.trim_end_matches('0').to_string()
    }
}

impl PodLog {
    pub fn new(m: &ClusterSim) -> PodLog {
        let n = m.state.cluster.nodes.len();
        PodLog {
            intervals: Vec::new(),
            events: Vec::new(),
            texts: Interner::new("", &FIXED_TEXTS),
            gpu_lists: Interner::new(&[], &[]),
            live: BTreeMap::new(),
            unsettled: BTreeSet::new(),
            nodes: m.state.cluster.nodes.iter().map(|n| n.condition).collect(),
            node_free: vec![None; n],
            free_milli: 0,
            ready: 0,
        }
    }

    /// A job was submitted at `now`: its pods are pending from then.
    pub fn submitted(&mut self, m: &ClusterSim, job: u32, now: SimTime) {
        let n = m.workload.jobs[job as usize].pods.len();
        let mut pods = vec![Open::pending(now); n];
        // An elastic job's pods beyond its first exist only while it runs on them.
        if m.elastic {
            for o in pods.iter_mut().skip(1) {
                o.state = LogState::Absent;
            }
        }
        self.live.insert(
            job,
            OpenJob {
                pods,
                sig: None,
                seen: 0,
                held: None,
                held_at: None,
                queued_since: now,
            },
        );
        self.unsettled.insert(job);
    }

    fn event(&mut self, at: SimTime, warning: bool, reason: R, object: LogObject, message: &str) {
        let t = self.texts.id(message);
        self.event_text(at, warning, reason, object, t);
    }

    fn event_text(&mut self, at: SimTime, warning: bool, reason: R, object: LogObject, t: u32) {
        self.events.push(Event {
            at,
            warning,
            reason,
            object,
            message: Message::Text(t),
        });
    }

    /// Compare the state with what was last seen and record the differences. `jobs` and
    /// `nodes` are the jobs and nodes touched since the last call (`None`: any may have
    /// been); no other job or node can have changed.
    pub fn observe(
        &mut self,
        m: &ClusterSim,
        now: SimTime,
        jobs: Option<Marked>,
        nodes: Option<Marked>,
    ) {
        match nodes.filter(|t| !t.all()) {
            Some(t) => t
                .sorted()
                .into_iter()
                .for_each(|i| self.observe_node(m, i as usize, now)),
            None => (0..m.state.cluster.nodes.len()).for_each(|i| self.observe_node(m, i, now)),
        }
        let mut inst = Instant::new(m, (self.free_milli, self.ready));
        // Every live job that may need a look, in job order: the unsettled ones and the
        // touched ones (a settled job untouched since its last look would change nothing).
        let visit: Vec<u32> = match jobs.filter(|t| !t.all()) {
            Some(t) => {
                let mut v: Vec<u32> = t
                    .sorted()
                    .into_iter()
                    .filter(|j| self.live.contains_key(j))
                    .collect();
                v.extend(self.unsettled.iter().copied());
                v.sort_unstable();
                v.dedup();
                v
            }
            None => self.live.keys().copied().collect(),
        };
        for j in visit {
            self.observe_job(m, j, now, &mut inst);
        }
    }

    /// Node `i` as it is now: its condition's event if that changed, and its part of the
    /// free GPU milli and `Ready` totals.
    fn observe_node(&mut self, m: &ClusterSim, i: usize, now: SimTime) {
        let st = &m.state.cluster.nodes[i];
        let ready = st.condition == NodeCondition::Ready;
        let free = if ready {
            st.gpu_free.iter().map(|&f| u64::from(f)).sum::<u64>()
        } else {
            0
        };
        let new = ready.then_some(free);
        let old = std::mem::replace(&mut self.node_free[i], new);
        self.free_milli = self.free_milli - old.unwrap_or(0) + free;
        self.ready = self.ready - u32::from(old.is_some()) + u32::from(ready);
        self.condition_event(m, i, now);
    }

    /// Node `i`'s condition event, if its condition changed since last seen.
    fn condition_event(&mut self, m: &ClusterSim, i: usize, now: SimTime) {
        let st = &m.state.cluster.nodes[i];
        let was = self.nodes[i];
        if st.condition == was {
            return;
        }
        self.nodes[i] = st.condition;
        let name = &m.spec.nodes[i].name;
        let (warning, reason, msg) = match (was, st.condition) {
            (NodeCondition::Absent, NodeCondition::Ready) => (
                false,
                R::RegisteredNode,
                format!("Node {name} event: Registered Node {name} in Controller"),
            ),
            (_, NodeCondition::Absent) => (
                false,
                R::RemovingNode,
                format!("Node {name} event: Removing Node {name} from Controller"),
            ),
            (_, NodeCondition::Failed) => (
                true,
                R::NodeNotReady,
                format!("Node {name} status is now: NodeNotReady"),
            ),
            (_, NodeCondition::Cordoned) => (
                false,
                R::NodeNotSchedulable,
                format!("Node {name} status is now: NodeNotSchedulable"),
            ),
            (NodeCondition::Cordoned, NodeCondition::Ready) => (
                false,
                R::NodeSchedulable,
                format!("Node {name} status is now: NodeSchedulable"),
            ),
            (_, NodeCondition::Ready) => (
                false,
                R::NodeReady,
                format!("Node {name} status is now: NodeReady"),
            ),
        };
        self.event(now, warning, reason, LogObject::Node(i as u32), &msg);
    }

    fn observe_job(&mut self, m: &ClusterSim, j: u32, now: SimTime, inst: &mut Instant) {
        let js = &m.state.jobs[j as usize];
        let sig = JobSig::of(js);
        let Some(o) = self.live.get_mut(&j) else {
            return;
        };
        // Nothing of the job changed and nothing its reasons depend on: nothing to do.
        if o.sig == Some(sig) && (o.seen == inst.sig || js.assumed as usize == js.pods.len()) {
            return;
        }
        let Some(mut o) = self.live.remove(&j) else {
            return;
        };
        let before = o.sig.unwrap_or(JobSig {
            admitted: false,
            ..sig
        });
        o.sig = Some(sig);
        o.seen = inst.sig;
        if sig.assumed as usize == js.pods.len() {
            self.unsettled.remove(&j);
        } else {
            self.unsettled.insert(j);
        }
        self.workload_events(m, j, &mut o, before, now);
        let preempted = js.evictions > before.evictions;
        let done = matches!(js.phase, JobPhase::Completed { .. });
        // The policy's own reason (Kueue without quota), asked again when the cluster or
        // the quota changed.
        let waiting = !done
            && if m.elastic {
                js.phase != JobPhase::Running
            } else {
                js.bound as usize != js.pods.len()
            };
        if waiting && o.held_at != Some(inst.sig) {
            o.held_at = Some(inst.sig);
            let held = m.policy().pending_reason(m, j);
            if let Some((_, msg)) = &held
                && o.held.as_ref().is_none_or(|(_, old)| old != msg)
            {
                self.event(now, true, R::Pending, LogObject::Workload(j), msg);
            }
            o.held = held;
        } else if !waiting {
            o.held = None;
            o.held_at = None;
        }
        for (p, ps) in js.pods.iter().enumerate() {
            let pod = p as u32;
            let (state, node, gpus): (LogState, Option<u32>, &[u8]) =
                match (ps.phase, &ps.placement) {
                    (PodPhase::Bound, Some(pl)) => (LogState::Bound, Some(pl.node), &pl.gpus),
                    (PodPhase::Waiting, Some(pl)) => (LogState::Waiting, Some(pl.node), &pl.gpus),
                    // An elastic job's replica it does not run on (a waiting job keeps
                    // its first pod pending).
                    _ if m.elastic && (pod > 0 || js.assumed > 0) => (LogState::Absent, None, &[]),
                    _ => (LogState::Pending, None, &[]),
                };
            if done {
                let cur = std::mem::replace(&mut o.pods[p], Open::pending(now));
                self.close(j, pod, cur, now);
                continue;
            }
            let cur = &o.pods[p];
            if cur.state != state || cur.node != node || cur.gpus != gpus {
                let prev = std::mem::replace(
                    &mut o.pods[p],
                    Open {
                        since: now,
                        state,
                        node,
                        gpus: gpus.to_vec(),
                        key: Key::None,
                        reason: String::new(),
                    },
                );
                self.moved(m, j, pod, &prev, state, node, preempted, now);
                self.close(j, pod, prev, now);
            }
            if state == LogState::Bound || state == LogState::Absent {
                continue;
            }
            let key = if state == LogState::Waiting {
                Key::Waiting((js.pods.len() as u32).saturating_sub(js.assumed))
            } else if o.held.is_some() {
                Key::Held
            } else {
                pending_key(m, j, pod, inst)
            };
            let cur = &o.pods[p];
            if key == cur.key && key != Key::Held {
                continue;
            }
            let reason = match (&key, &o.held) {
                (Key::Held, Some((who, msg))) => format!("{who}: {msg}"),
                _ => reason_text(m, j, pod, &key, inst),
            };
            let cur = &mut o.pods[p];
            cur.key = key;
            if cur.reason == reason {
                continue;
            }
            if state == LogState::Pending && o.held.is_none() {
                self.event(
                    now,
                    true,
                    R::FailedScheduling,
                    LogObject::Pod { job: j, pod },
                    &reason,
                );
            }
            let cur = &mut o.pods[p];
            if cur.since == now || cur.reason.is_empty() {
                cur.reason = reason;
            } else {
                let mut prev = cur.clone();
                prev.key = Key::None;
                cur.since = now;
                cur.reason = reason;
                self.close(j, pod, prev, now);
            }
        }
        if done {
            // A deleted job ends with run time left (`deletion.rs`).
            let (reason, msg) = if js.remaining > sim_core::SimDuration::ZERO {
                (R::Deleted, JOB_DELETED)
            } else {
                (R::Completed, JOB_COMPLETED)
            };
            self.event_text(now, false, reason, LogObject::Job(j), msg);
            self.unsettled.remove(&j);
        } else {
            self.live.insert(j, o);
        }
    }

    /// Kueue's Workload events: admitted (`QuotaReserved`, `Admitted`) or evicted.
    fn workload_events(
        &mut self,
        m: &ClusterSim,
        j: u32,
        o: &mut OpenJob,
        before: JobSig,
        now: SimTime,
    ) {
        let js = &m.state.jobs[j as usize];
        if m.policy().name() != "kueue" || js.admitted == before.admitted {
            return;
        }
        let cq = m
            .state
            .kueue
            .queues
            .get(m.state.kueue.job_cq.get(j as usize).copied().unwrap_or(0) as usize)
            .map(|q| q.name.clone())
            .unwrap_or_default();
        if js.admitted {
            self.event(
                now,
                false,
                R::QuotaReserved,
                LogObject::Workload(j),
                &format!(
                    "Quota reserved in ClusterQueue {cq}, wait time since queued was {}s",
                    now.since(o.queued_since).as_secs_f64().round()
                ),
            );
            self.event(
                now,
                false,
                R::Admitted,
                LogObject::Workload(j),
                &format!("Admitted by ClusterQueue {cq}, wait time since reservation was 0s"),
            );
        } else if !matches!(js.phase, JobPhase::Completed { .. }) {
            let why = if js.requeues > before.requeues {
                "Exceeded the PodsReady timeout"
            } else {
                "Preempted to accommodate a workload due to prioritization in the ClusterQueue"
            };
            self.event(now, true, R::Evicted, LogObject::Workload(j), why);
            o.queued_since = now;
        }
    }

    /// A pod changed state or node: the events that say so.
    #[allow(clippy::too_many_arguments)]
    fn moved(
        &mut self,
        m: &ClusterSim,
        j: u32,
        p: u32,
        prev: &Open,
        state: LogState,
        node: Option<u32>,
        preempted: bool,
        now: SimTime,
    ) {
        let pod = LogObject::Pod { job: j, pod: p };
        if m.elastic
            && prev.state == LogState::Bound
            && (state != LogState::Bound || prev.node != node)
        {
            let now_on = m.state.jobs[j as usize].assumed;
            self.event(
                now,
                false,
                R::Killing,
                pod,
                &format!(
                    "Stopping container: {} reallocated the job (now on {now_on} GPUs)",
                    m.policy().name()
                ),
            );
        } else if prev.state == LogState::Bound && state == LogState::Pending {
            let failed = prev.node.is_some_and(|n| {
                m.state.cluster.nodes[n as usize].condition == NodeCondition::Failed
            });
            if preempted {
                let on = prev
                    .node
                    .map_or("?", |n| m.spec.nodes[n as usize].name.as_str());
                self.event(
                    now,
                    false,
                    R::Preempted,
                    pod,
                    &format!("Preempted by {} on node {on}", m.policy().name()),
                );
            } else if failed {
                self.event(
                    now,
                    true,
                    R::TaintManagerEviction,
                    pod,
                    &format!("Marking for deletion Pod default/{}", pod_name(m, j, p)),
                );
            } else {
                self.event(
                    now,
                    false,
                    R::Killing,
                    pod,
                    "Stopping container: its job restarts (it lost a pod, a GPU or its gang)",
                );
            }
        }
        if state == LogState::Bound {
            self.events.push(Event {
                at: now,
                warning: false,
                reason: R::Scheduled,
                object: pod,
                message: Message::Assigned {
                    node: node.unwrap_or(NO_NODE),
                },
            });
        }
    }

    fn close(&mut self, job: u32, pod: u32, o: Open, now: SimTime) {
        // A pod bound at the instant it became pending never waited: no interval. A
        // replica that did not exist has none either.
        if (o.since == now && o.state == LogState::Pending) || o.state == LogState::Absent {
            return;
        }
        let gpus = self.gpu_lists.id(&o.gpus);
        let reason = self.texts.id(&o.reason);
        self.intervals.push(Interval {
            job,
            pod,
            from: o.since,
            to: now,
            state: o.state,
            node: o.node.unwrap_or(NO_NODE),
            gpus,
            reason,
        });
    }
}

/// The cheap key of a pending pod's reason (see [`Key`]).
fn pending_key(m: &ClusterSim, j: u32, p: u32, inst: &mut Instant) -> Key {
    if !inst.fits(m, j, p) {
        return Key::Fit {
            shape: m.pod_shape(j, p),
            ready: inst.ready,
        };
    }
    let need = m.workload.jobs[j as usize].gpu_milli();
    if inst.queued(m, j) {
        return if inst.free_milli < need {
            Key::GangShort
        } else {
            Key::GangBlocked
        };
    }
    if m.policy().gangs_at_permit() {
        return Key::GroupRejected;
    }
    Key::Unschedulable
}

/// The words for `key` (see the module doc).
fn reason_text(m: &ClusterSim, j: u32, p: u32, key: &Key, inst: &Instant) -> String {
    let spec = &m.workload.jobs[j as usize];
    let n = spec.pods.len();
    let need = gpus(spec.gpu_milli());
    match key {
        Key::Waiting(more) => format!(
            "waiting at Permit for {more} more pods of PodGroup {}",
            spec.id
        ),
        Key::Fit { .. } => crate::state::fit_error(&m.spec, &m.state.cluster, &spec.pods[p as usize]),
        Key::GangShort => format!(
            "gang {}: all {n} pods must be placed at once; {need} nvidia.com/gpu needed, fewer free on Ready nodes",
            spec.id
        ),
        Key::GangBlocked => format!(
            "gang {}: all {n} pods must be placed at once; {need} nvidia.com/gpu needed and as many free on Ready nodes, but no placement holds every pod or jobs ahead of it in {} order come first",
            spec.id,
            m.policy().name()
        ),
        Key::GroupRejected => format!(
            "PodGroup {}: not all {n} pods could be placed at once ({need} nvidia.com/gpu needed, {} free on {} Ready nodes); the group was rejected and waits in the unschedulable queue for a cluster change (at most podMaxInUnschedulablePodsDuration, 5m)",
            spec.id,
            gpus(inst.free_milli),
            inst.ready
        ),
        Key::Unschedulable => "unschedulable at its last attempt; waits in the unschedulable queue for a cluster change (at most podMaxInUnschedulablePodsDuration, 5m)".into(),
        Key::None | Key::Held => String::new(),
    }
}

impl PodLog {
    /// Close the log at the end of the run (open intervals stay open) and name the nodes.
    pub(super) fn finish(mut self, m: &ClusterSim) -> PodLogReport {
        let live = std::mem::take(&mut self.live);
        for (j, o) in live {
            for (p, open) in o.pods.into_iter().enumerate() {
                let gpus = self.gpu_lists.id(&open.gpus);
                let reason = self.texts.id(&open.reason);
                self.intervals.push(Interval {
                    job: j,
                    pod: p as u32,
                    from: open.since,
                    to: SimTime::MAX,
                    state: open.state,
                    node: open.node.unwrap_or(NO_NODE),
                    gpus,
                    reason,
                });
            }
        }
        self.intervals.sort_by_key(|a| (a.job, a.pod, a.from));
        PodLogReport {
            intervals: self.intervals,
            events: self.events,
            texts: self.texts.into_values(),
            gpu_lists: self.gpu_lists.into_values(),
            nodes: m.spec.nodes.iter().map(|n| n.name.clone()).collect(),
            tail_ids: Vec::new(),
        }
    }
}

/// A pod's name: `<job>-<k>`.
pub fn pod_name(m: &ClusterSim, job: u32, pod: u32) -> String {
    format!("{}-{pod}", m.workload.jobs[job as usize].id)
}
