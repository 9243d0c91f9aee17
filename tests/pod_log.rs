//! The pod log (`pods.csv`, `events.csv`) and `orrery explain`, on the gang-deadlock and
//! Kueue cohort cases, with every row derived by hand in the comments.

mod common;
use common::*;

fn read(d: &std::path::Path, f: &str) -> String {
    std::fs::read_to_string(d.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))
}

fn run_ok(args: &[&str], d: &std::path::Path) {
    let out = orrery(args, d);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Default kube-scheduler, pods interleaved A-0, B-0, A-1, …: six pods take the 6 GPUs
/// (3 nodes x 2), A-3 and B-3 find none; both gangs hold 3 GPUs for ever.
#[test]
fn gang_deadlock_pods_events_and_explain() {
    let d = tmpdir("podlog-gd");
    let sc = bundled("gang-deadlock.yaml");
    run_ok(&["run", sc.to_str().unwrap(), "--out", "o", "-q"], &d);
    let pods = read(&d.join("o"), "pods.csv");
    let lines: Vec<&str> = pods.lines().collect();
    assert_eq!(lines[0], "pod,job,from_s,to_s,state,node,gpus,reason");
    assert_eq!(lines.len(), 9, "{pods}");
    let fit = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.";
    assert!(
        lines.contains(&format!("A-3,A,0,,pending,,,{fit}").as_str()),
        "{pods}"
    );
    assert!(
        lines.contains(&format!("B-3,B,0,,pending,,,{fit}").as_str()),
        "{pods}"
    );
    // The other six are bound from 0 to the end of the run, each on one GPU.
    let bound: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(",0,,bound,gpu-000"))
        .collect();
    assert_eq!(bound.len(), 6, "{pods}");
    let events = read(&d.join("o"), "events.csv");
    assert_eq!(
        events.matches(",Normal,Scheduled,pod/").count(),
        6,
        "{events}"
    );
    assert!(
        events.contains(&format!("0,Warning,FailedScheduling,pod/A-3,A,{fit}")),
        "{events}"
    );
    assert!(
        events.contains(&format!("0,Warning,FailedScheduling,pod/B-3,B,{fit}")),
        "{events}"
    );

    let out = orrery(&["explain", "A", "--out", "o"], &d);
    assert!(out.status.success());
    let story = String::from_utf8_lossy(&out.stdout);
    assert!(
        story.starts_with(
            "job A: 4 pods, 4 GPUs; submitted 0s, started never, ended never; outcome stuck"
        ),
        "{story}"
    );
    assert!(story.contains("unfinished: deadlocked at t=0s: holds resources that no future event can release or complete"), "{story}");
    assert!(
        story.contains(&format!(
            "FailedScheduling   pod/A-3                  {fit}"
        )),
        "{story}"
    );
    assert!(
        story.contains(&format!(
            "A-3                      0s – end of run          pending: {fit}"
        )),
        "{story}"
    );
    assert!(!story.contains("B-"), "only A's story: {story}");

    let out = orrery(&["explain", "Z", "--out", "o"], &d);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no job \"Z\"") && err.contains("e.g. A, B"),
        "{err}"
    );
}

/// KEP-4671 gang scheduling: the same six reservations wait at Permit (each group needs one
/// more pod); at 300 s both groups time out (the fixed 5-minute timeout) and release; in
/// that instant A (first in the queue) reserves all 4 and binds, B reserves the remaining
/// 2 GPUs and waits for 2 more; A ends at 400 s, B binds then and ends at 500 s.
#[test]
fn k8s_gang_waits_at_permit_then_times_out() {
    let d = tmpdir("podlog-kg");
    let sc = bundled("gang-deadlock.yaml");
    run_ok(
        &[
            "run",
            sc.to_str().unwrap(),
            "--policy",
            "k8s-gang",
            "--horizon",
            "20m",
            "--out",
            "o",
            "-q",
        ],
        &d,
    );
    let pods = read(&d.join("o"), "pods.csv");
    let fit = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.";
    for want in [
        "A-0,A,0,300,waiting,gpu-0002,0,waiting at Permit for 1 more pods of PodGroup A"
            .to_string(),
        "A-0,A,300,400,bound,gpu-0000,0,".to_string(),
        format!("A-3,A,0,300,pending,,,{fit}"),
        "B-0,B,0,300,waiting,gpu-0000,0,waiting at Permit for 1 more pods of PodGroup B"
            .to_string(),
        "B-0,B,300,400,waiting,gpu-0001,1,waiting at Permit for 2 more pods of PodGroup B"
            .to_string(),
        format!("B-1,B,300,400,pending,,,{fit}"),
        "B-3,B,300,400,waiting,gpu-0001,0,waiting at Permit for 2 more pods of PodGroup B"
            .to_string(),
        "B-3,B,400,500,bound,gpu-0001,0,".to_string(),
    ] {
        assert!(
            pods.lines().any(|l| l == want),
            "missing {want:?} in\n{pods}"
        );
    }
    let events = read(&d.join("o"), "events.csv");
    assert!(
        events.contains("400,Normal,Completed,job/A,A,Job completed"),
        "{events}"
    );
    assert!(
        events.contains("500,Normal,Completed,job/B,B,Job completed"),
        "{events}"
    );
}

/// Kueue, a ClusterQueue at its borrowing limit (scenarios/tests/kueue-cohort/
/// borrowing-limit.yaml): team-a (nominal 4, may borrow 2) runs a1 (4 GPUs, 0-100 s); a2
/// (4 GPUs) arrives at 10 s: team-a can take 2 more, so "2 more needed"; a1 ends at
/// 100 s, a2 is admitted (queued 90 s) and both its pods bind on the free node.
#[test]
fn kueue_cohort_reason_and_workload_events() {
    let d = tmpdir("podlog-kq");
    let sc = root().join("scenarios/tests/kueue-cohort/borrowing-limit.yaml");
    run_ok(&["run", sc.to_str().unwrap(), "--out", "o", "-q"], &d);
    let msg = "couldn't assign flavors to pod set ps0: insufficient unused quota for nvidia.com/gpu in flavor default, 2 more needed";
    let pods = read(&d.join("o"), "pods.csv");
    for want in [
        format!("a2-0,a2,10,100,pending,,,\"ClusterQueue team-a: {msg}\""),
        format!("a2-1,a2,10,100,pending,,,\"ClusterQueue team-a: {msg}\""),
        "a2-0,a2,100,150,bound,h100-0000,0;1,".to_string(),
        "a1-0,a1,0,100,bound,h100-0001,0;1;2;3,".to_string(),
    ] {
        assert!(
            pods.lines().any(|l| l == want),
            "missing {want:?} in\n{pods}"
        );
    }
    let events = read(&d.join("o"), "events.csv");
    for want in [
        format!("10,Warning,Pending,workload/a2,a2,\"{msg}\""),
        "100,Normal,QuotaReserved,workload/a2,a2,\"Quota reserved in ClusterQueue team-a, wait time since queued was 90s\"".to_string(),
        "100,Normal,Admitted,workload/a2,a2,\"Admitted by ClusterQueue team-a, wait time since reservation was 0s\"".to_string(),
    ] {
        assert!(events.lines().any(|l| l == want), "missing {want:?} in\n{events}");
    }
    // The workload is pending, not its pods: no FailedScheduling for a2.
    assert!(!events.contains("FailedScheduling"), "{events}");
    let out = orrery(&["explain", "a2", "--out", "o"], &d);
    let story = String::from_utf8_lossy(&out.stdout);
    assert!(story.contains("outcome completed"), "{story}");
    assert!(
        story.contains(&format!("pending: ClusterQueue team-a: {msg}")),
        "{story}"
    );
}

/// The log observes; it does not change the run.
#[test]
fn the_pod_log_does_not_change_the_run() {
    let d = tmpdir("podlog-same");
    let sc = root().join("scenarios/tests/kueue-cohort/pending-forever.yaml");
    run_ok(&["run", sc.to_str().unwrap(), "--out", "a", "-q"], &d);
    run_ok(
        &[
            "run",
            sc.to_str().unwrap(),
            "--out",
            "b",
            "-q",
            "--no-pod-log",
        ],
        &d,
    );
    for f in ["jobs.csv", "summary.json"] {
        assert_eq!(read(&d.join("a"), f), read(&d.join("b"), f), "{f}");
    }
    assert!(d.join("a/pods.csv").exists() && d.join("a/events.csv").exists());
    assert!(!d.join("b/pods.csv").exists() && !d.join("b/events.csv").exists());
    let out = orrery(&["explain", "j0", "--out", "b"], &d);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("events.csv"));
}

/// The same queues read from Kueue YAML (`scenarios/kubernetes/kueue/cohort-teams.yaml`,
/// jobs naming LocalQueues) give the same run, pod for pod and event for event.
#[test]
fn queues_from_kueue_yaml_give_the_same_run() {
    let d = tmpdir("podlog-kq-yaml");
    let dir = root().join("scenarios/tests/kueue-cohort");
    let inline = dir.join("borrowing-limit.yaml");
    let yaml = dir.join("borrowing-limit-manifests.yaml");
    run_ok(&["run", inline.to_str().unwrap(), "--out", "a", "-q"], &d);
    run_ok(&["run", yaml.to_str().unwrap(), "--out", "b", "-q"], &d);
    for f in ["jobs.csv", "pods.csv", "events.csv"] {
        assert_eq!(read(&d.join("a"), f), read(&d.join("b"), f), "{f}");
    }
}
