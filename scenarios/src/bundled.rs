//! The bundled default scenario, compiled into the binary so `orrery run` works anywhere.

use crate::scenario::{FileSource, Overrides, Scenario, ScenarioError, build};

/// The default scenario's YAML, as shipped in `scenarios/bundled/default.yaml`.
pub const DEFAULT_YAML: &str = include_str!("../bundled/default.yaml");
pub const DEFAULT_PATH: &str = "<bundled>/scenarios/bundled/default.yaml";

/// Files the bundled scenario names, by the relative path it uses.
const EMBEDDED: &[(&str, &str)] = &[(
    "../traces/microsoft-itp-elasticflow/raw/cluster01.csv",
    include_str!("../traces/microsoft-itp-elasticflow/raw/cluster01.csv"),
)];

/// Serves the embedded copies.
pub struct Embedded;

impl FileSource for Embedded {
    fn read(&self, name: &str) -> Result<(String, String), ScenarioError> {
        EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| {
                (
                    format!("<bundled>/scenarios/bundled/{n}"),
                    (*text).to_string(),
                )
            })
            .ok_or_else(|| ScenarioError::Read {
                path: format!("<bundled>/{name}"),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not one of the files compiled into the binary",
                ),
            })
    }
}

/// Build the bundled default scenario.
pub fn default_scenario(ov: &Overrides) -> Result<Scenario, ScenarioError> {
    build(DEFAULT_PATH, DEFAULT_YAML, &Embedded, ov)
}
