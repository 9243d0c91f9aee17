//! How a run uses DRA (the scenario's `dra:` key, built by the `scenarios` crate).

use std::collections::BTreeMap;

use k8s_openapi::api::resource::v1::{DeviceClass, ResourceClaimTemplate, ResourceSlice};
use k8s_openapi::api::resource::v1alpha3::DeviceTaintRule;
use serde::{Deserialize, Serialize};

use crate::dra::ObjectKey;

/// DRA for a run: pods' accelerators are ResourceClaims allocated by the DynamicResources
/// plugin instead of `nvidia.com/gpu` counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraConfig {
    pub source: DraSource,
}

/// Where devices, classes and claims come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DraSource {
    /// ResourceSlices generated from the cluster's GPU nodes (`dra::generate`: one
    /// `gpu.nvidia.com` device per GPU) and the `gpu.nvidia.com` DeviceClass. A pod of
    /// `n` whole GPUs gets its own claim from a generated template (`exactly`, `count: n`);
    /// a pod with a share of a GPU joins the claim of the GPU it shares, `gpu-share-<node>-<gpu>`,
    /// reserved for every pod on that GPU.
    Generated,
    /// Objects read from manifests.
    Manifests(Box<DraObjects>),
}

/// DRA objects read from manifests, and how a trace's pods map to claim templates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraObjects {
    pub device_classes: Vec<DeviceClass>,
    pub resource_slices: Vec<ResourceSlice>,
    pub claim_templates: Vec<ResourceClaimTemplate>,
    /// DeviceTaintRules, applied (in this order) to the devices they select before the
    /// run starts, as if the taint were in the ResourceSlice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_taint_rules: Vec<DeviceTaintRule>,
    /// Node name → labels (for slices that select nodes by label).
    pub node_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Namespaces labelled `resource.kubernetes.io/admin-access: "true"`.
    pub admin_namespaces: Vec<String>,
    /// Whole GPUs per pod → the ResourceClaimTemplate its claim is made from. A pod of
    /// `n` GPUs (n ≥ 1) uses the template of `n`; a pod without GPUs has no claim. The
    /// pod's `nvidia.com/gpu` request is dropped: the claim is its accelerator request.
    pub templates_by_gpus: BTreeMap<u32, ObjectKey>,
}
