//! `dra_support` (KAR-0051): the `resource.k8s.io/v1` DRA APIs are served and workloads
//! get devices by attributes, not only by counts.
//!
//! Test plan: the four DRA kinds are served. Hardened with the oracles of the reference
//! notes (§8): a CEL selector binds only matching devices and nothing when none matches;
//! `count` and `allocationMode: All` are honoured; `matchAttribute` keeps a claim's
//! devices on one PCIe root; and in a contended run no pod is bound or waits at Permit
//! before its claims are allocated and reserved for it (the DRA invariants, checked at
//! every event). The allocator is `models::dra` on the H100 fixtures of `scenarios/dra/`.

use sim_core::SimTime;

use super::common::{
    CaseJob, CaseSpec, DRA_WORKLOAD, build, case_file, dra_manifests, dra_place, run_traced,
    scenario_yaml, simple_claim,
};
use crate::conformance::outcome::{CaseResult, Observation, show_time};
use crate::conformance::profile::{Allocation, Profile};

const GPU: &str = "gpu.nvidia.com";

/// Run every case.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    if profile.accelerators.allocation != Allocation::Dra {
        return vec![
            CaseResult::new(
                "apis-served",
                "DeviceClass, ResourceClaim, ResourceClaimTemplate and ResourceSlice (resource.k8s.io/v1) are served",
                1,
                seed,
                false,
                "accelerators.allocation is device-plugin: devices are advertised as integer counts only; no ResourceSlice is published and no ResourceClaim can ask for a device by its attributes",
            )
            .observed(Observation::new(SimTime::ZERO, "no resource.k8s.io/v1 objects served")),
        ];
    }
    vec![
        apis_served(seed),
        selector_case(
            seed,
            "selector-by-memory",
            "a claim selecting on device memory (CEL) gets a matching GPU; one asking for more memory than any GPU has gets none",
            &[r#"device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("40Gi")) >= 0"#],
            &[r#"device.capacity["gpu.nvidia.com"].memory.isGreaterThan(quantity("80Gi"))"#],
        ),
        selector_case(
            seed,
            "selector-by-product",
            "a claim selecting on productName gets an H100; one asking for an H200 gets none",
            &[r#"device.attributes["gpu.nvidia.com"].productName == "NVIDIA H100 80GB HBM3""#],
            &[r#"device.attributes["gpu.nvidia.com"].productName.startsWith("NVIDIA H200")"#],
        ),
        count_case(seed),
        all_case(seed),
        match_attribute_case(seed),
        contended_run(profile, seed),
    ]
}

fn apis_served(seed: u64) -> CaseResult {
    let name = "apis-served";
    let checks = "DeviceClass, ResourceClaim, ResourceClaimTemplate and ResourceSlice (resource.k8s.io/v1) are read and used";
    let r = dra_manifests().and_then(|mut m| {
        m.add_str(DRA_WORKLOAD.0, DRA_WORKLOAD.1)
            .map_err(|e| e.to_string())?;
        Ok(m)
    });
    match r {
        Ok(m) => {
            let counts = [
                ("DeviceClass", m.device_classes.len()),
                ("ResourceSlice", m.resource_slices.len()),
                ("ResourceClaim", m.claims.len()),
                ("ResourceClaimTemplate", m.claim_templates.len()),
            ];
            let missing: Vec<&str> = counts
                .iter()
                .filter(|(_, n)| *n == 0)
                .map(|(k, _)| *k)
                .collect();
            let shown = counts
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ");
            let passed = missing.is_empty();
            let detail = if passed {
                format!("read {shown} from the DRA fixtures")
            } else {
                format!("missing kinds: {}", missing.join(", "))
            };
            CaseResult::new(name, checks, 1, seed, passed, detail.clone())
                .observed(Observation::new(SimTime::ZERO, detail))
        }
        Err(e) => CaseResult::new(name, checks, 1, seed, false, e),
    }
}

fn selector_case(
    seed: u64,
    name: &str,
    checks: &str,
    matching: &[&str],
    none: &[&str],
) -> CaseResult {
    let r = (|| -> Result<(bool, String), String> {
        let m = dra_manifests()?;
        let mut a = models::dra::Allocator::from_manifests(&m).map_err(|e| e.to_string())?;
        let mut s = models::dra::AllocationState::default();
        let got = dra_place(
            &mut a,
            &mut s,
            "pod-match",
            &[simple_claim("match", GPU, 1, matching)],
        )?;
        let devices = got.concat();
        let whole_gpus = devices
            .iter()
            .all(|d| d.starts_with("gpu-") && !d.contains("-mig-"));
        let nothing = dra_place(
            &mut a,
            &mut s,
            "pod-none",
            &[simple_claim("none", GPU, 1, none)],
        );
        let ok = devices.len() == 1 && whole_gpus && nothing.is_err();
        Ok((
            ok,
            format!(
                "matching claim got {devices:?}; the claim no device matches: {}",
                match nothing {
                    Err(e) => format!("unallocatable ({e})"),
                    Ok(d) => format!("WRONGLY got {:?}", d.concat()),
                }
            ),
        ))
    })();
    verdict(name, checks, 1, seed, r)
}

fn count_case(seed: u64) -> CaseResult {
    let r = (|| -> Result<(bool, String), String> {
        let m = dra_manifests()?;
        let mut a = models::dra::Allocator::from_manifests(&m).map_err(|e| e.to_string())?;
        let mut s = models::dra::AllocationState::default();
        let three =
            dra_place(&mut a, &mut s, "p3", &[simple_claim("three", GPU, 3, &[])])?.concat();
        let mut distinct = three.clone();
        distinct.sort();
        distinct.dedup();
        // 5 GPUs are left: 6 cannot be allocated.
        let six = dra_place(&mut a, &mut s, "p6", &[simple_claim("six", GPU, 6, &[])]);
        let ok = three.len() == 3 && distinct.len() == 3 && six.is_err();
        Ok((
            ok,
            format!(
                "count 3 got {three:?}; count 6 with 5 GPUs left: {}",
                match six {
                    Err(_) => "unallocatable".to_string(),
                    Ok(d) => format!("WRONGLY got {:?}", d.concat()),
                }
            ),
        ))
    })();
    verdict(
        "count-honoured",
        "count: 3 gets exactly 3 distinct GPUs; count: 6 with 5 left gets none",
        3,
        seed,
        r,
    )
}

fn all_case(seed: u64) -> CaseResult {
    let r = (|| -> Result<(bool, String), String> {
        let m = dra_manifests()?;
        let mut a = models::dra::Allocator::from_manifests(&m).map_err(|e| e.to_string())?;
        let mut s = models::dra::AllocationState::default();
        let all = dra_place(&mut a, &mut s, "p", &[simple_claim("all", GPU, 0, &[])])?.concat();
        Ok((
            all.len() == 8,
            format!("allocationMode All got {} GPUs: {all:?}", all.len()),
        ))
    })();
    verdict(
        "all-mode",
        "allocationMode: All gets every matching GPU of the node (8)",
        8,
        seed,
        r,
    )
}

fn match_attribute_case(seed: u64) -> CaseResult {
    let r = (|| -> Result<(bool, String), String> {
        let m = dra_manifests()?;
        let mut a = models::dra::Allocator::from_manifests(&m).map_err(|e| e.to_string())?;
        let mut s = models::dra::AllocationState::default();
        // gpu-0 taken first: four GPUs on one PCIe root are then only gpu-4..7.
        dra_place(&mut a, &mut s, "p0", &[simple_claim("one", GPU, 1, &[])])?;
        let claim = "apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: same-root
spec:
  devices:
    requests:
    - name: gpus
      exactly:
        deviceClassName: gpu.nvidia.com
        count: 4
    constraints:
    - matchAttribute: resource.kubernetes.io/pcieRoot
";
        let got = dra_place(&mut a, &mut s, "p1", &[claim.to_string()])?.concat();
        let roots: Vec<String> = got
            .iter()
            .filter_map(|d| a.devices().iter().find(|x| &x.id.device == d))
            .filter_map(|d| d.attributes.get("resource.kubernetes.io/pcieRoot"))
            .map(|v| format!("{v:?}"))
            .collect();
        let mut distinct = roots.clone();
        distinct.dedup();
        Ok((
            got.len() == 4 && roots.len() == 4 && distinct.len() == 1,
            format!("with gpu-0 taken, 4 GPUs on one PCIe root got {got:?}"),
        ))
    })();
    verdict(
        "match-attribute",
        "matchAttribute on the PCIe root gives 4 GPUs sharing one root (gpu-4..gpu-7 once gpu-0 is taken)",
        4,
        seed,
        r,
    )
}

/// Gangs of claim-backed pods contend for two nodes; the DRA invariants are checked at
/// every event (no pod bound or at Permit before its claims are allocated and reserved,
/// no device in two claims, released pods in no `reservedFor`).
fn contended_run(profile: &Profile, seed: u64) -> CaseResult {
    let name = "claims-before-binding";
    let checks = "8 jobs of 2 pods x 4 GPUs as ResourceClaims contend for 2 nodes: every pod's claims are allocated and reserved before it binds, no device is in two claims, all jobs complete";
    let g = profile.accelerators.gpus_per_node;
    let sp = CaseSpec {
        name: format!("dra_support-{name}"),
        description: checks.into(),
        seed,
        nodes: 2,
        gpus_per_node: g,
        gpu_model: profile.accelerators.gpu_model.clone(),
        jobs: (0..8)
            .map(|i| CaseJob::new(&format!("job-{i}"), i * 5, 300, 2, (g / 2).max(1)))
            .collect(),
        horizon_s: None,
        extra: "dra:\n  mode: generated\n".into(),
    };
    let yaml = scenario_yaml(profile, &sp);
    let file = case_file(&sp, yaml.clone(), "orrery run {file}");
    let r = build(&yaml, &sp.name).and_then(|mut sc| {
        sc.config.check_invariants = true;
        run_traced(sc)
    });
    match r {
        Ok(t) => {
            let done: Vec<_> = t.timeline.iter().filter(|h| h.completed).collect();
            let last = done.iter().map(|h| h.at).max().unwrap_or(SimTime::ZERO);
            let passed = done.len() == 8;
            let detail = format!(
                "{} of 8 jobs completed (last at {}) with the DRA invariants holding at every event",
                done.len(),
                show_time(last)
            );
            CaseResult::new(name, checks, 16, seed, passed, detail.clone())
                .observed(Observation::new(last, detail))
                .with_scenario(file)
        }
        Err(e) => CaseResult::new(name, checks, 16, seed, false, e).with_scenario(file),
    }
}

fn verdict(
    name: &str,
    checks: &str,
    size: u32,
    seed: u64,
    r: Result<(bool, String), String>,
) -> CaseResult {
    match r {
        Ok((passed, detail)) => CaseResult::new(name, checks, size, seed, passed, detail.clone())
            .observed(Observation::new(SimTime::ZERO, detail)),
        Err(e) => CaseResult::new(
            name,
            checks,
            size,
            seed,
            false,
            format!("the case could not run: {e}"),
        ),
    }
}
