//! Behaviour suite for `pod_autoscaling` (KAR-0057): an HPA on a custom inference metric
//! scales a Deployment whose replicas each request one accelerator up under load (per
//! the HPA formula, the new pods Running on accelerator nodes) and down only after the
//! stabilisation window.
//!
//! The case cluster is the profile's static accelerator nodes (plus its autoscaled pools
//! and autoscaler, if any), run on `models::platform`. The service: replicas of 1
//! accelerator, concurrency c = max(1, ceil(2 × target)) requests, mean service time 2 s
//! (exponential), start-up 10 s, Poisson arrivals at 1.25 × the capacity of
//! `max_replicas` replicas (at most as many as the cluster has accelerators), so the metric (queue depth, or in-flight requests, per
//! replica) stays above target until the load stops.
//!
//! Oracles: `scale-up` (replicas rise above min; every increase equals
//! min(clamp(ceil(sum / target)), max(2 × current, current + 4)) recomputed here from the
//! HPA's reading, with the 0.1-style tolerance and the unready-pods rule; every replica
//! pod bound to a node of the accelerator type); `scale-down-after-window` (load stops at
//! 300 s, a multiple of the sync period, when the metric is still high: the first
//! decrease comes no earlier than 300 s + the Kubernetes default 300 s window);
//! `no-flapping-on-dip` (a 240 s pause in the load, shorter than 300 s: no decrease
//! followed by an increase while the load resumes).

use models::platform::{
    Arrivals, BackendRef, HpaConfig, HpaMetric, HpaSample, InferenceServiceConfig, LoadStep,
    NodePoolConfig, PlatformConfig, PlatformEvent, PlatformRun, RouteConfig, ServiceDistribution,
    TrafficConfig,
};
use sim_core::{SimDuration, SimTime};

use super::cluster_autoscaling::{event_log, first_event};
use crate::conformance::outcome::{CaseResult, Observation, format_secs};
use crate::conformance::profile::{PodAutoscaler, Profile};

/// The Kubernetes default scale-down stabilisation window the oracle expects.
const K8S_WINDOW: SimDuration = SimDuration(300_000_000_000);
const SERVICE: &str = "inference";

fn concurrency(target: f64) -> u32 {
    ((2.0 * target).ceil() as u32).max(1)
}

/// The case platform with a load profile of (from, multiple of max capacity) steps.
fn config(
    profile: &Profile,
    hpa: &PodAutoscaler,
    metric: HpaMetric,
    load: &[(u64, f64)],
) -> PlatformConfig {
    let a = &profile.accelerators;
    let mut pools = vec![NodePoolConfig {
        name: "accelerator-nodes".into(),
        accelerator: a.accelerator.clone(),
        gpus_per_node: a.gpus_per_node,
        min: a.nodes,
        max: a.nodes,
        initial: None,
        provisioning_delay: SimDuration::ZERO,
    }];
    let mut ca = None;
    if let Some(c) = &profile.cluster_autoscaler {
        pools.extend(c.pools.iter().map(|p| NodePoolConfig {
            name: p.name.clone(),
            accelerator: p.accelerator.clone(),
            gpus_per_node: p.gpus_per_node,
            min: p.min,
            max: p.max,
            initial: None,
            provisioning_delay: p.provisioning_delay,
        }));
        ca = Some(models::platform::ClusterAutoscalerConfig {
            scan_interval: c.scan_interval,
            scale_down_unneeded_time: c.scale_down_unneeded_time,
            scale_down_delay_after_add: c.scale_down_delay_after_add,
            scale_down_utilization_threshold: c.scale_down_utilization_threshold,
            max_node_provision_time: c.max_node_provision_time,
            ..Default::default()
        });
    }
    let c = concurrency(hpa.target);
    let service_s = 2.0;
    let replicas = hpa.max_replicas.min(accelerator_room(profile)).max(1);
    let capacity = f64::from(replicas) * f64::from(c) / service_s;
    PlatformConfig {
        pools,
        cluster_autoscaler: ca,
        services: vec![InferenceServiceConfig {
            name: SERVICE.into(),
            accelerator: a.accelerator.clone(),
            gpus_per_replica: 1,
            replicas: hpa.min_replicas,
            startup_delay: SimDuration::from_secs(10),
            concurrency: c,
            service_time: SimDuration::from_secs(2),
            service_distribution: ServiceDistribution::Exponential,
            hpa: Some(HpaConfig {
                metric,
                target: hpa.target,
                tolerance: hpa.tolerance,
                sync_period: hpa.sync_period,
                scale_down_stabilization: hpa.scale_down_stabilization,
                min_replicas: hpa.min_replicas,
                max_replicas: hpa.max_replicas,
                custom_metrics_adapter: hpa.custom_metrics_adapter,
            }),
            priority: 0,
            on_no_capacity: Default::default(),
        }],
        traffic: vec![TrafficConfig {
            name: "clients".into(),
            load: load
                .iter()
                .map(|&(from, x)| LoadStep {
                    from: SimDuration::from_secs(from),
                    rps: x * capacity,
                })
                .collect(),
            arrivals: Arrivals::Poisson,
            headers: vec![],
            route: RouteConfig {
                header: "x-route".into(),
                matches: vec![],
                backends: vec![BackendRef {
                    service: SERVICE.into(),
                    weight: 1,
                }],
            },
        }],
        ..Default::default()
    }
}

/// Accelerators the case cluster can ever offer: the static nodes' plus every
/// autoscaled pool's at its max.
fn accelerator_room(profile: &Profile) -> u32 {
    let a = &profile.accelerators;
    let pools: u32 = profile.cluster_autoscaler.as_ref().map_or(0, |c| {
        c.pools
            .iter()
            .filter(|p| p.accelerator == a.accelerator)
            .map(|p| p.max.saturating_mul(p.gpus_per_node))
            .sum()
    });
    a.nodes
        .saturating_mul(a.gpus_per_node)
        .saturating_add(pools)
}

/// The HPA formula, independently: the replicas an increase should set.
fn expected_up(s: &HpaSample, hpa: &PodAutoscaler) -> u32 {
    let sum = s.value * f64::from(s.ready);
    let ceil = |x: f64| (x - 1e-9).ceil().max(0.0) as u32;
    let desired = if s.counted == s.ready {
        let ratio = s.value / hpa.target;
        if (ratio - 1.0).abs() <= hpa.tolerance {
            s.current
        } else {
            ceil(sum / hpa.target)
        }
    } else {
        let ratio = sum / f64::from(s.counted) / hpa.target;
        if (ratio - 1.0).abs() <= hpa.tolerance || ratio < 1.0 {
            s.current
        } else {
            ceil(sum / hpa.target).max(s.current)
        }
    };
    let clamped = desired.clamp(hpa.min_replicas, hpa.max_replicas);
    clamped.min((2 * s.current).max(s.current + 4))
}

/// Run every case of the suite.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    let Some(hpa) = &profile.pod_autoscaler else {
        return vec![CaseResult::new(
            "scale-up",
            "an HPA on a custom metric scales accelerator replicas",
            1,
            seed,
            false,
            "the profile has no horizontal pod autoscaler",
        )];
    };
    let Some(metric) = HpaMetric::from_name(&hpa.metric) else {
        return vec![CaseResult::new(
            "scale-up",
            "an HPA on a custom metric scales accelerator replicas",
            hpa.max_replicas,
            seed,
            false,
            format!(
                "metric {:?} is not served by the modelled inference server (inference_queue_depth, inference_requests_in_flight)",
                hpa.metric
            ),
        )];
    };
    // Load: above capacity until 300 s, then none.
    let cfg = config(profile, hpa, metric, &[(0, 1.25), (300, 0.0)]);
    let horizon = SimTime::from_secs(1200);
    let main = models::platform::run(&cfg, seed, horizon);
    // A 240 s pause (300 s – 540 s) between two loaded phases.
    let dip = config(
        profile,
        hpa,
        metric,
        &[(0, 1.25), (300, 0.0), (540, 1.25), (780, 0.0)],
    );
    let dip = models::platform::run(&dip, seed, SimTime::from_secs(840));
    match (main, dip) {
        (Ok(main), Ok(dip)) => vec![
            scale_up(&main, profile, hpa, seed),
            scale_down(&main, hpa, seed),
            no_flapping(&dip, hpa, seed),
        ],
        (Err(e), _) | (_, Err(e)) => vec![CaseResult::new(
            "scale-up",
            "an HPA on a custom metric scales accelerator replicas",
            hpa.max_replicas,
            seed,
            false,
            e.to_string(),
        )],
    }
}

fn rescales(r: &PlatformRun) -> Vec<(SimTime, u32, u32)> {
    r.events
        .iter()
        .filter_map(|(t, e)| match e {
            PlatformEvent::HpaRescale { from, to, .. } => Some((*t, *from, *to)),
            _ => None,
        })
        .collect()
}

fn scale_up(r: &PlatformRun, profile: &Profile, hpa: &PodAutoscaler, seed: u64) -> CaseResult {
    let checks = "metric above target: replicas increase per ceil(current x metric / target), new pods Run on accelerator nodes";
    let acc = profile.accelerators.accelerator.as_str();
    let log = event_log(r);
    let samples = r.hpa.get(SERVICE).cloned().unwrap_or_default();
    let ups: Vec<&HpaSample> = samples.iter().filter(|s| s.applied > s.current).collect();
    let peak = r
        .replicas
        .get(SERVICE)
        .and_then(|s| s.iter().map(|&(_, v)| v).max())
        .unwrap_or(0);
    let size = hpa.max_replicas;
    let mut c = CaseResult::new("scale-up", checks, size, seed, false, String::new()).with_log(log);
    let Some(first) = ups.first() else {
        c.observed = first_event(r, |e| matches!(e, PlatformEvent::HpaFailedGetMetric { .. }));
        c.detail = format!(
            "load at 1.25 x the capacity of {} replicas for 300 s: replicas never rose above {} ({})",
            hpa.max_replicas,
            hpa.min_replicas,
            if hpa.custom_metrics_adapter {
                "no scale-up decision"
            } else {
                "no custom-metrics adapter: the HPA cannot read the metric"
            }
        );
        return c;
    };
    if let Some(bad) = ups.iter().find(|s| s.applied != expected_up(s, hpa)) {
        c.observed = Some(Observation::new(
            bad.at,
            format!("{} -> {} replicas", bad.current, bad.applied),
        ));
        c.detail = format!(
            "at {}: {} = {} per replica over {} ready, target {}: expected {} replicas, got {}",
            format_secs(bad.at.as_nanos()),
            hpa.metric,
            bad.value,
            bad.ready,
            hpa.target,
            expected_up(bad, hpa),
            bad.applied
        );
        return c;
    }
    let replica_pods: Vec<_> = r
        .pods
        .iter()
        .filter(|p| p.owner.as_deref() == Some(SERVICE))
        .collect();
    let wrong = replica_pods
        .iter()
        .find(|p| p.node.is_some() && p.node_accelerator.as_deref() != Some(acc));
    let bound = replica_pods.iter().filter(|p| p.bound_at.is_some()).count() as u32;
    let ready_peak = r
        .ready_replicas
        .get(SERVICE)
        .and_then(|s| s.iter().map(|&(_, v)| v).max())
        .unwrap_or(0);
    if let Some(p) = wrong {
        c.observed = p
            .bound_at
            .map(|t| Observation::new(t, format!("pod {} bound to {:?}", p.name, p.node)));
        c.detail = format!(
            "replica {} ran on a {:?} node, not {acc:?}",
            p.name, p.node_accelerator
        );
        return c;
    }
    // Replicas beyond the cluster's accelerators cannot run; that is capacity, not the HPA.
    if ready_peak < peak.min(accelerator_room(profile)) {
        c.detail =
            format!("replicas set to {peak} but at most {ready_peak} became Ready ({bound} bound)");
        return c;
    }
    c.passed = true;
    c.observed = Some(Observation::new(
        first.at,
        format!(
            "{} -> {} replicas ({} = {:.2} per replica, target {})",
            first.current, first.applied, hpa.metric, first.value, hpa.target
        ),
    ));
    c.detail = format!(
        "{} increase(s), each as the HPA formula gives, peak {peak} replicas ({ready_peak} Ready, every replica pod on a {acc:?} node)",
        ups.len()
    );
    c
}

fn scale_down(r: &PlatformRun, hpa: &PodAutoscaler, seed: u64) -> CaseResult {
    let checks = "load stops while the metric is high: replicas decrease only after the 300 s stabilisation window";
    let drop = SimTime::from_secs(300);
    let earliest = drop + K8S_WINDOW;
    let log = event_log(r);
    let mut c = CaseResult::new(
        "scale-down-after-window",
        checks,
        hpa.max_replicas,
        seed,
        false,
        String::new(),
    )
    .with_log(log);
    let ups = rescales(r);
    let peak = ups.iter().map(|&(_, _, to)| to).max().unwrap_or(0);
    if peak <= hpa.min_replicas {
        c.detail = "replicas never rose, so no decrease can be judged".into();
        return c;
    }
    let first_down = ups.iter().find(|&&(_, from, to)| to < from);
    match first_down {
        None => {
            c.detail = format!(
                "load stopped at {}; replicas never decreased by {}",
                format_secs(drop.as_nanos()),
                format_secs(r.end.as_nanos())
            );
        }
        Some(&(t, from, to)) => {
            c.observed = Some(Observation::new(t, format!("{from} -> {to} replicas")));
            c.passed = t >= earliest;
            c.detail = format!(
                "load stopped at {}; first decrease {from} -> {to} at {} ({} after; the oracle's window is 300 s, the profile's {})",
                format_secs(drop.as_nanos()),
                format_secs(t.as_nanos()),
                format_secs(t.since(drop).as_nanos()),
                format_secs(hpa.scale_down_stabilization.as_nanos())
            );
        }
    }
    c
}

fn no_flapping(r: &PlatformRun, hpa: &PodAutoscaler, seed: u64) -> CaseResult {
    let checks = "a 240 s load pause (shorter than the 300 s window) causes no decrease followed by an increase";
    let log = event_log(r);
    let mut c = CaseResult::new(
        "no-flapping-on-dip",
        checks,
        hpa.max_replicas,
        seed,
        false,
        String::new(),
    )
    .with_log(log);
    let ev = rescales(r);
    let down = ev.iter().position(|&(_, f, t)| t < f);
    let flap = down.and_then(|i| {
        ev[i..]
            .iter()
            .find(|&&(_, f, t)| t > f)
            .map(|u| (ev[i], *u))
    });
    match flap {
        Some(((td, f1, t1), (tu, f2, t2))) => {
            c.observed = Some(Observation::new(
                td,
                format!("{f1} -> {t1} replicas during the pause"),
            ));
            c.detail = format!(
                "load paused 300 s - 540 s: replicas fell {f1} -> {t1} at {} and rose again {f2} -> {t2} at {} (flapping)",
                format_secs(td.as_nanos()),
                format_secs(tu.as_nanos())
            );
        }
        None => {
            let peak = ev.iter().map(|&(_, _, t)| t).max().unwrap_or(0);
            c.passed = peak > hpa.min_replicas;
            c.observed = ev
                .first()
                .map(|&(t, f, to)| Observation::new(t, format!("{f} -> {to} replicas")));
            c.detail = if c.passed {
                format!(
                    "load paused 300 s - 540 s: no decrease followed by an increase (peak {peak} replicas)"
                )
            } else {
                "replicas never rose, so flapping cannot be judged".into()
            };
        }
    }
    c
}
