//! Reading Kubernetes manifests: multi-document YAML (or JSON), and the `kind: List`
//! (or `<Kind>List`) output of `kubectl get -o yaml|json`, into `k8s-openapi` types.
//!
//! Read: DeviceClass, ResourceSlice, ResourceClaim, ResourceClaimTemplate
//! (`resource.k8s.io/v1`), DeviceTaintRule (`resource.k8s.io/v1alpha3`, the version
//! Kubernetes 1.34 serves), Pod, Node, Namespace (`v1`). Other kinds are skipped and
//! listed in [`Manifests::skipped`]. A known kind with another apiVersion (e.g.
//! `resource.k8s.io/v1beta1`) is an error naming file and line, as is malformed YAML or a
//! field of the wrong type.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::resource::v1::{
    DeviceClass, ResourceClaim, ResourceClaimTemplate, ResourceSlice,
};
use k8s_openapi::api::resource::v1alpha3::DeviceTaintRule;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::block_yaml::{self, Scalars};
use super::error::DraError;
use super::known_fields;

/// Namespace and name of a namespaced object.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: &str, name: &str) -> ObjectKey {
        ObjectKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The objects read from one or more manifest files, by name (sorted).
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    pub device_classes: BTreeMap<String, DeviceClass>,
    pub resource_slices: BTreeMap<String, ResourceSlice>,
    pub claims: BTreeMap<ObjectKey, ResourceClaim>,
    pub claim_templates: BTreeMap<ObjectKey, ResourceClaimTemplate>,
    /// DeviceTaintRules (cluster-scoped), applied to the devices they select by
    /// [`super::Allocator::from_manifests`] and in runs.
    pub device_taint_rules: BTreeMap<String, DeviceTaintRule>,
    pub pods: BTreeMap<ObjectKey, Pod>,
    pub nodes: BTreeMap<String, Node>,
    pub namespaces: BTreeMap<String, Namespace>,
    /// Objects of other kinds, as `file:line: apiVersion kind`.
    pub skipped: Vec<String>,
    /// Where each object was read, for duplicate errors: (kind, key) → `file:line`.
    origins: BTreeMap<(Kind, String), String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    DeviceClass,
    ResourceSlice,
    ResourceClaim,
    ResourceClaimTemplate,
    DeviceTaintRule,
    Pod,
    Node,
    Namespace,
    Other,
}

impl Kind {
    fn from_name(kind: &str) -> Kind {
        match kind {
            "DeviceClass" => Kind::DeviceClass,
            "ResourceSlice" => Kind::ResourceSlice,
            "ResourceClaim" => Kind::ResourceClaim,
            "ResourceClaimTemplate" => Kind::ResourceClaimTemplate,
            "DeviceTaintRule" => Kind::DeviceTaintRule,
            "Pod" => Kind::Pod,
            "Node" => Kind::Node,
            "Namespace" => Kind::Namespace,
            _ => Kind::Other,
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Kind::DeviceClass
            | Kind::ResourceSlice
            | Kind::ResourceClaim
            | Kind::ResourceClaimTemplate => "resource.k8s.io/v1",
            Kind::DeviceTaintRule => "resource.k8s.io/v1alpha3",
            Kind::Pod | Kind::Node | Kind::Namespace => "v1",
            Kind::Other => "",
        }
    }
}

/// `apiVersion` and `kind` of a document, and of its items if it is a list.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    items: Option<Vec<serde_saphyr::Spanned<ItemHead>>>,
}

#[derive(Deserialize)]
struct ItemHead {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
}

enum Object {
    DeviceClass(Box<DeviceClass>),
    ResourceSlice(Box<ResourceSlice>),
    ResourceClaim(Box<ResourceClaim>),
    ResourceClaimTemplate(Box<ResourceClaimTemplate>),
    DeviceTaintRule(Box<DeviceTaintRule>),
    Pod(Box<Pod>),
    Node(Box<Node>),
    Namespace(Box<Namespace>),
    Other,
}

impl Object {
    /// The typed object serialized back (what the API keeps of the document).
    fn to_json(&self) -> Option<serde_json::Value> {
        match self {
            Object::DeviceClass(o) => serde_json::to_value(&**o).ok(),
            Object::ResourceSlice(o) => serde_json::to_value(&**o).ok(),
            Object::ResourceClaim(o) => serde_json::to_value(&**o).ok(),
            Object::ResourceClaimTemplate(o) => serde_json::to_value(&**o).ok(),
            Object::DeviceTaintRule(o) => serde_json::to_value(&**o).ok(),
            Object::Pod(o) => serde_json::to_value(&**o).ok(),
            Object::Node(o) => serde_json::to_value(&**o).ok(),
            Object::Namespace(o) => serde_json::to_value(&**o).ok(),
            Object::Other => None,
        }
    }

    /// Whether the typed object keeps every field of `raw` (see
    /// [`known_fields::keeps_every_field`]); `false` also when not sure.
    fn keeps_every_field(&self, raw: &serde_json::Value) -> bool {
        use known_fields::keeps_every_field as keeps;
        match self {
            Object::DeviceClass(o) => keeps(raw, &**o),
            Object::ResourceSlice(o) => keeps(raw, &**o),
            Object::ResourceClaim(o) => keeps(raw, &**o),
            Object::ResourceClaimTemplate(o) => keeps(raw, &**o),
            Object::DeviceTaintRule(o) => keeps(raw, &**o),
            Object::Pod(o) => keeps(raw, &**o),
            Object::Node(o) => keeps(raw, &**o),
            Object::Namespace(o) => keeps(raw, &**o),
            Object::Other => true,
        }
    }
}

/// The first field of `raw` (the document as written) that the typed object does not keep:
/// a field the API does not know, which `kubectl apply` (strict field validation, the
/// default since 1.27) rejects. `null` values are skipped (they mean "unset").
pub fn unknown_field(
    raw: &serde_json::Value,
    typed: &serde_json::Value,
    path: &str,
) -> Option<String> {
    // The path is spelled only once an unknown field is found (most documents have none).
    let mut rev = Vec::new();
    if !find_unknown(raw, typed, &mut rev) {
        return None;
    }
    let mut out = path.to_string();
    for step in rev.iter().rev() {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => {
                use std::fmt::Write;
                let _ = write!(out, "[{i}]");
            }
        }
    }
    Some(out)
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Whether `raw` has a non-null field `typed` lacks; if so, the steps to it, innermost
/// first, in `rev`. Fields and items are searched in order, so the first one is found.
fn find_unknown<'a>(
    raw: &'a serde_json::Value,
    typed: &serde_json::Value,
    rev: &mut Vec<Step<'a>>,
) -> bool {
    use serde_json::Value;
    match (raw, typed) {
        (Value::Object(r), Value::Object(t)) => r.iter().any(|(k, v)| {
            let found = !v.is_null()
                && match t.get(k) {
                    None => true,
                    Some(tv) => find_unknown(v, tv, rev),
                };
            if found {
                rev.push(Step::Key(k));
            }
            found
        }),
        (Value::Array(r), Value::Array(t)) => r.iter().zip(t).enumerate().any(|(i, (v, tv))| {
            let found = find_unknown(v, tv, rev);
            if found {
                rev.push(Step::Index(i));
            }
            found
        }),
        _ => false,
    }
}

struct KindSeed(Kind);

impl<'de> DeserializeSeed<'de> for KindSeed {
    type Value = Object;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Object, D::Error> {
        Ok(match self.0 {
            Kind::DeviceClass => Object::DeviceClass(Box::new(DeviceClass::deserialize(d)?)),
            Kind::ResourceSlice => Object::ResourceSlice(Box::new(ResourceSlice::deserialize(d)?)),
            Kind::ResourceClaim => Object::ResourceClaim(Box::new(ResourceClaim::deserialize(d)?)),
            Kind::ResourceClaimTemplate => {
                Object::ResourceClaimTemplate(Box::new(ResourceClaimTemplate::deserialize(d)?))
            }
            Kind::DeviceTaintRule => {
                Object::DeviceTaintRule(Box::new(DeviceTaintRule::deserialize(d)?))
            }
            Kind::Pod => Object::Pod(Box::new(Pod::deserialize(d)?)),
            Kind::Node => Object::Node(Box::new(Node::deserialize(d)?)),
            Kind::Namespace => Object::Namespace(Box::new(Namespace::deserialize(d)?)),
            Kind::Other => {
                IgnoredAny::deserialize(d)?;
                Object::Other
            }
        })
    }
}

/// A list document: reads `items` with the kinds found in the first pass.
struct ListSeed<'a>(&'a [Kind]);

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Vec<Object>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Object>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Vec<Object>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list object with items")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Object>, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                out = map.next_value_seed(ItemsSeed(self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

struct ItemsSeed<'a>(&'a [Kind]);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = Vec<Object>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Object>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = Vec<Object>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Object>, A::Error> {
        let mut out = Vec::with_capacity(self.0.len());
        for &kind in self.0 {
            match seq.next_element_seed(KindSeed(kind))? {
                Some(o) => out.push(o),
                None => break,
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(out)
    }
}

/// `serde_saphyr`'s options for manifests: its default budget (250,000 nodes and
/// 1,000,000 events a document) refuses `kubectl get resourceslices -o yaml` of 64 HGX
/// H100 nodes (one 6 MB `List` document), so a document may hold up to
/// [`block_yaml::MAX_NODES`] nodes — about what a 256 MiB file, the most Orrery reads,
/// can hold — as it may in the fast block reader. Its other limits (depth 64, 64 MiB of
/// scalar text, anchors and aliases) stay.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: block_yaml::MAX_NODES,
            max_events: 3 * block_yaml::MAX_NODES,
        },
    }
}

/// One document (from [`split_documents`]) as a JSON value: by [`block_yaml`] when the
/// document is in its subset, else by `serde_saphyr` with the manifests' budget
/// ([`yaml_options`]); the same value either way. For other readers of `kubectl` output
/// (Pods), so a large List reads as the DRA manifests do.
pub fn yaml_value(
    doc: &str,
    scalars: &mut Scalars,
) -> Result<serde_json::Value, serde_saphyr::Error> {
    match block_yaml::read(doc, scalars) {
        Some(v) => Ok(v),
        None => serde_saphyr::from_str_with_options(doc, yaml_options()),
    }
}

/// Splits a YAML stream into documents: (first line number, text).
pub fn split_documents(text: &str) -> Vec<(u64, String)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1u64;
    for (i, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        let is_end = line == "...";
        if is_marker || is_end {
            docs.push((start, std::mem::take(&mut current)));
            start = i as u64 + 2;
            if is_marker && line.len() > 3 {
                // Content on the marker line (`--- {json}`): keep it on this document.
                start = i as u64 + 1;
                current.push_str(&line[4..]);
                current.push('\n');
            }
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    docs.push((start, current));
    docs.retain(|(_, d)| {
        d.lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
    });
    docs
}

/// Strict decoding: a field the typed object does not keep is an error naming its path.
fn strict(
    file: &str,
    line: u64,
    kind: &str,
    raw: &serde_json::Value,
    obj: &Object,
) -> Result<(), DraError> {
    // The walk answers most documents without serializing the object; when it finds an
    // unknown field (or is not sure) the full check finds and names it.
    if obj.keeps_every_field(raw) {
        return Ok(());
    }
    let Some(typed) = obj.to_json() else {
        return Ok(());
    };
    match unknown_field(raw, &typed, "") {
        None => Ok(()),
        Some(field) => {
            let text = |k: &str| raw.get(k).and_then(|v| v.as_str()).unwrap_or("?");
            Err(DraError::Manifest {
                file: file.to_string(),
                line,
                column: 1,
                message: format!(
                    "{kind}: unknown field {field:?} (kubectl apply rejects unknown fields; check its \
                     spelling and indentation against {} {})",
                    text("apiVersion"),
                    text("kind")
                ),
            })
        }
    }
}

/// Where a YAML error of a document starting at `first_line` stands in its file, and its
/// message without the snippet and the document-relative location: `(line, column, msg)`.
pub fn yaml_error_at(first_line: u64, e: &serde_saphyr::Error) -> (u64, u64, String) {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let mut message = e.without_snippet().render_with_options(opts);
    // The rendered text ends with its own (document-relative) location: drop it.
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    (
        first_line + line.saturating_sub(1),
        column,
        message.trim().to_string(),
    )
}

fn yaml_error(file: &str, first_line: u64, e: &serde_saphyr::Error) -> DraError {
    let (line, column, message) = yaml_error_at(first_line, e);
    DraError::Manifest {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

impl Manifests {
    pub fn new() -> Manifests {
        Manifests::default()
    }

    /// Reads every object of a YAML/JSON text; `file` names it in messages.
    pub fn add_str(&mut self, file: &str, text: &str) -> Result<(), DraError> {
        let mut scalars = Scalars::new();
        for (first_line, doc) in split_documents(text) {
            self.add_document(file, first_line, &doc, &mut scalars)?;
        }
        Ok(())
    }

    /// Reads one file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), DraError> {
        let file = path.display().to_string();
        // A device (`/dev/zero`), FIFO or folder is refused without being opened: reading
        // one would never end. Manifests are small; 256 MiB bounds what is read.
        const MAX_BYTES: u64 = 256 << 20;
        let read = || -> Result<String, String> {
            use std::io::Read;
            let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
            if !meta.is_file() {
                return Err("not a regular file (a folder, device, FIFO or socket)".to_string());
            }
            let mut text = String::new();
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_BYTES + 1).read_to_string(&mut text))
                .map_err(|e| e.to_string())?;
            if text.len() as u64 > MAX_BYTES {
                return Err(format!("larger than {MAX_BYTES} bytes"));
            }
            Ok(text)
        };
        let text = read().map_err(|message| DraError::Read {
            file: file.clone(),
            message,
        })?;
        self.add_str(&file, &text)
    }

    /// Reads every `*.yaml`, `*.yml` and `*.json` file of a folder (not recursive), in
    /// name order.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), DraError> {
        let read_err = |e: std::io::Error| DraError::Read {
            file: dir.display().to_string(),
            message: e.to_string(),
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_err)?
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
        for f in files {
            self.add_file(&f)?;
        }
        Ok(())
    }

    /// Reads a file or a folder.
    pub fn load(path: &Path) -> Result<Manifests, DraError> {
        let mut m = Manifests::new();
        if path.is_dir() {
            m.add_dir(path)?;
        } else {
            m.add_file(path)?;
        }
        Ok(m)
    }

    /// Parses a text on its own.
    pub fn parse(file: &str, text: &str) -> Result<Manifests, DraError> {
        let mut m = Manifests::new();
        m.add_str(file, text)?;
        Ok(m)
    }

    fn add_document(
        &mut self,
        file: &str,
        first_line: u64,
        doc: &str,
        scalars: &mut Scalars,
    ) -> Result<(), DraError> {
        if self.add_document_once(file, first_line, doc, scalars)? {
            return Ok(());
        }
        self.add_document_in_full(file, first_line, doc)
    }

    /// Reads one (non-list) document from a single parse into a JSON value (by
    /// [`block_yaml::read`] when the document is in its subset, else by `serde_saphyr`;
    /// the same value either way): its head,
    /// the typed object and the strict field check all come from that value. `Ok(false)`
    /// (nothing read) for anything but a clean read of a known kind — a YAML error, an
    /// unexpected head, a wrong apiVersion, a field of the wrong type, an unknown field,
    /// a list, a skipped kind — which [`Self::add_document_in_full`] then reads as it
    /// always has, with its errors' lines and columns.
    fn add_document_once(
        &mut self,
        file: &str,
        first_line: u64,
        doc: &str,
        scalars: &mut Scalars,
    ) -> Result<bool, DraError> {
        use serde_json::Value;
        let (raw, item_lines) = match block_yaml::read_with_items(doc, scalars) {
            Some((raw, lines)) => (raw, Some(lines)),
            None => match serde_saphyr::from_str_with_options::<Value>(doc, yaml_options()) {
                Ok(raw) => (raw, None),
                Err(_) => return Ok(false),
            },
        };
        let text = |key: &str| match raw.get(key) {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        let (Some(kind_name), Some(api_version)) = (text("kind"), text("apiVersion")) else {
            return Ok(false);
        };
        let kind = Kind::from_name(kind_name);
        if raw.get("items").is_some() {
            let (kind_name, api_version) = (kind_name.to_string(), api_version.to_string());
            return match item_lines {
                Some(lines) => {
                    self.add_list_once(file, first_line, raw, &kind_name, &api_version, &lines)
                }
                None => Ok(false),
            };
        }
        if kind == Kind::Other || api_version != kind.api_version() {
            return Ok(false);
        }
        let Ok(obj) = KindSeed(kind).deserialize(&raw) else {
            return Ok(false);
        };
        if strict(file, first_line, kind_name, &raw, &obj).is_err() {
            return Ok(false);
        }
        self.insert(obj, &format!("{file}:{first_line}"))?;
        Ok(true)
    }

    /// A list document (`kind: List` or `<Kind>List`) read by [`block_yaml`]: its items
    /// typed from the value, at the lines where they start. `Ok(false)` (nothing read)
    /// for anything but a clean read of every item — an item that is not a mapping, a
    /// `kind` or `apiVersion` that is not a string, a wrong apiVersion, a field of the
    /// wrong type, an unknown field — which [`Self::add_document_in_full`] then reads
    /// with its errors' lines and columns. Same objects, same order, same skipped list.
    /// Each item's value is dropped once it is typed (a List of slices runs to megabytes).
    fn add_list_once(
        &mut self,
        file: &str,
        first_line: u64,
        raw: serde_json::Value,
        kind_name: &str,
        head_version: &str,
        item_lines: &[usize],
    ) -> Result<bool, DraError> {
        use serde_json::Value;
        let Value::Object(mut top) = raw else {
            return Ok(false);
        };
        let Some(Value::Array(items)) = top.remove("items") else {
            return Ok(false);
        };
        drop(top);
        if !(kind_name == "List" || kind_name.ends_with("List")) || items.len() != item_lines.len()
        {
            return Ok(false);
        }
        let implied = kind_name.strip_suffix("List").filter(|k| !k.is_empty());
        let mut skipped = Vec::new();
        let mut objects = Vec::with_capacity(items.len());
        for (item, &at) in items.into_iter().zip(item_lines) {
            let Value::Object(fields) = &item else {
                return Ok(false);
            };
            // As `ItemHead` reads them: absent or null is `None`, a string is itself.
            let field = |k: &str| match fields.get(k) {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(s)) => Some(Some(s.as_str())),
                Some(_) => None,
            };
            let (Some(item_kind), Some(item_version)) = (field("kind"), field("apiVersion")) else {
                return Ok(false);
            };
            let line = first_line + (at as u64).saturating_sub(1);
            let item_kind = item_kind.or(implied).unwrap_or_default();
            let api_version = item_version
                .or(implied.map(|_| head_version))
                .unwrap_or_default();
            let kind = Kind::from_name(item_kind);
            if kind == Kind::Other {
                skipped.push(format!("{file}:{line}: {api_version} {item_kind}"));
            } else if api_version != kind.api_version() {
                return Ok(false);
            }
            let Ok(obj) = KindSeed(kind).deserialize(&item) else {
                return Ok(false);
            };
            if strict(file, line, "item", &item, &obj).is_err() {
                return Ok(false);
            }
            objects.push((obj, line));
        }
        self.skipped.extend(skipped);
        for (obj, line) in objects {
            self.insert(obj, &format!("{file}:{line}"))?;
        }
        Ok(true)
    }

    /// Reads one document: its head, then its typed objects, then the raw value for the
    /// strict field check, each errors with file, line and column.
    fn add_document_in_full(
        &mut self,
        file: &str,
        first_line: u64,
        doc: &str,
    ) -> Result<(), DraError> {
        let head: Head = serde_saphyr::from_str_with_options(doc, yaml_options())
            .map_err(|e| yaml_error(file, first_line, &e))?;
        let kind_name = head.kind.clone().unwrap_or_default();
        let wrong_version =
            |line: u64, kind: &str, found: &str, expected: &str| DraError::WrongApiVersion {
                file: file.to_string(),
                line,
                kind: kind.to_string(),
                found: found.to_string(),
                expected: expected.to_string(),
            };
        let is_list = head.items.is_some() && (kind_name == "List" || kind_name.ends_with("List"));
        if !is_list {
            if kind_name.is_empty() {
                return Err(DraError::Manifest {
                    file: file.to_string(),
                    line: first_line,
                    column: 1,
                    message: "document has no `kind`".to_string(),
                });
            }
            let kind = Kind::from_name(&kind_name);
            let api_version = head.api_version.unwrap_or_default();
            if kind == Kind::Other {
                self.skipped
                    .push(format!("{file}:{first_line}: {api_version} {kind_name}"));
                return Ok(());
            }
            if api_version != kind.api_version() {
                return Err(wrong_version(
                    first_line,
                    &kind_name,
                    &api_version,
                    kind.api_version(),
                ));
            }
            let obj =
                serde_saphyr::with_deserializer_from_str_with_options(doc, yaml_options(), |de| {
                    KindSeed(kind).deserialize(de)
                })
                .map_err(|e| yaml_error(file, first_line, &e))?;
            let raw: serde_json::Value = serde_saphyr::from_str_with_options(doc, yaml_options())
                .map_err(|e| yaml_error(file, first_line, &e))?;
            strict(file, first_line, &kind_name, &raw, &obj)?;
            return self.insert(obj, &format!("{file}:{first_line}"));
        }
        // A list: `kind: List` items carry their own kind; a `FooList` has items of kind
        // Foo (the API server leaves their kind out).
        let implied = kind_name.strip_suffix("List").filter(|k| !k.is_empty());
        let mut kinds = Vec::new();
        let mut lines = Vec::new();
        for item in head.items.as_deref().unwrap_or_default() {
            let line = first_line + item.referenced.line().saturating_sub(1);
            let item_kind = item.value.kind.as_deref().or(implied).unwrap_or_default();
            let api_version = item
                .value
                .api_version
                .as_deref()
                .or(if implied.is_some() {
                    head.api_version.as_deref()
                } else {
                    None
                })
                .unwrap_or_default();
            let kind = Kind::from_name(item_kind);
            if kind == Kind::Other {
                self.skipped
                    .push(format!("{file}:{line}: {api_version} {item_kind}"));
            } else if api_version != kind.api_version() {
                return Err(wrong_version(
                    line,
                    item_kind,
                    api_version,
                    kind.api_version(),
                ));
            }
            kinds.push(kind);
            lines.push(line);
        }
        // The items are typed from the raw value when they all read cleanly from it (one
        // parse less); otherwise from the text, for the error's line and column.
        let raw = serde_saphyr::from_str_with_options::<serde_json::Value>(doc, yaml_options());
        let from_raw = raw.as_ref().ok().and_then(|raw| {
            let items = raw.get("items")?.as_array()?;
            if items.len() != kinds.len() {
                return None;
            }
            kinds
                .iter()
                .zip(items)
                .map(|(&kind, v)| KindSeed(kind).deserialize(v).ok())
                .collect::<Option<Vec<Object>>>()
        });
        let objects = match from_raw {
            Some(objects) => objects,
            None => {
                serde_saphyr::with_deserializer_from_str_with_options(doc, yaml_options(), |de| {
                    ListSeed(&kinds).deserialize(de)
                })
                .map_err(|e| yaml_error(file, first_line, &e))?
            }
        };
        let raw = raw.map_err(|e| yaml_error(file, first_line, &e))?;
        let raw_items = raw
            .get("items")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        for ((obj, line), raw) in objects.into_iter().zip(lines).zip(raw_items.iter()) {
            strict(file, line, "item", raw, &obj)?;
            self.insert(obj, &format!("{file}:{line}"))?;
        }
        Ok(())
    }

    fn insert(&mut self, obj: Object, at: &str) -> Result<(), DraError> {
        fn named<'a>(
            meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            at: &str,
            kind: &str,
        ) -> Result<&'a str, DraError> {
            meta.name
                .as_deref()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| DraError::Invalid {
                    object: format!("{kind} at {at}"),
                    message: "metadata.name is missing".to_string(),
                })
        }
        fn ns(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
            meta.namespace.as_deref().unwrap_or("default")
        }
        let (kind, key, kind_name) = match &obj {
            Object::DeviceClass(o) => (
                Kind::DeviceClass,
                named(&o.metadata, at, "DeviceClass")?.to_string(),
                "DeviceClass",
            ),
            Object::ResourceSlice(o) => (
                Kind::ResourceSlice,
                named(&o.metadata, at, "ResourceSlice")?.to_string(),
                "ResourceSlice",
            ),
            Object::ResourceClaim(o) => (
                Kind::ResourceClaim,
                ObjectKey::new(ns(&o.metadata), named(&o.metadata, at, "ResourceClaim")?)
                    .to_string(),
                "ResourceClaim",
            ),
            Object::ResourceClaimTemplate(o) => (
                Kind::ResourceClaimTemplate,
                ObjectKey::new(
                    ns(&o.metadata),
                    named(&o.metadata, at, "ResourceClaimTemplate")?,
                )
                .to_string(),
                "ResourceClaimTemplate",
            ),
            Object::DeviceTaintRule(o) => {
                let name = named(&o.metadata, at, "DeviceTaintRule")?.to_string();
                // As the API server validates it (the allocator checks it again).
                let taint = &o.spec.taint;
                let problem = if !matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute") {
                    Some(format!(
                        "spec.taint.effect is {:?}; valid effects are NoSchedule and NoExecute",
                        taint.effect
                    ))
                } else if taint.key.is_empty() {
                    Some("spec.taint.key is empty".to_string())
                } else {
                    None
                };
                if let Some(message) = problem {
                    return Err(DraError::Invalid {
                        object: format!("DeviceTaintRule {name} at {at}"),
                        message,
                    });
                }
                (Kind::DeviceTaintRule, name, "DeviceTaintRule")
            }
            Object::Pod(o) => (
                Kind::Pod,
                ObjectKey::new(ns(&o.metadata), named(&o.metadata, at, "Pod")?).to_string(),
                "Pod",
            ),
            Object::Node(o) => (
                Kind::Node,
                named(&o.metadata, at, "Node")?.to_string(),
                "Node",
            ),
            Object::Namespace(o) => (
                Kind::Namespace,
                named(&o.metadata, at, "Namespace")?.to_string(),
                "Namespace",
            ),
            Object::Other => return Ok(()),
        };
        if let Some(first) = self.origins.get(&(kind, key.clone())) {
            return Err(DraError::Invalid {
                object: format!("{kind_name} {key} at {at}"),
                message: format!("already defined at {first}"),
            });
        }
        self.origins.insert((kind, key.clone()), at.to_string());
        let okey = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            ObjectKey::new(ns(meta), meta.name.as_deref().unwrap_or_default())
        };
        match obj {
            Object::DeviceClass(o) => {
                self.device_classes.insert(key, *o);
            }
            Object::ResourceSlice(o) => {
                self.resource_slices.insert(key, *o);
            }
            Object::ResourceClaim(o) => {
                self.claims.insert(okey(&o.metadata), *o);
            }
            Object::ResourceClaimTemplate(o) => {
                self.claim_templates.insert(okey(&o.metadata), *o);
            }
            Object::DeviceTaintRule(o) => {
                self.device_taint_rules.insert(key, *o);
            }
            Object::Pod(o) => {
                self.pods.insert(okey(&o.metadata), *o);
            }
            Object::Node(o) => {
                self.nodes.insert(key, *o);
            }
            Object::Namespace(o) => {
                self.namespaces.insert(key, *o);
            }
            Object::Other => {}
        }
        Ok(())
    }

    /// Where an object was read (`file:line`), if it was.
    pub fn origin_of_slice(&self, name: &str) -> Option<&str> {
        self.origins
            .get(&(Kind::ResourceSlice, name.to_string()))
            .map(String::as_str)
    }

    /// The claims a pod uses, in `spec.resourceClaims` order: the named ResourceClaim
    /// (shared with every pod naming it), or one claim made for this pod from a
    /// ResourceClaimTemplate, named `<pod>-<claim name>` (Kubernetes adds a random
    /// suffix; Orrery keeps names deterministic).
    pub fn pod_claims(&self, pod: &ObjectKey) -> Result<Vec<PodClaim>, DraError> {
        let p = self.pods.get(pod).ok_or_else(|| DraError::Invalid {
            object: format!("pod {pod}"),
            message: "no such pod".to_string(),
        })?;
        let mut out = Vec::new();
        let claims = p.spec.as_ref().and_then(|s| s.resource_claims.as_ref());
        for pc in claims.into_iter().flatten() {
            let missing = |what, name: &str| DraError::MissingClaimSource {
                pod: pod.to_string(),
                claim: pc.name.clone(),
                what,
                name: name.to_string(),
            };
            match (&pc.resource_claim_name, &pc.resource_claim_template_name) {
                (Some(name), None) => {
                    let key = ObjectKey::new(&pod.namespace, name);
                    let claim = self
                        .claims
                        .get(&key)
                        .ok_or_else(|| missing("ResourceClaim", name))?;
                    out.push(PodClaim {
                        pod_claim_name: pc.name.clone(),
                        claim: claim.clone(),
                        from_template: false,
                    });
                }
                (None, Some(template)) => {
                    let key = ObjectKey::new(&pod.namespace, template);
                    let t = self
                        .claim_templates
                        .get(&key)
                        .ok_or_else(|| missing("ResourceClaimTemplate", template))?;
                    out.push(PodClaim {
                        pod_claim_name: pc.name.clone(),
                        claim: claim_from_template(pod, &pc.name, t),
                        from_template: true,
                    });
                }
                _ => {
                    return Err(DraError::Invalid {
                        object: format!("pod {pod}, resource claim {:?}", pc.name),
                        message: "exactly one of resourceClaimName and resourceClaimTemplateName must be set"
                            .to_string(),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// A claim as one pod uses it.
#[derive(Clone, Debug)]
pub struct PodClaim {
    /// The name in the pod's `spec.resourceClaims`.
    pub pod_claim_name: String,
    pub claim: ResourceClaim,
    /// Made for this pod from a template (else a shared, named claim).
    pub from_template: bool,
}

/// The claim the resource-claim controller makes for a pod from a template.
/// The YAML of a ResourceClaim `name` with one `exactly` request named `gpu` for `count`
/// devices of `class` (`allocationMode: All` when `count` is 0), each matching every CEL
/// selector in `selectors` (single-quoted in the YAML, so they may use double quotes).
pub fn exactly_claim_yaml(name: &str, class: &str, count: u32, selectors: &[&str]) -> String {
    let mut sel = String::new();
    if !selectors.is_empty() {
        sel.push_str("        selectors:\n");
        for s in selectors {
            sel.push_str(&format!("        - cel:\n            expression: '{s}'\n"));
        }
    }
    let amount = if count == 0 {
        "allocationMode: All".to_string()
    } else {
        format!("count: {count}")
    };
    format!(
        "apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: {name}
spec:
  devices:
    requests:
    - name: gpu
      exactly:
        deviceClassName: {class}
        {amount}
{sel}"
    )
}

pub fn claim_from_template(
    pod: &ObjectKey,
    pod_claim_name: &str,
    template: &ResourceClaimTemplate,
) -> ResourceClaim {
    let mut meta = template.spec.metadata.clone().unwrap_or_default();
    meta.name = Some(format!("{}-{}", pod.name, pod_claim_name));
    meta.namespace = Some(pod.namespace.clone());
    ResourceClaim {
        metadata: meta,
        spec: template.spec.spec.clone(),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::unknown_field;
    use serde_json::json;

    #[test]
    fn unknown_field_names_the_first_path() {
        let raw = json!({"a": {"b": [{"c": 1}, {"d": 2, "e": 3}]}, "z": null, "y": {"x": 1}});
        let typed = json!({"a": {"b": [{"c": 1}, {"c": 2}]}, "y": {"x": 1}});
        assert_eq!(unknown_field(&raw, &typed, "").as_deref(), Some("a.b[1].d"));
        assert_eq!(
            unknown_field(&raw, &typed, "spec").as_deref(),
            Some("spec.a.b[1].d")
        );
        assert_eq!(
            unknown_field(&json!([{"k": 1}]), &json!([{}]), "").as_deref(),
            Some("[0].k")
        );
        // Nulls mean unset; extra items of `raw` beyond `typed` are not compared.
        assert_eq!(unknown_field(&json!({"z": null}), &json!({}), ""), None);
        assert_eq!(unknown_field(&json!([1, {"k": 1}]), &json!([1]), ""), None);
        assert_eq!(unknown_field(&typed, &typed, "x"), None);
    }
}
