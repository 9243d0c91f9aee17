//! `gang`: all-or-nothing gang placement; jobs tried in queue order (priority, arrival);
//! any job that fits starts (best-effort FIFO).

use std::sync::Arc;

use sim_core::Ctx;

use super::jobs::take_changes;
use super::{Policy, Queueing, Registration, place_in_order};
use crate::sim::{ClusterSim, Event, QueueKey};

pub const REGISTRATION: Registration = Registration {
    name: "gang",
    about: "all-or-nothing gangs in queue order; any job that fits starts (best-effort FIFO)",
    build: |_, _, _| Ok(Arc::new(Gang)),
};

#[derive(Debug)]
struct Gang;

impl Policy for Gang {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Jobs
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        let Some((released, fresh)) = take_changes(m) else {
            return;
        };
        let order: Vec<QueueKey> = if released {
            m.state.job_queue.iter().copied().collect()
        } else {
            // Nothing was released since the last pass, so only new arrivals can fit.
            let mut f: Vec<QueueKey> = fresh
                .into_iter()
                .filter(|k| m.state.job_queue.contains(k))
                .collect();
            f.sort_unstable();
            f
        };
        place_in_order(m, &order, false, ctx);
    }
}
