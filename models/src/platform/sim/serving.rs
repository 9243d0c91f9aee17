//! Serving: Deployment replicas, the FIFO queue and its dispatch, request arrivals
//! through the route, completions, and the HPA's sync.

use sim_core::{Ctx, SimTime};

use super::super::RequestRecord;
use super::super::cluster::{PodOwner, PodPhase};
use super::super::config::HpaMetric;
use super::super::events::PlatformEvent;
use super::super::hpa::{HpaInput, HpaSample, desired_replicas};
use super::super::traffic;
use super::{Ev, PlatformSim, Replica, ReplicaPhase, push_change};

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
            let rank = |p: &ReplicaPhase| match p {
                ReplicaPhase::Pending => 0,
                ReplicaPhase::Starting => 1,
                _ => 2,
            };
            let Some(idx) = (0..self.services[s].pods.len())
                .rev()
                .min_by_key(|&i| rank(&self.replicas[&self.services[s].pods[i]].phase))
            else {
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
        while let Some(&req) = self.services[s].queue.front() {
            let pick = self.services[s]
                .pods
                .iter()
                .copied()
                .filter(|p| {
                    let r = &self.replicas[p];
                    r.phase == ReplicaPhase::Ready && r.in_flight < svc.concurrency
                })
                .min_by_key(|p| self.replicas[p].in_flight);
            let Some(pod) = pick else { break };
            self.services[s].queue.pop_front();
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
        let st = &self.services[s];
        let ready: Vec<usize> = st
            .pods
            .iter()
            .copied()
            .filter(|p| self.replicas[p].phase == ReplicaPhase::Ready)
            .collect();
        let sum = match h.metric {
            HpaMetric::InferenceQueueDepth => st.queue.len() as f64,
            HpaMetric::InferenceRequestsInFlight => ready
                .iter()
                .map(|p| f64::from(self.replicas[p].in_flight))
                .sum(),
        };
        let input = HpaInput {
            current: st.spec,
            ready: ready.len() as u32,
            unready: (st.pods.len() - ready.len()) as u32,
            sum,
        };
        let Some((desired, counted)) = desired_replicas(input, h.target, h.tolerance) else {
            return;
        };
        let rec = desired.clamp(h.min_replicas, h.max_replicas);
        let applied = self.services[s]
            .stabilizer
            .apply(
                now,
                input.current,
                rec,
                h.scale_down_stabilization,
                h.max_replicas,
            )
            .clamp(h.min_replicas, h.max_replicas);
        let value = sum / f64::from(input.ready);
        self.hpa_samples
            .entry(svc.name.clone())
            .or_default()
            .push(HpaSample {
                at: now,
                current: input.current,
                ready: input.ready,
                value,
                counted,
                desired,
                recommendation: rec,
                applied,
            });
        if applied != input.current {
            self.log(
                now,
                PlatformEvent::HpaRescale {
                    service: svc.name.clone(),
                    from: input.current,
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
        self.services[s].queue.push_back(id);
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
        let total = now.since(rec.arrival).as_secs_f64();
        let wait = rec.start.unwrap_or(now).since(rec.arrival).as_secs_f64();
        let st = &mut self.services[s];
        st.completed += 1;
        st.latency_sum += total;
        st.wait_sum += wait;
        for (b, bound) in st.buckets.iter_mut().zip(&self.cfg.metrics.latency_buckets) {
            if total <= *bound {
                *b += 1;
            }
        }
        if drained {
            self.replicas.remove(&pod);
            self.end_pod(pod, PodPhase::Deleted, now);
        }
        self.dispatch(s, ctx);
    }
}
