//! Training jobs whose run time comes from their placement (issue 19): a job named in
//! [`TrainingConfig`] runs until it has trained its application's epochs, at the
//! throughput and statistical efficiency of the placement it got (`crate::elastic`),
//! instead of for its trace duration.
//!
//! * At start the job restarts ([`crate::elastic::RESCALE_SECONDS`], as the Pollux
//!   artefact charges every (re)allocation) and its completion is scheduled at the time
//!   the progress model gives for the placement (GPUs per node).
//! * When it stops early (preemption), the progress it made in the whole seconds it ran is
//!   kept; a later start restarts it from there.
//!
//! Times are whole seconds, as in the artefact: a stop banks the whole seconds run.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, SimDuration, SimTime};

use super::{ClusterSim, Event, ModelError};
use crate::elastic::adaptive::{Adaptive, Fitter, Observation};
use crate::elastic::goodput::PerfParams;
use crate::elastic::{Application, Progress, ProgressError, Run, progress};
use crate::workload::Workload;

/// One training job: which application, at which total batch size.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrainingJob {
    /// Index into [`TrainingConfig::apps`].
    pub app: usize,
    pub batch_size: u32,
    /// Seconds every (re)start costs before training resumes (the artefact's 30 s
    /// `rescale_time`, [`crate::elastic::RESCALE_SECONDS`], unless the trace says
    /// otherwise with `restart_delay`).
    #[serde(default = "default_restart")]
    pub restart_s: u64,
}

fn default_restart() -> u64 {
    crate::elastic::RESCALE_SECONDS
}

/// The applications of a run and the jobs that train them (by job id). Serialized with
/// the run's config (a verify witness replays with it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingConfig {
    pub apps: Vec<Application>,
    pub jobs: std::collections::BTreeMap<String, TrainingJob>,
}

/// A training job's progress, in plain data (the progress as its bits, so the state
/// hashes and compares exactly).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobTraining {
    pub epoch: u32,
    pub progress_bits: u64,
    pub rescale_left: u64,
    /// GPUs per node of the current run (empty when not running), by node index order.
    pub placement: Vec<u32>,
    /// When the current run started, or for a job adapting its batch size, when it was
    /// last advanced (ns since the start; `None` when not running).
    pub started_ns: Option<u64>,
    /// What a job adapting its batch size (Pollux) has learnt and chosen.
    pub adaptive: Option<Adaptive>,
}

impl JobTraining {
    fn progress(&self) -> Progress {
        Progress {
            epoch: self.epoch,
            progress: f64::from_bits(self.progress_bits),
            rescale_left: self.rescale_left,
            completed_at: None,
            elapsed: 0,
        }
    }
    fn store(&mut self, p: &Progress) {
        self.epoch = p.epoch;
        self.progress_bits = p.progress.to_bits();
        self.rescale_left = p.rescale_left;
    }
}

/// Per job (by index): its progress when it trains.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrainingState {
    pub jobs: Vec<Option<JobTraining>>,
}

/// The read-only side: the config and each job's entry, by job index.
#[derive(Debug)]
pub(crate) struct TrainingRuntime {
    config: Arc<TrainingConfig>,
    of_job: Vec<Option<TrainingJob>>,
    /// Jobs adapt their batch size (the policy's `adapts_batch`): they are advanced at the
    /// policy's rounds, this many seconds apart.
    adaptive_every: Option<u64>,
    /// Fitted performance models by (application, configurations seen): a pure function
    /// of the profile, memoised.
    fits: std::sync::Mutex<FitMemo>,
}

type FitMemo = std::collections::BTreeMap<(usize, Vec<(u32, u32, u32)>), PerfParams>;

impl Fitter for TrainingRuntime {
    fn fit(&self, app: usize, observed: &[Observation]) -> PerfParams {
        let key = (
            app,
            observed
                .iter()
                .map(|o| (o.nodes, o.replicas, o.atomic_bsz))
                .collect::<Vec<_>>(),
        );
        let mut memo = self
            .fits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = memo.get(&key) {
            return *p;
        }
        let p = crate::elastic::adaptive::Direct.fit(app, observed);
        memo.insert(key, p);
        p
    }
}

/// The batch size a Pollux job keeps instead of adapting it: the artefact fixes `ncf` at
/// 32,768 (`Cluster.__init__` in `simulator.py`).
fn pollux_target(app: &Application) -> Option<u32> {
    (app.profile.name == "ncf").then_some(32_768)
}

impl TrainingRuntime {
    /// Resolve `config`'s job ids against `workload`: every id must be a job of it and
    /// every application index valid.
    pub(crate) fn new(
        config: &Arc<TrainingConfig>,
        workload: &Workload,
    ) -> Result<(TrainingRuntime, TrainingState), ModelError> {
        let mut of_job = vec![None; workload.jobs.len()];
        let index: std::collections::BTreeMap<&str, usize> = workload
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id.as_str(), i))
            .collect();
        for (id, t) in &config.jobs {
            let Some(&i) = index.get(id.as_str()) else {
                return Err(ModelError::Config {
                    field: "training".into(),
                    msg: format!("job `{id}` is not in the workload"),
                });
            };
            if t.app >= config.apps.len() {
                return Err(ModelError::Config {
                    field: "training".into(),
                    msg: format!("job `{id}`: application {} of {}", t.app, config.apps.len()),
                });
            }
            of_job[i] = Some(t.clone());
        }
        let state = TrainingState {
            jobs: of_job
                .iter()
                .map(|t| t.as_ref().map(|_| JobTraining::default()))
                .collect(),
        };
        Ok((
            TrainingRuntime {
                config: Arc::clone(config),
                of_job,
                adaptive_every: None,
                fits: std::sync::Mutex::new(FitMemo::new()),
            },
            state,
        ))
    }
}

impl ClusterSim {
    /// GPUs per node of a job's placement, in node index order; for an elastic job, in
    /// the order its pods were given the nodes (the artefact's allocation order, which its
    /// throughput look-up depends on: `124` and `142` are measured apart).
    fn gpus_per_node(&self, job: u32) -> Vec<u32> {
        let spec = &self.workload.jobs[job as usize];
        // (node, GPUs) of each placed pod, in pod order.
        let placed = spec
            .pods
            .iter()
            .zip(self.state.jobs[job as usize].pods.iter())
            .filter_map(|(p, st)| {
                let pl = st.placement.as_ref()?;
                Some((pl.node, (p.gpu.total_milli() / 1000) as u32))
            });
        if self.elastic {
            let mut out: Vec<(u32, u32)> = Vec::new();
            for (node, g) in placed {
                match out.last_mut() {
                    Some((n, c)) if *n == node => *c += g,
                    _ => out.push((node, g)),
                }
            }
            return out.into_iter().map(|(_, c)| c).collect();
        }
        let mut per: std::collections::BTreeMap<u32, u32> = std::collections::BTreeMap::new();
        for (node, g) in placed {
            *per.entry(node).or_insert(0) += g;
        }
        per.into_values().collect()
    }

    /// A training job starts: it restarts, and its run time is what its placement needs to
    /// finish. `None` for a job that does not train; an error when the profile cannot
    /// tell the placement's throughput.
    pub(super) fn training_start(
        &mut self,
        job: u32,
        now: SimTime,
    ) -> Option<Result<SimDuration, ProgressError>> {
        let rt = self.training.as_ref()?;
        let t = rt.of_job.get(job as usize)?.clone()?;
        let config = Arc::clone(&rt.config);
        let placement = self.gpus_per_node(job);
        let st = self
            .state
            .training
            .as_mut()?
            .jobs
            .get_mut(job as usize)?
            .as_mut()?;
        let mut p = st.progress();
        if let Some(every) = rt.adaptive_every {
            let app = &config.apps[t.app];
            let mut a = st
                .adaptive
                .take()
                .unwrap_or_else(|| Adaptive::new(pollux_target(app)));
            a.reallocate(app, &placement, &mut p, t.restart_s);
            let ahead = lookahead(rt, t.app, &a, &p, &placement, every);
            st.adaptive = Some(a);
            st.store(&p);
            st.placement.clone_from(&placement);
            st.started_ns = Some(now.as_nanos());
            return Some(ahead);
        }
        progress::reallocate_with(&mut p, t.restart_s);
        st.store(&p);
        st.placement.clone_from(&placement);
        st.started_ns = Some(now.as_nanos());
        let run = Run::new(&config.apps[t.app], t.batch_size, &placement);
        Some(run.seconds_to_finish(&p).map(SimDuration::from_secs))
    }

    /// A running training job stops at `now`: bank the progress of the whole seconds it ran
    /// since it (re)started.
    pub(super) fn training_stop(&mut self, job: u32, now: SimTime) {
        let Some(rt) = self.training.as_ref() else {
            return;
        };
        let Some(Some(t)) = rt.of_job.get(job as usize).cloned() else {
            return;
        };
        let config = Arc::clone(&rt.config);
        let Some(Some(st)) = self
            .state
            .training
            .as_mut()
            .and_then(|s| s.jobs.get_mut(job as usize))
        else {
            return;
        };
        let placement = std::mem::take(&mut st.placement);
        let mut p = st.progress();
        if rt.adaptive_every.is_some() {
            let (Some(started), Some(a)) = (st.started_ns.take(), st.adaptive.as_mut()) else {
                return;
            };
            let ran = now.as_nanos().saturating_sub(started) / 1_000_000_000;
            let app = &config.apps[t.app];
            if a.step(app, t.app, &placement, &mut p, ran, rt).is_ok() {
                st.store(&p);
            }
            return;
        }
        let run = Run::new(&config.apps[t.app], t.batch_size, &placement);
        // The same placement it started on, which the start already checked.
        let Some(started) = st.started_ns.take() else {
            return;
        };
        let ran = now.as_nanos().saturating_sub(started) / 1_000_000_000;
        if run.advance(&mut p, ran).is_ok() {
            st.store(&p);
        }
    }
}

/// Advance a copy of an adaptive job one round (`every` seconds) from `p`: the seconds
/// to its completion when it completes within the round, else just past the round (the
/// policy advances it at the round and looks ahead again).
fn lookahead(
    rt: &TrainingRuntime,
    app_index: usize,
    a: &Adaptive,
    p: &Progress,
    placement: &[u32],
    every: u64,
) -> Result<SimDuration, ProgressError> {
    let mut a = a.clone();
    let mut p = Progress {
        elapsed: 0,
        completed_at: None,
        ..p.clone()
    };
    a.step(
        &rt.config.apps[app_index],
        app_index,
        placement,
        &mut p,
        every,
        rt,
    )?;
    Ok(SimDuration::from_secs(
        p.completed_at.unwrap_or(every.saturating_add(1)),
    ))
}

/// An adaptive job as of its last advance.
#[derive(Clone, Debug)]
pub struct AdaptiveView<'a> {
    pub app: &'a Application,
    pub app_index: usize,
    pub restart_s: u64,
    pub progress: Progress,
    /// `None` before it first ran.
    pub adaptive: Option<&'a Adaptive>,
}

impl ClusterSim {
    /// Jobs adapt their batch size and are advanced every `every` (the policy's rounds).
    pub(super) fn set_adaptive(&mut self, every: SimDuration) {
        if let Some(rt) = self.training.as_mut() {
            rt.adaptive_every = Some(every.as_nanos().div_ceil(1_000_000_000).max(1));
        }
    }

    /// A running adaptive job's progress up to `now` (a round): it is advanced over the
    /// seconds since its last advance, and its completion is set within the coming round
    /// if it completes there. `Some(true)` when it has completed by `now`; `None` for a job
    /// that is not a running adaptive one. An error stops the run.
    pub fn training_checkpoint(
        &mut self,
        job: u32,
        now: SimTime,
        ctx: &mut Ctx<'_, Event>,
    ) -> Option<bool> {
        let rt = self.training.as_ref()?;
        let every = rt.adaptive_every?;
        let t = rt.of_job.get(job as usize)?.as_ref()?;
        let app_index = t.app;
        let st = self
            .state
            .training
            .as_mut()?
            .jobs
            .get_mut(job as usize)?
            .as_mut()?;
        let started = st.started_ns?;
        let mut p = st.progress();
        let mut a = st.adaptive.take()?;
        let app = &rt.config.apps[app_index];
        let ran = now.as_nanos().saturating_sub(started) / 1_000_000_000;
        let stepped = a.step(app, app_index, &st.placement, &mut p, ran, rt);
        let ahead = stepped.and_then(|()| {
            if p.completed_at.is_some() {
                Ok(None)
            } else {
                lookahead(rt, app_index, &a, &p, &st.placement, every).map(Some)
            }
        });
        st.adaptive = Some(a);
        st.store(&p);
        st.started_ns = Some(started + ran * 1_000_000_000);
        match ahead {
            Ok(None) => Some(true),
            Ok(Some(d)) => {
                let at = SimTime(started + ran * 1_000_000_000);
                self.reschedule_completion(job, at, d, ctx);
                Some(false)
            }
            Err(e) => {
                if self.training_error.is_none() {
                    let id = &self.workload.jobs[job as usize].id;
                    self.training_error = Some(format!("{now}: job {id:?}: {e}"));
                }
                ctx.stop();
                None
            }
        }
    }

    /// An adaptive training job as of its last advance (`None` for a job that does not
    /// train or when jobs do not adapt).
    pub fn adaptive_view(&self, job: u32) -> Option<AdaptiveView<'_>> {
        let rt = self.training.as_ref()?;
        rt.adaptive_every?;
        let t = rt.of_job.get(job as usize)?.as_ref()?;
        let st = self
            .state
            .training
            .as_ref()?
            .jobs
            .get(job as usize)?
            .as_ref()?;
        Some(AdaptiveView {
            app: &rt.config.apps[t.app],
            app_index: t.app,
            restart_s: t.restart_s,
            progress: st.progress(),
            adaptive: st.adaptive.as_ref(),
        })
    }
}

/// What an elastic policy needs of a training job at an instant.
#[derive(Clone, Debug)]
pub struct TrainingView<'a> {
    pub app: &'a Application,
    pub batch_size: u32,
    /// Progress as of the instant (a running job's advanced over the seconds it has run).
    pub progress: Progress,
}

impl ClusterSim {
    /// The run's training config (applications and jobs), when it has training jobs.
    pub fn training_config(&self) -> Option<Arc<TrainingConfig>> {
        self.training.as_ref().map(|rt| Arc::clone(&rt.config))
    }

    /// What training job `job` trains (`None` for a job that does not train).
    pub fn training_job(&self, job: u32) -> Option<&TrainingJob> {
        self.training.as_ref()?.of_job.get(job as usize)?.as_ref()
    }

    /// Training job `job` as of `now`: its application, batch size and progress (for a
    /// running job, advanced over the whole seconds since it started). `None` for a job
    /// that does not train, or when the progress cannot be priced (the start checked it).
    pub fn training_view(&self, job: u32, now: SimTime) -> Option<TrainingView<'_>> {
        let rt = self.training.as_ref()?;
        let t = rt.of_job.get(job as usize)?.as_ref()?;
        let st = self
            .state
            .training
            .as_ref()?
            .jobs
            .get(job as usize)?
            .as_ref()?;
        let app = &rt.config.apps[t.app];
        let mut p = st.progress();
        if let Some(started) = st.started_ns {
            let ran = now.as_nanos().saturating_sub(started) / 1_000_000_000;
            Run::new(app, t.batch_size, &st.placement)
                .advance(&mut p, ran)
                .ok()?;
        }
        Some(TrainingView {
            app,
            batch_size: t.batch_size,
            progress: p,
        })
    }
}

/// Give each training job of an elastic policy's run one 1-GPU pod per replica it could
/// ever get: the most GPUs its application's largest batch can use
/// (`max_batch_size / min_local_bsz`, at least the trace's replicas), at most the
/// cluster's GPUs. Every job must be a training job of 1-GPU pods. Its duration (the
/// estimate duration-reading code sees) is scaled so its trace GPU-hours are unchanged.
pub(crate) fn expand_elastic(
    workload: &mut Workload,
    config: Option<&TrainingConfig>,
    cluster: &crate::cluster::ClusterSpec,
    policy: &str,
) -> Result<(), ModelError> {
    let cluster_gpus = cluster.total_gpus();
    let widest = cluster.nodes.iter().map(|n| n.gpus).max().unwrap_or(0);
    let refuse = |msg: String| ModelError::Config {
        field: "policy".into(),
        msg,
    };
    let Some(config) = config else {
        return Err(refuse(format!(
            "the {policy} policy resizes training jobs: the workload needs a `pollux` trace with `profiles:` (see docs/elastic.md)"
        )));
    };
    for job in &mut workload.jobs {
        let Some(t) = config.jobs.get(&job.id) else {
            return Err(refuse(format!(
                "the {policy} policy resizes training jobs only; job `{}` has no application profile (it is not from a `pollux` trace)",
                job.id
            )));
        };
        let one = crate::resources::PodRequest::gpus(1);
        if job.pods.iter().any(|p| *p != one) {
            return Err(refuse(format!(
                "job `{}`: the {policy} policy resizes jobs of 1-GPU pods",
                job.id
            )));
        }
        let app = &config.apps[t.app];
        // The policy may put a whole node's GPUs into one job: the profile must price it.
        if widest > app.max_gpus_per_node() {
            return Err(refuse(format!(
                "job `{}`: the {policy} policy may give it all {widest} GPUs of a node, but the `{}` profile measures at most {} per node: use nodes of at most {} GPUs",
                job.id,
                app.profile.name,
                app.max_gpus_per_node(),
                app.max_gpus_per_node()
            )));
        }
        let most = u64::from(app.max_batch_size / app.min_local_bsz.max(1))
            .max(job.pods.len() as u64)
            .min(cluster_gpus)
            .max(1);
        // The trace's GPU-hours (its replicas x the duration estimate) stay as they were.
        let asked = job.pods.len() as u128;
        let scaled = u128::from(job.duration.as_nanos()) * asked / u128::from(most);
        job.duration = sim_core::SimDuration(u64::try_from(scaled).unwrap_or(u64::MAX));
        job.pods = vec![one; most as usize];
    }
    Ok(())
}
