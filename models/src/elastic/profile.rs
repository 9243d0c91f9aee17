//! An application profile as the Pollux artefact publishes it (`app-profiles/<app>/`):
//! measured step times per placement and per scale, and the training curve per batch size.
//!
//! * `placements.csv` — `placement` (GPUs per node as digits, e.g. `124`), `local_bsz`,
//!   `step_time`, `sync_time` (seconds);
//! * `scalability.csv` — `num_nodes`, `num_replicas`, `local_bsz`, `step_time`,
//!   `sync_time` (placements over more nodes than `placements.csv` measures);
//! * `validation-<batch size>.csv` — one row per epoch: `progress` (statistical progress at
//!   the epoch's end), `iteration`, `metric`, `grad_sqr`, `grad_var`.
//!
//! Every error names the file, the line and the field.

use std::collections::BTreeMap;
use std::path::Path;

use crate::fgd::csv::Table;

use super::ProfileError;

/// One `placements.csv` row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlacementRow {
    /// GPUs per node as the file writes them (digits, e.g. `1124`).
    pub placement: String,
    pub num_nodes: u32,
    pub num_replicas: u32,
    pub local_bsz: u32,
    pub step_time: f64,
    pub sync_time: f64,
}

/// One `scalability.csv` row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScaleRow {
    pub num_nodes: u32,
    pub num_replicas: u32,
    pub local_bsz: u32,
    pub step_time: f64,
    pub sync_time: f64,
}

/// One epoch of a `validation-<batch size>.csv` file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRow {
    /// Statistical progress at the end of the epoch (examples, scaled by efficiency).
    pub progress: f64,
    pub iteration: u64,
    pub metric: f64,
    pub grad_sqr: f64,
    pub grad_var: f64,
}

/// The measurements of one application.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AppProfile {
    /// The directory's name (`cifar10`, …).
    pub name: String,
    pub placements: Vec<PlacementRow>,
    pub scalability: Vec<ScaleRow>,
    /// Per total batch size, its epochs in order.
    pub validation: BTreeMap<u32, Vec<EpochRow>>,
}

/// A profile file's text. Only a regular file (after links) is opened: a FIFO or device
/// named as a profile file is refused instead of read without end.
fn read(path: &Path) -> Result<String, ProfileError> {
    let err = |msg: String| ProfileError::Io {
        file: path.display().to_string(),
        msg,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    std::fs::read_to_string(path).map_err(|e| err(e.to_string()))
}

fn count(row: &crate::fgd::csv::Row<'_, '_>, col: usize) -> Result<u32, ProfileError> {
    let v = row.i64(col)?;
    u32::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| {
        row.err(col, format!("`{v}` is not a positive count"))
            .into()
    })
}

fn number(row: &crate::fgd::csv::Row<'_, '_>, col: usize) -> Result<f64, ProfileError> {
    let v = row.f64(col)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(row.err(col, "expected a finite number").into())
    }
}

fn time(row: &crate::fgd::csv::Row<'_, '_>, col: usize) -> Result<f64, ProfileError> {
    let v = number(row, col)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(row.err(col, format!("`{v}` is a negative time")).into())
    }
}

impl AppProfile {
    /// Read the profile in `dir` (named after the directory).
    pub fn load(dir: &Path) -> Result<AppProfile, ProfileError> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let placements = Self::parse_placements(
            &dir.join("placements.csv").display().to_string(),
            &read(&dir.join("placements.csv"))?,
        )?;
        let scalability = Self::parse_scalability(
            &dir.join("scalability.csv").display().to_string(),
            &read(&dir.join("scalability.csv"))?,
        )?;
        let mut validation = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| ProfileError::Io {
            file: dir.display().to_string(),
            msg: e.to_string(),
        })?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("validation-") && n.ends_with(".csv"))
            })
            .collect();
        files.sort();
        for path in files {
            let file = path.display().to_string();
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let bsz = stem
                .strip_prefix("validation-")
                .and_then(|b| b.parse::<u32>().ok())
                .filter(|&b| b > 0)
                .ok_or_else(|| ProfileError::Invalid {
                    file: file.clone(),
                    msg: "expected `validation-<batch size>.csv` with a positive batch size".into(),
                })?;
            validation.insert(bsz, Self::parse_validation(&file, &read(&path)?)?);
        }
        Self::new(
            name,
            placements,
            scalability,
            validation,
            &dir.display().to_string(),
        )
    }

    /// A profile from its parts (`what` names it in errors): at least one placement row and
    /// one validation file with at least one epoch.
    pub fn new(
        name: String,
        placements: Vec<PlacementRow>,
        scalability: Vec<ScaleRow>,
        validation: BTreeMap<u32, Vec<EpochRow>>,
        what: &str,
    ) -> Result<AppProfile, ProfileError> {
        if placements.is_empty() {
            return Err(ProfileError::Invalid {
                file: what.into(),
                msg: "no placement measurements (placements.csv has no rows)".into(),
            });
        }
        if validation.values().all(|v| v.is_empty()) {
            return Err(ProfileError::Invalid {
                file: what.into(),
                msg: "no training curve (no validation-<batch size>.csv with rows)".into(),
            });
        }
        Ok(AppProfile {
            name,
            placements,
            scalability,
            validation,
        })
    }

    /// `placements.csv`'s rows.
    pub fn parse_placements(file: &str, text: &str) -> Result<Vec<PlacementRow>, ProfileError> {
        let t = Table::parse(file, text)?;
        let (p, b, s, y) = (
            t.col("placement")?,
            t.col("local_bsz")?,
            t.col("step_time")?,
            t.col("sync_time")?,
        );
        t.rows()
            .map(|r| {
                let placement = r.str(p);
                if placement.is_empty()
                    || !placement.bytes().all(|c| c.is_ascii_digit() && c != b'0')
                {
                    return Err(r
                        .err(
                            p,
                            format!("`{placement}` is not GPUs per node as digits 1-9"),
                        )
                        .into());
                }
                Ok(PlacementRow {
                    num_nodes: placement.len() as u32,
                    num_replicas: placement.bytes().map(|c| u32::from(c - b'0')).sum(),
                    placement: placement.to_string(),
                    local_bsz: count(&r, b)?,
                    step_time: time(&r, s)?,
                    sync_time: time(&r, y)?,
                })
            })
            .collect()
    }

    /// `scalability.csv`'s rows.
    pub fn parse_scalability(file: &str, text: &str) -> Result<Vec<ScaleRow>, ProfileError> {
        let t = Table::parse(file, text)?;
        let (n, r, b, s, y) = (
            t.col("num_nodes")?,
            t.col("num_replicas")?,
            t.col("local_bsz")?,
            t.col("step_time")?,
            t.col("sync_time")?,
        );
        t.rows()
            .map(|row| {
                Ok(ScaleRow {
                    num_nodes: count(&row, n)?,
                    num_replicas: count(&row, r)?,
                    local_bsz: count(&row, b)?,
                    step_time: time(&row, s)?,
                    sync_time: time(&row, y)?,
                })
            })
            .collect()
    }

    /// A `validation-<batch size>.csv` file's epochs.
    pub fn parse_validation(file: &str, text: &str) -> Result<Vec<EpochRow>, ProfileError> {
        let t = Table::parse(file, text)?;
        let (p, i, m, s, v) = (
            t.col("progress")?,
            t.col("iteration")?,
            t.col("metric")?,
            t.col("grad_sqr")?,
            t.col("grad_var")?,
        );
        let mut last = 0.0f64;
        t.rows()
            .map(|row| {
                let progress = number(&row, p)?;
                if progress < last {
                    return Err(row
                        .err(
                            p,
                            format!("progress {progress} is below the previous epoch's {last}"),
                        )
                        .into());
                }
                last = progress;
                let iteration = row.i64(i)?;
                Ok(EpochRow {
                    progress,
                    iteration: u64::try_from(iteration)
                        .map_err(|_| row.err(i, "expected a non-negative iteration"))?,
                    metric: row.f64(m)?,
                    grad_sqr: number(&row, s)?,
                    grad_var: number(&row, v)?,
                })
            })
            .collect()
    }
}
