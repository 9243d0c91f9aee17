//! Output directories (issue 14 item 12): a command's output replaces the previous one's
//! files (no stale file beside new ones), nothing is written on error, links are not
//! followed. The directory rules themselves are unit-tested in `reports::write`.

mod common;

use common::{orrery, root, text, tmpdir};

fn verify(scenario: &str, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut a = vec![
        "verify",
        scenario,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    a.extend_from_slice(extra);
    a.extend_from_slice(&["--no-shrink", "--no-mitigations"]);
    orrery(&a, &root())
}

/// A VERIFIED `verify` after a VIOLATION one into the same `--out` left the old
/// `witness.json` beside the new `verify.json`, so `replay-witness` replayed the previous
/// scenario's witness. And `replay-witness` wrote its files even when the replay failed.
#[test]
fn verify_leaves_no_stale_witness_and_a_failed_replay_writes_nothing() {
    let d = tmpdir("outputs-verify");
    let out = d.join("v");
    let r = verify("scenarios/bundled/verify/kueue-overquota.yaml", &out, &[]);
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    let witness = std::fs::read_to_string(out.join("witness.json")).expect("witness.json");

    // A witness that does not replay to its recorded violation: error, nothing written.
    let mut bad: serde_json::Value = serde_json::from_str(&witness).unwrap();
    bad["jobs"] = serde_json::json!(["job-9"]);
    std::fs::write(d.join("bad.json"), bad.to_string()).unwrap();
    let replay = d.join("replay");
    let r = orrery(
        &[
            "replay-witness",
            d.join("bad.json").to_str().unwrap(),
            "--out",
            replay.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(r.status.code(), Some(1), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("did not reproduce"),
        "{}",
        text(&r.stderr)
    );
    assert!(!replay.exists(), "replay-witness wrote output on error");

    // The second verify (no violation) replaces the whole output: no witness left.
    let r = verify(
        "scenarios/bundled/verify/coscheduling-short-timeout.yaml",
        &out,
        &["--exhaustive"],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(out.join("verify.json").exists());
    for stale in ["witness.json", "waitfor.dot", "violation.json"] {
        assert!(
            !out.join(stale).exists(),
            "stale {stale} left from the first run"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

const TINY: &str = "name: tiny
cluster:
  node_pools:
    - {name: a, count: 1, cpu_milli: 1000, memory_mib: 1024, gpus: 1, gpu_model: H100}
workload:
  jobs:
    - {id: a, duration: 1s}
";

/// `--out` naming a link, or a directory of someone else's files that the run would
/// overwrite, is bad input (exit 2) and nothing is written through or over it.
#[test]
fn out_never_writes_through_a_link_or_over_foreign_files() {
    let d = tmpdir("outputs-links");
    std::fs::write(d.join("s.yaml"), TINY).unwrap();
    let mine = d.join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("jobs.csv"), "my own file").unwrap();
    let r = orrery(&["run", "s.yaml", "--out", "mine", "--quiet"], &d);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("was not written by"),
        "{}",
        text(&r.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("jobs.csv")).unwrap(),
        "my own file"
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&mine, d.join("link")).unwrap();
        let r = orrery(&["run", "s.yaml", "--out", "link", "--quiet"], &d);
        assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
        assert!(
            text(&r.stderr).contains("symbolic link"),
            "{}",
            text(&r.stderr)
        );
        assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
    }
    // An ordinary run, twice: the marker is there and the output is replaced.
    for _ in 0..2 {
        let r = orrery(&["run", "s.yaml", "--out", "out", "--quiet"], &d);
        assert!(r.status.success(), "{}", text(&r.stderr));
    }
    assert!(d.join("out").join(reports::OUT_MARKER).exists());
    let _ = std::fs::remove_dir_all(&d);
}
