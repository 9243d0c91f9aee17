//! `orrery verify` on scenarios with faults, injected failures (`--fail-nodes`), the
//! cluster autoscaler, and what it refuses (seeded failures, network runs).

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

#[test]
fn seeded_failures_and_network_runs_are_refused_naming_file_and_field() {
    let seeded = format!(
        "{}faults:\n  seeded: {{node_mtbf: 1h, mttr: 10m, until: 1d}}\n",
        spare_node()
    );
    let (r, _) = verify("seeded", &seeded, &[]);
    assert_eq!(r.status.code(), Some(2));
    let e = text(&r.stderr);
    assert!(
        e.contains("scenario.yaml: faults.seeded: verify does not explore seeded"),
        "{e}"
    );
    let net = root().join("scenarios/bundled/itp-cluster04-network.yaml");
    let d = tmpdir("net");
    let r = orrery(
        &[
            "verify",
            net.to_str().unwrap(),
            "--out",
            d.join("v").to_str().unwrap(),
            "--quiet",
        ],
        &root(),
    );
    assert_eq!(r.status.code(), Some(2));
    let e = text(&r.stderr);
    assert!(
        e.contains("itp-cluster04-network.yaml: network: verify does not explore network runs"),
        "{e}"
    );
}
