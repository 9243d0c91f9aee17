//! `orrery compare` end to end: rows and order, determinism, agreement with `orrery run`,
//! bad input, plots.

mod common;

use std::path::Path;

use common::*;
use models::PolicyKind;

const HEADER: &str = "policy,seed,jobs_completed,jobs_unfinished,jobs_never_started,avg_jct_s,\
p50_jct_s,p99_jct_s,avg_wait_s,p99_wait_s,makespan_s,gpu_allocation_ratio,gpu_busy_ratio,\
gpu_hours_held_idle,gpus_held_stuck,deadlocked_jobs,starved_jobs,preemptions";

const FILES: &[&str] = &[
    "compare.csv",
    "compare.md",
    "jct_cdf.svg",
    "bars_avg_jct_s.svg",
    "bars_p99_wait_s.svg",
    "bars_gpu_allocation_ratio.svg",
    "bars_gpu_busy_ratio.svg",
    "bars_gpu_hours_held_idle.svg",
    "bars_deadlocked_jobs.svg",
];

/// compare.csv as (header, rows of cells); no cell holds a comma.
fn read_csv(path: &Path) -> (String, Vec<Vec<String>>) {
    let csv = std::fs::read_to_string(path).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn col(name: &str) -> usize {
    HEADER.split(',').position(|c| c == name).unwrap()
}

fn compare_ok(args: &[&str], d: &Path) -> String {
    let out = orrery(args, d);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn gang_deadlock_default_deadlocks_and_gang_completes() {
    let d = tmpdir("cmp-deadlock");
    let sc = bundled("gang-deadlock.yaml");
    let stdout = compare_ok(
        &[
            "compare",
            sc.to_str().unwrap(),
            "--policies",
            "default,gang",
            "--seeds",
            "1..3",
            "--out",
            "c",
        ],
        &d,
    );
    let (header, rows) = read_csv(&d.join("c/compare.csv"));
    assert_eq!(header, HEADER);
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("default", "1"),
            ("default", "2"),
            ("default", "3"),
            ("gang", "1"),
            ("gang", "2"),
            ("gang", "3")
        ]
    );
    for r in &rows {
        assert_eq!(r.len(), 18, "{r:?}");
        let (done, stuck) = (&r[col("jobs_completed")], &r[col("deadlocked_jobs")]);
        match r[0].as_str() {
            "default" => {
                assert_eq!((done.as_str(), stuck.as_str()), ("0", "2"), "{r:?}");
                // No job completed: both JCTs are censored at the end of the run (0 s, it
                // drained at once), a lower bound; the row is flagged and ranked last.
                assert_eq!(r[col("avg_jct_s")], "0.000", "{r:?}");
                assert_eq!(r[col("jobs_never_started")], "2", "{r:?}");
                assert_eq!(r[col("gpus_held_stuck")], "6", "{r:?}");
            }
            _ => {
                assert_eq!((done.as_str(), stuck.as_str()), ("2", "0"), "{r:?}");
                assert_eq!(r[col("avg_jct_s")], "150.000", "{r:?}");
                assert_eq!(r[col("p99_wait_s")], "100.000", "{r:?}");
                assert_eq!(r[col("gpu_busy_ratio")], "0.666667", "{r:?}");
            }
        }
    }
    let md = std::fs::read_to_string(d.join("c/compare.md")).unwrap();
    assert!(md.contains("gang-deadlock"), "{md}");
    assert!(md.contains("seeds: 1..3"), "{md}");
    assert!(
        md.contains("| default ⚠ 2 unfinished | 3 | 0 | 2 | 2 |"),
        "{md}"
    );
    assert!(md.contains("| gang | 3 | 2 | 0 | 0 |"), "{md}");
    // default's censored avg JCT (0 s) is below gang's 150 s, but it left both jobs
    // unfinished: it never ranks first.
    let ranking = "Ranking (fewest unfinished jobs first, then lowest mean avg JCT): 1. gang, \
                   2. default ⚠ 2 unfinished";
    assert!(md.contains(ranking), "{md}");
    // The same table and ranking on the terminal.
    assert!(
        stdout.contains("| default ⚠ 2 unfinished | 3 | 0 | 2 | 2 |"),
        "{stdout}"
    );
    assert!(stdout.contains(ranking), "{stdout}");
    for f in FILES {
        assert!(stdout.contains(f), "{f} not reported in {stdout}");
    }
}

/// Every number of a compare row equals the one `orrery run` writes to summary.json for
/// the same (policy, seed), formatted the same way.
fn assert_matches_run(row: &[String], s: &serde_json::Value) {
    let ctx = format!("{row:?} vs {s}");
    assert_eq!(s["policy"], row[0].as_str(), "{ctx}");
    assert_eq!(s["seed"].as_u64().unwrap().to_string(), row[1], "{ctx}");
    let int = |k: &str| s[k].as_u64().unwrap().to_string();
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let secs = |dist: &str, k: &str| {
        if s[dist]["count"].as_u64().unwrap() == 0 {
            String::new()
        } else {
            format!("{:.3}", f(&s[dist][k]))
        }
    };
    let makespan = if s["jobs_completed"].as_u64().unwrap() == 0 {
        String::new()
    } else {
        format!("{:.3}", f(&s["makespan_s"]))
    };
    let expected = [
        ("jobs_completed", int("jobs_completed")),
        ("jobs_unfinished", int("jobs_unfinished")),
        (
            "jobs_never_started",
            s["wait_s"]["censored"].as_u64().unwrap().to_string(),
        ),
        ("avg_jct_s", secs("jct_s", "avg")),
        ("p50_jct_s", secs("jct_s", "p50")),
        ("p99_jct_s", secs("jct_s", "p99")),
        ("avg_wait_s", secs("wait_s", "avg")),
        ("p99_wait_s", secs("wait_s", "p99")),
        ("makespan_s", makespan),
        (
            "gpu_allocation_ratio",
            format!("{:.6}", f(&s["gpu_allocation_ratio"])),
        ),
        ("gpu_busy_ratio", format!("{:.6}", f(&s["gpu_busy_ratio"]))),
        (
            "gpu_hours_held_idle",
            format!("{:.6}", f(&s["gpu_hours_held_idle"])),
        ),
        (
            "gpus_held_stuck",
            format!("{:.0}", f(&s["gpus_held_stuck"])),
        ),
        ("deadlocked_jobs", int("deadlocked_jobs")),
        ("preemptions", int("preemptions")),
    ];
    for (name, want) in expected {
        assert_eq!(row[col(name)], want, "{name}: {ctx}");
    }
}

fn same_as_separate_runs(
    d: &Path,
    scenario: Option<&str>,
    policies: &str,
    seeds: &str,
    runs: usize,
) {
    let mut args = vec!["compare"];
    args.extend(scenario);
    args.extend(["--policies", policies, "--seeds", seeds, "-q"]);
    // Once on every core, once on a single thread: the same bytes.
    for (dir, threads) in [("a", None), ("b", Some("1"))] {
        let mut a = args.clone();
        a.extend(["--out", dir]);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_orrery"));
        cmd.args(&a).current_dir(d);
        if let Some(t) = threads {
            cmd.env("RAYON_NUM_THREADS", t);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{a:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "--quiet prints nothing");
    }
    for f in FILES {
        let a = std::fs::read(d.join("a").join(f)).unwrap();
        let b = std::fs::read(d.join("b").join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs between two identical compares (all cores vs one thread)"
        );
    }
    let (_, rows) = read_csv(&d.join("a/compare.csv"));
    assert_eq!(rows.len(), runs);
    for (i, row) in rows.iter().enumerate() {
        let out = format!("run{i}");
        let mut a = vec!["run"];
        a.extend(scenario);
        a.extend(["--policy", &row[0], "--seed", &row[1], "--out", &out, "-q"]);
        let res = orrery(&a, d);
        assert!(res.status.success(), "{}", text(&res.stderr));
        let s: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(d.join(&out).join("summary.json")).unwrap(),
        )
        .unwrap();
        assert_matches_run(row, &s);
    }
}

#[test]
fn bundled_default_compare_is_deterministic_and_equals_separate_runs() {
    let d = tmpdir("cmp-default");
    same_as_separate_runs(&d, None, "gang,default", "2,1", 4);
    // Policies in the order given, seeds ascending.
    let (_, rows) = read_csv(&d.join("a/compare.csv"));
    let keys: Vec<String> = rows.iter().map(|r| format!("{}/{}", r[0], r[1])).collect();
    assert_eq!(keys, ["gang/1", "gang/2", "default/1", "default/2"]);
    // The wide JCT range of a real trace gets a log axis.
    let cdf = std::fs::read_to_string(d.join("a/jct_cdf.svg")).unwrap();
    assert!(cdf.contains("log scale"));
}

/// With a horizon, jobs that never start are charged the whole observation: under
/// `default` both gangs wait (and are unfinished) from 0 to the 1 h horizon, censored; under
/// `gang` waits are 0 and 100 s, JCTs 100 and 200 s. The run under `gang` ends when it
/// drains (200 s), so its ratios are not diluted over the hour.
#[test]
fn censored_waits_and_ranking_with_a_horizon() {
    let d = tmpdir("cmp-censored");
    let sc = bundled("gang-deadlock.yaml");
    let stdout = compare_ok(
        &[
            "compare",
            sc.to_str().unwrap(),
            "--policies",
            "default,gang",
            "--seeds",
            "1",
            "--horizon",
            "1h",
            "--out",
            "c",
        ],
        &d,
    );
    let (_, rows) = read_csv(&d.join("c/compare.csv"));
    let cells = |r: &[String], names: &[&str]| -> Vec<String> {
        names.iter().map(|n| r[col(n)].clone()).collect()
    };
    let names = [
        "jobs_never_started",
        "avg_wait_s",
        "p99_wait_s",
        "avg_jct_s",
        "gpu_hours_held_idle",
        "gpus_held_stuck",
        "gpu_allocation_ratio",
    ];
    assert_eq!(
        cells(&rows[0], &names),
        [
            "2", "3600.000", "3600.000", "3600.000", "6.000000", "6", "1.000000"
        ]
    );
    assert_eq!(
        cells(&rows[1], &names),
        [
            "0", "50.000", "100.000", "150.000", "0.000000", "0", "0.666667"
        ]
    );
    assert!(
        stdout.contains("1. gang, 2. default ⚠ 2 unfinished"),
        "{stdout}"
    );
}

#[test]
fn gang_deadlock_compare_equals_separate_runs() {
    let d = tmpdir("cmp-deadlock-runs");
    let sc = bundled("gang-deadlock.yaml");
    same_as_separate_runs(&d, Some(sc.to_str().unwrap()), "default,gang", "1..3", 6);
}

#[test]
fn the_default_seed_is_the_scenarios() {
    let d = tmpdir("cmp-seed");
    let sc = bundled("gang-deadlock.yaml");
    compare_ok(
        &[
            "compare",
            sc.to_str().unwrap(),
            "--policies",
            "gang",
            "--out",
            "c",
        ],
        &d,
    );
    let (_, rows) = read_csv(&d.join("c/compare.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0][0].as_str(), rows[0][1].as_str()), ("gang", "42"));
}

#[test]
fn every_listed_policy_can_be_compared() {
    // Whatever PolicyKind::names() lists is accepted, in the order given; the elastic
    // ones (training jobs only) are compared on a Pollux workload below.
    let d = tmpdir("cmp-all");
    let sc = bundled("gang-deadlock.yaml");
    let any: Vec<&str> = PolicyKind::any_workload()
        .iter()
        .map(|p| p.name())
        .collect();
    assert!(any.len() < PolicyKind::names().len() && !any.contains(&"optimus"));
    let all = any.join(",");
    compare_ok(
        &[
            "compare",
            sc.to_str().unwrap(),
            "--policies",
            &all,
            "--seeds",
            "1",
            "--out",
            "c",
            "-q",
        ],
        &d,
    );
    let (_, rows) = read_csv(&d.join("c/compare.csv"));
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, any);
}

#[test]
fn an_elastic_policy_on_a_workload_without_profiles_is_refused() {
    let d = tmpdir("cmp-elastic-refused");
    let sc = bundled("gang-deadlock.yaml");
    let out = orrery(
        &[
            "compare",
            sc.to_str().unwrap(),
            "--policies",
            "gang,optimus",
            "--out",
            "c",
        ],
        &d,
    );
    assert!(!out.status.success());
    let e = text(&out.stderr);
    assert!(e.contains("optimus") && e.contains("pollux"), "{e}");
    assert!(!d.join("c/compare.csv").exists());
}

/// Bad input: exit code 2, the message contains every `needle`, no panic, and no output
/// directory.
fn rejects(d: &Path, args: &[&str], needles: &[&str]) {
    let out = orrery(args, d);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "args {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "args {args:?}: {n:?} not in {err}");
    }
    assert!(
        !d.join("never").exists(),
        "output written despite the error"
    );
}

#[test]
fn bad_inputs_get_clear_errors_and_exit_code_2() {
    let d = tmpdir("cmp-bad");
    let sc = bundled("gang-deadlock.yaml");
    let sc = sc.to_str().unwrap();
    let with = |policies: &'static str, seeds: &'static str| {
        vec![
            "compare",
            sc,
            "--policies",
            policies,
            "--seeds",
            seeds,
            "--out",
            "never",
        ]
    };
    let mut unknown = vec!["unknown policy \"nope\""];
    unknown.extend(PolicyKind::names());
    rejects(&d, &with("default,nope", "1"), &unknown);
    rejects(&d, &with("", "1"), &["--policies: no policy given", "gang"]);
    rejects(&d, &with(" , ", "1"), &["--policies: no policy given"]);
    rejects(&d, &with("gang,gang", "1"), &["listed twice"]);
    rejects(
        &d,
        &with("gang", "5..1"),
        &["--seeds", "\"5..1\"", "empty range"],
    );
    rejects(&d, &with("gang", "x"), &["--seeds", "\"x\" is not a seed"]);
    rejects(&d, &with("gang", "1,,2"), &["--seeds", "empty item"]);
    rejects(&d, &with("gang", "1..x"), &["--seeds", "\"1..x\""]);
    rejects(
        &d,
        &[
            "compare",
            "nope.yaml",
            "--policies",
            "gang",
            "--out",
            "never",
        ],
        &["cannot read nope.yaml", "No such file"],
    );
    // --policies is required (clap's usage error, also exit 2).
    rejects(&d, &["compare", sc, "--out", "never"], &["--policies"]);
}

#[test]
fn plots_are_svg_and_name_every_policy() {
    let d = tmpdir("cmp-svg");
    let sc = bundled("gang-deadlock.yaml");
    compare_ok(
        &[
            "compare",
            sc.to_str().unwrap(),
            "--policies",
            "gang,default",
            "--seeds",
            "1,2",
            "--out",
            "c",
            "-q",
        ],
        &d,
    );
    for f in FILES.iter().filter(|f| f.ends_with(".svg")) {
        let svg = std::fs::read_to_string(d.join("c").join(f)).unwrap();
        assert!(svg.starts_with("<svg"), "{f}");
        assert!(svg.trim_end().ends_with("</svg>"), "{f}");
        assert!(svg.len() > 2000, "{f} is only {} bytes", svg.len());
        for p in ["gang", "default"] {
            assert!(svg.contains(p), "{f} does not name {p}");
        }
    }
    let bars = std::fs::read_to_string(d.join("c/bars_deadlocked_jobs.svg")).unwrap();
    assert!(bars.contains("Deadlocked jobs"), "{bars}");
    // default completes nothing on this scenario: its JCT bar is a censored lower bound
    // (0 s, the run drained at once) and is flagged as such.
    let jct = std::fs::read_to_string(d.join("c/bars_avg_jct_s.svg")).unwrap();
    assert!(jct.contains("default ⚠ 2 unfinished"), "{jct}");
    assert!(!jct.contains("gang ⚠"), "{jct}");
}

/// Issue 19: a rigid policy (Tiresias, the trace's GPU counts) and an elastic one
/// (Optimus+Oracle, which resizes every job each 60 s round) on the same Pollux workload,
/// with the invariants checked at every instant. The figures are those `orrery run`
/// gives; Optimus' agrees with the artefact's 5,302 s on this workload within 1 %,
/// Pollux's with its 2,446 s within 5.1 %.
#[test]
fn rigid_and_elastic_policies_compare_on_a_pollux_workload() {
    let d = tmpdir("cmp-pollux");
    let sc = root().join("scenarios/examples/pollux-workload-6.yaml");
    compare_ok(
        &[
            "compare",
            sc.to_str().unwrap(),
            "--policies",
            "tiresias,optimus,pollux",
            "--out",
            "c",
        ],
        &d,
    );
    let (_, rows) = read_csv(&d.join("c/compare.csv"));
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_str(),
                r[col("jobs_completed")].as_str(),
                r[col("avg_jct_s")].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("tiresias", "160", "3754.881"),
            ("optimus", "160", "5263.819"),
            ("pollux", "160", "2570.794")
        ]
    );
    let _ = std::fs::remove_dir_all(&d);
}
