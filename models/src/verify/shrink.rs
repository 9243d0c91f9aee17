//! Shrinking a counterexample (delta debugging over jobs, nodes and pods) and re-checking
//! it under each mitigation the real systems offer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

use super::{
    Exploration, ExploreOptions, Found, Mode, Problem, Verdict, VerifyError, ViolationKind,
    Witness, explore_with, interrupt, jobs_unable_to_run_alone, runs_alone,
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
    /// An interrupt (Ctrl-C) stopped shrinking before it was done: this is the smallest
    /// problem found so far (every candidate accepted was checked in full).
    #[serde(default)]
    pub interrupted: bool,
    /// Jobs of the shrunk problem that cannot run even alone on its cluster. Shrinking
    /// accepts no candidate with such a job, so this is empty unless the original problem
    /// already had one (then the violation is not contention between jobs).
    pub unable_to_run_alone: Vec<String>,
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
        let Ok(e) = explore_with(p, opts, &mode, &quiet, false) else {
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
/// nodes, then pods of the remaining jobs, while the violation persists. A candidate is
/// kept only if it is still a genuine contention violation of the same kind: every job
/// of the candidate runs when alone on the candidate's cluster
/// ([`super::jobs_unable_to_run_alone`]), and a schedule shows a violation of `kind`.
/// (Without the first condition a two-gang deadlock can shrink to one job that never
/// fits the shrunk cluster, and everything computed on that is about a non-problem.)
///
/// An interrupt ([`interrupt::request_interrupt`]) stops shrinking before the next
/// candidate: the result is the smallest problem found so far, marked `interrupted`.
pub fn shrink(p: &Problem, opts: &ExploreOptions, kind: ViolationKind, start: &Found) -> Shrunk {
    let mut best = p.clone();
    let mut best_found = start.clone();
    let mut attempts = 0u64;
    // Whether a job runs alone depends only on the job, the cluster and the configuration:
    // remember it across candidates (a memo, so the result is the same without it).
    let mut alone: BTreeMap<String, bool> = BTreeMap::new();
    let mut genuine = |cand: &Problem| {
        (0..cand.workload.jobs.len()).all(|j| {
            let key = format!("{:?}", (&cand.workload.jobs[j], &cand.spec));
            *alone
                .entry(key)
                .or_insert_with(|| runs_alone(cand, opts, j))
        })
    };
    let mut stopped = false;
    let mut try_it = |cand: Problem, best: &mut Problem, best_found: &mut Found| -> bool {
        // Once interrupted, every further candidate is declined, which ends each loop
        // below as if nothing more could go.
        if stopped || interrupt::interrupted() {
            stopped = true;
            return false;
        }
        attempts += 1;
        let f = search(&cand, opts, kind);
        if f.is_none() || !genuine(&cand) {
            return false;
        }
        match f {
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
            if best.spec.nodes.len() > 1
                && n < best.spec.nodes.len()
                && let Some(cand) = without_node(&best, n)
            {
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
            if let Some(j) = largest.filter(|&j| best.workload.jobs[j].pods.len() > 1)
                && let Some(mut cand) = without_node(&best, best.spec.nodes.len() - 1)
            {
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
        interrupted: stopped,
        unable_to_run_alone: jobs_unable_to_run_alone(&best, opts),
        witness: Witness::new(&best, opts, &best_found),
        found: best_found,
    }
}

/// `p` without node `n`: its listed node events go with it and the later nodes' events
/// are renumbered. `None` with autoscaled pools (node groups are index ranges of the
/// cluster: their nodes are not dropped one by one).
fn without_node(p: &Problem, n: usize) -> Option<Problem> {
    if p.config.autoscaler.is_some() {
        return None;
    }
    let mut cand = p.clone();
    cand.spec.nodes.remove(n);
    if let Some(f) = cand.config.faults.as_mut() {
        let n = n as u32;
        f.events.retain(|e| e.node != n);
        for e in &mut f.events {
            if e.node > n {
                e.node -= 1;
            }
        }
        // GPU events name their node too (link events need the network model, which
        // verify refuses).
        f.part_events.retain(|e| match e.part {
            crate::sim::Part::Gpu { node, .. } => node != n,
            _ => true,
        });
        for e in &mut f.part_events {
            if let crate::sim::Part::Gpu { node, .. } = &mut e.part
                && *node > n
            {
                *node -= 1;
            }
        }
    }
    Some(cand)
}

/// One mitigation re-checked on one problem (the original scenario or the shrunk witness).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MitigationCheck {
    pub deadlock: Verdict,
    pub livelock: Verdict,
    /// Exhaustive coverage of this problem was complete.
    pub complete: bool,
    pub schedules: u64,
    /// What the check showed, in words.
    pub note: String,
}

impl MitigationCheck {
    /// Neither a deadlock nor a livelock in the schedules explored.
    pub fn clean(&self) -> bool {
        self.deadlock != Verdict::Violation && self.livelock != Verdict::Violation
    }

    /// No deadlock or livelock, with complete coverage: proven within the model.
    pub fn proven(&self) -> bool {
        self.deadlock.is_verified() && self.livelock.is_verified()
    }
}

/// One mitigation, re-checked on the original scenario (always) and on the shrunk
/// witness (when there is one).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MitigationResult {
    pub name: String,
    /// The configuration change, in words.
    pub setting: String,
    /// On the original scenario.
    pub original: MitigationCheck,
    /// On the shrunk witness.
    pub shrunk: Option<MitigationCheck>,
    /// No deadlock and no livelock in any schedule explored, on the original and on the
    /// shrunk witness. Whether that is a proof is `proven`.
    pub fixes: bool,
    /// `fixes`, with complete coverage of the original scenario (VERIFIED both ways).
    pub proven: bool,
    /// The verdict in words, naming the scenario it holds on and what caused the fix
    /// (derived from comparing runs, not from the mitigation's name).
    pub label: String,
}

/// How much the mitigations may explore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MitigationBudget {
    /// The original scenario: an exhaustive search of up to this many schedules and, if
    /// it is not complete, as many seeded schedules.
    pub original: u64,
    /// The shrunk witness: an exhaustive search of up to this many schedules.
    pub shrunk: u64,
}

impl Default for MitigationBudget {
    fn default() -> Self {
        MitigationBudget {
            original: 1_000,
            shrunk: 200_000,
        }
    }
}

const CONTROL: &str = "kueue-admission";

/// `None` when an interrupt cut one of its searches: a check is whole or not given.
fn check(
    q: &Problem,
    opts: &ExploreOptions,
    exhaustive: u64,
    random: u64,
) -> Option<MitigationCheck> {
    let quiet = |_: u64, _: u64| {};
    let ex = Mode::Exhaustive {
        max_schedules: exhaustive,
        max_depth: None,
    };
    let e: Exploration = match explore_with(q, opts, &ex, &quiet, true) {
        Ok(e) if e.coverage.interrupted => return None,
        Ok(e) => e,
        Err(err) => {
            return Some(MitigationCheck {
                deadlock: Verdict::Inconclusive,
                livelock: Verdict::Inconclusive,
                complete: false,
                schedules: 0,
                note: match err {
                    VerifyError::Invariant { .. } => format!("error: {err}"),
                    _ => format!("not applicable: {err}"),
                },
            });
        }
    };
    let mut schedules = e.coverage.schedules;
    let (mut deadlock, mut livelock) = (e.deadlock, e.livelock);
    let (mut dl, mut ll) = (e.deadlock_found, e.livelock_found);
    let complete = e.coverage.complete;
    // An incomplete depth-first search only varies the last choices: sample as well.
    if !complete && dl.is_none() && random > 0 {
        let rnd = Mode::Random {
            schedules: random,
            seed: q.config.seed,
        };
        if let Ok(r) = explore_with(q, opts, &rnd, &quiet, true) {
            if r.coverage.interrupted {
                return None;
            }
            schedules += r.coverage.schedules;
            if r.deadlock_found.is_some() {
                deadlock = Verdict::Violation;
                dl = r.deadlock_found;
            }
            if ll.is_none() && r.livelock_found.is_some() {
                livelock = Verdict::Violation;
                ll = r.livelock_found;
            }
        }
    }
    let note = match (&dl, &ll) {
        (Some(f), _) => format!("still deadlocks: {}", f.violation.detail),
        (None, Some(f)) => format!("no deadlock, but livelock: {}", f.violation.detail),
        (None, None) if deadlock.is_verified() && livelock.is_verified() => format!(
            "no deadlock or livelock in any schedule (coverage complete, {schedules} schedules)"
        ),
        (None, None) => format!(
            "no deadlock or livelock in {schedules} schedules (coverage not complete: not a proof)"
        ),
    };
    Some(MitigationCheck {
        deadlock,
        livelock,
        complete,
        schedules,
        note,
    })
}

/// Re-check each mitigation the real systems offer — Coscheduling's Permit timeout,
/// Kueue admission alone (the control that tells a quota fix from a waitForPodsReady
/// fix), Kueue's `waitForPodsReady` with and without `blockAdmission`, KEP-4671 gang, and
/// all-or-nothing gang admission — on the original problem and on the shrunk witness.
/// The Kueue settings are written out in full (`waitForPodsReady.enable` true or false),
/// so the results do not depend on the model's defaults.
///
/// An interrupt ([`interrupt::request_interrupt`]) stops the re-checks: the list then
/// holds only the mitigations checked in full before it (the one it cut is left out).
pub fn mitigations(
    original: &Problem,
    shrunk: Option<&Problem>,
    opts: &ExploreOptions,
    budget: MitigationBudget,
) -> Vec<MitigationResult> {
    type Apply = Box<dyn Fn(&mut Problem)>;
    let wfpr = |enable: bool, block: bool| {
        move |q: &mut Problem| {
            q.config.scheduler.policy = PolicyKind::Kueue;
            let w = &mut q.config.scheduler.kueue.wait_for_pods_ready;
            w.enable = enable;
            w.block_admission = block;
            w.timeout = SimDuration::from_secs(300);
        }
    };
    let default_quota = original.config.scheduler.kueue.cluster_queues.is_empty();
    let quota = if default_quota {
        "quota = cluster capacity (one default ClusterQueue)"
    } else {
        "the scenario's ClusterQueues and quotas"
    };
    let variants: Vec<(&str, String, Apply)> = vec![
        (
            "coscheduling",
            "policy coscheduling (Permit waits for the whole PodGroup, scheduleTimeout 60 s)"
                .into(),
            Box::new(|q: &mut Problem| q.config.scheduler.policy = PolicyKind::Coscheduling),
        ),
        (
            CONTROL,
            format!("policy kueue, {quota}, waitForPodsReady off (the control for the next two)"),
            Box::new(wfpr(false, false)),
        ),
        (
            "kueue-wait-for-pods-ready",
            format!(
                "policy kueue, {quota}, waitForPodsReady on (timeout 5 min, blockAdmission true: the v1beta1 default when enabled)"
            ),
            Box::new(wfpr(true, true)),
        ),
        (
            "kueue-wait-for-pods-ready-no-block",
            format!(
                "policy kueue, {quota}, waitForPodsReady on (timeout 5 min) with blockAdmission false (the v1beta2 default)"
            ),
            Box::new(wfpr(true, false)),
        ),
        (
            "k8s-gang",
            "policy k8s-gang (KEP-4671 alpha: Permit waits for minCount, fixed 5 min timeout)"
                .into(),
            Box::new(|q: &mut Problem| q.config.scheduler.policy = PolicyKind::K8sGang),
        ),
        (
            "gang",
            "policy gang (all-or-nothing placement of the whole job at once)".into(),
            Box::new(|q: &mut Problem| q.config.scheduler.policy = PolicyKind::Gang),
        ),
    ];
    let mut out: Vec<MitigationResult> = Vec::new();
    for (name, setting, apply) in variants {
        // Interrupted (before this one or during its searches): the ones checked so far
        // stand; this one and the rest are left out.
        if interrupt::interrupted() {
            break;
        }
        let mut q = original.clone();
        apply(&mut q);
        let Some(orig) = check(&q, opts, budget.original, budget.original) else {
            break;
        };
        let shr = match shrunk {
            Some(s) => {
                let mut q = s.clone();
                apply(&mut q);
                let Some(c) = check(&q, opts, budget.shrunk, 0) else {
                    break;
                };
                Some(c)
            }
            None => None,
        };
        let fixes = orig.clean() && shr.as_ref().is_none_or(MitigationCheck::clean);
        let proven = fixes && orig.proven();
        let basis = if proven {
            "proven on the original scenario (coverage complete)".to_string()
        } else {
            format!(
                "not a proof: none found on the original scenario in {} schedules",
                orig.schedules
            )
        };
        let mut label = if !orig.clean() {
            format!("does not fix it on the original scenario: {}", orig.note)
        } else if let Some(s) = shr.as_ref().filter(|s| !s.clean()) {
            format!(
                "does not fix the shrunk witness: {}; on the original: {}",
                s.note, orig.note
            )
        } else if proven {
            "fixes it: proven on the original scenario (coverage complete)".to_string()
        } else {
            format!(
                "no violation found on the original scenario in {} schedules (not a proof){}",
                orig.schedules,
                match &shr {
                    Some(s) if s.proven() => "; fixes the shrunk witness (coverage complete)",
                    Some(_) => "; none found on the shrunk witness either",
                    None => "",
                }
            )
        };
        // What caused a Kueue fix: waitForPodsReady only if Kueue admission without it
        // (same quota) does not fix it too.
        if name == CONTROL && fixes {
            label = format!(
                "Kueue admission with {quota} fixes it ({basis}); waitForPodsReady not needed"
            );
        } else if name.starts_with("kueue-wait-for-pods-ready")
            && fixes
            && out.iter().any(|m| m.name == CONTROL && m.fixes)
        {
            label = format!(
                "no violation with it ({basis}), but not because of waitForPodsReady: Kueue admission with {quota} and waitForPodsReady off shows none either; waitForPodsReady not needed"
            );
        } else if name.starts_with("kueue-wait-for-pods-ready") && fixes {
            label = format!(
                "waitForPodsReady fixes it ({basis}); Kueue admission with the same quota and waitForPodsReady off does not"
            );
        }
        out.push(MitigationResult {
            name: name.into(),
            setting,
            original: orig,
            shrunk: shr,
            fixes,
            proven,
            label,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{FaultConfig, NodeAction, NodeEventSpec};
    use crate::{ClusterSpec, NodeSpec, RunConfig, Workload};
    use sim_core::SimTime;

    #[test]
    fn dropping_a_node_drops_its_events_and_renumbers_the_later_nodes() {
        let node = |i: u32| NodeSpec {
            taints: Vec::new(),
            name: format!("n{i}"),
            pool: "gpu".into(),
            cpu_milli: 1000,
            memory_mib: 1024,
            gpus: 1,
            gpu_model: None,
            gpu_memory_mib: 0,
            rack: 0,
            labels: Default::default(),
        };
        let ev = |node: u32, action| NodeEventSpec {
            at: SimTime(node as u64),
            node,
            action,
        };
        let p = Problem {
            name: "t".into(),
            spec: ClusterSpec {
                nodes: (0..3).map(node).collect(),
            },
            workload: Workload { jobs: vec![] },
            config: RunConfig {
                faults: Some(FaultConfig {
                    events: vec![
                        ev(0, NodeAction::Fail),
                        ev(1, NodeAction::Fail),
                        ev(2, NodeAction::Drain),
                    ],
                    ..FaultConfig::default()
                }),
                ..RunConfig::default()
            },
        };
        let c = without_node(&p, 1).unwrap();
        let names: Vec<&str> = c.spec.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["n0", "n2"]);
        // n0's failure stays on index 0, n1's goes, n2's drain is now on index 1.
        let evs: Vec<(u64, u32, NodeAction)> = c
            .config
            .faults
            .unwrap()
            .events
            .iter()
            .map(|e| (e.at.0, e.node, e.action))
            .collect();
        assert_eq!(evs, [(0, 0, NodeAction::Fail), (2, 1, NodeAction::Drain)]);
        let mut auto = p.clone();
        auto.config.autoscaler = Some(crate::sim::AutoscalerConfig {
            settings: Default::default(),
            pools: vec![],
        });
        assert!(without_node(&auto, 1).is_none());
    }
}
