//! The behaviour suites built on the cluster model: gang scheduling, DRA, secure
//! accelerator access and GPU sharing, on the example profiles and on profiles broken on
//! purpose.

use scenarios::conformance::{CaseResult, Profile, suites};

fn profile(name: &str) -> Profile {
    let path = format!("{}/profiles/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    Profile::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

fn run(req: &str, p: &Profile) -> Vec<CaseResult> {
    let s = suites::find(req).unwrap_or_else(|| panic!("no suite {req}"));
    (s.run)(p, 1)
}

fn show(cases: &[CaseResult]) -> String {
    cases
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}",
                if c.passed { "pass" } else { "FAIL" },
                c.case,
                c.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn case<'a>(cases: &'a [CaseResult], name: &str) -> &'a CaseResult {
    cases
        .iter()
        .find(|c| c.case == name)
        .unwrap_or_else(|| panic!("no case {name} in\n{}", show(cases)))
}

fn failing(cases: &[CaseResult]) -> Vec<&str> {
    cases
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.case.as_str())
        .collect()
}

fn at_s(c: &CaseResult) -> u64 {
    c.observed.as_ref().expect("an observed event").at_ns / 1_000_000_000
}

fn with_policy(p: &mut Profile, name: &str) {
    p.scheduler.policy = models::PolicyKind::all()
        .into_iter()
        .find(|k| k.name() == name)
        .unwrap_or_else(|| panic!("no policy {name}"));
}

#[test]
fn default_scheduler_starts_gangs_partially_and_deadlocks_with_a_shrunk_witness() {
    let cases = run("gang_scheduling", &profile("bare"));
    // Fits: 4 whole-node pods on 4 idle nodes start at 0 s even without gang support.
    assert!(case(&cases, "capacity-fits-n").passed, "{}", show(&cases));
    // The holder takes 2 of 4 nodes until 600 s; the gang's first 2 pods bind at 10 s.
    let w = case(&cases, "waits-for-capacity");
    assert!(!w.passed);
    assert_eq!(at_s(w), 10);
    assert!(w.detail.contains("2 of 4 pods running"), "{}", w.detail);
    // One GPU short: 31 of 32 pods bind at 10 s.
    let s = case(&cases, "one-gpu-short");
    assert!(!s.passed && s.detail.contains("31 of 32"), "{}", s.detail);
    // Two over-committed gangs deadlock; the witness is shrunk to 2 nodes.
    let o = case(&cases, "two-overcommitted-gangs");
    assert!(!o.passed);
    assert!(
        o.detail.starts_with("deadlock of gang-a and gang-b"),
        "{}",
        o.detail
    );
    let w = o.witness.as_ref().expect("a deadlock witness");
    assert_eq!(w.problem.spec.nodes.len(), 2);
    assert_eq!(
        o.witness_size.as_deref(),
        Some("2 jobs, 4 pods, 2 nodes, 2 GPUs")
    );
    let (run, same) = models::verify::replay(w).expect("the witness replays");
    assert!(same, "replay differs: {:?}", run.end);
}

#[test]
fn coscheduling_with_a_short_permit_timeout_passes_every_gang_case() {
    let cases = run("gang_scheduling", &profile("fully-conformant"));
    assert!(failing(&cases).is_empty(), "{}", show(&cases));
    // The gang arrives at 10 s one GPU short; its waiters hold 31 GPUs until the 60 s
    // Permit timeout (70 s), when the bystander (queued before the rejected group) starts.
    assert_eq!(at_s(case(&cases, "one-gpu-short")), 70);
    // The holder leaves at 600 s: all 4 pods start together then.
    assert_eq!(at_s(case(&cases, "waits-for-capacity")), 600);
    assert!(
        case(&cases, "two-overcommitted-gangs")
            .detail
            .contains("complete")
    );
}

#[test]
fn a_permit_timeout_longer_than_the_wait_window_fails_only_the_holding_case() {
    let mut p = profile("fully-conformant");
    p.scheduler.coscheduling.schedule_timeout = sim_core::SimDuration::from_secs(600);
    let cases = run("gang_scheduling", &p);
    assert_eq!(failing(&cases), ["one-gpu-short"], "{}", show(&cases));
    // The bystander waits until the 600 s timeout of the gang that arrived at 10 s.
    let c = case(&cases, "one-gpu-short");
    assert!(c.detail.contains("until 610s"), "{}", c.detail);
    // Observed at the end of the bystander's wait window: 20 s + 300 s.
    assert_eq!(at_s(c), 320);
}

#[test]
fn upstream_alpha_gang_livelocks_two_overcommitted_gangs() {
    let mut p = profile("fully-conformant");
    with_policy(&mut p, "k8s-gang");
    let cases = run("gang_scheduling", &p);
    assert_eq!(
        failing(&cases),
        ["two-overcommitted-gangs"],
        "{}",
        show(&cases)
    );
    let o = case(&cases, "two-overcommitted-gangs");
    assert!(o.detail.starts_with("livelock"), "{}", o.detail);
    assert!(o.witness.is_some());
    // The 5-minute Permit deadline releases a gang that cannot complete: the bystander
    // arriving at 20 s starts at 10 s + 300 s.
    assert_eq!(at_s(case(&cases, "one-gpu-short")), 310);
}

#[test]
fn job_level_gang_policies_pass() {
    for pol in ["gang", "volcano"] {
        let mut p = profile("fully-conformant");
        with_policy(&mut p, pol);
        let cases = run("gang_scheduling", &p);
        assert!(failing(&cases).is_empty(), "{pol}:\n{}", show(&cases));
    }
}

#[test]
fn dra_support_needs_dra_and_honours_selectors_counts_and_constraints() {
    let bare = run("dra_support", &profile("bare"));
    assert_eq!(failing(&bare), ["apis-served"]);
    let full = run("dra_support", &profile("fully-conformant"));
    assert_eq!(full.len(), 7, "{}", show(&full));
    assert!(failing(&full).is_empty(), "{}", show(&full));
    assert!(
        case(&full, "match-attribute")
            .detail
            .contains(r#"["gpu-4", "gpu-5", "gpu-6", "gpu-7"]"#)
    );
    assert!(
        case(&full, "count-honoured")
            .detail
            .contains(r#"["gpu-0", "gpu-1", "gpu-2"]"#)
    );
    // 8 jobs of 2 × 4 GPUs on 2 × 8 GPUs, one every 5 s, 300 s each: 2 jobs at a time,
    // job k starting when job k-2 ends: job 7 (arrived at 35 s) runs 905-1205 s.
    let run_case = case(&full, "claims-before-binding");
    assert!(
        run_case
            .detail
            .starts_with("8 of 8 jobs completed (last at 1205s)"),
        "{}",
        run_case.detail
    );
}

#[test]
fn a_runtime_that_honours_visible_devices_breaks_isolation() {
    for name in ["bare", "fully-conformant"] {
        let cases = run("secure_accelerator_access", &profile(name));
        assert!(failing(&cases).is_empty(), "{name}: {}", show(&cases));
    }
    let mut p = profile("fully-conformant");
    p.accelerators.runtime.accept_visible_devices_envvar = true;
    let cases = run("secure_accelerator_access", &p);
    assert_eq!(
        failing(&cases),
        [
            "no-request-no-device",
            "unclaimed-sibling-container",
            "pods-see-only-their-devices"
        ]
    );
    assert!(
        case(&cases, "no-request-no-device")
            .detail
            .contains("sees 8 devices")
    );
    // The first pod binds at 0 s and already sees the other 7 GPUs of its node.
    assert_eq!(at_s(case(&cases, "pods-see-only-their-devices")), 0);
}

#[test]
fn gpu_sharing_checks_every_enabled_strategy() {
    assert_eq!(
        failing(&run("gpu_sharing", &profile("bare"))),
        ["static-sharing-strategy"]
    );
    let full = run("gpu_sharing", &profile("fully-conformant"));
    assert!(failing(&full).is_empty(), "{}", show(&full));
    assert_eq!(full.len(), 2);
    assert!(
        case(&full, "time-slicing")
            .detail
            .starts_with("4 of 4 pods running")
    );
    let mut p = profile("bare");
    p.accelerators.sharing.mig = true;
    let dp = run("gpu_sharing", &p);
    assert!(
        case(&dp, "mig-partitions").detail.starts_with("7 of 7"),
        "{}",
        show(&dp)
    );
}
