//! The policy registry. Every built-in policy is one line of `builtin_policies!` in
//! `policy/mod.rs` (which declares its module and registers it); a program can add its own
//! on top of the built-ins with [`Registry::with`].

use std::sync::Arc;

use super::{BUILTIN, Policy};
use crate::cluster::ClusterSpec;
use crate::scheduler::SchedulerConfig;
use crate::sim::ModelError;
use crate::workload::Workload;

/// Builds a policy for one run from the scenario's scheduler block, cluster and workload
/// (it may check them and fail with a clear error).
pub type Build =
    fn(&SchedulerConfig, &ClusterSpec, &Workload) -> Result<Arc<dyn Policy>, ModelError>;

/// One registered policy.
#[derive(Clone, Copy, Debug)]
pub struct Registration {
    /// The name a scenario selects it by (`scheduler.policy`).
    pub name: &'static str,
    /// One line for `--help` and the docs.
    pub about: &'static str,
    pub build: Build,
}

/// The built-in names (`BUILTIN`'s), for parsing and messages.
pub fn builtin_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| BUILTIN.iter().map(|r| r.name).collect())
}

/// A set of policies to choose from: the built-ins, plus any a program registers.
#[derive(Clone, Debug)]
pub struct Registry {
    entries: Vec<Registration>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    pub fn builtin() -> Self {
        Registry {
            entries: BUILTIN.to_vec(),
        }
    }

    /// This registry plus `r` (replacing a policy of the same name).
    pub fn with(mut self, r: Registration) -> Self {
        self.entries.retain(|e| e.name != r.name);
        self.entries.push(r);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Registration> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|e| e.name)
    }

    /// Build the policy `config.policy` names.
    pub fn build(
        &self,
        config: &SchedulerConfig,
        spec: &ClusterSpec,
        workload: &Workload,
    ) -> Result<Arc<dyn Policy>, ModelError> {
        let name = config.policy.name();
        let r = self.get(name).ok_or_else(|| ModelError::Config {
            field: "policy".into(),
            msg: format!(
                "unknown policy {name:?} (registered: {})",
                self.names().collect::<Vec<_>>().join(", ")
            ),
        })?;
        (r.build)(config, spec, workload)
    }
}
