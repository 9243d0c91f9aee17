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

/// A pod's state in one interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogState {
    Pending,
    /// Reserved on a node, waiting at Permit for its gang.
    Waiting,
    Bound,
}

impl LogState {
    pub fn name(self) -> &'static str {
        match self {
            LogState::Pending => "pending",
            LogState::Waiting => "waiting",
            LogState::Bound => "bound",
        }
    }
}

/// One interval of one pod's life (`to` is `None` when the run ended inside it).
#[derive(Clone, Debug, PartialEq)]
pub struct PodInterval {
    pub job: u32,
    pub pod: u32,
    pub from: SimTime,
    pub to: Option<SimTime>,
    pub state: LogState,
    pub node: Option<u32>,
    pub gpus: Vec<u8>,
    /// Why it waited (pending and waiting intervals); empty while bound.
    pub reason: String,
}

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogObject {
    Pod {
        job: u32,
        pod: u32,
    },
    Job(u32),
    /// Kueue's Workload of a job.
    Workload(u32),
    Node(u32),
}

/// A Kubernetes-style event.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEvent {
    pub at: SimTime,
    /// `Warning` (true) or `Normal`.
    pub warning: bool,
    pub reason: &'static str,
    pub object: LogObject,
    pub message: String,
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
#[derive(Clone, Debug, Default)]
pub struct PodLog {
    pub intervals: Vec<PodInterval>,
    pub events: Vec<LogEvent>,
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
            nodes: m.state.cluster.nodes.iter().map(|n| n.condition).collect(),
            node_free: vec![None; n],
            ..PodLog::default()
        }
    }

    /// A job was submitted at `now`: its pods are pending from then.
    pub fn submitted(&mut self, m: &ClusterSim, job: u32, now: SimTime) {
        let n = m.workload.jobs[job as usize].pods.len();
        self.live.insert(
            job,
            OpenJob {
                pods: vec![Open::pending(now); n],
                sig: None,
                seen: 0,
                held: None,
                held_at: None,
                queued_since: now,
            },
        );
        self.unsettled.insert(job);
    }

    fn event(
        &mut self,
        at: SimTime,
        warning: bool,
        reason: &'static str,
        object: LogObject,
        message: String,
    ) {
        self.events.push(LogEvent {
            at,
            warning,
            reason,
            object,
            message,
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
                "RegisteredNode",
                format!("Node {name} event: Registered Node {name} in Controller"),
            ),
            (_, NodeCondition::Absent) => (
                false,
                "RemovingNode",
                format!("Node {name} event: Removing Node {name} from Controller"),
            ),
            (_, NodeCondition::Failed) => (
                true,
                "NodeNotReady",
                format!("Node {name} status is now: NodeNotReady"),
            ),
            (_, NodeCondition::Cordoned) => (
                false,
                "NodeNotSchedulable",
                format!("Node {name} status is now: NodeNotSchedulable"),
            ),
            (NodeCondition::Cordoned, NodeCondition::Ready) => (
                false,
                "NodeSchedulable",
                format!("Node {name} status is now: NodeSchedulable"),
            ),
            (_, NodeCondition::Ready) => (
                false,
                "NodeReady",
                format!("Node {name} status is now: NodeReady"),
            ),
        };
        self.event(now, warning, reason, LogObject::Node(i as u32), msg);
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
        let waiting = !done && js.bound as usize != js.pods.len();
        if waiting && o.held_at != Some(inst.sig) {
            o.held_at = Some(inst.sig);
            let held = m.policy().pending_reason(m, j);
            if let Some((_, msg)) = &held
                && o.held.as_ref().is_none_or(|(_, old)| old != msg)
            {
                self.event(now, true, "Pending", LogObject::Workload(j), msg.clone());
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
            if state == LogState::Bound {
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
                    "FailedScheduling",
                    LogObject::Pod { job: j, pod },
                    reason.clone(),
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
                ("Deleted", "Job deleted")
            } else {
                ("Completed", "Job completed")
            };
            self.event(now, false, reason, LogObject::Job(j), msg.into());
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
                "QuotaReserved",
                LogObject::Workload(j),
                format!(
                    "Quota reserved in ClusterQueue {cq}, wait time since queued was {}s",
                    now.since(o.queued_since).as_secs_f64().round()
                ),
            );
            self.event(
                now,
                false,
                "Admitted",
                LogObject::Workload(j),
                format!("Admitted by ClusterQueue {cq}, wait time since reservation was 0s"),
            );
        } else if !matches!(js.phase, JobPhase::Completed { .. }) {
            let why = if js.requeues > before.requeues {
                "Exceeded the PodsReady timeout"
            } else {
                "Preempted to accommodate a workload due to prioritization in the ClusterQueue"
            };
            self.event(
                now,
                true,
                "Evicted",
                LogObject::Workload(j),
                why.to_string(),
            );
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
        if prev.state == LogState::Bound && state == LogState::Pending {
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
                    "Preempted",
                    pod,
                    format!("Preempted by {} on node {on}", m.policy().name()),
                );
            } else if failed {
                self.event(
                    now,
                    true,
                    "TaintManagerEviction",
                    pod,
                    format!("Marking for deletion Pod default/{}", pod_name(m, j, p)),
                );
            } else {
                self.event(
                    now,
                    false,
                    "Killing",
                    pod,
                    "Stopping container: its job restarts (it lost a pod, a GPU or its gang)"
                        .into(),
                );
            }
        }
        if state == LogState::Bound {
            let n = node.map_or("?", |n| m.spec.nodes[n as usize].name.as_str());
            self.event(
                now,
                false,
                "Scheduled",
                pod,
                format!("Successfully assigned default/{} to {n}", pod_name(m, j, p)),
            );
        }
    }

    fn close(&mut self, job: u32, pod: u32, o: Open, now: SimTime) {
        // A pod bound at the instant it became pending never waited: no interval.
        if o.since == now && o.state == LogState::Pending {
            return;
        }
        self.intervals.push(PodInterval {
            job,
            pod,
            from: o.since,
            to: Some(now),
            state: o.state,
            node: o.node,
            gpus: o.gpus,
            reason: o.reason,
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
    /// Close the log at the end of the run: open intervals stay open (`to` = `None`).
    pub fn finish(mut self) -> (Vec<PodInterval>, Vec<LogEvent>) {
        let live = std::mem::take(&mut self.live);
        for (j, o) in live {
            for (p, open) in o.pods.into_iter().enumerate() {
                self.intervals.push(PodInterval {
                    job: j,
                    pod: p as u32,
                    from: open.since,
                    to: None,
                    state: open.state,
                    node: open.node,
                    gpus: open.gpus,
                    reason: open.reason,
                });
            }
        }
        self.intervals.sort_by_key(|a| (a.job, a.pod, a.from));
        (self.intervals, self.events)
    }
}

/// A pod's name: `<job>-<k>`.
pub fn pod_name(m: &ClusterSim, job: u32, pod: u32) -> String {
    format!("{}-{pod}", m.workload.jobs[job as usize].id)
}

/// One `pods.csv` row: a pod's interval with names resolved.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PodRow {
    pub pod: String,
    pub job: String,
    pub from: SimTime,
    pub to: Option<SimTime>,
    pub state: String,
    pub node: Option<String>,
    pub gpus: Vec<u8>,
    pub reason: String,
}

/// One `events.csv` row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventRow {
    pub at: SimTime,
    /// `Normal` or `Warning`.
    pub kind: String,
    pub reason: String,
    /// `pod/<name>`, `job/<id>`, `workload/<id>`, `node/<name>`.
    pub object: String,
    /// The job the event concerns (empty for node events).
    pub job: String,
    pub message: String,
}

/// The pod log of a finished run, names resolved (see [`PodLog`]).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PodLogReport {
    pub pods: Vec<PodRow>,
    pub events: Vec<EventRow>,
}

impl PodLogReport {
    pub(super) fn build(m: &ClusterSim, log: PodLog) -> PodLogReport {
        let (intervals, events) = log.finish();
        let job = |j: u32| m.workload.jobs[j as usize].id.clone();
        let node = |n: u32| m.spec.nodes[n as usize].name.clone();
        let pods = intervals
            .into_iter()
            .map(|i| PodRow {
                pod: pod_name(m, i.job, i.pod),
                job: job(i.job),
                from: i.from,
                to: i.to,
                state: i.state.name().to_string(),
                node: i.node.map(node),
                gpus: i.gpus,
                reason: i.reason,
            })
            .collect();
        let events = events
            .into_iter()
            .map(|e| {
                let (object, j) = match e.object {
                    LogObject::Pod { job: j, pod } => {
                        (format!("pod/{}", pod_name(m, j, pod)), job(j))
                    }
                    LogObject::Job(j) => (format!("job/{}", job(j)), job(j)),
                    LogObject::Workload(j) => (format!("workload/{}", job(j)), job(j)),
                    LogObject::Node(n) => (format!("node/{}", node(n)), String::new()),
                };
                EventRow {
                    at: e.at,
                    kind: if e.warning { "Warning" } else { "Normal" }.to_string(),
                    reason: e.reason.to_string(),
                    object,
                    job: j,
                    message: e.message,
                }
            })
            .collect();
        PodLogReport { pods, events }
    }
}
