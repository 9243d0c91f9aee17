//! Behaviour suite for `ai_service_metrics` (KAR-0061): the monitoring system discovers
//! an AI service's `/metrics` and collects request count, latency and queue depth that
//! reflect the injected traffic, in the Prometheus text format.
//!
//! The case: an inference service of 2 replicas (1 accelerator each, concurrency 1,
//! exponential service of mean 1 s) on the profile's accelerator nodes, run on
//! `models::platform`. Poisson load at 0.3 × capacity for 0 – 120 s, 1.2 × capacity for
//! 120 – 240 s, then none; the run lasts until the queue has long drained (900 s).
//! Oracles: `request-count` (the scraped `inference_requests_total` and latency count
//! equal the requests served, and every request was served), `latency-under-load` (the
//! mean latency from the scraped sum/count rises in the loaded phase and the queue-depth
//! series shows the queue; the scraped latency sum equals the requests' latencies),
//! `prometheus-export` (the exposition parses back with the `service` label).

use models::platform::{
    Arrivals, BackendRef, InferenceServiceConfig, LoadStep, MetricsConfig, NodePoolConfig,
    PlatformConfig, PlatformRun, RouteConfig, SeriesKey, ServiceDistribution, TrafficConfig,
    parse_exposition,
};
use sim_core::{SimDuration, SimTime};

use crate::conformance::outcome::{CaseResult, Observation, format_secs};
use crate::conformance::profile::Profile;

const SERVICE: &str = "llm-server";

fn config(profile: &Profile) -> PlatformConfig {
    let a = &profile.accelerators;
    let step = |from: u64, rps: f64| LoadStep {
        from: SimDuration::from_secs(from),
        rps,
    };
    PlatformConfig {
        pools: vec![NodePoolConfig {
            name: "accel".into(),
            accelerator: a.accelerator.clone(),
            gpus_per_node: a.gpus_per_node,
            min: 1,
            max: 1,
            initial: None,
            provisioning_delay: SimDuration::ZERO,
        }],
        services: vec![InferenceServiceConfig {
            name: SERVICE.into(),
            accelerator: a.accelerator.clone(),
            gpus_per_replica: 1,
            replicas: 2.min(a.gpus_per_node),
            startup_delay: SimDuration::ZERO,
            concurrency: 1,
            service_time: SimDuration::from_secs(1),
            service_distribution: ServiceDistribution::Exponential,
            hpa: None,
            priority: 0,
            on_no_capacity: Default::default(),
        }],
        traffic: vec![TrafficConfig {
            name: "clients".into(),
            load: vec![step(0, 0.6), step(120, 2.4), step(240, 0.0)],
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
        metrics: MetricsConfig {
            scrape_interval: profile
                .metrics
                .scrape_interval
                .unwrap_or(SimDuration::from_secs(15)),
            exporter: None,
            service_discovery: profile.metrics.service_discovery,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn series<'a>(r: &'a PlatformRun, name: &str) -> Option<&'a [(SimTime, f64)]> {
    r.metrics
        .get(&SeriesKey::new(name, &[("service", SERVICE)]))
        .filter(|s| !s.is_empty())
}

/// Run every case of the suite.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    let cfg = config(profile);
    let r = match models::platform::run(&cfg, seed, SimTime::from_secs(900)) {
        Ok(r) => r,
        Err(e) => {
            return vec![CaseResult::new(
                "request-count",
                "request count and latency of a discovered service are collected",
                2,
                seed,
                false,
                e.to_string(),
            )];
        }
    };
    let n = r.requests.len() as u32;
    if !profile.metrics.service_discovery {
        let mut c = CaseResult::new(
            "request-count",
            "request count and latency of a discovered service are collected",
            n,
            seed,
            false,
            format!(
                "service discovery is off: {} requests were served but the monitoring system collected no inference_* series",
                r.completed()
            ),
        );
        c.observed = r
            .requests
            .iter()
            .find_map(|q| q.end)
            .map(|t| Observation::new(t, "first request served, never scraped"));
        return vec![c];
    }
    vec![
        count(&r, n, seed),
        latency(&r, n, seed),
        export(&r, n, seed),
    ]
}

fn count(r: &PlatformRun, n: u32, seed: u64) -> CaseResult {
    let checks = "the scraped request count equals the requests served";
    let served = r.completed();
    let total = series(r, "inference_requests_total").and_then(|s| s.last().copied());
    let count =
        series(r, "inference_request_duration_seconds_count").and_then(|s| s.last().copied());
    let inf = r
        .metrics
        .get(&SeriesKey::new(
            "inference_request_duration_seconds_bucket",
            &[("service", SERVICE), ("le", "+Inf")],
        ))
        .and_then(|s| s.last().copied());
    let passed = total.is_some_and(|(_, v)| v == served as f64)
        && count.is_some_and(|(_, v)| v == served as f64)
        && inf.is_none_or(|(_, v)| v == served as f64)
        && served == r.requests.len();
    let mut c = CaseResult::new(
        "request-count",
        checks,
        n,
        seed,
        passed,
        format!(
            "{} requests sent, {served} served; last scrape: inference_requests_total = {}, latency count = {}, +Inf bucket = {}",
            r.requests.len(),
            total.map_or("absent".into(), |(_, v)| v.to_string()),
            count.map_or("absent".into(), |(_, v)| v.to_string()),
            inf.map_or("absent".into(), |(_, v)| v.to_string())
        ),
    );
    c.observed = total.map(|(t, v)| {
        Observation::new(
            t,
            format!("inference_requests_total{{service=\"{SERVICE}\"}} = {v}"),
        )
    });
    c
}

fn latency(r: &PlatformRun, n: u32, seed: u64) -> CaseResult {
    let checks =
        "the scraped latency reflects queueing under load (mean latency rises, queue depth > 0)";
    let mut c = CaseResult::new("latency-under-load", checks, n, seed, false, String::new());
    let (Some(sum), Some(cnt), Some(depth)) = (
        series(r, "inference_request_duration_seconds_sum"),
        series(r, "inference_request_duration_seconds_count"),
        series(r, "inference_queue_depth"),
    ) else {
        c.detail = "latency or queue-depth series missing".into();
        return c;
    };
    // Mean latency of the requests finished in a window, from counter deltas.
    let at = |s: &[(SimTime, f64)], t: SimTime| {
        s.iter()
            .rev()
            .find(|(x, _)| *x <= t)
            .map_or(0.0, |&(_, v)| v)
    };
    let mean = |a: u64, b: u64| {
        let (ta, tb) = (SimTime::from_secs(a), SimTime::from_secs(b));
        let dn = at(cnt, tb) - at(cnt, ta);
        if dn > 0.0 {
            (at(sum, tb) - at(sum, ta)) / dn
        } else {
            0.0
        }
    };
    let (low, high) = (mean(0, 120), mean(120, 300));
    let max_depth = depth
        .iter()
        .cloned()
        .fold((SimTime::ZERO, 0.0), |m, x| if x.1 > m.1 { x } else { m });
    let truth: f64 = r
        .requests
        .iter()
        .filter_map(|q| q.latency())
        .map(|d| d.as_secs_f64())
        .sum();
    let last_sum = sum.last().map_or(0.0, |&(_, v)| v);
    let sum_ok = (last_sum - truth).abs() <= 1e-6 * truth.max(1.0);
    c.passed = high > low && max_depth.1 > 0.0 && sum_ok;
    c.observed = Some(Observation::new(
        max_depth.0,
        format!("inference_queue_depth = {}", max_depth.1),
    ));
    c.detail = format!(
        "mean latency {low:.2} s at 0.3 x capacity, {high:.2} s at 1.2 x; queue depth peaked at {} at {}; scraped latency sum {last_sum:.3} s vs {truth:.3} s from the requests",
        max_depth.1,
        format_secs(max_depth.0.as_nanos())
    );
    c
}

fn export(r: &PlatformRun, n: u32, seed: u64) -> CaseResult {
    let checks = "the service's series are exposed in Prometheus text format";
    let mut c = CaseResult::new("prometheus-export", checks, n, seed, false, String::new());
    let text = r.metrics.to_prometheus_latest();
    match parse_exposition(&text) {
        Err(e) => c.detail = format!("the exposition does not parse: {e}"),
        Ok(p) => {
            let need = [
                "inference_requests_total",
                "inference_request_duration_seconds_sum",
                "inference_request_duration_seconds_count",
                "inference_queue_depth",
            ];
            let missing: Vec<&str> = need
                .into_iter()
                .filter(|m| {
                    !p.samples
                        .iter()
                        .any(|s| s.key.name == *m && s.key.label("service") == Some(SERVICE))
                })
                .collect();
            c.passed = missing.is_empty();
            c.detail = if c.passed {
                format!(
                    "{} samples parsed back, request count, latency sum/count and queue depth labelled service=\"{SERVICE}\"",
                    p.samples.len()
                )
            } else {
                format!("missing from the exposition: {}", missing.join(", "))
            };
            c.observed = p
                .samples
                .iter()
                .find(|s| s.key.name == "inference_requests_total")
                .map(|s| {
                    Observation::new(
                        SimTime::ZERO
                            + SimDuration::from_millis(s.timestamp_ms.unwrap_or(0).max(0) as u64),
                        format!("inference_requests_total = {}", s.value),
                    )
                });
        }
    }
    c
}
