//! `orrery run` end to end: the bundled default, determinism, and bad input.

mod common;

use common::*;

#[test]
fn bundled_default_runs_and_writes_results() {
    let d = tmpdir("bundled");
    let out = orrery(&["run", "--out", "res"], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("1595 total: 1595 completed, 0 unfinished"),
        "{stdout}"
    );
    assert!(stdout.contains("22740.1 GPU-hours"), "{stdout}");
    let csv = std::fs::read_to_string(d.join("res/jobs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 1595);
    assert!(csv.starts_with("id,submit_s,start_s,end_s,wait_s,jct_s,gpus,pods,nodes,outcome\n"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("res/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["jobs_completed"], 1595);
    assert_eq!(summary["policy"], "gang");
}

/// `orrery default-scenario > my.yaml && orrery run my.yaml` works from a folder outside
/// the repository (the printed trace name is the compiled-in copy) and replays exactly what
/// `orrery run` with no file does; a relative path that does not resolve names the folder
/// it is relative to.
#[test]
fn printed_default_scenario_runs_from_any_folder() {
    let d = tmpdir("printed-default");
    let printed = orrery(&["default-scenario"], &d);
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    let yaml = text(&printed.stdout);
    assert!(
        yaml.contains("file: bundled:traces/microsoft-itp-elasticflow/raw/cluster01.csv"),
        "{yaml}"
    );
    std::fs::write(d.join("my.yaml"), &yaml).unwrap();
    for (args, dir) in [
        (vec!["run", "my.yaml", "--out", "mine"], "mine"),
        (vec!["run", "--out", "bundled"], "bundled"),
    ] {
        let out = orrery(&args, &d);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(d.join(dir).join("jobs.csv").is_file());
    }
    let a = std::fs::read(d.join("mine/jobs.csv")).unwrap();
    let b = std::fs::read(d.join("bundled/jobs.csv")).unwrap();
    assert!(
        a == b,
        "the printed default replays differently from the bundled one"
    );

    // The repository's own copy names the trace relative to scenarios/bundled/: outside
    // the repository the error says what it was relative to.
    std::fs::write(
        d.join("relative.yaml"),
        yaml.replace("bundled:traces/", "../traces/"),
    )
    .unwrap();
    let out = orrery(&["run", "relative.yaml", "--out", "rel"], &d);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("workload.traces[0].file: cannot read ../traces/microsoft-itp-elasticflow/raw/cluster01.csv (relative to the scenario's folder "),
        "{err}"
    );
    assert!(!d.join("rel").exists(), "nothing written on a failed load");
    // An unknown compiled-in name lists the ones there are.
    std::fs::write(
        d.join("unknown.yaml"),
        yaml.replace("bundled:traces/microsoft", "bundled:traces/nosuch"),
    )
    .unwrap();
    let out = orrery(&["run", "unknown.yaml", "--out", "unk"], &d);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("not one of the files compiled into the binary (bundled:traces/microsoft-itp-elasticflow/raw/cluster01.csv)"),
        "{err}"
    );
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let d = tmpdir("same-seed");
    for dir in ["a", "b"] {
        let out = orrery(&["run", "--seed", "7", "--out", dir], &d);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    for f in ["jobs.csv", "summary.json"] {
        let a = std::fs::read(d.join("a").join(f)).unwrap();
        let b = std::fs::read(d.join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs between two runs with the same seed");
    }
}

#[test]
fn a_different_seed_changes_seeded_choices() {
    let d = tmpdir("other-seed");
    for (dir, seed) in [("s1", "1"), ("s2", "2")] {
        let out = orrery(&["run", "--seed", seed, "--out", dir], &d);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let read = |dir: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(dir).join("summary.json")).unwrap())
            .unwrap()
    };
    let (a, b) = (read("s1"), read("s2"));
    // Score ties among the 16 identical nodes are broken by the seeded Chooser.
    assert!(a["choices"].as_u64().unwrap() > 0);
    assert_ne!(a["choices_fingerprint"], b["choices_fingerprint"]);
}

#[test]
fn random_pod_order_is_seeded_and_decides_whether_gangs_deadlock() {
    // Two 4-pod gangs on 6 GPUs, pods queued in a seeded random order. The default
    // scheduler avoids deadlock only if one job's four pods are all among the first six
    // queued: 30 of the 70 equally likely orders (3/7). Over ten seeds both outcomes occur,
    // and each seed always gives the same one.
    let d = tmpdir("random-order");
    let yaml = std::fs::read_to_string(bundled("gang-deadlock.yaml"))
        .unwrap()
        .replace("pod_order: interleaved", "pod_order: random");
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    let mut stuck_seeds = Vec::new();
    for seed in 1..=10 {
        let s = seed.to_string();
        let outcome = |dir: &str| {
            let out = orrery(&["run", "s.yaml", "--seed", &s, "--out", dir, "-q"], &d);
            assert!(out.status.success(), "{}", text(&out.stderr));
            std::fs::read_to_string(d.join(dir).join("jobs.csv")).unwrap()
        };
        let first = outcome("x");
        assert_eq!(first, outcome("y"), "seed {seed} is not reproducible");
        if first.contains(",stuck") {
            stuck_seeds.push(seed);
        } else {
            assert_eq!(first.matches(",completed").count(), 2, "{first}");
        }
    }
    assert!(
        !stuck_seeds.is_empty() && stuck_seeds.len() < 10,
        "expected both outcomes over ten seeds, stuck on {stuck_seeds:?}"
    );
}

#[test]
fn gang_deadlock_scenario_reports_stuck_jobs_not_finished_ones() {
    let d = tmpdir("deadlock");
    let path = bundled("gang-deadlock.yaml");
    let p = path.to_str().unwrap();
    let out = orrery(&["run", p, "--out", "dl"], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("0 completed, 2 unfinished (2 stuck)"),
        "{stdout}"
    );
    assert!(stdout.contains("WARNING"), "{stdout}");
    let csv = std::fs::read_to_string(d.join("dl/jobs.csv")).unwrap();
    assert_eq!(csv.matches(",stuck\n").count(), 2, "{csv}");
    // The run ends at its first instant; the deadlocked state it ends in lasts for ever:
    // all six GPUs allocated, none busy.
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("dl/summary.json")).unwrap()).unwrap();
    assert_eq!(s["gpu_allocation_ratio"], 1.0);
    assert_eq!(s["gpu_busy_ratio"], 0.0);
    assert_eq!(s["deadlocked_jobs"], 2);
    let out = orrery(&["run", p, "--policy", "gang", "--out", "g"], &d);
    assert!(out.status.success());
    let csv = std::fs::read_to_string(d.join("g/jobs.csv")).unwrap();
    assert!(csv.contains("A,0,0,100,0,100,4,4,"), "{csv}");
    assert!(csv.contains("B,0,100,200,100,200,4,4,"), "{csv}");
}

/// Run with bad input: exit code 2, the message contains every `needle`, no panic, and
/// no output directory.
fn rejects(d: &std::path::Path, args: &[&str], needles: &[&str]) {
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
    let d = tmpdir("bad");
    let good = std::fs::read_to_string(bundled("gang-deadlock.yaml")).unwrap();
    let write = |name: &str, body: &str| std::fs::write(d.join(name), body).unwrap();

    // Missing file.
    rejects(
        &d,
        &["run", "nope.yaml", "--out", "never"],
        &["cannot read nope.yaml", "No such file"],
    );

    // Malformed CSV row (too few fields) in a real-format trace.
    write(
        "short.csv",
        "job_id,submission_time,duration,num_gpu\na,0,10,1\nb,5,20\n",
    );
    rejects(
        &d,
        &[
            "run",
            "short.csv",
            "--trace-format",
            "itp",
            "--out",
            "never",
        ],
        &["short.csv:3"],
    );

    // Unknown trace format, on the command line and in a scenario.
    rejects(
        &d,
        &[
            "run",
            "short.csv",
            "--trace-format",
            "alibaba",
            "--out",
            "never",
        ],
        &[
            "unknown trace format \"alibaba\"",
            "openb, itp, philly, pollux, orrery-csv",
        ],
    );
    write(
        "fmt.yaml",
        &good.replace(
            "  pod_order: interleaved\n",
            "  pod_order: interleaved\n  traces:\n    - {file: short.csv, format: alibaba}\n",
        ),
    );
    rejects(
        &d,
        &["run", "fmt.yaml", "--out", "never"],
        &["fmt.yaml", "alibaba"],
    );

    // A trace CSV without a format.
    rejects(
        &d,
        &["run", "short.csv", "--out", "never"],
        &["--trace-format"],
    );

    // Negative and non-numeric resources.
    write(
        "neg.yaml",
        &good.replace("cpu_milli: 32000", "cpu_milli: -4000"),
    );
    rejects(
        &d,
        &["run", "neg.yaml", "--out", "never"],
        &["neg.yaml:12:", "non-negative"],
    );
    write("nan.yaml", &good.replace("gpus: 2", "gpus: two"));
    rejects(
        &d,
        &["run", "nan.yaml", "--out", "never"],
        &["nan.yaml:14:"],
    );
    write(
        "neg.csv",
        "job_id,submission_time,duration,num_gpu\na,0,10,-1\n",
    );
    rejects(
        &d,
        &["run", "neg.csv", "--trace-format", "itp", "--out", "never"],
        &["neg.csv:2", "num_gpu", "\"-1\""],
    );
    write(
        "word.csv",
        "id,submit,duration,pods,gpus_per_pod\nj1,0,1h,two,1\n",
    );
    rejects(
        &d,
        &[
            "run",
            "word.csv",
            "--trace-format",
            "orrery-csv",
            "--out",
            "never",
        ],
        &["word.csv:2", "pods", "\"two\""],
    );

    // A pod larger than any node.
    write(
        "big.yaml",
        &good.replace("gpus_per_pod: 1}", "gpus_per_pod: 3}"),
    );
    rejects(
        &d,
        &["run", "big.yaml", "--out", "never"],
        &[
            "job \"A\" pod 0",
            "3 GPUs",
            "no node could ever hold it",
            "2 GPUs",
        ],
    );

    // Unknown YAML key.
    write(
        "key.yaml",
        &good.replace("seed: 42", "seed: 42\nhorizn: 5d"),
    );
    rejects(
        &d,
        &["run", "key.yaml", "--out", "never"],
        &["key.yaml", "unknown field `horizn`", "horizon"],
    );

    // Unknown policy and a bad horizon on the command line.
    rejects(
        &d,
        &["run", "--policy", "yarn", "--out", "never"],
        &["unknown policy \"yarn\""],
    );
    rejects(
        &d,
        &["run", "--horizon", "5 fortnights", "--out", "never"],
        &["--horizon"],
    );
}

#[test]
fn help_explains_every_option() {
    let d = tmpdir("help");
    let out = orrery(&["run", "--help"], &d);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for opt in [
        "--seed",
        "--out",
        "--trace-format",
        "--policy",
        "--horizon",
        "EXIT CODES",
    ] {
        assert!(help.contains(opt), "{opt} missing from --help:\n{help}");
    }
}

/// `orrery snapshot`: a live cluster's nodes and pods become a scenario whose initial state
/// is the cluster's. Hand-derived (scenarios/kubernetes/snapshot/NOTE.md): finetune-7b
/// (8 GPUs, pinned to gpu-a) and eval-small (4 GPUs, pinned to gpu-b) run from 0 to 3600 s
/// (`--remaining 1h`); the pending Job train-13b (2 × 4 GPUs) binds one pod to gpu-b's 4
/// free GPUs at once, waits for the other until 3600 s and runs 30 min, to 5400 s; the
/// kube-system DaemonSet pod and the Succeeded pod are left out.
#[test]
fn snapshot_of_a_live_cluster_runs_from_its_state() {
    let d = tmpdir("snapshot");
    let fx = root().join("scenarios/kubernetes/snapshot");
    let (nodes, pods) = (fx.join("nodes.yaml"), fx.join("pods.yaml"));
    let (nodes_s, pods_s) = (nodes.display().to_string(), pods.display().to_string());
    // `orrery snapshot` of the fixture's nodes and pods, with `extra` arguments, into `out`.
    let snap = |extra: &[&str], out: &str| {
        let mut a = vec!["snapshot", "--nodes", &nodes_s, "--pods", &pods_s];
        a.extend_from_slice(extra);
        a.extend_from_slice(&[
            "--remaining",
            "1h",
            "--pending-run-time",
            "30m",
            "--skip-namespace",
            "kube-system",
            "--out",
            out,
        ]);
        orrery(&a, &d)
    };
    let s = snap(&[], "snap");
    assert!(s.status.success(), "{}", text(&s.stderr));
    assert!(
        text(&s.stdout)
            .contains("2 nodes, 2 running pods (each constrained to its node), 1 pending gangs"),
        "{}",
        text(&s.stdout)
    );
    for f in ["scenario.yaml", "nodes.yaml", "pods.yaml"] {
        assert!(d.join("snap").join(f).is_file(), "{f}");
    }
    let r = orrery(&["run", "snap/scenario.yaml", "--out", "run"], &d);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let jobs = std::fs::read_to_string(d.join("run/jobs.csv")).unwrap();
    let row = |id: &str| -> Vec<String> {
        jobs.lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap_or_else(|| panic!("{id} not in\n{jobs}"))
            .split(',')
            .map(String::from)
            .collect()
    };
    // id,submit_s,start_s,end_s,...
    assert_eq!(row("research/finetune-7b")[2..4], ["0", "3600"]);
    assert_eq!(row("research/eval-small")[2..4], ["0", "3600"]);
    assert_eq!(row("research/Job/train-13b")[2..4], ["3600", "5400"]);
    assert_eq!(jobs.lines().count(), 1 + 3, "{jobs}");
    // Pinned: each running pod is on the node the cluster had it on.
    let pods_csv = std::fs::read_to_string(d.join("run/pods.csv")).unwrap();
    assert!(
        pods_csv
            .lines()
            .any(|l| l.starts_with("research/finetune-7b-0,") && l.contains(",gpu-a,")),
        "{pods_csv}"
    );
    assert!(
        pods_csv
            .lines()
            .any(|l| l.starts_with("research/eval-small-0,") && l.contains(",gpu-b,")),
        "{pods_csv}"
    );
    // Bad input: a pod file that is not Pods; exit 2, nothing written.
    std::fs::write(
        d.join("bad.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
    )
    .unwrap();
    let b = orrery(
        &[
            "snapshot",
            "--nodes",
            &nodes.display().to_string(),
            "--pods",
            "bad.yaml",
            "--remaining",
            "1h",
            "--pending-run-time",
            "1h",
            "--out",
            "bad",
        ],
        &d,
    );
    assert_eq!(b.status.code(), Some(2), "{}", text(&b.stderr));
    assert!(
        text(&b.stderr).contains("bad.yaml:1: kind \"Service\""),
        "{}",
        text(&b.stderr)
    );
    assert!(!d.join("bad").exists());
    // Kueue's queues as the one `List` that `kubectl get resourceflavors,clusterqueues,
    // localqueues -A -o yaml` prints: read as is (no splitting). The fixture's pods carry
    // no queue-name label, so all three jobs go to the first ClusterQueue, team-a, which
    // can never get more than 6 GPUs (4 nominal + 2 borrowed): finetune-7b's 8 GPUs can
    // never be admitted, and the snapshot is refused (exit 2, nothing written).
    let list = root().join("scenarios/kubernetes/kueue/cohort-teams-list.yaml");
    let k = snap(&["--kueue", &list.display().to_string()], "snap-kueue");
    assert_eq!(k.status.code(), Some(2), "{}", text(&k.stderr));
    let e = text(&k.stderr);
    assert!(
        e.contains("cannot start")
            && e.contains("research/finetune-7b")
            && e.contains("needs 8 GPUs")
            && e.contains("more than 6")
            && e.contains("queue-name"),
        "{e}"
    );
    assert!(!d.join("snap-kueue").exists());
    // One ClusterQueue of 32 GPUs, as a List: every job fits its quota (8 + 4 + 8 = 20
    // GPUs), so Kueue admits all three at 0 s and the timeline is the one above.
    std::fs::write(
        d.join("queue-list.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: kueue.x-k8s.io/v1beta1\n  kind: ResourceFlavor\n  metadata: {name: default-flavor}\n- apiVersion: kueue.x-k8s.io/v1beta1\n  kind: ClusterQueue\n  metadata: {name: all}\n  spec:\n    namespaceSelector: {}\n    resourceGroups:\n    - coveredResources: [nvidia.com/gpu]\n      flavors:\n      - name: default-flavor\n        resources:\n        - {name: nvidia.com/gpu, nominalQuota: 32}\n",
    )
    .unwrap();
    let k = snap(&["--kueue", "queue-list.yaml"], "snap-kueue");
    assert!(k.status.success(), "{}", text(&k.stderr));
    let sc = std::fs::read_to_string(d.join("snap-kueue/scenario.yaml")).unwrap();
    assert!(sc.contains("policy: kueue"), "{sc}");
    let r = orrery(
        &["run", "snap-kueue/scenario.yaml", "--out", "run-kueue"],
        &d,
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let kjobs = std::fs::read_to_string(d.join("run-kueue/jobs.csv")).unwrap();
    let times = |csv: &str, id: &str| -> Vec<String> {
        let l = csv
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap_or_else(|| panic!("{id} not in\n{csv}"));
        l.split(',').skip(2).take(2).map(String::from).collect()
    };
    assert_eq!(times(&kjobs, "research/finetune-7b"), ["0", "3600"]);
    assert_eq!(times(&kjobs, "research/eval-small"), ["0", "3600"]);
    assert_eq!(times(&kjobs, "research/Job/train-13b"), ["3600", "5400"]);
}
