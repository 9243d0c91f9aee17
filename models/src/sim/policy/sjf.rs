//! `sjf`: all-or-nothing gang placement, shortest (oracle) runtime first; jobs that do not
//! fit are skipped.

use std::sync::Arc;

use sim_core::Ctx;

use super::jobs::take_changes;
use super::{Policy, Queueing, Registration, place_in_order};
use crate::sim::{ClusterSim, Event, QueueKey};

pub const REGISTRATION: Registration = Registration {
    name: "sjf",
    about: "all-or-nothing gangs, shortest (oracle) runtime first",
    build: |_, _, _| Ok(Arc::new(Sjf)),
};

#[derive(Debug)]
struct Sjf;

impl Policy for Sjf {
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
        let mut order: Vec<QueueKey> = m.state.job_queue.iter().copied().collect();
        order.sort_by_key(|k| (m.workload.jobs[k.job as usize].duration, *k));
        place_in_order(m, &order, false, ctx);
    }

    /// Equal runtimes tie on the queue key, i.e. arrival sequence and job index.
    fn ties_by_job_index(&self, _m: &ClusterSim) -> bool {
        true
    }
}
