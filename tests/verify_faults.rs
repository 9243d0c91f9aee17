//! `orrery verify` on scenarios with faults, injected failures (`--fail-nodes`), the
//! cluster autoscaler, seeded failures and network runs.

mod common;

use common::{orrery, root, text, tmpdir};
use serde_json::Value;

fn scenario(dir: &std::path::Path, yaml: &str) -> String {
    let p = dir.join("scenario.yaml");
    std::fs::write(&p, yaml).unwrap();
    p.to_str().unwrap().to_string()
}

fn verify(name: &str, yaml: &str, args: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let d = tmpdir(name);
    let sc = scenario(&d, yaml);
    let out = d.join("v");
    let o = out.to_str().unwrap().to_string();
    let mut a: Vec<&str> = vec!["verify", &sc];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--out", &o, "--quiet"]);
    (orrery(&a, &root()), out)
}

fn report(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("verify.json")).unwrap()).unwrap()
}

/// `scenarios/bundled/verify/node-failure-2gang.yaml`: A and B (2 pods × 1 GPU) arrive at
/// 10 s on 3 nodes × 1 GPU; C runs 0–5 s.
fn spare_node() -> String {
    std::fs::read_to_string(root().join("scenarios/bundled/verify/node-failure-2gang.yaml"))
        .unwrap()
}

#[test]
fn fail_nodes_finds_the_deadlock_one_failure_causes_and_the_witness_replays() {
    // Without failures: VERIFIED (3 GPUs cannot hold two half-placed 2-pod jobs).
    let (r, dir) = verify("spare-none", &spare_node(), &["--exhaustive"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert_eq!(report(&dir)["exploration"]["deadlock"], "VERIFIED");
    // One node lost for good before A and B arrive leaves 2 GPUs: §8's deadlock.
    let (r, dir) = verify(
        "spare-fail",
        &spare_node(),
        &["--exhaustive", "--fail-nodes", "1", "--no-mitigations"],
    );
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    let v = report(&dir);
    assert_eq!(v["options"]["failures"], 1);
    let inj = &v["exploration"]["deadlock_found"]["violation"]["injected_failures"];
    assert_eq!(inj.as_array().map(Vec::len), Some(1), "{inj}");
    let md = std::fs::read_to_string(dir.join("verify.md")).unwrap();
    assert!(md.contains("node failures (at the end of every instant any one Ready node may fail, up to 1 per schedule, never repaired)"), "{md}");
    assert!(md.contains("after injected failure: node gpu-0000"), "{md}");
    // The (shrunk) witness keeps the failure budget and replays.
    let w: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("witness.json")).unwrap()).unwrap();
    assert_eq!(w["options"]["failures"], 1);
    let again = dir.parent().unwrap().join("replay");
    let r = orrery(
        &[
            "replay-witness",
            dir.join("witness.json").to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stdout).contains("Reproduced: deadlock of A, B"),
        "{}",
        text(&r.stdout)
    );
    assert_eq!(
        std::fs::read(dir.join("violation.json")).unwrap(),
        std::fs::read(again.join("violation.json")).unwrap()
    );
    // With a repair the failure only delays: VERIFIED.
    let (r, dir) = verify(
        "spare-repair",
        &spare_node(),
        &["--exhaustive", "--fail-nodes", "1", "--mttr", "10m"],
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert_eq!(report(&dir)["exploration"]["deadlock"], "VERIFIED");
    assert_eq!(report(&dir)["exploration"]["livelock"], "VERIFIED");
}

/// `docs/scenario-format.md`'s autoscaler example: one job of 2 pods × 8 GPUs on a pool
/// of one 8-GPU node (min 1, max 3, 2 min to provision). The only tie is at 130 s: the
/// added node's Ready event and the scan (scans run every 10 s while it is provisioned)
/// fall on the same instant; both orders reach the same state, so the second schedule is
/// pruned there. 2 schedules, complete: VERIFIED. States (closed instants, each distinct):
/// 0 s, the scans at 10 s … 130 s while the node is provisioned (14), the completion at
/// 3735 s (1), and the scans at 3740 s … 4340 s while the empty added node counts down its
/// 10 min unneeded time until its removal (61): 76.
#[test]
fn an_autoscaled_pool_is_verified_with_both_orders_of_its_tie() {
    let yaml = "
name: autoscaled
seed: 1
cluster:
  node_pools:
    - name: h100
      count: 1
      cpu_milli: 96000
      memory_mib: 1048576
      gpus: 8
      gpu_model: H100
      autoscale: {min: 1, max: 3, provisioning_delay: 2m}
workload:
  jobs:
    - {id: A, submit: 0s, duration: 3605s, pods: 2, gpus_per_pod: 8}
scheduler:
  policy: default
";
    let (r, dir) = verify("autoscaled", yaml, &["--exhaustive"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let v = report(&dir);
    assert_eq!(v["exploration"]["deadlock"], "VERIFIED");
    assert_eq!(v["exploration"]["livelock"], "VERIFIED");
    let c = &v["exploration"]["coverage"];
    assert_eq!(c["schedules"], 2, "{c}");
    assert_eq!(c["pruned"], 1, "{c}");
    assert_eq!(c["distinct_states"], 76, "{c}");
    let md = std::fs::read_to_string(dir.join("verify.md")).unwrap();
    assert!(md.contains("node ties (every node apart"), "{md}");
}

/// Seeded failures and network runs are explored (their state is snapshotted and
/// fingerprinted): no longer refused.
#[test]
fn seeded_failures_are_explored_not_refused() {
    // Seed 1, node_mtbf 1 h: the nodes' first failures are drawn at 5584.95 s (gpu-0000),
    // 8707.37 s (gpu-0001) and 3435.44 s (gpu-0002) (`ceil(-ln(1 - U) × 1 h)`, U the first
    // f64 of each stream), after every job is done (by 210 s, when the streams stop and
    // the pending failures are cancelled): VERIFIED, as without them.
    let seeded = format!(
        "{}faults:\n  seeded: {{node_mtbf: 1h, mttr: 10m, until: 1d}}\n",
        spare_node()
    );
    let (r, dir) = verify("seeded", &seeded, &["--exhaustive"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert_eq!(report(&dir)["exploration"]["deadlock"], "VERIFIED");
}

/// `scenarios/bundled/verify/net-rail-contention.yaml` (hand-derived in
/// `models/tests/verify_network.rs`): node ties only, 112 schedules, 93 states, VERIFIED.
#[test]
fn the_network_contention_scenario_is_verified_with_its_hand_derived_counts() {
    let sc = root().join("scenarios/bundled/verify/net-rail-contention.yaml");
    let d = tmpdir("net");
    let out = d.join("v");
    let r = orrery(
        &[
            "verify",
            sc.to_str().unwrap(),
            "--exhaustive",
            "--no-event-order",
            "--no-pod-order",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        &root(),
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let v = report(&out);
    assert_eq!(v["exploration"]["deadlock"], "VERIFIED");
    assert_eq!(v["exploration"]["livelock"], "VERIFIED");
    let c = &v["exploration"]["coverage"];
    assert_eq!(c["schedules"], 112, "{c}");
    assert_eq!(c["distinct_states"], 93, "{c}");
    assert_eq!(c["pruned"], 111, "{c}");
}

/// A deadlock on the network model (the default scheduler; W runs 10 steps of 1.5 s on
/// n0, n1, then A and B, 3 pods each, split W's two nodes on top of the two they hold:
/// deadlock at 15 s) and its witness replays through the network model.
#[test]
fn a_network_deadlock_witness_replays() {
    let yaml = "name: net-deadlock
seed: 1
cluster:
  node_pools:
    - {name: gpu, count: 4, cpu_milli: 32000, memory_mib: 262144, gpus: 1, gpu_model: H100}
workload:
  jobs:
    - {id: W, submit: 0s, duration: 10s, pods: 2, gpus_per_pod: 1}
    - {id: A, submit: 1s, duration: 2s, pods: 3, gpus_per_pod: 1}
    - {id: B, submit: 1s, duration: 2s, pods: 3, gpus_per_pod: 1}
scheduler:
  policy: default
network:
  config:
    node: {compute_nics: 1, compute_nic_gbit_s: 100}
    fabric: {nodes_per_su: 2, oversubscription: 4}
    latency: {nvlink_step: 0s, network_step: 0s}
  steps: {compute: 1s, comm_bytes: 6250000000}
";
    let (r, dir) = verify(
        "net-deadlock",
        yaml,
        &["--exhaustive", "--no-shrink", "--no-mitigations"],
    );
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    let v = report(&dir);
    let viol = &v["exploration"]["deadlock_found"]["violation"];
    assert_eq!(viol["jobs"], serde_json::json!(["A", "B"]), "{viol}");
    assert_eq!(viol["time"], 15_000_000_000u64, "{viol}");
    let again = dir.parent().unwrap().join("replay");
    let r = orrery(
        &[
            "replay-witness",
            dir.join("witness.json").to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stdout).contains("Reproduced: deadlock of A, B"),
        "{}",
        text(&r.stdout)
    );
}
