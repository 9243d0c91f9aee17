//! Absurd sizes and bad values are bad input (exit 2) naming the file and the field or
//! line, found before anything is allocated or run: scenarios (node counts, pods per job,
//! quantities whose sums would wrap, openb node lists with more GPUs than 8-bit GPU
//! indices can name, the `network:` section), platform scenarios (HPA target, request
//! rates, scrape intervals, unbounded work) and conformance profiles. A small mutation
//! table: each entry is one file and the substrings its error must contain.

mod common;

use common::*;

/// A scenario whose `cluster:` and `workload:` are given.
fn scenario(cluster: &str, workload: &str) -> String {
    format!("name: limits\ncluster:\n{cluster}\nworkload:\n{workload}\n")
}

const POOL: &str = "  node_pools:\n    - {name: g, count: 2, cpu_milli: 32000, memory_mib: 65536, gpus: 8, gpu_model: H100}";
const JOB: &str = "  jobs:\n    - {id: a, duration: 10s, pods: 2, gpus_per_pod: 1}";

const PLATFORM: &str = "name: p
horizon: 10m
platform:
  pools:
    - {name: h100, accelerator: nvidia-h100, gpus_per_node: 1, min: 2, max: 4}
  services:
    - name: llm
      accelerator: nvidia-h100
      service_time: 1s
      hpa: {metric: inference_requests_in_flight, target: 3, max_replicas: 4}
  traffic:
    - name: clients
      load: [{from: 0s, rps: 2}]
      route: {backends: [{service: llm}]}
  metrics:
    scrape_interval: 15s
";

const PROFILE: &str = "name: p
accelerators:
  accelerator: nvidia-h100
  gpu_model: H100
  gpus_per_node: 8
  nodes: 2
";

/// Run `args` (the file is written to `file` first): exit 2, no panic, every needle in
/// the message, nothing written.
fn rejects(d: &std::path::Path, file: &str, body: &str, args: &[&str], needles: &[&str]) {
    std::fs::write(d.join(file), body).unwrap();
    let out = orrery(args, d);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{file}: {err}");
    assert!(!err.contains("panicked"), "{file}: {err}");
    assert!(!err.contains("<input>"), "{file}: names no file: {err}");
    for n in needles {
        assert!(err.contains(n), "{file}: {n:?} not in {err}");
    }
    assert!(!d.join("never").exists(), "{file}: output written");
}

#[test]
fn absurd_scenario_sizes_are_bad_input_naming_the_field() {
    let d = tmpdir("limits-scenario");
    let run = |f: &'static str| ["run", f, "--out", "never"];
    let cases: Vec<(String, Vec<&str>)> = vec![
        // `pods: 1e9` used to allocate a billion pods (SIGKILL).
        (
            scenario(
                POOL,
                "  jobs:\n    - {id: a, duration: 10s, pods: 1000000000, gpus_per_pod: 1}",
            ),
            vec!["s.yaml", "workload.jobs[0].pods", "100000"],
        ),
        (
            scenario(POOL, "  jobs:\n    - {id: a, duration: 10s, pods: 1e9}"),
            vec!["s.yaml"],
        ),
        // `count: 1e9` used to allocate a billion nodes.
        (
            scenario(
                "  node_pools:\n    - {name: g, count: 1000000000, cpu_milli: 1, memory_mib: 1, gpus: 1, gpu_model: H100}",
                JOB,
            ),
            vec!["s.yaml", "cluster.node_pools[0].count", "1000000"],
        ),
        // A node of 2^64-1 millicores: three pods of 2^63 used to run at once (the sum
        // wrapped in release builds).
        (
            scenario(
                "  node_pools:\n    - {name: g, count: 1, cpu_milli: 18446744073709551615, memory_mib: 1024, gpus: 0}",
                "  jobs:\n    - {id: a, duration: 10s, pods: 3, gpus_per_pod: 0, cpu_milli: 9223372036854775808}",
            ),
            vec!["s.yaml", "cluster.node_pools[0].cpu_milli", "2^40"],
        ),
        (
            scenario(
                POOL,
                "  jobs:\n    - {id: a, duration: 10s, gpus_per_pod: 0, memory_mib: 9223372036854775808}",
            ),
            vec!["s.yaml", "workload.jobs[0].memory_mib"],
        ),
        // Network errors name the field as written (they used to say `scheduler.network`
        // without the file).
        (
            format!(
                "{}network:\n  config:\n    fabric: {{nodes_per_su: 0}}\n  steps: {{compute: 1s}}\n",
                scenario(POOL, JOB)
            ),
            vec!["s.yaml", "network.config.fabric.nodes_per_su"],
        ),
        (
            format!(
                "{}network:\n  config:\n    node: {{compute_nics: 1000000000}}\n  steps: {{compute: 1s}}\n",
                scenario(POOL, JOB)
            ),
            vec!["s.yaml", "network.config.node.compute_nics", "64"],
        ),
        (
            format!(
                "{}network:\n  config:\n    storage: {{read_gbyte_s: 0}}\n  steps: {{compute: 1s}}\n",
                scenario(POOL, JOB)
            ),
            vec!["s.yaml", "network.config.storage.read_gbyte_s"],
        ),
        (
            format!(
                "{}network:\n  steps: {{compute: 0s}}\n",
                scenario(POOL, JOB)
            ),
            vec!["s.yaml", "network.steps.compute"],
        ),
    ];
    for (body, needles) in &cases {
        rejects(&d, "s.yaml", body, &run("s.yaml"), needles);
    }
}

#[test]
fn openb_nodes_beyond_8_bit_gpu_indices_are_rejected_with_file_and_line() {
    // A 300-GPU node used to run with 308 GPUs in use and exit 0.
    let d = tmpdir("limits-openb");
    std::fs::write(
        d.join("n.csv"),
        "sn,cpu_milli,memory_mib,gpu,model\nn0,96000,786432,8,V100\nn1,96000,786432,300,V100\n",
    )
    .unwrap();
    let body = scenario(
        "  node_lists:\n    - {file: n.csv, format: openb}",
        "  jobs:\n    - {id: a, duration: 10s, pods: 1, gpus_per_pod: 8}",
    );
    rejects(
        &d,
        "s.yaml",
        &body,
        &["run", "s.yaml", "--out", "never"],
        &["n.csv:3: field 'gpu'", "at most 255 GPUs per node"],
    );
}

#[test]
fn absurd_platform_inputs_are_bad_input_naming_file_and_field() {
    let d = tmpdir("limits-platform");
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            PLATFORM.replace("target: 3", "target: 1e308"),
            vec!["p.yaml", "services[0].hpa.target"],
        ),
        (
            PLATFORM.replace("rps: 2", "rps: 1e9"),
            vec!["p.yaml", "traffic[0].load[0].rps"],
        ),
        // Within the per-step limit, but 10 minutes of it is more requests than a run may
        // generate.
        (
            PLATFORM.replace("rps: 2", "rps: 900000"),
            vec![
                "p.yaml",
                "traffic[0].load[0].rps",
                "requests up to the horizon",
            ],
        ),
        (
            PLATFORM.replace("scrape_interval: 15s", "scrape_interval: 1ns"),
            vec!["p.yaml", "metrics.scrape_interval"],
        ),
        (
            PLATFORM.replace("max: 4}", "max: 1000000000}"),
            vec!["p.yaml", "pools[0].max"],
        ),
        (
            PLATFORM.replace("gpus_per_node: 1", "gpus_per_node: 300"),
            vec!["p.yaml", "pools[0].gpus_per_node"],
        ),
        // Parse errors name the file, not `<input>`.
        (
            PLATFORM.replace("service_time: 1s", "service_time: 1s\n      bogus: 1"),
            vec!["p.yaml", "bogus"],
        ),
    ];
    for (body, needles) in &cases {
        rejects(
            &d,
            "p.yaml",
            body,
            &["platform", "p.yaml", "--out", "never"],
            needles,
        );
    }
    // The same budget applies to a --horizon given on the command line.
    rejects(
        &d,
        "p.yaml",
        PLATFORM,
        &["platform", "p.yaml", "--horizon", "1000d", "--out", "never"],
        &["p.yaml", "metrics.scrape_interval"],
    );
}

#[test]
fn absurd_profiles_are_bad_input_not_a_must_failure() {
    let d = tmpdir("limits-profile");
    let cases: Vec<(String, Vec<&str>)> = vec![
        // 255 GPUs per node used to be scored (a MUST failure, exit 4).
        (
            PROFILE.replace("gpus_per_node: 8", "gpus_per_node: 255"),
            vec!["p.yaml", "accelerators.gpus_per_node"],
        ),
        (
            PROFILE.replace("nodes: 2", "nodes: 1000000000"),
            vec!["p.yaml", "accelerators.nodes"],
        ),
        (
            format!("{PROFILE}pod_autoscaler: {{target: 1e308}}\n"),
            vec!["p.yaml", "pod_autoscaler.target"],
        ),
        (
            format!("{PROFILE}metrics: {{scrape_interval: 1ns}}\n"),
            vec!["p.yaml", "metrics.scrape_interval"],
        ),
        // Parse errors name the file, not `<input>`.
        (format!("{PROFILE}bogus: 1\n"), vec!["p.yaml", "bogus"]),
    ];
    for (body, needles) in &cases {
        rejects(
            &d,
            "p.yaml",
            body,
            &["conformance", "--profile", "p.yaml", "--out", "never"],
            needles,
        );
    }
}

#[test]
fn check_invariants_is_a_flag_of_the_model_commands() {
    let d = tmpdir("limits-flag");
    for cmd in ["run", "compare", "capacity"] {
        let out = orrery_plain(&[cmd, "--help"], &d);
        assert!(
            text(&out.stdout).contains("--check-invariants"),
            "{cmd} --help"
        );
    }
    let out = orrery_plain(
        &[
            "run",
            &bundled("gang-deadlock.yaml").display().to_string(),
            "--check-invariants",
            "--out",
            "res",
            "-q",
        ],
        &d,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
