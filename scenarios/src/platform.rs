//! Platform scenario files: a `models::platform` configuration (node pools, cluster
//! autoscaler, batch pods, inference services with HPAs, traffic and routes, gateway,
//! metrics) with a name, a seed and a horizon, run by `orrery platform`. The format is
//! documented in `docs/platform.md`.

use models::platform::PlatformConfig;
use serde::Deserialize;
use sim_core::SimDuration;

/// A platform scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformScenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Master seed (default 1).
    #[serde(default = "one")]
    pub seed: u64,
    /// How long to simulate (required: services run for ever).
    pub horizon: SimDuration,
    pub platform: PlatformConfig,
}

fn one() -> u64 {
    1
}

/// A platform scenario that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlatformScenarioError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    Invalid { path: String, msg: String },
    /// `msg` names the file and position itself.
    #[error("{msg}")]
    Yaml { path: String, msg: String },
}

/// Read, parse and check a platform scenario.
pub fn load(path: &std::path::Path) -> Result<PlatformScenario, PlatformScenarioError> {
    let shown = path.display().to_string();
    let text =
        crate::scenario::read_regular_file(path).map_err(|source| PlatformScenarioError::Read {
            path: shown.clone(),
            source,
        })?;
    parse(&text, &shown)
}

/// Parse and check a platform scenario; `path` names it in errors.
pub fn parse(yaml: &str, path: &str) -> Result<PlatformScenario, PlatformScenarioError> {
    let invalid = |msg: String| PlatformScenarioError::Invalid {
        path: path.to_string(),
        msg,
    };
    let s: PlatformScenario =
        serde_saphyr::from_str(yaml).map_err(|e| PlatformScenarioError::Yaml {
            path: path.to_string(),
            msg: crate::scenario::yaml_error_message(path, &e),
        })?;
    if s.horizon.as_nanos() == 0 {
        return Err(invalid("horizon: must be > 0".into()));
    }
    s.platform.validate().map_err(|e| invalid(e.to_string()))?;
    s.platform
        .check_budget(sim_core::SimTime::ZERO + s.horizon)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(s)
}
