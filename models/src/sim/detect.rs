//! Deadlock, livelock and starvation detection inside every run.
//!
//! **Deadlock.** At the end of an instant in which something changed, the jobs that hold
//! resources while waiting (partly placed gangs, gangs waiting at Permit) are checked with
//! the classic detection algorithm for resources with several instances (Coffman et al.;
//! the "banker's" safety check run on the current allocation): start from what is free,
//! add everything that some future event will release (running jobs complete; gangs with a
//! pending Permit or `waitForPodsReady` deadline will be released; Kueue workloads that a
//! preemption could evict), then repeatedly let any waiting job whose missing pods fit into
//! that pool finish and give back what it holds. Jobs left over hold resources and can
//! never progress, whatever happens next: they are deadlocked, and stay so. Whether the
//! missing pods fit is decided by placing them first-fit, largest first, on a copy of the
//! pool; on the gang shapes of the traces (whole GPUs) that is exact.
//!
//! **Livelock.** A gang whose reservations are released without it running (Permit
//! timeout, PostFilter rejection, PodsReady eviction) `livelock_releases` times with no job
//! completing anywhere in between is reported: it is repeatedly reserved and released while
//! the cluster makes no progress. (A gang that is turned away while others run and finish
//! is waiting, not livelocked; if it waits too long that is starvation.)
//!
//! **Starvation.** A job that has waited longer than `starvation_after` at a moment when
//! the resources that are free or held by other waiting (not running) jobs would hold all
//! of it is reported: the cluster could have run it. The state between two instants does
//! not change, so the check at the end of an instant covers the time up to the next event:
//! a job crossing the threshold in that gap is reported at the moment it crossed it.
//!
//! Detection only observes: it schedules nothing and makes no choice, so a run's events and
//! outputs do not depend on it (besides the records it adds).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

use super::{ClusterSim, JobPhase, PodPhase};
use crate::resources::PodRequest;
use crate::state::ClusterState;

/// What to detect (scenario `detect:` section).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Check for deadlocks (default true).
    pub deadlock: bool,
    /// Report a job as starved once it has waited this long while the cluster could have
    /// run it (default 24 h; `null` turns starvation detection off).
    pub starvation_after: Option<SimDuration>,
    /// Report a gang as livelocked once its reservations have been released this many
    /// times without it running (default 10; 0 turns it off).
    pub livelock_releases: u32,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            deadlock: true,
            starvation_after: Some(SimDuration::from_secs(24 * 3600)),
            livelock_releases: 10,
        }
    }
}

/// Why a job is reported as starved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StarvedKind {
    /// Waited past `starvation_after` while the cluster had room for it.
    Starvation,
    /// Reserved and released `livelock_releases` times without running.
    Livelock,
}

/// One starvation or livelock finding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StarvedRecord {
    pub job: u32,
    pub time: SimTime,
    pub kind: StarvedKind,
    /// Reservation releases so far (livelock) or the wait so far (starvation), in words.
    pub detail: String,
}

/// A set of jobs found deadlocked at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeadlockRecord {
    pub time: SimTime,
    pub jobs: Vec<u32>,
}

/// The detector's run-time state (part of `SimState`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DetectState {
    /// Jobs that wait while holding resources.
    pub holding_waiting: BTreeSet<u32>,
    /// Something changed since the last deadlock check.
    pub dirty: bool,
    pub deadlocks: Vec<DeadlockRecord>,
    pub deadlocked: BTreeSet<u32>,
    pub starved: BTreeMap<u32, StarvedRecord>,
    /// Reservation releases without running, per job, since the last completion.
    pub releases: BTreeMap<u32, u32>,
    /// Jobs submitted and never started, by submit time (starvation candidates).
    pub never_started: BTreeSet<(SimTime, u32)>,
    /// Resources changed since the last starvation check.
    pub starve_dirty: bool,
    /// Time up to which the starvation check has covered the current state.
    pub starve_checked_until: SimTime,
}

impl ClusterSim {
    /// Keep `holding_waiting` current after `job` gained or lost resources or changed
    /// phase.
    pub(super) fn track_holding(&mut self, job: u32) {
        let js = &self.state.jobs[job as usize];
        let holding = js.phase == JobPhase::Waiting && js.assumed > 0;
        let started = js.first_start.is_some();
        let submit = self.workload.jobs[job as usize].submit;
        let d = &mut self.state.detect;
        if holding {
            d.holding_waiting.insert(job);
        } else {
            d.holding_waiting.remove(&job);
        }
        if started {
            d.never_started.remove(&(submit, job));
        }
        d.dirty = true;
        d.starve_dirty = true;
    }

    /// A gang's reservations were released without it running.
    pub(super) fn note_gang_release(&mut self, job: u32, now: SimTime) {
        let limit = self.detect.livelock_releases;
        let n = {
            let r = self.state.detect.releases.entry(job).or_insert(0);
            *r += 1;
            *r
        };
        if limit > 0 && n >= limit && !self.state.detect.starved.contains_key(&job) {
            self.state.detect.starved.insert(
                job,
                StarvedRecord {
                    job,
                    time: now,
                    kind: StarvedKind::Livelock,
                    detail: format!("reserved and released {n} times without running"),
                },
            );
        }
    }

    /// A job completed: the cluster made progress.
    pub(super) fn note_progress(&mut self) {
        self.state.detect.releases.clear();
    }

    /// Run the checks due at the end of the instant at `now`; the state lasts until
    /// `next` (the next event; `None`: for ever).
    pub(super) fn detect(&mut self, now: SimTime, next: Option<SimTime>) {
        if self.detect.deadlock && self.state.detect.dirty {
            self.state.detect.dirty = false;
            if self
                .state
                .detect
                .holding_waiting
                .iter()
                .any(|j| !self.state.detect.deadlocked.contains(j))
            {
                let found = self.find_deadlocked();
                if !found.is_empty() {
                    self.state.detect.deadlocked.extend(found.iter().copied());
                    self.state.detect.deadlocks.push(DeadlockRecord {
                        time: now,
                        jobs: found,
                    });
                }
            }
        }
        if let Some(after) = self.detect.starvation_after {
            self.find_starved(now, next.unwrap_or(SimTime::MAX), after);
        }
    }

    /// Could some future event release `job`'s reservations without it running?
    fn releasable(&self, job: u32) -> bool {
        let js = &self.state.jobs[job as usize];
        if js.permit_deadline.is_some() {
            return true;
        }
        if js.admitted {
            if self.config.kueue.wait_for_pods_ready.enable {
                return true; // its PodsReady deadline is pending
            }
            // A preemption for a future or queued workload could evict it.
            let cq = self.state.kueue.job_cq[job as usize] as usize;
            let q = &self.state.kueue.queues[cq];
            let can_preempt = q.within != super::policy::WithinClusterQueueKey::Never
                || q.reclaim != super::policy::ReclaimKey::Never;
            if can_preempt
                && self.state.jobs.iter().any(|o| {
                    o.phase == JobPhase::NotSubmitted
                        || (o.phase == JobPhase::Waiting && !o.admitted)
                })
            {
                return true;
            }
        }
        false
    }

    fn give_back(&self, pool: &mut ClusterState, job: u32) {
        let spec = &self.workload.jobs[job as usize];
        for (p, ps) in self.state.jobs[job as usize].pods.iter().enumerate() {
            if let Some(pl) = &ps.placement {
                pool.unbind(pl.node, &spec.pods[p], &pl.gpus);
            }
        }
    }

    /// The pods of `job` that hold nothing yet.
    fn missing_pods(&self, job: u32) -> Vec<&PodRequest> {
        let spec = &self.workload.jobs[job as usize];
        self.state.jobs[job as usize]
            .pods
            .iter()
            .enumerate()
            .filter(|(_, ps)| ps.phase == PodPhase::Pending)
            .map(|(p, _)| &spec.pods[p])
            .collect()
    }

    /// Would `pods` all fit into `pool` (first fit, largest first)?
    pub(super) fn fits_in(&self, pool: &ClusterState, pods: &[&PodRequest]) -> bool {
        let owned: Vec<PodRequest> = pods.iter().map(|p| (*p).clone()).collect();
        if !pool.could_fit(&owned) {
            return false;
        }
        let mut order: Vec<&PodRequest> = pods.to_vec();
        order.sort_by(|a, b| b.cmp(a));
        // The nodes this placement binds to, copied on their first bind: the pool itself is
        // not copied (it was, once per call — the whole cluster for every starvation
        // candidate and every waiting gang, at every check).
        let mut trial: BTreeMap<usize, crate::state::NodeState> = BTreeMap::new();
        'pods: for p in order {
            for (i, ns) in self.spec.nodes.iter().enumerate() {
                let st = trial.get(&i).unwrap_or(&pool.nodes[i]);
                if st.fits(ns, p).is_ok()
                    && let Some(g) = st.pick_gpus(p.gpu)
                {
                    trial
                        .entry(i)
                        .or_insert_with(|| pool.nodes[i].clone())
                        .take(p, &g);
                    continue 'pods;
                }
            }
            return false;
        }
        true
    }

    /// Jobs holding resources that can never progress (see the module docs).
    pub(crate) fn find_deadlocked(&self) -> Vec<u32> {
        let d = &self.state.detect;
        let mut pool = self.state.cluster.clone();
        // Nodes a pending event brings back count as what they will be.
        super::faults::revive_returning(self, &mut pool);
        for &j in &self.state.running {
            self.give_back(&mut pool, j);
        }
        // Nodes the cluster autoscaler can still add are future capacity too.
        self.autoscaler_future_capacity(&mut pool);
        let mut waiting: Vec<u32> = Vec::new();
        for &j in &d.holding_waiting {
            if d.deadlocked.contains(&j) {
                continue;
            }
            if self.releasable(j) {
                self.give_back(&mut pool, j);
            } else {
                waiting.push(j);
            }
        }
        loop {
            let before = waiting.len();
            let mut i = 0;
            while i < waiting.len() {
                let j = waiting[i];
                if self.fits_in(&pool, &self.missing_pods(j)) {
                    self.give_back(&mut pool, j);
                    waiting.remove(i);
                } else {
                    i += 1;
                }
            }
            if waiting.len() == before {
                break;
            }
        }
        waiting
    }

    /// Jobs that cross `after` of waiting before `until` while the cluster has room.
    fn find_starved(&mut self, now: SimTime, until: SimTime, after: SimDuration) {
        let d = &self.state.detect;
        // Unchanged resources: only jobs newly crossing the threshold need a look.
        let from = if d.starve_dirty {
            SimTime::ZERO
        } else {
            d.starve_checked_until
        };
        let cands: Vec<(SimTime, u32)> = d
            .never_started
            .iter()
            .copied()
            .take_while(|(s, _)| *s + after < until)
            .filter(|(s, _)| *s + after >= from)
            .collect();
        self.state.detect.starve_dirty = false;
        self.state.detect.starve_checked_until = until;
        if cands.is_empty() {
            return;
        }
        let mut pool = self.state.cluster.clone();
        for &h in &self.state.detect.holding_waiting {
            self.give_back(&mut pool, h);
        }
        let mut found = Vec::new();
        for (submit, j) in cands {
            if self.state.jobs[j as usize].phase != JobPhase::Waiting
                || self.state.detect.deadlocked.contains(&j)
            {
                continue;
            }
            // Its own reservations, if any, are in the pool already.
            let pods: Vec<&PodRequest> = self.workload.jobs[j as usize].pods.iter().collect();
            if self.fits_in(&pool, &pods) {
                let time = (submit + after).max(now);
                found.push(StarvedRecord {
                    job: j,
                    time,
                    kind: StarvedKind::Starvation,
                    detail: format!(
                        "waited {} (since {submit}) while the cluster had room for it",
                        SimDuration(time.since(submit).as_nanos())
                    ),
                });
            }
        }
        for r in found {
            self.state
                .detect
                .never_started
                .remove(&(self.workload.jobs[r.job as usize].submit, r.job));
            self.state.detect.starved.entry(r.job).or_insert(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::RngExt as _;
    use sim_core::RngStreams;

    use crate::cluster::{ClusterSpec, NodeSpec};
    use crate::resources::{GpuRequest, PodRequest};
    use crate::sim::{ClusterSim, RunConfig};
    use crate::state::ClusterState;
    use crate::workload::{JobSpec, Workload};

    /// `fits_in` as it was: place on a copy of the whole pool.
    fn fits_by_copy(m: &ClusterSim, pool: &ClusterState, pods: &[&PodRequest]) -> bool {
        let owned: Vec<PodRequest> = pods.iter().map(|p| (*p).clone()).collect();
        if !pool.could_fit(&owned) {
            return false;
        }
        let mut order: Vec<&PodRequest> = pods.to_vec();
        order.sort_by(|a, b| b.cmp(a));
        let mut trial = pool.clone();
        'pods: for p in order {
            for (i, ns) in m.spec.nodes.iter().enumerate() {
                let st = &trial.nodes[i];
                if st.fits(ns, p).is_ok()
                    && let Some(g) = st.pick_gpus(p.gpu)
                {
                    trial.bind(i as u32, p, &g);
                    continue 'pods;
                }
            }
            return false;
        }
        true
    }

    fn pod(rng: &mut impl rand::Rng) -> PodRequest {
        PodRequest {
            cpu_milli: 1000 * rng.random_range(0..12u64),
            memory_mib: 1024 * rng.random_range(0..64u64),
            gpu: match rng.random_range(0..4u32) {
                0 => GpuRequest::None,
                1 => GpuRequest::Shared(100 * rng.random_range(1..10u32)),
                _ => GpuRequest::Whole(rng.random_range(1..9u32)),
            },
            gpu_models: Vec::new(),
            constraints: None,
        }
    }

    /// Placing on copies of the touched nodes only gives the verdict of placing on a copy
    /// of the whole pool, on random pools (random pods bound first fit) and random gangs,
    /// and leaves the pool as it was.
    #[test]
    fn fits_in_without_copying_the_pool_agrees_with_the_copy() {
        let mut rng = RngStreams::new(7).stream("fits_in");
        let mut seen = [0u32; 2];
        for case in 0..300 {
            let n_nodes = rng.random_range(1..7usize);
            let spec = ClusterSpec {
                nodes: (0..n_nodes)
                    .map(|i| NodeSpec {
                        taints: Vec::new(),
                        name: format!("n{i}"),
                        pool: "gpu".into(),
                        cpu_milli: 16_000,
                        memory_mib: 128 * 1024,
                        gpus: [0u32, 2, 4, 8][rng.random_range(0..4usize)],
                        gpu_model: Some("H100".into()),
                        gpu_memory_mib: 81_920,
                        rack: 0,
                        labels: Default::default(),
                    })
                    .collect(),
            };
            let one = JobSpec {
                id: "j".into(),
                submit: sim_core::SimTime::ZERO,
                duration: sim_core::SimDuration::from_secs(1),
                pods: vec![PodRequest::gpus(0)],
                priority: 0,
                queue: None,
            };
            let m = ClusterSim::new(spec, Workload { jobs: vec![one] }, &RunConfig::default())
                .expect("a valid model");
            let mut pool = ClusterState::new(&m.spec);
            for _ in 0..rng.random_range(0..10usize) {
                let p = pod(&mut rng);
                let at = (0..n_nodes).find_map(|i| {
                    let st = &pool.nodes[i];
                    (st.fits(&m.spec.nodes[i], &p).is_ok())
                        .then(|| st.pick_gpus(p.gpu))
                        .flatten()
                        .map(|g| (i, g))
                });
                if let Some((i, g)) = at {
                    pool.bind(i as u32, &p, &g);
                }
            }
            let gang: Vec<PodRequest> = (0..rng.random_range(1..6usize))
                .map(|_| pod(&mut rng))
                .collect();
            let refs: Vec<&PodRequest> = gang.iter().collect();
            let before = pool.clone();
            let fits = m.fits_in(&pool, &refs);
            assert_eq!(
                fits,
                fits_by_copy(&m, &pool, &refs),
                "case {case}: {gang:?} on {pool:?}"
            );
            assert_eq!(pool, before, "case {case}: the pool is left as it was");
            seen[usize::from(fits)] += 1;
        }
        // Both verdicts occur, each often.
        assert!(seen.iter().all(|&n| n >= 50), "{seen:?}");
    }
}
