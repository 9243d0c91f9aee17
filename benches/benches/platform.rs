//! The platform model (`models::platform`): `platform/autoscaled_inference` runs 20
//! simulated minutes of an inference service on an autoscaled H100 pool (min 2, max 8,
//! 1 GPU per node, 3 m provisioning) with an HPA on queue depth (target 4, 15 s sync,
//! 300 s window), Poisson load stepping 10 → 40 → 5 requests/s (about 24,000 requests),
//! a DCGM-style exporter on every node and service metrics scraped every 15 s.
//!
//! Also checked against the conformance suites' size: the whole of that run must take
//! well under a second in debug builds.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::platform::{
    Arrivals, BackendRef, ClusterAutoscalerConfig, DeviceField, ExporterConfig, HpaConfig,
    HpaMetric, InferenceServiceConfig, LoadStep, MetricsConfig, NodePoolConfig, PlatformConfig,
    RouteConfig, ServiceDistribution, TrafficConfig, run,
};
use sim_core::{SimDuration, SimTime};

fn config() -> PlatformConfig {
    let step = |from: u64, rps: f64| LoadStep {
        from: SimDuration::from_secs(from),
        rps,
    };
    PlatformConfig {
        pools: vec![NodePoolConfig {
            name: "h100".into(),
            accelerator: "nvidia-h100".into(),
            gpus_per_node: 1,
            min: 2,
            max: 8,
            initial: None,
            provisioning_delay: SimDuration::from_secs(180),
        }],
        cluster_autoscaler: Some(ClusterAutoscalerConfig::default()),
        services: vec![InferenceServiceConfig {
            name: "llm".into(),
            accelerator: "nvidia-h100".into(),
            gpus_per_replica: 1,
            replicas: 2,
            startup_delay: SimDuration::from_secs(30),
            concurrency: 8,
            service_time: SimDuration::from_secs(1),
            service_distribution: ServiceDistribution::Exponential,
            hpa: Some(HpaConfig {
                metric: HpaMetric::InferenceQueueDepth,
                target: 4.0,
                tolerance: 0.1,
                sync_period: SimDuration::from_secs(15),
                scale_down_stabilization: SimDuration::from_secs(300),
                min_replicas: 2,
                max_replicas: 8,
                custom_metrics_adapter: true,
            }),
            priority: 0,
            on_no_capacity: Default::default(),
        }],
        traffic: vec![TrafficConfig {
            name: "clients".into(),
            load: vec![step(0, 10.0), step(300, 40.0), step(900, 5.0)],
            arrivals: Arrivals::Poisson,
            headers: vec![],
            route: RouteConfig {
                header: "x-route".into(),
                matches: vec![],
                backends: vec![BackendRef {
                    service: "llm".into(),
                    weight: 1,
                }],
            },
        }],
        gateway: None,
        metrics: MetricsConfig {
            scrape_interval: SimDuration::from_secs(15),
            exporter: Some(ExporterConfig {
                fields: vec![
                    DeviceField::Utilization,
                    DeviceField::MemoryUsed,
                    DeviceField::Power,
                    DeviceField::Temperature,
                ],
                device: Default::default(),
            }),
            service_discovery: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn platform(c: &mut Criterion) {
    let cfg = config();
    let horizon = SimTime::from_secs(1200);
    let requests = run(&cfg, 1, horizon).expect("runs").requests.len() as u64;
    let mut g = c.benchmark_group("platform");
    g.sample_size(10);
    g.throughput(Throughput::Elements(requests));
    g.bench_function("autoscaled_inference", |b| {
        b.iter(|| black_box(run(&cfg, 1, horizon).expect("runs").events_handled))
    });
    g.finish();
}

criterion_group!(benches, platform);
criterion_main!(benches);
