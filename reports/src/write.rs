//! Writers: per-job CSV, JSON summary, terminal summary, and an all-or-nothing output
//! directory (files are written under temporary names and renamed only when all are done).

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use models::RunResult;
use sim_core::{NANOS_PER_SEC, SimDuration, SimTime};

use crate::summary::Summary;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode {what}: {msg}")]
    Encode { what: &'static str, msg: String },
}

/// Seconds with full nanosecond precision and no float rounding: "12", "0.25".
pub fn secs(ns: u64) -> String {
    let (s, frac) = (ns / NANOS_PER_SEC, ns % NANOS_PER_SEC);
    if frac == 0 {
        s.to_string()
    } else {
        let f = format!("{frac:09}");
        format!("{s}.{}", f.trim_end_matches('0'))
    }
}

fn gpus(milli: u64) -> String {
    secs(milli * 1_000_000) // same decimal rendering: 1500 milli -> "1.5"
}

fn opt_time(t: Option<SimTime>) -> String {
    t.map(|t| secs(t.as_nanos())).unwrap_or_default()
}

/// `jobs.csv`: one row per job, in workload order.
pub fn jobs_csv(r: &RunResult) -> Result<Vec<u8>, ReportError> {
    let enc = |e: csv::Error| ReportError::Encode {
        what: "jobs.csv",
        msg: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id", "submit_s", "start_s", "end_s", "wait_s", "jct_s", "gpus", "pods", "nodes", "outcome",
    ])
    .map_err(enc)?;
    for j in &r.jobs {
        let wait = j.start.map(|s| secs(s.since(j.submit).as_nanos()));
        let jct = j.end.map(|e| secs(e.since(j.submit).as_nanos()));
        w.write_record([
            j.id.as_str(),
            &secs(j.submit.as_nanos()),
            &opt_time(j.start),
            &opt_time(j.end),
            wait.as_deref().unwrap_or(""),
            jct.as_deref().unwrap_or(""),
            &gpus(j.gpu_milli),
            &j.pods.to_string(),
            &j.nodes.to_string(),
            j.outcome.name(),
        ])
        .map_err(enc)?;
    }
    w.into_inner().map_err(|e| ReportError::Encode {
        what: "jobs.csv",
        msg: e.to_string(),
    })
}

/// `summary.json`, pretty-printed, with a final newline.
pub fn summary_json(s: &Summary) -> Result<Vec<u8>, ReportError> {
    let mut v = serde_json::to_vec_pretty(s).map_err(|e| ReportError::Encode {
        what: "summary.json",
        msg: e.to_string(),
    })?;
    v.push(b'\n');
    Ok(v)
}

fn dur(seconds: f64) -> String {
    match SimDuration::from_secs_f64(seconds.round()) {
        Some(d) => d.to_string(),
        None => "-".into(),
    }
}

/// One wait or JCT line: `avg 3h  p50 …  (n=80, 5 censored: never started)`, or
/// `no job started: all 2 never started (so far …)` when every sample is censored.
fn distribution_line(d: &crate::summary::Distribution, verb: &str, not: &str) -> String {
    if d.count == 0 {
        return "no job submitted".to_string();
    }
    let stats = format!(
        "avg {}  p50 {}  p95 {}  p99 {}",
        dur(d.avg),
        dur(d.p50),
        dur(d.p95),
        dur(d.p99)
    );
    if d.censored == d.count {
        format!(
            "no job {verb}: all {} {not} (so far {stats}, censored at the end)",
            d.count
        )
    } else if d.censored > 0 {
        format!(
            "{stats}  (n={}, {} censored: {not}, counted up to the end)",
            d.count, d.censored
        )
    } else {
        format!("{stats}  (n={})", d.count)
    }
}

/// `; 6 GPUs held for ever by stuck gangs …` when a run drained with GPUs held.
fn held_stuck_note(s: &Summary) -> String {
    if s.gpus_held_stuck <= 0.0 {
        return String::new();
    }
    if s.observed_until_s > s.end_time_s {
        format!(
            " (including {} GPUs held by stuck gangs from the end of the run at {} to the horizon)",
            s.gpus_held_stuck,
            dur(s.end_time_s)
        )
    } else {
        format!(
            "; {} GPUs held for ever by stuck gangs from {}: unbounded GPU-hours held idle (give --horizon to count them)",
            s.gpus_held_stuck,
            dur(s.end_time_s)
        )
    }
}

/// A short human summary for the terminal.
pub fn human(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Orrery run: {} · policy {} · seed {}",
        s.scenario, s.policy, s.seed
    );
    let _ = writeln!(o, "  cluster    {} nodes, {} GPUs", s.nodes, s.total_gpus);
    let unfinished: Vec<String> = s
        .outcomes
        .iter()
        .filter(|(k, v)| **k != "completed" && **v > 0)
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    let _ = writeln!(
        o,
        "  jobs       {} total: {} completed, {} unfinished{}",
        s.jobs_total,
        s.jobs_completed,
        s.jobs_unfinished,
        if unfinished.is_empty() {
            String::new()
        } else {
            format!(" ({})", unfinished.join(", "))
        }
    );
    for (name, d, verb, not) in [
        ("wait", &s.wait_s, "started", "never started"),
        ("JCT", &s.jct_s, "completed", "unfinished"),
    ] {
        let _ = writeln!(o, "  {name:<10} {}", distribution_line(d, verb, not));
    }
    if s.jobs_completed == 0 {
        let _ = writeln!(o, "  makespan   none (no job completed)");
    } else {
        let _ = writeln!(o, "  makespan   {}", dur(s.makespan_s));
    }
    let _ = writeln!(
        o,
        "  GPUs       allocation {:.1} %, busy {:.1} % (time-weighted); {:.1} GPU-h held idle by waiting gang members{}",
        s.gpu_allocation_ratio * 100.0,
        s.gpu_busy_ratio * 100.0,
        s.gpu_hours_held_idle,
        held_stuck_note(s)
    );
    let _ = writeln!(
        o,
        "  trace      {:.1} GPU-hours requested; {} events, stop: {}",
        s.trace_gpu_hours, s.events, s.stop
    );
    if let Some(g) = &s.guard {
        let _ = writeln!(
            o,
            "  STOPPED    by the no-progress guard at {g} (see summary.json guard and unfinished)"
        );
    }
    for u in s.unfinished.iter().take(5) {
        let _ = writeln!(o, "  unfinished {} ({}): {}", u.job, u.outcome, u.reason);
    }
    if s.unfinished.len() > 5 {
        let _ = writeln!(
            o,
            "  unfinished … and {} more (see summary.json unfinished)",
            s.unfinished.len() - 5
        );
    }
    if s.deadlocked_jobs > 0 {
        let first = s
            .detections
            .iter()
            .find(|d| d.kind == "deadlock")
            .map_or(0.0, |d| d.time_s);
        let _ = writeln!(
            o,
            "  WARNING    {} jobs deadlocked (first at {}): they hold resources that no future completion, timeout or preemption can release (see summary.json detections)",
            s.deadlocked_jobs,
            dur(first)
        );
    }
    if s.starved_jobs > 0 {
        let _ = writeln!(
            o,
            "  WARNING    {} jobs starved or livelocked (see summary.json detections)",
            s.starved_jobs
        );
    }
    o
}

/// Write `files` into `dir` all-or-nothing: each is written to a temporary name first and
/// renamed only after every file was written successfully.
pub fn write_all(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<Vec<PathBuf>, ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tmps = Vec::new();
    for (name, bytes) in files {
        let tmp = dir.join(format!(".{name}.tmp"));
        let res = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
        if let Err(e) = res {
            for t in &tmps {
                let _ = std::fs::remove_file(t);
            }
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        tmps.push(tmp);
    }
    let mut out = Vec::new();
    for ((name, _), tmp) in files.iter().zip(&tmps) {
        let dst = dir.join(name);
        std::fs::rename(tmp, &dst).map_err(io(&dst))?;
        out.push(dst);
    }
    Ok(out)
}

/// `network_jobs.csv` (network model runs): per job, steps run, compute time, the
/// communication/I-O time not hidden behind compute, and the dataset staging time before
/// step one.
pub fn network_jobs_csv(r: &RunResult) -> Result<Vec<u8>, ReportError> {
    let enc = |e: csv::Error| ReportError::Encode {
        what: "network_jobs.csv",
        msg: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "steps",
        "compute_s",
        "exposed_comm_io_s",
        "comm_io_share",
        "staging_s",
    ])
    .map_err(enc)?;
    for j in &r.network_jobs {
        let total = j.compute_ns + j.exposed_ns;
        let share = if total > 0 {
            j.exposed_ns as f64 / total as f64
        } else {
            0.0
        };
        w.write_record([
            j.id.as_str(),
            &format!("{:.3}", j.steps),
            &secs(u64::try_from(j.compute_ns).unwrap_or(u64::MAX)),
            &secs(u64::try_from(j.exposed_ns).unwrap_or(u64::MAX)),
            &format!("{share:.6}"),
            &secs(u64::try_from(j.staging_ns).unwrap_or(u64::MAX)),
        ])
        .map_err(enc)?;
    }
    w.into_inner().map_err(|e| ReportError::Encode {
        what: "network_jobs.csv",
        msg: e.to_string(),
    })
}

/// `network_series.csv` (network model runs): load on each sampled kind of link, a row
/// whenever a change of the running traffic moves that kind's mean or maximum.
pub fn network_series_csv(r: &RunResult) -> Result<Vec<u8>, ReportError> {
    let enc = |e: csv::Error| ReportError::Encode {
        what: "network_series.csv",
        msg: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "time_s",
        "link_kind",
        "links",
        "mean_utilisation",
        "max_utilisation",
    ])
    .map_err(enc)?;
    for s in &r.network_series {
        w.write_record([
            secs(s.time.as_nanos()).as_str(),
            s.kind.as_str(),
            &s.links.to_string(),
            &format!("{:.6}", s.mean_utilisation),
            &format!("{:.6}", s.max_utilisation),
        ])
        .map_err(enc)?;
    }
    w.into_inner().map_err(|e| ReportError::Encode {
        what: "network_series.csv",
        msg: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_render_exactly() {
        assert_eq!(secs(0), "0");
        assert_eq!(secs(12 * NANOS_PER_SEC), "12");
        assert_eq!(secs(250_000_000), "0.25");
        assert_eq!(secs(1), "0.000000001");
        assert_eq!(gpus(1500), "1.5");
        assert_eq!(gpus(460), "0.46");
        assert_eq!(gpus(8000), "8");
    }

    #[test]
    fn write_all_leaves_nothing_half_written() {
        let dir = std::env::temp_dir().join(format!("orrery-write-all-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = vec![("a.txt", b"a".to_vec()), ("b.txt", b"b".to_vec())];
        let out = write_all(&dir, &files).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"b");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
