//! `orrery verify` on scenarios with inference services (issue 16 item 5): the serving
//! controller's replicas, HPA, traffic streams and request queues are snapshotted with
//! `SimState` and fingerprinted (`ServingRuntime::hash_state`). Every figure below is
//! derived by hand in the comments.

mod common;

use common::{orrery, root, text, tmpdir};
use serde_json::Value;

/// One node of 2 GPUs. Service `llm`: 1 replica (1 GPU, priority 10, started 10 s after
/// binding, one request at a time, 100 s per request), HPA on the queue depth (target 1,
/// a sync every 10 s, min 1, max 2). Requests at 1, 2 and 3 s. T (1 GPU, priority 0, 30 s)
/// arrives at 10 s. Horizon 35 s; no scrape before it.
///
/// * 0 s: llm-0 binds (1 GPU left), Ready at 10 s. 1–3 s: three requests queue.
/// * 10 s: T's arrival, the HPA sync and llm-0's Ready event tie (3! = 6 orders).
///   - sync before Ready (3 orders): no Ready replica, no decision; llm-0 takes request 0;
///     T binds on the free GPU. One state (X).
///   - Ready before sync (3 orders): llm-0 takes request 0; queue 2 over 1 Ready replica,
///     target 1: ratio 2, desired ceil(2 / 1) = 2: llm-1 is created and, priority 10
///     before T's 0, binds; T waits. One state (Y): which order T came in is gone (the
///     queue is ranked by priority).
/// * 20 s, X: the sync sees queue 2 over 1 Ready: 2 replicas; llm-1 fits nowhere.
///   - `wait`: it stays Pending (T runs to 40 s, past the horizon); at 30 s the sync is
///     alone. 1 schedule.
///   - `preempt`: llm-1 evicts T (priority 0 < 10) and binds; Ready at 30 s, tied with
///     the sync at 30 s: 2 orders, 2 states (the sync either sees 1 Ready and 1 starting:
///     ratio 2 / 2 = 1, keep 2; or 2 Ready with queue 1: recommends 1, held at 2 by the
///     window, whose remembered recommendations then differ). 2 schedules.
/// * 20 s, Y: llm-1's Ready event ties the sync: 2 orders, 2 states (recommendation 2 or
///   1 remembered, as above); at 30 s the sync is alone. 2 schedules.
///
/// Schedules: X (1 + 2 pruned at 10 s) + Y (2 + 2 pruned at 10 s): `wait` 7, `preempt` 8.
/// Distinct states (closed instants): 0, 1, 2, 3 s (4), X and Y at 10 s (2), X's one and
/// Y's two at 20 s (3), then at 30 s one each under `wait` (3: 12 in all) and, under
/// `preempt`, X's two and Y's two (4: 13).
fn tie(on_no_capacity: &str) -> String {
    format!(
        "name: serving-tie
seed: 1
horizon: 35s
cluster:
  node_pools:
    - {{name: gpu, count: 1, cpu_milli: 32000, memory_mib: 262144, gpus: 2, gpu_model: H100}}
workload:
  jobs:
    - {{id: T, submit: 10s, duration: 30s, pods: 1, gpus_per_pod: 1}}
scheduler:
  policy: default
services:
  - name: llm
    accelerator: H100
    gpus_per_replica: 1
    replicas: 1
    startup_delay: 10s
    concurrency: 1
    service_time: 100s
    service_distribution: deterministic
    priority: 10
    on_no_capacity: {on_no_capacity}
    hpa: {{metric: inference_queue_depth, target: 1, sync_period: 10s, min_replicas: 1, max_replicas: 2}}
traffic:
  - name: clients
    arrivals: deterministic
    load: [{{from: 1s, rps: 1}}, {{from: 4s, rps: 0}}]
    route: {{backends: [{{service: llm}}]}}
metrics: {{scrape_interval: 1h}}
"
    )
}

fn verify(name: &str, yaml: &str, args: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let d = tmpdir(name);
    let sc = d.join("scenario.yaml");
    std::fs::write(&sc, yaml).unwrap();
    let out = d.join("v");
    let mut a: Vec<&str> = vec!["verify", sc.to_str().unwrap()];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--out", out.to_str().unwrap(), "--quiet"]);
    (orrery(&a, &root()), out)
}

fn report(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("verify.json")).unwrap()).unwrap()
}

#[test]
fn a_replica_and_a_job_tied_for_one_gpu_are_explored_both_ways() {
    for (mode, schedules, states) in [("wait", 7, 12), ("preempt", 8, 13)] {
        let (r, dir) = verify(
            &format!("serving-tie-{mode}"),
            &tie(mode),
            &["--exhaustive", "--no-pod-order"],
        );
        assert_eq!(r.status.code(), Some(0), "{mode}: {}", text(&r.stderr));
        let v = report(&dir);
        let c = &v["exploration"]["coverage"];
        assert_eq!(c["schedules"], schedules, "{mode}: {c}");
        assert_eq!(c["distinct_states"], states, "{mode}: {c}");
        // Pruned: the 2 other orders reaching X and the 2 reaching Y at 10 s.
        assert_eq!(c["pruned"], 4, "{mode}: {c}");
        // Services run for ever: every schedule that is not pruned stops at the horizon,
        // so the verdict is bounded by it (NO VIOLATION FOUND), not VERIFIED.
        assert_eq!(c["horizon_hits"], schedules - 4, "{mode}: {c}");
        assert_eq!(c["complete"], true, "{mode}: {c}");
        assert_eq!(v["exploration"]["deadlock"], "NONE_FOUND", "{mode}: {v}");
        assert_eq!(v["exploration"]["livelock"], "NONE_FOUND", "{mode}: {v}");
    }
}
