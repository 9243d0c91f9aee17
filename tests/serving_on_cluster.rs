//! Issue 16 item 3: an inference service and a training job share the GPUs of one node,
//! and the HPA's scale-up waits or preempts as configured. Every time below is derived by
//! hand from the shared controllers (`models/src/controllers/hpa.rs`, `serving.rs`,
//! `gateway.rs`) and the main model's serving controller (`models/src/sim/serving.rs`).
//!
//! The cluster: one node of 8 H100s, policy `default` (kube-scheduler, one pod at a
//! time). The training job `train`: one pod of 6 GPUs, 100 s of run time, a checkpoint
//! every 10 s of run time, submitted at 0. The service `llm`: 1-GPU replicas, 2 at the
//! start (min 2, max 4), concurrency 1, deterministic 10 s service time, no start-up
//! delay; HPA on `inference_queue_depth` with target 1.5 (tolerance 0.1, sync every
//! 15 s, scale-down stabilisation 300 s: the defaults). Traffic: deterministic, 4 rps
//! from 10 s to 12 s, so 8 requests at 10, 10.25, …, 11.75 s.
//!
//! Common part (derived):
//! * t = 0: train (6 GPUs) and llm-0, llm-1 (1 GPU each) all fit on the 8 GPUs and bind;
//!   the replicas are Ready at once (start-up 0).
//! * t = 10: request 0 → llm-0 (done 20); 10.25: request 1 → llm-1 (done 20.25);
//!   requests 2..7 queue (6 queued by 11.75).
//! * t = 15, first HPA sync (k × 15 s, k ≥ 1; the sync event was queued before the
//!   arrivals of that instant): 2 Ready replicas, queue 6, ratio 6 / 2 / 1.5 = 2 (outside
//!   the 0.1 tolerance), desired = ceil(6 / 1.5) = 4, clamped to [2, 4] = 4; a scale-up
//!   is immediate, limited to max(2 × 2, 2 + 4) = 6 ≥ 4: spec.replicas 2 → 4. The two new
//!   replica pods (llm-2, llm-3) need 1 GPU each; 8 − 6 − 2 = 0 GPUs are free.

mod common;

use common::*;
use models::RunResult;
use sim_core::SimTime;

fn yaml(priority: i32, on_no_capacity: &str) -> String {
    format!(
        "name: serving-on-cluster
horizon: 500s
cluster:
  node_pools:
    - {{name: n, count: 1, cpu_milli: 96000, memory_mib: 1048576, gpus: 8, gpu_model: H100}}
workload:
  jobs:
    - {{id: train, submit: 0s, duration: 100s, pods: 1, gpus_per_pod: 6, checkpoint_interval: 10s}}
scheduler:
  policy: default
services:
  - name: llm
    accelerator: H100
    gpus_per_replica: 1
    replicas: 2
    concurrency: 1
    service_time: 10s
    service_distribution: deterministic
    priority: {priority}
    on_no_capacity: {on_no_capacity}
    hpa: {{metric: inference_queue_depth, target: 1.5, min_replicas: 2, max_replicas: 4}}
traffic:
  - name: clients
    arrivals: deterministic
    load: [{{from: 10s, rps: 4}}, {{from: 12s, rps: 0}}]
    route: {{backends: [{{service: llm}}]}}
"
    )
}

fn run_yaml(y: &str) -> RunResult {
    let sc = scenarios::build("serving.yaml", y, &scenarios::DirSource(root()), &checked())
        .expect("scenario builds");
    models::run(sc.cluster, sc.workload, &sc.config, None).expect("run completes")
}

fn secs(t: Option<SimTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// (bound, ended) of every incarnation of replica `name`, in seconds.
fn replica(r: &RunResult, name: &str) -> Vec<(Option<f64>, Option<f64>)> {
    let sv = r.serving.as_ref().expect("serving record");
    sv.pods
        .iter()
        .filter(|p| p.name == name)
        .map(|p| (secs(p.bound_at), secs(p.ended_at)))
        .collect()
}

fn job<'a>(r: &'a RunResult, id: &str) -> &'a models::JobRecord {
    r.jobs.iter().find(|j| j.id == id).expect("job")
}

/// `wait` (the default), equal priorities: the two new replicas stay Pending until the
/// training job completes at 100 s, and bind then.
#[test]
fn scale_up_waits_for_the_training_job() {
    let r = run_yaml(&yaml(0, "wait"));
    let sv = r.serving.as_ref().expect("serving record");
    // spec.replicas: 2 at 0, 4 from the 15 s sync on (the later syncs keep 4: at 30 s,
    // 2 Ready + 2 unready and queue 4: ratio 4/2/1.5 > 1, so the unready count as 0:
    // 4/4/1.5 < 1, keep 4; from 45 s on the queue is empty, recommendation 2, but the
    // window keeps 4 until 330 s, when the 30 s recommendation of 4 leaves it).
    assert_eq!(
        sv.replicas["llm"][..2],
        [(SimTime::ZERO, 2), (SimTime::from_secs(15), 4)]
    );
    let first = &sv.hpa["llm"][0];
    assert_eq!(first.at, SimTime::from_secs(15));
    assert_eq!((first.current, first.ready, first.desired), (2, 2, 4));
    assert_eq!(first.value, 3.0); // queue 6 over 2 Ready replicas
    assert_eq!(first.applied, 4);
    // The training job is never disturbed: 0 → 100 s.
    let t = job(&r, "train");
    assert_eq!((secs(t.start), secs(t.end)), (Some(0.0), Some(100.0)));
    assert_eq!(r.preemptions, 0);
    // The new replicas bind when the training job releases its 6 GPUs.
    assert_eq!(replica(&r, "llm-0"), vec![(Some(0.0), None)]);
    assert_eq!(replica(&r, "llm-2")[0].0, Some(100.0));
    assert_eq!(replica(&r, "llm-3")[0].0, Some(100.0));
    // Scale-down to 2 at the 330 s sync (above): the newest replicas go.
    assert_eq!(replica(&r, "llm-3")[0].1, Some(330.0));
    assert_eq!(replica(&r, "llm-2")[0].1, Some(330.0));
    // All 8 requests served: llm-0 serves 0, 2, 4, 6 back to back (10 s each from 10 s),
    // llm-1 serves 1, 3, 5, 7 from 10.25 s: the last ends at 50.25 s.
    let ends: Vec<f64> = sv
        .requests
        .iter()
        .map(|q| q.end.unwrap().as_secs_f64())
        .collect();
    assert_eq!(
        ends,
        vec![20.0, 20.25, 30.0, 30.25, 40.0, 40.25, 50.0, 50.25]
    );
}

/// `preempt` with the service's priority (10) above the job's (0): at the 15 s sync the
/// two replicas cannot fit, the training job is evicted (the only lower-priority running
/// job; its 6 GPUs make room for both), both replicas bind at 15 s, and the job goes
/// back to the queue (pods recreated, as after a node failure). It had run 15 s: its last
/// checkpoint is at 10 s, so 5 s are lost and 90 s remain (no restore time configured).
/// It waits (8 − 4 replicas = 4 GPUs free < 6) until the scale-down frees 2 GPUs:
/// recommendations of 2 from 30 s on (queue empty from 25 s: llm-2 and llm-3 take
/// requests 2 and 3 at 15 s, done at 25 s, then 6 and 7; llm-0, llm-1 take 4 and 5 at
/// 20 and 20.25 s), and the 15 s recommendation of 4 leaves the 300 s window at
/// 15 + 300 = 315 s: spec.replicas 4 → 2 at 315 s, llm-3 and llm-2 (newest Ready, idle)
/// deleted, the job binds at 315 s and finishes at 315 + 90 = 405 s.
#[test]
fn scale_up_preempts_the_lower_priority_job() {
    let r = run_yaml(&yaml(10, "preempt"));
    let sv = r.serving.as_ref().expect("serving record");
    assert_eq!(
        sv.replicas["llm"],
        vec![
            (SimTime::ZERO, 2),
            (SimTime::from_secs(15), 4),
            (SimTime::from_secs(315), 2)
        ]
    );
    let preempted: Vec<(u64, String)> = sv
        .events
        .iter()
        .filter(|(_, e)| matches!(e, models::platform::PlatformEvent::Preempted { .. }))
        .map(|(t, e)| (t.as_nanos() / 1_000_000_000, e.to_string()))
        .collect();
    assert_eq!(
        preempted,
        vec![(15, "job train preempted for llm replica(s)".to_string())]
    );
    assert_eq!(replica(&r, "llm-2"), vec![(Some(15.0), Some(315.0))]);
    assert_eq!(replica(&r, "llm-3"), vec![(Some(15.0), Some(315.0))]);
    let t = job(&r, "train");
    assert_eq!((secs(t.start), secs(t.end)), (Some(0.0), Some(405.0)));
    assert_eq!(t.evictions, 1);
    // One pod evicted.
    assert_eq!(r.preemptions, 1);
    let f = r.faults.as_ref().expect("fault accounting (checkpoints)");
    let train = r.jobs.iter().position(|j| j.id == "train").unwrap();
    assert_eq!(f.jobs[train].restarts, 1);
    assert_eq!(f.jobs[train].lost_ns, 5_000_000_000);
    assert_eq!(
        f.jobs[train].checkpoint,
        sim_core::SimDuration::from_secs(10)
    );
    let ends: Vec<f64> = sv
        .requests
        .iter()
        .map(|q| q.end.unwrap().as_secs_f64())
        .collect();
    assert_eq!(ends, vec![20.0, 20.25, 25.0, 25.0, 30.0, 30.25, 35.0, 35.0]);
}

/// `preempt` does not evict a job of equal priority (Kubernetes preempts only lower
/// priorities): the replicas wait as with `wait`.
#[test]
fn preempt_spares_equal_priority() {
    let r = run_yaml(&yaml(0, "preempt"));
    assert_eq!(replica(&r, "llm-2")[0].0, Some(100.0));
    let t = job(&r, "train");
    assert_eq!(secs(t.end), Some(100.0));
    assert_eq!(r.preemptions, 0);
}

/// Bad input names the file and the field; `traffic` without services is refused.
#[test]
fn bad_serving_input_is_refused_with_the_field() {
    let y = yaml(0, "wait").replace("horizon: 500s\n", "");
    let e = scenarios::build(
        "serving.yaml",
        &y,
        &scenarios::DirSource(root()),
        &checked(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("serving.yaml") && e.contains("horizon"), "{e}");
    let y = yaml(0, "sometimes");
    assert!(
        scenarios::build(
            "serving.yaml",
            &y,
            &scenarios::DirSource(root()),
            &checked()
        )
        .is_err()
    );
    let y = yaml(0, "wait").replace("service_time: 10s", "service_time: 0s");
    let e = scenarios::build(
        "serving.yaml",
        &y,
        &scenarios::DirSource(root()),
        &checked(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("services[0].service_time"), "{e}");
}

/// Services and autoscaled node pools together: the same set-up with the node in a pool
/// autoscaled in [1, 2] (2 min provisioning, 10 s scans) and a 300 s training job, `wait`.
/// The scale-up's replicas fail to schedule at 15 s; the autoscaler's next scan instant
/// after that is 20 s (scans at k × 10 s; the one at 10 s found nothing pending), where
/// llm-2 and llm-3 (1 GPU each) fit one template node of 8 GPUs: scale-up by 1 node,
/// Ready at 20 + 120 = 140 s, and both replicas bind to it then. The training job keeps
/// its node and ends at 300 s.
#[test]
fn scale_up_triggers_the_cluster_autoscaler() {
    let y = yaml(0, "wait")
        .replace(
            "gpu_model: H100}",
            "gpu_model: H100,\n       autoscale: {min: 1, max: 2, provisioning_delay: 2m}}\nautoscaler:\n  scan_interval: 10s",
        )
        .replace("duration: 100s", "duration: 300s");
    let r = run_yaml(&y);
    let a = r.autoscaler.as_ref().expect("autoscaler result");
    let acts: Vec<(u64, &str, &str)> = a
        .actions
        .iter()
        .filter(|x| x.action != "no_scale_up")
        .map(|x| {
            (
                x.time.as_nanos() / 1_000_000_000,
                x.action.as_str(),
                x.node.as_str(),
            )
        })
        .take(2)
        .collect();
    assert_eq!(
        acts,
        vec![(20, "scale_up", ""), (140, "node_ready", "n-0001")]
    );
    let sv = r.serving.as_ref().expect("serving record");
    for name in ["llm-2", "llm-3"] {
        let p = sv.pods.iter().find(|p| p.name == name).expect("replica");
        assert_eq!(secs(p.bound_at), Some(140.0), "{name}");
        assert_eq!(p.node.as_deref(), Some("n-0001"), "{name}");
        assert_eq!(p.node_accelerator.as_deref(), Some("H100"), "{name}");
    }
    let t = job(&r, "train");
    assert_eq!((secs(t.start), secs(t.end)), (Some(0.0), Some(300.0)));
}

/// Victims must free room where the replica can go: two 8-GPU nodes, `h-0000` (H100) and
/// `a-0000` (A100). Job X (7 H100s, priority 0, 100 s, no checkpoint) shares h-0000 with
/// llm-0 (bound at 0: 7 + 1 = 8); job Y (8 A100s, priority −1, 60 s) fills a-0000. The
/// service starts with 1 replica (min 1, max 2). At the 15 s sync: 1 Ready, queue 7
/// (request 0 in service since 10 s), desired ceil(7 / 1.5) = 5, clamped to max 2, within
/// the scale-up limit max(2, 5): spec 1 → 2. llm-1 (1 H100) fits nowhere. Y has the
/// lowest priority but holds only A100s, which cannot host an H100 replica, so it is
/// spared; X is evicted, and llm-1 binds on h-0000 at 15 s. Without a checkpoint X
/// restarts from zero: the 15 s it ran are lost. Y ends at 60 s as planned.
#[test]
fn preemption_spares_jobs_whose_nodes_cannot_host_the_replica() {
    let y = "name: victims
horizon: 100s
cluster:
  node_pools:
    - {name: h, count: 1, cpu_milli: 96000, memory_mib: 1048576, gpus: 8, gpu_model: H100}
    - {name: a, count: 1, cpu_milli: 96000, memory_mib: 1048576, gpus: 8, gpu_model: A100}
workload:
  jobs:
    - {id: X, submit: 0s, duration: 100s, pods: 1, gpus_per_pod: 7, gpu_models: [H100]}
    - {id: Y, submit: 0s, duration: 60s, pods: 1, gpus_per_pod: 8, gpu_models: [A100], priority: -1}
scheduler:
  policy: default
services:
  - name: llm
    accelerator: H100
    replicas: 1
    concurrency: 1
    service_time: 10s
    service_distribution: deterministic
    priority: 10
    on_no_capacity: preempt
    hpa: {metric: inference_queue_depth, target: 1.5, min_replicas: 1, max_replicas: 2}
traffic:
  - name: clients
    arrivals: deterministic
    load: [{from: 10s, rps: 4}, {from: 12s, rps: 0}]
    route: {backends: [{service: llm}]}
";
    let r = run_yaml(y);
    let sv = r.serving.as_ref().expect("serving record");
    assert_eq!(
        sv.replicas["llm"][..2],
        [(SimTime::ZERO, 1), (SimTime::from_secs(15), 2)]
    );
    let p = sv.pods.iter().find(|p| p.name == "llm-1").expect("replica");
    assert_eq!(
        (secs(p.bound_at), p.node.as_deref()),
        (Some(15.0), Some("h-0000"))
    );
    let (x, yj) = (job(&r, "X"), job(&r, "Y"));
    assert_eq!((x.evictions, yj.evictions), (1, 0));
    assert_eq!((secs(yj.start), secs(yj.end)), (Some(0.0), Some(60.0)));
    let f = r
        .faults
        .as_ref()
        .expect("preemption implies restart accounting");
    let xi = r.jobs.iter().position(|j| j.id == "X").unwrap();
    assert_eq!(
        (f.jobs[xi].restarts, f.jobs[xi].lost_ns),
        (1, 15_000_000_000)
    );
    assert_eq!(r.preemptions, 1);
}
