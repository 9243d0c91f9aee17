//! A training job that adapts its batch size to its allocation, as the Pollux artefact
//! advances its Pollux jobs (`Job.step`, `Job.update_local_bsz`, `Job.update_params`,
//! `Job.reallocate` and `Job.get_speedup_fn` in `simulator/simulator.py`, petuum/adaptdl
//! `osdi21-artifact` @ `de25dcc`).
//!
//! * On every step the job observes the true (step, sync) time of its configuration and
//!   the true gradient statistics of its batch size and epoch. A configuration (nodes,
//!   replicas, local batch) it has not seen before is added to its profile and its
//!   performance model is refitted ([`super::goodput::fit_perf_params`]).
//! * After every step it picks the batch size of best predicted goodput on its placement
//!   (`GoodputFunction.optimize`, with gradient accumulation), or, before it has a model,
//!   `max(init_batch_size, min_local_bsz × replicas)`. A job with a target batch size
//!   (the artefact gives `ncf` 32,768) keeps it.
//! * Its speedup on (nodes, replicas) is the predicted goodput there over a base goodput;
//!   before it has a model, the replica count over the base replicas.
//!
//! Advancing a job by `n` seconds is one call of the artefact's `Job.step(n)`: the batch
//! size is re-chosen at each epoch's end and at the end of the call, so a job advanced in
//! one go and one advanced interval by interval differ (the Pollux policy advances its jobs
//! at its rounds, as the artefact does).

use serde::{Deserialize, Serialize};

use super::app::{Application, BatchConfig};
use super::goodput::{GoodputFn, PerfParams, fit_perf_params};
use super::progress::{Progress, ProgressError};

/// One observed configuration: (nodes, replicas, local batch) and its (step, sync) time,
/// as bits (so the state hashes and compares exactly).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Observation {
    pub nodes: u32,
    pub replicas: u32,
    pub atomic_bsz: u32,
    pub step_bits: u64,
    pub sync_bits: u64,
}

/// What an adaptive job has learnt and chosen, in plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Adaptive {
    /// Its batch configuration on its current placement.
    pub atomic_bsz: u32,
    pub accum_steps: u32,
    /// Configurations seen, in the order first seen (the artefact's `profile` dict).
    pub observed: Vec<Observation>,
    /// Its fitted performance model (the seven parameters as bits), once it has stepped.
    pub perf_bits: Option<[u64; 7]>,
    /// The gradient (square, variance) it last observed, as bits.
    pub grad_bits: Option<(u64, u64)>,
    /// A fixed total batch size (`None`: adapt it).
    pub target_batch: Option<u32>,
    /// Reallocations after the first (`None` before it first had GPUs).
    pub restarts: Option<u32>,
    /// GPU-seconds it has held (the artefact's `attained_service`).
    pub attained_gpu_s: u64,
}

/// Fits a performance model to a job's observations (memoised by the caller).
pub trait Fitter {
    fn fit(&self, app: usize, observed: &[Observation]) -> PerfParams;
}

/// Fits every time.
pub struct Direct;

impl Fitter for Direct {
    fn fit(&self, _app: usize, observed: &[Observation]) -> PerfParams {
        fit_perf_params(&as_points(observed))
    }
}

/// The observations as `fit_perf_params` takes them: (nodes, replicas, local batch,
/// accumulation-step time = step − sync, optimizer-step time = step).
pub fn as_points(observed: &[Observation]) -> Vec<(u32, u32, u32, f64, f64)> {
    observed
        .iter()
        .map(|o| {
            let step = f64::from_bits(o.step_bits);
            let sync = f64::from_bits(o.sync_bits);
            (o.nodes, o.replicas, o.atomic_bsz, step - sync, step)
        })
        .collect()
}

fn perf_of(bits: &[u64; 7]) -> PerfParams {
    let f = |i: usize| f64::from_bits(bits[i]);
    PerfParams {
        alpha_c: f(0),
        beta_c: f(1),
        alpha_n: f(2),
        beta_n: f(3),
        alpha_r: f(4),
        beta_r: f(5),
        gamma: f(6),
    }
}

fn bits_of(p: &PerfParams) -> [u64; 7] {
    [
        p.alpha_c.to_bits(),
        p.beta_c.to_bits(),
        p.alpha_n.to_bits(),
        p.beta_n.to_bits(),
        p.alpha_r.to_bits(),
        p.beta_r.to_bits(),
        p.gamma.to_bits(),
    ]
}

/// The GPUs per node of a placement, zeros dropped: (nodes, replicas).
fn shape(placement: &[u32]) -> (u32, u32) {
    let nodes = placement.iter().filter(|&&g| g > 0).count() as u32;
    (nodes, placement.iter().sum())
}

impl Adaptive {
    /// A job that adapts its batch size (`target_batch: None`) or keeps `target_batch`.
    pub fn new(target_batch: Option<u32>) -> Adaptive {
        Adaptive {
            target_batch,
            ..Adaptive::default()
        }
    }

    /// The most replicas it has been observed on (`max_profiled_replicas`).
    pub fn max_profiled_replicas(&self) -> u32 {
        self.observed.iter().map(|o| o.replicas).max().unwrap_or(0)
    }

    /// Its goodput model, once it has one (`get_goodput_fn`).
    pub fn goodput_fn(&self, app: &Application) -> Option<GoodputFn> {
        let perf = perf_of(self.perf_bits.as_ref()?);
        let (sqr, var) = self.grad_bits?;
        Some(GoodputFn {
            perf,
            grad_sqr: f64::from_bits(sqr),
            grad_var: f64::from_bits(var),
            init_batch_size: app.init_batch_size,
        })
    }

    /// `Job.update_local_bsz(placement)`: its batch configuration on `placement`.
    pub fn update_local_bsz(&mut self, app: &Application, placement: &[u32]) {
        let (nodes, replicas) = shape(placement);
        if replicas == 0 {
            return;
        }
        let model = self.goodput_fn(app);
        let config = match (self.target_batch, model) {
            (Some(b), _) => app.batch_config(b, replicas),
            (None, None) => {
                let b = app
                    .init_batch_size
                    .max(app.min_local_bsz.saturating_mul(replicas));
                app.batch_config(b, replicas)
            }
            (None, Some(g)) => {
                let (_, atomic, accum) = g.optimize(
                    nodes,
                    replicas,
                    Some(app.max_batch_size),
                    (Some(app.min_local_bsz), Some(app.max_local_bsz)),
                    true,
                );
                // count = replicas × (accum + 1); the local batch is capped so the total
                // stays within the largest measured one.
                let count = f64::from(replicas) * (f64::from(accum) + 1.0);
                let cap = (f64::from(app.max_batch_size) / count).trunc().max(0.0) as u32;
                BatchConfig {
                    atomic_bsz: atomic.min(cap),
                    accum_steps: accum,
                }
            }
        };
        self.atomic_bsz = config.atomic_bsz;
        self.accum_steps = config.accum_steps;
    }

    /// `Job.reallocate(placement)` for a non-empty placement: the job restarts
    /// (`restart_s` before progress resumes) with the batch configuration of the placement.
    pub fn reallocate(
        &mut self,
        app: &Application,
        placement: &[u32],
        p: &mut Progress,
        restart_s: u64,
    ) {
        self.update_local_bsz(app, placement);
        p.rescale_left = restart_s;
        self.restarts = Some(self.restarts.map_or(0, |r| r.saturating_add(1)));
    }

    /// `Job.update_params`: remember the gradient statistics, and refit the model when the
    /// configuration is new.
    fn observe(&mut self, app_index: usize, o: Observation, grad: (f64, f64), fitter: &dyn Fitter) {
        self.grad_bits = Some((grad.0.to_bits(), grad.1.to_bits()));
        let seen = self
            .observed
            .iter()
            .any(|x| (x.nodes, x.replicas, x.atomic_bsz) == (o.nodes, o.replicas, o.atomic_bsz));
        if seen {
            return;
        }
        self.observed.push(o);
        self.perf_bits = Some(bits_of(&fitter.fit(app_index, &self.observed)));
    }

    /// `Job.step(seconds)` on `placement` (GPUs per node in allocation order): restart
    /// time first, then training, the batch size re-chosen after each epoch and at the end.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        app: &Application,
        app_index: usize,
        placement: &[u32],
        p: &mut Progress,
        seconds: u64,
        fitter: &dyn Fitter,
    ) -> Result<(), ProgressError> {
        let placement: Vec<u32> = placement.iter().copied().filter(|&g| g > 0).collect();
        let (nodes, replicas) = shape(&placement);
        if replicas == 0 {
            p.elapsed += seconds;
            return Ok(());
        }
        let gpus = u64::from(replicas);
        let mut seconds = seconds;
        let delay = p.rescale_left.min(seconds);
        p.elapsed += delay;
        self.attained_gpu_s = self.attained_gpu_s.saturating_add(delay * gpus);
        p.rescale_left -= delay;
        seconds -= delay;
        let last = app.max_epochs.saturating_sub(1);
        while seconds > 0 && p.completed_at.is_none() {
            let config = BatchConfig {
                atomic_bsz: self.atomic_bsz,
                accum_steps: self.accum_steps,
            };
            let batch = config.batch_size(replicas);
            let scale = batch as f64 / f64::from(app.init_batch_size);
            let (step, sync) = app.throughput(&placement, self.atomic_bsz).ok_or_else(|| {
                ProgressError::Throughput {
                    app: app.profile.name.clone(),
                    placement: placement.clone(),
                    local_bsz: self.atomic_bsz,
                }
            })?;
            let accum_time = step - sync;
            let (sqr, var) =
                app.grad_stats(batch, p.epoch)
                    .ok_or_else(|| ProgressError::BatchSize {
                        app: app.profile.name.clone(),
                        batch_size: batch,
                        min: app.init_batch_size,
                        max: app.max_batch_size,
                    })?;
            let gain = (var + sqr) / (var / scale + sqr);
            self.observe(
                app_index,
                Observation {
                    nodes,
                    replicas,
                    atomic_bsz: self.atomic_bsz,
                    step_bits: step.to_bits(),
                    sync_bits: sync.to_bits(),
                },
                (sqr, var),
                fitter,
            );
            let total = step + accum_time * f64::from(self.accum_steps);
            let goodput = gain / total;
            if !(goodput.is_finite() && goodput > 0.0) {
                return Err(ProgressError::NoProgress {
                    app: app.profile.name.clone(),
                    placement: placement.clone(),
                    goodput,
                });
            }
            let next = app.progress_at(p.epoch + 1);
            if p.progress + goodput * (seconds as f64) < next {
                p.progress += goodput * seconds as f64;
                p.elapsed += seconds;
                self.attained_gpu_s = self.attained_gpu_s.saturating_add(seconds * gpus);
                seconds = 0;
            } else {
                p.epoch += 1;
                let delta = ((next - p.progress) / goodput).round_ties_even().max(0.0) as u64;
                let delta = delta.min(seconds);
                if p.epoch > last {
                    p.completed_at = Some(p.elapsed + delta);
                }
                p.progress = next;
                p.elapsed += delta;
                self.attained_gpu_s = self.attained_gpu_s.saturating_add(delta * gpus);
                seconds -= delta;
            }
            self.update_local_bsz(app, &placement);
        }
        p.elapsed += seconds;
        Ok(())
    }

    /// Its speedup function for a scheduling round (`get_speedup_fn`, with the base
    /// goodput the Pollux policy sets: that of `base_replicas` replicas on `base_nodes`
    /// nodes).
    pub fn speedup_fn(&self, app: &Application, base_nodes: u32, base_replicas: u32) -> Speedup {
        match self.goodput_fn(app) {
            None => Speedup::Linear {
                base_replicas: f64::from(base_replicas.max(1)),
            },
            Some(g) => {
                let range = (Some(app.min_local_bsz), Some(app.max_local_bsz));
                let base = g
                    .optimize(
                        base_nodes.max(1),
                        base_replicas.max(base_nodes).max(1),
                        Some(app.max_batch_size),
                        range,
                        true,
                    )
                    .0;
                Speedup::Model {
                    goodput: g,
                    base,
                    max_batch_size: app.max_batch_size,
                    range,
                }
            }
        }
    }
}

/// A job's speedup on (nodes, replicas) relative to its base.
#[derive(Clone, Copy, Debug)]
pub enum Speedup {
    /// No model yet: replicas ÷ base replicas.
    Linear { base_replicas: f64 },
    /// Predicted goodput ÷ base goodput.
    Model {
        goodput: GoodputFn,
        base: f64,
        max_batch_size: u32,
        range: (Option<u32>, Option<u32>),
    },
}

impl Speedup {
    pub fn at(&self, nodes: u32, replicas: u32) -> f64 {
        if replicas == 0 || nodes == 0 {
            return 0.0;
        }
        match *self {
            Speedup::Linear { base_replicas } => f64::from(replicas) / base_replicas,
            Speedup::Model {
                goodput,
                base,
                max_batch_size,
                range,
            } => {
                let g = goodput
                    .optimize(nodes, replicas, Some(max_batch_size), range, true)
                    .0;
                let s = g / base;
                if s.is_finite() && s > 0.0 { s } else { 0.0 }
            }
        }
    }
}
