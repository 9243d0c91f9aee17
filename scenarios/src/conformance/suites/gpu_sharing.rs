//! `gpu_sharing` (KAR-0003, SHOULD from 1.35): at least one static sharing strategy.
//! Hardware partitions (MIG) are schedulable resources, and time-slicing lets more pods
//! than GPUs run at once. Every strategy the profile enables is checked; a profile with
//! none fails.

use models::GPU_MILLI;
use sim_core::SimTime;

use super::common::{
    CaseJob, CaseSpec, build, case_file, dra_manifests, dra_place, run_traced, scenario_yaml,
    simple_claim,
};
use crate::conformance::outcome::{CaseResult, Observation};
use crate::conformance::profile::{Allocation, Profile};

/// Run every case.
pub fn run(profile: &Profile, seed: u64) -> Vec<CaseResult> {
    let s = &profile.accelerators.sharing;
    let mut out = Vec::new();
    if s.mig {
        out.push(match profile.accelerators.allocation {
            Allocation::Dra => mig_dra(seed),
            Allocation::DevicePlugin => concurrent(
                profile,
                seed,
                "mig-partitions",
                "7 pods each requesting one nvidia.com/mig-1g.10gb partition (a seventh of a GPU, device-plugin mixed strategy) run at once on one GPU",
                7,
            ),
        });
    }
    if s.time_slicing_replicas > 1 {
        let r = s.time_slicing_replicas;
        out.push(concurrent(
            profile,
            seed,
            "time-slicing",
            &format!("{r} pods each requesting a time-slice replica of one GPU ({r} replicas per GPU) run at once on one GPU"),
            r,
        ));
    }
    if out.is_empty() {
        out.push(
            CaseResult::new(
                "static-sharing-strategy",
                "at least one static sharing strategy (MIG partitions or time-slicing) is offered",
                1,
                seed,
                false,
                "the profile offers no GPU sharing (accelerators.sharing.mig is false and time_slicing_replicas is 0 or 1): a pod always takes whole GPUs",
            )
            .observed(Observation::new(SimTime::ZERO, "no sharing strategy")),
        );
    }
    out
}

/// The 7 `1g.10gb` MIG partitions of one H100 as DRA devices: 7 claims get 7 distinct
/// partitions of the same GPU (the allocator's shared counters keep them disjoint).
fn mig_dra(seed: u64) -> CaseResult {
    let name = "mig-partitions";
    let checks = "7 claims for a 1g.10gb MIG partition (mig.nvidia.com) get 7 distinct partitions of one H100; an 8th 1g.10gb on that GPU does not fit";
    let r = (|| -> Result<(bool, String), String> {
        let m = dra_manifests()?;
        let mut a = models::dra::Allocator::from_manifests(&m).map_err(|e| e.to_string())?;
        let mut st = models::dra::AllocationState::default();
        let sel = r#"device.attributes["gpu.nvidia.com"].profile == "1g.10gb" && device.attributes["gpu.nvidia.com"].parentIndex == 0"#;
        let mut got = Vec::new();
        for i in 0..7 {
            let d = dra_place(
                &mut a,
                &mut st,
                &format!("pod-{i}"),
                &[simple_claim(
                    &format!("slice-{i}"),
                    "mig.nvidia.com",
                    1,
                    &[sel],
                )],
            )?;
            got.extend(d.concat());
        }
        let eighth = dra_place(
            &mut a,
            &mut st,
            "pod-7",
            &[simple_claim("slice-7", "mig.nvidia.com", 1, &[sel])],
        );
        let mut distinct = got.clone();
        distinct.sort();
        distinct.dedup();
        Ok((
            distinct.len() == 7 && eighth.is_err(),
            format!(
                "7 pods got {} distinct partitions of gpu-0 ({}); an 8th: {}",
                distinct.len(),
                got.join(", "),
                if eighth.is_err() {
                    "does not fit"
                } else {
                    "WRONGLY allocated"
                }
            ),
        ))
    })();
    match r {
        Ok((passed, detail)) => CaseResult::new(name, checks, 7, seed, passed, detail.clone())
            .observed(Observation::new(SimTime::ZERO, detail)),
        Err(e) => CaseResult::new(name, checks, 7, seed, false, e),
    }
}

/// `n` pods each taking 1/n of one GPU all start at time 0 on a one-GPU node.
fn concurrent(profile: &Profile, seed: u64, name: &str, checks: &str, n: u32) -> CaseResult {
    let milli = GPU_MILLI / n;
    let sp = CaseSpec {
        name: format!("gpu_sharing-{name}"),
        description: checks.into(),
        seed,
        nodes: 1,
        gpus_per_node: 1,
        gpu_model: profile.accelerators.gpu_model.clone(),
        jobs: (0..n)
            .map(|i| CaseJob {
                gpu_milli: Some(milli),
                ..CaseJob::new(&format!("pod-{i}"), 0, 600, 1, 1)
            })
            .collect(),
        horizon_s: None,
        extra: String::new(),
    };
    let yaml = scenario_yaml(profile, &sp);
    let file = case_file(&sp, yaml.clone(), "orrery run {file}");
    match build(&yaml, &sp.name).and_then(run_traced) {
        Ok(t) => {
            let at_zero = t
                .timeline
                .iter()
                .filter(|h| h.at == SimTime::ZERO && h.bound > 0)
                .count() as u32;
            let detail = format!("{at_zero} of {n} pods running on the one GPU at 0s");
            CaseResult::new(name, checks, n, seed, at_zero == n, detail.clone())
                .observed(Observation::new(SimTime::ZERO, detail))
                .with_scenario(file)
        }
        Err(e) => CaseResult::new(name, checks, n, seed, false, e).with_scenario(file),
    }
}
