//! Training jobs in runs (issue 19): a job priced by its application profile runs for
//! what its placement needs, whatever its trace duration, and a preempted one keeps its
//! progress and pays the restart again.
//!
//! Expected times are the Pollux artefact's own (`elastic_artefact.rs`, from its
//! `Job.step`): cifar10 at batch 512 on one node of 4 GPUs finishes 1,200 s after its
//! allocation, on four nodes of 1 GPU 1,641 s; cifar10 at batch 128 on 1 GPU 4,030 s;
//! ncf at batch 1,024 on one node of 4 GPUs 621 s. Each includes the 30 s restart.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use models::elastic::{AppProfile, Application, Progress, Run, progress};
use models::sim::training::{TrainingConfig, TrainingJob};
use models::{
    ClusterSpec, JobSpec, NodeSpec, Outcome, PodRequest, PolicyKind, RunConfig, Workload, run,
};
use sim_core::{SimDuration, SimTime};

fn app(name: &str) -> Application {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/traces/philly-pollux/app-profiles")
        .join(name);
    Application::pollux(AppProfile::load(&dir).expect("bundled profile")).expect("application")
}

fn cluster(nodes: u32, gpus: u32) -> ClusterSpec {
    ClusterSpec {
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                taints: Vec::new(),
                name: format!("node-{i}"),
                pool: "gpu".into(),
                cpu_milli: 48_000,
                memory_mib: 196_608,
                gpus,
                gpu_model: Some("T4".into()),
                gpu_memory_mib: 15_360,
                rack: 0,
                labels: BTreeMap::new(),
            })
            .collect(),
    }
}

/// A job of `gpus` one-GPU pods; its trace duration (1 s) is never what it runs for.
fn job(id: &str, submit_s: u64, gpus: u32) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::from_secs(submit_s),
        duration: SimDuration::from_secs(1),
        pods: vec![PodRequest::gpus(1); gpus as usize],
        priority: 0,
        queue: None,
    }
}

/// `jobs` as (id, submit s, GPUs, application, batch size).
fn run_training(
    cluster: ClusterSpec,
    jobs: &[(&str, u64, u32, &str, u32)],
    policy: PolicyKind,
    edit: impl FnOnce(&mut RunConfig),
) -> BTreeMap<String, (u64, u64)> {
    run_training_restarting(
        cluster,
        jobs,
        policy,
        models::elastic::RESCALE_SECONDS,
        edit,
    )
}

/// As [`run_training`], every (re)start costing `restart_s`.
fn run_training_restarting(
    cluster: ClusterSpec,
    jobs: &[(&str, u64, u32, &str, u32)],
    policy: PolicyKind,
    restart_s: u64,
    edit: impl FnOnce(&mut RunConfig),
) -> BTreeMap<String, (u64, u64)> {
    let mut apps: Vec<Application> = Vec::new();
    let mut training = BTreeMap::new();
    for &(id, _, _, name, batch_size) in jobs {
        let a = match apps.iter().position(|a| a.profile.name == name) {
            Some(a) => a,
            None => {
                apps.push(app(name));
                apps.len() - 1
            }
        };
        training.insert(
            id.to_string(),
            TrainingJob {
                app: a,
                batch_size,
                restart_s,
            },
        );
    }
    let workload = Workload {
        jobs: jobs.iter().map(|&(id, s, g, _, _)| job(id, s, g)).collect(),
    };
    let mut config = RunConfig {
        check_invariants: true,
        training: Some(Arc::new(TrainingConfig {
            apps,
            jobs: training,
        })),
        ..RunConfig::default()
    };
    config.scheduler.policy = policy;
    edit(&mut config);
    let r = run(cluster, workload, &config, None).expect("run");
    r.jobs
        .iter()
        .map(|j| {
            assert_eq!(j.outcome, Outcome::Completed, "{}", j.id);
            let secs = |t: Option<SimTime>| t.expect("ran").as_nanos() / 1_000_000_000;
            (j.id.clone(), (secs(j.start), secs(j.end)))
        })
        .collect()
}

#[test]
fn a_training_job_runs_for_what_its_placement_needs() {
    // One GPU: 4,030 s from its start, whatever its trace says.
    let r = run_training(
        cluster(1, 4),
        &[("c", 10, 1, "cifar10", 128)],
        PolicyKind::Default,
        |_| {},
    );
    assert_eq!(r["c"], (10, 10 + 4_030));
    // The same job on 4 GPUs of one node, and on 4 nodes of 1 GPU: the placement decides.
    let packed = run_training(
        cluster(1, 4),
        &[("c", 0, 4, "cifar10", 512)],
        PolicyKind::Default,
        |_| {},
    );
    assert_eq!(packed["c"], (0, 1_200));
    let spread = run_training(
        cluster(4, 1),
        &[("c", 0, 4, "cifar10", 512)],
        PolicyKind::Default,
        |_| {},
    );
    assert_eq!(spread["c"], (0, 1_641));
}

#[test]
fn a_preempted_training_job_keeps_its_progress_and_restarts() {
    // Tiresias, one node of 4 GPUs, queues split at 2,800 GPU-s (700 s on 4 GPUs). A
    // (cifar10, 1,200 s alone) starts at 0 and is demoted at 700 s; B (ncf, 621 s) arrives
    // at 800 s in the first queue and preempts it. B ends at 800 + 621 = 1,421 s (it would
    // reach the threshold only at 700 s of its own). A trained for 800 - 30 = 770 s of its
    // 1,170 s, so 400 s are left, plus a new 30 s restart: it ends at 1,421 + 430 = 1,851 s
    // (±1 s: the epoch it was stopped in is rounded to whole seconds twice).
    let r = run_training(
        cluster(1, 4),
        &[("A", 0, 4, "cifar10", 512), ("B", 800, 4, "ncf", 1_024)],
        PolicyKind::Tiresias,
        |c| c.scheduler.tiresias.thresholds_gpu_s = vec![2_800],
    );
    assert_eq!(r["B"], (800, 1_421));
    let (a_start, a_end) = r["A"];
    assert_eq!(a_start, 0);
    assert!(
        a_end.abs_diff(1_851) <= 1,
        "A ended at {a_end} s, expected 1,851 ± 1"
    );
}

#[test]
fn a_placement_the_profile_cannot_price_ends_the_run_with_an_error() {
    // yolov3 is measured on at most 4 GPUs per node: 8 on one node is outside its profile.
    let workload = Workload {
        jobs: vec![job("y", 0, 8)],
    };
    let mut training = BTreeMap::new();
    training.insert(
        "y".to_string(),
        TrainingJob {
            app: 0,
            batch_size: 64,
            restart_s: 30,
        },
    );
    let config = RunConfig {
        training: Some(Arc::new(TrainingConfig {
            apps: vec![app("yolov3")],
            jobs: training,
        })),
        ..RunConfig::default()
    };
    let err = run(cluster(1, 8), workload, &config, None)
        .expect_err("unpriced placement")
        .to_string();
    assert!(
        err.contains("training") && err.contains("\"y\"") && err.contains("[8]"),
        "{err}"
    );
}

#[test]
fn a_run_config_with_training_jobs_round_trips_through_json() {
    // A verify witness stores the run's config: the profiles must come back bit for bit.
    let mut training = BTreeMap::new();
    training.insert(
        "c".to_string(),
        TrainingJob {
            app: 0,
            batch_size: 512,
            restart_s: 30,
        },
    );
    let config = RunConfig {
        training: Some(Arc::new(TrainingConfig {
            apps: vec![app("cifar10"), app("bert")],
            jobs: training,
        })),
        ..RunConfig::default()
    };
    let json = serde_json::to_string(&config).expect("serialize");
    let back: RunConfig = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, config);
    // Without training jobs, nothing is written for them.
    let plain = serde_json::to_string(&RunConfig::default()).expect("serialize");
    assert!(!plain.contains("training"), "{plain}");
}

#[test]
fn a_broken_profile_is_an_error_naming_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("orrery-profile-{}", std::process::id()));
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/traces/philly-pollux/app-profiles/ncf");
    std::fs::create_dir_all(&dir).expect("tmp");
    for f in ["placements.csv", "scalability.csv", "validation-256.csv"] {
        std::fs::copy(src.join(f), dir.join(f)).expect("copy");
    }
    let text = std::fs::read_to_string(dir.join("placements.csv")).expect("read");
    let broken = text.replacen("\n1,", "\n1,-5", 1);
    std::fs::write(dir.join("placements.csv"), broken).expect("write");
    let e = AppProfile::load(&dir).expect_err("broken").to_string();
    // No profile at all: the folder is named.
    let missing = AppProfile::load(&dir.join("nope"))
        .expect_err("missing")
        .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        e.contains("placements.csv:2") && e.contains("local_bsz"),
        "{e}"
    );
    assert!(missing.contains("nope"), "{missing}");
}

#[test]
fn a_run_time_beyond_simulated_time_is_an_error() {
    // A profile whose step takes 1e12 s: the run time would not fit a simulated time.
    let mut a = app("ncf");
    for p in &mut a.profile.placements {
        p.step_time = 1e12;
    }
    let run = models::elastic::Run::new(&a, 256, &[1]);
    let mut fresh = models::elastic::Progress::default();
    models::elastic::progress::reallocate(&mut fresh);
    let e = run
        .seconds_to_finish(&fresh)
        .expect_err("too long")
        .to_string();
    assert!(e.contains("more than"), "{e}");
}

/// Seconds `app` at `batch_size` needs on `placement` from `p` (restart included).
fn finish(a: &Application, batch_size: u32, placement: &[u32], p: &Progress) -> u64 {
    Run::new(a, batch_size, placement)
        .seconds_to_finish(p)
        .expect("priced")
}

#[test]
fn optimus_gives_a_lone_job_every_gpu_at_its_first_round() {
    // Submitted at 10 s, first considered at the 60 s round: one GPU, then the three
    // others one by one (each shortens cifar10's predicted step), all on the one node.
    // From there it is the artefact's 1,200 s on one node of 4 (30 s restart included).
    let r = run_training(
        cluster(1, 4),
        &[("c", 10, 1, "cifar10", 512)],
        PolicyKind::new("optimus"),
        |_| {},
    );
    assert_eq!(r["c"], (60, 60 + 1_200));
}

#[test]
fn an_optimus_resize_restarts_the_job_and_costs_the_restart_delay() {
    // cifar10 (batch 512) runs alone on 4 GPUs from the 60 s round. ncf (batch 1,024;
    // the artefact caps ncf at one replica) arrives at 100 s; at the 120 s round each
    // job gets one GPU and cifar10 the other two: ncf, fewest replicas, is placed first.
    // cifar10 changed size, so it restarts on 3 GPUs and pays the restart again; it has
    // kept the progress of the seconds it trained. When ncf completes, cifar10 grows back
    // to 4 at the next round and restarts once more. With the artefact's 30 s restart
    // and with a configured 50 s one.
    let cifar = app("cifar10");
    let ncf = app("ncf");
    for restart in [30, 50] {
        let r = run_training_restarting(
            cluster(1, 4),
            &[("c", 0, 1, "cifar10", 512), ("n", 100, 1, "ncf", 1024)],
            PolicyKind::new("optimus"),
            restart,
            |_| {},
        );
        // ncf: 1 GPU from 120 s to its end.
        let mut fresh = Progress::default();
        progress::reallocate_with(&mut fresh, restart);
        let n_end = 120 + finish(&ncf, 1024, &[1], &fresh);
        assert_eq!(r["n"], (120, n_end), "restart {restart}");
        // cifar10: 60 s on [4] (the restart first), then [3] from 120 s.
        let mut p = Progress::default();
        progress::reallocate_with(&mut p, restart);
        Run::new(&cifar, 512, &[4])
            .advance(&mut p, 60)
            .expect("priced");
        progress::reallocate_with(&mut p, restart);
        let on_three = 120 + finish(&cifar, 512, &[3], &p);
        let next_round = n_end.div_ceil(60) * 60;
        assert!(on_three > next_round, "the case meant to grow back");
        // Grown back to 4 GPUs at the first round after ncf ended: another restart.
        Run::new(&cifar, 512, &[3])
            .advance(&mut p, next_round - 120)
            .expect("priced");
        progress::reallocate_with(&mut p, restart);
        let end = next_round + finish(&cifar, 512, &[4], &p);
        assert_eq!(r["c"], (60, end), "restart {restart}");
    }
}

#[test]
fn an_elastic_policy_refuses_jobs_without_profiles() {
    let workload = Workload {
        jobs: vec![job("plain", 0, 2)],
    };
    let mut config = RunConfig::default();
    config.scheduler.policy = PolicyKind::new("optimus");
    let e = run(cluster(1, 4), workload, &config, None)
        .expect_err("no training jobs")
        .to_string();
    assert!(e.contains("optimus") && e.contains("pollux"), "{e}");
}

#[test]
fn an_elastic_job_asking_more_replicas_than_the_cluster_has_still_runs() {
    // The trace asks 6 replicas; under optimus the replica count is the policy's, bounded
    // by the cluster's 4 GPUs: the job runs on all 4 (the artefact's 1,200 s on one node
    // of 4 at batch 512) instead of being refused as larger than the cluster.
    let r = run_training(
        cluster(1, 4),
        &[("c", 0, 6, "cifar10", 512)],
        PolicyKind::new("optimus"),
        |_| {},
    );
    assert_eq!(r["c"], (60, 60 + 1_200));
}

/// Pollux (`pollux`): a lone cifar10 job, submitted at 10 s on one node of 4 GPUs.
/// * 60 s: 1 GPU (a job that has run on nothing may get one replica).
/// * 120 s: 2 GPUs (it may double what it has run on; age 110 s, no restart yet: a
///   change keeps 110 ÷ 140 of the speedup, and its model predicts 0.81 on 2 against
///   0.60 on 1).
/// * 180 s: it stays on 2. Age 170 s, one restart: a change keeps (170 − 30) ÷ 200 = 0.70,
///   and 4 GPUs are predicted 1.414× its 2 (1 ÷ (0.25 × 0.70 + 0.001) = 5.68 against
///   1 ÷ (0.25 × 0.707 + 0.001) = 5.62 to keep).
/// * 240 s: 4 GPUs (a change keeps 200 ÷ 260 = 0.77; 4 GPUs are 1.50× its 2).
///
/// Its end is the artefact's `Job.step` advanced 60 s at a time through those allocations
/// (the model's adaptive job, stepped here by hand: observed configurations refit its
/// model, its batch size follows its predicted goodput).
#[test]
fn a_lone_pollux_job_doubles_its_replicas_and_ends_as_stepped_by_hand() {
    use models::elastic::adaptive::{Adaptive, Direct};
    let r = run_training(
        cluster(1, 4),
        &[("c", 10, 1, "cifar10", 128)],
        PolicyKind::new("pollux"),
        |_| {},
    );
    let a = app("cifar10");
    let mut job = Adaptive::new(None);
    let mut p = Progress::default();
    let mut rounds = 0u64;
    let mut on = 0;
    for gpus in [1u32, 2, 2, 4] {
        if gpus != on {
            job.reallocate(&a, &[gpus], &mut p, models::elastic::RESCALE_SECONDS);
            on = gpus;
        }
        job.step(&a, 0, &[gpus], &mut p, 60, &Direct).expect("step");
        rounds += 1;
    }
    while p.completed_at.is_none() {
        job.step(&a, 0, &[4], &mut p, 60, &Direct).expect("step");
        rounds += 1;
        assert!(rounds < 10_000, "never completes");
    }
    let end = 60 + p.completed_at.expect("completed");
    assert_eq!(r["c"], (60, end));
    assert_eq!(end, 1_308);
    // It adapted its batch size: more than the 128 the trace asks on 4 GPUs.
    assert!(job.atomic_bsz * (job.accum_steps + 1) * 4 > 128);
    assert_eq!(job.restarts, Some(2));
}
