//! Bad policy names, unknown parameters and impossible quotas are rejected before any
//! simulation, with a clear message and exit code 2.

mod common;

use common::*;

fn scenario(scheduler: &str, extra_job: &str) -> String {
    format!(
        "name: cfg\ncluster:\n  node_pools:\n    - {{name: gpu, count: 2, cpu_milli: 32000, memory_mib: 262144, gpus: 4, gpu_model: H100}}\nworkload:\n  jobs:\n    - {{id: a, duration: 60s, pods: 2, gpus_per_pod: 2}}\n{extra_job}scheduler:\n{scheduler}"
    )
}

fn rejects(name: &str, yaml: &str, needles: &[&str]) {
    let d = tmpdir(name);
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    let out = orrery(&["run", "s.yaml", "--out", "never"], &d);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{yaml}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert!(!d.join("never").exists());
}

#[test]
fn unknown_policy_name() {
    rejects(
        "bad-policy",
        &scenario("  policy: slurm\n", ""),
        &[
            "s.yaml",
            "unknown variant `slurm`",
            "coscheduling",
            "k8s-gang",
        ],
    );
}

#[test]
fn unknown_parameters() {
    rejects(
        "bad-param",
        &scenario(
            "  policy: kueue\n  kueue:\n    wait_for_pods_readyy: {enable: true}\n",
            "",
        ),
        &[
            "unknown field `wait_for_pods_readyy`",
            "wait_for_pods_ready",
        ],
    );
    rejects(
        "bad-cosched",
        &scenario(
            "  policy: coscheduling\n  coscheduling: {timeout: 10s}\n",
            "",
        ),
        &["unknown field `timeout`", "schedule_timeout"],
    );
    rejects(
        "bad-duration",
        &scenario(
            "  policy: coscheduling\n  coscheduling: {schedule_timeout: soon}\n",
            "",
        ),
        &["invalid duration \"soon\""],
    );
}

#[test]
fn impossible_quotas() {
    // The job needs 4 GPUs; the queue can never have more than 2.
    rejects(
        "small-quota",
        &scenario(
            "  policy: kueue\n  kueue:\n    cluster_queues:\n      - {name: q, nominal_gpus: 2}\n",
            "",
        ),
        &["job \"a\" needs 4 GPUs", "can never get more than 2"],
    );
    rejects(
        "neg-quota",
        &scenario(
            "  policy: kueue\n  kueue:\n    cluster_queues:\n      - {name: q, nominal_gpus: -8}\n",
            "",
        ),
        &["nominal_gpus", "not a valid GPU quota"],
    );
    rejects(
        "lend-too-much",
        &scenario(
            "  policy: kueue\n  kueue:\n    cluster_queues:\n      - {name: q, cohort: c, nominal_gpus: 8, lending_limit_gpus: 9}\n",
            "",
        ),
        &[
            "lending_limit_gpus",
            "cannot lend more than the nominal quota",
        ],
    );
    rejects(
        "limits-no-cohort",
        &scenario(
            "  policy: kueue\n  kueue:\n    cluster_queues:\n      - {name: q, nominal_gpus: 8, borrowing_limit_gpus: 4}\n",
            "",
        ),
        &["need a cohort"],
    );
    rejects(
        "unknown-queue",
        &scenario(
            "  policy: kueue\n",
            "    - {id: b, duration: 60s, queue: team-x}\n",
        ),
        &["job \"b\" names queue \"team-x\"", "default"],
    );
    // A gang larger than the whole cluster could never run under any policy.
    rejects(
        "huge-gang",
        &scenario(
            "  policy: gang\n",
            "    - {id: big, duration: 60s, pods: 3, gpus_per_pod: 4}\n",
        ),
        &["job \"big\" needs 12 GPUs", "whole cluster has 8"],
    );
}

#[test]
fn unknown_placement_name() {
    rejects(
        "bad-placement",
        &scenario("  placement: tetris\n", ""),
        &["s.yaml", "unknown variant `tetris`", "gpupacking", "fgd"],
    );
}

#[test]
fn fgd_placement_refuses_nodes_beyond_eight_gpus() {
    let yaml = scenario("  placement: fgd\n", "").replace("gpus: 4,", "gpus: 16,");
    rejects(
        "fgd-16-gpus",
        &yaml,
        &["s.yaml", "scheduler.placement", "at most 8 GPUs", "has 16"],
    );
}
