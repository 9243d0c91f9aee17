//! `pods.csv` and `events.csv` (the pod log of `orrery run`), and `orrery explain`, which
//! reads them back and tells one job's story. Formats: docs/output-formats.md.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use models::sim::podlog::PodLogView;
use sim_core::SimTime;

use crate::write::secs;

fn opt_time(t: Option<SimTime>) -> String {
    t.map(|t| secs(t.as_nanos())).unwrap_or_default()
}

/// `pods.csv`: one row per interval of each pod's life, by job, pod and time, written to
/// `out` as it is made (a million-job run's log is never held as text).
pub fn write_pods_csv(log: PodLogView<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "pod", "job", "from_s", "to_s", "state", "node", "gpus", "reason",
    ])?;
    let (mut pod, mut gpus) = (String::new(), String::new());
    for p in log.pods() {
        pod.clear();
        let _ = write!(pod, "{}-{}", p.job, p.pod);
        gpus.clear();
        for (k, g) in p.gpus.iter().enumerate() {
            if k > 0 {
                gpus.push(';');
            }
            let _ = write!(gpus, "{g}");
        }
        w.write_record([
            pod.as_str(),
            p.job,
            &secs(p.from.as_nanos()),
            &opt_time(p.to),
            p.state.name(),
            p.node.unwrap_or(""),
            &gpus,
            p.reason,
        ])?;
    }
    w.flush()
}

/// `events.csv`: Kubernetes-style events in the order they happened, written to `out` as
/// they are made.
pub fn write_events_csv(log: PodLogView<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["time_s", "type", "reason", "object", "job", "message"])?;
    let (mut object, mut message) = (String::new(), String::new());
    for e in log.events() {
        object.clear();
        let _ = write!(object, "{}", e.object);
        message.clear();
        let _ = write!(message, "{}", e.message);
        w.write_record([
            secs(e.at.as_nanos()).as_str(),
            if e.warning { "Warning" } else { "Normal" },
            e.reason,
            &object,
            e.job,
            &message,
        ])?;
    }
    w.flush()
}

/// What `orrery explain` could not do.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(
        "cannot read {path}: {source} (run `orrery run --out DIR` first; it writes pods.csv and events.csv)"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    Malformed { path: PathBuf, msg: String },
    #[error("no job {job:?} in {path} (it lists {count} jobs{sample})")]
    UnknownJob {
        job: String,
        path: PathBuf,
        count: usize,
        sample: String,
    },
}

fn read_csv(path: &Path, cols: &[&str]) -> Result<Vec<Vec<String>>, ExplainError> {
    let bytes = std::fs::read(path).map_err(|source| ExplainError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |msg: String| ExplainError::Malformed {
        path: path.to_path_buf(),
        msg,
    };
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let header = r.headers().map_err(|e| bad(e.to_string()))?.clone();
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| {
            header.iter().position(|h| h == *c).ok_or_else(|| {
                bad(format!(
                    "missing column {c:?} (expected {})",
                    cols.join(",")
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(format!("row {}: {e}", n + 2)))?;
        rows.push(
            idx.iter()
                .map(|&i| rec.get(i).unwrap_or("").to_string())
                .collect(),
        );
    }
    Ok(rows)
}

/// One job's story from an `orrery run` output directory: its line of `jobs.csv`, every
/// event about it (its pods, its Kueue Workload, the job) in order, and each pod's
/// intervals from `pods.csv`.
pub fn explain(dir: &Path, job: &str) -> Result<String, ExplainError> {
    let jobs_path = dir.join("jobs.csv");
    let jobs = read_csv(
        &jobs_path,
        &[
            "id", "submit_s", "start_s", "end_s", "gpus", "pods", "outcome",
        ],
    )?;
    let Some(row) = jobs.iter().find(|r| r[0] == job) else {
        let sample: Vec<&str> = jobs.iter().take(5).map(|r| r[0].as_str()).collect();
        return Err(ExplainError::UnknownJob {
            job: job.to_string(),
            path: jobs_path,
            count: jobs.len(),
            sample: if sample.is_empty() {
                String::new()
            } else {
                format!(", e.g. {}", sample.join(", "))
            },
        });
    };
    let events = read_csv(
        &dir.join("events.csv"),
        &["time_s", "type", "reason", "object", "job", "message"],
    )?;
    let pods = read_csv(
        &dir.join("pods.csv"),
        &[
            "pod", "job", "from_s", "to_s", "state", "node", "gpus", "reason",
        ],
    )?;
    let mut out = String::new();
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            format!("{s}s")
        }
    };
    let _ = writeln!(
        out,
        "job {job}: {} pods, {} GPUs; submitted {}s, started {}, ended {}; outcome {}",
        row[5],
        row[4],
        row[1],
        or(&row[2], "never"),
        or(&row[3], "never"),
        row[6]
    );
    let summary_path = dir.join("summary.json");
    if let Ok(bytes) = std::fs::read(&summary_path)
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && let Some(u) = v["unfinished"]
            .as_array()
            .and_then(|a| a.iter().find(|u| u["job"] == job))
        && let Some(r) = u["reason"].as_str()
    {
        let _ = writeln!(out, "unfinished: {r}");
    }
    let _ = writeln!(out, "\nevents:");
    let mut any = false;
    for e in events.iter().filter(|e| e[4] == job) {
        any = true;
        let _ = writeln!(
            out,
            "  {:>10}s  {:<7}  {:<18} {:<24} {}",
            e[0], e[1], e[2], e[3], e[5]
        );
    }
    if !any {
        let _ = writeln!(out, "  (none)");
    }
    let _ = writeln!(out, "\npods:");
    for p in pods.iter().filter(|p| p[1] == job) {
        let span = if p[3].is_empty() {
            format!("{}s – end of run", p[2])
        } else {
            format!("{}s – {}s", p[2], p[3])
        };
        let place = if p[5].is_empty() {
            String::new()
        } else if p[6].is_empty() {
            format!(" on {}", p[5])
        } else {
            format!(" on {} GPUs {}", p[5], p[6])
        };
        let why = if p[7].is_empty() {
            String::new()
        } else {
            format!(": {}", p[7])
        };
        let _ = writeln!(out, "  {:<24} {span:<24} {}{place}{why}", p[0], p[4]);
    }
    Ok(out)
}
