//! Whole-job placement shared by the job-level policies: a job's pods are placed
//! all-or-nothing (each placement sees the previous ones) and the job starts at once.

use std::collections::BTreeSet;

use sim_core::Ctx;

use crate::sim::{ClusterSim, Event, QueueKey};

/// Try each job in `order`; start those that fit. With `strict`, stop at the first that
/// does not. A gang shape that failed is not retried in this pass (resources only shrink).
pub fn place_in_order(
    m: &mut ClusterSim,
    order: &[QueueKey],
    strict: bool,
    ctx: &mut Ctx<'_, Event>,
) {
    let mut failed = BTreeSet::new();
    for key in order {
        let shape = m.job_shape[key.job as usize];
        if failed.contains(&shape) {
            if strict {
                return;
            }
            continue;
        }
        if start_job(m, *key, ctx) {
            continue;
        }
        failed.insert(shape);
        if strict {
            return;
        }
    }
}

/// Place a queued job all-or-nothing and start it; `false` (nothing changed) if it does
/// not fit.
pub fn start_job(m: &mut ClusterSim, key: QueueKey, ctx: &mut Ctx<'_, Event>) -> bool {
    if !m.try_place_gang(key.job, ctx.chooser()) {
        return false;
    }
    m.state.job_queue.remove(&key);
    m.maybe_start(key.job, ctx);
    true
}

/// The job-level pass's common preamble: `None` when nothing changed since the last pass;
/// otherwise whether resources were released (`true`) and the jobs queued since (the
/// flags are cleared).
pub fn take_changes(m: &mut ClusterSim) -> Option<(bool, Vec<QueueKey>)> {
    if !(m.state.job_dirty || m.state.rescan) {
        return None;
    }
    let released = m.state.rescan;
    m.state.job_dirty = false;
    m.state.rescan = false;
    Some((released, std::mem::take(&mut m.state.fresh_jobs)))
}
