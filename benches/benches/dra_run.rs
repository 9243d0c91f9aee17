//! Full runs with DRA off and on, so the DynamicResources plugin's overhead is known.
//!
//! `dra_run/openb/{plain,dra}`: the full openb pod list (8,152 pods on 1,213 GPU nodes,
//! 6,212 GPUs, default kube-scheduler), plain GPU counts vs `dra: {mode: generated}`
//! (one ResourceSlice per node, one claim per pod, shares through per-GPU shared claims).
//! `dra_run/default-scenario/{plain,dra}`: the bundled default scenario (ITP cluster01,
//! 1,595 jobs, gang placement on 16x8 H100). Both pairs give identical results
//! (tests/dra_runs.rs); the timed loop clones cluster and workload and runs.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use scenarios::dra::{DraDef, DraMode};
use scenarios::{DirSource, Overrides, Scenario};

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/bundled")
        .join(name)
}

fn load(name: &str, dra: bool) -> Scenario {
    let path = bundled(name);
    let display = path.display().to_string();
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{display}: {e}"));
    let mut f = scenarios::parse(&display, &yaml).unwrap_or_else(|e| panic!("{e}"));
    if dra {
        f.dra = Some(DraDef {
            mode: Some(DraMode::Generated),
            ..DraDef::default()
        });
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    scenarios::build_parsed(&display, f, &DirSource(base), &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn bench_pair(c: &mut Criterion, label: &str, file: &str) {
    let mut g = c.benchmark_group("dra_run");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    for (mode, dra) in [("plain", false), ("dra", true)] {
        let s = load(file, dra);
        let r = models::run(s.cluster.clone(), s.workload.clone(), &s.config, None)
            .unwrap_or_else(|e| panic!("{label}/{mode}: {e}"));
        eprintln!(
            "{label}/{mode}: {} jobs, {} events",
            s.workload.jobs.len(),
            r.events
        );
        g.throughput(Throughput::Elements(s.workload.jobs.len() as u64));
        g.bench_function(format!("{label}/{mode}"), |b| {
            b.iter(|| {
                black_box(models::run(
                    s.cluster.clone(),
                    s.workload.clone(),
                    &s.config,
                    None,
                ))
            })
        });
    }
    g.finish();
}

fn dra_run(c: &mut Criterion) {
    bench_pair(c, "openb", "openb-default.yaml");
    bench_pair(c, "default-scenario", "default.yaml");
}

criterion_group!(benches, dra_run);
criterion_main!(benches);
