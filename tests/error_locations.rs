//! A mutation campaign over every input format: each entry is a valid file with one
//! mistake (a wrong type, an unknown key, an out-of-range value, a missing required key, a
//! bad duration, a negative number). Every one must be bad input (exit 2, no panic) whose
//! message names the file and either the line (`file:LINE`) or the dotted field path of
//! the mistake. Special files (`/dev/zero`, folders) named as inputs are refused without
//! being read, naming the flag or field that named them.

mod common;

use common::*;

/// A scenario with every scheduler block, `detect` and `network` (it runs as given).
const SCENARIO: &str = "name: base
seed: 1
cluster:
  node_pools:
    - {name: g, count: 2, cpu_milli: 32000, memory_mib: 65536, gpus: 8, gpu_model: H100}
workload:
  jobs:
    - {id: a, submit: 0s, duration: 10s, pods: 2, gpus_per_pod: 1}
scheduler:
  policy: kueue
  kueue:
    cluster_queues:
      - {name: team, nominal_gpus: 16}
  coscheduling: {schedule_timeout: 60s, reject_percentage: 10}
  volcano: {session_period: 1s, overcommit_factor: 1.2}
  tiresias: {thresholds_gpu_s: [3250, 7200]}
detect:
  starvation_after: 2h
  livelock_releases: 10
network:
  config:
    fabric:
      kind: rail_optimized
      nodes_per_su: 32
      su_grouping: rack
      oversubscription: 2.0
  steps:
    compute: 500ms
    collective: all_reduce
    comm_bytes: 1073741824
    overlap: 0.5
";

/// A scenario replaying `t.csv` in `format`.
fn trace_scenario(format: &str) -> String {
    format!(
        "name: t
cluster:
  node_pools:
    - {{name: g, count: 2, cpu_milli: 32000, memory_mib: 65536, gpus: 8, gpu_model: H100}}
workload:
  traces:
    - {{file: t.csv, format: {format}}}
"
    )
}

const ORRERY_CSV: &str = "id,submit,duration,pods,gpus_per_pod
a,0,60,1,1
b,5,60,1,1
";

const OPENB: &str =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,creation_time,deletion_time,scheduled_time
p0,1000,1024,1,1000,,0,100,0
p1,1000,1024,1,1000,,5,100,5
";

const ITP: &str = "job_id,submission_time,duration,num_gpu
j0,0,100,1
j1,10,100,2
";

const PROFILE: &str = "name: p
accelerators:
  accelerator: nvidia-h100
  gpu_model: H100
  gpus_per_node: 8
  nodes: 2
";

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

#[derive(Clone, Copy)]
enum Kind {
    /// `orrery run s.yaml`
    Scenario,
    /// `orrery run s.yaml` replaying the trace `t.csv` of this format.
    Trace(&'static str),
    /// `orrery conformance --profile p.yaml`
    Profile,
    /// `orrery platform p.yaml`
    Platform,
}

/// One mutation: the input, the mutated text (`from` replaced by `to` in the base), the
/// line of the mistake and its dotted field path.
struct Mutation {
    kind: Kind,
    from: &'static str,
    to: &'static str,
    line: u32,
    field: &'static str,
}

fn m(kind: Kind, from: &'static str, to: &'static str, line: u32, field: &'static str) -> Mutation {
    Mutation {
        kind,
        from,
        to,
        line,
        field,
    }
}

fn campaign() -> Vec<Mutation> {
    use Kind::*;
    let s = Scenario;
    let csv = Trace("orrery-csv");
    let openb = Trace("openb");
    let itp = Trace("itp");
    vec![
        // cluster
        m(
            s,
            "count: 2",
            "count: two",
            5,
            "cluster.node_pools[0].count",
        ),
        m(s, "gpus: 8", "gpus: -8", 5, "cluster.node_pools[0].gpus"),
        m(
            s,
            "gpu_model: H100}",
            "gpu_model: H100, bogus: 1}",
            5,
            "cluster.node_pools[0].bogus",
        ),
        m(s, "{name: g, ", "{", 5, "cluster.node_pools[0].name"),
        m(
            s,
            "cpu_milli: 32000",
            "cpu_milli: 1e30",
            5,
            "cluster.node_pools[0].cpu_milli",
        ),
        m(s, "count: 2", "count: 0", 5, "cluster.node_pools[0].count"),
        // workload
        m(
            s,
            "duration: 10s",
            "duration: 10 parsecs",
            8,
            "workload.jobs[0].duration",
        ),
        m(s, "submit: 0s", "submit: -5s", 8, "workload.jobs[0].submit"),
        m(s, "pods: 2", "pods: 0", 8, "workload.jobs[0].pods"),
        m(
            s,
            "gpus_per_pod: 1}",
            "gpus_per_pod: 1, colour: red}",
            8,
            "workload.jobs[0].colour",
        ),
        m(s, "{id: a, ", "{", 8, "workload.jobs[0].id"),
        m(
            s,
            "gpus_per_pod: 1}",
            "gpus_per_pod: -1}",
            8,
            "workload.jobs[0].gpus_per_pod",
        ),
        // scheduler
        m(s, "policy: kueue", "policy: kube", 10, "scheduler.policy"),
        m(
            s,
            "policy: kueue",
            "policy: kueue\n  percentage_of_nodes_to_score: 101",
            11,
            "scheduler.percentage_of_nodes_to_score",
        ),
        m(
            s,
            "policy: kueue",
            "policy: kueue\n  balanced_allocation_weight: -1",
            11,
            "scheduler.balanced_allocation_weight",
        ),
        m(
            s,
            "nominal_gpus: 16",
            "nominal_gpus: -16",
            13,
            "scheduler.kueue.cluster_queues[0].nominal_gpus",
        ),
        m(
            s,
            "nominal_gpus: 16",
            "nominal_gpus: lots",
            13,
            "scheduler.kueue.cluster_queues[0].nominal_gpus",
        ),
        m(
            s,
            "{name: team, ",
            "{",
            13,
            "scheduler.kueue.cluster_queues[0].name",
        ),
        m(
            s,
            "cluster_queues:",
            "cluster_quees:",
            12,
            "scheduler.kueue.cluster_quees",
        ),
        m(
            s,
            "    cluster_queues:",
            "    wait_for_pods_ready: {enable: true, timeout: -5s}\n    cluster_queues:",
            12,
            "scheduler.kueue.wait_for_pods_ready.timeout",
        ),
        m(
            s,
            "schedule_timeout: 60s",
            "schedule_timeout: soon",
            14,
            "scheduler.coscheduling.schedule_timeout",
        ),
        m(
            s,
            "reject_percentage: 10",
            "reject_percentage: 250",
            14,
            "scheduler.coscheduling.reject_percentage",
        ),
        m(
            s,
            "reject_percentage: 10",
            "reject_percentage: -1",
            14,
            "scheduler.coscheduling.reject_percentage",
        ),
        m(
            s,
            "session_period: 1s",
            "session_period: 0s",
            15,
            "scheduler.volcano.session_period",
        ),
        m(
            s,
            "overcommit_factor: 1.2",
            "overcommit_factor: -1.2",
            15,
            "scheduler.volcano.overcommit_factor",
        ),
        m(
            s,
            "overcommit_factor: 1.2",
            "overcommit_factr: 1.2",
            15,
            "scheduler.volcano.overcommit_factr",
        ),
        m(
            s,
            "overcommit_factor: 1.2}",
            "overcommit_factor: 1.2, queues: [{name: q, weight: 0}]}",
            15,
            "scheduler.volcano.queues[0].weight",
        ),
        m(
            s,
            "overcommit_factor: 1.2}",
            "overcommit_factor: 1.2, queues: [{name: q}, {name: q, weight: 2}]}",
            15,
            "scheduler.volcano.queues[1].name",
        ),
        m(
            s,
            "overcommit_factor: 1.2}",
            "overcommit_factor: 1.2, queues: [{name: q, capability: {gpus: -1}}]}",
            15,
            "scheduler.volcano.queues[0].capability.gpus",
        ),
        m(
            s,
            "[3250, 7200]",
            "[7200, 3250]",
            16,
            "scheduler.tiresias.thresholds_gpu_s",
        ),
        m(
            s,
            "[3250, 7200]",
            "[-1]",
            16,
            "scheduler.tiresias.thresholds_gpu_s",
        ),
        m(
            s,
            "[3250, 7200]",
            "3250",
            16,
            "scheduler.tiresias.thresholds_gpu_s",
        ),
        m(
            s,
            "[3250, 7200]}",
            "[3250, 7200], scheduling_interval: 0s}",
            16,
            "scheduler.tiresias.scheduling_interval",
        ),
        m(
            s,
            "[3250, 7200]}",
            "[3250, 7200], queue_order: lifo}",
            16,
            "scheduler.tiresias.queue_order",
        ),
        // detect
        m(
            s,
            "starvation_after: 2h",
            "starvation_after: 2 hours",
            18,
            "detect.starvation_after",
        ),
        m(
            s,
            "livelock_releases: 10",
            "livelock_releases: -3",
            19,
            "detect.livelock_releases",
        ),
        m(
            s,
            "livelock_releases: 10",
            "livelock_release: 10",
            19,
            "detect.livelock_release",
        ),
        // network
        m(
            s,
            "oversubscription: 2.0",
            "oversubscription: -2.0",
            26,
            "network.config.fabric.oversubscription",
        ),
        m(
            s,
            "nodes_per_su: 32",
            "nodes_per_su: 0",
            24,
            "network.config.fabric.nodes_per_su",
        ),
        m(
            s,
            "kind: rail_optimized",
            "kind: hypercube",
            23,
            "network.config.fabric.kind",
        ),
        m(
            s,
            "compute: 500ms",
            "compute: 0s",
            28,
            "network.steps.compute",
        ),
        m(
            s,
            "overlap: 0.5",
            "overlap: 1.5",
            31,
            "network.steps.overlap",
        ),
        m(
            s,
            "comm_bytes: 1073741824",
            "comm_bytes: -1",
            30,
            "network.steps.comm_bytes",
        ),
        m(
            s,
            "collective: all_reduce",
            "collective: all_gather_scatter",
            29,
            "network.steps.collective",
        ),
        // top level and dra
        m(s, "seed: 1", "seed: -1", 2, "seed"),
        m(s, "seed: 1", "seed: 1\nhorizon: forever", 3, "horizon"),
        m(s, "detect:", "dra: {mode: magic}\ndetect:", 17, "dra.mode"),
        m(
            s,
            "detect:",
            "dra: {mode: generated, colour: red}\ndetect:",
            17,
            "dra.colour",
        ),
        m(
            s,
            "detect:",
            "dra: {manifests: missing.yaml}\ndetect:",
            17,
            "dra.manifests",
        ),
        // orrery-csv rows
        m(csv, "b,5,60,1,1", "b,5,sixty,1,1", 3, "duration"),
        m(csv, "b,5,60,1,1", "b,-5,60,1,1", 3, "submit"),
        m(csv, "b,5,60,1,1", "b,5,60,0,1", 3, "pods"),
        m(csv, "b,5,60,1,1", "b,5,60,1,-1", 3, "gpus_per_pod"),
        m(
            csv,
            ORRERY_CSV,
            "id,submit,duration,pods,gpus_per_pod,colour\na,0,60,1,1,red\nb,5,60,1,1,red\n",
            1,
            "unknown column 'colour'",
        ),
        m(
            csv,
            ORRERY_CSV,
            "id,submit,duration,pods\na,0,60,1\nb,5,60,1\n",
            1,
            "gpus_per_pod",
        ),
        // openb rows
        m(openb, "p1,1000,1024,1,", "p1,1000,1024,-1,", 3, "num_gpu"),
        m(
            openb,
            "p1,1000,1024,1,1000",
            "p1,1000,1024,1,2000",
            3,
            "gpu_milli",
        ),
        m(openb, ",5,100,5\n", ",5,2,5\n", 3, "deletion_time"),
        m(openb, ",5,100,5\n", ",abc,100,5\n", 3, "creation_time"),
        // itp rows
        m(itp, "j1,10,100,2", "j1,10,-100,2", 3, "duration"),
        m(itp, "j1,10,100,2", "j1,10,100,x", 3, "num_gpu"),
        m(itp, "j1,10,100,2", "j1,1.5e99,100,2", 3, "submission_time"),
        // conformance profiles
        m(
            Profile,
            "gpus_per_node: 8",
            "gpus_per_node: eight",
            5,
            "accelerators.gpus_per_node",
        ),
        m(Profile, "nodes: 2", "nodes: -2", 6, "accelerators.nodes"),
        m(
            Profile,
            "nodes: 2\n",
            "nodes: 2\n  colour: red\n",
            7,
            "accelerators.colour",
        ),
        m(Profile, "name: p\n", "", 1, "`name`"),
        m(
            Profile,
            "nodes: 2\n",
            "nodes: 2\nmetrics: {scrape_interval: 15 seconds}\n",
            7,
            "metrics.scrape_interval",
        ),
        // platform scenarios
        m(
            Platform,
            "horizon: 10m",
            "horizon: 10 minutes",
            2,
            "horizon",
        ),
        m(Platform, "min: 2", "min: -2", 5, "pools[0].min"),
        m(
            Platform,
            "service_time: 1s",
            "service_time: 0s",
            9,
            "services[0].service_time",
        ),
        m(Platform, "rps: 2", "rps: -2", 13, "traffic[0].load[0].rps"),
        m(
            Platform,
            "service: llm}",
            "service: nope}",
            14,
            "traffic[0].route.backends",
        ),
        m(
            Platform,
            "max_replicas: 4",
            "max_replicas: four",
            10,
            "services[0].hpa.max_replicas",
        ),
        m(Platform, "max: 4}", "max: 1}", 5, "pools[0].max"),
    ]
}

/// The base file of a kind, its name, and the command that reads it.
fn base(kind: Kind) -> (&'static str, &'static str, Vec<&'static str>) {
    match kind {
        Kind::Scenario => (SCENARIO, "s.yaml", vec!["run", "s.yaml", "--out", "never"]),
        Kind::Trace("orrery-csv") => (ORRERY_CSV, "t.csv", vec!["run", "s.yaml", "--out", "never"]),
        Kind::Trace("openb") => (OPENB, "t.csv", vec!["run", "s.yaml", "--out", "never"]),
        Kind::Trace(_) => (ITP, "t.csv", vec!["run", "s.yaml", "--out", "never"]),
        Kind::Profile => (
            PROFILE,
            "p.yaml",
            vec!["conformance", "--profile", "p.yaml", "--out", "never"],
        ),
        Kind::Platform => (
            PLATFORM,
            "p.yaml",
            vec!["platform", "p.yaml", "--out", "never"],
        ),
    }
}

/// Writes the file of `kind` (and the scenario naming a trace) with `text` as its body.
fn write(d: &std::path::Path, kind: Kind, text: &str) {
    let (_, file, _) = base(kind);
    std::fs::write(d.join(file), text).unwrap();
    if let Kind::Trace(format) = kind {
        std::fs::write(d.join("s.yaml"), trace_scenario(format)).unwrap();
    }
}

#[test]
fn the_unmutated_inputs_are_accepted() {
    let d = tmpdir("errloc-base");
    for kind in [
        Kind::Scenario,
        Kind::Trace("orrery-csv"),
        Kind::Trace("openb"),
        Kind::Trace("itp"),
        Kind::Platform,
    ] {
        let (text, file, mut args) = base(kind);
        write(&d, kind, text);
        args.retain(|a| *a != "--out" && *a != "never");
        args.extend(["--out", "ok", "--quiet"]);
        let out = orrery(&args, &d);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", text_of(&out));
    }
    // Profiles are scored (exit 0 or 4), never bad input.
    write(&d, Kind::Profile, PROFILE);
    let out = orrery(&["conformance", "--profile", "p.yaml", "--out", "ok"], &d);
    assert_ne!(out.status.code(), Some(2), "{}", text_of(&out));
}

fn text_of(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn every_rejected_input_names_its_file_and_the_line_or_field() {
    let d = tmpdir("errloc-campaign");
    let cases = campaign();
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let (text, file, args) = base(c.kind);
        assert!(
            text.contains(c.from),
            "case {i}: {:?} not in {file}",
            c.from
        );
        write(&d, c.kind, &text.replacen(c.from, c.to, 1));
        let out = orrery(&args, &d);
        let err = self::text(&out.stderr);
        let line = format!("{file}:{}:", c.line);
        println!("case {i}: {}", err.trim());
        let written = d.join("never").exists();
        let ok = !written
            && out.status.code() == Some(2)
            && !err.contains("panicked")
            && err.contains(file)
            && (err.contains(&line) || err.contains(c.field));
        if !ok {
            failures.push(format!(
                "case {i} ({file}: {:?} -> {:?}; want {line} or {}): exit {:?}{}: {}",
                c.from,
                c.to,
                c.field,
                out.status.code(),
                if written { ", output written" } else { "" },
                err.trim()
            ));
        }
        if written {
            std::fs::remove_dir_all(d.join("never")).unwrap();
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} mutations badly reported:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Exit 2, the needles in the message, nothing written.
fn refused(d: &std::path::Path, args: &[&str], needles: &[&str]) {
    let out = orrery(args, d);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {n:?} not in {err}");
    }
    assert!(!d.join("never").exists(), "{args:?}: output written");
}

#[cfg(unix)]
#[test]
fn special_files_are_refused_without_being_read() {
    let d = tmpdir("errloc-special");
    let zero = "/dev/zero";
    refused(
        &d,
        &["conformance", "--profile", zero, "--out", "never"],
        &[zero, "not a regular file"],
    );
    refused(
        &d,
        &["platform", zero, "--out", "never"],
        &[zero, "not a regular file"],
    );
    refused(&d, &["replay-witness", zero], &[zero, "not a regular file"]);
    refused(
        &d,
        &["compare", zero, "--policies", "default", "--out", "never"],
        &[zero, "not a regular file"],
    );
    refused(
        &d,
        &[
            "capacity",
            zero,
            "--slo",
            "jobs_unfinished==0",
            "--out",
            "never",
        ],
        &[zero, "not a regular file"],
    );
    // An FGD scenario naming a device as a list: the field is named.
    std::fs::write(
        d.join("f.yaml"),
        format!("fgd:\n  node_list: {zero}\n  pod_list: {zero}\n"),
    )
    .unwrap();
    refused(
        &d,
        &["compare", "f.yaml", "--policies", "fgd", "--out", "never"],
        &["f.yaml", "fgd.node_list", "not a regular file"],
    );
    // `orrery report` on a folder whose compare.csv is a folder.
    std::fs::create_dir_all(d.join("rep/compare.csv")).unwrap();
    refused(
        &d,
        &["report", "rep"],
        &["compare.csv", "not a regular file"],
    );
}

/// A file named as input is not echoed: the message names the offending key and its line,
/// with no snippet of the file's other lines.
#[test]
fn yaml_errors_quote_the_offending_key_not_the_file() {
    let d = tmpdir("errloc-echo");
    let secret = "token: hunter2-s3cret\nkey: also-s3cret\n";
    std::fs::write(d.join("secret.yaml"), secret).unwrap();
    for args in [
        vec!["run", "secret.yaml", "--out", "never"],
        vec!["platform", "secret.yaml", "--out", "never"],
        vec!["conformance", "--profile", "secret.yaml", "--out", "never"],
    ] {
        let out = orrery(&args, &d);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("secret.yaml:1:"), "{args:?}: {err}");
        assert!(err.contains("token"), "{args:?}: {err}");
        assert!(
            !err.contains("s3cret"),
            "{args:?}: file content echoed: {err}"
        );
    }
}

/// A workload manifest with an unknown field in its pod template: exit 2, naming the
/// scenario's field, then the manifest's file and the line of the field (line 9, the
/// `resource:` typo), nothing written.
#[test]
fn workload_manifest_errors_name_the_manifest_line() {
    let d = tmpdir("errloc-manifest");
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        resource: {limits: {nvidia.com/gpu: 1}}\n";
    std::fs::write(d.join("j.yaml"), job).unwrap();
    std::fs::write(
        d.join("s.yaml"),
        "cluster:\n  node_pools:\n    - {name: g, count: 1, cpu_milli: 8000, memory_mib: 8192, gpus: 8, gpu_model: H100}\nworkload:\n  manifests: [{file: j.yaml, run_time: 1h}]\n",
    )
    .unwrap();
    refused(
        &d,
        &["run", "s.yaml", "--out", "never"],
        &[
            "s.yaml: workload.manifests[0].file: ",
            "j.yaml:9: Job j: unknown field \"spec.template.spec.containers[0].resource\"",
        ],
    );
}
