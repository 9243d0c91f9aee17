//! Faults smaller than a node (issue 16 item 4): single-GPU failures and link failures in
//! the network model, with hand-derived timings.

mod common;

use common::{checked, root};
use sim_core::SimTime;

const H: u64 = 3600;
const NS: u64 = 1_000_000_000;

fn build(yaml: &str) -> Result<scenarios::Scenario, String> {
    scenarios::build("test.yaml", yaml, &scenarios::DirSource(root()), &checked())
        .map_err(|e| e.to_string())
}

/// Build and run a scenario from YAML text (invariants checked after every instant).
fn run_yaml(yaml: &str) -> (models::RunResult, String) {
    let sc = build(yaml).unwrap_or_else(|e| panic!("scenario: {e}"));
    let r = models::run(sc.cluster, sc.workload, &sc.config, None).expect("run");
    let csv = String::from_utf8(reports::jobs_csv(&r).unwrap()).unwrap();
    (r, csv)
}

fn secs(t: Option<SimTime>) -> Option<u64> {
    t.map(|t| t.as_nanos() / NS)
}

/// One node of 8 GPUs; job `a` (4 GPUs, 10 h, a checkpoint every hour) and job `b`
/// (4 GPUs, 10 h) both start at 0: `a` on GPUs 0-3 (the lowest-numbered idle GPUs), `b`
/// on GPUs 4-7.
fn one_node(policy: &str, events: &str) -> String {
    format!(
        "name: gpu-fault
cluster:
  node_pools:
    - {{name: gpu, count: 1, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100}}
workload:
  jobs:
    - {{id: a, duration: 10h, pods: 1, gpus_per_pod: 4, checkpoint_interval: 1h}}
    - {{id: b, duration: 10h, pods: 1, gpus_per_pod: 4}}
scheduler:
  policy: {policy}
faults:
  checkpoint_restore: 10m
  events:
{events}"
    )
}

/// GPU 1 (one of `a`'s) fails at 3.5 h: `a` loses its pod and restarts from its 3 h
/// checkpoint (0.5 h lost, 4 GPUs × 0.5 h = 2 GPU-hours); `b` runs on undisturbed and ends
/// at 10 h. Only 3 healthy GPUs are free (0, 2, 3), `a` needs 4: it waits. GPU 1 recovers
/// at 5 h: `a` is placed again at once (GPUs 0-3) with 7 h + 10 min restore to go → ends at
/// 12 h 10 min (43,800 s). The node stays Ready throughout: no node failure.
#[test]
fn a_gpu_failure_restarts_only_the_job_on_that_gpu() {
    let events = "    - {at: 3.5h, node: gpu-0000, gpu: 1, action: fail}
    - {at: 5h, node: gpu-0000, gpu: 1, action: recover}
";
    for policy in ["gang", "default", "coscheduling"] {
        let (r, csv) = run_yaml(&one_node(policy, events));
        assert_eq!(secs(r.jobs[0].start), Some(0), "{policy}");
        assert_eq!(
            secs(r.jobs[0].end),
            Some(12 * H + 600),
            "{policy}: a\n{csv}"
        );
        assert_eq!(secs(r.jobs[1].end), Some(10 * H), "{policy}: b\n{csv}");
        let f = r.faults.as_ref().expect("fault report");
        assert_eq!(f.gpu_failures, 1);
        assert_eq!(f.node_failures, 0);
        assert_eq!(f.nodes_down_at_end, 0);
        assert_eq!(f.jobs[0].restarts, 1, "{policy}");
        assert_eq!(f.jobs[0].lost_ns, H / 2 * NS, "{policy}");
        assert_eq!(
            f.jobs[0].lost_gpu_milli_ns,
            4_000u128 * u128::from(H / 2 * NS)
        );
        assert_eq!(f.jobs[0].restore_ns, 600 * NS);
        assert_eq!(f.jobs[1].restarts, 0, "{policy}: b undisturbed");
        assert!(r.deadlocks.is_empty(), "{policy}: {:?}", r.deadlocks);
        assert_eq!(r.preemptions, 0);
        assert_eq!(
            csv.lines().nth(1),
            Some("a,0,0,43800,0,43800,4,1,1,completed,1,1800,2.000000,600"),
            "{policy}"
        );
    }
}

/// Without the recovery, `a` (4 GPUs) waits for `b` to end at 10 h: then GPUs 0, 2, 3
/// and 4 are idle (1 stays failed) and `a` runs its 7 h + 10 min → ends at 17 h 10 min
/// (61,800 s). Waiting for `b` is not a deadlock (`b` runs).
#[test]
fn a_job_waits_for_healthy_gpus_when_one_stays_failed() {
    let events = "    - {at: 3.5h, node: gpu-0000, gpu: 1, action: fail}\n";
    let (r, csv) = run_yaml(&one_node("gang", events));
    assert_eq!(secs(r.jobs[1].end), Some(10 * H), "{csv}");
    assert_eq!(secs(r.jobs[0].end), Some(17 * H + 600), "{csv}");
    assert!(r.deadlocks.is_empty(), "{:?}", r.deadlocks);
    // The node is Ready at the end (a failed GPU is not a failed node).
    assert_eq!(r.faults.as_ref().unwrap().nodes_down_at_end, 0);
}

/// A failed GPU that never recovers leaves a node too small for an 8-GPU job: the job
/// waits and the run says why instead of running for ever.
#[test]
fn a_job_that_no_longer_fits_is_explained() {
    let yaml = "name: too-small
cluster:
  node_pools:
    - {name: gpu, count: 1, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100}
workload:
  jobs:
    - {id: a, submit: 1h, duration: 1h, pods: 1, gpus_per_pod: 8}
scheduler:
  policy: gang
faults:
  events:
    - {at: 0s, node: gpu-0000, gpu: 7, action: fail}
";
    let (r, _) = run_yaml(yaml);
    assert_eq!(r.jobs[0].outcome, models::Outcome::Pending);
    let why = r.jobs[0].reason.as_deref().unwrap_or("");
    assert!(why.contains("1 GPUs were failed"), "{why}");
}

/// Seeded GPU failures fail single GPUs: with only `gpu_mtbf` no node ever fails, and
/// the same seed gives the same run.
#[test]
fn seeded_gpu_mtbf_fails_single_gpus_deterministically() {
    let yaml = "name: seeded-gpu
horizon: 30d
cluster:
  node_pools:
    - {name: gpu, count: 4, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100}
workload:
  jobs:
    - {id: a, duration: 20h, pods: 2, gpus_per_pod: 8, checkpoint_interval: 30m}
    - {id: b, duration: 20h, pods: 2, gpus_per_pod: 8}
scheduler:
  policy: gang
faults:
  checkpoint_restore: 5m
  seeded: {gpu_mtbf: 100h, mttr: 2h}
";
    let (r1, csv1) = run_yaml(yaml);
    let (r2, csv2) = run_yaml(yaml);
    assert_eq!(csv1, csv2);
    assert_eq!(r1.engine_fingerprint, r2.engine_fingerprint);
    let f = r1.faults.as_ref().unwrap();
    assert_eq!(f.node_failures, 0, "{csv1}");
    // 32 GPUs at a 100 h MTBF: one failure every ~3 h over ~20 h of work.
    assert!(f.gpu_failures > 0, "{csv1}");
    assert_eq!(r1.stop, "drained");
    assert!(
        r1.jobs
            .iter()
            .all(|j| j.outcome == models::Outcome::Completed)
    );
}

#[test]
fn bad_gpu_and_link_events_name_the_field() {
    let bad_gpu = one_node(
        "gang",
        "    - {at: 1h, node: gpu-0000, gpu: 8, action: fail}\n",
    );
    let e = build(&bad_gpu).unwrap_err();
    assert!(e.contains("faults.events[0].gpu"), "{e}");
    let cordon = one_node(
        "gang",
        "    - {at: 1h, node: gpu-0000, gpu: 2, action: cordon}\n",
    );
    let e = build(&cordon).unwrap_err();
    assert!(e.contains("faults.events[0].action"), "{e}");
    let bad_link = one_node("gang", "    - {at: 1h, link: spine-3, action: fail}\n");
    let e = build(&bad_link).unwrap_err();
    assert!(e.contains("faults.events[0].link"), "{e}");
    // A link event without the network model.
    let no_net = one_node(
        "gang",
        "    - {at: 1h, link: leaf-0/spine-0, action: fail}\n",
    );
    let sc = build(&no_net).unwrap();
    let e = models::run(sc.cluster, sc.workload, &sc.config, None).unwrap_err();
    assert!(e.to_string().contains("events[0].link"), "{e}");
}

/// Two nodes of one GPU, each its own scalable unit (so its own leaf): one job of 2 pods
/// × 1 GPU, 100 s of compute in 1 s steps, an all-reduce of S = 3.125 GB per step with
/// no overlap and no latency. Across 2 nodes the ring moves S each way, through node 0's
/// NIC (12.5 GB/s), leaf 0's uplink bundle, leaf 1's bundle, node 1's NIC. The bundles are
/// 12.5 / 4 (oversubscription) = 3.125 GB/s, made of 2 spine uplinks of 1.5625 GB/s:
/// comm = 1 s, a step takes 2 s, the job 100 steps = 200 s.
fn two_leaves(events: &str) -> String {
    format!(
        "name: link-fault
cluster:
  node_pools:
    - {{name: gpu, count: 2, cpu_milli: 64000, memory_mib: 524288, gpus: 1, gpu_model: H100}}
workload:
  jobs:
    - {{id: train, duration: 100s, pods: 2, gpus_per_pod: 1}}
scheduler:
  policy: gang
network:
  config:
    node: {{compute_nics: 1, compute_nic_gbit_s: 100}}
    fabric: {{nodes_per_su: 1, oversubscription: 4, spine_uplinks: 2}}
    latency: {{nvlink_step: 0s, network_step: 0s}}
  steps: {{compute: 1s, comm_bytes: 3125000000}}
{events}"
    )
}

#[test]
fn without_link_faults_the_step_takes_two_seconds() {
    let (r, csv) = run_yaml(&two_leaves(""));
    assert_eq!(secs(r.jobs[0].end), Some(200), "{csv}");
}

/// One of leaf 0's two spine uplinks fails at 50 s (25 steps done): the traffic re-routes
/// over the other one, the bundle has 1.5625 GB/s, comm takes 2 s, a step 3 s (×1.5). It
/// recovers at 110 s: 20 more steps (60 s / 3 s), 55 left at 2 s → ends at 220 s.
/// Without the recovery: 50 s + 75 × 3 s = 275 s.
#[test]
fn a_failed_spine_uplink_slows_the_step_by_the_lost_share() {
    let (r, csv) = run_yaml(&two_leaves(
        "faults:
  events:
    - {at: 50s, link: leaf-0/spine-1, action: fail}
    - {at: 110s, link: leaf-0/spine-1, action: recover}
",
    ));
    assert_eq!(secs(r.jobs[0].end), Some(220), "{csv}");
    let f = r.faults.as_ref().unwrap();
    assert_eq!(f.link_failures, 1);
    assert_eq!(f.jobs[0].restarts, 0, "re-routed, not restarted");
    let (r, csv) = run_yaml(&two_leaves(
        "faults:
  events:
    - {at: 50s, link: leaf-0/spine-1, action: fail}
",
    ));
    assert_eq!(secs(r.jobs[0].end), Some(275), "{csv}");
}

/// Node 1's only compute NIC fails at 50 s: the ring has no path left, the job stalls
/// (25 steps done) until the NIC recovers at 80 s, then runs its 75 steps at 2 s → ends
/// at 80 + 150 = 230 s. Both uplinks of leaf 1 down from 50 s to 80 s: the same.
#[test]
fn a_flow_with_no_path_left_stalls_until_the_link_recovers() {
    for (fail, recover) in [
        (
            "{at: 50s, node: gpu-0001, link: nic-0, action: fail}",
            "{at: 80s, node: gpu-0001, link: nic-0, action: recover}",
        ),
        (
            "{at: 50s, link: leaf-1/spine-0, action: fail}\n    - {at: 50s, link: leaf-1/spine-1, action: fail}",
            "{at: 80s, link: leaf-1/spine-0, action: recover}\n    - {at: 80s, link: leaf-1/spine-1, action: recover}",
        ),
    ] {
        let (r, csv) = run_yaml(&two_leaves(&format!(
            "faults:\n  events:\n    - {fail}\n    - {recover}\n"
        )));
        assert_eq!(secs(r.jobs[0].end), Some(230), "{fail}\n{csv}");
        assert_eq!(r.faults.as_ref().unwrap().jobs[0].restarts, 0);
    }
}

/// A NIC that never recovers: the job stalls at 50 s for good; the run ends (nothing is
/// left to happen) with the job still running and its reason saying why.
#[test]
fn a_job_stalled_for_good_is_explained() {
    let (r, csv) = run_yaml(&two_leaves(
        "faults:
  events:
    - {at: 50s, node: gpu-0000, link: nic-0, action: fail}
",
    ));
    assert_eq!(r.jobs[0].outcome, models::Outcome::Running, "{csv}");
    assert_eq!(r.stop, "drained");
    let why = r.jobs[0].reason.as_deref().unwrap_or("");
    assert!(why.contains("stalled"), "{why}");
}

fn hash_of<T: std::hash::Hash>(x: &T) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// The cluster state's bookkeeping of a failed GPU: 2 nodes of 4 GPUs (8 idle). GPU 2 of
/// node 0 fails: 7 idle GPUs, node 0 has 3 (a 4-GPU pod no longer fits there, nor
/// anywhere else but node 1), nothing counts as allocated, and the state (which the
/// verifier's fingerprint hashes) differs; after the recovery it is equal to, and hashes
/// like, the state before. An empty failed-GPU mask hashes nothing (fingerprints of runs
/// without GPU faults are unchanged).
#[test]
fn a_failed_gpu_is_neither_idle_nor_allocated_and_is_part_of_the_state() {
    use models::state::{ClusterState, FailedGpus};
    let node = |name: &str| models::cluster::NodeSpec {
        taints: Vec::new(),
        name: name.into(),
        pool: "p".into(),
        cpu_milli: 8000,
        memory_mib: 1024,
        gpus: 4,
        gpu_model: Some("H100".into()),
        gpu_memory_mib: 0,
        rack: 0,
        labels: Default::default(),
    };
    let spec = models::ClusterSpec {
        nodes: vec![node("a"), node("b")],
    };
    let mut cs = ClusterState::new(&spec);
    let before = cs.clone();
    assert_eq!(cs.idle_gpus(), 8);
    assert_eq!(cs.fail_gpu(0, 2), Ok(true));
    assert_eq!(cs.fail_gpu(0, 2), Ok(false), "already failed");
    assert_eq!(cs.idle_gpus(), 7);
    assert_eq!(cs.nodes[0].idle_gpus, 3);
    assert_eq!(cs.gpu_milli_allocated, 0);
    assert_eq!(cs.nodes[0].gpu_used_milli, 0);
    cs.check_invariants(&spec).unwrap();
    let four = models::PodRequest::gpus(4);
    assert!(cs.nodes[0].fits(&spec.nodes[0], &four).is_err());
    assert!(cs.nodes[1].fits(&spec.nodes[1], &four).is_ok());
    // The lowest idle GPUs for 3 whole GPUs skip the failed one.
    assert_eq!(
        cs.nodes[0].pick_gpus(models::GpuRequest::Whole(3)),
        Some(vec![0, 1, 3])
    );
    assert_ne!(cs, before);
    assert_ne!(hash_of(&cs), hash_of(&before));
    assert!(cs.recover_gpu(0, 2));
    assert!(!cs.recover_gpu(0, 2), "not failed any more");
    assert_eq!(cs, before);
    assert_eq!(hash_of(&cs), hash_of(&before));
    cs.check_invariants(&spec).unwrap();
    // A GPU holding a pod cannot be marked failed before the pod is released.
    cs.bind(0, &models::PodRequest::gpus(1), &[0]);
    assert!(cs.fail_gpu(0, 0).is_err());
    let empty = hash_of(&());
    assert_eq!(hash_of(&(FailedGpus::default(), ())), empty);
}

/// With DRA, GPU faults are refused (the DRA allocator would still hand out the failed
/// device), naming the field: a listed GPU event and a seeded `gpu_mtbf`.
#[test]
fn gpu_faults_are_refused_with_dra() {
    let with_dra = |faults: &str| {
        format!(
            "name: dra-gpu-fault
horizon: 30d
cluster:
  node_pools:
    - {{name: gpu, count: 1, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100}}
dra: {{mode: generated}}
workload:
  jobs:
    - {{id: a, duration: 1h, pods: 1, gpus_per_pod: 4}}
faults:
{faults}"
        )
    };
    for (faults, field) in [
        (
            "  events:\n    - {at: 1h, node: gpu-0000, gpu: 1, action: fail}\n",
            "events[0].gpu",
        ),
        ("  seeded: {gpu_mtbf: 100h, mttr: 1h}\n", "seeded.gpu_mtbf"),
    ] {
        let e = match build(&with_dra(faults)) {
            Err(e) => e,
            Ok(sc) => models::run(sc.cluster, sc.workload, &sc.config, None)
                .unwrap_err()
                .to_string(),
        };
        assert!(e.contains(field) && e.contains("DRA"), "{e}");
    }
}
