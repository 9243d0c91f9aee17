//! Scrapes: the platform's view of its devices and services for the shared scrape
//! (`crate::controllers::metrics::scrape`).

use sim_core::SimTime;

use super::super::cluster::NodeState;
use super::{PlatformSim, ReplicaPhase};
use crate::controllers::metrics::{self, DeviceReading, ServiceReading};

impl PlatformSim<'_> {
    pub(super) fn describe_metrics(&mut self) {
        metrics::describe(&mut self.metrics, &self.cfg.metrics);
    }

    /// Sample every exported series.
    pub(super) fn scrape(&mut self, now: SimTime) {
        let cfg = self.cfg;
        let mut devices = Vec::new();
        if cfg.metrics.exporter.is_some() {
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
                    devices.push(DeviceReading {
                        node: &n.name,
                        accelerator: &n.accelerator,
                        gpu: g,
                        held: holder.is_some(),
                        util,
                    });
                }
            }
        }
        let services: Vec<ServiceReading<'_>> = cfg
            .services
            .iter()
            .enumerate()
            .map(|(s, svc)| {
                let (mut in_flight, mut ready) = (0, 0);
                for r in self.replicas.values().filter(|r| r.service == s) {
                    in_flight += r.in_flight;
                    ready += u32::from(r.phase == ReplicaPhase::Ready);
                }
                ServiceReading {
                    name: &svc.name,
                    book: &self.services[s].book,
                    in_flight,
                    ready,
                }
            })
            .collect();
        metrics::scrape(
            &mut self.metrics,
            &mut self.service_samples,
            &cfg.metrics,
            &devices,
            &services,
            now,
        );
    }
}
