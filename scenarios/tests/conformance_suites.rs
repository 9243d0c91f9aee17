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

#[test]
fn scratch_gang() {
    for name in ["bare", "fully-conformant"] {
        let cases = run("gang_scheduling", &profile(name));
        println!("== {name}\n{}", show(&cases));
    }
    let mut p = profile("fully-conformant");
    p.scheduler.coscheduling.schedule_timeout = sim_core::SimDuration::from_secs(600);
    println!("== long timeout\n{}", show(&run("gang_scheduling", &p)));
    for pol in ["k8s-gang", "kueue", "gang", "volcano"] {
        let mut p = profile("fully-conformant");
        p.scheduler.policy = models::PolicyKind::ALL
            .into_iter()
            .find(|k| k.name() == pol)
            .unwrap();
        println!("== {pol}\n{}", show(&run("gang_scheduling", &p)));
    }
}

#[test]
fn scratch_dra() {
    for name in ["bare", "fully-conformant"] {
        let cases = run("dra_support", &profile(name));
        println!("== {name}\n{}", show(&cases));
    }
}

#[test]
fn scratch_secure() {
    for name in ["bare", "fully-conformant"] {
        let cases = run("secure_accelerator_access", &profile(name));
        println!("== {name}\n{}", show(&cases));
    }
    let mut p = profile("fully-conformant");
    p.accelerators.runtime.accept_visible_devices_envvar = true;
    println!("== lax\n{}", show(&run("secure_accelerator_access", &p)));
}

#[test]
fn scratch_sharing() {
    for name in ["bare", "fully-conformant"] {
        let cases = run("gpu_sharing", &profile(name));
        println!("== {name}\n{}", show(&cases));
    }
    let mut p = profile("bare");
    p.accelerators.sharing.mig = true;
    println!("== dp mig\n{}", show(&run("gpu_sharing", &p)));
}
