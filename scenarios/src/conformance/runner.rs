//! Run the behaviour suites of one checklist against a profile and fill the scorecard.

use serde::Serialize;

use super::catalogue::{Catalogue, CatalogueError, Category, Level, Simulable};
use super::outcome::{CaseResult, Status};
use super::profile::Profile;
use super::provenance::{Basis, Provenance};
use super::suites;

/// One requirement's row of the scorecard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequirementScore {
    pub id: String,
    pub category: Category,
    pub kar: Option<String>,
    /// MUST or SHOULD in the scored version; `None` for draft rows.
    pub level: Option<Level>,
    pub draft: bool,
    pub condition: Option<String>,
    pub description: String,
    #[serde(flatten)]
    pub status: Status,
    pub cases: Vec<CaseResult>,
    /// Index in `cases` of the smallest failing case (by size, then case order).
    pub smallest_failing: Option<usize>,
    /// Whether the behaviour was simulated from the platform's configuration or rests on
    /// declared values ([`Scorecard::set_provenance`]; a hand-written profile: declared).
    pub basis: Basis,
}

impl RequirementScore {
    /// The smallest failing case, if any case failed.
    pub fn smallest_failing_case(&self) -> Option<&CaseResult> {
        self.smallest_failing.map(|i| &self.cases[i])
    }

    /// Whether a MUST of the scored version failed.
    pub fn must_failed(&self) -> bool {
        self.level == Some(Level::Must) && self.status == Status::Fail
    }
}

/// Counts for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub must_pass: u32,
    pub must_fail: u32,
    pub should_pass: u32,
    pub should_fail: u32,
    pub draft_pass: u32,
    pub draft_fail: u32,
    pub not_applicable: u32,
    pub not_simulable: u32,
}

/// The scorecard of one profile against one checklist version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scorecard {
    pub profile: String,
    /// The profile file as given on the command line (for replay commands).
    pub profile_path: String,
    pub version: String,
    pub seed: u64,
    pub requirements: Vec<RequirementScore>,
    pub summary: Summary,
}

impl Scorecard {
    /// Ids of the MUSTs that failed.
    pub fn failed_musts(&self) -> Vec<&str> {
        self.requirements
            .iter()
            .filter(|r| r.must_failed())
            .map(|r| r.id.as_str())
            .collect()
    }

    /// Mark every row with what its behaviour rests on (a profile read from objects).
    pub fn set_provenance(&mut self, p: &Provenance) {
        for r in &mut self.requirements {
            r.basis = p.basis(&r.id);
        }
    }

    pub fn requirement(&self, id: &str) -> Option<&RequirementScore> {
        self.requirements.iter().find(|r| r.id == id)
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ScoreOptions<'a> {
    pub version: &'a str,
    pub seed: u64,
    /// Only this requirement (replay); others are left out of the scorecard.
    pub only: Option<&'a str>,
    /// The profile's path as the user gave it, for replay commands.
    pub profile_path: &'a str,
}

/// Errors before any suite runs.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error(
        "--only {id:?}: not a requirement of the {version} checklist or a draft row (known: {known})"
    )]
    UnknownRequirement {
        id: String,
        version: String,
        known: String,
    },
}

/// Score `profile` against the `opts.version` checklist of `catalogue`.
///
/// `progress` is called before each suite runs with (requirement id, index, total).
pub fn score(
    profile: &Profile,
    catalogue: &Catalogue,
    opts: &ScoreOptions<'_>,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<Scorecard, ScoreError> {
    let list = catalogue.checklist(opts.version)?;
    if let Some(only) = opts.only
        && !list.iter().any(|(r, _)| r.id == only)
    {
        return Err(ScoreError::UnknownRequirement {
            id: only.to_string(),
            version: opts.version.to_string(),
            known: list
                .iter()
                .map(|(r, _)| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let list: Vec<_> = list
        .into_iter()
        .filter(|(r, _)| opts.only.is_none_or(|o| o == r.id))
        .collect();
    let total = list.len();
    let mut rows = Vec::with_capacity(total);
    let mut summary = Summary::default();
    for (i, (req, level)) in list.into_iter().enumerate() {
        progress(&req.id, i, total);
        let (status, cases) = match (&req.simulable, suites::find(&req.id)) {
            (Simulable::No(reason), _) => (Status::NotSimulable(reason.clone()), Vec::new()),
            (Simulable::Yes, None) => (
                Status::NotSimulable("no behaviour suite models it yet".into()),
                Vec::new(),
            ),
            (Simulable::Yes, Some(suite)) => match (suite.not_applicable)(profile) {
                Some(reason) => (Status::NotApplicable(reason), Vec::new()),
                None => {
                    let mut cases = (suite.run)(profile, opts.seed);
                    // A suite without cases proves nothing: never a pass.
                    if cases.is_empty() {
                        cases.push(CaseResult::new(
                            "no-cases",
                            "the suite runs at least one case",
                            0,
                            opts.seed,
                            false,
                            "the suite ran no case, so nothing shows the behaviour",
                        ));
                    }
                    let status = if cases.iter().all(|c| c.passed) {
                        Status::Pass
                    } else {
                        Status::Fail
                    };
                    (status, cases)
                }
            },
        };
        let smallest_failing = cases
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.passed)
            .min_by_key(|(i, c)| (c.size, *i))
            .map(|(i, _)| i);
        match (&status, level, req.draft) {
            (Status::NotApplicable(_), _, _) => summary.not_applicable += 1,
            (Status::NotSimulable(_), _, _) => summary.not_simulable += 1,
            (s, _, true) => bump(s, &mut summary.draft_pass, &mut summary.draft_fail),
            (s, Some(Level::Must), _) => bump(s, &mut summary.must_pass, &mut summary.must_fail),
            (s, _, _) => bump(s, &mut summary.should_pass, &mut summary.should_fail),
        }
        rows.push(RequirementScore {
            id: req.id.clone(),
            category: req.category,
            kar: req.kar.clone(),
            level,
            draft: req.draft,
            condition: req.condition.clone(),
            description: req.description.clone(),
            status,
            basis: Provenance::hand_written(opts.profile_path).basis(&req.id),
            cases,
            smallest_failing,
        });
    }
    Ok(Scorecard {
        profile: profile.name.clone(),
        profile_path: opts.profile_path.to_string(),
        version: opts.version.to_string(),
        seed: opts.seed,
        requirements: rows,
        summary,
    })
}

fn bump(s: &Status, pass: &mut u32, fail: &mut u32) {
    if *s == Status::Pass {
        *pass += 1;
    } else {
        *fail += 1;
    }
}
