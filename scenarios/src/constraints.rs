//! Pod placement constraints and node taints as a scenario writes them (documented in
//! `docs/scenario-format.md`, "Node selectors, affinity, taints and tolerations"): the
//! fields of `v1.PodSpec` (`nodeSelector`, required node affinity, `tolerations`) and of
//! `v1.NodeSpec.taints`, in snake_case, checked as the API server validates them.

use std::collections::BTreeMap;

use models::resources::{PodConstraints, Requirement, Taint, Toleration};
use serde::Deserialize;

use crate::scenario::ScenarioError;

/// The constraint fields an inline job or a trace may carry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsDef {
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`.
    #[serde(default)]
    pub node_affinity: Vec<TermDef>,
    #[serde(default)]
    pub tolerations: Vec<TolerationDef>,
}

/// One node selector term.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermDef {
    pub match_expressions: Vec<RequirementDef>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementDef {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TolerationDef {
    /// Empty with `Exists`: tolerates every taint.
    #[serde(default)]
    pub key: String,
    /// `Equal` (default) or `Exists`.
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub value: String,
    /// Empty: every effect.
    #[serde(default)]
    pub effect: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaintDef {
    pub key: String,
    #[serde(default)]
    pub value: String,
    pub effect: String,
}

fn invalid(path: &str, field: &str, msg: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

fn effect(path: &str, field: &str, e: &str, empty_ok: bool) -> Result<(), ScenarioError> {
    if (empty_ok && e.is_empty()) || EFFECTS.contains(&e) {
        return Ok(());
    }
    Err(invalid(
        path,
        field,
        format!(
            "unknown effect {e:?}: one of {}{}",
            EFFECTS.join(", "),
            if empty_ok {
                " (or empty: every effect)"
            } else {
                ""
            }
        ),
    ))
}

/// A node's taints.
pub fn taints(path: &str, field: &str, defs: &[TaintDef]) -> Result<Vec<Taint>, ScenarioError> {
    defs.iter()
        .enumerate()
        .map(|(i, t)| {
            let f = format!("{field}[{i}]");
            if t.key.is_empty() {
                return Err(invalid(path, &format!("{f}.key"), "must not be empty"));
            }
            effect(path, &format!("{f}.effect"), &t.effect, false)?;
            Ok(Taint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
            })
        })
        .collect()
}

impl ConstraintsDef {
    /// Whether nothing is set (the pod's request stays as without constraints).
    pub fn is_empty(&self) -> bool {
        self.node_selector.is_empty()
            && self.node_affinity.is_empty()
            && self.tolerations.is_empty()
    }

    /// The model's constraints (`None` when empty), checked as the API server validates a
    /// PodSpec; `field` prefixes the field names in errors (e.g. `workload.jobs[3]`).
    pub fn build(
        &self,
        path: &str,
        field: &str,
    ) -> Result<Option<Box<PodConstraints>>, ScenarioError> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut terms = Vec::with_capacity(self.node_affinity.len());
        for (t, term) in self.node_affinity.iter().enumerate() {
            let mut reqs = Vec::with_capacity(term.match_expressions.len());
            for (r, req) in term.match_expressions.iter().enumerate() {
                let f = format!("{field}.node_affinity[{t}].match_expressions[{r}]");
                let n = req.values.len();
                let ok = match req.operator.as_str() {
                    "In" | "NotIn" => n > 0,
                    "Exists" | "DoesNotExist" => n == 0,
                    "Gt" | "Lt" => n == 1 && req.values[0].parse::<i64>().is_ok(),
                    _ => {
                        return Err(invalid(
                            path,
                            &format!("{f}.operator"),
                            format!(
                                "unknown operator {:?}: one of In, NotIn, Exists, DoesNotExist, Gt, Lt",
                                req.operator
                            ),
                        ));
                    }
                };
                if !ok {
                    return Err(invalid(
                        path,
                        &format!("{f}.values"),
                        format!(
                            "{}: In and NotIn need values, Exists and DoesNotExist none, Gt and Lt one integer; got {n}",
                            req.operator
                        ),
                    ));
                }
                reqs.push(Requirement {
                    key: req.key.clone(),
                    operator: req.operator.clone(),
                    values: req.values.clone(),
                });
            }
            terms.push(reqs);
        }
        let mut tolerations = Vec::with_capacity(self.tolerations.len());
        for (i, t) in self.tolerations.iter().enumerate() {
            let f = format!("{field}.tolerations[{i}]");
            match t.operator.as_str() {
                "" | "Equal" => {
                    if t.key.is_empty() {
                        return Err(invalid(
                            path,
                            &format!("{f}.key"),
                            "an empty key needs operator Exists (tolerate every taint)",
                        ));
                    }
                }
                "Exists" => {
                    if !t.value.is_empty() {
                        return Err(invalid(
                            path,
                            &format!("{f}.value"),
                            "must be empty with operator Exists",
                        ));
                    }
                }
                other => {
                    return Err(invalid(
                        path,
                        &format!("{f}.operator"),
                        format!("unknown operator {other:?}: Equal (default) or Exists"),
                    ));
                }
            }
            effect(path, &format!("{f}.effect"), &t.effect, true)?;
            tolerations.push(Toleration {
                key: t.key.clone(),
                operator: t.operator.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
            });
        }
        Ok(Some(Box::new(PodConstraints {
            node_selector: self.node_selector.clone(),
            node_affinity: terms,
            tolerations,
        })))
    }
}
