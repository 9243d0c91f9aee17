//! The AI Conformance requirement catalogue (`scenarios/conformance/requirements.yaml`):
//! which requirements each Kubernetes minor version's checklist holds, at which level,
//! and whether a simulation can judge them.
//!
//! This is the data `orrery conformance` scores against; the behaviour suites themselves
//! are not built yet (issue 7).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The bundled catalogue, compiled into the binary.
pub const BUNDLED: &str = include_str!("../../conformance/requirements.yaml");
const BUNDLED_PATH: &str = "scenarios/conformance/requirements.yaml";

/// A requirement's level in one version's checklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "SHOULD")]
    Should,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

/// The checklist categories (the checklist YAML's keys), plus `storage` for the draft row
/// on dataset volumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Category {
    Accelerators,
    Networking,
    SchedulingOrchestration,
    Observability,
    Security,
    Operator,
    Storage,
}

/// Whether a simulation can judge a requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Simulable {
    Yes,
    /// Not simulable, and why.
    No(String),
}

/// One requirement of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Requirement {
    pub id: String,
    pub category: Category,
    /// The Kubernetes AI Requirement (KAR) holding its test plan, when there is one.
    pub kar: Option<String>,
    /// Level per version whose checklist holds it (empty for a draft row).
    pub levels: BTreeMap<String, Level>,
    /// A MUST that applies only when the platform has the component.
    pub condition: Option<String>,
    /// Named by the programme, in no checklist yet.
    pub draft: bool,
    pub simulable: Simulable,
    pub description: String,
}

impl Requirement {
    /// Its level in `version`'s checklist (`None`: not listed there, or a draft row).
    pub fn level(&self, version: &str) -> Option<Level> {
        self.levels.get(version).copied()
    }
}

/// The whole catalogue, requirements in file order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    pub versions: Vec<String>,
    pub requirements: Vec<Requirement>,
}

/// A catalogue that cannot be used, naming the file and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("{path}: {msg}")]
    Yaml { path: String, msg: String },
    #[error("{path}: {field}: {msg}")]
    Invalid {
        path: String,
        field: String,
        msg: String,
    },
    #[error("unknown Kubernetes version {version:?} (the catalogue has: {known})")]
    UnknownVersion { version: String, known: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    versions: Vec<String>,
    requirements: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    category: Category,
    #[serde(default)]
    kar: Option<String>,
    #[serde(default)]
    levels: BTreeMap<String, Level>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default = "yes")]
    simulable: bool,
    #[serde(default)]
    reason: Option<String>,
    description: String,
}

fn yes() -> bool {
    true
}

impl Catalogue {
    /// The catalogue compiled into the binary.
    pub fn bundled() -> Result<Catalogue, CatalogueError> {
        Catalogue::parse(BUNDLED, BUNDLED_PATH)
    }

    /// Parse and check a catalogue; `path` names it in errors.
    pub fn parse(yaml: &str, path: &str) -> Result<Catalogue, CatalogueError> {
        let f: File = serde_saphyr::from_str(yaml).map_err(|e| CatalogueError::Yaml {
            path: path.to_string(),
            msg: e.to_string(),
        })?;
        let invalid = |field: String, msg: String| CatalogueError::Invalid {
            path: path.to_string(),
            field,
            msg,
        };
        if f.versions.is_empty() {
            return Err(invalid("versions".into(), "no versions listed".into()));
        }
        let known: BTreeSet<&str> = f.versions.iter().map(String::as_str).collect();
        if known.len() != f.versions.len() {
            return Err(invalid(
                "versions".into(),
                "a version is listed twice".into(),
            ));
        }
        let mut ids = BTreeSet::new();
        let mut requirements = Vec::with_capacity(f.requirements.len());
        for (i, e) in f.requirements.into_iter().enumerate() {
            let field = |k: &str| format!("requirements[{i}] ({}).{k}", e.id);
            if e.id.trim().is_empty() {
                return Err(invalid(format!("requirements[{i}].id"), "empty id".into()));
            }
            if !ids.insert(e.id.clone()) {
                return Err(invalid(field("id"), "listed twice".into()));
            }
            if e.description.trim().is_empty() {
                return Err(invalid(field("description"), "empty description".into()));
            }
            if let Some(v) = e.levels.keys().find(|v| !known.contains(v.as_str())) {
                return Err(invalid(
                    field("levels"),
                    format!(
                        "version {v:?} is not in `versions` ({})",
                        f.versions.join(", ")
                    ),
                ));
            }
            if e.draft && !e.levels.is_empty() {
                return Err(invalid(
                    field("levels"),
                    "a draft row is in no checklist: it has no levels".into(),
                ));
            }
            if !e.draft && e.levels.is_empty() {
                return Err(invalid(
                    field("levels"),
                    "a checklist requirement needs a level in at least one version".into(),
                ));
            }
            let simulable = match (e.simulable, e.reason) {
                (true, None) => Simulable::Yes,
                (true, Some(_)) => {
                    return Err(invalid(
                        field("reason"),
                        "a reason is given only for `simulable: false`".into(),
                    ));
                }
                (false, Some(r)) if !r.trim().is_empty() => Simulable::No(r),
                (false, _) => {
                    return Err(invalid(
                        field("reason"),
                        "`simulable: false` needs the reason a simulation cannot judge it".into(),
                    ));
                }
            };
            requirements.push(Requirement {
                id: e.id,
                category: e.category,
                kar: e.kar,
                levels: e.levels,
                condition: e.condition,
                draft: e.draft,
                simulable,
                description: e.description.trim().to_string(),
            });
        }
        Ok(Catalogue {
            versions: f.versions,
            requirements,
        })
    }

    /// The checklist of `version`: each requirement it holds with its level, in catalogue
    /// order, then the draft rows (level `None`).
    pub fn checklist(
        &self,
        version: &str,
    ) -> Result<Vec<(&Requirement, Option<Level>)>, CatalogueError> {
        if !self.versions.iter().any(|v| v == version) {
            return Err(CatalogueError::UnknownVersion {
                version: version.to_string(),
                known: self.versions.join(", "),
            });
        }
        let listed = self
            .requirements
            .iter()
            .filter_map(|r| r.level(version).map(|l| (r, Some(l))));
        let drafts = self
            .requirements
            .iter()
            .filter(|r| r.draft)
            .map(|r| (r, None));
        Ok(listed.chain(drafts).collect())
    }
}
