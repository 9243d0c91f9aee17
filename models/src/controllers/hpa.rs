//! The horizontal pod autoscaler's replica calculation (`autoscaling/v2`, one Pods metric
//! with an AverageValue target), after the kube-controller-manager algorithm:
//!
//! * ratio = (metric sum over Ready replicas / Ready replicas) / target;
//! * no Ready replica reports the metric: no decision;
//! * if there are unready replicas (Pending or starting) and ratio > 1, they count as
//!   reporting 0 (conservative scale-up); otherwise they are left out;
//! * |ratio − 1| ≤ tolerance, or the ratio changes direction once unready replicas are
//!   counted: keep the current count; else desired = ceil(sum / target)
//!   (= ceil(ratio × replicas counted), computed without the rounding of the product);
//! * the recommendation is clamped to [min, max] and remembered; scale-down applies the
//!   largest recommendation of the stabilisation window (recommendations made after
//!   now − window), scale-up is immediate but limited per sync to
//!   max(2 × current, current + 4) (the default scale-up policies, 100 % or 4 pods per
//!   15 s, evaluated per sync rather than over a sliding 15 s period).

use std::collections::VecDeque;

use sim_core::{SimDuration, SimTime};

use crate::platform::{HpaConfig, HpaMetric};

/// What the HPA reads of one service (the model's view of its Deployment).
pub trait HpaView {
    /// `spec.replicas` of the Deployment.
    fn spec_replicas(&self) -> u32;
    /// Live replicas (not draining), Ready or not.
    fn live_replicas(&self) -> u32;
    /// Ready replicas.
    fn ready_replicas(&self) -> u32;
    /// The service's queue length.
    fn queue_depth(&self) -> u32;
    /// Requests in flight summed over the Ready replicas.
    fn ready_in_flight(&self) -> u64;
}

/// One HPA sync of one service at `now`: the sample (with the replicas to apply in
/// `applied`), or `None` when no Ready replica reports the metric. The metric's sum is
/// the queue depth or the in-flight requests of the Ready replicas.
pub fn sync(
    view: &impl HpaView,
    h: &HpaConfig,
    stabilizer: &mut Stabilizer,
    now: SimTime,
) -> Option<HpaSample> {
    let ready = view.ready_replicas();
    let sum = match h.metric {
        HpaMetric::InferenceQueueDepth => f64::from(view.queue_depth()),
        HpaMetric::InferenceRequestsInFlight => view.ready_in_flight() as f64,
    };
    let input = HpaInput {
        current: view.spec_replicas(),
        ready,
        unready: view.live_replicas().saturating_sub(ready),
        sum,
    };
    let (desired, counted) = desired_replicas(input, h.target, h.tolerance)?;
    let rec = desired.clamp(h.min_replicas, h.max_replicas);
    let applied = stabilizer
        .apply(
            now,
            input.current,
            rec,
            h.scale_down_stabilization,
            h.max_replicas,
        )
        .clamp(h.min_replicas, h.max_replicas);
    Some(HpaSample {
        at: now,
        current: input.current,
        ready: input.ready,
        value: sum / f64::from(input.ready),
        counted,
        desired,
        recommendation: rec,
        applied,
    })
}

/// What the HPA reads at one sync.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HpaInput {
    /// `spec.replicas` of the Deployment.
    pub current: u32,
    /// Ready replicas (they report the metric).
    pub ready: u32,
    /// Replicas not Ready (Pending or starting).
    pub unready: u32,
    /// Sum of the metric over the Ready replicas.
    pub sum: f64,
}

/// One sync's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSample {
    pub at: SimTime,
    pub current: u32,
    /// Ready replicas (they reported the metric).
    pub ready: u32,
    /// Per-replica average over Ready replicas (the metric value the HPA reports).
    pub value: f64,
    /// Replicas counted in the ratio (Ready, plus unready ones in a scale-up).
    pub counted: u32,
    /// Metric-based desired replicas before clamping (the current count when within
    /// tolerance).
    pub desired: u32,
    /// After min/max clamping: the recommendation remembered for stabilisation.
    pub recommendation: u32,
    /// Replicas set on the Deployment.
    pub applied: u32,
}

/// ceil(x) that ignores a floating-point excess below 1e-9 (8.000000000001 → 8).
fn ceil_eps(x: f64) -> u32 {
    let c = (x - 1e-9).ceil();
    if c <= 0.0 { 0 } else { c as u32 }
}

/// The metric-based desired replicas and the replicas counted; `None` when no Ready
/// replica reports the metric.
pub fn desired_replicas(input: HpaInput, target: f64, tolerance: f64) -> Option<(u32, u32)> {
    if input.ready == 0 {
        return None;
    }
    let ratio = input.sum / f64::from(input.ready) / target;
    if input.unready == 0 || ratio <= 1.0 {
        if (ratio - 1.0).abs() <= tolerance {
            return Some((input.current, input.ready));
        }
        let d = ceil_eps(input.sum / target);
        // Never move against the ratio's direction.
        if ratio < 1.0 && d > input.current {
            return Some((input.current, input.ready));
        }
        return Some((d, input.ready));
    }
    let counted = input.ready + input.unready;
    let new_ratio = input.sum / f64::from(counted) / target;
    if (new_ratio - 1.0).abs() <= tolerance || new_ratio < 1.0 {
        return Some((input.current, counted));
    }
    Some((ceil_eps(input.sum / target).max(input.current), counted))
}

/// Recommendations remembered for the scale-down stabilisation window.
#[derive(Clone, Debug, Default)]
pub struct Stabilizer {
    recs: VecDeque<(SimTime, u32)>,
}

impl Stabilizer {
    /// The remembered recommendations, oldest first (the verifier's fingerprint reads
    /// those still inside the window).
    pub fn recommendations(&self) -> impl Iterator<Item = (SimTime, u32)> + '_ {
        self.recs.iter().copied()
    }

    /// Remember `rec` made at `now` and return the replicas to apply from `current`.
    pub fn apply(
        &mut self,
        now: SimTime,
        current: u32,
        rec: u32,
        window: SimDuration,
        max_replicas: u32,
    ) -> u32 {
        self.recs.push_back((now, rec));
        // Keep recommendations made after now − window.
        let cutoff = now.as_nanos().checked_sub(window.as_nanos());
        while let Some(&(t, _)) = self.recs.front() {
            if t < now && cutoff.is_some_and(|c| t.as_nanos() <= c) {
                self.recs.pop_front();
            } else {
                break;
            }
        }
        if rec > current {
            let limit = (current.saturating_mul(2)).max(current + 4);
            return rec.min(limit).min(max_replicas);
        }
        let down = self.recs.iter().map(|&(_, r)| r).max().unwrap_or(rec);
        current.min(down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(current: u32, ready: u32, unready: u32, sum: f64) -> HpaInput {
        HpaInput {
            current,
            ready,
            unready,
            sum,
        }
    }

    #[test]
    fn formula_tolerance_and_unready() {
        // 2 ready, queue 20, target 4: ratio 2.5 → ceil(20/4) = 5.
        assert_eq!(
            desired_replicas(input(2, 2, 0, 20.0), 4.0, 0.1),
            Some((5, 2))
        );
        // ratio 8.5/2/4 = 1.0625: within tolerance.
        assert_eq!(
            desired_replicas(input(2, 2, 0, 8.5), 4.0, 0.1),
            Some((2, 2))
        );
        // 1 ready + 3 unready, sum 12: 12/4/4 = 0.75 < 1 with unready → keep 4.
        assert_eq!(
            desired_replicas(input(4, 1, 3, 12.0), 4.0, 0.1),
            Some((4, 4))
        );
        // No ready replica: no decision.
        assert_eq!(desired_replicas(input(1, 0, 1, 5.0), 4.0, 0.1), None);
        // Scale-down: sum 2 over 4 ready, target 4 → ceil(0.5) = 1.
        assert_eq!(
            desired_replicas(input(4, 4, 0, 2.0), 4.0, 0.1),
            Some((1, 4))
        );
    }

    struct Fake {
        spec: u32,
        live: u32,
        ready: u32,
        queue: u32,
        in_flight: u64,
    }

    impl HpaView for Fake {
        fn spec_replicas(&self) -> u32 {
            self.spec
        }
        fn live_replicas(&self) -> u32 {
            self.live
        }
        fn ready_replicas(&self) -> u32 {
            self.ready
        }
        fn queue_depth(&self) -> u32 {
            self.queue
        }
        fn ready_in_flight(&self) -> u64 {
            self.in_flight
        }
    }

    fn config(metric: HpaMetric, target: f64) -> HpaConfig {
        HpaConfig {
            metric,
            target,
            tolerance: 0.1,
            sync_period: SimDuration::from_secs(15),
            scale_down_stabilization: SimDuration::from_secs(300),
            min_replicas: 2,
            max_replicas: 4,
            custom_metrics_adapter: true,
        }
    }

    #[test]
    fn sync_reads_the_view_and_applies_the_limits() {
        let t = SimTime::from_secs;
        let mut st = Stabilizer::default();
        // Queue 6 over 2 Ready, target 1.5: value 3, desired ceil(6 / 1.5) = 4 (≤ max 4).
        let v = Fake {
            spec: 2,
            live: 2,
            ready: 2,
            queue: 6,
            in_flight: 2,
        };
        let h = config(HpaMetric::InferenceQueueDepth, 1.5);
        let s = sync(&v, &h, &mut st, t(15)).unwrap();
        assert_eq!(
            (s.value, s.desired, s.recommendation, s.applied),
            (3.0, 4, 4, 4)
        );
        // In-flight metric: 2 over 2 Ready, target 1.5: ratio 2/3, desired ceil(2/1.5) = 2
        // (the min); the window's 4 (t = 15) holds the count at 4.
        let h = config(HpaMetric::InferenceRequestsInFlight, 1.5);
        let v = Fake {
            spec: 4,
            live: 4,
            ready: 2,
            queue: 0,
            in_flight: 2,
        };
        let s = sync(&v, &h, &mut st, t(30)).unwrap();
        assert_eq!((s.desired, s.applied), (2, 4));
        // No Ready replica: no decision.
        let v = Fake {
            spec: 2,
            live: 2,
            ready: 0,
            queue: 9,
            in_flight: 0,
        };
        assert_eq!(sync(&v, &h, &mut st, t(45)), None);
    }

    #[test]
    fn stabilisation_keeps_the_window_max() {
        let w = SimDuration::from_secs(300);
        let mut s = Stabilizer::default();
        let t = SimTime::from_secs;
        assert_eq!(s.apply(t(15), 1, 5, w, 10), 5);
        assert_eq!(s.apply(t(30), 5, 1, w, 10), 5);
        // The rec of t=15 leaves the window at 15 + 300 = 315 (kept while t > now − 300).
        assert_eq!(s.apply(t(300), 5, 1, w, 10), 5);
        assert_eq!(s.apply(t(315), 5, 1, w, 10), 1);
        // Scale-up limit: from 1, at most max(2, 5) = 5.
        let mut s = Stabilizer::default();
        assert_eq!(s.apply(t(15), 1, 9, w, 10), 5);
    }
}
