//! `orrery compare`: one row per (policy, seed) run, means per policy, and the files they
//! are written to (`compare.csv`, `compare.md`, SVG plots).
//!
//! Everything here is a pure function of the runs given, in the order given: the caller
//! collects runs by index, so the bytes never depend on which thread finished first.

use std::fmt::Write as _;

use models::RunResult;
use sim_core::{NANOS_PER_SEC, SimDuration};

use crate::plot;
use crate::summary::{Summary, summarize};
use crate::write::ReportError;

/// The unit of a metric: decides its CSV formatting, its terminal rendering and the axis
/// label of its plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A count (jobs, pods): an integer per run.
    Count,
    /// Seconds of simulated time.
    Seconds,
    /// A fraction of the cluster's GPUs, 0 to 1.
    Ratio,
    /// GPU-hours.
    GpuHours,
}

/// Whether a smaller or a larger value of a metric is the better one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// One metric column of `compare.csv`.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// Column name in `compare.csv` (and `bars_<name>.svg`).
    pub name: &'static str,
    /// Column header in the Markdown table.
    pub header: &'static str,
    /// Plot title.
    pub title: &'static str,
    pub unit: Unit,
    /// Y-axis label of its plot.
    pub axis: &'static str,
    pub better: Better,
    /// The value of one run; `None` when the run has no sample (no job submitted, no job
    /// completed for the makespan): an empty CSV cell, left out of the mean. Wait and JCT
    /// include the jobs that never started or finished, censored at the end of the
    /// observation (see `Summary::wait_s`).
    pub value: fn(&Summary) -> Option<f64>,
}

fn jct(s: &Summary, f: fn(&Summary) -> f64) -> Option<f64> {
    (s.jct_s.count > 0).then(|| f(s))
}

fn wait(s: &Summary, f: fn(&Summary) -> f64) -> Option<f64> {
    (s.wait_s.count > 0).then(|| f(s))
}

/// The metric columns of `compare.csv`, in order (after `policy` and `seed`).
pub const METRICS: &[Metric] = &[
    Metric {
        name: "jobs_completed",
        header: "completed",
        title: "Jobs completed",
        unit: Unit::Count,
        axis: "jobs",
        better: Better::Higher,
        value: |s| Some(s.jobs_completed as f64),
    },
    Metric {
        name: "jobs_unfinished",
        header: "unfinished",
        title: "Jobs unfinished",
        unit: Unit::Count,
        axis: "jobs",
        better: Better::Lower,
        value: |s| Some(s.jobs_unfinished as f64),
    },
    Metric {
        name: "jobs_never_started",
        header: "never started",
        title: "Jobs submitted but never started",
        unit: Unit::Count,
        axis: "jobs",
        better: Better::Lower,
        value: |s| Some(s.wait_s.censored as f64),
    },
    Metric {
        name: "avg_jct_s",
        header: "avg JCT",
        title: "Average job completion time",
        unit: Unit::Seconds,
        axis: "time (submit to completion)",
        better: Better::Lower,
        value: |s| jct(s, |s| s.jct_s.avg),
    },
    Metric {
        name: "p50_jct_s",
        header: "p50 JCT",
        title: "Median job completion time",
        unit: Unit::Seconds,
        axis: "time (submit to completion)",
        better: Better::Lower,
        value: |s| jct(s, |s| s.jct_s.p50),
    },
    Metric {
        name: "p99_jct_s",
        header: "p99 JCT",
        title: "p99 job completion time",
        unit: Unit::Seconds,
        axis: "time (submit to completion)",
        better: Better::Lower,
        value: |s| jct(s, |s| s.jct_s.p99),
    },
    Metric {
        name: "avg_wait_s",
        header: "avg wait",
        title: "Average queueing delay",
        unit: Unit::Seconds,
        axis: "time (submit to start)",
        better: Better::Lower,
        value: |s| wait(s, |s| s.wait_s.avg),
    },
    Metric {
        name: "p99_wait_s",
        header: "p99 wait",
        title: "p99 queueing delay",
        unit: Unit::Seconds,
        axis: "time (submit to start)",
        better: Better::Lower,
        value: |s| wait(s, |s| s.wait_s.p99),
    },
    Metric {
        name: "makespan_s",
        header: "makespan",
        title: "Makespan",
        unit: Unit::Seconds,
        axis: "time (first submit to last completion)",
        better: Better::Lower,
        value: |s| (s.jobs_completed > 0).then_some(s.makespan_s),
    },
    Metric {
        name: "gpu_allocation_ratio",
        header: "GPU alloc",
        title: "GPU allocation ratio (time-weighted)",
        unit: Unit::Ratio,
        axis: "share of the cluster's GPUs",
        better: Better::Higher,
        value: |s| Some(s.gpu_allocation_ratio),
    },
    Metric {
        name: "gpu_busy_ratio",
        header: "GPU busy",
        title: "GPU busy ratio (allocated and making progress)",
        unit: Unit::Ratio,
        axis: "share of the cluster's GPUs",
        better: Better::Higher,
        value: |s| Some(s.gpu_busy_ratio),
    },
    Metric {
        name: "gpu_hours_held_idle",
        header: "GPU-h held idle",
        title: "GPU-hours held idle by pods waiting for their gang",
        unit: Unit::GpuHours,
        axis: "GPU-hours",
        better: Better::Lower,
        value: |s| Some(s.gpu_hours_held_idle),
    },
    Metric {
        name: "gpus_held_stuck",
        header: "GPUs held stuck",
        title: "GPUs held for ever by stuck gangs when the run drained",
        unit: Unit::Count,
        axis: "GPUs",
        better: Better::Lower,
        value: |s| Some(s.gpus_held_stuck),
    },
    Metric {
        name: "deadlocked_jobs",
        header: "deadlocked",
        title: "Deadlocked jobs (stuck holding GPUs)",
        unit: Unit::Count,
        axis: "jobs",
        better: Better::Lower,
        value: |s| Some(s.deadlocked_jobs as f64),
    },
    Metric {
        name: "starved_jobs",
        header: "starved",
        title: "Starved or livelocked jobs",
        unit: Unit::Count,
        axis: "jobs",
        better: Better::Lower,
        value: |s| Some(s.starved_jobs as f64),
    },
    Metric {
        name: "preemptions",
        header: "preemptions",
        title: "Pods preempted",
        unit: Unit::Count,
        axis: "pods",
        better: Better::Lower,
        value: |s| Some(s.preemptions as f64),
    },
];

/// The metrics that get a bar chart (`bars_<name>.svg`).
pub const BAR_METRICS: &[&str] = &[
    "avg_jct_s",
    "p99_wait_s",
    "gpu_allocation_ratio",
    "gpu_busy_ratio",
    "gpu_hours_held_idle",
    "deadlocked_jobs",
];

pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// One (policy, seed) run, reduced to what the comparison needs.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    pub policy: String,
    pub seed: u64,
    pub summary: Summary,
    /// Completion time of every completed job, seconds, in workload order.
    pub jct_s: Vec<f64>,
}

impl RunRow {
    pub fn new(scenario: &str, policy: &str, seed: u64, r: &RunResult) -> RunRow {
        RunRow {
            policy: policy.to_string(),
            seed,
            summary: summarize(scenario, r),
            jct_s: r
                .jobs
                .iter()
                .filter_map(|j| j.end.map(|e| e.since(j.submit).as_nanos()))
                .map(|ns| ns as f64 / NANOS_PER_SEC as f64)
                .collect(),
        }
    }
}

/// Fixed-decimal rendering of one value for `compare.csv`.
pub(crate) fn csv_value(unit: Unit, v: Option<f64>) -> String {
    match (unit, v) {
        (_, None) => String::new(),
        (Unit::Count, Some(v)) => format!("{v:.0}"),
        (Unit::Seconds, Some(v)) => format!("{v:.3}"),
        (Unit::Ratio | Unit::GpuHours, Some(v)) => format!("{v:.6}"),
    }
}

/// The header of `compare.csv`.
pub fn csv_header() -> Vec<&'static str> {
    let mut h = vec!["policy", "seed"];
    h.extend(METRICS.iter().map(|m| m.name));
    h
}

/// `compare.csv`: one row per run, in the order given.
pub fn compare_csv(rows: &[RunRow]) -> Result<Vec<u8>, ReportError> {
    let enc = |e: csv::Error| ReportError::Encode {
        what: "compare.csv",
        msg: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(csv_header()).map_err(enc)?;
    for r in rows {
        let mut rec = vec![r.policy.clone(), r.seed.to_string()];
        rec.extend(
            METRICS
                .iter()
                .map(|m| csv_value(m.unit, (m.value)(&r.summary))),
        );
        w.write_record(&rec).map_err(enc)?;
    }
    w.into_inner().map_err(|e| ReportError::Encode {
        what: "compare.csv",
        msg: e.to_string(),
    })
}

/// A metric over the seeds of one policy.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stat {
    /// Runs that had a value.
    pub n: usize,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// Means (with min and max) of every metric over the seeds of one policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyStats {
    pub policy: String,
    pub runs: usize,
    /// One per entry of `METRICS`; `None` when no run had a value.
    pub stats: Vec<Option<Stat>>,
}

impl PolicyStats {
    pub fn get(&self, metric: &str) -> Option<Stat> {
        let i = METRICS.iter().position(|m| m.name == metric)?;
        self.stats[i]
    }
}

/// Per-policy statistics, policies in the order given (runs of other policies ignored).
pub fn policy_stats(policies: &[String], rows: &[RunRow]) -> Vec<PolicyStats> {
    policies
        .iter()
        .map(|p| {
            let mine: Vec<&RunRow> = rows.iter().filter(|r| &r.policy == p).collect();
            let stats = METRICS
                .iter()
                .map(|m| {
                    let vals: Vec<f64> =
                        mine.iter().filter_map(|r| (m.value)(&r.summary)).collect();
                    if vals.is_empty() {
                        return None;
                    }
                    let sum: f64 = vals.iter().sum();
                    Some(Stat {
                        n: vals.len(),
                        mean: sum / vals.len() as f64,
                        min: vals.iter().copied().fold(f64::INFINITY, f64::min),
                        max: vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    })
                })
                .collect();
            PolicyStats {
                policy: p.clone(),
                runs: mine.len(),
                stats,
            }
        })
        .collect()
}

/// A duration in seconds as the terminal summary shows it: `4h30m49s`, `0s`.
pub fn human_secs(seconds: f64) -> String {
    if seconds > 0.0 && seconds < 1.0 {
        return format!("{seconds:.2}s");
    }
    match SimDuration::from_secs_f64(seconds.round()) {
        Some(d) => d.to_string(),
        None => "-".into(),
    }
}

/// A mean rendered for people.
pub fn human_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Count if v.fract() == 0.0 => format!("{v:.0}"),
        Unit::Count => format!("{v:.2}"),
        Unit::Seconds => human_secs(v),
        Unit::Ratio => format!("{:.1} %", v * 100.0),
        Unit::GpuHours => format!("{v:.1}"),
    }
}

/// Seeds as compact ranges: `1..3, 7, 9..10`.
pub fn seeds_label(seeds: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < seeds.len() {
        let mut j = i;
        while j + 1 < seeds.len() && seeds[j + 1] == seeds[j].wrapping_add(1) {
            j += 1;
        }
        parts.push(match j - i {
            0 => seeds[i].to_string(),
            1 => format!("{}, {}", seeds[i], seeds[j]),
            _ => format!("{}..{}", seeds[i], seeds[j]),
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// The Markdown table of means per policy (no heading), with a final newline.
pub fn means_table(stats: &[PolicyStats]) -> String {
    let mut o = String::new();
    let _ = write!(o, "| policy | runs |");
    for m in METRICS {
        let _ = write!(o, " {} |", m.header);
    }
    o.push('\n');
    let _ = write!(o, "|---|---:|");
    for _ in METRICS {
        o.push_str("---:|");
    }
    o.push('\n');
    for p in stats {
        let _ = write!(o, "| {}{} | {} |", p.policy, unfinished_marker(p), p.runs);
        for (m, s) in METRICS.iter().zip(&p.stats) {
            match s {
                Some(s) => {
                    let _ = write!(o, " {} |", human_value(m.unit, s.mean));
                }
                None => o.push_str(" – |"),
            }
        }
        o.push('\n');
    }
    o
}

/// `⚠ 5 unfinished` after a policy whose runs left jobs unfinished (mean over its seeds).
pub fn unfinished_marker(p: &PolicyStats) -> String {
    match p.get("jobs_unfinished") {
        Some(s) if s.mean > 0.0 => format!(" ⚠ {} unfinished", human_value(Unit::Count, s.mean)),
        _ => String::new(),
    }
}

/// Policies from best to worst: fewest unfinished jobs first (mean over the seeds), then the
/// lowest mean average JCT (censored JCTs included), then the order given. A policy can
/// never rank above one that finished more of the jobs.
pub fn ranking(stats: &[PolicyStats]) -> Vec<&PolicyStats> {
    let key = |p: &PolicyStats, m: &str| p.get(m).map_or(f64::INFINITY, |s| s.mean);
    let mut v: Vec<(usize, &PolicyStats)> = stats.iter().enumerate().collect();
    v.sort_by(|(i, a), (j, b)| {
        key(a, "jobs_unfinished")
            .total_cmp(&key(b, "jobs_unfinished"))
            .then(key(a, "avg_jct_s").total_cmp(&key(b, "avg_jct_s")))
            .then(i.cmp(j))
    });
    v.into_iter().map(|(_, p)| p).collect()
}

/// The ranking line under the table: `Ranking (…): 1. gang, 2. default ⚠ 2 unfinished`.
pub fn ranking_line(stats: &[PolicyStats]) -> String {
    let items: Vec<String> = ranking(stats)
        .iter()
        .enumerate()
        .map(|(k, p)| format!("{}. {}{}", k + 1, p.policy, unfinished_marker(p)))
        .collect();
    format!(
        "Ranking (fewest unfinished jobs first, then lowest mean avg JCT): {}",
        items.join(", ")
    )
}

/// The one-line reading guide under the table.
pub const READING_GUIDE: &str = "Each cell is the mean over the seeds (– where no run had a sample, e.g. no job completed); \
wait and JCT include jobs that never started or finished, counted up to the end of the run or the horizon (censored: \
lower bounds), and ⚠ marks a policy that left jobs unfinished; \
lower is better for JCT, wait, makespan, GPU-hours held idle, GPUs held stuck, never-started, deadlocked and starved jobs and preemptions, \
higher for completed jobs and the GPU ratios; per-run numbers are in compare.csv.";

/// `compare.md`.
pub fn compare_md(scenario: &str, seeds: &[u64], stats: &[PolicyStats]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Orrery compare: {scenario}");
    o.push('\n');
    let policies: Vec<&str> = stats.iter().map(|p| p.policy.as_str()).collect();
    let _ = writeln!(
        o,
        "Policies: {} · seeds: {} ({} run{} per policy)",
        policies.join(", "),
        seeds_label(seeds),
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" }
    );
    o.push('\n');
    o.push_str(&means_table(stats));
    o.push('\n');
    let _ = writeln!(o, "{}", ranking_line(stats));
    o.push('\n');
    let _ = writeln!(o, "{READING_GUIDE}");
    o.push('\n');
    let _ = writeln!(
        o,
        "Plots: jct_cdf.svg (JCT CDF per policy, pooled over seeds){}.",
        BAR_METRICS
            .iter()
            .map(|m| format!(", bars_{m}.svg"))
            .collect::<String>()
    );
    o
}

/// Every file of a comparison, in writing order: `compare.csv`, `compare.md`,
/// `jct_cdf.svg`, then one `bars_<metric>.svg` per entry of `BAR_METRICS`.
pub fn compare_files(
    scenario: &str,
    policies: &[String],
    seeds: &[u64],
    rows: &[RunRow],
) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    let stats = policy_stats(policies, rows);
    let mut files = vec![
        ("compare.csv".to_string(), compare_csv(rows)?),
        (
            "compare.md".to_string(),
            compare_md(scenario, seeds, &stats).into_bytes(),
        ),
    ];
    let subtitle = format!("{scenario} · seeds {}", seeds_label(seeds));
    let series: Vec<(&str, Vec<f64>)> = policies
        .iter()
        .map(|p| {
            let pooled = rows
                .iter()
                .filter(|r| &r.policy == p)
                .flat_map(|r| r.jct_s.iter().copied())
                .collect();
            (p.as_str(), pooled)
        })
        .collect();
    files.push((
        "jct_cdf.svg".to_string(),
        plot::jct_cdf_svg(&subtitle, &series)?,
    ));
    // Bars of a policy that left jobs unfinished carry the ⚠ marker: their wait and JCT
    // are censored lower bounds.
    let labels: Vec<String> = stats
        .iter()
        .map(|p| format!("{}{}", p.policy, unfinished_marker(p)))
        .collect();
    for name in BAR_METRICS {
        let m = metric(name).expect("bar metrics are metrics");
        let bars: Vec<(&str, Option<Stat>)> = stats
            .iter()
            .zip(&labels)
            .map(|(p, l)| (l.as_str(), p.get(name)))
            .collect();
        files.push((
            format!("bars_{name}.svg"),
            plot::bar_svg(m, &subtitle, &bars)?,
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_labels_compress_runs() {
        assert_eq!(seeds_label(&[1, 2, 3, 5, 7, 8]), "1..3, 5, 7, 8");
        assert_eq!(seeds_label(&[42]), "42");
        assert_eq!(seeds_label(&[]), "");
    }

    #[test]
    fn values_render_with_fixed_decimals() {
        assert_eq!(csv_value(Unit::Seconds, Some(100.0)), "100.000");
        assert_eq!(csv_value(Unit::Ratio, Some(0.5)), "0.500000");
        assert_eq!(csv_value(Unit::Count, Some(2.0)), "2");
        assert_eq!(csv_value(Unit::Seconds, None), "");
        assert_eq!(human_value(Unit::Ratio, 0.217), "21.7 %");
        assert_eq!(human_value(Unit::Count, 1.5), "1.50");
    }

    #[test]
    fn every_bar_metric_is_a_metric() {
        for m in BAR_METRICS {
            assert!(metric(m).is_some(), "{m}");
        }
        let h = csv_header();
        assert_eq!(h.len(), 18);
    }
}
