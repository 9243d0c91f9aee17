//! The platform suites (cluster_autoscaling, pod_autoscaling, accelerator_metrics,
//! ai_service_metrics, ai_inference) against the example profiles and broken variants.

use scenarios::conformance::CaseResult;
use scenarios::conformance::profile::{DeviceField, Profile};
use scenarios::conformance::suites;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles");

fn load(name: &str) -> Profile {
    let path = format!("{DIR}/{name}.yaml");
    Profile::load(std::path::Path::new(&path)).expect("profile parses")
}

fn run(requirement: &str, p: &Profile) -> Vec<CaseResult> {
    let suite = suites::find(requirement).expect("suite exists");
    (suite.run)(p, 1)
}

fn show(cases: &[CaseResult]) -> String {
    cases
        .iter()
        .map(|c| {
            format!(
                "  {} {}: {}",
                if c.passed { "PASS" } else { "FAIL" },
                c.case,
                c.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn passes(requirement: &str, p: &Profile) -> bool {
    let cases = run(requirement, p);
    !cases.is_empty() && cases.iter().all(|c| c.passed)
}

const PLATFORM: [&str; 5] = [
    "cluster_autoscaling",
    "pod_autoscaling",
    "accelerator_metrics",
    "ai_service_metrics",
    "ai_inference",
];

#[test]
fn fully_conformant_passes_every_platform_suite() {
    let p = load("fully-conformant");
    for req in PLATFORM {
        let cases = run(req, &p);
        eprintln!("{req}:\n{}", show(&cases));
        assert!(
            !cases.is_empty() && cases.iter().all(|c| c.passed),
            "{req}:\n{}",
            show(&cases)
        );
        for c in &cases {
            assert!(c.observed.is_some(), "{req}/{}: no observed event", c.case);
            assert!(!c.detail.is_empty());
        }
    }
}

#[test]
fn bare_fails_the_unconditional_suites_and_the_conditional_ones_are_na() {
    let p = load("bare");
    for req in ["accelerator_metrics", "ai_service_metrics", "ai_inference"] {
        let cases = run(req, &p);
        assert!(
            !cases.is_empty() && cases.iter().any(|c| !c.passed),
            "{req}:\n{}",
            show(&cases)
        );
    }
    for req in ["cluster_autoscaling", "pod_autoscaling"] {
        let suite = suites::find(req).expect("suite");
        assert!((suite.not_applicable)(&p).is_some(), "{req} should be N/A");
        // Called anyway, it fails rather than panics.
        assert!(!passes(req, &p));
    }
}

#[test]
fn autoscaler_pool_of_the_wrong_accelerator_fails() {
    let mut p = load("fully-conformant");
    if let Some(ca) = &mut p.cluster_autoscaler {
        ca.pools[0].accelerator = "nvidia-a100".into();
    }
    let cases = run("cluster_autoscaling", &p);
    assert!(cases.iter().any(|c| !c.passed), "{}", show(&cases));
    let failing = cases.iter().find(|c| !c.passed).expect("a failing case");
    assert_eq!(failing.case, "kar-0055");
    assert!(failing.detail.contains("Pending"), "{}", failing.detail);
}

#[test]
fn slow_provisioning_fails_the_autoscaling_timing() {
    // Provisioning longer than max-node-provision-time: the node is given up.
    let mut p = load("fully-conformant");
    if let Some(ca) = &mut p.cluster_autoscaler {
        ca.pools[0].provisioning_delay = "20m".parse().expect("duration");
    }
    assert!(!passes("cluster_autoscaling", &p));
}

#[test]
fn hpa_without_stabilisation_fails() {
    let mut p = load("fully-conformant");
    if let Some(h) = &mut p.pod_autoscaler {
        h.scale_down_stabilization = "0s".parse().expect("duration");
    }
    let cases = run("pod_autoscaling", &p);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.case.as_str())
        .collect();
    assert!(
        failed.contains(&"scale-down-after-window"),
        "{}",
        show(&cases)
    );
    assert!(failed.contains(&"no-flapping-on-dip"), "{}", show(&cases));
    assert!(!failed.contains(&"scale-up"), "{}", show(&cases));
}

#[test]
fn hpa_without_metrics_adapter_fails() {
    let mut p = load("fully-conformant");
    if let Some(h) = &mut p.pod_autoscaler {
        h.custom_metrics_adapter = false;
    }
    let cases = run("pod_autoscaling", &p);
    let up = cases
        .iter()
        .find(|c| c.case == "scale-up")
        .expect("scale-up case");
    assert!(!up.passed, "{}", show(&cases));
    assert!(up.detail.contains("adapter"), "{}", up.detail);
}

#[test]
fn exporter_without_memory_used_fails() {
    let mut p = load("fully-conformant");
    if let Some(ex) = &mut p.metrics.accelerator_exporter {
        ex.fields.retain(|f| *f != DeviceField::MemoryUsed);
    }
    let cases = run("accelerator_metrics", &p);
    let c = cases
        .iter()
        .find(|c| c.case == "per-device-series")
        .expect("case");
    assert!(!c.passed, "{}", show(&cases));
    assert!(c.detail.contains("DCGM_FI_DEV_FB_USED"), "{}", c.detail);
}

#[test]
fn no_service_discovery_fails() {
    let mut p = load("fully-conformant");
    p.metrics.service_discovery = false;
    assert!(!passes("ai_service_metrics", &p));
}

#[test]
fn gateway_ignoring_weights_or_headers_fails() {
    let mut p = load("fully-conformant");
    if let Some(g) = &mut p.gateway {
        g.weighted_routing = false;
    }
    let cases = run("ai_inference", &p);
    for case in ["weighted-70-30", "weighted-90-10", "weighted-50-30-20"] {
        let c = cases.iter().find(|c| c.case == case).expect("case");
        assert!(!c.passed, "{}", show(&cases));
    }
    let mut p = load("fully-conformant");
    if let Some(g) = &mut p.gateway {
        g.header_matching = false;
    }
    let cases = run("ai_inference", &p);
    let c = cases
        .iter()
        .find(|c| c.case == "header-match")
        .expect("case");
    assert!(!c.passed, "{}", show(&cases));
}

#[test]
fn suites_are_deterministic() {
    let p = load("fully-conformant");
    for req in PLATFORM {
        assert_eq!(run(req, &p), run(req, &p), "{req}");
    }
}
