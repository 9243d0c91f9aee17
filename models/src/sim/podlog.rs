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
//! A pending pod's reason is the one it has at the end of the instant, as `kubectl
//! describe pod` would show it then:
//! * Kueue, workload without quota: Kueue's own message for the workload's `QuotaReserved`
//!   condition (`couldn't assign flavors to pod set main: insufficient unused quota …`,
//!   from the admission core's flavor assigner);
//! * a pod no Ready node can take: kube-scheduler's FitError (`0/16 nodes are available:
//!   16 Insufficient nvidia.com/gpu.`);
//! * a pod waiting at Permit: `waiting at Permit for K more pods of PodGroup J`;
//! * a gang (job-level policies): how many GPUs it needs at once against how many are free;
//! * otherwise (pod-level, fits now): in the unschedulable queue until a cluster change or
//!   the 5-minute flush.

use std::collections::BTreeMap;

use sim_core::SimTime;

use super::{ClusterSim, JobPhase, PodPhase};
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

#[derive(Clone, Debug)]
struct Open {
    since: SimTime,
    state: LogState,
    node: Option<u32>,
    gpus: Vec<u8>,
    reason: String,
}

#[derive(Clone, Debug)]
struct OpenJob {
    pods: Vec<Open>,
    /// The policy's last message for the job (Kueue's Workload `Pending` event).
    held: String,
    /// Since when the Workload has been queued (submission, or its last eviction).
    queued_since: SimTime,
    admitted: bool,
    evictions: u32,
    requeues: u32,
}

/// The log (see the module doc).
#[derive(Clone, Debug, Default)]
pub struct PodLog {
    pub intervals: Vec<PodInterval>,
    pub events: Vec<LogEvent>,
    live: BTreeMap<u32, OpenJob>,
    nodes: Vec<NodeCondition>,
}

/// Per-instant facts shared by every pending pod's reason.
struct Instant {
    free_milli: u64,
    ready: u32,
    /// FitError per interned pod shape (computed once per instant).
    fit: BTreeMap<u32, Option<String>>,
    /// Jobs in the job queue.
    queued: std::collections::BTreeSet<u32>,
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
        PodLog {
            nodes: m.state.cluster.nodes.iter().map(|n| n.condition).collect(),
            ..PodLog::default()
        }
    }

    /// A job was submitted at `now`: its pods are pending from then.
    pub fn submitted(&mut self, m: &ClusterSim, job: u32, now: SimTime) {
        let n = m.workload.jobs[job as usize].pods.len();
        let js = &m.state.jobs[job as usize];
        let open = Open {
            since: now,
            state: LogState::Pending,
            node: None,
            gpus: Vec::new(),
            reason: String::new(),
        };
        self.live.insert(
            job,
            OpenJob {
                pods: vec![open; n],
                held: String::new(),
                queued_since: now,
                admitted: js.admitted,
                evictions: js.evictions,
                requeues: js.requeues,
            },
        );
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

    /// Compare the state with what was last seen and record the differences.
    pub fn observe(&mut self, m: &ClusterSim, now: SimTime) {
        self.observe_nodes(m, now);
        let mut inst: Option<Instant> = None;
        let jobs: Vec<u32> = self.live.keys().copied().collect();
        for j in jobs {
            self.observe_job(m, j, now, &mut inst);
        }
    }

    fn observe_nodes(&mut self, m: &ClusterSim, now: SimTime) {
        for (i, st) in m.state.cluster.nodes.iter().enumerate() {
            let was = self.nodes[i];
            if st.condition == was {
                continue;
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
    }

    fn observe_job(&mut self, m: &ClusterSim, j: u32, now: SimTime, inst: &mut Option<Instant>) {
        let js = &m.state.jobs[j as usize];
        let Some(mut o) = self.live.remove(&j) else {
            return;
        };
        let kueue = m.policy().name() == "kueue";
        if kueue && js.admitted != o.admitted {
            let cq = m
                .state
                .kueue
                .queues
                .get(m.state.kueue.job_cq.get(j as usize).copied().unwrap_or(0) as usize)
                .map(|q| q.name.clone())
                .unwrap_or_default();
            if js.admitted {
                let queued = o.queued_since;
                self.event(
                    now,
                    false,
                    "QuotaReserved",
                    LogObject::Workload(j),
                    format!(
                        "Quota reserved in ClusterQueue {cq}, wait time since queued was {}s",
                        now.since(queued).as_secs_f64().round()
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
                let why = if js.requeues > o.requeues {
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
            o.admitted = js.admitted;
        }
        let preempted = js.evictions > o.evictions;
        o.evictions = js.evictions;
        o.requeues = js.requeues;
        let done = matches!(js.phase, JobPhase::Completed { .. });
        let held = if done || js.pods.iter().all(|p| p.phase == PodPhase::Bound) {
            None
        } else {
            m.policy().pending_reason(m, j)
        };
        match &held {
            Some((_, msg)) if *msg != o.held => {
                self.event(now, true, "Pending", LogObject::Workload(j), msg.clone());
                o.held = msg.clone();
            }
            None => o.held.clear(),
            _ => {}
        }
        for (p, ps) in js.pods.iter().enumerate() {
            let (state, node, gpus) = match (ps.phase, &ps.placement) {
                (PodPhase::Bound, Some(pl)) => (LogState::Bound, Some(pl.node), pl.gpus.clone()),
                (PodPhase::Waiting, Some(pl)) => {
                    (LogState::Waiting, Some(pl.node), pl.gpus.clone())
                }
                _ => (LogState::Pending, None, Vec::new()),
            };
            let cur = &o.pods[p];
            let moved = cur.state != state || cur.node != node || cur.gpus != gpus;
            if done {
                let cur = cur.clone();
                self.close(j, p as u32, cur, now);
                continue;
            }
            if moved {
                let prev = o.pods[p].clone();
                let pod = LogObject::Pod {
                    job: j,
                    pod: p as u32,
                };
                if prev.state == LogState::Bound && state == LogState::Pending {
                    let node_name = prev.node.map(|n| m.spec.nodes[n as usize].name.as_str());
                    let failed = prev.node.is_some_and(|n| {
                        m.state.cluster.nodes[n as usize].condition == NodeCondition::Failed
                    });
                    if preempted {
                        self.event(
                            now,
                            false,
                            "Preempted",
                            pod,
                            format!(
                                "Preempted by {} on node {}",
                                m.policy().name(),
                                node_name.unwrap_or("?")
                            ),
                        );
                    } else if failed {
                        self.event(
                            now,
                            true,
                            "TaintManagerEviction",
                            pod,
                            format!("Marking for deletion Pod {}", pod_name(m, j, p as u32)),
                        );
                    } else {
                        self.event(
                            now,
                            false,
                            "Killing",
                            pod,
                            "Stopping container: its job restarts (it lost a pod, a GPU or its gang)".into(),
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
                        format!(
                            "Successfully assigned default/{} to {n}",
                            pod_name(m, j, p as u32)
                        ),
                    );
                }
                self.close(j, p as u32, prev, now);
                o.pods[p] = Open {
                    since: now,
                    state,
                    node,
                    gpus,
                    reason: String::new(),
                };
            }
            if state == LogState::Bound {
                continue;
            }
            let reason = if state == LogState::Waiting {
                let n = js.pods.len() as u32;
                format!(
                    "waiting at Permit for {} more pods of PodGroup {}",
                    n.saturating_sub(js.assumed),
                    m.workload.jobs[j as usize].id
                )
            } else if let Some((who, msg)) = &held {
                format!("{who}: {msg}")
            } else {
                self.pending_reason(m, j, p as u32, inst)
            };
            let cur = &mut o.pods[p];
            if cur.reason == reason {
                continue;
            }
            if state == LogState::Pending && held.is_none() {
                self.event(
                    now,
                    true,
                    "FailedScheduling",
                    LogObject::Pod {
                        job: j,
                        pod: p as u32,
                    },
                    reason.clone(),
                );
            }
            if cur.since == now || cur.reason.is_empty() {
                cur.reason = reason;
            } else {
                let prev = cur.clone();
                cur.since = now;
                cur.reason = reason;
                self.close(j, p as u32, prev, now);
            }
        }
        if done {
            self.event(
                now,
                false,
                "Completed",
                LogObject::Job(j),
                "Job completed".into(),
            );
        } else {
            self.live.insert(j, o);
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

    fn pending_reason(&self, m: &ClusterSim, j: u32, p: u32, inst: &mut Option<Instant>) -> String {
        let i = inst.get_or_insert_with(|| {
            let mut free_milli = 0u64;
            let mut ready = 0u32;
            for st in &m.state.cluster.nodes {
                if st.condition == NodeCondition::Ready {
                    ready += 1;
                    free_milli += st.gpu_free.iter().map(|&f| u64::from(f)).sum::<u64>();
                }
            }
            Instant {
                free_milli,
                ready,
                fit: BTreeMap::new(),
                queued: m.state.job_queue.iter().map(|k| k.job).collect(),
            }
        });
        let shape = m.pod_shape[j as usize][p as usize];
        let fit = i
            .fit
            .entry(shape)
            .or_insert_with(|| {
                let req = &m.workload.jobs[j as usize].pods[p as usize];
                let none = m
                    .spec
                    .nodes
                    .iter()
                    .zip(&m.state.cluster.nodes)
                    .all(|(n, st)| st.fits(n, req).is_err());
                none.then(|| crate::state::fit_error(&m.spec, &m.state.cluster, req))
            })
            .clone();
        if let Some(f) = fit {
            return f;
        }
        let spec = &m.workload.jobs[j as usize];
        if i.queued.contains(&j) {
            let need = spec.gpu_milli();
            let n = spec.pods.len();
            return if i.free_milli < need {
                format!(
                    "gang {}: all {n} pods must be placed at once; {} nvidia.com/gpu needed, {} free on {} Ready nodes",
                    spec.id,
                    gpus(need),
                    gpus(i.free_milli),
                    i.ready
                )
            } else {
                format!(
                    "gang {}: all {n} pods must be placed at once; {} nvidia.com/gpu needed, {} free on {} Ready nodes, but no placement holds every pod or jobs ahead of it in {} order come first",
                    spec.id,
                    gpus(need),
                    gpus(i.free_milli),
                    i.ready,
                    m.policy().name()
                )
            };
        }
        if m.policy().gangs_at_permit() {
            let need = spec.gpu_milli();
            return format!(
                "PodGroup {}: not all {} pods could be placed at once ({} nvidia.com/gpu needed, {} free on {} Ready nodes); the group was rejected and waits in the unschedulable queue for a cluster change (at most podMaxInUnschedulablePodsDuration, 5m)",
                spec.id,
                spec.pods.len(),
                gpus(need),
                gpus(i.free_milli),
                i.ready
            );
        }
        "unschedulable at its last attempt; waits in the unschedulable queue for a cluster change (at most podMaxInUnschedulablePodsDuration, 5m)".into()
    }

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
        self.intervals
            .sort_by(|a, b| (a.job, a.pod, a.from).cmp(&(b.job, b.pod, b.from)));
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
