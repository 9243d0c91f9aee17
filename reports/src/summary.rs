//! Cluster-wide metrics of a run.

use std::collections::BTreeMap;

use models::{Outcome, RunResult};
use serde::Serialize;
use sim_core::NANOS_PER_SEC;

/// Mean and nearest-rank percentiles of a sample, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Distribution {
    /// Samples, censored ones included.
    pub count: u64,
    /// Samples censored at the end of the observation (the job had not started, or not
    /// finished, by then): they are lower bounds of the true values.
    pub censored: u64,
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Distribution {
    /// From nanosecond samples (sorted here), `censored` of which are censored.
    pub fn censored_of_nanos(v: Vec<u64>, censored: u64) -> Distribution {
        Distribution {
            censored,
            ..Distribution::of_nanos(v)
        }
    }

    /// From nanosecond samples (sorted here), none censored.
    pub fn of_nanos(mut v: Vec<u64>) -> Distribution {
        if v.is_empty() {
            return Distribution::default();
        }
        v.sort_unstable();
        let n = v.len();
        let secs = |ns: u64| ns as f64 / NANOS_PER_SEC as f64;
        // Nearest rank: the smallest value with at least p% of the sample at or below it.
        let rank = |p: u64| {
            let r = (p as usize * n).div_ceil(100);
            v[r.clamp(1, n) - 1]
        };
        let sum: u128 = v.iter().map(|&x| u128::from(x)).sum();
        Distribution {
            count: n as u64,
            censored: 0,
            avg: round6(sum as f64 / n as f64 / NANOS_PER_SEC as f64),
            p50: secs(rank(50)),
            p95: secs(rank(95)),
            p99: secs(rank(99)),
            max: secs(v[n - 1]),
        }
    }
}

/// The JSON summary (`summary.json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub policy: String,
    pub seed: u64,
    pub nodes: u32,
    pub total_gpus: f64,
    pub jobs_total: u64,
    pub jobs_completed: u64,
    pub jobs_unfinished: u64,
    /// Jobs the deadlock detector found holding resources that no future event can
    /// release or complete (see docs/verify.md).
    pub deadlocked_jobs: u64,
    /// Jobs reported starved (waited past `detect.starvation_after` while the cluster
    /// could have run them) or livelocked (reserved and released over and over).
    pub starved_jobs: u64,
    /// Every detection, in time order.
    pub detections: Vec<Detection>,
    /// Pods evicted by preemption.
    pub preemptions: u64,
    /// Jobs per outcome (completed, running, stuck, partially_placed, pending, not_submitted).
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Queueing delay (start − submit) of every submitted job; a job that never started
    /// counts with `observed_until − submit`, censored.
    pub wait_s: Distribution,
    /// Job completion time (end − submit) of every submitted job; a job that did not
    /// complete counts with `observed_until − submit`, censored.
    pub jct_s: Distribution,
    /// End of the observation the censored samples stop at: the horizon when one was
    /// given (also when the run drained before it), otherwise the end of the run.
    pub observed_until_s: f64,
    /// Last completion − first submission.
    pub makespan_s: f64,
    /// Time-weighted average of allocated GPUs / total GPUs, from the first submission to
    /// the end of the run.
    pub gpu_allocation_ratio: f64,
    /// Same for GPUs of jobs that are running (allocated and making progress).
    pub gpu_busy_ratio: f64,
    pub gpu_hours_allocated: f64,
    pub gpu_hours_busy: f64,
    /// GPU-hours held by pods waiting for the rest of their gang, up to `observed_until_s`
    /// (GPUs held by stuck gangs when a run drains count up to the horizon).
    pub gpu_hours_held_idle: f64,
    /// GPUs still held by bound pods of stuck gangs when the run drained: held for ever.
    /// Without a horizon the GPU-hours they hold are unbounded (not in
    /// `gpu_hours_held_idle`).
    pub gpus_held_stuck: f64,
    /// GPUs × duration as the trace asks, over all jobs.
    pub trace_gpu_hours: f64,
    /// The cluster autoscaler (only when node pools autoscale): GPU-hours provisioned and
    /// its actions (docs/output-formats.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<crate::autoscaler::AutoscalerSummary>,
    pub end_time_s: f64,
    pub stop: String,
    /// Why the no-progress guard stopped the run (stop `no_progress`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<String>,
    /// Every job that did not complete, with the reason (a detection or how the run
    /// ended).
    pub unfinished: Vec<Unfinished>,
    pub events: u64,
    /// Choices among equals made (score ties, random pod order).
    pub choices: u64,
    /// Hash of those choices: differs between seeds whenever a seeded choice differed.
    pub choices_fingerprint: String,
    /// Hash of the (time, id) sequence of every engine event.
    pub engine_fingerprint: String,
    /// Runs with faults only: node failures, restarts and the work they cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultsSummary>,
}

/// What faults cost a run (runs with a `faults:` section or checkpoints).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultsSummary {
    pub node_failures: u32,
    pub drains: u32,
    /// Job restarts after losing pods while running.
    pub restarts: u64,
    /// Run time lost (since the last checkpoint), summed over restarts, seconds.
    pub lost_work_s: f64,
    /// GPUs × run time lost, GPU-hours.
    pub lost_gpu_hours: f64,
    /// Checkpoint restore time spent after restarts, seconds.
    pub restore_s: f64,
    /// Nodes failed or cordoned when the run ended.
    pub nodes_down_at_end: u32,
    /// Single-GPU failures (absent when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub gpu_failures: u32,
    /// Link failures on the network model (absent when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub link_failures: u32,
}

fn is_zero(x: &u32) -> bool {
    *x == 0
}

/// A job that did not complete, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unfinished {
    pub job: String,
    pub outcome: &'static str,
    pub reason: String,
}

/// One deadlock, starvation or livelock finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    /// Simulated time of detection, seconds.
    pub time_s: f64,
    /// `deadlock`, `starvation` or `livelock`.
    pub kind: &'static str,
    pub jobs: Vec<String>,
    pub detail: String,
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

const MILLI_NS_PER_GPU_HOUR: f64 = 1000.0 * 3600.0 * NANOS_PER_SEC as f64;

pub fn summarize(scenario: &str, r: &RunResult) -> Summary {
    let mut outcomes: BTreeMap<&'static str, u64> = BTreeMap::new();
    for o in [
        Outcome::Completed,
        Outcome::Running,
        Outcome::Stuck,
        Outcome::PartiallyPlaced,
        Outcome::Pending,
        Outcome::NotSubmitted,
    ] {
        outcomes.insert(o.name(), 0);
    }
    // Jobs that did not start (complete) by the end of the observation count with the time
    // they waited so far, censored: leaving jobs unstarted never shortens the statistics.
    let observed_until = observed_until(r);
    let (mut waits, mut wait_censored) = (Vec::new(), 0u64);
    let (mut jcts, mut jct_censored) = (Vec::new(), 0u64);
    let mut last_end = None;
    for j in &r.jobs {
        *outcomes.entry(j.outcome.name()).or_insert(0) += 1;
        if j.outcome == Outcome::NotSubmitted {
            continue;
        }
        let censored = observed_until.since(j.submit).as_nanos();
        match j.start {
            Some(s) => waits.push(s.since(j.submit).as_nanos()),
            None => {
                waits.push(censored);
                wait_censored += 1;
            }
        }
        match j.end {
            Some(e) => {
                jcts.push(e.since(j.submit).as_nanos());
                last_end = last_end.max(Some(e));
            }
            None => {
                jcts.push(censored);
                jct_censored += 1;
            }
        }
    }
    let completed = outcomes.get("completed").copied().unwrap_or(0);
    let window = r.end_time.since(r.first_submit).as_nanos() as f64;
    let capacity = r.total_gpu_milli as f64 * window;
    // A run that ends at the instant it starts (e.g. a gang deadlock at the first instant,
    // no horizon) has no time window: report the state it ends in, which lasts for ever.
    let total = r.total_gpu_milli as f64;
    let ratio = |integral: u128, at_end: u64| {
        if capacity > 0.0 {
            round6(integral as f64 / capacity)
        } else if total > 0.0 {
            round6(at_end as f64 / total)
        } else {
            0.0
        }
    };
    let alloc_h = r.usage.allocated_integral as f64 / MILLI_NS_PER_GPU_HOUR;
    let busy_h = r.usage.busy_integral as f64 / MILLI_NS_PER_GPU_HOUR;
    // GPUs held by stuck gangs when the run drained stay held until the horizon.
    let held_after_h =
        u128::from(r.held_at_end_milli) * u128::from(observed_until.since(r.end_time).as_nanos());
    let held_after_h = held_after_h as f64 / MILLI_NS_PER_GPU_HOUR;
    Summary {
        scenario: scenario.to_string(),
        policy: r.policy.clone(),
        seed: r.seed,
        nodes: r.nodes,
        total_gpus: r.total_gpu_milli as f64 / 1000.0,
        jobs_total: r.jobs.len() as u64,
        jobs_completed: completed,
        jobs_unfinished: r.jobs.len() as u64 - completed,
        deadlocked_jobs: r.jobs.iter().filter(|j| j.deadlocked_at.is_some()).count() as u64,
        starved_jobs: r.starved.len() as u64,
        detections: detections(r),
        preemptions: r.preemptions,
        outcomes,
        wait_s: Distribution::censored_of_nanos(waits, wait_censored),
        jct_s: Distribution::censored_of_nanos(jcts, jct_censored),
        observed_until_s: observed_until.as_secs_f64(),
        makespan_s: last_end.map_or(0.0, |e| e.since(r.first_submit).as_secs_f64()),
        gpu_allocation_ratio: ratio(r.usage.allocated_integral, r.usage.allocated_milli),
        gpu_busy_ratio: ratio(r.usage.busy_integral, r.usage.busy_milli),
        gpu_hours_allocated: round6(alloc_h),
        gpu_hours_busy: round6(busy_h),
        gpu_hours_held_idle: round6(alloc_h - busy_h + held_after_h),
        gpus_held_stuck: r.held_at_end_milli as f64 / 1000.0,
        trace_gpu_hours: round6(r.jobs.iter().map(|j| j.trace_gpu_hours).sum()),
        autoscaler: r
            .autoscaler
            .as_ref()
            .map(|a| crate::autoscaler::summary(a, alloc_h)),
        end_time_s: r.end_time.as_secs_f64(),
        stop: r.stop.clone(),
        guard: r.guard.as_ref().map(|(t, why)| format!("{t}: {why}")),
        unfinished: r
            .jobs
            .iter()
            .filter(|j| j.end.is_none())
            .map(|j| Unfinished {
                job: j.id.clone(),
                outcome: j.outcome.name(),
                reason: j.reason.clone().unwrap_or_default(),
            })
            .collect(),
        events: r.events,
        choices: r.choices,
        choices_fingerprint: format!("{:016x}", r.choices_fingerprint),
        engine_fingerprint: format!("{:016x}", r.engine_fingerprint),
        faults: r.faults.as_ref().map(|f| {
            let lost_ns: u64 = f.jobs.iter().map(|j| j.lost_ns).sum();
            let restore_ns: u64 = f.jobs.iter().map(|j| j.restore_ns).sum();
            let lost_gpu: u128 = f.jobs.iter().map(|j| j.lost_gpu_milli_ns).sum();
            FaultsSummary {
                node_failures: f.node_failures,
                drains: f.drains,
                restarts: f.jobs.iter().map(|j| u64::from(j.restarts)).sum(),
                lost_work_s: round6(lost_ns as f64 / NANOS_PER_SEC as f64),
                lost_gpu_hours: round6(lost_gpu as f64 / MILLI_NS_PER_GPU_HOUR),
                restore_s: round6(restore_ns as f64 / NANOS_PER_SEC as f64),
                nodes_down_at_end: f.nodes_down_at_end,
                gpu_failures: f.gpu_failures,
                link_failures: f.link_failures,
            }
        }),
    }
}

/// End of the observation: the horizon if one was given and lies beyond the end of the
/// run (a run that drained before it), otherwise the end of the run.
pub fn observed_until(r: &RunResult) -> sim_core::SimTime {
    r.horizon.map_or(r.end_time, |h| h.max(r.end_time))
}

fn detections(r: &RunResult) -> Vec<Detection> {
    let mut v: Vec<(sim_core::SimTime, Detection)> = Vec::new();
    for (t, jobs) in &r.deadlocks {
        v.push((
            *t,
            Detection {
                time_s: t.as_secs_f64(),
                kind: "deadlock",
                jobs: jobs.clone(),
                detail: "hold resources that no future event can release or complete".into(),
            },
        ));
    }
    for (job, t, kind, detail) in &r.starved {
        v.push((
            *t,
            Detection {
                time_s: t.as_secs_f64(),
                kind: match kind {
                    models::StarvedKind::Starvation => "starvation",
                    models::StarvedKind::Livelock => "livelock",
                },
                jobs: vec![job.clone()],
                detail: detail.clone(),
            },
        ));
    }
    v.sort_by_key(|(t, _)| *t);
    v.into_iter().map(|(_, d)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = 1_000_000_000;
        let d = Distribution::of_nanos((1..=100).map(|i| i * s).collect());
        assert_eq!((d.p50, d.p95, d.p99, d.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(d.avg, 50.5);
        let d = Distribution::of_nanos(vec![3 * s, s, 2 * s]);
        assert_eq!((d.p50, d.p99, d.count), (2.0, 3.0, 3));
        assert_eq!(Distribution::of_nanos(vec![]), Distribution::default());
    }
}
