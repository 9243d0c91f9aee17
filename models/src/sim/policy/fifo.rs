//! `fifo`: all-or-nothing gang placement, strict FCFS: the pass stops at the first job
//! that does not fit (head-of-line blocking).

use std::sync::Arc;

use sim_core::Ctx;

use super::jobs::take_changes;
use super::{Policy, Queueing, Registration, place_in_order};
use crate::sim::{ClusterSim, Event, QueueKey};

pub const REGISTRATION: Registration = Registration {
    name: "fifo",
    about: "all-or-nothing gangs, strict FIFO (head-of-line blocking)",
    build: |_, _, _| Ok(Arc::new(Fifo)),
};

#[derive(Debug)]
struct Fifo;

impl Policy for Fifo {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Jobs
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        if take_changes(m).is_none() {
            return;
        }
        let order: Vec<QueueKey> = m.state.job_queue.iter().copied().collect();
        place_in_order(m, &order, true, ctx);
    }
}
