//! `orrery capacity`, `orrery merge` and `orrery report` end to end: the recommendation
//! against direct runs, byte-identical reruns and shard merges, bad sweep specifications.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use models::PolicyKind;
use reports::capacity::Slo;
use scenarios::DirSource;
use scenarios::vary::{Shake, resize, shake};

/// A small scenario: the first 300 jobs of ITP cluster01 (the bundled default's trace) on
/// 8-GPU H100 nodes.
fn small_scenario(d: &Path) -> String {
    let trace = root().join("scenarios/traces/microsoft-itp-elasticflow/raw/cluster01.csv");
    let yaml = format!(
        "name: itp-cluster01-300\nseed: 42\ncluster:\n  node_pools:\n    - name: h100\n      count: 8\n      \
         cpu_milli: 192000\n      memory_mib: 2097152\n      gpus: 8\n      gpu_model: H100\n      \
         nodes_per_rack: 4\nworkload:\n  traces:\n    - file: {}\n      format: itp\n      limit: 300\n\
         scheduler:\n  policy: gang\n",
        trace.display()
    );
    std::fs::write(d.join("small.yaml"), yaml).unwrap();
    "small.yaml".to_string()
}

const GRID: &[&str] = &[
    "--vary",
    "nodes=8..64:x2",
    "--vary",
    "policy=gang,backfill",
    "--slo",
    "p95_wait<=1h",
    "--slo",
    "jobs_unfinished==0",
    "--seeds",
    "3",
];

fn capacity_ok(d: &Path, sc: &str, extra: &[&str]) -> String {
    let mut args = vec!["capacity", sc];
    args.extend_from_slice(GRID);
    args.extend_from_slice(extra);
    let out = orrery(&args, d);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Every file of a directory, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// capacity_summary.csv as maps from column to cell.
fn summary(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let csv = std::fs::read_to_string(dir.join("capacity_summary.csv")).unwrap();
    let mut lines = csv.lines();
    let h: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            h.iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

/// Whether each of seeds 1..=3 meets every SLO in a direct run at `nodes`.
fn direct_runs_meet(d: &Path, sc: &str, policy: &str, nodes: u32, slos: &[Slo]) -> Vec<bool> {
    direct_runs_meet_seeds(d, sc, policy, nodes, slos, 3)
}

/// Whether each of seeds 1..=n meets every SLO in a direct run at `nodes`, its workload
/// shaken as the sweep does (default jitters).
fn direct_runs_meet_seeds(
    d: &Path,
    sc: &str,
    policy: &str,
    nodes: u32,
    slos: &[Slo],
    n: u64,
) -> Vec<bool> {
    let path = d.join(sc);
    let yaml = std::fs::read_to_string(&path).unwrap();
    let file = scenarios::parse(sc, &yaml).unwrap();
    let src = DirSource(d.to_path_buf());
    let base = scenarios::build_parsed(sc, file.clone(), &src, &checked()).unwrap();
    let def = resize(&file.cluster, Some(nodes), None).unwrap();
    let cluster = scenarios::build_cluster(sc, &def, &src, None).unwrap();
    (1..=n)
        .map(|seed| {
            let w = shake(&base.workload, seed, &Shake::default());
            let mut config = base.config.clone();
            config.seed = seed;
            config.scheduler.policy = PolicyKind::parse(policy).unwrap();
            // A cluster too small for some job cannot run the workload at all.
            let Ok(r) = models::run(cluster.clone(), w, &config, None) else {
                return false;
            };
            let s = reports::summarize("direct", &r);
            slos.iter().all(|slo| {
                let m = reports::capacity::metrics::find(&slo.metric).unwrap();
                slo.met((m.value)(&s))
            })
        })
        .collect()
}

#[test]
fn recommendation_holds_against_direct_runs_and_reruns_are_identical() {
    let d = tmpdir("cap-rec");
    let sc = small_scenario(&d);
    let stdout = capacity_ok(&d, &sc, &["--out", "a", "-q"]);
    assert!(stdout.is_empty(), "{stdout}");
    let rows = summary(&d.join("a"));
    assert_eq!(rows.len(), 2 * 4);
    let slos: Vec<Slo> = ["p95_wait<=1h", "jobs_unfinished==0"]
        .iter()
        .map(|s| Slo::parse(s).unwrap())
        .collect();
    for policy in ["gang", "backfill"] {
        let mine: Vec<&BTreeMap<String, String>> =
            rows.iter().filter(|r| r["policy"] == policy).collect();
        let rec = mine
            .iter()
            .position(|r| r["recommended"] == "true")
            .unwrap_or_else(|| panic!("no recommendation for {policy}: {mine:?}"));
        assert!(
            rec > 0,
            "{policy}: the smallest size already meets the SLOs"
        );
        let nodes: u32 = mine[rec]["nodes"].parse().unwrap();
        let smaller: u32 = mine[rec - 1]["nodes"].parse().unwrap();
        assert_eq!(
            direct_runs_meet(&d, &sc, policy, nodes, &slos),
            vec![true; 3],
            "{policy}: {nodes} nodes"
        );
        assert!(
            direct_runs_meet(&d, &sc, policy, smaller, &slos).contains(&false),
            "{policy}: {smaller} nodes, one step smaller, meets the SLOs on every seed"
        );
    }
    let md = std::fs::read_to_string(d.join("a/capacity.md")).unwrap();
    assert!(md.lines().nth(2).unwrap().starts_with("**Use "), "{md}");
    // Same inputs, byte-identical outputs.
    capacity_ok(&d, &sc, &["--out", "b", "-q"]);
    assert_eq!(files(&d.join("a")), files(&d.join("b")));
}

#[test]
fn sharded_sweep_merged_equals_unsharded_byte_for_byte() {
    let d = tmpdir("cap-shard");
    let sc = small_scenario(&d);
    capacity_ok(&d, &sc, &["--out", "full", "-q"]);
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let out = format!("s{i}");
        let stdout = capacity_ok(&d, &sc, &["--shard", &shard, "--out", &out]);
        assert!(stdout.contains("shard"), "{stdout}");
        assert!(!d.join(&out).join("capacity.html").exists());
    }
    // Shards in any order.
    let out = orrery(&["merge", "s3", "s1", "s2", "--out", "merged", "-q"], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (full, merged) = (files(&d.join("full")), files(&d.join("merged")));
    assert_eq!(
        full.keys().collect::<Vec<_>>(),
        merged.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &full {
        assert!(
            bytes == &merged[name],
            "{name} differs between the full and the merged sweep"
        );
    }
    // A missing shard is an error, not a smaller report.
    let out = orrery(&["merge", "s1", "s2", "--out", "partial"], &d);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing"),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.join("partial").exists());
    // `orrery report` rebuilds the same files from the CSVs.
    let out = orrery(&["report", "full", "--out", "rebuilt", "-q"], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(full, files(&d.join("rebuilt")));
    // The page is self-contained and has its plots.
    let html = String::from_utf8(full["capacity.html"].clone()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "fetches something"
    );
    assert!(!html.contains("<script"));
    assert!(html.matches("<svg").count() >= 8, "plots missing");
    for id in [
        "attainment",
        "timeline_gpu",
        "timeline_queue",
        "cdf_wait",
        "cdf_jct",
        "fragmentation",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(
        !html.contains(&d.display().to_string()),
        "absolute path in the report"
    );
}

#[test]
fn bad_sweep_specifications_fail_before_any_run() {
    let d = tmpdir("cap-bad");
    let sc = small_scenario(&d);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--vary", "nodes=64..32:x2", "--slo", "p95_wait<=1h"],
            "empty range",
        ),
        (&["--vary", "nodes=", "--slo", "p95_wait<=1h"], "no values"),
        (
            &["--vary", "racks=4", "--slo", "p95_wait<=1h"],
            "unknown variable \"racks\"",
        ),
        (&["--slo", "p95_wait<=soon"], "invalid duration"),
        (&["--slo", "latency<=1h"], "unknown metric \"latency\""),
        (&["--slo", "p95_wait"], "expected METRIC OP VALUE"),
        (
            &["--vary", "policy=gang,fifo2", "--slo", "p95_wait<=1h"],
            "unknown policy \"fifo2\"",
        ),
        (&["--slo", "p95_wait<=1h", "--seeds", "0"], "--seeds"),
        (&["--slo", "p95_wait<=1h", "--shard", "4/3"], "--shard"),
        (&["--slo", "p95_wait<=1h", "--load", "fast"], "not a load"),
        (
            &["--slo", "p95_wait<=1h", "--confidence", "2"],
            "--confidence",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["capacity", sc.as_str(), "--out", "never"];
        all.extend_from_slice(args);
        let out = orrery(&all, &d);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!d.join("never").exists(), "{args:?} wrote output");
    }
    // An unreadable scenario is named.
    let out = orrery(
        &[
            "capacity",
            "missing.yaml",
            "--slo",
            "p95_wait<=1h",
            "--out",
            "never",
        ],
        &d,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing.yaml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn report_rebuilds_a_comparison_page() {
    let d = tmpdir("cap-report-compare");
    let sc = bundled("gang-deadlock.yaml");
    let out = orrery(
        &[
            "compare",
            sc.to_str().unwrap(),
            "--policies",
            "default,gang",
            "--seeds",
            "1..2",
            "--out",
            "cmp",
            "-q",
        ],
        &d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = orrery(&["report", "cmp", "-q"], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(d.join("cmp/compare.html")).unwrap();
    // default left both jobs unfinished: flagged on the rebuilt page too.
    assert!(
        html.contains("<td>default ⚠ 2 unfinished</td><td>2</td>"),
        "{html}"
    );
    assert!(html.contains("<td>gang</td><td>2</td>"), "{html}");
    // jct_cdf.svg inline plus one bar chart per plotted metric.
    assert_eq!(html.matches("<svg").count(), 7);
    let out = orrery(&["report", "."], &d);
    assert_eq!(out.status.code(), Some(2));
}

/// Acceptance: the ITP cluster04 trace (15,802 jobs), two policies, five seeds; the
/// recommendation holds against direct runs at that size and one step smaller (128 nodes
/// for both; 96 misses). About 6 s in a debug build on 2 cores.
#[test]
fn itp_cluster04_sweep_recommends_a_size_that_direct_runs_confirm() {
    let d = tmpdir("cap-itp04");
    let yaml = std::fs::read_to_string(bundled("itp-cluster04.yaml"))
        .unwrap()
        .replace(
            "../traces/",
            &format!("{}/", root().join("scenarios/traces").display()),
        );
    std::fs::write(d.join("itp04.yaml"), yaml).unwrap();
    let out = orrery(
        &[
            "capacity",
            "itp04.yaml",
            "--vary",
            "nodes=64..160:+32",
            "--vary",
            "policy=gang,backfill",
            "--slo",
            "p95_wait<=30m",
            "--slo",
            "jobs_unfinished==0",
            "--seeds",
            "5",
            "--out",
            "out",
        ],
        &d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Use "), "{}", text(&out.stdout));
    let rows = summary(&d.join("out"));
    let slos: Vec<Slo> = ["p95_wait<=30m", "jobs_unfinished==0"]
        .iter()
        .map(|s| Slo::parse(s).unwrap())
        .collect();
    for policy in ["gang", "backfill"] {
        let mine: Vec<&BTreeMap<String, String>> =
            rows.iter().filter(|r| r["policy"] == policy).collect();
        let rec = mine
            .iter()
            .position(|r| r["recommended"] == "true")
            .unwrap();
        assert!(
            rec > 0,
            "{policy}: the smallest size already meets the SLOs"
        );
        let nodes: u32 = mine[rec]["nodes"].parse().unwrap();
        let smaller: u32 = mine[rec - 1]["nodes"].parse().unwrap();
        assert_eq!(
            direct_runs_meet_seeds(&d, "itp04.yaml", policy, nodes, &slos, 5),
            vec![true; 5]
        );
        assert!(
            direct_runs_meet_seeds(&d, "itp04.yaml", policy, smaller, &slos, 5).contains(&false)
        );
    }
}

/// Acceptance: the report opens in headless Chromium and shows its plots
/// (scripts/check-report-html.sh: rendered DOM, console log, screenshot). Skipped with a
/// message when Chromium is not installed: `cargo test --test capacity -- --ignored`.
#[test]
#[ignore]
fn report_renders_in_headless_chromium() {
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!("skipped: /usr/bin/chromium missing (apt-get install -y chromium)");
        return;
    }
    let d = tmpdir("cap-chromium");
    let sc = small_scenario(&d);
    capacity_ok(&d, &sc, &["--out", "out", "-q"]);
    let out = std::process::Command::new(root().join("scripts/check-report-html.sh"))
        .arg(d.join("out"))
        .arg(d.join("capacity.png"))
        .output()
        .expect("run scripts/check-report-html.sh");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("ok: "), "{}", text(&out.stdout));
    assert!(std::fs::metadata(d.join("capacity.png")).unwrap().len() > 10_000);
}

/// A policy that leaves jobs unstarted is flagged and never recommended: under `default`
/// the bundled gang deadlock drains at once with both gangs stuck (their wait is unbounded,
/// so "p95_wait<=10m" is missed); under `gang` both run (waits 0 and 100 s).
#[test]
fn unfinished_jobs_are_flagged_and_miss_wait_slos() {
    let d = tmpdir("cap-unfinished");
    let sc = bundled("gang-deadlock.yaml");
    let out = orrery(
        &[
            "capacity",
            sc.to_str().unwrap(),
            "--vary",
            "policy=default,gang",
            "--slo",
            "p95_wait<=10m",
            "--seeds",
            "1",
            "--arrival-jitter",
            "0",
            "--duration-jitter",
            "0",
            "--out",
            "c",
            "-q",
        ],
        &d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = summary(&d.join("c"));
    let get = |p: &str, k: &str| rows.iter().find(|r| r["policy"] == p).unwrap()[k].clone();
    assert_eq!(get("default", "meets_slos"), "false");
    assert_eq!(get("default", "p95_wait_s_mean"), "");
    assert_eq!(get("default", "jobs_never_started_mean"), "2");
    assert_eq!(get("gang", "meets_slos"), "true");
    assert_eq!(get("gang", "p95_wait_s_mean"), "100.000");
    let md = std::fs::read_to_string(d.join("c/capacity.md")).unwrap();
    assert!(
        md.contains("| default | H100 | 1 | 3 | 0 of 1 | no ⚠ 2 unfinished |"),
        "{md}"
    );
    assert!(md.contains("under the gang policy"), "{md}");
    // An SLO both policies meet (busy ratio ≥ 0) at the same cost: grid order alone would
    // pick `default`, which finished nothing; fewest unfinished jobs ranks first.
    let out = orrery(
        &[
            "capacity",
            sc.to_str().unwrap(),
            "--vary",
            "policy=default,gang",
            "--slo",
            "gpu_busy_ratio>=0",
            "--seeds",
            "1",
            "--out",
            "c2",
            "-q",
        ],
        &d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = std::fs::read_to_string(d.join("c2/capacity.md")).unwrap();
    assert!(
        md.contains("| default | H100 | 1 | 3 | 1 of 1 | yes (recommended) ⚠ 2 unfinished |"),
        "{md}"
    );
    assert!(
        md.contains("**Use 3 nodes of H100 under the gang policy"),
        "{md}"
    );
}

#[test]
fn capacity_refuses_what_would_not_reach_training_jobs() {
    // Pollux jobs run for what their profiles give: a duration jitter or a GPU-model
    // variation would change nothing, so they are refused, naming the option.
    let d = tmpdir("cap-pollux");
    let sc = root().join("scenarios/examples/pollux-workload-6.yaml");
    let sc = sc.to_str().expect("utf-8 path");
    for (args, want) in [
        (&["--slo", "p95_wait<=1h"][..], "--duration-jitter 0"),
        (
            &[
                "--slo",
                "p95_wait<=1h",
                "--duration-jitter",
                "0",
                "--vary",
                "gpu_model=A100,H100",
            ][..],
            "--vary gpu_model",
        ),
    ] {
        let mut all = vec!["capacity", sc, "--out", "never"];
        all.extend_from_slice(args);
        let out = orrery(&all, &d);
        let err = text(&out.stderr);
        assert!(
            !out.status.success() && err.contains(want),
            "{all:?}: {err}"
        );
        assert!(!d.join("never").exists());
    }
    let ok = capacity_ok(&d, sc, &["--duration-jitter", "0", "--out", "cap"]);
    assert!(ok.contains("capacity.md"), "{ok}");
}
