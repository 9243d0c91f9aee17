//! What a container sees: device access as mediated by the device plugin or DRA and the
//! container runtime.
//!
//! Kubernetes hands a container only the devices allocated to it: by the device plugin's
//! `Allocate` for the container's `limits` (e.g. `nvidia.com/gpu: 1`), or by DRA for the
//! claims the container lists in `resources.claims` (CDI injection per container). A
//! sibling container of the same pod that lists no claim gets none. The NVIDIA container
//! runtime can however be configured to honour `NVIDIA_VISIBLE_DEVICES` from the image
//! (`accept-nvidia-visible-devices-envvar-when-unprivileged = true`, the old default);
//! CUDA base images set it to `all`, so any unprivileged container on a GPU node then sees
//! every GPU of the node, allocated or not.

use std::collections::BTreeSet;

/// The container runtime's device mediation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mediation {
    /// The runtime exposes the devices an unprivileged container names in
    /// `NVIDIA_VISIBLE_DEVICES`.
    pub accept_visible_devices_envvar: bool,
}

/// One container of a pod, as far as devices go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    /// Devices allocated to this container (device-plugin limits or the DRA claims it
    /// references).
    pub allocated: Vec<String>,
    /// `NVIDIA_VISIBLE_DEVICES` from the image or the pod spec: `all`, or device names.
    pub visible_devices_env: Option<String>,
}

/// The devices `c`, running on a node with `node_devices`, can open.
pub fn visible_devices(node_devices: &[String], c: &Container, m: Mediation) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = c.allocated.iter().cloned().collect();
    if m.accept_visible_devices_envvar
        && let Some(env) = &c.visible_devices_env
    {
        match env.trim() {
            "all" => seen.extend(node_devices.iter().cloned()),
            "" | "none" | "void" => {}
            list => seen.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|d| node_devices.iter().any(|n| n == d))
                    .map(String::from),
            ),
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Vec<String> {
        (0..4).map(|i| format!("gpu-{i}")).collect()
    }

    #[test]
    fn a_container_sees_only_its_allocation_unless_the_runtime_honours_the_env() {
        let c = Container {
            name: "main".into(),
            allocated: vec!["gpu-2".into()],
            visible_devices_env: Some("all".into()),
        };
        let strict = visible_devices(&node(), &c, Mediation::default());
        assert_eq!(strict.into_iter().collect::<Vec<_>>(), ["gpu-2"]);
        let lax = Mediation {
            accept_visible_devices_envvar: true,
        };
        assert_eq!(visible_devices(&node(), &c, lax).len(), 4);
        let named = Container {
            allocated: vec![],
            visible_devices_env: Some("gpu-1, gpu-9".into()),
            ..c
        };
        assert_eq!(
            visible_devices(&node(), &named, lax)
                .into_iter()
                .collect::<Vec<_>>(),
            ["gpu-1"]
        );
        assert!(visible_devices(&node(), &named, Mediation::default()).is_empty());
    }
}
