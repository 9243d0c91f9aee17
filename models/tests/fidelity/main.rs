//! The fidelity suite: the real schedulers' own test tables, transcribed as data under
//! `scenarios/fidelity/`, run against Orrery's policy code. See
//! `scenarios/fidelity/README.md` for the data and `docs/fidelity.md` for the results.

mod common;
mod coscheduling;
mod kubernetes;
mod kueue;
mod volcano;

const BEGIN: &str =
    "<!-- BEGIN GENERATED: cargo test -p models --test fidelity (ORRERY_BLESS=1 rewrites) -->";
const END: &str = "<!-- END GENERATED -->";

/// Every suite's reports, in a fixed order.
fn all_reports() -> Vec<common::Report> {
    [
        kueue::reports(),
        coscheduling::reports(),
        volcano::reports(),
        kubernetes::reports(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Each suite: every modelled case passes or is a listed deviation.
#[test]
fn every_suite_is_honest() {
    for r in all_reports() {
        r.check();
    }
}

/// `docs/fidelity.md` shows exactly what the suites show (counts, every case not modelled
/// and every known deviation with its reason); `ORRERY_BLESS=1` regenerates it.
#[test]
fn docs_fidelity_md_is_current() {
    let reports = all_reports();
    let generated = common::markdown(&reports);
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/fidelity.md");
    let doc = std::fs::read_to_string(&path).expect("docs/fidelity.md");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/fidelity.md lacks the generated-section markers");
    };
    let current = &doc[b + BEGIN.len()..e];
    let want = format!("\n{generated}\n");
    if current != want {
        if std::env::var_os("ORRERY_BLESS").is_some() {
            let new = format!("{}{BEGIN}{want}{}", &doc[..b], &doc[e..]);
            std::fs::write(&path, new).expect("writing docs/fidelity.md");
        } else {
            panic!(
                "docs/fidelity.md is out of date with the fidelity suites; run \
                 `ORRERY_BLESS=1 cargo test -p models --test fidelity` and review the diff"
            );
        }
    }
}

/// Issue 15's bar: at least 150 upstream cases transcribed, and at least 95 % of the cases
/// whose features Orrery models pass (known deviations count against it).
#[test]
fn enough_cases_and_enough_of_them_pass() {
    let (mut n, mut pass, mut fail) = (0, 0, 0);
    for r in all_reports() {
        let c = r.count();
        n += c.0;
        pass += c.1;
        fail += c.2;
    }
    assert!(n >= 150, "only {n} upstream cases transcribed");
    assert!(
        pass * 100 >= (pass + fail) * 95,
        "{pass} of {} modelled cases pass (< 95 %)",
        pass + fail
    );
}
