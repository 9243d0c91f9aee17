//! The Ray autoscaler on the main model (issue 19 item 4), against timelines derived by hand
//! from Ray's v1 autoscaler (an update at the cluster's start and every 5 s; scale-down of
//! workers idle longer than `idleTimeoutSeconds`, then scale-up for the demands no node can
//! hold, up to `maxReplicas`, at most max(5, speed × running) pending per group) and
//! KubeRay (the job is submitted once the head and its first workers run; the cluster goes
//! with the job).

use std::path::PathBuf;

use models::{RayReport, RunResult};
use scenarios::Overrides;
use sim_core::SimTime;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_file(path: &std::path::Path) -> RunResult {
    let sc = scenarios::load(path, &Overrides::default()).expect("scenario loads");
    models::run(sc.cluster, sc.workload, &sc.config, None).expect("run")
}

/// (seconds, event, node without the cluster's prefix, task) per record.
fn timeline(r: &RayReport, prefix: &str) -> Vec<(u64, String, String, Option<u32>)> {
    r.records
        .iter()
        .map(|x| {
            (
                x.time.as_nanos() / 1_000_000_000,
                x.event.to_string(),
                x.node.strip_prefix(prefix).unwrap_or(&x.node).to_string(),
                x.task,
            )
        })
        .collect()
}

fn ev(t: u64, e: &str, node: &str, task: Option<u32>) -> (u64, String, String, Option<u32>) {
    (t, e.to_string(), node.to_string(), task)
}

/// The bundled example: one GPU task at 10 s, six at 300 s, a group of 0..4 one-GPU
/// workers, idle timeout 60 s, upscaling mode Default (speed 1000).
///
/// * 0 s: the head runs; no workers to wait for, so the job is submitted; updates at
///   0, 5, 10, … s.
/// * 10 s: the task is submitted (before the update of the same instant: its event was
///   scheduled first); the head has no CPU or GPU (`num-cpus: 0`, no GPU), so the update
///   launches one worker; its pod binds at once and the task starts on it; it ends at 110 s.
/// * The worker is idle from 110 s; it goes at the first update with 110 < now − 60:
///   175 s (at 170 s, 110 < 110 does not hold).
/// * 300 s: six tasks; the update launches min(6, maxReplicas 4) workers; four tasks run
///   until 360 s, then the other two on the first two workers until 420 s.
/// * 420 s: the last task ends, so the RayJob completes and its cluster (four workers) goes.
#[test]
fn a_worker_group_scales_up_for_pending_tasks_and_down_after_the_idle_timeout() {
    let r = run_file(&root().join("examples/ray-autoscaler.yaml"));
    let ray = r.ray.as_deref().expect("a Ray report");
    let w = |k: u32| format!("gpu-group-worker-{k}");
    let mut want = vec![
        ev(0, "cluster-created", "", None),
        ev(0, "cluster-up", "", None),
        ev(0, "job-submitted", "", None),
        ev(10, "task-submitted", "", Some(0)),
        ev(10, "worker-created", &w(0), None),
        ev(10, "worker-ready", &w(0), None),
        ev(10, "task-started", &w(0), Some(0)),
        ev(110, "task-finished", &w(0), Some(0)),
        ev(175, "worker-deleted", &w(0), None),
    ];
    for t in 1..=6 {
        want.push(ev(300, "task-submitted", "", Some(t)));
    }
    for k in 0..4 {
        want.push(ev(300, "worker-created", &w(k), None));
    }
    for k in 0..4 {
        want.push(ev(300, "worker-ready", &w(k), None));
    }
    for (k, t) in (1..=4).enumerate() {
        want.push(ev(300, "task-started", &w(k as u32), Some(t)));
    }
    want.push(ev(360, "task-finished", &w(0), Some(1)));
    want.push(ev(360, "task-started", &w(0), Some(5)));
    want.push(ev(360, "task-finished", &w(1), Some(2)));
    want.push(ev(360, "task-started", &w(1), Some(6)));
    want.push(ev(360, "task-finished", &w(2), Some(3)));
    want.push(ev(360, "task-finished", &w(3), Some(4)));
    want.push(ev(420, "task-finished", &w(0), Some(5)));
    want.push(ev(420, "task-finished", &w(1), Some(6)));
    for k in 0..4 {
        want.push(ev(420, "worker-deleted", &w(k), None));
    }
    want.push(ev(420, "job-finished", "", None));
    assert_eq!(
        timeline(ray, "rayjob-autoscaling-"),
        want.iter()
            .map(|(t, e, n, k)| {
                // The head's records name the job itself.
                let n = if n.is_empty() && !e.starts_with("task-submitted") {
                    "rayjob-autoscaling".to_string()
                } else {
                    n.clone()
                };
                (*t, e.clone(), n, *k)
            })
            .collect::<Vec<_>>()
    );
    // The RayJob is one job of jobs.csv: submitted at 0, done when its last task is.
    assert_eq!(r.jobs.len(), 1, "worker slots are not jobs");
    let j = &r.jobs[0];
    assert_eq!(j.id, "rayjob-autoscaling");
    assert_eq!(
        j.end,
        Some(SimTime::ZERO + sim_core::SimDuration::from_secs(420))
    );
}

/// Files held in memory (the scenario and its manifest).
struct Mem(Vec<(&'static str, String)>);

impl scenarios::scenario::FileSource for Mem {
    fn read(&self, name: &str) -> Result<(String, String), scenarios::ScenarioError> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| (n.to_string(), t.clone()))
            .ok_or_else(|| scenarios::ScenarioError::Read {
                path: name.into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not in memory"),
            })
    }
}

/// A RayCluster of `group` (its worker group's YAML) with `mode` and the tasks
/// `tasks`, on three nodes of 4 GPUs.
fn cluster_run(mode: &str, tasks: &str) -> Result<RunResult, String> {
    let manifest = format!(
        "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata:\n  name: rc\n  annotations:\n    orrery.dev/ray-tasks: '{tasks}'\nspec:\n  enableInTreeAutoscaling: true\n  autoscalerOptions: {{upscalingMode: {mode}, idleTimeoutSeconds: 30}}\n  headGroupSpec:\n    rayStartParams: {{num-cpus: '0'}}\n    template:\n      spec:\n        containers: [{{name: h, image: i, resources: {{requests: {{cpu: '1'}}}}}}]\n  workerGroupSpecs:\n  - groupName: g\n    minReplicas: 1\n    maxReplicas: 12\n    replicas: 1\n    template:\n      spec:\n        containers: [{{name: w, image: i, resources: {{limits: {{cpu: '2', nvidia.com/gpu: 1}}}}}}]\n"
    );
    let scenario = "name: t\nhorizon: 10m\ncluster:\n  node_pools:\n    - {name: n, count: 3, cpu_milli: 64000, memory_mib: 262144, gpus: 4, gpu_model: A100}\nworkload:\n  manifests:\n    - file: rc.yaml\n";
    let files = Mem(vec![("rc.yaml", manifest)]);
    let sc = scenarios::scenario::build("t.yaml", scenario, &files, &Overrides::default())
        .map_err(|e| e.to_string())?;
    models::run(sc.cluster, sc.workload, &sc.config, None).map_err(|e| e.to_string())
}

/// Workers created per update time.
fn created(r: &RunResult) -> Vec<(u64, usize)> {
    let mut out: Vec<(u64, usize)> = Vec::new();
    for x in &r.ray.as_deref().expect("a Ray report").records {
        if x.event == "worker-created" {
            let t = x.time.as_nanos() / 1_000_000_000;
            match out.last_mut() {
                Some((lt, n)) if *lt == t => *n += 1,
                _ => out.push((t, 1)),
            }
        }
    }
    out
}

/// `Conservative` (speed 1) lets max(5, ⌊1 × max(running, 1)⌋) workers of a group be pending:
/// 12 one-GPU tasks need 11 workers beyond the one created with the cluster (the minimum).
/// The tasks are submitted at 0 s, after the update of 0 s (whose event came first); at
/// 5 s one worker runs: 5 launched (they run at once); at 10 s six run: 6 more would be
/// allowed, 6 are needed. `Default` (speed 1000) launches all 11 at 5 s.
#[test]
fn the_upscaling_mode_limits_how_many_workers_start_at_once() {
    let tasks = "[{count: 12, num_gpus: 1, duration: 100s}]";
    let slow = cluster_run("Conservative", tasks).expect("runs");
    assert_eq!(created(&slow), vec![(0, 1), (5, 5), (10, 6)]);
    let fast = cluster_run("Default", tasks).expect("runs");
    assert_eq!(created(&fast), vec![(0, 1), (5, 11)]);
    // The first worker took task 0 at 0 s (it runs from the start): idle from 100 s, it
    // goes at 135 s, the first update with 100 < now − 30, though it is the minimum's
    // (minReplicas 1): the minimum keeps the most recently used worker, and at 135 s the
    // busy ones are (a busy worker's last use is now). The five tasks started at 5 s end
    // at 105 s: their workers go at 140 s. The six started at 10 s end at 110 s: five of
    // their workers go at 145 s, the first of them stays for the minimum.
    let deleted: Vec<u64> = slow
        .ray
        .as_deref()
        .expect("report")
        .records
        .iter()
        .filter(|x| x.event == "worker-deleted")
        .map(|x| x.time.as_nanos() / 1_000_000_000)
        .collect();
    assert_eq!(
        deleted,
        vec![135, 140, 140, 140, 140, 140, 145, 145, 145, 145, 145]
    );
}

/// Bad input is refused at load with the field named.
#[test]
fn tasks_no_worker_can_hold_and_unbounded_groups_are_refused() {
    let e =
        cluster_run("Default", "[{count: 1, num_gpus: 2, duration: 10s}]").expect_err("refused");
    assert!(e.contains("task group 0 needs"), "{e}");
    let e = cluster_run("Sometimes", "[{count: 1, duration: 10s}]").expect_err("refused");
    assert!(e.contains("spec.autoscalerOptions.upscalingMode: \"Sometimes\", expected Default, Conservative or Aggressive"), "{e}");
    let e = cluster_run("Default", "[{count: 0, duration: 10s}]").expect_err("refused");
    assert!(
        e.contains("orrery.dev/ray-tasks[0].count: must be at least 1"),
        "{e}"
    );
}
