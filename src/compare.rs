//! `orrery compare`: every (policy, seed) pair on one scenario, in parallel, and the
//! comparison files (`compare.csv`, `compare.md`, SVG plots).

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::anyhow;
use indicatif::{ProgressBar, ProgressStyle};
use models::{PolicyKind, RunError};
use rayon::prelude::*;
use reports::RunRow;

use crate::{Failure, RunArgs, bad_input, load_scenario, overrides};

/// At most this many runs in one comparison (a guard against `--seeds 1..1000000000`).
const MAX_RUNS: usize = 100_000;

fn policies_help() -> String {
    format!(
        "Comma-separated scheduler policies to compare, in the order wanted in the output \
         (one of: {}; for an FGD-family scenario, the FGD paper's placement policies: {})",
        PolicyKind::names().join(", "),
        models::fgd::Policy::ALL
            .map(models::fgd::Policy::name)
            .join(", ")
    )
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Scenario YAML file, or a trace CSV (with --trace-format), as for `orrery run`. Omit
    /// for the bundled default scenario.
    pub(crate) scenario: Option<PathBuf>,
    #[arg(long, value_name = "LIST", help = policies_help())]
    pub(crate) policies: String,
    /// Seeds: N, A..B (inclusive), or a comma list of both (1,2,5..7). Default: the
    /// scenario's seed.
    #[arg(long, value_name = "LIST")]
    pub(crate) seeds: Option<String>,
    /// Output directory for compare.csv, compare.md and the SVG plots (created if missing;
    /// files are replaced only when every run succeeded).
    #[arg(long, default_value = "out")]
    pub(crate) out: PathBuf,
    /// Trace format of the scenario's traces (overrides the scenario) or of a trace CSV
    /// given directly: openb, itp, philly, pollux, orrery-csv (pollux needs a scenario file,
    /// for its `profiles:`).
    #[arg(long, value_name = "FORMAT")]
    trace_format: Option<String>,
    /// Stop every run at this simulated time, e.g. 30d, 12h (overrides the scenario).
    #[arg(long)]
    horizon: Option<String>,
    /// Check the whole-state invariants (no over-commit of GPUs, CPU, memory or DRA
    /// devices; bookkeeping consistent) after every simulated instant; a violation stops
    /// the run with an error and exit code 1. Slower; off by default.
    #[arg(long)]
    pub(crate) check_invariants: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// Policies from a comma list, each checked by `PolicyKind::parse`, no repeats.
fn parse_policies(list: &str) -> Result<Vec<PolicyKind>, Failure> {
    let valid = || PolicyKind::names().join(", ");
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Err(bad_input(anyhow!(
            "--policies: no policy given; expected a comma list of: {}",
            valid()
        )));
    }
    let mut out: Vec<PolicyKind> = Vec::new();
    for name in names {
        let p = PolicyKind::parse(name).ok_or_else(|| {
            bad_input(anyhow!(
                "--policies: unknown policy {name:?}; expected one of: {}",
                valid()
            ))
        })?;
        if out.contains(&p) {
            return Err(bad_input(anyhow!("--policies: {name:?} is listed twice")));
        }
        out.push(p);
    }
    Ok(out)
}

fn parse_seed(s: &str, item: &str) -> Result<u64, Failure> {
    s.trim().parse::<u64>().map_err(|_| {
        bad_input(anyhow!(
            "--seeds: {item:?} is not a seed; expected N, A..B (inclusive) or a comma list \
             such as 1,2,5..7 (seeds are integers from 0 to {})",
            u64::MAX
        ))
    })
}

/// Seeds from `N`, `A..B` (inclusive) and comma lists of both; sorted, without repeats.
pub(crate) fn parse_seeds(list: &str) -> Result<Vec<u64>, Failure> {
    let mut seeds = BTreeSet::new();
    for item in list.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(bad_input(anyhow!(
                "--seeds: empty item in {list:?}; expected N, A..B (inclusive) or a comma \
                 list such as 1,2,5..7"
            )));
        }
        match item.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (parse_seed(a, item)?, parse_seed(b, item)?);
                if a > b {
                    return Err(bad_input(anyhow!(
                        "--seeds: {item:?} is an empty range (A..B includes both ends and \
                         needs A ≤ B)"
                    )));
                }
                if b - a >= MAX_RUNS as u64 {
                    return Err(bad_input(anyhow!(
                        "--seeds: {item:?} has more than {MAX_RUNS} seeds"
                    )));
                }
                seeds.extend(a..=b);
            }
            None => {
                seeds.insert(parse_seed(item, item)?);
            }
        }
        if seeds.len() > MAX_RUNS {
            return Err(bad_input(anyhow!("--seeds: more than {MAX_RUNS} seeds")));
        }
    }
    Ok(seeds.into_iter().collect())
}

pub fn compare(args: CompareArgs) -> Result<(), Failure> {
    // FGD-family scenarios (an `fgd:` section) run the FGD paper's placement policies.
    if let Some(p) = &args.scenario
        && scenarios::scenario::read_regular_file(p).is_ok_and(|y| scenarios::fgd::is_fgd(&y))
    {
        return crate::compare_fgd::compare_fgd(&args, p);
    }
    // Every option is checked before the scenario is loaded, and the scenario before any
    // simulation starts.
    let policies = parse_policies(&args.policies)?;
    let seeds = args.seeds.as_deref().map(parse_seeds).transpose()?;
    let run_args = RunArgs {
        scenario: args.scenario.clone(),
        seed: None,
        out: args.out.clone(),
        trace_format: args.trace_format.clone(),
        policy: None,
        horizon: args.horizon.clone(),
        quiet: args.quiet,
        check_invariants: args.check_invariants,
        no_pod_log: true,
    };
    let ov = overrides(&run_args)?;
    let wall = Instant::now();
    let sc = load_scenario(&run_args, &ov).map_err(bad_input)?;
    let seeds = seeds.unwrap_or_else(|| vec![sc.config.seed]);
    let runs = policies.len() * seeds.len();
    if runs > MAX_RUNS {
        return Err(bad_input(anyhow!(
            "{} policies × {} seeds is more than {MAX_RUNS} runs",
            policies.len(),
            seeds.len()
        )));
    }
    let tasks: Vec<(PolicyKind, u64)> = policies
        .iter()
        .flat_map(|&p| seeds.iter().map(move |&s| (p, s)))
        .collect();

    let bar = if !args.quiet && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(runs as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs done  {msg}",
        ) {
            b.set_style(style);
        }
        b.set_message(format!(
            "{} policies × {} seeds on {} threads",
            policies.len(),
            seeds.len(),
            rayon::current_num_threads()
        ));
        b
    } else {
        ProgressBar::hidden()
    };
    // Each run is single-threaded and deterministic; rayon's indexed collect keeps the
    // results in task order whichever thread finishes first.
    let results: Vec<Result<(RunRow, u64), RunError>> = tasks
        .par_iter()
        .map(|&(policy, seed)| {
            let mut config = sc.config.clone();
            config.scheduler.policy = policy;
            config.seed = seed;
            let res = models::run(sc.cluster.clone(), sc.workload.clone(), &config, None);
            bar.inc(1);
            res.map(|r| (RunRow::new(&sc.name, policy.name(), seed, &r), r.events))
        })
        .collect();
    bar.finish_and_clear();
    let mut rows = Vec::with_capacity(runs);
    let mut events = 0u64;
    for (res, (policy, seed)) in results.into_iter().zip(&tasks) {
        let (row, ev) = res.map_err(|e| {
            let ctx = format!("policy {} seed {seed}", policy.name());
            match e {
                RunError::Model(m) => bad_input(anyhow::Error::from(m).context(ctx)),
                other => Failure::from(anyhow::Error::from(other).context(ctx)),
            }
        })?;
        rows.push(row);
        events += ev;
    }

    let names: Vec<String> = policies.iter().map(|p| p.name().to_string()).collect();
    let files = reports::compare_files(&sc.name, &names, &seeds, &rows)?;
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let written = crate::write_out(&args.out, &files)?;
    if !args.quiet {
        let stats = reports::compare::policy_stats(&names, &rows);
        println!(
            "Orrery compare: {} · seeds {}",
            sc.name,
            reports::compare::seeds_label(&seeds)
        );
        println!();
        print!("{}", reports::compare::means_table(&stats));
        println!();
        println!("{}", reports::compare::ranking_line(&stats));
        println!();
        println!("{}", reports::compare::READING_GUIDE);
        println!();
        println!(
            "  wall       {:.2} s for {runs} runs ({events} events) on {} threads",
            wall.elapsed().as_secs_f64(),
            rayon::current_num_threads()
        );
        for w in written {
            println!("  wrote      {}", w.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lists() {
        assert_eq!(parse_seeds("7").ok(), Some(vec![7]));
        assert_eq!(parse_seeds("1..3").ok(), Some(vec![1, 2, 3]));
        assert_eq!(parse_seeds("1,2,5..7").ok(), Some(vec![1, 2, 5, 6, 7]));
        assert_eq!(parse_seeds("3, 1..2 ,2").ok(), Some(vec![1, 2, 3]));
        assert_eq!(parse_seeds("4..4").ok(), Some(vec![4]));
        for bad in [
            "5..1",
            "x",
            "",
            "1,,2",
            "1..",
            "..3",
            "-1",
            "1..x",
            "0..1000000",
        ] {
            assert!(parse_seeds(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn policy_lists() {
        let all = PolicyKind::names().join(",");
        assert_eq!(
            parse_policies(&all).ok().map(|v| v.len()),
            Some(PolicyKind::names().len())
        );
        for bad in ["", ",", "nope", "default,default"] {
            assert!(parse_policies(bad).is_err(), "{bad:?} accepted");
        }
    }
}
