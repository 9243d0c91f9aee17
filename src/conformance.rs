//! `orrery conformance`: score a platform profile against an AI Conformance checklist.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::anyhow;
use scenarios::conformance::{Catalogue, Profile, Provenance, ScoreOptions, Status, score};

use crate::{Failure, bad_input};

/// Exit code when a MUST of the checklist fails.
pub const EXIT_MUST_FAILED: u8 = 4;

#[derive(clap::Args, Debug)]
pub struct ConformanceArgs {
    /// Platform profile: a profile YAML, or a folder of the platform's own Kubernetes
    /// objects plus an optional platform.yaml (see docs/conformance.md; examples in
    /// scenarios/profiles/). A folder's scorecard rows say whether each behaviour was
    /// simulated from configuration or rests on declared values.
    #[arg(long)]
    profile: PathBuf,
    /// Kubernetes minor version whose checklist to score: 1.33, 1.34, 1.35 or 1.36.
    #[arg(long, default_value = "1.34")]
    version: String,
    /// Seed of every case (arrival processes, ties among equals).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory for scorecard.md, scorecard.json, self-assessment.yaml and the
    /// cases' scenario files and witnesses (created if missing).
    #[arg(long, default_value = "out/conformance")]
    out: PathBuf,
    /// Run only this requirement's suite (e.g. gang_scheduling).
    #[arg(long)]
    only: Option<String>,
    /// With --only: print this case's verdict and event log (the replay command of a
    /// scorecard's evidence); writes nothing.
    #[arg(long, requires = "only")]
    case: Option<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn conformance(args: ConformanceArgs) -> Result<(), Failure> {
    let shown = args.profile.display().to_string();
    let (profile, provenance) = if args.profile.is_dir() {
        let a = scenarios::conformance::objects::load_dir(&args.profile).map_err(bad_input)?;
        (a.profile, a.provenance)
    } else {
        let p = Profile::load(&args.profile).map_err(bad_input)?;
        (p, Provenance::hand_written(&shown))
    };
    let catalogue = Catalogue::bundled().map_err(bad_input)?;
    let opts = ScoreOptions {
        version: &args.version,
        seed: args.seed,
        only: args.only.as_deref(),
        profile_path: &shown,
    };
    let show = !args.quiet && std::io::stderr().is_terminal();
    let wall = Instant::now();
    let mut card = score(&profile, &catalogue, &opts, |id, i, n| {
        if show {
            eprint!("\r\x1b[2K[{}/{n}] {id}", i + 1);
        }
    })
    .map_err(bad_input)?;
    card.set_provenance(&provenance);
    if show {
        eprint!("\r\x1b[2K");
    }
    if let Some(case) = &args.case {
        let Some(r) = card.requirements.first() else {
            return Err(bad_input(anyhow!("nothing was scored")));
        };
        let Some(c) = r.cases.iter().find(|c| &c.case == case) else {
            return Err(bad_input(anyhow!(
                "--case {case:?}: {} has no such case (cases: {})",
                r.id,
                r.cases
                    .iter()
                    .map(|c| c.case.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        println!(
            "{} {} / {} (seed {}): {}",
            if c.passed { "PASS" } else { "FAIL" },
            r.id,
            c.case,
            c.seed,
            c.checks
        );
        if let Some(o) = &c.observed {
            println!("observed at {}: {}", o.at_display(), o.event);
        }
        println!("{}", c.detail);
        if !c.log.is_empty() {
            println!("event log:");
            for o in &c.log {
                println!("  {:>10}  {}", o.at_display(), o.event);
            }
        }
        return Ok(());
    }
    let written = crate::out_result(
        &args.out,
        reports::conformance::write_conformance(&args.out, &card, &profile),
    )?;
    if !args.quiet {
        println!(
            "{} against the {} checklist (seed {}):",
            card.profile, card.version, card.seed
        );
        for r in &card.requirements {
            let level = match (r.draft, r.level) {
                (true, _) => "draft",
                (_, Some(l)) => l.name(),
                _ => "-",
            };
            let why = match &r.status {
                Status::Fail => r
                    .smallest_failing_case()
                    .map(|c| format!("  ({}: {})", c.case, c.detail))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            println!("  {:<28} {:<6} {}{}", r.id, level, r.status.label(), why);
        }
        println!("{}", reports::conformance::summary_line(&card));
        println!(
            "wrote {} files to {} in {:.1}s (scorecard.md, scorecard.json, self-assessment.yaml)",
            written.len(),
            args.out.display(),
            wall.elapsed().as_secs_f64()
        );
    }
    let failed = card.failed_musts();
    if !failed.is_empty() {
        return Err(Failure {
            code: EXIT_MUST_FAILED,
            err: anyhow!(
                "{} MUST requirement(s) of {} failed: {}",
                failed.len(),
                card.version,
                failed.join(", ")
            ),
        });
    }
    Ok(())
}
