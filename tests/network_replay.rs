//! Step-based jobs on the network model, end to end.

mod common;

use common::*;

fn load(name: &str) -> scenarios::Scenario {
    scenarios::load(&bundled(name), &checked()).expect("scenario loads")
}

#[test]
fn step_based_itp_replay_on_2048_gpus_runs_end_to_end() {
    let sc = load("itp-cluster04-network.yaml");
    assert!(sc.cluster.total_gpus() >= 2_000);
    assert!(sc.workload.jobs.len() >= 1_000);
    let with_net = models::run(sc.cluster.clone(), sc.workload.clone(), &sc.config, None).unwrap();
    let mut off = sc.config.clone();
    off.network = None;
    let without = models::run(sc.cluster.clone(), sc.workload.clone(), &off, None).unwrap();
    let s_net = reports::summarize("net", &with_net);
    let s_off = reports::summarize("off", &without);
    assert_eq!(s_net.jobs_completed, 15_802);
    // Communication only adds to compute: no job runs faster than its trace duration,
    // and multi-GPU jobs that talk across nodes run measurably slower.
    let mut slower = 0;
    for (a, b) in with_net.jobs.iter().zip(&without.jobs) {
        let run = |j: &models::JobRecord| j.end.unwrap().since(j.start.unwrap()).as_nanos();
        assert!(run(a) + 1 >= run(b), "{} ran faster on the network", a.id);
        if run(a) > run(b) + 1_000_000 {
            slower += 1;
        }
    }
    assert!(slower > 100, "only {slower} jobs felt the network");
    assert!(s_net.jct_s.avg > s_off.jct_s.avg);
    // Observability: per-job compute vs exposed communication, and link-load samples.
    assert_eq!(with_net.network_jobs.len(), 15_802);
    assert!(with_net.network_jobs.iter().all(|j| j.steps > 0.0));
    assert!(with_net.network_jobs.iter().any(|j| j.exposed_ns > 0));
    assert!(
        with_net
            .network_series
            .iter()
            .any(|s| s.kind == "nic_up" && s.max_utilisation > 0.0)
    );
    let csv = reports::network_jobs_csv(&with_net).unwrap();
    assert!(csv.starts_with(b"id,steps,compute_s,exposed_comm_io_s,comm_io_share,staging_s\n"));
    assert!(without.network_jobs.is_empty() && without.network_series.is_empty());
}

#[test]
fn compute_only_steps_reproduce_the_duration_based_run() {
    // Steps with no communication, no input and no checkpoint take exactly `compute`, so
    // duration / compute steps take the trace duration again (to the nanosecond, up to
    // float rounding of the step count).
    let sc = load("itp-cluster04-network.yaml");
    let mut cfg = sc.config.clone();
    if let Some(n) = cfg.network.as_mut() {
        n.steps.comm_bytes = 0;
    }
    let mut w = sc.workload.clone();
    w.jobs.truncate(2_000);
    let a = models::run(sc.cluster.clone(), w.clone(), &cfg, None).unwrap();
    cfg.network = None;
    let b = models::run(sc.cluster.clone(), w, &cfg, None).unwrap();
    for (x, y) in a.jobs.iter().zip(&b.jobs) {
        let (xs, ys) = (x.start.unwrap().as_nanos(), y.start.unwrap().as_nanos());
        let (xe, ye) = (x.end.unwrap().as_nanos(), y.end.unwrap().as_nanos());
        assert!(
            xs.abs_diff(ys) <= 1_000 && xe.abs_diff(ye) <= 1_000,
            "{x:?} vs {y:?}"
        );
    }
}
