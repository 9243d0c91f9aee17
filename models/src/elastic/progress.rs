//! A training job's progress under an allocation, as the Pollux artefact advances it
//! (`Job.step` and `Job.reallocate` in `simulator/simulator.py`, petuum/adaptdl
//! `osdi21-artifact` @ `de25dcc`), for a job with a fixed total batch size (the artefact's
//! Tiresias and Optimus jobs).
//!
//! A job trains for the application's `max_epochs` epochs of statistical progress. On an
//! allocation its goodput is `gain / step time`, where the step time comes from the
//! placement's throughput and `gain = (var + sqr) / (var / scale + sqr)` from the epoch's
//! gradient statistics at its batch size (`scale` = batch size ÷ the smallest measured
//! one). Each epoch ends at a whole second: the time to finish it is rounded (half to
//! even, as Python's `round`). Every (re)allocation first costs [`RESCALE_SECONDS`] of
//! restart before progress resumes.

use super::app::{Application, BatchConfig};

/// Seconds a job spends restarting after each (re)allocation (the artefact's
/// `rescale_time = 30`).
pub const RESCALE_SECONDS: u64 = 30;

/// The longest run time a placement may price (about 584 years: what a simulated time in
/// nanoseconds holds).
pub const MAX_RUN_SECONDS: u64 = u64::MAX / 1_000_000_000;

/// Why a job cannot run on an allocation.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProgressError {
    #[error(
        "{app}: no throughput measured or interpolated for placement {placement:?} at local batch size {local_bsz}"
    )]
    Throughput {
        app: String,
        placement: Vec<u32>,
        local_bsz: u32,
    },
    #[error("{app}: batch size {batch_size} is outside the measured batch sizes {min}..={max}")]
    BatchSize {
        app: String,
        batch_size: u64,
        min: u32,
        max: u32,
    },
    #[error(
        "{app}: on placement {placement:?} the job would run for more than {MAX_RUN_SECONDS} s"
    )]
    TooLong { app: String, placement: Vec<u32> },
    #[error("{app}: no progress on placement {placement:?} (goodput {goodput})")]
    NoProgress {
        app: String,
        placement: Vec<u32>,
        goodput: f64,
    },
}

/// Where a job stands: epochs done, statistical progress, restart time left.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub epoch: u32,
    pub progress: f64,
    /// Seconds of restart left before progress resumes.
    pub rescale_left: u64,
    /// Seconds since the progress began at which the job completed, once it has.
    pub completed_at: Option<u64>,
    /// Seconds advanced so far.
    pub elapsed: u64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            epoch: 0,
            progress: 0.0,
            rescale_left: 0,
            completed_at: None,
            elapsed: 0,
        }
    }
}

/// A job with a fixed total batch size running on one placement.
#[derive(Clone, Debug)]
pub struct Run<'a> {
    pub app: &'a Application,
    /// GPUs per node (zeros ignored).
    pub placement: Vec<u32>,
    pub config: BatchConfig,
    replicas: u32,
    /// (step, sync) time on this placement, once (`None`: the profile cannot tell).
    throughput: Option<(f64, f64)>,
}

impl<'a> Run<'a> {
    /// `app` with total batch size `batch_size` on `placement`.
    pub fn new(app: &'a Application, batch_size: u32, placement: &[u32]) -> Run<'a> {
        let placement: Vec<u32> = placement.iter().copied().filter(|&g| g > 0).collect();
        let replicas = placement.iter().sum();
        let config = app.batch_config(batch_size, replicas);
        Run {
            app,
            throughput: app.throughput(&placement, config.atomic_bsz),
            config,
            placement,
            replicas,
        }
    }

    /// Goodput (statistical progress per second) during `epoch`.
    pub fn goodput(&self, epoch: u32) -> Result<f64, ProgressError> {
        let app = self.app;
        let batch_size = self.config.batch_size(self.replicas);
        let scale = batch_size as f64 / f64::from(app.init_batch_size);
        let (step, sync) = self.throughput.ok_or_else(|| ProgressError::Throughput {
            app: app.profile.name.clone(),
            placement: self.placement.clone(),
            local_bsz: self.config.atomic_bsz,
        })?;
        let accum_time = step - sync;
        let (sqr, var) =
            app.grad_stats(batch_size, epoch)
                .ok_or_else(|| ProgressError::BatchSize {
                    app: app.profile.name.clone(),
                    batch_size,
                    min: app.init_batch_size,
                    max: app.max_batch_size,
                })?;
        let gain = (var + sqr) / (var / scale + sqr);
        let total = step + accum_time * f64::from(self.config.accum_steps);
        let goodput = gain / total;
        if goodput.is_finite() && goodput > 0.0 {
            Ok(goodput)
        } else {
            Err(ProgressError::NoProgress {
                app: app.profile.name.clone(),
                placement: self.placement.clone(),
                goodput,
            })
        }
    }

    /// The epoch after which the job is complete (the artefact's completion epoch without a
    /// target metric: the last).
    fn last_epoch(&self) -> u32 {
        self.app.max_epochs - 1
    }

    /// Advance `p` by `seconds` on this placement, as the artefact's `Job.step` does.
    pub fn advance(&self, p: &mut Progress, seconds: u64) -> Result<(), ProgressError> {
        let mut seconds = seconds;
        let delay = p.rescale_left.min(seconds);
        p.elapsed += delay;
        p.rescale_left -= delay;
        seconds -= delay;
        while seconds > 0 && p.completed_at.is_none() {
            let goodput = self.goodput(p.epoch)?;
            let next = self.app.progress_at(p.epoch + 1);
            if p.progress + goodput * (seconds as f64) < next {
                p.progress += goodput * seconds as f64;
                p.elapsed += seconds;
                seconds = 0;
            } else {
                p.epoch += 1;
                let delta = ((next - p.progress) / goodput).round_ties_even().max(0.0) as u64;
                let delta = delta.min(seconds);
                if p.epoch > self.last_epoch() {
                    p.completed_at = Some(p.elapsed + delta);
                }
                p.progress = next;
                p.elapsed += delta;
                seconds -= delta;
            }
        }
        p.elapsed += seconds;
        Ok(())
    }

    /// Seconds from `p` until the job completes on this placement (restart time left
    /// included); the same as advancing it interval by interval, up to floating-point
    /// rounding of the progress banked between epochs.
    pub fn seconds_to_finish(&self, p: &Progress) -> Result<u64, ProgressError> {
        if p.completed_at.is_some() {
            return Ok(0);
        }
        let mut total = p.rescale_left;
        let mut progress = p.progress;
        for epoch in p.epoch..=self.last_epoch() {
            let goodput = self.goodput(epoch)?;
            let next = self.app.progress_at(epoch + 1);
            let delta = ((next - progress) / goodput).round_ties_even().max(0.0);
            total = total.saturating_add(delta as u64);
            progress = next;
        }
        if total > MAX_RUN_SECONDS {
            return Err(ProgressError::TooLong {
                app: self.app.profile.name.clone(),
                placement: self.placement.clone(),
            });
        }
        Ok(total)
    }
}

/// A (re)allocation: the job restarts, [`RESCALE_SECONDS`] before progress resumes.
pub fn reallocate(p: &mut Progress) {
    reallocate_with(p, RESCALE_SECONDS);
}

/// A (re)allocation with a restart of `seconds` before progress resumes.
pub fn reallocate_with(p: &mut Progress, seconds: u64) {
    p.rescale_left = seconds;
}
