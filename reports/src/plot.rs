//! SVG plots of a comparison, drawn with plotters' SVG backend.
//!
//! The bytes are deterministic: coordinates are integer pixels, and without a TrueType
//! feature plotters estimates text extents from the character count instead of reading
//! system fonts.

use plotters::coord::Shift;
use std::ops::Range;

use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::compare::{Metric, Stat, Unit, human_secs, human_value};
use crate::write::ReportError;

const SIZE: (u32, u32) = (960, 600);
pub(crate) const FONT: &str = "sans-serif";

/// Tableau 10: distinguishable, colour-blind friendly enough, and fixed.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Most points drawn per CDF line; larger samples are thinned to evenly spaced ranks.
const MAX_CDF_POINTS: usize = 1500;

pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// An f64 axis with exactly the given tick positions (labels come from the mesh's
/// formatter). plotters' own `WithKeyPoints` over an f64 range has no value formatter.
pub(crate) struct Ticks<R> {
    inner: R,
    ticks: Vec<f64>,
}

pub(crate) fn ticks<X: AsRangedCoord<Value = f64>>(
    x: X,
    ticks: Vec<f64>,
) -> Ticks<X::CoordDescType> {
    Ticks {
        inner: x.into(),
        ticks,
    }
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticks<R> {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

pub(crate) fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub(crate) fn svg(
    what: &str,
    draw: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<Vec<u8>, ReportError> {
    svg_sized(what, SIZE.1, draw)
}

/// [`svg`] with another height (the width is always 960).
pub(crate) fn svg_sized(
    what: &str,
    height: u32,
    draw: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<Vec<u8>, ReportError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (SIZE.0, height)).into_drawing_area();
        let res = root
            .fill(&WHITE)
            .map_err(fail)
            .and_then(|_| draw(&root))
            .and_then(|_| root.present().map_err(fail));
        res.map_err(|msg| ReportError::Encode {
            what: "plot",
            msg: format!("{what}: {msg}"),
        })?;
    }
    Ok(buf.into_bytes())
}

/// Width of the legend panel on the right.
const LEGEND_W: u32 = 220;

/// Title and subtitle across the top; returns the plot area below them and the legend
/// panel to its right.
pub(crate) fn titled<'a>(
    root: &Area<'a>,
    title: &str,
    subtitle: &str,
) -> Result<(Area<'a>, Area<'a>), String> {
    let (top, body) = root.split_vertically(64);
    let center = Pos::new(HPos::Center, VPos::Top);
    let w = SIZE.0 as i32;
    top.draw_text(
        title,
        &(FONT, 22)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK)
            .pos(center),
        (w / 2, 12),
    )
    .map_err(fail)?;
    top.draw_text(
        subtitle,
        &(FONT, 14)
            .into_font()
            .color(&RGBColor(90, 90, 90))
            .pos(center),
        (w / 2, 40),
    )
    .map_err(fail)?;
    Ok(body.split_horizontally(SIZE.0 - LEGEND_W))
}

/// How a legend entry's key is drawn.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// Entry `i` is series `i`, drawn in [`line_style`] `i`; with `reference`, the last
    /// entry is the grey dashed reference line.
    Line {
        reference: bool,
    },
    Box,
}

/// How series `i` is stroked, so that lines which coincide stay visible: the first is
/// solid and widest, the next ones dashed or dotted on top of it, so the colours beneath
/// show through the gaps. `(width, dash, gap)`; `dash` 0 means solid.
pub(crate) fn line_style(i: usize) -> (u32, u32, u32) {
    const STYLES: [(u32, u32, u32); 4] = [(4, 0, 0), (2, 12, 6), (2, 3, 5), (2, 22, 8)];
    let (w, d, g) = STYLES[i % STYLES.len()];
    // Past the first four, thinner, so the wider lines beneath stay visible at the sides.
    (if i >= STYLES.len() { 1 } else { w }, d, g)
}

/// The reference line's stroke (an SLO threshold): grey, long dashes.
pub(crate) const REFERENCE_STYLE: (u32, u32, u32) = (2, 8, 6);

/// What the legend says about [`line_style`] when a chart has more than one line.
pub(crate) const OVERLAP_NOTE: &str =
    "lines that coincide are drawn dashed or dotted over one another";

/// Draws a line in backend pixels, solid or dashed.
fn styled_path<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: Vec<(i32, i32)>,
    c: RGBColor,
    (w, dash, gap): (u32, u32, u32),
) -> Result<(), String> {
    if dash == 0 {
        area.draw(&PathElement::new(points, c.stroke_width(w)))
            .map_err(fail)
    } else {
        area.draw(&plotters::element::DashedPathElement::new(
            points,
            dash,
            gap,
            c.stroke_width(w),
        ))
        .map_err(fail)
    }
}

/// Series `i` of a chart, stroked with [`line_style`] `i`.
pub(crate) fn styled_line<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    points: Vec<(f64, f64)>,
    c: RGBColor,
    style: (u32, u32, u32),
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let (w, dash, gap) = style;
    if dash == 0 {
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(w)))
            .map_err(fail)?;
    } else {
        chart
            .draw_series(DashedLineSeries::new(points, dash, gap, c.stroke_width(w)))
            .map_err(fail)?;
    }
    Ok(())
}

/// `text` in lines of at most `max_chars` characters, broken at spaces; a word longer than
/// a line is cut into pieces. (Legend text has no automatic wrapping in SVG: plotters
/// estimates about 0.55 em per character, and browsers' sans-serif is close to that.)
pub(crate) fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let chars: Vec<char> = word.chars().collect();
        for piece in chars.chunks(max_chars) {
            let piece: String = piece.iter().collect();
            let len = cur.chars().count();
            if len > 0 && len + 1 + piece.chars().count() > max_chars {
                lines.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(&piece);
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Ticks for a time axis over `[lo, hi]`: from 0 when `lo` is within the first tenth of
/// the range, else from `lo` rounded down to a tick step; returns the axis start and the
/// ticks.
pub(crate) fn time_ticks_from(lo: f64, hi: f64, max_ticks: usize) -> (f64, Vec<f64>) {
    if lo <= hi / 10.0 {
        return (0.0, linear_time_ticks(hi, max_ticks));
    }
    let t = linear_time_ticks(hi - lo, max_ticks);
    let step = match t.get(1) {
        Some(s) if *s > 0.0 => *s,
        _ => return (0.0, linear_time_ticks(hi, max_ticks)),
    };
    let a = (lo / step).floor() * step;
    let ticks = (0..)
        .map(|k| a + k as f64 * step)
        .take_while(|v| *v <= hi)
        .collect();
    (a, ticks)
}

/// The legend panel: a heading, one entry per series (key in its colour and stroke, then
/// its label), and an optional note below, outside the plot so it never hides data.
/// Long labels and the note wrap at word boundaries to stay inside the panel; entries
/// that do not fit the panel's height are counted in a last "+N more" line.
pub(crate) fn legend(
    area: &Area,
    heading: &str,
    key: Key,
    entries: &[(String, RGBColor)],
    note: Option<&str>,
) -> Result<(), String> {
    const LABEL_CHARS: usize = 26;
    const NOTE_CHARS: usize = 31;
    let left = Pos::new(HPos::Left, VPos::Center);
    let grey = RGBColor(90, 90, 90);
    let (x0, mut y) = (8, 24);
    let bottom = area.dim_in_pixel().1 as i32 - 8;
    area.draw_text(
        heading,
        &(FONT, 14)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK)
            .pos(left),
        (x0, y),
    )
    .map_err(fail)?;
    // Paragraphs of the note, each wrapped; an empty line between them.
    let mut note_lines: Vec<String> = note.map(|n| wrap(n, NOTE_CHARS)).unwrap_or_default();
    if matches!(key, Key::Line { .. }) && entries.len() > 1 {
        if !note_lines.is_empty() {
            note_lines.push(String::new());
        }
        note_lines.extend(wrap(OVERLAP_NOTE, NOTE_CHARS));
    }
    // Room the note needs below the entries.
    let note_h = if note_lines.is_empty() {
        0
    } else {
        18 + 15 * note_lines.len() as i32
    };
    for (i, (label, c)) in entries.iter().enumerate() {
        let lines = wrap(label, LABEL_CHARS);
        let h = 22 + 15 * (lines.len() as i32 - 1);
        let last = i + 1 == entries.len();
        if y + h + note_h + if last { 0 } else { 22 } > bottom && !last {
            let rest = entries.len() - i;
            y += 22;
            area.draw_text(
                &format!("+{rest} more (not listed)"),
                &(FONT, 13).into_font().color(&grey).pos(left),
                (x0, y),
            )
            .map_err(fail)?;
            break;
        }
        y += 22;
        match key {
            Key::Line { reference } => {
                let style = if reference && last {
                    REFERENCE_STYLE
                } else {
                    line_style(i)
                };
                styled_path(area, vec![(x0, y), (x0 + 22, y)], *c, style)
            }
            Key::Box => area
                .draw(&Rectangle::new(
                    [(x0 + 4, y - 7), (x0 + 18, y + 7)],
                    c.filled(),
                ))
                .map_err(fail),
        }?;
        for (k, l) in lines.iter().enumerate() {
            area.draw_text(
                l,
                &(FONT, 13).into_font().color(&BLACK).pos(left),
                (x0 + 30, y + 15 * k as i32),
            )
            .map_err(fail)?;
        }
        y += 15 * (lines.len() as i32 - 1);
    }
    y += 34;
    for l in &note_lines {
        if l.is_empty() {
            y += 6;
            continue;
        }
        area.draw_text(l, &(FONT, 12).into_font().color(&grey).pos(left), (x0, y))
            .map_err(fail)?;
        y += 15;
    }
    Ok(())
}

/// Durations that make readable tick labels.
const NICE_SECS: &[f64] = &[
    0.001, 0.01, 0.1, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
    3600.0, 7200.0, 14400.0, 21600.0, 43200.0, 86400.0, 172800.0, 345600.0, 604800.0, 1209600.0,
    2592000.0, 7776000.0, 31536000.0,
];

/// Evenly spaced ticks from 0 with a nice duration step, at most about `max_ticks`.
pub(crate) fn linear_time_ticks(hi: f64, max_ticks: usize) -> Vec<f64> {
    let step = NICE_SECS
        .iter()
        .copied()
        .find(|s| hi / s <= max_ticks as f64)
        .unwrap_or_else(|| (hi / max_ticks as f64).ceil());
    (0..)
        .map(|k| k as f64 * step)
        .take_while(|v| *v <= hi)
        .collect()
}

/// Ticks for a log time axis: 1s, 10s, 1m, 10m, 1h, 4h, 1d, 7d, 30d, ... within range.
pub(crate) fn log_time_ticks(lo: f64, hi: f64) -> Vec<f64> {
    [
        0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 600.0, 3600.0, 14400.0, 86400.0, 604800.0, 2592000.0,
        31536000.0,
    ]
    .into_iter()
    .filter(|v| *v >= lo && *v <= hi)
    .collect()
}

/// A tick value without float noise: 0.30000000000000004 -> "0.3", 20.0 -> "20".
pub(crate) fn trim_decimals(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A CDF as (x, fraction ≤ x) points, thinned to at most `MAX_CDF_POINTS` ranks.
pub(crate) fn cdf_points(sample: &[f64], floor: f64) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = sample.iter().map(|x| x.max(floor)).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let step = n.div_ceil(MAX_CDF_POINTS);
    let mut pts = Vec::with_capacity(2 * (n / step + 2));
    let mut prev = 0.0;
    let mut i = step - 1;
    loop {
        let i_last = i.min(n - 1);
        let f = (i_last + 1) as f64 / n as f64;
        // Steps: up at x from the previous fraction to this one.
        pts.push((v[i_last], prev));
        pts.push((v[i_last], f));
        prev = f;
        if i_last == n - 1 {
            break;
        }
        i += step;
    }
    pts
}

/// `jct_cdf.svg`: the CDF of job completion times per policy, pooled over seeds; the x
/// axis is logarithmic when the largest JCT is at least 100 times the smallest.
pub fn jct_cdf_svg(subtitle: &str, series: &[(&str, Vec<f64>)]) -> Result<Vec<u8>, ReportError> {
    svg("jct_cdf.svg", |root| {
        let (body, side) = titled(
            root,
            "Job completion time CDF (pooled over seeds)",
            subtitle,
        )?;
        let entries: Vec<(String, RGBColor)> = series
            .iter()
            .enumerate()
            .map(|(i, (name, sample))| {
                let label = if sample.is_empty() {
                    format!("{name} (no job completed)")
                } else {
                    format!("{name} (n={})", sample.len())
                };
                (label, color(i))
            })
            .collect();
        legend(
            &side,
            "policy",
            Key::Line { reference: false },
            &entries,
            Some("n: completed jobs, all seeds"),
        )?;
        let positive = series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|x| *x > 0.0);
        let lo = positive.clone().fold(f64::INFINITY, f64::min);
        let hi = positive.fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            // No job completed under any policy: an empty frame with the legend.
            return cdf_chart(&body, ticks(0.0..1.0, vec![]), series, 0.0, false);
        }
        if hi / lo >= 100.0 {
            let (a, b) = (lo / 1.5, hi * 1.5);
            let t = log_time_ticks(a, b);
            cdf_chart(&body, ticks((a..b).log_scale(), t), series, lo, true)
        } else {
            let b = hi * 1.05;
            let t = linear_time_ticks(b, 10);
            cdf_chart(&body, ticks(0.0..b, t), series, 0.0, false)
        }
    })
}

fn cdf_chart<R: Ranged<ValueType = f64>>(
    area: &Area,
    x: Ticks<R>,
    series: &[(&str, Vec<f64>)],
    floor: f64,
    log: bool,
) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .margin_left(16)
        .margin_right(8)
        .margin_bottom(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(
            x,
            ticks(0.0..1.0, (0..=10).map(|k| k as f64 / 10.0).collect()),
        )
        .map_err(fail)?;
    let x_desc = if log {
        "job completion time (submit to end), log scale"
    } else {
        "job completion time (submit to end)"
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("fraction of completed jobs ≤ x")
        .x_label_formatter(&|v| human_secs(*v))
        .y_label_formatter(&|v| format!("{:.0} %", v * 100.0))
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 13))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(fail)?;
    for (i, (_, sample)) in series.iter().enumerate() {
        styled_line(
            &mut chart,
            cdf_points(sample, floor),
            color(i),
            line_style(i),
        )?;
    }
    Ok(())
}

/// `bars_<metric>.svg`: the mean of one metric per policy, with a min–max whisker over
/// the seeds when they differ; "n/a" for a policy with no sample.
pub fn bar_svg(
    m: &Metric,
    subtitle: &str,
    bars: &[(&str, Option<Stat>)],
) -> Result<Vec<u8>, ReportError> {
    let file = format!("bars_{}.svg", m.name);
    svg(&file, |root| {
        let title = format!("{} — mean per policy", m.title);
        let (body, side) = titled(root, &title, subtitle)?;
        let n = bars.len().max(1);
        let top = bars
            .iter()
            .filter_map(|(_, s)| s.map(|s| s.max.max(s.mean)))
            .fold(0.0_f64, f64::max);
        let y_hi = match m.unit {
            _ if top <= 0.0 => 1.0,
            Unit::Ratio => (top * 1.15).min(1.0).max(top),
            Unit::Count => (top * 1.15).max(top + 1.0),
            _ => top * 1.15,
        };
        let y_ticks = match m.unit {
            Unit::Seconds => linear_time_ticks(y_hi, 8),
            Unit::Count => {
                let step = (y_hi / 8.0).ceil().max(1.0);
                (0..)
                    .map(|k| k as f64 * step)
                    .take_while(|v| *v <= y_hi)
                    .collect()
            }
            _ => {
                let raw = y_hi / 8.0;
                let mag = 10f64.powf(raw.log10().floor());
                let step = [1.0, 2.0, 5.0, 10.0]
                    .into_iter()
                    .map(|k| k * mag)
                    .find(|s| *s >= raw)
                    .unwrap_or(raw);
                (0..)
                    .map(|k| k as f64 * step)
                    .take_while(|v| *v <= y_hi + 1e-12)
                    .collect()
            }
        };
        let x_ticks: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let names: Vec<String> = bars.iter().map(|(p, _)| p.to_string()).collect();
        let unit = m.unit;
        let mut chart = ChartBuilder::on(&body)
            .margin_left(16)
            .margin_right(8)
            .margin_bottom(12)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(
                ticks(-0.5..n as f64 - 0.5, x_ticks),
                ticks(0.0..y_hi, y_ticks),
            )
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("policy")
            .y_desc(m.axis)
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-9 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| match unit {
                Unit::Seconds => human_secs(*v),
                Unit::Ratio => format!("{} %", trim_decimals(v * 100.0)),
                Unit::Count => format!("{v:.0}"),
                Unit::GpuHours => trim_decimals(*v),
            })
            .axis_desc_style((FONT, 15))
            .label_style((FONT, if n > 6 { 11 } else { 14 }))
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(fail)?;
        let value_style = (FONT, if n > 6 { 11 } else { 14 })
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        let mut whiskers = false;
        let mut entries: Vec<(String, RGBColor)> = Vec::new();
        for (i, (name, s)) in bars.iter().enumerate() {
            let c = color(i);
            let x = i as f64;
            entries.push((
                match s {
                    Some(s) => format!("{name}: {}", human_value(unit, s.mean)),
                    None => format!("{name}: n/a"),
                },
                c,
            ));
            let (y, text) = match s {
                Some(s) => (s.mean, human_value(unit, s.mean)),
                None => (0.0, "n/a (no sample)".to_string()),
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.3, 0.0), (x + 0.3, y)],
                    c.mix(0.85).filled(),
                )))
                .map_err(fail)?;
            let mut text_y = y;
            if let Some(s) = s.filter(|s| s.n > 1 && s.max > s.min) {
                whiskers = true;
                text_y = s.max;
                let dark = RGBColor(40, 40, 40).stroke_width(2);
                chart
                    .draw_series([
                        PathElement::new(vec![(x, s.min), (x, s.max)], dark),
                        PathElement::new(vec![(x - 0.08, s.min), (x + 0.08, s.min)], dark),
                        PathElement::new(vec![(x - 0.08, s.max), (x + 0.08, s.max)], dark),
                    ])
                    .map_err(fail)?;
            }
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, text_y)) + Text::new(text, (0, -6), value_style.clone()),
                ))
                .map_err(fail)?;
        }
        let note = whiskers.then_some("whiskers: min–max over seeds");
        legend(&side, "policy", Key::Box, &entries, note)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_steps_end_at_one() {
        let p = cdf_points(&[3.0, 1.0, 2.0], 0.0);
        assert_eq!(p.first(), Some(&(1.0, 0.0)));
        assert_eq!(p.last(), Some(&(3.0, 1.0)));
        let big: Vec<f64> = (1..=10_000).map(f64::from).collect();
        let p = cdf_points(&big, 0.0);
        assert!(p.len() <= 2 * MAX_CDF_POINTS + 2);
        assert_eq!(p.last(), Some(&(10_000.0, 1.0)));
    }

    #[test]
    fn tick_values_have_no_float_noise() {
        assert_eq!(trim_decimals(3.0 * 0.1), "0.3");
        assert_eq!(trim_decimals(20.0), "20");
        assert_eq!(trim_decimals(0.0), "0");
    }

    #[test]
    fn legend_text_wraps_and_cuts_long_words() {
        // "mean over seeds;" and "recommended size" are 16 characters each: they fit 16
        // exactly, and each breaks once at 15.
        assert_eq!(
            wrap("mean over seeds; recommended size", 16),
            vec!["mean over seeds;", "recommended size"]
        );
        assert_eq!(
            wrap("mean over seeds; recommended size", 15),
            vec!["mean over", "seeds;", "recommended", "size"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn time_axis_starts_near_the_data() {
        // From 0 while the data start in the first tenth.
        assert_eq!(time_ticks_from(10.0, 250.0, 10).0, 0.0);
        // Data from 21 d to 56 d: the span (just under 35 d) takes the first nice step
        // giving at most 10 ticks, 4 d (2 d would give 17); 21 d rounds down to 20 d.
        let (a, t) = time_ticks_from(21.0 * 86400.0 + 5.0, 56.0 * 86400.0, 10);
        assert_eq!(a, 20.0 * 86400.0);
        assert_eq!(t.len(), 10);
        assert_eq!(t.last(), Some(&(56.0 * 86400.0)));
    }

    #[test]
    fn time_ticks_are_round() {
        assert_eq!(
            linear_time_ticks(250.0, 10),
            vec![0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0, 240.0]
        );
        assert_eq!(log_time_ticks(5.0, 5000.0), vec![10.0, 60.0, 600.0, 3600.0]);
    }
}
