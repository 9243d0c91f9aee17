//! `secure_accelerator_access` (KAR-0049): container access to accelerators is isolated
//! and mediated by the device plugin or DRA plus the container runtime.
//!
//! Test plan: (a) a pod on an accelerator node that requests none sees no device; (b) of
//! two pods with one accelerator each, neither reaches the other's. The upstream test also
//! checks that a sibling container which does not reference the claim sees nothing.
//! Hardened: every container uses a CUDA image (which sets `NVIDIA_VISIBLE_DEVICES=all`),
//! and (b) is checked at every instant of a contended run of one-GPU pods on shared nodes,
//! not only for two pods. The device view is `models::container::visible_devices`.

use models::container::{Container, Mediation, visible_devices};
use models::sim::{ClusterSim, PodPhase};
use sim_core::SimTime;

use super::common::{CaseJob, CaseSpec, build, case_file, run_checked, scenario_yaml};
use crate::conformance::outcome::{CaseResult, Observation};
use crate::conformance::profile::{Allocation, Profile};

fn mediation(p: &Profile) -> Mediation {
    Mediation {
        accept_visible_devices_envvar: p.accelerators.runtime.accept_visible_devices_envvar,
    }
}

fn node_devices(p: &Profile) -> Vec<String> {
    (0..p.accelerators.gpus_per_node)
        .map(|i| format!("gpu-{i}"))
        .collect()
}

fn cuda(name: &str, allocated: Vec<String>) -> Container {
    Container {
        name: name.into(),
        allocated,
        visible_devices_env: Some("all".into()),
    }
}

/// Run every case.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    let m = mediation(profile);
    let devs = node_devices(profile);
    let how = match profile.accelerators.allocation {
        Allocation::Dra => "its ResourceClaim",
        Allocation::DevicePlugin => "its nvidia.com/gpu limit",
    };
    let mut out = Vec::new();
    // (a) No request, CUDA image.
    let seen = visible_devices(&devs, &cuda("main", vec![]), m);
    let checks = "a pod on a GPU node that requests no GPU (CUDA image, NVIDIA_VISIBLE_DEVICES=all) sees no device";
    let detail = if seen.is_empty() {
        "the container sees 0 devices".to_string()
    } else {
        format!(
            "the container sees {} devices ({}) without requesting any: the runtime honours NVIDIA_VISIBLE_DEVICES from the image (accelerators.runtime.accept_visible_devices_envvar)",
            seen.len(),
            seen.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    out.push(
        CaseResult::new(
            "no-request-no-device",
            checks,
            1,
            seed,
            seen.is_empty(),
            detail.clone(),
        )
        .observed(Observation::new(SimTime::ZERO, detail)),
    );
    // Sibling container.
    let main = visible_devices(&devs, &cuda("main", vec!["gpu-0".into()]), m);
    let side = visible_devices(&devs, &cuda("sidecar", vec![]), m);
    let ok = main.len() == 1 && main.contains("gpu-0") && side.is_empty();
    let checks = format!(
        "of a pod's two containers only the one that references {how} sees the GPU (exactly that one); the sibling sees none"
    );
    let detail = format!(
        "the referencing container sees {:?}, the sibling sees {:?}",
        main, side
    );
    out.push(
        CaseResult::new(
            "unclaimed-sibling-container",
            &checks,
            2,
            seed,
            ok,
            detail.clone(),
        )
        .observed(Observation::new(SimTime::ZERO, detail)),
    );
    out.push(contended(profile, seed, m));
    out
}

/// One-GPU pods of varied lengths share two nodes; at every instant each running pod's
/// container sees exactly its own GPU, and no GPU is allocated to two pods.
fn contended(profile: &Profile, seed: u64, m: Mediation) -> CaseResult {
    let name = "pods-see-only-their-devices";
    let checks = "24 one-GPU pods of varied lengths share 2 nodes: at every instant each running container sees exactly its own GPU and no GPU is in two pods";
    let g = profile.accelerators.gpus_per_node;
    let dra = if profile.accelerators.allocation == Allocation::Dra {
        "dra:\n  mode: generated\n"
    } else {
        ""
    };
    let sp = CaseSpec {
        name: format!("secure_accelerator_access-{name}"),
        description: checks.into(),
        seed,
        nodes: 2,
        gpus_per_node: g,
        gpu_model: profile.accelerators.gpu_model.clone(),
        jobs: (0..24u64)
            .map(|i| CaseJob::new(&format!("pod-{i}"), i * 7, 60 + (i * 37) % 200, 1, 1))
            .collect(),
        horizon_s: None,
        extra: dra.into(),
    };
    let yaml = scenario_yaml(profile, &sp);
    let file = case_file(&sp, yaml.clone(), "orrery run {file}");
    let devs: Vec<String> = (0..g).map(|i| format!("gpu-{i}")).collect();
    let mut checked = 0u64;
    let mut check = |_: SimTime, sim: &ClusterSim| -> Option<String> {
        let mut owner: std::collections::BTreeMap<(u32, u8), String> = Default::default();
        for (j, js) in sim.state.jobs.iter().enumerate() {
            for (k, ps) in js.pods.iter().enumerate() {
                let (Some(pl), PodPhase::Bound) = (&ps.placement, ps.phase) else {
                    continue;
                };
                let pod = format!("{}/{k}", sim.workload.jobs[j].id);
                let mine: Vec<String> = pl.gpus.iter().map(|g| format!("gpu-{g}")).collect();
                for &gi in &pl.gpus {
                    if let Some(other) = owner.insert((pl.node, gi), pod.clone()) {
                        return Some(format!(
                            "GPU {gi} of node {} is allocated to both {other} and {pod}",
                            pl.node
                        ));
                    }
                }
                let seen = visible_devices(&devs, &cuda("main", mine.clone()), m);
                checked += 1;
                let extra: Vec<&String> = seen.iter().filter(|d| !mine.contains(d)).collect();
                if !extra.is_empty() {
                    return Some(format!(
                        "{pod} on node {} was allocated {mine:?} but its container sees {} devices, including {:?} not allocated to it",
                        pl.node,
                        seen.len(),
                        extra
                    ));
                }
            }
        }
        None
    };
    let r = build(&yaml, &sp.name)
        .and_then(|sc| run_checked(sc.cluster, sc.workload, &sc.config, &mut check));
    match r {
        Ok(t) => match t.finding {
            Some((at, f)) => CaseResult::new(name, checks, 24, seed, false, f.clone())
                .observed(Observation::new(at, f))
                .with_scenario(file),
            None => {
                let done = t.timeline.iter().filter(|h| h.completed).count();
                let detail = format!(
                    "{checked} container views checked over the run, each exactly its own GPU; {done} of 24 pods completed"
                );
                CaseResult::new(name, checks, 24, seed, done == 24, detail.clone())
                    .observed(Observation::new(t.end, detail))
                    .with_scenario(file)
            }
        },
        Err(e) => CaseResult::new(name, checks, 24, seed, false, e).with_scenario(file),
    }
}
