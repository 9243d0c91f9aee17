//! kube-scheduler's scheduling cycle, one pod at a time, shared by the pod-level policies:
//! pop the pod queue in QueueSort order, Filter and Score (the profile's plugins), then the
//! policy's Permit on success or its PostFilter on failure.
//!
//! A pod that cannot be placed is retried when resources are released (kube's requeue on
//! "assigned pod deleted"); a failed attempt refreshes its queue timestamp (kube sets it to
//! "now" on every failure), so it goes behind equal-priority pods that arrived since.
//! Pods a gang rejection released during a pass are retried after kube's
//! `podMaxInUnschedulablePodsDuration` (the flush), not in a loop at the same instant.

use std::collections::BTreeSet;

use sim_core::{Ctx, SimDuration};

use super::{Policy, PolicyTimer};
use crate::scheduler::CoschedulingArgs;
use crate::sim::{ClusterSim, Event, PodPhase, QueueKey};

/// KEP-4671's fixed gang scheduling timeout.
pub const K8S_GANG_TIMEOUT: SimDuration = SimDuration(300 * 1_000_000_000);

/// One scheduling pass over the pod queue, with `policy`'s Permit and PostFilter.
pub fn pod_cycle(policy: &dyn Policy, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
    if !m.state.rescan && m.state.fresh.is_empty() {
        return;
    }
    let now = ctx.now();
    let candidates: Vec<QueueKey> = if m.state.rescan {
        m.state.pod_queue.iter().copied().collect()
    } else {
        let mut f = std::mem::take(&mut m.state.fresh);
        f.sort_unstable();
        f
    };
    m.state.rescan = false;
    m.state.fresh.clear();
    // Request shapes that failed in this pass: resources only shrink during a pass (a
    // PostFilter rejection that frees some sets `rescan` for the next pass), and a failed
    // kube attempt examines every node, leaving `nextStartNodeIndex` where it was.
    let mut failed: BTreeSet<u32> = BTreeSet::new();
    for key in candidates {
        // Out of the queue for its attempt (Filter, Score and the chooser do not read the
        // queue; Permit and PostFilter see it as before). Gone already: removed by a group
        // operation earlier in this pass.
        if !m.state.pod_queue.remove(&key) {
            continue;
        }
        let (job, pod) = (key.job, key.pod);
        let shape = m.pod_shape(job, pod);
        let node = if failed.contains(&shape) {
            None
        } else {
            let req = &m.workload.jobs[job as usize].pods[pod as usize];
            if m.state.cluster.could_fit(std::slice::from_ref(req)) {
                m.select_node(job, pod, None, ctx.chooser())
            } else {
                None
            }
        };
        match node {
            Some(node) => policy.permit(m, job, pod, node, ctx),
            None => {
                failed.insert(shape);
                policy.post_filter(m, key, now);
            }
        }
    }
    if m.state.rescan {
        m.state.rescan = false;
        m.state.retry_after_backoff = true;
    }
}

/// The gang Permit of Coscheduling and KEP-4671: reserve the pod and let it wait; once
/// the group's pods holding a node reach its size (`CoschedulingArgs::permit_allows`),
/// allow every waiting sibling. The group's first waiter arms its deadline: a timer of
/// `timer_kind` after `timeout`.
pub fn gang_permit(
    m: &mut ClusterSim,
    job: u32,
    pod: u32,
    node: u32,
    timeout: SimDuration,
    timer_kind: u8,
    ctx: &mut Ctx<'_, Event>,
) {
    m.assume(job, pod, node, PodPhase::Waiting);
    let n = m.workload.jobs[job as usize].pods.len() as u32;
    let js = &mut m.state.jobs[job as usize];
    if CoschedulingArgs::permit_allows(u64::from(js.assumed), u64::from(n)) {
        for ps in js.pods.iter_mut() {
            if ps.phase == PodPhase::Waiting {
                ps.phase = PodPhase::Bound;
                js.bound += 1;
            }
        }
        if let Some(t) = js.permit_deadline.take() {
            ctx.cancel(t);
        }
        m.maybe_start(job, ctx);
    } else if js.permit_deadline.is_none() {
        js.generation += 1;
        let generation = js.generation;
        let t = PolicyTimer {
            kind: timer_kind,
            job,
            generation: Some(generation),
        };
        let id = ctx.schedule_in(timeout, Event::Timer(t));
        m.state.jobs[job as usize].permit_deadline.set(Some(id));
    }
}
