//! The raw results of a sweep's runs and their CSV files (`runs.csv`, `runs_cdf.csv`,
//! `runs_timeline.csv`). A shard writes the rows of its runs; `orrery merge` reads every
//! shard's rows back, and a full sweep reads its own rows back too, so every report is
//! derived from exactly the same (rounded) numbers.

use std::path::Path;

use models::RunResult;

use super::CapacityError;
use super::metrics;
use super::spec::{SweepSpec, milli_label};
use super::timeline::{self, Bin};
use crate::compare::{Unit, csv_value};
use crate::summary::summarize;

/// One run of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct RunData {
    /// Run number in grid order (`SweepSpec::tasks`).
    pub run: usize,
    /// Index of its configuration in `SweepSpec::points`.
    pub point: usize,
    pub seed: u64,
    /// One per metric of `metrics::all()`.
    pub values: Vec<Option<f64>>,
    /// (wait, JCT) at quantiles 0..=100 %.
    pub quantiles: Vec<(Option<f64>, Option<f64>)>,
    pub timeline: Vec<Bin>,
}

impl RunData {
    pub fn new(
        run: usize,
        point: usize,
        seed: u64,
        scenario: &str,
        r: &RunResult,
        bin_s: u64,
    ) -> RunData {
        let (timeline, frag) = timeline::timeline(r, bin_s);
        RunData {
            run,
            point,
            seed,
            values: metrics::values(&summarize(scenario, r), frag),
            quantiles: timeline::quantiles(r),
            timeline,
        }
    }

    /// A run the model refused to start (e.g. a job larger than the whole cluster): no
    /// values, so it misses every SLO.
    pub fn infeasible(run: usize, point: usize, seed: u64) -> RunData {
        RunData {
            run,
            point,
            seed,
            values: vec![None; metrics::count()],
            quantiles: vec![(None, None); 101],
            timeline: Vec::new(),
        }
    }

    pub fn value(&self, metric: &str) -> Option<f64> {
        metrics::index(metric).and_then(|i| self.values[i])
    }
}

/// Names of the raw files, in writing order.
pub const RUNS: &str = "runs.csv";
pub const RUNS_CDF: &str = "runs_cdf.csv";
pub const RUNS_TIMELINE: &str = "runs_timeline.csv";

fn enc(what: &'static str) -> impl Fn(csv::Error) -> crate::ReportError {
    move |e| crate::ReportError::Encode {
        what,
        msg: e.to_string(),
    }
}

fn opt(v: Option<f64>, unit: Unit) -> String {
    csv_value(unit, v)
}

/// The three raw files for these runs (in the order given).
pub fn raw_files(
    spec: &SweepSpec,
    runs: &[RunData],
) -> Result<Vec<(String, Vec<u8>)>, crate::ReportError> {
    let points = spec.points();
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut h = vec!["run", "policy", "gpu_model", "load", "nodes", "seed"];
    h.extend(metrics::all().map(|m| m.name));
    w.write_record(&h).map_err(enc(RUNS))?;
    for r in runs {
        let p = &points[r.point];
        let mut rec = vec![
            r.run.to_string(),
            p.policy.clone(),
            p.gpu_model.clone(),
            milli_label(p.load_milli),
            p.nodes.to_string(),
            r.seed.to_string(),
        ];
        rec.extend(metrics::all().zip(&r.values).map(|(m, v)| opt(*v, m.unit)));
        w.write_record(&rec).map_err(enc(RUNS))?;
    }
    let runs_csv = w.into_inner().map_err(|e| crate::ReportError::Encode {
        what: RUNS,
        msg: e.to_string(),
    })?;

    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["run", "quantile", "wait_s", "jct_s"])
        .map_err(enc(RUNS_CDF))?;
    for r in runs {
        for (q, (a, b)) in r.quantiles.iter().enumerate() {
            w.write_record([
                r.run.to_string(),
                format!("{:.2}", q as f64 / 100.0),
                opt(*a, Unit::Seconds),
                opt(*b, Unit::Seconds),
            ])
            .map_err(enc(RUNS_CDF))?;
        }
    }
    let cdf_csv = w.into_inner().map_err(|e| crate::ReportError::Encode {
        what: RUNS_CDF,
        msg: e.to_string(),
    })?;

    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "run",
        "time_s",
        "gpu_busy_ratio",
        "queued_jobs",
        "fragmented_gpu_ratio",
    ])
    .map_err(enc(RUNS_TIMELINE))?;
    for r in runs {
        for (i, b) in r.timeline.iter().enumerate() {
            w.write_record([
                r.run.to_string(),
                (i as u64 * spec.timeline_bin_s).to_string(),
                format!("{:.6}", b.gpu_busy_ratio),
                format!("{:.3}", b.queued_jobs),
                format!("{:.6}", b.fragmented_gpu_ratio),
            ])
            .map_err(enc(RUNS_TIMELINE))?;
        }
    }
    let tl_csv = w.into_inner().map_err(|e| crate::ReportError::Encode {
        what: RUNS_TIMELINE,
        msg: e.to_string(),
    })?;
    Ok(vec![
        (RUNS.to_string(), runs_csv),
        (RUNS_CDF.to_string(), cdf_csv),
        (RUNS_TIMELINE.to_string(), tl_csv),
    ])
}

/// Reads CSV records from `bytes`, checking the header.
fn records(
    file: &str,
    bytes: &[u8],
    header: &[&str],
) -> Result<Vec<csv::StringRecord>, CapacityError> {
    let bad = |line: u64, msg: String| CapacityError::Parse {
        file: file.to_string(),
        line,
        msg,
    };
    let mut r = csv::Reader::from_reader(bytes);
    let h = r.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    if h.iter().collect::<Vec<_>>() != header {
        return Err(bad(
            1,
            format!(
                "unexpected header; expected {} (written by another Orrery version?)",
                header.join(",")
            ),
        ));
    }
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        out.push(rec.map_err(|e| bad(i as u64 + 2, e.to_string()))?);
    }
    Ok(out)
}

fn num<T: std::str::FromStr>(
    file: &str,
    line: u64,
    col: &str,
    s: &str,
) -> Result<T, CapacityError> {
    s.parse::<T>().map_err(|_| CapacityError::Parse {
        file: file.to_string(),
        line,
        msg: format!("{col}: {s:?} is not a number"),
    })
}

fn opt_num(file: &str, line: u64, col: &str, s: &str) -> Result<Option<f64>, CapacityError> {
    if s.is_empty() {
        Ok(None)
    } else {
        num::<f64>(file, line, col, s).map(Some)
    }
}

/// Reads the raw files of one directory back into runs, checked against `spec`.
pub fn read_raw(spec: &SweepSpec, dir: &Path) -> Result<Vec<RunData>, CapacityError> {
    let read = |name: &str| {
        let p = dir.join(name);
        scenarios::scenario::read_regular_bytes(&p).map_err(|source| CapacityError::Read {
            path: p.display().to_string(),
            source,
        })
    };
    let name = |n: &str| dir.join(n).display().to_string();
    parse_raw(
        spec,
        (&name(RUNS), &read(RUNS)?),
        (&name(RUNS_CDF), &read(RUNS_CDF)?),
        (&name(RUNS_TIMELINE), &read(RUNS_TIMELINE)?),
    )
}

/// Parses raw files given as (display name, bytes).
pub fn parse_raw(
    spec: &SweepSpec,
    runs: (&str, &[u8]),
    cdf: (&str, &[u8]),
    tl: (&str, &[u8]),
) -> Result<Vec<RunData>, CapacityError> {
    let points = spec.points();
    let tasks = spec.tasks();
    let mut h = vec!["run", "policy", "gpu_model", "load", "nodes", "seed"];
    h.extend(metrics::all().map(|m| m.name));
    let mut out: Vec<RunData> = Vec::new();
    let mut by_run = std::collections::BTreeMap::new();
    for (i, rec) in records(runs.0, runs.1, &h)?.iter().enumerate() {
        let line = i as u64 + 2;
        let run: usize = num(runs.0, line, "run", &rec[0])?;
        let seed: u64 = num(runs.0, line, "seed", &rec[5])?;
        let bad = |msg: String| CapacityError::Parse {
            file: runs.0.to_string(),
            line,
            msg,
        };
        let &(point, want_seed) = tasks.get(run).ok_or_else(|| {
            bad(format!(
                "run {run} is not part of this sweep ({} runs)",
                tasks.len()
            ))
        })?;
        let p = &points[point];
        if (&rec[1], &rec[2], rec[3].to_string(), &rec[4], seed)
            != (
                p.policy.as_str(),
                p.gpu_model.as_str(),
                milli_label(p.load_milli),
                p.nodes.to_string().as_str(),
                want_seed,
            )
        {
            return Err(bad(format!(
                "run {run} does not match sweep.json's grid (expected {} seed {want_seed})",
                p.label(spec)
            )));
        }
        let mut values = Vec::with_capacity(metrics::count());
        for (k, m) in metrics::all().enumerate() {
            values.push(opt_num(runs.0, line, m.name, &rec[6 + k])?);
        }
        if by_run.insert(run, out.len()).is_some() {
            return Err(bad(format!("run {run} appears twice")));
        }
        out.push(RunData {
            run,
            point,
            seed,
            values,
            quantiles: Vec::new(),
            timeline: Vec::new(),
        });
    }
    let find = |file: &str, line: u64, rec: &csv::StringRecord| -> Result<usize, CapacityError> {
        let run: usize = num(file, line, "run", &rec[0])?;
        by_run
            .get(&run)
            .copied()
            .ok_or_else(|| CapacityError::Parse {
                file: file.to_string(),
                line,
                msg: format!("run {run} is not in runs.csv"),
            })
    };
    for (i, rec) in records(cdf.0, cdf.1, &["run", "quantile", "wait_s", "jct_s"])?
        .iter()
        .enumerate()
    {
        let line = i as u64 + 2;
        let k = find(cdf.0, line, rec)?;
        let a = opt_num(cdf.0, line, "wait_s", &rec[2])?;
        let b = opt_num(cdf.0, line, "jct_s", &rec[3])?;
        out[k].quantiles.push((a, b));
    }
    let h = [
        "run",
        "time_s",
        "gpu_busy_ratio",
        "queued_jobs",
        "fragmented_gpu_ratio",
    ];
    for (i, rec) in records(tl.0, tl.1, &h)?.iter().enumerate() {
        let line = i as u64 + 2;
        let k = find(tl.0, line, rec)?;
        out[k].timeline.push(Bin {
            gpu_busy_ratio: num(tl.0, line, h[2], &rec[2])?,
            queued_jobs: num(tl.0, line, h[3], &rec[3])?,
            fragmented_gpu_ratio: num(tl.0, line, h[4], &rec[4])?,
        });
    }
    Ok(out)
}

/// Puts runs from several shards in grid order and checks that every run of the sweep is
/// there exactly once.
pub fn complete(spec: &SweepSpec, mut runs: Vec<RunData>) -> Result<Vec<RunData>, CapacityError> {
    runs.sort_by_key(|r| r.run);
    let n = spec.tasks().len();
    if let Some(w) = runs.windows(2).find(|w| w[0].run == w[1].run) {
        return Err(CapacityError::Incomplete(format!(
            "run {} appears in more than one shard",
            w[0].run
        )));
    }
    if runs.len() != n {
        let have: std::collections::BTreeSet<usize> = runs.iter().map(|r| r.run).collect();
        let missing: Vec<String> = (0..n)
            .filter(|i| !have.contains(i))
            .take(5)
            .map(|i| i.to_string())
            .collect();
        return Err(CapacityError::Incomplete(format!(
            "{} of the sweep's {n} runs are missing (runs {}{}); is a shard's directory left out?",
            n - runs.len(),
            missing.join(", "),
            if n - runs.len() > 5 { ", ..." } else { "" }
        )));
    }
    Ok(runs)
}
