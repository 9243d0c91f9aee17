//! Behaviour suite for `ai_inference`: a Gateway API implementation splits inference
//! traffic by HTTPRoute `backendRefs[].weight` and routes header matches
//! deterministically.
//!
//! Each case: 3,000 requests (100/s, evenly spaced, for 30 s) through one HTTPRoute to
//! backend services, run on `models::platform` (the backends have no replicas: the cases
//! measure routing, not serving). Oracles: `weighted-70-30`, `weighted-90-10` and
//! `weighted-50-30-20` (each backend's share within ±0.1 of its weight share, the
//! tolerance of the Gateway API Inference Extension's conformance test);
//! `header-match` (half the requests carry `x-model: premium`, matched to one backend:
//! 100 % of them reach it, the others still follow the weights).

use models::platform::{
    Arrivals, BackendRef, GatewayConfig, HeaderMatch, HeaderShare, InferenceServiceConfig,
    LoadStep, PlatformConfig, PlatformRun, RouteConfig, ServiceDistribution, TrafficConfig,
};
use sim_core::{SimDuration, SimTime};

use crate::conformance::outcome::{CaseResult, Observation};
use crate::conformance::profile::Profile;

const REQUESTS: u32 = 3_000;
const TOLERANCE: f64 = 0.1;

fn config(
    profile: &Profile,
    weights: &[(&str, u32)],
    headers: Vec<HeaderShare>,
    matches: Vec<HeaderMatch>,
) -> PlatformConfig {
    let acc = &profile.accelerators.accelerator;
    PlatformConfig {
        services: weights
            .iter()
            .map(|(name, _)| InferenceServiceConfig {
                name: name.to_string(),
                accelerator: acc.clone(),
                gpus_per_replica: 1,
                replicas: 0,
                startup_delay: SimDuration::ZERO,
                concurrency: 1,
                service_time: SimDuration::from_secs(1),
                service_distribution: ServiceDistribution::Deterministic,
                hpa: None,
                priority: 0,
                on_no_capacity: Default::default(),
            })
            .collect(),
        traffic: vec![TrafficConfig {
            name: "clients".into(),
            load: vec![
                LoadStep {
                    from: SimDuration::ZERO,
                    rps: 100.0,
                },
                LoadStep {
                    from: SimDuration::from_secs(u64::from(REQUESTS / 100)),
                    rps: 0.0,
                },
            ],
            arrivals: Arrivals::Deterministic,
            headers,
            route: RouteConfig {
                header: "x-model".into(),
                matches,
                backends: weights
                    .iter()
                    .map(|(name, w)| BackendRef {
                        service: name.to_string(),
                        weight: *w,
                    })
                    .collect(),
            },
        }],
        gateway: profile.gateway.as_ref().map(|g| GatewayConfig {
            weighted_routing: g.weighted_routing,
            header_matching: g.header_matching,
        }),
        ..Default::default()
    }
}

fn routed(r: &PlatformRun, svc: &str) -> u64 {
    r.routed
        .get(&("clients".to_string(), svc.to_string()))
        .copied()
        .unwrap_or(0)
}

/// Run every case of the suite.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    let mut out = Vec::new();
    if profile.gateway.is_none() {
        let mut c = weighted(
            profile,
            seed,
            "weighted-70-30",
            &[("model-a", 70), ("model-b", 30)],
        );
        c.detail = format!(
            "no Gateway API implementation: HTTPRoutes are not served; {}",
            c.detail
        );
        c.passed = false;
        return vec![c];
    }
    out.push(weighted(
        profile,
        seed,
        "weighted-70-30",
        &[("model-a", 70), ("model-b", 30)],
    ));
    out.push(weighted(
        profile,
        seed,
        "weighted-90-10",
        &[("model-a", 90), ("model-b", 10)],
    ));
    out.push(weighted(
        profile,
        seed,
        "weighted-50-30-20",
        &[("model-a", 50), ("model-b", 30), ("model-c", 20)],
    ));
    out.push(header_match(profile, seed));
    out
}

fn weighted(profile: &Profile, seed: u64, case: &str, weights: &[(&str, u32)]) -> CaseResult {
    let checks = format!(
        "an HTTPRoute split {} over {REQUESTS} requests lands within ±{TOLERANCE} of each weight",
        weights
            .iter()
            .map(|(_, w)| w.to_string())
            .collect::<Vec<_>>()
            .join("/")
    );
    let cfg = config(profile, weights, vec![], vec![]);
    let r = match models::platform::run(&cfg, seed, SimTime::from_secs(60)) {
        Ok(r) => r,
        Err(e) => return CaseResult::new(case, &checks, REQUESTS, seed, false, e.to_string()),
    };
    let total: u32 = weights.iter().map(|(_, w)| *w).sum();
    let n = r.requests.len() as f64;
    let mut worst = (0.0f64, "", 0.0, 0.0);
    let mut shares = Vec::new();
    for (name, w) in weights {
        let got = routed(&r, name) as f64 / n;
        let want = f64::from(*w) / f64::from(total);
        shares.push(format!("{name} {got:.3} (weight {want:.2})"));
        if (got - want).abs() >= worst.0 {
            worst = ((got - want).abs(), name, got, want);
        }
    }
    // Every backend with a weight must see traffic at all (a 90/10 split sent wholly to
    // the first backend is within 0.1 but ignores the weights).
    let starved = weights
        .iter()
        .find(|(name, w)| *w > 0 && routed(&r, name) == 0);
    let passed = worst.0 <= TOLERANCE && starved.is_none() && r.requests.len() as u32 == REQUESTS;
    let mut c = CaseResult::new(
        case,
        &checks,
        REQUESTS,
        seed,
        passed,
        format!(
            "{} requests: {}{}",
            r.requests.len(),
            shares.join(", "),
            starved.map_or(String::new(), |(name, _)| format!(
                "; {name} received nothing"
            ))
        ),
    );
    c.observed = r.requests.last().map(|q| {
        Observation::new(
            q.arrival,
            format!(
                "after the last request: {} share {:.3} (weight {:.2})",
                worst.1, worst.2, worst.3
            ),
        )
    });
    c
}

fn header_match(profile: &Profile, seed: u64) -> CaseResult {
    let checks = "requests with x-model: premium all reach the matched backend; the rest follow the 70/30 weights";
    let mix = vec![
        HeaderShare {
            value: "premium".into(),
            weight: 1,
        },
        HeaderShare {
            value: "standard".into(),
            weight: 1,
        },
    ];
    let matches = vec![HeaderMatch {
        value: "premium".into(),
        backend: "model-premium".into(),
    }];
    let weights = [("model-a", 70), ("model-premium", 30)];
    let cfg = config(profile, &weights, mix, matches);
    let r = match models::platform::run(&cfg, seed, SimTime::from_secs(60)) {
        Ok(r) => r,
        Err(e) => {
            return CaseResult::new("header-match", checks, REQUESTS, seed, false, e.to_string());
        }
    };
    let premium: Vec<_> = r
        .requests
        .iter()
        .filter(|q| q.header.as_deref() == Some("premium"))
        .collect();
    let misrouted = premium.iter().find(|q| q.service != "model-premium");
    let ok = premium
        .iter()
        .filter(|q| q.service == "model-premium")
        .count();
    let standard: Vec<_> = r
        .requests
        .iter()
        .filter(|q| q.header.as_deref() != Some("premium"))
        .collect();
    let std_a = standard.iter().filter(|q| q.service == "model-a").count() as f64
        / standard.len().max(1) as f64;
    let passed = misrouted.is_none() && !premium.is_empty() && (std_a - 0.7).abs() <= TOLERANCE;
    let mut c = CaseResult::new(
        "header-match",
        checks,
        REQUESTS,
        seed,
        passed,
        format!(
            "{ok} of {} premium requests reached model-premium; {:.3} of the {} others went to model-a (weight 0.70)",
            premium.len(),
            std_a,
            standard.len()
        ),
    );
    c.observed = match misrouted {
        Some(q) => Some(Observation::new(
            q.arrival,
            format!("premium request routed to {}", q.service),
        )),
        None => premium.last().map(|q| {
            Observation::new(
                q.arrival,
                format!("premium request routed to {}", q.service),
            )
        }),
    };
    c
}
