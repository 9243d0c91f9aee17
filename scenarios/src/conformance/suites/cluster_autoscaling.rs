//! Behaviour suite for `cluster_autoscaling` (KAR-0055): the cluster autoscaler scales a
//! node group of the requested accelerator type up for pending pods and back down when
//! they are gone, within its configured delays.
//!
//! The case cluster is the profile's autoscaled pools only (the test targets the node
//! group; static nodes are left out), run on `models::platform`. The pool under test is
//! the first whose accelerator equals `accelerators.accelerator`; with none, pending
//! accelerator pods never get a node of the right type and the suite fails. Each pod
//! requests a whole node's accelerators (1 on a 1-accelerator pool, as in KAR-0055), so
//! N nodes hold exactly N pods.
//!
//! Cases: `kar-0055` (pool at min N, N+1 pods: ≥1 Pending, a node of the right type
//! Ready within max-node-provision-time, the pod Running by scan interval + provisioning
//! delay, then after deleting the pods the idle node removed no earlier than the
//! unneeded time and the count back to N), `two-pending` (N+2 pods when max allows:
//! both pending pods Run), `never-exceeds-max` (max+2 pods: the count stops at max),
//! `other-accelerator-ignored` (pods of another accelerator type never grow the pool).

use models::platform::{
    BatchPodConfig, ClusterAutoscalerConfig, NodePoolConfig, PlatformConfig, PlatformEvent,
    PlatformRun,
};
use sim_core::{SimDuration, SimTime};

use crate::conformance::outcome::{CaseResult, Observation, format_secs};
use crate::conformance::profile::{AutoscaledPool, ClusterAutoscaler, Profile};

/// Every event of a run as observations (shared by the platform suites).
pub(crate) fn event_log(run: &PlatformRun) -> Vec<Observation> {
    run.events
        .iter()
        .filter(|(_, e)| !matches!(e, PlatformEvent::PodCreated { .. }))
        .map(|(t, e)| Observation::new(*t, e.to_string()))
        .collect()
}

/// The first event matching `f`, as an observation.
pub(crate) fn first_event(
    run: &PlatformRun,
    f: impl Fn(&PlatformEvent) -> bool,
) -> Option<Observation> {
    run.events
        .iter()
        .find(|(_, e)| f(e))
        .map(|(t, e)| Observation::new(*t, e.to_string()))
}

fn secs(d: SimDuration) -> String {
    format_secs(d.as_nanos())
}

fn ca_config(ca: &ClusterAutoscaler) -> ClusterAutoscalerConfig {
    ClusterAutoscalerConfig {
        scan_interval: ca.scan_interval,
        scale_down_unneeded_time: ca.scale_down_unneeded_time,
        scale_down_delay_after_add: ca.scale_down_delay_after_add,
        scale_down_utilization_threshold: ca.scale_down_utilization_threshold,
        max_node_provision_time: ca.max_node_provision_time,
        ..Default::default()
    }
}

fn pool_config(p: &AutoscaledPool) -> NodePoolConfig {
    NodePoolConfig {
        name: p.name.clone(),
        accelerator: p.accelerator.clone(),
        gpus_per_node: p.gpus_per_node,
        min: p.min,
        max: p.max,
        initial: Some(p.min),
        provisioning_delay: p.provisioning_delay,
    }
}

/// The profile's pools under its autoscaler, with `pods` pods of `gpus` accelerators of
/// type `acc` created at t=0 and deleted at `delete_at`.
fn config(
    ca: &ClusterAutoscaler,
    pods: u32,
    gpus: u32,
    acc: &str,
    delete_at: Option<SimTime>,
) -> PlatformConfig {
    PlatformConfig {
        pools: ca.pools.iter().map(pool_config).collect(),
        cluster_autoscaler: Some(ca_config(ca)),
        batch_pods: (0..pods)
            .map(|i| BatchPodConfig {
                name: format!("accel-pod-{i}"),
                submit: SimTime::ZERO,
                gpus,
                accelerator: acc.to_string(),
                duration: None,
                delete_at,
            })
            .collect(),
        ..Default::default()
    }
}

/// Run every case of the suite.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    let Some(ca) = &profile.cluster_autoscaler else {
        return vec![CaseResult::new(
            "kar-0055",
            "a node group of the accelerator type scales up for pending pods and back down",
            1,
            seed,
            false,
            "the profile has no cluster autoscaler: pending accelerator pods never get a new node",
        )];
    };
    let acc = profile.accelerators.accelerator.as_str();
    let Some(pool) = ca.pools.iter().find(|p| p.accelerator == acc) else {
        return vec![wrong_type(profile, ca, seed)];
    };
    let mut out = vec![kar_0055(ca, pool, acc, seed)];
    if pool.max >= pool.min + 2 {
        out.push(two_pending(ca, pool, acc, seed));
    }
    out.push(never_exceeds_max(ca, pool, acc, seed));
    out.push(other_accelerator(ca, pool, acc, seed));
    out
}

const KAR_CHECKS: &str = "pool at min N, N+1 one-node pods: >=1 Pending, +1 node of the right accelerator, pod Running within scan + provisioning; pods deleted: idle node removed after the unneeded time, back to N";

/// No pool carries the profile's accelerator: the KAR pods stay Pending.
fn wrong_type(profile: &Profile, ca: &ClusterAutoscaler, seed: u64) -> CaseResult {
    let acc = profile.accelerators.accelerator.as_str();
    let first = &ca.pools[0];
    let cfg = config(ca, first.min + 1, 1, acc, None);
    let horizon =
        SimTime::ZERO + ca.scan_interval + first.provisioning_delay + ca.max_node_provision_time;
    let size = first.min + 1;
    match models::platform::run(&cfg, seed, horizon) {
        Err(e) => CaseResult::new("kar-0055", KAR_CHECKS, size, seed, false, e.to_string()),
        Ok(r) => {
            let pending = r.pods.iter().filter(|p| p.pending).count();
            let observed = first_event(&r, |e| matches!(e, PlatformEvent::NoScaleUp { .. }))
                .or_else(|| {
                    first_event(&r, |e| matches!(e, PlatformEvent::PodUnschedulable { .. }))
                });
            let mut c = CaseResult::new(
                "kar-0055",
                KAR_CHECKS,
                size,
                seed,
                false,
                format!(
                    "no autoscaled pool carries accelerator {acc:?} (pools: {}); {pending} pod(s) requesting it still Pending at {}",
                    ca.pools
                        .iter()
                        .map(|p| format!("{} = {}", p.name, p.accelerator))
                        .collect::<Vec<_>>()
                        .join(", "),
                    format_secs(horizon.as_nanos())
                ),
            )
            .with_log(event_log(&r));
            c.observed = observed;
            c
        }
    }
}

fn kar_0055(ca: &ClusterAutoscaler, pool: &AutoscaledPool, acc: &str, seed: u64) -> CaseResult {
    let n = pool.min;
    let size = n + 1;
    // Pods deleted once the scaled-up node should long be in use; the run lasts until the
    // removal is due (unneeded time and delay after add) plus a few scans.
    let up_by = ca.scan_interval + pool.provisioning_delay;
    let delete_at =
        SimTime::ZERO + up_by.max(ca.max_node_provision_time) + SimDuration::from_secs(60);
    let horizon = delete_at
        + ca.scale_down_unneeded_time
        + ca.scale_down_delay_after_add
        + ca.scan_interval
        + ca.scan_interval
        + ca.scan_interval;
    let cfg = config(ca, size, pool.gpus_per_node, acc, Some(delete_at));
    let r = match models::platform::run(&cfg, seed, horizon) {
        Ok(r) => r,
        Err(e) => return CaseResult::new("kar-0055", KAR_CHECKS, size, seed, false, e.to_string()),
    };
    let log = event_log(&r);
    let fail = |obs: Option<Observation>, detail: String| {
        let mut c = CaseResult::new("kar-0055", KAR_CHECKS, size, seed, false, detail)
            .with_log(log.clone());
        c.observed = obs;
        c
    };
    if pool.max < n + 1 {
        return fail(
            first_event(&r, |e| matches!(e, PlatformEvent::NoScaleUp { .. })),
            format!(
                "pool {} has max {} = min: it cannot grow to N+1 = {}",
                pool.name,
                pool.max,
                n + 1
            ),
        );
    }
    let pending = first_event(&r, |e| matches!(e, PlatformEvent::PodUnschedulable { .. }));
    if pending.is_none() {
        return fail(
            None,
            format!("no pod was Pending with {} pods on {n} nodes", n + 1),
        );
    }
    let Some((t_up, _)) = r
        .events
        .iter()
        .find(|(_, e)| matches!(e, PlatformEvent::ScaleUp { pool: p, .. } if *p == pool.name))
    else {
        return fail(
            first_event(&r, |e| matches!(e, PlatformEvent::NoScaleUp { .. })).or(pending),
            format!("pool {} never scaled up for the pending pod", pool.name),
        );
    };
    if let Some(o) = first_event(&r, |e| {
        matches!(e, PlatformEvent::NodeProvisionTimedOut { .. })
    }) {
        return fail(
            Some(o),
            format!(
                "the new node was not Ready within max-node-provision-time {} (provisioning takes {})",
                secs(ca.max_node_provision_time),
                secs(pool.provisioning_delay)
            ),
        );
    }
    let Some((t_ready, ready_ev)) = r.events.iter().find(|(t, e)| {
        *t >= *t_up && matches!(e, PlatformEvent::NodeReady { pool: p, .. } if *p == pool.name)
    }) else {
        return fail(None, "the scaled-up node never became Ready".into());
    };
    let peak = r.nodes[&pool.name]
        .iter()
        .map(|&(_, c)| c)
        .max()
        .unwrap_or(0);
    // The pod that was pending: bound last.
    let last = r
        .pods
        .iter()
        .filter_map(|p| p.bound_at.map(|b| (b, p)))
        .max_by_key(|(b, _)| *b);
    let Some((t_bound, pod)) = last.filter(|_| r.pods.iter().all(|p| p.bound_at.is_some())) else {
        return fail(pending, "the pending pod never Ran".into());
    };
    let bound_ok = pod.node_accelerator.as_deref() == Some(acc);
    let deadline = SimTime::ZERO + up_by;
    if !bound_ok
        || peak != n + 1
        || t_bound > deadline
        || t_ready.since(*t_up) > ca.max_node_provision_time
    {
        return fail(
            Some(Observation::new(
                t_bound,
                format!(
                    "pod {} bound to {:?} ({:?})",
                    pod.name, pod.node, pod.node_accelerator
                ),
            )),
            format!(
                "pending pod Running at {} (limit scan {} + provisioning {} = {}), on accelerator {:?} (want {acc:?}), peak {peak} nodes (want {})",
                format_secs(t_bound.as_nanos()),
                secs(ca.scan_interval),
                secs(pool.provisioning_delay),
                format_secs(deadline.as_nanos()),
                pod.node_accelerator,
                n + 1
            ),
        );
    }
    // Scale-down.
    let removed = r.events.iter().find(|(t, e)| {
        *t >= delete_at
            && matches!(e, PlatformEvent::NodeRemoved { pool: p, .. } if *p == pool.name)
    });
    let end_count = r.nodes_at(&pool.name, horizon).unwrap_or(0);
    let min_count = r.nodes[&pool.name]
        .iter()
        .map(|&(_, c)| c)
        .min()
        .unwrap_or(0);
    let Some((t_rm, rm_ev)) = removed else {
        return fail(
            Some(Observation::new(delete_at, "pods deleted")),
            format!(
                "pods deleted at {}; the idle node was never removed (count {end_count} at {})",
                format_secs(delete_at.as_nanos()),
                format_secs(horizon.as_nanos())
            ),
        );
    };
    let early = t_rm.since(delete_at) < ca.scale_down_unneeded_time;
    if early || end_count != n || min_count < n {
        return fail(
            Some(Observation::new(*t_rm, rm_ev.to_string())),
            format!(
                "idle node removed {} after the pods were deleted (unneeded time {}); count {end_count} at the end, minimum {min_count} (want {n})",
                secs(t_rm.since(delete_at)),
                secs(ca.scale_down_unneeded_time)
            ),
        );
    }
    let mut c = CaseResult::new(
        "kar-0055",
        KAR_CHECKS,
        size,
        seed,
        true,
        format!(
            "{} pods on {n} nodes: scale-up at {}, node Ready at {} ({}), pod Running at {} (limit {}); pods deleted at {}, idle node removed at {} ({} later, unneeded time {}), back to {n}",
            n + 1,
            format_secs(t_up.as_nanos()),
            format_secs(t_ready.as_nanos()),
            ready_ev,
            format_secs(t_bound.as_nanos()),
            format_secs(deadline.as_nanos()),
            format_secs(delete_at.as_nanos()),
            format_secs(t_rm.as_nanos()),
            secs(t_rm.since(delete_at)),
            secs(ca.scale_down_unneeded_time)
        ),
    )
    .with_log(log);
    c.observed = Some(Observation::new(
        t_bound,
        format!(
            "pod {} Running on {}",
            pod.name,
            pod.node.clone().unwrap_or_default()
        ),
    ));
    c
}

fn two_pending(ca: &ClusterAutoscaler, pool: &AutoscaledPool, acc: &str, seed: u64) -> CaseResult {
    let n = pool.min;
    let checks = "pool at min N, N+2 one-node pods: both pending pods get nodes of the right accelerator by scan + provisioning";
    let deadline = SimTime::ZERO + ca.scan_interval + pool.provisioning_delay;
    let horizon = deadline + ca.max_node_provision_time;
    let cfg = config(ca, n + 2, pool.gpus_per_node, acc, None);
    let r = match models::platform::run(&cfg, seed, horizon) {
        Ok(r) => r,
        Err(e) => return CaseResult::new("two-pending", checks, n + 2, seed, false, e.to_string()),
    };
    let late: Vec<_> = r
        .pods
        .iter()
        .filter(|p| {
            p.bound_at.is_none_or(|b| b > deadline) || p.node_accelerator.as_deref() != Some(acc)
        })
        .collect();
    let peak = r.nodes[&pool.name]
        .iter()
        .map(|&(_, c)| c)
        .max()
        .unwrap_or(0);
    let last = r
        .pods
        .iter()
        .filter_map(|p| p.bound_at.map(|b| (b, p.name.clone(), p.node.clone())))
        .max();
    let passed = late.is_empty() && peak == n + 2;
    let mut c = CaseResult::new(
        "two-pending",
        checks,
        n + 2,
        seed,
        passed,
        if passed {
            format!(
                "{} pods on {n} nodes: {peak} nodes, every pod Running by {}",
                n + 2,
                format_secs(deadline.as_nanos())
            )
        } else {
            format!(
                "{} pod(s) not Running on a {acc:?} node by {} (peak {peak} nodes, want {})",
                late.len(),
                format_secs(deadline.as_nanos()),
                n + 2
            )
        },
    )
    .with_log(event_log(&r));
    c.observed = if passed {
        last.map(|(t, p, node)| {
            Observation::new(
                t,
                format!("pod {p} Running on {}", node.unwrap_or_default()),
            )
        })
    } else {
        first_event(&r, |e| matches!(e, PlatformEvent::NoScaleUp { .. }))
            .or_else(|| first_event(&r, |e| matches!(e, PlatformEvent::PodUnschedulable { .. })))
    };
    c
}

fn never_exceeds_max(
    ca: &ClusterAutoscaler,
    pool: &AutoscaledPool,
    acc: &str,
    seed: u64,
) -> CaseResult {
    let checks =
        "max+2 one-node pods: the pool grows to max and never beyond; the extra pods stay Pending";
    let pods = pool.max + 2;
    let horizon =
        SimTime::ZERO + ca.scan_interval + pool.provisioning_delay + ca.max_node_provision_time;
    let cfg = config(ca, pods, pool.gpus_per_node, acc, None);
    let r = match models::platform::run(&cfg, seed, horizon) {
        Ok(r) => r,
        Err(e) => {
            return CaseResult::new(
                "never-exceeds-max",
                checks,
                pods,
                seed,
                false,
                e.to_string(),
            );
        }
    };
    let series = &r.nodes[&pool.name];
    let peak = series.iter().map(|&(_, c)| c).max().unwrap_or(0);
    let pending = r.pods.iter().filter(|p| p.pending).count() as u32;
    let over = series.iter().find(|&&(_, c)| c > pool.max);
    let passed = over.is_none() && pending >= 2;
    let mut c = CaseResult::new(
        "never-exceeds-max",
        checks,
        pods,
        seed,
        passed,
        format!("{pods} pods, pool max {}: peak {peak} Ready nodes, {pending} pod(s) still Pending at {}", pool.max, format_secs(horizon.as_nanos())),
    )
    .with_log(event_log(&r));
    c.observed = match over {
        Some(&(t, cnt)) => Some(Observation::new(
            t,
            format!("{cnt} nodes in {} (max {})", pool.name, pool.max),
        )),
        None => first_event(&r, |e| matches!(e, PlatformEvent::NoScaleUp { .. })).or_else(|| {
            series
                .last()
                .map(|&(t, cnt)| Observation::new(t, format!("{cnt} nodes in {}", pool.name)))
        }),
    };
    c
}

fn other_accelerator(
    ca: &ClusterAutoscaler,
    pool: &AutoscaledPool,
    acc: &str,
    seed: u64,
) -> CaseResult {
    let checks = "pods requesting another accelerator type never grow the pool";
    let other = format!("{acc}-other");
    let horizon = SimTime::ZERO + ca.scan_interval + pool.provisioning_delay + ca.scan_interval;
    let cfg = config(ca, 1, 1, &other, None);
    let r = match models::platform::run(&cfg, seed, horizon) {
        Ok(r) => r,
        Err(e) => {
            return CaseResult::new(
                "other-accelerator-ignored",
                checks,
                1,
                seed,
                false,
                e.to_string(),
            );
        }
    };
    let grew = r
        .events
        .iter()
        .find(|(_, e)| matches!(e, PlatformEvent::ScaleUp { pool: p, .. } if *p == pool.name));
    let mut c = CaseResult::new(
        "other-accelerator-ignored",
        checks,
        1,
        seed,
        grew.is_none(),
        match grew {
            None => format!(
                "a pod requesting {other:?} stayed Pending; pool {} ({acc}) did not grow",
                pool.name
            ),
            Some(_) => format!(
                "pool {} ({acc}) grew for a pod requesting {other:?}",
                pool.name
            ),
        },
    )
    .with_log(event_log(&r));
    c.observed = match grew {
        Some((t, e)) => Some(Observation::new(*t, e.to_string())),
        None => first_event(&r, |e| matches!(e, PlatformEvent::NoScaleUp { .. })),
    };
    c
}
