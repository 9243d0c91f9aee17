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

/// A file name that always means a copy compiled into the binary, wherever the scenario
/// is: `bundled:traces/microsoft-itp-elasticflow/raw/cluster01.csv` is the bundled
/// scenario's `../traces/microsoft-itp-elasticflow/raw/cluster01.csv`.
pub const PREFIX: &str = "bundled:";

/// The embedded copy of `name`: the bundled scenario's own relative name, or the same
/// file as `bundled:<path under scenarios/>`.
pub fn embedded(name: &str) -> Option<(String, &'static str)> {
    let rel = match name.strip_prefix(PREFIX) {
        Some(rest) => format!("../{rest}"),
        None => name.to_string(),
    };
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == rel)
        .map(|(n, text)| (format!("<bundled>/scenarios/bundled/{n}"), *text))
}

/// The error for a `bundled:` name that is not compiled in.
pub fn not_embedded(name: &str) -> ScenarioError {
    let known: Vec<String> = EMBEDDED
        .iter()
        .map(|(n, _)| format!("{PREFIX}{}", n.trim_start_matches("../")))
        .collect();
    ScenarioError::Read {
        path: format!("<bundled>/{name}"),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "not one of the files compiled into the binary ({})",
                known.join(", ")
            ),
        ),
    }
}

/// Serves the embedded copies.
pub struct Embedded;

impl FileSource for Embedded {
    fn read(&self, name: &str) -> Result<(String, String), ScenarioError> {
        embedded(name)
            .map(|(display, text)| (display, text.to_string()))
            .ok_or_else(|| not_embedded(name))
    }
}

/// The default scenario as `orrery default-scenario` prints it: the same YAML with each
/// file it names written as `bundled:…`, so the printed file runs from any folder.
pub fn printable_default() -> String {
    let mut out = String::with_capacity(DEFAULT_YAML.len() + 200);
    for line in DEFAULT_YAML.lines() {
        if line.starts_with('#') && !out.contains("bundled:") && line.contains("compiled") {
            out.push_str(line);
            out.push('\n');
            out.push_str(
                "# Printed by `orrery default-scenario`: `bundled:` names the trace copy compiled\n\
                 # into the binary, so this file runs from any folder; point `file:` at your own\n\
                 # trace (a path relative to this file's folder) to replay it instead.\n",
            );
            continue;
        }
        match line.split_once("file: ../") {
            Some((head, rest)) if EMBEDDED.iter().any(|(n, _)| n.ends_with(rest.trim())) => {
                out.push_str(head);
                out.push_str("file: ");
                out.push_str(PREFIX);
                out.push_str(rest);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Build the bundled default scenario.
pub fn default_scenario(ov: &Overrides) -> Result<Scenario, ScenarioError> {
    build(DEFAULT_PATH, DEFAULT_YAML, &Embedded, ov)
}
