//! A scenario's `workload.jobs[].delete_at` and jobs without a `duration`
//! (docs/scenario-format.md), end to end through the loader and `jobs.csv`.

mod common;

use common::{checked, root};

const POOL: &str = "name: del
cluster:
  node_pools:
    - {name: gpu, count: 1, cpu_milli: 1000, memory_mib: 1024, gpus: 1, gpu_model: H100}
";

fn build(yaml: &str) -> Result<scenarios::Scenario, String> {
    scenarios::build("del.yaml", yaml, &scenarios::DirSource(root()), &checked())
        .map_err(|e| e.to_string())
}

#[test]
fn a_job_without_a_run_time_runs_until_its_delete_at_then_the_next_runs() {
    // `probe` (no duration) holds the one GPU from 0 until it is deleted at 5 min; `next`
    // (1 min, submitted at 0) starts at 300 s and completes at 360 s.
    let sc = build(&format!(
        "{POOL}workload:
  jobs:
    - {{id: probe, delete_at: 5m}}
    - {{id: next, duration: 1m}}
"
    ))
    .expect("scenario");
    let r = models::run(sc.cluster, sc.workload, &sc.config, None).expect("run");
    let csv = String::from_utf8(reports::jobs_csv(&r).unwrap()).unwrap();
    let probe = csv
        .lines()
        .find(|l| l.starts_with("probe,"))
        .expect("probe row");
    assert_eq!(probe.split(',').nth(9), Some("deleted"), "{csv}");
    let get = |id: &str| r.jobs.iter().find(|j| j.id == id).expect("job");
    let s = |t: Option<sim_core::SimTime>| t.map(|t| t.as_nanos() / 1_000_000_000);
    assert_eq!(
        (s(get("probe").start), s(get("probe").end)),
        (Some(0), Some(300))
    );
    assert_eq!(
        (s(get("next").start), s(get("next").end)),
        (Some(300), Some(360))
    );
}

#[test]
fn a_job_without_a_run_time_needs_a_delete_at_or_a_horizon_and_deletes_follow_submits() {
    let e = build(&format!("{POOL}workload:\n  jobs:\n    - {{id: a}}\n")).expect_err("no end");
    assert!(
        e.contains("del.yaml") && e.contains("workload.jobs[0].duration"),
        "{e}"
    );
    let ok = build(&format!(
        "{POOL}horizon: 1h\nworkload:\n  jobs:\n    - {{id: a}}\n"
    ));
    assert!(ok.is_ok(), "{:?}", ok.err());
    let e = build(&format!(
        "{POOL}workload:\n  jobs:\n    - {{id: a, submit: 2m, duration: 1m, delete_at: 1m}}\n"
    ))
    .expect_err("deleted before submit");
    assert!(e.contains("workload.jobs[0].delete_at"), "{e}");
}
