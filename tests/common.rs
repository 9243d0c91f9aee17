//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bundled(name: &str) -> PathBuf {
    root().join("scenarios/bundled").join(name)
}

/// A fresh, empty directory for one test.
pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("orrery-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// Run the binary. The commands that run the cluster model (`run`, `compare`, `capacity`,
/// `verify`, `replay-witness`) get `--check-invariants` (unless given): every test run
/// checks that nothing is over-committed (a violation fails the command with exit 1).
pub fn orrery(args: &[&str], cwd: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orrery"));
    cmd.args(args);
    let checks = matches!(
        args.first(),
        Some(&("run" | "compare" | "capacity" | "verify" | "replay-witness"))
    ) && !args
        .iter()
        .any(|a| *a == "--help" || *a == "-h" || *a == "--check-invariants");
    if checks {
        cmd.arg("--check-invariants");
    }
    cmd.current_dir(cwd).output().expect("run orrery")
}

/// Run the binary exactly as given (no added flags).
pub fn orrery_plain(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orrery"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run orrery")
}

/// Scenario overrides for library-level test runs: invariants checked.
pub fn checked() -> scenarios::Overrides {
    scenarios::Overrides {
        check_invariants: true,
        ..scenarios::Overrides::default()
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn fnv(bytes: &[u8]) -> u64 {
    sim_core::fnv1a64(bytes)
}
