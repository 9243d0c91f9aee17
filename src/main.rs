//! `orrery`: the command-line program.

mod capacity;
mod compare;
mod compare_fgd;
mod conformance;
mod platform;
mod report;
mod sigint;
mod snapshot;
mod synth;
mod trim;
mod verify;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use models::{PolicyKind, RunError};
use scenarios::bundled;
use scenarios::trace::TraceFormat;
use scenarios::{DirSource, Overrides, Scenario, ScenarioError, TraceDef};
use sim_core::{SimDuration, SimTime};

/// Exit code for bad input (scenario, trace, options).
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "orrery",
    version,
    about = "Deterministic discrete-event simulator of a Kubernetes AI/GPU cluster",
    long_about = "Orrery replays real GPU-cluster traces on a modelled Kubernetes cluster and reports \
per-job and cluster-wide metrics. A run is a pure function of its inputs and seed: the same \
scenario and seed always give byte-identical output files."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (or the bundled default) and write jobs.csv, summary.json, pods.csv
    /// (every pod's node, GPUs and, while it waited, the scheduler's reason) and events.csv
    /// (Kubernetes-style events).
    #[command(after_help = "EXAMPLES:
  orrery run                                   # the bundled default scenario
  orrery run scenarios/bundled/gang-deadlock.yaml --out out/gd && orrery explain A --out out/gd
  orrery run scenarios/bundled/itp-all.yaml --out out/itp
  orrery run scenarios/bundled/gang-deadlock.yaml --policy default
  orrery run my-jobs.csv --trace-format orrery-csv   # a trace on the default cluster
  orrery run my.yaml --check-invariants        # also check no resource is over-committed

EXIT CODES:
  0  success
  2  bad input: unreadable or malformed scenario/trace, unknown option value, a pod no node can hold
  1  anything else (e.g. the output directory cannot be written)")]
    Run(RunArgs),
    /// Run a scenario under several policies and seeds (in parallel) and write compare.csv,
    /// compare.md and SVG plots.
    #[command(after_help = "EXAMPLES:
  orrery compare --policies default,gang                      # the bundled default, its seed
  orrery compare scenarios/bundled/gang-deadlock.yaml --policies default,gang --seeds 1..10
  orrery compare my.yaml --policies default,gang --seeds 1,2,5..7 --out out/cmp

EXIT CODES:
  0  success
  2  bad input: unknown policy, bad seed list, unreadable or malformed scenario/trace
  1  anything else (e.g. the output directory cannot be written)")]
    Compare(compare::CompareArgs),
    /// Explore the choice points of a scenario (event order, pod interleaving, node ties,
    /// arrival jitter) looking for deadlocks and livelocks; shrink a violation to a minimal
    /// witness and re-check it under each mitigation. Writes verify.md and verify.json.
    #[command(after_help = "EXAMPLES:
  orrery verify scenarios/bundled/verify/kueue-overquota.yaml              # random mode, 1000 schedules
  orrery verify scenarios/bundled/verify/kueue-overquota-small.yaml --policy coscheduling --exhaustive
  orrery verify scenarios/bundled/verify/kueue-overquota.yaml --policy coscheduling --exhaustive --schedules 20000
  orrery verify my.yaml --policy default --schedules 5000 --jitter 30s --out out/v
  orrery verify my.yaml --exhaustive --threads 4                # the same files on any --threads
  orrery verify my.yaml --exhaustive --shard 2/3 --out out/v2   # one part, no verdict; then:
  orrery merge out/v1 out/v2 out/v3 --out out/verify            # the verdict of the whole search
  orrery replay-witness out/verify/witness.json

WHAT IS EXPLORED (docs/verify.md, Choice points; Faults, failures, the autoscaler and network runs):
  choices    order of simultaneous events, pod interleaving, node ties, arrival jitter
             (--jitter), node failures (--fail-nodes)
  state      cluster, jobs, queues, the policy's state, DRA allocations, faults (listed
             node/GPU/link events; seeded failures with their streams), the cluster
             autoscaler, the network model (flows, rates, step progress, staging, caches),
             inference services (replicas, HPA, traffic streams, request queues):
             snapshotted and fingerprinted, so a state is recognised soundly
  refused    nothing (services run for ever: bounded by the horizon, never VERIFIED)

VERDICTS (docs/verify.md):
  VERIFIED            exhaustive mode, coverage complete: within the model, there is none
  NO VIOLATION FOUND  random mode (or a depth/horizon bound): none in N schedules, not a proof
  INCONCLUSIVE        a bound was reached first (schedules, events per schedule) or Ctrl-C
                      stopped it: nothing claimed
  VIOLATION           found, with a replayable witness

EXIT CODES:
  0  no violation found (VERIFIED or NO VIOLATION FOUND, with the bound stated in verify.md);
     with --shard: the shard's part was written (the verdict is the merge's)
  3  a deadlock or livelock was found (witness.json, waitfor.dot written)
  4  INCONCLUSIVE: no violation found, but a bound or Ctrl-C cut the search short (files written, marked incomplete)
  2  bad input: unreadable or malformed scenario/trace, bad option value, a refused feature
  1  anything else
  130  a second Ctrl-C (the first one stops the search and writes what it has)")]
    Verify(verify::VerifyArgs),
    /// Re-run a witness written by `orrery verify` exactly, and write its violation.json
    /// and waitfor.dot again.
    ReplayWitness(verify::ReplayArgs),
    /// Capacity planning: run a grid of cluster sizes × policies × GPU models × loads on
    /// several seeds with shaken inputs, find per policy the smallest cluster meeting every
    /// SLO, and write capacity.html, capacity.md and CSV files (docs/capacity.md).
    #[command(after_help = "EXAMPLES:
  orrery capacity scenarios/bundled/itp-cluster04.yaml --vary nodes=64..160:+32 \\
      --vary policy=gang,backfill --slo \"p95_wait<=30m\" --slo \"jobs_unfinished==0\" --seeds 5
  orrery capacity my.yaml --vary nodes=64..1024:x2 --load 1.0,1.5 --price A100=2.5 --shard 2/3 --out out/s2
  orrery merge out/s1 out/s2 out/s3 --out out/capacity

EXIT CODES:
  0  success
  2  bad input: bad --vary/--slo/--seeds/option, unreadable or malformed scenario/trace
  1  anything else (e.g. the output directory cannot be written)")]
    Capacity(capacity::CapacityArgs),
    /// Rebuild the report (capacity.html or compare.html and their files) from the CSV
    /// files of an `orrery capacity` or `orrery compare` output directory.
    Report(report::ReportArgs),
    /// Join the output directories of `orrery capacity --shard I/N` runs into the report a
    /// single run would have written (byte for byte), or those of `orrery verify --shard
    /// I/N` runs into the verification (verify.md, verify.json, the witness; exit codes as
    /// `orrery verify`).
    Merge(report::MergeArgs),
    /// Score a platform profile against a Kubernetes AI Conformance checklist: run the
    /// behaviour suite of every simulable requirement and write scorecard.md,
    /// scorecard.json and a draft self-assessment.yaml (docs/conformance.md).
    #[command(after_help = "EXAMPLES:
  orrery conformance --profile scenarios/profiles/fully-conformant.yaml
  orrery conformance --profile scenarios/profiles/bare.yaml --version 1.35 --out out/bare
  orrery conformance --profile my-platform.yaml --only gang_scheduling --case one-gpu-short

EXIT CODES:
  0  every MUST of the checklist passed (or is N/A)
  4  a MUST failed (the scorecard says which, with the smallest failing case)
  2  bad input: unreadable or malformed profile, unknown version, --only or --case
  1  anything else (e.g. the output directory cannot be written)")]
    Conformance(conformance::ConformanceArgs),
    /// Run a platform scenario: node pools with the cluster autoscaler, inference services
    /// with HPAs, traffic through the gateway, metrics; write events.csv, nodes.csv,
    /// replicas.csv, requests.csv, metrics.prom and summary.json (docs/platform.md).
    #[command(after_help = "EXAMPLES:
  orrery platform scenarios/platform/inference-autoscaling.yaml
  orrery platform my-platform.yaml --seed 7 --horizon 2h --out out/p

EXIT CODES:
  0  success
  2  bad input: unreadable or malformed scenario, invalid configuration
  1  anything else (e.g. the output directory cannot be written)")]
    Platform(platform::PlatformArgs),
    /// Print the bundled default scenario (YAML), a starting point for your own.
    DefaultScenario,
    /// Turn a live cluster's `kubectl get … -o yaml` output (nodes, pods, Kueue queues)
    /// into a scenario whose initial state is the cluster's: Running pods pinned to their
    /// nodes, Pending pods grouped into gangs by controller (docs/scenario-format.md,
    /// "A snapshot of a live cluster").
    #[command(after_help = "EXAMPLES:
  kubectl get nodes -o yaml > nodes.yaml
  kubectl get pods -A -o yaml > pods.yaml
  orrery snapshot --nodes nodes.yaml --pods pods.yaml --remaining 2h --pending-run-time 1h \\
      --skip-namespace kube-system --out my-cluster
  orrery run my-cluster/scenario.yaml

EXIT CODES:
  0  success
  2  bad input: unreadable or malformed objects (file, line and field named); nothing written
  1  anything else (e.g. the output directory cannot be written)")]
    Snapshot(snapshot::SnapshotArgs),
    /// Write a synthetic what-if of any size: a cluster of N nodes × G GPUs in racks and
    /// J jobs with sizes and durations drawn from the bundled ITP traces, arriving as a
    /// Poisson process at the requested load (docs/synth.md).
    #[command(after_help = "EXAMPLES:
  orrery synth --nodes 12500 --jobs 100000 --load 0.8 --out /tmp/s100k   # issue 18's setup
  orrery run /tmp/s100k/scenario.yaml --out /tmp/o100k
  orrery synth --nodes 4 --jobs 200 --max-job-gpus 32 --seed 7 --out out/tiny
  orrery synth --nodes 1024 --gpus-per-node 4 --gpu-model A100 --rack-size 16 --load 1.2 \\
      --mix itp-cluster04 --policy backfill --out out/a100

EXIT CODES:
  0  success
  2  bad option (named), e.g. --nodes 0, --load <= 0, a mix job larger than the cluster
  1  anything else (e.g. the output directory cannot be written)")]
    Synth(synth::SynthArgs),
    /// Tell one job's story from an `orrery run` output directory: its jobs.csv line, its
    /// events (events.csv) and every interval of its pods with the scheduler's reasons
    /// (pods.csv).
    #[command(after_help = "EXAMPLES:
  orrery run scenarios/bundled/gang-deadlock.yaml --out out/gd
  orrery explain A --out out/gd

EXIT CODES:
  0  success
  2  bad input: no such job, or the directory lacks jobs.csv/events.csv/pods.csv
     (a run with --no-pod-log writes no pod log)")]
    Explain(ExplainArgs),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Scenario YAML file (see docs/scenario-format.md), or a trace CSV to replay on the
    /// default scenario's cluster (then --trace-format is required). Omit to run the
    /// bundled default scenario.
    scenario: Option<PathBuf>,
    /// Master seed; overrides the scenario's `seed` (default 42). Seeds every choice among
    /// equals (score ties, random pod order).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory for jobs.csv and summary.json (created if missing; files are
    /// replaced only when the whole run succeeded).
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Trace format of the scenario's traces (overrides the scenario) or of a trace CSV
    /// given directly: openb, itp, philly, pollux, orrery-csv (pollux needs a scenario file,
    /// for its `profiles:`).
    #[arg(long, value_name = "FORMAT")]
    trace_format: Option<String>,
    /// Scheduler policy, overriding the scenario (`--help` lists them).
    #[arg(long, long_help = policy_long_help())]
    policy: Option<String>,
    /// Stop at this simulated time, e.g. 30d, 12h (overrides the scenario).
    #[arg(long)]
    horizon: Option<String>,
    /// Check the whole-state invariants (no over-commit of GPUs, CPU, memory or DRA
    /// devices; bookkeeping consistent) after every simulated instant; a violation stops
    /// the run with an error and exit code 1. Slower; off by default.
    #[arg(long)]
    check_invariants: bool,
    /// Do not keep the pod log (pods.csv, events.csv): for very large runs, where it costs
    /// memory and time. The run itself is the same either way.
    #[arg(long)]
    no_pod_log: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct ExplainArgs {
    /// The job's id (the `id` column of jobs.csv).
    job: String,
    /// The output directory of `orrery run`.
    #[arg(long, default_value = "out")]
    out: PathBuf,
}

/// An error with the exit code it deserves.
struct Failure {
    code: u8,
    err: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 1,
            err: e.into(),
        }
    }
}

fn bad_input(err: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: EXIT_BAD_INPUT,
        err: err.into(),
    }
}

/// Writes a command's whole output into `dir` ([`reports::write_all`]: staged, then moved
/// into place, replacing the previous output's files; links never followed).
fn write_out(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<Vec<PathBuf>, Failure> {
    out_result(dir, reports::write_all(dir, files))
}

/// An output directory that cannot be written safely (a link, a file, a directory of
/// someone else's files) is bad input, exit 2; other write errors exit 1.
fn out_result<T>(dir: &Path, r: Result<T, reports::ReportError>) -> Result<T, Failure> {
    r.map_err(|e| match e {
        e @ reports::ReportError::OutDir { .. } => bad_input(e),
        e => Failure::from(
            anyhow::Error::from(e).context(format!("writing results to {}", dir.display())),
        ),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Run(args) => run(args),
        Command::Compare(args) => compare::compare(args),
        Command::Verify(args) => verify::verify(args),
        Command::ReplayWitness(args) => verify::replay_witness(args),
        Command::Capacity(args) => capacity::capacity(args),
        Command::Report(args) => report::report(args),
        Command::Merge(args) => report::merge(args),
        Command::Conformance(args) => conformance::conformance(args),
        Command::Platform(args) => platform::platform(args),
        Command::Explain(args) => reports::podlog::explain(&args.out, &args.job)
            .map(|s| {
                // A closed pipe (`| head`) is not an error.
                let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), s.as_bytes());
            })
            .map_err(bad_input),
        Command::Snapshot(args) => snapshot::snapshot(args),
        Command::Synth(args) => synth::synth(args),
        Command::DefaultScenario => {
            print!("{}", bundled::printable_default());
            Ok(())
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {:#}", f.err);
            ExitCode::from(f.code)
        }
    }
}

fn overrides(args: &RunArgs) -> Result<Overrides, Failure> {
    let trace_format = args
        .trace_format
        .as_deref()
        .map(|s| s.parse::<TraceFormat>())
        .transpose()
        .map_err(|e| bad_input(anyhow::anyhow!("--trace-format: {e}")))?;
    let policy = args
        .policy
        .as_deref()
        .map(|s| {
            PolicyKind::parse(s).ok_or_else(|| {
                bad_input(anyhow::anyhow!(
                    "--policy: unknown policy {s:?}; expected one of: {}",
                    PolicyKind::names().join(", ")
                ))
            })
        })
        .transpose()?;
    let horizon = args
        .horizon
        .as_deref()
        .map(|s| s.parse::<SimDuration>())
        .transpose()
        .map_err(|e| bad_input(anyhow::anyhow!("--horizon: {e}")))?;
    Ok(Overrides {
        seed: args.seed,
        trace_format,
        policy,
        horizon,
        check_invariants: args.check_invariants,
    })
}

fn load_scenario(args: &RunArgs, ov: &Overrides) -> Result<Scenario, ScenarioError> {
    match &args.scenario {
        None => bundled::default_scenario(ov),
        Some(p) if is_csv(p) => {
            // A bare trace: the default scenario's cluster and scheduler, this workload.
            let mut f = scenarios::parse(bundled::DEFAULT_PATH, bundled::DEFAULT_YAML)?;
            let format = ov.trace_format.ok_or_else(|| ScenarioError::Invalid {
                path: p.display().to_string(),
                field: "--trace-format".into(),
                msg: format!(
                    "a trace file needs --trace-format (one of: {})",
                    TraceFormat::ALL.map(TraceFormat::name).join(", ")
                ),
            })?;
            f.name = Some(format!("{} on the default cluster", p.display()));
            f.workload.traces = vec![TraceDef {
                file: p.display().to_string(),
                format,
                id_prefix: None,
                philly_vc: None,
                profiles: None,
                restart_delay: None,
                limit: None,
                node_selector: Default::default(),
                node_affinity: Vec::new(),
                tolerations: Vec::new(),
                template: None,
            }];
            scenarios::build_parsed(&p.display().to_string(), f, &DirSource(PathBuf::new()), ov)
        }
        // FGD-family scenarios (an `fgd:` section): the artefact's run through the main model.
        Some(p)
            if scenarios::scenario::read_regular_file(p)
                .is_ok_and(|y| scenarios::fgd::is_fgd(&y)) =>
        {
            scenarios::fgd::to_run_scenario(&scenarios::fgd::load(p)?, ov)
        }
        Some(p) => scenarios::load(p, ov),
    }
}

fn is_csv(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let ov = overrides(&args)?;
    let wall = Instant::now();
    let mut sc = load_scenario(&args, &ov).map_err(bad_input)?;
    // What loading a large trace freed is not held through the run.
    trim::release_freed_memory();
    sc.config.pod_log = !args.no_pod_log;
    let name = sc.name.clone();
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    // Redrawn at most ten times a second (counting the finished jobs walks every job).
    let mut drawn: Option<Instant> = None;
    let mut progress = |now: SimTime, done: &dyn Fn() -> u64, total: u64| {
        if !show_progress
            || wall.elapsed() < Duration::from_secs(1)
            || drawn.is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        drawn = Some(Instant::now());
        let b = bar.get_or_insert_with(|| {
            let b = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} jobs done  {msg}",
            ) {
                b.set_style(style);
            }
            b
        });
        b.set_position(done());
        b.set_message(format!("simulated {now}"));
    };
    let result = models::run(sc.cluster, sc.workload, &sc.config, Some(&mut progress));
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    let result = result.map_err(|e| match e {
        RunError::Model(m) => bad_input(m),
        other => Failure::from(other),
    })?;
    // Nor what the model freed when it ended, while the files are rendered.
    trim::release_freed_memory();
    let summary = reports::summarize(&name, &result);
    let mut files = vec![("summary.json", reports::summary_json(&summary)?)];
    if !result.network_jobs.is_empty() || !result.network_series.is_empty() {
        files.push(("network_jobs.csv", reports::network_jobs_csv(&result)?));
        files.push(("network_series.csv", reports::network_series_csv(&result)?));
    }
    if let Some(a) = &result.autoscaler {
        files.push((
            "autoscaler_actions.csv",
            reports::autoscaler::actions_csv(a)?,
        ));
        files.push(("autoscaler_nodes.csv", reports::autoscaler::nodes_csv(a)?));
    }
    if let Some(sv) = &result.serving {
        files.extend(reports::platform::serving_files(&name, result.seed, sv)?);
    }
    if let Some(r) = &result.ray {
        files.push(("ray.csv", reports::ray::ray_csv(r)?));
    }
    let html = reports::run_page::run_html(&summary, &result)?;
    // `jobs.csv` is written as it is rendered, as the pod log below: it is tens of MB at
    // a million jobs.
    let jobs = &result;
    let mut contents: Vec<(&str, reports::Content<'_>)> = vec![(
        "jobs.csv",
        reports::Content::Stream(Box::new(move |w| reports::write_jobs_csv(jobs, w))),
    )];
    contents.extend(
        files
            .iter()
            .map(|(n, b)| (*n, reports::Content::Bytes(b.as_slice()))),
    );
    // The pod log is written as it is rendered: a million-job run's is hundreds of MB.
    if let Some(log) = result.pod_log_view() {
        contents.push((
            "pods.csv",
            reports::Content::Stream(Box::new(move |w| reports::podlog::write_pods_csv(log, w))),
        ));
        contents.push((
            "events.csv",
            reports::Content::Stream(Box::new(move |w| reports::podlog::write_events_csv(log, w))),
        ));
    }
    contents.push(("report.html", reports::Content::Bytes(&html)));
    let written = out_result(&args.out, reports::write_all_streamed(&args.out, contents))?;
    if !args.quiet {
        print!("{}", reports::human(&summary));
        println!(
            "  wall       {:.2} s for {} events",
            wall.elapsed().as_secs_f64(),
            result.events
        );
        for w in written {
            println!("  wrote      {}", w.display());
        }
    }
    Ok(())
}

/// `--policy`'s long help: every registered policy with its line of description.
fn policy_long_help() -> String {
    let mut out = String::from("Scheduler policy, overriding the scenario:\n");
    for r in models::sim::policy::BUILTIN {
        out.push_str(&format!("  {:<13} {}\n", r.name, r.about));
    }
    out.push_str("See docs/policies.md.");
    out
}
