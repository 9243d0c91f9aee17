//! `orrery verify` throughput.
//!
//! `verify/random/itp-cluster04-gangs/64`: 64 random-mode schedules (rayon, all cores) of
//! the realistic workload — 2,800 real ITP cluster04 jobs, 681 of them multi-GPU gangs of
//! 1-GPU pods, on 128x8 A100 (1,024 GPUs) — under coscheduling (no violation, so every
//! schedule runs to the end). Throughput is schedules per second; ×60 for per minute.
//! `verify/exhaustive/four-gangs/coscheduling` and `.../kueue-overquota-small/k8s-gang`:
//! complete exhaustive explorations of small §8 scenarios.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use models::PolicyKind;
use models::verify::{ExploreOptions, Mode, Problem, explore};
use scenarios::Overrides;

fn problem(name: &str, policy: PolicyKind) -> Problem {
    let path = format!(
        "{}/../scenarios/bundled/verify/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let s = scenarios::load(Path::new(&path), &Overrides::default())
        .unwrap_or_else(|e| panic!("loading {path}: {e}"));
    let mut config = s.config;
    config.scheduler.policy = policy;
    Problem {
        name: s.name,
        spec: s.cluster,
        workload: s.workload,
        config,
    }
}

fn bench(c: &mut Criterion) {
    let quiet = |_: u64, _: u64| {};
    let opts = ExploreOptions::default();
    let mut g = c.benchmark_group("verify");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    let p = problem("itp-cluster04-gangs", PolicyKind::Coscheduling);
    let n = 64;
    g.throughput(Throughput::Elements(n));
    let mode = Mode::Random {
        schedules: n,
        seed: 1,
    };
    g.bench_function("random/itp-cluster04-gangs/64", |b| {
        b.iter(|| black_box(explore(&p, &opts, &mode, &quiet).expect("explore")))
    });
    for (name, policy) in [
        ("four-gangs", PolicyKind::Coscheduling),
        ("kueue-overquota-small", PolicyKind::K8sGang),
    ] {
        let p = problem(name, policy);
        let mode = Mode::Exhaustive {
            max_schedules: 1_000_000,
            max_depth: None,
        };
        let e = explore(&p, &opts, &mode, &quiet).expect("explore");
        assert!(e.coverage.complete);
        g.throughput(Throughput::Elements(e.coverage.schedules));
        g.bench_function(format!("exhaustive/{name}/{}", policy.name()), |b| {
            b.iter(|| black_box(explore(&p, &opts, &mode, &quiet).expect("explore")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
