//! The FGD scenario family: a scenario file with an `fgd:` section instead of a cluster
//! and a workload, replayed the way the FGD paper's artefact runs its experiments (see
//! `docs/fgd-reproduction.md`).

use std::path::Path;

use serde::Deserialize;

use crate::scenario::ScenarioError;

/// An FGD-family scenario as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FgdScenarioFile {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Default tune seed (the artefact uses 42-51).
    pub seed: Option<u64>,
    pub fgd: FgdDef,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FgdDef {
    /// openb node list (the artefact uses the GPU nodes).
    pub node_list: String,
    /// openb pod list.
    pub pod_list: String,
}

/// A loaded FGD scenario: the files' contents and names.
#[derive(Clone, Debug)]
pub struct FgdScenario {
    pub name: String,
    pub seed: u64,
    pub node_list: (String, String),
    pub pod_list: (String, String),
}

/// Whether a scenario file is of the FGD family (has a top-level `fgd:` key).
pub fn is_fgd(yaml: &str) -> bool {
    yaml.lines().any(|l| l.starts_with("fgd:"))
}

/// Load an FGD scenario; its files are read relative to its folder.
pub fn load(path: &Path) -> Result<FgdScenario, ScenarioError> {
    let display = path.display().to_string();
    let yaml = crate::scenario::read_regular_file(path).map_err(|source| ScenarioError::Read {
        path: display.clone(),
        source,
    })?;
    let f: FgdScenarioFile = serde_saphyr::from_str(&yaml).map_err(|e| ScenarioError::Yaml {
        path: display.clone(),
        msg: crate::scenario::yaml_error_message(&display, &e),
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read = |field: &str, name: &str| -> Result<(String, String), ScenarioError> {
        let p = base.join(name);
        let d = p.display().to_string();
        crate::scenario::read_regular_file(&p)
            .map(|t| (d.clone(), t))
            .map_err(|source| ScenarioError::Invalid {
                path: display.clone(),
                field: field.to_string(),
                msg: format!("cannot read {d}: {source}"),
            })
    };
    Ok(FgdScenario {
        name: f.name.clone().unwrap_or_else(|| display.clone()),
        seed: f.seed.unwrap_or(42),
        node_list: read("fgd.node_list", &f.fgd.node_list)?,
        pod_list: read("fgd.pod_list", &f.fgd.pod_list)?,
    })
}
