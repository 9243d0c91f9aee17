//! Scrapes: the accelerator exporter's per-device series and the discovered services'
//! series, sampled into the metrics store.

use sim_core::SimTime;

use super::super::ServiceSample;
use super::super::cluster::NodeState;
use super::super::config::DeviceField;
use super::super::metrics::{MetricKind, SeriesKey};
use super::{PlatformSim, ReplicaPhase};

impl PlatformSim<'_> {
    pub(super) fn describe_metrics(&mut self) {
        let m = &mut self.metrics;
        if let Some(ex) = &self.cfg.metrics.exporter {
            for f in &ex.fields {
                let help = match f {
                    DeviceField::Utilization => "GPU utilization (in %).",
                    DeviceField::MemoryUsed => "Framebuffer memory used (in MiB).",
                    DeviceField::Power => "Power draw (in W).",
                    DeviceField::Temperature => "GPU temperature (in C).",
                };
                m.describe(f.metric_name(), MetricKind::Gauge, help);
            }
        }
        if self.cfg.metrics.service_discovery {
            m.describe(
                "inference_requests_total",
                MetricKind::Counter,
                "Requests served.",
            );
            m.describe(
                "inference_request_duration_seconds",
                MetricKind::Histogram,
                "Request latency (queueing and service), seconds.",
            );
            m.describe(
                "inference_request_queue_seconds_sum",
                MetricKind::Counter,
                "Total queueing latency, seconds.",
            );
            m.describe(
                "inference_queue_depth",
                MetricKind::Gauge,
                "Requests waiting in the service's queue.",
            );
            m.describe(
                "inference_requests_in_flight",
                MetricKind::Gauge,
                "Requests being served.",
            );
        }
    }

    /// Sample every exported series.
    pub(super) fn scrape(&mut self, now: SimTime) {
        let cfg = self.cfg;
        if let Some(ex) = &cfg.metrics.exporter {
            let dm = &ex.device;
            for n in &self.cluster.nodes {
                if n.state != NodeState::Ready {
                    continue;
                }
                for (g, holder) in n.devices.iter().enumerate() {
                    let util = match holder {
                        None => 0.0,
                        Some(p) => match self.replicas.get(p) {
                            None => 1.0,
                            Some(r) => match r.phase {
                                ReplicaPhase::Ready | ReplicaPhase::Draining => {
                                    f64::from(r.in_flight)
                                        / f64::from(cfg.services[r.service].concurrency)
                                }
                                _ => 0.0,
                            },
                        },
                    };
                    let gpu = g.to_string();
                    for f in &ex.fields {
                        let v = match f {
                            DeviceField::Utilization => (util * 100.0).round(),
                            DeviceField::MemoryUsed => {
                                if holder.is_some() {
                                    dm.allocated_fb_mib
                                } else {
                                    0.0
                                }
                            }
                            DeviceField::Power => {
                                dm.idle_power_w + (dm.busy_power_w - dm.idle_power_w) * util
                            }
                            DeviceField::Temperature => {
                                dm.idle_temp_c + (dm.busy_temp_c - dm.idle_temp_c) * util
                            }
                        };
                        let key = SeriesKey::new(
                            f.metric_name(),
                            &[
                                ("gpu", &gpu),
                                ("Hostname", &n.name),
                                ("modelName", &n.accelerator),
                            ],
                        );
                        self.metrics.record(key, now, v);
                    }
                }
            }
        }
        // The run's own record of every service, whatever the monitoring discovers.
        for (s, svc) in cfg.services.iter().enumerate() {
            let st = &self.services[s];
            let (mut in_flight, mut ready) = (0, 0);
            for r in self.replicas.values().filter(|r| r.service == s) {
                in_flight += r.in_flight;
                ready += u32::from(r.phase == ReplicaPhase::Ready);
            }
            self.service_samples
                .entry(svc.name.clone())
                .or_default()
                .push(ServiceSample {
                    at: now,
                    queue_depth: st.queue.len() as u32,
                    in_flight,
                    completed: st.completed,
                    ready,
                });
        }
        if cfg.metrics.service_discovery {
            for (s, svc) in cfg.services.iter().enumerate() {
                let st = &self.services[s];
                let in_flight: u32 = self
                    .replicas
                    .values()
                    .filter(|r| r.service == s)
                    .map(|r| r.in_flight)
                    .sum();
                let l = [("service", svc.name.as_str())];
                let rows = [
                    ("inference_requests_total", st.completed as f64),
                    ("inference_request_duration_seconds_sum", st.latency_sum),
                    (
                        "inference_request_duration_seconds_count",
                        st.completed as f64,
                    ),
                    ("inference_request_queue_seconds_sum", st.wait_sum),
                    ("inference_queue_depth", st.queue.len() as f64),
                    ("inference_requests_in_flight", f64::from(in_flight)),
                ];
                for (name, v) in rows {
                    self.metrics.record(SeriesKey::new(name, &l), now, v);
                }
                let bounds = &cfg.metrics.latency_buckets;
                for (bound, n) in bounds.iter().zip(&st.buckets) {
                    let le = super::super::metrics::format_value(*bound);
                    let key = SeriesKey::new(
                        "inference_request_duration_seconds_bucket",
                        &[("service", svc.name.as_str()), ("le", le.as_str())],
                    );
                    self.metrics.record(key, now, *n as f64);
                }
                let key = SeriesKey::new(
                    "inference_request_duration_seconds_bucket",
                    &[("service", svc.name.as_str()), ("le", "+Inf")],
                );
                self.metrics.record(key, now, st.completed as f64);
            }
        }
    }
}
