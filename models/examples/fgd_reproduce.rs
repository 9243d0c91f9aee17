//! Check all 1,020 runs of the FGD artefact (17 traces × 6 policies × 10 seeds) against its
//! published per-seed curves and write the side-by-side report.
//!
//! ```text
//! cargo run --release -p models --example fgd_reproduce -- --out docs/fgd-reproduction.md
//! ```
//!
//! Options: `--out PATH` (write the Markdown report), `--dump PATH` (every run's counts and
//! full-precision curves, one line per run), `--threads N` (runs in parallel, each
//! run single-threaded and deterministic; default: available parallelism), `--date DATE`
//! (date printed in the report; default: none, so the report is byte-identical across runs), `--traces a,b` (subset, for quick
//! checks). Exits non-zero if any row misses the tolerance: 0.05 points at every column of
//! both curves for the five deterministic policies; 1.0 point between our 10-seed mean
//! curves and the artefact's for Random.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use models::fgd::{Expected, FgdRun, Policy, Trace, max_abs_diff};

const TRACES: [&str; 17] = [
    "default",
    "cpu050",
    "cpu100",
    "cpu200",
    "cpu250",
    "gpushare40",
    "gpushare60",
    "gpushare80",
    "gpushare100",
    "gpuspec10",
    "gpuspec20",
    "gpuspec25",
    "gpuspec33",
    "multigpu20",
    "multigpu30",
    "multigpu40",
    "multigpu50",
];
const SEEDS: std::ops::RangeInclusive<u64> = 42..=51;
const TOL_DET: f64 = 0.05;
const TOL_RANDOM_MEAN: f64 = 1.0;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/traces/alibaba-gpu-v2023-openb")
}

struct Args {
    out: Option<PathBuf>,
    /// Every run's counts and full-precision curves, one line per run (for byte comparison).
    dump: Option<PathBuf>,
    threads: usize,
    date: String,
    traces: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        out: None,
        dump: None,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        date: String::new(),
        traces: TRACES.iter().map(|s| s.to_string()).collect(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--out" => a.out = Some(PathBuf::from(val()?)),
            "--dump" => a.dump = Some(PathBuf::from(val()?)),
            "--threads" => a.threads = val()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--date" => a.date = val()?,
            "--traces" => a.traces = val()?.split(',').map(str::to_string).collect(),
            "-h" | "--help" => {
                return Err(
                    "usage: fgd_reproduce [--out PATH] [--dump PATH] [--threads N] [--date DATE] \
                            [--traces a,b,...]"
                        .into(),
                );
            }
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    for t in &a.traces {
        if !TRACES.contains(&t.as_str()) {
            return Err(format!("unknown trace {t}"));
        }
    }
    if a.date.is_empty() {
        // No wall clock: the report is a pure function of the inputs unless a date is given.
        a.date = "(date not given; pass --date)".to_string();
    }
    a.threads = a.threads.max(1);
    Ok(a)
}

/// (max |Δ| over columns, column).
type Dev = (f64, usize);

/// Per-row comparison.
struct RowCmp {
    trace: String,
    policy: Policy,
    seed: u64,
    run: FgdRun,
    /// (max |Δ|, column) for allocation and fragmentation.
    d_alloc: (f64, usize),
    d_frag: (f64, usize),
    exp_alloc: Vec<f64>,
}

fn fmt_d(d: (f64, usize)) -> String {
    format!("{:.2} @{}", d.0, d.1)
}

fn mean_cols(rows: &[&Vec<f64>]) -> Vec<f64> {
    (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c]).sum::<f64>() / rows.len() as f64)
        .collect()
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = real_main(&args) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn real_main(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let dir = data_dir();
    let exp_a = Expected::load(&dir.join("fgd_expected_results/analysis_allo_discrete.csv"))?;
    let exp_f = Expected::load(&dir.join("fgd_expected_results/analysis_frag_discrete.csv"))?;
    let nodes = dir.join("openb_node_list_gpu_node.csv");
    let traces: Vec<(String, Trace)> = args
        .traces
        .iter()
        .map(|t| {
            Trace::load(&nodes, &dir.join(format!("openb_pod_list_{t}.csv")))
                .map(|tr| (t.clone(), tr))
        })
        .collect::<Result<_, _>>()?;

    // The job list, in a fixed order; results are stored by index, so thread timing never
    // changes the report.
    let mut jobs: Vec<(usize, Policy, u64)> = Vec::new();
    for ti in 0..traces.len() {
        for p in Policy::ALL {
            for s in SEEDS {
                jobs.push((ti, p, s));
            }
        }
    }
    let total = jobs.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    type Slot = Option<Result<FgdRun, models::fgd::FgdError>>;
    let results: Mutex<Vec<Slot>> = Mutex::new(vec![None; total]);
    std::thread::scope(|sc| {
        for _ in 0..args.threads {
            sc.spawn(|| {
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    if j >= total {
                        break;
                    }
                    let (ti, p, s) = jobs[j];
                    let r = traces[ti].1.run(p, s);
                    results.lock().expect("no panics while holding the lock")[j] = Some(r);
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if d.is_multiple_of(20) || d == total {
                        eprintln!("[{d}/{total}] runs done");
                    }
                }
            });
        }
    });
    let results = results.into_inner().expect("not poisoned");
    if let Some(path) = &args.dump {
        let mut d = String::new();
        for (j, r) in results.iter().enumerate() {
            let (ti, p, s) = jobs[j];
            if let Some(Ok(r)) = r {
                writeln!(
                    d,
                    "{},{p},{s},{},{},{:?},{:?}",
                    traces[ti].0, r.placed, r.failed, r.alloc, r.frag
                )?;
            }
        }
        std::fs::write(path, d)?;
    }

    let mut rows: Vec<RowCmp> = Vec::with_capacity(total);
    for (j, r) in results.into_iter().enumerate() {
        let (ti, p, s) = jobs[j];
        let run = r.expect("every job ran")?;
        let w = format!("openb_pod_list_{}", traces[ti].0);
        let ea = exp_a
            .get(&w, p.artefact_name(), s as i64)
            .ok_or_else(|| format!("no expected allocation row for {w} {p} {s}"))?;
        let ef = exp_f
            .get(&w, p.artefact_name(), s as i64)
            .ok_or_else(|| format!("no expected fragmentation row for {w} {p} {s}"))?;
        rows.push(RowCmp {
            trace: traces[ti].0.clone(),
            policy: p,
            seed: s,
            d_alloc: max_abs_diff(&run.alloc, &ea.values),
            d_frag: max_abs_diff(&run.frag, &ef.values),
            exp_alloc: ea.values.clone(),
            run,
        });
    }

    // Random: compare the 10-seed means per trace.
    let mut random_cmp: BTreeMap<String, (Dev, Dev)> = BTreeMap::new();
    for (t, _) in &traces {
        let w = format!("openb_pod_list_{t}");
        let ours: Vec<&RowCmp> = rows
            .iter()
            .filter(|r| &r.trace == t && r.policy == Policy::Random)
            .collect();
        let oa = mean_cols(&ours.iter().map(|r| &r.run.alloc).collect::<Vec<_>>());
        let of = mean_cols(&ours.iter().map(|r| &r.run.frag).collect::<Vec<_>>());
        let ea = exp_a.seed_mean(&w, "01-Random").ok_or("no Random rows")?;
        let ef = exp_f.seed_mean(&w, "01-Random").ok_or("no Random rows")?;
        random_cmp.insert(t.clone(), (max_abs_diff(&oa, &ea), max_abs_diff(&of, &ef)));
    }

    let row_ok = |r: &RowCmp| {
        if r.policy.is_random() {
            let (a, f) = random_cmp[&r.trace];
            a.0 <= TOL_RANDOM_MEAN && f.0 <= TOL_RANDOM_MEAN
        } else {
            r.d_alloc.0 <= TOL_DET && r.d_frag.0 <= TOL_DET
        }
    };
    let n_ok = rows.iter().filter(|r| row_ok(r)).count();

    let mut md = String::new();
    writeln!(md, "# FGD artefact reproduction (ATC'23): side by side")?;
    writeln!(md)?;
    writeln!(
        md,
        "Generated by `cargo run --release -p models --example fgd_reproduce -- --out docs/fgd-reproduction.md --date <DATE>`; date: {}.",
        args.date
    )?;
    writeln!(md)?;
    writeln!(md, "## Summary")?;
    writeln!(md)?;
    writeln!(
        md,
        "* **{n_ok} of {total} rows within tolerance.** Tolerance: deterministic policies — every column 0…130 \
         of the GPU allocation ratio *and* of the fragmentation amount within {TOL_DET} points of the artefact's \
         row for the same (trace, policy, seed); Random — our 10-seed mean curves (allocation and fragmentation) \
         within {TOL_RANDOM_MEAN} point of the artefact's 10-seed means at every column (a Random row counts as within \
         tolerance when its trace's mean does)."
    )?;
    writeln!(
        md,
        "* Data: `scenarios/traces/alibaba-gpu-v2023-openb/` (17 pod lists, GPU node list, \
         `fgd_expected_results/analysis_allo_discrete.csv` and `analysis_frag_discrete.csv`)."
    )?;
    writeln!(
        md,
        "* Implementation: `models/src/fgd/` (API `models::fgd::{{Trace, run, Policy, FgdRun, Expected}}`); \
         pipeline and policies as described in the artefact notes; every run goes through the one \
         cluster model (`models::sim::ClusterSim` with the FGD placement plugins, \
         `models/src/fgd/one_model.rs`); Random draws from Orrery's seeded \
         ChaCha stream, so only its distribution is comparable."
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "Max deviation per policy over all its rows (points, with the row and column):"
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "| policy | rows | within tolerance | rows identical (both curves) | max \\|Δ\\| allocation | max \\|Δ\\| fragmentation |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|")?;
    for p in Policy::ALL {
        let pr: Vec<&RowCmp> = rows.iter().filter(|r| r.policy == p).collect();
        let ok = pr.iter().filter(|r| row_ok(r)).count();
        let worst = |f: &dyn Fn(&RowCmp) -> (f64, usize)| {
            pr.iter()
                .map(|r| (f(r), r))
                .max_by(|a, b| a.0.0.total_cmp(&b.0.0))
                .map(|(d, r)| {
                    if d.0 == 0.0 {
                        "0.00 (every row, every column)".to_string()
                    } else {
                        format!("{:.2} ({} seed {} col {})", d.0, r.trace, r.seed, d.1)
                    }
                })
                .unwrap_or_default()
        };
        let note = if p.is_random() {
            " (per seed; not expected to match)"
        } else {
            ""
        };
        writeln!(
            md,
            "| {} | {} | {} | {} | {}{note} | {}{note} |",
            p.artefact_name(),
            pr.len(),
            ok,
            pr.iter()
                .filter(|r| r.d_alloc.0 == 0.0 && r.d_frag.0 == 0.0)
                .count(),
            worst(&|r| r.d_alloc),
            worst(&|r| r.d_frag)
        )?;
    }
    writeln!(md)?;
    writeln!(
        md,
        "A deviation of 0.01 is a difference in the last printed digit; the artefact notes \
         (§4.4) attribute such cases to rounding ties in pandas' mean. Random is not \
         reproducible per seed even in the artefact (parallel filter order, extra global draws), \
         so only its 10-seed mean is compared."
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "Random, our 10-seed mean vs the artefact's 10-seed mean (max |Δ| over columns, points):"
    )?;
    writeln!(md)?;
    writeln!(md, "| trace | allocation | fragmentation |")?;
    writeln!(md, "|---|---|---|")?;
    for (t, (a, f)) in &random_cmp {
        writeln!(md, "| {t} | {} | {} |", fmt_d(*a), fmt_d(*f))?;
    }
    writeln!(md)?;
    writeln!(
        md,
        "## Mean GPU allocation ratio over seeds 42–51 (%), ours / artefact"
    )?;
    writeln!(md)?;
    writeln!(md, "At 100 % arrived demand:")?;
    writeln!(md)?;
    for col in [100usize, 130] {
        if col == 130 {
            writeln!(md)?;
            writeln!(md, "At 130 % arrived demand (end of the run):")?;
            writeln!(md)?;
        }
        write!(md, "| trace |")?;
        for p in Policy::ALL {
            write!(md, " {} |", p.artefact_name())?;
        }
        writeln!(md)?;
        writeln!(md, "|---|---|---|---|---|---|---|")?;
        for (t, _) in &traces {
            write!(md, "| {t} |")?;
            for p in Policy::ALL {
                let pr: Vec<&RowCmp> = rows
                    .iter()
                    .filter(|r| &r.trace == t && r.policy == p)
                    .collect();
                let ours = pr.iter().map(|r| r.run.alloc[col]).sum::<f64>() / pr.len() as f64;
                let theirs = pr.iter().map(|r| r.exp_alloc[col]).sum::<f64>() / pr.len() as f64;
                write!(md, " {ours:.2} / {theirs:.2} |")?;
            }
            writeln!(md)?;
        }
    }
    writeln!(md)?;
    writeln!(md, "## Every row")?;
    writeln!(md)?;
    writeln!(
        md,
        "Max |Δ| over columns 0…130 (points) and the column where it occurs; pods = tuned list \
         length, failed = pods that found no node (ours)."
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "| trace | policy | seed | pods | failed | alloc@100 ours / artefact | max \\|Δ\\| alloc | max \\|Δ\\| frag | ok |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|")?;
    for r in &rows {
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.2} / {:.2} | {} | {} | {} |",
            r.trace,
            r.policy.artefact_name(),
            r.seed,
            r.run.pods,
            r.run.failed,
            r.run.alloc[100],
            r.exp_alloc[100],
            fmt_d(r.d_alloc),
            fmt_d(r.d_frag),
            if row_ok(r) { "yes" } else { "**no**" }
        )?;
    }

    if let Some(out) = &args.out {
        std::fs::write(out, &md).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    println!("{n_ok} of {total} rows within tolerance");
    for p in Policy::ALL {
        let pr: Vec<&RowCmp> = rows.iter().filter(|r| r.policy == p).collect();
        let a = pr.iter().map(|r| r.d_alloc.0).fold(0.0, f64::max);
        let f = pr.iter().map(|r| r.d_frag.0).fold(0.0, f64::max);
        println!("{:18} max |d| alloc {a:.2}  frag {f:.2}", p.artefact_name());
    }
    for (t, (a, f)) in &random_cmp {
        println!("random mean {t:12} alloc {}  frag {}", fmt_d(*a), fmt_d(*f));
    }
    if n_ok != total {
        for r in rows.iter().filter(|r| !row_ok(r)) {
            eprintln!(
                "MISS {} {} seed {}: alloc {} frag {}",
                r.trace,
                r.policy.artefact_name(),
                r.seed,
                fmt_d(r.d_alloc),
                fmt_d(r.d_frag)
            );
        }
        std::process::exit(1);
    }
    Ok(())
}
