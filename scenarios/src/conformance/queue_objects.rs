//! Kueue and Volcano objects in a profile folder (`orrery conformance --profile DIR`): read
//! by the same readers as a scenario's `scheduler.kueue.manifests` /
//! `scheduler.volcano.manifests` (`crate::kueue_manifests`, `crate::volcano_manifests`), so
//! a folder's queues become exactly the `scheduler:` block those manifests give a scenario.

use std::collections::BTreeMap;

use models::scheduler::{KueueConfig, VolcanoConfig};
use serde_json::Value;

use crate::ScenarioError;
use crate::scenario::FileSource;

/// Whether an object belongs to Kueue: its CRDs, its configuration API, or the
/// `kueue-manager-config` ConfigMap (a ConfigMap holding the Configuration's data key).
pub(super) fn is_kueue(api: &str, kind: &str, raw: &Value) -> bool {
    api.starts_with("kueue.x-k8s.io/")
        || api.starts_with("config.kueue.x-k8s.io/")
        || (api == "v1"
            && kind == "ConfigMap"
            && raw
                .get("data")
                .and_then(|d| d.get(crate::kueue_config::CONFIG_KEY))
                .is_some())
}

/// Whether an object is a Volcano Queue or PodGroup.
pub(super) fn is_volcano(api: &str) -> bool {
    api.starts_with("scheduling.volcano.sh/")
}

/// The objects, one file each, named by where they were read (`file:line (Kind name)`).
struct Objects(BTreeMap<String, String>);

impl FileSource for Objects {
    fn read(&self, name: &str) -> Result<(String, String), ScenarioError> {
        self.0
            .get(name)
            .map(|t| (name.to_string(), t.clone()))
            .ok_or_else(|| ScenarioError::Invalid {
                path: name.into(),
                field: "profile folder".into(),
                msg: "object not read".into(),
            })
    }
}

fn objects(objs: &[(String, Value)]) -> (Vec<String>, Objects) {
    let mut names = Vec::new();
    let mut texts = BTreeMap::new();
    for (at, raw) in objs {
        // JSON is YAML: each object goes to the reader as read from the folder.
        let text = serde_json::to_string_pretty(raw).unwrap_or_default();
        names.push(at.clone());
        texts.insert(at.clone(), text);
    }
    (names, Objects(texts))
}

/// Kueue's queues and Configuration as `scheduler.kueue` (its `manifests` resolved).
pub(super) fn kueue(dir: &str, objs: &[(String, Value)]) -> Result<KueueConfig, ScenarioError> {
    let (names, src) = objects(objs);
    let mut cfg = KueueConfig {
        manifests: names,
        ..KueueConfig::default()
    };
    crate::kueue_manifests::resolve(dir, &mut cfg, &mut [], &BTreeMap::new(), &src)?;
    cfg.manifests.clear();
    Ok(cfg)
}

/// Volcano's Queues as `scheduler.volcano` (its `manifests` resolved).
pub(super) fn volcano(dir: &str, objs: &[(String, Value)]) -> Result<VolcanoConfig, ScenarioError> {
    let (names, src) = objects(objs);
    let mut cfg = VolcanoConfig {
        manifests: names,
        ..VolcanoConfig::default()
    };
    crate::volcano_manifests::resolve(dir, &mut cfg, &mut [], &src)?;
    cfg.manifests.clear();
    Ok(cfg)
}
