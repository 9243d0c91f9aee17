//! Full trace replays through `models::run`.
//!
//! `replay/itp-all/gang`: all 69,351 Microsoft ITP jobs on 864x8 A100, gang scheduler (the
//! scenario's policy). `replay/itp-all/default`: the same with the default scheduler.
//! `replay/default-scenario/gang`: the bundled default scenario (ITP cluster01, 1,595 jobs).
//! Scenarios are loaded once; the timed loop clones cluster and workload and runs.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use models::PolicyKind;
use scenarios::{Overrides, Scenario};

const ITP_ALL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scenarios/bundled/itp-all.yaml"
);
const DEFAULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scenarios/bundled/default.yaml"
);

fn load(path: &str) -> Scenario {
    scenarios::load(Path::new(path), &Overrides::default())
        .unwrap_or_else(|e| panic!("loading {path}: {e}"))
}

fn bench_scenario(c: &mut Criterion, name: &str, s: &Scenario, policy: Option<PolicyKind>) {
    let mut config = s.config.clone();
    if let Some(p) = policy {
        config.scheduler.policy = p;
    }
    let jobs = s.workload.jobs.len() as u64;
    // One untimed run: check it completes, and report its size.
    let r = models::run(s.cluster.clone(), s.workload.clone(), &config, None)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!(
        "{name}: {jobs} jobs, {} events, stop = {}, policy = {}",
        r.events, r.stop, r.policy
    );

    let mut g = c.benchmark_group("replay");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(jobs));
    g.bench_function(name, |b| {
        b.iter(|| {
            black_box(models::run(
                s.cluster.clone(),
                s.workload.clone(),
                &config,
                None,
            ))
        })
    });
    g.finish();
}

fn replay(c: &mut Criterion) {
    let itp = load(ITP_ALL);
    assert_eq!(itp.workload.jobs.len(), 69_351, "itp-all job count");
    bench_scenario(c, "itp-all/gang", &itp, None);
    bench_scenario(c, "itp-all/default", &itp, Some(PolicyKind::Default));
    let def = load(DEFAULT);
    bench_scenario(c, "default-scenario/gang", &def, None);
}

criterion_group!(benches, replay);
criterion_main!(benches);
