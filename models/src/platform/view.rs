//! `orrery platform` as a view of `orrery run`: a platform configuration is translated
//! into the main model's inputs and run by `ClusterSim`, and the run is read back in the
//! platform's shape (`PlatformRun`), so the same writers and conformance suites read it.
//!
//! The translation (see docs/platform.md, "What changed when the platform model became a
//! view of `orrery run`"):
//!
//! * **pools** → nodes `<pool>-0000…` with `gpus_per_node` GPUs of model `accelerator`,
//!   labelled `accelerator=<accelerator>`, no CPU or memory (nothing requests them); with a
//!   `cluster_autoscaler` every pool is a node group (`AutoscaledPool`: `max` nodes in the
//!   cluster, those beyond `initial` absent), without one a pool is its `initial` nodes;
//! * **batch pods** → one-pod jobs (`gpus` whole GPUs, a nodeSelector on the accelerator
//!   label, so a pod no pool can take stays Pending as in Kubernetes), run time
//!   `duration` or none (`NO_RUN_TIME`: until deleted or the horizon), `delete_at` →
//!   `RunConfig::deletions`;
//! * **services, traffic, gateway, metrics** → `RunConfig::serving` as they are;
//! * the scheduler is the main model's default profile (kube-scheduler's queue,
//!   `NodeResourcesFit`, `nextStartNodeIndex`, ties to the seeded `Chooser`).
//!
//! The log is rebuilt from what the main model records: the serving controller's own log
//! (replica pods, HPA, Ready replicas), the batch pods as seen each time an instant
//! closes (created, Pending after their first scheduling pass, bound, completed or
//! deleted), and the autoscaler's actions (`autoscaler_actions.csv`'s rows).

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimTime};

use super::{PlatformConfig, PlatformError, PlatformEvent, PlatformRun, PodSummary};
use crate::cluster::{ClusterSpec, NodeSpec};
use crate::resources::{GpuRequest, PodConstraints, PodRequest};
use crate::sim::{
    AutoscaledPool, AutoscalerConfig, ClusterSim, JobDeletion, JobPhase, NO_RUN_TIME, Outcome,
    RunConfig, RunError, ServingConfig, policy::Registry,
};
use crate::workload::{JobSpec, Workload};

/// The node label a batch pod selects its accelerator by.
pub const ACCELERATOR_LABEL: &str = "accelerator";

/// The main model's inputs for a platform configuration.
pub fn translate(
    cfg: &PlatformConfig,
    seed: u64,
    horizon: SimTime,
) -> (ClusterSpec, Workload, RunConfig) {
    let mut nodes = Vec::new();
    let mut pools = Vec::new();
    for (i, p) in cfg.pools.iter().enumerate() {
        let first = nodes.len() as u32;
        let count = if cfg.cluster_autoscaler.is_some() {
            p.max
        } else {
            p.initial_nodes()
        };
        for k in 0..count {
            nodes.push(NodeSpec {
                name: format!("{}-{k:04}", p.name),
                pool: p.name.clone(),
                cpu_milli: 0,
                memory_mib: 0,
                gpus: p.gpus_per_node,
                gpu_model: Some(p.accelerator.clone()),
                gpu_memory_mib: 0,
                rack: i as u32,
                labels: BTreeMap::from([(ACCELERATOR_LABEL.to_string(), p.accelerator.clone())]),
                taints: Vec::new(),
            });
        }
        if cfg.cluster_autoscaler.is_some() && p.max > 0 {
            pools.push(AutoscaledPool {
                name: p.name.clone(),
                first,
                min: p.min,
                max: p.max,
                initial: p.initial_nodes(),
                provisioning_delay: p.provisioning_delay,
            });
        }
    }
    let mut workload = Workload {
        jobs: cfg
            .batch_pods
            .iter()
            .map(|b| JobSpec {
                id: b.name.clone(),
                submit: b.submit,
                duration: b.duration.unwrap_or(NO_RUN_TIME),
                pods: vec![PodRequest {
                    cpu_milli: 0,
                    memory_mib: 0,
                    gpu: GpuRequest::Whole(b.gpus),
                    gpu_models: Vec::new(),
                    constraints: Some(Box::new(PodConstraints {
                        node_selector: BTreeMap::from([(
                            ACCELERATOR_LABEL.to_string(),
                            b.accelerator.clone(),
                        )]),
                        ..PodConstraints::default()
                    })),
                }],
                priority: 0,
                queue: None,
            })
            .collect(),
    };
    workload.sort_by_submit();
    let deletions = cfg
        .batch_pods
        .iter()
        .filter_map(|b| {
            b.delete_at.map(|at| JobDeletion {
                job: b.name.clone(),
                at,
            })
        })
        .collect();
    let config = RunConfig {
        seed,
        horizon: Some(horizon.since(SimTime::ZERO)),
        autoscaler: cfg
            .cluster_autoscaler
            .as_ref()
            .map(|settings| AutoscalerConfig {
                settings: settings.clone(),
                pools,
            }),
        serving: Some(ServingConfig {
            services: cfg.services.clone(),
            traffic: cfg.traffic.clone(),
            gateway: cfg.gateway.clone(),
            metrics: cfg.metrics.clone(),
        }),
        deletions,
        ..RunConfig::default()
    };
    (ClusterSpec { nodes }, workload, config)
}

/// A batch pod as seen at the instants that closed so far.
#[derive(Clone, Debug, Default)]
struct Seen {
    created: bool,
    unschedulable: bool,
    bound: Option<(SimTime, String)>,
    ended: Option<SimTime>,
}

/// What the observer rebuilds of the batch pods (and the replicas' Pending pods).
#[derive(Default)]
struct BatchLog {
    seen: Vec<Seen>,
    /// Replica slots (job index) whose current pod was logged unschedulable.
    replica_unschedulable: std::collections::BTreeSet<usize>,
    log: Vec<(SimTime, PlatformEvent)>,
}

impl BatchLog {
    fn observe(&mut self, m: &ClusterSim, now: SimTime, batch: usize) {
        // A replica pod still Pending after its instant's scheduling pass failed Filter
        // (logged once per pod; a slot deleted or bound starts over).
        for j in batch..m.workload.jobs.len() {
            let js = &m.state.jobs[j];
            if js.phase == JobPhase::Waiting && js.assumed == 0 {
                if self.replica_unschedulable.insert(j) {
                    let pod = m.workload.jobs[j].id.clone();
                    self.log
                        .push((now, PlatformEvent::PodUnschedulable { pod }));
                }
            } else {
                self.replica_unschedulable.remove(&j);
            }
        }
        for j in 0..batch {
            let (spec, js) = (&m.workload.jobs[j], &m.state.jobs[j]);
            let s = &mut self.seen[j];
            if js.phase == JobPhase::NotSubmitted || s.ended.is_some() {
                continue;
            }
            let pod = spec.id.clone();
            if !s.created {
                s.created = true;
                let gpus = spec.pods[0].gpu.total_milli() / 1000;
                let accelerator = spec.pods[0]
                    .constraints
                    .as_ref()
                    .and_then(|c| c.node_selector.get(ACCELERATOR_LABEL).cloned())
                    .unwrap_or_default();
                self.log.push((
                    spec.submit,
                    PlatformEvent::PodCreated {
                        pod: pod.clone(),
                        gpus: gpus as u32,
                        accelerator,
                    },
                ));
            }
            match js.phase {
                JobPhase::Running if s.bound.is_none() => {
                    let node = js.pods[0]
                        .placement
                        .as_ref()
                        .map(|p| m.spec.nodes[p.node as usize].name.clone())
                        .unwrap_or_default();
                    s.bound = Some((now, node.clone()));
                    self.log.push((now, PlatformEvent::PodBound { pod, node }));
                }
                JobPhase::Waiting => {
                    // Evicted (a `preempt` service's replica took its GPUs): Pending again.
                    s.bound = None;
                    if !s.unschedulable {
                        s.unschedulable = true;
                        self.log
                            .push((now, PlatformEvent::PodUnschedulable { pod: pod.clone() }));
                    }
                }
                JobPhase::Completed { end } => {
                    s.ended = Some(end);
                    let e = if js.remaining > SimDuration::ZERO {
                        PlatformEvent::PodDeleted { pod }
                    } else {
                        PlatformEvent::PodCompleted { pod }
                    };
                    self.log.push((end, e));
                }
                _ => {}
            }
        }
    }
}

/// Run a platform configuration on the main model and read it back.
pub(super) fn run_on_main(
    cfg: &PlatformConfig,
    seed: u64,
    horizon: SimTime,
) -> Result<PlatformRun, PlatformError> {
    let (spec, workload, config) = translate(cfg, seed, horizon);
    let batch = workload.jobs.len();
    let ids: Vec<String> = workload.jobs.iter().map(|j| j.id.clone()).collect();
    let mut seen = BatchLog {
        seen: vec![Seen::default(); batch],
        ..BatchLog::default()
    };
    let result = crate::sim::run_observed(
        spec.clone(),
        workload.clone(),
        &config,
        &Registry::builtin(),
        None,
        &mut |m, now| seen.observe(m, now, batch),
    )
    .map_err(|e| {
        let (field, msg) = match e {
            RunError::Model(crate::sim::ModelError::Config { field, msg }) => (field, msg),
            other => ("platform".to_string(), other.to_string()),
        };
        PlatformError::Invalid { field, msg }
    })?;
    let Some(serving) = result.serving.as_deref() else {
        return Err(PlatformError::Invalid {
            field: "platform".into(),
            msg: "the main model returned no serving record".into(),
        });
    };
    let mut run: PlatformRun = serving.clone();
    // Batch pods: their summaries from the job records and what the observer saw.
    for (j, rec) in result.jobs.iter().take(batch).enumerate() {
        let s = &seen.seen[j];
        let node = s.bound.as_ref().map(|(_, n)| n.clone());
        let node_accelerator = node.as_ref().and_then(|n| {
            spec.nodes
                .iter()
                .find(|x| &x.name == n)
                .and_then(|x| x.gpu_model.clone())
        });
        let b = cfg.batch_pods.iter().find(|b| b.name == ids[j]);
        run.pods.push(PodSummary {
            name: rec.id.clone(),
            owner: None,
            accelerator: b.map(|b| b.accelerator.clone()).unwrap_or_default(),
            gpus: b.map_or(0, |b| b.gpus),
            node,
            node_accelerator,
            created: rec.submit,
            bound_at: rec.start,
            ended_at: s.ended,
            pending: matches!(
                rec.outcome,
                Outcome::Pending | Outcome::PartiallyPlaced | Outcome::Stuck
            ),
        });
    }
    // Pods in creation order (replicas before batch pods created at the same instant).
    run.pods.sort_by_key(|p| p.created);
    let mut events: Vec<(u8, SimTime, PlatformEvent)> = Vec::new();
    let mut nodes: BTreeMap<String, Vec<(SimTime, u32)>> = BTreeMap::new();
    for p in &cfg.pools {
        nodes.insert(p.name.clone(), vec![(SimTime::ZERO, p.initial_nodes())]);
    }
    if let Some(ca) = &result.autoscaler {
        let mut size: BTreeMap<&str, u32> = cfg
            .pools
            .iter()
            .map(|p| (p.name.as_str(), p.initial_nodes()))
            .collect();
        for a in &ca.actions {
            let pool = a.pool.clone();
            let node = a.node.clone();
            let (rank, e) = match a.action.as_str() {
                "scale_up" => {
                    let from = size.get(a.pool.as_str()).copied().unwrap_or(0);
                    size.insert(&a.pool, from + a.count);
                    let pending_pods = a
                        .detail
                        .strip_prefix("for ")
                        .and_then(|d| d.split(' ').next())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let e = PlatformEvent::ScaleUp {
                        pool,
                        from,
                        to: from + a.count,
                        pending_pods,
                    };
                    (3, e)
                }
                "no_scale_up" => {
                    let d = a.detail.strip_prefix("pod ").unwrap_or(&a.detail);
                    let (pod, reason) = d.split_once(": ").unwrap_or((d, ""));
                    let pod = pod.strip_suffix("/0").unwrap_or(pod).to_string();
                    let e = PlatformEvent::NoScaleUp {
                        pod,
                        reason: reason.to_string(),
                    };
                    (3, e)
                }
                "node_ready" => (0, PlatformEvent::NodeReady { node, pool }),
                "provision_timeout" => {
                    if let Some(s) = size.get_mut(a.pool.as_str()) {
                        *s = s.saturating_sub(1);
                    }
                    (0, PlatformEvent::NodeProvisionTimedOut { node, pool })
                }
                "scale_down" => {
                    if let Some(s) = size.get_mut(a.pool.as_str()) {
                        *s = s.saturating_sub(1);
                    }
                    let unneeded_for = a
                        .detail
                        .strip_prefix("unneeded for ")
                        .and_then(|d| d.parse::<SimDuration>().ok())
                        .unwrap_or(SimDuration::ZERO);
                    let e = PlatformEvent::NodeRemoved {
                        node,
                        pool,
                        unneeded_for,
                    };
                    (3, e)
                }
                _ => continue,
            };
            events.push((rank, a.time, e));
        }
        for c in &ca.nodes {
            let s = nodes.entry(c.pool.clone()).or_default();
            match s.last_mut() {
                Some(last) if last.1 == c.ready => {}
                Some(last) if last.0 == c.time => last.1 = c.ready,
                _ => s.push((c.time, c.ready)),
            }
        }
    }
    events.extend(run.events.drain(..).map(|(t, e)| (1, t, e)));
    events.extend(seen.log.into_iter().map(|(t, e)| (2, t, e)));
    // Time order; within an instant: nodes becoming Ready (events), the controllers'
    // log, the batch pods, then the autoscaler's scan (it runs last in the instant).
    events.sort_by_key(|(rank, t, _)| (*t, *rank));
    run.events = events.into_iter().map(|(_, t, e)| (t, e)).collect();
    run.nodes = nodes;
    run.end = result.end_time;
    run.events_handled = result.events;
    Ok(run)
}
