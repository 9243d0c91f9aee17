//! The structured-parameters allocator (the kube-scheduler's DynamicResources plugin,
//! `k8s.io/dynamic-resource-allocation/structured`), on plain data.
//!
//! [`Allocator::new`] indexes the devices of the ResourceSlices and compiles the
//! DeviceClasses' selectors; [`Allocator::prepare`] checks a ResourceClaim and compiles
//! its selectors (each distinct expression once, and each (class, selectors) pair is
//! evaluated once per device, then cached); [`Allocator::filter`] finds devices for all
//! of a pod's claims on one node (Filter); [`Allocator::reserve`] and
//! [`Allocator::unreserve`] record and release them in an [`AllocationState`] (Reserve /
//! Unreserve, and the claim controller's deallocation when a claim has no consumer left).
//!
//! The search is the upstream one: requests in order, devices in pool/slice/device
//! order, first solution wins, backtracking over earlier choices; `firstAvailable`
//! tries its sub-requests in order; constraints are checked as each device is added.

use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use k8s_openapi::api::core::v1::NodeSelector;
use k8s_openapi::api::resource::v1::{
    DeviceClass, DeviceRequest, DeviceSelector, DeviceToleration, ResourceClaim, ResourceSlice,
};
use serde::{Deserialize, Serialize};

use super::cel::{self, AttrValue, DeviceVal, Reads, Selector};
use super::error::DraError;
use super::manifests::ObjectKey;
use super::quantity::Quantity;

/// Index of a device in its [`Allocator`] (stable for the allocator's life).
pub type DeviceIdx = u32;

/// Most devices one claim may be allocated (`AllocationResultsMaxSize`, Kubernetes 1.34).
pub const MAX_DEVICES_PER_CLAIM: usize = 32;
/// Most consumers a claim may be reserved for (`ResourceClaimReservedForMaxSize`).
pub const MAX_RESERVED_FOR: usize = 256;

/// Driver, pool and device name: what a claim's status records.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId {
    pub driver: String,
    pub pool: String,
    pub device: String,
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.driver, self.pool, self.device)
    }
}

#[derive(Clone, Debug)]
enum Availability {
    Node(u32),
    AllNodes,
    Selector(NodeSelector),
}

#[derive(Clone, Debug)]
struct Taint {
    key: String,
    value: Option<String>,
    effect: String,
}

/// One device as the allocator sees it.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    pub id: DeviceId,
    /// The ResourceSlice it was published in.
    pub slice: String,
    /// Attributes by their fully-qualified name (`domain/name`).
    pub attributes: BTreeMap<String, AttrValue>,
    /// Capacities by their fully-qualified name.
    pub capacity: BTreeMap<String, Quantity>,
    pool: u32,
    /// (counter index, amount) consumed from the pool's shared counters.
    consumes: Vec<(u32, Quantity)>,
    taints: Vec<Taint>,
    availability: Availability,
    /// The CEL `device` value, built on first use (most devices never need one: a
    /// selector's result is shared by devices that agree on what it reads).
    cel: OnceLock<DeviceVal>,
}

impl DeviceInfo {
    /// The CEL `device` variable of this device.
    pub fn cel(&self) -> &DeviceVal {
        self.cel.get_or_init(|| {
            // The qualified names split back into the (domain, name) pairs the published
            // names give (checked in `Allocator::new`: the driver has no `/`).
            DeviceVal::new(
                &self.id.driver,
                self.attributes.iter().map(|(k, v)| (k.as_str(), v)),
                self.capacity.iter().map(|(k, q)| (k.as_str(), q)),
            )
        })
    }

    /// What a selector reading `reads` sees of this device, or `None` when that is not
    /// known (then evaluate the selector).
    fn projection<'d>(&'d self, reads: &Reads) -> Option<Vec<Seen<'d>>> {
        if self.id.driver.contains('/') {
            return None;
        }
        let mut v = Vec::with_capacity(reads.slots.len() + 1);
        if reads.driver {
            v.push(Seen::Driver(&self.id.driver));
        }
        for slot in &reads.slots {
            if slot.never {
                v.push(Seen::Absent { domain: false });
                continue;
            }
            fn lookup<'m, V>(
                m: &'m BTreeMap<String, V>,
                slot: &cel::Slot,
            ) -> (Option<&'m V>, bool) {
                if let Some(v) = m.get(&slot.qualified) {
                    return (Some(v), true);
                }
                let domain = m
                    .range::<str, _>((
                        std::ops::Bound::Included(slot.domain_prefix.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&slot.domain_prefix));
                (None, domain)
            }
            v.push(if slot.capacity {
                match lookup(&self.capacity, slot) {
                    (Some(q), _) => Seen::Capacity(q),
                    (None, domain) => Seen::Absent { domain },
                }
            } else {
                match lookup(&self.attributes, slot) {
                    (Some(a), _) => Seen::Attribute(a),
                    (None, domain) => Seen::Absent { domain },
                }
            });
        }
        Some(v)
    }
}

/// One value a selector reads (see [`DeviceInfo::projection`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Seen<'d> {
    Driver(&'d str),
    Attribute(&'d AttrValue),
    Capacity(&'d Quantity),
    /// Not published; whether its domain has other values.
    Absent {
        domain: bool,
    },
}

#[derive(Clone, Debug)]
struct PoolInfo {
    driver: String,
    name: String,
    /// Fewer slices of the newest generation than `resourceSliceCount`.
    incomplete: bool,
}

#[derive(Clone, Debug)]
struct CounterDef {
    pool: u32,
    set: String,
    name: String,
    capacity: Quantity,
}

#[derive(Clone, Debug)]
struct NodeEntry {
    name: String,
    labels: BTreeMap<String, String>,
    /// Node-local devices, in device order.
    devices: Vec<DeviceIdx>,
}

/// A device that passed its selectors, or on which one failed to evaluate.
#[derive(Clone, Debug)]
enum Cand {
    Ok(DeviceIdx),
    Err {
        device: DeviceIdx,
        /// Index into the (class selectors ++ request selectors) list.
        selector: usize,
        message: Arc<str>,
    },
}

impl Cand {
    fn device(&self) -> DeviceIdx {
        match self {
            Cand::Ok(d) | Cand::Err { device: d, .. } => *d,
        }
    }
}

/// Which devices pass a class plus a request's selectors, grouped by node.
#[derive(Debug, Default)]
struct MatchTable {
    by_node: Vec<Vec<Cand>>,
    /// Devices not local to a node (`allNodes`, node selectors).
    shared: Vec<Cand>,
}

#[derive(Debug)]
struct PreparedClass {
    selectors: Vec<Arc<Selector>>,
}

/// A toleration of a request (`DeviceToleration`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Toleration {
    key: Option<String>,
    exists: bool,
    value: Option<String>,
    effect: Option<String>,
}

impl Toleration {
    fn tolerates(&self, t: &Taint) -> bool {
        if self
            .effect
            .as_ref()
            .is_some_and(|e| !e.is_empty() && *e != t.effect)
        {
            return false;
        }
        if self
            .key
            .as_ref()
            .is_some_and(|k| !k.is_empty() && *k != t.key)
        {
            return false;
        }
        self.exists || self.value.as_deref().unwrap_or("") == t.value.as_deref().unwrap_or("")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Exact(usize),
    All,
}

/// One way to satisfy a request: the request itself, or one `firstAvailable` sub-request.
#[derive(Clone, Debug)]
struct Alternative {
    /// `request` or `request/subrequest`, as the allocation result names it.
    name: String,
    class: String,
    mode: Mode,
    admin_access: bool,
    tolerations: Vec<Toleration>,
    /// Class selectors then request selectors.
    expressions: Vec<String>,
    n_class_selectors: usize,
    table: Arc<MatchTable>,
}

#[derive(Clone, Debug)]
struct PreparedRequest {
    name: String,
    alternatives: Vec<Alternative>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ConstraintKind {
    Match,
    Distinct,
}

#[derive(Clone, Debug)]
struct Constraint {
    kind: ConstraintKind,
    attribute: String,
    /// Request names it applies to (`req` or `req/sub`); empty = all.
    requests: Vec<String>,
}

impl Constraint {
    fn applies(&self, request: &str, alternative: &str) -> bool {
        self.requests.is_empty()
            || self
                .requests
                .iter()
                .any(|r| r == request || r == alternative)
    }
}

/// A ResourceClaim checked and compiled against an [`Allocator`].
#[derive(Clone, Debug)]
pub struct PreparedClaim {
    pub key: ObjectKey,
    /// Shared by the claims made from one template ([`Self::renamed`]).
    requests: Arc<[PreparedRequest]>,
    constraints: Arc<[Constraint]>,
}

impl PreparedClaim {
    /// The same claim under another name: what the resource-claim controller makes for
    /// each pod from one ResourceClaimTemplate (prepared once, then renamed per pod).
    pub fn renamed(&self, key: ObjectKey) -> PreparedClaim {
        PreparedClaim {
            key,
            requests: Arc::clone(&self.requests),
            constraints: Arc::clone(&self.constraints),
        }
    }
}

/// One allocated device of a claim.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AllocatedDevice {
    /// `request` or `request/subrequest`.
    pub request: String,
    pub device: DeviceIdx,
    pub admin_access: bool,
}

/// A claim's allocation (`status.allocation.devices.results`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Allocation {
    pub devices: Vec<AllocatedDevice>,
}

/// An allocated claim and who uses it (`status.reservedFor`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClaimStatus {
    pub allocation: Allocation,
    pub reserved_for: BTreeSet<String>,
}

/// Which claims are allocated to which devices: plain data (clone, compare, hash), the
/// part of the simulation state DRA owns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AllocationState {
    claims: BTreeMap<ObjectKey, ClaimStatus>,
    /// Devices allocated exclusively (not admin access), and to which claim.
    in_use: BTreeMap<DeviceIdx, ObjectKey>,
    /// The same set as a bitmap, for the search's hot path.
    in_use_bits: Vec<u64>,
    /// Shared counters consumed, in nano-units, by counter index.
    counters_used: BTreeMap<u32, i128>,
}

impl AllocationState {
    pub fn claim(&self, key: &ObjectKey) -> Option<&ClaimStatus> {
        self.claims.get(key)
    }

    pub fn claims(&self) -> impl Iterator<Item = (&ObjectKey, &ClaimStatus)> {
        self.claims.iter()
    }

    /// The claim a device is exclusively allocated to.
    pub fn device_owner(&self, device: DeviceIdx) -> Option<&ObjectKey> {
        self.in_use.get(&device)
    }

    /// Whether a device is allocated exclusively.
    pub fn is_in_use(&self, device: DeviceIdx) -> bool {
        self.in_use_bits
            .get(device as usize / 64)
            .is_some_and(|w| w & (1 << (device % 64)) != 0)
    }

    fn mark(&mut self, device: DeviceIdx, key: ObjectKey) {
        let word = device as usize / 64;
        if self.in_use_bits.len() <= word {
            self.in_use_bits.resize(word + 1, 0);
        }
        self.in_use_bits[word] |= 1 << (device % 64);
        self.in_use.insert(device, key);
    }

    fn unmark(&mut self, device: DeviceIdx) {
        if let Some(w) = self.in_use_bits.get_mut(device as usize / 64) {
            *w &= !(1 << (device % 64));
        }
        // Canonical form (no trailing zero words), so equal sets compare and hash equal.
        while self.in_use_bits.last() == Some(&0) {
            self.in_use_bits.pop();
        }
        self.in_use.remove(&device);
    }

    pub fn devices_in_use(&self) -> usize {
        self.in_use.len()
    }

    /// Test hook: records a claim without any check, to build broken states.
    #[cfg(test)]
    pub(crate) fn insert_unchecked(&mut self, key: ObjectKey, status: ClaimStatus) {
        self.claims.insert(key, status);
    }
}

/// Where a pod's claims go on one node: for each claim, the new allocation, or `None`
/// when the claim is already allocated (shared with another pod).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodPlacement {
    pub node: String,
    pub claims: Vec<(ObjectKey, Option<Allocation>)>,
}

/// Why a pod's claims cannot be allocated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unschedulable {
    #[error("node {node}: {reason}")]
    Node { node: String, reason: String },
    #[error("no node can allocate the pod's claims ({nodes} nodes tried)")]
    NoNode { nodes: usize },
    /// A selector failed to evaluate on a device the search had to consider.
    #[error(transparent)]
    Error(#[from] DraError),
}

/// A broken invariant of the allocation state (a bug, not bad input).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("DRA invariant violated: {0}")]
pub struct InvariantViolation(pub String);

/// The allocator: devices, classes and the compiled-selector caches.
#[derive(Debug)]
pub struct Allocator {
    devices: Vec<DeviceInfo>,
    pools: Vec<PoolInfo>,
    counters: Vec<CounterDef>,
    nodes: Vec<NodeEntry>,
    node_index: BTreeMap<String, u32>,
    shared_devices: Vec<DeviceIdx>,
    classes: BTreeMap<String, PreparedClass>,
    admin_namespaces: BTreeSet<String>,
    selectors: BTreeMap<String, Arc<Selector>>,
    tables: BTreeMap<(String, Vec<String>), Arc<MatchTable>>,
}

fn attr_value(a: &k8s_openapi::api::resource::v1::DeviceAttribute) -> Result<AttrValue, String> {
    let mut vals = Vec::new();
    if let Some(i) = a.int {
        vals.push(AttrValue::Int(i));
    }
    if let Some(b) = a.bool {
        vals.push(AttrValue::Bool(b));
    }
    if let Some(s) = &a.string {
        vals.push(AttrValue::String(s.clone()));
    }
    if let Some(v) = &a.version {
        vals.push(AttrValue::Version(
            super::semver::Semver::parse(v).map_err(|e| e.to_string())?,
        ));
    }
    match vals.len() {
        1 => Ok(vals.pop().unwrap_or(AttrValue::Bool(false))),
        0 => Err("has no value (one of int, bool, string, version)".to_string()),
        _ => Err("has more than one value".to_string()),
    }
}

fn qualify(name: &str, driver: &str) -> String {
    if name.contains('/') {
        name.to_string()
    } else {
        format!("{driver}/{name}")
    }
}

fn compile_selectors(
    cache: &mut BTreeMap<String, Arc<Selector>>,
    object: &str,
    selectors: &[DeviceSelector],
) -> Result<Vec<Arc<Selector>>, DraError> {
    let mut out = Vec::new();
    for (index, s) in selectors.iter().enumerate() {
        let Some(c) = &s.cel else {
            return Err(DraError::Invalid {
                object: object.to_string(),
                message: format!("selector #{index} has no `cel` expression"),
            });
        };
        if let Some(sel) = cache.get(&c.expression) {
            out.push(sel.clone());
            continue;
        }
        let sel = cel::compile(&c.expression).map_err(|message| DraError::CelCompile {
            object: object.to_string(),
            index,
            expression: c.expression.clone(),
            message,
        })?;
        let sel = Arc::new(sel);
        cache.insert(c.expression.clone(), sel.clone());
        out.push(sel);
    }
    Ok(out)
}

fn label_selector_matches(
    sel: &NodeSelector,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    // Terms are ORed, requirements within a term ANDed.
    sel.node_selector_terms.iter().any(|term| {
        let exprs = term
            .match_expressions
            .iter()
            .flatten()
            .map(|r| (r, labels.get(&r.key).map(String::as_str)));
        let fields = term.match_fields.iter().flatten().map(|r| {
            (
                r,
                if r.key == "metadata.name" {
                    Some(name)
                } else {
                    None
                },
            )
        });
        let mut any = false;
        let ok = exprs.chain(fields).all(|(r, v)| {
            any = true;
            let values = r.values.as_deref().unwrap_or_default();
            match r.operator.as_str() {
                "In" => v.is_some_and(|v| values.iter().any(|x| x == v)),
                "NotIn" => v.is_none_or(|v| !values.iter().any(|x| x == v)),
                "Exists" => v.is_some(),
                "DoesNotExist" => v.is_none(),
                "Gt" | "Lt" => {
                    let (Some(v), Some(x)) = (
                        v.and_then(|v| v.parse::<i64>().ok()),
                        values.first().and_then(|x| x.parse::<i64>().ok()),
                    ) else {
                        return false;
                    };
                    if r.operator == "Gt" { v > x } else { v < x }
                }
                _ => false,
            }
        });
        ok && any
    })
}

impl Allocator {
    /// Indexes the devices of `slices` and compiles the selectors of `classes`.
    /// Only the newest generation of each pool counts.
    pub fn new(slices: &[ResourceSlice], classes: &[DeviceClass]) -> Result<Allocator, DraError> {
        let mut a = Allocator {
            devices: Vec::new(),
            pools: Vec::new(),
            counters: Vec::new(),
            nodes: Vec::new(),
            node_index: BTreeMap::new(),
            shared_devices: Vec::new(),
            classes: BTreeMap::new(),
            admin_namespaces: BTreeSet::new(),
            selectors: BTreeMap::new(),
            tables: BTreeMap::new(),
        };
        for class in classes {
            let name = class.metadata.name.clone().unwrap_or_default();
            let object = format!("DeviceClass {name}");
            let selectors = compile_selectors(
                &mut a.selectors,
                &object,
                class.spec.selectors.as_deref().unwrap_or_default(),
            )?;
            a.classes.insert(name, PreparedClass { selectors });
        }

        // Pools: (driver, pool) → slices of the newest generation.
        let mut pools: BTreeMap<(String, String), Vec<&ResourceSlice>> = BTreeMap::new();
        for s in slices {
            pools
                .entry((s.spec.driver.clone(), s.spec.pool.name.clone()))
                .or_default()
                .push(s);
        }
        for ((driver, pool_name), mut members) in pools {
            let newest = members
                .iter()
                .map(|s| s.spec.pool.generation)
                .max()
                .unwrap_or(0);
            members.retain(|s| s.spec.pool.generation == newest);
            members.sort_by(|x, y| x.metadata.name.cmp(&y.metadata.name));
            let expected = members
                .iter()
                .map(|s| s.spec.pool.resource_slice_count)
                .max()
                .unwrap_or(1);
            let pool_idx = a.pools.len() as u32;
            a.pools.push(PoolInfo {
                driver: driver.clone(),
                name: pool_name.clone(),
                incomplete: (members.len() as i64) < expected,
            });
            // Counter sets of the pool, from any of its slices.
            let mut counter_index: BTreeMap<(String, String), u32> = BTreeMap::new();
            for s in &members {
                let slice_name = s.metadata.name.clone().unwrap_or_default();
                for set in s.spec.shared_counters.iter().flatten() {
                    for (cname, c) in &set.counters {
                        let capacity =
                            Quantity::parse(&c.value.0).map_err(|e| DraError::Invalid {
                                object: format!("ResourceSlice {slice_name}"),
                                message: format!("counter set {}, counter {cname}: {e}", set.name),
                            })?;
                        if counter_index.contains_key(&(set.name.clone(), cname.clone())) {
                            return Err(DraError::Invalid {
                                object: format!("ResourceSlice {slice_name}"),
                                message: format!(
                                    "counter set {} is defined twice in pool {pool_name}",
                                    set.name
                                ),
                            });
                        }
                        counter_index
                            .insert((set.name.clone(), cname.clone()), a.counters.len() as u32);
                        a.counters.push(CounterDef {
                            pool: pool_idx,
                            set: set.name.clone(),
                            name: cname.clone(),
                            capacity,
                        });
                    }
                }
            }
            let mut seen = BTreeSet::new();
            for s in &members {
                let slice_name = s.metadata.name.clone().unwrap_or_default();
                let per_device = s.spec.per_device_node_selection.unwrap_or(false);
                for d in s.spec.devices.iter().flatten() {
                    let invalid = |message: String| DraError::Invalid {
                        object: format!("ResourceSlice {slice_name}, device {}", d.name),
                        message,
                    };
                    if !seen.insert(d.name.clone()) {
                        return Err(invalid(format!(
                            "device name is used twice in pool {driver}/{pool_name}"
                        )));
                    }
                    // (name as published, value), in the slice's order: for CEL, then
                    // moved into the maps by fully-qualified name.
                    let mut published_attrs =
                        Vec::with_capacity(d.attributes.as_ref().map_or(0, BTreeMap::len));
                    for (k, v) in d.attributes.iter().flatten() {
                        let v = attr_value(v).map_err(|m| invalid(format!("attribute {k} {m}")))?;
                        published_attrs.push((k.as_str(), v));
                    }
                    let mut published_caps =
                        Vec::with_capacity(d.capacity.as_ref().map_or(0, BTreeMap::len));
                    for (k, v) in d.capacity.iter().flatten() {
                        let q = Quantity::parse(&v.value.0)
                            .map_err(|e| invalid(format!("capacity {k}: {e}")))?;
                        published_caps.push((k.as_str(), q));
                    }
                    let mut consumes = Vec::new();
                    for cc in d.consumes_counters.iter().flatten() {
                        for (cname, c) in &cc.counters {
                            let idx = counter_index.get(&(cc.counter_set.clone(), cname.clone())).ok_or_else(|| {
                                invalid(format!("consumes counter {cname} of counter set {}, which pool {pool_name} does not define", cc.counter_set))
                            })?;
                            let q = Quantity::parse(&c.value.0)
                                .map_err(|e| invalid(format!("counter {cname}: {e}")))?;
                            consumes.push((*idx, q));
                        }
                    }
                    let taints = d
                        .taints
                        .iter()
                        .flatten()
                        .map(|t| Taint {
                            key: t.key.clone(),
                            value: t.value.clone(),
                            effect: t.effect.clone(),
                        })
                        .collect();
                    let (node_name, all_nodes, node_selector) = if per_device {
                        (
                            d.node_name.clone(),
                            d.all_nodes.unwrap_or(false),
                            d.node_selector.clone(),
                        )
                    } else {
                        (
                            s.spec.node_name.clone(),
                            s.spec.all_nodes.unwrap_or(false),
                            s.spec.node_selector.clone(),
                        )
                    };
                    let idx = a.devices.len() as DeviceIdx;
                    let availability = if let Some(n) = node_name {
                        let ni = a.node_entry(&n);
                        a.nodes[ni as usize].devices.push(idx);
                        Availability::Node(ni)
                    } else if let Some(sel) = node_selector {
                        a.shared_devices.push(idx);
                        Availability::Selector(sel)
                    } else if all_nodes {
                        a.shared_devices.push(idx);
                        Availability::AllNodes
                    } else {
                        return Err(invalid("no nodeName, nodeSelector or allNodes".to_string()));
                    };
                    // A driver with a `/` would make the qualified names split into other
                    // domains than the published ones: build its CEL value from those now.
                    let cel = OnceLock::new();
                    if driver.contains('/') {
                        let _ = cel.set(DeviceVal::new(
                            &driver,
                            published_attrs.iter().map(|(k, v)| (*k, v)),
                            published_caps.iter().map(|(k, q)| (*k, q)),
                        ));
                    }
                    let attributes: BTreeMap<String, AttrValue> = published_attrs
                        .into_iter()
                        .map(|(k, v)| (qualify(k, &driver), v))
                        .collect();
                    let capacity: BTreeMap<String, Quantity> = published_caps
                        .into_iter()
                        .map(|(k, q)| (qualify(k, &driver), q))
                        .collect();
                    a.devices.push(DeviceInfo {
                        id: DeviceId {
                            driver: driver.clone(),
                            pool: pool_name.clone(),
                            device: d.name.clone(),
                        },
                        slice: slice_name.clone(),
                        attributes,
                        capacity,
                        pool: pool_idx,
                        consumes,
                        taints,
                        availability,
                        cel,
                    });
                }
            }
        }
        Ok(a)
    }

    /// Adds one pool of one slice with node-local devices, exactly as [`Self::new`] reads
    /// a ResourceSlice `slice` of `driver` with pool `node` (generation 1, one slice)
    /// published for `node` with these devices (name, attributes and capacity by
    /// fully-qualified name, nothing else). For generated slices, without building and
    /// reading back the API objects: the caller adds the pools in (driver, pool) order,
    /// each pool once, with unique device names, and `driver` has no `/`.
    pub(crate) fn add_node_pool(
        &mut self,
        driver: &str,
        node: &str,
        slice: &str,
        devices: impl IntoIterator<
            Item = (
                String,
                BTreeMap<String, AttrValue>,
                BTreeMap<String, Quantity>,
            ),
        >,
    ) {
        let pool_idx = self.pools.len() as u32;
        self.pools.push(PoolInfo {
            driver: driver.to_string(),
            name: node.to_string(),
            incomplete: false,
        });
        for (name, attributes, capacity) in devices {
            let idx = self.devices.len() as DeviceIdx;
            let ni = self.node_entry(node);
            self.nodes[ni as usize].devices.push(idx);
            self.devices.push(DeviceInfo {
                id: DeviceId {
                    driver: driver.to_string(),
                    pool: node.to_string(),
                    device: name,
                },
                slice: slice.to_string(),
                attributes,
                capacity,
                pool: pool_idx,
                consumes: Vec::new(),
                taints: Vec::new(),
                availability: Availability::Node(ni),
                cel: OnceLock::new(),
            });
        }
    }

    /// The allocator for everything a set of manifests holds: its ResourceSlices and
    /// DeviceClasses, its Nodes (with their labels) and the namespaces labelled
    /// `resource.kubernetes.io/admin-access: "true"`; its DeviceTaintRules are applied.
    pub fn from_manifests(m: &super::Manifests) -> Result<Allocator, DraError> {
        let slices: Vec<ResourceSlice> = m.resource_slices.values().cloned().collect();
        let classes: Vec<DeviceClass> = m.device_classes.values().cloned().collect();
        let mut a = Allocator::new(&slices, &classes)?;
        for (name, node) in &m.nodes {
            a.add_node(name, node.metadata.labels.clone().unwrap_or_default());
        }
        for (name, ns) in &m.namespaces {
            let labels = ns.metadata.labels.as_ref();
            if labels
                .and_then(|l| l.get("resource.kubernetes.io/admin-access"))
                .map(String::as_str)
                == Some("true")
            {
                a.allow_admin_access_in(name);
            }
        }
        for rule in m.device_taint_rules.values() {
            a.apply_device_taint_rule(rule)?;
        }
        Ok(a)
    }

    /// Applies a `DeviceTaintRule` (`resource.k8s.io/v1alpha3`, KEP-5055, as Kubernetes
    /// 1.34 ships it): its `spec.taint` is added to every device its `spec.deviceSelector`
    /// selects, exactly as if the driver had published the taint in the device's `taints`
    /// list. All set criteria must hold: `driver`, `pool`, `device` (names),
    /// `deviceClassName` (the class's selectors) and `selectors` (CEL). An empty selector
    /// selects every device; no selector selects none. Returns how many devices were
    /// tainted. An unknown class, a selector that does not compile or fails to evaluate on a
    /// device is an error naming the rule (a taint is never silently left out).
    pub fn apply_device_taint_rule(
        &mut self,
        rule: &k8s_openapi::api::resource::v1alpha3::DeviceTaintRule,
    ) -> Result<usize, DraError> {
        let name = rule.metadata.name.clone().unwrap_or_default();
        let object = format!("DeviceTaintRule {name}");
        let effect = rule.spec.taint.effect.as_str();
        if !matches!(effect, "NoSchedule" | "NoExecute") {
            return Err(DraError::Invalid {
                object,
                message: format!(
                    "spec.taint.effect is {effect:?}; valid effects are NoSchedule and NoExecute"
                ),
            });
        }
        if rule.spec.taint.key.is_empty() {
            return Err(DraError::Invalid {
                object,
                message: "spec.taint.key is empty".to_string(),
            });
        }
        let Some(sel) = &rule.spec.device_selector else {
            return Ok(0);
        };
        let mut selectors: Vec<Arc<Selector>> = Vec::new();
        if let Some(class) = &sel.device_class_name {
            let c = self.classes.get(class).ok_or_else(|| DraError::Invalid {
                object: object.clone(),
                message: format!(
                    "spec.deviceSelector.deviceClassName names device class {class:?}, which does \
                     not exist"
                ),
            })?;
            selectors.extend(c.selectors.iter().cloned());
        }
        let own: Vec<DeviceSelector> =
            sel.selectors
                .iter()
                .flatten()
                .map(|s| DeviceSelector {
                    cel: s.cel.as_ref().map(|c| {
                        k8s_openapi::api::resource::v1::CELDeviceSelector {
                            expression: c.expression.clone(),
                        }
                    }),
                })
                .collect();
        selectors.extend(compile_selectors(&mut self.selectors, &object, &own)?);
        let taint = Taint {
            key: rule.spec.taint.key.clone(),
            value: rule.spec.taint.value.clone(),
            effect: rule.spec.taint.effect.clone(),
        };
        let mut tainted = 0usize;
        for dev in &mut self.devices {
            if sel.driver.as_ref().is_some_and(|d| *d != dev.id.driver)
                || sel.pool.as_ref().is_some_and(|p| *p != dev.id.pool)
                || sel.device.as_ref().is_some_and(|d| *d != dev.id.device)
            {
                continue;
            }
            let mut selected = true;
            for s in &selectors {
                match s.matches(dev.cel()) {
                    Ok(true) => {}
                    Ok(false) => {
                        selected = false;
                        break;
                    }
                    Err(message) => {
                        return Err(DraError::CelEval {
                            object,
                            expression: s.expression.clone(),
                            device: dev.id.to_string(),
                            message,
                        });
                    }
                }
            }
            if selected {
                dev.taints.push(taint.clone());
                tainted += 1;
            }
        }
        Ok(tainted)
    }

    fn node_entry(&mut self, name: &str) -> u32 {
        if let Some(i) = self.node_index.get(name) {
            return *i;
        }
        let i = self.nodes.len() as u32;
        self.nodes.push(NodeEntry {
            name: name.to_string(),
            labels: BTreeMap::new(),
            devices: Vec::new(),
        });
        self.node_index.insert(name.to_string(), i);
        i
    }

    /// Makes a node known (with its labels, for slices that select nodes by label).
    /// Nodes named by ResourceSlices are known already. Call before [`Self::prepare`].
    pub fn add_node(&mut self, name: &str, labels: BTreeMap<String, String>) {
        let i = self.node_entry(name);
        self.nodes[i as usize].labels = labels;
        self.tables.clear();
    }

    /// Namespaces labelled `resource.kubernetes.io/admin-access: "true"`, where claims may
    /// ask for admin access.
    pub fn allow_admin_access_in(&mut self, namespace: &str) {
        self.admin_namespaces.insert(namespace.to_string());
    }

    /// Whether some device is usable from several nodes (`allNodes`, a node selector):
    /// then an allocation on one node changes what other nodes can allocate.
    pub fn has_shared_devices(&self) -> bool {
        !self.shared_devices.is_empty()
    }

    /// Whether a node is known (named by a slice or added).
    pub fn knows_node(&self, name: &str) -> bool {
        self.node_index.contains_key(name)
    }

    /// Known node names, sorted.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.node_index.keys().map(String::as_str)
    }

    pub fn device(&self, idx: DeviceIdx) -> &DeviceInfo {
        &self.devices[idx as usize]
    }

    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// Finds a device by driver, pool and name.
    pub fn find_device(&self, driver: &str, pool: &str, device: &str) -> Option<DeviceIdx> {
        self.devices
            .iter()
            .position(|d| d.id.driver == driver && d.id.pool == pool && d.id.device == device)
            .map(|i| i as DeviceIdx)
    }

    /// The devices usable on `node` (node-local, then network-attached), in search order.
    pub fn devices_on(&self, node: &str) -> Vec<DeviceIdx> {
        let Some(&ni) = self.node_index.get(node) else {
            return Vec::new();
        };
        let mut v: Vec<DeviceIdx> = self.nodes[ni as usize].devices.clone();
        v.extend(
            self.shared_devices
                .iter()
                .copied()
                .filter(|&d| self.available_on(d, ni)),
        );
        v.sort_unstable();
        v
    }

    fn available_on(&self, d: DeviceIdx, node: u32) -> bool {
        match &self.devices[d as usize].availability {
            Availability::Node(n) => *n == node,
            Availability::AllNodes => true,
            Availability::Selector(sel) => {
                let n = &self.nodes[node as usize];
                label_selector_matches(sel, &n.name, &n.labels)
            }
        }
    }

    fn table(&mut self, class: &str, request_selectors: &[Arc<Selector>]) -> Arc<MatchTable> {
        let mut exprs: Vec<String> = Vec::new();
        let class_sel = self
            .classes
            .get(class)
            .map(|c| c.selectors.clone())
            .unwrap_or_default();
        exprs.extend(class_sel.iter().map(|s| s.expression.clone()));
        exprs.extend(request_selectors.iter().map(|s| s.expression.clone()));
        let key = (class.to_string(), exprs);
        if let Some(t) = self.tables.get(&key) {
            return t.clone();
        }
        let all: Vec<&Arc<Selector>> = class_sel.iter().chain(request_selectors).collect();
        let mut table = MatchTable {
            by_node: vec![Vec::new(); self.nodes.len()],
            shared: Vec::new(),
        };
        // A selector's result, by what it read of the device (one map per selector).
        type Memo<'d> = HashMap<Vec<Seen<'d>>, Result<bool, Arc<str>>>;
        let mut memo: Vec<Memo<'_>> = vec![HashMap::new(); all.len()];
        for (i, d) in self.devices.iter().enumerate() {
            let mut cand = Some(Cand::Ok(i as DeviceIdx));
            for (si, sel) in all.iter().enumerate() {
                let seen = sel.reads().and_then(|r| d.projection(r));
                let result = match seen {
                    Some(seen) => memo[si]
                        .entry(seen)
                        .or_insert_with(|| sel.matches(d.cel()).map_err(Arc::from))
                        .clone(),
                    None => sel.matches(d.cel()).map_err(Arc::from),
                };
                match result {
                    Ok(true) => {}
                    Ok(false) => {
                        cand = None;
                        break;
                    }
                    Err(m) => {
                        cand = Some(Cand::Err {
                            device: i as DeviceIdx,
                            selector: si,
                            message: m,
                        });
                        break;
                    }
                }
            }
            if let Some(c) = cand {
                match d.availability {
                    Availability::Node(n) => table.by_node[n as usize].push(c),
                    _ => table.shared.push(c),
                }
            }
        }
        let t = Arc::new(table);
        self.tables.insert(key, t.clone());
        t
    }

    /// Checks a claim (classes exist, counts, constraints, admin access) and compiles
    /// its selectors.
    pub fn prepare(&mut self, claim: &ResourceClaim) -> Result<PreparedClaim, DraError> {
        let key = ObjectKey::new(
            claim.metadata.namespace.as_deref().unwrap_or("default"),
            claim.metadata.name.as_deref().unwrap_or_default(),
        );
        let object = format!("ResourceClaim {key}");
        let invalid = |message: String| DraError::Invalid {
            object: object.clone(),
            message,
        };
        let devices = claim.spec.devices.clone().unwrap_or_default();
        let mut requests = Vec::new();
        let mut names = BTreeSet::new();
        for r in devices.requests.iter().flatten() {
            requests.push(self.prepare_request(&key, r)?);
            if !names.insert(r.name.clone()) {
                return Err(invalid(format!("request name {:?} is used twice", r.name)));
            }
            for sub in r.first_available.iter().flatten() {
                names.insert(format!("{}/{}", r.name, sub.name));
            }
        }
        let mut constraints = Vec::new();
        for (i, c) in devices.constraints.iter().flatten().enumerate() {
            let (kind, attribute) = match (&c.match_attribute, &c.distinct_attribute) {
                (Some(a), None) => (ConstraintKind::Match, a.clone()),
                (None, Some(a)) => (ConstraintKind::Distinct, a.clone()),
                _ => {
                    return Err(invalid(format!(
                        "constraint #{i} must set exactly one of matchAttribute and distinctAttribute"
                    )));
                }
            };
            if !attribute.contains('/') {
                return Err(invalid(format!(
                    "constraint #{i}: attribute {attribute:?} must be fully qualified (domain/name)"
                )));
            }
            let reqs = c.requests.clone().unwrap_or_default();
            if let Some(r) = reqs.iter().find(|r| !names.contains(*r)) {
                return Err(invalid(format!(
                    "constraint #{i} names request {r:?}, which the claim does not have"
                )));
            }
            constraints.push(Constraint {
                kind,
                attribute,
                requests: reqs,
            });
        }
        let total_min: usize = requests
            .iter()
            .map(|r: &PreparedRequest| {
                r.alternatives
                    .iter()
                    .map(|a| match a.mode {
                        Mode::Exact(n) => n,
                        Mode::All => 1,
                    })
                    .min()
                    .unwrap_or(0)
            })
            .sum();
        if total_min > MAX_DEVICES_PER_CLAIM {
            return Err(invalid(format!(
                "asks for at least {total_min} devices; at most {MAX_DEVICES_PER_CLAIM} per claim"
            )));
        }
        if requests
            .iter()
            .any(|r| r.alternatives.iter().any(|a| a.admin_access))
            && !self.admin_namespaces.contains(&key.namespace)
        {
            return Err(invalid(format!(
                "asks for admin access, but namespace {} is not labelled resource.kubernetes.io/admin-access=true",
                key.namespace
            )));
        }
        Ok(PreparedClaim {
            key,
            requests: requests.into(),
            constraints: constraints.into(),
        })
    }

    fn prepare_request(
        &mut self,
        claim: &ObjectKey,
        r: &DeviceRequest,
    ) -> Result<PreparedRequest, DraError> {
        let object = format!("ResourceClaim {claim}, request {}", r.name);
        let invalid = |message: String| DraError::Invalid {
            object: object.clone(),
            message,
        };
        struct Shape<'a> {
            name: String,
            class: &'a str,
            mode: Option<&'a str>,
            count: Option<i64>,
            admin: bool,
            selectors: &'a [DeviceSelector],
            tolerations: &'a [DeviceToleration],
        }
        let shapes: Vec<Shape> = match (&r.exactly, &r.first_available) {
            (Some(e), None) => vec![Shape {
                name: r.name.clone(),
                class: &e.device_class_name,
                mode: e.allocation_mode.as_deref(),
                count: e.count,
                admin: e.admin_access.unwrap_or(false),
                selectors: e.selectors.as_deref().unwrap_or_default(),
                tolerations: e.tolerations.as_deref().unwrap_or_default(),
            }],
            (None, Some(subs)) if !subs.is_empty() => subs
                .iter()
                .map(|s| Shape {
                    name: format!("{}/{}", r.name, s.name),
                    class: &s.device_class_name,
                    mode: s.allocation_mode.as_deref(),
                    count: s.count,
                    admin: false,
                    selectors: s.selectors.as_deref().unwrap_or_default(),
                    tolerations: s.tolerations.as_deref().unwrap_or_default(),
                })
                .collect(),
            _ => {
                return Err(invalid(
                    "exactly one of `exactly` and `firstAvailable` (non-empty) must be set"
                        .to_string(),
                ));
            }
        };
        let mut alternatives = Vec::new();
        for s in shapes {
            if !self.classes.contains_key(s.class) {
                return Err(DraError::UnknownDeviceClass {
                    claim: format!("ResourceClaim {claim}"),
                    request: s.name.clone(),
                    class: s.class.to_string(),
                });
            }
            let mode = match (s.mode.unwrap_or("ExactCount"), s.count) {
                ("ExactCount", c) => {
                    let c = c.unwrap_or(1);
                    if !(1..=MAX_DEVICES_PER_CLAIM as i64).contains(&c) {
                        return Err(invalid(format!(
                            "{}: count {c} is outside 1..={MAX_DEVICES_PER_CLAIM}",
                            s.name
                        )));
                    }
                    Mode::Exact(c as usize)
                }
                ("All", None) => Mode::All,
                ("All", Some(_)) => {
                    return Err(invalid(format!(
                        "{}: count must not be set with allocationMode All",
                        s.name
                    )));
                }
                (m, _) => {
                    return Err(invalid(format!(
                        "{}: unknown allocationMode {m:?} (ExactCount or All)",
                        s.name
                    )));
                }
            };
            let object = format!("ResourceClaim {claim}, request {}", s.name);
            let selectors = compile_selectors(&mut self.selectors, &object, s.selectors)?;
            let n_class_selectors = self.classes[s.class].selectors.len();
            let mut expressions: Vec<String> = self.classes[s.class]
                .selectors
                .iter()
                .map(|x| x.expression.clone())
                .collect();
            expressions.extend(selectors.iter().map(|x| x.expression.clone()));
            let tolerations = s
                .tolerations
                .iter()
                .map(|t| Toleration {
                    key: t.key.clone(),
                    exists: t.operator.as_deref() == Some("Exists"),
                    value: t.value.clone(),
                    effect: t.effect.clone(),
                })
                .collect();
            let table = self.table(s.class, &selectors);
            alternatives.push(Alternative {
                name: s.name,
                class: s.class.to_string(),
                mode,
                admin_access: s.admin,
                tolerations,
                expressions,
                n_class_selectors,
                table,
            });
        }
        Ok(PreparedRequest {
            name: r.name.clone(),
            alternatives,
        })
    }

    /// Filter: allocates every not-yet-allocated claim of a pod on `node`, and checks
    /// that the claims allocated already (shared claims) are usable there. Pure: the
    /// state is not changed.
    pub fn filter(
        &self,
        claims: &[&PreparedClaim],
        node: &str,
        pod: &str,
        state: &AllocationState,
    ) -> Result<PodPlacement, Unschedulable> {
        self.pod_filter(claims, pod, state).filter(node)
    }

    /// The allocator's index of a node (named by a slice or added).
    pub fn node_idx(&self, name: &str) -> Option<u32> {
        self.node_index.get(name).copied()
    }

    /// A pod's claims sorted out against `state` once (which are allocated already,
    /// which are to be allocated), for Filter on many nodes: [`PodFilter::fits`] gives
    /// the same verdict as [`Self::filter`] without building the placement or the
    /// reason.
    pub fn pod_filter<'a>(
        &'a self,
        claims: &[&'a PreparedClaim],
        pod: &'a str,
        state: &'a AllocationState,
    ) -> PodFilter<'a> {
        let mut allocated = Vec::new();
        let mut to_allocate: Vec<&PreparedClaim> = Vec::new();
        for c in claims {
            if to_allocate.iter().any(|t| t.key == c.key) {
                continue;
            }
            match state.claims.get(&c.key) {
                Some(st) => allocated.push((&c.key, st)),
                None => to_allocate.push(*c),
            }
        }
        PodFilter {
            a: self,
            state,
            pod,
            claims: claims.to_vec(),
            allocated,
            to_allocate,
        }
    }

    /// A cheap necessary condition: some request of the claim has, for every alternative,
    /// fewer candidate devices on the node that are not in use than it needs. (Not used
    /// when a candidate failed to evaluate: the search must reach it to report it.)
    fn too_few_free(&self, claim: &PreparedClaim, node: u32, state: &AllocationState) -> bool {
        claim.requests.iter().any(|r| {
            r.alternatives.iter().all(|alt| {
                let Mode::Exact(n) = alt.mode else {
                    return false;
                };
                let local = alt
                    .table
                    .by_node
                    .get(node as usize)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let shared = alt
                    .table
                    .shared
                    .iter()
                    .filter(|c| self.available_on(c.device(), node));
                let mut free = 0;
                for c in local.iter().chain(shared) {
                    match c {
                        Cand::Err { .. } => return false,
                        Cand::Ok(d) => {
                            if alt.admin_access || !state.is_in_use(*d) {
                                free += 1;
                                if free >= n {
                                    return false;
                                }
                            }
                        }
                    }
                }
                true
            })
        })
    }

    /// Filter on every known node in name order; the first that fits.
    pub fn place(
        &self,
        claims: &[&PreparedClaim],
        pod: &str,
        state: &AllocationState,
    ) -> Result<PodPlacement, Unschedulable> {
        // The cheap test first, outside `filter`, so full nodes cost a few lookups.
        let unallocated: Vec<&PreparedClaim> = claims
            .iter()
            .filter(|c| !state.claims.contains_key(&c.key))
            .copied()
            .collect();
        for (node, &ni) in &self.node_index {
            if unallocated.iter().any(|c| self.too_few_free(c, ni, state)) {
                continue;
            }
            match self.filter(claims, node, pod, state) {
                Ok(p) => return Ok(p),
                Err(Unschedulable::Error(e)) => return Err(Unschedulable::Error(e)),
                Err(_) => {}
            }
        }
        Err(Unschedulable::NoNode {
            nodes: self.node_index.len(),
        })
    }

    /// Reserve: records the placement's new allocations and adds `pod` to every claim's
    /// consumers. Fails, changing nothing, if a device would be allocated twice, a
    /// shared counter would go over capacity, or the placement does not match the state
    /// (a new allocation for an allocated claim, none for an unallocated one).
    pub fn reserve(
        &self,
        state: &mut AllocationState,
        pod: &str,
        placement: &PodPlacement,
    ) -> Result<(), InvariantViolation> {
        // Validate everything first, so that a failure changes nothing; the cost is that
        // of the placement, not of the whole state.
        let mut taking: BTreeMap<DeviceIdx, &ObjectKey> = BTreeMap::new();
        let mut counters: BTreeMap<u32, i128> = BTreeMap::new();
        for (key, alloc) in &placement.claims {
            let st = state.claims.get(key);
            match (alloc, st) {
                (Some(a), None) => {
                    for d in &a.devices {
                        let Some(dev) = self.devices.get(d.device as usize) else {
                            return Err(InvariantViolation(format!(
                                "claim {key} names unknown device #{}",
                                d.device
                            )));
                        };
                        if d.admin_access {
                            continue;
                        }
                        if let Some(owner) = state
                            .in_use
                            .get(&d.device)
                            .or(taking.get(&d.device).copied())
                        {
                            return Err(InvariantViolation(format!(
                                "device {} allocated to claim {key} is allocated to claim {owner} already",
                                dev.id
                            )));
                        }
                        taking.insert(d.device, key);
                        for (c, q) in &dev.consumes {
                            *counters.entry(*c).or_default() += q.nanos();
                        }
                    }
                }
                (None, Some(st)) => {
                    if st.reserved_for.len() >= MAX_RESERVED_FOR && !st.reserved_for.contains(pod) {
                        return Err(InvariantViolation(format!(
                            "claim {key} is reserved for {MAX_RESERVED_FOR} consumers already"
                        )));
                    }
                }
                (Some(_), Some(_)) => {
                    return Err(InvariantViolation(format!(
                        "claim {key} is allocated already"
                    )));
                }
                (None, None) => {
                    return Err(InvariantViolation(format!("claim {key} is not allocated")));
                }
            }
        }
        for (c, add) in &counters {
            let used = state.counters_used.get(c).copied().unwrap_or(0) + add;
            let def = &self.counters[*c as usize];
            if used > def.capacity.nanos() {
                let pool = &self.pools[def.pool as usize];
                return Err(InvariantViolation(format!(
                    "counter {}/{} of pool {}/{} would be over capacity",
                    def.set, def.name, pool.driver, pool.name
                )));
            }
        }
        // Apply.
        for (d, key) in taking {
            state.mark(d, key.clone());
        }
        for (c, add) in counters {
            // A counter consumed with value 0 (NVIDIA's partitionable slices list such
            // counters) leaves no entry: the state holds non-zero use only, as `check`
            // and `unreserve` expect.
            let used = state.counters_used.get(&c).copied().unwrap_or(0) + add;
            if used == 0 {
                state.counters_used.remove(&c);
            } else {
                state.counters_used.insert(c, used);
            }
        }
        for (key, alloc) in &placement.claims {
            let st = state
                .claims
                .entry(key.clone())
                .or_insert_with(|| ClaimStatus {
                    allocation: alloc.clone().unwrap_or_default(),
                    reserved_for: BTreeSet::new(),
                });
            st.reserved_for.insert(pod.to_string());
        }
        Ok(())
    }

    /// Unreserve: removes `pod` from the claims' consumers; a claim left with none is
    /// deallocated (its devices and counters freed), as the claim controller does.
    pub fn unreserve(&self, state: &mut AllocationState, pod: &str, claims: &[ObjectKey]) {
        for key in claims {
            let Some(st) = state.claims.get_mut(key) else {
                continue;
            };
            st.reserved_for.remove(pod);
            if !st.reserved_for.is_empty() {
                continue;
            }
            let Some(st) = state.claims.remove(key) else {
                continue;
            };
            for d in st.allocation.devices.iter().filter(|d| !d.admin_access) {
                state.unmark(d.device);
                for (c, q) in &self.devices[d.device as usize].consumes {
                    if let Some(u) = state.counters_used.get_mut(c) {
                        *u -= q.nanos();
                        if *u == 0 {
                            state.counters_used.remove(c);
                        }
                    }
                }
            }
        }
    }

    /// Checks the state's invariants: no device allocated exclusively to two claims, the
    /// in-use index and the counters match the claims, no counter over its capacity,
    /// every allocated claim has a consumer.
    pub fn check(&self, state: &AllocationState) -> Result<(), InvariantViolation> {
        let mut in_use: BTreeMap<DeviceIdx, ObjectKey> = BTreeMap::new();
        let mut counters: BTreeMap<u32, i128> = BTreeMap::new();
        for (key, st) in &state.claims {
            if st.reserved_for.is_empty() {
                return Err(InvariantViolation(format!(
                    "claim {key} is allocated but reserved for no one"
                )));
            }
            for d in &st.allocation.devices {
                if d.device as usize >= self.devices.len() {
                    return Err(InvariantViolation(format!(
                        "claim {key} names unknown device #{}",
                        d.device
                    )));
                }
                if d.admin_access {
                    continue;
                }
                if let Some(other) = in_use.insert(d.device, key.clone()) {
                    return Err(InvariantViolation(format!(
                        "device {} is allocated to claims {other} and {key}",
                        self.devices[d.device as usize].id
                    )));
                }
                for (c, q) in &self.devices[d.device as usize].consumes {
                    *counters.entry(*c).or_default() += q.nanos();
                }
            }
        }
        let bits_match = (0..self.devices.len() as DeviceIdx)
            .all(|d| state.is_in_use(d) == in_use.contains_key(&d));
        if in_use != state.in_use || !bits_match {
            return Err(InvariantViolation(
                "in-use device index does not match the claims".to_string(),
            ));
        }
        counters.retain(|_, v| *v != 0);
        if counters != state.counters_used {
            return Err(InvariantViolation(
                "shared-counter use does not match the claims".to_string(),
            ));
        }
        for (c, used) in &counters {
            let def = &self.counters[*c as usize];
            if *used > def.capacity.nanos() {
                let pool = &self.pools[def.pool as usize];
                return Err(InvariantViolation(format!(
                    "counter {}/{} of pool {}/{} is over capacity",
                    def.set, def.name, pool.driver, pool.name
                )));
            }
        }
        Ok(())
    }
}

/// Why a pod's claims do not fit a node (the message is made only when asked for).
enum Miss<'a> {
    UnknownNode,
    NotAvailable(&'a ObjectKey, DeviceIdx),
    ReservedFull(&'a ObjectKey),
    CannotAllocate,
    Error(DraError),
}

/// Filter for one pod against one allocation state (see [`Allocator::pod_filter`]).
pub struct PodFilter<'a> {
    a: &'a Allocator,
    state: &'a AllocationState,
    pod: &'a str,
    claims: Vec<&'a PreparedClaim>,
    /// Claims allocated already, in the pod's order (a claim named twice is listed twice).
    allocated: Vec<(&'a ObjectKey, &'a ClaimStatus)>,
    /// Claims to allocate, in the pod's order, each once.
    to_allocate: Vec<&'a PreparedClaim>,
}

impl<'a> PodFilter<'a> {
    /// Whether the pod's claims can be allocated on node `node` (the allocator's index,
    /// [`Allocator::node_idx`]; `None` for a node the allocator does not know): the
    /// verdict of [`Allocator::filter`] (`Ok`), without its placement or reason.
    pub fn fits(&self, node: Option<u32>) -> bool {
        match node {
            None => self.claims.is_empty(),
            Some(ni) => self.search(ni).is_ok(),
        }
    }

    /// [`Allocator::filter`] on the node named `node`.
    pub fn filter(&self, node: &str) -> Result<PodPlacement, Unschedulable> {
        let Some(ni) = self.a.node_idx(node) else {
            if self.claims.is_empty() {
                return Ok(PodPlacement {
                    node: node.to_string(),
                    claims: Vec::new(),
                });
            }
            return Err(self.reason(Miss::UnknownNode, node));
        };
        let results = match self.search(ni) {
            Ok(r) => r,
            Err(Miss::Error(e)) => return Err(Unschedulable::Error(e)),
            Err(m) => return Err(self.reason(m, node)),
        };
        let mut new: BTreeMap<&ObjectKey, Vec<AllocatedDevice>> = BTreeMap::new();
        for (c, chosen) in self.to_allocate.iter().zip(results) {
            let devices = chosen
                .into_iter()
                .map(|ch| {
                    let alt =
                        &c.requests[ch.request as usize].alternatives[ch.alternative as usize];
                    AllocatedDevice {
                        request: alt.name.clone(),
                        device: ch.device,
                        admin_access: alt.admin_access,
                    }
                })
                .collect();
            new.insert(&c.key, devices);
        }
        // In the pod's order; a claim named twice is listed once.
        let mut placements: Vec<(ObjectKey, Option<Allocation>)> = Vec::new();
        for c in &self.claims {
            if placements.iter().any(|(k, _)| *k == c.key) {
                continue;
            }
            let alloc = new.remove(&c.key).map(|devices| Allocation { devices });
            placements.push((c.key.clone(), alloc));
        }
        Ok(PodPlacement {
            node: node.to_string(),
            claims: placements,
        })
    }

    fn reason(&self, miss: Miss<'_>, node: &str) -> Unschedulable {
        let reason = match miss {
            Miss::UnknownNode => "node has no devices".to_string(),
            Miss::NotAvailable(key, device) => format!(
                "claim {key} is allocated device {}, which is not available on this node",
                self.a.devices[device as usize].id
            ),
            Miss::ReservedFull(key) => {
                format!("claim {key} is reserved for {MAX_RESERVED_FOR} consumers already")
            }
            Miss::CannotAllocate => "cannot allocate all claims".to_string(),
            Miss::Error(e) => return Unschedulable::Error(e),
        };
        Unschedulable::Node {
            node: node.to_string(),
            reason,
        }
    }

    /// The checks and the search of Filter on allocator node `ni`: per claim to
    /// allocate, the devices chosen.
    fn search(&self, ni: u32) -> Result<Vec<Vec<Chosen>>, Miss<'a>> {
        for &(key, st) in &self.allocated {
            if let Some(d) = st
                .allocation
                .devices
                .iter()
                .find(|d| !self.a.available_on(d.device, ni))
            {
                return Err(Miss::NotAvailable(key, d.device));
            }
            if st.reserved_for.len() >= MAX_RESERVED_FOR && !st.reserved_for.contains(self.pod) {
                return Err(Miss::ReservedFull(key));
            }
        }
        if self
            .to_allocate
            .iter()
            .any(|c| self.a.too_few_free(c, ni, self.state))
        {
            return Err(Miss::CannotAllocate);
        }
        let mut search = Search::new(self.a, self.state, ni, &self.to_allocate);
        match search.request(0, 0) {
            Ok(true) => Ok(search.results),
            Ok(false) => Err(Miss::CannotAllocate),
            Err(e) => Err(Miss::Error(e)),
        }
    }
}

/// A device the search chose: for request `request`, alternative `alternative`.
#[derive(Clone, Copy, Debug)]
struct Chosen {
    device: DeviceIdx,
    request: u32,
    alternative: u32,
}

/// One Filter call's search (what upstream calls the `allocator`).
struct Search<'a> {
    a: &'a Allocator,
    state: &'a AllocationState,
    node: u32,
    claims: &'a [&'a PreparedClaim],
    /// Devices being allocated exclusively, with their claim index.
    allocating: Vec<(DeviceIdx, usize)>,
    /// Counter use added by this search.
    counters: BTreeMap<u32, i128>,
    results: Vec<Vec<Chosen>>,
    /// Per claim, per constraint: values of the devices added so far.
    constraint_values: Vec<Vec<Vec<AttrValue>>>,
}

impl<'a> Search<'a> {
    fn new(
        a: &'a Allocator,
        state: &'a AllocationState,
        node: u32,
        claims: &'a [&'a PreparedClaim],
    ) -> Search<'a> {
        let results = vec![Vec::new(); claims.len()];
        let constraint_values = claims
            .iter()
            .map(|c| vec![Vec::new(); c.constraints.len()])
            .collect();
        Search {
            a,
            state,
            node,
            claims,
            allocating: Vec::new(),
            counters: BTreeMap::new(),
            results,
            constraint_values,
        }
    }

    /// Candidates of an alternative on this node, in device order (borrowed when no
    /// device is shared between nodes).
    fn candidates<'t>(&self, alt: &'t Alternative) -> std::borrow::Cow<'t, [Cand]> {
        let local: &'t [Cand] = alt
            .table
            .by_node
            .get(self.node as usize)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if alt.table.shared.is_empty() {
            return std::borrow::Cow::Borrowed(local);
        }
        let mut v: Vec<Cand> = local.to_vec();
        let before = v.len();
        v.extend(
            alt.table
                .shared
                .iter()
                .filter(|c| self.a.available_on(c.device(), self.node))
                .cloned(),
        );
        if v.len() > before && before > 0 {
            v.sort_by_key(Cand::device);
        }
        std::borrow::Cow::Owned(v)
    }

    fn eval_error(
        &self,
        ci: usize,
        alt: &Alternative,
        device: DeviceIdx,
        selector: usize,
        message: &str,
    ) -> DraError {
        let object = if selector < alt.n_class_selectors {
            format!("DeviceClass {}", alt.class)
        } else {
            format!(
                "ResourceClaim {}, request {}",
                self.claims[ci].key, alt.name
            )
        };
        DraError::CelEval {
            object,
            expression: alt.expressions[selector].clone(),
            device: self.a.devices[device as usize].id.to_string(),
            message: message.to_string(),
        }
    }

    /// Allocates request `ri` of claim `ci` and everything after it.
    fn request(&mut self, ci: usize, ri: usize) -> Result<bool, DraError> {
        if ci == self.claims.len() {
            return Ok(true);
        }
        let claim = self.claims[ci];
        if ri == claim.requests.len() {
            return self.request(ci + 1, 0);
        }
        for ai in 0..claim.requests[ri].alternatives.len() {
            let alt = &claim.requests[ri].alternatives[ai];
            let cands = self.candidates(alt);
            let ok = match alt.mode {
                Mode::Exact(n) => self.exact(ci, ri, ai, &cands, n, 0, 0)?,
                Mode::All => {
                    let mut all = Vec::new();
                    for c in cands.iter() {
                        match c {
                            Cand::Ok(d) => all.push(*d),
                            Cand::Err {
                                device,
                                selector,
                                message,
                            } => {
                                return Err(self.eval_error(ci, alt, *device, *selector, message));
                            }
                        }
                    }
                    if all
                        .iter()
                        .any(|d| self.a.pools[self.a.devices[*d as usize].pool as usize].incomplete)
                    {
                        false
                    } else {
                        !all.is_empty()
                            && self.results[ci].len() + all.len() <= MAX_DEVICES_PER_CLAIM
                            && self.all(ci, ri, ai, &all, 0)?
                    }
                }
            };
            if ok {
                return Ok(true);
            }
        }
        Ok(false)
    }

    #[allow(clippy::too_many_arguments)]
    fn exact(
        &mut self,
        ci: usize,
        ri: usize,
        ai: usize,
        cands: &[Cand],
        n: usize,
        k: usize,
        start: usize,
    ) -> Result<bool, DraError> {
        if k == n {
            return self.request(ci, ri + 1);
        }
        if self.results[ci].len() + (n - k) > MAX_DEVICES_PER_CLAIM {
            return Ok(false);
        }
        for pos in start..cands.len() {
            let d = match &cands[pos] {
                Cand::Ok(d) => *d,
                Cand::Err {
                    device,
                    selector,
                    message,
                } => {
                    let alt = &self.claims[ci].requests[ri].alternatives[ai];
                    return Err(self.eval_error(ci, alt, *device, *selector, message));
                }
            };
            if self.a.pools[self.a.devices[d as usize].pool as usize].incomplete {
                continue;
            }
            if let Some(undo) = self.add(ci, ri, ai, d) {
                if self.exact(ci, ri, ai, cands, n, k + 1, pos + 1)? {
                    return Ok(true);
                }
                self.remove(ci, undo);
            }
        }
        Ok(false)
    }

    fn all(
        &mut self,
        ci: usize,
        ri: usize,
        ai: usize,
        devices: &[DeviceIdx],
        k: usize,
    ) -> Result<bool, DraError> {
        if k == devices.len() {
            return self.request(ci, ri + 1);
        }
        let Some(undo) = self.add(ci, ri, ai, devices[k]) else {
            return Ok(false);
        };
        if self.all(ci, ri, ai, devices, k + 1)? {
            return Ok(true);
        }
        self.remove(ci, undo);
        Ok(false)
    }

    /// Tries to add device `d` for alternative `ai` of request `ri` of claim `ci`:
    /// in use, counters, taints, constraints. Returns what to undo.
    fn add(&mut self, ci: usize, ri: usize, ai: usize, d: DeviceIdx) -> Option<Undo> {
        let claim = self.claims[ci];
        let req = &claim.requests[ri];
        let alt = &req.alternatives[ai];
        let dev = &self.a.devices[d as usize];
        if alt.admin_access {
            if self.results[ci].iter().any(|r| r.device == d) {
                return None;
            }
        } else if self.state.is_in_use(d) || self.allocating.iter().any(|(x, _)| *x == d) {
            return None;
        }
        for (c, q) in &dev.consumes {
            let used = self.state.counters_used.get(c).copied().unwrap_or(0)
                + self.counters.get(c).copied().unwrap_or(0);
            if used + q.nanos() > self.a.counters[*c as usize].capacity.nanos() {
                return None;
            }
        }
        let blocked = dev.taints.iter().any(|t| {
            matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")
                && !alt.tolerations.iter().any(|tol| tol.tolerates(t))
        });
        if blocked {
            return None;
        }
        let mut touched: Vec<usize> = Vec::new();
        for (i, c) in claim.constraints.iter().enumerate() {
            if !c.applies(&req.name, &alt.name) {
                continue;
            }
            // A device without the attribute satisfies neither kind of constraint.
            let value = dev.attributes.get(&c.attribute);
            let values = &self.constraint_values[ci][i];
            let ok = value.is_some_and(|value| match c.kind {
                ConstraintKind::Match => values.first().is_none_or(|v| v == value),
                ConstraintKind::Distinct => !values.contains(value),
            });
            let Some(value) = value.filter(|_| ok).cloned() else {
                for j in touched {
                    self.constraint_values[ci][j].pop();
                }
                return None;
            };
            self.constraint_values[ci][i].push(value);
            touched.push(i);
        }
        for (c, q) in &dev.consumes {
            *self.counters.entry(*c).or_default() += q.nanos();
        }
        if !alt.admin_access {
            self.allocating.push((d, ci));
        }
        self.results[ci].push(Chosen {
            device: d,
            request: ri as u32,
            alternative: ai as u32,
        });
        Some(Undo {
            device: d,
            constraints: touched,
            exclusive: !alt.admin_access,
        })
    }

    fn remove(&mut self, ci: usize, undo: Undo) {
        for j in undo.constraints {
            self.constraint_values[ci][j].pop();
        }
        for (c, q) in &self.a.devices[undo.device as usize].consumes {
            if let Some(v) = self.counters.get_mut(c) {
                *v -= q.nanos();
            }
        }
        if undo.exclusive {
            self.allocating.pop();
        }
        self.results[ci].pop();
    }
}

struct Undo {
    device: DeviceIdx,
    constraints: Vec<usize>,
    exclusive: bool,
}
