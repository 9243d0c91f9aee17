//! `orrery platform` end to end: the bundled example scales out and back, reruns are
//! byte-identical, bad scenarios exit 2 and write nothing.

mod common;

use common::*;

fn example() -> String {
    root()
        .join("scenarios/platform/inference-autoscaling.yaml")
        .display()
        .to_string()
}

#[test]
fn the_example_scales_out_and_back_and_reruns_are_byte_identical() {
    let d = tmpdir("platform-example");
    for out in ["a", "b"] {
        let o = orrery(&["platform", &example(), "--out", out, "--quiet"], &d);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    for f in [
        "events.csv",
        "nodes.csv",
        "replicas.csv",
        "requests.csv",
        "metrics.prom",
        "metrics-history.prom",
        "summary.json",
    ] {
        let a = std::fs::read(d.join("a").join(f)).unwrap();
        let b = std::fs::read(d.join("b").join(f)).unwrap();
        assert_eq!(a, b, "{f} differs between runs");
    }
    let nodes = std::fs::read_to_string(d.join("a/nodes.csv")).unwrap();
    // Pool min 2: the autoscaler adds nodes 3 minutes after a scan, so the first growth
    // is Ready at scan + 180 s; the pool is back at 2 by the end.
    let rows: Vec<(f64, u32)> = nodes
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(rows.first(), Some(&(0.0, 2)));
    assert!(rows.iter().any(|r| r.1 > 2), "{nodes}");
    assert_eq!(rows.last().map(|r| r.1), Some(2), "{nodes}");
    let prom = std::fs::read_to_string(d.join("a/metrics.prom")).unwrap();
    assert!(prom.contains("# TYPE DCGM_FI_DEV_GPU_UTIL gauge"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("a/summary.json")).unwrap()).unwrap();
    assert!(
        summary["services"]["llm"]["peak_replicas"]
            .as_u64()
            .unwrap()
            > 1
    );
    // A different seed gives other arrivals.
    let o = orrery(
        &[
            "platform",
            &example(),
            "--out",
            "c",
            "--seed",
            "2",
            "--quiet",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(0));
    assert_ne!(
        std::fs::read(d.join("a/requests.csv")).unwrap(),
        std::fs::read(d.join("c/requests.csv")).unwrap()
    );
}

#[test]
fn bad_platform_scenarios_exit_2_and_write_nothing() {
    let d = tmpdir("platform-bad");
    let good = std::fs::read_to_string(example()).unwrap();
    let cases = [
        (
            "no-horizon.yaml",
            good.replace("horizon: 1h\n", ""),
            "horizon",
        ),
        ("unknown.yaml", good.replace("seed: 1", "sed: 1"), "sed"),
        (
            "pool.yaml",
            good.replace("min: 2, max: 8", "min: 9, max: 8"),
            "max",
        ),
        (
            "horizon0.yaml",
            good.replace("horizon: 1h", "horizon: 0s"),
            "horizon",
        ),
    ];
    for (file, body, expect) in cases {
        std::fs::write(d.join(file), body).unwrap();
        let out = format!("out-{file}");
        let o = orrery(&["platform", file, "--out", &out], &d);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(file) && err.contains(expect), "{file}: {err}");
        assert!(!d.join(&out).exists(), "{file}: wrote output");
    }
    let o = orrery(&["platform", "missing.yaml"], &d);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("cannot read missing.yaml"));
}
