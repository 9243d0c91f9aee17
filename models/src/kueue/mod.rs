//! A Kueue admission core: ResourceFlavors, ClusterQueues with per-flavor quotas for
//! several resources in resource groups, cohorts (flat and hierarchical) with borrowing
//! and lending limits, flavor fungibility, classic preemption (`withinClusterQueue`,
//! `reclaimWithinCohort`, `borrowWithinCohort`) and the scheduling cycle. Pure and
//! deterministic: plain data in, plain results out, ordered maps only.
//!
//! Follows kubernetes-sigs/kueue **v0.19.2** (`pkg/scheduler/scheduler.go`,
//! `pkg/scheduler/flavorassigner/`, `pkg/scheduler/preemption/`,
//! `pkg/cache/scheduler/resource_node.go`), re-implemented from its semantics. Not
//! modelled: fair sharing, topology-aware scheduling, admission-check controllers,
//! elastic workload slices, `LastAssignment` carried across cycles, LimitRanges.
//!
//! * [`types`] — the API objects (ResourceFlavor, ClusterQueue, Cohort, Workload, ...).
//! * [`snapshot`] — quota accounting over the cohort tree.
//! * [`assigner`] — the flavor assigner.
//! * [`preemption`] — preemption targets and the preemption oracle.
//! * [`cycle`] — queues and one scheduling cycle.

pub mod assigner;
pub mod cycle;
pub mod preemption;
pub mod snapshot;
pub mod types;

pub use assigner::{Assignment, FlavorAssigner, Mode, PreemptionOracle, PreemptionPossibility};
pub use cycle::{CycleOptions, CycleResult, EntryStatus, Queues, RequeueReason, schedule};
pub use preemption::{Oracle, Target, get_targets};
pub use snapshot::{Snapshot, WorkloadInfo};
pub use types::*;

/// Errors building the core's inputs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KueueError {
    #[error("invalid quantity for {resource}: {msg}")]
    Quantity { resource: String, msg: String },
    #[error("{0}")]
    Config(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cq(name: &str, cohort: Option<&str>, nominal: i64, lending: Option<i64>) -> ClusterQueue {
        ClusterQueue {
            name: name.into(),
            cohort: cohort.map(str::to_string),
            resource_groups: vec![ResourceGroup {
                flavors: vec![FlavorQuotas {
                    name: "default".into(),
                    resources: vec![ResourceQuota {
                        name: CPU.into(),
                        nominal,
                        borrowing_limit: None,
                        lending_limit: lending,
                    }],
                }],
            }],
            active: true,
            ..Default::default()
        }
    }

    fn flavors() -> Vec<ResourceFlavor> {
        vec![ResourceFlavor {
            name: "default".into(),
            ..Default::default()
        }]
    }

    fn wl(name: &str, prio: i32, cpu: i64, admitted_in: Option<&str>) -> Workload {
        let ps = PodSet {
            name: "main".into(),
            count: 1,
            requests: [(CPU.to_string(), cpu)].into_iter().collect(),
            ..Default::default()
        };
        Workload {
            namespace: "ns".into(),
            name: name.into(),
            priority: prio,
            admission: admitted_in.map(|q| Admission {
                cluster_queue: q.into(),
                pod_set_assignments: vec![PodSetAssignment {
                    name: "main".into(),
                    count: 1,
                    flavors: [(CPU.to_string(), "default".to_string())]
                        .into_iter()
                        .collect(),
                    resource_usage: ps.requests.clone(),
                }],
            }),
            quota_reserved_ms: admitted_in.map(|_| 0),
            pod_sets: vec![ps],
            ..Default::default()
        }
    }

    #[test]
    fn quantities_parse_and_print_as_upstream() {
        assert_eq!(amount(CPU, "500m").unwrap(), 500);
        assert_eq!(amount(CPU, "2").unwrap(), 2000);
        assert_eq!(amount("memory", "3Gi").unwrap(), 3 << 30);
        assert_eq!(
            amount("memory", "1.5").unwrap(),
            2,
            "non-cpu values round up"
        );
        assert_eq!(amount(CPU, "9223372036854776").unwrap(), i64::MAX);
        assert_eq!(format_amount(CPU, 50_000), "50");
        assert_eq!(format_amount(CPU, 500), "500m");
        assert_eq!(format_amount(CPU, 10_000_000), "10k");
        assert_eq!(format_amount("memory", 1 << 20), "1Mi");
        assert_eq!(format_amount("memory", 1500), "1500");
        assert_eq!(format_amount("example.com/gpu", 20), "20");
    }

    #[test]
    fn lending_limit_keeps_quota_for_the_lender() {
        // a: nominal 3, lends at most 2 (keeps 1); b: nominal 2, lends everything.
        let cqs = [
            cq("a", Some("c"), 3000, Some(2000)),
            cq("b", Some("c"), 2000, Some(2000)),
        ];
        let mut snap = Snapshot::new(&flavors(), &[], &cqs).unwrap();
        let fr = FlavorResource::new("default", CPU);
        let (a, b) = (snap.cq_index("a").unwrap(), snap.cq_index("b").unwrap());
        assert_eq!(
            snap.available(b, &fr),
            4000,
            "its own 2 plus a's lendable 2"
        );
        assert_eq!(snap.available(a, &fr), 5000);
        snap.add_workload(WorkloadInfo::new(wl("x", 0, 2000, Some("a")), "a"));
        // a used its kept 1 and 1 of what it lends: 1 left to lend.
        assert_eq!(snap.available(b, &fr), 3000);
        assert_eq!(snap.potential_available(snapshot::NodeId::Cq(b), &fr), 4000);
        snap.remove_workload("a", "ns/x");
        assert_eq!(
            snap.available(b, &fr),
            4000,
            "usage fully released up the tree"
        );
    }

    #[test]
    fn preemption_picks_the_lowest_priority_and_fills_back() {
        let mut q = cq("q", None, 6000, None);
        q.preemption.within_cluster_queue = PreemptionPolicy::LowerPriority;
        let mut snap = Snapshot::new(&flavors(), &[], &[q]).unwrap();
        for (n, p) in [("low", -1), ("mid", 0), ("high", 1)] {
            snap.add_workload(WorkloadInfo::new(wl(n, p, 2000, Some("q")), "q"));
        }
        let incoming = WorkloadInfo::new(wl("in", 1, 2000, None), "q");
        let before = snap.clone();
        let mut oracle = Oracle { now_ms: 0 };
        let a = FlavorAssigner {
            wl: &incoming,
            cq: 0,
            enable_fair_sharing: false,
            oracle: &mut oracle,
        }
        .assign(&mut snap, None);
        assert_eq!(a.representative_mode(), Mode::Preempt);
        let t = get_targets(&mut snap, &incoming, 0, &a, 0);
        let names: Vec<String> = t.iter().map(|t| t.info.key()).collect();
        assert_eq!(names, ["ns/low"]);
        assert_eq!(t[0].reason, preemption::IN_CLUSTER_QUEUE);
        assert_eq!(snap, before, "simulations leave the snapshot as it was");
    }

    #[test]
    fn best_effort_sets_a_misfit_aside_strict_fifo_keeps_it() {
        for (strategy, left, aside) in [
            (QueueingStrategy::BestEffortFifo, 0, 1),
            (QueueingStrategy::StrictFifo, 1, 0),
        ] {
            let mut q = cq("q", None, 1000, None);
            q.queueing_strategy = strategy;
            let mut snap = Snapshot::new(&flavors(), &[], std::slice::from_ref(&q)).unwrap();
            let mut queues = Queues::new(&[q]);
            let mut big = wl("big", 0, 2000, None);
            big.creation_ms = 1;
            queues.push(WorkloadInfo::new(big, "q"));
            let r = schedule(&mut snap, &mut queues, &CycleOptions::default());
            assert_eq!(r.entries.len(), 1);
            assert_eq!(r.entries[0].status, EntryStatus::Pending);
            assert_eq!(r.entries[0].pending_reason, "ExceedsMaxQuota");
            let count = |m: BTreeMap<String, std::collections::BTreeSet<String>>| {
                m.values().map(|s| s.len()).sum::<usize>()
            };
            assert_eq!(count(queues.dump()), left, "{strategy:?}");
            assert_eq!(count(queues.dump_inadmissible()), aside, "{strategy:?}");
        }
    }
}
