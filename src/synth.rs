//! `orrery synth`: write a synthetic what-if (scenario.yaml + trace.csv) of any size
//! (docs/synth.md). The generator is `scenarios::synth`; this file reads the options,
//! checks that the scenario builds and the model accepts it, then writes both files.

use std::path::PathBuf;

use anyhow::anyhow;
use scenarios::synth::{Mix, SCENARIO_FILE, SynthOptions, TRACE_FILE, generate};
use scenarios::{FileSource, Overrides, ScenarioError};

use crate::{Failure, bad_input};

#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 12_500)]
    nodes: u32,
    /// GPUs per node.
    #[arg(long, default_value_t = 8)]
    gpus_per_node: u32,
    /// The nodes' GPU model (a label value; H100 also gets 80 GiB of GPU memory written).
    #[arg(long, default_value = "H100")]
    gpu_model: String,
    /// Nodes per rack.
    #[arg(long, default_value_t = 32)]
    rack_size: u32,
    /// Number of jobs.
    #[arg(long, default_value_t = 100_000)]
    jobs: u64,
    /// Offered load: GPU-time offered ÷ (cluster GPUs × arrival span). Above 1 is overload.
    #[arg(long, default_value_t = 0.8)]
    load: f64,
    /// Where job sizes and durations come from: itp (all ten bundled ITP traces, pooled)
    /// or itp-cluster01 … itp-cluster10 (one of them).
    #[arg(long, default_value = "itp")]
    mix: String,
    /// Draw only from the mix's rows of at most this many GPUs (needed when the mix has
    /// jobs larger than the cluster).
    #[arg(long)]
    max_job_gpus: Option<u32>,
    /// Scheduler policy written into the scenario.
    #[arg(long, default_value = "gang")]
    policy: String,
    /// Seed of the generator, also written as the scenario's seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also model the network: `topology: pack-racks` and a 2:1 rail-optimised fabric
    /// (one scalable unit per rack) with steps of 500 ms compute and a 1 GiB all-reduce,
    /// as in scenarios/bundled/itp-cluster04-network.yaml (issue 18's network case).
    #[arg(long)]
    network: bool,
    /// Output folder for scenario.yaml and trace.csv.
    #[arg(long, default_value = "out/synth")]
    out: PathBuf,
}

/// The trace, served from memory while the scenario is checked.
struct Generated<'a>(&'a str, PathBuf);

impl FileSource for Generated<'_> {
    fn read(&self, name: &str) -> Result<(String, String), ScenarioError> {
        if name == TRACE_FILE {
            Ok((self.1.display().to_string(), self.0.to_string()))
        } else {
            Err(ScenarioError::Read {
                path: name.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not generated"),
            })
        }
    }
}

pub fn synth(args: SynthArgs) -> Result<(), Failure> {
    let mix = Mix::parse(&args.mix).ok_or_else(|| {
        bad_input(anyhow!(
            "--mix: unknown mix {:?}; expected one of: {}",
            args.mix,
            Mix::names().join(", ")
        ))
    })?;
    let opts = SynthOptions {
        nodes: args.nodes,
        gpus_per_node: args.gpus_per_node,
        gpu_model: args.gpu_model.clone(),
        rack_size: args.rack_size,
        jobs: args.jobs,
        load: args.load,
        mix,
        max_job_gpus: args.max_job_gpus,
        policy: args.policy.clone(),
        seed: args.seed,
        network: args.network,
    };
    let s = generate(&opts).map_err(bad_input)?;
    let path = args.out.join(SCENARIO_FILE).display().to_string();
    let sc = scenarios::scenario::build(
        &path,
        &s.scenario_yaml,
        &Generated(&s.trace_csv, args.out.join(TRACE_FILE)),
        &Overrides::default(),
    )
    .map_err(bad_input)?;
    // The model's own start-up checks (e.g. a policy that needs queues it is not given).
    models::sim::ClusterSim::new(sc.cluster, sc.workload, &sc.config)
        .map_err(|e| bad_input(anyhow!("{path}: the generated scenario cannot start: {e}")))?;
    let files = [
        (SCENARIO_FILE, s.scenario_yaml.into_bytes()),
        (TRACE_FILE, s.trace_csv.into_bytes()),
    ];
    let written = crate::write_out(&args.out, &files)?;
    let f = &s.figures;
    println!(
        "{} jobs on {} nodes x {} {} ({} GPUs): mean gap {:.3} s, last arrival {:.1} s, offered load {:.4}",
        opts.jobs,
        opts.nodes,
        opts.gpus_per_node,
        opts.gpu_model,
        f.cluster_gpus,
        1.0 / f.rate_per_s,
        f.last_submit_ms as f64 / 1000.0,
        f.offered_load
    );
    for w in written {
        println!("  wrote      {}", w.display());
    }
    Ok(())
}
