//! Criterion benchmarks for Orrery, and the small fixtures they share.
//!
//! Benchmark targets live in `benches/benches/`. The engine and replay targets:
//!
//! * `engine` — the engine alone, on the classic "hold" model: about 10,000 events are
//!   pending; each handled event is rescheduled at now + a pseudo-random delay drawn from a
//!   seeded ChaCha8 stream, so the pending set stays the same size. Measured twice: on a bare
//!   [`sim_core::EventQueue`] (pop + schedule) and through [`sim_core::Simulation::run`] with
//!   [`HoldModel`]. Throughput is reported in events per second.
//! * `replay` — full replays through [`models::run`]: all 69,351 Microsoft ITP jobs
//!   (`scenarios/bundled/itp-all.yaml`) with the gang scheduler and with the default
//!   scheduler, and the bundled default scenario (ITP cluster01, 1,595 jobs). Scenarios are
//!   loaded once, outside the timed loop. Throughput is reported in jobs per second.
//! * `dra` — the DRA allocator ([`models::dra`]) on 1,000 nodes × 8 H100 (8,000 devices,
//!   slices generated from the cluster), 6,000 claims allocated: one Filter call, one pod
//!   placed first-fit (template claim, Filter over 500 full nodes, Reserve, Unreserve), and
//!   the first use of a new selector (compile + evaluate on every device).
//! * [`h100_slices`] — not a benchmark: the input of issue 18's DRA load figure, 64 (or
//!   any number of) HGX H100 nodes of partitionable ResourceSlices made from
//!   `scenarios/dra/h100-node.yaml`, and a manifests-mode scenario around them
//!   (`cargo run --release -p orrery-benches --example h100_slices -- DIR [NODES]`).
//!
//! Run them from the workspace root (release profile; the first build takes a while):
//!
//! ```text
//! cargo bench -p orrery-benches                 # every target
//! cargo bench -p orrery-benches --bench engine  # one target (engine + replay: ~90 s)
//! cargo bench -p orrery-benches -- replay       # benchmarks whose id contains "replay"
//! cargo bench -p orrery-benches -- replay/itp-all/gang
//! ```
//!
//! Criterion prints `time: [low median high]` per benchmark (and `thrpt:` for the
//! throughput) and keeps its reports under `target/criterion/`. Recorded results are in
//! `BENCHMARKS.md` at the workspace root.

pub mod h100_slices;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sim_core::{Ctx, EventQueue, Model, RngStreams, SimDuration, SimTime, Simulation};

/// Number of pending events the hold benchmarks keep in the queue.
pub const HOLD_PENDING: usize = 10_000;

/// Mean reschedule delay of the hold model, in nanoseconds (delays are uniform in
/// `1..=2 * HOLD_MEAN_DELAY_NS`).
pub const HOLD_MEAN_DELAY_NS: u64 = 1_000_000;

/// The seeded delay stream of the hold model.
pub fn hold_rng(seed: u64) -> ChaCha8Rng {
    RngStreams::new(seed).stream("hold")
}

/// Draw one hold delay.
#[inline]
pub fn hold_delay(rng: &mut ChaCha8Rng) -> SimDuration {
    SimDuration(1 + rng.next_u64() % (2 * HOLD_MEAN_DELAY_NS))
}

/// An event queue holding `n` events (payload: their index) at pseudo-random times.
pub fn hold_queue(n: usize, rng: &mut ChaCha8Rng) -> EventQueue<u32> {
    let mut q = EventQueue::with_capacity(n);
    for i in 0..n {
        q.schedule(SimTime::ZERO + hold_delay(rng), i as u32);
    }
    q
}

/// One hold operation on a bare queue: pop the earliest event and reschedule it at its
/// time + a random delay. Returns the popped time.
#[inline]
pub fn hold_step(q: &mut EventQueue<u32>, rng: &mut ChaCha8Rng) -> SimTime {
    let e = q.pop().expect("the hold queue never drains");
    q.schedule(e.time + hold_delay(rng), e.event);
    e.time
}

/// The trivial engine model: every event it handles is rescheduled at now + a random delay.
pub struct HoldModel {
    pub rng: ChaCha8Rng,
}

impl Model for HoldModel {
    type Event = u32;
    #[inline]
    fn handle(&mut self, event: u32, ctx: &mut Ctx<'_, u32>) {
        let d = hold_delay(&mut self.rng);
        ctx.schedule_in(d, event);
    }
}

/// A simulation with `n` pending hold events, and its model.
pub fn hold_simulation(n: usize, seed: u64) -> (Simulation<u32>, HoldModel) {
    let mut rng = hold_rng(seed);
    let mut sim = Simulation::new(sim_core::Chooser::seeded(seed));
    for i in 0..n {
        sim.schedule_at(SimTime::ZERO + hold_delay(&mut rng), i as u32);
    }
    (sim, HoldModel { rng })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::StopAt;

    #[test]
    fn hold_keeps_the_pending_set_constant() {
        let mut rng = hold_rng(1);
        let mut q = hold_queue(100, &mut rng);
        let mut last = SimTime::ZERO;
        for _ in 0..1000 {
            let t = hold_step(&mut q, &mut rng);
            assert!(t >= last);
            last = t;
        }
        assert_eq!(q.len(), 100);

        let (mut sim, mut m) = hold_simulation(100, 1);
        let st = sim.run(
            &mut m,
            StopAt {
                horizon: SimTime::MAX,
                max_events: 1000,
            },
            |_, _| true,
        );
        assert_eq!(st.events, 1000);
        assert_eq!(sim.queue().len(), 100);
    }
}
