//! Issue 14, Kueue slice, end to end: the reported repro scenarios (copied byte for byte
//! into `scenarios/tests/kueue-cohort/`) finish, and a run that can never progress ends
//! with stop `no_progress`, a guard message and a reason for every unfinished job.

mod common;

use common::*;

fn summary(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn cohort_repros_finish_with_every_job_completed() {
    for (name, jobs) in [("hang.yaml", 51), ("pending-forever.yaml", 80)] {
        let d = tmpdir(&format!("kueue-{name}"));
        let sc = root().join("scenarios/tests/kueue-cohort").join(name);
        let out = orrery(&["run", sc.to_str().unwrap(), "--out", "res", "-q"], &d);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let s = summary(&d.join("res"));
        assert_eq!(s["stop"], "drained", "{name}");
        assert_eq!(s["jobs_completed"], jobs, "{name}");
        assert_eq!(s["unfinished"], serde_json::json!([]), "{name}");
    }
}

#[test]
fn livelock_without_horizon_stops_with_no_progress_and_reasons() {
    let d = tmpdir("kueue-livelock");
    std::fs::write(
        d.join("livelock.yaml"),
        "name: livelock\nseed: 1\ncluster:\n  node_pools:\n    - {name: gpu, count: 2, cpu_milli: 32000, memory_mib: 262144, gpus: 2, gpu_model: H100}\n\
workload:\n  pod_order: interleaved\n  jobs:\n    - {id: A, duration: 100s, pods: 3}\n    - {id: B, duration: 100s, pods: 3}\n\
scheduler:\n  policy: kueue\n  kueue:\n    cluster_queues:\n      - {name: q, nominal_gpus: 8}\n    wait_for_pods_ready: {enable: true, block_admission: false}\n",
    )
    .unwrap();
    let out = orrery(&["run", "livelock.yaml", "--out", "res"], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("stop: no_progress"), "{stdout}");
    assert!(stdout.contains("no-progress guard"), "{stdout}");
    let s = summary(&d.join("res"));
    assert_eq!(s["stop"], "no_progress");
    assert!(s["guard"].as_str().unwrap().contains("no progress"));
    let unfinished = s["unfinished"].as_array().unwrap();
    assert_eq!(unfinished.len(), 2);
    for u in unfinished {
        assert!(
            u["reason"].as_str().unwrap().starts_with("livelocked"),
            "{u}"
        );
    }
}
