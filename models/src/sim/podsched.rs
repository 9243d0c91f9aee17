//! kube-scheduler, one pod at a time, with the Permit/PostFilter behaviour of the gang
//! plugins that sit in it:
//!
//! * `default`: Permit allows at once; a pod is bound as soon as it is placed.
//! * `coscheduling` (scheduler-plugins): QueueSort keeps a group's pods back to back;
//!   placed pods wait at Permit, holding their resources, until the whole group is placed;
//!   PostFilter rejects the group's waiters when a member cannot be placed and more than
//!   `reject_percentage` of the group is missing; the group's Permit deadline
//!   (`schedule_timeout` after its first pod started waiting) releases them otherwise.
//! * `k8s-gang` (KEP-4671 alpha): placed pods wait at Permit for `minCount` (all pods) with
//!   a fixed per-group 5-minute deadline; no PostFilter.
//! * `kueue`: admitted jobs' pods go through the default profile.
//!
//! A pod that cannot be placed is retried when resources are released (kube's requeue on
//! "assigned pod deleted"); a failed attempt refreshes its queue timestamp (kube sets it to
//! "now" on every failure), so it goes behind equal-priority pods that arrived since.

use std::collections::BTreeSet;

use sim_core::{Ctx, SimDuration};

use super::{ClusterSim, Event, JobPhase, PodPhase, QueueKey};
use crate::scheduler::{CoschedulingArgs, PolicyKind};

/// KEP-4671's fixed gang scheduling timeout.
pub const K8S_GANG_TIMEOUT: SimDuration = SimDuration(300 * 1_000_000_000);

/// One scheduling pass over the pod queue.
pub(super) fn cycle(m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
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
    let policy = m.policy();
    for key in candidates {
        if !m.state.pod_queue.contains(&key) {
            continue; // removed by a group operation earlier in this pass
        }
        let (job, pod) = (key.job, key.pod);
        let shape = m.pod_shape[job as usize][pod as usize];
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
        m.state.pod_queue.remove(&key);
        match node {
            Some(node) => permit(m, job, pod, node, policy, ctx),
            None => {
                failed.insert(shape);
                on_unschedulable(m, key, policy, now);
            }
        }
    }
    // Reservations released by PostFilter during this pass are retried after kube's
    // backoff (the flush), not in a loop at the same instant.
    if m.state.rescan {
        m.state.rescan = false;
        m.state.retry_after_backoff = true;
    }
}

/// Reserve the pod on `node`, then run Permit.
fn permit(
    m: &mut ClusterSim,
    job: u32,
    pod: u32,
    node: u32,
    policy: PolicyKind,
    ctx: &mut Ctx<'_, Event>,
) {
    let gang = matches!(policy, PolicyKind::Coscheduling | PolicyKind::K8sGang);
    if !gang {
        m.assume(job, pod, node, PodPhase::Bound);
        m.maybe_start(job, ctx);
        return;
    }
    m.assume(job, pod, node, PodPhase::Waiting);
    let n = m.workload.jobs[job as usize].pods.len() as u32;
    let js = &mut m.state.jobs[job as usize];
    if CoschedulingArgs::permit_allows(u64::from(js.assumed), u64::from(n)) {
        // Quorum: allow every waiting sibling.
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
        let timeout = match policy {
            PolicyKind::Coscheduling => m.config.coscheduling.schedule_timeout,
            _ => K8S_GANG_TIMEOUT,
        };
        js.generation += 1;
        let generation = js.generation;
        js.permit_deadline =
            Some(ctx.schedule_in(timeout, Event::PermitTimeout { job, generation }));
    }
}

/// Filter found no node: PostFilter, then back to the queue.
fn on_unschedulable(m: &mut ClusterSim, key: QueueKey, policy: PolicyKind, now: sim_core::SimTime) {
    let job = key.job;
    if policy == PolicyKind::Coscheduling {
        let n = m.workload.jobs[job as usize].pods.len() as u64;
        let assumed = u64::from(m.state.jobs[job as usize].assumed);
        if m.config.coscheduling.post_filter_rejects(assumed, n) {
            reject_group(m, job, now);
            return; // reject_group re-queued every pending pod of the group
        }
        m.state.pod_queue.insert(key);
        return;
    }
    // kube: a failed pod's queue timestamp becomes "now".
    let seq = m.next_seq();
    m.state.pod_queue.insert(QueueKey {
        ts: now,
        seq,
        ..key
    });
}

/// Reject every waiting pod of a group: release their reservations and put the whole group
/// back in the queue behind newer equal-priority groups (its failure time is "now").
fn reject_group(m: &mut ClusterSim, job: u32, now: sim_core::SimTime) {
    let n = m.workload.jobs[job as usize].pods.len() as u32;
    if m.state.jobs[job as usize].assumed > 0 {
        m.note_gang_release(job, now);
    }
    for p in 0..n {
        if m.state.jobs[job as usize].pods[p as usize].phase == PodPhase::Waiting {
            m.release(job, p);
        }
    }
    let seq = m.next_seq();
    let js = &mut m.state.jobs[job as usize];
    js.permit_deadline = None; // its timer, if any, is now stale (generation bumps below)
    js.generation += 1;
    js.queue_ts = now;
    js.queue_seq = seq;
    m.state.pod_queue.retain(|k| k.job != job);
    for p in 0..n {
        if m.state.jobs[job as usize].pods[p as usize].phase == PodPhase::Pending {
            m.enqueue_pod_quietly(job, p, now);
        }
    }
}

/// The group's Permit deadline passed.
pub(super) fn permit_timeout(
    m: &mut ClusterSim,
    job: u32,
    generation: u32,
    ctx: &mut Ctx<'_, Event>,
) {
    let js = &m.state.jobs[job as usize];
    if js.generation != generation || js.phase != JobPhase::Waiting {
        return;
    }
    m.state.jobs[job as usize].permit_deadline = None;
    let now = ctx.now();
    match m.policy() {
        PolicyKind::Coscheduling => reject_group(m, job, now),
        _ => {
            // KEP-4671: all waiting pods are rejected and return to the queue.
            let n = m.workload.jobs[job as usize].pods.len() as u32;
            m.note_gang_release(job, now);
            for p in 0..n {
                if m.state.jobs[job as usize].pods[p as usize].phase == PodPhase::Waiting {
                    m.release(job, p);
                    let seq = m.next_seq();
                    let key = QueueKey {
                        neg_priority: m.neg_priority(job),
                        ts: now,
                        seq,
                        job,
                        pod: p,
                    };
                    m.state.pod_queue.insert(key);
                }
            }
            m.state.jobs[job as usize].generation += 1;
        }
    }
}

impl ClusterSim {
    /// Queue a pod without marking it fresh (it is retried on the next rescan).
    fn enqueue_pod_quietly(&mut self, job: u32, pod: u32, now: sim_core::SimTime) {
        self.enqueue_pod(job, pod, now);
        self.state.fresh.retain(|k| !(k.job == job && k.pod == pod));
    }
}
