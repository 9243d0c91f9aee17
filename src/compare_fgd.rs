//! `orrery compare` on an FGD-family scenario: the FGD paper's placement policies on the
//! artefact's pipeline, per (policy, seed): the GPU allocation ratio at 100 % arrived
//! demand (`compare.csv`) and the full 0…130 allocation and fragmentation curves
//! (`fgd_curves.csv`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use models::fgd::{FgdRun, Policy, Trace};
use rayon::prelude::*;

use crate::compare::{CompareArgs, parse_seeds};
use crate::{Failure, bad_input};

fn parse_policies(list: &str) -> Result<Vec<Policy>, Failure> {
    let valid = || Policy::ALL.map(Policy::name).join(", ");
    let mut out: Vec<Policy> = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(bad_input(anyhow!(
                "--policies: empty policy name in {list:?}; FGD scenarios take: {}",
                valid()
            )));
        }
        let p: Policy = name.parse().map_err(|_| {
            bad_input(anyhow!(
                "--policies: unknown FGD placement policy {name:?}; expected one of: {}",
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

pub fn compare_fgd(args: &CompareArgs, path: &Path) -> Result<(), Failure> {
    let policies = parse_policies(&args.policies)?;
    let seeds = args.seeds.as_deref().map(parse_seeds).transpose()?;
    let wall = Instant::now();
    let sc = scenarios::fgd::load(path).map_err(bad_input)?;
    let trace = Trace::parse(
        &sc.node_list.0,
        &sc.node_list.1,
        &sc.pod_list.0,
        &sc.pod_list.1,
    )
    .map_err(bad_input)?;
    let seeds = seeds.unwrap_or_else(|| vec![sc.seed]);
    let tasks: Vec<(Policy, u64)> = policies
        .iter()
        .flat_map(|&p| seeds.iter().map(move |&s| (p, s)))
        .collect();
    let runs: Vec<FgdRun> = tasks
        .par_iter()
        .map(|&(p, s)| trace.run(p, s))
        .collect::<Result<_, _>>()
        .map_err(bad_input)?;

    let mut csv = String::from(
        "policy,seed,gpu_allocation_ratio,final_allocation_ratio,frag_ratio_at_100,pods,placed,failed,total_gpus\n",
    );
    let mut curves = String::from("policy,seed,metric");
    for c in 0..=130 {
        let _ = write!(curves, ",{c}");
    }
    curves.push('\n');
    for r in &runs {
        let _ = writeln!(
            csv,
            "{},{},{:.6},{:.6},{:.6},{},{},{},{}",
            r.policy.name(),
            r.seed,
            r.gpu_allocation_ratio / 100.0,
            r.final_allocation / 100.0,
            r.frag.get(100).copied().unwrap_or(0.0) / 100.0,
            r.pods,
            r.placed,
            r.failed,
            r.total_gpus
        );
        for (metric, v) in [("alloc_pct", &r.alloc), ("frag_pct", &r.frag)] {
            let _ = write!(curves, "{},{},{metric}", r.policy.name(), r.seed);
            for x in v {
                let _ = write!(curves, ",{x:.2}");
            }
            curves.push('\n');
        }
    }
    let mut md = format!(
        "# FGD placement policies: {}\n\nSeeds: {}. GPU allocation ratio (% of GPUs allocated) and fragmented GPUs (% of all GPUs) at 100 % and 130 % arrived GPU demand, mean over seeds; higher allocation and lower fragmentation are better. Per-run values in `compare.csv`, full curves in `fgd_curves.csv`.\n\n| policy | runs | alloc @100 % | alloc @130 % | frag @100 % |\n|---|---:|---:|---:|---:|\n",
        sc.name,
        seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    for &p in &policies {
        let rs: Vec<&FgdRun> = runs.iter().filter(|r| r.policy == p).collect();
        let mean = |f: &dyn Fn(&FgdRun) -> f64| {
            rs.iter().map(|r| f(r)).sum::<f64>() / rs.len().max(1) as f64
        };
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} | {:.2} | {:.2} |",
            p.name(),
            rs.len(),
            mean(&|r| r.alloc[100]),
            mean(&|r| r.alloc[130]),
            mean(&|r| r.frag[100])
        );
    }
    let files = vec![
        ("compare.csv", csv.into_bytes()),
        ("fgd_curves.csv", curves.into_bytes()),
        ("compare.md", md.clone().into_bytes()),
    ];
    let written = crate::write_out(&args.out, &files)?;
    if !args.quiet {
        print!("{md}");
        println!(
            "\n  wall       {:.2} s for {} runs",
            wall.elapsed().as_secs_f64(),
            runs.len()
        );
        for w in written {
            println!("  wrote      {}", w.display());
        }
    }
    Ok(())
}
