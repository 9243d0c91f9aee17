//! Node lifecycle events and faults (issue 16 items 3 and 4) in the one cluster model:
//! composition tests with hand-derived timings.

mod common;

use common::{checked, orrery, root, text, tmpdir};
use sim_core::SimTime;

const H: u64 = 3600;

/// Build and run a scenario from YAML text (invariants checked after every instant).
fn run_yaml(yaml: &str) -> (models::RunResult, String) {
    let sc = scenarios::build("test.yaml", yaml, &scenarios::DirSource(root()), &checked())
        .unwrap_or_else(|e| panic!("scenario: {e}"));
    let r = models::run(sc.cluster, sc.workload, &sc.config, None).expect("run");
    let csv = String::from_utf8(reports::jobs_csv(&r).unwrap()).unwrap();
    (r, csv)
}

fn secs(t: Option<SimTime>) -> Option<u64> {
    t.map(|t| t.as_nanos() / 1_000_000_000)
}

/// `nodes` nodes of 8 GPUs, one job `train` of 2 pods × 8 GPUs running 10 h, policy
/// `policy`, plus `extra` YAML (a `faults:` section, scheduler settings).
fn gang_scenario(nodes: u32, policy: &str, job_extra: &str, extra: &str) -> String {
    format!(
        "name: faults
cluster:
  node_pools:
    - {{name: gpu, count: {nodes}, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100}}
workload:
  jobs:
    - {{id: train, duration: 10h, pods: 2, gpus_per_pod: 8{job_extra}}}
scheduler:
  policy: {policy}
{extra}"
    )
}

const FAIL_AT_3H30_RECOVER_AT_4H: &str = "faults:
  checkpoint_restore: 10m
  events:
    - {at: 3.5h, node: gpu-0000, action: fail}
    - {at: 4h, node: gpu-0000, action: recover}
";

/// The acceptance case. 2 nodes × 8 GPUs, one 2-pod gang of 10 h with a
/// checkpoint every hour: it holds both nodes from 0. gpu-0000 fails at 3.5 h: progress
/// 3.5 h, last checkpoint at 3 h, so 0.5 h of work is lost (× 16 GPUs = 8 GPU-hours). No
/// room elsewhere: the gang waits for the recovery at 4 h, restarts there from the 3 h
/// checkpoint with a 10 min restore: 7 h + 10 min to go, so it ends at 11 h 10 min
/// (40,200 s). The same under every gang policy that restarts at once on a change.
#[test]
fn a_node_failure_restarts_a_gang_from_its_checkpoint_and_loses_the_time_since_it() {
    for policy in [
        "gang",
        "fifo",
        "backfill",
        "sjf",
        "tiresias",
        "coscheduling",
        "k8s-gang",
        "default",
    ] {
        let (r, csv) = run_yaml(&gang_scenario(
            2,
            policy,
            ", checkpoint_interval: 1h",
            FAIL_AT_3H30_RECOVER_AT_4H,
        ));
        let j = &r.jobs[0];
        assert_eq!(secs(j.start), Some(0), "{policy}: first start");
        assert_eq!(secs(j.end), Some(11 * H + 600), "{policy}: end\n{csv}");
        let f = r.faults.as_ref().expect("fault report");
        assert_eq!(f.node_failures, 1);
        assert_eq!(f.jobs[0].restarts, 1, "{policy}");
        assert_eq!(
            f.jobs[0].lost_ns,
            H / 2 * 1_000_000_000,
            "{policy}: lost work"
        );
        assert_eq!(f.jobs[0].restore_ns, 600 * 1_000_000_000);
        // lost GPU-time: 0.5 h × 16 GPUs = 8 GPU-hours.
        assert_eq!(
            f.jobs[0].lost_gpu_milli_ns,
            16_000u128 * u128::from(H / 2) * 1_000_000_000
        );
        // Waiting for a node that a pending event brings back is not a deadlock.
        assert!(r.deadlocks.is_empty(), "{policy}: {:?}", r.deadlocks);
        assert!(r.starved.is_empty(), "{policy}: {:?}", r.starved);
        // Not a preemption.
        assert_eq!(r.preemptions, 0, "{policy}");
        assert_eq!(j.evictions, 0, "{policy}");
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some(
                "id,submit_s,start_s,end_s,wait_s,jct_s,gpus,pods,nodes,outcome,restarts,lost_work_s,lost_gpu_hours,restore_s"
            )
        );
        assert_eq!(
            lines.next(),
            Some("train,0,0,40200,0,40200,16,2,2,completed,1,1800,8.000000,600"),
            "{policy}"
        );
    }
}

/// Without a checkpoint the gang restarts from zero: 3.5 h lost, restarted at 4 h with
/// the whole 10 h (and no restore: nothing to restore) → ends at 14 h.
#[test]
fn without_a_checkpoint_the_gang_restarts_from_zero() {
    let (r, _) = run_yaml(&gang_scenario(2, "gang", "", FAIL_AT_3H30_RECOVER_AT_4H));
    assert_eq!(secs(r.jobs[0].end), Some(14 * H));
    let f = &r.faults.as_ref().unwrap().jobs[0];
    assert_eq!(f.lost_ns, 3 * H * 1_000_000_000 + H / 2 * 1_000_000_000);
    assert_eq!(f.restore_ns, 0);
}

/// Room elsewhere: 3 nodes; gpu-0002 is cordoned from 0 to 1 h, so the gang goes on
/// gpu-0000 and gpu-0001 (the uncordon at 1 h leaves it running). gpu-0000 fails at 3.5 h
/// and never recovers: the gang is placed again at once on gpu-0001 and gpu-0002, 7 h +
/// 10 min to go → ends at 10 h 40 min (38,400 s); the failed node is down at the end.
#[test]
fn a_gang_is_replaced_elsewhere_when_there_is_room() {
    let faults = "faults:
  checkpoint_restore: 10m
  events:
    - {at: 0s, node: gpu-0002, action: cordon}
    - {at: 1h, node: gpu-0002, action: uncordon}
    - {at: 3.5h, node: gpu-0000, action: fail}
";
    let (r, csv) = run_yaml(&gang_scenario(
        3,
        "gang",
        ", checkpoint_interval: 1h",
        faults,
    ));
    assert_eq!(secs(r.jobs[0].end), Some(10 * H + 40 * 60), "{csv}");
    let f = r.faults.as_ref().unwrap();
    assert_eq!(f.node_failures, 1);
    assert_eq!(f.jobs[0].restarts, 1);
    assert_eq!(f.nodes_down_at_end, 1);
}

/// Volcano: the job is restarted as a whole (RestartJob); it goes back to the queue and
/// the next session (period 1 s: sessions at multiples of 1 s strictly after the change)
/// places it once the node is back: recovery at 4 h, session at 4 h + 1 s, 7 h 10 min to
/// go → 11 h 10 min 1 s.
#[test]
fn volcano_restarts_the_job_at_the_next_session() {
    let (r, _) = run_yaml(&gang_scenario(
        2,
        "volcano",
        ", checkpoint_interval: 1h",
        &format!("  volcano: {{session_period: 1s}}\n{FAIL_AT_3H30_RECOVER_AT_4H}"),
    ));
    assert_eq!(secs(r.jobs[0].end), Some(11 * H + 600 + 1));
    assert_eq!(r.faults.as_ref().unwrap().jobs[0].restarts, 1);
}

/// Kueue with waitForPodsReady: 3 nodes, gpu-0002 cordoned until 1 h so the gang holds
/// gpu-0000 and gpu-0001. gpu-0000 fails at 3.5 h: the workload is evicted and requeued
/// after the requeuing backoff (base 60 s, first requeue: 60 s × 2^0), then admitted and
/// placed at once on gpu-0001 and gpu-0002 at 3.5 h + 60 s; it restarts from the 3 h
/// checkpoint (7 h to go, no restore time) → ends at 10 h 31 min (37,860 s). Without
/// waitForPodsReady Kueue does not evict: the workload keeps its admission and its pods
/// are recreated and placed at once → 10 h 30 min.
#[test]
fn kueue_requeues_an_evicted_workload_after_the_backoff() {
    let fail = "faults:
  events:
    - {at: 0s, node: gpu-0002, action: cordon}
    - {at: 1h, node: gpu-0002, action: uncordon}
    - {at: 3.5h, node: gpu-0000, action: fail}
";
    let wfpr = "  kueue:
    wait_for_pods_ready: {enable: true, backoff_base: 60s}
";
    let (r, csv) = run_yaml(&gang_scenario(
        3,
        "kueue",
        ", checkpoint_interval: 1h",
        &format!("{wfpr}{fail}"),
    ));
    assert_eq!(secs(r.jobs[0].end), Some(10 * H + 31 * 60), "{csv}");
    assert_eq!(r.faults.as_ref().unwrap().jobs[0].restarts, 1);
    let (r, csv) = run_yaml(&gang_scenario(
        3,
        "kueue",
        ", checkpoint_interval: 1h",
        fail,
    ));
    assert_eq!(secs(r.jobs[0].end), Some(10 * H + 30 * 60), "{csv}");
}

/// The same, with gpu-0000 and gpu-0001 both failing, so the gang surely loses a pod
/// and only gpu-0002 + a recovered node can hold it: both recover at 3.5 h + 30 s (before
/// the backoff ends) → admitted and placed at 3.5 h + 60 s → 10 h 31 min. Without
/// waitForPodsReady: pods recreated at 3.5 h, placed at the recovery 3.5 h + 30 s → ends
/// at 10 h 30 min 30 s.
#[test]
fn kueue_backoff_decides_the_restart_time() {
    let fail = "faults:
  events:
    - {at: 3.5h, node: gpu-0000, action: fail}
    - {at: 3.5h, node: gpu-0001, action: fail}
    - {at: 12630s, node: gpu-0000, action: recover}
    - {at: 12630s, node: gpu-0001, action: recover}
";
    let wfpr = "  kueue:
    wait_for_pods_ready: {enable: true, backoff_base: 60s}
";
    let (r, _) = run_yaml(&gang_scenario(
        3,
        "kueue",
        ", checkpoint_interval: 1h",
        &format!("{wfpr}{fail}"),
    ));
    assert_eq!(secs(r.jobs[0].end), Some(10 * H + 31 * 60));
    assert_eq!(r.faults.as_ref().unwrap().jobs[0].restarts, 1);
    let (r, _) = run_yaml(&gang_scenario(
        3,
        "kueue",
        ", checkpoint_interval: 1h",
        fail,
    ));
    assert_eq!(secs(r.jobs[0].end), Some(10 * H + 30 * 60 + 30));
}

const ONE_NODE: &str = "name: lifecycle
cluster:
  node_pools:
    - {name: gpu, count: 1, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100}
";

/// Cordon keeps running pods and blocks new ones. One 8-GPU node: `a` (4 GPUs, 2 h) runs
/// from 0; the node is cordoned at 1 h; `b` (4 GPUs, 1 h) arrives at 1.5 h and waits
/// although 4 GPUs are free; `a` completes at 2 h as if nothing happened; uncordon at 3 h
/// → `b` runs 3 h–4 h.
#[test]
fn cordon_keeps_running_pods_and_blocks_new_ones() {
    let yaml = format!(
        "{ONE_NODE}workload:
  jobs:
    - {{id: a, duration: 2h, gpus_per_pod: 4}}
    - {{id: b, submit: 1.5h, duration: 1h, gpus_per_pod: 4}}
faults:
  events:
    - {{at: 1h, node: gpu-0000, action: cordon}}
    - {{at: 3h, node: gpu-0000, action: uncordon}}
"
    );
    let (r, csv) = run_yaml(&yaml);
    assert_eq!(secs(r.jobs[0].end), Some(2 * H), "{csv}");
    assert_eq!(secs(r.jobs[1].start), Some(3 * H), "{csv}");
    assert_eq!(secs(r.jobs[1].end), Some(4 * H), "{csv}");
    assert_eq!(r.faults.as_ref().unwrap().jobs[0].restarts, 0);
}

/// Drain evicts: `a` (4 GPUs, 2 h, no checkpoint) runs from 0; the node is drained at 1 h
/// (cordoned, `a` evicted: 1 h lost); uncordon at 2 h → `a` restarts from zero and runs
/// 2 h–4 h.
#[test]
fn drain_evicts_and_the_job_restarts_after_uncordon() {
    let yaml = format!(
        "{ONE_NODE}workload:
  jobs:
    - {{id: a, duration: 2h, gpus_per_pod: 4}}
faults:
  events:
    - {{at: 1h, node: gpu-0000, action: drain}}
    - {{at: 2h, node: gpu-0000, action: uncordon}}
"
    );
    let (r, _) = run_yaml(&yaml);
    assert_eq!(secs(r.jobs[0].end), Some(4 * H));
    let f = r.faults.as_ref().unwrap();
    assert_eq!(f.drains, 1);
    assert_eq!(f.jobs[0].restarts, 1);
    assert_eq!(f.jobs[0].lost_ns, H * 1_000_000_000);
}

const SEEDED: &str = "name: seeded
horizon: 30d
cluster:
  node_pools:
    - {name: gpu, count: 4, cpu_milli: 64000, memory_mib: 524288, gpus: 8, gpu_model: H100}
workload:
  jobs:
    - {id: a, duration: 20h, pods: 2, gpus_per_pod: 8, checkpoint_interval: 30m}
    - {id: b, duration: 20h, pods: 2, gpus_per_pod: 8}
    - {id: c, submit: 1h, duration: 5h, pods: 1, gpus_per_pod: 8}
scheduler:
  policy: gang
faults:
  checkpoint_restore: 5m
  seeded: {node_mtbf: 24h, gpu_mtbf: 400h, mttr: 2h}
";

/// Seeded failures: same seed → byte-identical outputs; the run terminates (every job
/// completes here, then the pending failures are cancelled and the run ends with the
/// work, long before the 30-day horizon).
#[test]
fn a_seeded_mtbf_run_is_deterministic_and_terminates() {
    let (r1, csv1) = run_yaml(SEEDED);
    let (r2, csv2) = run_yaml(SEEDED);
    assert_eq!(csv1, csv2);
    let s1 = reports::summary_json(&reports::summarize("s", &r1)).unwrap();
    let s2 = reports::summary_json(&reports::summarize("s", &r2)).unwrap();
    assert_eq!(s1, s2);
    assert_eq!(r1.engine_fingerprint, r2.engine_fingerprint);
    assert_eq!(r1.stop, "drained", "{csv1}");
    assert!(
        r1.jobs
            .iter()
            .all(|j| j.outcome == models::Outcome::Completed)
    );
    let last_end = r1.jobs.iter().filter_map(|j| j.end).max().unwrap();
    assert_eq!(r1.end_time, last_end, "the run ends with the work");
    // Node MTBF 24 h on 4 nodes over ~20 h of work: node failures are all but certain at
    // this seed (the 400 h GPU MTBF fails single GPUs, tests/part_faults.rs).
    let f = r1.faults.as_ref().unwrap();
    assert!(f.node_failures > 0, "{csv1}");
    let s = String::from_utf8(s1).unwrap();
    assert!(s.contains("\"faults\""), "{s}");
}

/// Scenarios without faults keep their outputs: no fault columns, no summary block.
#[test]
fn no_faults_no_fault_columns() {
    let yaml = format!(
        "{ONE_NODE}workload:
  jobs:
    - {{id: a, duration: 2h, gpus_per_pod: 4}}
"
    );
    let (r, csv) = run_yaml(&yaml);
    assert!(r.faults.is_none());
    assert_eq!(
        csv.lines().next(),
        Some("id,submit_s,start_s,end_s,wait_s,jct_s,gpus,pods,nodes,outcome")
    );
    let s = reports::summary_json(&reports::summarize("s", &r)).unwrap();
    assert!(!String::from_utf8(s).unwrap().contains("faults"));
}

/// An unknown node name is bad input naming the file and the field: exit 2.
#[test]
fn unknown_node_is_bad_input_with_the_field() {
    let d = tmpdir("faults-unknown-node");
    let yaml = format!(
        "{ONE_NODE}workload:
  jobs:
    - {{id: a, duration: 2h}}
faults:
  events:
    - {{at: 1h, node: gpu-9, action: fail}}
"
    );
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    let r = orrery(&["run", "s.yaml", "--out", "out", "--quiet"], &d);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
    let err = text(&r.stderr);
    assert!(err.contains("s.yaml"), "{err}");
    assert!(err.contains("faults.events[0].node"), "{err}");
    assert!(err.contains("gpu-9"), "{err}");
    // Seeded failures without an end are refused too.
    let yaml = format!(
        "{ONE_NODE}workload:
  jobs:
    - {{id: a, duration: 2h}}
faults:
  seeded: {{node_mtbf: 10h, mttr: 1h}}
"
    );
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    let r = orrery(&["run", "s.yaml", "--out", "out", "--quiet"], &d);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("faults.seeded.until"),
        "{}",
        text(&r.stderr)
    );
    // An MTBF of 1 ms over a year would be ~3e10 failure events: refused, not run.
    let yaml = format!(
        "{ONE_NODE}workload:
  jobs:
    - {{id: a, duration: 2h}}
faults:
  seeded: {{node_mtbf: 1ms, mttr: 1h, until: 365d}}
"
    );
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    let r = orrery(&["run", "s.yaml", "--out", "out", "--quiet"], &d);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("seeded.node_mtbf"),
        "{}",
        text(&r.stderr)
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Two failures: the restore time is served before new progress counts. 2 nodes, 10 h
/// gang, checkpoint every 1 h, restore 10 min. Fail 3.5 h (lost 0.5 h), recover 4 h,
/// restart with 7 h 10 min to go. Fail again at 5 h: 1 h ran since the restart, the first
/// 10 min restoring, so progress = 3 h + 50 min; last checkpoint 3 h, lost 50 min.
/// Recover 5.5 h, restart again with 7 h 10 min → ends 12 h 40 min (45,600 s). Lost in
/// all 30 + 50 = 80 min (4,800 s), restores 2 × 600 s, 80 min × 16 GPUs = 21.333333 GPU-h.
#[test]
fn a_second_failure_counts_progress_after_the_restore() {
    let faults = "faults:
  checkpoint_restore: 10m
  events:
    - {at: 3.5h, node: gpu-0000, action: fail}
    - {at: 4h, node: gpu-0000, action: recover}
    - {at: 5h, node: gpu-0001, action: fail}
    - {at: 5.5h, node: gpu-0001, action: recover}
";
    let (r, csv) = run_yaml(&gang_scenario(
        2,
        "gang",
        ", checkpoint_interval: 1h",
        faults,
    ));
    assert_eq!(
        csv.lines().nth(1),
        Some("train,0,0,45600,0,45600,16,2,2,completed,2,4800,21.333333,1200")
    );
    assert_eq!(r.faults.as_ref().unwrap().node_failures, 2);
}

/// On the network model the restore time comes from the storage model: each of the
/// job's 2 nodes reads `checkpoint_bytes` = 100 GB from the shared filesystem, whose
/// aggregate read bandwidth (20 GB/s) the two reads share: 10 GB/s each (the per-client
/// cap is 10 GB/s too; the storage NICs, 2 × 400 Gbit/s = 100 GB/s, do not bind), so the
/// restore takes 100 GB / 10 GB/s = 10 s, not the plain `checkpoint_restore` (10 min).
#[test]
fn on_the_network_model_the_restore_time_comes_from_storage() {
    let extra = format!(
        "network:
  config:
    storage: {{read_gbyte_s: 20, client_read_gbyte_s: 10}}
  steps: {{compute: 1s}}
{FAIL_AT_3H30_RECOVER_AT_4H}"
    );
    let (r, csv) = run_yaml(&gang_scenario(
        2,
        "gang",
        ", checkpoint_interval: 1h, checkpoint_bytes: 100000000000",
        &extra,
    ));
    let f = &r.faults.as_ref().unwrap().jobs[0];
    assert_eq!(f.restarts, 1, "{csv}");
    assert_eq!(f.restore_ns, 10 * 1_000_000_000, "{csv}");
}

/// A long repair under a Permit-timeout policy: under `k8s-gang` the pod placed on the
/// healthy node waits at Permit and is released every 5 minutes (many releases, nothing
/// running), but the pending recovery can change that, so the no-progress guard must not
/// stop the run. Recovery at 10 h, restart from the 3 h checkpoint with a 10 min restore:
/// ends at 17 h 10 min (61,800 s).
#[test]
fn a_long_repair_is_waited_for_not_called_a_livelock() {
    let faults = "faults:
  checkpoint_restore: 10m
  events:
    - {at: 3.5h, node: gpu-0000, action: fail}
    - {at: 10h, node: gpu-0000, action: recover}
";
    for policy in ["k8s-gang", "coscheduling"] {
        let (r, csv) = run_yaml(&gang_scenario(
            2,
            policy,
            ", checkpoint_interval: 1h",
            faults,
        ));
        assert_eq!(r.stop, "drained", "{policy}: {:?}", r.guard);
        assert_eq!(secs(r.jobs[0].end), Some(17 * H + 600), "{policy}: {csv}");
    }
}

/// The scenario-wide `faults.checkpoint` applies to jobs without their own (trace jobs):
/// the acceptance case with the interval given there instead → the same 11 h 10 min.
#[test]
fn the_scenario_wide_checkpoint_applies_to_jobs_without_their_own() {
    let faults = "faults:
  checkpoint: {interval: 1h}
  checkpoint_restore: 10m
  events:
    - {at: 3.5h, node: gpu-0000, action: fail}
    - {at: 4h, node: gpu-0000, action: recover}
";
    let (r, _) = run_yaml(&gang_scenario(2, "gang", "", faults));
    assert_eq!(secs(r.jobs[0].end), Some(11 * H + 600));
    assert_eq!(
        r.faults.as_ref().unwrap().jobs[0].lost_ns,
        H / 2 * 1_000_000_000
    );
}
