//! DRA in runs: the DynamicResources plugin composes with every policy and, where the
//! requests are equivalent, allocates exactly as plain GPU counts do (issue 6, acceptance
//! 3); manifests-mode runs with hand-derived outcomes; bad `dra:` input gets clear errors.

mod common;

use common::*;
use models::{PolicyKind, RunResult};
use scenarios::dra::{DraDef, DraMode};
use scenarios::{DirSource, Overrides};

/// Load a bundled scenario, optionally with `dra: {mode: generated}`, and maybe limit its
/// traces to their first `limit` jobs.
fn load(name: &str, dra: bool, limit: Option<usize>, ov: &Overrides) -> scenarios::Scenario {
    let path = bundled(name);
    let yaml = std::fs::read_to_string(&path).expect("read scenario");
    let display = path.display().to_string();
    let mut f = scenarios::parse(&display, &yaml).expect("parse");
    if dra {
        f.dra = Some(DraDef {
            mode: Some(DraMode::Generated),
            ..DraDef::default()
        });
    }
    if let Some(n) = limit {
        for t in &mut f.workload.traces {
            t.limit = Some(n);
        }
    }
    let base = path.parent().expect("folder").to_path_buf();
    scenarios::build_parsed(&display, f, &DirSource(base), ov).expect("build")
}

fn run(sc: &scenarios::Scenario) -> RunResult {
    let mut config = sc.config.clone();
    config.check_invariants = true;
    models::run(sc.cluster.clone(), sc.workload.clone(), &config, None).expect("run completes")
}

fn jobs_csv(r: &RunResult) -> Vec<u8> {
    reports::jobs_csv(r).expect("jobs.csv")
}

/// Acceptance 3: the full openb pod list (8,152 pods, 1,213 nodes, GPU shares and GPU-model
/// constraints) through DRA with generated ResourceSlices gives byte-identical jobs.csv
/// and the same choices as plain GPU counts.
#[test]
fn openb_through_dra_matches_plain_gpu_counts() {
    let ov = checked();
    let plain = run(&load("openb-default.yaml", false, None, &ov));
    let dra = run(&load("openb-default.yaml", true, None, &ov));
    assert_eq!(plain.jobs.len(), 8_152);
    assert!(jobs_csv(&plain) == jobs_csv(&dra), "jobs.csv differs");
    assert_eq!(plain.choices_fingerprint, dra.choices_fingerprint);
    assert_eq!(plain.events, dra.events);
}

/// The ITP cluster04 trace (first 3,000 jobs, gang policy as bundled, 1-64 GPUs split into
/// pods of at most 8) through DRA gives byte-identical jobs.csv.
#[test]
fn itp_cluster04_through_dra_matches_plain_gpu_counts() {
    let ov = checked();
    let plain = run(&load("itp-cluster04.yaml", false, Some(3_000), &ov));
    let dra = run(&load("itp-cluster04.yaml", true, Some(3_000), &ov));
    assert_eq!(plain.jobs.len(), 3_000);
    assert!(jobs_csv(&plain) == jobs_csv(&dra), "jobs.csv differs");
    assert_eq!(plain.choices_fingerprint, dra.choices_fingerprint);
}

/// Filter/Reserve/Unreserve compose with every policy: Permit waits and gang rollbacks
/// (coscheduling, k8s-gang), quota admission (kueue), sessions (volcano), backfill,
/// preemption (tiresias). Same results as plain counts for each, with the invariants
/// checked at every event.
#[test]
fn every_policy_gives_the_same_results_through_dra() {
    // The elastic policies resize training jobs only (DRA with them is refused).
    for policy in PolicyKind::any_workload() {
        let ov = Overrides {
            policy: Some(policy),
            ..checked()
        };
        let plain = run(&load("default.yaml", false, Some(300), &ov));
        let dra = run(&load("default.yaml", true, Some(300), &ov));
        assert!(
            jobs_csv(&plain) == jobs_csv(&dra),
            "{}: jobs.csv differs",
            policy.name()
        );
        assert_eq!(
            plain.choices_fingerprint,
            dra.choices_fingerprint,
            "{}",
            policy.name()
        );
    }
}

/// The gang-deadlock scenario (pods holding GPUs while siblings wait) under the policies
/// that reject and retry gangs, through DRA: same outcome as plain counts.
#[test]
fn gang_rollbacks_release_claims() {
    for policy in [
        PolicyKind::Default,
        PolicyKind::Coscheduling,
        PolicyKind::K8sGang,
        PolicyKind::Kueue,
    ] {
        let ov = Overrides {
            policy: Some(policy),
            ..checked()
        };
        let plain = run(&load("gang-deadlock.yaml", false, None, &ov));
        let dra = run(&load("gang-deadlock.yaml", true, None, &ov));
        assert!(
            jobs_csv(&plain) == jobs_csv(&dra),
            "{}: jobs.csv differs",
            policy.name()
        );
    }
}

/// Manifests mode, outcomes derived by hand in the scenario's header: a claim for all 8
/// GPUs consumes every GPU's shared counters, so 1g.10gb MIG claims wait for it; then 56
/// MIG claims (7 per GPU) fit at once.
#[test]
fn manifests_mode_allocates_whole_gpus_and_mig_slices() {
    let path = root().join("scenarios/dra/h100-mig-run.yaml");
    let sc = scenarios::load(&path, &checked()).expect("scenario loads");
    assert_eq!(sc.cluster.nodes.len(), 1);
    assert_eq!(sc.cluster.nodes[0].name, "h100-0");
    assert_eq!(sc.cluster.nodes[0].cpu_milli, 192_000);
    let r = run(&sc);
    let times = |id: &str| {
        let j = r.jobs.iter().find(|j| j.id == id).expect("job");
        (
            j.start.map(|t| t.as_nanos() / 1_000_000_000),
            j.end.map(|t| t.as_nanos() / 1_000_000_000),
        )
    };
    assert_eq!(times("whole"), (Some(0), Some(100)));
    assert_eq!(times("mig-a"), (Some(100), Some(150)));
    assert_eq!(times("mig-b"), (Some(200), Some(210)));
}

/// Issue 14 item 13: a DeviceTaintRule in a run's manifests was refused (and, before that,
/// skipped without effect); it is applied. scenarios/tests/dra/taint-rule.yaml: node-a's 3
/// GPUs are tainted NoSchedule by the rule, node-b has 1 GPU. Four 1-GPU jobs of 10s, all
/// submitted at 0: claims that do not tolerate the taint only fit node-b's GPU, so the jobs
/// run one after another (starts 0, 10, 20, 30 s); claims that tolerate it use all four GPUs
/// (every job starts at 0). Ignoring the rule would start all four at 0 in both runs.
fn taint_rule_run(template: &str) -> Vec<Option<u64>> {
    let d = tmpdir(&format!("dra-taint-rule-{template}"));
    let m = d.join("m");
    std::fs::create_dir_all(&m).expect("mkdir");
    std::fs::copy(
        root().join("scenarios/tests/dra/taint-rule.yaml"),
        m.join("taint-rule.yaml"),
    )
    .expect("copy");
    let path = d.join("s.yaml");
    write(
        &d,
        "s.yaml",
        &format!(
            "cluster: {{}}
dra:
  manifests: [m]
  claim_templates: {{\"1\": {template}}}
workload:
  jobs:
    - {{id: a, duration: 10s}}
    - {{id: b, duration: 10s}}
    - {{id: c, duration: 10s}}
    - {{id: d, duration: 10s}}
"
        ),
    );
    let sc = scenarios::load(&path, &checked()).expect("scenario loads");
    assert_eq!(sc.cluster.nodes.len(), 2);
    let r = run(&sc);
    let mut starts: Vec<Option<u64>> = r
        .jobs
        .iter()
        .map(|j| j.start.map(|t| t.as_nanos() / 1_000_000_000))
        .collect();
    starts.sort();
    starts
}

#[test]
fn dra_taint_rule_keeps_claims_that_do_not_tolerate_it_off_the_tainted_gpus() {
    assert_eq!(
        taint_rule_run("one-gpu"),
        [Some(0), Some(10), Some(20), Some(30)]
    );
}

#[test]
fn dra_taint_rule_lets_tolerating_claims_use_the_tainted_gpus() {
    assert_eq!(
        taint_rule_run("one-gpu-tolerant"),
        [Some(0), Some(0), Some(0), Some(0)]
    );
}

fn write(d: &std::path::Path, name: &str, text: &str) {
    std::fs::write(d.join(name), text).expect("write");
}

const TEMPLATE_SCENARIO: &str = "cluster: {}
dra:
  manifests: [m]
  claim_templates: {\"1\": one-gpu}
workload:
  jobs:
    - {id: a, duration: 10s}
";

/// Bad `dra:` input: exit code 2 and a message naming the file and the field or object.
#[test]
fn bad_dra_input_gets_clear_errors_and_exit_code_2() {
    let src = root().join("scenarios/dra");
    let d = tmpdir("dra-bad");
    let m = d.join("m");
    std::fs::create_dir_all(&m).expect("mkdir");
    for f in ["nvidia-deviceclasses.yaml", "h100-node.yaml"] {
        std::fs::copy(src.join(f), m.join(f)).expect("copy");
    }
    std::fs::copy(src.join("run/node.yaml"), m.join("node.yaml")).expect("copy");
    let check = |scenario: &str, needles: &[&str]| {
        write(&d, "s.yaml", scenario);
        let out = orrery(&["run", "s.yaml", "--out", "out", "--quiet"], &d);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{scenario}\n{err}");
        for n in needles {
            assert!(err.contains(n), "expected {n:?} in: {err}");
        }
        assert!(!d.join("out/jobs.csv").exists(), "no results on bad input");
    };
    // Missing folder.
    check(
        "cluster: {}\ndra: {manifests: nowhere}\nworkload: {jobs: [{id: a, duration: 1s}]}\n",
        &["s.yaml", "dra.manifests[0]", "nowhere", "does not exist"],
    );
    // A template the manifests do not hold.
    check(
        TEMPLATE_SCENARIO,
        &[
            "dra.claim_templates.1",
            "default/one-gpu",
            "not in the manifests",
        ],
    );
    // A pod GPU count with no template.
    write(
        &m,
        "t.yaml",
        "apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: one-gpu}
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly: {deviceClassName: gpu.nvidia.com}
",
    );
    check(
        &TEMPLATE_SCENARIO.replace(
            "{id: a, duration: 10s}",
            "{id: a, duration: 10s, gpus_per_pod: 2}",
        ),
        &["job \"a\" pod 0 requests 2 GPUs", "no template for 2"],
    );
    // Unknown device class in a template.
    write(
        &m,
        "t.yaml",
        "apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: one-gpu}
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly: {deviceClassName: tpu.example.com}
",
    );
    check(
        TEMPLATE_SCENARIO,
        &["default/one-gpu", "tpu.example.com", "does not exist"],
    );
    // Bad CEL in a template.
    write(
        &m,
        "t.yaml",
        "apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: one-gpu}
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly:
          deviceClassName: gpu.nvidia.com
          selectors:
          - cel: {expression: \"device.attributes[\"}
",
    );
    check(TEMPLATE_SCENARIO, &["default/one-gpu", "does not compile"]);
    // Wrong apiVersion, with file and line.
    write(
        &m,
        "t.yaml",
        "apiVersion: resource.k8s.io/v1beta1
kind: ResourceClaimTemplate
metadata: {name: one-gpu}
spec: {spec: {}}
",
    );
    check(
        TEMPLATE_SCENARIO,
        &["dra.manifests[0]", "t.yaml:1", "resource.k8s.io/v1beta1"],
    );
    // A claim no node can ever satisfy.
    write(
        &m,
        "t.yaml",
        "apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: one-gpu}
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly: {deviceClassName: gpu.nvidia.com, count: 9}
",
    );
    check(
        TEMPLATE_SCENARIO,
        &["job \"a\" pod 0", "can never be allocated"],
    );
    // Mode and manifests disagree.
    check(
        "cluster: {}\ndra: {mode: generated, manifests: m}\nworkload: {jobs: [{id: a, duration: 1s}]}\n",
        &["dra.manifests", "mode generated"],
    );
}

/// Runs with DRA stay deterministic: same seed, byte-identical output files.
#[test]
fn dra_runs_are_deterministic_through_the_binary() {
    let d = tmpdir("dra-det");
    let scenario = root().join("scenarios/dra/h100-mig-run.yaml");
    let s = scenario.display().to_string();
    for out in ["a", "b"] {
        let o = orrery(&["run", &s, "--out", out, "--quiet"], &d);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    for f in ["jobs.csv", "summary.json"] {
        let a = std::fs::read(d.join("a").join(f)).expect("a");
        let b = std::fs::read(d.join("b").join(f)).expect("b");
        assert!(a == b, "{f} differs");
    }
}

/// Issue 14 item 13: Pods, ResourceClaims and kinds not modelled (DeviceTaintRule) in the
/// manifests of a run were dropped silently; they are refused and listed. The manifests are
/// a byte-identical copy of the reproduction input (a Pod and a ResourceClaim).
#[test]
fn manifests_a_run_would_not_use_are_refused_and_listed() {
    let d = tmpdir("dra-unused");
    let m = d.join("m");
    std::fs::create_dir_all(&m).expect("mkdir");
    std::fs::copy(
        root().join("scenarios/tests/dra/zero-counter.yaml"),
        m.join("zero-counter.yaml"),
    )
    .expect("copy");
    // A DeviceTaintRule is used (applied to the devices it selects; this one selects
    // none): not listed.
    write(
        &m,
        "taint.yaml",
        "apiVersion: resource.k8s.io/v1alpha3\nkind: DeviceTaintRule\nmetadata: {name: t}\nspec: {taint: {key: k, effect: NoSchedule}}\n",
    );
    // A kind that is not modelled is listed.
    write(
        &m,
        "other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
    );
    write(
        &d,
        "s.yaml",
        "cluster:\n  node_pools: [{name: n, count: 1, cpu_milli: 1000, memory_mib: 1024}]\ndra: {manifests: m}\nworkload: {jobs: [{id: a, duration: 1s}]}\n",
    );
    let out = orrery(&["run", "s.yaml", "--out", "out", "--quiet"], &d);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for n in [
        "dra.manifests",
        "Pod default/p",
        "ResourceClaim default/c1",
        "v1 ConfigMap (kind not modelled)",
        "does not use",
    ] {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    assert!(
        !err.contains("DeviceTaintRule (kind not modelled)"),
        "a DeviceTaintRule is applied, not refused: {err}"
    );
    assert!(!d.join("out").exists());
}

/// Issue 14 item 13: a selector that fails to evaluate on every device was reported as "no
/// node of the cluster has devices that satisfy it"; the claim, the expression and the CEL
/// message are reported instead.
#[test]
fn cel_evaluation_errors_in_a_run_name_the_claim_and_the_cel_message() {
    let src = root().join("scenarios/dra");
    let d = tmpdir("dra-cel-eval");
    let m = d.join("m");
    std::fs::create_dir_all(&m).expect("mkdir");
    for f in ["nvidia-deviceclasses.yaml", "h100-node.yaml"] {
        std::fs::copy(src.join(f), m.join(f)).expect("copy");
    }
    std::fs::copy(src.join("run/node.yaml"), m.join("node.yaml")).expect("copy");
    write(
        &m,
        "t.yaml",
        "apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: one-gpu}
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly:
          deviceClassName: gpu.nvidia.com
          selectors:
          - cel: {expression: 'device.attributes[\"gpu.nvidia.com\"].nosuch == 1'}
",
    );
    write(&d, "s.yaml", TEMPLATE_SCENARIO);
    let out = orrery(&["run", "s.yaml", "--out", "out", "--quiet"], &d);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for n in [
        "job \"a\" pod 0",
        "ResourceClaim",
        "request gpu",
        "nosuch",
        "failed on device",
    ] {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    assert!(!err.contains("no node of the cluster has devices"), "{err}");
}
