//! Behaviours of the platform model (`models::platform`), with timings derived by hand.

use models::platform::{
    Arrivals, BackendRef, BatchPodConfig, ClusterAutoscalerConfig, DeviceField, ExporterConfig,
    GatewayConfig, HeaderMatch, HeaderShare, HpaConfig, HpaMetric, InferenceServiceConfig,
    LoadStep, NodePoolConfig, PlatformConfig, PlatformEvent, RouteConfig, ServiceDistribution,
    TrafficConfig, run,
};
use sim_core::{SimDuration, SimTime};

fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

fn pool(name: &str, acc: &str, gpus: u32, min: u32, max: u32, delay_s: u64) -> NodePoolConfig {
    NodePoolConfig {
        name: name.into(),
        accelerator: acc.into(),
        gpus_per_node: gpus,
        min,
        max,
        initial: None,
        provisioning_delay: SimDuration::from_secs(delay_s),
    }
}

fn batch(name: &str, acc: &str, delete_at: Option<u64>) -> BatchPodConfig {
    BatchPodConfig {
        name: name.into(),
        submit: SimTime::ZERO,
        gpus: 1,
        accelerator: acc.into(),
        duration: None,
        delete_at: delete_at.map(secs),
    }
}

/// Times (s) of the events whose text contains `needle`.
fn times(run: &models::platform::PlatformRun, needle: &str) -> Vec<u64> {
    run.events_containing(needle)
        .map(|(t, _)| t.as_nanos() / 1_000_000_000)
        .collect()
}

/// KAR-0055 on a pool min 2 max 3, 1 GPU per node, 3 m provisioning, default CA timings.
fn kar_config(delete_at: u64, unneeded: SimDuration) -> PlatformConfig {
    PlatformConfig {
        pools: vec![pool("gpu", "nvidia-h100", 1, 2, 3, 180)],
        cluster_autoscaler: Some(ClusterAutoscalerConfig {
            scale_down_unneeded_time: unneeded,
            ..Default::default()
        }),
        batch_pods: (0..3)
            .map(|i| batch(&format!("p{i}"), "nvidia-h100", Some(delete_at)))
            .collect(),
        ..Default::default()
    }
}

#[test]
fn cluster_autoscaler_scales_up_and_back_down() {
    // Pods deleted at T = 305 s. Timeline:
    //  t=0     p0, p1 bound on gpu-0000, gpu-0001; p2 fails Filter (Unschedulable).
    //  t=10s   first scan (scans at k × 10 s, k ≥ 1): scale-up 2 → 3.
    //  t=190s  gpu-0002 Ready (10 s + 3 m); p2 bound to it in the same instant.
    //  t=305s  pods deleted; first scan after that, t=310 s, marks all three nodes
    //          unneeded. Removal at the first scan at or after
    //          max(310 + 600, 10 + 600) = 910 s (15m10s): one node (the newest),
    //          never below min 2.
    let cfg = kar_config(305, SimDuration::from_secs(600));
    let r = run(&cfg, 1, secs(1800)).expect("runs");
    assert_eq!(times(&r, "pod p0 bound"), vec![0]);
    assert_eq!(times(&r, "pod p1 bound"), vec![0]);
    assert_eq!(times(&r, "pod p2 Pending: unschedulable"), vec![0]);
    assert_eq!(times(&r, "scale-up of gpu from 2 to 3"), vec![10]);
    assert_eq!(times(&r, "node gpu-0002 (gpu) Ready"), vec![190]);
    assert_eq!(times(&r, "pod p2 bound to node gpu-0002"), vec![190]);
    assert_eq!(times(&r, "removed"), vec![910]);
    assert!(r.events.iter().any(|(_, e)| matches!(e,
            PlatformEvent::NodeRemoved { node, unneeded_for, .. }
                if node == "gpu-0002" && *unneeded_for == SimDuration::from_secs(600))));
    assert_eq!(
        r.nodes["gpu"],
        vec![(secs(0), 2), (secs(190), 3), (secs(910), 2)]
    );
    // Only one scale-up: the pending p2 was covered by the provisioning node at the
    // scans of 20 s … 180 s (not counted twice).
    assert_eq!(times(&r, "scale-up of").len(), 1);
    assert!(times(&r, "did not trigger").is_empty());
}

#[test]
fn scale_down_waits_for_the_delay_after_add() {
    // Unneeded time 1 m, pods deleted at T = 200 s (after gpu-0002 is Ready at 190 s):
    // the scan at 200 s marks the nodes unneeded, 260 s would be enough for the
    // unneeded time, but scale-down-delay-after-add holds it until 10 s + 600 s = 610 s.
    let cfg = kar_config(200, SimDuration::from_secs(60));
    let r = run(&cfg, 1, secs(1200)).expect("runs");
    assert_eq!(times(&r, "removed"), vec![610]);
    assert_eq!(r.nodes_at("gpu", secs(609)), Some(3));
    assert_eq!(r.nodes_at("gpu", secs(610)), Some(2));
}

#[test]
fn wrong_accelerator_pool_never_scales() {
    // The pool carries nvidia-a100; the pod selects nvidia-h100: the first scan (10 s)
    // reports that no node group fits and the pod stays Pending.
    let cfg = PlatformConfig {
        pools: vec![pool("a100", "nvidia-a100", 1, 1, 3, 60)],
        cluster_autoscaler: Some(ClusterAutoscalerConfig::default()),
        batch_pods: vec![batch("p", "nvidia-h100", None)],
        ..Default::default()
    };
    let r = run(&cfg, 1, secs(1200)).expect("runs");
    assert!(times(&r, "scale-up of").is_empty());
    assert_eq!(times(&r, "did not trigger scale-up"), vec![10]);
    assert!(r.pods[0].pending);
    assert_eq!(r.nodes["a100"], vec![(secs(0), 1)]);
}

#[test]
fn autoscaler_never_exceeds_max() {
    // 5 one-GPU pods on a pool min 1 max 3: one scale-up 1 → 3 at 10 s, two pods stay
    // Pending, no further scale-up.
    let cfg = PlatformConfig {
        pools: vec![pool("gpu", "nvidia-h100", 1, 1, 3, 30)],
        cluster_autoscaler: Some(ClusterAutoscalerConfig::default()),
        batch_pods: (0..5)
            .map(|i| batch(&format!("p{i}"), "nvidia-h100", None))
            .collect(),
        ..Default::default()
    };
    let r = run(&cfg, 1, secs(600)).expect("runs");
    assert_eq!(times(&r, "scale-up of gpu from 1 to 3"), vec![10]);
    assert_eq!(times(&r, "scale-up of").len(), 1);
    assert_eq!(r.pods.iter().filter(|p| p.pending).count(), 2);
    assert_eq!(r.nodes_at("gpu", secs(600)), Some(3));
}

/// One service, 1 GPU per replica, concurrency 1, deterministic 1 s service, startup 0,
/// 2 requests/s evenly spaced for 60 s, an HPA on queue depth.
fn hpa_config(target: f64, window_s: u64) -> PlatformConfig {
    PlatformConfig {
        pools: vec![pool("gpu", "nvidia-h100", 8, 1, 1, 0)],
        services: vec![InferenceServiceConfig {
            name: "llm".into(),
            accelerator: "nvidia-h100".into(),
            gpus_per_replica: 1,
            replicas: 1,
            startup_delay: SimDuration::ZERO,
            concurrency: 1,
            service_time: SimDuration::from_secs(1),
            service_distribution: ServiceDistribution::Deterministic,
            hpa: Some(HpaConfig {
                metric: HpaMetric::InferenceQueueDepth,
                target,
                tolerance: 0.1,
                sync_period: SimDuration::from_secs(15),
                scale_down_stabilization: SimDuration::from_secs(window_s),
                min_replicas: 1,
                max_replicas: 8,
                custom_metrics_adapter: true,
            }),
            priority: 0,
            on_no_capacity: Default::default(),
        }],
        traffic: vec![TrafficConfig {
            name: "clients".into(),
            load: vec![
                LoadStep {
                    from: SimDuration::ZERO,
                    rps: 2.0,
                },
                LoadStep {
                    from: SimDuration::from_secs(60),
                    rps: 0.0,
                },
            ],
            arrivals: Arrivals::Deterministic,
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
        ..Default::default()
    }
}

#[test]
fn hpa_follows_the_formula() {
    // Arrivals at 0, 0.5, 1, … s; the replica serves one per second from t=0. At the
    // first sync (15 s, before the arrival and completion due at 15 s): 30 arrivals,
    // 14 done, 1 in service, queue 15. Metric 15 per Ready replica; target 4:
    // ceil(1 × 15 / 4) = 4.
    let r = run(&hpa_config(4.0, 300), 1, secs(400)).expect("runs");
    let s = &r.hpa["llm"][0];
    assert_eq!(
        (s.at, s.current, s.value, s.desired, s.applied),
        (secs(15), 1, 15.0, 4, 4)
    );
    assert_eq!(r.replicas_at("llm", secs(15)), Some(4));
    // With 4 replicas the queue (12 at 15 s) drains by 2 per second: empty at 21 s. Every
    // later sync recommends 1, but the stabilisation window keeps the recommendation 4
    // of t=15 s until it leaves the window at 15 + 300 = 315 s.
    assert_eq!(r.hpa["llm"][1].recommendation, 1);
    assert_eq!(r.replicas_at("llm", secs(300)), Some(4));
    assert_eq!(
        r.replicas["llm"],
        vec![(secs(0), 1), (secs(15), 4), (secs(315), 1)]
    );
    // New replicas are bound to accelerator nodes and Ready at 15 s (startup 0).
    assert_eq!(times(&r, "replica llm-3 Ready"), vec![15]);
}

#[test]
fn hpa_tolerance_and_scale_up_limit() {
    // Same load, metric 15 at 15 s. Target 14: ratio 15/14 = 1.071, within 0.1: no
    // change. Target 13: ratio 1.154 → ceil(15/13) = 2.
    let r = run(&hpa_config(14.0, 300), 1, secs(20)).expect("runs");
    assert_eq!(r.replicas["llm"], vec![(secs(0), 1)]);
    assert_eq!(r.hpa["llm"][0].desired, 1);
    let r = run(&hpa_config(13.0, 300), 1, secs(20)).expect("runs");
    assert_eq!(r.replicas_at("llm", secs(15)), Some(2));
    // Target 2: ceil(15/2) = 8, but one sync may add at most max(2 × 1, 1 + 4) = 5.
    let r = run(&hpa_config(2.0, 300), 1, secs(20)).expect("runs");
    assert_eq!(r.hpa["llm"][0].desired, 8);
    assert_eq!(r.replicas_at("llm", secs(15)), Some(5));
}

#[test]
fn hpa_without_window_scales_down_at_once_and_without_adapter_never_scales() {
    // Window 0: the first sync after the queue drained (30 s) scales 4 → 1.
    let r = run(&hpa_config(4.0, 0), 1, secs(100)).expect("runs");
    assert_eq!(r.replicas_at("llm", secs(29)), Some(4));
    assert_eq!(r.replicas_at("llm", secs(30)), Some(1));
    let mut cfg = hpa_config(4.0, 300);
    if let Some(h) = &mut cfg.services[0].hpa {
        h.custom_metrics_adapter = false;
    }
    let r = run(&cfg, 1, secs(100)).expect("runs");
    assert_eq!(r.replicas["llm"], vec![(secs(0), 1)]);
    assert_eq!(times(&r, "FailedGetPodsMetric"), vec![15]);
}

#[test]
fn prometheus_export_exact_text() {
    // One node with one GPU, a 15 s pod from t=0, scrapes at 10 s (busy) and 20 s (idle).
    let cfg = PlatformConfig {
        pools: vec![pool("gpu", "nvidia-h100", 1, 1, 1, 0)],
        batch_pods: vec![BatchPodConfig {
            duration: Some(SimDuration::from_secs(15)),
            ..batch("p", "nvidia-h100", None)
        }],
        metrics: models::platform::MetricsConfig {
            scrape_interval: SimDuration::from_secs(10),
            exporter: Some(ExporterConfig {
                fields: vec![DeviceField::Utilization, DeviceField::MemoryUsed],
                device: Default::default(),
            }),
            service_discovery: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let r = run(&cfg, 1, secs(20)).expect("runs");
    let l = "{Hostname=\"gpu-0000\",gpu=\"0\",modelName=\"nvidia-h100\"}";
    let head_fb = "# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).\n# TYPE DCGM_FI_DEV_FB_USED gauge\n";
    let head_util =
        "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n";
    assert_eq!(
        r.metrics.to_prometheus_latest(),
        format!(
            "{head_fb}DCGM_FI_DEV_FB_USED{l} 0 20000\n{head_util}DCGM_FI_DEV_GPU_UTIL{l} 0 20000\n"
        )
    );
    assert_eq!(
        r.metrics.to_prometheus_history(),
        format!(
            "{head_fb}DCGM_FI_DEV_FB_USED{l} 40960 10000\nDCGM_FI_DEV_FB_USED{l} 0 20000\n\
             {head_util}DCGM_FI_DEV_GPU_UTIL{l} 100 10000\nDCGM_FI_DEV_GPU_UTIL{l} 0 20000\n"
        )
    );
}

/// 10,000 requests (100/s evenly for 100 s) over a route 70/30 to services a and b,
/// which have no replicas (routing only).
fn split_config(gateway: GatewayConfig, headers: Vec<HeaderShare>) -> PlatformConfig {
    let svc = |name: &str| InferenceServiceConfig {
        name: name.into(),
        accelerator: "nvidia-h100".into(),
        gpus_per_replica: 1,
        replicas: 0,
        startup_delay: SimDuration::ZERO,
        concurrency: 1,
        service_time: SimDuration::from_secs(1),
        service_distribution: ServiceDistribution::Exponential,
        hpa: None,
        priority: 0,
        on_no_capacity: Default::default(),
    };
    PlatformConfig {
        services: vec![svc("a"), svc("b")],
        traffic: vec![TrafficConfig {
            name: "clients".into(),
            load: vec![
                LoadStep {
                    from: SimDuration::ZERO,
                    rps: 100.0,
                },
                LoadStep {
                    from: SimDuration::from_secs(100),
                    rps: 0.0,
                },
            ],
            arrivals: Arrivals::Deterministic,
            headers,
            route: RouteConfig {
                header: "x-model".into(),
                matches: vec![HeaderMatch {
                    value: "premium".into(),
                    backend: "b".into(),
                }],
                backends: vec![
                    BackendRef {
                        service: "a".into(),
                        weight: 70,
                    },
                    BackendRef {
                        service: "b".into(),
                        weight: 30,
                    },
                ],
            },
        }],
        gateway: Some(gateway),
        ..Default::default()
    }
}

fn routed(r: &models::platform::PlatformRun, svc: &str) -> u64 {
    r.routed
        .get(&("clients".to_string(), svc.to_string()))
        .copied()
        .unwrap_or(0)
}

#[test]
fn weighted_split_and_header_match() {
    for seed in [1, 2, 3] {
        let r = run(
            &split_config(GatewayConfig::default(), vec![]),
            seed,
            secs(200),
        )
        .expect("runs");
        assert_eq!(r.requests.len(), 10_000);
        let share = routed(&r, "a") as f64 / 10_000.0;
        assert!((share - 0.7).abs() <= 0.02, "seed {seed}: share {share}");
    }
    let off = GatewayConfig {
        weighted_routing: false,
        header_matching: true,
    };
    let r = run(&split_config(off, vec![]), 1, secs(200)).expect("runs");
    assert_eq!((routed(&r, "a"), routed(&r, "b")), (10_000, 0));
    // Half the requests carry x-model: premium; every one of them goes to b.
    let mix = vec![
        HeaderShare {
            value: "premium".into(),
            weight: 1,
        },
        HeaderShare {
            value: "basic".into(),
            weight: 1,
        },
    ];
    let r = run(
        &split_config(GatewayConfig::default(), mix.clone()),
        1,
        secs(200),
    )
    .expect("runs");
    let premium: Vec<_> = r
        .requests
        .iter()
        .filter(|q| q.header.as_deref() == Some("premium"))
        .collect();
    assert!(premium.len() > 4_000);
    assert!(premium.iter().all(|q| q.service == "b"));
    // Without header matching, premium requests follow the weights.
    let nomatch = GatewayConfig {
        weighted_routing: true,
        header_matching: false,
    };
    let r = run(&split_config(nomatch, mix), 1, secs(200)).expect("runs");
    assert!(
        r.requests
            .iter()
            .any(|q| q.header.as_deref() == Some("premium") && q.service == "a")
    );
}

fn poisson_config() -> PlatformConfig {
    let mut cfg = hpa_config(4.0, 300);
    cfg.traffic[0].arrivals = Arrivals::Poisson;
    cfg.services[0].service_distribution = ServiceDistribution::Exponential;
    cfg
}

#[test]
fn same_seed_same_run_other_seed_differs() {
    let a = run(&poisson_config(), 7, secs(400)).expect("runs");
    let b = run(&poisson_config(), 7, secs(400)).expect("runs");
    assert_eq!(a.events, b.events);
    assert_eq!(a.requests, b.requests);
    let c = run(&poisson_config(), 8, secs(400)).expect("runs");
    let arrivals = |r: &models::platform::PlatformRun| {
        r.requests.iter().map(|q| q.arrival).collect::<Vec<_>>()
    };
    assert_ne!(arrivals(&a), arrivals(&c));
}

#[test]
fn invalid_configs_are_rejected() {
    let mut cfg = kar_config(100, SimDuration::from_secs(600));
    cfg.pools[0].max = 1;
    let e = run(&cfg, 1, secs(10)).expect_err("max < min");
    assert!(e.to_string().contains("pools[0].max"), "{e}");
    let mut cfg = split_config(GatewayConfig::default(), vec![]);
    cfg.traffic[0].route.backends[0].service = "nope".into();
    let e = run(&cfg, 1, secs(10)).expect_err("unknown backend");
    assert!(e.to_string().contains("unknown service"), "{e}");
}

#[test]
fn documented_yaml_example_parses_and_runs() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/platform.md"))
        .expect("docs/platform.md");
    let start = doc.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = start + doc[start..].find("```").expect("closed");
    let cfg: PlatformConfig = serde_saphyr::from_str(&doc[start..end]).expect("example parses");
    assert_eq!(cfg.services.len(), 2);
    let r = run(&cfg, 1, secs(1500)).expect("example runs");
    // Every premium request is matched to the canary.
    assert!(
        r.requests
            .iter()
            .filter(|q| q.header.as_deref() == Some("premium"))
            .all(|q| q.service == "llm-canary")
    );
    assert!(r.completed() > 1000);
    assert!(r.metrics.by_name("DCGM_FI_DEV_GPU_UTIL").next().is_some());
}

#[test]
fn hpa_replicas_trigger_the_cluster_autoscaler() {
    // One 1-GPU node (pool min 1, max 3, 60 s provisioning) and the HPA case above with
    // max_replicas 3. At 15 s the HPA wants ceil(15 / 4) = 4, clamped to 3: two new
    // replica pods fail Filter in that instant's scheduling cycle. The first scan after
    // that, 20 s, grows the pool 1 → 3; the nodes are Ready at 80 s and the two replicas
    // are bound (and Ready, start-up 0) then.
    let mut cfg = hpa_config(4.0, 300);
    cfg.pools = vec![pool("gpu", "nvidia-h100", 1, 1, 3, 60)];
    cfg.cluster_autoscaler = Some(ClusterAutoscalerConfig::default());
    if let Some(h) = &mut cfg.services[0].hpa {
        h.max_replicas = 3;
    }
    let r = run(&cfg, 1, secs(100)).expect("runs");
    assert_eq!(r.replicas_at("llm", secs(15)), Some(3));
    assert_eq!(times(&r, "pod llm-1 Pending: unschedulable"), vec![15]);
    assert_eq!(times(&r, "scale-up of gpu from 1 to 3"), vec![20]);
    assert_eq!(times(&r, "(gpu) Ready"), vec![80, 80]);
    assert_eq!(times(&r, "pod llm-2 bound"), vec![80]);
    assert_eq!(r.ready_replicas["llm"], vec![(secs(0), 1), (secs(80), 3)]);
    assert!(
        r.pods
            .iter()
            .filter(|p| p.owner.as_deref() == Some("llm"))
            .all(|p| p.node_accelerator.as_deref() == Some("nvidia-h100"))
    );
}

#[test]
fn service_metrics_only_with_discovery_and_histogram_counts() {
    // One replica, deterministic 1 s service, a request every 2 s from 0 to 8 s: 5
    // requests, none queued, each exactly 1 s. Scrape at 15 s.
    let mut cfg = hpa_config(4.0, 300);
    cfg.services[0].hpa = None;
    cfg.traffic[0].load = vec![
        LoadStep {
            from: SimDuration::ZERO,
            rps: 0.5,
        },
        LoadStep {
            from: SimDuration::from_secs(10),
            rps: 0.0,
        },
    ];
    let r = run(&cfg, 1, secs(15)).expect("runs");
    assert!(r.metrics.series().is_empty(), "no discovery, no series");
    cfg.metrics.service_discovery = true;
    let r = run(&cfg, 1, secs(15)).expect("runs");
    let text = r.metrics.to_prometheus_latest();
    for line in [
        "# TYPE inference_request_duration_seconds histogram",
        "inference_request_duration_seconds_bucket{le=\"0.5\",service=\"llm\"} 0 15000",
        "inference_request_duration_seconds_bucket{le=\"1\",service=\"llm\"} 5 15000",
        "inference_request_duration_seconds_bucket{le=\"+Inf\",service=\"llm\"} 5 15000",
        "inference_request_duration_seconds_sum{service=\"llm\"} 5 15000",
        "inference_request_duration_seconds_count{service=\"llm\"} 5 15000",
        "inference_requests_total{service=\"llm\"} 5 15000",
        "inference_request_queue_seconds_sum{service=\"llm\"} 0 15000",
        "inference_queue_depth{service=\"llm\"} 0 15000",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Buckets come in increasing `le` order, before the sum and count.
    let pos = |s: &str| text.find(s).expect("present");
    assert!(pos("le=\"2.5\"") < pos("le=\"10\"") && pos("le=\"+Inf\"") < pos("_sum{"));
}

#[test]
fn service_state_is_sampled_at_every_scrape() {
    // The HPA case: at the 15 s scrape (after that instant's events: 31 arrivals, 15
    // served, the HPA's 4 replicas Ready and busy) the queue holds 31 - 15 - 4 = 12.
    let r = run(&hpa_config(4.0, 300), 1, secs(30)).expect("runs");
    let s = r.services["llm"][0];
    assert_eq!(
        (s.at, s.queue_depth, s.in_flight, s.completed, s.ready),
        (secs(15), 12, 4, 15, 4)
    );
}

#[test]
fn hpa_on_in_flight_requests() {
    // Same load; metric inference_requests_in_flight, target 0.5. At 15 s the single
    // replica serves 1 request: ratio 1 / 0.5 = 2 → ceil(1 / 0.5) = 2 replicas.
    let mut cfg = hpa_config(0.5, 300);
    if let Some(h) = &mut cfg.services[0].hpa {
        h.metric = HpaMetric::InferenceRequestsInFlight;
    }
    let r = run(&cfg, 1, secs(20)).expect("runs");
    let s = &r.hpa["llm"][0];
    assert_eq!((s.value, s.desired, s.applied), (1.0, 2, 2));
    assert_eq!(r.replicas_at("llm", secs(15)), Some(2));
    assert_eq!(
        HpaMetric::from_name("inference_requests_in_flight"),
        Some(HpaMetric::InferenceRequestsInFlight)
    );
    assert_eq!(HpaMetric::from_name("gpu_util"), None);
}
