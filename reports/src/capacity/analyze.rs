//! From runs to answers: per configuration, how many seeds met every SLO, what it costs,
//! what the next size buys; per (policy, GPU model, load), the smallest size that meets
//! the SLOs with confidence; per load, the cheapest of those.

use super::data::RunData;
use super::metrics;
use super::spec::{Point, SweepSpec};
use crate::compare::Stat;

/// One configuration of the grid over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct PointStats {
    pub point: Point,
    pub seeds: usize,
    /// Seeds meeting each SLO, in `spec.slos` order.
    pub met_per_slo: Vec<usize>,
    /// Seeds meeting every SLO.
    pub met_all: usize,
    /// `met_all / seeds`.
    pub attainment: f64,
    /// Attainment reaches the spec's confidence.
    pub meets: bool,
    /// One per metric of `metrics::all()`; `None` when no seed had a value.
    pub stats: Vec<Option<Stat>>,
    /// Nodes × price of a node-hour.
    pub cost_per_hour: f64,
    /// The smallest size of its group that meets the SLOs (and every larger size does).
    pub recommended: bool,
    /// Index of the next larger size of the same group, if any.
    pub next: Option<usize>,
}

impl PointStats {
    pub fn stat(&self, metric: &str) -> Option<Stat> {
        metrics::index(metric).and_then(|i| self.stats[i])
    }

    /// Mean unfinished jobs over the seeds (infinite when no seed ran).
    pub fn unfinished(&self) -> f64 {
        self.stat("jobs_unfinished")
            .map_or(f64::INFINITY, |s| s.mean)
    }
}

/// The answer for one load: the cheapest recommended configuration over policies and GPU
/// models (`None`: no configuration met the SLOs).
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    pub load_milli: u32,
    pub best: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub points: Vec<PointStats>,
    pub recommendations: Vec<Recommendation>,
}

/// Mean, min and max of a sample (`None` when empty).
pub(crate) fn stat(vals: &[f64]) -> Option<Stat> {
    if vals.is_empty() {
        return None;
    }
    Some(Stat {
        n: vals.len(),
        mean: vals.iter().sum::<f64>() / vals.len() as f64,
        min: vals.iter().copied().fold(f64::INFINITY, f64::min),
        max: vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Whether a run meets every SLO.
pub fn run_meets(spec: &SweepSpec, r: &RunData) -> bool {
    spec.slos.iter().all(|s| s.met(r.value(&s.metric)))
}

/// Analyse a complete sweep (runs in grid order).
pub fn analyze(spec: &SweepSpec, runs: &[RunData]) -> Analysis {
    let points = spec.points();
    let mut out: Vec<PointStats> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mine: Vec<&RunData> = runs.iter().filter(|r| r.point == i).collect();
            let met_per_slo = spec
                .slos
                .iter()
                .map(|s| mine.iter().filter(|r| s.met(r.value(&s.metric))).count())
                .collect();
            let met_all = mine.iter().filter(|r| run_meets(spec, r)).count();
            let seeds = mine.len();
            let attainment = if seeds > 0 {
                met_all as f64 / seeds as f64
            } else {
                0.0
            };
            let stats = (0..metrics::count())
                .map(|k| {
                    let v: Vec<f64> = mine.iter().filter_map(|r| r.values[k]).collect();
                    stat(&v)
                })
                .collect();
            PointStats {
                point: p.clone(),
                seeds,
                met_per_slo,
                met_all,
                attainment,
                // A tolerance so that e.g. 4 of 5 seeds meet a confidence of 0.8.
                meets: seeds > 0 && attainment + 1e-9 >= spec.confidence,
                stats,
                cost_per_hour: f64::from(p.nodes) * spec.prices.node_hour(&p.gpu_model),
                recommended: false,
                next: None,
            }
        })
        .collect();
    // Groups: consecutive points that differ only in size.
    let mut start = 0;
    while start < out.len() {
        let same = |a: &Point, b: &Point| {
            (&a.policy, &a.gpu_model, a.load_milli) == (&b.policy, &b.gpu_model, b.load_milli)
        };
        let mut end = start + 1;
        while end < out.len() && same(&out[start].point, &out[end].point) {
            end += 1;
        }
        for (i, p) in out.iter_mut().enumerate().take(end - 1).skip(start) {
            p.next = Some(i + 1);
        }
        // The smallest size from which every larger size meets the SLOs.
        let mut rec = None;
        for i in (start..end).rev() {
            if out[i].meets {
                rec = Some(i);
            } else {
                break;
            }
        }
        if let Some(i) = rec {
            out[i].recommended = true;
        }
        start = end;
    }
    let recommendations = spec
        .loads_milli
        .iter()
        .map(|&l| {
            let best = out
                .iter()
                .enumerate()
                .filter(|(_, p)| p.recommended && p.point.load_milli == l)
                // Fewest unfinished jobs first: a configuration never wins by leaving
                // jobs unstarted; then the cheapest.
                .min_by(|a, b| {
                    a.1.unfinished()
                        .total_cmp(&b.1.unfinished())
                        .then(a.1.cost_per_hour.total_cmp(&b.1.cost_per_hour))
                        .then(a.0.cmp(&b.0))
                })
                .map(|(i, _)| i);
            Recommendation {
                load_milli: l,
                best,
            }
        })
        .collect();
    Analysis {
        points: out,
        recommendations,
    }
}

impl Analysis {
    /// Configurations whose timelines and CDFs are plotted: per group, the recommended
    /// size and the one below it; for a group with no recommendation, its largest size.
    pub fn focus(&self) -> Vec<usize> {
        let mut v = Vec::new();
        for (i, p) in self.points.iter().enumerate() {
            let last_of_group = p.next.is_none();
            let before_rec = p.next.is_some_and(|n| self.points[n].recommended);
            let group_has_rec = {
                let mut j = i;
                let mut any = p.recommended;
                while let Some(n) = self.points[j].next {
                    any |= self.points[n].recommended;
                    j = n;
                }
                any || self.points[..i]
                    .iter()
                    .rev()
                    .take_while(|q| q.next.is_some())
                    .any(|q| q.recommended)
            };
            if p.recommended || before_rec || (last_of_group && !group_has_rec) {
                v.push(i);
            }
        }
        v
    }
}
