//! `report.html` of `orrery run`: one self-contained page (inline SVG and CSS, no scripts,
//! nothing fetched) showing where the pods went and why jobs waited — a Gantt chart of pods
//! on nodes (from the pod log), GPUs held and queue length over time, wait and JCT CDFs,
//! the detections and the unfinished jobs. Built with the capacity report's page and
//! plotting helpers; deterministic bytes for a given run. Format: docs/output-formats.md.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use models::sim::podlog::{LogState, PodLogView};
use models::{Outcome, RunResult};
use plotters::prelude::*;
use sim_core::NANOS_PER_SEC;

use crate::capacity::html::Page;
use crate::capacity::plots::{Chart, Series, XAxis, line_svg};
use crate::capacity::timeline;
use crate::compare::{Unit, human_secs, human_value};
use crate::plot::{
    FONT, Key, cdf_points, color, fail, legend, svg_sized, ticks, time_ticks_from, titled,
};
use crate::summary::Summary;
use crate::write::ReportError;

/// Most nodes drawn as Gantt rows; the others are named in a note.
pub const MAX_GANTT_NODES: usize = 64;
/// Most pod intervals drawn as Gantt bars (the earliest-starting ones).
pub const MAX_GANTT_BARS: usize = 4000;
/// Most rows of the jobs table.
pub const MAX_JOB_ROWS: usize = 200;
/// Time bins of the timelines (at most).
const TIMELINE_BINS: u64 = 300;

/// Node names in natural order: `gpu-2` before `gpu-10`.
fn natural(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut v = Vec::new();
        let mut start = 0;
        let mut digit = None;
        for (i, c) in s.char_indices() {
            let d = c.is_ascii_digit();
            if digit.is_some_and(|x| x != d) {
                v.push((digit == Some(true), &s[start..i]));
                start = i;
            }
            digit = Some(d);
        }
        if start < s.len() {
            v.push((digit == Some(true), &s[start..]));
        }
        v
    }
    let (x, y) = (chunks(a), chunks(b));
    for (p, q) in x.iter().zip(&y) {
        let o = match (p.0, q.0) {
            (true, true) => {
                let (m, n) = (p.1.trim_start_matches('0'), q.1.trim_start_matches('0'));
                m.len().cmp(&n.len()).then_with(|| m.cmp(n))
            }
            _ => p.1.cmp(q.1),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

/// One Gantt bar: a pod's interval on a node, seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub row: usize,
    pub from: f64,
    /// `None`: still held when the run ended (drawn to the right edge).
    pub to: Option<f64>,
    /// Index of the job in the run's job records.
    pub job: usize,
    /// Reserved on the node, waiting at Permit for the rest of its gang.
    pub waiting: bool,
    /// Lane within its node's row: pods that overlap in time on one node get lanes of
    /// their own, so no bar hides another.
    pub lane: usize,
}

/// What the Gantt chart draws, and what it leaves out.
#[derive(Clone, Debug, PartialEq)]
pub struct Gantt {
    /// Node names of the rows, top to bottom.
    pub rows: Vec<String>,
    /// Lanes per row (the most bars that overlap in time on that node).
    pub lanes: Vec<usize>,
    pub bars: Vec<Bar>,
    /// Nodes that held a pod at some time in the run.
    pub nodes_with_pods: usize,
    /// Pod intervals on the nodes drawn (before the bar cap).
    pub intervals: usize,
}

impl Gantt {
    /// The bars from the pod log: every bound or reserved interval, on at most
    /// [`MAX_GANTT_NODES`] nodes (natural name order) and at most [`MAX_GANTT_BARS`] bars
    /// (earliest start first).
    pub fn new(r: &RunResult, log: PodLogView<'_>) -> Gantt {
        // Jobs without a record (inference replica slots) are not drawn. Two passes over
        // the log (the nodes, then the bars on the nodes drawn), so a million-row log is
        // not copied.
        let placed = || {
            log.pods()
                .filter(|p| p.state != LogState::Pending)
                .filter(|p| (p.job_index as usize) < r.jobs.len())
                .filter_map(|p| Some((p.node?, p)))
        };
        let distinct: std::collections::BTreeSet<&str> = placed().map(|x| x.0).collect();
        let mut names: Vec<&str> = distinct.into_iter().collect();
        names.sort_by(|a, b| natural(a, b));
        let nodes_with_pods = names.len();
        names.truncate(MAX_GANTT_NODES);
        let row: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let secs = |t: sim_core::SimTime| t.as_nanos() as f64 / NANOS_PER_SEC as f64;
        let mut bars: Vec<Bar> = placed()
            .filter_map(|(node, p)| {
                Some(Bar {
                    row: *row.get(node)?,
                    from: secs(p.from),
                    to: p.to.map(secs),
                    job: p.job_index as usize,
                    waiting: p.state == LogState::Waiting,
                    lane: 0,
                })
            })
            .collect();
        // Stable: equal starts keep the pod log's order (job, pod, time).
        bars.sort_by(|a, b| a.from.total_cmp(&b.from));
        let intervals = bars.len();
        bars.truncate(MAX_GANTT_BARS);
        // Greedy interval partitioning in start order: each bar takes the first lane of
        // its row that is free by its start (a bar still open at the end never frees it).
        let mut lane_ends: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        for b in &mut bars {
            let ends = &mut lane_ends[b.row];
            let end = b.to.unwrap_or(f64::INFINITY);
            match ends.iter().position(|e| *e <= b.from) {
                Some(k) => {
                    ends[k] = end;
                    b.lane = k;
                }
                None => {
                    b.lane = ends.len();
                    ends.push(end);
                }
            }
        }
        Gantt {
            lanes: lane_ends.iter().map(|l| l.len().max(1)).collect(),
            rows: names.iter().map(|n| n.to_string()).collect(),
            bars,
            nodes_with_pods,
            intervals,
        }
    }

    /// What was left out, for people; empty when everything is drawn.
    pub fn omitted(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.nodes_with_pods > self.rows.len() {
            v.push(format!(
                "Only the first {} of the {} nodes that held pods are drawn (natural name order, \
                 up to {}); the other {} are not shown.",
                self.rows.len(),
                self.nodes_with_pods,
                self.rows.last().map(String::as_str).unwrap_or(""),
                self.nodes_with_pods - self.rows.len()
            ));
        }
        let on_rows = self.intervals;
        if on_rows > self.bars.len() {
            v.push(format!(
                "{} of {} pod intervals drawn (the earliest-starting ones on the nodes shown); \
                 {} are not drawn. Every interval is in pods.csv.",
                self.bars.len(),
                on_rows,
                on_rows - self.bars.len()
            ));
        }
        v
    }
}

/// `gantt`: rows = nodes, bars = pods' bound (full colour) and reserved-at-Permit (pale)
/// intervals, coloured by job; jobs that never finished because they are stuck or
/// deadlocked are outlined in dark red.
fn gantt_svg(sub: &str, r: &RunResult, g: &Gantt) -> Result<Vec<u8>, ReportError> {
    let n = g.rows.len().max(1);
    // Taller rows for nodes with several lanes, within about 1,000 px of rows.
    let lanes = g.lanes.iter().copied().max().unwrap_or(1).max(1) as u32;
    let per_lane = if lanes * n as u32 <= 24 {
        20
    } else {
        (960 / (lanes * n as u32)).clamp(3, 20)
    };
    let row_h: u32 = (per_lane * lanes).clamp(9, 120);
    let height = (64 + 70 + row_h * n as u32).max(360);
    let end = r.end_time.as_nanos() as f64 / NANOS_PER_SEC as f64;
    let last = g
        .bars
        .iter()
        .map(|b| b.to.unwrap_or(b.from))
        .fold(end, f64::max);
    let x_hi = if last > 0.0 { last * 1.02 } else { 1.0 };
    let first = g.bars.iter().map(|b| b.from).fold(f64::INFINITY, f64::min);
    let (x_lo, x_ticks) = time_ticks_from(if first.is_finite() { first } else { 0.0 }, x_hi, 10);
    let stuck = |j: usize| {
        r.jobs
            .get(j)
            .is_some_and(|j| j.outcome == Outcome::Stuck || j.deadlocked_at.is_some())
    };
    svg_sized("gantt.svg", height, |root| {
        let (body, side) = titled(root, "Pods on nodes over time", sub)?;
        let mut jobs: Vec<usize> = g.bars.iter().map(|b| b.job).collect();
        jobs.sort_unstable();
        jobs.dedup();
        // Long ids (trace hashes) are cut to one legend line; the tables give them whole.
        let entries: Vec<(String, RGBColor)> = jobs
            .iter()
            .map(|&j| {
                let id = &r.jobs[j].id;
                let label = if id.chars().count() > 24 {
                    format!("{}…", id.chars().take(23).collect::<String>())
                } else {
                    id.clone()
                };
                (label, color(j))
            })
            .collect();
        let mut note = String::from(
            "full colour: bound; pale: reserved, waiting at Permit for its gang; \
             dark red outline: stuck or deadlocked job; bars reaching the right edge were \
             still held when the run ended",
        );
        if jobs.len() > 10 {
            note.push_str("; colours repeat every 10 jobs");
        }
        legend(&side, "job", Key::Box, &entries, Some(note.as_str()))?;
        let rows = g.rows.len();
        let names = g.rows.clone();
        let mut chart = ChartBuilder::on(&body)
            .margin_left(8)
            .margin_right(16)
            .margin_bottom(12)
            .x_label_area_size(48)
            .y_label_area_size(110)
            .build_cartesian_2d(
                ticks(x_lo..x_hi, x_ticks),
                ticks(
                    0.0..rows.max(1) as f64,
                    (0..rows).map(|i| i as f64 + 0.5).collect(),
                ),
            )
            .map_err(fail)?;
        // Label every row when they are tall enough, else every k-th.
        let every = (14 / row_h.max(1) as usize).max(1);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("simulated time")
            .y_desc("node")
            .x_label_formatter(&|v| human_secs(*v))
            .y_label_formatter(&|v| {
                let k = (rows as f64 - v - 0.5).round();
                if k < 0.0 || !(k as usize).is_multiple_of(every) {
                    return String::new();
                }
                names.get(k as usize).cloned().unwrap_or_default()
            })
            .axis_desc_style((FONT, 15))
            .label_style((FONT, if row_h < 14 { 10 } else { 12 }))
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(fail)?;
        // A bar's vertical extent: its lane's share of its row (0.1 margin top and bottom).
        let span = |b: &Bar| {
            let base = (rows - 1 - b.row) as f64;
            let h = 0.8 / g.lanes[b.row] as f64;
            let top = base + 0.9 - h * b.lane as f64;
            let pad = if h > 0.2 { 0.04 } else { 0.0 };
            [(b.from, top - h + pad), (b.to.unwrap_or(x_hi), top - pad)]
        };
        chart
            .draw_series(g.bars.iter().map(|b| {
                let c = color(b.job);
                let style = if b.waiting {
                    c.mix(0.35).filled()
                } else {
                    c.filled()
                };
                Rectangle::new(span(b), style)
            }))
            .map_err(fail)?;
        chart
            .draw_series(
                g.bars
                    .iter()
                    .filter(|b| stuck(b.job))
                    .map(|b| Rectangle::new(span(b), RGBColor(120, 0, 0).stroke_width(2))),
            )
            .map_err(fail)?;
        Ok(())
    })
}

/// Time-weighted mean GPUs held by pods (bound or reserved) per bin, from the GPU indices
/// the pod log lists.
fn held_bins(r: &RunResult, log: PodLogView<'_>, bin_ns: u64, bins: usize) -> Vec<f64> {
    let first = r.first_submit.as_nanos();
    let end = r.end_time.as_nanos().saturating_sub(first);
    let mut ev: Vec<(u64, i64)> = Vec::new();
    for p in log.pods().filter(|p| p.state != LogState::Pending) {
        let g = p.gpus.len() as i64;
        if g == 0 {
            continue;
        }
        let from = p.from.as_nanos().saturating_sub(first).min(end);
        let to =
            p.to.map_or(end, |t| t.as_nanos().saturating_sub(first).min(end));
        ev.push((from, g));
        ev.push((to, -g));
    }
    ev.sort_unstable();
    let mut sum = vec![0f64; bins];
    let (mut level, mut t) = (0i64, 0u64);
    for (at, d) in ev.iter().copied().chain(std::iter::once((end, 0))) {
        // Spread `level` over [t, at) across the bins it covers.
        let mut a = t;
        while a < at {
            let b = (a / bin_ns) as usize;
            if b >= bins {
                break;
            }
            let z = ((b as u64 + 1) * bin_ns).min(at);
            sum[b] += level as f64 * (z - a) as f64;
            a = z;
        }
        t = t.max(at);
        level += d;
    }
    (0..bins)
        .map(|b| {
            let w = bin_ns.min(end.saturating_sub(b as u64 * bin_ns)).max(1) as f64;
            sum[b] / w
        })
        .collect()
}

fn secs(t: sim_core::SimTime) -> f64 {
    t.as_nanos() as f64 / NANOS_PER_SEC as f64
}

/// The page. `scenario` names the run; the pod log (when kept) gives the Gantt chart and
/// the GPUs-held series.
pub fn run_html(s: &Summary, r: &RunResult) -> Result<Vec<u8>, ReportError> {
    let sub = format!("{} · policy {} · seed {}", s.scenario, s.policy, s.seed);
    let mut page = Page::new(&format!("Orrery run: {}", s.scenario));
    page.para(
        &format!(
            "policy {} · seed {} · {} nodes · {} GPUs · stopped: {} at {} simulated · {} events",
            s.policy,
            s.seed,
            s.nodes,
            crate::plot::trim_decimals(s.total_gpus),
            s.stop,
            human_secs(s.end_time_s),
            s.events
        ),
        Some("note"),
    );
    // Headline figures.
    let unfinished = crate::write::unfinished_by_outcome(s);
    let dist = |d: &crate::summary::Distribution| {
        if d.count == 0 {
            return "no job submitted".to_string();
        }
        let mut t = format!(
            "p50 {}, p95 {}, max {}",
            human_secs(d.p50),
            human_secs(d.p95),
            human_secs(d.max)
        );
        if d.censored > 0 {
            t.push_str(&format!(
                " ({} of {} censored at the end of the observation: lower bounds)",
                d.censored, d.count
            ));
        }
        t
    };
    page.heading("Outcome");
    page.definitions(&[
        ("jobs", format!("{} in the workload", s.jobs_total)),
        ("completed", s.jobs_completed.to_string()),
        (
            "unfinished",
            if unfinished.is_empty() {
                "0".to_string()
            } else {
                format!("{} ({})", s.jobs_unfinished, unfinished.join(", "))
            },
        ),
        ("deadlocked jobs", s.deadlocked_jobs.to_string()),
        ("starved or livelocked jobs", s.starved_jobs.to_string()),
        ("pods preempted", s.preemptions.to_string()),
        ("wait (submit to start)", dist(&s.wait_s)),
        ("JCT (submit to end)", dist(&s.jct_s)),
        (
            "GPU allocation",
            format!(
                "{} allocated, {} busy (time-weighted, from the first submission)",
                human_value(Unit::Ratio, s.gpu_allocation_ratio),
                human_value(Unit::Ratio, s.gpu_busy_ratio)
            ),
        ),
        (
            "GPUs held for ever by stuck gangs",
            crate::plot::trim_decimals(s.gpus_held_stuck),
        ),
    ]);
    page.heading("Detections");
    if s.detections.is_empty() && s.guard.is_none() {
        page.para(
            "No deadlock, starvation or livelock was detected.",
            Some("note"),
        );
    } else {
        let rows: Vec<(bool, Vec<String>)> = s
            .detections
            .iter()
            .map(|d| {
                (
                    false,
                    vec![
                        human_secs(d.time_s),
                        d.kind.to_string(),
                        d.jobs.join(", "),
                        d.detail.clone(),
                    ],
                )
            })
            .collect();
        if !rows.is_empty() {
            let h = ["time", "kind", "jobs", "detail"].map(String::from);
            page.table(&h, &rows);
        }
        if let Some(g) = &s.guard {
            page.para(&format!("The no-progress guard stopped the run: {g}"), None);
        }
    }

    // Gantt.
    page.heading("Pods on nodes");
    match r.pod_log_view() {
        Some(log) => {
            let g = Gantt::new(r, log);
            for o in g.omitted() {
                page.para(&format!("⚠ {o}"), Some("omitted"));
            }
            if g.rows.is_empty() {
                page.para("No pod was ever placed on a node.", Some("note"));
            }
            page.plot(
                "gantt.svg",
                "pods' bound and reserved intervals per node",
                &gantt_svg(&sub, r, &g)?,
            );
        }
        None => page.para(
            "Not drawn: the run was made with --no-pod-log, and the chart is drawn from the \
             pod log (pods.csv).",
            Some("omitted"),
        ),
    }

    // Timelines.
    let first = r.first_submit.as_nanos();
    let span = r.end_time.as_nanos().saturating_sub(first);
    let bin_s = span.div_ceil(NANOS_PER_SEC).div_ceil(TIMELINE_BINS).max(1);
    let (bins, _) = timeline::timeline(r, bin_s);
    let x = |b: usize| secs(r.first_submit) + (b as u64 * bin_s) as f64;
    let mut gpu = vec![Series {
        label: "busy (running jobs)".into(),
        points: bins
            .iter()
            .enumerate()
            .map(|(b, v)| (x(b), v.gpu_busy_ratio))
            .collect(),
        band: Vec::new(),
    }];
    let total_gpus = r.total_gpu_milli as f64 / 1000.0;
    if let Some(log) = r.pod_log_view().filter(|_| total_gpus > 0.0) {
        let held = held_bins(r, log, bin_s.saturating_mul(NANOS_PER_SEC), bins.len());
        gpu.push(Series {
            label: "held by pods, bound or reserved (pods.csv)".into(),
            points: held
                .iter()
                .enumerate()
                .map(|(b, v)| (x(b), v / total_gpus))
                .collect(),
            band: Vec::new(),
        });
    }
    let bin_note = format!("means over {} bins", human_secs(bin_s as f64));
    page.heading("GPU allocation over time");
    page.plot(
        "timeline_gpu.svg",
        "share of the cluster's GPUs over time",
        &line_svg(&Chart {
            file: "timeline_gpu.svg",
            title: "GPUs in use over time",
            subtitle: &sub,
            x: XAxis::Time,
            x_desc: "simulated time",
            y_desc: "share of the cluster's GPUs",
            y_unit: Unit::Ratio,
            y_max: Some(1.05),
            legend_heading: "GPUs",
            series: gpu,
            reference: None,
            note: Some(bin_note.as_str()),
        })?,
    );
    page.heading("Queue length over time");
    page.plot(
        "timeline_queue.svg",
        "jobs submitted and not yet started",
        &line_svg(&Chart {
            file: "timeline_queue.svg",
            title: "Jobs waiting over time",
            subtitle: &sub,
            x: XAxis::Time,
            x_desc: "simulated time",
            y_desc: "jobs submitted, not yet started",
            y_unit: Unit::Count,
            y_max: None,
            legend_heading: "queue",
            series: vec![Series {
                label: "jobs waiting".into(),
                points: bins
                    .iter()
                    .enumerate()
                    .map(|(b, v)| (x(b), v.queued_jobs))
                    .collect(),
                band: Vec::new(),
            }],
            reference: None,
            note: Some(bin_note.as_str()),
        })?,
    );

    // CDFs of the uncensored samples.
    let submitted = || r.jobs.iter().filter(|j| j.outcome != Outcome::NotSubmitted);
    let waits: Vec<f64> = submitted()
        .filter_map(|j| Some(secs(j.start?) - secs(j.submit)))
        .collect();
    let jcts: Vec<f64> = submitted()
        .filter(|j| j.outcome == Outcome::Completed)
        .filter_map(|j| Some(secs(j.end?) - secs(j.submit)))
        .collect();
    let n_sub = submitted().count();
    for (file, title, heading, what, sample, left) in [
        (
            "cdf_wait.svg",
            "Queueing delay CDF (submit to first start)",
            "Wait CDF",
            "started jobs",
            &waits,
            "never started",
        ),
        (
            "cdf_jct.svg",
            "Job completion time CDF (submit to end)",
            "JCT CDF",
            "completed jobs",
            &jcts,
            "did not complete",
        ),
    ] {
        let note = format!(
            "{} of {n_sub} submitted jobs {left}: not drawn (their times are censored)",
            n_sub - sample.len()
        );
        page.heading(heading);
        page.plot(
            file,
            heading,
            &line_svg(&Chart::duration_cdf(
                file,
                title,
                &sub,
                "sample",
                vec![Series {
                    label: format!("{what} (n={})", sample.len()),
                    points: cdf_points(sample, 1.0),
                    band: Vec::new(),
                }],
                (n_sub > sample.len()).then_some(note.as_str()),
            ))?,
        );
    }

    // Unfinished jobs, then every job (capped).
    page.heading("Unfinished jobs");
    if s.unfinished.is_empty() {
        page.para("Every job completed.", Some("note"));
    } else {
        let rows: Vec<(bool, Vec<String>)> = s
            .unfinished
            .iter()
            .take(MAX_JOB_ROWS)
            .map(|u| {
                (
                    false,
                    vec![u.job.clone(), u.outcome.to_string(), u.reason.clone()],
                )
            })
            .collect();
        if s.unfinished.len() > MAX_JOB_ROWS {
            page.para(
                &format!(
                    "⚠ The first {MAX_JOB_ROWS} of {} unfinished jobs are listed; every one is in \
                     summary.json and jobs.csv.",
                    s.unfinished.len()
                ),
                Some("omitted"),
            );
        }
        page.table(&["job", "outcome", "reason"].map(String::from), &rows);
    }
    page.heading("Jobs");
    if r.jobs.len() > MAX_JOB_ROWS {
        page.para(
            &format!(
                "⚠ The first {MAX_JOB_ROWS} of {} jobs (workload order) are listed; every one is \
                 in jobs.csv.",
                r.jobs.len()
            ),
            Some("omitted"),
        );
    }
    let opt = |t: Option<sim_core::SimTime>| t.map_or("–".to_string(), |t| human_secs(secs(t)));
    let rows: Vec<(bool, Vec<String>)> = r
        .jobs
        .iter()
        .take(MAX_JOB_ROWS)
        .map(|j| {
            (
                false,
                vec![
                    j.id.clone(),
                    human_secs(secs(j.submit)),
                    opt(j.start),
                    opt(j.end),
                    human_value(Unit::Count, j.gpu_milli as f64 / 1000.0),
                    j.pods.to_string(),
                    j.outcome.name().to_string(),
                ],
            )
        })
        .collect();
    page.table(
        &["job", "submit", "start", "end", "GPUs", "pods", "outcome"].map(String::from),
        &rows,
    );
    page.para(
        "Every figure comes from this run's jobs.csv, summary.json and pods.csv \
         (docs/output-formats.md).",
        Some("note"),
    );
    Ok(page.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_sort_naturally() {
        let mut v = vec!["gpu-10", "gpu-2", "cpu-1", "gpu-02b", "gpu-1"];
        v.sort_by(|a, b| natural(a, b));
        assert_eq!(v, vec!["cpu-1", "gpu-1", "gpu-2", "gpu-02b", "gpu-10"]);
    }
}
