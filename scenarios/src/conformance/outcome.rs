//! What a behaviour suite reports: one result per case, with the evidence a reviewer
//! needs (the scenario, the seed, the decisive event and its simulated time, how to replay
//! it), and the per-requirement status derived from the cases.

use serde::Serialize;
use sim_core::SimTime;

/// One observed event, at its simulated time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// Simulated time, nanoseconds since the case's start.
    pub at_ns: u64,
    pub event: String,
}

impl Observation {
    pub fn new(at: SimTime, event: impl Into<String>) -> Observation {
        Observation {
            at_ns: at.as_nanos(),
            event: event.into(),
        }
    }

    /// The time as seconds, for display (`123.5s`).
    pub fn at_display(&self) -> String {
        format_secs(self.at_ns)
    }
}

/// A simulated time shown as seconds (`70s`, `0.014s`).
pub fn show_time(t: SimTime) -> String {
    format_secs(t.as_nanos())
}

/// Nanoseconds shown as seconds with up to 3 decimals (`0s`, `12.5s`).
pub fn format_secs(ns: u64) -> String {
    let ms = ns / 1_000_000;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        format!("{}s", s.trim_end_matches('0'))
    }
}

/// A scenario file a case ran, written beside the scorecard so the case can be replayed
/// with the ordinary commands (`orrery run`, `orrery verify`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseScenario {
    /// File name under `cases/<requirement>/`.
    pub file: String,
    #[serde(skip)]
    pub yaml: String,
    /// Command that replays it, relative to the output directory (`{file}` is the path).
    pub command: String,
}

/// One case of a suite and its verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseResult {
    /// Short, stable name (`capacity-below-n`).
    pub case: String,
    /// What the case checks, one line.
    pub checks: String,
    /// Size of the case (pods, replicas, nodes …): among failing cases the smallest is
    /// reported as the smallest failing case.
    pub size: u32,
    pub seed: u64,
    pub passed: bool,
    /// The decisive event: for a pass, the event that shows the behaviour; for a failure,
    /// the first event that breaks it.
    pub observed: Option<Observation>,
    /// Why the case passed or failed, one or two sentences with the numbers.
    pub detail: String,
    /// Key events of the run, in time order (shown when the case is replayed).
    pub log: Vec<Observation>,
    /// The scenario file, when the case is an ordinary scenario.
    pub scenario: Option<CaseScenario>,
    /// A shrunk, replayable counterexample (`orrery replay-witness`), when the case found
    /// a deadlock or livelock.
    #[serde(skip)]
    pub witness: Option<Box<models::verify::Witness>>,
    /// The shrunk counterexample's size, when there is a witness: jobs, pods, nodes, GPUs.
    pub witness_size: Option<String>,
}

impl CaseResult {
    /// A case with a verdict, no log and no scenario file yet.
    pub fn new(
        case: &str,
        checks: &str,
        size: u32,
        seed: u64,
        passed: bool,
        detail: impl Into<String>,
    ) -> CaseResult {
        CaseResult {
            case: case.into(),
            checks: checks.into(),
            size,
            seed,
            passed,
            observed: None,
            detail: detail.into(),
            log: Vec::new(),
            scenario: None,
            witness: None,
            witness_size: None,
        }
    }

    /// A case judged by `verdict`: `Ok((time, detail))` passed, `Err((time, detail))`
    /// failed; the time and detail become the observed event.
    pub fn judged(
        case: &str,
        checks: &str,
        size: u32,
        seed: u64,
        verdict: Result<(SimTime, String), (SimTime, String)>,
    ) -> CaseResult {
        let (passed, (at, detail)) = match verdict {
            Ok(v) => (true, v),
            Err(v) => (false, v),
        };
        CaseResult::new(case, checks, size, seed, passed, detail.clone())
            .observed(Observation::new(at, detail))
    }

    /// Set the decisive event (`None` leaves the case without one).
    pub fn observed(mut self, o: impl Into<Option<Observation>>) -> CaseResult {
        self.observed = o.into();
        self
    }

    pub fn with_log(mut self, log: Vec<Observation>) -> CaseResult {
        self.log = log;
        self
    }

    pub fn with_scenario(mut self, s: CaseScenario) -> CaseResult {
        self.scenario = Some(s);
        self
    }
}

/// A requirement's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason")]
pub enum Status {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
    /// A conditional requirement whose condition the profile does not meet (no cluster
    /// autoscaler, no HPA), with the reason.
    #[serde(rename = "N/A")]
    NotApplicable(String),
    /// A simulation cannot judge it, with the reason. Never counted as passed.
    #[serde(rename = "NOT SIMULABLE")]
    NotSimulable(String),
}

impl Status {
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotApplicable(_) => "N/A",
            Status::NotSimulable(_) => "NOT SIMULABLE",
        }
    }
}
