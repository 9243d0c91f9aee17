//! `orrery verify` / `orrery replay-witness` end to end on the bundled §8 scenarios
//! (scheduling-semantics.md §8: the smallest deadlock/livelock case of each real system).

mod common;

use common::{orrery, root, text, tmpdir};
use serde_json::Value;

fn verify_dir(name: &str, args: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let d = tmpdir(name);
    let out = d.join("v");
    let mut a: Vec<&str> = vec!["verify"];
    a.extend_from_slice(args);
    let o = out.to_str().unwrap().to_string();
    a.extend_from_slice(&["--out", &o, "--quiet"]);
    let r = orrery(&a, &root());
    (r, out)
}

fn report(dir: &std::path::Path) -> Value {
    let s = std::fs::read_to_string(dir.join("verify.json")).expect("verify.json");
    serde_json::from_str(&s).expect("valid JSON")
}

#[test]
fn kueue_documented_deadlock_found_shrunk_and_replayed_byte_for_byte() {
    let sc = "scenarios/bundled/verify/kueue-overquota.yaml";
    let (r, dir) = verify_dir("kueue-doc", &[sc]);
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    let v = report(&dir);
    assert_eq!(v["exploration"]["deadlock"], "VIOLATION");
    // Random mode: found within the first few schedules.
    let found = &v["exploration"]["deadlock_found"];
    assert!(found["schedule"].as_u64().unwrap() < 5, "{found}");
    // Shrunk to two jobs on a minimal cluster: 2 gangs of 2 pods on 2 GPUs (§8's case).
    let s = &v["shrunk"];
    assert_eq!(
        (s["jobs"].as_u64(), s["pods"].as_u64(), s["gpus"].as_u64()),
        (Some(2), Some(4), Some(2)),
        "{s}"
    );
    // The wait-for cycle, as DOT.
    let dot = std::fs::read_to_string(dir.join("waitfor.dot")).unwrap();
    assert!(dot.starts_with("digraph waitfor {"));
    assert!(dot.contains("\"job-1\" -> \"job-2\"") && dot.contains("\"job-2\" -> \"job-1\""));
    // The documented mitigation (waitForPodsReady with blockAdmission) fixes it; the
    // v1beta2 default (no blockAdmission) trades the deadlock for a livelock.
    let m = v["mitigations"].as_array().unwrap();
    let get = |n: &str| m.iter().find(|x| x["name"] == n).unwrap();
    assert_eq!(get("kueue-wait-for-pods-ready")["fixes"], true);
    assert_eq!(get("coscheduling")["fixes"], true);
    assert_eq!(get("gang")["fixes"], true);
    // waitForPodsReady is what fixes it: Kueue admission without it (same quota) does not.
    assert_eq!(get("kueue-admission")["fixes"], false);
    let wfpr = get("kueue-wait-for-pods-ready")["label"].as_str().unwrap();
    assert!(wfpr.starts_with("waitForPodsReady fixes it"), "{wfpr}");
    let nb = &get("kueue-wait-for-pods-ready-no-block")["shrunk"];
    assert_eq!(nb["deadlock"], "VERIFIED");
    assert_eq!(nb["livelock"], "VIOLATION");
    // replay-witness reproduces the violation byte for byte.
    let again = dir.parent().unwrap().join("replay");
    let r = orrery(
        &[
            "replay-witness",
            dir.join("witness.json").to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(text(&r.stdout).contains("Reproduced: deadlock of job-1, job-2"));
    for f in ["waitfor.dot", "violation.json"] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn gang_layers_verified_with_complete_coverage_on_the_kueue_case() {
    // 4 nodes, 2 gangs each needing 75 % of the GPUs, quota twice the cluster.
    let sc = "scenarios/bundled/verify/kueue-overquota-small.yaml";
    let (r, dir) = verify_dir("kueue-small-kueue", &[sc, "--exhaustive"]);
    assert_eq!(r.status.code(), Some(3), "plain kueue deadlocks");
    assert_eq!(report(&dir)["exploration"]["deadlock"], "VIOLATION");
    for (policy, extra) in [
        ("coscheduling", None),
        ("k8s-gang", None),
        ("kueue", Some("wfpr")),
        ("gang", None),
    ] {
        let mut args = vec![sc, "--exhaustive", "--policy", policy];
        let wfpr_sc;
        if extra.is_some() {
            // The same scenario with waitForPodsReady turned on (blockAdmission default).
            let d = tmpdir("kueue-small-wfpr");
            let y = std::fs::read_to_string(root().join(sc))
                .unwrap()
                .replace("enable: false", "enable: true");
            wfpr_sc = d.join("wfpr.yaml");
            std::fs::write(&wfpr_sc, y).unwrap();
            args[0] = wfpr_sc.to_str().unwrap();
        }
        let (r, dir) = verify_dir(&format!("kueue-small-{policy}"), &args);
        let v = report(&dir);
        assert_eq!(
            v["exploration"]["deadlock"],
            "VERIFIED",
            "{policy}: {}",
            text(&r.stderr)
        );
        assert_eq!(
            v["exploration"]["coverage"]["complete"], true,
            "{policy}: {}",
            v["exploration"]["coverage"]
        );
        let md = std::fs::read_to_string(dir.join("verify.md")).unwrap();
        assert!(md.contains("coverage complete"), "{md}");
    }
}

#[test]
fn four_gangs_on_four_nodes_verified_under_coscheduling_gang_and_kueue_wfpr() {
    let sc = "scenarios/bundled/verify/four-gangs.yaml";
    for policy in ["coscheduling", "gang"] {
        let (r, dir) = verify_dir(
            &format!("four-{policy}"),
            &[sc, "--exhaustive", "--policy", policy],
        );
        assert!(r.status.success(), "{policy}: {}", text(&r.stderr));
        let v = report(&dir);
        assert_eq!(v["exploration"]["deadlock"], "VERIFIED");
        assert_eq!(v["exploration"]["livelock"], "VERIFIED");
        assert_eq!(v["exploration"]["coverage"]["complete"], true);
    }
    let (r, _) = verify_dir("four-kueue", &[sc, "--exhaustive"]);
    assert_eq!(
        r.status.code(),
        Some(3),
        "kueue without waitForPodsReady deadlocks"
    );
    let (r, dir) = verify_dir(
        "four-kueue-wfpr",
        &[
            "scenarios/bundled/verify/four-gangs-kueue-wfpr.yaml",
            "--exhaustive",
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let v = report(&dir);
    assert_eq!(v["exploration"]["deadlock"], "VERIFIED");
    assert_eq!(v["exploration"]["livelock"], "VERIFIED");
    assert_eq!(v["exploration"]["coverage"]["complete"], true);
}

#[test]
fn short_coscheduling_timeout_symmetric_gangs_proven_free() {
    let sc = "scenarios/bundled/verify/coscheduling-short-timeout.yaml";
    let (r, dir) = verify_dir("cosched-short", &[sc, "--exhaustive"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let v = report(&dir);
    assert_eq!(v["exploration"]["deadlock"], "VERIFIED");
    assert_eq!(v["exploration"]["livelock"], "VERIFIED");
    assert_eq!(v["exploration"]["coverage"]["complete"], true);
    assert_eq!(v["exploration"]["coverage"]["cycles"], 0);
}

#[test]
fn kep_4671_alpha_livelock_is_reported_with_its_cycle() {
    let sc = "scenarios/bundled/verify/k8s-gang-2gang.yaml";
    let (r, dir) = verify_dir("k8s-gang", &[sc, "--exhaustive"]);
    assert_eq!(r.status.code(), Some(3));
    let v = report(&dir);
    assert_eq!(v["exploration"]["deadlock"], "VERIFIED");
    assert_eq!(v["exploration"]["coverage"]["complete"], true);
    assert_eq!(v["exploration"]["livelock"], "VIOLATION");
    let detail = v["exploration"]["livelock_found"]["violation"]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    // a1/b1 wait at Permit from t=0; both time out at 5 min and the interleaving recurs.
    assert!(detail.contains("repeats"), "{detail}");
}

#[test]
fn kube_default_and_rare_order_deadlocks() {
    let (r, dir) = verify_dir(
        "kube-default",
        &["scenarios/bundled/verify/kube-default-2gang.yaml"],
    );
    assert_eq!(r.status.code(), Some(3));
    assert_eq!(report(&dir)["exploration"]["deadlock"], "VIOLATION");

    // A single run in the scenario's (input) order completes every job …
    let sc = "scenarios/bundled/verify/rare-order.yaml";
    let d = tmpdir("rare-run");
    let r = orrery(
        &["run", sc, "--out", d.to_str().unwrap(), "--quiet"],
        &root(),
    );
    assert!(r.status.success());
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["jobs_completed"], 3);
    assert_eq!(s["deadlocked_jobs"], 0);
    // … the first (default-order) schedule of exhaustive mode too; a later one deadlocks.
    let (r, dir) = verify_dir("rare", &[sc, "--exhaustive", "--no-pod-order"]);
    assert_eq!(r.status.code(), Some(3));
    let v = report(&dir);
    let f = &v["exploration"]["deadlock_found"];
    assert!(f["schedule"].as_u64().unwrap() > 0);
    assert_eq!(f["violation"]["jobs"], serde_json::json!(["G", "H"]));
}

#[test]
fn volcano_gang_commits_atomically_in_the_model() {
    let (r, dir) = verify_dir(
        "volcano",
        &["scenarios/bundled/verify/volcano-3373.yaml", "--exhaustive"],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let v = report(&dir);
    assert_eq!(v["exploration"]["deadlock"], "VERIFIED");
    assert_eq!(v["exploration"]["coverage"]["complete"], true);
}

#[test]
fn head_of_line_starvation_is_reported_by_run() {
    let starved = |sc: &str, policy: Option<&str>| {
        let d = tmpdir("hol");
        let mut a = vec!["run", sc, "--out", d.to_str().unwrap(), "--quiet"];
        if let Some(p) = policy {
            a.extend_from_slice(&["--policy", p]);
        }
        let r = orrery(&a, &root());
        assert!(r.status.success(), "{}", text(&r.stderr));
        let s: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap())
                .unwrap();
        s["starved_jobs"].as_u64().unwrap()
    };
    // Strict FIFO: the three 1-GPU jobs wait behind the 2-GPU head while a GPU is idle.
    assert_eq!(starved("scenarios/bundled/verify/fifo-hol.yaml", None), 3);
    assert_eq!(
        starved("scenarios/bundled/verify/fifo-hol.yaml", Some("backfill")),
        0
    );
    // Starvation detection off: nothing reported.
    let d = tmpdir("hol-off");
    let y = std::fs::read_to_string(root().join("scenarios/bundled/verify/fifo-hol.yaml"))
        .unwrap()
        .replace("starvation_after: 2h", "starvation_after: null");
    std::fs::write(d.join("off.yaml"), y).unwrap();
    assert_eq!(starved(d.join("off.yaml").to_str().unwrap(), None), 0);
    // Kueue StrictFIFO: the small workloads wait behind the head that does not fit quota.
    assert_eq!(
        starved("scenarios/bundled/verify/kueue-strict-fifo-hol.yaml", None),
        2
    );
}

#[test]
fn verification_is_deterministic_and_path_free() {
    // Same inputs and budget into two different folders → the same bytes (no --out path
    // in verify.md / verify.json).
    let twice = |name: &str, args: &[&str], files: &[&str]| {
        let (_, dir) = verify_dir(&format!("{name}-a"), args);
        let (_, again) = verify_dir(&format!("{name}-b"), args);
        assert_ne!(dir, again);
        for f in files {
            let a = std::fs::read(dir.join(f)).unwrap();
            let b = std::fs::read(again.join(f)).unwrap();
            assert!(a == b, "{f} differs between two identical verifications");
            let text = String::from_utf8(a).unwrap();
            assert!(
                !text.contains(dir.to_str().unwrap()),
                "{f} names the output folder"
            );
        }
    };
    twice(
        "det-random",
        &[
            "scenarios/bundled/verify/kueue-overquota.yaml",
            "--schedules",
            "30",
            "--mitigation-schedules",
            "50",
        ],
        &["verify.md", "verify.json", "witness.json", "waitfor.dot"],
    );
    twice(
        "det-exhaustive",
        &[
            "scenarios/bundled/verify/four-gangs.yaml",
            "--exhaustive",
            "--policy",
            "coscheduling",
        ],
        &["verify.md", "verify.json"],
    );
}

#[test]
fn random_mode_never_says_verified_and_a_spent_budget_is_inconclusive() {
    // Random mode: "no violation found in N schedules", never VERIFIED; exit 0.
    let sc = "scenarios/bundled/verify/coscheduling-2gang.yaml";
    let (r, dir) = verify_dir("random-nv", &[sc, "--schedules", "20"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let v = report(&dir);
    assert_eq!(v["exploration"]["deadlock"], "NONE_FOUND");
    assert_eq!(v["exploration"]["livelock"], "NONE_FOUND");
    let md = std::fs::read_to_string(dir.join("verify.md")).unwrap();
    assert!(!md.contains("VERIFIED"), "{md}");
    assert!(md.contains("NO VIOLATION FOUND in 20 schedules"), "{md}");
    // The --help example, exhaustive on the 52-pod Kueue case under coscheduling, with a
    // small schedule budget: the budget runs out, so INCONCLUSIVE with how far it got
    // (exit 4), and the files are written, marked incomplete.
    let (r, dir) = verify_dir(
        "budget-inconclusive",
        &[
            "scenarios/bundled/verify/kueue-overquota.yaml",
            "--policy",
            "coscheduling",
            "--exhaustive",
            "--schedules",
            "20",
        ],
    );
    assert_eq!(r.status.code(), Some(4), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("inconclusive"),
        "{}",
        text(&r.stderr)
    );
    let v = report(&dir);
    assert_eq!(v["exploration"]["deadlock"], "INCONCLUSIVE");
    assert_eq!(v["exploration"]["livelock"], "INCONCLUSIVE");
    assert_eq!(v["exploration"]["coverage"]["budget_exhausted"], true);
    assert_eq!(v["exploration"]["coverage"]["schedules"], 20);
    let md = std::fs::read_to_string(dir.join("verify.md")).unwrap();
    assert!(!md.contains("VERIFIED"), "{md}");
    assert!(
        md.contains("INCONCLUSIVE: bound reached after 20 schedules"),
        "{md}"
    );
    assert!(md.contains("**Incomplete**"), "{md}");
}

#[test]
fn rare_order_shrinks_to_real_contention_and_mitigations_hold_on_the_original() {
    let sc = "scenarios/bundled/verify/rare-order.yaml";
    let (r, dir) = verify_dir("rare-mitig", &[sc, "--exhaustive", "--no-pod-order"]);
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    let v = report(&dir);
    // The old shrinker left G alone on 2 + 1 GPUs: a job that never fits, not a deadlock
    // between jobs. Every job of the shrunk problem must run alone.
    let s = &v["shrunk"];
    assert_eq!(s["unable_to_run_alone"], serde_json::json!([]), "{s}");
    assert!(s["jobs"].as_u64().unwrap() >= 2, "{s}");
    let m = v["mitigations"].as_array().unwrap();
    let get = |n: &str| m.iter().find(|x| x["name"] == n).unwrap();
    // Checked on the original: Coscheduling fixes it (proven), KEP-4671 alpha does not
    // (a livelock); the old table said the opposite.
    assert_eq!(get("coscheduling")["proven"], true);
    assert_eq!(get("coscheduling")["original"]["deadlock"], "VERIFIED");
    assert_eq!(get("k8s-gang")["fixes"], false);
    assert_eq!(get("k8s-gang")["original"]["livelock"], "VIOLATION");
    // Kueue's default quota (= capacity) is the fix, not waitForPodsReady.
    let md = std::fs::read_to_string(dir.join("verify.md")).unwrap();
    assert!(!md.contains("waitForPodsReady fixes it"), "{md}");
    assert!(md.contains("waitForPodsReady not needed"), "{md}");
    assert!(
        md.contains("| coscheduling |") && md.contains("| original |"),
        "{md}"
    );
}

#[test]
fn no_stale_witness_and_replay_writes_nothing_on_error() {
    // A verification that finds a deadlock, then one that finds none, into the same folder:
    // the first one's witness files must not be left as if they were the second's.
    let d = tmpdir("stale");
    let out = d.join("v");
    let o = out.to_str().unwrap();
    let r = orrery(
        &[
            "verify",
            "scenarios/bundled/verify/kube-default-2gang.yaml",
            "--out",
            o,
            "--quiet",
        ],
        &root(),
    );
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    assert!(out.join("witness.json").exists());
    let witness = std::fs::read_to_string(out.join("witness.json")).unwrap();
    let r = orrery(
        &[
            "verify",
            "scenarios/bundled/verify/coscheduling-2gang.yaml",
            "--exhaustive",
            "--out",
            o,
            "--quiet",
        ],
        &root(),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    for f in [
        "witness.json",
        "witness-unshrunk.json",
        "waitfor.dot",
        "violation.json",
    ] {
        assert!(!out.join(f).exists(), "stale {f} left behind");
    }
    assert!(out.join("verify.md").exists());
    // A witness that does not reproduce: an error, and nothing written.
    let mut bad: Value = serde_json::from_str(&witness).unwrap();
    bad["engine_fingerprint"] = serde_json::json!(1);
    std::fs::write(d.join("bad.json"), bad.to_string()).unwrap();
    let again = d.join("replay");
    let r = orrery(
        &[
            "replay-witness",
            d.join("bad.json").to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(!r.status.success());
    assert!(
        text(&r.stderr).contains("did not reproduce"),
        "{}",
        text(&r.stderr)
    );
    assert!(!again.exists(), "replay-witness wrote files on error");
}

#[test]
fn bad_verify_options_are_rejected() {
    let d = tmpdir("verify-bad");
    for (args, needle) in [
        (
            vec!["verify", "--policy", "nope"],
            "unknown policy \"nope\"",
        ),
        (vec!["verify", "--schedules", "0"], "--schedules"),
        (vec!["verify", "--max-depth", "3"], "--exhaustive"),
        (vec!["verify", "--jitter", "soon"], "--jitter"),
        (vec!["verify", "missing.yaml"], "missing.yaml"),
        (vec!["replay-witness", "missing.json"], "missing.json"),
        (
            vec!["verify", "--threads", "0"],
            "--threads: must be at least 1",
        ),
        (
            vec!["verify", "--shard", "0/2"],
            "expected I/N with 1 ≤ I ≤ N",
        ),
        (
            vec!["verify", "--shard", "3/2"],
            "expected I/N with 1 ≤ I ≤ N",
        ),
        (vec!["verify", "--shard", "half"], "--shard"),
    ] {
        let r = orrery(&args, &d);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {}", text(&r.stderr));
        assert!(
            text(&r.stderr).contains(needle),
            "{args:?}: {}",
            text(&r.stderr)
        );
    }
    std::fs::write(d.join("w.json"), "{\"problem\": 3}").unwrap();
    let r = orrery(&["replay-witness", "w.json"], &d);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("w.json:1:"), "{}", text(&r.stderr));
}

#[test]
fn verify_terminates_on_the_kueue_cohort_hang_repro() {
    // `orrery run` of this scenario hung in Kueue admission before the cohort fix; the
    // explorer drives the same model, so it must end too, with a verdict: NO VIOLATION
    // FOUND (0), VIOLATION (3) or INCONCLUSIVE (4) — a schedule cut by the model's guard
    // counts as inconclusive, never as finished.
    let sc = "scenarios/tests/kueue-cohort/hang.yaml";
    let (r, dir) = verify_dir(
        "kueue-hang",
        &[
            sc,
            "--schedules",
            "20",
            "--no-shrink",
            "--no-mitigations",
            "--check-invariants",
        ],
    );
    let code = r.status.code();
    assert!(
        matches!(code, Some(0 | 3 | 4)),
        "exit {code:?}: {}",
        text(&r.stderr)
    );
    let v = report(&dir);
    let c = &v["exploration"]["coverage"];
    assert!(c["schedules"].as_u64().unwrap() >= 1, "{c}");
    for p in ["deadlock", "livelock"] {
        let verdict = v["exploration"][p].as_str().unwrap();
        assert!(
            ["NONE_FOUND", "VIOLATION", "INCONCLUSIVE"].contains(&verdict),
            "{p}: {verdict}"
        );
    }
    if c["guard_hits"].as_u64().unwrap() > 0 {
        assert_eq!(code, Some(4));
        let md = std::fs::read_to_string(dir.join("verify.md")).unwrap();
        assert!(md.contains("hit the model's no-progress guard at"), "{md}");
    }
}

#[test]
fn check_invariants_is_a_flag_of_verify_and_replay_witness() {
    for cmd in ["verify", "replay-witness"] {
        let r = orrery(&[cmd, "--help"], &root());
        assert!(
            text(&r.stdout).contains("--check-invariants"),
            "{cmd} --help"
        );
    }
    // With every instant of every schedule checked, the documented Kueue deadlock is
    // still found (no invariant is broken on the way), and its witness replays checked.
    let sc = "scenarios/bundled/verify/kueue-overquota-small.yaml";
    let (r, dir) = verify_dir(
        "checked-verify",
        &[sc, "--check-invariants", "--no-shrink", "--no-mitigations"],
    );
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    let again = dir.parent().unwrap().join("replay");
    let r = orrery(
        &[
            "replay-witness",
            dir.join("witness.json").to_str().unwrap(),
            "--check-invariants",
            "--out",
            again.to_str().unwrap(),
            "--quiet",
        ],
        &root(),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_eq!(
        std::fs::read(dir.join("violation.json")).unwrap(),
        std::fs::read(again.join("violation.json")).unwrap()
    );
}

/// Waits until process `pid` catches SIGINT (its handler is installed), from the
/// `SigCgt` mask of `/proc/<pid>/status`; elsewhere than Linux, waits two seconds.
#[cfg(unix)]
fn wait_for_sigint_handler(child: &mut std::process::Child) {
    let status = format!("/proc/{}/status", child.id());
    if !std::path::Path::new(&status).exists() {
        std::thread::sleep(std::time::Duration::from_secs(2));
        return;
    }
    let caught = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|m| m & (1 << (libc::SIGINT - 1)) != 0)
    };
    // Generous: the machine may be busy; the loop ends as soon as the handler is there.
    for _ in 0..6000 {
        if let Ok(Some(s)) = child.try_wait() {
            panic!("orrery verify ended before its SIGINT handler was seen: {s}");
        }
        if std::fs::read_to_string(&status).is_ok_and(|t| caught(&t)) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("orrery verify installed no SIGINT handler within two minutes");
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_what_was_explored_marked_incomplete() {
    // The --help example: exhaustive on the 52-pod Kueue case under coscheduling has far
    // more schedules than the default budget of 1,000,000 (minutes of exploring), so it
    // is still exploring when Ctrl-C comes.
    let d = tmpdir("sigint");
    let out = d.join("v");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orrery"))
        .args([
            "verify",
            "scenarios/bundled/verify/kueue-overquota.yaml",
            "--policy",
            "coscheduling",
            "--exhaustive",
            "--check-invariants",
            "--out",
        ])
        .arg(&out)
        .current_dir(root())
        .stdout(std::fs::File::create(d.join("stdout")).unwrap())
        .stderr(std::fs::File::create(d.join("stderr")).unwrap())
        .spawn()
        .expect("run orrery");
    wait_for_sigint_handler(&mut child);
    // Let it explore a while (not needed for the checks below, which hold however far
    // it got, but this is the case that matters: interrupted mid-exploration).
    std::thread::sleep(std::time::Duration::from_secs(1));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: `kill` takes plain integers; `pid` is our own child, not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut status = None;
    for _ in 0..3000 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("orrery verify did not stop within five minutes of Ctrl-C");
    };
    let stdout = std::fs::read_to_string(d.join("stdout")).unwrap();
    let stderr = std::fs::read_to_string(d.join("stderr")).unwrap();
    // Written, INCONCLUSIVE (exit 4), not killed by the signal.
    assert_eq!(status.code(), Some(4), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: writing what was explored so far (marked incomplete)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("inconclusive: no violation found, but interrupted after"),
        "{stderr}"
    );
    let v = report(&out);
    let cov = &v["exploration"]["coverage"];
    assert_eq!(v["exploration"]["deadlock"], "INCONCLUSIVE");
    assert_eq!(v["exploration"]["livelock"], "INCONCLUSIVE");
    assert_eq!(v["interrupted"], true);
    assert_eq!(cov["interrupted"], true);
    assert_eq!(cov["complete"], false);
    assert_eq!(cov["budget_exhausted"], false);
    let n = cov["schedules"].as_u64().unwrap();
    assert!(n < 1_000_000, "{cov}");
    let md = std::fs::read_to_string(out.join("verify.md")).unwrap();
    assert!(
        !md.contains("VERIFIED") && !md.contains("NO VIOLATION FOUND"),
        "{md}"
    );
    assert!(
        md.contains(&format!("INCONCLUSIVE: interrupted after {n} schedules")),
        "{md}"
    );
    assert!(
        md.contains("**Incomplete**: the exploration was interrupted (Ctrl-C)"),
        "{md}"
    );
    // Exactly the outputs (and the output marker): no staging directory left behind.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".orrery-out", "verify.json", "verify.md"]);
    let mut top: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["stderr", "stdout", "v"]);
}

/// Every file of two output directories, by name.
fn files(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn same_files(a: &std::path::Path, b: &std::path::Path, what: &str) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "{what}: not the same files"
    );
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{what}: {name} differs");
    }
}

/// The bundled cases of exhaustive mode (with their shrinking and mitigation re-checks,
/// exhaustive searches too) on 1 and 4 threads: the same exit code and the same bytes.
fn same_on_one_and_four_threads(cases: &[(&str, &[&str])]) {
    for (name, args) in cases {
        let mut one: Vec<&str> = args.to_vec();
        one.extend_from_slice(&["--threads", "1"]);
        let mut four: Vec<&str> = args.to_vec();
        four.extend_from_slice(&["--threads", "4"]);
        let (r1, d1) = verify_dir(&format!("threads-1-{name}"), &one);
        let (r4, d4) = verify_dir(&format!("threads-4-{name}"), &four);
        assert_eq!(
            r1.status.code(),
            r4.status.code(),
            "{name}: {}",
            text(&r4.stderr)
        );
        same_files(&d1, &d4, name);
    }
}

#[test]
fn exhaustive_verification_writes_the_same_bytes_on_one_and_four_threads() {
    same_on_one_and_four_threads(&[
        (
            "kube-default",
            &[
                "scenarios/bundled/verify/kube-default-2gang.yaml",
                "--exhaustive",
            ],
        ),
        (
            "k8s-gang-2gang",
            &[
                "scenarios/bundled/verify/k8s-gang-2gang.yaml",
                "--exhaustive",
            ],
        ),
        (
            "small-kueue",
            &[
                "scenarios/bundled/verify/kueue-overquota-small.yaml",
                "--exhaustive",
            ],
        ),
        (
            "rare-order",
            &[
                "scenarios/bundled/verify/rare-order.yaml",
                "--exhaustive",
                "--no-pod-order",
            ],
        ),
        (
            "node-failure",
            &[
                "scenarios/bundled/verify/node-failure-2gang.yaml",
                "--exhaustive",
                "--fail-nodes",
                "1",
            ],
        ),
        (
            "four-k8s-budget",
            &[
                "scenarios/bundled/verify/four-gangs.yaml",
                "--policy",
                "k8s-gang",
                "--exhaustive",
                "--schedules",
                "3000",
                "--no-shrink",
            ],
        ),
    ]);
}

/// The rest of the bundled exhaustive cases (minutes in a debug build).
#[test]
#[ignore]
fn every_bundled_exhaustive_case_writes_the_same_bytes_on_one_and_four_threads() {
    same_on_one_and_four_threads(&[
        (
            "cosched",
            &[
                "scenarios/bundled/verify/coscheduling-2gang.yaml",
                "--exhaustive",
            ],
        ),
        (
            "cosched-short",
            &[
                "scenarios/bundled/verify/coscheduling-short-timeout.yaml",
                "--exhaustive",
            ],
        ),
        (
            "kueue-oq-cosched",
            &[
                "scenarios/bundled/verify/kueue-overquota.yaml",
                "--policy",
                "coscheduling",
                "--exhaustive",
                "--schedules",
                "2000",
            ],
        ),
        (
            "small-k8s",
            &[
                "scenarios/bundled/verify/kueue-overquota-small.yaml",
                "--exhaustive",
                "--policy",
                "k8s-gang",
            ],
        ),
        (
            "four-kueue",
            &["scenarios/bundled/verify/four-gangs.yaml", "--exhaustive"],
        ),
        (
            "four-wfpr",
            &[
                "scenarios/bundled/verify/four-gangs-kueue-wfpr.yaml",
                "--exhaustive",
            ],
        ),
        (
            "four-k8s",
            &[
                "scenarios/bundled/verify/four-gangs.yaml",
                "--policy",
                "k8s-gang",
                "--exhaustive",
            ],
        ),
        (
            "rare-all",
            &["scenarios/bundled/verify/rare-order.yaml", "--exhaustive"],
        ),
        (
            "volcano",
            &["scenarios/bundled/verify/volcano-3373.yaml", "--exhaustive"],
        ),
        (
            "node-failure-mttr",
            &[
                "scenarios/bundled/verify/node-failure-2gang.yaml",
                "--exhaustive",
                "--fail-nodes",
                "1",
                "--mttr",
                "10m",
            ],
        ),
        (
            "net-rail",
            &[
                "scenarios/bundled/verify/net-rail-contention.yaml",
                "--exhaustive",
            ],
        ),
    ]);
}

/// `verify --shard I/N` into one directory per shard, then `orrery merge` of them all.
fn sharded(name: &str, args: &[&str], count: u32) -> (std::process::Output, std::path::PathBuf) {
    let d = tmpdir(name);
    let mut dirs = Vec::new();
    for i in 1..=count {
        let dir = d.join(format!("shard-{i}"));
        let shard = format!("{i}/{count}");
        let mut a: Vec<&str> = vec!["verify"];
        a.extend_from_slice(args);
        let o = dir.to_str().unwrap().to_string();
        a.extend_from_slice(&["--shard", &shard, "--out", &o]);
        let r = orrery(&a, &root());
        assert!(r.status.success(), "shard {shard}: {}", text(&r.stderr));
        // A shard writes its part and no verdict.
        let out = text(&r.stdout);
        assert!(out.contains("no verdict"), "{out}");
        assert!(
            !out.contains("VERIFIED") && !out.contains("NO VIOLATION FOUND"),
            "{out}"
        );
        assert_eq!(
            files(&dir)
                .keys()
                .filter(|f| !f.starts_with('.'))
                .cloned()
                .collect::<Vec<_>>(),
            vec!["verify-shard.json".to_string()]
        );
        dirs.push(o);
    }
    let out = d.join("merged");
    let o = out.to_str().unwrap().to_string();
    let mut a: Vec<&str> = vec!["merge"];
    // Any order.
    a.extend(dirs.iter().rev().map(String::as_str));
    a.extend_from_slice(&["--out", &o, "--quiet"]);
    (orrery(&a, &root()), out)
}

#[test]
fn random_mode_shards_merge_into_the_single_runs_files_byte_for_byte() {
    // A deadlock (shrunk, replayed, mitigations re-checked by the merge) and a search
    // that finds nothing.
    for (name, args) in [
        (
            "kueue-oq",
            vec![
                "scenarios/bundled/verify/kueue-overquota.yaml",
                "--schedules",
                "30",
                "--mitigation-schedules",
                "50",
            ],
        ),
        (
            "cosched",
            vec![
                "scenarios/bundled/verify/four-gangs.yaml",
                "--policy",
                "coscheduling",
                "--schedules",
                "50",
            ],
        ),
    ] {
        let (single, dir) = verify_dir(&format!("shard-single-{name}"), &args);
        let (merged, out) = sharded(&format!("shard-{name}"), &args, 3);
        assert_eq!(
            merged.status.code(),
            single.status.code(),
            "{}",
            text(&merged.stderr)
        );
        same_files(&dir, &out, name);
    }
}

#[test]
fn exhaustive_shards_merge_into_the_verdict_and_states_of_the_single_run() {
    let args = [
        "scenarios/bundled/verify/k8s-gang-2gang.yaml",
        "--exhaustive",
        "--no-mitigations",
    ];
    let (single, dir) = verify_dir("shard-ex-single", &args);
    let (merged, out) = sharded("shard-ex", &args, 3);
    assert_eq!(
        merged.status.code(),
        single.status.code(),
        "{}",
        text(&merged.stderr)
    );
    let (a, b) = (report(&dir), report(&out));
    let e = |v: &Value, k: &str| v["exploration"][k].clone();
    assert_eq!(e(&a, "deadlock"), "VERIFIED");
    assert_eq!(e(&b, "deadlock"), "VERIFIED");
    assert_eq!(e(&b, "livelock"), "VIOLATION");
    let c = |v: &Value, k: &str| v["exploration"]["coverage"][k].clone();
    assert_eq!(c(&b, "distinct_states"), c(&a, "distinct_states"));
    assert_eq!(c(&b, "complete"), true);
    assert!(
        b["exploration"]["livelock_found"]["shard"]
            .as_u64()
            .is_some()
    );
    // The merged witness replays.
    let r = orrery(
        &[
            "replay-witness",
            out.join("witness.json").to_str().unwrap(),
            "--out",
            out.join("replay").to_str().unwrap(),
        ],
        &root(),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
}

#[test]
fn merge_refuses_shards_that_are_not_one_verification() {
    let d = tmpdir("shard-bad");
    let sc = "scenarios/bundled/verify/coscheduling-2gang.yaml";
    let run = |out: &str, extra: &[&str]| {
        let o = d.join(out);
        let mut a = vec![
            "verify",
            sc,
            "--schedules",
            "10",
            "--quiet",
            "--out",
            o.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        let r = orrery(&a, &root());
        assert!(r.status.success(), "{}", text(&r.stderr));
        o.to_str().unwrap().to_string()
    };
    let s1 = run("s1", &["--shard", "1/2"]);
    let s2 = run("s2", &["--shard", "2/2"]);
    let other = run("other", &["--shard", "2/2", "--seed", "9"]);
    let out = d.join("m");
    let o = out.to_str().unwrap();
    for (dirs, needle) in [
        (vec![s1.as_str()], "missing shard(s) 2/2"),
        (vec![s1.as_str(), s1.as_str()], "given twice"),
        (vec![s1.as_str(), other.as_str()], "another verification"),
    ] {
        let mut a = vec!["merge"];
        a.extend(dirs);
        a.extend_from_slice(&["--out", o]);
        let r = orrery(&a, &root());
        assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
        assert!(
            text(&r.stderr).contains(needle),
            "{needle}: {}",
            text(&r.stderr)
        );
        assert!(!out.exists(), "nothing written");
    }
    // A capacity shard is not a verify shard.
    std::fs::create_dir_all(d.join("cap")).unwrap();
    let r = orrery(
        &["merge", &s1, d.join("cap").to_str().unwrap(), "--out", o],
        &root(),
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("not the output of `orrery verify --shard`"));
    // Whole, they merge.
    let r = orrery(&["merge", &s2, &s1, "--out", o, "--quiet"], &root());
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(out.join("verify.md").exists());
}
