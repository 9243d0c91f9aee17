//! Serving: Deployment replicas, the FIFO queue and its dispatch, request arrivals
//! through the route, completions, and the HPA's sync.

use sim_core::{Ctx, SimTime};

use super::super::RequestRecord;
use super::super::cluster::{PodOwner, PodPhase};
use super::super::events::PlatformEvent;
use super::{Ev, PlatformSim, Replica, ReplicaPhase, push_change};
use crate::controllers::gateway as traffic;
use crate::controllers::hpa::{self, HpaView};
use crate::controllers::serving::{pick_replica, scale_down_victim};

impl PlatformSim<'_> {
    pub(super) fn set_replicas(
        &mut self,
        s: usize,
        n: u32,
        now: SimTime,
        mut ctx: Option<&mut Ctx<'_, Ev>>,
    ) {
        let svc = &self.cfg.services[s];
        self.services[s].spec = n;
        push_change(&mut self.replica_series, &svc.name, now, n);
        while (self.services[s].pods.len() as u32) < n {
            let name = format!("{}-{}", svc.name, self.services[s].seq);
            self.services[s].seq += 1;
            let pod = self.new_pod(
                name,
                PodOwner::Replica(s),
                &svc.accelerator,
                svc.gpus_per_replica,
                now,
            );
            self.services[s].pods.push(pod);
            self.replicas.insert(
                pod,
                Replica {
                    service: s,
                    phase: ReplicaPhase::Pending,
                    in_flight: 0,
                    ready_timer: None,
                },
            );
        }
        while (self.services[s].pods.len() as u32) > n {
            let phases: Vec<ReplicaPhase> = self.services[s]
                .pods
                .iter()
                .map(|p| self.replicas[p].phase)
                .collect();
            let Some(idx) = scale_down_victim(&phases) else {
                break;
            };
            let pod = self.services[s].pods.remove(idx);
            let r = self.replicas.get_mut(&pod).map(|r| {
                if let Some(t) = r.ready_timer.take() {
                    (r.phase, r.in_flight, Some(t))
                } else {
                    (r.phase, r.in_flight, None)
                }
            });
            if let Some((_, _, Some(t))) = r
                && let Some(c) = ctx.as_deref_mut()
            {
                c.cancel(t);
            }
            match r {
                Some((ReplicaPhase::Ready, inflight, _)) if inflight > 0 => {
                    if let Some(r) = self.replicas.get_mut(&pod) {
                        r.phase = ReplicaPhase::Draining;
                    }
                }
                _ => {
                    self.replicas.remove(&pod);
                    self.end_pod(pod, PodPhase::Deleted, now);
                }
            }
        }
        // The Ready count may have dropped.
        self.record_ready(s, now);
    }

    /// Start queued requests on Ready replicas with a free slot (least in-flight first,
    /// then the oldest replica).
    pub(super) fn dispatch(&mut self, s: usize, ctx: &mut Ctx<'_, Ev>) {
        let svc = &self.cfg.services[s];
        let now = ctx.now();
        while let Some(&req) = self.services[s].book.queue.front() {
            let pick = pick_replica(
                self.services[s].pods.iter().map(|p| {
                    let r = &self.replicas[p];
                    (r.phase, r.in_flight)
                }),
                svc.concurrency,
            )
            .map(|i| self.services[s].pods[i]);
            let Some(pod) = pick else { break };
            self.services[s].book.queue.pop_front();
            if let Some(r) = self.replicas.get_mut(&pod) {
                r.in_flight += 1;
            }
            self.requests[req].start = Some(now);
            self.requests[req].pod = Some(self.cluster.pods[pod].name.clone());
            let d = traffic::service_time(
                svc.service_time,
                svc.service_distribution,
                &mut self.services[s].rng,
            );
            ctx.schedule_in(d, Ev::RequestDone { pod, req });
        }
    }

    pub(super) fn hpa_sync(&mut self, s: usize, ctx: &mut Ctx<'_, Ev>) {
        let svc = &self.cfg.services[s];
        let Some(h) = &svc.hpa else { return };
        let now = ctx.now();
        ctx.schedule_in(h.sync_period, Ev::HpaSync(s));
        if !h.custom_metrics_adapter {
            if !self.services[s].metric_failed {
                self.services[s].metric_failed = true;
                self.log(
                    now,
                    PlatformEvent::HpaFailedGetMetric {
                        service: svc.name.clone(),
                        metric: h.metric.name().into(),
                    },
                );
            }
            return;
        }
        let mut stabilizer = std::mem::take(&mut self.services[s].stabilizer);
        let view = PlatformHpaView { sim: self, s };
        let sample = hpa::sync(&view, h, &mut stabilizer, now);
        self.services[s].stabilizer = stabilizer;
        let Some(sample) = sample else {
            return;
        };
        let (current, applied, value) = (sample.current, sample.applied, sample.value);
        self.hpa_samples
            .entry(svc.name.clone())
            .or_default()
            .push(sample);
        if applied != current {
            self.log(
                now,
                PlatformEvent::HpaRescale {
                    service: svc.name.clone(),
                    from: current,
                    to: applied,
                    metric: h.metric.name().into(),
                    value,
                    target: h.target,
                },
            );
            self.set_replicas(s, applied, now, Some(ctx));
        }
    }

    pub(super) fn arrival(&mut self, t: usize, ctx: &mut Ctx<'_, Ev>) {
        let cfg = self.cfg;
        let tc = &cfg.traffic[t];
        let now = ctx.now();
        let st = &mut self.traffic[t];
        let header = traffic::draw_header(&tc.headers, &mut st.headers);
        let backend = traffic::route_request(
            &tc.route,
            cfg.gateway.as_ref(),
            header.as_deref(),
            &mut st.route,
        );
        if let Some(next) = traffic::next_arrival(&tc.load, tc.arrivals, st.prev, &mut st.arrivals)
        {
            st.prev = Some(next);
            ctx.schedule_at(next, Ev::Arrival(t));
        }
        let s = cfg
            .services
            .iter()
            .position(|x| x.name == backend)
            .unwrap_or(0);
        *self
            .routed
            .entry((tc.name.clone(), backend.to_string()))
            .or_default() += 1;
        let id = self.requests.len();
        self.requests.push(RequestRecord {
            traffic: tc.name.clone(),
            service: backend.to_string(),
            header,
            arrival: now,
            start: None,
            end: None,
            pod: None,
        });
        self.services[s].book.queue.push_back(id);
        self.dispatch(s, ctx);
    }

    pub(super) fn request_done(&mut self, pod: usize, req: usize, ctx: &mut Ctx<'_, Ev>) {
        let now = ctx.now();
        let Some(r) = self.replicas.get_mut(&pod) else {
            return;
        };
        r.in_flight = r.in_flight.saturating_sub(1);
        let (s, drained) = (
            r.service,
            r.phase == ReplicaPhase::Draining && r.in_flight == 0,
        );
        let rec = &mut self.requests[req];
        rec.end = Some(now);
        let (arrival, start) = (rec.arrival, rec.start);
        self.services[s]
            .book
            .served(arrival, start, now, &self.cfg.metrics.latency_buckets);
        if drained {
            self.replicas.remove(&pod);
            self.end_pod(pod, PodPhase::Deleted, now);
        }
        self.dispatch(s, ctx);
    }
}

/// The platform's view of one service for the HPA.
struct PlatformHpaView<'s, 'a> {
    sim: &'s PlatformSim<'a>,
    s: usize,
}

impl HpaView for PlatformHpaView<'_, '_> {
    fn spec_replicas(&self) -> u32 {
        self.sim.services[self.s].spec
    }
    fn live_replicas(&self) -> u32 {
        self.sim.services[self.s].pods.len() as u32
    }
    fn ready_replicas(&self) -> u32 {
        self.sim.services[self.s]
            .pods
            .iter()
            .filter(|p| self.sim.replicas[p].phase == ReplicaPhase::Ready)
            .count() as u32
    }
    fn queue_depth(&self) -> u32 {
        self.sim.services[self.s].book.queue.len() as u32
    }
    fn ready_in_flight(&self) -> u64 {
        self.sim.services[self.s]
            .pods
            .iter()
            .map(|p| &self.sim.replicas[p])
            .filter(|r| r.phase == ReplicaPhase::Ready)
            .map(|r| u64::from(r.in_flight))
            .sum()
    }
}
