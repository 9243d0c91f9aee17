//! The DynamicResources plugin in runs: each pod's ResourceClaims, and Filter, Reserve and
//! Unreserve on the run's [`DraState`].

use std::collections::BTreeMap;

use k8s_openapi::api::resource::v1::{
    DeviceClaim, DeviceRequest, ExactDeviceRequest, ResourceClaim, ResourceClaimSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{DraConfig, DraSource, DraState};
use crate::cluster::ClusterSpec;
use crate::dra::generate::{GPU_DRIVER, allocator_for_cluster};
use crate::dra::{
    AllocatedDevice, Allocation, AllocationState, Allocator, DeviceIdx, ObjectKey, PodFilter,
    PodPlacement, PreparedClaim, claim_from_template,
};
use crate::resources::GpuRequest;
use crate::scheduler::NodeFilter;
use crate::sim::ModelError;
use crate::state::NodeState;
use crate::workload::Workload;

/// Namespace of the generated claims.
pub const NAMESPACE: &str = "default";
/// Name of the request in generated templates, and of the pod's claim (`spec.resourceClaims[].name`).
pub const GPU_REQUEST: &str = "gpu";

/// The plugin's read-only part: the allocator and every pod's prepared claims, plus the
/// pods whose claims changed since the last invariant check.
#[derive(Debug)]
pub struct DraRuntime {
    pub(super) alloc: Allocator,
    /// Slices generated from the cluster: device `gpu-<g>` of node `n` is GPU `g` of the
    /// node's GPU bookkeeping, which mirrors the allocation (for scores and reports).
    pub(super) generated: bool,
    /// Per job, per pod: its claims (empty: none).
    pub(super) claims: Vec<Vec<Vec<PreparedClaim>>>,
    /// Per job, per pod: the pod's name (`<job>-<index>`), as `reservedFor` records it.
    pub(super) pod_names: Vec<Vec<String>>,
    /// Per cluster node index, the allocator's index of the node (`None`: no devices).
    alloc_node: Vec<Option<u32>>,
    /// Generated: per node index, the device of each GPU.
    gpu_device: Vec<Vec<DeviceIdx>>,
    /// Generated: per device, its GPU index on its node.
    pub(super) device_gpu: Vec<u8>,
    /// Each distinct claim template, prepared, with the first pod (job id, index) using it.
    templates: Vec<(PreparedClaim, String, usize)>,
    /// Pods whose claims changed since the last check.
    pub(in crate::sim) dirty: Vec<(u32, u32)>,
    /// No device is usable from several nodes: a node's Filter verdict depends on that
    /// node's state alone (the scheduler's per-node memo stays valid).
    pub(in crate::sim) node_local: bool,
}

fn dra_error(e: impl std::fmt::Display) -> ModelError {
    ModelError::Dra(e.to_string())
}

/// The claim a generated template makes: `exactly` `count` devices of `gpu.nvidia.com`.
fn generated_claim(count: u32) -> ResourceClaim {
    ResourceClaim {
        metadata: ObjectMeta {
            name: Some(format!("gpu-{count}")),
            namespace: Some(NAMESPACE.to_string()),
            ..Default::default()
        },
        spec: ResourceClaimSpec {
            devices: Some(DeviceClaim {
                requests: Some(vec![DeviceRequest {
                    name: GPU_REQUEST.to_string(),
                    exactly: Some(ExactDeviceRequest {
                        device_class_name: GPU_DRIVER.to_string(),
                        allocation_mode: Some("ExactCount".to_string()),
                        count: Some(i64::from(count)),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        },
        status: None,
    }
}

/// The name of the claim shared by the pods on one GPU (generated slices).
pub fn share_claim(node: &str, gpu: u8) -> ObjectKey {
    ObjectKey::new(NAMESPACE, &format!("gpu-share-{node}-gpu-{gpu}"))
}

impl DraRuntime {
    /// Build the allocator and prepare every pod's claims. In manifests mode the pods'
    /// GPU requests must then be dropped (`strip_gpu_requests`): the claims replace them.
    pub fn new(
        cfg: &DraConfig,
        spec: &ClusterSpec,
        workload: &Workload,
    ) -> Result<DraRuntime, ModelError> {
        let pod_names: Vec<Vec<String>> = workload
            .jobs
            .iter()
            .map(|j| (0..j.pods.len()).map(|p| format!("{}-{p}", j.id)).collect())
            .collect();
        let mut prepared: BTreeMap<ObjectKey, PreparedClaim> = BTreeMap::new();
        let mut claims = Vec::with_capacity(workload.jobs.len());
        let mut templates = Vec::new();
        let (alloc, generated) = match &cfg.source {
            DraSource::Generated => {
                let mut alloc = allocator_for_cluster(spec).map_err(dra_error)?;
                for (j, job) in workload.jobs.iter().enumerate() {
                    let mut per_pod = Vec::with_capacity(job.pods.len());
                    for (p, req) in job.pods.iter().enumerate() {
                        let GpuRequest::Whole(n) = req.gpu else {
                            per_pod.push(Vec::new());
                            continue;
                        };
                        let tkey = ObjectKey::new(NAMESPACE, &format!("gpu-{n}"));
                        if !prepared.contains_key(&tkey) {
                            let c = alloc.prepare(&generated_claim(n)).map_err(dra_error)?;
                            templates.push((c.clone(), job.id.clone(), p));
                            prepared.insert(tkey.clone(), c);
                        }
                        let key = ObjectKey::new(
                            NAMESPACE,
                            &format!("{}-{GPU_REQUEST}", pod_names[j][p]),
                        );
                        per_pod.push(vec![prepared[&tkey].renamed(key)]);
                    }
                    claims.push(per_pod);
                }
                (alloc, true)
            }
            DraSource::Manifests(objs) => {
                let mut alloc = Allocator::new(&objs.resource_slices, &objs.device_classes)
                    .map_err(dra_error)?;
                for rule in &objs.device_taint_rules {
                    alloc.apply_device_taint_rule(rule).map_err(dra_error)?;
                }
                for n in &spec.nodes {
                    let mut labels = n.labels.clone();
                    if let Some(l) = objs.node_labels.get(&n.name) {
                        labels.extend(l.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                    alloc.add_node(&n.name, labels);
                }
                if let Some(unknown) = alloc
                    .node_names()
                    .find(|name| !spec.nodes.iter().any(|n| n.name == *name))
                {
                    return Err(ModelError::Dra(format!(
                        "a ResourceSlice publishes devices on node {unknown:?}, which is not a node of the cluster"
                    )));
                }
                for ns in &objs.admin_namespaces {
                    alloc.allow_admin_access_in(ns);
                }
                let by_key: BTreeMap<ObjectKey, _> = objs
                    .claim_templates
                    .iter()
                    .map(|t| {
                        (
                            ObjectKey::new(
                                t.metadata.namespace.as_deref().unwrap_or(NAMESPACE),
                                t.metadata.name.as_deref().unwrap_or_default(),
                            ),
                            t,
                        )
                    })
                    .collect();
                for (j, job) in workload.jobs.iter().enumerate() {
                    let mut per_pod = Vec::with_capacity(job.pods.len());
                    for (p, req) in job.pods.iter().enumerate() {
                        let n = match req.gpu {
                            GpuRequest::None => {
                                per_pod.push(Vec::new());
                                continue;
                            }
                            GpuRequest::Whole(n) => n,
                            GpuRequest::Shared(m) => {
                                return Err(ModelError::Dra(format!(
                                    "job {:?} pod {p} requests {m}/1000 of a GPU; dra.claim_templates maps whole GPUs per pod to templates",
                                    job.id
                                )));
                            }
                        };
                        let Some(tkey) = objs.templates_by_gpus.get(&n) else {
                            let known: Vec<String> =
                                objs.templates_by_gpus.keys().map(u32::to_string).collect();
                            return Err(ModelError::Dra(format!(
                                "job {:?} pod {p} requests {n} GPUs but dra.claim_templates has no template for {n} (it maps: {})",
                                job.id,
                                if known.is_empty() {
                                    "nothing".to_string()
                                } else {
                                    known.join(", ")
                                }
                            )));
                        };
                        let Some(t) = by_key.get(tkey) else {
                            return Err(ModelError::Dra(format!(
                                "dra.claim_templates: {n} GPUs → ResourceClaimTemplate {tkey}, which the manifests do not contain"
                            )));
                        };
                        let pod_key = ObjectKey::new(&tkey.namespace, &pod_names[j][p]);
                        if !prepared.contains_key(tkey) {
                            let c = alloc
                                .prepare(&claim_from_template(&pod_key, GPU_REQUEST, t))
                                .map_err(|e| {
                                    ModelError::Dra(format!(
                                        "ResourceClaimTemplate {tkey} (for {n} GPUs): {e}"
                                    ))
                                })?;
                            templates.push((c.clone(), job.id.clone(), p));
                            prepared.insert(tkey.clone(), c);
                        }
                        let key = ObjectKey::new(
                            &tkey.namespace,
                            &format!("{}-{GPU_REQUEST}", pod_names[j][p]),
                        );
                        per_pod.push(vec![prepared[tkey].renamed(key)]);
                    }
                    claims.push(per_pod);
                }
                (alloc, false)
            }
        };
        let mut gpu_device: Vec<Vec<DeviceIdx>> = spec.nodes.iter().map(|_| Vec::new()).collect();
        let mut device_gpu = Vec::new();
        if generated {
            let index: BTreeMap<&str, usize> = spec
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.as_str(), i))
                .collect();
            for (d, dev) in alloc.devices().iter().enumerate() {
                let g: u8 = dev
                    .id
                    .device
                    .strip_prefix("gpu-")
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| {
                        ModelError::Dra(format!("generated device {} has no GPU index", dev.id))
                    })?;
                let Some(&n) = index.get(dev.id.pool.as_str()) else {
                    return Err(ModelError::Dra(format!(
                        "generated device {} is on an unknown node",
                        dev.id
                    )));
                };
                let slots = &mut gpu_device[n];
                if slots.len() <= g as usize {
                    slots.resize(g as usize + 1, DeviceIdx::MAX);
                }
                slots[g as usize] = d as DeviceIdx;
                device_gpu.push(g);
            }
        }
        let node_local = !alloc.has_shared_devices();
        let alloc_node = spec.nodes.iter().map(|n| alloc.node_idx(&n.name)).collect();
        Ok(DraRuntime {
            alloc,
            generated,
            claims,
            pod_names,
            alloc_node,
            gpu_device,
            device_gpu,
            templates,
            dirty: Vec::new(),
            node_local,
        })
    }

    /// Every claim template can be allocated somewhere on the empty cluster (else its
    /// pods could never run).
    pub fn validate_claims(&self, spec: &ClusterSpec) -> Result<(), ModelError> {
        let empty = AllocationState::default();
        for (claim, job, pod) in &self.templates {
            // A selector that fails to evaluate (CEL error) is reported with its object,
            // expression, device and the CEL message, not as "no device satisfies it".
            let mut eval_error = None;
            let ok = spec.nodes.iter().any(|n| {
                match self.alloc.filter(&[claim], &n.name, "validate", &empty) {
                    Ok(_) => true,
                    Err(crate::dra::Unschedulable::Error(e)) => {
                        eval_error.get_or_insert(e);
                        false
                    }
                    Err(_) => false,
                }
            });
            if !ok {
                return Err(ModelError::Dra(match eval_error {
                    Some(e) => {
                        format!("job {job:?} pod {pod}: its claim can never be allocated: {e}")
                    }
                    None => format!(
                        "job {job:?} pod {pod}: its claim can never be allocated: no node of the cluster has devices that satisfy it"
                    ),
                }));
            }
        }
        Ok(())
    }

    pub fn allocator(&self) -> &Allocator {
        &self.alloc
    }

    pub fn pod_name(&self, job: u32, pod: u32) -> &str {
        &self.pod_names[job as usize][pod as usize]
    }

    /// The DynamicResources Filter for one pod, or `None` when the pod has no claim (its
    /// GPU share, if any, is then checked by NodeResourcesFit).
    pub fn filter_for<'a>(
        &'a self,
        job: u32,
        pod: u32,
        state: &'a DraState,
    ) -> Option<DraFilter<'a>> {
        let claims = &self.claims[job as usize][pod as usize];
        if claims.is_empty() {
            return None;
        }
        let refs: Vec<&PreparedClaim> = claims.iter().collect();
        Some(DraFilter {
            filter: self
                .alloc
                .pod_filter(&refs, self.pod_name(job, pod), &state.allocation),
            alloc_node: &self.alloc_node,
        })
    }

    /// Reserve: allocate the pod's claims on `node` and reserve them for it. Returns the
    /// GPUs of the node's bookkeeping the pod now holds (generated slices; none otherwise).
    #[allow(clippy::too_many_arguments)] // the Reserve inputs, each distinct
    pub fn reserve(
        &mut self,
        st: &mut DraState,
        spec: &ClusterSpec,
        node_state: &NodeState,
        job: u32,
        pod: u32,
        node: u32,
        gpu: GpuRequest,
    ) -> Result<Vec<u8>, String> {
        let (j, p) = (job as usize, pod as usize);
        let node_name = &spec.nodes[node as usize].name;
        let pod_name = &self.pod_names[j][p];
        let (placement, gpus) = if !self.claims[j][p].is_empty() {
            let refs: Vec<&PreparedClaim> = self.claims[j][p].iter().collect();
            let placement = self
                .alloc
                .filter(&refs, node_name, pod_name, &st.allocation)
                .map_err(|e| format!("pod {pod_name} passed Filter on {node_name} but: {e}"))?;
            let mut gpus: Vec<u8> = if self.generated {
                placement
                    .claims
                    .iter()
                    .flat_map(|(_, a)| a.iter().flat_map(|a| &a.devices))
                    .map(|d| self.device_gpu[d.device as usize])
                    .collect()
            } else {
                Vec::new()
            };
            gpus.sort_unstable();
            (placement, gpus)
        } else if let (true, GpuRequest::Shared(_)) = (self.generated, gpu) {
            // A share joins (or opens) the claim of the GPU the share bookkeeping picks.
            let Some(gpus) = node_state.pick_gpus(gpu) else {
                return Err(format!(
                    "pod {pod_name} passed Filter on {node_name} but no GPU has room for its share"
                ));
            };
            let g = gpus[0];
            let key = share_claim(node_name, g);
            let alloc = if st.allocation.claim(&key).is_some() {
                None
            } else {
                let device = self.gpu_device[node as usize]
                    .get(g as usize)
                    .copied()
                    .filter(|&d| d != DeviceIdx::MAX)
                    .ok_or_else(|| format!("node {node_name} has no device for GPU {g}"))?;
                Some(Allocation {
                    devices: vec![AllocatedDevice {
                        request: GPU_REQUEST.to_string(),
                        device,
                        admin_access: false,
                    }],
                })
            };
            let placement = PodPlacement {
                node: node_name.clone(),
                claims: vec![(key, alloc)],
            };
            (placement, gpus)
        } else {
            return Ok(node_state.pick_gpus(gpu).unwrap_or_default());
        };
        self.alloc
            .reserve(&mut st.allocation, pod_name, &placement)
            .map_err(|e| e.to_string())?;
        let keys = placement.claims.into_iter().map(|(k, _)| k).collect();
        st.reserved.insert((job, pod), keys);
        self.dirty.push((job, pod));
        Ok(gpus)
    }

    /// Unreserve: the pod no longer uses its claims; a claim without consumers is
    /// deallocated.
    pub fn unreserve(&mut self, st: &mut DraState, job: u32, pod: u32) {
        if let Some(keys) = st.reserved.remove(&(job, pod)) {
            let name = &self.pod_names[job as usize][pod as usize];
            self.alloc.unreserve(&mut st.allocation, name, &keys);
        }
        self.dirty.push((job, pod));
    }

    /// The claims a pod holding resources must have reserved: its own, or (a GPU share on
    /// generated slices) the claim of the GPU it shares.
    pub(super) fn expected_claims(
        &self,
        spec: &ClusterSpec,
        job: u32,
        pod: u32,
        placement: Option<(u32, &[u8])>,
        gpu: GpuRequest,
    ) -> Vec<ObjectKey> {
        let own = &self.claims[job as usize][pod as usize];
        if !own.is_empty() {
            return own.iter().map(|c| c.key.clone()).collect();
        }
        match (self.generated, gpu, placement) {
            (true, GpuRequest::Shared(_), Some((node, gpus))) => gpus
                .iter()
                .map(|&g| share_claim(&spec.nodes[node as usize].name, g))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The DynamicResources Filter for one pod: can all of its claims be allocated on the
/// node (as the allocation stands)? The pod's claims are sorted out once per
/// scheduling attempt (the state does not change during one), then each node costs the
/// search alone ([`PodFilter::fits`], the verdict of [`Allocator::filter`]).
pub struct DraFilter<'a> {
    filter: PodFilter<'a>,
    alloc_node: &'a [Option<u32>],
}

impl NodeFilter for DraFilter<'_> {
    fn name(&self) -> &'static str {
        "DynamicResources"
    }
    fn filter_node(&self, node: u32) -> bool {
        self.filter
            .fits(self.alloc_node.get(node as usize).copied().flatten())
    }
}

/// Manifests mode: a pod's claims are its accelerator request, so its `nvidia.com/gpu`
/// request (and GPU-model constraint) is dropped.
pub fn strip_gpu_requests(workload: &mut Workload) {
    for j in &mut workload.jobs {
        for p in &mut j.pods {
            p.gpu = GpuRequest::None;
            p.gpu_models.clear();
        }
    }
}
