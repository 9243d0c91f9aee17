//! The artefact's published per-seed results (`analysis_allo_discrete.csv`,
//! `analysis_frag_discrete.csv`) and a comparison helper.

use std::collections::BTreeMap;

use super::analysis::COLUMNS;
use super::csv::Table;
use super::error::FgdError;

/// One row: a (workload, policy, seed) run's columns 0…130.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedRow {
    /// e.g. `openb_pod_list_default`.
    pub workload: String,
    /// e.g. `06-FGD`.
    pub policy: String,
    pub seed: i64,
    pub values: Vec<f64>,
}

/// All rows of one file, keyed by (workload, policy, seed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expected {
    pub rows: BTreeMap<(String, String, i64), ExpectedRow>,
}

impl Expected {
    /// Parse an expected-results CSV (`file` names it in errors).
    pub fn parse(file: &str, text: &str) -> Result<Expected, FgdError> {
        let t = Table::parse(file, text)?;
        let (c_w, c_p, c_s) = (t.col("workload")?, t.col("sc_policy")?, t.col("seed")?);
        let cols: Vec<usize> = (0..COLUMNS)
            .map(|x| t.col(&x.to_string()))
            .collect::<Result<_, _>>()?;
        let mut rows = BTreeMap::new();
        for r in t.rows() {
            let workload = r.str(c_w).to_string();
            let policy = r.str(c_p).to_string();
            let seed = r.i64(c_s)?;
            let values = cols
                .iter()
                .map(|&c| r.f64(c))
                .collect::<Result<Vec<_>, _>>()?;
            rows.insert(
                (workload.clone(), policy.clone(), seed),
                ExpectedRow {
                    workload,
                    policy,
                    seed,
                    values,
                },
            );
        }
        Ok(Expected { rows })
    }

    /// Read and parse a file.
    pub fn load(path: &std::path::Path) -> Result<Expected, FgdError> {
        Expected::parse(&path.display().to_string(), &super::error::read_file(path)?)
    }

    pub fn get(&self, workload: &str, policy: &str, seed: i64) -> Option<&ExpectedRow> {
        self.rows
            .get(&(workload.to_string(), policy.to_string(), seed))
    }

    /// Mean over the rows of one (workload, policy) across all its seeds, per column.
    pub fn seed_mean(&self, workload: &str, policy: &str) -> Option<Vec<f64>> {
        let rows: Vec<&ExpectedRow> = self
            .rows
            .values()
            .filter(|r| r.workload == workload && r.policy == policy)
            .collect();
        if rows.is_empty() {
            return None;
        }
        Some(
            (0..COLUMNS)
                .map(|c| rows.iter().map(|r| r.values[c]).sum::<f64>() / rows.len() as f64)
                .collect(),
        )
    }
}

/// Absolute difference per column (NaN if either side is NaN).
pub fn abs_diff(ours: &[f64], theirs: &[f64]) -> Vec<f64> {
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .collect()
}

/// Largest absolute difference over all columns, with its column (NaN counts as infinite).
pub fn max_abs_diff(ours: &[f64], theirs: &[f64]) -> (f64, usize) {
    let mut best = (0.0, 0);
    for (i, d) in abs_diff(ours, theirs).into_iter().enumerate() {
        let d = if d.is_nan() { f64::INFINITY } else { d };
        if d > best.0 {
            best = (d, i);
        }
    }
    if ours.len() != theirs.len() {
        best = (f64::INFINITY, ours.len().min(theirs.len()));
    }
    best
}
