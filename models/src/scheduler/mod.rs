//! Scheduler policies, built from framework plugins.

pub mod framework;
pub mod plugins;

use serde::{Deserialize, Serialize};

pub use framework::{FilterPlugin, Profile, ScorePlugin, Scratch, num_feasible_nodes_to_find};
pub use plugins::{BalancedAllocation, FitScore, FitStrategy, NodeResourcesFit, Resource};

/// How pods of a job are admitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// kube-scheduler's default: one pod at a time, no gang awareness. Pods that are bound
    /// while their siblings wait hold their GPUs.
    #[default]
    Default,
    /// All-or-nothing gang placement: a job's pods are placed together or not at all.
    Gang,
}

impl PolicyKind {
    pub const NAMES: &'static [&'static str] = &["default", "gang"];

    pub fn parse(s: &str) -> Option<PolicyKind> {
        match s {
            "default" => Some(PolicyKind::Default),
            "gang" => Some(PolicyKind::Gang),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Default => "default",
            PolicyKind::Gang => "gang",
        }
    }
}

/// A scheduler configuration as written in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    pub policy: PolicyKind,
    /// NodeResourcesFit scoring strategy.
    pub score: FitStrategy,
    /// Resources the Fit score looks at, with weights (kube default: cpu 1, memory 1).
    pub score_resources: Vec<(Resource, i64)>,
    /// Weight of NodeResourcesBalancedAllocation (kube default 1; 0 disables it).
    pub balanced_allocation_weight: i64,
    /// `percentageOfNodesToScore` (0 = adaptive, kube's default).
    pub percentage_of_nodes_to_score: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            policy: PolicyKind::Default,
            score: FitStrategy::LeastAllocated,
            score_resources: vec![(Resource::Cpu, 1), (Resource::Memory, 1)],
            balanced_allocation_weight: 1,
            percentage_of_nodes_to_score: 0,
        }
    }
}

impl SchedulerConfig {
    /// Build the plugin profile this configuration describes.
    pub fn profile(&self) -> Profile {
        let mut scorers: Vec<(Box<dyn ScorePlugin>, i64)> = vec![(
            Box::new(FitScore {
                strategy: self.score,
                resources: self.score_resources.clone(),
            }),
            1,
        )];
        if self.balanced_allocation_weight != 0 {
            scorers.push((
                Box::new(BalancedAllocation {
                    resources: self.score_resources.iter().map(|(r, _)| *r).collect(),
                }),
                self.balanced_allocation_weight,
            ));
        }
        Profile {
            filters: vec![Box::new(NodeResourcesFit)],
            scorers,
            percentage_of_nodes_to_score: self.percentage_of_nodes_to_score,
        }
    }
}
