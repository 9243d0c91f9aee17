//! What the verifier needs of the run-time state kept outside `SimState` (issue 16 item 5):
//! the network model's solver and per-job progress (`network.rs`), the seeded failure
//! streams (`faults.rs`, `parts.rs`) and the inference services' controller (`serving.rs`:
//! replicas, HPA, traffic sources, request queues). All are snapshotted with `SimState`
//! when exhaustive mode takes a snapshot to continue from, restored with it, and hashed
//! into the state fingerprint through their own hooks
//! ([`super::network::NetRuntime::hash_state`],
//! [`super::faults::FaultRuntime::hash_runtime`], `ServingRuntime::hash_state`). Runs with
//! none of them are untouched: no snapshot is taken and nothing is hashed, so their
//! fingerprints are the same as before.

use sim_core::SimTime;

use super::ClusterSim;
use super::faults::FaultRuntime;
use super::network::NetRuntime;
use super::ray::RayRuntime;
use super::serving::ServingRuntime;

/// The run-time state outside `SimState` that a verifier snapshot must carry (the fault
/// runtime whole: with the network it also keeps which links are down).
#[derive(Clone, Debug)]
pub struct RuntimeSnapshot {
    net: Option<NetRuntime>,
    faults: Option<FaultRuntime>,
    serving: Option<Box<ServingRuntime>>,
    ray: Option<Box<RayRuntime>>,
}

impl ClusterSim {
    /// Does this run keep state that decides its future outside `SimState`: the network
    /// model, seeded (MTBF) node or GPU failures, whose streams advance as they draw, or
    /// inference services?
    pub fn runtime_outside_state(&self) -> bool {
        self.net.is_some() || self.seeded_faults() || self.serving.is_some() || self.ray.is_some()
    }

    fn seeded_faults(&self) -> bool {
        self.faults
            .as_ref()
            .is_some_and(|f| f.config.seeded.is_some())
    }

    /// Is job `j` a controller's slot (an inference service's replica or a Ray worker),
    /// submitted by its controller, not by the trace?
    pub fn is_controller_slot(&self, j: u32) -> bool {
        self.serving.as_ref().is_some_and(|s| s.is_replica(j))
            || self.ray.as_ref().is_some_and(|r| r.is_slot(j))
    }

    /// Schedule the serving and Ray controllers' first events (the services' start, the
    /// HPA syncs, the first arrivals, the scrapes; the Ray clusters' creation) on `sim`,
    /// as `orrery run` does after the trace's submissions and before the fault events.
    pub fn schedule_serving_events(&mut self, sim: &mut sim_core::Simulation<super::Event>) {
        if let Some(sv) = self.serving.as_mut() {
            for (at, ev) in sv.initial_events() {
                sim.schedule_at(at, ev);
            }
        }
        if let Some(r) = &self.ray {
            for (at, ev) in r.initial_events(&self.workload) {
                sim.schedule_at(at, ev);
            }
        }
    }

    /// A copy of that state (`None` when there is none), to restore with the `SimState`
    /// snapshot taken at the same moment (and the engine's queue: its timer handles refer
    /// to that queue).
    pub fn runtime_snapshot(&self) -> Option<RuntimeSnapshot> {
        self.runtime_outside_state().then(|| RuntimeSnapshot {
            net: self.net.clone(),
            // With the network, listed link faults keep which links are down here too.
            faults: self.faults.clone(),
            serving: self.serving.clone(),
            ray: self.ray.clone(),
        })
    }

    /// Put back a copy taken by [`ClusterSim::runtime_snapshot`].
    pub fn restore_runtime(&mut self, s: RuntimeSnapshot) {
        if s.net.is_some() {
            self.net = s.net;
        }
        if s.faults.is_some() {
            self.faults = s.faults;
        }
        if s.serving.is_some() {
            self.serving = s.serving;
        }
        if s.ray.is_some() {
            self.ray = s.ray;
        }
    }

    /// The fingerprint's share of that state, through the owners' hooks.
    pub(super) fn hash_runtime(&self, now: SimTime, h: &mut dyn std::hash::Hasher) {
        if let Some(net) = &self.net {
            h.write_u8(0xe1);
            net.hash_state(&self.state.jobs, now, h);
        }
        if let Some(f) = &self.faults {
            h.write_u8(0xe2);
            f.hash_runtime(now, h);
        }
        if let Some(sv) = &self.serving {
            h.write_u8(0xe3);
            sv.hash_state(now, h);
        }
        if let Some(r) = &self.ray {
            h.write_u8(0xe4);
            r.hash_state(now, h);
        }
    }
}
