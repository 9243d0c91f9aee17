//! Quota accounting: the tree of cohorts and ClusterQueues as resource nodes (nominal
//! quota, borrowing and lending limits, subtree quota, usage) and the admitted workloads
//! in each queue. Semantics follow Kueue v0.19.2 `pkg/cache/scheduler/resource_node.go`:
//! a node keeps `subtree - lendingLimit` for itself (its *local quota*, zero without a
//! lending limit) and lends the rest to its parent; usage beyond the local quota is
//! charged to the parent; what a queue can use is its local quota left plus what its
//! parent can give, capped by its borrowing limit.

use std::collections::{BTreeMap, BTreeSet};

use super::KueueError;
use super::types::*;

/// A quota as the accounting sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quota {
    pub nominal: Amount,
    pub borrowing_limit: Option<Amount>,
    pub lending_limit: Option<Amount>,
}

/// Quotas, subtree quota and usage of one node of the cohort tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceNode {
    pub quotas: BTreeMap<FlavorResource, Quota>,
    pub subtree: FlavorResourceQuantities,
    pub usage: FlavorResourceQuantities,
}

impl ResourceNode {
    fn quota(&self, fr: &FlavorResource) -> Quota {
        self.quotas.get(fr).copied().unwrap_or_default()
    }
    fn subtree(&self, fr: &FlavorResource) -> Amount {
        self.subtree.get(fr).copied().unwrap_or(0)
    }
    pub fn usage(&self, fr: &FlavorResource) -> Amount {
        self.usage.get(fr).copied().unwrap_or(0)
    }
    /// Quota the node keeps for itself: what its lending limit does not lend.
    fn local_quota(&self, fr: &FlavorResource) -> Amount {
        match self.quota(fr).lending_limit {
            Some(l) => self.subtree(fr).saturating_sub(l).max(0),
            None => 0,
        }
    }
    fn local_available(&self, fr: &FlavorResource) -> Amount {
        self.local_quota(fr).saturating_sub(self.usage(fr)).max(0)
    }
}

/// A node of the tree: a ClusterQueue or a cohort (by index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeId {
    Cq(usize),
    Cohort(usize),
}

/// One pod set's requests as accounted: totals for `count` pods, the flavor per resource
/// once assigned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PodSetResources {
    pub name: String,
    pub count: u32,
    pub requests: BTreeMap<String, Amount>,
    pub flavors: BTreeMap<String, String>,
}

/// A workload as the scheduler sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WorkloadInfo {
    pub obj: Workload,
    pub cluster_queue: String,
    pub total_requests: Vec<PodSetResources>,
}

impl WorkloadInfo {
    /// A workload: its admission's quota if it holds one, else its pod sets' requests.
    pub fn new(obj: Workload, cluster_queue: &str) -> WorkloadInfo {
        let total_requests = match &obj.admission {
            Some(adm) => adm
                .pod_set_assignments
                .iter()
                .map(|psa| PodSetResources {
                    name: psa.name.clone(),
                    count: psa.count,
                    requests: psa.resource_usage.clone(),
                    flavors: psa.flavors.clone(),
                })
                .collect(),
            None => obj
                .pod_sets
                .iter()
                .map(|ps| {
                    let count = ps.count.saturating_sub(ps.reclaimable);
                    PodSetResources {
                        name: ps.name.clone(),
                        count,
                        requests: scaled(&ps.requests, count),
                        flavors: BTreeMap::new(),
                    }
                })
                .collect(),
        };
        WorkloadInfo {
            obj,
            cluster_queue: cluster_queue.to_string(),
            total_requests,
        }
    }

    pub fn key(&self) -> String {
        self.obj.key()
    }

    /// Quota used, per flavor and resource (resources with an assigned flavor only).
    pub fn usage(&self) -> FlavorResourceQuantities {
        let mut u = FlavorResourceQuantities::new();
        for ps in &self.total_requests {
            for (res, q) in &ps.requests {
                if let Some(f) = ps.flavors.get(res) {
                    let e = u.entry(FlavorResource::new(f, res)).or_insert(0);
                    *e = e.saturating_add(*q);
                }
            }
        }
        u
    }

    /// Uses any of these (flavor, resource) pairs.
    pub fn uses_any(&self, frs: &BTreeSet<FlavorResource>) -> bool {
        self.total_requests.iter().any(|ps| {
            ps.flavors
                .iter()
                .any(|(res, f)| frs.contains(&FlavorResource::new(f, res)))
        })
    }
}

/// Per-pod requests scaled to `count` pods.
pub fn scaled(per_pod: &BTreeMap<String, Amount>, count: u32) -> BTreeMap<String, Amount> {
    per_pod
        .iter()
        .map(|(r, q)| (r.clone(), q.saturating_mul(i64::from(count))))
        .collect()
}

/// A resource group as the assigner walks it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupSnapshot {
    pub covered: BTreeSet<String>,
    pub flavors: Vec<String>,
}

/// A ClusterQueue in the snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CqSnapshot {
    pub spec: ClusterQueue,
    pub groups: Vec<GroupSnapshot>,
    pub node: ResourceNode,
    pub parent: Option<usize>,
    /// Admitted (quota-reserving) workloads, by key.
    pub workloads: BTreeMap<String, WorkloadInfo>,
    /// Every flavor it names exists and it is not stopped.
    pub active: bool,
}

impl CqSnapshot {
    /// The resource group covering `resource`.
    pub fn group_of(&self, resource: &str) -> Option<&GroupSnapshot> {
        self.groups.iter().find(|g| g.covered.contains(resource))
    }
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

/// A cohort in the snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CohortSnapshot {
    pub name: String,
    pub node: ResourceNode,
    pub parent: Option<usize>,
    pub child_cqs: Vec<usize>,
    pub child_cohorts: Vec<usize>,
}

/// The scheduler's view of quota: flavors, cohorts, ClusterQueues and their usage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub flavors: BTreeMap<String, ResourceFlavor>,
    pub cqs: Vec<CqSnapshot>,
    pub cohorts: Vec<CohortSnapshot>,
    /// Resources whose amounts are thousandths (as `cpu` is): the simulator counts
    /// `nvidia.com/gpu` in milli-GPUs, so its messages print `26`, not `26k`.
    pub milli_resources: BTreeSet<String>,
}

fn quotas_of(groups: &[ResourceGroup]) -> BTreeMap<FlavorResource, Quota> {
    let mut m = BTreeMap::new();
    for g in groups {
        for f in &g.flavors {
            for r in &f.resources {
                m.insert(
                    FlavorResource::new(&f.name, &r.name),
                    Quota {
                        nominal: r.nominal,
                        borrowing_limit: r.borrowing_limit,
                        lending_limit: r.lending_limit,
                    },
                );
            }
        }
    }
    m
}

impl Snapshot {
    /// An amount of `resource` as upstream prints it in messages (see
    /// [`super::types::format_amount`]), in whole units for a milli-counted resource.
    pub fn format_amount(&self, resource: &str, v: super::types::Amount) -> String {
        if self.milli_resources.contains(resource) {
            super::types::format_amount(super::types::CPU, v)
        } else {
            super::types::format_amount(resource, v)
        }
    }

    /// Build the tree. Cohorts named by a queue or as a parent but not defined are implicit
    /// (no quota of their own). A parent link that would close a cycle is an error.
    pub fn new(
        flavors: &[ResourceFlavor],
        cohorts: &[Cohort],
        cqs: &[ClusterQueue],
    ) -> Result<Snapshot, KueueError> {
        let mut snap = Snapshot {
            flavors: flavors
                .iter()
                .map(|f| (f.name.clone(), f.clone()))
                .collect(),
            ..Default::default()
        };
        let mut names: BTreeSet<String> = BTreeSet::new();
        for c in cohorts {
            names.insert(c.name.clone());
            if let Some(p) = &c.parent {
                names.insert(p.clone());
            }
        }
        for q in cqs {
            if let Some(c) = &q.cohort {
                names.insert(c.clone());
            }
        }
        let index: BTreeMap<String, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        for n in &names {
            let def = cohorts.iter().find(|c| &c.name == n);
            snap.cohorts.push(CohortSnapshot {
                name: n.clone(),
                node: ResourceNode {
                    quotas: def
                        .map(|d| quotas_of(&d.resource_groups))
                        .unwrap_or_default(),
                    ..Default::default()
                },
                parent: def
                    .and_then(|d| d.parent.as_ref())
                    .and_then(|p| index.get(p).copied()),
                child_cqs: Vec::new(),
                child_cohorts: Vec::new(),
            });
        }
        // Cycles.
        for start in 0..snap.cohorts.len() {
            let mut seen = BTreeSet::new();
            let mut at = Some(start);
            while let Some(i) = at {
                if !seen.insert(i) {
                    return Err(KueueError::Config(format!(
                        "cohort {:?} is in a parent cycle",
                        snap.cohorts[start].name
                    )));
                }
                at = snap.cohorts[i].parent;
            }
        }
        for i in 0..snap.cohorts.len() {
            if let Some(p) = snap.cohorts[i].parent {
                snap.cohorts[p].child_cohorts.push(i);
            }
        }
        for q in cqs {
            if snap.cqs.iter().any(|c| c.spec.name == q.name) {
                return Err(KueueError::Config(format!(
                    "duplicate ClusterQueue {:?}",
                    q.name
                )));
            }
            let parent = q.cohort.as_ref().and_then(|c| index.get(c).copied());
            let groups = q
                .resource_groups
                .iter()
                .map(|g| GroupSnapshot {
                    covered: g.covered(),
                    flavors: g.flavors.iter().map(|f| f.name.clone()).collect(),
                })
                .collect::<Vec<_>>();
            let all_flavors_exist = groups
                .iter()
                .all(|g| g.flavors.iter().all(|f| snap.flavors.contains_key(f)));
            let quotas = quotas_of(&q.resource_groups);
            let subtree = quotas
                .iter()
                .map(|(fr, q)| (fr.clone(), q.nominal))
                .collect();
            let idx = snap.cqs.len();
            if let Some(p) = parent {
                snap.cohorts[p].child_cqs.push(idx);
            }
            snap.cqs.push(CqSnapshot {
                spec: q.clone(),
                groups,
                node: ResourceNode {
                    quotas,
                    subtree,
                    usage: BTreeMap::new(),
                },
                parent,
                workloads: BTreeMap::new(),
                active: q.active && all_flavors_exist,
            });
        }
        let roots: Vec<usize> = (0..snap.cohorts.len())
            .filter(|&i| snap.cohorts[i].parent.is_none())
            .collect();
        for r in roots {
            snap.update_cohort(r);
        }
        Ok(snap)
    }

    /// Subtree quota of a cohort: its own nominal plus what every child lends.
    fn update_cohort(&mut self, c: usize) {
        let mut subtree: FlavorResourceQuantities = self.cohorts[c]
            .node
            .quotas
            .iter()
            .map(|(fr, q)| (fr.clone(), q.nominal))
            .collect();
        let children = self.cohorts[c].child_cohorts.clone();
        for ch in children {
            self.update_cohort(ch);
            accumulate(&mut subtree, &self.cohorts[ch].node);
        }
        for &q in &self.cohorts[c].child_cqs {
            accumulate(&mut subtree, &self.cqs[q].node);
        }
        self.cohorts[c].node.subtree = subtree;
        self.cohorts[c].node.usage = BTreeMap::new();
    }

    pub fn cq_index(&self, name: &str) -> Option<usize> {
        self.cqs.iter().position(|c| c.spec.name == name)
    }

    pub fn node(&self, id: NodeId) -> &ResourceNode {
        match id {
            NodeId::Cq(i) => &self.cqs[i].node,
            NodeId::Cohort(i) => &self.cohorts[i].node,
        }
    }

    fn node_mut(&mut self, id: NodeId) -> &mut ResourceNode {
        match id {
            NodeId::Cq(i) => &mut self.cqs[i].node,
            NodeId::Cohort(i) => &mut self.cohorts[i].node,
        }
    }

    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        match id {
            NodeId::Cq(i) => self.cqs[i].parent.map(NodeId::Cohort),
            NodeId::Cohort(i) => self.cohorts[i].parent.map(NodeId::Cohort),
        }
    }

    /// Cohorts from the parent of `id` up to the root.
    pub fn ancestors(&self, id: NodeId) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = self.parent(id);
        while let Some(NodeId::Cohort(c)) = at {
            out.push(c);
            at = self.cohorts[c].parent.map(NodeId::Cohort);
        }
        out
    }

    pub fn root_of(&self, cohort: usize) -> usize {
        let mut c = cohort;
        while let Some(p) = self.cohorts[c].parent {
            c = p;
        }
        c
    }

    /// Every ClusterQueue under a cohort.
    pub fn subtree_cqs(&self, cohort: usize) -> Vec<usize> {
        let mut out = self.cohorts[cohort].child_cqs.clone();
        for &ch in &self.cohorts[cohort].child_cohorts {
            out.extend(self.subtree_cqs(ch));
        }
        out
    }

    pub fn local_available(&self, id: NodeId, fr: &FlavorResource) -> Amount {
        self.node(id).local_available(fr)
    }

    /// What the node could use now (may be negative for a cohort).
    fn available_raw(&self, id: NodeId, fr: &FlavorResource) -> Amount {
        let r = self.node(id);
        let Some(p) = self.parent(id) else {
            return r.subtree(fr).saturating_sub(r.usage(fr));
        };
        let mut parent_available = self.available_raw(p, fr);
        if let Some(bl) = r.quota(fr).borrowing_limit {
            let lq = r.local_quota(fr);
            let stored_in_parent = r.subtree(fr).saturating_sub(lq);
            let used_in_parent = r.usage(fr).saturating_sub(lq).max(0);
            let with_max = stored_in_parent
                .saturating_sub(used_in_parent)
                .saturating_add(bl);
            parent_available = parent_available.min(with_max);
        }
        r.local_available(fr).saturating_add(parent_available)
    }

    /// Unused quota a ClusterQueue can take now (its own and, within limits, its cohort's).
    pub fn available(&self, cq: usize, fr: &FlavorResource) -> Amount {
        self.available_raw(NodeId::Cq(cq), fr).max(0)
    }

    /// Most the queue could ever get, were every other workload gone.
    pub fn potential_available(&self, id: NodeId, fr: &FlavorResource) -> Amount {
        let r = self.node(id);
        let Some(p) = self.parent(id) else {
            return r.subtree(fr);
        };
        let mut avail = r
            .local_quota(fr)
            .saturating_add(self.potential_available(p, fr));
        if let Some(bl) = r.quota(fr).borrowing_limit {
            avail = avail.min(r.subtree(fr).saturating_add(bl));
        }
        avail
    }

    fn add_usage_at(&mut self, id: NodeId, fr: &FlavorResource, val: Amount) {
        let la = self.local_available(id, fr);
        let n = self.node_mut(id);
        let e = n.usage.entry(fr.clone()).or_insert(0);
        *e = e.saturating_add(val);
        if let Some(p) = self.parent(id)
            && val > la
        {
            self.add_usage_at(p, fr, val - la);
        }
    }

    fn remove_usage_at(&mut self, id: NodeId, fr: &FlavorResource, val: Amount) {
        let n = self.node(id);
        let stored_in_parent = n.usage(fr).saturating_sub(n.local_quota(fr));
        let n = self.node_mut(id);
        let e = n.usage.entry(fr.clone()).or_insert(0);
        *e = e.saturating_sub(val);
        let Some(p) = self.parent(id) else {
            return;
        };
        if stored_in_parent <= 0 {
            return;
        }
        self.remove_usage_at(p, fr, val.min(stored_in_parent));
    }

    /// Charge usage to a ClusterQueue (and, beyond its local quota, to its ancestors).
    pub fn add_usage(&mut self, cq: usize, usage: &FlavorResourceQuantities) {
        for (fr, v) in usage {
            self.add_usage_at(NodeId::Cq(cq), fr, *v);
        }
    }

    pub fn remove_usage(&mut self, cq: usize, usage: &FlavorResourceQuantities) {
        for (fr, v) in usage {
            self.remove_usage_at(NodeId::Cq(cq), fr, *v);
        }
    }

    /// Add an admitted workload to its ClusterQueue (no-op if the queue is unknown).
    pub fn add_workload(&mut self, info: WorkloadInfo) {
        let Some(cq) = self.cq_index(&info.cluster_queue) else {
            return;
        };
        let usage = info.usage();
        self.add_usage(cq, &usage);
        self.cqs[cq].workloads.insert(info.key(), info);
    }

    /// Record an admitted workload whose usage the caller already charged (in bulk, with
    /// [`Snapshot::add_usage`]): it becomes a preemption candidate without being counted
    /// twice.
    pub fn attach_workload(&mut self, info: WorkloadInfo) {
        if let Some(cq) = self.cq_index(&info.cluster_queue) {
            self.cqs[cq].workloads.insert(info.key(), info);
        }
    }

    /// Forget an attached workload without releasing usage (the inverse of
    /// [`Snapshot::attach_workload`]).
    pub fn detach_workload(&mut self, cq_name: &str, key: &str) {
        if let Some(cq) = self.cq_index(cq_name) {
            self.cqs[cq].workloads.remove(key);
        }
    }

    /// Remove an admitted workload; returns it.
    pub fn remove_workload(&mut self, cq_name: &str, key: &str) -> Option<WorkloadInfo> {
        let cq = self.cq_index(cq_name)?;
        let info = self.cqs[cq].workloads.remove(key)?;
        let usage = info.usage();
        self.remove_usage(cq, &usage);
        Some(info)
    }

    /// The queue's usage plus `val` exceeds its nominal quota.
    pub fn cq_borrowing_with(&self, cq: usize, fr: &FlavorResource, val: Amount) -> bool {
        let n = &self.cqs[cq].node;
        n.quota(fr).nominal < n.usage(fr).saturating_add(val)
    }

    /// A node's usage plus `val` exceeds its subtree quota (for a queue: nominal).
    pub fn borrowing_with(&self, id: NodeId, fr: &FlavorResource, val: Amount) -> bool {
        match id {
            NodeId::Cq(i) => self.cq_borrowing_with(i, fr, val),
            NodeId::Cohort(_) => {
                let n = self.node(id);
                n.subtree(fr) < n.usage(fr).saturating_add(val)
            }
        }
    }

    /// Usage within subtree quota for every one of `frs`.
    pub fn within_nominal(&self, id: NodeId, frs: &BTreeSet<FlavorResource>) -> bool {
        let n = self.node(id);
        frs.iter().all(|fr| n.subtree(fr) >= n.usage(fr))
    }

    /// Whether `requests` fit in the node's subtree quota, and what is left after its
    /// local quota serves them.
    pub fn quantities_fit_in_quota(
        &self,
        id: NodeId,
        requests: &FlavorResourceQuantities,
    ) -> (bool, FlavorResourceQuantities) {
        let n = self.node(id);
        let mut fits = true;
        let mut remaining = FlavorResourceQuantities::new();
        for (fr, v) in requests {
            if n.subtree(fr) < n.usage(fr).saturating_add(*v) {
                fits = false;
            }
            remaining.insert(fr.clone(), v.saturating_sub(n.local_available(fr)).max(0));
        }
        (fits, remaining)
    }

    /// Height of a cohort's subtree (a cohort with only queues has height 1).
    pub fn cohort_height(&self, c: usize) -> i32 {
        let co = &self.cohorts[c];
        let mut h = i32::from(!(co.child_cqs.is_empty() && co.child_cohorts.is_empty()));
        for &ch in &co.child_cohorts {
            h = h.max(self.cohort_height(ch) + 1);
        }
        h
    }

    /// Upstream `FindHeightOfLowestSubtreeThatFits`: 0 when the queue does not borrow,
    /// else the height of the lowest cohort whose subtree can serve `val`; and whether
    /// reclaiming further up the hierarchy could still help.
    pub fn lowest_subtree_that_fits(
        &self,
        cq: usize,
        fr: &FlavorResource,
        val: Amount,
    ) -> (i32, bool) {
        let id = NodeId::Cq(cq);
        let has_parent = self.cqs[cq].parent.is_some();
        if !self.cq_borrowing_with(cq, fr, val) || !has_parent {
            return (0, has_parent);
        }
        let mut remaining = val.saturating_sub(self.local_available(id, fr));
        for c in self.ancestors(id) {
            let cid = NodeId::Cohort(c);
            if !self.borrowing_with(cid, fr, remaining) {
                return (self.cohort_height(c), self.cohorts[c].parent.is_some());
            }
            remaining = remaining.saturating_sub(self.local_available(cid, fr));
        }
        match self.cqs[cq].parent {
            Some(p) => (self.cohort_height(self.root_of(p)), false),
            None => (0, false),
        }
    }

    /// The queue can take `usage` now.
    pub fn fits(&self, cq: usize, usage: &FlavorResourceQuantities) -> bool {
        usage.iter().all(|(fr, v)| self.available(cq, fr) >= *v)
    }
}

fn accumulate(parent_subtree: &mut FlavorResourceQuantities, child: &ResourceNode) {
    for (fr, q) in &child.subtree {
        let delta = q.saturating_sub(child.local_quota(fr));
        let e = parent_subtree.entry(fr.clone()).or_insert(0);
        *e = e.saturating_add(delta);
    }
}
