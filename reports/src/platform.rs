//! The files of an `orrery platform` run: `events.csv`, `nodes.csv`, `replicas.csv`,
//! `requests.csv`, `metrics.prom` (latest sample of every series), `metrics-history.prom`
//! (every sample, with timestamps) and `summary.json`. Deterministic: no clock is read.

use std::collections::BTreeMap;
use std::path::Path;

use models::platform::PlatformRun;
use serde_json::json;
use sim_core::SimTime;

use crate::{ReportError, secs};

fn t(at: SimTime) -> String {
    secs(at.as_nanos())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `events.csv`: `time_s,event`.
pub fn events_csv(r: &PlatformRun) -> String {
    let mut s = String::from("time_s,event\n");
    for (at, e) in &r.events {
        s.push_str(&format!("{},{}\n", t(*at), csv_field(&e.to_string())));
    }
    s
}

fn series_csv(header: &str, series: &BTreeMap<String, Vec<(SimTime, u32)>>) -> String {
    let mut s = format!("time_s,{header},value\n");
    for (name, points) in series {
        for (at, v) in points {
            s.push_str(&format!("{},{},{v}\n", t(*at), csv_field(name)));
        }
    }
    s
}

/// `requests.csv`: one row per request.
pub fn requests_csv(r: &PlatformRun) -> String {
    let mut s =
        String::from("traffic,service,header,arrival_s,start_s,end_s,queueing_s,latency_s,pod\n");
    let opt = |x: Option<SimTime>| x.map(t).unwrap_or_default();
    for q in &r.requests {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            csv_field(&q.traffic),
            csv_field(&q.service),
            csv_field(q.header.as_deref().unwrap_or("")),
            t(q.arrival),
            opt(q.start),
            opt(q.end),
            q.queueing().map(|d| secs(d.as_nanos())).unwrap_or_default(),
            q.latency().map(|d| secs(d.as_nanos())).unwrap_or_default(),
            csv_field(q.pod.as_deref().unwrap_or(""))
        ));
    }
    s
}

fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Per service: requests arrived, requests served, latencies and queueing times (ns).
#[derive(Default)]
struct ServiceStats {
    arrived: u64,
    served: u64,
    latency: Vec<u64>,
    queueing: Vec<u64>,
}

/// `summary.json`: per service requests and latency percentiles, peak nodes and replicas.
pub fn summary_json(name: &str, seed: u64, r: &PlatformRun) -> Result<Vec<u8>, ReportError> {
    let mut per: BTreeMap<&str, ServiceStats> = BTreeMap::new();
    for q in &r.requests {
        let e = per.entry(q.service.as_str()).or_default();
        e.arrived += 1;
        if let (Some(l), Some(w)) = (q.latency(), q.queueing()) {
            e.served += 1;
            e.latency.push(l.as_nanos());
            e.queueing.push(w.as_nanos());
        }
    }
    let services: BTreeMap<&str, serde_json::Value> = per
        .into_iter()
        .map(|(svc, st)| {
            let ServiceStats {
                arrived,
                served,
                latency: mut lat,
                queueing: mut wait,
            } = st;
            lat.sort_unstable();
            wait.sort_unstable();
            let p = |v: &[u64], q: f64| percentile(v, q).map(secs);
            (
                svc,
                json!({
                    "requests": arrived,
                    "served": served,
                    "latency_p50_s": p(&lat, 0.5),
                    "latency_p95_s": p(&lat, 0.95),
                    "latency_p99_s": p(&lat, 0.99),
                    "queueing_p50_s": p(&wait, 0.5),
                    "queueing_p95_s": p(&wait, 0.95),
                    "peak_replicas": r.replicas.get(svc).and_then(|v| v.iter().map(|x| x.1).max()),
                }),
            )
        })
        .collect();
    let pools: BTreeMap<&String, Option<u32>> = r
        .nodes
        .iter()
        .map(|(p, v)| (p, v.iter().map(|x| x.1).max()))
        .collect();
    let routed: Vec<serde_json::Value> = r
        .routed
        .iter()
        .map(|((src, svc), n)| json!({"traffic": src, "service": svc, "requests": n}))
        .collect();
    let v = json!({
        "name": name,
        "seed": seed,
        "end_s": t(r.end),
        "events_handled": r.events_handled,
        "services": services,
        "peak_ready_nodes": pools,
        "routed": routed,
        "pods": r.pods.len(),
        "pods_pending_at_end": r.pods.iter().filter(|p| p.pending).count(),
    });
    let mut out = serde_json::to_vec_pretty(&v).map_err(|e| ReportError::Encode {
        what: "summary.json",
        msg: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

/// Write every file of a platform run as the output in `dir` ([`crate::write_all`]).
pub fn write_platform(
    dir: &Path,
    name: &str,
    seed: u64,
    r: &PlatformRun,
) -> Result<Vec<String>, ReportError> {
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("events.csv", events_csv(r).into_bytes()),
        ("nodes.csv", series_csv("pool", &r.nodes).into_bytes()),
        (
            "replicas.csv",
            series_csv("service", &r.replicas).into_bytes(),
        ),
        ("requests.csv", requests_csv(r).into_bytes()),
        (
            "metrics.prom",
            r.metrics.to_prometheus_latest().into_bytes(),
        ),
        (
            "metrics-history.prom",
            r.metrics.to_prometheus_history().into_bytes(),
        ),
        ("summary.json", summary_json(name, seed, r)?),
    ];
    crate::write_all(dir, &files)?;
    Ok(files.iter().map(|(n, _)| n.to_string()).collect())
}

/// The serving files of an `orrery run` with inference services: the platform run's
/// files under a `serving_` prefix (the same writers and formats; no `nodes.csv`, the
/// main model reports nodes itself).
pub fn serving_files(
    name: &str,
    seed: u64,
    r: &PlatformRun,
) -> Result<Vec<(&'static str, Vec<u8>)>, ReportError> {
    Ok(vec![
        ("serving_events.csv", events_csv(r).into_bytes()),
        (
            "serving_replicas.csv",
            series_csv("service", &r.replicas).into_bytes(),
        ),
        ("serving_requests.csv", requests_csv(r).into_bytes()),
        (
            "serving_metrics.prom",
            r.metrics.to_prometheus_latest().into_bytes(),
        ),
        (
            "serving_metrics-history.prom",
            r.metrics.to_prometheus_history().into_bytes(),
        ),
        ("serving_summary.json", summary_json(name, seed, r)?),
    ])
}
