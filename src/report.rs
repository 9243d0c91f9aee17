//! `orrery report DIR` (rebuild a capacity or compare report from its CSV files) and
//! `orrery merge DIR...` (join the shards of a capacity sweep into the full report, or
//! the shards of a verification into its verdict).

use std::path::PathBuf;

use anyhow::anyhow;
use reports::capacity::{self, CapacityError, SweepSpec};

use crate::{Failure, bad_input};

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Output directory of `orrery capacity` (sweep.json, runs*.csv) or of `orrery compare`
    /// (compare.csv).
    dir: PathBuf,
    /// Where to write the report (default: DIR itself).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Output directories of the shards (`orrery capacity --shard I/N` or `orrery verify
    /// --shard I/N`), in any order.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where to write the merged report (default: out/capacity, or out/verify for the
    /// shards of a verification).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Threads for what a verification does after its search (shrinking, mitigation
    /// re-checks); default: every core, or RAYON_NUM_THREADS.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// Bad or inconsistent files are bad input.
fn input(e: CapacityError) -> Failure {
    match e {
        CapacityError::Report(r) => Failure::from(r),
        other => bad_input(other),
    }
}

fn print(quiet: bool, written: &[PathBuf]) {
    if !quiet {
        for w in written {
            println!("  wrote      {}", w.display());
        }
    }
}

pub fn report(args: ReportArgs) -> Result<(), Failure> {
    // Without --out the report is added beside its input (nothing removed); with --out it is
    // that directory's whole output.
    let (out, add) = match &args.out {
        Some(o) => (o.clone(), false),
        None => (args.dir.clone(), true),
    };
    let write = |files: &[(String, Vec<u8>)]| {
        if add {
            crate::capacity::add(&out, files)
        } else {
            crate::capacity::write(&out, files)
        }
    };
    let dir = &args.dir;
    if dir.join(capacity::SWEEP_JSON).exists() {
        let spec = capacity::read_spec(dir).map_err(input)?;
        if let Some(s) = spec.shard {
            return Err(bad_input(anyhow!(
                "{}: shard {}/{} of a sweep; join the shards with `orrery merge`",
                dir.display(),
                s.index,
                s.count
            )));
        }
        let runs = capacity::read_raw(&spec, dir).map_err(input)?;
        let files = capacity::report_from_runs(&spec, runs).map_err(input)?;
        let written = write(&files)?;
        print(args.quiet, &written);
        return Ok(());
    }
    let csv = dir.join("compare.csv");
    if csv.exists() {
        let bytes = scenarios::scenario::read_regular_bytes(&csv).map_err(|e| {
            bad_input(anyhow::Error::from(e).context(format!("cannot read {}", csv.display())))
        })?;
        let cdf = scenarios::scenario::read_regular_bytes(&dir.join("jct_cdf.svg")).ok();
        let name = scenarios::scenario::read_regular_bytes(&dir.join("compare.md"))
            .ok()
            .and_then(|md| reports::compare_page::scenario_from_md(&md));
        let page = reports::compare_page::compare_html(
            &csv.display().to_string(),
            name.as_deref(),
            &bytes,
            cdf.as_deref(),
        )
        .map_err(input)?;
        let written = write(&[("compare.html".to_string(), page)])?;
        print(args.quiet, &written);
        return Ok(());
    }
    Err(bad_input(anyhow!(
        "{}: neither a capacity sweep (sweep.json) nor a comparison (compare.csv)",
        dir.display()
    )))
}

pub fn merge(args: MergeArgs) -> Result<(), Failure> {
    let verify_shard = |d: &PathBuf| d.join(crate::verify::SHARD_JSON).exists();
    if args.dirs.iter().any(verify_shard) {
        if let Some(d) = args.dirs.iter().find(|d| !verify_shard(d)) {
            return Err(bad_input(anyhow!(
                "{}: not the output of `orrery verify --shard` (no {}), unlike {}",
                d.display(),
                crate::verify::SHARD_JSON,
                args.dirs
                    .iter()
                    .find(|d| verify_shard(d))
                    .map_or_else(String::new, |d| d.display().to_string())
            )));
        }
        let out = args.out.unwrap_or_else(|| PathBuf::from("out/verify"));
        return crate::verify::with_threads(args.threads, || {
            crate::verify::merge(&args.dirs, &out, args.quiet)
        });
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from("out/capacity"));
    let mut spec: Option<SweepSpec> = None;
    let mut runs = Vec::new();
    for dir in &args.dirs {
        let s = capacity::read_spec(dir).map_err(input)?;
        match &spec {
            None => spec = Some(s.clone()),
            Some(first) if !first.same_sweep(&s) => {
                return Err(bad_input(anyhow!(
                    "{}: sweep.json describes another sweep than {} (scenario, grid, seeds, SLOs \
                     and options must be the same in every shard)",
                    dir.display(),
                    args.dirs[0].display()
                )));
            }
            Some(_) => {}
        }
        runs.extend(capacity::read_raw(&s, dir).map_err(input)?);
    }
    let Some(spec) = spec else {
        return Err(bad_input(anyhow!("no shard directory given")));
    };
    let files = capacity::report_from_runs(&spec, runs).map_err(input)?;
    let written = crate::capacity::write(&out, &files)?;
    if !args.quiet {
        println!("Orrery merge: {} shard directories", args.dirs.len());
    }
    print(args.quiet, &written);
    Ok(())
}
