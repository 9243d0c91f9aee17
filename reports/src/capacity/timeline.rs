//! What a run looked like over time, from its job records: GPUs busy with running jobs,
//! jobs waiting, and GPUs left idle while a waiting job would have fitted in the idle total
//! (fragmentation, or a policy holding back), in fixed-width time bins; and the quantiles
//! of waits and completion times that the CDF plots are drawn from.
//!
//! A job counts as running from its first start to its end (or the end of the run), and
//! as waiting from its submission to its first start.

use std::collections::BTreeMap;

use models::RunResult;
use sim_core::{NANOS_PER_SEC, SimTime};

/// At most this many bins per run; later simulated time is left out of the timeline.
pub const MAX_BINS: usize = 600;

/// One time bin of a run (time-weighted averages over the bin).
#[derive(Clone, Debug, PartialEq)]
pub struct Bin {
    pub gpu_busy_ratio: f64,
    pub queued_jobs: f64,
    pub fragmented_gpu_ratio: f64,
}

/// A run's timeline, in bins from its first submission, and its fragmentation ratio over
/// the whole run (first submission to the end).
pub fn timeline(r: &RunResult, bin_s: u64) -> (Vec<Bin>, f64) {
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        Submit,
        Start,
        End,
    }
    let mut evs: Vec<(SimTime, Ev, u64)> = Vec::with_capacity(r.jobs.len() * 3);
    for j in &r.jobs {
        if j.submit > r.end_time {
            continue;
        }
        evs.push((j.submit, Ev::Submit, j.gpu_milli));
        if let Some(s) = j.start {
            evs.push((s, Ev::Start, j.gpu_milli));
        }
        if let (Some(_), Some(e)) = (j.start, j.end) {
            evs.push((e, Ev::End, j.gpu_milli));
        }
    }
    evs.sort();
    let total = r.total_gpu_milli.max(1) as f64;
    let bin_ns = bin_s.max(1).saturating_mul(NANOS_PER_SEC);
    // Times from the first submission.
    let first = r.first_submit.as_nanos();
    let end = r.end_time.as_nanos().saturating_sub(first);
    let bins = (end.div_ceil(bin_ns) as usize).clamp(1, MAX_BINS);
    let mut busy_i = vec![0f64; bins];
    let mut queue_i = vec![0f64; bins];
    let mut frag_i = vec![0f64; bins];
    let (mut busy, mut queued) = (0u64, 0u64);
    let mut waiting: BTreeMap<u64, u32> = BTreeMap::new();
    let mut frag_total = 0f64;
    let mut t = 0u64;
    let mut add = |from: u64, to: u64, busy: u64, queued: u64, frag: u64| {
        let mut a = from;
        while a < to {
            let b = a / bin_ns;
            if b as usize >= bins {
                break;
            }
            let z = ((b + 1) * bin_ns).min(to);
            let dt = (z - a) as f64;
            busy_i[b as usize] += busy as f64 * dt;
            queue_i[b as usize] += queued as f64 * dt;
            frag_i[b as usize] += frag as f64 * dt;
            a = z;
        }
    };
    let mut i = 0;
    loop {
        let next = evs
            .get(i)
            .map_or(end, |e| e.0.as_nanos().saturating_sub(first).min(end));
        if next > t {
            let idle = r.total_gpu_milli.saturating_sub(busy);
            let frag = match waiting.keys().next() {
                Some(&need) if need <= idle => idle,
                _ => 0,
            };
            add(t, next, busy, queued, frag);
            frag_total += frag as f64 * (next - t) as f64;
            t = next;
        }
        let Some(&(_, ev, g)) = evs.get(i) else { break };
        match ev {
            Ev::Submit => {
                queued += 1;
                *waiting.entry(g).or_insert(0) += 1;
            }
            Ev::Start => {
                queued = queued.saturating_sub(1);
                if let Some(c) = waiting.get_mut(&g) {
                    *c -= 1;
                    if *c == 0 {
                        waiting.remove(&g);
                    }
                }
                busy += g;
            }
            Ev::End => busy = busy.saturating_sub(g),
        }
        i += 1;
    }
    let out = (0..bins)
        .map(|b| {
            let w = (bin_ns.min(end.saturating_sub(b as u64 * bin_ns))).max(1) as f64;
            Bin {
                gpu_busy_ratio: busy_i[b] / w / total,
                queued_jobs: queue_i[b] / w,
                fragmented_gpu_ratio: frag_i[b] / w / total,
            }
        })
        .collect();
    let frag = if end > 0 {
        frag_total / end as f64 / total
    } else {
        0.0
    };
    (out, frag)
}

/// Quantiles 0, 1, ..., 100 % (nearest rank) of waits and of completion times, seconds,
/// over every submitted job: one that never started (finished) counts with the time up to
/// the end of the observation, censored, as in `summary.json`; `None` where the run has
/// no sample.
pub fn quantiles(r: &RunResult) -> Vec<(Option<f64>, Option<f64>)> {
    let secs = |ns: u64| ns as f64 / NANOS_PER_SEC as f64;
    let until = crate::summary::observed_until(r);
    let submitted = || {
        r.jobs
            .iter()
            .filter(|j| j.outcome != models::Outcome::NotSubmitted)
    };
    let mut waits: Vec<u64> = submitted()
        .map(|j| j.start.unwrap_or(until).since(j.submit).as_nanos())
        .collect();
    let mut jcts: Vec<u64> = submitted()
        .map(|j| j.end.unwrap_or(until).since(j.submit).as_nanos())
        .collect();
    waits.sort_unstable();
    jcts.sort_unstable();
    let q = |v: &[u64], p: usize| {
        if v.is_empty() {
            return None;
        }
        let r = (p * v.len()).div_ceil(100).clamp(1, v.len());
        Some(secs(v[r - 1]))
    };
    (0..=100).map(|p| (q(&waits, p), q(&jcts, p))).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use models::sim::Usage;
    use models::{JobRecord, Outcome};

    pub(crate) fn job(submit: u64, start: Option<u64>, end: Option<u64>, gpus: u64) -> JobRecord {
        JobRecord {
            id: format!("j{submit}"),
            submit: SimTime::from_secs(submit),
            start: start.map(SimTime::from_secs),
            end: end.map(SimTime::from_secs),
            gpu_milli: gpus * 1000,
            pods: 1,
            pods_bound: 0,
            nodes: 1,
            trace_gpu_hours: 0.0,
            evictions: 0,
            outcome: if end.is_some() {
                Outcome::Completed
            } else {
                Outcome::Pending
            },
            deadlocked_at: None,
            starved: None,
            reason: None,
        }
    }

    pub(crate) fn result(jobs: Vec<JobRecord>, end: u64, gpus: u64) -> RunResult {
        RunResult {
            jobs,
            total_gpu_milli: gpus * 1000,
            nodes: 1,
            stop: "drained".into(),
            end_time: SimTime::from_secs(end),
            horizon: None,
            held_at_end_milli: 0,
            first_submit: SimTime::ZERO,
            usage: Usage::default(),
            events: 0,
            preemptions: 0,
            choices: 0,
            choices_fingerprint: 0,
            engine_fingerprint: 0,
            seed: 1,
            policy: "gang".into(),
            network_jobs: vec![],
            network_series: vec![],
            deadlocks: vec![],
            starved: vec![],
            guard: None,
            faults: None,
            autoscaler: None,
            serving: None,
            ray: None,
            pod_log: None,
        }
    }

    #[test]
    fn bins_by_hand() {
        // 4 GPUs. Job a (2 GPUs) runs 0..20; job b (4 GPUs) waits 0..20, runs 20..40.
        let r = result(
            vec![job(0, Some(0), Some(20), 2), job(0, Some(20), Some(40), 4)],
            40,
            4,
        );
        let (bins, frag) = timeline(&r, 10);
        assert_eq!(bins.len(), 4);
        assert_eq!(bins[0].gpu_busy_ratio, 0.5);
        assert_eq!(bins[0].queued_jobs, 1.0);
        // b needs 4 GPUs, only 2 idle: not fragmentation.
        assert_eq!(bins[0].fragmented_gpu_ratio, 0.0);
        assert_eq!(bins[3].gpu_busy_ratio, 1.0);
        assert_eq!(bins[3].queued_jobs, 0.0);
        assert_eq!(frag, 0.0);
        // A 1-GPU job waits 0..10 next to 2 idle GPUs: fragmented for a quarter of the run.
        let r = result(
            vec![job(0, Some(0), Some(40), 2), job(0, Some(10), Some(20), 1)],
            40,
            4,
        );
        let (bins, frag) = timeline(&r, 10);
        assert_eq!(bins[0].fragmented_gpu_ratio, 0.5);
        assert_eq!(frag, 0.125);
    }

    #[test]
    fn quantiles_by_rank() {
        let r = result(
            (0..100)
                .map(|i| job(0, Some(i + 1), Some(200), 1))
                .collect(),
            200,
            100,
        );
        let q = quantiles(&r);
        assert_eq!(q.len(), 101);
        assert_eq!(q[0].0, Some(1.0));
        assert_eq!(q[95].0, Some(95.0));
        assert_eq!(q[100], (Some(100.0), Some(200.0)));
        assert_eq!(quantiles(&result(vec![], 1, 1))[50], (None, None));
        // A job that never started counts, censored at the end (50 s): it is the maximum.
        let r = result(
            vec![job(0, Some(0), Some(10), 1), job(0, None, None, 1)],
            50,
            1,
        );
        let q = quantiles(&r);
        assert_eq!(q[0], (Some(0.0), Some(10.0)));
        assert_eq!(q[100], (Some(50.0), Some(50.0)));
    }
}
