//! Each example profile's expected scorecard, and profiles broken on purpose: each fails
//! exactly the requirement its break concerns and no other.

use std::collections::BTreeMap;

use scenarios::conformance::{Catalogue, Profile, ScoreOptions, Scorecard, score};

fn profile(name: &str) -> Profile {
    let path = format!("{}/profiles/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    Profile::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

fn card(p: &Profile, version: &str) -> Scorecard {
    let cat = Catalogue::bundled().expect("catalogue");
    let opts = ScoreOptions {
        version,
        seed: 1,
        only: None,
        profile_path: "profile.yaml",
    };
    score(p, &cat, &opts, |_, _, _| {}).expect("score")
}

fn statuses(c: &Scorecard) -> BTreeMap<String, &'static str> {
    c.requirements
        .iter()
        .map(|r| (r.id.clone(), r.status.label()))
        .collect()
}

fn expect(c: &Scorecard, want: &[(&str, &str)]) {
    let got = statuses(c);
    let want: BTreeMap<String, &str> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let detail: Vec<String> = c
        .requirements
        .iter()
        .flat_map(|r| {
            r.cases
                .iter()
                .filter(|c| !c.passed)
                .map(move |c| format!("{} {}: {}", r.id, c.case, c.detail))
        })
        .collect();
    assert_eq!(
        got,
        want,
        "{} {}:\n{}",
        c.profile,
        c.version,
        detail.join("\n")
    );
}

const NS: &str = "NOT SIMULABLE";

#[test]
fn bare_profile_scorecard() {
    let c = card(&profile("bare"), "1.34");
    expect(
        &c,
        &[
            ("dra_support", "FAIL"),
            ("ai_inference", "FAIL"),
            ("gang_scheduling", "FAIL"),
            ("cluster_autoscaling", "N/A"),
            ("pod_autoscaling", "N/A"),
            ("accelerator_metrics", "FAIL"),
            ("ai_service_metrics", "FAIL"),
            ("secure_accelerator_access", "PASS"),
            ("robust_controller", NS),
            ("job_level_networking", "FAIL"),
            ("large_dataset_volumes", "FAIL"),
        ],
    );
    // The gang failure carries a deadlock witness.
    let g = c.requirement("gang_scheduling").expect("row");
    assert!(
        g.cases
            .iter()
            .any(|k| k.witness.is_some() && k.detail.starts_with("deadlock"))
    );
    assert_eq!(
        c.failed_musts(),
        [
            "dra_support",
            "ai_inference",
            "gang_scheduling",
            "accelerator_metrics",
            "ai_service_metrics"
        ]
    );
}

#[test]
fn fully_conformant_profile_passes_every_simulable_requirement() {
    let p = profile("fully-conformant");
    let c = card(&p, "1.34");
    expect(
        &c,
        &[
            ("dra_support", "PASS"),
            ("ai_inference", "PASS"),
            ("gang_scheduling", "PASS"),
            ("cluster_autoscaling", "PASS"),
            ("pod_autoscaling", "PASS"),
            ("accelerator_metrics", "PASS"),
            ("ai_service_metrics", "PASS"),
            ("secure_accelerator_access", "PASS"),
            ("robust_controller", NS),
            ("job_level_networking", "PASS"),
            ("large_dataset_volumes", "PASS"),
        ],
    );
    assert!(c.failed_musts().is_empty());
    let c = card(&p, "1.36");
    expect(
        &c,
        &[
            ("ai_inference", "PASS"),
            ("gang_scheduling", "PASS"),
            ("cluster_autoscaling", "PASS"),
            ("pod_autoscaling", "PASS"),
            ("accelerator_metrics", "PASS"),
            ("ai_service_metrics", "PASS"),
            ("secure_accelerator_access", "PASS"),
            ("robust_controller", NS),
            ("driver_runtime_management", NS),
            ("gpu_sharing", "PASS"),
            ("virtualized_accelerator", NS),
            ("advanced_inference_ingress", NS),
            ("high_performance_networking", "PASS"),
            ("disaggregated_inference", NS),
            ("job_level_networking", "PASS"),
            ("large_dataset_volumes", "PASS"),
        ],
    );
}

#[test]
fn on_prem_profile_passes_with_autoscaling_not_applicable() {
    let c = card(&profile("on-prem-no-autoscaling"), "1.35");
    expect(
        &c,
        &[
            ("dra_support", "PASS"),
            ("ai_inference", "PASS"),
            ("gang_scheduling", "PASS"),
            ("cluster_autoscaling", "N/A"),
            ("pod_autoscaling", "N/A"),
            ("accelerator_metrics", "PASS"),
            ("ai_service_metrics", "PASS"),
            ("secure_accelerator_access", "PASS"),
            ("robust_controller", NS),
            ("driver_runtime_management", NS),
            ("gpu_sharing", "FAIL"),
            ("virtualized_accelerator", NS),
            ("job_level_networking", "FAIL"),
            ("large_dataset_volumes", "FAIL"),
        ],
    );
    assert!(c.failed_musts().is_empty());
}

#[test]
fn upstream_alpha_gang_profile_fails_only_gang_scheduling() {
    let c = card(&profile("upstream-gang-alpha"), "1.35");
    expect(
        &c,
        &[
            ("dra_support", "PASS"),
            ("ai_inference", "PASS"),
            ("gang_scheduling", "FAIL"),
            ("cluster_autoscaling", "PASS"),
            ("pod_autoscaling", "PASS"),
            ("accelerator_metrics", "PASS"),
            ("ai_service_metrics", "PASS"),
            ("secure_accelerator_access", "PASS"),
            ("robust_controller", NS),
            ("driver_runtime_management", NS),
            ("gpu_sharing", "PASS"),
            ("virtualized_accelerator", NS),
            ("job_level_networking", "PASS"),
            // ReadOnlyMany mounts everywhere, but without a node cache the second job
            // reads the whole dataset again.
            ("large_dataset_volumes", "FAIL"),
        ],
    );
    let g = c.requirement("gang_scheduling").expect("row");
    let w = g.smallest_failing_case().expect("a failing case");
    assert_eq!(w.case, "two-overcommitted-gangs");
    assert!(w.detail.starts_with("livelock"), "{}", w.detail);
}

/// The requirements whose status differs from the fully-conformant profile's.
fn broken(version: &str, edit: impl FnOnce(&mut Profile)) -> Vec<String> {
    let good = profile("fully-conformant");
    let mut bad = good.clone();
    edit(&mut bad);
    let (a, b) = (
        statuses(&card(&good, version)),
        statuses(&card(&bad, version)),
    );
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// A change to a profile.
type Edit = Box<dyn FnOnce(&mut Profile)>;

#[test]
fn each_broken_profile_fails_exactly_its_requirement() {
    use sim_core::SimDuration;
    let cases: Vec<(&str, &str, Edit)> = vec![
        (
            "gang_scheduling",
            "1.34",
            Box::new(|p: &mut Profile| {
                p.scheduler.coscheduling.schedule_timeout = SimDuration::from_secs(600)
            }),
        ),
        (
            "dra_support",
            "1.34",
            Box::new(|p: &mut Profile| {
                p.accelerators.allocation =
                    scenarios::conformance::profile::Allocation::DevicePlugin
            }),
        ),
        (
            "secure_accelerator_access",
            "1.34",
            Box::new(|p: &mut Profile| p.accelerators.runtime.accept_visible_devices_envvar = true),
        ),
        (
            "cluster_autoscaling",
            "1.34",
            Box::new(|p: &mut Profile| {
                if let Some(ca) = &mut p.cluster_autoscaler {
                    ca.pools[0].accelerator = "nvidia-a100".into();
                }
            }),
        ),
        (
            "pod_autoscaling",
            "1.34",
            Box::new(|p: &mut Profile| {
                if let Some(h) = &mut p.pod_autoscaler {
                    h.scale_down_stabilization = SimDuration::ZERO;
                }
            }),
        ),
        (
            "pod_autoscaling",
            "1.34",
            Box::new(|p: &mut Profile| {
                if let Some(h) = &mut p.pod_autoscaler {
                    h.custom_metrics_adapter = false;
                }
            }),
        ),
        (
            "accelerator_metrics",
            "1.34",
            Box::new(|p: &mut Profile| {
                if let Some(e) = &mut p.metrics.accelerator_exporter {
                    e.fields
                        .retain(|f| *f != scenarios::conformance::profile::DeviceField::MemoryUsed);
                }
            }),
        ),
        (
            "ai_service_metrics",
            "1.34",
            Box::new(|p: &mut Profile| p.metrics.service_discovery = false),
        ),
        (
            "ai_inference",
            "1.34",
            Box::new(|p: &mut Profile| {
                if let Some(g) = &mut p.gateway {
                    g.weighted_routing = false;
                }
            }),
        ),
        (
            "gpu_sharing",
            "1.35",
            Box::new(|p: &mut Profile| {
                p.accelerators.sharing.mig = false;
                p.accelerators.sharing.time_slicing_replicas = 0;
            }),
        ),
        (
            "job_level_networking",
            "1.36",
            Box::new(|p: &mut Profile| {
                if let Some(r) = &mut p.network.rdma {
                    r.job_networks = false;
                }
            }),
        ),
        (
            "large_dataset_volumes",
            "1.36",
            Box::new(|p: &mut Profile| {
                if let Some(v) = &mut p.storage.dataset_volume {
                    v.access_mode = scenarios::conformance::profile::AccessMode::ReadWriteOnce;
                }
            }),
        ),
    ];
    for (req, version, edit) in cases {
        assert_eq!(broken(version, edit), [req], "break aimed at {req}");
    }
    // RDMA NICs not offered to pods: high-performance networking fails, and so does the
    // draft row that builds on it (job-level networks need the NICs in the pods); no
    // checklist requirement other than high_performance_networking changes.
    let diff = broken("1.36", |p| {
        if let Some(r) = &mut p.network.rdma {
            r.offered_to_pods = false;
        }
    });
    assert_eq!(
        diff,
        ["high_performance_networking", "job_level_networking"]
    );
}

/// The fully-conformant profile given as a folder of the platform's objects scores the
/// same as the YAML profile: every requirement's status and every case's verdict.
#[test]
fn fully_conformant_folder_scores_as_the_yaml_profile() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/fully-conformant");
    let a = scenarios::conformance::objects::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    type Verdicts = Vec<(String, &'static str, Vec<(String, bool)>)>;
    let verdicts = |c: &Scorecard| -> Verdicts {
        c.requirements
            .iter()
            .map(|r| {
                let cases = r.cases.iter().map(|c| (c.case.clone(), c.passed)).collect();
                (r.id.clone(), r.status.label(), cases)
            })
            .collect()
    };
    let yaml = card(&profile("fully-conformant"), "1.36");
    let mut objects = card(&a.profile, "1.36");
    assert_eq!(verdicts(&objects), verdicts(&yaml));
    assert!(objects.failed_musts().is_empty());
    objects.set_provenance(&a.provenance);
    let basis = |id: &str| objects.requirement(id).expect(id).basis.basis;
    assert_eq!(basis("gang_scheduling"), "simulated from configuration");
    assert_eq!(basis("cluster_autoscaling"), "declared only");
    assert_eq!(basis("robust_controller"), "-");
    assert_eq!(
        yaml.requirement("gang_scheduling")
            .expect("gang")
            .basis
            .basis,
        "declared only"
    );
}
