//! `orrery conformance` end to end: exit codes, the files written, byte-identical
//! reruns, the replay of one case, and bad profiles and options.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

fn profile(name: &str) -> String {
    root()
        .join(format!("scenarios/profiles/{name}.yaml"))
        .display()
        .to_string()
}

fn read_dir_bytes(d: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![d.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() {
                stack.push(e);
            } else {
                let rel = e.strip_prefix(d).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&e).unwrap());
            }
        }
    }
    out
}

fn statuses(json: &serde_json::Value) -> BTreeMap<String, String> {
    json["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn bare_profile_fails_musts_with_exit_4_and_writes_the_evidence() {
    let d = tmpdir("conf-bare");
    let o = orrery(
        &["conformance", "--profile", &profile("bare"), "--out", "out"],
        &d,
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("gang_scheduling"),
        "{}",
        text(&o.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("out/scorecard.json")).unwrap()).unwrap();
    let st = statuses(&json);
    assert_eq!(st["gang_scheduling"], "FAIL");
    assert_eq!(st["dra_support"], "FAIL");
    assert_eq!(st["cluster_autoscaling"], "N/A");
    assert_eq!(st["robust_controller"], "NOT SIMULABLE");
    // The deadlock witness is written and replays.
    let w = d.join("out/cases/gang_scheduling/two-overcommitted-gangs.witness.json");
    assert!(w.exists());
    let r = orrery(
        &[
            "replay-witness",
            "out/cases/gang_scheduling/two-overcommitted-gangs.witness.json",
            "--out",
            "replayed",
        ],
        &d,
    );
    assert!(
        text(&r.stdout).contains("deadlock"),
        "{}{}",
        text(&r.stdout),
        text(&r.stderr)
    );
    // The case's scenario file runs with the ordinary commands.
    let v = orrery(
        &[
            "verify",
            "out/cases/gang_scheduling/gang_scheduling-two-overcommitted-gangs.yaml",
            "--exhaustive",
            "--no-shrink",
            "--out",
            "v",
        ],
        &d,
    );
    assert_eq!(v.status.code(), Some(3), "{}", text(&v.stderr));
    let md = std::fs::read_to_string(d.join("out/scorecard.md")).unwrap();
    assert!(md.contains("| [`gang_scheduling`](#gang-scheduling) | MUST | **FAIL** |"));
    let sa = std::fs::read_to_string(d.join("out/self-assessment.yaml")).unwrap();
    assert!(sa.contains("kubernetesVersion: v1.34"));
    assert!(sa.contains("status: \"Not Implemented\""));
}

#[test]
fn scorecards_are_byte_identical_across_runs() {
    let d = tmpdir("conf-same");
    for out in ["a", "b"] {
        let o = orrery(
            &[
                "conformance",
                "--profile",
                &profile("upstream-gang-alpha"),
                "--version",
                "1.35",
                "--out",
                out,
                "--quiet",
            ],
            &d,
        );
        assert!(
            matches!(o.status.code(), Some(0 | 4)),
            "{}",
            text(&o.stderr)
        );
    }
    let (a, b) = (read_dir_bytes(&d.join("a")), read_dir_bytes(&d.join("b")));
    assert!(a.len() >= 10, "{:?}", a.keys());
    assert_eq!(a, b);
}

#[test]
fn one_case_replays_with_its_event_log() {
    let d = tmpdir("conf-case");
    let o = orrery(
        &[
            "conformance",
            "--profile",
            &profile("fully-conformant"),
            "--only",
            "gang_scheduling",
            "--case",
            "one-gpu-short",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("PASS gang_scheduling / one-gpu-short (seed 1)"),
        "{out}"
    );
    assert!(out.contains("started at 70s"), "{out}");
    assert!(out.contains("event log:"), "{out}");
    // Nothing is written when replaying one case.
    assert!(!d.join("out").exists());
}

#[test]
fn bad_profiles_and_options_exit_2_naming_the_problem_and_write_nothing() {
    let d = tmpdir("conf-bad");
    let good = std::fs::read_to_string(profile("fully-conformant")).unwrap();
    let cases: Vec<(&str, String, Vec<&str>, &str)> = vec![
        ("missing.yaml", String::new(), vec![], "cannot read"),
        (
            "syntax.yaml",
            "name: [unclosed\n".into(),
            vec![],
            "syntax.yaml",
        ),
        (
            "unknown-field.yaml",
            good.replace("description:", "descripton:"),
            vec![],
            "descripton",
        ),
        (
            "tolerance.yaml",
            good.replace("tolerance: 0.1", "tolerance: 2"),
            vec![],
            "pod_autoscaler.tolerance",
        ),
        (
            "pool.yaml",
            good.replace("min: 2, max: 4", "min: 5, max: 4"),
            vec![],
            "cluster_autoscaler.pools[0].max",
        ),
        (
            "policy.yaml",
            good.replace("policy: coscheduling", "policy: slurm"),
            vec![],
            "slurm",
        ),
        (
            "score.yaml",
            good.replace(
                "policy: coscheduling",
                "policy: coscheduling\n  percentage_of_nodes_to_score: 200",
            ),
            vec![],
            "scheduler.percentage_of_nodes_to_score",
        ),
        (
            "version.yaml",
            good.clone(),
            vec!["--version", "1.29"],
            "1.29",
        ),
        (
            "only.yaml",
            good.clone(),
            vec!["--only", "gang"],
            "--only \"gang\"",
        ),
        (
            "case.yaml",
            good.clone(),
            vec!["--only", "gang_scheduling", "--case", "nope"],
            "--case \"nope\"",
        ),
    ];
    for (file, body, extra, expect) in cases {
        if !body.is_empty() {
            std::fs::write(d.join(file), body).unwrap();
        }
        let out = format!("out-{file}");
        let mut args = vec!["conformance", "--profile", file, "--out", out.as_str()];
        args.extend(extra);
        let o = orrery(&args, &d);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(expect), "{file}: expected {expect:?} in {err}");
        assert!(!err.contains("panicked"), "{file}: {err}");
        assert!(!d.join(&out).exists(), "{file}: wrote output");
    }
}

/// `--profile DIR`: the platform's own objects; each row says what its behaviour rests on.
/// A folder with an object the reader does not know is bad input (exit 2, nothing written).
#[test]
fn profile_folder_scores_with_a_basis_per_row() {
    let d = tmpdir("conf-folder");
    let dir = root().join("scenarios/profiles/fully-conformant");
    let o = orrery(
        &[
            "conformance",
            "--profile",
            &dir.display().to_string(),
            "--version",
            "1.36",
            "--out",
            "out",
            "--quiet",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let md = std::fs::read_to_string(d.join("out/scorecard.md")).unwrap();
    assert!(
        md.contains(
            "| [`gang_scheduling`](#gang-scheduling) | MUST | **PASS** | simulated from configuration |"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "| [`cluster_autoscaling`](#cluster-autoscaling) | MUST | **PASS** | declared only |"
        ),
        "{md}"
    );
    assert!(md.contains("declared: cluster_autoscaler.pools[h100-pool].accelerator"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("out/scorecard.json")).unwrap()).unwrap();
    let row = |id: &str| {
        json["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        row("gang_scheduling")["basis"],
        "simulated from configuration"
    );
    assert_eq!(row("cluster_autoscaling")["basis"], "declared only");
    assert_eq!(row("robust_controller")["basis"], "-");
    // A hand-written profile: every simulable row is declared.
    let h = orrery(
        &[
            "conformance",
            "--profile",
            &profile("fully-conformant"),
            "--only",
            "gang_scheduling",
            "--out",
            "hand",
            "--quiet",
        ],
        &d,
    );
    assert_eq!(h.status.code(), Some(0), "{}", text(&h.stderr));
    let md = std::fs::read_to_string(d.join("hand/scorecard.md")).unwrap();
    assert!(md.contains("| **PASS** | declared only |"), "{md}");
    // An object kind the folder may not hold.
    let bad = d.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), bad.join(e.file_name())).unwrap();
    }
    std::fs::write(
        bad.join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
    )
    .unwrap();
    let b = orrery(
        &[
            "conformance",
            "--profile",
            "bad",
            "--out",
            "badout",
            "--quiet",
        ],
        &d,
    );
    assert_eq!(b.status.code(), Some(2), "{}", text(&b.stderr));
    assert!(
        text(&b.stderr).contains("svc.yaml:1"),
        "{}",
        text(&b.stderr)
    );
    assert!(!d.join("badout").exists());
}
