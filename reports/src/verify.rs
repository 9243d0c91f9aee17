//! `orrery verify` output: `verify.md`, `verify.json`, the witness and its wait-for graph.
//!
//! Everything here is a function of the inputs and the budget (no wall-clock time), so the
//! same verification writes the same bytes.

use std::fmt::Write as _;

use models::verify::{
    Coverage, Exploration, ExploreOptions, Found, MitigationResult, ScheduleRun, Shrunk, Verdict,
    Violation, Witness, to_dot,
};
use serde::Serialize;

use crate::write::ReportError;

/// Everything `verify.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub scenario: String,
    pub policy: String,
    /// The search, in words ("random: 1000 schedules, seeds 42..1041").
    pub mode: String,
    pub options: ExploreOptions,
    pub exploration: Exploration,
    /// The violation found, shrunk (when shrinking was asked for).
    pub shrunk: Option<Shrunk>,
    /// Jobs of the scenario that cannot run even alone on its cluster (a violation that
    /// involves them is not contention between jobs).
    pub unable_to_run_alone: Vec<String>,
    /// Each mitigation re-checked on the original scenario and on the shrunk witness.
    pub mitigations: Vec<MitigationResult>,
    /// Command that re-runs the witness, relative to the output directory (no path is
    /// written, so the same verification into two folders gives the same bytes).
    pub replay_command: Option<String>,
    /// An interrupt (Ctrl-C) stopped the run before it finished: what is written is what
    /// it had (`exploration.coverage.interrupted` says whether it cut the exploration).
    pub interrupted: bool,
    /// What the interrupt cut short after the exploration, in words ("the witness was not
    /// shrunk", …); empty when it cut nothing there.
    pub cut_short: Vec<String>,
    /// Interchangeable nodes were merged at ties (not when listed node events or the
    /// cluster autoscaler tell nodes apart by index). Only for `verify.md`'s wording.
    #[serde(skip)]
    pub nodes_merged: bool,
}

fn verdict(v: Verdict) -> &'static str {
    v.label()
}

/// A property's verdict with what it rests on, e.g. `VERIFIED (exhaustive coverage
/// complete: 11 schedules, 19 states)`, `NO VIOLATION FOUND in 1000 schedules (random
/// mode: not a proof)`, `INCONCLUSIVE: bound reached after 20 schedules / 31 states`.
pub fn verdict_line(v: Verdict, c: &Coverage) -> String {
    match v {
        Verdict::Verified(_) => format!(
            "VERIFIED (exhaustive coverage complete: {} schedules, {} states)",
            c.schedules, c.distinct_states
        ),
        Verdict::Violation => "VIOLATION".to_string(),
        Verdict::NoneFound => {
            let why = if c.depth_bound_hit {
                "exhaustive up to the depth bound only"
            } else if c.horizon_hits > 0 {
                "schedules cut at the horizon"
            } else {
                "random mode"
            };
            format!(
                "NO VIOLATION FOUND in {} schedules ({why}: not a proof)",
                c.schedules
            )
        }
        Verdict::Inconclusive => {
            let mut why = Vec::new();
            if c.interrupted {
                why.push(format!(
                    "interrupted after {} schedules / {} states, deepest {} choices (coverage not complete)",
                    c.schedules, c.distinct_states, c.max_depth_reached
                ));
            }
            if c.budget_exhausted {
                why.push(format!(
                    "bound reached after {} schedules / {} states, deepest {} choices (coverage not complete)",
                    c.schedules, c.distinct_states, c.max_depth_reached
                ));
            }
            if c.event_budget_hits > 0 {
                why.push(format!(
                    "{} schedule(s) hit the per-schedule event budget",
                    c.event_budget_hits
                ));
            }
            if let Some(g) = guard_line(c) {
                why.push(g);
            }
            if c.state_graph_cycles > 0 {
                why.push(format!(
                    "{} state-graph cycle(s) through a waiting state that no run closed",
                    c.state_graph_cycles
                ));
            }
            if why.is_empty() {
                why.push(format!(
                    "exploration stopped at the first violation after {} schedules (coverage not complete)",
                    c.schedules
                ));
            }
            format!("INCONCLUSIVE: {}", why.join("; "))
        }
    }
}

/// `a schedule hit the model's no-progress guard at T: WHY` (with how many did), when one
/// did: such a schedule ended early, so nothing is claimed for it.
pub fn guard_line(c: &Coverage) -> Option<String> {
    let g = c.first_guard.as_ref()?;
    let more = if c.guard_hits > 1 {
        format!(" ({} schedules in all hit it)", c.guard_hits)
    } else {
        String::new()
    };
    Some(format!(
        "a schedule hit the model's no-progress guard at {}: {} (schedule #{}{}){more}",
        g.time,
        g.why,
        g.schedule,
        g.seed.map(|s| format!(", seed {s}")).unwrap_or_default()
    ))
}

/// One line: the bound under which a VERIFIED holds.
pub fn bound(mode: &str, c: &Coverage) -> String {
    if c.complete {
        format!(
            "{mode}; coverage complete: every schedule explored ({} runs, {} distinct states)",
            c.schedules, c.distinct_states
        )
    } else if c.interrupted {
        format!(
            "{mode}; coverage NOT complete (incomplete run): interrupted after {} schedules, {} states, deepest {} choices",
            c.schedules, c.distinct_states, c.max_depth_reached
        )
    } else if c.budget_exhausted {
        format!(
            "{mode}; coverage NOT complete (incomplete run): the budget ran out after {} schedules, {} states, deepest {} choices",
            c.schedules, c.distinct_states, c.max_depth_reached
        )
    } else if c.depth_bound_hit {
        format!(
            "{mode}; coverage complete up to the depth bound only ({} runs)",
            c.schedules
        )
    } else {
        format!("{mode}; {} schedules explored", c.schedules)
    }
}

fn enc(what: &'static str, e: serde_json::Error) -> ReportError {
    ReportError::Encode {
        what,
        msg: e.to_string(),
    }
}

pub fn verify_json(r: &VerifyReport) -> Result<Vec<u8>, ReportError> {
    let mut v = serde_json::to_vec_pretty(r).map_err(|e| enc("verify.json", e))?;
    v.push(b'\n');
    Ok(v)
}

pub fn witness_json(w: &Witness) -> Result<Vec<u8>, ReportError> {
    let mut v = serde_json::to_vec_pretty(w).map_err(|e| enc("witness.json", e))?;
    v.push(b'\n');
    Ok(v)
}

/// The replayed violation as `violation.json` (what `replay-witness` writes too).
pub fn violation_json(run: &ScheduleRun) -> Result<Vec<u8>, ReportError> {
    #[derive(Serialize)]
    struct Out<'a> {
        end: models::verify::ScheduleEnd,
        events: u64,
        engine_fingerprint: String,
        choices: usize,
        violation: Option<&'a Violation>,
    }
    let o = Out {
        end: run.end,
        events: run.events,
        engine_fingerprint: format!("{:016x}", run.engine_fingerprint),
        choices: run.choices.len(),
        violation: run.violation.as_ref(),
    };
    let mut v = serde_json::to_vec_pretty(&o).map_err(|e| enc("violation.json", e))?;
    v.push(b'\n');
    Ok(v)
}

/// The wait-for graph of a violation as Graphviz DOT.
pub fn waitfor_dot(v: &Violation, scenario: &str) -> Vec<u8> {
    let title = format!(
        "{}: {} at {} ({})",
        scenario,
        v.kind.name(),
        v.time,
        v.jobs.join(", ")
    );
    to_dot(&v.snapshot, &title).into_bytes()
}

fn state_table(o: &mut String, v: &Violation) {
    let _ = writeln!(o, "| job | holds / needs GPUs | pods |");
    let _ = writeln!(o, "|---|---|---|");
    for j in &v.snapshot.jobs {
        let pods: Vec<String> = j
            .pods
            .iter()
            .map(|p| match &p.node {
                Some(n) => format!("{} {} on {} (GPU {:?})", p.pod, p.phase, n, p.gpus),
                None => format!("{} pending", p.pod),
            })
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} / {} | {} |",
            j.id,
            j.holds_gpus,
            j.needs_gpus,
            pods.join("; ")
        );
    }
    let _ = writeln!(o);
    if !v.snapshot.wait_for.is_empty() {
        let _ = writeln!(o, "Wait-for edges:");
        let _ = writeln!(o);
        for e in &v.snapshot.wait_for {
            let _ = writeln!(o, "- {} → {}: {}", e.from, e.to, e.label);
        }
        let _ = writeln!(o);
    }
    for c in &v.snapshot.cycles {
        let mut cyc = c.clone();
        if let Some(f) = c.first() {
            cyc.push(f.clone());
        }
        let _ = writeln!(o, "Cycle: {}", cyc.join(" → "));
        let _ = writeln!(o);
    }
}

fn found_section(o: &mut String, title: &str, f: &Found) {
    let _ = writeln!(o, "## {title}");
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", f.violation.detail);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Schedule #{}{} at simulated time {}; {} choices: `{}`",
        f.schedule,
        f.seed.map(|s| format!(" (seed {s})")).unwrap_or_default(),
        f.violation.time,
        f.choices.len(),
        abbreviate(&f.choices)
    );
    let _ = writeln!(o);
    state_table(o, &f.violation);
}

fn abbreviate(c: &[u32]) -> String {
    let s: Vec<String> = c.iter().take(60).map(u32::to_string).collect();
    if c.len() > 60 {
        format!("{} … ({} more)", s.join(","), c.len() - 60)
    } else {
        s.join(",")
    }
}

/// `verify.md`.
pub fn verify_md(r: &VerifyReport) -> String {
    let e = &r.exploration;
    let c = &e.coverage;
    let mut o = String::new();
    let _ = writeln!(o, "# Verification: {} under `{}`", r.scenario, r.policy);
    let _ = writeln!(o);
    let _ = writeln!(o, "| property | verdict |");
    let _ = writeln!(o, "|---|---|");
    let _ = writeln!(
        o,
        "| deadlock freedom | **{}** |",
        verdict_line(e.deadlock, c)
    );
    let _ = writeln!(
        o,
        "| livelock freedom (no schedule that can repeat for ever with a job waiting) | **{}** |",
        verdict_line(e.livelock, c)
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "Bound: {}.", bound(&r.mode, c));
    let _ = writeln!(o);
    if c.interrupted || c.budget_exhausted || c.event_budget_hits > 0 || c.guard_hits > 0 {
        let _ = writeln!(
            o,
            "**Incomplete**: {}; what is written here is what it explored, and nothing is claimed for the rest.",
            if c.interrupted {
                "the exploration was interrupted (Ctrl-C)"
            } else if c.budget_exhausted {
                "the exploration stopped at its schedule budget"
            } else if c.event_budget_hits > 0 {
                "some schedules stopped at their event budget"
            } else {
                "some schedules were stopped by the model's no-progress guard"
            }
        );
        let _ = writeln!(o);
    }
    if !r.cut_short.is_empty() {
        let _ = writeln!(
            o,
            "**Interrupted** (Ctrl-C) after the exploration: {}.",
            r.cut_short.join("; ")
        );
        let _ = writeln!(o);
    }
    if let Some(g) = guard_line(c) {
        let _ = writeln!(
            o,
            "Model guard: {g}. Such a schedule is neither finished nor a violation: it counts as inconclusive."
        );
        let _ = writeln!(o);
    }
    if !r.unable_to_run_alone.is_empty() {
        let _ = writeln!(
            o,
            "Note: {} cannot run even alone on this cluster (under this policy and configuration): a violation involving them is not contention between jobs.",
            r.unable_to_run_alone.join(", ")
        );
        let _ = writeln!(o);
    }
    if c.state_graph_cycles > 0 && e.livelock_found.is_none() {
        let _ = writeln!(
            o,
            "Livelock INCONCLUSIVE: the explored state graph has {} cycle(s) through a state with a waiting job that no explored schedule closed on its own path (pruning hid them), so there is no replayable witness and no proof of freedom.",
            c.state_graph_cycles
        );
        let _ = writeln!(o);
    }
    let _ = writeln!(
        o,
        "Choice points: simultaneous-event order {}, pod interleaving of jobs created together {}, node ties ({}){}{}.",
        if r.options.event_order { "on" } else { "off" },
        if r.options.pod_order { "on" } else { "off" },
        if r.nodes_merged {
            "interchangeable nodes merged"
        } else {
            "every node apart: listed node events or the autoscaler tell nodes apart"
        },
        match r.options.jitter {
            Some(j) => format!(
                ", arrival jitter up to {j} in {} steps",
                r.options.jitter_steps
            ),
            None => String::new(),
        },
        if r.options.failures > 0 {
            format!(
                ", node failures (at the end of every instant any one Ready node may fail, up to {} per schedule, {})",
                r.options.failures,
                r.options
                    .mttr
                    .map_or("never repaired".to_string(), |d| format!(
                        "repaired after {d}"
                    ))
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "## Coverage");
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| schedules | distinct states | deepest schedule (choices) | pruned (state seen) | closed cycles | hit event budget | complete |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} | {} |",
        c.schedules,
        c.distinct_states,
        c.max_depth_reached,
        c.pruned,
        c.cycles,
        c.event_budget_hits,
        if c.complete {
            "yes"
        } else if c.interrupted {
            "no (interrupted)"
        } else {
            "no"
        }
    );
    let _ = writeln!(o);
    if let Some(f) = &e.deadlock_found {
        found_section(&mut o, "Deadlock found", f);
    }
    if let Some(f) = &e.livelock_found {
        found_section(&mut o, "Livelock found", f);
    }
    if let Some(s) = &r.shrunk {
        let _ = writeln!(o, "## Minimal counterexample");
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Shrunk by delta debugging ({} candidates tried{}) to **{} jobs, {} pods, {} nodes ({} GPUs)**:",
            s.attempts,
            if s.interrupted {
                "; interrupted, so the smallest found so far, not necessarily minimal"
            } else {
                ""
            },
            s.jobs,
            s.pods,
            s.nodes,
            s.gpus
        );
        let _ = writeln!(o);
        for j in &s.witness.problem.workload.jobs {
            let pods: Vec<String> = j.pods.iter().map(models::sim::describe_request).collect();
            let _ = writeln!(o, "- job {}: {}", j.id, pods.join(" + "));
        }
        for n in &s.witness.problem.spec.nodes {
            let _ = writeln!(o, "- node {}: {} GPUs", n.name, n.gpus);
        }
        let _ = writeln!(o);
        if s.unable_to_run_alone.is_empty() {
            let _ = writeln!(
                o,
                "Every job of it runs when alone on this cluster: the violation is contention between jobs, of the same kind as the one found."
            );
        } else {
            let _ = writeln!(
                o,
                "Not a contention violation: {} cannot run even alone on this cluster (already so in the original scenario).",
                s.unable_to_run_alone.join(", ")
            );
        }
        let _ = writeln!(o);
        state_table(&mut o, &s.found.violation);
        let _ = writeln!(
            o,
            "The witness is `witness.json`; its wait-for graph is `waitfor.dot` (`dot -Tsvg waitfor.dot > waitfor.svg`)."
        );
        let _ = writeln!(o);
    }
    if let Some(cmd) = &r.replay_command {
        let _ = writeln!(o, "Replay (from this folder): `{cmd}`");
        let _ = writeln!(o);
    }
    if !r.mitigations.is_empty() {
        let _ = writeln!(
            o,
            "## Mitigations (re-checked on the original scenario and on the shrunk witness)"
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "| mitigation | setting | scenario | deadlock | livelock | schedules | note |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for m in &r.mitigations {
            let rows = std::iter::once(("original", &m.original))
                .chain(m.shrunk.as_ref().map(|s| ("shrunk witness", s)));
            for (which, ch) in rows {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {}{} | {} |",
                    m.name,
                    m.setting,
                    which,
                    verdict(ch.deadlock),
                    verdict(ch.livelock),
                    ch.schedules,
                    if ch.complete { " (complete)" } else { "" },
                    ch.note
                );
            }
        }
        let _ = writeln!(o);
        let _ = writeln!(o, "Verdicts:");
        let _ = writeln!(o);
        for m in &r.mitigations {
            let _ = writeln!(o, "- **{}**: {}", m.name, m.label);
        }
        let _ = writeln!(o);
    }
    o
}

#[cfg(test)]
mod tests {
    use models::verify::GuardHit;
    use sim_core::SimTime;

    use super::*;

    #[test]
    fn a_guard_hit_is_named_in_the_inconclusive_line() {
        let mut c = Coverage {
            schedules: 20,
            ..Coverage::default()
        };
        assert_eq!(guard_line(&c), None);
        c.guard_hits = 2;
        c.first_guard = Some(GuardHit {
            schedule: 3,
            seed: Some(45),
            time: SimTime::ZERO,
            why: "no progress: 9 events at the one instant 0s".into(),
        });
        let line = verdict_line(Verdict::Inconclusive, &c);
        assert!(
            line.starts_with("INCONCLUSIVE: a schedule hit the model's no-progress guard at ")
                && line.contains(": no progress: 9 events at the one instant 0s (schedule #3, seed 45) (2 schedules in all hit it)"),
            "{line}"
        );
    }

    #[test]
    fn an_interrupted_exploration_says_so_and_how_far_it_got() {
        let c = Coverage {
            schedules: 512,
            distinct_states: 700,
            max_depth_reached: 9,
            interrupted: true,
            ..Coverage::default()
        };
        assert_eq!(
            verdict_line(Verdict::Inconclusive, &c),
            "INCONCLUSIVE: interrupted after 512 schedules / 700 states, deepest 9 choices (coverage not complete)"
        );
        let b = bound("exhaustive: at most 1000 schedules", &c);
        assert!(
            b.ends_with(
                "coverage NOT complete (incomplete run): interrupted after 512 schedules, 700 states, deepest 9 choices"
            ),
            "{b}"
        );
        // Not interrupted: no such words.
        let whole = Coverage {
            interrupted: false,
            budget_exhausted: true,
            ..c
        };
        assert!(!verdict_line(Verdict::Inconclusive, &whole).contains("interrupted"));
        assert!(!bound("m", &whole).contains("interrupted"));
    }
}
