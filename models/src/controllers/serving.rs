//! Inference serving: a service is a Deployment of GPU replicas behind one FIFO queue
//! (the gateway / load balancer in front of it). The decisions shared by the platform
//! model (`crate::platform`) and the main model (`crate::sim::serving`):
//!
//! * dispatch: a queued request goes to the Ready replica with the fewest requests in
//!   flight that has a free slot (ties: the oldest replica), or waits;
//! * scale-down victims: Pending replicas first, then starting ones, then Ready ones,
//!   newest first within each (as a ReplicaSet);
//! * the per-service bookkeeping the metrics read (queue, served requests, latency sums
//!   and histogram buckets).

use std::collections::VecDeque;

use sim_core::SimTime;

/// State of one replica pod of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplicaPhase {
    /// Created, not bound to a node.
    Pending,
    /// Bound, running its start-up (`startup_delay`).
    Starting,
    /// Takes requests.
    Ready,
    /// Deleted by a scale-down; finishes its in-flight requests, takes no new ones.
    Draining,
}

impl ReplicaPhase {
    /// Scale-down order: the lowest rank goes first.
    fn victim_rank(self) -> u8 {
        match self {
            ReplicaPhase::Pending => 0,
            ReplicaPhase::Starting => 1,
            _ => 2,
        }
    }
}

/// The replica that takes the next queued request: among `replicas` (live replicas in
/// creation order: their phase and requests in flight), the Ready one with a free slot
/// (`in_flight < concurrency`) and the fewest requests in flight, the oldest on a tie.
/// Returns its index in `replicas`.
pub fn pick_replica(
    replicas: impl IntoIterator<Item = (ReplicaPhase, u32)>,
    concurrency: u32,
) -> Option<usize> {
    replicas
        .into_iter()
        .enumerate()
        .filter(|(_, (phase, in_flight))| *phase == ReplicaPhase::Ready && *in_flight < concurrency)
        .min_by_key(|&(_, (_, in_flight))| in_flight)
        .map(|(i, _)| i)
}

/// The replica a scale-down deletes next: among `phases` (live replicas in creation
/// order), Pending first, then starting, then Ready, the newest within each. Returns
/// its index.
pub fn scale_down_victim(phases: &[ReplicaPhase]) -> Option<usize> {
    (0..phases.len())
        .rev()
        .min_by_key(|&i| phases[i].victim_rank())
}

/// What a service has served, for its metrics: the FIFO queue (request ids), served
/// requests, latency and queueing sums (seconds) and the latency histogram's buckets.
#[derive(Clone, Debug, Default)]
pub struct ServiceBook {
    pub queue: VecDeque<usize>,
    pub completed: u64,
    pub latency_sum: f64,
    pub wait_sum: f64,
    /// Served requests with latency ≤ each bucket bound.
    pub buckets: Vec<u64>,
}

impl ServiceBook {
    /// An empty book with `buckets` histogram buckets.
    pub fn new(buckets: usize) -> ServiceBook {
        ServiceBook {
            buckets: vec![0; buckets],
            ..ServiceBook::default()
        }
    }

    /// A request that arrived at `arrival` and started at `start` finished at `now`.
    pub fn served(
        &mut self,
        arrival: SimTime,
        start: Option<SimTime>,
        now: SimTime,
        bounds: &[f64],
    ) {
        let total = now.since(arrival).as_secs_f64();
        let wait = start.unwrap_or(now).since(arrival).as_secs_f64();
        self.completed += 1;
        self.latency_sum += total;
        self.wait_sum += wait;
        for (b, bound) in self.buckets.iter_mut().zip(bounds) {
            if total <= *bound {
                *b += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReplicaPhase::*;

    #[test]
    fn dispatch_least_in_flight_then_oldest() {
        // Replica 1 has 0 in flight: it wins over 0 (1 in flight) and 2 (Starting).
        assert_eq!(
            pick_replica([(Ready, 1), (Ready, 0), (Starting, 0)], 2),
            Some(1)
        );
        // A tie at 1 in flight: the oldest (index 0).
        assert_eq!(pick_replica([(Ready, 1), (Ready, 1)], 2), Some(0));
        // Full replicas and a draining one take nothing.
        assert_eq!(pick_replica([(Ready, 2), (Draining, 0)], 2), None);
    }

    #[test]
    fn victims_pending_then_starting_then_ready_newest_first() {
        assert_eq!(
            scale_down_victim(&[Ready, Pending, Starting, Pending]),
            Some(3)
        );
        assert_eq!(
            scale_down_victim(&[Ready, Starting, Ready, Starting]),
            Some(3)
        );
        assert_eq!(scale_down_victim(&[Ready, Ready]), Some(1));
        assert_eq!(scale_down_victim(&[]), None);
    }
}
