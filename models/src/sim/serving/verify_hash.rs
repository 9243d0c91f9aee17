//! The serving controller's share of the verifier's state fingerprint (issue 16 item 5;
//! see `abstract_state.rs` and docs/verify.md, "What is explored").
//!
//! Hashed, because it decides the future:
//!
//! * every replica slot: free or its phase (Pending, Starting, Ready, Draining), its
//!   requests in flight and whether its start-up timer is armed (the timer itself is a
//!   pending event, hashed with the others through [`ServingRuntime::hash_event`]);
//! * every service: `spec.replicas`, its live replicas in creation order (scale-down
//!   deletes the newest first), its queue's length (dispatch and the HPA's queue-depth
//!   metric read it), the position of its service-time stream and the HPA's remembered
//!   recommendations still inside the scale-down stabilisation window, as (age, count);
//! * every traffic source: the positions of its arrival, header and route streams (the
//!   seed and the stream names are fixed, so ChaCha's word position is the whole stream
//!   state) and, while an arrival is pending, its time as an offset from now (the next
//!   gap is drawn from it);
//! * whether a scrape is due at the end of this instant.
//!
//! Left out, because only the reports read it: the request records (their ids, arrival
//! and start times), the event log, the replica, Ready and HPA sample series, the routed
//! counts, the metrics store and the per-service samples, the served-request counters,
//! latency sums and histogram buckets of each service's book (no decision reads them:
//! the HPA reads the queue and the in-flight requests, not the store), the pod summaries
//! and whether a failed metric was already logged. Absolute times are not needed for the
//! load steps: services need a horizon, and the fingerprint hashes the time left to it.

use std::hash::Hasher;

use sim_core::SimTime;

use super::{ServingEvent, ServingRuntime};
use crate::controllers::serving::ReplicaPhase;

fn phase_code(p: Option<ReplicaPhase>) -> u8 {
    match p {
        None => 0,
        Some(ReplicaPhase::Pending) => 1,
        Some(ReplicaPhase::Starting) => 2,
        Some(ReplicaPhase::Ready) => 3,
        Some(ReplicaPhase::Draining) => 4,
    }
}

impl ServingRuntime {
    /// The serving hash hook: what of the controller's run-time state decides the future
    /// (see the module documentation), with times as offsets from `now`.
    pub fn hash_state(&self, now: SimTime, h: &mut dyn Hasher) {
        h.write_usize(self.slots.len());
        for r in &self.slots {
            h.write_u8(phase_code(r.phase));
            h.write_u32(r.in_flight);
            h.write_u8(u8::from(r.ready_timer.is_some()));
        }
        for (s, svc) in self.services.iter().enumerate() {
            h.write_u8(0xa1);
            h.write_u32(svc.spec);
            h.write_usize(svc.live.len());
            for &j in &svc.live {
                h.write_u32(j);
            }
            h.write_usize(svc.book.queue.len());
            h.write_u128(svc.rng.get_word_pos());
            // Recommendations older than the window are dropped at the next sync before
            // any is read: only those younger count.
            let window = self.cfg.services[s]
                .hpa
                .as_ref()
                .map_or(0, |c| c.scale_down_stabilization.as_nanos());
            for (t, rec) in svc.stabilizer.recommendations() {
                let age = now.since(t).as_nanos();
                if age < window {
                    h.write_u64(age);
                    h.write_u32(rec);
                }
            }
        }
        for src in &self.sources {
            h.write_u8(0xa2);
            h.write_u128(src.arrivals.get_word_pos());
            h.write_u128(src.headers.get_word_pos());
            h.write_u128(src.route.get_word_pos());
            // Only read when the pending arrival fires (at that time, not before now).
            match src.prev {
                Some(p) if p >= now => h.write_u64(p.since(now).as_nanos()),
                _ => h.write_u64(u64::MAX),
            }
        }
        h.write_u8(u8::from(self.scrape_due));
    }

    /// A pending serving event `dt` nanoseconds from now, for the fingerprint. A request's
    /// completion is hashed by the replica it frees, not by the request's id (an index
    /// into the report's request records, which only grows).
    pub fn hash_event(&self, e: &ServingEvent, dt: u64, h: &mut dyn Hasher) {
        h.write_u64(dt);
        match *e {
            ServingEvent::Init => h.write_u8(0),
            ServingEvent::Arrival(t) => {
                h.write_u8(1);
                h.write_u32(t);
            }
            ServingEvent::RequestDone { job, req: _ } => {
                h.write_u8(2);
                h.write_u32(job);
            }
            ServingEvent::ReplicaReady(job) => {
                h.write_u8(3);
                h.write_u32(job);
            }
            ServingEvent::HpaSync(s) => {
                h.write_u8(4);
                h.write_u32(s);
            }
            ServingEvent::Scrape => h.write_u8(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::RngExt;
    use sim_core::{SimDuration, TimerId};

    use super::*;
    use crate::cluster::{ClusterSpec, NodeSpec};
    use crate::sim::{ClusterSim, Event, RunConfig, ServingConfig};
    use crate::workload::Workload;

    /// One 2-GPU node; service `llm` (1 replica, HPA 1..2, 5-minute window), traffic
    /// `clients` at 1 request/s; horizon 60 s.
    fn model() -> ClusterSim {
        let serving: ServingConfig = serde_saphyr::from_str(
            "services:
  - {name: llm, accelerator: H100, replicas: 1, service_time: 10s,
     hpa: {metric: inference_queue_depth, target: 1, min_replicas: 1, max_replicas: 2}}
traffic:
  - {name: clients, load: [{from: 0s, rps: 1}], route: {backends: [{service: llm}]}}
",
        )
        .expect("serving config");
        let config = RunConfig {
            horizon: Some(SimDuration::from_secs(60)),
            serving: Some(serving),
            ..RunConfig::default()
        };
        let spec = ClusterSpec {
            nodes: vec![NodeSpec {
                taints: Vec::new(),
                name: "n0".into(),
                pool: "gpu".into(),
                cpu_milli: 32_000,
                memory_mib: 256 * 1024,
                gpus: 2,
                gpu_model: Some("H100".into()),
                gpu_memory_mib: 81_920,
                rack: 0,
                labels: BTreeMap::new(),
            }],
        };
        ClusterSim::new(spec, Workload { jobs: Vec::new() }, &config).expect("model")
    }

    const NOW: SimTime = SimTime(10_000_000_000);

    fn fp(m: &ClusterSim, pending: &[(SimTime, TimerId, &Event)]) -> u64 {
        m.abstract_hash(NOW, pending, Some(SimTime(60_000_000_000)))
    }

    fn rt(m: &mut ClusterSim) -> &mut ServingRuntime {
        m.serving.as_deref_mut().expect("serving runtime")
    }

    /// Each change below decides the future and only touches the serving runtime: with
    /// the hook switched off (`hash_runtime` skipping it) every one would hash the same as
    /// the base state.
    #[test]
    fn states_differing_only_in_the_serving_runtime_hash_differently() {
        let base = fp(&model(), &[]);
        assert_eq!(base, fp(&model(), &[]), "deterministic");
        // A request in flight on slot 0.
        let mut m = model();
        rt(&mut m).slots[0].in_flight = 1;
        assert_ne!(fp(&m, &[]), base, "in-flight requests");
        // Slot 1 Pending (a replica created).
        let mut m = model();
        rt(&mut m).slots[1].phase = Some(ReplicaPhase::Pending);
        assert_ne!(fp(&m, &[]), base, "replica phase");
        // The arrival stream one draw further on.
        let mut m = model();
        let _: f64 = rt(&mut m).sources[0].arrivals.random();
        assert_ne!(fp(&m, &[]), base, "traffic stream position");
        // The service-time stream one draw further on.
        let mut m = model();
        let _: f64 = rt(&mut m).services[0].rng.random();
        assert_ne!(fp(&m, &[]), base, "service-time stream position");
        // A queued request.
        let mut m = model();
        rt(&mut m).services[0].book.queue.push_back(0);
        assert_ne!(fp(&m, &[]), base, "queue length");
        // An HPA recommendation of 2 made at 5 s: inside the 300 s window.
        let mut m = model();
        let w = SimDuration::from_secs(300);
        rt(&mut m).services[0]
            .stabilizer
            .apply(SimTime(5_000_000_000), 1, 2, w, 2);
        assert_ne!(fp(&m, &[]), base, "stabilisation window");
        // spec.replicas.
        let mut m = model();
        rt(&mut m).services[0].spec = 2;
        assert_ne!(fp(&m, &[]), base, "spec.replicas");
    }

    /// What only the reports read is left out (or no state would ever recur).
    #[test]
    fn report_only_data_does_not_change_the_fingerprint() {
        let base = fp(&model(), &[]);
        let mut m = model();
        let r = rt(&mut m);
        r.requests.push(crate::platform::RequestRecord {
            traffic: "clients".into(),
            service: "llm".into(),
            header: None,
            arrival: SimTime::ZERO,
            start: None,
            end: None,
            pod: None,
        });
        r.services[0].book.completed = 7;
        r.services[0].book.latency_sum = 1.5;
        r.services[0].metric_failed = true;
        r.replica_series
            .insert("llm".into(), vec![(SimTime::ZERO, 1)]);
        assert_eq!(fp(&m, &[]), base);
    }

    /// Pending serving events are hashed as offsets from now; a request's completion by
    /// the replica it frees, not by the request's id.
    #[test]
    fn pending_serving_events_are_hashed_by_what_they_do() {
        let m = model();
        let job = m.serving.as_ref().expect("serving").first_job;
        let at = SimTime(12_000_000_000);
        let done = |req| Event::Serving(ServingEvent::RequestDone { job, req });
        let (a, b) = (done(3), done(9));
        let other = Event::Serving(ServingEvent::RequestDone {
            job: job + 1,
            req: 3,
        });
        let sync = Event::Serving(ServingEvent::HpaSync(0));
        let h = |e: &Event, t: SimTime| fp(&m, &[(t, TimerId(1), e)]);
        assert_eq!(h(&a, at), h(&b, at), "request ids are report-only");
        assert_ne!(h(&a, at), h(&other, at), "which replica is freed");
        assert_ne!(h(&a, at), fp(&m, &[]), "a pending completion counts");
        assert_ne!(h(&sync, at), h(&sync, SimTime(13_000_000_000)), "when");
    }
}
