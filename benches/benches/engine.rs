//! The engine alone: a hold model with ~10,000 pending events.
//!
//! `engine/queue_hold`: pop + reschedule on a bare `EventQueue`.
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

    let mut rng = hold_rng(42);
    let mut q = hold_queue(HOLD_PENDING, &mut rng);
    g.bench_function("queue_hold", |b| {
        b.iter(|| {
            let mut last = SimTime::ZERO;
            for _ in 0..BATCH {
                last = hold_step(&mut q, &mut rng);
            }
            black_box(last)
        })
    });
    assert_eq!(q.len(), HOLD_PENDING);

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
