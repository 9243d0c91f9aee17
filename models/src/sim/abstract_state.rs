//! A time-invariant fingerprint of a run's state, for the verifier.
//!
//! Two states with the same fingerprint behave the same from then on, up to a shift in
//! time: the verifier uses it to skip schedules that reach a state it has already explored,
//! and to recognise a run that comes back to where it was (a cycle it can repeat for ever).
//! It therefore leaves out what only feeds the reports (usage integrals, start times,
//! counters) and what is only a handle (timer ids, generations), and it replaces absolute
//! times by offsets from now and queue timestamps by their relative order.

use std::hash::{Hash, Hasher};

use sim_core::{SimTime, TimerId};

use super::{ClusterSim, Event, JobPhase};

/// Interchangeable jobs for symmetry reduction: the classes and, per class, every
/// relabelling of its members (computed once per run).
#[derive(Clone, Debug)]
pub struct JobSymmetry {
    classes: Vec<Vec<u32>>,
    perms: Vec<Vec<Vec<u32>>>,
}

/// A fast, deterministic 64-bit hasher for state fingerprints (the same on every
/// platform and run): a multiply-rotate mix per word and a final avalanche. Far cheaper
/// than SipHash, which the verifier does not need (no untrusted keys).
struct StateHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl StateHasher {
    fn new() -> Self {
        StateHasher(0x243f_6a88_85a3_08d3)
    }
    #[inline]
    fn mix(&mut self, x: u64) {
        self.0 = (self.0 ^ x).wrapping_mul(K).rotate_left(29);
    }
}

impl Hasher for StateHasher {
    fn write(&mut self, bytes: &[u8]) {
        // The tail word is mixed in even when empty (this hasher always did).
        let (tail, _) = crate::fgd::le_words(bytes, |w| self.mix(w));
        self.mix(tail);
    }
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    fn finish(&self) -> u64 {
        // murmur3's fmix64.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

impl ClusterSim {
    /// Fingerprint of the state at `now` with `pending` events (as `EventQueue::pending`
    /// gives them), relative to `now`; `horizon` when the run has one.
    pub fn abstract_hash(
        &self,
        now: SimTime,
        pending: &[(SimTime, TimerId, &Event)],
        horizon: Option<SimTime>,
    ) -> u64 {
        self.abstract_hash_with(now, pending, horizon, None, self.cluster_hash())
    }

    /// Classes of interchangeable jobs (same pods, duration, priority, queue and submit
    /// time: nothing but their ids tells them apart), for symmetry reduction; `None` when
    /// the policy may break ties by job index (Tiresias, SJF, backfill, Kueue preemption)
    /// or there is nothing to gain.
    pub fn job_symmetry_classes(&self) -> Option<JobSymmetry> {
        if self.policy.ties_by_job_index(self) {
            return None;
        }
        let mut classes: Vec<Vec<u32>> = Vec::new();
        // A job deleted at a listed time (`deletion.rs`) is told apart by that time.
        let deleted_at = |k: u32| {
            self.deletions
                .iter()
                .filter(|&&(_, j)| j == k)
                .map(|&(t, _)| t)
                .min()
        };
        for (j, spec) in self.workload.jobs.iter().enumerate() {
            let same = |k: u32| {
                let o = &self.workload.jobs[k as usize];
                (o.submit, o.duration, &o.pods, o.priority, &o.queue)
                    == (
                        spec.submit,
                        spec.duration,
                        &spec.pods,
                        spec.priority,
                        &spec.queue,
                    )
                    && deleted_at(k) == deleted_at(j as u32)
            };
            match classes.iter_mut().find(|c| same(c[0])) {
                Some(c) => c.push(j as u32),
                None => classes.push(vec![j as u32]),
            }
        }
        classes.retain(|c| c.len() > 1);
        let perms: u64 = classes
            .iter()
            .map(|c| (1..=c.len() as u64).product::<u64>())
            .product();
        (!classes.is_empty() && perms <= 720).then(|| JobSymmetry {
            perms: classes.iter().map(|c| permutations(c)).collect(),
            classes,
        })
    }

    /// The smallest fingerprint over all relabellings of interchangeable jobs: states that
    /// differ only by which of two identical jobs is which count as one.
    pub fn abstract_hash_symmetric(
        &self,
        now: SimTime,
        pending: &[(SimTime, TimerId, &Event)],
        horizon: Option<SimTime>,
        sym: &JobSymmetry,
    ) -> u64 {
        let n = self.state.jobs.len();
        let mut best = u64::MAX;
        let mut perm: Vec<u32> = (0..n as u32).collect();
        let cluster = self.cluster_hash();
        // The product of per-class relabellings, as an odometer across classes.
        let mut idx = vec![0usize; sym.classes.len()];
        loop {
            for (c, class) in sym.classes.iter().enumerate() {
                for (k, &j) in class.iter().enumerate() {
                    perm[j as usize] = sym.perms[c][idx[c]][k];
                }
            }
            best = best.min(self.abstract_hash_with(now, pending, horizon, Some(&perm), cluster));
            let mut c = 0;
            loop {
                if c == sym.classes.len() {
                    return best;
                }
                idx[c] += 1;
                if idx[c] < sym.perms[c].len() {
                    break;
                }
                idx[c] = 0;
                c += 1;
            }
        }
    }

    /// The allocation state of the nodes, hashed once for every relabelling.
    fn cluster_hash(&self) -> u64 {
        let mut h = StateHasher::new();
        self.state.cluster.hash(&mut h);
        h.finish()
    }

    /// Fingerprint with job `j` renamed `perm[j]` (identity when `None`).
    fn abstract_hash_with(
        &self,
        now: SimTime,
        pending: &[(SimTime, TimerId, &Event)],
        horizon: Option<SimTime>,
        perm: Option<&[u32]>,
        cluster: u64,
    ) -> u64 {
        let p = |j: u32| perm.map_or(j, |v| v[j as usize]);
        let mut h = StateHasher::new();
        let st = &self.state;
        cluster.hash(&mut h);
        let requeue_cap = self.requeue_cap();
        // Per-job state in the order of the new labels.
        let mut order: Vec<u32> = (0..st.jobs.len() as u32).collect();
        if perm.is_some() {
            order.sort_unstable_by_key(|&j| p(j));
        }
        for j in order {
            let j = j as usize;
            let js = &st.jobs[j];
            let code: u8 = match js.phase {
                JobPhase::NotSubmitted => 0,
                JobPhase::Waiting => 1,
                JobPhase::Running => 2,
                JobPhase::Completed { .. } => 3,
            };
            code.hash(&mut h);
            if code == 3 {
                continue;
            }
            js.pods.hash(&mut h);
            (js.assumed, js.bound, js.admitted, js.deactivated).hash(&mut h);
            js.permit_deadline.is_some().hash(&mut h);
            js.requeues.min(requeue_cap).hash(&mut h);
            let ran = js.run_since.map_or(0, |s| now.since(s).as_nanos());
            js.remaining.as_nanos().saturating_sub(ran).hash(&mut h);
        }
        // Queue positions: only their order matters (new entries go behind).
        let mut rank: Vec<(i64, SimTime, u64, u32)> = st
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, js)| js.phase == JobPhase::Waiting)
            .map(|(j, js)| {
                (
                    self.neg_priority(j as u32),
                    js.queue_ts,
                    js.queue_seq,
                    j as u32,
                )
            })
            .collect();
        rank.sort_unstable();
        rank.iter().for_each(|r| p(r.3).hash(&mut h));
        0xfeu8.hash(&mut h);
        st.pod_queue
            .iter()
            .for_each(|k| (p(k.job), k.pod).hash(&mut h));
        0xfdu8.hash(&mut h);
        st.job_queue.iter().for_each(|k| p(k.job).hash(&mut h));
        st.arrivals.iter().for_each(|&j| p(j).hash(&mut h));
        st.fresh.iter().for_each(|k| (p(k.job), k.pod).hash(&mut h));
        st.fresh_jobs.iter().for_each(|k| p(k.job).hash(&mut h));
        (
            st.rescan,
            st.job_dirty,
            st.next_start_node,
            st.session_scheduled,
            st.flush_scheduled,
            st.retry_after_backoff,
        )
            .hash(&mut h);
        // What the policy keeps, through its own hook.
        0xfbu8.hash(&mut h);
        self.policy.hash_state(self, now, &p, &mut h);
        // What the controllers keep, through their own hooks (nothing when they are off,
        // so fingerprints of runs without them are unchanged).
        if self.state.faults.is_some() {
            0xf9u8.hash(&mut h);
            super::faults::hash_state(self, now, &p, &mut h);
        }
        if self.state.autoscaler.is_some() {
            0xf8u8.hash(&mut h);
            self.autoscaler_hash(now, &mut h);
        }
        // Training jobs' progress (by job index: jobs it involves are not relabelled).
        if let Some(t) = &st.training {
            0xf6u8.hash(&mut h);
            t.hash(&mut h);
        }
        // The network model and seeded failure streams, kept outside `SimState`
        // (`explore.rs`; nothing for runs without them).
        if self.runtime_outside_state() {
            0xf7u8.hash(&mut h);
            self.hash_runtime(now, &mut h);
        }
        // DRA allocations (claims are named per job and pod, so jobs they involve are not
        // relabelled: fewer states merge, none wrongly).
        st.dra.hash(&mut h);
        // Pending events that still matter, as offsets from now.
        0xfcu8.hash(&mut h);
        for (t, _, ev) in pending {
            let live =
                |job: u32, generation: u32| self.state.jobs[job as usize].generation == generation;
            let dt = t.since(now).as_nanos();
            match **ev {
                Event::Submit(j) => (dt, 0u8, j).hash(&mut h),
                Event::Complete { job, generation } if live(job, generation) => {
                    (dt, 1u8, job).hash(&mut h)
                }
                Event::Timer(t) if self.policy.timer_live(self, &t) => {
                    (dt, 8u8, t.kind, t.job).hash(&mut h)
                }
                Event::Flush => (dt, 7u8).hash(&mut h),
                Event::Round => (dt, 13u8).hash(&mut h),
                Event::Node(e) => (dt, 9u8, e.node, e.action, e.seeded).hash(&mut h),
                Event::Autoscaler(e) => (dt, 10u8, e).hash(&mut h),
                Event::Part(e) => (dt, 11u8, e.part, e.fail, e.seeded).hash(&mut h),
                // Inference services: through the serving controller's own hook.
                Event::Serving(e) => {
                    if let Some(sv) = &self.serving {
                        12u8.hash(&mut h);
                        sv.hash_event(&e, dt, &mut h);
                    }
                }
                // A stale completion or timer has no effect when it fires. (`NetFlows`:
                // the network model hashes its pending flow timer through its own hook.)
                _ => {}
            }
        }
        horizon.map(|t| t.since(now).as_nanos()).hash(&mut h);
        h.finish()
    }

    /// Could this state recur later in the run? Not while a job runs (its remaining time
    /// counts down) or a job is still to arrive (its arrival comes closer).
    pub fn could_repeat(&self) -> bool {
        self.state.running.is_empty() && self.state.submitted as usize == self.state.jobs.len()
    }

    /// Requeue counts beyond this give the same backoff (Kueue's cap), unless a limit
    /// count makes every count matter.
    fn requeue_cap(&self) -> u32 {
        let w = &self.config.kueue.wait_for_pods_ready;
        if w.backoff_limit_count.is_some() {
            return u32::MAX;
        }
        let (base, max) = (w.backoff_base.as_nanos().max(1), w.backoff_max.as_nanos());
        let mut n = 1u32;
        while n < 63 && base.saturating_mul(1u64 << (n - 1)) < max {
            n += 1;
        }
        n
    }
}

/// All orderings of `items` (small inputs only).
fn permutations(items: &[u32]) -> Vec<Vec<u32>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x);
            out.push(p);
        }
    }
    out
}
