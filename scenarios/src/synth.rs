//! `orrery synth`: a synthetic what-if workload of any size: a homogeneous GPU cluster in
//! racks, and jobs whose (GPU count, duration) pairs are drawn from a real trace's rows,
//! arriving as a Poisson process at the rate that offers the requested load
//! (docs/synth.md).
//!
//! The output is a scenario YAML (`scenario.yaml`) and its trace in Orrery's own CSV
//! format (`trace.csv`), as text; the caller writes them. The same options give the same
//! bytes: jobs and arrivals come from two seeded ChaCha streams
//! (`sim_core::RngStreams`), the mix is read in file order, nothing iterates a hash map.

use models::{PolicyKind, Workload};
use rand::Rng;
use sim_core::RngStreams;

use crate::trace::{ImportOptions, TraceFormat, load_jobs};

/// File name of the written scenario.
pub const SCENARIO_FILE: &str = "scenario.yaml";
/// File name of the written trace (orrery-csv), as the scenario names it.
pub const TRACE_FILE: &str = "trace.csv";
/// The most jobs one call generates (the trace of 10 M jobs is about 0.4 GB of text).
pub const MAX_JOBS: u64 = 10_000_000;

/// Random stream that picks each job's row of the mix.
pub const JOBS_STREAM: &str = "synth/jobs";
/// Random stream of the inter-arrival gaps.
pub const ARRIVALS_STREAM: &str = "synth/arrivals";

/// Per-node CPU and memory written for every node (a DGX H100-class node: 2 × 96 cores,
/// 2 TiB, as the bundled default scenario). ITP jobs request neither, so they never bind.
pub const NODE_CPU_MILLI: u64 = 192_000;
pub const NODE_MEMORY_MIB: u64 = 2_097_152;

/// The ten bundled Microsoft ITP traces (microsoft/elasticflow-traces @277ed24,
/// `data/raw-traces.tar.gz`, MIT), compiled in so `orrery synth` works anywhere.
const ITP_FILES: [(&str, &str); 10] = [
    (
        "cluster01.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster01.csv"),
    ),
    (
        "cluster02.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster02.csv"),
    ),
    (
        "cluster03.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster03.csv"),
    ),
    (
        "cluster04.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster04.csv"),
    ),
    (
        "cluster05.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster05.csv"),
    ),
    (
        "cluster06.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster06.csv"),
    ),
    (
        "cluster07.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster07.csv"),
    ),
    (
        "cluster08.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster08.csv"),
    ),
    (
        "cluster09.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster09.csv"),
    ),
    (
        "cluster10.csv",
        include_str!("../traces/microsoft-itp-elasticflow/raw/cluster10.csv"),
    ),
];

/// Where job sizes and durations come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// All 69,351 rows of the ten bundled ITP traces, pooled.
    Itp,
    /// The rows of one ITP cluster, 1–10.
    ItpCluster(u8),
}

impl Mix {
    /// The names `--mix` accepts.
    pub fn names() -> Vec<String> {
        let mut v = vec!["itp".to_string()];
        v.extend((1..=10).map(|i| format!("itp-cluster{i:02}")));
        v
    }

    pub fn parse(s: &str) -> Option<Mix> {
        if s == "itp" {
            return Some(Mix::Itp);
        }
        let n: u8 = s.strip_prefix("itp-cluster")?.parse().ok()?;
        (s.len() == "itp-cluster".len() + 2 && (1..=10).contains(&n)).then_some(Mix::ItpCluster(n))
    }

    pub fn name(self) -> String {
        match self {
            Mix::Itp => "itp".into(),
            Mix::ItpCluster(n) => format!("itp-cluster{n:02}"),
        }
    }

    /// The bundled files this mix reads, in a few words.
    pub fn describe(self) -> String {
        match self {
            Mix::Itp => {
                "scenarios/traces/microsoft-itp-elasticflow/raw/cluster01.csv … cluster10.csv"
                    .into()
            }
            Mix::ItpCluster(n) => {
                format!("scenarios/traces/microsoft-itp-elasticflow/raw/cluster{n:02}.csv")
            }
        }
    }

    /// The bundled files this mix reads, as paths under `scenarios/`.
    pub fn files(self) -> Vec<String> {
        ITP_FILES
            .iter()
            .enumerate()
            .filter(|(i, _)| match self {
                Mix::Itp => true,
                Mix::ItpCluster(n) => *i + 1 == usize::from(n),
            })
            .map(|(_, (f, _))| format!("traces/microsoft-itp-elasticflow/raw/{f}"))
            .collect()
    }
}

/// One row of the mix: a job's GPU count and its run time in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MixRow {
    pub gpus: u32,
    pub duration_s: u64,
}

/// The rows of a mix, in file order (cluster01 first, each file's rows as written), read
/// with the ITP importer (`job_id, submission_time, duration, num_gpu`; only `num_gpu`
/// and `duration` are used).
pub fn mix_rows(mix: Mix) -> Result<Vec<MixRow>, SynthError> {
    let mut rows = Vec::new();
    let opts = ImportOptions::default();
    for (i, (name, text)) in ITP_FILES.iter().enumerate() {
        if let Mix::ItpCluster(n) = mix
            && i + 1 != usize::from(n)
        {
            continue;
        }
        let path = format!("<bundled>/scenarios/traces/microsoft-itp-elasticflow/raw/{name}");
        let jobs = load_jobs(&path, text, TraceFormat::Itp, &opts)
            .map_err(|e| SynthError::Mix(e.to_string()))?;
        for j in jobs {
            let gpus = u32::try_from(j.gpu_milli() / 1000)
                .map_err(|_| SynthError::Mix(format!("{path}: job {} has too many GPUs", j.id)))?;
            rows.push(MixRow {
                gpus,
                duration_s: j.duration.as_nanos() / 1_000_000_000,
            });
        }
    }
    Ok(rows)
}

/// What to generate. Each field is the `orrery synth` option of the same name.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthOptions {
    pub nodes: u32,
    pub gpus_per_node: u32,
    pub gpu_model: String,
    pub rack_size: u32,
    pub jobs: u64,
    /// Offered GPU-time ÷ (GPUs × arrival span).
    pub load: f64,
    pub mix: Mix,
    /// Draw only from the mix's rows of at most this many GPUs.
    pub max_job_gpus: Option<u32>,
    pub policy: String,
    pub seed: u64,
    /// Add `topology: pack-racks` and the network model of the bundled
    /// `itp-cluster04-network.yaml` (2:1 rail-optimised fabric, one scalable unit per
    /// rack; steps of 500 ms compute and a 1 GiB all-reduce, overlap 0.5).
    pub network: bool,
}

impl Default for SynthOptions {
    /// Issue 18's setup: 12,500 nodes of 8 H100 in racks of 32, ITP mix, 80 % load, `gang`.
    fn default() -> Self {
        SynthOptions {
            nodes: 12_500,
            gpus_per_node: 8,
            gpu_model: "H100".into(),
            rack_size: 32,
            jobs: 100_000,
            load: 0.8,
            mix: Mix::Itp,
            max_job_gpus: None,
            policy: "gang".into(),
            seed: 42,
            network: false,
        }
    }
}

/// Why nothing was generated. Each message names the option at fault.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SynthError {
    #[error("--{option}: {msg}")]
    Option { option: &'static str, msg: String },
    #[error(
        "a job larger than the cluster: the {mix} mix has jobs of up to {largest} GPUs ({too_big} of its {rows} rows need more than {cluster}) but --nodes {nodes} × --gpus-per-node {gpn} = {cluster} GPUs; add nodes, or pass --max-job-gpus {cluster} to draw only from the rows that fit"
    )]
    JobTooLarge {
        mix: String,
        largest: u32,
        too_big: usize,
        rows: usize,
        nodes: u32,
        gpn: u32,
        cluster: u64,
    },
    #[error("reading the mix: {0}")]
    Mix(String),
}

fn opt_err(option: &'static str, msg: impl Into<String>) -> SynthError {
    SynthError::Option {
        option,
        msg: msg.into(),
    }
}

/// Figures of one generated workload (also written as comments in the scenario).
#[derive(Clone, Debug, PartialEq)]
pub struct SynthFigures {
    /// Rows of the mix, and those kept (at most `max_job_gpus` GPUs).
    pub mix_rows: usize,
    pub mix_rows_kept: usize,
    /// Mean GPU-seconds per job of the kept rows: Σ gpus × duration ÷ rows.
    pub mean_gpu_seconds: f64,
    pub cluster_gpus: u64,
    /// Arrival rate λ = load × GPUs ÷ mean GPU-seconds (jobs per second).
    pub rate_per_s: f64,
    /// Submit time of the last job (the arrival span; the first gap starts at 0), in ms.
    pub last_submit_ms: u64,
    /// Σ gpus × duration over the generated jobs.
    pub offered_gpu_seconds: u128,
    /// offered GPU-seconds ÷ (GPUs × last submit): the load actually offered.
    pub offered_load: f64,
}

/// A generated what-if: the two files' text and its figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Synth {
    pub scenario_yaml: String,
    pub trace_csv: String,
    pub figures: SynthFigures,
}

/// A uniform index in `0..n` (`n ≥ 1`), without modulo bias (rejection).
fn index(rng: &mut impl Rng, n: usize) -> usize {
    let n = n as u64;
    // 2^64 mod n: the values below it are the incomplete last round of 0..n.
    let skip = n.wrapping_neg() % n;
    loop {
        let x = rng.next_u64();
        if x >= skip {
            return (x % n) as usize;
        }
    }
}

/// A standard exponential variate, `-ln(u)` with `u` uniform in (0, 1] on 53 bits.
fn exp1(rng: &mut impl Rng) -> f64 {
    let u = ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
    -u.ln()
}

/// Pods of a job of `gpus` GPUs on nodes of `gpn`: `(pods, gpus per pod)` with the pod
/// size the largest divisor of `gpus` that is at most `gpn` (so the pods are identical);
/// with 8-GPU nodes and ITP's sizes this is ITP's own split (`models::split_gpus`).
pub fn pods_of(gpus: u32, gpn: u32) -> (u32, u32) {
    if gpus == 0 {
        return (1, 0);
    }
    let p = (1..=gpus.min(gpn))
        .rev()
        .find(|p| gpus.is_multiple_of(*p))
        .unwrap_or(1);
    (gpus / p, p)
}

/// A time in ms as orrery-csv reads it exactly: whole seconds, then the milliseconds.
fn time_text(ms: u64) -> String {
    let (s, m) = (ms / 1000, ms % 1000);
    if m == 0 {
        format!("{s}s")
    } else {
        format!("{s}s{m}ms")
    }
}

fn check_options(o: &SynthOptions) -> Result<u64, SynthError> {
    if o.nodes == 0 {
        return Err(opt_err("nodes", "found 0, expected at least 1 node"));
    }
    if o.gpus_per_node == 0 {
        return Err(opt_err(
            "gpus-per-node",
            "found 0, expected at least 1 GPU per node",
        ));
    }
    if o.rack_size == 0 {
        return Err(opt_err(
            "rack-size",
            "found 0, expected at least 1 node per rack",
        ));
    }
    if o.jobs == 0 || o.jobs > MAX_JOBS {
        return Err(opt_err(
            "jobs",
            format!("found {}, expected 1 to {MAX_JOBS}", o.jobs),
        ));
    }
    if !(o.load.is_finite() && o.load > 0.0) {
        return Err(opt_err(
            "load",
            format!(
                "found {}, expected a number above 0 (offered GPU-time ÷ (GPUs × arrival span), e.g. 0.8)",
                o.load
            ),
        ));
    }
    let model_ok = !o.gpu_model.is_empty()
        && o.gpu_model.len() <= 63
        && o.gpu_model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !model_ok {
        return Err(opt_err(
            "gpu-model",
            format!(
                "found {:?}, expected a label value: 1-63 letters, digits, '-', '_' or '.' (e.g. H100)",
                o.gpu_model
            ),
        ));
    }
    if PolicyKind::parse(&o.policy).is_none() {
        return Err(opt_err(
            "policy",
            format!(
                "unknown policy {:?}; expected one of: {}",
                o.policy,
                PolicyKind::names().join(", ")
            ),
        ));
    }
    let cluster = u64::from(o.nodes) * u64::from(o.gpus_per_node);
    if let Some(m) = o.max_job_gpus
        && (m == 0 || u64::from(m) > cluster)
    {
        return Err(opt_err(
            "max-job-gpus",
            format!("found {m}, expected 1 to the cluster's {cluster} GPUs"),
        ));
    }
    Ok(cluster)
}

/// Generate the what-if. Errors name the option at fault.
pub fn generate(o: &SynthOptions) -> Result<Synth, SynthError> {
    let cluster = check_options(o)?;
    let all = mix_rows(o.mix)?;
    let rows: Vec<MixRow> = match o.max_job_gpus {
        Some(m) => all.iter().copied().filter(|r| r.gpus <= m).collect(),
        None => {
            let too_big = all.iter().filter(|r| u64::from(r.gpus) > cluster).count();
            if too_big > 0 {
                return Err(SynthError::JobTooLarge {
                    mix: o.mix.name(),
                    largest: all.iter().map(|r| r.gpus).max().unwrap_or(0),
                    too_big,
                    rows: all.len(),
                    nodes: o.nodes,
                    gpn: o.gpus_per_node,
                    cluster,
                });
            }
            all.clone()
        }
    };
    if rows.is_empty() {
        return Err(opt_err(
            "max-job-gpus",
            format!("no row of the {} mix has so few GPUs", o.mix.name()),
        ));
    }
    // Every kept size must fit as identical pods: pods of p GPUs, ⌊G/p⌋ per node.
    let mut sizes: Vec<u32> = rows.iter().map(|r| r.gpus).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for &g in &sizes {
        let (pods, p) = pods_of(g, o.gpus_per_node);
        let per_node = o.gpus_per_node.checked_div(p).map_or(u64::MAX, u64::from);
        if u64::from(pods) > per_node.saturating_mul(u64::from(o.nodes)) {
            return Err(opt_err(
                "gpus-per-node",
                format!(
                    "a {g}-GPU job of the mix splits into {pods} pods of {p} GPUs, and {} nodes of {} GPUs hold only {} such pods; pass --max-job-gpus or change --gpus-per-node",
                    o.nodes,
                    o.gpus_per_node,
                    per_node.saturating_mul(u64::from(o.nodes))
                ),
            ));
        }
    }
    let work: u128 = rows
        .iter()
        .map(|r| u128::from(r.gpus) * u128::from(r.duration_s))
        .sum();
    if work == 0 {
        return Err(opt_err(
            "mix",
            "the kept rows offer no GPU-time, so no arrival rate gives a load",
        ));
    }
    let mean_gpu_seconds = work as f64 / rows.len() as f64;
    // λ = load × GPUs ÷ mean GPU-seconds; the mean gap is its inverse.
    let rate_per_s = o.load * cluster as f64 / mean_gpu_seconds;
    let mean_gap_ms = 1000.0 / rate_per_s;

    let streams = RngStreams::new(o.seed);
    let mut pick = streams.stream(JOBS_STREAM);
    let mut gaps = streams.stream(ARRIVALS_STREAM);
    let width = o.jobs.to_string().len();
    let mut csv = String::with_capacity(o.jobs as usize * 32 + 64);
    csv.push_str("id,submit,duration,pods,gpus_per_pod\n");
    let mut t_ms: u64 = 0;
    let mut offered: u128 = 0;
    // The clock's limit (u64 ns), in ms, less room for the longest job.
    let longest = rows.iter().map(|r| r.duration_s).max().unwrap_or(0);
    let limit_ms = (u64::MAX / 1_000_000).saturating_sub(longest.saturating_mul(1000));
    for i in 1..=o.jobs {
        let gap = (exp1(&mut gaps) * mean_gap_ms).round();
        let next = if gap.is_finite() && gap < limit_ms as f64 {
            t_ms.checked_add(gap as u64)
        } else {
            None
        };
        t_ms = match next {
            Some(t) if t <= limit_ms => t,
            _ => {
                return Err(opt_err(
                    "load",
                    format!(
                        "at load {} the {} jobs' arrivals (mean gap {:.3} s) run past the simulator's clock (about 584 years); raise --load or lower --jobs",
                        o.load,
                        o.jobs,
                        mean_gap_ms / 1000.0
                    ),
                ));
            }
        };
        let r = rows[index(&mut pick, rows.len())];
        offered += u128::from(r.gpus) * u128::from(r.duration_s);
        let (pods, p) = pods_of(r.gpus, o.gpus_per_node);
        csv.push_str(&format!(
            "job-{i:0width$},{},{},{pods},{p}\n",
            time_text(t_ms),
            r.duration_s
        ));
    }
    let offered_load = if t_ms == 0 {
        f64::INFINITY
    } else {
        offered as f64 * 1000.0 / (cluster as f64 * t_ms as f64)
    };
    let figures = SynthFigures {
        mix_rows: all.len(),
        mix_rows_kept: rows.len(),
        mean_gpu_seconds,
        cluster_gpus: cluster,
        rate_per_s,
        last_submit_ms: t_ms,
        offered_gpu_seconds: offered,
        offered_load,
    };
    Ok(Synth {
        scenario_yaml: scenario_yaml(o, &figures),
        trace_csv: csv,
        figures,
    })
}

fn scenario_yaml(o: &SynthOptions, f: &SynthFigures) -> String {
    let mut y = String::new();
    let cap = o
        .max_job_gpus
        .map(|m| format!(" --max-job-gpus {m}"))
        .unwrap_or_default();
    y.push_str(&format!(
        "# Written by `orrery synth --nodes {} --gpus-per-node {} --gpu-model {} --rack-size {} \\\n\
         #   --jobs {} --load {} --mix {}{cap} --policy {} --seed {}{}` (docs/synth.md).\n",
        o.nodes,
        o.gpus_per_node,
        o.gpu_model,
        o.rack_size,
        o.jobs,
        o.load,
        o.mix.name(),
        o.policy,
        o.seed,
        if o.network { " --network" } else { "" }
    ));
    y.push_str(&format!(
        "# Mix: (num_gpu, duration) of a row drawn uniformly, with replacement, from {} of the\n\
         #   {} rows of {}\n\
         #   (Microsoft ITP traces, microsoft/elasticflow-traces @277ed24, MIT).\n\
         # Mean GPU-seconds per job {:.3}; cluster {} GPUs; Poisson arrivals at\n\
         #   rate = load x GPUs / mean GPU-seconds = {:.9} jobs/s (mean gap {:.3} s).\n\
         # Generated: last arrival at {:.3} s, offered {} GPU-s, offered load {:.6}.\n",
        f.mix_rows_kept,
        f.mix_rows,
        o.mix.describe(),
        f.mean_gpu_seconds,
        f.cluster_gpus,
        f.rate_per_s,
        1.0 / f.rate_per_s,
        f.last_submit_ms as f64 / 1000.0,
        f.offered_gpu_seconds,
        f.offered_load
    ));
    y.push_str(&format!(
        "name: synth ({} {} jobs at load {} on {}x{} {}, {})\n",
        o.jobs,
        o.mix.name(),
        o.load,
        o.nodes,
        o.gpus_per_node,
        o.gpu_model,
        o.policy
    ));
    y.push_str(&format!("seed: {}\n", o.seed));
    y.push_str("cluster:\n  node_pools:\n    - name: synth\n");
    y.push_str(&format!("      count: {}\n", o.nodes));
    y.push_str(&format!("      cpu_milli: {NODE_CPU_MILLI}\n"));
    y.push_str(&format!("      memory_mib: {NODE_MEMORY_MIB}\n"));
    y.push_str(&format!("      gpus: {}\n", o.gpus_per_node));
    y.push_str(&format!("      gpu_model: {}\n", o.gpu_model));
    if o.gpu_model == "H100" {
        y.push_str("      gpu_memory_mib: 81920\n");
    }
    y.push_str(&format!("      nodes_per_rack: {}\n", o.rack_size));
    y.push_str(&format!(
        "workload:\n  traces:\n    - file: {TRACE_FILE}\n      format: orrery-csv\n"
    ));
    y.push_str(&format!("scheduler:\n  policy: {}\n", o.policy));
    if o.network {
        y.push_str("  topology: pack-racks\n");
        y.push_str(&format!(
            "network:\n  config:\n    fabric:\n      kind: rail_optimized\n      nodes_per_su: {}\n      su_grouping: rack\n      oversubscription: 2.0\n  steps:\n    compute: 500ms\n    collective: all_reduce\n    comm_bytes: 1073741824\n    overlap: 0.5\n",
            o.rack_size
        ));
    }
    y
}

/// The generated jobs as the scenario loader will read them (for checks and benches).
pub fn workload(s: &Synth) -> Result<Workload, SynthError> {
    let jobs = load_jobs(
        TRACE_FILE,
        &s.trace_csv,
        TraceFormat::OrreryCsv,
        &ImportOptions::default(),
    )
    .map_err(|e| SynthError::Mix(e.to_string()))?;
    Ok(Workload { jobs })
}
