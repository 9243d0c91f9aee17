//! A platform profile built from the platform's own Kubernetes objects: `orrery
//! conformance --profile DIR` reads every `*.yaml`/`*.yml`/`*.json` file of a folder (the
//! output of `kubectl get … -o yaml` and the manifests the platform was installed from)
//! and an optional `platform.yaml` of what no object holds (the platform's name, cloud
//! provisioning delays, fabric speeds). Each profile value records where it came from
//! ([`Provenance`]), so every scorecard row says whether its behaviour was simulated from
//! configuration or rests on a declaration. The objects read, the fields read from each
//! and the defaults (each the real component's own) are in docs/conformance.md,
//! "A profile from the platform's objects".

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolumeClaim};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::profile::{Profile, ProfileError};
use super::provenance::{Provenance, Source};
use super::queue_objects;

/// The Orrery file of a profile folder: what no Kubernetes object holds.
pub const PLATFORM_FILE: &str = "platform.yaml";

/// A profile read from a folder, with the source of each value.
#[derive(Clone, Debug)]
pub struct Assembled {
    pub profile: Profile,
    pub provenance: Provenance,
}

fn err(at: &str, msg: impl std::fmt::Display) -> ProfileError {
    ProfileError::Parse {
        path: at.to_string(),
        msg: format!("{at}: {msg}"),
    }
}

/// One object read from a file.
struct Doc {
    /// `file:line`
    at: String,
    api: String,
    kind: String,
    name: String,
    namespace: String,
    raw: Value,
}

impl Doc {
    fn object(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }

    fn source(&self, field: &str) -> Source {
        Source::Object {
            at: self.at.clone(),
            object: self.object(),
            field: field.to_string(),
        }
    }

    /// Typed, with fields the type does not keep rejected (as `kubectl apply` would).
    fn strict<T: DeserializeOwned + serde::Serialize>(&self) -> Result<T, ProfileError> {
        let t: T = self.typed()?;
        let typed = serde_json::to_value(&t).map_err(|e| err(&self.at, e))?;
        if let Some(field) = models::dra::manifests::unknown_field(&self.raw, &typed, "") {
            return Err(err(
                &self.at,
                format!(
                    "{}: unknown field {field:?} (kubectl apply rejects unknown fields; check its spelling and indentation against {} {})",
                    self.object(),
                    self.api,
                    self.kind
                ),
            ));
        }
        Ok(t)
    }

    /// Typed, reading only the fields the type names (custom resources whose other
    /// fields do not affect the model).
    fn typed<T: DeserializeOwned>(&self) -> Result<T, ProfileError> {
        serde_json::from_value(self.raw.clone())
            .map_err(|e| err(&self.at, format!("{}: {e}", self.object())))
    }
}

/// The profile being assembled: a JSON tree in the profile's schema plus the source of
/// each leaf.
#[derive(Default)]
struct Tree {
    root: Map<String, Value>,
    sources: BTreeMap<String, Source>,
    /// Autoscaled pools by name (`cluster_autoscaler.pools`), in flag order.
    pools: Vec<(String, Map<String, Value>)>,
}

impl Tree {
    fn set(&mut self, path: &str, value: Value, source: Source) -> Result<(), ProfileError> {
        if let Some(first) = self.sources.get(path) {
            return Err(err(
                &where_of(&source),
                format!("{path} is set twice: here and at {}", where_of(first)),
            ));
        }
        let mut node = &mut self.root;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                node.insert(part.to_string(), value);
                break;
            }
            let next = node
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !next.is_object() {
                *next = Value::Object(Map::new());
            }
            node = next.as_object_mut().expect("made an object above");
        }
        self.sources.insert(path.to_string(), source);
        Ok(())
    }

    fn pool(&mut self, name: &str) -> &mut Map<String, Value> {
        if let Some(i) = self.pools.iter().position(|(n, _)| n == name) {
            return &mut self.pools[i].1;
        }
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        self.pools.push((name.to_string(), m));
        &mut self.pools.last_mut().expect("just pushed").1
    }

    fn set_pool(
        &mut self,
        pool: &str,
        key: &str,
        value: Value,
        source: Source,
    ) -> Result<(), ProfileError> {
        let path = format!("cluster_autoscaler.pools[{pool}].{key}");
        if let Some(first) = self.sources.get(&path) {
            return Err(err(
                &where_of(&source),
                format!("{path} is set twice: here and at {}", where_of(first)),
            ));
        }
        self.pool(pool).insert(key.to_string(), value);
        self.sources.insert(path, source);
        Ok(())
    }
}

fn where_of(s: &Source) -> String {
    match s {
        Source::Object { at, object, .. } => format!("{at} ({object})"),
        Source::Declared { file } => file.clone(),
    }
}

/// Read a profile folder.
pub fn load_dir(dir: &Path) -> Result<Assembled, ProfileError> {
    let shown = dir.display().to_string();
    let io = |source| ProfileError::Io {
        path: shown.clone(),
        source,
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
        })
        .collect();
    files.sort();
    let mut docs = Vec::new();
    let mut platform = None;
    for f in &files {
        let display = f.display().to_string();
        let text = crate::scenario::read_regular_file(f).map_err(|source| ProfileError::Io {
            path: display.clone(),
            source,
        })?;
        if f.file_name().and_then(|n| n.to_str()) == Some(PLATFORM_FILE) {
            platform = Some((display, text));
            continue;
        }
        read_docs(&display, &text, &mut docs)?;
    }
    let mut tree = Tree::default();
    objects_into(&docs, &mut tree)?;
    let name_from = match &platform {
        Some((file, text)) => declared_into(file, text, &mut tree)?,
        None => None,
    };
    if !tree.root.contains_key("name") {
        let name = name_from.unwrap_or_else(|| {
            dir.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("platform")
                .to_string()
        });
        tree.root.insert("name".into(), json!(name));
    }
    if !tree.pools.is_empty() {
        let pools: Vec<Value> = tree
            .pools
            .iter()
            .map(|(_, m)| Value::Object(m.clone()))
            .collect();
        let ca = tree
            .root
            .entry("cluster_autoscaler")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(ca) = ca.as_object_mut() {
            ca.insert("pools".into(), Value::Array(pools));
        }
    }
    let text =
        serde_json::to_string(&Value::Object(tree.root.clone())).map_err(|e| err(&shown, e))?;
    let profile = Profile::parse(
        &text,
        &format!("{shown} (the profile read from its objects)"),
    )?;
    Ok(Assembled {
        profile,
        provenance: Provenance {
            hand_written: None,
            sources: tree.sources,
        },
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: HeadMeta,
    #[serde(default)]
    items: Vec<Value>,
}

#[derive(Deserialize, Default)]
struct HeadMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

fn read_docs(file: &str, text: &str, out: &mut Vec<Doc>) -> Result<(), ProfileError> {
    for (line, doc) in models::dra::manifests::split_documents(text) {
        // The object's first line (after the document's leading comments).
        let skip = doc
            .lines()
            .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
            .count() as u64;
        let at = format!("{file}:{}", line + skip);
        let raw: Value = serde_saphyr::from_str(&doc).map_err(|e| {
            let (l, c, m) = models::dra::manifests::yaml_error_at(line, &e);
            err(&format!("{file}:{l}:{c}"), m)
        })?;
        let mut push = |raw: Value| -> Result<(), ProfileError> {
            let head: Head = serde_json::from_value(raw.clone())
                .map_err(|e| err(&at, format!("not a Kubernetes object: {e}")))?;
            if head.api_version.is_empty() || head.kind.is_empty() {
                return Err(err(&at, "a Kubernetes object needs apiVersion and kind"));
            }
            out.push(Doc {
                at: at.clone(),
                api: head.api_version,
                kind: head.kind,
                name: head.metadata.name,
                namespace: head.metadata.namespace,
                raw,
            });
            Ok(())
        };
        let head: Head = serde_json::from_value(raw.clone())
            .map_err(|e| err(&at, format!("not a Kubernetes object: {e}")))?;
        if head.kind == "List" || head.kind.ends_with("List") && !head.items.is_empty() {
            for item in head.items {
                push(item)?;
            }
        } else {
            push(raw)?;
        }
    }
    Ok(())
}

/// What each recognised object contributes.
fn objects_into(docs: &[Doc], tree: &mut Tree) -> Result<(), ProfileError> {
    let mut nodes = Vec::new();
    let mut policy: Option<(&Doc, ClusterPolicy)> = None;
    let mut config_maps = Vec::new();
    let mut hpas = Vec::new();
    let mut adapter = None;
    let mut monitors = Vec::new();
    let mut gateways = Vec::new();
    let mut pvcs = Vec::new();
    let mut scheduler: Option<&Doc> = None;
    let mut device_classes = Vec::new();
    let mut kueue: Vec<&Doc> = Vec::new();
    let mut volcano: Vec<&Doc> = Vec::new();
    for d in docs {
        if queue_objects::is_kueue(&d.api, &d.kind, &d.raw) {
            kueue.push(d);
            continue;
        }
        if queue_objects::is_volcano(&d.api) {
            volcano.push(d);
            continue;
        }
        match (d.api.as_str(), d.kind.as_str()) {
            ("v1", "Node") => nodes.push((d, d.typed::<Node>()?)),
            ("v1", "ConfigMap") => config_maps.push((d, d.strict::<ConfigMap>()?)),
            ("v1", "PersistentVolumeClaim") => pvcs.push((d, d.typed::<PersistentVolumeClaim>()?)),
            ("resource.k8s.io/v1", "DeviceClass") => device_classes.push(d),
            // The driver's published devices: the GPU counts come from the Nodes.
            ("resource.k8s.io/v1", "ResourceSlice") => {}
            // The runtime handler pods name (`runtimeClassName: nvidia`): it carries no
            // setting the model reads; the device mediation is the toolkit's.
            ("node.k8s.io/v1", "RuntimeClass") => {}
            ("nvidia.com/v1", "ClusterPolicy") => {
                if let Some((first, _)) = &policy {
                    return Err(err(
                        &d.at,
                        format!("a second ClusterPolicy (the first is at {})", first.at),
                    ));
                }
                policy = Some((d, d.typed::<ClusterPolicy>()?));
            }
            ("apps/v1", "Deployment") => {
                let dep: Deployment = d.typed()?;
                if !autoscaler_into(d, &dep, tree)? {
                    return Err(err(
                        &d.at,
                        format!(
                            "{}: the only Deployment read is the cluster autoscaler's (a container running cluster-autoscaler); remove other Deployments from the folder",
                            d.object()
                        ),
                    ));
                }
            }
            ("autoscaling/v2", "HorizontalPodAutoscaler") => {
                hpas.push((d, d.strict::<HorizontalPodAutoscaler>()?))
            }
            ("apiregistration.k8s.io/v1", "APIService") => {
                if d.name == "v1beta1.custom.metrics.k8s.io" {
                    adapter = Some(d);
                }
            }
            ("monitoring.coreos.com/v1", "ServiceMonitor" | "PodMonitor") => {
                monitors.push((d, d.typed::<Monitor>()?))
            }
            ("gateway.networking.k8s.io/v1", "Gateway") => gateways.push(d),
            ("gateway.networking.k8s.io/v1", "GatewayClass" | "HTTPRoute") => {}
            ("kubescheduler.config.k8s.io/v1", "KubeSchedulerConfiguration") => {
                if let Some(first) = scheduler {
                    return Err(err(
                        &d.at,
                        format!(
                            "a second KubeSchedulerConfiguration (the first is at {})",
                            first.at
                        ),
                    ));
                }
                scheduler = Some(d);
            }
            (api, kind) => {
                return Err(err(
                    &d.at,
                    format!(
                        "{api} {kind} {}: not an object `orrery conformance` reads from a profile folder (docs/conformance.md lists them); move it out of the folder",
                        d.name
                    ),
                ));
            }
        }
    }
    nodes_into(&nodes, tree)?;
    if let Some(d) = device_classes.first() {
        tree.set(
            "accelerators.allocation",
            json!("dra"),
            d.source("(a DeviceClass: devices are allocated by DRA)"),
        )?;
    }
    gpu_operator_into(policy.as_ref().map(|(d, p)| (*d, p)), &config_maps, tree)?;
    hpa_into(&hpas, adapter, tree)?;
    monitors_into(&monitors, tree)?;
    if let Some(g) = gateways.first() {
        // weighted backendRefs and header matches are Core features of HTTPRoute (Gateway
        // API v1.x conformance): every conformant implementation honours them.
        tree.set(
            "gateway.weighted_routing",
            json!(true),
            g.source("(a Gateway: HTTPRoute backendRefs weights are Core support)"),
        )?;
        tree.set(
            "gateway.header_matching",
            json!(true),
            g.source("(a Gateway: HTTPRoute header matches are Core support)"),
        )?;
    }
    pvc_into(&pvcs, tree)?;
    // Kueue's or Volcano's queues first: a KubeSchedulerConfiguration without a gang
    // plugin then leaves their policy in place (Kueue on the default scheduler).
    queues_into(&kueue, &volcano, tree)?;
    if let Some(d) = scheduler {
        scheduler_into(d, tree)?;
    }
    Ok(())
}

/// Kueue's or Volcano's objects: the gang policy and its queues, read as a scenario's
/// `scheduler.kueue.manifests` / `scheduler.volcano.manifests` are.
fn queues_into(kueue: &[&Doc], volcano: &[&Doc], tree: &mut Tree) -> Result<(), ProfileError> {
    let named = |docs: &[&Doc]| -> Vec<(String, Value)> {
        docs.iter()
            .map(|d| (format!("{} ({})", d.at, d.object()), d.raw.clone()))
            .collect()
    };
    if let (Some(k), Some(v)) = (kueue.first(), volcano.first()) {
        return Err(err(
            &v.at,
            format!(
                "{}: a folder holds one gang scheduler's queues, and {} is Kueue's",
                v.object(),
                k.object()
            ),
        ));
    }
    let (policy, first, value) = if let Some(first) = kueue.first() {
        let cfg =
            queue_objects::kueue("profile folder", &named(kueue)).map_err(|e| err(&first.at, e))?;
        (
            "kueue",
            first,
            serde_json::to_value(&cfg).map_err(|e| err(&first.at, e))?,
        )
    } else if let Some(first) = volcano.first() {
        let cfg = queue_objects::volcano("profile folder", &named(volcano))
            .map_err(|e| err(&first.at, e))?;
        (
            "volcano",
            first,
            serde_json::to_value(&cfg).map_err(|e| err(&first.at, e))?,
        )
    } else {
        return Ok(());
    };
    tree.set(
        "scheduler.policy",
        json!(policy),
        first.source(&format!("(the {policy} objects: {policy} admits gangs)")),
    )?;
    tree.set(
        &format!("scheduler.{policy}"),
        value,
        first.source(&format!("(the {policy} queues and configuration)")),
    )
}

fn nodes_into(nodes: &[(&Doc, Node)], tree: &mut Tree) -> Result<(), ProfileError> {
    struct Shape<'a> {
        doc: &'a Doc,
        name: String,
        gpus: u32,
        model: String,
        label: String,
        mig: bool,
    }
    let mut shapes = Vec::new();
    for (d, n) in nodes {
        let name = n.metadata.name.clone().unwrap_or_default();
        let labels = n.metadata.labels.clone().unwrap_or_default();
        let alloc = n
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()));
        let from_alloc = alloc
            .and_then(|a| a.get("nvidia.com/gpu"))
            .map(|q| q.0.clone());
        let count = from_alloc
            .or_else(|| labels.get("nvidia.com/gpu.count").cloned())
            .unwrap_or_default();
        if count.is_empty() {
            continue; // not an accelerator node
        }
        let gpus: u32 = count.parse().map_err(|_| {
            err(
                &d.at,
                format!("Node {name}: GPU count {count:?} is not a whole number"),
            )
        })?;
        if gpus == 0 {
            continue;
        }
        let product = labels.get("nvidia.com/gpu.product").cloned().ok_or_else(|| {
            err(
                &d.at,
                format!(
                    "Node {name}: has GPUs but no nvidia.com/gpu.product label (GPU feature discovery writes it)"
                ),
            )
        })?;
        let label = labels
            .get("cloud.google.com/gke-accelerator")
            .or_else(|| labels.get("accelerator"))
            .cloned()
            .unwrap_or_else(|| format!("nvidia-{}", gpu_model(&product).to_lowercase()));
        let mig = matches!(
            labels.get("nvidia.com/mig.strategy").map(String::as_str),
            Some("single" | "mixed")
        );
        shapes.push(Shape {
            doc: d,
            name,
            gpus,
            model: gpu_model(&product),
            label,
            mig,
        });
    }
    let Some(first) = shapes.first() else {
        return Err(err(
            "profile folder",
            "no accelerator Node (a Node with allocatable nvidia.com/gpu or the nvidia.com/gpu.count label): add `kubectl get nodes -o yaml` output",
        ));
    };
    for s in &shapes[1..] {
        if (s.gpus, &s.model, &s.label, s.mig)
            != (first.gpus, &first.model, &first.label, first.mig)
        {
            return Err(err(
                &s.doc.at,
                format!(
                    "Node {}: {} × {} ({}), but Node {} has {} × {} ({}): a profile models one shape of static accelerator node",
                    s.name,
                    s.gpus,
                    s.model,
                    s.label,
                    first.name,
                    first.gpus,
                    first.model,
                    first.label
                ),
            ));
        }
    }
    let src = |field: &str| Source::Object {
        at: first.doc.at.clone(),
        object: format!("Node {} and {} more", first.name, shapes.len() - 1),
        field: field.to_string(),
    };
    tree.set(
        "accelerators.nodes",
        json!(shapes.len()),
        src("(accelerator Nodes)"),
    )?;
    tree.set(
        "accelerators.gpus_per_node",
        json!(first.gpus),
        src("status.allocatable[nvidia.com/gpu] or label nvidia.com/gpu.count"),
    )?;
    tree.set(
        "accelerators.gpu_model",
        json!(first.model),
        src("label nvidia.com/gpu.product"),
    )?;
    tree.set(
        "accelerators.accelerator",
        json!(first.label),
        src("label cloud.google.com/gke-accelerator"),
    )?;
    if first.mig {
        tree.set(
            "accelerators.sharing.mig",
            json!(true),
            src("label nvidia.com/mig.strategy"),
        )?;
    }
    Ok(())
}

/// The GPU model a GPU feature discovery product name names (`NVIDIA-H100-80GB-HBM3` →
/// `H100`); an unknown product is kept as written.
fn gpu_model(product: &str) -> String {
    const KNOWN: [&str; 10] = [
        "GB200", "B200", "H200", "H100", "A100", "L40S", "A10G", "L4", "T4", "V100",
    ];
    let up = product.to_uppercase();
    KNOWN
        .iter()
        .find(|k| up.split(['-', ' ', '_']).any(|t| t == **k))
        .map(|k| k.to_string())
        .unwrap_or_else(|| product.to_string())
}

/// The NVIDIA GPU Operator's `ClusterPolicy` (nvidia.com/v1), the fields read.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ClusterPolicy {
    #[serde(default)]
    spec: PolicySpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PolicySpec {
    #[serde(default)]
    device_plugin: Component,
    #[serde(default)]
    dcgm_exporter: Component,
    #[serde(default)]
    toolkit: Component,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Component {
    enabled: Option<bool>,
    #[serde(default)]
    config: Option<ConfigRef>,
    #[serde(default)]
    env: Vec<EnvVar>,
}

#[derive(Deserialize)]
struct ConfigRef {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct EnvVar {
    name: String,
    #[serde(default)]
    value: String,
}

/// The NVIDIA device plugin's config file (`version: v1`), the fields read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DevicePluginConfig {
    #[serde(default)]
    sharing: Option<PluginSharing>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PluginSharing {
    #[serde(default)]
    time_slicing: Option<TimeSlicing>,
}

#[derive(Deserialize)]
struct TimeSlicing {
    #[serde(default)]
    resources: Vec<SlicedResource>,
}

#[derive(Deserialize)]
struct SlicedResource {
    name: String,
    replicas: u32,
}

const TOOLKIT_ENV: &str = "ACCEPT_NVIDIA_VISIBLE_DEVICES_ENVVAR_WHEN_UNPRIVILEGED";

fn gpu_operator_into(
    policy: Option<(&Doc, &ClusterPolicy)>,
    maps: &[(&Doc, ConfigMap)],
    tree: &mut Tree,
) -> Result<(), ProfileError> {
    let by_role = |role: &str, named: Option<&str>| {
        maps.iter().find(|(d, m)| match named {
            Some(n) => d.name == n,
            None => m
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("app.kubernetes.io/name"))
                .is_some_and(|v| v == role),
        })
    };
    let named = |c: &Component| c.config.as_ref().map(|r| r.name.clone());
    let (plugin_cm, dcgm_cm) = match policy {
        Some((d, p)) => {
            if let Some(env) = p.spec.toolkit.env.iter().find(|e| e.name == TOOLKIT_ENV) {
                let v = match env.value.as_str() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(err(
                            &d.at,
                            format!(
                                "{}: spec.toolkit.env {TOOLKIT_ENV}: expected \"true\" or \"false\", got {other:?}",
                                d.object()
                            ),
                        ));
                    }
                };
                tree.set(
                    "accelerators.runtime.accept_visible_devices_envvar",
                    json!(v),
                    d.source(&format!("spec.toolkit.env[{TOOLKIT_ENV}]")),
                )?;
            }
            let plugin = named(&p.spec.device_plugin);
            let dcgm = if p.spec.dcgm_exporter.enabled == Some(false) {
                None
            } else {
                Some(named(&p.spec.dcgm_exporter))
            };
            let find = |role: &str, n: Option<String>| -> Result<_, ProfileError> {
                match n {
                    None => Ok(None),
                    Some(n) => by_role(role, Some(&n)).map(Some).ok_or_else(|| {
                        err(
                            &d.at,
                            format!(
                                "{}: names ConfigMap {n:?} for the {role}, which is not in the folder",
                                d.object()
                            ),
                        )
                    }),
                }
            };
            let plugin_cm = find("nvidia-device-plugin", plugin)?;
            let dcgm_cm = match dcgm {
                None => None,
                // Enabled without a config: the exporter's default counters
                // (etc/default-counters.csv), which include the four fields modelled.
                Some(None) => {
                    tree.set(
                        "metrics.accelerator_exporter.fields",
                        json!(["utilization", "memory_used", "power", "temperature"]),
                        d.source("spec.dcgmExporter (default-counters.csv)"),
                    )?;
                    None
                }
                Some(n) => find("dcgm-exporter", n)?,
            };
            (plugin_cm, dcgm_cm)
        }
        None => (
            by_role("nvidia-device-plugin", None),
            by_role("dcgm-exporter", None),
        ),
    };
    for (d, _) in maps {
        let used = [plugin_cm, dcgm_cm]
            .iter()
            .flatten()
            .any(|(u, _)| std::ptr::eq(*u, *d));
        if !used {
            return Err(err(
                &d.at,
                format!(
                    "{}: not the device plugin's or the DCGM exporter's ConfigMap (named by the ClusterPolicy, or labelled app.kubernetes.io/name: nvidia-device-plugin / dcgm-exporter); move it out of the folder",
                    d.object()
                ),
            ));
        }
    }
    if let Some((d, cm)) = plugin_cm {
        let mut replicas = None;
        for (key, text) in cm.data.iter().flatten() {
            let c: DevicePluginConfig = serde_saphyr::from_str(text).map_err(|e| {
                err(
                    &d.at,
                    format!("{}: data[{key}]: {}", d.object(), e.without_snippet()),
                )
            })?;
            for r in c
                .sharing
                .and_then(|s| s.time_slicing)
                .map(|t| t.resources)
                .unwrap_or_default()
            {
                if r.name == "nvidia.com/gpu" {
                    replicas = Some((key.clone(), r.replicas));
                }
            }
        }
        if let Some((key, r)) = replicas {
            tree.set(
                "accelerators.sharing.time_slicing_replicas",
                json!(r),
                d.source(&format!(
                    "data[{key}].sharing.timeSlicing.resources[nvidia.com/gpu].replicas"
                )),
            )?;
        }
    }
    if let Some((d, cm)) = dcgm_cm {
        let mut fields = Vec::new();
        for (key, text) in cm.data.iter().flatten() {
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let counter = line.split(',').next().unwrap_or_default().trim();
                let field = match counter {
                    "DCGM_FI_DEV_GPU_UTIL" => "utilization",
                    "DCGM_FI_DEV_FB_USED" => "memory_used",
                    "DCGM_FI_DEV_POWER_USAGE" => "power",
                    "DCGM_FI_DEV_GPU_TEMP" => "temperature",
                    _ => continue, // exported, not modelled
                };
                if !fields.contains(&field) {
                    fields.push(field);
                }
            }
            let _ = key;
        }
        // In the profile's order (models::platform::DeviceField), whatever the CSV's.
        let order = ["utilization", "memory_used", "power", "temperature"];
        fields.sort_by_key(|f| order.iter().position(|o| o == f));
        tree.set(
            "metrics.accelerator_exporter.fields",
            json!(fields),
            d.source("data (DCGM counters CSV)"),
        )?;
    }
    Ok(())
}

/// cluster-autoscaler's command-line flags (v1.34 FAQ, "What are the parameters to CA?");
/// the ones read, with the profile key each sets. Absent flags keep CA's defaults.
const CA_FLAGS: [(&str, &str); 5] = [
    ("scan-interval", "scan_interval"),
    ("scale-down-unneeded-time", "scale_down_unneeded_time"),
    ("scale-down-delay-after-add", "scale_down_delay_after_add"),
    ("max-node-provision-time", "max_node_provision_time"),
    (
        "scale-down-utilization-threshold",
        "scale_down_utilization_threshold",
    ),
];

/// Reads the cluster autoscaler's flags; `false` when the Deployment is not it.
fn autoscaler_into(d: &Doc, dep: &Deployment, tree: &mut Tree) -> Result<bool, ProfileError> {
    let containers = dep
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    let Some(c) = containers.iter().find(|c| {
        c.command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .any(|a| a.ends_with("cluster-autoscaler"))
    }) else {
        return Ok(false);
    };
    let words: Vec<&String> = c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .collect();
    let mut i = 0;
    // Ensure the section exists even when every flag is left at its default.
    let mut any = false;
    while i < words.len() {
        let w = words[i].as_str();
        i += 1;
        let Some(flag) = w.strip_prefix("--") else {
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, v.to_string()),
            // `--flag value`, unless the next word is a flag itself (a boolean flag such
            // as `--balance-similar-node-groups` takes no value).
            None => match words.get(i).filter(|w| !w.starts_with("--")) {
                Some(v) => {
                    i += 1;
                    (flag, v.to_string())
                }
                None => (flag, String::new()),
            },
        };
        let field = format!("--{name}");
        if let Some((_, key)) = CA_FLAGS.iter().find(|(f, _)| *f == name) {
            let v = if *key == "scale_down_utilization_threshold" {
                json!(value.parse::<f64>().map_err(|_| err(
                    &d.at,
                    format!("{}: {field}={value:?}: expected a number", d.object())
                ))?)
            } else {
                json!(value)
            };
            tree.set(&format!("cluster_autoscaler.{key}"), v, d.source(&field))?;
            any = true;
        } else if name == "nodes" {
            // --nodes=MIN:MAX:NAME, one node group.
            let parts: Vec<&str> = value.splitn(3, ':').collect();
            let bad = || {
                err(
                    &d.at,
                    format!("{}: --nodes={value:?}: expected MIN:MAX:NAME", d.object()),
                )
            };
            let [min, max, name] = parts[..] else {
                return Err(bad());
            };
            let min: u32 = min.parse().map_err(|_| bad())?;
            let max: u32 = max.parse().map_err(|_| bad())?;
            tree.set_pool(name, "min", json!(min), d.source(&field))?;
            tree.set_pool(name, "max", json!(max), d.source(&field))?;
            any = true;
        }
    }
    if !any {
        // Every setting at cluster-autoscaler's default: the section is still present.
        tree.set(
            "cluster_autoscaler.scan_interval",
            json!("10s"),
            d.source("(--scan-interval default)"),
        )?;
    }
    Ok(true)
}

/// `autoscaling/v2` HPA: one Pods metric with an AverageValue target.
fn hpa_into(
    hpas: &[(&Doc, HorizontalPodAutoscaler)],
    adapter: Option<&Doc>,
    tree: &mut Tree,
) -> Result<(), ProfileError> {
    let Some((d, hpa)) = hpas.first() else {
        return Ok(());
    };
    if let Some((second, _)) = hpas.get(1) {
        return Err(err(
            &second.at,
            format!(
                "a second HorizontalPodAutoscaler (the first is {} at {}): the profile models one inference service's HPA",
                d.object(),
                d.at
            ),
        ));
    }
    let spec = hpa
        .spec
        .as_ref()
        .ok_or_else(|| err(&d.at, format!("{}: needs spec", d.object())))?;
    let metrics = spec.metrics.clone().unwrap_or_default();
    let [m] = &metrics[..] else {
        return Err(err(
            &d.at,
            format!(
                "{}: spec.metrics: the model scales on one per-pod custom metric, got {} metrics",
                d.object(),
                metrics.len()
            ),
        ));
    };
    let pods = m.pods.as_ref().filter(|_| m.type_ == "Pods").ok_or_else(|| {
        err(
            &d.at,
            format!(
                "{}: spec.metrics[0]: type {:?} is not modelled (only type: Pods, a per-pod custom metric)",
                d.object(),
                m.type_
            ),
        )
    })?;
    let target = pods
        .target
        .average_value
        .as_ref()
        .filter(|_| pods.target.type_ == "AverageValue")
        .ok_or_else(|| {
            err(
                &d.at,
                format!(
                    "{}: spec.metrics[0].pods.target: only type: AverageValue with averageValue is modelled",
                    d.object()
                ),
            )
        })?;
    let value = models::dra::quantity::Quantity::parse(&target.0)
        .map(|q| q.as_f64())
        .map_err(|e| {
            err(
                &d.at,
                format!(
                    "{}: spec.metrics[0].pods.target.averageValue {:?}: {e}",
                    d.object(),
                    target.0
                ),
            )
        })?;
    tree.set(
        "pod_autoscaler.metric",
        json!(pods.metric.name),
        d.source("spec.metrics[0].pods.metric.name"),
    )?;
    tree.set(
        "pod_autoscaler.target",
        json!(value),
        d.source("spec.metrics[0].pods.target.averageValue"),
    )?;
    // minReplicas defaults to 1 (autoscaling/v2).
    tree.set(
        "pod_autoscaler.min_replicas",
        json!(spec.min_replicas.unwrap_or(1)),
        d.source("spec.minReplicas"),
    )?;
    tree.set(
        "pod_autoscaler.max_replicas",
        json!(spec.max_replicas),
        d.source("spec.maxReplicas"),
    )?;
    // behavior.scaleDown.stabilizationWindowSeconds defaults to 300 (autoscaling/v2).
    let window = spec
        .behavior
        .as_ref()
        .and_then(|b| b.scale_down.as_ref())
        .and_then(|s| s.stabilization_window_seconds)
        .unwrap_or(300);
    tree.set(
        "pod_autoscaler.scale_down_stabilization",
        json!(format!("{window}s")),
        d.source("spec.behavior.scaleDown.stabilizationWindowSeconds"),
    )?;
    let (v, src) = match adapter {
        Some(a) => (true, a.source("(serves custom.metrics.k8s.io)")),
        None => (
            false,
            d.source("(no APIService v1beta1.custom.metrics.k8s.io in the folder)"),
        ),
    };
    tree.set("pod_autoscaler.custom_metrics_adapter", json!(v), src)?;
    Ok(())
}

/// prometheus-operator `ServiceMonitor` / `PodMonitor`, the fields read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Monitor {
    #[serde(default)]
    spec: MonitorSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MonitorSpec {
    #[serde(default)]
    endpoints: Vec<Endpoint>,
    #[serde(default)]
    pod_metrics_endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    #[serde(default)]
    interval: Option<String>,
}

fn monitors_into(monitors: &[(&Doc, Monitor)], tree: &mut Tree) -> Result<(), ProfileError> {
    let Some((d, m)) = monitors.first() else {
        return Ok(());
    };
    tree.set(
        "metrics.service_discovery",
        json!(true),
        d.source("(a ServiceMonitor/PodMonitor: workloads' /metrics are discovered)"),
    )?;
    let interval = m
        .spec
        .endpoints
        .iter()
        .chain(&m.spec.pod_metrics_endpoints)
        .find_map(|e| e.interval.clone());
    if let Some(i) = interval {
        tree.set(
            "metrics.scrape_interval",
            json!(i),
            d.source("spec.endpoints[].interval"),
        )?;
    }
    Ok(())
}

fn pvc_into(pvcs: &[(&Doc, PersistentVolumeClaim)], tree: &mut Tree) -> Result<(), ProfileError> {
    let Some((d, pvc)) = pvcs.first() else {
        return Ok(());
    };
    if let Some((second, _)) = pvcs.get(1) {
        return Err(err(
            &second.at,
            format!(
                "a second PersistentVolumeClaim (the first is {} at {}): the profile models one dataset volume",
                d.object(),
                d.at
            ),
        ));
    }
    let modes = pvc
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.clone())
        .unwrap_or_default();
    let mode = ["ReadWriteMany", "ReadOnlyMany", "ReadWriteOnce"]
        .into_iter()
        .find(|m| modes.iter().any(|x| x == m))
        .ok_or_else(|| {
            err(
                &d.at,
                format!("{}: spec.accessModes {modes:?}: expected ReadWriteMany, ReadOnlyMany or ReadWriteOnce", d.object()),
            )
        })?;
    tree.set(
        "storage.dataset_volume.access_mode",
        json!(mode),
        d.source("spec.accessModes"),
    )
}

/// `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1), the fields read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchedulerConfiguration {
    #[serde(default)]
    profiles: Vec<SchedProfile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchedProfile {
    #[serde(default)]
    scheduler_name: Option<String>,
    #[serde(default)]
    plugins: Option<Value>,
    #[serde(default)]
    plugin_config: Vec<PluginConfig>,
}

#[derive(Deserialize)]
struct PluginConfig {
    name: String,
    #[serde(default)]
    args: Value,
}

/// Gang scheduling from the scheduler configuration: the scheduler-plugins Coscheduling
/// plugin enabled at Permit, with `CoschedulingArgs.permitWaitingTimeSeconds` (default 60,
/// scheduler-plugins v0.31 `SetDefaults_CoschedulingArgs`) as the PodGroup's schedule
/// timeout. Without it the default profile (no gang).
fn scheduler_into(d: &Doc, tree: &mut Tree) -> Result<(), ProfileError> {
    let c: SchedulerConfiguration = d.typed()?;
    let Some(p) = c.profiles.first() else {
        tree.set("scheduler.policy", json!("default"), d.source("profiles"))?;
        return Ok(());
    };
    let _ = &p.scheduler_name;
    let names = |point: &str, list: &str| -> Vec<String> {
        p.plugins
            .as_ref()
            .and_then(|v| v.get(point))
            .and_then(|v| v.get(list))
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("name").and_then(|n| n.as_str()).map(String::from))
            .collect()
    };
    // Enabled at Permit itself, or through multiPoint unless Permit or multiPoint disables
    // it (`*` disables the multiPoint and default plugins, not those the point enables).
    let at_permit = names("permit", "enabled")
        .iter()
        .any(|n| n == "Coscheduling");
    let by_multi = names("multiPoint", "enabled")
        .iter()
        .any(|n| n == "Coscheduling")
        && !names("permit", "disabled")
            .iter()
            .chain(names("multiPoint", "disabled").iter())
            .any(|n| n == "Coscheduling" || n == "*");
    let coscheduling = at_permit || by_multi;
    if !coscheduling && tree.sources.contains_key("scheduler.policy") {
        return Ok(()); // Kueue's or Volcano's queues set the policy
    }
    if !coscheduling {
        tree.set(
            "scheduler.policy",
            json!("default"),
            d.source("profiles[0].plugins (no gang plugin at Permit)"),
        )?;
        return Ok(());
    }
    tree.set(
        "scheduler.policy",
        json!("coscheduling"),
        d.source("profiles[0].plugins (Coscheduling at Permit)"),
    )?;
    let secs = p
        .plugin_config
        .iter()
        .find(|c| c.name == "Coscheduling")
        .and_then(|c| c.args.get("permitWaitingTimeSeconds"))
        .and_then(|v| v.as_u64())
        .unwrap_or(60);
    tree.set(
        "scheduler.coscheduling.schedule_timeout",
        json!(format!("{secs}s")),
        d.source("profiles[0].pluginConfig[Coscheduling].args.permitWaitingTimeSeconds"),
    )
}

/// `platform.yaml`: the values no object holds, each recorded as declared. Returns the
/// `name` it gives, if any.
fn declared_into(file: &str, text: &str, tree: &mut Tree) -> Result<Option<String>, ProfileError> {
    let v: Value = serde_saphyr::from_str(text).map_err(|e| ProfileError::Parse {
        path: file.into(),
        msg: super::profile::yaml_message(&e, file),
    })?;
    let Value::Object(top) = v else {
        return Err(err(file, "expected a mapping of profile sections"));
    };
    let declared = || Source::Declared {
        file: file.to_string(),
    };
    let mut name = None;
    for (k, v) in top {
        match (k.as_str(), v) {
            ("name", Value::String(s)) => {
                tree.root.insert("name".into(), json!(s));
                name = Some(s);
            }
            ("description" | "platform", v) => {
                tree.root.insert(k.clone(), v);
            }
            ("cluster_autoscaler", Value::Object(ca)) => {
                for (ck, cv) in ca {
                    if ck == "pools" {
                        let Value::Array(pools) = cv else {
                            return Err(err(file, "cluster_autoscaler.pools: expected a list"));
                        };
                        for p in pools {
                            let Some(pname) =
                                p.get("name").and_then(|n| n.as_str()).map(String::from)
                            else {
                                return Err(err(
                                    file,
                                    "cluster_autoscaler.pools[]: each needs a name",
                                ));
                            };
                            for (pk, pv) in p.as_object().into_iter().flatten() {
                                if pk != "name" {
                                    tree.set_pool(&pname, pk, pv.clone(), declared())?;
                                }
                            }
                        }
                    } else {
                        leaves(&format!("cluster_autoscaler.{ck}"), cv, tree, &declared)?;
                    }
                }
            }
            (_, v) => leaves(&k, v, tree, &declared)?,
        }
    }
    Ok(name)
}

fn leaves(
    path: &str,
    v: Value,
    tree: &mut Tree,
    declared: &dyn Fn() -> Source,
) -> Result<(), ProfileError> {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                leaves(&format!("{path}.{k}"), v, tree, declared)?;
            }
            Ok(())
        }
        v => tree.set(path, v, declared()),
    }
}
