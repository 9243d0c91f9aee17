//! Behaviour suite for `job_level_networking` (draft row: named by the programme, in no
//! checklist yet). Every pod of a distributed job gets an RDMA interface on its job's own
//! network; the bandwidth between a job's pods is what the fabric model gives the RDMA NICs;
//! two jobs running at once on disjoint nodes each keep their full fabric bandwidth (the
//! second slows the first by no more than the fabric links they share impose, computed by
//! hand).
//!
//! Needs `network.rdma` with `offered_to_pods` and `job_networks`. Without `job_networks`
//! the pods only have interfaces on one shared RDMA network: the interface case fails
//! while the bandwidth cases still pass (the traffic does use the NICs). The fabric
//! helpers are `high_performance_networking`'s; the figures are derived in
//! `docs/conformance-network-storage.md`.

use sim_core::SimTime;

use super::high_performance_networking::{
    Job, PodNetwork, expected_busbw, gbs, judge_bandwidth, ms, run_allreduces, run_log,
};
use crate::conformance::outcome::{CaseResult, Observation};
use crate::conformance::profile::Profile;

/// Pods per job in the interface and isolation cases.
const PODS_PER_JOB: u32 = 2;

/// Run every case of the suite.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    vec![
        job_interfaces(profile, seed),
        job_bandwidth(profile, seed),
        concurrent_isolation(profile, seed),
    ]
}

/// Which network a pod's secondary interfaces sit on.
fn attachment(profile: &Profile, job: &str) -> Option<String> {
    match &profile.network.rdma {
        Some(r) if r.offered_to_pods && r.job_networks => Some(format!("{job}-net")),
        Some(r) if r.offered_to_pods => Some("rdma-shared".into()),
        _ => None,
    }
}

/// `job-network-interfaces`: two 2-pod jobs; every pod must have an RDMA interface on a
/// network that belongs to its job alone.
fn job_interfaces(profile: &Profile, seed: u64) -> CaseResult {
    let checks =
        "every pod of two distributed jobs gets an RDMA interface on its own job's network";
    let mut log = Vec::new();
    let mut first_bad: Option<Observation> = None;
    let mut node = 0u32;
    for job in ["job-a", "job-b"] {
        let net = attachment(profile, job);
        for pod in 0..PODS_PER_JOB {
            let pod_name = format!("{job}-{pod}");
            let line = match &net {
                Some(n) if n == &format!("{job}-net") => {
                    format!("pod {pod_name} on node-{node}: net1 on network {n} (job-private)")
                }
                Some(n) => format!(
                    "pod {pod_name} on node-{node}: net1 on network {n}, shared with the other job (no job network)"
                ),
                None => format!("pod {pod_name} on node-{node}: no RDMA interface (eth0 only)"),
            };
            let o = Observation::new(SimTime::ZERO, line);
            let ok = net.as_deref() == Some(format!("{job}-net").as_str());
            if !ok && first_bad.is_none() {
                first_bad = Some(o.clone());
            }
            log.push(o);
            node += 1;
        }
    }
    let detail = match &profile.network.rdma {
        None => "the profile has no RDMA NICs: pods have the default network only".to_string(),
        Some(r) if !r.offered_to_pods => {
            "the RDMA NICs are not offered to pods (offered_to_pods: false): pods have the default network only"
                .to_string()
        }
        Some(r) if !r.job_networks => format!(
            "all {} pods share one RDMA network (job_networks: false): no job has a network of its own",
            2 * PODS_PER_JOB
        ),
        Some(_) => format!(
            "all {} pods have an interface on their own job's network (job-a-net, job-b-net)",
            2 * PODS_PER_JOB
        ),
    };
    let passed = first_bad.is_none();
    let observed = first_bad.unwrap_or_else(|| {
        log.last()
            .cloned()
            .unwrap_or_else(|| Observation::new(SimTime::ZERO, "no pods"))
    });
    CaseResult::new(
        "job-network-interfaces",
        checks,
        2 * PODS_PER_JOB,
        seed,
        passed,
        detail,
    )
    .observed(observed)
    .with_log(log)
}

/// `job-pod-bandwidth`: a 2-pod job's all-reduce alone reaches the RDMA figure.
fn job_bandwidth(profile: &Profile, seed: u64) -> CaseResult {
    let checks = "bandwidth between a job's pods is what the fabric model gives its RDMA NICs";
    let network = PodNetwork::of(profile);
    let topo = match network.topology(profile, 32) {
        Ok(t) => t,
        Err(e) => {
            return CaseResult::new(
                "job-pod-bandwidth",
                checks,
                PODS_PER_JOB,
                seed,
                false,
                format!("fabric model: {e}"),
            );
        }
    };
    let runs = run_allreduces(
        &topo,
        &[Job {
            name: "job-a".into(),
            nodes: vec![0, 1],
        }],
        profile.accelerators.gpus_per_node,
    );
    let (passed, detail, observed) = judge_bandwidth(profile, &runs, network);
    CaseResult::new(
        "job-pod-bandwidth",
        checks,
        PODS_PER_JOB,
        seed,
        passed,
        detail,
    )
    .with_log(
        runs.iter()
            .flat_map(|r| run_log(r, &network.label()))
            .collect(),
    )
    .observed(observed)
}

/// `concurrent-jobs-isolation`: job A on nodes {0, 2}, job B on {1, 3}, two nodes per leaf
/// group, so both rings cross the spine and share every leaf uplink of group 0 (and
/// downlink of group 1) rail by rail. Each uplink is the sum of its group's NIC downlinks
/// (non-blocking), i.e. two NICs' worth, and carries one ring edge of each job: neither
/// slows the other. Passes when each job, run together, reaches the RDMA figure and is no
/// slower than alone beyond [`super::high_performance_networking::TOLERANCE`].
fn concurrent_isolation(profile: &Profile, seed: u64) -> CaseResult {
    let checks = "two jobs on disjoint nodes running at once each keep their full fabric bandwidth";
    let size = 2 * PODS_PER_JOB;
    let network = PodNetwork::of(profile);
    let topo = match network.topology(profile, 2) {
        Ok(t) => t,
        Err(e) => {
            return CaseResult::new(
                "concurrent-jobs-isolation",
                checks,
                size,
                seed,
                false,
                format!("fabric model: {e}"),
            );
        }
    };
    let gpus = profile.accelerators.gpus_per_node;
    let jobs = [
        Job {
            name: "job-a".into(),
            nodes: vec![0, 2],
        },
        Job {
            name: "job-b".into(),
            nodes: vec![1, 3],
        },
    ];
    let alone = run_allreduces(&topo, &jobs[..1], gpus);
    let together = run_allreduces(&topo, &jobs, gpus);
    let (mut passed, mut detail, observed) = judge_bandwidth(profile, &together, network);
    let (a_alone, a_together) = (alone[0].busbw(), together[0].busbw());
    let slowdown = if a_together > 0.0 {
        a_alone / a_together - 1.0
    } else {
        f64::INFINITY
    };
    detail = format!(
        "{detail}; job-a alone {} vs with job-b {} (slowdown {:.1} %)",
        gbs(a_alone),
        gbs(a_together),
        slowdown * 100.0
    );
    if expected_busbw(profile).is_some() && slowdown > super::high_performance_networking::TOLERANCE
    {
        passed = false;
    }
    // The log is the concurrent run's; the job-a-alone reference run is in the detail.
    let label = network.label();
    let mut log: Vec<Observation> = together.iter().flat_map(|r| run_log(r, &label)).collect();
    log.sort_by_key(|o| o.at_ns);
    if let Some(d) = alone[0].done {
        detail = format!("{detail}; job-a alone completed at {}", ms(d));
    }
    CaseResult::new(
        "concurrent-jobs-isolation",
        checks,
        size,
        seed,
        passed,
        detail,
    )
    .with_log(log)
    .observed(observed)
}
