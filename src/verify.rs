//! `orrery verify` and `orrery replay-witness`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::anyhow;
use indicatif::{ProgressBar, ProgressStyle};
use models::verify::interrupt::interrupted;
use models::verify::{
    Exploration, ExploreOptions, MitigationBudget, Mode, Problem, ShardOf, ShardRun, Verdict,
    VerifyError, ViolationKind, Witness, explore, explore_shard, jobs_unable_to_run_alone,
    merge_shards, mitigations, nodes_merged, replay, shrink, unsupported,
};
use reports::verify::{
    VerifyReport, bound, verdict_line, verify_json, verify_md, violation_json, waitfor_dot,
    witness_json,
};
use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

use crate::{Failure, RunArgs, bad_input, load_scenario, overrides};

/// Exit code when a violation was found.
pub const EXIT_VIOLATION: u8 = 3;
/// Exit code when no violation was found but the search could not claim anything: its
/// schedule budget ran out before coverage was complete, Ctrl-C interrupted it, a
/// schedule hit its event budget or the model's no-progress guard, or a state-graph cycle
/// has no witness.
pub const EXIT_INCONCLUSIVE: u8 = 4;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Scenario YAML file (or a trace CSV with --trace-format), as for `orrery run`. Omit
    /// for the bundled default scenario.
    scenario: Option<PathBuf>,
    /// Scheduler policy to verify, overriding the scenario's.
    #[arg(long)]
    policy: Option<String>,
    /// Random mode: schedules to run (default 1000). Exhaustive mode: the most schedules
    /// to run before giving up on complete coverage (default 1000000).
    #[arg(long, value_name = "N")]
    schedules: Option<u64>,
    /// Enumerate every choice sequence (with visited-state pruning) instead of sampling;
    /// for small scenarios. Reports whether coverage was complete.
    #[arg(long)]
    exhaustive: bool,
    /// Exhaustive mode: branch only on the first D choices of a schedule (later choices
    /// take the first alternative). Coverage is then complete only up to that depth.
    #[arg(long, value_name = "D")]
    max_depth: Option<u64>,
    /// First seed of random mode (schedule i uses seed+i); default: the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Also explore arrival jitter: each job may arrive up to this much later (e.g. 30s),
    /// in --jitter-steps steps.
    #[arg(long, value_name = "DURATION")]
    jitter: Option<String>,
    /// With --jitter: the offsets tried are 0, J/K, 2J/K, …, J (K + 1 of them).
    #[arg(long, default_value_t = 2, value_name = "K")]
    jitter_steps: u32,
    /// Do not treat the order of simultaneous events as a choice point.
    #[arg(long)]
    no_event_order: bool,
    /// Do not treat the interleaving of pods of jobs created together as a choice point
    /// (keep the scenario's pod_order).
    #[arg(long)]
    no_pod_order: bool,
    /// Events per schedule before it is counted as inconclusive.
    #[arg(long, default_value_t = 2_000_000, value_name = "N")]
    max_events: u64,
    /// Failures as a choice point: at the end of every instant the explorer may fail one
    /// Ready node, up to N per schedule (exhaustive mode explores every such branch,
    /// random mode draws them from the seed).
    #[arg(long, default_value_t = 0, value_name = "N")]
    fail_nodes: u32,
    /// With --fail-nodes: a failed node recovers this long after it failed (e.g. 10m);
    /// `never` (the default): it stays failed.
    #[arg(long, value_name = "DURATION|never")]
    mttr: Option<String>,
    /// Do not shrink a violation to a minimal counterexample.
    #[arg(long)]
    no_shrink: bool,
    /// Do not re-check the witness under each mitigation.
    #[arg(long)]
    no_mitigations: bool,
    /// Mitigations on the original scenario: an exhaustive search of up to N schedules
    /// and, if that is not complete, N seeded ones (the shrunk witness gets up to 200000
    /// exhaustive schedules).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    mitigation_schedules: u64,
    /// Stop every schedule at this simulated time (overrides the scenario).
    #[arg(long)]
    horizon: Option<String>,
    /// Check the whole-state invariants (no over-commit of GPUs, CPU, memory or DRA
    /// devices; bookkeeping consistent) after every simulated instant of every schedule; a
    /// violation stops the exploration with an error naming the schedule, exit code 1.
    #[arg(long)]
    check_invariants: bool,
    /// Trace format of the scenario's traces or of a trace CSV given directly.
    #[arg(long, value_name = "FORMAT")]
    trace_format: Option<String>,
    /// Threads to explore on (default: every core, or RAYON_NUM_THREADS). The verdicts,
    /// counts, witness and every file are the same on any number of threads.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Explore only the I-th of N parts of the search (e.g. 2/3) and write it as
    /// verify-shard.json, with no verdict; `orrery merge DIR...` joins the parts into the
    /// verification. Random mode deals the seeds round-robin (the merge is byte for byte
    /// a single run's); exhaustive mode deals subtrees of the first choices.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Output directory for verify.md, verify.json and, on a violation, witness.json,
    /// violation.json and waitfor.dot (files are replaced only when all are written; an
    /// earlier run's witness files that this run does not write are removed).
    #[arg(long, default_value = "out/verify")]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// What a `verify --shard I/N` run writes into its output directory.
pub const SHARD_JSON: &str = "verify-shard.json";

/// `verify-shard.json`: one shard's part of a search, with everything `orrery merge`
/// needs to finish the verification as `orrery verify` would have.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    pub orrery_version: String,
    pub verification: Verification,
    pub run: ShardRun,
}

/// The verification a shard belongs to: the same in every shard of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub problem: Problem,
    pub policy: String,
    pub options: ExploreOptions,
    pub mode: Mode,
    /// The search, in words, as `verify.md` gives it.
    pub mode_text: String,
    pub no_shrink: bool,
    pub no_mitigations: bool,
    pub mitigation_schedules: u64,
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// A witness.json written by `orrery verify`.
    witness: PathBuf,
    /// Output directory for violation.json and waitfor.dot.
    #[arg(long, default_value = "out/replay")]
    out: PathBuf,
    /// Check the whole-state invariants after every simulated instant of the replay; a
    /// violation is an error, exit code 1.
    #[arg(long)]
    check_invariants: bool,
    #[arg(long, short)]
    quiet: bool,
}

fn progress_bar(show: bool, total: u64) -> Option<ProgressBar> {
    if !show {
        return None;
    }
    let b = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} schedules")
    {
        b.set_style(style);
    }
    Some(b)
}

/// A broken model invariant is an internal error (exit 1); anything else `explore` or
/// `replay` rejects is the input's (exit 2).
fn explore_failure(e: VerifyError) -> Failure {
    match e {
        e @ VerifyError::Invariant { .. } => Failure::from(e),
        e => bad_input(e),
    }
}

/// A rayon pool of `threads` threads (`--threads N`; `None`: rayon's default, every core
/// or RAYON_NUM_THREADS).
pub(crate) fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> Result<T, Failure> + Send,
) -> Result<T, Failure> {
    match threads {
        None => f(),
        Some(0) => Err(bad_input(anyhow!("--threads: must be at least 1"))),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| anyhow!("cannot start {n} threads: {e}"))?
            .install(f),
    }
}

pub fn verify(args: VerifyArgs) -> Result<(), Failure> {
    with_threads(args.threads, || verify_on(args))
}

fn verify_on(args: VerifyArgs) -> Result<(), Failure> {
    let wall = Instant::now();
    let run_args = RunArgs {
        scenario: args.scenario.clone(),
        seed: None,
        out: args.out.clone(),
        trace_format: args.trace_format.clone(),
        policy: args.policy.clone(),
        horizon: args.horizon.clone(),
        quiet: args.quiet,
        check_invariants: args.check_invariants,
        no_pod_log: true,
    };
    let ov = overrides(&run_args)?;
    let jitter = args
        .jitter
        .as_deref()
        .map(|s| s.parse::<SimDuration>())
        .transpose()
        .map_err(|e| bad_input(anyhow!("--jitter: {e}")))?;
    if args.schedules == Some(0) {
        return Err(bad_input(anyhow!("--schedules: must be at least 1")));
    }
    if args.max_depth.is_some() && !args.exhaustive {
        return Err(bad_input(anyhow!(
            "--max-depth only applies with --exhaustive"
        )));
    }
    let shard = args
        .shard
        .as_deref()
        .map(reports::capacity::Shard::parse)
        .transpose()
        .map_err(bad_input)?
        .map(|s| ShardOf {
            index: s.index,
            count: s.count,
        });
    let sc = load_scenario(&run_args, &ov).map_err(bad_input)?;
    let policy = sc.config.scheduler.policy.name().to_string();
    let problem = Problem {
        name: sc.name.clone(),
        spec: sc.cluster,
        workload: sc.workload,
        config: sc.config,
    };
    // What the explorer cannot snapshot and fingerprint is refused, naming the file.
    if let Some(e) = unsupported(&problem) {
        return Err(bad_input(anyhow!(
            "{}: {e}",
            run_args
                .scenario
                .as_deref()
                .map_or_else(|| "scenario".to_string(), |p| p.display().to_string())
        )));
    }
    let mttr = match args.mttr.as_deref() {
        None | Some("never") => None,
        Some(d) => {
            let d = d
                .parse::<SimDuration>()
                .map_err(|e| bad_input(anyhow!("--mttr: {e}")))?;
            if d.as_nanos() == 0 {
                return Err(bad_input(anyhow!("--mttr: must be > 0 (or `never`)")));
            }
            Some(d)
        }
    };
    if args.mttr.is_some() && args.fail_nodes == 0 {
        return Err(bad_input(anyhow!("--mttr only applies with --fail-nodes")));
    }
    let options = ExploreOptions {
        event_order: !args.no_event_order,
        pod_order: !args.no_pod_order,
        jitter,
        jitter_steps: args.jitter_steps.max(1),
        max_events: args.max_events,
        failures: args.fail_nodes,
        mttr,
    };
    let (mode, mode_text) = if args.exhaustive {
        let n = args.schedules.unwrap_or(1_000_000);
        (
            Mode::Exhaustive {
                max_schedules: n,
                max_depth: args.max_depth,
            },
            format!(
                "exhaustive: at most {n} schedules, depth {}",
                args.max_depth
                    .map_or("unbounded".to_string(), |d| format!("≤ {d} choices"))
            ),
        )
    } else {
        let n = args.schedules.unwrap_or(1000);
        let seed = args.seed.unwrap_or(problem.config.seed);
        (
            Mode::Random { schedules: n, seed },
            format!(
                "random: {n} schedules, seeds {seed}..{}",
                seed.wrapping_add(n - 1)
            ),
        )
    };
    let mode_text = if args.fail_nodes > 0 {
        format!(
            "{mode_text}; up to {} injected node failure{} per schedule ({})",
            args.fail_nodes,
            if args.fail_nodes == 1 { "" } else { "s" },
            mttr.map_or("never repaired".to_string(), |d| format!(
                "repaired after {d}"
            ))
        )
    } else {
        mode_text
    };
    let show = !args.quiet && std::io::stderr().is_terminal();
    let total = match (mode.clone(), shard) {
        (Mode::Random { schedules, .. }, Some(s)) => schedules
            .saturating_sub(u64::from(s.index - 1))
            .div_ceil(u64::from(s.count)),
        (Mode::Random { schedules, .. }, None) => schedules,
        (Mode::Exhaustive { max_schedules, .. }, _) => max_schedules,
    };
    let bar = progress_bar(show, total);
    let tick = |done: u64, _total: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    };
    let v = Verification {
        problem,
        policy,
        options,
        mode,
        mode_text,
        no_shrink: args.no_shrink,
        no_mitigations: args.no_mitigations,
        mitigation_schedules: args.mitigation_schedules,
    };
    // Ctrl-C from here on: stop exploring (or shrinking, or re-checking mitigations) and
    // write what there is, marked incomplete; a second Ctrl-C exits at once (130).
    let _sigint = crate::sigint::install(args.quiet);
    if let Some(s) = shard {
        let run =
            explore_shard(&v.problem, &v.options, &v.mode, s, &tick).map_err(explore_failure)?;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        return write_shard(v, run, &args.out, args.quiet, wall);
    }
    let exploration = explore(&v.problem, &v.options, &v.mode, &tick).map_err(explore_failure)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let explore_secs = wall.elapsed().as_secs_f64();
    let how = Explored::Here {
        secs: explore_secs,
        threads: rayon::current_num_threads(),
    };
    finish(&v, exploration, how, &args.out, args.quiet, wall)
}

/// How the exploration was done (for the terminal only).
pub(crate) enum Explored {
    /// In this process: how long it took, on how many threads.
    Here { secs: f64, threads: usize },
    /// `orrery merge` of this many shards.
    Merged { shards: usize },
}

/// A shard: write `verify-shard.json` and say what this part holds (no verdict).
fn write_shard(
    v: Verification,
    run: ShardRun,
    out: &std::path::Path,
    quiet: bool,
    wall: Instant,
) -> Result<(), Failure> {
    let interrupted = run.coverage.interrupted;
    let c = run.coverage.clone();
    let found = run
        .deadlock_found
        .as_ref()
        .map(|f| ("deadlock", f.schedule))
        .or(run
            .livelock_found
            .as_ref()
            .map(|f| ("livelock", f.schedule)));
    let file = ShardFile {
        orrery_version: env!("CARGO_PKG_VERSION").to_string(),
        verification: v,
        run,
    };
    let mut bytes = serde_json::to_vec(&file).map_err(|e| anyhow!("encoding {SHARD_JSON}: {e}"))?;
    bytes.push(b'\n');
    let written = crate::write_out(out, &[(SHARD_JSON, bytes)])?;
    if !quiet {
        let s = file.run.shard;
        println!(
            "Orrery verify: {} · policy {} · shard {}/{} (no verdict: join every shard with `orrery merge DIR... --out DIR`)",
            file.verification.problem.name, file.verification.policy, s.index, s.count
        );
        println!(
            "  part       {} schedules, {} distinct states, deepest {} choices{}",
            c.schedules,
            c.distinct_states,
            c.max_depth_reached,
            if interrupted {
                "; interrupted (this part is incomplete)"
            } else if c.budget_exhausted {
                "; the schedule budget ran out (this part is incomplete)"
            } else {
                ""
            }
        );
        if let Some((kind, schedule)) = found {
            println!(
                "  found      a {kind} in this part (schedule #{schedule}): the merge reports it"
            );
        }
        println!(
            "  wall       {:.2} s on {} threads",
            wall.elapsed().as_secs_f64(),
            rayon::current_num_threads()
        );
        for w in written {
            println!("  wrote      {}", w.display());
        }
    }
    if interrupted {
        return Err(Failure {
            code: EXIT_INCONCLUSIVE,
            err: anyhow!("interrupted: this shard's part is incomplete"),
        });
    }
    Ok(())
}

/// `orrery merge` of `verify --shard` directories: check they are the shards of one
/// verification, join them, and finish as `orrery verify` would have.
pub(crate) fn merge(dirs: &[PathBuf], out: &std::path::Path, quiet: bool) -> Result<(), Failure> {
    let wall = Instant::now();
    let mut first: Option<(PathBuf, ShardFile)> = None;
    let mut runs = Vec::new();
    for dir in dirs {
        let path = dir.join(SHARD_JSON);
        let shown = path.display().to_string();
        let text = scenarios::scenario::read_regular_file(&path)
            .map_err(|e| bad_input(anyhow!("{shown}: cannot read: {e}")))?;
        let f: ShardFile = serde_json::from_str(&text).map_err(|e| {
            bad_input(anyhow!(
                "{shown}:{}:{}: not a verify shard file: {e}",
                e.line(),
                e.column()
            ))
        })?;
        match &first {
            None => first = Some((dir.clone(), f.clone())),
            Some((d, f0)) => {
                if f0.orrery_version != f.orrery_version || f0.verification != f.verification {
                    return Err(bad_input(anyhow!(
                        "{}: a shard of another verification than {} (scenario, policy, options, mode and Orrery version must be the same in every shard)",
                        dir.display(),
                        d.display()
                    )));
                }
            }
        }
        runs.push(f.run);
    }
    let Some((_, f0)) = first else {
        return Err(bad_input(anyhow!("no shard directory given")));
    };
    let v = f0.verification;
    let exploration = merge_shards(&v.mode, &runs).map_err(bad_input)?;
    let _sigint = crate::sigint::install(quiet);
    finish(
        &v,
        exploration,
        Explored::Merged { shards: runs.len() },
        out,
        quiet,
        wall,
    )
}

/// After the exploration: shrink the first violation, replay its witness, re-check the
/// mitigations, write every file and say what was found (and exit accordingly).
fn finish(
    v: &Verification,
    exploration: Exploration,
    how: Explored,
    out: &std::path::Path,
    quiet: bool,
    wall: Instant,
) -> Result<(), Failure> {
    let problem = &v.problem;
    let options = v.options.clone();
    let mode_text = v.mode_text.clone();
    let policy = v.policy.clone();
    // Shrink the first violation, replay its witness, re-check mitigations.
    let first = exploration
        .deadlock_found
        .as_ref()
        .map(|f| (ViolationKind::Deadlock, f))
        .or(exploration
            .livelock_found
            .as_ref()
            .map(|f| (ViolationKind::Livelock, f)));
    let mut shrunk = None;
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut mitig = Vec::new();
    let mut replay_command = None;
    let mut unable_alone = Vec::new();
    // What an interrupt cut short after the exploration, in words.
    let mut cut_short: Vec<String> = Vec::new();
    if let Some((kind, f)) = first {
        let shrinking = !v.no_shrink && !interrupted();
        if !quiet {
            eprintln!(
                "found a {} in schedule #{}; {}",
                kind.name(),
                f.schedule,
                if shrinking {
                    "shrinking it"
                } else {
                    "writing the witness"
                }
            );
        }
        let original = Witness::new(problem, &options, f);
        let witness = if !shrinking {
            if !v.no_shrink {
                cut_short.push("the witness was not shrunk".to_string());
            }
            original.clone()
        } else {
            let s = shrink(problem, &options, kind, f);
            if s.interrupted {
                cut_short.push(format!(
                    "shrinking stopped after {} candidates: the counterexample is the smallest found so far, not necessarily minimal",
                    s.attempts
                ));
            }
            let w = s.witness.clone();
            shrunk = Some(s);
            w
        };
        let (run, same) = replay(&witness).map_err(|e| anyhow!("replaying the witness: {e}"))?;
        if !same {
            return Err(anyhow!(
                "internal error: the witness did not replay to the same violation"
            )
            .into());
        }
        if !v.no_mitigations && kind == ViolationKind::Deadlock {
            if interrupted() {
                cut_short.push("no mitigation was re-checked".to_string());
            } else {
                let budget = MitigationBudget {
                    original: v.mitigation_schedules,
                    ..MitigationBudget::default()
                };
                let shrunk_problem = shrunk.as_ref().map(|s| &s.witness.problem);
                mitig = mitigations(problem, shrunk_problem, &options, budget);
                if interrupted() {
                    cut_short.push(if mitig.is_empty() {
                        "the mitigation re-checks were interrupted before one was finished: none is listed".to_string()
                    } else {
                        format!(
                            "the mitigation re-checks were interrupted: only the {} listed were checked (each in full)",
                            mitig.len()
                        )
                    });
                }
            }
        }
        if let Some(v) = &run.violation {
            files.push(("waitfor.dot", waitfor_dot(v, &witness.problem.name)));
        }
        files.push(("violation.json", violation_json(&run)?));
        files.push(("witness.json", witness_json(&witness)?));
        if !v.no_shrink {
            files.push(("witness-unshrunk.json", witness_json(&original)?));
        }
        replay_command = Some("orrery replay-witness witness.json".to_string());
        if interrupted() {
            cut_short.push(
                "the jobs that cannot run even alone on the cluster were not looked for"
                    .to_string(),
            );
        } else {
            unable_alone = jobs_unable_to_run_alone(problem, &options);
        }
    }
    let was_interrupted = exploration.coverage.interrupted || !cut_short.is_empty();
    let report = VerifyReport {
        scenario: problem.name.clone(),
        policy,
        mode: mode_text.clone(),
        options,
        exploration,
        shrunk,
        unable_to_run_alone: unable_alone,
        mitigations: mitig,
        replay_command,
        interrupted: was_interrupted,
        cut_short,
        nodes_merged: nodes_merged(problem),
    };
    let md = verify_md(&report);
    files.insert(0, ("verify.json", verify_json(&report)?));
    files.insert(0, ("verify.md", md.into_bytes()));
    let written = crate::write_out(out, &files)?;
    let e = &report.exploration;
    if !quiet {
        println!(
            "Orrery verify: {} · policy {}",
            report.scenario, report.policy
        );
        println!("  deadlock   {}", verdict_line(e.deadlock, &e.coverage));
        println!("  livelock   {}", verdict_line(e.livelock, &e.coverage));
        println!("  bound      {}", bound(&mode_text, &e.coverage));
        if !report.cut_short.is_empty() {
            println!("  interrupted {}", report.cut_short.join("; "));
        }
        let how = match how {
            Explored::Here { secs, threads } => format!(
                "{secs:.2} s exploring on {threads} thread{} ({:.0} schedules/min)",
                if threads == 1 { "" } else { "s" },
                e.coverage.schedules as f64 / secs.max(1e-9) * 60.0
            ),
            Explored::Merged { shards } => format!("merged from {shards} shards"),
        };
        println!(
            "  coverage   {} schedules, {} distinct states, deepest {} choices; {how}",
            e.coverage.schedules, e.coverage.distinct_states, e.coverage.max_depth_reached,
        );
        if let Some(s) = &report.shrunk {
            println!(
                "  shrunk     to {} jobs, {} pods, {} nodes ({} GPUs)",
                s.jobs, s.pods, s.nodes, s.gpus
            );
        }
        for m in &report.mitigations {
            println!("  mitigation {:<36} {}", m.name, m.label);
        }
        if report.replay_command.is_some() {
            println!(
                "  replay     orrery replay-witness {}",
                out.join("witness.json").display()
            );
        }
        println!("  wall       {:.2} s", wall.elapsed().as_secs_f64());
        for w in written {
            println!("  wrote      {}", w.display());
        }
    }
    if e.deadlock != Verdict::Violation
        && e.livelock != Verdict::Violation
        && (e.deadlock == Verdict::Inconclusive || e.livelock == Verdict::Inconclusive)
    {
        let why = if e.coverage.interrupted {
            format!(
                "interrupted after {} schedules, so coverage is incomplete",
                e.coverage.schedules
            )
        } else {
            "the search was cut short".to_string()
        };
        return Err(Failure {
            code: EXIT_INCONCLUSIVE,
            err: anyhow!(
                "inconclusive: no violation found, but {why} (see {})",
                out.join("verify.md").display()
            ),
        });
    }
    if e.deadlock == Verdict::Violation || e.livelock == Verdict::Violation {
        return Err(Failure {
            code: EXIT_VIOLATION,
            err: anyhow!(
                "{} found (see {})",
                if e.deadlock == Verdict::Violation {
                    "deadlock"
                } else {
                    "livelock"
                },
                out.join("verify.md").display()
            ),
        });
    }
    Ok(())
}

pub fn replay_witness(args: ReplayArgs) -> Result<(), Failure> {
    let path = args.witness.display().to_string();
    let text = scenarios::scenario::read_regular_file(&args.witness)
        .map_err(|e| bad_input(anyhow!("{path}: cannot read: {e}")))?;
    let w: Witness = serde_json::from_str(&text).map_err(|e| {
        bad_input(anyhow!(
            "{path}:{}:{}: not a witness file: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let mut w = w;
    if args.check_invariants {
        w.problem.config.check_invariants = true;
    }
    let (run, same) = replay(&w).map_err(explore_failure)?;
    // Nothing is written unless the witness reproduced.
    if !same {
        return Err(anyhow!(
            "{path}: the replay did not reproduce the recorded {} at {} (got {:?}); was the witness written by another Orrery version ({})?",
            w.kind.name(),
            w.time,
            run.violation.as_ref().map(|v| (v.kind, v.time, &v.jobs)),
            w.orrery_version
        )
        .into());
    }
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    if let Some(v) = &run.violation {
        files.push(("waitfor.dot", waitfor_dot(v, &w.problem.name)));
    }
    files.push(("violation.json", violation_json(&run)?));
    let written = crate::write_out(&args.out, &files)?;
    if !args.quiet {
        let v = run.violation.as_ref();
        println!(
            "Reproduced: {} of {} at {} ({} choices, engine fingerprint {:016x})",
            w.kind.name(),
            w.jobs.join(", "),
            w.time,
            w.choices.len(),
            run.engine_fingerprint
        );
        if let Some(v) = v {
            println!("  {}", v.detail);
        }
        for f in written {
            println!("  wrote      {}", f.display());
        }
    }
    Ok(())
}
