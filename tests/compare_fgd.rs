//! `orrery compare` on the FGD scenario family writes, per (policy, seed), the GPU
//! allocation ratio at 100 % arrived demand and the 0…130 curves, matching the artefact's
//! published rows.

mod common;

use common::*;

#[test]
fn fgd_family_compare_matches_the_artefact() {
    let d = tmpdir("fgd-compare");
    let scenario = bundled("fgd-default.yaml");
    let out = orrery(
        &[
            "compare",
            scenario.to_str().unwrap(),
            "--policies",
            "fgd,bestfit",
            "--seeds",
            "42",
            "--out",
            "res",
            "-q",
        ],
        &d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(d.join("res/compare.csv")).unwrap();
    let curves = std::fs::read_to_string(d.join("res/fgd_curves.csv")).unwrap();
    let expected = models::fgd::Expected::load(&root().join(
        "scenarios/traces/alibaba-gpu-v2023-openb/fgd_expected_results/analysis_allo_discrete.csv",
    ))
    .unwrap();
    for (policy, artefact) in [("fgd", "06-FGD"), ("bestfit", "05-BestFit")] {
        let want = expected
            .get("openb_pod_list_default", artefact, 42)
            .unwrap();
        // compare.csv: the ratio at 100 % arrived demand, as a fraction.
        let row = csv
            .lines()
            .find(|l| l.starts_with(&format!("{policy},42,")))
            .unwrap();
        let ratio: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
        assert!(
            (ratio * 100.0 - want.values[100]).abs() <= 0.05,
            "{policy}: {ratio} vs {}",
            want.values[100]
        );
        // fgd_curves.csv: every column 0..130 of the allocation curve.
        let line = curves
            .lines()
            .find(|l| l.starts_with(&format!("{policy},42,alloc_pct,")))
            .unwrap();
        let got: Vec<f64> = line
            .split(',')
            .skip(3)
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(got.len(), 131);
        for (c, (g, w)) in got.iter().zip(&want.values).enumerate() {
            assert!((g - w).abs() <= 0.05, "{policy} column {c}: {g} vs {w}");
        }
    }
    // Bad FGD policy names are rejected before anything runs.
    let out = orrery(
        &[
            "compare",
            scenario.to_str().unwrap(),
            "--policies",
            "kueue",
            "--out",
            "never",
        ],
        &d,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown FGD placement policy \"kueue\""));
    assert!(!d.join("never").exists());
}

/// `orrery run` on the FGD scenario replays tune seed 42 through the main model with the FGD
/// placement plugins: 10,866 one-pod jobs, of which the reproduction loop places 8,334
/// (`models::fgd::Trace::run(Fgd, 42).placed`); the rest never find a node.
#[test]
fn fgd_family_run_goes_through_the_main_model() {
    let d = tmpdir("fgd-run");
    let scenario = bundled("fgd-default.yaml");
    let out = orrery(
        &["run", scenario.to_str().unwrap(), "--out", "res", "-q"],
        &d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let jobs = std::fs::read_to_string(d.join("res/jobs.csv")).unwrap();
    let rows: Vec<&str> = jobs.lines().skip(1).collect();
    assert_eq!(rows.len(), 10_866);
    let running = rows.iter().filter(|r| r.ends_with(",running")).count();
    let pending = rows.iter().filter(|r| r.ends_with(",pending")).count();
    assert_eq!((running, pending), (8_334, 2_532));
}
