//! Jobs deleted at a time (`RunConfig::deletions`, a scenario's `delete_at`) and jobs
//! without a run time (`NO_RUN_TIME`), on hand-derived cases. Times are seconds.

use std::collections::BTreeMap;

use models::{
    ClusterSpec, JobDeletion, JobSpec, ModelError, NO_RUN_TIME, NodeSpec, Outcome, PodRequest,
    RunConfig, RunError, RunResult, Workload, run,
};
use sim_core::{SimDuration, SimTime};

/// One node with one H100.
fn one_gpu() -> ClusterSpec {
    ClusterSpec {
        nodes: vec![NodeSpec {
            taints: Vec::new(),
            name: "node-0".into(),
            pool: "gpu".into(),
            cpu_milli: 64_000,
            memory_mib: 512 * 1024,
            gpus: 1,
            gpu_model: Some("H100".into()),
            gpu_memory_mib: 81_920,
            rack: 0,
            labels: BTreeMap::new(),
        }],
    }
}

fn job(id: &str, submit: u64, duration: Option<u64>) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::from_secs(submit),
        duration: duration.map_or(NO_RUN_TIME, SimDuration::from_secs),
        pods: vec![PodRequest::gpus(1)],
        priority: 0,
        queue: None,
    }
}

fn delete(id: &str, at: u64) -> JobDeletion {
    JobDeletion {
        job: id.into(),
        at: SimTime::from_secs(at),
    }
}

fn go(jobs: Vec<JobSpec>, deletions: Vec<JobDeletion>) -> Result<RunResult, RunError> {
    let mut w = Workload { jobs };
    w.sort_by_submit();
    let c = RunConfig {
        horizon: Some(SimDuration::from_secs(1000)),
        deletions,
        ..RunConfig::default()
    };
    run(one_gpu(), w, &c, None)
}

fn secs(t: Option<SimTime>) -> Option<u64> {
    t.map(|t| t.as_nanos() / 1_000_000_000)
}

#[test]
fn a_deleted_job_releases_its_gpu_and_a_pending_one_leaves_the_queue() {
    // A (no run time) holds the one GPU from 0 until it is deleted at 100. B (50 s,
    // submitted at 10) and C (10 s, submitted at 20) wait; C is deleted at 50 while
    // Pending. At 100 B starts, and completes at 150; nothing is left, the run ends there
    // (before the 1000 s horizon). Busy GPU time: A 100 s + B 50 s = 150 GPU-seconds.
    let r = go(
        vec![
            job("A", 0, None),
            job("B", 10, Some(50)),
            job("C", 20, Some(10)),
        ],
        vec![delete("A", 100), delete("C", 50)],
    )
    .expect("run");
    let get = |id: &str| r.jobs.iter().find(|j| j.id == id).expect("job");
    let (a, b, c) = (get("A"), get("B"), get("C"));
    assert_eq!(a.outcome, Outcome::Deleted);
    assert_eq!((secs(a.start), secs(a.end)), (Some(0), Some(100)));
    assert!(
        a.reason
            .as_deref()
            .is_some_and(|r| r.contains("deleted at")),
        "{:?}",
        a.reason
    );
    assert_eq!(c.outcome, Outcome::Deleted);
    assert_eq!((secs(c.start), secs(c.end)), (None, Some(50)));
    assert_eq!(b.outcome, Outcome::Completed);
    assert_eq!((secs(b.start), secs(b.end)), (Some(100), Some(150)));
    assert_eq!(
        a.evictions + c.evictions,
        0,
        "a deletion is not an eviction"
    );
    assert_eq!(r.preemptions, 0);
    assert_eq!(r.end_time, SimTime::from_secs(150));
    assert_eq!(r.usage.busy_integral, 1000 * 150 * 1_000_000_000);
}

#[test]
fn a_job_deleted_as_its_run_time_ends_is_completed_and_without_deletion_runs_to_the_horizon() {
    // D runs 0..10 and is deleted at 10: nothing is left to run, it is completed. E has
    // no run time and no deletion: it runs (from 10, when D frees the GPU) until the
    // 1000 s horizon.
    let r = go(
        vec![job("D", 0, Some(10)), job("E", 0, None)],
        vec![delete("D", 10)],
    )
    .expect("run");
    let get = |id: &str| r.jobs.iter().find(|j| j.id == id).expect("job");
    assert_eq!(get("D").outcome, Outcome::Completed);
    assert_eq!(secs(get("D").end), Some(10));
    assert_eq!(get("E").outcome, Outcome::Running);
    assert_eq!(secs(get("E").start), Some(10));
    assert_eq!(r.end_time, SimTime::from_secs(1000));
}

#[test]
fn deletions_of_unknown_jobs_or_before_the_submit_time_are_refused() {
    let e = go(vec![job("A", 0, Some(10))], vec![delete("Z", 5)]).expect_err("unknown job");
    assert!(
        matches!(&e, RunError::Model(ModelError::Config { field, msg }) if field == "deletions[0]" && msg.contains("\"Z\"")),
        "{e}"
    );
    let e = go(vec![job("A", 20, Some(10))], vec![delete("A", 5)]).expect_err("too early");
    assert!(
        matches!(&e, RunError::Model(ModelError::Config { field, msg }) if field == "deletions[0]" && msg.contains("before it is submitted")),
        "{e}"
    );
}
