//! Behaviour suite for `accelerator_metrics` (KAR-0059): a per-device exporter publishes
//! utilisation and memory used for every accelerator, machine-readable (Prometheus
//! text), and utilisation follows the load.
//!
//! The case node: one node of the profile's accelerator type and accelerators per node,
//! run on `models::platform`; a pod holding every accelerator of the node runs from 60 s
//! to 180 s; scrapes every `metrics.scrape_interval` (15 s if unset) until 300 s.
//! Oracles: `per-device-series` (DCGM_FI_DEV_GPU_UTIL and DCGM_FI_DEV_FB_USED series
//! for every device; power and temperature are optional and only reported),
//! `utilisation-follows-load` (utilisation higher while the workload runs than idle,
//! memory used non-zero only while it runs), `prometheus-export` (the exposition parses
//! back with the metric names, TYPE lines and `gpu`/`Hostname` labels of every device).

use models::platform::{
    BatchPodConfig, ExporterConfig, MetricsConfig, NodePoolConfig, PlatformConfig, PlatformRun,
    SeriesKey, parse_exposition,
};
use sim_core::{SimDuration, SimTime};

use super::cluster_autoscaling::event_log;
use crate::conformance::outcome::{CaseResult, Observation, format_secs};
use crate::conformance::profile::Profile;

const UTIL: &str = "DCGM_FI_DEV_GPU_UTIL";
const FB: &str = "DCGM_FI_DEV_FB_USED";
/// The pool's first node (the main model names pool nodes `<pool>-0000`, …).
const NODE: &str = "accel-0000";

/// Run every case of the suite.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    let a = &profile.accelerators;
    let size = a.gpus_per_node;
    let Some(ex) = &profile.metrics.accelerator_exporter else {
        return vec![CaseResult::new(
            "per-device-series",
            "per-accelerator utilisation and memory series are exported",
            size,
            seed,
            false,
            "no accelerator exporter: no per-device utilisation or memory series exist",
        )];
    };
    let cfg = PlatformConfig {
        pools: vec![NodePoolConfig {
            name: "accel".into(),
            accelerator: a.accelerator.clone(),
            gpus_per_node: a.gpus_per_node,
            min: 1,
            max: 1,
            initial: None,
            provisioning_delay: SimDuration::ZERO,
        }],
        batch_pods: vec![BatchPodConfig {
            name: "gpu-burn".into(),
            submit: SimTime::from_secs(60),
            gpus: a.gpus_per_node,
            accelerator: a.accelerator.clone(),
            duration: Some(SimDuration::from_secs(120)),
            delete_at: None,
        }],
        metrics: MetricsConfig {
            scrape_interval: profile
                .metrics
                .scrape_interval
                .unwrap_or(SimDuration::from_secs(15)),
            exporter: Some(ExporterConfig {
                fields: ex.fields.clone(),
                device: Default::default(),
            }),
            service_discovery: profile.metrics.service_discovery,
            ..Default::default()
        },
        ..Default::default()
    };
    let r = match models::platform::run(&cfg, seed, SimTime::from_secs(300)) {
        Ok(r) => r,
        Err(e) => {
            return vec![CaseResult::new(
                "per-device-series",
                "per-accelerator utilisation and memory series are exported",
                size,
                seed,
                false,
                e.to_string(),
            )];
        }
    };
    vec![
        per_device(&r, size, seed),
        follows_load(&r, size, seed),
        export(&r, size, seed),
    ]
}

fn device_series<'a>(r: &'a PlatformRun, name: &str, gpu: u32) -> Option<&'a [(SimTime, f64)]> {
    r.metrics
        .get(&SeriesKey::new(
            name,
            &[
                ("gpu", &gpu.to_string()),
                ("Hostname", NODE),
                (
                    "modelName",
                    r.pods.first().map_or("", |p| p.accelerator.as_str()),
                ),
            ],
        ))
        .filter(|s| !s.is_empty())
}

fn per_device(r: &PlatformRun, size: u32, seed: u64) -> CaseResult {
    let checks = "per-accelerator utilisation and memory-used series exist for every device";
    let missing: Vec<&str> = [UTIL, FB]
        .into_iter()
        .filter(|n| (0..size).any(|g| device_series(r, n, g).is_none()))
        .collect();
    let extras: Vec<&str> = ["DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP"]
        .into_iter()
        .filter(|n| r.metrics.by_name(n).next().is_some())
        .collect();
    let passed = missing.is_empty();
    let mut c = CaseResult::new(
        "per-device-series",
        checks,
        size,
        seed,
        passed,
        if passed {
            format!(
                "{UTIL} and {FB} for all {size} devices of {NODE}; optional extras: {}",
                if extras.is_empty() {
                    "none".to_string()
                } else {
                    extras.join(", ")
                }
            )
        } else {
            format!(
                "missing required per-device series: {} (exported: {})",
                missing.join(", "),
                r.metrics
                    .series()
                    .keys()
                    .map(|k| k.name.as_str())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );
    c.observed = device_series(r, UTIL, 0)
        .or_else(|| device_series(r, FB, 0))
        .and_then(|s| s.first())
        .map(|&(t, v)| Observation::new(t, format!("first device sample on {NODE} gpu 0: {v}")));
    c
}

fn follows_load(r: &PlatformRun, size: u32, seed: u64) -> CaseResult {
    let checks = "utilisation rises while a GPU workload runs (60 s - 180 s) compared with idle";
    let mut c = CaseResult::new(
        "utilisation-follows-load",
        checks,
        size,
        seed,
        false,
        String::new(),
    )
    .with_log(event_log(r));
    let Some(util) = device_series(r, UTIL, 0) else {
        c.detail = format!("no {UTIL} series: utilisation cannot be observed");
        return c;
    };
    // A scrape sees the instant after scheduling: busy from 60 s (bound) until 180 s (done).
    let busy = |t: SimTime| t >= SimTime::from_secs(60) && t < SimTime::from_secs(180);
    let mean = |f: &dyn Fn(SimTime) -> bool| {
        let v: Vec<f64> = util
            .iter()
            .filter(|(t, _)| f(*t))
            .map(|&(_, v)| v)
            .collect();
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let (b, i) = (mean(&busy), mean(&|t| !busy(t)));
    let fb_ok = device_series(r, FB, 0).is_none_or(|fb| {
        fb.iter()
            .all(|&(t, v)| if busy(t) { v > 0.0 } else { v == 0.0 })
    });
    c.passed = b > i && fb_ok;
    c.observed = util
        .iter()
        .find(|&&(_, v)| v > i)
        .map(|&(t, v)| Observation::new(t, format!("{UTIL} gpu 0 = {v}")));
    c.detail = format!(
        "mean {UTIL} on gpu 0: {b:.1} while the workload runs, {i:.1} idle; memory used {}",
        if fb_ok {
            "non-zero only while it runs"
        } else {
            "does not follow the workload"
        }
    );
    c
}

fn export(r: &PlatformRun, size: u32, seed: u64) -> CaseResult {
    let checks = "the series are exposed in Prometheus text format with per-device labels";
    let text = r.metrics.to_prometheus_latest();
    let mut c = CaseResult::new(
        "prometheus-export",
        checks,
        size,
        seed,
        false,
        String::new(),
    );
    let parsed = match parse_exposition(&text) {
        Ok(p) => p,
        Err(e) => {
            c.detail = format!("the exposition does not parse: {e}");
            return c;
        }
    };
    let mut problems = Vec::new();
    for name in [UTIL, FB] {
        if parsed.types.get(name).map(String::as_str) != Some("gauge") {
            problems.push(format!("no `# TYPE {name} gauge`"));
        }
        for g in 0..size {
            let found = parsed.samples.iter().any(|s| {
                s.key.name == name
                    && s.key.label("gpu") == Some(g.to_string().as_str())
                    && s.key.label("Hostname") == Some(NODE)
            });
            if !found {
                problems.push(format!("no {name}{{gpu=\"{g}\"}} sample"));
                break;
            }
        }
    }
    c.passed = problems.is_empty();
    let last = parsed
        .samples
        .iter()
        .filter_map(|s| s.timestamp_ms)
        .max()
        .unwrap_or(0);
    c.observed = Some(Observation::new(
        SimTime::from_secs(0) + SimDuration::from_millis(last.max(0) as u64),
        format!("exposition with {} samples", parsed.samples.len()),
    ));
    c.detail = if c.passed {
        format!(
            "{} samples parsed back at {}; {UTIL} and {FB} typed gauge with gpu/Hostname labels for all {size} devices",
            parsed.samples.len(),
            format_secs(last.max(0) as u64 * 1_000_000)
        )
    } else {
        problems.join("; ")
    };
    c
}
