//! The capacity report's plots: one line chart helper (optional min–max band per series,
//! an optional reference line) used for attainment, SLO metrics and fragmentation against
//! cluster size, for timelines, and for CDFs.

use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;

use crate::compare::{Unit, human_secs, human_value};
use crate::plot::{
    Area, FONT, Key, REFERENCE_STYLE, Ticks, color, fail, legend, line_style, linear_time_ticks,
    log_time_ticks, styled_line, svg, ticks, time_ticks_from, titled, trim_decimals,
};
use crate::write::ReportError;

/// What the x axis shows.
#[derive(Clone, Debug, PartialEq)]
pub enum XAxis {
    /// Cluster sizes (node counts), ticks at these sizes; logarithmic when they span 8× or
    /// more.
    Nodes(Vec<u32>),
    /// Simulated time from 0, linear.
    Time,
    /// A duration sample, logarithmic when it spans 100× or more.
    Duration,
}

/// One line, with an optional band `(x, low, high)` drawn under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub band: Vec<(f64, f64, f64)>,
}

pub struct Chart<'a> {
    pub file: &'a str,
    pub title: &'a str,
    pub subtitle: &'a str,
    pub x: XAxis,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub y_unit: Unit,
    /// A fixed y range top (e.g. 1 for ratios); else from the data.
    pub y_max: Option<f64>,
    pub legend_heading: &'a str,
    pub series: Vec<Series>,
    /// A horizontal reference line and its legend text (an SLO threshold).
    pub reference: Option<(f64, String)>,
    pub note: Option<&'a str>,
}

impl<'a> Chart<'a> {
    /// A CDF of durations: the fraction of jobs (y) with a time ≤ x, log x axis when the
    /// sample spans 100× or more (the capacity report's and `report.html`'s CDFs).
    pub fn duration_cdf(
        file: &'a str,
        title: &'a str,
        subtitle: &'a str,
        legend_heading: &'a str,
        series: Vec<Series>,
        note: Option<&'a str>,
    ) -> Chart<'a> {
        Chart {
            file,
            title,
            subtitle,
            x: XAxis::Duration,
            x_desc: "time (values under 1 s drawn at 1 s)",
            y_desc: "fraction of jobs ≤ x",
            y_unit: Unit::Ratio,
            y_max: Some(1.0),
            legend_heading,
            series,
            reference: None,
            note,
        }
    }
}

fn y_ticks(unit: Unit, hi: f64) -> Vec<f64> {
    match unit {
        Unit::Seconds => linear_time_ticks(hi, 8),
        _ => {
            let raw = hi / 8.0;
            let mag = 10f64.powf(raw.log10().floor());
            let mut step = [1.0, 2.0, 5.0, 10.0]
                .into_iter()
                .map(|k| k * mag)
                .find(|s| *s >= raw)
                .unwrap_or(raw);
            if unit == Unit::Count {
                step = step.max(1.0).round();
            }
            (0..)
                .map(|k| k as f64 * step)
                .take_while(|v| *v <= hi + 1e-12)
                .collect()
        }
    }
}

fn y_label(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Seconds => human_secs(v),
        Unit::Ratio => format!("{} %", trim_decimals(v * 100.0)),
        Unit::Count => trim_decimals(v),
        Unit::GpuHours => trim_decimals(v),
    }
}

/// The SVG of a chart.
pub fn line_svg(c: &Chart) -> Result<Vec<u8>, ReportError> {
    svg(c.file, |root| {
        let (body, side) = titled(root, c.title, c.subtitle)?;
        let mut entries: Vec<(String, RGBColor)> = c
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.label.clone(), color(i)))
            .collect();
        if let Some((_, label)) = &c.reference {
            entries.push((label.clone(), RGBColor(60, 60, 60)));
        }
        let key = Key::Line {
            reference: c.reference.is_some(),
        };
        legend(&side, c.legend_heading, key, &entries, c.note)?;
        let ys = c
            .series
            .iter()
            .flat_map(|s| {
                s.points
                    .iter()
                    .map(|p| p.1)
                    .chain(s.band.iter().map(|b| b.2))
            })
            .chain(c.reference.iter().map(|r| r.0));
        let top = ys.fold(0.0_f64, f64::max);
        let y_hi = c.y_max.unwrap_or(if top > 0.0 { top * 1.1 } else { 1.0 });
        let xs = c.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let yt = y_ticks(c.y_unit, y_hi);
        match &c.x {
            XAxis::Nodes(sizes) => {
                let (a, b) = (
                    f64::from(*sizes.first().unwrap_or(&1)),
                    f64::from(*sizes.last().unwrap_or(&1)),
                );
                let t: Vec<f64> = if sizes.len() <= 12 {
                    sizes.iter().map(|&n| f64::from(n)).collect()
                } else {
                    let step = sizes.len().div_ceil(12);
                    sizes.iter().step_by(step).map(|&n| f64::from(n)).collect()
                };
                let fmt = |v: &f64| format!("{v:.0}");
                if b / a >= 8.0 {
                    let r = (a / 1.2..b * 1.2).log_scale();
                    draw(&body, c, ticks(r, t), ticks(0.0..y_hi, yt), &fmt)
                } else {
                    let pad = ((b - a) * 0.05).max(0.5);
                    draw(
                        &body,
                        c,
                        ticks(a - pad..b + pad, t),
                        ticks(0.0..y_hi, yt),
                        &fmt,
                    )
                }
            }
            XAxis::Time => {
                // From 0, unless the data start late (simulated time of a trace that
                // begins weeks in): then from a tick step below the first point.
                let b = hi.max(1.0) * 1.02;
                let (a, t) = time_ticks_from(lo.max(0.0), b, 10);
                draw(&body, c, ticks(a..b, t), ticks(0.0..y_hi, yt), &|v| {
                    human_secs(*v)
                })
            }
            XAxis::Duration => {
                let lo = lo.max(1.0);
                let hi = hi.max(lo * 1.01);
                if hi / lo >= 100.0 {
                    let (a, b) = (lo / 1.5, hi * 1.5);
                    let t = log_time_ticks(a, b);
                    draw(
                        &body,
                        c,
                        ticks((a..b).log_scale(), t),
                        ticks(0.0..y_hi, yt),
                        &|v| human_secs(*v),
                    )
                } else {
                    let b = hi * 1.05;
                    let t = linear_time_ticks(b, 10);
                    draw(&body, c, ticks(0.0..b, t), ticks(0.0..y_hi, yt), &|v| {
                        human_secs(*v)
                    })
                }
            }
        }
    })
}

fn draw<X, Y>(
    area: &Area,
    c: &Chart,
    x: Ticks<X>,
    y: Ticks<Y>,
    x_fmt: &dyn Fn(&f64) -> String,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let x_range = x.range();
    let mut chart = ChartBuilder::on(area)
        .margin_left(16)
        .margin_right(16)
        .margin_bottom(12)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(fail)?;
    let unit = c.y_unit;
    chart
        .configure_mesh()
        .x_desc(c.x_desc)
        .y_desc(c.y_desc)
        .x_label_formatter(x_fmt)
        .y_label_formatter(&|v| y_label(unit, *v))
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 13))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(fail)?;
    for (i, s) in c.series.iter().enumerate() {
        if s.band.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = s.band.iter().map(|b| (b.0, b.1)).collect();
            poly.extend(s.band.iter().rev().map(|b| (b.0, b.2)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    color(i).mix(0.18).filled(),
                )))
                .map_err(fail)?;
        }
    }
    for (i, s) in c.series.iter().enumerate() {
        styled_line(&mut chart, s.points.clone(), color(i), line_style(i))?;
        if matches!(c.x, XAxis::Nodes(_)) {
            // A marker shape per series too, so coinciding points stay told apart.
            let col = color(i);
            match i % 4 {
                0 => chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 5, col.filled()))),
                1 => chart.draw_series(
                    s.points
                        .iter()
                        .map(|&p| TriangleMarker::new(p, 5, col.filled())),
                ),
                2 => chart.draw_series(
                    s.points
                        .iter()
                        .map(|&p| Cross::new(p, 4, col.stroke_width(2))),
                ),
                _ => chart.draw_series(
                    s.points
                        .iter()
                        .map(|&p| Circle::new(p, 7, col.stroke_width(2))),
                ),
            }
            .map_err(fail)?;
        }
    }
    if let Some((v, _)) = &c.reference {
        styled_line(
            &mut chart,
            vec![(x_range.start, *v), (x_range.end, *v)],
            RGBColor(60, 60, 60),
            REFERENCE_STYLE,
        )?;
    }
    Ok(())
}

/// A value for a legend.
pub fn value_label(unit: Unit, v: f64) -> String {
    human_value(unit, v)
}
