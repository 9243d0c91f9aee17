//! The derived files of a capacity sweep: `capacity.csv` (per run, with SLO verdicts),
//! `capacity_summary.csv` (the what-if grid), `timeline.csv` and `cdf.csv` (the plotted
//! series), the SVG plots, `capacity.md` and the self-contained `capacity.html`.

use std::fmt::Write as _;

use super::analyze::{Analysis, PointStats, run_meets};
use super::data::RunData;
use super::metrics;
use super::plots::{Chart, Series, XAxis, line_svg};
use super::series;
use super::spec::{SweepSpec, milli_label};
use crate::compare::{Unit, csv_value, human_value, seeds_label};
use crate::write::ReportError;

fn csv_bytes(what: &'static str, rows: Vec<Vec<String>>) -> Result<Vec<u8>, ReportError> {
    let enc = |e: csv::Error| ReportError::Encode {
        what,
        msg: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r).map_err(enc)?;
    }
    w.into_inner().map_err(|e| ReportError::Encode {
        what,
        msg: e.to_string(),
    })
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn point_cells(p: &super::spec::Point) -> Vec<String> {
    vec![
        p.policy.clone(),
        p.gpu_model.clone(),
        milli_label(p.load_milli),
        p.nodes.to_string(),
    ]
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// What a cost is counted in: node-hours when no `--price` was given (every node-hour
/// costs 1), else the unit of the `--price` figures (Orrery does not know the currency).
pub fn cost_unit(spec: &SweepSpec) -> &'static str {
    if spec.prices.default == 1.0 && spec.prices.per_model.is_empty() {
        "node-hours"
    } else {
        "--price units"
    }
}

/// `capacity.csv`.
pub fn capacity_csv(
    spec: &SweepSpec,
    a: &Analysis,
    runs: &[RunData],
) -> Result<Vec<u8>, ReportError> {
    let mut h = strs(&["run", "policy", "gpu_model", "load", "nodes", "seed"]);
    h.extend((1..=spec.slos.len()).map(|k| format!("slo{k}_met")));
    h.push("all_slos_met".into());
    h.extend(metrics::all().map(|m| m.name.to_string()));
    let mut rows = vec![h];
    for r in runs {
        let mut rec = vec![r.run.to_string()];
        rec.extend(point_cells(&a.points[r.point].point));
        rec.push(r.seed.to_string());
        rec.extend(
            spec.slos
                .iter()
                .map(|s| s.met(r.value(&s.metric)).to_string()),
        );
        rec.push(run_meets(spec, r).to_string());
        rec.extend(
            metrics::all()
                .zip(&r.values)
                .map(|(m, v)| csv_value(m.unit, *v)),
        );
        rows.push(rec);
    }
    csv_bytes("capacity.csv", rows)
}

/// `capacity_summary.csv`: the what-if grid.
pub fn summary_csv(a: &Analysis) -> Result<Vec<u8>, ReportError> {
    let mut h = strs(&[
        "policy",
        "gpu_model",
        "load",
        "nodes",
        "seeds",
        "seeds_meeting_slos",
        "attainment",
        "meets_slos",
        "recommended",
        "cost_per_hour",
        "next_nodes",
        "next_extra_cost_per_hour",
        "next_attainment_gain",
        "next_p95_wait_change_s",
    ]);
    for m in metrics::all() {
        for s in ["mean", "min", "max"] {
            h.push(format!("{}_{s}", m.name));
        }
    }
    let mut rows = vec![h];
    for p in &a.points {
        let mut rec = point_cells(&p.point);
        rec.push(p.seeds.to_string());
        rec.push(p.met_all.to_string());
        rec.push(format!("{:.6}", p.attainment));
        rec.push(p.meets.to_string());
        rec.push(p.recommended.to_string());
        rec.push(money(p.cost_per_hour));
        match p.next.map(|n| &a.points[n]) {
            Some(n) => {
                rec.push(n.point.nodes.to_string());
                rec.push(money(n.cost_per_hour - p.cost_per_hour));
                rec.push(format!("{:.6}", n.attainment - p.attainment));
                rec.push(csv_value(Unit::Seconds, wait_change(p, n)));
            }
            None => rec.extend(std::iter::repeat_n(String::new(), 4)),
        }
        for (m, st) in metrics::all().zip(&p.stats) {
            for v in [st.map(|s| s.mean), st.map(|s| s.min), st.map(|s| s.max)] {
                rec.push(csv_value(m.unit, v));
            }
        }
        rows.push(rec);
    }
    csv_bytes("capacity_summary.csv", rows)
}

/// Change of the mean p95 wait from `p` to the next size `n` (negative: shorter).
fn wait_change(p: &PointStats, n: &PointStats) -> Option<f64> {
    Some(n.stat("p95_wait_s")?.mean - p.stat("p95_wait_s")?.mean)
}

/// `timeline.csv` and `cdf.csv` of the focus configurations.
pub fn series_csvs(
    spec: &SweepSpec,
    a: &Analysis,
    runs: &[RunData],
) -> Result<(Vec<u8>, Vec<u8>), ReportError> {
    let mut tl = vec![strs(&[
        "policy",
        "gpu_model",
        "load",
        "nodes",
        "time_s",
        "seeds",
        "gpu_busy_ratio",
        "queued_jobs",
        "fragmented_gpu_ratio",
    ])];
    let mut cdf = vec![strs(&[
        "policy",
        "gpu_model",
        "load",
        "nodes",
        "quantile",
        "wait_s",
        "jct_s",
    ])];
    for i in a.focus() {
        let pc = point_cells(&a.points[i].point);
        for (t, busy, q, frag, n) in series::mean_timeline(spec, runs, i) {
            let mut r = pc.clone();
            r.extend([
                t.to_string(),
                n.to_string(),
                format!("{busy:.6}"),
                format!("{q:.3}"),
                format!("{frag:.6}"),
            ]);
            tl.push(r);
        }
        for (q, w, j) in series::mean_quantiles(runs, i) {
            let mut r = pc.clone();
            r.extend([
                format!("{q:.2}"),
                csv_value(Unit::Seconds, w),
                csv_value(Unit::Seconds, j),
            ]);
            cdf.push(r);
        }
    }
    Ok((csv_bytes("timeline.csv", tl)?, csv_bytes("cdf.csv", cdf)?))
}

/// The SLOs as one phrase: `p95_wait<=30m and jobs_unfinished==0`.
pub fn slo_phrase(spec: &SweepSpec) -> String {
    let v: Vec<&str> = spec.slos.iter().map(|s| s.text.as_str()).collect();
    v.join(" and ")
}

fn seeds_needed(spec: &SweepSpec) -> usize {
    let n = spec.seeds.len();
    ((spec.confidence * n as f64) - 1e-9).ceil().max(1.0) as usize
}

/// The recommendation, one sentence per load.
pub fn recommendation(spec: &SweepSpec, a: &Analysis) -> Vec<String> {
    let n = spec.seeds.len();
    let need = seeds_needed(spec);
    a.recommendations
        .iter()
        .map(|r| {
            let load = if spec.loads_milli.len() > 1 || r.load_milli != 1000 {
                format!("At {}× the trace's arrival rate, ", milli_label(r.load_milli))
            } else {
                String::new()
            };
            match r.best {
                Some(i) => {
                    let p = &a.points[i];
                    let smaller = a.points.iter().find(|q| q.next == Some(i));
                    let below = match smaller {
                        Some(s) => format!(
                            "; one step smaller ({} nodes) met them on {} of {n}",
                            s.point.nodes, s.met_all
                        ),
                        None => "; it is the smallest size tried".into(),
                    };
                    let start = if load.is_empty() { "Use" } else { "use" };
                    format!(
                        "{load}{start} {} nodes of {} under the {} policy: the smallest configuration \
                         meeting {} on {} of {n} seeds (at least {need} needed), at {} {} per hour{below}.",
                        p.point.nodes,
                        p.point.gpu_model,
                        p.point.policy,
                        slo_phrase(spec),
                        p.met_all,
                        money(p.cost_per_hour),
                        cost_unit(spec),
                    )
                }
                None => {
                    let best = a
                        .points
                        .iter()
                        .filter(|p| p.point.load_milli == r.load_milli)
                        .max_by(|x, y| x.attainment.total_cmp(&y.attainment))
                        .map(|p| {
                            format!(
                                " (best: {} nodes of {} under {}, {} of {n} seeds)",
                                p.point.nodes, p.point.gpu_model, p.point.policy, p.met_all
                            )
                        })
                        .unwrap_or_default();
                    let start = if load.is_empty() { "No" } else { "no" };
                    format!(
                        "{load}{start} configuration in the grid meets {} on at least {need} of {n} \
                         seeds{best}; try larger sizes (--vary nodes=...).",
                        slo_phrase(spec)
                    )
                }
            }
        })
        .collect()
}

/// Every plot: (file name, heading, SVG).
pub fn plots(
    spec: &SweepSpec,
    a: &Analysis,
    runs: &[RunData],
) -> Result<Vec<(String, String, Vec<u8>)>, ReportError> {
    let sub = format!(
        "{} · seeds {}",
        spec.provenance.scenario_name,
        seeds_label(&spec.seeds)
    );
    let sizes = XAxis::Nodes(spec.nodes.clone());
    let mut out = Vec::new();
    let conf = format!("confidence {} %", trim(spec.confidence * 100.0));
    out.push((
        "attainment.svg".to_string(),
        "SLO attainment vs cluster size".to_string(),
        line_svg(&Chart {
            file: "attainment.svg",
            title: "SLO attainment: share of seeds meeting every SLO",
            subtitle: &sub,
            x: sizes.clone(),
            x_desc: "nodes",
            y_desc: "seeds meeting every SLO",
            y_unit: Unit::Ratio,
            y_max: Some(1.05),
            legend_heading: "configuration",
            series: series::attainment(spec, a),
            reference: Some((spec.confidence, conf)),
            note: None,
        })?,
    ));
    let mut seen: Vec<&str> = Vec::new();
    for (k, s) in spec.slos.iter().enumerate() {
        if seen.contains(&s.metric.as_str()) {
            continue;
        }
        seen.push(&s.metric);
        let m = series::slo_metric(&s.metric);
        let file = format!("slo{}_{}.svg", k + 1, s.metric);
        let title = format!("{} vs cluster size", m.title);
        out.push((
            file.clone(),
            format!("{} (SLO {})", m.title, s.text),
            line_svg(&Chart {
                file: &file,
                title: &title,
                subtitle: &sub,
                x: sizes.clone(),
                x_desc: "nodes",
                y_desc: m.axis,
                y_unit: m.unit,
                y_max: None,
                legend_heading: "configuration",
                series: series::by_size(spec, a, &s.metric),
                reference: Some((s.threshold, format!("SLO {}", s.text))),
                note: Some("band: min–max over seeds"),
            })?,
        ));
    }
    let frag = series::slo_metric(metrics::FRAGMENTED);
    out.push((
        "fragmentation.svg".to_string(),
        "Fragmentation vs cluster size".to_string(),
        line_svg(&Chart {
            file: "fragmentation.svg",
            title: "Fragmented GPUs: idle while a waiting job fits the idle total",
            subtitle: &sub,
            x: sizes.clone(),
            x_desc: "nodes",
            y_desc: frag.axis,
            y_unit: Unit::Ratio,
            y_max: None,
            legend_heading: "configuration",
            series: series::by_size(spec, a, metrics::FRAGMENTED),
            reference: None,
            note: Some("band: min–max over seeds"),
        })?,
    ));
    let focus = a.focus();
    let label = |i: usize| a.points[i].point.label(spec);
    let tls: Vec<(usize, Vec<series::TimelineRow>)> = focus
        .iter()
        .map(|&i| (i, series::mean_timeline(spec, runs, i)))
        .collect();
    let tl_series = |f: fn(&series::TimelineRow) -> f64| -> Vec<Series> {
        tls.iter()
            .map(|(i, t)| Series {
                label: label(*i),
                points: t.iter().map(|x| (x.0 as f64, f(x))).collect(),
                band: Vec::new(),
            })
            .collect()
    };
    let note = "mean over seeds; recommended size and one step smaller";
    out.push((
        "timeline_gpu.svg".to_string(),
        "GPU busy ratio over time".to_string(),
        line_svg(&Chart {
            file: "timeline_gpu.svg",
            title: "GPUs allocated to running jobs over time",
            subtitle: &sub,
            x: XAxis::Time,
            x_desc: "time since the first submission",
            y_desc: "share of the cluster's GPUs",
            y_unit: Unit::Ratio,
            y_max: Some(1.05),
            legend_heading: "configuration",
            series: tl_series(|x| x.1),
            reference: None,
            note: Some(note),
        })?,
    ));
    out.push((
        "timeline_queue.svg".to_string(),
        "Queue length over time".to_string(),
        line_svg(&Chart {
            file: "timeline_queue.svg",
            title: "Jobs waiting over time",
            subtitle: &sub,
            x: XAxis::Time,
            x_desc: "time since the first submission",
            y_desc: "jobs submitted, not yet started",
            y_unit: Unit::Count,
            y_max: None,
            legend_heading: "configuration",
            series: tl_series(|x| x.2),
            reference: None,
            note: Some(note),
        })?,
    ));
    for (file, title, heading, pick) in [
        (
            "cdf_wait.svg",
            "Queueing delay CDF",
            "Wait CDF",
            (|x: &(f64, Option<f64>, Option<f64>)| x.1)
                as fn(&(f64, Option<f64>, Option<f64>)) -> Option<f64>,
        ),
        ("cdf_jct.svg", "Job completion time CDF", "JCT CDF", |x| x.2),
    ] {
        let s: Vec<Series> = focus
            .iter()
            .map(|&i| Series {
                label: label(i),
                points: series::mean_quantiles(runs, i)
                    .iter()
                    .filter_map(|x| pick(x).map(|v| (v.max(1.0), x.0)))
                    .collect(),
                band: Vec::new(),
            })
            .collect();
        out.push((
            file.to_string(),
            heading.to_string(),
            line_svg(&Chart::duration_cdf(
                file,
                title,
                &sub,
                "configuration",
                s,
                Some("quantiles averaged over seeds"),
            ))?,
        ));
    }
    Ok(out)
}

fn trim(v: f64) -> String {
    crate::plot::trim_decimals(v)
}

/// Columns of the what-if table: (header, cell).
pub fn whatif_rows(spec: &SweepSpec, a: &Analysis) -> (Vec<String>, Vec<Vec<String>>) {
    let mut h = strs(&[
        "policy",
        "GPU model",
        "load",
        "nodes",
        "seeds meeting SLOs",
        "meets",
    ]);
    h.push(format!("cost/h ({})", cost_unit(spec)));
    let mut metrics_shown: Vec<&str> = Vec::new();
    for s in &spec.slos {
        if !metrics_shown.contains(&s.metric.as_str()) {
            metrics_shown.push(&s.metric);
        }
    }
    for m in [
        "p95_wait_s",
        "avg_jct_s",
        "gpu_busy_ratio",
        metrics::FRAGMENTED,
    ] {
        if !metrics_shown.contains(&m) {
            metrics_shown.push(m);
        }
    }
    for m in &metrics_shown {
        h.push(series::slo_metric(m).header.to_string());
    }
    h.push("next step buys".into());
    let rows = a
        .points
        .iter()
        .map(|p| {
            let mut r = vec![
                p.point.policy.clone(),
                p.point.gpu_model.clone(),
                milli_label(p.point.load_milli),
                p.point.nodes.to_string(),
                format!("{} of {}", p.met_all, p.seeds),
                if p.stats.iter().all(Option::is_none) {
                    "no (too small to run the workload)".into()
                } else {
                    let verdict = if p.recommended {
                        "yes (recommended)"
                    } else if p.meets {
                        "yes"
                    } else {
                        "no"
                    };
                    match p.stat("jobs_unfinished") {
                        Some(s) if s.mean > 0.0 => format!(
                            "{verdict} ⚠ {} unfinished",
                            human_value(Unit::Count, s.mean)
                        ),
                        _ => verdict.to_string(),
                    }
                },
                money(p.cost_per_hour),
            ];
            for m in &metrics_shown {
                let unit = series::slo_metric(m).unit;
                r.push(match p.stat(m) {
                    Some(s) => human_value(unit, s.mean),
                    None => "–".into(),
                });
            }
            r.push(match p.next.map(|n| &a.points[n]) {
                Some(n) => {
                    let mut s = format!(
                        "+{} nodes, +{} {}/h: {:+} seeds meeting",
                        n.point.nodes - p.point.nodes,
                        money(n.cost_per_hour - p.cost_per_hour),
                        cost_unit(spec),
                        n.met_all as i64 - p.met_all as i64
                    );
                    if let Some(d) = wait_change(p, n) {
                        let _ = write!(
                            s,
                            ", p95 wait {}{}",
                            if d <= 0.0 { "−" } else { "+" },
                            crate::compare::human_secs(d.abs())
                        );
                    }
                    s
                }
                None => "–".into(),
            });
            r
        })
        .collect();
    (h, rows)
}

/// `capacity.md`.
pub fn markdown(spec: &SweepSpec, a: &Analysis, plots: &[(String, String, Vec<u8>)]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Orrery capacity: {}", spec.provenance.scenario_name);
    o.push('\n');
    for s in recommendation(spec, a) {
        let _ = writeln!(o, "**{s}**");
        o.push('\n');
    }
    let _ = writeln!(o, "## SLOs");
    o.push('\n');
    for (k, s) in spec.slos.iter().enumerate() {
        let _ = writeln!(o, "- slo{}: `{}`", k + 1, s.text);
    }
    let _ = writeln!(
        o,
        "\nA configuration meets the SLOs when at least {} of its {} seeds meet every one \
         (confidence {}); the recommendation per policy is the smallest size from which every \
         larger size meets them.",
        seeds_needed(spec),
        spec.seeds.len(),
        trim(spec.confidence)
    );
    o.push('\n');
    let _ = writeln!(o, "## What-if grid");
    o.push('\n');
    let (h, rows) = whatif_rows(spec, a);
    let _ = writeln!(o, "| {} |", h.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(h.len()));
    for r in rows {
        let _ = writeln!(o, "| {} |", r.join(" | "));
    }
    o.push('\n');
    let _ = writeln!(o, "## Plots");
    o.push('\n');
    for (file, heading, _) in plots {
        let _ = writeln!(o, "- {heading}: `{file}`");
    }
    let _ = writeln!(
        o,
        "\nSeries: `capacity_summary.csv` (per configuration), `capacity.csv` (per run), \
         `timeline.csv`, `cdf.csv` (plotted configurations), `runs*.csv` (raw, every run)."
    );
    o.push('\n');
    let _ = writeln!(o, "## Inputs and provenance");
    o.push('\n');
    for (k, v) in provenance(spec) {
        let _ = writeln!(o, "- {k}: {v}");
    }
    o
}

/// (label, value) lines describing the inputs.
pub fn provenance(spec: &SweepSpec) -> Vec<(&'static str, String)> {
    let p = &spec.provenance;
    let pools: Vec<String> = p
        .base_pools
        .iter()
        .map(|(n, c, g, m)| format!("{n}: {c} nodes × {g} {m}"))
        .collect();
    vec![
        ("Orrery version", p.orrery_version.clone()),
        (
            "scenario",
            format!("{} ({})", p.scenario_file, p.scenario_name),
        ),
        (
            "scenario hash (FNV-1a 64, YAML + traces)",
            p.scenario_hash.clone(),
        ),
        (
            "traces",
            if p.traces.is_empty() {
                "inline jobs".into()
            } else {
                p.traces.join(", ")
            },
        ),
        ("node pools as written", pools.join("; ")),
        (
            "nodes",
            spec.nodes
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("policies", spec.policies.join(", ")),
        ("GPU models", spec.gpu_models.join(", ")),
        (
            "loads",
            spec.loads_milli
                .iter()
                .map(|&l| milli_label(l))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("seeds", seeds_label(&spec.seeds)),
        (
            "input shaking",
            format!(
                "inter-arrival gaps ×U[{}, {}], durations ×U[{}, {}], per seed",
                milli_label(1000 - spec.arrival_jitter_milli.min(1000)),
                milli_label(1000 + spec.arrival_jitter_milli),
                milli_label(1000 - spec.duration_jitter_milli.min(1000)),
                milli_label(1000 + spec.duration_jitter_milli),
            ),
        ),
        ("price per node-hour", {
            let mut s = format!("{} per node-hour", money(spec.prices.default));
            for (m, v) in &spec.prices.per_model {
                let _ = write!(s, ", {m}: {} per node-hour", money(*v));
            }
            if cost_unit(spec) == "node-hours" {
                s.push_str(" (no --price given: costs are counted in node-hours)");
            } else {
                s.push_str(" (in the unit of --price; costs per hour are in the same unit)");
            }
            s
        }),
        (
            "horizon",
            spec.horizon
                .clone()
                .unwrap_or_else(|| "none (until drained)".into()),
        ),
        (
            "reproduce",
            format!(
                "orrery capacity {} (options in sweep.json)",
                p.scenario_file
            ),
        ),
    ]
}
