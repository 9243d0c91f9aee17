//! The progress model against the Pollux artefact's own code (issue 19).
//!
//! Each row: (application, placement as GPUs per node, total batch size, seconds from a
//! job's first allocation at t = 0 to its completion, atomic batch size, accumulation
//! steps), for every (application, GPUs, batch size) in the artefact's workloads, packed
//! on 4-GPU nodes and spread over 16 nodes. Produced by running the artefact's
//! `Job.reallocate(placement)` then `Job.step(60)` until `completion_time` is set
//! (`simulator/simulator.py` and `applications.py` of petuum/adaptdl `osdi21-artifact`
//! @ `de25dcc`, Python 3.11, pandas 2, scipy 1.x; the only edit was `DataFrame.append` →
//! `pandas.concat`, which pandas 2 requires). docs/elastic.md shows how.

use std::path::PathBuf;

use models::elastic::{AppProfile, Application, Progress, Run, progress};

fn profiles() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/traces/philly-pollux/app-profiles")
}

fn app(name: &str) -> Application {
    let p = AppProfile::load(&profiles().join(name)).expect("bundled profile");
    Application::pollux(p).expect("artefact application")
}

type Row = (&'static str, &'static [u32], u32, u64, u32, u32);

const ARTEFACT: [Row; 64] = [
    ("bert", &[1], 12, 13644, 12, 0),
    ("bert", &[4], 48, 3617, 12, 0),
    ("bert", &[1, 1, 1, 1], 48, 5542, 12, 0),
    ("bert", &[4, 2], 384, 3122, 10, 5),
    ("bert", &[1, 1, 1, 1, 1, 1], 384, 2726, 10, 5),
    ("bert", &[4, 4], 384, 2489, 12, 3),
    ("bert", &[1, 1, 1, 1, 1, 1, 1, 1], 384, 2024, 12, 3),
    ("bert", &[4, 4, 4], 384, 1624, 10, 2),
    (
        "bert",
        &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        384,
        1612,
        10,
        2,
    ),
    ("bert", &[4, 4, 4, 4], 384, 1354, 12, 1),
    (
        "bert",
        &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        384,
        1310,
        12,
        1,
    ),
    ("cifar10", &[1], 128, 4030, 128, 0),
    ("cifar10", &[4], 512, 1200, 128, 0),
    ("cifar10", &[1, 1, 1, 1], 512, 1641, 128, 0),
    ("cifar10", &[4, 2], 2048, 940, 342, 0),
    ("cifar10", &[1, 1, 1, 1, 1, 1], 2048, 891, 342, 0),
    ("cifar10", &[4, 4], 1024, 1353, 128, 0),
    ("cifar10", &[1, 1, 1, 1, 1, 1, 1, 1], 1024, 1086, 128, 0),
    ("cifar10", &[4, 4], 2048, 895, 256, 0),
    ("cifar10", &[1, 1, 1, 1, 1, 1, 1, 1], 2048, 830, 256, 0),
    ("cifar10", &[4, 4, 4], 4096, 654, 341, 0),
    (
        "cifar10",
        &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        4096,
        650,
        341,
        0,
    ),
    ("cifar10", &[4, 4, 4, 4], 4096, 512, 256, 0),
    (
        "cifar10",
        &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        4096,
        539,
        256,
        0,
    ),
    ("deepspeech2", &[1], 20, 19470, 20, 0),
    ("deepspeech2", &[4], 80, 6400, 20, 0),
    ("deepspeech2", &[1, 1, 1, 1], 80, 6984, 20, 0),
    ("deepspeech2", &[4, 2], 320, 4172, 54, 0),
    ("deepspeech2", &[1, 1, 1, 1, 1, 1], 320, 4006, 54, 0),
    ("deepspeech2", &[4, 4], 160, 6184, 20, 0),
    ("deepspeech2", &[1, 1, 1, 1, 1, 1, 1, 1], 160, 4270, 20, 0),
    ("deepspeech2", &[4, 4], 320, 3560, 40, 0),
    ("deepspeech2", &[1, 1, 1, 1, 1, 1, 1, 1], 320, 3000, 40, 0),
    ("deepspeech2", &[4, 4, 4], 640, 2507, 53, 0),
    (
        "deepspeech2",
        &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        640,
        2501,
        53,
        0,
    ),
    ("imagenet", &[4, 4], 1600, 79870, 200, 0),
    ("imagenet", &[1, 1, 1, 1, 1, 1, 1, 1], 1600, 79237, 200, 0),
    ("imagenet", &[4, 4, 4, 4], 3200, 44862, 200, 0),
    (
        "imagenet",
        &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        3200,
        42879,
        200,
        0,
    ),
    ("imagenet", &[4, 4, 4, 4, 4, 4], 3200, 31835, 134, 0),
    (
        "imagenet",
        &[2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
        3200,
        30361,
        134,
        0,
    ),
    ("imagenet", &[4, 4, 4, 4, 4, 4, 4, 4], 6400, 27461, 200, 0),
    (
        "imagenet",
        &[2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
        6400,
        25923,
        200,
        0,
    ),
    (
        "imagenet",
        &[4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4],
        6400,
        19719,
        134,
        0,
    ),
    (
        "imagenet",
        &[3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
        6400,
        18862,
        134,
        0,
    ),
    ("ncf", &[1], 256, 1470, 256, 0),
    ("ncf", &[1], 32768, 77, 16384, 1),
    ("ncf", &[2], 512, 970, 256, 0),
    ("ncf", &[1, 1], 512, 1990, 256, 0),
    ("ncf", &[4], 1024, 621, 256, 0),
    ("ncf", &[1, 1, 1, 1], 1024, 993, 256, 0),
    ("ncf", &[4, 4], 2048, 960, 256, 0),
    ("ncf", &[1, 1, 1, 1, 1, 1, 1, 1], 2048, 660, 256, 0),
    ("yolov3", &[1], 8, 33778, 8, 0),
    ("yolov3", &[2], 16, 19100, 8, 0),
    ("yolov3", &[1, 1], 16, 43333, 8, 0),
    ("yolov3", &[4], 32, 14298, 8, 0),
    ("yolov3", &[1, 1, 1, 1], 32, 22342, 8, 0),
    ("yolov3", &[4], 64, 14132, 8, 1),
    ("yolov3", &[1, 1, 1, 1], 64, 17364, 8, 1),
    ("yolov3", &[4, 4], 64, 26172, 8, 0),
    ("yolov3", &[1, 1, 1, 1, 1, 1, 1, 1], 64, 17253, 8, 0),
    ("yolov3", &[4, 4, 4, 4], 128, 11571, 8, 0),
    (
        "yolov3",
        &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        128,
        10063,
        8,
        0,
    ),
];

/// The artefact's step loop: a fresh allocation, then 60 s intervals until completion.
fn stepped(run: &Run<'_>) -> u64 {
    let mut p = Progress::default();
    progress::reallocate(&mut p);
    while p.completed_at.is_none() {
        run.advance(&mut p, 60).expect("progress");
    }
    p.completed_at.expect("completed")
}

#[test]
fn fixed_allocations_complete_when_the_artefact_says() {
    let apps: Vec<Application> = models::elastic::POLLUX_APPLICATIONS
        .iter()
        .map(|(n, _, _)| app(n))
        .collect();
    let mut off = Vec::new();
    for (name, placement, batch, jct, atomic, accum) in ARTEFACT {
        let a = apps.iter().find(|a| a.profile.name == name).expect("app");
        let run = Run::new(a, batch, placement);
        assert_eq!(
            (run.config.atomic_bsz, run.config.accum_steps),
            (atomic, accum),
            "{name} {placement:?} batch {batch}: batch configuration"
        );
        let got = stepped(&run);
        // From a fresh allocation in one go: the same epochs, rounded the same way.
        let mut fresh = Progress::default();
        progress::reallocate(&mut fresh);
        let once = run.seconds_to_finish(&fresh).expect("finish");
        assert_eq!(
            once, got,
            "{name} {placement:?} batch {batch}: one go vs stepped"
        );
        if got != jct {
            off.push(format!(
                "{name} {placement:?} batch {batch}: {got} s, artefact {jct} s"
            ));
        }
    }
    assert!(
        off.is_empty(),
        "{} of {} differ:\n{}",
        off.len(),
        ARTEFACT.len(),
        off.join("\n")
    );
}
