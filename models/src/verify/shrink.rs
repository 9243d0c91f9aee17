//! Shrinking a counterexample (delta debugging over jobs, nodes and pods) and re-checking
//! it under each mitigation the real systems offer.

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

use super::{
    Exploration, ExploreOptions, Found, Mode, Problem, Verdict, ViolationKind, Witness, explore,
};
use crate::scheduler::PolicyKind;

/// The smallest problem found that still shows the violation, with its witness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shrunk {
    /// Jobs, pods, nodes and GPUs left.
    pub jobs: usize,
    pub pods: usize,
    pub nodes: usize,
    pub gpus: u64,
    /// Candidate problems tried.
    pub attempts: u64,
    pub witness: Witness,
    pub found: Found,
}

/// Search used while shrinking: seeded schedules (violations that shrinking keeps are
/// usually common), then a bounded exhaustive search for the rare ones.
fn search(p: &Problem, opts: &ExploreOptions, kind: ViolationKind) -> Option<Found> {
    let quiet = |_: u64, _: u64| {};
    let modes = [
        Mode::Random {
            schedules: 64,
            seed: p.config.seed,
        },
        Mode::Exhaustive {
            max_schedules: 2_000,
            max_depth: None,
        },
    ];
    for mode in modes {
        let Ok(e) = explore(p, opts, &mode, &quiet) else {
            return None; // not a valid problem (e.g. a job larger than the cluster)
        };
        let f = match kind {
            ViolationKind::Deadlock => e.deadlock_found,
            ViolationKind::Livelock => e.livelock_found,
        };
        if f.is_some() {
            return f;
        }
        if e.coverage.complete {
            return None;
        }
    }
    None
}

/// Remove jobs (delta debugging: halves, then quarters, … then one at a time), then
/// nodes, then pods of the remaining jobs, while the violation of `kind` persists.
pub fn shrink(p: &Problem, opts: &ExploreOptions, kind: ViolationKind, start: &Found) -> Shrunk {
    let mut best = p.clone();
    let mut best_found = start.clone();
    let mut attempts = 0u64;
    let mut try_it = |cand: Problem, best: &mut Problem, best_found: &mut Found| -> bool {
        attempts += 1;
        match search(&cand, opts, kind) {
            Some(f) => {
                *best = cand;
                *best_found = f;
                true
            }
            None => false,
        }
    };
    // Jobs: ddmin-style chunks.
    let mut chunk = best.workload.jobs.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        let mut removed_any = false;
        while i < best.workload.jobs.len() && best.workload.jobs.len() > 1 {
            let mut cand = best.clone();
            let end = (i + chunk).min(cand.workload.jobs.len());
            cand.workload.jobs.drain(i..end);
            if !cand.workload.jobs.is_empty() && try_it(cand, &mut best, &mut best_found) {
                removed_any = true;
            } else {
                i += chunk;
            }
        }
        if !removed_any {
            chunk /= 2;
        }
    }
    // Nodes and pods, until nothing more can go: drop a node; drop a job's last pod; drop
    // a node together with one pod of the largest job (a pod fewer may be what lets the
    // cluster shrink, and the other way round).
    loop {
        let mut changed = false;
        // Halve everything at once: every job's pods and every node's GPUs (rounding
        // up). Big counterexamples usually scale down (two jobs needing 80 % of 32 GPUs
        // deadlock as well as two needing 80 % of 16), and one step here saves many
        // single steps that would each need a pod and a GPU to go together.
        loop {
            let mut cand = best.clone();
            let mut smaller = false;
            for j in &mut cand.workload.jobs {
                let n = j.pods.len().div_ceil(2).max(2).min(j.pods.len());
                smaller |= n < j.pods.len();
                j.pods.truncate(n);
            }
            for n in &mut cand.spec.nodes {
                let g = n.gpus.div_ceil(2);
                smaller |= g < n.gpus;
                n.gpus = g;
            }
            if !smaller || !try_it(cand, &mut best, &mut best_found) {
                break;
            }
            changed = true;
        }
        for j in (0..best.workload.jobs.len()).rev() {
            if best.workload.jobs.len() > 1 && j < best.workload.jobs.len() {
                let mut cand = best.clone();
                cand.workload.jobs.remove(j);
                changed |= try_it(cand, &mut best, &mut best_found);
            }
        }
        for n in (0..best.spec.nodes.len()).rev() {
            if best.spec.nodes.len() > 1 && n < best.spec.nodes.len() {
                let mut cand = best.clone();
                cand.spec.nodes.remove(n);
                changed |= try_it(cand, &mut best, &mut best_found);
            }
        }
        for j in 0..best.workload.jobs.len() {
            while best.workload.jobs[j].pods.len() > 1 {
                let mut cand = best.clone();
                cand.workload.jobs[j].pods.pop();
                if !try_it(cand, &mut best, &mut best_found) {
                    break;
                }
                changed = true;
            }
        }
        // Fewer GPUs on a node (the last node that has more than one).
        if let Some(n) = (0..best.spec.nodes.len())
            .rev()
            .find(|&n| best.spec.nodes[n].gpus > 1)
        {
            loop {
                let mut cand = best.clone();
                cand.spec.nodes[n].gpus -= 1;
                if cand.spec.nodes[n].gpus == 0 || !try_it(cand, &mut best, &mut best_found) {
                    break;
                }
                changed = true;
            }
        }
        if best.spec.nodes.len() > 1 {
            let largest = (0..best.workload.jobs.len())
                .max_by_key(|&j| (best.workload.jobs[j].pods.len(), std::cmp::Reverse(j)));
            if let Some(j) = largest.filter(|&j| best.workload.jobs[j].pods.len() > 1) {
                let mut cand = best.clone();
                cand.spec.nodes.pop();
                cand.workload.jobs[j].pods.pop();
                changed |= try_it(cand, &mut best, &mut best_found);
            }
        }
        if !changed {
            break;
        }
    }
    best.name = format!("{} (shrunk)", p.name);
    Shrunk {
        jobs: best.workload.jobs.len(),
        pods: best.workload.jobs.iter().map(|j| j.pods.len()).sum(),
        nodes: best.spec.nodes.len(),
        gpus: best.spec.total_gpus(),
        attempts,
        witness: Witness::new(&best, opts, &best_found),
        found: best_found,
    }
}

/// One mitigation re-checked on a problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MitigationResult {
    pub name: String,
    /// The configuration change, in words.
    pub setting: String,
    pub deadlock: Verdict,
    pub livelock: Verdict,
    pub complete: bool,
    pub schedules: u64,
    /// Fixed: no deadlock and no livelock in the explored space.
    pub fixes: bool,
    pub note: String,
}

/// Re-check `p` under each mitigation: Coscheduling's Permit timeout, Kueue's
/// `waitForPodsReady` (with and without `blockAdmission`), KEP-4671 gang, and
/// all-or-nothing gang admission.
pub fn mitigations(
    p: &Problem,
    opts: &ExploreOptions,
    max_schedules: u64,
) -> Vec<MitigationResult> {
    let mut out = Vec::new();
    type Apply = Box<dyn Fn(&mut Problem)>;
    let variants: Vec<(&str, String, Apply)> = vec![
        (
            "coscheduling",
            "policy coscheduling (Permit waits for the whole PodGroup, scheduleTimeout 60 s)".into(),
            Box::new(|q: &mut Problem| q.config.scheduler.policy = PolicyKind::Coscheduling),
        ),
        (
            "kueue-wait-for-pods-ready",
            "policy kueue, waitForPodsReady on (timeout 5 min, blockAdmission true: the v1beta1 default when enabled)".into(),
            Box::new(|q: &mut Problem| {
                q.config.scheduler.policy = PolicyKind::Kueue;
                let w = &mut q.config.scheduler.kueue.wait_for_pods_ready;
                w.enable = true;
                w.block_admission = true;
                w.timeout = SimDuration::from_secs(300);
            }),
        ),
        (
            "kueue-wait-for-pods-ready-no-block",
            "policy kueue, waitForPodsReady on (timeout 5 min) with blockAdmission false (the v1beta2 default)".into(),
            Box::new(|q: &mut Problem| {
                q.config.scheduler.policy = PolicyKind::Kueue;
                let w = &mut q.config.scheduler.kueue.wait_for_pods_ready;
                w.enable = true;
                w.block_admission = false;
                w.timeout = SimDuration::from_secs(300);
            }),
        ),
        (
            "k8s-gang",
            "policy k8s-gang (KEP-4671 alpha: Permit waits for minCount, fixed 5 min timeout)".into(),
            Box::new(|q: &mut Problem| q.config.scheduler.policy = PolicyKind::K8sGang),
        ),
        (
            "gang",
            "policy gang (all-or-nothing placement of the whole job at once)".into(),
            Box::new(|q: &mut Problem| q.config.scheduler.policy = PolicyKind::Gang),
        ),
    ];
    let quiet = |_: u64, _: u64| {};
    for (name, setting, apply) in variants {
        let mut q = p.clone();
        apply(&mut q);
        let mode = Mode::Exhaustive {
            max_schedules,
            max_depth: None,
        };
        let r: Result<Exploration, _> = explore(&q, opts, &mode, &quiet);
        let res = match r {
            Ok(e) => {
                let fixes = e.deadlock == Verdict::Verified && e.livelock == Verdict::Verified;
                let note = match (&e.deadlock_found, &e.livelock_found) {
                    (Some(f), _) => format!("still deadlocks: {}", f.violation.detail),
                    (None, Some(f)) => format!("no deadlock, but livelock: {}", f.violation.detail),
                    (None, None) if e.coverage.complete => {
                        "no deadlock or livelock in any schedule (coverage complete)".into()
                    }
                    (None, None) => format!(
                        "no deadlock or livelock in {} schedules (coverage not complete)",
                        e.coverage.schedules
                    ),
                };
                MitigationResult {
                    name: name.into(),
                    setting,
                    deadlock: e.deadlock,
                    livelock: e.livelock,
                    complete: e.coverage.complete,
                    schedules: e.coverage.schedules,
                    fixes,
                    note,
                }
            }
            Err(err) => MitigationResult {
                name: name.into(),
                setting,
                deadlock: Verdict::Inconclusive,
                livelock: Verdict::Inconclusive,
                complete: false,
                schedules: 0,
                fixes: false,
                note: format!("not applicable: {err}"),
            },
        };
        out.push(res);
    }
    out
}
