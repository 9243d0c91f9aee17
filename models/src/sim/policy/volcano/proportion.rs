//! Volcano queues: the proportion plugin's shares, as one Volcano session uses them.
//!
//! Read from volcano-sh/volcano v1.15.1 `pkg/scheduler/plugins/proportion/proportion.go`
//! and re-stated here in our own terms. Every session:
//!
//! * each queue with jobs gets `allocated` (requests of its pods that hold resources) and
//!   `request` (that plus the requests of its jobs' pending pods);
//! * `deserved` is water-filled: the cluster's resources still to share are split by weight
//!   among the queues not yet satisfied; a queue's running total is capped by its real
//!   capability (cluster total less every guarantee, plus its own guarantee, and at most its
//!   capability) and by its request, then raised to its guarantee; a queue whose request is
//!   met, or whose deserved stopped changing, is satisfied. The rounds stop when nothing is
//!   left to share (every resource below 0.1 of its unit) or the remainder stops changing;
//! * `share` is the largest `allocated / deserved` over the resources it deserves;
//! * a queue is overused when it holds at least what it deserves in every resource;
//! * a job may be allocated in a queue (`Allocatable`) only if, in every resource the job
//!   asks for, the queue's allocation plus the job stays within its deserved;
//! * the enqueue gate (`JobEnqueueable`) lets a job in only if, in every resource it asks
//!   for, it plus what its queue holds and has let in stays within the real capability.
//!
//! Resources are CPU millicores, memory in MiB and GPUs in thousandths. Volcano counts
//! memory in bytes; its `minResource` tolerance of 0.1 is applied here to MiB, which only
//! matters for when the water-filling stops (Orrery's amounts are whole MiB), and keeps
//! cluster-wide sums exact in an `f64`.

use crate::resources::PodRequest;
use crate::scheduler::{VolcanoConfig, VolcanoQueueDef, VolcanoResources};
use crate::workload::Workload;

use crate::sim::ModelError;

/// Volcano's `minResource`: amounts closer than this are equal, smaller ones are empty.
const MIN_RESOURCE: f64 = 0.1;
const DIMS: usize = 3;
/// A guard on the water-filling rounds (each round satisfies a queue or shrinks the rest).
const MAX_ROUNDS: usize = 10_000;

/// CPU (millicores), memory (MiB), GPUs (thousandths).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Res(pub [f64; DIMS]);

impl Res {
    pub fn of_pod(p: &PodRequest) -> Res {
        Res([
            p.cpu_milli as f64,
            p.memory_mib as f64,
            p.gpu.total_milli() as f64,
        ])
    }

    pub fn add(&mut self, o: &Res) {
        for d in 0..DIMS {
            self.0[d] += o.0[d];
        }
    }

    fn zip(&self, o: &Res, f: impl Fn(f64, f64) -> f64) -> Res {
        let mut r = *self;
        for d in 0..DIMS {
            r.0[d] = f(self.0[d], o.0[d]);
        }
        r
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|&v| v < MIN_RESOURCE)
    }

    /// Every resource at most `o`'s (within `MIN_RESOURCE`).
    fn le_all(&self, o: &Res) -> bool {
        (0..DIMS).all(|d| self.0[d] < o.0[d] || (self.0[d] - o.0[d]).abs() < MIN_RESOURCE)
    }

    /// At most `o` in every resource `req` asks for (no tolerance).
    fn le_where_requested(&self, o: &Res, req: &Res) -> bool {
        (0..DIMS).all(|d| req.0[d] <= 0.0 || self.0[d] <= o.0[d])
    }

    fn from_def(r: &VolcanoResources, unset: f64) -> Res {
        Res([
            r.cpu_milli.map_or(unset, |v| v as f64),
            r.memory_mib.map_or(unset, |v| v as f64),
            r.gpus.map_or(unset, |g| (g * 1000.0).round()),
        ])
    }
}

/// The queues of a run and each job's queue (fixed for the run).
#[derive(Clone, Debug)]
pub struct VolcanoQueues {
    pub defs: Vec<VolcanoQueueDef>,
    /// Queue index of each job.
    pub job_queue: Vec<u32>,
    /// Some queue sets a capability or a guarantee: the enqueue gate checks queues.
    pub gated: bool,
}

fn config_err(field: String, msg: String) -> ModelError {
    ModelError::Config { field, msg }
}

impl VolcanoQueues {
    pub fn new(cfg: &VolcanoConfig, workload: &Workload) -> Result<VolcanoQueues, ModelError> {
        let defs = if cfg.queues.is_empty() {
            vec![VolcanoQueueDef {
                name: "default".into(),
                weight: 1,
                capability: None,
                guarantee: None,
            }]
        } else {
            cfg.queues.clone()
        };
        for (i, d) in defs.iter().enumerate() {
            let field = |k: &str| format!("volcano.queues[{i}].{k}");
            if defs[..i].iter().any(|o| o.name == d.name) {
                return Err(config_err(
                    field("name"),
                    format!("duplicate queue name {:?}", d.name),
                ));
            }
            if d.weight == 0 {
                return Err(config_err(field("weight"), "must be > 0".into()));
            }
            for (k, r) in [("capability", &d.capability), ("guarantee", &d.guarantee)] {
                if let Some(g) = r.as_ref().and_then(|r| r.gpus)
                    && !(g.is_finite() && g >= 0.0)
                {
                    return Err(config_err(
                        field(&format!("{k}.gpus")),
                        format!("{g} is not a valid GPU amount (expected a number >= 0)"),
                    ));
                }
            }
        }
        let mut job_queue = Vec::with_capacity(workload.jobs.len());
        for j in &workload.jobs {
            let q = match &j.queue {
                // Without listed queues every job is in `default` (names are Kueue's).
                Some(q) if !cfg.queues.is_empty() => {
                    defs.iter().position(|d| &d.name == q).ok_or_else(|| {
                        crate::sim::unknown_queue(
                            "volcano.queues",
                            &j.id,
                            q,
                            defs.iter().map(|d| d.name.as_str()),
                        )
                    })?
                }
                _ => 0,
            };
            job_queue.push(q as u32);
        }
        let gated = defs
            .iter()
            .any(|d| d.capability.is_some() || d.guarantee.is_some());
        Ok(VolcanoQueues {
            defs,
            job_queue,
            gated,
        })
    }
}

/// One queue's figures in a session.
#[derive(Clone, Debug, Default)]
pub struct QueueAttr {
    pub weight: u32,
    pub allocated: Res,
    pub request: Res,
    pub deserved: Res,
    pub guarantee: Res,
    pub real_capability: Res,
    /// Let in by this session's enqueue.
    pub inqueue: Res,
    pub share: f64,
    /// The queue has jobs in the session (upstream only knows such queues).
    pub active: bool,
}

impl QueueAttr {
    /// Largest allocated/deserved over the resources the queue deserves.
    pub fn update_share(&mut self) {
        let mut s = 0.0f64;
        for d in 0..DIMS {
            if self.deserved.0[d] < MIN_RESOURCE {
                continue;
            }
            s = s.max(self.allocated.0[d] / self.deserved.0[d]);
        }
        self.share = s;
    }

    /// Holds at least what it deserves in every resource.
    pub fn overused(&self) -> bool {
        self.deserved.le_all(&self.allocated)
    }

    /// The queue may take `job` (its total request) and stay within its deserved.
    pub fn allocatable(&self, job: &Res) -> bool {
        let mut future = self.allocated;
        future.add(job);
        future.le_where_requested(&self.deserved, job)
    }

    /// The enqueue gate: `job` plus what the queue holds and let in fits its real capability.
    pub fn enqueueable(&self, job: &Res) -> bool {
        let mut r = *job;
        r.add(&self.allocated);
        r.add(&self.inqueue);
        r.le_where_requested(&self.real_capability, job)
    }
}

/// Deserved shares by weight (iterative water-filling) and the queues' shares. `attrs`
/// carry weight, allocated, request and guarantee; inactive queues take no part.
pub fn water_fill(defs: &[VolcanoQueueDef], attrs: &mut [QueueAttr], total: Res) {
    let mut total_guarantee = Res::default();
    for d in defs {
        if let Some(g) = &d.guarantee {
            total_guarantee.add(&Res::from_def(g, 0.0));
        }
    }
    for (d, a) in defs.iter().zip(attrs.iter_mut()) {
        a.weight = d.weight;
        a.guarantee = d
            .guarantee
            .as_ref()
            .map_or(Res::default(), |g| Res::from_def(g, 0.0));
        let mut real = total.zip(&total_guarantee, |t, g| (t - g).max(0.0));
        real.add(&a.guarantee);
        if let Some(c) = &d.capability {
            let cap = Res::from_def(c, f64::INFINITY);
            real = real.zip(&cap, f64::min);
        }
        a.real_capability = real;
        a.deserved = Res::default();
    }
    let mut remaining = total;
    let mut met = vec![false; attrs.len()];
    for _ in 0..MAX_ROUNDS {
        let total_weight: u64 = attrs
            .iter()
            .zip(&met)
            .filter(|(a, m)| a.active && !**m)
            .map(|(a, _)| u64::from(a.weight))
            .sum();
        if total_weight == 0 {
            break;
        }
        let old_remaining = remaining;
        let mut increased = Res::default();
        let mut decreased = Res::default();
        for (a, m) in attrs.iter_mut().zip(met.iter_mut()) {
            if !a.active || *m {
                continue;
            }
            let old = a.deserved;
            let part = f64::from(a.weight) / total_weight as f64;
            let mut des = a.deserved.zip(&remaining, |d, r| d + r * part);
            des = des.zip(&a.real_capability, f64::min);
            des = des.zip(&a.request, f64::min);
            des = des.zip(&a.guarantee, f64::max);
            a.deserved = des;
            a.update_share();
            if a.request.le_all(&a.deserved) || a.deserved == old {
                *m = true;
            }
            increased.add(&des.zip(&old, |n, o| (n - o).max(0.0)));
            decreased.add(&des.zip(&old, |n, o| (o - n).max(0.0)));
        }
        let mut back = remaining;
        back.add(&decreased);
        remaining = back.zip(&increased, |b, i| (b - i).max(0.0));
        if remaining.is_empty() || remaining == old_remaining {
            break;
        }
    }
    for a in attrs.iter_mut() {
        a.update_share();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpus(g: f64) -> Res {
        Res([0.0, 0.0, g * 1000.0])
    }

    fn queue(name: &str, weight: u32, guarantee: Option<f64>) -> VolcanoQueueDef {
        VolcanoQueueDef {
            name: name.into(),
            weight,
            capability: None,
            guarantee: guarantee.map(|g| VolcanoResources {
                gpus: Some(g),
                ..VolcanoResources::default()
            }),
        }
    }

    fn attrs(requests: &[f64], allocated: &[f64]) -> Vec<QueueAttr> {
        requests
            .iter()
            .zip(allocated)
            .map(|(&r, &a)| QueueAttr {
                request: gpus(r),
                allocated: gpus(a),
                active: true,
                ..QueueAttr::default()
            })
            .collect()
    }

    #[test]
    fn guarantee_is_taken_off_the_others_real_capability() {
        // 8 GPUs; a (weight 1, guarantee 6) and b (weight 1) both ask for 8. Real
        // capabilities: a 8 − 6 + 6 = 8, b 8 − 6 = 2. Round 1: each is offered 4; a is
        // raised to its guarantee 6, b capped at 2; nothing is left: a 6, b 2.
        let defs = [queue("a", 1, Some(6.0)), queue("b", 1, None)];
        let mut a = attrs(&[8.0, 8.0], &[3.0, 0.0]);
        water_fill(&defs, &mut a, gpus(8.0));
        assert_eq!(a[0].deserved, gpus(6.0));
        assert_eq!(a[1].deserved, gpus(2.0));
        assert_eq!(a[0].share, 0.5);
        assert!(a[1].allocatable(&gpus(2.0)));
        assert!(!a[1].allocatable(&gpus(3.0)));
    }

    #[test]
    fn a_satisfied_queue_leaves_the_rest_to_the_others() {
        // 12 GPUs, weights 1:1:2, requests 1, 10, 10. Round 1: 3, 3, 6 → a capped at its
        // request 1 (satisfied); 2 left. Round 2 (weights 1:2): b 3 + 2/3, c 6 + 4/3.
        let defs = [
            queue("a", 1, None),
            queue("b", 1, None),
            queue("c", 2, None),
        ];
        let mut a = attrs(&[1.0, 10.0, 10.0], &[0.0, 0.0, 0.0]);
        water_fill(&defs, &mut a, gpus(12.0));
        assert_eq!(a[0].deserved, gpus(1.0));
        assert!((a[1].deserved.0[2] - 11_000.0 / 3.0).abs() < 1e-6);
        assert!((a[2].deserved.0[2] - 22_000.0 / 3.0).abs() < 1e-6);
        // Nothing allocated yet: no queue is overused; a holding its 1 GPU would be.
        assert!(!a[0].overused());
        a[0].allocated = gpus(1.0);
        assert!(a[0].overused());
    }
}
