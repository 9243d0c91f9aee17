//! `gang_scheduling` (KAR-0053): all-or-nothing placement of distributed jobs.
//!
//! Test plan: a job of N pods gets all N Running when capacity allows; with capacity for
//! fewer than N, no pod reaches Running within a wait window. Hardened here:
//! - no partial start, also when the gang must wait for capacity held by another job;
//! - a gang that cannot start never holds resources for longer than the wait window at a
//!   stretch (a Permit timeout longer than the window keeps GPUs idle and blocked);
//! - a gang one GPU short (where Permit-based gangs do hold resources) as well as one far
//!   short;
//! - two over-committed gangs (each 80 % of the GPUs, submitted together) both complete
//!   in every interleaving, checked by exhaustive exploration (`orrery verify`), with a
//!   shrunk deadlock or livelock witness when not.

use models::verify::{ExploreOptions, Mode, Problem, ViolationKind, Witness, explore, shrink};
use sim_core::SimTime;

use super::common::{CaseJob, CaseSpec, Traced, build, case_file, gpus, run_traced, scenario_yaml};
use crate::conformance::outcome::{CaseResult, Observation, show_time};
use crate::conformance::profile::Profile;

/// The wait window of the negative test (the test plan's "configurable wait").
pub const WAIT_WINDOW_S: u64 = 300;
const NODES: u32 = 4;

fn spec(
    profile: &Profile,
    name: &str,
    description: &str,
    seed: u64,
    jobs: Vec<CaseJob>,
) -> CaseSpec {
    CaseSpec {
        name: format!("gang_scheduling-{name}"),
        description: description.into(),
        seed,
        nodes: NODES.min(profile.accelerators.nodes),
        gpus_per_node: profile.accelerators.gpus_per_node,
        gpu_model: profile.accelerators.gpu_model.clone(),
        jobs,
        horizon_s: None,
        extra: String::new(),
    }
}

/// Run every case.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    let g = profile.accelerators.gpus_per_node;
    let n = NODES.min(profile.accelerators.nodes);
    let mut out = Vec::new();
    // 1. Capacity for all N: all N start together and the job completes.
    out.push(fits(
        profile,
        seed,
        "capacity-fits-n",
        "a gang of one pod per node, each taking a whole node, on an idle cluster: all pods start at once",
        vec![CaseJob::new("gang", 0, 600, n, g)],
        0,
        None,
    ));
    // 2. Capacity only after another job leaves: no pod holds or runs before then.
    let busy = (n / 2).max(1);
    out.push(fits(
        profile,
        seed,
        "waits-for-capacity",
        "a gang of one pod per node arrives while another job holds half the nodes until 600s: no pod runs before 600s, then all start together",
        vec![
            CaseJob::new("holder", 0, 600, busy, g),
            CaseJob::new("gang", 10, 600, n, g),
        ],
        1,
        Some(600),
    ));
    // 3. Capacity below N (another job holds part of the cluster for longer than the
    //    observation): far short, and one GPU short.
    out.push(below(
        profile,
        seed,
        "capacity-below-n",
        "a gang of one whole-node pod per node arrives while another job holds one node for good: no pod runs, and a whole-node job arriving 10s later starts within the wait window",
        vec![
            CaseJob::new("holder", 0, 100_000, 1, g),
            CaseJob::new("gang", 10, 600, n, g),
            CaseJob::new("bystander", 20, 600, 1, g),
        ],
        n,
    ));
    out.push(below(
        profile,
        seed,
        "one-gpu-short",
        "a gang of one-GPU pods, one per GPU, arrives while another job holds one GPU for good: no pod runs, and a one-GPU job arriving 10s later starts within the wait window",
        vec![
            CaseJob::new("holder", 0, 100_000, 1, 1),
            CaseJob::new("gang", 10, 600, n * g, 1),
            CaseJob::new("bystander", 20, 600, 1, 1),
        ],
        n * g,
    ));
    // 4. Two over-committed gangs, every interleaving.
    out.push(overcommitted(profile, seed));
    out
}

fn log_of(t: &Traced, names: &[&str]) -> Vec<Observation> {
    t.timeline
        .iter()
        .map(|h| {
            Observation::new(
                h.at,
                format!(
                    "{}: {} pods hold {} GPUs, {} running{}",
                    names.get(h.job as usize).copied().unwrap_or("job"),
                    h.assumed,
                    gpus(h.gpu_milli),
                    h.bound,
                    if h.completed { ", completed" } else { "" }
                ),
            )
        })
        .collect()
}

fn failed_to_run(name: &str, checks: &str, size: u32, seed: u64, e: String) -> CaseResult {
    CaseResult::new(
        name,
        checks,
        size,
        seed,
        false,
        format!("the case could not run: {e}"),
    )
}

/// All pods of job `gang` start at the same instant (at or after `not_before`), none of
/// its pods holds resources before that, and it completes.
fn fits(
    profile: &Profile,
    seed: u64,
    name: &str,
    checks: &str,
    jobs: Vec<CaseJob>,
    gang: u32,
    not_before: Option<u64>,
) -> CaseResult {
    let size = jobs[gang as usize].pods;
    let names: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let sp = spec(profile, name, checks, seed, jobs);
    let yaml = scenario_yaml(profile, &sp);
    let file = case_file(&sp, yaml.clone(), "orrery run {file}");
    let traced = match build(&yaml, &sp.name).and_then(run_traced) {
        Ok(t) => t,
        Err(e) => return failed_to_run(name, checks, size, seed, e).with_scenario(file),
    };
    let log = log_of(&traced, &names);
    let events: Vec<_> = traced.timeline.iter().filter(|h| h.job == gang).collect();
    let first_run = events.iter().find(|h| h.bound > 0);
    let done = events.iter().find(|h| h.completed);
    let verdict = match ((), first_run, done) {
        (_, Some(r), _) if r.bound < size => Err((
            r.at,
            format!(
                "partial start: {} of {size} pods running at {} while the rest wait",
                r.bound,
                show_time(r.at)
            ),
        )),
        (_, Some(r), _) if not_before.is_some_and(|t| r.at < SimTime::from_secs(t)) => Err((
            r.at,
            format!(
                "the gang started at {} although the capacity was only there from {}s",
                show_time(r.at),
                not_before.unwrap_or(0)
            ),
        )),
        (_, Some(r), Some(d)) => Ok((
            r.at,
            format!(
                "all {size} pods started together at {} and the job completed at {}",
                show_time(r.at),
                show_time(d.at)
            ),
        )),
        (_, Some(r), None) => Err((r.at, "the gang started but never completed".into())),
        (_, None, _) => Err((
            traced.end,
            format!(
                "the gang never started although the capacity is there (run ended at {})",
                show_time(traced.end)
            ),
        )),
    };
    CaseResult::judged(name, checks, size, seed, verdict)
        .with_log(log)
        .with_scenario(file)
}

/// Job 1 (the gang) never runs any pod, and job 2 (a bystander that arrives during the
/// wait and needs resources the gang's waiting pods would hold) starts within the wait
/// window of its arrival: a gang that cannot start does not keep resources from others.
fn below(
    profile: &Profile,
    seed: u64,
    name: &str,
    checks: &str,
    jobs: Vec<CaseJob>,
    size: u32,
) -> CaseResult {
    let bystander_at = SimTime::from_secs(jobs[2].submit_s);
    let mut sp = spec(profile, name, checks, seed, jobs);
    // Three windows: long enough to see whether the bystander gets its GPUs.
    sp.horizon_s = Some(3 * WAIT_WINDOW_S);
    let yaml = scenario_yaml(profile, &sp);
    let file = case_file(&sp, yaml.clone(), "orrery run {file}");
    let traced = match build(&yaml, &sp.name).and_then(run_traced) {
        Ok(t) => t,
        Err(e) => return failed_to_run(name, checks, size, seed, e).with_scenario(file),
    };
    let log = log_of(&traced, &["holder", "gang", "bystander"]);
    let window = sim_core::SimDuration::from_secs(WAIT_WINDOW_S);
    let ran = traced.timeline.iter().find(|h| h.job == 1 && h.bound > 0);
    let held = traced
        .timeline
        .iter()
        .filter(|h| h.job == 1)
        .map(|h| h.gpu_milli)
        .max()
        .unwrap_or(0);
    let bystander = traced.timeline.iter().find(|h| h.job == 2 && h.bound > 0);
    let verdict = match (ran, bystander) {
        (Some(r), _) => Err((
            r.at,
            format!(
                "{} of {size} pods running at {} although the gang cannot fit: a partial start",
                r.bound,
                show_time(r.at)
            ),
        )),
        (None, Some(b)) if b.at.since(bystander_at) <= window => Ok((
            b.at,
            format!(
                "no pod of the gang ran ({}); the job arriving at {} started at {}, within the {}s wait window",
                if held == 0 {
                    "it held no GPUs".to_string()
                } else {
                    format!("its waiting pods held up to {} GPUs", gpus(held))
                },
                show_time(bystander_at),
                show_time(b.at),
                WAIT_WINDOW_S
            ),
        )),
        (None, b) => {
            let at = bystander_at + window;
            Err((
                at,
                format!(
                    "no pod of the gang ran, but its waiting pods held {} GPUs and kept the job arriving at {} from starting {} (wait window {}s)",
                    gpus(held),
                    show_time(bystander_at),
                    match b {
                        Some(b) => format!("until {}", show_time(b.at)),
                        None => format!("for the whole {}s observed", 3 * WAIT_WINDOW_S),
                    },
                    WAIT_WINDOW_S
                ),
            ))
        }
    };
    CaseResult::judged(name, checks, size, seed, verdict)
        .with_log(log)
        .with_scenario(file)
}

/// Two gangs of 4 one-GPU pods on 5 one-GPU nodes (each 80 % of the GPUs), submitted
/// together: in every interleaving both complete, one after the other.
fn overcommitted(profile: &Profile, seed: u64) -> CaseResult {
    let name = "two-overcommitted-gangs";
    let checks = "two gangs of 4 one-GPU pods on 5 GPUs (each 80%), submitted together: both complete in every interleaving (exhaustive exploration)";
    let mut sp = spec(
        profile,
        name,
        checks,
        seed,
        vec![
            CaseJob::new("gang-a", 0, 3600, 4, 1),
            CaseJob::new("gang-b", 0, 3600, 4, 1),
        ],
    );
    sp.nodes = 5;
    sp.gpus_per_node = 1;
    let yaml = scenario_yaml(profile, &sp);
    let file = case_file(&sp, yaml.clone(), "orrery verify {file} --exhaustive");
    let sc = match build(&yaml, &sp.name) {
        Ok(s) => s,
        Err(e) => return failed_to_run(name, checks, 8, seed, e).with_scenario(file),
    };
    let problem = Problem {
        name: sc.name.clone(),
        spec: sc.cluster,
        workload: sc.workload,
        config: sc.config,
    };
    let options = ExploreOptions::default();
    let mode = Mode::Exhaustive {
        max_schedules: 200_000,
        max_depth: None,
    };
    let e = match explore(&problem, &options, &mode, &|_, _| {}) {
        Ok(e) => e,
        Err(e) => return failed_to_run(name, checks, 8, seed, e.to_string()).with_scenario(file),
    };
    let cov = &e.coverage;
    let coverage = format!(
        "{} schedules, {} distinct states{}",
        cov.schedules,
        cov.distinct_states,
        if cov.complete {
            ", complete"
        } else {
            ", NOT complete"
        }
    );
    if let Some(f) = e.first() {
        let kind = f.violation.kind;
        let s = shrink(&problem, &options, kind, f);
        let w = Witness::new(&s.witness.problem, &options, &s.found);
        let detail = format!(
            "{} of {} at {}: {} ({coverage}); shrunk to {} jobs, {} pods, {} nodes, {} GPUs",
            kind.name(),
            f.violation.jobs.join(" and "),
            show_time(f.violation.time),
            f.violation.detail,
            s.jobs,
            s.pods,
            s.nodes,
            s.gpus
        );
        let mut c = CaseResult::new(name, checks, 8, seed, false, detail.clone())
            .observed(Observation::new(
                f.violation.time,
                format!("{} of {}", kind.name(), f.violation.jobs.join(" and ")),
            ))
            .with_scenario(file);
        c.witness = Some(Box::new(w));
        c.witness_size = Some(format!(
            "{} jobs, {} pods, {} nodes, {} GPUs",
            s.jobs, s.pods, s.nodes, s.gpus
        ));
        let _ = ViolationKind::Deadlock;
        return c;
    }
    let verified = e.deadlock.is_verified() && e.livelock.is_verified();
    if !verified || !cov.complete {
        return CaseResult::new(
            name,
            checks,
            8,
            seed,
            false,
            format!(
                "no violation found but the exploration is not conclusive (deadlock {}, livelock {}, {coverage})",
                e.deadlock.label(),
                e.livelock.label()
            ),
        )
        .with_scenario(file);
    }
    // A plain run shows when each completes.
    let done = build(&yaml, &sp.name).and_then(run_traced).map(|t| {
        t.timeline
            .iter()
            .filter(|h| h.completed)
            .map(|h| h.at)
            .max()
    });
    let (at, when) = match done {
        Ok(Some(t)) => (
            t,
            format!("; in the seeded run both completed by {}", show_time(t)),
        ),
        _ => (SimTime::ZERO, String::new()),
    };
    CaseResult::new(
        name,
        checks,
        8,
        seed,
        true,
        format!("no deadlock and no livelock in any interleaving ({coverage}){when}"),
    )
    .observed(Observation::new(at, "both gangs completed"))
    .with_scenario(file)
}
