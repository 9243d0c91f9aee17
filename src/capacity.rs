//! `orrery capacity`: a grid of cluster sizes × policies × GPU models × loads, each run on
//! several seeds with shaken inputs (in parallel), and the capacity report
//! (docs/capacity.md). `--shard I/N` runs one slice; `orrery merge` joins the slices.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::anyhow;
use indicatif::{ProgressBar, ProgressStyle};
use models::{ClusterSpec, PolicyKind, RunError, Workload};
use rayon::prelude::*;
use reports::capacity::{self, Prices, Provenance, RunData, Shard, Slo, SweepSpec, Vary};
use scenarios::bundled;
use scenarios::vary::{Shake, resize, shake};
use scenarios::{DirSource, FileSource, Overrides, ScenarioFile};
use sim_core::SimDuration;

use crate::{Failure, bad_input};

#[derive(clap::Args, Debug)]
pub struct CapacityArgs {
    /// Scenario YAML file (see docs/scenario-format.md); omit for the bundled default. Its
    /// cluster must be made of node_pools when nodes vary.
    scenario: Option<PathBuf>,
    /// A variable of the grid, NAME=VALUES (repeatable): nodes=64..1024:x2 (total node count:
    /// A..B:xK, A..B:+K, or a list), policy=gang,kueue, gpu_model=A100,H100, load=1,1.5.
    #[arg(long = "vary", value_name = "NAME=VALUES")]
    vary: Vec<String>,
    /// A service-level objective every run is checked against (repeatable), METRIC OP VALUE,
    /// e.g. "p95_wait<=30m", "jobs_unfinished==0", "gpu_busy_ratio>=60%".
    #[arg(long = "slo", value_name = "SLO", required = true)]
    slo: Vec<String>,
    /// Seeds: N (a count: seeds 1..N), A..B (inclusive), or a comma list (1,2,7..9). Each
    /// seed shakes the inputs differently and seeds every choice among equals.
    #[arg(long, value_name = "LIST", default_value = "5")]
    seeds: String,
    /// Arrival-rate multipliers (comma list), e.g. 1.0,1.5,2.0: inter-arrival gaps are
    /// divided by the load. Same as --vary load=...
    #[arg(long, value_name = "LIST")]
    load: Option<String>,
    /// Price of a node-hour: one number, or per GPU model (A100=2.5,H100=4). Default 1 (cost
    /// in node-hours).
    #[arg(long, value_name = "PRICE")]
    price: Option<String>,
    /// Share of seeds that must meet every SLO for a configuration to count (0 < c ≤ 1).
    #[arg(long, default_value = "1")]
    confidence: String,
    /// Inter-arrival gaps are multiplied by a factor drawn from [1-J, 1+J] per job and seed.
    #[arg(long, value_name = "J", default_value = "0.2")]
    arrival_jitter: String,
    /// Durations are multiplied by a factor drawn from [1-J, 1+J] per job and seed.
    #[arg(long, value_name = "J", default_value = "0.1")]
    duration_jitter: String,
    /// Stop every run at this simulated time, e.g. 30d (overrides the scenario).
    #[arg(long)]
    horizon: Option<String>,
    /// Run only the I-th of N slices of the sweep's runs (e.g. 2/3); combine the slices with
    /// `orrery merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Output directory (created if missing; files are replaced only when every run
    /// succeeded).
    #[arg(long, default_value = "out/capacity")]
    out: PathBuf,
    /// Check the whole-state invariants (no over-commit of GPUs, CPU, memory or DRA
    /// devices; bookkeeping consistent) after every simulated instant; a violation stops
    /// the run with an error and exit code 1. Slower; off by default.
    #[arg(long)]
    check_invariants: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// A fraction 0..1 (`0`, `0.2`, `20%`) in thousandths.
fn fraction_milli(option: &str, s: &str, allow_zero: bool) -> Result<u32, Failure> {
    let v = if s.trim() == "0" {
        Some(0)
    } else {
        capacity::spec::parse_milli(s)
    };
    v.filter(|v| *v <= 1000 && (allow_zero || *v > 0))
        .ok_or_else(|| {
            bad_input(anyhow!(
                "{option}: {s:?} is not a fraction; expected a number from {} to 1 (at most 3 \
             decimals) or a percentage",
                if allow_zero { "0" } else { "above 0" }
            ))
        })
}

/// Seeds: a bare N is a count (1..N); otherwise as for `orrery compare`.
fn parse_seeds(s: &str) -> Result<Vec<u64>, Failure> {
    let t = s.trim();
    if !t.contains(',') && !t.contains("..") {
        let n: u64 = t.parse().map_err(|_| {
            bad_input(anyhow!(
                "--seeds: {s:?} is not a seed count or list; expected N (seeds 1..N), A..B or \
                 a comma list such as 1,2,7..9"
            ))
        })?;
        if n == 0 || n > capacity::spec::MAX_RUNS as u64 {
            return Err(bad_input(anyhow!(
                "--seeds: {n} seeds; expected 1 to {}",
                capacity::spec::MAX_RUNS
            )));
        }
        return Ok((1..=n).collect());
    }
    crate::compare::parse_seeds(t)
}

/// The sweep's options, all checked before anything is loaded or run.
struct Options {
    varies: BTreeMap<&'static str, Vary>,
    slos: Vec<Slo>,
    seeds: Vec<u64>,
    prices: Prices,
    confidence: f64,
    arrival_jitter: u32,
    duration_jitter: u32,
    horizon: Option<SimDuration>,
    shard: Option<Shard>,
}

fn options(args: &CapacityArgs) -> Result<Options, Failure> {
    let mut varies: BTreeMap<&'static str, Vary> = BTreeMap::new();
    for v in &args.vary {
        let v = Vary::parse(v).map_err(bad_input)?;
        let name = v.name();
        if varies.insert(name, v).is_some() {
            return Err(bad_input(anyhow!(
                "--vary {name}=... is given twice; list all values in one --vary"
            )));
        }
    }
    if let Some(l) = &args.load {
        if varies.contains_key("load") {
            return Err(bad_input(anyhow!(
                "--load and --vary load=... both given; use one"
            )));
        }
        let loads = capacity::spec::parse_loads("--load", l).map_err(bad_input)?;
        varies.insert("load", Vary::Load(loads));
    }
    if let Some(Vary::Policy(ps)) = varies.get("policy") {
        for p in ps {
            if PolicyKind::parse(p).is_none() {
                return Err(bad_input(anyhow!(
                    "--vary policy: unknown policy {p:?}; expected one of: {}",
                    PolicyKind::names().join(", ")
                )));
            }
        }
    }
    let slos = args
        .slo
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad_input)?;
    let seeds = parse_seeds(&args.seeds)?;
    let prices = args
        .price
        .as_deref()
        .map(Prices::parse)
        .transpose()
        .map_err(bad_input)?
        .unwrap_or_default();
    let confidence = f64::from(fraction_milli("--confidence", &args.confidence, false)?) / 1000.0;
    let horizon = args
        .horizon
        .as_deref()
        .map(str::parse::<SimDuration>)
        .transpose()
        .map_err(|e| bad_input(anyhow!("--horizon: {e}")))?;
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(bad_input)?;
    Ok(Options {
        varies,
        slos,
        seeds,
        prices,
        confidence,
        arrival_jitter: fraction_milli("--arrival-jitter", &args.arrival_jitter, true)?,
        duration_jitter: fraction_milli("--duration-jitter", &args.duration_jitter, true)?,
        horizon,
        shard,
    })
}

/// The scenario as written, where its files come from, and its display name.
fn scenario_file(
    p: Option<&Path>,
) -> Result<(String, String, ScenarioFile, Box<dyn FileSource + Sync>), Failure> {
    match p {
        None => Ok((
            "<bundled default>".into(),
            bundled::DEFAULT_YAML.to_string(),
            scenarios::parse(bundled::DEFAULT_PATH, bundled::DEFAULT_YAML).map_err(bad_input)?,
            Box::new(bundled::Embedded),
        )),
        Some(p) => {
            let display = p.display().to_string();
            let yaml = scenarios::scenario::read_regular_file(p).map_err(|e| {
                bad_input(anyhow::Error::from(e).context(format!("cannot read {display}")))
            })?;
            let f = scenarios::parse(&display, &yaml).map_err(bad_input)?;
            let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
            Ok((display, yaml, f, Box::new(DirSource(base))))
        }
    }
}

/// Width of the timeline bins: about 200 bins over the trace's submission span.
fn bin_width(w: &Workload) -> u64 {
    let span = match (w.jobs.first(), w.jobs.last()) {
        (Some(a), Some(b)) => b.submit.since(a.submit).as_nanos() / sim_core::NANOS_PER_SEC,
        _ => 0,
    };
    span.div_ceil(200).max(60)
}

pub fn capacity(args: CapacityArgs) -> Result<(), Failure> {
    // Every option is checked before the scenario is loaded, and the scenario and every
    // configuration of the grid before any simulation starts.
    let opts = options(&args)?;
    let (display, yaml, file, source) = scenario_file(args.scenario.as_deref())?;
    if let Some(i) = file
        .cluster
        .node_pools
        .iter()
        .position(|p| p.autoscale.is_some())
    {
        return Err(bad_input(anyhow!(
            "{display}: cluster.node_pools[{i}].autoscale: capacity sizes the cluster itself; remove `autoscale` (the cluster autoscaler runs in `orrery run` and `compare`)"
        )));
    }
    if !file.services.is_empty() {
        return Err(bad_input(anyhow!(
            "{display}: services: capacity sizes the cluster for the workload's jobs and does not model inference services yet; remove services: (and traffic:, gateway:, metrics:) or use `orrery run`"
        )));
    }
    let ov = Overrides {
        horizon: opts.horizon,
        check_invariants: args.check_invariants,
        ..Overrides::default()
    };
    let base =
        scenarios::build_parsed(&display, file.clone(), source.as_ref(), &ov).map_err(bad_input)?;

    // Training jobs run for what their placement needs (docs/elastic.md): a duration
    // jitter would not reach them, and the profiles were measured on one GPU model.
    if base.config.training.is_some() {
        if opts.duration_jitter > 0 {
            return Err(bad_input(anyhow!(
                "{display}: the scenario's pollux jobs run for what their profiles give, not for a duration: give --duration-jitter 0"
            )));
        }
        if opts.varies.contains_key("gpu_model") {
            return Err(bad_input(anyhow!(
                "{display}: the scenario's pollux jobs are priced by application profiles measured on one GPU model: --vary gpu_model would not change their speed"
            )));
        }
    }
    let nodes = match opts.varies.get("nodes") {
        Some(Vary::Nodes(n)) => n.clone(),
        _ => vec![base.cluster.nodes.len() as u32],
    };
    let policies = match opts.varies.get("policy") {
        Some(Vary::Policy(p)) => p.clone(),
        _ => vec![base.config.scheduler.policy.name().to_string()],
    };
    let base_model = file
        .cluster
        .node_pools
        .iter()
        .find(|p| p.gpus > 0)
        .and_then(|p| p.gpu_model.clone())
        .unwrap_or_else(|| "-".into());
    let gpu_models = match opts.varies.get("gpu_model") {
        Some(Vary::GpuModel(m)) => m.clone(),
        _ => vec![base_model],
    };
    let loads = match opts.varies.get("load") {
        Some(Vary::Load(l)) => l.clone(),
        _ => vec![1000],
    };
    let mut hash_input = yaml.clone().into_bytes();
    let mut traces = Vec::new();
    for t in &file.workload.traces {
        let (_, text) = source.read(&t.file).map_err(bad_input)?;
        hash_input.extend_from_slice(text.as_bytes());
        traces.push(t.file.clone());
    }
    let spec = SweepSpec {
        provenance: Provenance {
            orrery_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario_file: display.clone(),
            scenario_name: base.name.clone(),
            scenario_hash: format!("{:016x}", sim_core::fnv1a64(&hash_input)),
            traces,
            base_pools: file
                .cluster
                .node_pools
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        p.count,
                        p.gpus,
                        p.gpu_model.clone().unwrap_or_else(|| "-".into()),
                    )
                })
                .collect(),
        },
        nodes,
        policies,
        gpu_models,
        loads_milli: loads,
        seeds: opts.seeds.clone(),
        slos: opts.slos.clone(),
        confidence: opts.confidence,
        prices: opts.prices.clone(),
        arrival_jitter_milli: opts.arrival_jitter,
        duration_jitter_milli: opts.duration_jitter,
        horizon: args.horizon.clone(),
        timeline_bin_s: bin_width(&base.workload),
        shard: opts.shard,
    };
    let points = spec.points();
    let tasks = spec.tasks();
    if tasks.len() > capacity::spec::MAX_RUNS {
        return Err(bad_input(anyhow!(
            "the grid has {} configurations × {} seeds, more than {} runs",
            points.len(),
            spec.seeds.len(),
            capacity::spec::MAX_RUNS
        )));
    }
    // Every cluster of the grid, built (and so checked) up front.
    let vary_nodes = opts.varies.contains_key("nodes");
    let vary_model = opts.varies.contains_key("gpu_model");
    let mut clusters: BTreeMap<(u32, String), ClusterSpec> = BTreeMap::new();
    for n in &spec.nodes {
        for m in &spec.gpu_models {
            let def = resize(
                &file.cluster,
                vary_nodes.then_some(*n),
                vary_model.then_some(m.as_str()),
            )
            .map_err(|e| bad_input(anyhow!("{display}: cluster: cannot vary it: {e}")))?;
            let c = scenarios::build_cluster(&display, &def, source.as_ref(), None)
                .map_err(bad_input)?;
            clusters.insert((*n, m.clone()), c);
        }
    }
    let mine: Vec<(usize, (usize, u64))> = tasks
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, _)| spec.shard.is_none_or(|s| s.owns(*i)))
        .collect();
    // The shaken workload of every (load, seed) this process needs.
    let mut wanted: Vec<(u32, u64)> = mine
        .iter()
        .map(|(_, (p, s))| (points[*p].load_milli, *s))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let workloads: BTreeMap<(u32, u64), Workload> = wanted
        .par_iter()
        .map(|&(load, seed)| {
            let s = Shake {
                arrival_jitter_milli: spec.arrival_jitter_milli,
                duration_jitter_milli: spec.duration_jitter_milli,
                load_milli: load,
            };
            ((load, seed), shake(&base.workload, seed, &s))
        })
        .collect();

    let wall = Instant::now();
    let bar = if !args.quiet && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(mine.len() as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs done  {msg}",
        ) {
            b.set_style(style);
        }
        b.set_message(format!(
            "{} configurations × {} seeds on {} threads",
            points.len(),
            spec.seeds.len(),
            rayon::current_num_threads()
        ));
        b
    } else {
        ProgressBar::hidden()
    };
    // Each run is single-threaded and deterministic; the indexed collect keeps grid order.
    let results: Vec<Result<RunData, Failure>> = mine
        .par_iter()
        .map(|&(run, (pi, seed))| {
            let p = &points[pi];
            let mut config = base.config.clone();
            config.seed = seed;
            config.scheduler.policy =
                PolicyKind::parse(&p.policy).unwrap_or(config.scheduler.policy);
            let cluster = clusters[&(p.nodes, p.gpu_model.clone())].clone();
            let w = workloads[&(p.load_milli, seed)].clone();
            let res = models::run(cluster, w, &config, None);
            bar.inc(1);
            let ctx = format!("{} seed {seed}", p.label(&spec));
            match res {
                Ok(r) => Ok(RunData::new(
                    run,
                    pi,
                    seed,
                    &spec.provenance.scenario_name,
                    &r,
                    spec.timeline_bin_s,
                )),
                // A configuration too small for the workload (a job larger than the whole
                // cluster) is an answer, not an error: it misses every SLO.
                Err(RunError::Model(_)) => Ok(RunData::infeasible(run, pi, seed)),
                Err(other) => Err(Failure::from(anyhow::Error::from(other).context(ctx))),
            }
        })
        .collect();
    bar.finish_and_clear();
    let runs = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let raw = capacity::raw_files(&spec, &runs)?;
    drop(runs);
    // The report is built from the raw files read back, as `orrery merge` builds it.
    let (files, recommendation) = match spec.shard {
        Some(_) => {
            let mut f = vec![(capacity::SWEEP_JSON.to_string(), spec.to_json()?)];
            f.extend(raw);
            let note =
                "A shard: join every shard's directory with `orrery merge DIR... --out DIR`.";
            (f, vec![note.to_string()])
        }
        None => {
            let get = |i: usize| (raw[i].0.as_str(), raw[i].1.as_slice());
            let back = capacity::parse_raw(&spec, get(0), get(1), get(2))
                .and_then(|r| capacity::complete(&spec, r))
                .map_err(|e| Failure::from(anyhow::Error::from(e)))?;
            let rec = capacity::recommendation(&spec, &back);
            let f = capacity::report_from_runs(&spec, back)
                .map_err(|e| Failure::from(anyhow::Error::from(e)))?;
            (f, rec)
        }
    };
    let written = write(&args.out, &files)?;
    if !args.quiet {
        println!(
            "Orrery capacity: {} · {} configurations × {} seeds{}",
            spec.provenance.scenario_name,
            points.len(),
            spec.seeds.len(),
            spec.shard
                .map(|s| format!(" · shard {}/{} ({} runs)", s.index, s.count, mine.len()))
                .unwrap_or_default()
        );
        println!();
        for s in recommendation {
            println!("{s}");
        }
        println!();
        println!(
            "  wall       {:.2} s for {} runs on {} threads",
            wall.elapsed().as_secs_f64(),
            mine.len(),
            rayon::current_num_threads()
        );
        for w in written {
            println!("  wrote      {}", w.display());
        }
    }
    Ok(())
}

pub(crate) fn write(out: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>, Failure> {
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    crate::write_out(out, &files)
}

/// Adds `files` to the output already in `out` (`orrery report` writing beside its input).
pub(crate) fn add(out: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>, Failure> {
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    crate::out_result(out, reports::add_files(out, &files))
}
