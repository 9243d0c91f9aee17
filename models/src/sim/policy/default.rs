//! `default`: kube-scheduler's default profile. Pods are scheduled one at a time, Permit
//! allows at once (a pod is bound as soon as it is placed), no gang awareness: pods bound
//! while their siblings wait hold their GPUs.

use std::sync::Arc;

use sim_core::Ctx;

use super::{Policy, Queueing, Registration, pod_cycle};
use crate::sim::{ClusterSim, Event};

pub const REGISTRATION: Registration = Registration {
    name: "default",
    about: "kube-scheduler's default profile: pods one at a time, no gang awareness",
    build: |_, _, _| Ok(Arc::new(KubeDefault)),
};

#[derive(Debug)]
struct KubeDefault;

impl Policy for KubeDefault {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn queueing(&self) -> Queueing {
        Queueing::Pods
    }

    fn schedule(&self, m: &mut ClusterSim, ctx: &mut Ctx<'_, Event>) {
        pod_cycle(self, m, ctx);
        m.schedule_flush(ctx);
    }
}
