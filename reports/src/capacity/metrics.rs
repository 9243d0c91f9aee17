//! The metrics of a capacity sweep: every `compare.csv` metric plus the tail percentiles
//! SLOs are usually written on and a fragmentation measure. SLO names come from here.

use crate::compare::{Better, METRICS, Metric, Unit};
use crate::summary::Summary;

/// Metrics a capacity sweep adds to the `compare.csv` ones.
pub const EXTRA: &[Metric] = &[
    Metric {
        name: "p50_wait_s",
        header: "p50 wait",
        title: "Median queueing delay",
        unit: Unit::Seconds,
        axis: "time (submit to start)",
        better: Better::Lower,
        value: |s| (s.wait_s.count > 0).then_some(s.wait_s.p50),
    },
    Metric {
        name: "p95_wait_s",
        header: "p95 wait",
        title: "p95 queueing delay",
        unit: Unit::Seconds,
        axis: "time (submit to start)",
        better: Better::Lower,
        value: |s| (s.wait_s.count > 0).then_some(s.wait_s.p95),
    },
    Metric {
        name: "p95_jct_s",
        header: "p95 JCT",
        title: "p95 job completion time",
        unit: Unit::Seconds,
        axis: "time (submit to completion)",
        better: Better::Lower,
        value: |s| (s.jct_s.count > 0).then_some(s.jct_s.p95),
    },
    Metric {
        name: FRAGMENTED,
        header: "fragmented",
        title: "Fragmented GPUs: idle while a waiting job would fit in the idle total",
        unit: Unit::Ratio,
        axis: "share of the cluster's GPUs (time-weighted)",
        better: Better::Lower,
        // Computed from the job timeline, not the summary (see `timeline`).
        value: |_| None,
    },
];

/// Name of the fragmentation metric.
pub const FRAGMENTED: &str = "fragmented_gpu_ratio";

/// Every metric of `capacity.csv`, in column order.
pub fn all() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().chain(EXTRA)
}

pub fn count() -> usize {
    METRICS.len() + EXTRA.len()
}

/// Position of a metric in `all()`.
pub fn index(name: &str) -> Option<usize> {
    all().position(|m| m.name == name)
}

/// A metric by column name, or by its name without the `_s` suffix (`p95_wait`).
pub fn find(name: &str) -> Option<&'static Metric> {
    all().find(|m| m.name == name || m.name.strip_suffix("_s") == Some(name))
}

/// The names SLOs accept, short forms first.
pub fn slo_names() -> Vec<String> {
    all()
        .map(|m| m.name.strip_suffix("_s").unwrap_or(m.name).to_string())
        .collect()
}

/// The value of every metric for one run, in `all()` order.
///
/// Wait and JCT include the censored samples of jobs that had not started (finished) by the
/// end of the observation. A run that drained with such jobs left them waiting for ever:
/// their wait (JCT) is unbounded, so the run has no value for those metrics and misses any
/// SLO on them.
pub fn values(s: &Summary, fragmented: f64) -> Vec<Option<f64>> {
    let drained = s.stop == "drained";
    let unbounded_wait = drained && s.wait_s.censored > 0;
    let unbounded_jct = drained && s.jct_s.censored > 0;
    all()
        .map(|m| {
            if m.name == FRAGMENTED {
                Some(fragmented)
            } else if (unbounded_wait && m.name.ends_with("_wait_s"))
                || (unbounded_jct && m.name.ends_with("_jct_s"))
            {
                None
            } else {
                (m.value)(s)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::timeline::tests::{job, result};
    use crate::summary::summarize;

    fn value(v: &[Option<f64>], name: &str) -> Option<f64> {
        v[index(name).unwrap()]
    }

    #[test]
    fn unstarted_jobs_count_in_wait_slos() {
        // One job runs 0..10 s; two more, submitted at 0, never start. Stopped by a 10 s
        // horizon, their waits are censored at 10 s: waits (0, 10, 10), p95 = 10 s, avg
        // 20/3 s. (Counting only the job that ran gave p95 = 0 s, meeting "p95_wait<=5s".)
        let jobs = vec![
            job(0, Some(0), Some(10), 1),
            job(0, None, None, 1),
            job(0, None, None, 1),
        ];
        let mut r = result(jobs, 10, 4);
        r.stop = "horizon".into();
        let s = summarize("t", &r);
        assert_eq!((s.wait_s.count, s.wait_s.censored), (3, 2));
        assert_eq!((s.jct_s.count, s.jct_s.censored), (3, 2));
        let v = values(&s, 0.0);
        assert_eq!(value(&v, "p95_wait_s"), Some(10.0));
        assert_eq!(value(&v, "avg_wait_s"), Some(6.666667));
        assert_eq!(value(&v, "jobs_never_started"), Some(2.0));
        let slo = crate::capacity::Slo::parse("p95_wait<=5s").unwrap();
        assert!(!slo.met(value(&v, &slo.metric)));
        // Drained with the two never started: they wait for ever, the wait and JCT metrics
        // are unbounded (no value), and every SLO on them is missed.
        r.stop = "drained".into();
        let v = values(&summarize("t", &r), 0.0);
        for m in ["p95_wait_s", "avg_wait_s", "p99_jct_s", "avg_jct_s"] {
            assert_eq!(value(&v, m), None, "{m}");
        }
        assert!(
            !crate::capacity::Slo::parse("p95_wait<=1d")
                .unwrap()
                .met(value(&v, "p95_wait_s"))
        );
        assert_eq!(value(&v, "jobs_unfinished"), Some(2.0));
    }
}
