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
    /// The scenario file, as given.
    pub path: String,
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
        path: display.clone(),
        name: f.name.clone().unwrap_or_else(|| display.clone()),
        seed: f.seed.unwrap_or(42),
        node_list: read("fgd.node_list", &f.fgd.node_list)?,
        pod_list: read("fgd.pod_list", &f.fgd.pod_list)?,
    })
}

/// The scenario as a run of the main cluster model (`orrery run`): the artefact's nodes and
/// its tuned pod list for the tune seed (`--seed` or the file's `seed`), one pod per job,
/// arriving one per second in the artefact's order, never departing, placed by the FGD
/// plugins (`scheduler.placement: fgd`) under `--policy` (default `default`, the
/// kube-scheduler the artefact extends). Nodes are listed in the artefact's tie-break rank
/// and ties go to the first node, as in the artefact. The run stops one second after the
/// last arrival (`--horizon` overrides).
pub fn to_run_scenario(
    sc: &FgdScenario,
    ov: &crate::scenario::Overrides,
) -> Result<crate::scenario::Scenario, ScenarioError> {
    let invalid = |field: &str, msg: String| ScenarioError::Invalid {
        path: sc.path.clone(),
        field: field.to_string(),
        msg,
    };
    let trace = models::fgd::Trace::parse(
        &sc.node_list.0,
        &sc.node_list.1,
        &sc.pod_list.0,
        &sc.pod_list.1,
    )
    .map_err(|e| invalid("fgd", e.to_string()))?;
    let seed = ov.seed.unwrap_or(sc.seed);
    let run = trace
        .main_model(seed, &sc.pod_list.0)
        .map_err(|e| invalid("fgd.pod_list", e.to_string()))?;
    let mut config = models::RunConfig {
        seed,
        horizon: Some(ov.horizon.unwrap_or(run.horizon)),
        chooser: sim_core::ChooserMode::First,
        check_invariants: ov.check_invariants,
        ..models::RunConfig::default()
    };
    config.scheduler.policy = ov.policy.unwrap_or_default();
    config.scheduler.placement = models::scheduler::Placement::Fgd;
    config.scheduler.fgd_target_pods = Some(run.target_pods);
    Ok(crate::scenario::Scenario {
        name: format!("{} (seed {seed}, main model, placement fgd)", sc.name),
        cluster: run.cluster,
        workload: run.workload,
        config,
        inputs: vec![sc.node_list.0.clone(), sc.pod_list.0.clone()],
    })
}
