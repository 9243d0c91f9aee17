//! `orrery capacity`: capacity-planning sweeps and their report (see docs/capacity.md).
//!
//! A sweep's runs are reduced to raw rows (`data`), written as CSV and read back; every
//! derived file is a pure function of `sweep.json` and those rows, so a full sweep, a merge
//! of its shards and `orrery report` on either give byte-identical files.

pub mod analyze;
pub mod data;
pub mod html;
pub mod metrics;
pub mod plots;
pub mod render;
pub mod series;
pub mod spec;
pub mod timeline;

use std::path::Path;

pub use analyze::{Analysis, analyze};
pub use data::{RunData, complete, parse_raw, raw_files, read_raw};
pub use spec::{Prices, Provenance, Shard, Slo, SpecError, SweepSpec, Vary};

use crate::write::ReportError;

/// A capacity report that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: line {line}: {msg}")]
    Parse {
        file: String,
        line: u64,
        msg: String,
    },
    #[error("{0}")]
    Incomplete(String),
    #[error("{path}: {msg}")]
    Spec { path: String, msg: String },
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// Name of the sweep specification file.
pub const SWEEP_JSON: &str = "sweep.json";

/// Reads `sweep.json` from a directory.
pub fn read_spec(dir: &Path) -> Result<SweepSpec, CapacityError> {
    let p = dir.join(SWEEP_JSON);
    let bytes =
        scenarios::scenario::read_regular_bytes(&p).map_err(|source| CapacityError::Read {
            path: p.display().to_string(),
            source,
        })?;
    serde_json::from_slice(&bytes).map_err(|e| CapacityError::Spec {
        path: p.display().to_string(),
        msg: format!("not a capacity sweep specification: {e}"),
    })
}

/// Every file of a full sweep's report, in writing order, from the spec and the raw files
/// of its runs (as `raw_files` writes them). The rows are parsed back from those bytes, so
/// the report depends only on what shards would have written: a merge gives the same bytes.
pub fn report_files(
    spec: &SweepSpec,
    raw: &[(String, Vec<u8>)],
) -> Result<Vec<(String, Vec<u8>)>, CapacityError> {
    let get = |n: &str| {
        raw.iter()
            .find(|(name, _)| name == n)
            .map(|(name, b)| (name.as_str(), b.as_slice()))
            .ok_or_else(|| CapacityError::Incomplete(format!("{n} missing")))
    };
    let runs = parse_raw(
        spec,
        get(data::RUNS)?,
        get(data::RUNS_CDF)?,
        get(data::RUNS_TIMELINE)?,
    )?;
    report_from_runs(spec, complete(spec, runs)?)
}

/// The full report from every run of the sweep, in grid order (as read back from CSV).
pub fn report_from_runs(
    spec: &SweepSpec,
    runs: Vec<RunData>,
) -> Result<Vec<(String, Vec<u8>)>, CapacityError> {
    let spec = SweepSpec {
        shard: None,
        ..spec.clone()
    };
    let runs = complete(&spec, runs)?;
    let a = analyze(&spec, &runs);
    let plots = render::plots(&spec, &a, &runs)?;
    let (tl, cdf) = render::series_csvs(&spec, &a, &runs)?;
    let mut files: Vec<(String, Vec<u8>)> = vec![(SWEEP_JSON.to_string(), spec.to_json()?)];
    files.extend(raw_files(&spec, &runs)?);
    files.push((
        "capacity.csv".into(),
        render::capacity_csv(&spec, &a, &runs)?,
    ));
    files.push(("capacity_summary.csv".into(), render::summary_csv(&a)?));
    files.push(("timeline.csv".into(), tl));
    files.push(("cdf.csv".into(), cdf));
    files.push((
        "capacity.md".into(),
        render::markdown(&spec, &a, &plots).into_bytes(),
    ));
    files.push(("capacity.html".into(), html_page(&spec, &a, &plots)));
    for (name, _, svg) in plots {
        files.push((name, svg));
    }
    Ok(files)
}

/// The recommendation sentences of a complete sweep (for the terminal).
pub fn recommendation(spec: &SweepSpec, runs: &[RunData]) -> Vec<String> {
    render::recommendation(spec, &analyze(spec, runs))
}

fn html_page(spec: &SweepSpec, a: &Analysis, plots: &[(String, String, Vec<u8>)]) -> Vec<u8> {
    let mut page = html::Page::new(&format!(
        "Orrery capacity: {}",
        spec.provenance.scenario_name
    ));
    page.recommendation(&render::recommendation(spec, a));
    page.para(
        &format!(
            "SLOs: {}. A configuration meets them when enough seeds meet every one (confidence {}); \
             each seed re-samples arrivals and jitters durations.",
            render::slo_phrase(spec),
            crate::plot::trim_decimals(spec.confidence)
        ),
        Some("note"),
    );
    for (file, heading, svg) in plots {
        page.heading(heading);
        page.plot(file, heading, svg);
    }
    page.heading("What-if grid");
    let (h, rows) = render::whatif_rows(spec, a);
    let rows: Vec<(bool, Vec<String>)> = a.points.iter().map(|p| p.recommended).zip(rows).collect();
    page.table(&h, &rows);
    page.heading("Inputs and provenance");
    page.definitions(&render::provenance(spec));
    page.finish()
}
