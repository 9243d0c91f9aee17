//! A capacity sweep's work, single-threaded: `capacity/sweep-default`: the bundled default
//! scenario (ITP cluster01, 1,595 jobs) on 8, 16 and 32 nodes × policies gang and backfill
//! × 2 seeds = 12 runs, each with its shaken workload (`scenarios::vary::shake`), resized
//! cluster, `models::run` and reduction to a `RunData`, then the raw CSVs and the whole
//! report (CSV, Markdown, SVG plots, HTML) built from them. `capacity/report-only`: the
//! report from the 12 runs' raw CSVs (what `orrery report` and `orrery merge` do).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use models::PolicyKind;
use reports::capacity::{self, Provenance, RunData, Slo, SweepSpec};
use scenarios::vary::{Shake, resize, shake};
use scenarios::{DirSource, Overrides};

const DEFAULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scenarios/bundled/default.yaml"
);

fn spec() -> SweepSpec {
    SweepSpec {
        provenance: Provenance {
            orrery_version: "bench".into(),
            scenario_file: "default.yaml".into(),
            scenario_name: "default".into(),
            scenario_hash: "0".into(),
            traces: vec![],
            base_pools: vec![],
        },
        nodes: vec![8, 16, 32],
        policies: vec!["gang".into(), "backfill".into()],
        gpu_models: vec!["H100".into()],
        loads_milli: vec![1000],
        seeds: vec![1, 2],
        slos: vec![
            Slo::parse("p95_wait<=30m").expect("slo"),
            Slo::parse("jobs_unfinished==0").expect("slo"),
        ],
        confidence: 1.0,
        prices: Default::default(),
        arrival_jitter_milli: 200,
        duration_jitter_milli: 100,
        horizon: None,
        timeline_bin_s: 3600,
        shard: None,
    }
}

fn bench(c: &mut Criterion) {
    let yaml = std::fs::read_to_string(DEFAULT).expect("default.yaml");
    let file = scenarios::parse(DEFAULT, &yaml).expect("parse");
    let src = DirSource(Path::new(DEFAULT).parent().expect("dir").to_path_buf());
    let base =
        scenarios::build_parsed(DEFAULT, file.clone(), &src, &Overrides::default()).expect("build");
    let spec = spec();
    let points = spec.points();
    let sweep = || {
        let runs: Vec<RunData> = spec
            .tasks()
            .iter()
            .enumerate()
            .map(|(run, &(pi, seed))| {
                let p = &points[pi];
                let def = resize(&file.cluster, Some(p.nodes), None).expect("resize");
                let cluster = scenarios::build_cluster(DEFAULT, &def, &src, None).expect("cluster");
                let w = shake(&base.workload, seed, &Shake::default());
                let mut config = base.config.clone();
                config.seed = seed;
                config.scheduler.policy = PolicyKind::parse(&p.policy).expect("policy");
                match models::run(cluster, w, &config, None) {
                    Ok(r) => RunData::new(run, pi, seed, "default", &r, spec.timeline_bin_s),
                    Err(_) => RunData::infeasible(run, pi, seed),
                }
            })
            .collect();
        let raw = capacity::raw_files(&spec, &runs).expect("raw");
        capacity::report_files(&spec, &raw).expect("report")
    };
    let files = sweep();
    eprintln!(
        "capacity/sweep-default: {} runs, {} files, capacity.html {} bytes",
        spec.tasks().len(),
        files.len(),
        files
            .iter()
            .find(|f| f.0 == "capacity.html")
            .map_or(0, |f| f.1.len())
    );
    let raw: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter(|f| f.0.starts_with("runs"))
        .cloned()
        .collect();
    let mut g = c.benchmark_group("capacity");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("sweep-default", |b| b.iter(|| black_box(sweep())));
    g.bench_function("report-only", |b| {
        b.iter(|| black_box(capacity::report_files(&spec, &raw).expect("report")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
