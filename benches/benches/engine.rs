//! The engine alone: a hold model with ~10,000 pending events.
//!
//! `engine/queue_hold`: pop + reschedule on a bare `EventQueue` (also with 100,000 and
//! 1,000,000 pending: `queue_hold_100k`, `queue_hold_1m`).
//! `engine/simulation_run`: the same through `Simulation::run` and a `Model` that
//! reschedules every event it handles (instant_end, observer and fingerprint included).
//!
//! Both keep one queue across all iterations (steady state); each iteration handles
//! `BATCH` events.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orrery_benches::{HOLD_PENDING, hold_queue, hold_rng, hold_simulation, hold_step};
use sim_core::{SimTime, StopAt};

const BATCH: u64 = 100_000;

fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(BATCH));

    // Also with 100,000 and 1,000,000 pending events (a million-job trace's pending
    // submissions and completions): `engine/queue_hold_100k`, `engine/queue_hold_1m`.
    for (name, pending) in [
        ("queue_hold", HOLD_PENDING),
        ("queue_hold_100k", 100_000),
        ("queue_hold_1m", 1_000_000),
    ] {
        let mut rng = hold_rng(42);
        let mut q = hold_queue(pending, &mut rng);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut last = SimTime::ZERO;
                for _ in 0..BATCH {
                    last = hold_step(&mut q, &mut rng);
                }
                black_box(last)
            })
        });
        assert_eq!(q.len(), pending);
    }

    let (mut sim, mut model) = hold_simulation(HOLD_PENDING, 42);
    g.bench_function("simulation_run", |b| {
        b.iter(|| {
            let stop = StopAt {
                horizon: SimTime::MAX,
                max_events: sim.events_handled() + BATCH,
            };
            black_box(sim.run(&mut model, stop, |_, _| true))
        })
    });
    assert_eq!(sim.queue().len(), HOLD_PENDING);

    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
