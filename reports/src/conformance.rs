//! The conformance scorecard as files: `scorecard.md`, `scorecard.json`, a draft
//! `self-assessment.yaml` in the shape of the programme's `PRODUCT.yaml`, and every case's
//! scenario file and witness under `cases/<requirement>/`.
//!
//! Nothing here reads a clock: the same scorecard gives the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use scenarios::conformance::{
    CaseResult, Category, Level, Profile, RequirementScore, Scorecard, Status,
};
use serde_json::{Value, json};

use crate::ReportError;

/// The command that replays one case and prints its event log.
pub fn replay_command(card: &Scorecard, req: &str, case: &CaseResult) -> String {
    format!(
        "orrery conformance --profile {} --version {} --seed {} --only {req} --case {}",
        card.profile_path, card.version, case.seed, case.case
    )
}

/// Path of a case's scenario file, relative to the output directory.
pub fn case_file_path(req: &str, case: &CaseResult) -> Option<String> {
    case.scenario
        .as_ref()
        .map(|s| format!("cases/{req}/{}", s.file))
}

/// Path of a case's witness, relative to the output directory.
pub fn witness_path(req: &str, case: &CaseResult) -> Option<String> {
    case.witness
        .as_ref()
        .map(|_| format!("cases/{req}/{}.witness.json", case.case))
}

fn scenario_command(req: &str, case: &CaseResult) -> Option<String> {
    let (s, path) = (case.scenario.as_ref()?, case_file_path(req, case)?);
    Some(s.command.replace("{file}", &path))
}

fn level_text(r: &RequirementScore) -> &'static str {
    match (r.draft, r.level) {
        (true, _) => "draft",
        (_, Some(l)) => l.name(),
        (_, None) => "-",
    }
}

fn category_key(c: Category) -> &'static str {
    match c {
        Category::Accelerators => "accelerators",
        Category::Networking => "networking",
        Category::SchedulingOrchestration => "schedulingOrchestration",
        Category::Observability => "observability",
        Category::Security => "security",
        Category::Operator => "operator",
        Category::Storage => "storage",
    }
}

/// `MUST 8 pass / 0 fail · SHOULD … · draft … · N/A … · not simulable …`.
pub fn summary_line(card: &Scorecard) -> String {
    let m = &card.summary;
    format!(
        "MUST {} pass / {} fail · SHOULD {} pass / {} fail · draft rows {} pass / {} fail · N/A {} · not simulable {}",
        m.must_pass,
        m.must_fail,
        m.should_pass,
        m.should_fail,
        m.draft_pass,
        m.draft_fail,
        m.not_applicable,
        m.not_simulable
    )
}

/// `scorecard.md`.
pub fn scorecard_md(card: &Scorecard) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# AI Conformance scorecard: `{}` against the {} checklist\n",
        card.profile, card.version
    );
    let _ = writeln!(
        s,
        "Simulated with Orrery (seed {}). Profile: `{}`. Every case below replays with the command given.\n",
        card.seed, card.profile_path
    );
    let _ = writeln!(s, "**{}**\n", summary_line(card));
    let failed = card.failed_musts();
    if failed.is_empty() {
        let _ = writeln!(s, "No MUST failed.\n");
    } else {
        let _ = writeln!(s, "Failed MUSTs: {}.\n", failed.join(", "));
    }
    let _ = writeln!(
        s,
        "| Requirement | Level | Status | Basis | Cases | Evidence |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for r in &card.requirements {
        let passed = r.cases.iter().filter(|c| c.passed).count();
        let evidence = match &r.status {
            Status::NotApplicable(why) | Status::NotSimulable(why) => why.clone(),
            _ => match r.smallest_failing_case() {
                Some(c) => format!(
                    "smallest failing case `{}`: {}",
                    c.case,
                    c.observed
                        .as_ref()
                        .map(|o| format!("at {}: {}", o.at_display(), o.event))
                        .unwrap_or_else(|| c.detail.clone())
                ),
                None => r
                    .cases
                    .iter()
                    .find_map(|c| c.observed.as_ref())
                    .map(|o| format!("at {}: {}", o.at_display(), o.event))
                    .unwrap_or_default(),
            },
        };
        let _ = writeln!(
            s,
            "| [`{}`](#{}) | {} | **{}** | {} | {} | {} |",
            r.id,
            r.id.replace('_', "-"),
            level_text(r),
            r.status.label(),
            r.basis.basis,
            if r.cases.is_empty() {
                "-".to_string()
            } else {
                format!("{passed}/{}", r.cases.len())
            },
            evidence.replace('|', "\\|").replace('\n', " ")
        );
    }
    for r in &card.requirements {
        let _ = writeln!(s, "\n## {}\n", r.id);
        let _ = writeln!(
            s,
            "{} · {} · **{}**{}\n",
            category_key(r.category),
            match (r.draft, r.level) {
                (true, _) => "draft row (in no checklist yet)".to_string(),
                (_, Some(l)) => format!("{} in {}", l.name(), card.version),
                _ => String::new(),
            },
            r.status.label(),
            r.kar
                .as_ref()
                .map(|k| format!(" · {k}"))
                .unwrap_or_default()
        );
        let _ = writeln!(s, "{}\n", r.description);
        if let Some(c) = &r.condition {
            let _ = writeln!(s, "Condition: {c}.\n");
        }
        if r.basis.basis != "-" {
            let _ = write!(s, "Basis: {}", r.basis.basis);
            if !r.basis.declared.is_empty() {
                let _ = write!(s, "; declared: {}", r.basis.declared.join(", "));
            }
            if !r.basis.configured_from.is_empty() {
                let _ = write!(s, "; read from: {}", r.basis.configured_from.join(", "));
            }
            let _ = writeln!(s, ".\n");
        }
        match &r.status {
            Status::NotApplicable(why) => {
                let _ = writeln!(s, "N/A: {why}.");
                continue;
            }
            Status::NotSimulable(why) => {
                let _ = writeln!(s, "Not simulable: {why}");
                continue;
            }
            _ => {}
        }
        if let Some(c) = r.smallest_failing_case() {
            let _ = writeln!(
                s,
                "Smallest failing case: `{}` (size {}){}.\n",
                c.case,
                c.size,
                c.witness_size
                    .as_ref()
                    .map(|w| format!(", shrunk to {w}"))
                    .unwrap_or_default()
            );
        }
        for c in &r.cases {
            let _ = writeln!(
                s,
                "- **{}** `{}`: {}",
                if c.passed { "pass" } else { "FAIL" },
                c.case,
                c.checks
            );
            if let Some(o) = &c.observed {
                let _ = writeln!(s, "  - observed at {}: {}", o.at_display(), o.event);
            }
            if c.observed.as_ref().is_none_or(|o| o.event != c.detail) {
                let _ = writeln!(s, "  - {}", c.detail);
            }
            if let Some(cmd) = scenario_command(&r.id, c) {
                let _ = writeln!(s, "  - scenario: `{cmd}`");
            }
            if let Some(w) = witness_path(&r.id, c) {
                let _ = writeln!(s, "  - witness: `orrery replay-witness {w}`");
            }
            let _ = writeln!(s, "  - replay: `{}`", replay_command(card, &r.id, c));
        }
    }
    s
}

fn case_json(card: &Scorecard, req: &str, c: &CaseResult) -> Value {
    json!({
        "case": c.case,
        "checks": c.checks,
        "passed": c.passed,
        "size": c.size,
        "seed": c.seed,
        "observed": c.observed.as_ref().map(|o| json!({
            "at_ns": o.at_ns,
            "at": o.at_display(),
            "event": o.event,
        })),
        "detail": c.detail,
        "scenario_file": case_file_path(req, c),
        "scenario_command": scenario_command(req, c),
        "witness": witness_path(req, c),
        "witness_size": c.witness_size,
        "replay": replay_command(card, req, c),
    })
}

/// `scorecard.json`.
pub fn scorecard_json(card: &Scorecard) -> Result<Vec<u8>, ReportError> {
    let reqs: Vec<Value> = card
        .requirements
        .iter()
        .map(|r| {
            let (status, reason) = match &r.status {
                Status::NotApplicable(w) | Status::NotSimulable(w) => {
                    (r.status.label(), Some(w.clone()))
                }
                s => (s.label(), None),
            };
            json!({
                "id": r.id,
                "category": category_key(r.category),
                "kar": r.kar,
                "level": r.level.map(Level::name),
                "draft": r.draft,
                "condition": r.condition,
                "description": r.description,
                "status": status,
                "reason": reason,
                "basis": r.basis.basis,
                "declared_inputs": r.basis.declared,
                "configured_from": r.basis.configured_from,
                "smallest_failing_case": r.smallest_failing_case().map(|c| c.case.clone()),
                "cases": r.cases.iter().map(|c| case_json(card, &r.id, c)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let v = json!({
        "orrery_version": env!("CARGO_PKG_VERSION"),
        "profile": card.profile,
        "profile_path": card.profile_path,
        "version": card.version,
        "seed": card.seed,
        "summary": card.summary,
        "failed_musts": card.failed_musts(),
        "requirements": reqs,
    });
    let mut out = serde_json::to_vec_pretty(&v).map_err(|e| ReportError::Encode {
        what: "scorecard.json",
        msg: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

/// A YAML double-quoted string (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `self-assessment.yaml`: a draft of the checklist file platforms submit
/// (`vX.Y/<product>/PRODUCT.yaml`), filled from the results. Statuses: PASS →
/// `Implemented`, FAIL → `Not Implemented`, N/A → `N/A` with the reason as notes; not
/// simulable requirements are left empty for the platform team to fill. Draft rows are
/// not checklist items and are listed in a comment only.
pub fn self_assessment_yaml(card: &Scorecard, profile: &Profile) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# DRAFT self-assessment for the Kubernetes AI Conformance v{} checklist, generated by\n\
         # `orrery conformance` from profile {:?} (seed {}).\n\
         # Simulated evidence is not evidence the programme accepts: before submitting, copy the\n\
         # checklist's verbatim `description` fields from docs/AIConformance-{}.yaml of\n\
         # cncf/k8s-ai-conformance, replace the evidence with links to real test output, and fill\n\
         # every empty status. Every MUST must be `Implemented` to pass the programme's validator.",
        card.version, card.profile, card.seed, card.version
    );
    let meta = &profile.platform;
    let _ = writeln!(s, "metadata:");
    let _ = writeln!(s, "  kubernetesVersion: v{}", card.version);
    let _ = writeln!(s, "  platformName: {}", q(&meta.name));
    let _ = writeln!(s, "  platformVersion: {}", q(&meta.version));
    let _ = writeln!(s, "  vendorName: {}", q(&meta.vendor));
    let _ = writeln!(s, "  websiteUrl: {}", q(&meta.website));
    let _ = writeln!(s, "  documentationUrl: \"\"");
    let _ = writeln!(s, "  productLogoUrl: \"\"");
    let _ = writeln!(s, "  description: {}", q(&profile.description));
    let _ = writeln!(s, "  contactEmailAddress: \"\"");
    if card.version.as_str() >= "1.35" {
        let _ = writeln!(s, "  k8sConformanceUrl: \"\"");
    }
    let _ = writeln!(s, "spec:");
    let cats = [
        Category::Accelerators,
        Category::Networking,
        Category::SchedulingOrchestration,
        Category::Observability,
        Category::Security,
        Category::Operator,
    ];
    for cat in cats {
        let rows: Vec<&RequirementScore> = card
            .requirements
            .iter()
            .filter(|r| r.category == cat && !r.draft)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "  {}:", category_key(cat));
        for r in rows {
            let (status, notes) = match &r.status {
                Status::Pass => ("Implemented", String::new()),
                Status::Fail => (
                    "Not Implemented",
                    r.smallest_failing_case()
                        .map(|c| format!("Simulated case {} failed: {}", c.case, c.detail))
                        .unwrap_or_default(),
                ),
                Status::NotApplicable(w) => ("N/A", w.clone()),
                Status::NotSimulable(w) => ("", format!("Not judged by simulation: {w}")),
            };
            let evidence: Vec<String> = r
                .cases
                .iter()
                .filter_map(|c| case_file_path(&r.id, c))
                .collect();
            let _ = writeln!(s, "  - id: {}", r.id);
            let _ = writeln!(s, "    description: {}", q(&r.description));
            let _ = writeln!(
                s,
                "    level: {}",
                r.level.map(Level::name).unwrap_or("SHOULD")
            );
            let _ = writeln!(s, "    status: {}", q(status));
            let _ = writeln!(
                s,
                "    evidence: [{}]",
                evidence.iter().map(|e| q(e)).collect::<Vec<_>>().join(", ")
            );
            let _ = writeln!(s, "    notes: {}", q(&notes));
        }
    }
    let drafts: Vec<&RequirementScore> = card.requirements.iter().filter(|r| r.draft).collect();
    if !drafts.is_empty() {
        let _ = writeln!(
            s,
            "# Draft rows (named by the programme's announcement, in no checklist yet):"
        );
        for r in drafts {
            let _ = writeln!(s, "#   {}: {}", r.id, r.status.label());
        }
    }
    s
}

/// Write the scorecard and every case file as the output in `dir` ([`crate::write_all`]).
pub fn write_conformance(
    dir: &Path,
    card: &Scorecard,
    profile: &Profile,
) -> Result<Vec<String>, ReportError> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("scorecard.md".into(), scorecard_md(card).into_bytes()),
        ("scorecard.json".into(), scorecard_json(card)?),
        (
            "self-assessment.yaml".into(),
            self_assessment_yaml(card, profile).into_bytes(),
        ),
    ];
    for r in &card.requirements {
        for c in &r.cases {
            if let (Some(sc), Some(path)) = (&c.scenario, case_file_path(&r.id, c)) {
                files.push((path, sc.yaml.clone().into_bytes()));
            }
            if let (Some(w), Some(path)) = (&c.witness, witness_path(&r.id, c)) {
                files.push((path, crate::verify::witness_json(w)?));
            }
        }
    }
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    crate::write_all(dir, &refs)?;
    Ok(files.into_iter().map(|(n, _)| n).collect())
}
