//! What a finished run reports.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sim_core::{SimTime, StopReason};

use super::{ClusterSim, JobPhase, RunConfig, Usage};

/// How a job ended up when the run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    /// Started, still running at the horizon.
    Running,
    /// Some pods hold resources, the rest wait, and no future event can change that: the
    /// run drained with the job holding resources (a gang deadlock).
    Stuck,
    /// Some pods hold resources, the rest wait, at the horizon.
    PartiallyPlaced,
    /// Submitted but holding nothing.
    Pending,
    /// Its submit time lies beyond the horizon.
    NotSubmitted,
    /// Deleted at a listed time (`delete_at`) before its run time was over; `end` is the
    /// deletion time.
    Deleted,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Completed,
        Outcome::Running,
        Outcome::Stuck,
        Outcome::PartiallyPlaced,
        Outcome::Pending,
        Outcome::NotSubmitted,
        Outcome::Deleted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Running => "running",
            Outcome::Stuck => "stuck",
            Outcome::PartiallyPlaced => "partially_placed",
            Outcome::Pending => "pending",
            Outcome::NotSubmitted => "not_submitted",
            Outcome::Deleted => "deleted",
        }
    }
}

/// One job's fate.
///
/// No larger than a `JobState` and aligned the same (8) so that the records can be
/// written over the states' buffer at the end of a run (see `records`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub submit: SimTime,
    /// First time the job started running.
    pub start: Option<SimTime>,
    pub end: Option<SimTime>,
    pub gpu_milli: u64,
    pub pods: u32,
    /// Pods holding resources when the run ended.
    pub pods_bound: u32,
    /// Distinct nodes the job's pods were placed on (at its last start, or when the run
    /// ended).
    pub nodes: u32,
    pub trace_gpu_hours: f64,
    /// Times the job was preempted or evicted.
    pub evictions: u32,
    pub outcome: Outcome,
    /// When the detector found the job deadlocked (holding resources, never to progress).
    pub deadlocked_at: Option<SimTime>,
    /// When the detector reported it starved or livelocked, and which.
    pub starved: Option<(SimTime, super::StarvedKind)>,
    /// Why the job did not complete (`None` for completed jobs): every unfinished job is
    /// explained, by a detection or by how the run ended.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Everything reports need from a finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub jobs: Vec<JobRecord>,
    pub total_gpu_milli: u64,
    pub nodes: u32,
    pub stop: String,
    /// When the run stopped: the horizon, or the instant it drained (also when a horizon
    /// lies beyond it).
    pub end_time: SimTime,
    /// The horizon the run was given, if any.
    #[serde(default)]
    pub horizon: Option<SimTime>,
    /// GPU thousandths still held when a run drained: by bound pods of stuck gangs, which
    /// hold them for ever (or until the horizon). 0 when the run stopped otherwise.
    #[serde(default)]
    pub held_at_end_milli: u64,
    pub first_submit: SimTime,
    pub usage: Usage,
    pub events: u64,
    /// Pods released by an eviction (`ClusterSim::evict`): Tiresias preemption, Kueue
    /// preemption, Kueue `waitForPodsReady` timeouts; each eviction adds the pods its job
    /// had bound. Coscheduling/KEP-4671 gang rejections and Permit timeouts do not count.
    pub preemptions: u64,
    pub choices: u64,
    /// Hash of every choice among equals the run made (seed-dependent).
    pub choices_fingerprint: u64,
    pub engine_fingerprint: u64,
    pub seed: u64,
    pub policy: String,
    /// Network model (when enabled): per-job step accounting and link-load samples.
    pub network_jobs: Vec<NetJobRecord>,
    pub network_series: Vec<super::network::NetSample>,
    /// Deadlocks the detector found: (time, ids of the jobs deadlocked at that instant).
    pub deadlocks: Vec<(SimTime, Vec<String>)>,
    /// Starvation and livelock findings: (job id, time, kind, detail).
    pub starved: Vec<(String, SimTime, super::StarvedKind, String)>,
    /// The no-progress guard stopped the run (stop `no_progress`): when and why.
    #[serde(default)]
    pub guard: Option<(SimTime, String)>,
    /// Fault accounting, when the run has faults (`faults:` or checkpoints): per job (in
    /// workload order) and in total. `None` otherwise (no fault columns in the outputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultReport>,
    /// The cluster autoscaler's actions, node counts and GPU-time (when node pools
    /// autoscale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<super::AutoscalerResult>,
    /// Inference services (when the run has some): the platform's record (requests,
    /// HPA, replicas, metrics), written by the same writers.
    #[serde(skip)]
    pub serving: Option<Box<crate::platform::PlatformRun>>,
    /// Autoscaled Ray clusters (when the run has some): what their autoscalers and tasks
    /// did, for `ray.csv`.
    #[serde(skip)]
    pub ray: Option<Box<super::RayReport>>,
    /// The pod log (when `RunConfig::pod_log`): `pods.csv` and `events.csv`.
    #[serde(skip)]
    pub pod_log: Option<Box<super::podlog::PodLogReport>>,
}

impl RunResult {
    /// The pod log with names resolved (when the run kept one).
    pub fn pod_log_view(&self) -> Option<super::podlog::PodLogView<'_>> {
        self.pod_log
            .as_deref()
            .map(|l| super::podlog::PodLogView::new(l, &self.jobs))
    }
}

/// What faults cost a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultReport {
    /// Per job, in workload order.
    pub jobs: Vec<super::JobFaults>,
    /// Node failures that happened (listed and seeded).
    pub node_failures: u32,
    pub drains: u32,
    /// Nodes not `Ready` when the run ended (failed or cordoned).
    pub nodes_down_at_end: u32,
    /// Single-GPU failures that happened (listed and seeded).
    #[serde(default, skip_serializing_if = "super::parts::is_zero")]
    pub gpu_failures: u32,
    /// Link failures that happened (network runs).
    #[serde(default, skip_serializing_if = "super::parts::is_zero")]
    pub link_failures: u32,
}

/// One job's time on the network model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetJobRecord {
    pub id: String,
    pub steps: f64,
    pub compute_ns: u128,
    pub exposed_ns: u128,
    /// Dataset staging before step one, ns (0 without `network.staging`).
    pub staging_ns: u128,
}

pub(super) fn collect(
    m: ClusterSim,
    stats: sim_core::RunStats,
    (end, horizon): (SimTime, Option<SimTime>),
    config: &RunConfig,
    (choices, choices_fingerprint): (u64, u64),
) -> RunResult {
    let drained = stats.reason == StopReason::Drained;
    let mut m = m;
    let pod_log = m.podlog.take().map(|l| Box::new(l.finish(&m)));
    // Only asked where it is used: a drained run whose cluster is idle at the end.
    let idle = m.state.running.is_empty() && m.state.detect.holding_waiting.is_empty();
    let unplaceable = if drained && m.guard.is_none() && idle {
        m.unplaceable_on_empty()
    } else {
        BTreeSet::new()
    };
    let (network_jobs, network_series) = match &m.net {
        Some(n) => (
            n.jobs(n.compute_per_step())
                .into_iter()
                .map(|j| NetJobRecord {
                    id: m.workload.jobs[j.job as usize].id.clone(),
                    steps: j.steps,
                    compute_ns: j.compute_ns,
                    exposed_ns: j.exposed_ns,
                    staging_ns: j.staging_ns,
                })
                .collect(),
            n.series.clone(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let det = &m.state.detect;
    let deadlocked_at: std::collections::BTreeMap<u32, SimTime> = det
        .deadlocks
        .iter()
        .flat_map(|d| d.jobs.iter().map(move |&j| (j, d.time)))
        .collect();
    let deadlocks = det
        .deadlocks
        .iter()
        .map(|d| {
            (
                d.time,
                d.jobs
                    .iter()
                    .map(|&j| m.workload.jobs[j as usize].id.clone())
                    .collect(),
            )
        })
        .collect();
    let mut starved: Vec<_> = det
        .starved
        .values()
        .map(|r| {
            (
                m.workload.jobs[r.job as usize].id.clone(),
                r.time,
                r.kind,
                r.detail.clone(),
            )
        })
        .collect();
    starved.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    // Drained: nothing runs any more (a running job has a completion pending); GPUs of the
    // bound pods of waiting jobs stay held for ever.
    let held_at_end_milli = if drained {
        m.workload
            .jobs
            .iter()
            .zip(&m.state.jobs)
            .filter(|(_, st)| st.phase == JobPhase::Waiting)
            .flat_map(|(spec, st)| {
                spec.pods
                    .iter()
                    .zip(&st.pods)
                    .filter(|(_, p)| p.placement.is_some())
                    .map(|(pod, _)| pod.gpu.total_milli())
            })
            .sum()
    } else {
        0
    };
    let mut out = RunResult {
        jobs: Vec::new(),
        total_gpu_milli: m.spec.total_gpus() * 1000,
        nodes: m.spec.nodes.len() as u32,
        stop: match stats.reason {
            _ if m.guard.is_some() => "no_progress",
            StopReason::Drained => "drained",
            StopReason::Horizon => "horizon",
            StopReason::Requested => "requested",
            StopReason::EventBudget => "event_budget",
        }
        .to_string(),
        end_time: end,
        horizon,
        held_at_end_milli,
        first_submit: m.state.first_submit.unwrap_or(SimTime::ZERO),
        usage: m.state.usage.clone(),
        events: stats.events,
        preemptions: m.state.preemptions,
        choices,
        choices_fingerprint,
        engine_fingerprint: stats.fingerprint,
        seed: config.seed,
        policy: config.scheduler.policy.name().to_string(),
        network_jobs,
        network_series,
        deadlocks,
        starved,
        guard: m.guard.clone(),
        faults: m.state.faults.as_ref().map(|f| FaultReport {
            jobs: f.jobs.clone(),
            node_failures: f.node_failures,
            drains: f.drains,
            nodes_down_at_end: nodes_down(&m) as u32,
            gpu_failures: f.gpu_failures,
            link_failures: f.link_failures,
        }),
        autoscaler: m.autoscaler.as_ref().map(|a| a.finish(end)),
        pod_log,
        serving: m
            .serving
            .as_ref()
            .map(|sv| Box::new(sv.finish(&m, end, stats.events))),
        ray: m.ray.as_ref().map(|r| Box::new(r.finish())),
    };
    out.jobs = records(&mut m, stats.reason, &deadlocked_at, &unplaceable);
    // Replica and worker slots are reported by their controllers' records, not as jobs
    // (serving's come first, then the Ray workers, after the trace's jobs).
    let first_slot = m
        .serving
        .as_ref()
        .map(|s| s.first_replica_job())
        .or_else(|| m.ray.as_ref().map(|r| r.first_slot()));
    if let Some(n) = first_slot {
        let n = n as usize;
        let replicas = out.jobs.split_off(n.min(out.jobs.len()));
        if let Some(log) = out.pod_log.as_mut() {
            log.tail_ids = replicas.into_iter().map(|r| r.id).collect();
        }
        if let Some(f) = out.faults.as_mut() {
            f.jobs.truncate(n);
        }
    }
    out
}

/// One [`JobRecord`] per job, in workload order. Last of [`collect`]: it takes the jobs'
/// states and ids out of the model (`m.state.jobs` is left empty), and the records are
/// written over the states' buffer (`Vec`'s in-place collect: a `JobRecord` is no larger
/// than a `JobState` and aligned the same, so the buffer is shrunk where it lies, not
/// copied), so a million-job run does not hold both at once (test
/// `records_reuse_the_state_buffer`).
fn records(
    m: &mut ClusterSim,
    stop: StopReason,
    deadlocked_at: &std::collections::BTreeMap<u32, SimTime>,
    unplaceable: &BTreeSet<u32>,
) -> Vec<JobRecord> {
    let drained = stop == StopReason::Drained;
    let states = std::mem::take(&mut m.state.jobs).into_vec();
    let mut specs = std::mem::take(&mut m.workload.jobs);
    let m = &*m;
    let det = &m.state.detect;
    let mut facts = EndFacts::new(m, stop);
    let out = states
        .into_iter()
        .enumerate()
        .map(|(i, st)| {
            let spec = &mut specs[i];
            let reason = reason(m, i, &st, &spec.pods, unplaceable, &mut facts);
            let outcome = match st.phase {
                JobPhase::Completed { .. } if st.remaining > sim_core::SimDuration::ZERO => {
                    Outcome::Deleted
                }
                JobPhase::Completed { .. } => Outcome::Completed,
                JobPhase::Running => Outcome::Running,
                JobPhase::NotSubmitted => Outcome::NotSubmitted,
                JobPhase::Waiting if st.assumed == 0 => Outcome::Pending,
                JobPhase::Waiting if drained => Outcome::Stuck,
                JobPhase::Waiting => Outcome::PartiallyPlaced,
            };
            let nodes = match st.phase {
                JobPhase::Running | JobPhase::Completed { .. } => st.nodes_at_start,
                _ => st
                    .pods
                    .iter()
                    .filter_map(|p| p.placement.as_ref().map(|pl| pl.node))
                    .collect::<BTreeSet<u32>>()
                    .len() as u32,
            };
            JobRecord {
                submit: spec.submit,
                start: st.first_start,
                end: match st.phase {
                    JobPhase::Completed { end } => Some(end),
                    _ => None,
                },
                gpu_milli: spec.gpu_milli(),
                pods: spec.pods.len() as u32,
                pods_bound: st.assumed,
                nodes,
                trace_gpu_hours: spec.gpu_hours(),
                evictions: st.evictions,
                outcome,
                deadlocked_at: deadlocked_at.get(&(i as u32)).copied(),
                starved: det.starved.get(&(i as u32)).map(|r| (r.time, r.kind)),
                reason,
                id: std::mem::take(&mut spec.id),
            }
        })
        .collect();
    drop(specs);
    out
}

/// What [`reason`] needs that is the same for every job, worked out once per run end (it
/// was worked out per waiting job: a fresh empty cluster and scans of every node each), so
/// a run that ends with many jobs waiting explains them in O(jobs + distinct gangs × nodes).
struct EndFacts {
    /// How the run ended, as the reasons say it.
    ended: String,
    /// Drained with no detection left to explain a wait.
    drained: bool,
    /// The first deadlock record of each deadlocked job.
    deadlock_time: std::collections::BTreeMap<u32, SimTime>,
    /// No job running or holding resources.
    idle: bool,
    nodes_down: usize,
    failed_gpus: u32,
    /// The cluster with nothing bound, made on first need.
    empty: Option<crate::state::ClusterState>,
    /// Per distinct list of pod requests: `None` if they fit the empty cluster together
    /// (first fit, largest first), else the FailedScheduling-style detail of the first
    /// pod no node can take (empty if every pod fits some node alone).
    fits_empty: std::collections::BTreeMap<Vec<crate::resources::PodRequest>, Option<String>>,
}

impl EndFacts {
    fn new(m: &ClusterSim, stop: StopReason) -> EndFacts {
        let ended = match (&m.guard, stop) {
            (Some((t, _)), _) => {
                format!("when the no-progress guard stopped the run at {t} (see guard)")
            }
            (None, StopReason::Horizon) => "when the horizon was reached".to_string(),
            (None, StopReason::Drained) => {
                "when nothing was left to happen (no pending event could change it)".to_string()
            }
            (None, _) => "when the run was stopped".to_string(),
        };
        let mut deadlock_time = std::collections::BTreeMap::new();
        for d in &m.state.detect.deadlocks {
            for &j in &d.jobs {
                deadlock_time.entry(j).or_insert(d.time);
            }
        }
        let drained = stop == StopReason::Drained && m.guard.is_none();
        EndFacts {
            ended,
            drained,
            deadlock_time,
            idle: m.state.running.is_empty() && m.state.detect.holding_waiting.is_empty(),
            nodes_down: if drained { nodes_down(m) } else { 0 },
            failed_gpus: if drained { failed_gpus(m) } else { 0 },
            empty: None,
            fits_empty: std::collections::BTreeMap::new(),
        }
    }

    /// [`EndFacts::fits_empty`] for `pods`, worked out on first need.
    fn unfit_on_empty(
        &mut self,
        m: &ClusterSim,
        pods: &[crate::resources::PodRequest],
    ) -> Option<&str> {
        if !self.fits_empty.contains_key(pods) {
            let empty = self
                .empty
                .get_or_insert_with(|| crate::state::ClusterState::new(&m.spec));
            let refs: Vec<&crate::resources::PodRequest> = pods.iter().collect();
            let v = if m.fits_in(empty, &refs) {
                None
            } else {
                // A pod no node can take at all: say why, node by node, as
                // kube-scheduler's FailedScheduling event does.
                Some(
                    pods.iter()
                        .find(|p| {
                            m.spec
                                .nodes
                                .iter()
                                .zip(&empty.nodes)
                                .all(|(n, st)| st.fits(n, p).is_err())
                        })
                        .map(|p| {
                            format!(
                                ": {}",
                                crate::state::fit_error(&m.spec, empty, p).trim_end_matches('.')
                            )
                        })
                        .unwrap_or_default(),
                )
            };
            self.fits_empty.insert(pods.to_vec(), v);
        }
        self.fits_empty.get(pods).and_then(|v| v.as_deref())
    }
}

/// Why job `i` did not complete (`None` if it did).
fn reason(
    m: &ClusterSim,
    i: usize,
    st: &super::JobState,
    pods: &[crate::resources::PodRequest],
    unplaceable: &BTreeSet<u32>,
    facts: &mut EndFacts,
) -> Option<String> {
    let det = &m.state.detect;
    let j = i as u32;
    let ended = facts.ended.clone();
    let r = match st.phase {
        JobPhase::Completed { end } if st.remaining > sim_core::SimDuration::ZERO => {
            format!("deleted at {end} (delete_at)")
        }
        JobPhase::Completed { .. } => return None,
        JobPhase::NotSubmitted => {
            "not submitted: its submit time lies beyond the end of the run".into()
        }
        JobPhase::Running if m.net_stalled(j) => {
            format!("running {ended}, stalled: a failed network link left its traffic no path")
        }
        JobPhase::Running => format!("running {ended}"),
        JobPhase::Waiting => {
            if let Some(time) = facts.deadlock_time.get(&j) {
                format!(
                    "deadlocked at {time}: holds resources that no future event can release or complete"
                )
            } else if st.deactivated {
                format!(
                    "deactivated by waitForPodsReady backoffLimitCount after {} requeues",
                    st.requeues
                )
            } else if let Some(s) = det.starved.get(&j) {
                let kind = match s.kind {
                    super::StarvedKind::Livelock => "livelocked",
                    super::StarvedKind::Starvation => "starved",
                };
                format!(
                    "{kind} (detected at {}: {}); still waiting {ended}",
                    s.time, s.detail
                )
            } else if facts.drained {
                // Nothing is left to happen and no detection explains it: the job waits
                // for ever. Say whether the cluster had room (a model or policy bug) or its
                // resources are held by jobs that will never release them.
                let idle = facts.idle;
                let unfit = if idle {
                    facts.unfit_on_empty(m, pods).map(str::to_string)
                } else {
                    None
                };
                if let Some(why) = unfit {
                    format!(
                        "unschedulable: its {} pods cannot all be placed at once even on the empty cluster (first fit, largest pod first, found no placement{why}), so it waited {ended}",
                        pods.len()
                    )
                } else if idle && unplaceable.contains(&j) {
                    format!(
                        "unschedulable: the scheduler's pod-by-pod placement (Filter and Score as in the run) finds no node for all its {} pods even on the empty cluster, although they would fit packed first-fit; it waited {ended}",
                        pods.len()
                    )
                } else if idle && facts.nodes_down > 0 {
                    format!(
                        "waiting {ended}: {} nodes were failed or cordoned when the run ended, so the cluster could not hold it",
                        facts.nodes_down
                    )
                } else if idle && facts.failed_gpus > 0 {
                    format!(
                        "waiting {ended}: {} GPUs were failed when the run ended, so the cluster could not hold it",
                        facts.failed_gpus
                    )
                } else if idle && m.policy().retries_only_on_change() {
                    format!(
                        "unschedulable as tried: its last gang placement on the idle cluster failed (node score ties broken by the seeded chooser left no node for a later pod; a placement exists), and this policy retries a job only when something changes, so it waited {ended} (a known model limitation, see docs/policies.md)"
                    )
                } else if idle {
                    format!(
                        "stuck: waiting {ended} while the cluster was idle (no job running or holding resources): a model or policy bug"
                    )
                } else {
                    format!(
                        "waiting {ended}: its resources are held by jobs that never release them"
                    )
                }
            } else {
                format!("waiting {ended}")
            }
        }
    };
    Some(r)
}

/// GPUs out of service (single-GPU faults).
fn failed_gpus(m: &ClusterSim) -> u32 {
    m.state
        .cluster
        .nodes
        .iter()
        .map(|n| n.failed_gpus.count())
        .sum()
}

/// Nodes failed or cordoned (node lifecycle events).
fn nodes_down(m: &ClusterSim) -> usize {
    m.state
        .cluster
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                n.condition,
                crate::state::NodeCondition::Failed | crate::state::NodeCondition::Cordoned
            )
        })
        .count()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sim_core::SimDuration;

    use super::*;
    use crate::{ClusterSpec, JobSpec, NodeSpec, PodRequest, Workload};

    /// The records are written over the jobs' states (no second million-entry buffer at
    /// the end of a large run), and each takes its job's id without copying it.
    #[test]
    fn records_reuse_the_state_buffer() {
        let spec = ClusterSpec {
            nodes: vec![NodeSpec {
                taints: Vec::new(),
                name: "node-0".into(),
                pool: "gpu".into(),
                cpu_milli: 32_000,
                memory_mib: 256 * 1024,
                gpus: 8,
                gpu_model: Some("H100".into()),
                gpu_memory_mib: 81_920,
                rack: 0,
                labels: BTreeMap::new(),
            }],
        };
        let jobs = (0..100)
            .map(|i| JobSpec {
                id: format!("job-{i}"),
                submit: SimTime::ZERO + SimDuration::from_secs(i),
                duration: SimDuration::from_secs(60),
                pods: vec![PodRequest::gpus(1)],
                priority: 0,
                queue: None,
            })
            .collect();
        let mut m =
            ClusterSim::new(spec, Workload { jobs }, &RunConfig::default()).expect("a valid model");
        let states = m.state.jobs.as_ptr() as usize;
        let ids: Vec<usize> = m
            .workload
            .jobs
            .iter()
            .map(|j| j.id.as_ptr() as usize)
            .collect();
        let out = records(
            &mut m,
            StopReason::Horizon,
            &BTreeMap::new(),
            &BTreeSet::new(),
        );
        assert_eq!(out.len(), 100);
        assert_eq!(out.as_ptr() as usize, states, "records written in place");
        assert!(
            out.iter()
                .zip(&ids)
                .all(|(r, &p)| r.id.as_ptr() as usize == p)
        );
        assert_eq!(out[7].id, "job-7");
        assert_eq!(out[7].outcome, Outcome::NotSubmitted);
        assert!(m.state.jobs.is_empty() && m.workload.jobs.is_empty());
    }

    #[test]
    fn a_record_fits_in_a_state() {
        assert_eq!(
            std::mem::align_of::<JobRecord>(),
            std::mem::align_of::<crate::sim::JobState>()
        );
        assert!(std::mem::size_of::<JobRecord>() <= std::mem::size_of::<crate::sim::JobState>());
        // A million-job run holds a million states: 184 B with one pod's state inline (was
        // 176 B plus a heap block of 40 B for the pods).
        assert!(std::mem::size_of::<crate::sim::JobState>() <= 184);
    }

    /// `Attained` stores a `u128` in two words and hashes, compares and prints as one.
    #[test]
    fn attained_is_a_u128() {
        use std::hash::{DefaultHasher, Hash, Hasher};
        assert_eq!(std::mem::align_of::<crate::sim::Attained>(), 8);
        for v in [0u128, 1, u128::from(u64::MAX) + 5, u128::MAX - 1] {
            let mut a = crate::sim::Attained::ZERO;
            a.set(v);
            assert_eq!(a.get(), v);
            assert_eq!(format!("{a:?}"), format!("{v:?}"));
            let (mut h1, mut h2) = (DefaultHasher::new(), DefaultHasher::new());
            a.hash(&mut h1);
            v.hash(&mut h2);
            assert_eq!(h1.finish(), h2.finish());
            a.add(3);
            assert_eq!(a.get(), v.saturating_add(3));
        }
    }
}
