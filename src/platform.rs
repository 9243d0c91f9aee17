//! `orrery platform`: run a platform scenario (node pools, cluster autoscaler, inference
//! services with HPAs, traffic, gateway, metrics) and write its events, series, requests,
//! summary and Prometheus exposition.

use std::path::PathBuf;

use crate::{Failure, bad_input};

#[derive(clap::Args, Debug)]
pub struct PlatformArgs {
    /// Platform scenario YAML (docs/platform.md; example: scenarios/platform/inference-autoscaling.yaml).
    scenario: PathBuf,
    /// Master seed; overrides the scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// How long to simulate, e.g. 40m; overrides the scenario's `horizon`.
    #[arg(long)]
    horizon: Option<String>,
    /// Output directory (created if missing).
    #[arg(long, default_value = "out/platform")]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn platform(args: PlatformArgs) -> Result<(), Failure> {
    let sc = scenarios::platform::load(&args.scenario).map_err(bad_input)?;
    let seed = args.seed.unwrap_or(sc.seed);
    let horizon = match &args.horizon {
        Some(h) => h
            .parse::<sim_core::SimDuration>()
            .map_err(|e| bad_input(anyhow::anyhow!("--horizon: {e}")))?,
        None => sc.horizon,
    };
    let r = models::platform::run(&sc.platform, seed, sim_core::SimTime::ZERO + horizon)
        .map_err(|e| bad_input(anyhow::anyhow!("{}: {e}", args.scenario.display())))?;
    let written = crate::out_result(
        &args.out,
        reports::platform::write_platform(&args.out, &sc.name, seed, &r),
    )?;
    if !args.quiet {
        println!(
            "{} (seed {seed}): {} events, {} requests ({} served), {} pods, simulated to {}",
            sc.name,
            r.events.len(),
            r.requests.len(),
            r.completed(),
            r.pods.len(),
            horizon
        );
        for (pool, v) in &r.nodes {
            let peak = v.iter().map(|x| x.1).max().unwrap_or(0);
            println!("  pool {pool}: peak {peak} Ready nodes");
        }
        for (svc, v) in &r.replicas {
            let peak = v.iter().map(|x| x.1).max().unwrap_or(0);
            println!("  service {svc}: peak {peak} replicas");
        }
        println!("wrote {} to {}", written.join(", "), args.out.display());
    }
    Ok(())
}
