//! The one-file rule: a policy is one type implementing `Policy` plus one registry line.
//! This file adds `lifo` (newest job first, whole gangs, with a piece of state) from
//! outside the crate, registers it with one line and runs it; the timelines are derived by
//! hand in the comments (times in seconds).

use std::collections::BTreeMap;

use models::sim::policy::{
    Policy, PolicyState, Queueing, Registration, Registry, start_job, take_changes,
};
use models::sim::{ClusterSim, Event, QueueKey, run_with_registry};
use models::{ClusterSpec, JobSpec, NodeSpec, PodRequest, PolicyKind, RunConfig, Workload};
use sim_core::{Ctx, SimDuration, SimTime};

/// The policy: one file's worth.
mod lifo {
    use super::*;

    pub const REGISTRATION: Registration = Registration {
        name: "lifo",
        about: "whole gangs, newest job first (a test policy)",
        build: |_, _, _| Ok(std::sync::Arc::new(Lifo)),
    };

    /// The policy's state: how many jobs it started (plain data, so the verifier sees it).
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Started(pub u32);

    #[derive(Debug)]
    struct Lifo;

    impl Policy for Lifo {
        fn name(&self) -> &'static str {
            REGISTRATION.name
        }
        fn queueing(&self) -> Queueing {
            Queueing::Jobs
        }
        fn initial_state(&self, _m: &ClusterSim) -> PolicyState {
            PolicyState::new(Started(0))
        }
        fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
            if take_changes(m).is_none() {
                return;
            }
            let newest_first: Vec<QueueKey> = m.state.job_queue.iter().rev().copied().collect();
            for key in newest_first {
                if start_job(m, key, ctx)
                    && let Some(s) = m.state.policy.get_mut::<Started>()
                {
                    s.0 += 1;
                }
            }
        }
    }
}

fn cluster(gpus: u32) -> ClusterSpec {
    ClusterSpec {
        nodes: vec![NodeSpec {
            taints: Vec::new(),
            name: "node-0".into(),
            pool: "gpu".into(),
            cpu_milli: 64_000,
            memory_mib: 512 * 1024,
            gpus,
            gpu_model: Some("H100".into()),
            gpu_memory_mib: 81_920,
            rack: 0,
            labels: BTreeMap::new(),
        }],
    }
}

fn job(id: &str, submit: u64, duration: u64, gpus: u32) -> JobSpec {
    JobSpec {
        id: id.into(),
        submit: SimTime::from_secs(submit),
        duration: SimDuration::from_secs(duration),
        pods: vec![PodRequest::gpus(gpus)],
        priority: 0,
        queue: None,
    }
}

fn config(policy: PolicyKind) -> RunConfig {
    let mut c = RunConfig {
        check_invariants: true,
        ..RunConfig::default()
    };
    c.scheduler.policy = policy;
    c
}

/// A (8 GPUs, 10 s) at 0, B and C (8 GPUs, 5 s each) at 1 and 2 on one 8-GPU node.
fn workload() -> Workload {
    Workload {
        jobs: vec![job("a", 0, 10, 8), job("b", 1, 5, 8), job("c", 2, 5, 8)],
    }
}

fn starts(r: &models::RunResult) -> Vec<(String, u64)> {
    r.jobs
        .iter()
        .map(|j| {
            (
                j.id.clone(),
                j.start.expect("started").as_nanos() / 1_000_000_000,
            )
        })
        .collect()
}

#[test]
fn a_policy_registered_in_one_line_runs_in_the_one_model() {
    // The registry line.
    let registry = Registry::builtin().with(lifo::REGISTRATION);
    let c = config(PolicyKind::new("lifo"));
    let r = run_with_registry(cluster(8), workload(), &c, &registry, None).expect("run");
    // A runs 0-10; at 10 both B and C wait; newest first: C 10-15, then B 15-20.
    assert_eq!(
        starts(&r),
        vec![("a".into(), 0), ("b".into(), 15), ("c".into(), 10)]
    );
    assert_eq!(r.policy, "lifo");
    // The built-in `gang` keeps arrival order on the same input: B 10-15, C 15-20.
    let g = run_with_registry(
        cluster(8),
        workload(),
        &config(PolicyKind::Gang),
        &registry,
        None,
    )
    .expect("run");
    assert_eq!(
        starts(&g),
        vec![("a".into(), 0), ("b".into(), 10), ("c".into(), 15)]
    );
}

#[test]
fn an_unregistered_policy_is_a_clear_error() {
    let c = config(PolicyKind::new("lifo"));
    let e = ClusterSim::new(cluster(8), workload(), &c).expect_err("not registered");
    let msg = e.to_string();
    assert!(msg.contains("unknown policy \"lifo\""), "{msg}");
    assert!(msg.contains("gang") && msg.contains("tiresias"), "{msg}");
}

#[test]
fn the_policys_state_is_part_of_the_verifier_fingerprint() {
    let registry = Registry::builtin().with(lifo::REGISTRATION);
    let c = config(PolicyKind::new("lifo"));
    let sim = ClusterSim::with_registry(cluster(8), workload(), &c, &registry).expect("sim");
    assert_eq!(
        sim.state.policy.get::<lifo::Started>(),
        Some(&lifo::Started(0))
    );
    let now = SimTime::ZERO;
    let before = sim.abstract_hash(now, &[], None);
    let mut other = ClusterSim::with_registry(cluster(8), workload(), &c, &registry).expect("sim");
    let mut state = other.state.clone();
    state.policy.get_mut::<lifo::Started>().expect("state").0 = 1;
    other.restore_state(state, None);
    // Two states that differ only in what the policy keeps are told apart, without the
    // policy writing any hashing code.
    assert_ne!(other.abstract_hash(now, &[], None), before);
}
