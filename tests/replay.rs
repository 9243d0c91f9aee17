//! Full-trace replays and the golden fingerprint.

mod common;

use common::*;

fn run(name: &str) -> (scenarios::Scenario, models::RunResult) {
    let sc = scenarios::load(&bundled(name), &checked()).expect("scenario loads");
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
    let sc = scenarios::bundled::default_scenario(&checked()).unwrap();
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

const GOLDEN: &str = "events=3190 choices=1412 choices_fp=9a2d924561ac30e8 jobs_csv_fp=48d9e6213d086111 summary_fp=1d6d232e5912d0fd";

/// The bundled gang deadlock (two 4-pod gangs, pods interleaved, 6 GPUs) under `policy`,
/// with an optional horizon.
fn gang_deadlock(policy: &str, horizon: Option<&str>) -> reports::Summary {
    let ov = scenarios::Overrides {
        policy: models::PolicyKind::parse(policy),
        horizon: horizon.map(|h| h.parse().expect("duration")),
        ..checked()
    };
    let sc = scenarios::load(&bundled("gang-deadlock.yaml"), &ov).expect("scenario loads");
    let r = models::run(sc.cluster, sc.workload, &sc.config, None).expect("run completes");
    reports::summarize("gang-deadlock", &r)
}

#[test]
fn gang_deadlock_without_horizon_says_gpus_are_held_for_ever_and_nothing_started() {
    // A1 B1 A2 B2 A3 B3 bind at 0 and hold all six GPUs; A4, B4 never fit: the run drains
    // at 0 with both jobs stuck, never started.
    let s = gang_deadlock("default", None);
    assert_eq!(s.end_time_s, 0.0);
    assert_eq!(s.gpus_held_stuck, 6.0);
    assert_eq!((s.wait_s.count, s.wait_s.censored), (2, 2));
    assert_eq!((s.jct_s.count, s.jct_s.censored), (2, 2));
    let human = reports::write::human(&s);
    assert!(!human.contains("(n=0)"), "{human}");
    assert!(
        human.contains("wait       no job started: all 2 never started"),
        "{human}"
    );
    assert!(
        human.contains("JCT        no job completed: all 2 unfinished"),
        "{human}"
    );
    assert!(
        human.contains("6 GPUs held for ever by stuck gangs from 0s: unbounded GPU-hours"),
        "{human}"
    );
}

#[test]
fn gang_deadlock_with_horizon_holds_six_gpu_hours_and_censors_at_the_horizon() {
    // Same deadlock with a 1 h horizon: the run still ends (drains) at 0, but the six GPUs
    // stay held until the horizon: 6 GPUs x 1 h = 6 GPU-hours held idle. Both jobs waited
    // the whole hour: wait = JCT = 3600 s each, censored.
    let s = gang_deadlock("default", Some("1h"));
    assert_eq!(s.stop, "drained");
    assert_eq!(s.end_time_s, 0.0);
    assert_eq!(s.observed_until_s, 3600.0);
    assert_eq!(s.gpu_hours_held_idle, 6.0);
    assert_eq!(s.gpus_held_stuck, 6.0);
    assert_eq!(
        (s.wait_s.avg, s.wait_s.max, s.wait_s.censored),
        (3600.0, 3600.0, 2)
    );
    assert_eq!((s.jct_s.avg, s.jct_s.censored), (3600.0, 2));
    let human = reports::write::human(&s);
    assert!(
        human.contains("(n=2") || human.contains("no job started"),
        "{human}"
    );
    assert!(human.contains("6.0 GPU-h held idle"), "{human}");
}

#[test]
fn a_run_that_drains_before_its_horizon_ends_when_it_drains() {
    // Under `gang`: A runs 0..100 on 4 GPUs, B 100..200; the 1 h horizon is never reached.
    // end_time is 200 s, and the allocation ratio is (4 x 100 + 4 x 100) / (6 x 200) = 2/3,
    // not diluted over the hour (which gave 800 / 21600 = 0.037).
    let s = gang_deadlock("gang", Some("1h"));
    assert_eq!(s.stop, "drained");
    assert_eq!(s.end_time_s, 200.0);
    assert_eq!(s.gpu_allocation_ratio, 0.666667);
    assert_eq!(s.gpu_busy_ratio, 0.666667);
    assert_eq!(s.gpu_hours_held_idle, 0.0);
    assert_eq!(s.gpus_held_stuck, 0.0);
    assert_eq!((s.wait_s.avg, s.wait_s.censored), (50.0, 0));
    assert_eq!((s.jct_s.avg, s.jct_s.censored), (150.0, 0));
    let human = reports::write::human(&s);
    assert!(human.contains("(n=2)"), "{human}");
}

/// `preemptions` counts the pods bound when a job is evicted (docs/output-formats.md).
#[test]
fn preemptions_count_evicted_pods_not_gang_rejections() {
    // Tiresias, one node of 2 GPUs, threshold 3600 GPU-s. A (2 pods x 1 GPU, 2 h) starts at
    // 0 and is demoted at 1800 s (2 GPUs x 1800 s). B (1 pod x 2 GPUs, 10 min) arrives at
    // 2400 s in the top queue and preempts A: A's 2 bound pods are evicted. B runs
    // 2400..3000; A resumes with 4800 s left and ends at 7800.
    let d = tmpdir("preempt");
    let yaml = "name: tiresias-preempt\nseed: 1\ncluster:\n  node_pools:\n    - {name: gpu, count: 1, \
                cpu_milli: 32000, memory_mib: 262144, gpus: 2, gpu_model: H100}\nworkload:\n  jobs:\n    \
                - {id: A, submit: 0s, duration: 2h, pods: 2, gpus_per_pod: 1}\n    \
                - {id: B, submit: 40m, duration: 10m, pods: 1, gpus_per_pod: 2}\nscheduler:\n  \
                policy: tiresias\n  tiresias: {thresholds_gpu_s: [3600]}\n";
    let path = d.join("preempt.yaml");
    std::fs::write(&path, yaml).unwrap();
    let sc = scenarios::load(&path, &checked()).expect("scenario loads");
    let r = models::run(sc.cluster, sc.workload, &sc.config, None).expect("run completes");
    let ends: Vec<(Option<f64>, u32)> = r
        .jobs
        .iter()
        .map(|j| (j.end.map(|e| e.as_secs_f64()), j.evictions))
        .collect();
    assert_eq!(ends, [(Some(7800.0), 1), (Some(3000.0), 0)]);
    assert_eq!(reports::summarize("t", &r).preemptions, 2);
    // Coscheduling on the gang deadlock: B's two waiting pods are released by PostFilter
    // (not an eviction): no preemption counted.
    assert_eq!(gang_deadlock("coscheduling", None).preemptions, 0);
}
