//! Full-trace replays and the golden fingerprint.

mod common;

use common::*;
use scenarios::Overrides;

fn run(name: &str) -> (scenarios::Scenario, models::RunResult) {
    let sc = scenarios::load(&bundled(name), &Overrides::default()).expect("scenario loads");
    let r = models::run(sc.cluster.clone(), sc.workload.clone(), &sc.config, None)
        .expect("run completes");
    (sc, r)
}

#[test]
fn all_itp_jobs_replay_and_match_the_published_totals() {
    let (_, r) = run("itp-all.yaml");
    let s = reports::summarize("itp-all", &r);
    // Trace README §5: 69,351 jobs, 1,632,719.7 GPU-hours (source README 1,632,719.7).
    assert_eq!(s.jobs_total, 69_351);
    assert_eq!(s.jobs_completed, 69_351);
    assert!(
        (s.trace_gpu_hours - 1_632_719.7).abs() < 0.1,
        "{}",
        s.trace_gpu_hours
    );
    // Every job ran for exactly its trace duration, so the GPU-hours the cluster was busy
    // equal the trace's.
    assert!((s.gpu_hours_busy - s.trace_gpu_hours).abs() < 1e-3, "{s:?}");
    assert_eq!(
        s.gpu_hours_held_idle, 0.0,
        "gang placement never holds GPUs idle"
    );
}

#[test]
fn full_openb_pod_list_replays_on_the_openb_gpu_nodes() {
    let (sc, r) = run("openb-default.yaml");
    assert_eq!(sc.cluster.nodes.len(), 1_213);
    assert_eq!(sc.cluster.total_gpus(), 6_212);
    let s = reports::summarize("openb", &r);
    // Trace README §1: 8,152 pods requesting 6,087 GPUs in total (6,086.8 in thousandths).
    assert_eq!(s.jobs_total, 8_152);
    assert_eq!(s.jobs_completed, 8_152);
    let requested: u64 = r.jobs.iter().map(|j| j.gpu_milli).sum();
    assert_eq!(requested, 6_086_800);
    assert_eq!((requested as f64 / 1000.0).round(), 6_087.0);
    assert!((s.gpu_hours_busy - s.trace_gpu_hours).abs() < 1e-3, "{s:?}");
}

/// Guards against silent drift (an RNG crate upgrade, a changed tie-break, a changed
/// formula): the bundled default scenario at seed 42 must produce exactly these bytes. If
/// a change is intended, update the constants and say why in the commit message.
#[test]
fn golden_fingerprint_of_the_bundled_default() {
    let sc = scenarios::bundled::default_scenario(&Overrides::default()).unwrap();
    let r = models::run(sc.cluster, sc.workload, &sc.config, None).unwrap();
    let s = reports::summarize(&sc.name, &r);
    let jobs = reports::jobs_csv(&r).unwrap();
    let summary = reports::summary_json(&s).unwrap();
    let got = format!(
        "events={} choices={} choices_fp={:016x} jobs_csv_fp={:016x} summary_fp={:016x}",
        r.events,
        r.choices,
        r.choices_fingerprint,
        fnv(&jobs),
        fnv(&summary)
    );
    assert_eq!(
        got,
        GOLDEN,
        "output drifted; summary now:\n{}",
        String::from_utf8_lossy(&summary)
    );
}

const GOLDEN: &str = "events=3190 choices=1412 choices_fp=9a2d924561ac30e8 jobs_csv_fp=48d9e6213d086111 summary_fp=9ca8e8bfde82ab2c";
