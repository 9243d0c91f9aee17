//! The cluster autoscaler on the main model (issue 16): it adds nodes while gangs cannot
//! fit and removes them after the unneeded time, with every time derived by hand from the
//! semantics in `models/src/sim/autoscaler.rs` and `docs/scenario-format.md`:
//! scans at k × scan_interval (k ≥ 1, at the end of the instant, after scheduling), paused
//! while nothing is in progress and resumed at the first scan instant at or after any
//! event; a scale-up's nodes are Ready `provisioning_delay` later; a Ready empty node
//! unneeded at every scan for `scale_down_unneeded_time` is removed, never below min and
//! not within `scale_down_delay_after_add` of the last scale-up.

mod common;

use common::*;
use models::RunResult;

/// One 8-GPU pool of `count` nodes autoscaled in [min, max], 2 min provisioning, 10 s
/// scans (the other settings at their defaults unless `settings` adds some).
fn yaml(policy: &str, count: u32, min: u32, max: u32, settings: &str, jobs: &str) -> String {
    format!(
        "name: ca
cluster:
  node_pools:
    - {{name: h100, count: {count}, cpu_milli: 96000, memory_mib: 1048576, gpus: 8, gpu_model: H100,
       autoscale: {{min: {min}, max: {max}, provisioning_delay: 2m}}}}
autoscaler:
  scan_interval: 10s
{settings}
workload:
  jobs:
{jobs}
scheduler:
  policy: {policy}
"
    )
}

fn run_yaml(y: &str) -> RunResult {
    let sc = scenarios::build("ca.yaml", y, &scenarios::DirSource(root()), &checked())
        .expect("scenario builds");
    models::run(sc.cluster, sc.workload, &sc.config, None).expect("run completes")
}

/// (time s, action, pool, count, node) of every action but `no_scale_up`.
fn actions(r: &RunResult) -> Vec<(u64, String, String, u32, String)> {
    let a = r.autoscaler.as_ref().expect("autoscaler result");
    a.actions
        .iter()
        .filter(|x| x.action != "no_scale_up")
        .map(|x| {
            (
                x.time.as_nanos() / 1_000_000_000,
                x.action.clone(),
                x.pool.clone(),
                x.count,
                x.node.clone(),
            )
        })
        .collect()
}

fn act(t: u64, action: &str, count: u32, node: &str) -> (u64, String, String, u32, String) {
    (t, action.into(), "h100".into(), count, node.into())
}

/// (time s, Ready, provisioning) of the pool over time.
fn nodes(r: &RunResult) -> Vec<(u64, u32, u32)> {
    let a = r.autoscaler.as_ref().expect("autoscaler result");
    a.nodes
        .iter()
        .map(|c| (c.time.as_nanos() / 1_000_000_000, c.ready, c.provisioning))
        .collect()
}

fn secs(t: Option<sim_core::SimTime>) -> Option<u64> {
    t.map(|t| t.as_nanos() / 1_000_000_000)
}

const GPU_S: u128 = 1_000_000_000;

/// A 16-GPU gang (2 pods of 8, shaped like the ITP trace's 16-GPU jobs) submitted at 0 on
/// one 8-GPU node: it waits; the first scan (10 s) finds one pod of it the empty node can
/// take and one it cannot, and adds one node, Ready at 10 + 120 = 130 s, when the gang
/// starts. It runs 3605 s to 3735; the scan at 3740 (first scan instant after the
/// completion) finds both nodes empty, and 600 s later, at 4340, the added node
/// (h100-0001, the highest index) goes; h100-0000 stays (min 1), and the run drains then.
/// The same times under kube-scheduler pod by pod (`default`): pod 0 binds at once and
/// holds its node, pod 1 is the unschedulable one; that gang holding a node while it
/// waits for one the autoscaler will add is not a deadlock (the detector counts the nodes
/// the autoscaler can still add).
#[test]
fn autoscaler_adds_a_node_for_a_gang_and_removes_it_after_the_unneeded_time() {
    for policy in ["gang", "default"] {
        let r = run_yaml(&yaml(
            policy,
            1,
            1,
            3,
            "",
            "    - {id: gang16, submit: 0s, duration: 3605s, pods: 2, gpus_per_pod: 8}",
        ));
        let j = &r.jobs[0];
        assert_eq!(
            (secs(j.start), secs(j.end)),
            (Some(130), Some(3735)),
            "{policy}"
        );
        assert_eq!(
            actions(&r),
            vec![
                act(10, "scale_up", 1, ""),
                act(130, "node_ready", 1, "h100-0001"),
                act(4340, "scale_down", 1, "h100-0001"),
            ],
            "{policy}"
        );
        assert_eq!(
            nodes(&r),
            vec![(0, 1, 0), (10, 1, 1), (130, 2, 0), (4340, 1, 0)],
            "{policy}"
        );
        assert_eq!(r.end_time.as_nanos(), 4340 * 1_000_000_000, "{policy}");
        assert!(r.deadlocks.is_empty(), "{policy}: {:?}", r.deadlocks);
        let a = r.autoscaler.as_ref().expect("autoscaler");
        // Provisioned: h100-0000 for 0..4340 s, h100-0001 from the decision (10 s) to
        // its removal (4340 s); Ready: h100-0001 from 130 s.
        assert_eq!(
            a.provisioned_gpu_ns,
            (8 * 4340 + 8 * 4330) * GPU_S,
            "{policy}"
        );
        assert_eq!(a.ready_gpu_ns, (8 * 4340 + 8 * 4210) * GPU_S, "{policy}");
        assert_eq!(
            (
                a.scale_ups,
                a.nodes_added,
                a.nodes_removed,
                a.peak_ready_nodes
            ),
            (1, 1, 1, 2),
            "{policy}"
        );
    }
}

/// The same from the first row of the bundled ITP cluster04 trace (job c9c620ea…, submitted
/// at 5810 s, 288,476 s, 16 GPUs → 2 pods of 8) on an A100-like pool of 1 node, max 3.
/// 5810 is a scan instant: the scan after that instant's failed placement adds one node
/// (one pod fits the empty node), Ready at 5930, when the gang starts; it ends at
/// 5930 + 288476 = 294406; the scan at 294410 finds both nodes empty; the added node goes
/// at 295010.
#[test]
fn autoscaler_during_an_itp_replay() {
    let y = "name: ca-itp
cluster:
  node_pools:
    - {name: a100, count: 1, cpu_milli: 128000, memory_mib: 1048576, gpus: 8, gpu_model: A100,
       autoscale: {min: 1, max: 3, provisioning_delay: 2m}}
autoscaler: {scan_interval: 10s}
workload:
  traces:
    - {file: scenarios/traces/microsoft-itp-elasticflow/raw/cluster04.csv, format: itp, limit: 1}
scheduler: {policy: gang}
";
    let r = run_yaml(y);
    assert_eq!(r.jobs[0].id, "c9c620ea-4336-c1a9-8abe-e26bd13076b8");
    assert_eq!(
        (secs(r.jobs[0].start), secs(r.jobs[0].end)),
        (Some(5930), Some(294_406))
    );
    let pool = |t, a: &str, c, n: &str| (t, a.to_string(), "a100".to_string(), c, n.to_string());
    assert_eq!(
        actions(&r),
        vec![
            pool(5810, "scale_up", 1, ""),
            pool(5930, "node_ready", 1, "a100-0001"),
            pool(295_010, "scale_down", 1, "a100-0001"),
        ]
    );
    let a = r.autoscaler.as_ref().expect("autoscaler");
    // a100-0000 for 0..295010 s; a100-0001 provisioned from 5810, Ready from 5930.
    assert_eq!(a.provisioned_gpu_ns, 8 * (295_010 + 289_200) * GPU_S);
    assert_eq!(a.ready_gpu_ns, 8 * (295_010 + 289_080) * GPU_S);
    // 8 × 584,090 s / 3600 = 1297.977778 GPU-hours Ready, 8 × 584,210 s / 3600 =
    // 1298.244444 provisioned.
    let s = reports::summarize("ca-itp", &r);
    let cas = s.autoscaler.expect("summary block");
    assert_eq!(cas.gpu_hours_ready, 1297.977778);
    assert_eq!(cas.gpu_hours_provisioned, 1298.244444);
}

/// Nothing pending: a job that fits the present nodes never triggers a scale-up. The pool
/// starts at 2 nodes with min 1: the node the job does not use is unneeded from the first
/// scan (10 s) and removed at 610 s (no scale-up ever happened, so no delay after add);
/// when the job ends (1800 s) the last node stays: the pool is at its min.
#[test]
fn no_pending_work_never_scales_up_and_min_is_kept() {
    let r = run_yaml(&yaml(
        "gang",
        2,
        1,
        3,
        "",
        "    - {id: fits, submit: 0s, duration: 1800s, pods: 1, gpus_per_pod: 8}",
    ));
    let acts = actions(&r);
    assert_eq!(acts.len(), 1, "{acts:?}");
    assert_eq!((acts[0].0, acts[0].1.as_str()), (610, "scale_down"));
    assert_eq!(nodes(&r), vec![(0, 2, 0), (610, 1, 0)]);
    assert_eq!(secs(r.jobs[0].end), Some(1800));
    assert_eq!(r.end_time.as_nanos(), 1800 * 1_000_000_000);
    assert!(
        r.autoscaler
            .as_ref()
            .is_some_and(|a| a.actions.iter().all(|x| x.action != "no_scale_up"))
    );
}

/// Max is respected: two 16-GPU gangs at 0 on 1 node, max 2. The scan at 10 s packs A's
/// pods on the present node and one new node, and B's two pods find no room: one node
/// added (not three), B's pods reported once each at its max. A runs 130..730, B then
/// 730..1330 on the same two nodes; the scan at 1330 finds them empty and h100-0001 goes
/// at 1930 (min 1 keeps h100-0000).
#[test]
fn max_is_respected_and_the_rest_waits() {
    let r = run_yaml(&yaml(
        "gang",
        1,
        1,
        2,
        "",
        "    - {id: a, submit: 0s, duration: 600s, pods: 2, gpus_per_pod: 8}
    - {id: b, submit: 0s, duration: 600s, pods: 2, gpus_per_pod: 8}",
    ));
    assert_eq!(
        r.jobs
            .iter()
            .map(|j| (secs(j.start), secs(j.end)))
            .collect::<Vec<_>>(),
        vec![(Some(130), Some(730)), (Some(730), Some(1330))]
    );
    assert_eq!(
        actions(&r),
        vec![
            act(10, "scale_up", 1, ""),
            act(130, "node_ready", 1, "h100-0001"),
            act(1930, "scale_down", 1, "h100-0001"),
        ]
    );
    let a = r.autoscaler.as_ref().expect("autoscaler");
    let refused: Vec<(u64, &str)> = a
        .actions
        .iter()
        .filter(|x| x.action == "no_scale_up")
        .map(|x| (x.time.as_nanos() / 1_000_000_000, x.detail.as_str()))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    for (t, d) in &refused {
        assert_eq!(*t, 10);
        assert!(d.contains("is at its max size"), "{d}");
    }
    assert!(refused[0].1.starts_with("pod b/0:") && refused[1].1.starts_with("pod b/1:"));
    assert_eq!(a.peak_ready_nodes, 2);
}

/// `scale_down_delay_after_add` holds a removal back: with a 1 min unneeded time, the gang
/// of the first test run for 60 s (130..190) leaves the added node unneeded from the scan
/// at 190 s (a completion at a scan instant is seen by that instant's scan), removable at
/// 250 s, but
/// the scale-up at 10 s blocks removals until 10 + 600 = 610 s: it goes at 610.
#[test]
fn delay_after_add_holds_the_removal_back() {
    let r = run_yaml(&yaml(
        "gang",
        1,
        1,
        3,
        "  scale_down_unneeded_time: 1m",
        "    - {id: gang16, submit: 0s, duration: 60s, pods: 2, gpus_per_pod: 8}",
    ));
    assert_eq!(secs(r.jobs[0].end), Some(190));
    assert_eq!(
        actions(&r),
        vec![
            act(10, "scale_up", 1, ""),
            act(130, "node_ready", 1, "h100-0001"),
            act(610, "scale_down", 1, "h100-0001"),
        ]
    );
}

/// The CLI writes the autoscaler's files only for scenarios that autoscale, and a bad
/// `autoscale` is an input error naming the file and field (exit 2).
#[test]
fn cli_writes_autoscaler_outputs_and_rejects_bad_bounds() {
    let dir = tmpdir("autoscaler-cli");
    let y = yaml(
        "gang",
        1,
        1,
        3,
        "",
        "    - {id: gang16, submit: 0s, duration: 3605s, pods: 2, gpus_per_pod: 8}",
    );
    std::fs::write(dir.join("ca.yaml"), &y).expect("write");
    let out = orrery(&["run", "ca.yaml", "--out", "out", "--quiet"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let actions = std::fs::read_to_string(dir.join("out/autoscaler_actions.csv")).expect("csv");
    assert_eq!(
        actions,
        "time_s,action,pool,count,node,detail\n\
         10,scale_up,h100,1,,for 1 unschedulable pods\n\
         130,node_ready,h100,1,h100-0001,\n\
         4340,scale_down,h100,1,h100-0001,unneeded for 10m\n"
    );
    let nodes = std::fs::read_to_string(dir.join("out/autoscaler_nodes.csv")).expect("csv");
    assert_eq!(
        nodes,
        "time_s,pool,ready,provisioning\n0,h100,1,0\n10,h100,1,1\n130,h100,2,0\n4340,h100,1,0\n"
    );
    let summary = std::fs::read_to_string(dir.join("out/summary.json")).expect("json");
    assert!(summary.contains("\"gpu_hours_provisioned\""), "{summary}");

    let bad = y.replace("count: 1,", "count: 4,");
    std::fs::write(dir.join("bad.yaml"), bad).expect("write");
    let out = orrery(&["run", "bad.yaml", "--out", "out2", "--quiet"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.yaml") && err.contains("cluster.node_pools[0].count"),
        "{err}"
    );
}
