//! Writers: per-job CSV, JSON summary, terminal summary, and the output directory: every
//! file is written into a staging directory first and moved into place only when all were
//! written; the files of the previous command that wrote there are replaced, never left
//! beside the new ones; symbolic links are never followed (see [`write_all`]).

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
    /// The output directory cannot be written safely (a symbolic link, not a directory, or
    /// a directory Orrery did not write holding a file this command would replace).
    #[error("{path}: {reason}")]
    OutDir { path: PathBuf, reason: String },
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

/// GPU thousandths × ns as GPU-hours, 6 decimals.
fn gpu_hours(milli_ns: u128) -> String {
    format!("{:.6}", milli_ns as f64 / (1000.0 * 3600.0 * 1e9))
}

fn opt_time(t: Option<SimTime>) -> String {
    t.map(|t| secs(t.as_nanos())).unwrap_or_default()
}

/// `jobs.csv`: one row per job, in workload order.
pub fn jobs_csv(r: &RunResult) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    write_jobs_csv(r, &mut out).map_err(|e| ReportError::Encode {
        what: "jobs.csv",
        msg: e.to_string(),
    })?;
    Ok(out)
}

/// [`jobs_csv`] written to `out` as it is made (a million-job run's is tens of MB, so
/// `orrery run` streams it into its file rather than holding it whole).
pub fn write_jobs_csv(r: &RunResult, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![
        "id", "submit_s", "start_s", "end_s", "wait_s", "jct_s", "gpus", "pods", "nodes", "outcome",
    ];
    // Runs with faults only: restarts, run time lost, GPU-hours lost, restore time.
    if r.faults.is_some() {
        header.extend(["restarts", "lost_work_s", "lost_gpu_hours", "restore_s"]);
    }
    w.write_record(&header)?;
    for (i, j) in r.jobs.iter().enumerate() {
        let wait = j.start.map(|s| secs(s.since(j.submit).as_nanos()));
        let jct = j.end.map(|e| secs(e.since(j.submit).as_nanos()));
        let mut row = vec![
            j.id.clone(),
            secs(j.submit.as_nanos()),
            opt_time(j.start),
            opt_time(j.end),
            wait.unwrap_or_default(),
            jct.unwrap_or_default(),
            gpus(j.gpu_milli),
            j.pods.to_string(),
            j.nodes.to_string(),
            j.outcome.name().to_string(),
        ];
        if let Some(f) = r.faults.as_ref().and_then(|f| f.jobs.get(i)) {
            row.extend([
                f.restarts.to_string(),
                secs(f.lost_ns),
                gpu_hours(f.lost_gpu_milli_ns),
                secs(f.restore_ns),
            ]);
        }
        w.write_record(&row)?;
    }
    w.flush()
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

/// The unfinished jobs per outcome, for people: `["2 stuck", "1 pending"]`.
pub fn unfinished_by_outcome(s: &Summary) -> Vec<String> {
    s.outcomes
        .iter()
        .filter(|(k, v)| **k != "completed" && **v > 0)
        .map(|(k, v)| format!("{v} {k}"))
        .collect()
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
    let unfinished = unfinished_by_outcome(s);
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
    if let Some(f) = &s.faults {
        let _ = writeln!(
            o,
            "  faults     {} node failures, {} drains; {} job restarts, {:.2} GPU-hours of work lost, {} nodes down at the end",
            f.node_failures, f.drains, f.restarts, f.lost_gpu_hours, f.nodes_down_at_end
        );
        if f.gpu_failures > 0 || f.link_failures > 0 {
            let _ = writeln!(
                o,
                "             {} GPU failures, {} link failures",
                f.gpu_failures, f.link_failures
            );
        }
    }
    if let Some(a) = &s.autoscaler {
        let _ = writeln!(
            o,
            "  autoscaler {} scale-ups adding {} nodes, {} nodes removed, peak {} Ready; {:.1} GPU-h provisioned ({:.1} % allocated)",
            a.scale_ups,
            a.nodes_added,
            a.nodes_removed,
            a.peak_ready_nodes,
            a.gpu_hours_provisioned,
            a.allocation_of_provisioned * 100.0
        );
    }
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

/// The marker file naming the entries the last Orrery command wrote into an output directory.
pub const OUT_MARKER: &str = ".orrery-out";
/// The staging directory inside the output directory, removed after every write.
const STAGING: &str = ".orrery-tmp";

/// Write `files` (names relative to `dir`, `/` for subdirectories) as the whole output of a
/// command: every file is written into a fresh staging directory `dir/.orrery-tmp` first
/// (nothing in `dir` changes if any write fails); then the entries the previous command
/// wrote there (listed in `dir/.orrery-out`) are removed and the new ones renamed into
/// place, so no stale file of an earlier run stays beside the new ones. Other entries (e.g.
/// the `verify/` subdirectory of `out/`) are left alone. Symbolic links are never followed:
/// `dir` itself may not be one, and a link in the way of a new file is replaced, not
/// written through. A non-empty `dir` without the marker (not written by Orrery) is refused
/// if it holds an entry this command would replace.
pub fn write_all(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<Vec<PathBuf>, ReportError> {
    commit(dir, borrowed(files), true)
}

/// Like [`write_all`], but adds `files` to the output already in `dir` (e.g. `orrery report`
/// writing `compare.html` beside the `compare.csv` it was made from): nothing else is removed.
pub fn add_files(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<Vec<PathBuf>, ReportError> {
    commit(dir, borrowed(files), false)
}

/// A writer of one file's content, called once, straight into the staged file.
pub type Stream<'a> = Box<dyn FnOnce(&mut dyn Write) -> std::io::Result<()> + 'a>;

/// One output file's content.
pub enum Content<'a> {
    Bytes(&'a [u8]),
    /// Written as it is made (a large file, such as a million-job run's pod log, is never
    /// held in memory whole).
    Stream(Stream<'a>),
}

/// [`write_all`] with contents that may be written as they are made.
pub fn write_all_streamed(
    dir: &Path,
    files: Vec<(&str, Content<'_>)>,
) -> Result<Vec<PathBuf>, ReportError> {
    commit(dir, files, true)
}

fn borrowed<'a>(files: &'a [(&'a str, Vec<u8>)]) -> Vec<(&'a str, Content<'a>)> {
    files
        .iter()
        .map(|(n, b)| (*n, Content::Bytes(b.as_slice())))
        .collect()
}

fn out_err(path: &Path, reason: impl Into<String>) -> ReportError {
    ReportError::OutDir {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The top-level entry of a relative file name, if the name is safe (plain components only,
/// not Orrery's own marker or staging names).
fn top_entry(name: &str) -> Option<String> {
    use std::path::Component;
    let p = Path::new(name);
    let mut comps = p.components();
    let first = match comps.next()? {
        Component::Normal(c) => c.to_str()?.to_string(),
        _ => return None,
    };
    if first.starts_with(".orrery") || !comps.all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(first)
}

/// Checks `dir` and returns the entries its marker lists (`None` if it is a non-empty
/// directory without a marker); creates it if absent.
fn open_out_dir(dir: &Path) -> Result<Option<std::collections::BTreeSet<String>>, ReportError> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            return Ok(Some(Default::default()));
        }
        Err(e) => return Err(io_err(dir)(e)),
        Ok(m) if m.file_type().is_symlink() => {
            return Err(out_err(
                dir,
                "is a symbolic link; Orrery does not write through links (name the directory itself)",
            ));
        }
        Ok(m) if !m.is_dir() => return Err(out_err(dir, "exists and is not a directory")),
        Ok(_) => {}
    }
    let marker = dir.join(OUT_MARKER);
    match std::fs::symlink_metadata(&marker) {
        Ok(m) if m.is_file() => {
            let text = std::fs::read_to_string(&marker).map_err(io_err(&marker))?;
            Ok(Some(
                text.lines()
                    .filter(|l| !l.starts_with('#'))
                    .filter_map(|l| top_entry(l).filter(|t| t == l))
                    .collect(),
            ))
        }
        Ok(_) => Err(out_err(&marker, "is not a regular file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
            Ok(entries.next().is_none().then(Default::default))
        }
        Err(e) => Err(io_err(&marker)(e)),
    }
}

/// Removes a file, link or directory (a link is removed, never followed).
fn remove_entry(path: &Path) -> Result<(), ReportError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(io_err(path)),
        Ok(_) => std::fs::remove_file(path).map_err(io_err(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_new_with(path, Box::new(|w: &mut dyn Write| w.write_all(bytes)))
}

fn write_new_with(path: &Path, content: Stream<'_>) -> Result<(), ReportError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|f| {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
            content(&mut w)?;
            w.into_inner()
                .map_err(std::io::IntoInnerError::into_error)?
                .sync_all()
        })
        .map_err(io_err(path))
}

/// Writes the marker listing `entries` (through the staging directory, then a rename).
fn write_marker(
    dir: &Path,
    staging: &Path,
    entries: &std::collections::BTreeSet<String>,
) -> Result<(), ReportError> {
    let mut text =
        String::from("# written by Orrery: the entries of the last command that wrote here\n");
    for e in entries {
        text.push_str(e);
        text.push('\n');
    }
    let tmp = staging.join(OUT_MARKER);
    remove_entry(&tmp)?;
    write_new(&tmp, text.as_bytes())?;
    let dst = dir.join(OUT_MARKER);
    std::fs::rename(&tmp, &dst).map_err(io_err(&dst))
}

fn commit(
    dir: &Path,
    files: Vec<(&str, Content<'_>)>,
    replace: bool,
) -> Result<Vec<PathBuf>, ReportError> {
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let mut tops = std::collections::BTreeSet::new();
    for name in &names {
        let top = top_entry(name)
            .ok_or_else(|| out_err(&dir.join(name), "not a valid output file name"))?;
        tops.insert(top);
    }
    let old = open_out_dir(dir)?;
    let old = match old {
        Some(old) => old,
        None => {
            for t in &tops {
                if std::fs::symlink_metadata(dir.join(t)).is_ok() {
                    return Err(out_err(
                        dir,
                        format!(
                            "exists, was not written by this Orrery (no {OUT_MARKER} file) and holds {t}, \
                             which this command would replace; remove it or choose another --out"
                        ),
                    ));
                }
            }
            Default::default()
        }
    };
    let staging = dir.join(STAGING);
    match std::fs::symlink_metadata(&staging) {
        Ok(m) if m.is_dir() => remove_entry(&staging)?, // left by an interrupted run
        Ok(_) => {
            return Err(out_err(
                &staging,
                "exists and is not a directory (Orrery's staging directory); remove it",
            ));
        }
        Err(_) => {}
    }
    std::fs::create_dir(&staging).map_err(io_err(&staging))?;
    let staged = (|| {
        for (name, content) in files {
            let path = staging.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            match content {
                Content::Bytes(bytes) => write_new(&path, bytes)?,
                Content::Stream(f) => write_new_with(&path, f)?,
            }
        }
        Ok(())
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    // Commit: the marker first lists old and new entries, so an interrupted commit leaves
    // nothing unaccounted for; then old entries go, new ones are renamed into place.
    let all: std::collections::BTreeSet<String> = old.union(&tops).cloned().collect();
    write_marker(dir, &staging, &all)?;
    if replace {
        for gone in old.difference(&tops) {
            remove_entry(&dir.join(gone))?;
        }
    }
    for t in &tops {
        let dst = dir.join(t);
        if std::fs::symlink_metadata(&dst).is_ok_and(|m| m.is_dir()) {
            remove_entry(&dst)?;
        }
        std::fs::rename(staging.join(t), &dst).map_err(io_err(&dst))?;
    }
    write_marker(dir, &staging, if replace { &tops } else { &all })?;
    std::fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
    Ok(names.iter().map(|n| dir.join(n)).collect())
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

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("orrery-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_all_leaves_nothing_half_written() {
        let dir = scratch("write-all");
        let files = vec![("a.txt", b"a".to_vec()), ("b.txt", b"b".to_vec())];
        let out = write_all(&dir, &files).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"b");
        assert_eq!(listing(&dir), [OUT_MARKER, "a.txt", "b.txt"]);
        // A write that fails half-way (a file where a directory must go) changes nothing.
        let bad = vec![("a.txt", b"new".to_vec()), ("a.txt/x", b"x".to_vec())];
        assert!(write_all(&dir, &bad).is_err());
        assert_eq!(listing(&dir), [OUT_MARKER, "a.txt", "b.txt"]);
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"a");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A streamed file is written as its writer makes it; a writer that fails half-way
    /// leaves the previous output as it was, with no staged file behind.
    #[test]
    fn a_streamed_file_is_staged_like_the_others() {
        let dir = scratch("write-stream");
        let big = vec![
            (
                "big.csv",
                Content::Stream(Box::new(|w: &mut dyn Write| {
                    (0..10_000).try_for_each(|i| writeln!(w, "{i}"))
                })),
            ),
            ("a.txt", Content::Bytes(b"a")),
        ];
        let out = write_all_streamed(&dir, big).unwrap();
        assert_eq!(out, [dir.join("big.csv"), dir.join("a.txt")]);
        let text = std::fs::read_to_string(dir.join("big.csv")).unwrap();
        assert_eq!(text.lines().count(), 10_000);
        assert_eq!(text.lines().last(), Some("9999"));
        let failing = vec![
            ("a.txt", Content::Bytes(b"new")),
            (
                "big.csv",
                Content::Stream(Box::new(|w: &mut dyn Write| {
                    writeln!(w, "half")?;
                    Err(std::io::Error::other("the writer failed"))
                })),
            ),
        ];
        let e = write_all_streamed(&dir, failing).unwrap_err();
        assert!(e.to_string().contains("big.csv"), "{e}");
        let source = std::error::Error::source(&e).map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("the writer failed"));
        assert_eq!(listing(&dir), [OUT_MARKER, "a.txt", "big.csv"]);
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"a");
        assert_eq!(std::fs::read_to_string(dir.join("big.csv")).unwrap(), text);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 14 item 12: a second write never leaves the first one's files beside its own
    /// (a VERIFIED `verify` after a VIOLATION one left the old `witness.json`).
    #[test]
    fn write_all_removes_the_previous_outputs_files_only() {
        let dir = scratch("write-stale");
        write_all(
            &dir,
            &[
                ("witness.json", b"w".to_vec()),
                ("verify.md", b"1".to_vec()),
            ],
        )
        .unwrap();
        std::fs::create_dir(dir.join("verify")).unwrap(); // another command's output
        write_all(&dir, &[("verify.md", b"2".to_vec())]).unwrap();
        assert_eq!(listing(&dir), [OUT_MARKER, "verify", "verify.md"]);
        assert_eq!(std::fs::read(dir.join("verify.md")).unwrap(), b"2");
        // Adding keeps what is there.
        add_files(&dir, &[("page.html", b"p".to_vec())]).unwrap();
        assert_eq!(
            listing(&dir),
            [OUT_MARKER, "page.html", "verify", "verify.md"]
        );
        write_all(&dir, &[("sub/x.md", b"x".to_vec())]).unwrap();
        assert_eq!(listing(&dir), [OUT_MARKER, "sub", "verify"]);
        assert_eq!(std::fs::read(dir.join("sub/x.md")).unwrap(), b"x");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn write_all_refuses_a_foreign_directory_it_would_overwrite() {
        let dir = scratch("write-foreign");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        // Nothing of the user's is touched: a file of another name may be added...
        write_all(&dir, &[("jobs.csv", b"j".to_vec())]).unwrap();
        assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"mine");
        // ...but a file of the user's is never replaced.
        let dir2 = scratch("write-foreign2");
        std::fs::create_dir(&dir2).unwrap();
        std::fs::write(dir2.join("jobs.csv"), b"mine").unwrap();
        let e = write_all(&dir2, &[("jobs.csv", b"j".to_vec())]).unwrap_err();
        assert!(e.to_string().contains("was not written by"), "{e}");
        assert_eq!(std::fs::read(dir2.join("jobs.csv")).unwrap(), b"mine");
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&dir2);
    }

    /// Issue 14 item 12: links are never written through (the old code followed a link
    /// named `--out`, and one at a temporary file's name).
    #[cfg(unix)]
    #[test]
    fn write_all_never_follows_symbolic_links() {
        let base = scratch("write-links");
        let target = base.join("target");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("keep.txt"), b"keep").unwrap();
        // --out naming a link to a directory.
        let link = base.join("out-link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_all(&link, &[("jobs.csv", b"j".to_vec())]).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(listing(&target), ["keep.txt"]);
        // A link inside the output directory, where a new file goes: replaced, not followed.
        let out = base.join("out");
        write_all(&out, &[("jobs.csv", b"1".to_vec())]).unwrap();
        std::fs::remove_file(out.join("jobs.csv")).unwrap();
        std::os::unix::fs::symlink(target.join("keep.txt"), out.join("jobs.csv")).unwrap();
        write_all(&out, &[("jobs.csv", b"2".to_vec())]).unwrap();
        assert_eq!(std::fs::read(target.join("keep.txt")).unwrap(), b"keep");
        assert_eq!(std::fs::read(out.join("jobs.csv")).unwrap(), b"2");
        // A link at the staging directory's name is refused.
        std::os::unix::fs::symlink(&target, out.join(STAGING)).unwrap();
        assert!(write_all(&out, &[("jobs.csv", b"3".to_vec())]).is_err());
        assert_eq!(listing(&target), ["keep.txt"]);
        let _ = std::fs::remove_dir_all(&base);
    }
}
