//! The event log of a platform run: what happened to pods, nodes, replicas and the
//! autoscalers, each with a one-line `Display`.

use std::fmt;

use sim_core::SimDuration;

/// One logged event.
#[derive(Clone, Debug, PartialEq)]
pub enum PlatformEvent {
    PodCreated {
        pod: String,
        gpus: u32,
        accelerator: String,
    },
    /// The pod failed Filter for the first time (PodScheduled=False, Unschedulable).
    PodUnschedulable {
        pod: String,
    },
    PodBound {
        pod: String,
        node: String,
    },
    PodCompleted {
        pod: String,
    },
    PodDeleted {
        pod: String,
    },
    /// Cluster autoscaler scale-up decision.
    ScaleUp {
        pool: String,
        from: u32,
        to: u32,
        pending_pods: u32,
    },
    /// The autoscaler found no node group for a pending pod (`NotTriggerScaleUp`).
    NoScaleUp {
        pod: String,
        reason: String,
    },
    NodeReady {
        node: String,
        pool: String,
    },
    /// The node was not Ready within max-node-provision-time and was given up.
    NodeProvisionTimedOut {
        node: String,
        pool: String,
    },
    /// Scale-down of an empty node unneeded for `unneeded_for`.
    NodeRemoved {
        node: String,
        pool: String,
        unneeded_for: SimDuration,
    },
    /// A replica finished starting and takes requests.
    ReplicaReady {
        service: String,
        pod: String,
    },
    /// The HPA changed `spec.replicas`.
    HpaRescale {
        service: String,
        from: u32,
        to: u32,
        metric: String,
        value: f64,
        target: f64,
    },
    /// The HPA could not read its metric (no custom-metrics adapter).
    HpaFailedGetMetric {
        service: String,
        metric: String,
    },
    /// A running job was evicted to make room for a service's replicas (main model,
    /// `on_no_capacity: preempt`; never on the platform model).
    Preempted {
        job: String,
        service: String,
    },
}

impl fmt::Display for PlatformEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PlatformEvent::*;
        match self {
            PodCreated {
                pod,
                gpus,
                accelerator,
            } => write!(f, "pod {pod} created ({gpus} x {accelerator})"),
            PodUnschedulable { pod } => write!(f, "pod {pod} Pending: unschedulable"),
            PodBound { pod, node } => write!(f, "pod {pod} bound to node {node}"),
            PodCompleted { pod } => write!(f, "pod {pod} completed"),
            PodDeleted { pod } => write!(f, "pod {pod} deleted"),
            ScaleUp {
                pool,
                from,
                to,
                pending_pods,
            } => write!(
                f,
                "cluster-autoscaler: scale-up of {pool} from {from} to {to} nodes for {pending_pods} pending pod(s)"
            ),
            NoScaleUp { pod, reason } => {
                write!(
                    f,
                    "cluster-autoscaler: pod {pod} did not trigger scale-up: {reason}"
                )
            }
            NodeReady { node, pool } => write!(f, "node {node} ({pool}) Ready"),
            NodeProvisionTimedOut { node, pool } => write!(
                f,
                "node {node} ({pool}) not Ready within max-node-provision-time: given up"
            ),
            NodeRemoved {
                node,
                pool,
                unneeded_for,
            } => write!(
                f,
                "cluster-autoscaler: node {node} ({pool}) removed after {unneeded_for} unneeded"
            ),
            ReplicaReady { service, pod } => write!(f, "{service}: replica {pod} Ready"),
            HpaRescale {
                service,
                from,
                to,
                metric,
                value,
                target,
            } => write!(
                f,
                "hpa {service}: {from} -> {to} replicas ({metric} = {value:.3} per replica, target {target})"
            ),
            Preempted { job, service } => {
                write!(f, "job {job} preempted for {service} replica(s)")
            }
            HpaFailedGetMetric { service, metric } => write!(
                f,
                "hpa {service}: FailedGetPodsMetric: unable to get metric {metric} (no custom metrics API)"
            ),
        }
    }
}
