//! `models`: what Orrery simulates — cluster hardware, workloads, the Kubernetes objects
//! they become (Pods, gangs) and the scheduler policies that place them.

pub mod cluster;
pub mod container;
pub mod controllers;
pub mod dra;
pub mod elastic;
pub mod fgd;
pub mod kueue;
pub mod marks;
pub mod net;
pub mod platform;
pub mod resources;
pub mod scheduler;
pub mod sim;
pub mod state;
pub mod verify;
pub mod workload;

pub use cluster::{ClusterSpec, NodeSpec};
pub use controllers::ray_autoscaler::RayResources;
pub use resources::{
    GPU_MILLI, GpuRequest, MAX_GPUS_PER_NODE, MAX_NODES, MAX_PODS_PER_JOB, MAX_QUANTITY,
    PodRequest, split_gpus,
};
pub use scheduler::{PolicyKind, SchedulerConfig};
pub use sim::{
    AutoscaledPool, AutoscalerConfig, AutoscalerResult, DatasetScope, DetectConfig, DraConfig,
    DraInvariant, DraObjects, DraSource, DraViolation, JobRecord, ModelError, NetModel, Outcome,
    PodOrder, RunConfig, RunError, RunResult, StagingSpec, StarvedKind, run,
};
pub use sim::{
    Checkpoint, FaultConfig, FaultReport, JobFaults, NodeAction, NodeEventSpec, Part,
    PartEventSpec, SeededFaults, ServingConfig,
};
pub use sim::{JobDeletion, NO_RUN_TIME};
pub use sim::{RayClusterConfig, RayConfig, RayKind, RayReport, RayTaskGroup, RayWorkerGroup};
pub use workload::{JobSpec, Workload};
