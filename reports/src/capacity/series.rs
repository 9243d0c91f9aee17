//! The plotted series, averaged over seeds: timelines and quantile curves of the focus
//! configurations, and metric-vs-size curves per group.

use super::analyze::Analysis;
use super::data::RunData;
use super::metrics;
use super::plots::Series;
use super::spec::SweepSpec;

/// One bin of a mean timeline: (time_s, GPU busy ratio, jobs waiting, fragmented GPU
/// ratio, seeds with that bin).
pub type TimelineRow = (u64, f64, f64, f64, usize);

/// Mean over seeds, per bin, of one configuration's timeline: (time_s, busy, queued,
/// fragmented, seeds with that bin). Seeds whose run ended earlier have no later bins.
pub fn mean_timeline(
    spec: &SweepSpec,
    runs: &[RunData],
    point: usize,
) -> Vec<(u64, f64, f64, f64, usize)> {
    let mine: Vec<&RunData> = runs.iter().filter(|r| r.point == point).collect();
    let bins = mine.iter().map(|r| r.timeline.len()).max().unwrap_or(0);
    (0..bins)
        .map(|b| {
            let have: Vec<_> = mine.iter().filter_map(|r| r.timeline.get(b)).collect();
            let n = have.len().max(1) as f64;
            (
                b as u64 * spec.timeline_bin_s,
                have.iter().map(|x| x.gpu_busy_ratio).sum::<f64>() / n,
                have.iter().map(|x| x.queued_jobs).sum::<f64>() / n,
                have.iter().map(|x| x.fragmented_gpu_ratio).sum::<f64>() / n,
                have.len(),
            )
        })
        .collect()
}

/// Mean over seeds of each quantile (seeds without a sample left out): (quantile, wait,
/// JCT).
pub fn mean_quantiles(runs: &[RunData], point: usize) -> Vec<(f64, Option<f64>, Option<f64>)> {
    let mine: Vec<&RunData> = runs.iter().filter(|r| r.point == point).collect();
    let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    (0..=100)
        .map(|q| {
            let w = mine
                .iter()
                .filter_map(|r| r.quantiles.get(q).and_then(|x| x.0))
                .collect();
            let j = mine
                .iter()
                .filter_map(|r| r.quantiles.get(q).and_then(|x| x.1))
                .collect();
            (q as f64 / 100.0, mean(w), mean(j))
        })
        .collect()
}

/// Label of a group (the configuration without its size).
pub fn group_label(spec: &SweepSpec, a: &Analysis, i: usize) -> String {
    let p = &a.points[i].point;
    let mut parts = vec![p.policy.clone()];
    if spec.gpu_models.len() > 1 {
        parts.push(p.gpu_model.clone());
    }
    if spec.loads_milli.len() > 1 {
        parts.push(format!("load {}", super::spec::milli_label(p.load_milli)));
    }
    parts.join(" · ")
}

/// Index of the first point of every group.
pub fn group_starts(a: &Analysis) -> Vec<usize> {
    (0..a.points.len())
        .filter(|&i| i == 0 || a.points[i - 1].next != Some(i))
        .collect()
}

/// Per group, a metric against size: mean line with a min–max band over seeds.
pub fn by_size(spec: &SweepSpec, a: &Analysis, metric: &str) -> Vec<Series> {
    group_starts(a)
        .into_iter()
        .map(|start| {
            let mut s = Series {
                label: group_label(spec, a, start),
                points: Vec::new(),
                band: Vec::new(),
            };
            let mut i = Some(start);
            while let Some(k) = i {
                let p = &a.points[k];
                if let Some(st) = p.stat(metric) {
                    let x = f64::from(p.point.nodes);
                    s.points.push((x, st.mean));
                    s.band.push((x, st.min, st.max));
                }
                i = p.next;
            }
            s
        })
        .collect()
}

/// Per group, SLO attainment against size.
pub fn attainment(spec: &SweepSpec, a: &Analysis) -> Vec<Series> {
    group_starts(a)
        .into_iter()
        .map(|start| {
            let mut s = Series {
                label: group_label(spec, a, start),
                points: Vec::new(),
                band: Vec::new(),
            };
            let mut i = Some(start);
            while let Some(k) = i {
                let p = &a.points[k];
                s.points.push((f64::from(p.point.nodes), p.attainment));
                i = p.next;
            }
            s
        })
        .collect()
}

/// The metric an SLO is on.
pub fn slo_metric(name: &str) -> &'static crate::compare::Metric {
    metrics::find(name).unwrap_or(&metrics::EXTRA[0])
}
