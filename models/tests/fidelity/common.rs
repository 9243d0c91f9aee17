//! What every fidelity suite shares: the file header, case metadata, the report and its
//! honesty checks (every modelled case passes or is a listed deviation; every listed
//! deviation really deviates; no case silently dropped).

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;

/// Where the upstream cases were read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub repo: String,
    pub version: String,
    pub file: String,
    pub function: String,
}

/// A modelled case that Orrery decides differently, kept with the reason.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownDeviation {
    pub case: String,
    pub reason: String,
}

/// One suite file: header, the test function's shared fixtures, its cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile<F, C> {
    pub upstream: Upstream,
    #[serde(default)]
    pub fixtures: F,
    pub cases: Vec<C>,
    #[serde(default)]
    pub known_deviations: Vec<KnownDeviation>,
}

/// `scenarios/fidelity/<rel>`.
pub fn data_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/fidelity")
        .join(rel)
}

/// Read and parse one suite file; a parse error names the file.
pub fn load<F, C>(rel: &str) -> SuiteFile<F, C>
where
    F: for<'de> Deserialize<'de> + Default,
    C: for<'de> Deserialize<'de>,
{
    let path = data_path(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// What running one case showed.
#[derive(Clone, Debug)]
pub enum Outcome {
    Pass,
    /// Orrery decided differently: what differed.
    Fail(String),
    /// The case needs features Orrery does not model (the reason names them).
    NotModelled(String),
}

/// A suite's results, in upstream case order.
#[derive(Debug)]
pub struct Report {
    pub suite: String,
    pub upstream: Upstream,
    pub results: Vec<(String, Outcome)>,
    pub known_deviations: Vec<KnownDeviation>,
}

impl Report {
    pub fn new<F, C>(suite: &str, file: &SuiteFile<F, C>) -> Report {
        Report {
            suite: suite.to_string(),
            upstream: file.upstream.clone(),
            results: Vec::new(),
            known_deviations: file.known_deviations.clone(),
        }
    }

    pub fn push(&mut self, case: &str, outcome: Outcome) {
        self.results.push((case.to_string(), outcome));
    }

    pub fn count(&self) -> (usize, usize, usize, usize) {
        let mut pass = 0;
        let mut fail = 0;
        let mut nm = 0;
        for (_, o) in &self.results {
            match o {
                Outcome::Pass => pass += 1,
                Outcome::Fail(_) => fail += 1,
                Outcome::NotModelled(_) => nm += 1,
            }
        }
        (self.results.len(), pass, fail, nm)
    }

    /// One Markdown table row: suite | transcribed | passing | known deviations | not modelled.
    pub fn row(&self) -> String {
        let (n, pass, fail, nm) = self.count();
        format!(
            "| {} | {} {} `{}` {} | {n} | {pass} | {fail} | {nm} |",
            self.suite,
            self.upstream.repo,
            self.upstream.version,
            self.upstream.file,
            self.upstream.function
        )
    }

    /// Print the report and fail on anything dishonest: a failing case that is not a listed
    /// deviation, a listed deviation that passes or does not exist, duplicate case names.
    pub fn check(&self) {
        let (n, pass, fail, nm) = self.count();
        println!(
            "{}: {n} cases, {pass} pass, {fail} known deviations, {nm} not modelled",
            self.suite
        );
        let mut names = BTreeSet::new();
        let mut problems = Vec::new();
        for (case, _) in &self.results {
            if !names.insert(case.as_str()) {
                problems.push(format!("duplicate case name {case:?}"));
            }
        }
        let listed: BTreeSet<&str> = self
            .known_deviations
            .iter()
            .map(|d| d.case.as_str())
            .collect();
        for (case, o) in &self.results {
            match o {
                Outcome::Fail(msg) if !listed.contains(case.as_str()) => {
                    problems.push(format!("FAIL {case:?}: {msg}"))
                }
                Outcome::Fail(msg) => println!("  known deviation {case:?}: {msg}"),
                Outcome::Pass if listed.contains(case.as_str()) => problems.push(format!(
                    "{case:?} is listed as a known deviation but passes: remove it from the list"
                )),
                Outcome::NotModelled(r) if listed.contains(case.as_str()) => problems.push(
                    format!("{case:?} is listed as a known deviation but is not modelled ({r})"),
                ),
                Outcome::NotModelled(r) => println!("  not modelled {case:?}: {r}"),
                Outcome::Pass => {}
            }
        }
        for d in &self.known_deviations {
            if !names.contains(d.case.as_str()) {
                problems.push(format!("known deviation {:?} names no case", d.case));
            }
        }
        assert!(
            problems.is_empty(),
            "{} ({}):\n{}",
            self.suite,
            self.upstream.function,
            problems.join("\n")
        );
    }
}

/// The generated part of `docs/fidelity.md`: the summary table, then per suite every case
/// not modelled and every known deviation with its reason.
pub fn markdown(reports: &[Report]) -> String {
    let mut out = String::new();
    out.push_str(
        "| suite | upstream | transcribed | passing | known deviations | not modelled |\n",
    );
    out.push_str("|---|---|---|---|---|---|\n");
    let (mut n, mut pass, mut fail, mut nm) = (0, 0, 0, 0);
    for r in reports {
        let c = r.count();
        n += c.0;
        pass += c.1;
        fail += c.2;
        nm += c.3;
        out.push_str(&r.row());
        out.push('\n');
    }
    let modelled = pass + fail;
    out.push_str(&format!(
        "| **all** | | **{n}** | **{pass}** | **{fail}** | **{nm}** |\n\n\
         Modelled cases: {modelled}; passing: {pass} ({}).\n",
        percent(pass, modelled)
    ));
    for r in reports {
        let deviations: Vec<&(String, Outcome)> = r
            .results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Fail(_)))
            .collect();
        let not_modelled: Vec<(&String, &String)> = r
            .results
            .iter()
            .filter_map(|(c, o)| match o {
                Outcome::NotModelled(why) => Some((c, why)),
                _ => None,
            })
            .collect();
        if deviations.is_empty() && not_modelled.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n### {} — `{}` {}\n",
            r.suite, r.upstream.file, r.upstream.function
        ));
        if !deviations.is_empty() {
            out.push_str("\nKnown deviations:\n\n");
            for (case, _) in deviations {
                let why = r
                    .known_deviations
                    .iter()
                    .find(|d| &d.case == case)
                    .map_or("", |d| d.reason.as_str());
                out.push_str(&format!("* {}: {}\n", md_case(case), one_line(why)));
            }
        }
        if !not_modelled.is_empty() {
            out.push_str("\nNot modelled:\n\n");
            for (case, why) in not_modelled {
                out.push_str(&format!("* {}: {}\n", md_case(case), one_line(why)));
            }
        }
    }
    out
}

fn percent(a: usize, b: usize) -> String {
    if b == 0 {
        "n/a".into()
    } else {
        format!("{:.1} %", a as f64 * 100.0 / b as f64)
    }
}

fn md_case(case: &str) -> String {
    format!("“{}”", case.replace('|', "\\|").replace('`', "'"))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
