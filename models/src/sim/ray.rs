//! KubeRay `RayCluster`s and `RayJob`s with the Ray autoscaler, as a controller on the main
//! model (issue 19 item 4; documented in docs/ray.md). The decisions are
//! `crate::controllers::ray_autoscaler`'s; this module is the cluster's Ray view (nodes,
//! tasks) and the events that carry the decisions out.
//!
//! * **The head is a job of the workload** (the scenario's manifest object): its pod goes
//!   through the policy like any pod. The Ray cluster is up once it runs; a `RayJob`'s
//!   tasks are submitted then, and the job completes when its last task has (KubeRay then
//!   deletes the cluster: its workers go).
//! * **Workers are slots**, 1-pod jobs appended to the workload (`maxReplicas` per group,
//!   `<cluster>-<group>-worker-<k>`), never submitted by the trace: creating a worker
//!   submits a free slot, deleting one withdraws it (as the serving controller's replicas).
//!   KubeRay creates each group's `replicas` with the cluster. A worker joins the Ray
//!   cluster (its resources become schedulable) when its pod runs.
//! * **Tasks** come from the object's `orrery.dev/ray-tasks` annotation (what the entry
//!   point would submit). Ray places each pending task, in submission order, on the first
//!   node with its resources free: the head, then the workers in creation order (a
//!   simplification of Ray's hybrid policy, docs/ray.md). A task whose worker is lost is
//!   retried.
//! * **The autoscaler** runs in the head pod: an update at the cluster's start and every
//!   `AUTOSCALER_UPDATE_INTERVAL_S` (5 s) after, scale-down then scale-up
//!   ([`ray_autoscaler::update`]).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, SimDuration, SimTime};

use super::{ClusterSim, Event, JobPhase, ModelError};
use crate::controllers::ray_autoscaler::{self, NodeType, RayResources, Worker};
use crate::resources::PodRequest;
use crate::workload::{JobSpec, Workload};

/// Ray's `AUTOSCALER_UPDATE_INTERVAL_S` default: the autoscaler's update period.
pub const UPDATE_INTERVAL: SimDuration = SimDuration(5_000_000_000);

/// A slot's run time: it runs until it is deleted (146 years, never reached).
const FOREVER: SimDuration = SimDuration(u64::MAX / 4);

/// The scenario's autoscaled Ray clusters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RayConfig {
    pub clusters: Vec<RayClusterConfig>,
}

/// Whether the object is a long-lived `RayCluster` or a `RayJob` (whose cluster goes when
/// its tasks are done).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RayKind {
    RayCluster,
    RayJob,
}

/// One autoscaled Ray cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RayClusterConfig {
    /// The object's name.
    pub name: String,
    pub kind: RayKind,
    /// The workload job that is the head pod (its id).
    pub head_job: String,
    /// The head's Ray resources.
    pub head: RayResources,
    pub groups: Vec<RayWorkerGroup>,
    /// From `autoscalerOptions.upscalingMode`.
    pub upscaling_speed: f64,
    /// From `autoscalerOptions.idleTimeoutSeconds`.
    pub idle_timeout: SimDuration,
    pub tasks: Vec<RayTaskGroup>,
}

/// A worker group: a Ray node type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RayWorkerGroup {
    pub name: String,
    pub min: u32,
    pub max: u32,
    /// Workers KubeRay creates with the cluster.
    pub replicas: u32,
    /// The worker pod's request (the scheduler's view).
    pub pod: PodRequest,
    /// The worker's Ray resources.
    pub resources: RayResources,
}

/// `count` tasks of the same resources and run time, submitted `after` the cluster is up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RayTaskGroup {
    pub count: u32,
    pub resources: RayResources,
    pub duration: SimDuration,
    pub after: SimDuration,
}

impl RayConfig {
    /// Worker slots of cluster `c` (Σ of its groups' `max`).
    fn slots(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.clusters.iter().enumerate().flat_map(|(c, rc)| {
            rc.groups
                .iter()
                .enumerate()
                .flat_map(move |(g, grp)| (0..grp.max).map(move |k| (c as u32, g as u32, k)))
        })
    }
}

/// Check the Ray clusters against the run and append the worker slots to `workload`;
/// returns the index of the first slot and each cluster's head job.
pub(super) fn prepare(
    cfg: &RayConfig,
    run: &super::RunConfig,
    workload: &mut Workload,
) -> Result<(u32, Vec<u32>), ModelError> {
    use crate::scheduler::PolicyKind;
    let err = |msg: String| ModelError::Config {
        field: "ray".into(),
        msg,
    };
    if run.horizon.is_none() {
        return Err(err(
            "an autoscaled Ray cluster needs a horizon (its autoscaler runs for ever)".into(),
        ));
    }
    if matches!(
        run.scheduler.policy,
        PolicyKind::Kueue | PolicyKind::Volcano
    ) {
        return Err(err(format!(
            "the Ray autoscaler is modelled with kube-scheduler policies and the gang policies, not with {} (its admission would have to admit each worker pod)",
            run.scheduler.policy.name()
        )));
    }
    for (on, what) in [
        (run.dra.is_some(), "dra"),
        (run.network.is_some(), "the network model"),
        (run.training.is_some(), "training jobs"),
    ] {
        if on {
            return Err(err(format!(
                "autoscaled Ray clusters together with {what} are not modelled"
            )));
        }
    }
    let mut heads = Vec::new();
    for rc in &cfg.clusters {
        let head = workload
            .jobs
            .iter()
            .position(|j| j.id == rc.head_job)
            .ok_or_else(|| err(format!("{}: no head job {:?}", rc.name, rc.head_job)))?;
        heads.push(head as u32);
        for (t, tg) in rc.tasks.iter().enumerate() {
            let fits = rc.head.fits(&tg.resources)
                || rc
                    .groups
                    .iter()
                    .any(|g| g.max > 0 && g.resources.fits(&tg.resources));
            if !fits {
                return Err(err(format!(
                    "{}: task group {t} needs {:?}, more than the head or any worker group (with maxReplicas > 0) has: Ray would leave it pending for ever",
                    rc.name, tg.resources
                )));
            }
        }
    }
    let first = workload.jobs.len() as u32;
    for (c, g, k) in cfg.slots() {
        let rc = &cfg.clusters[c as usize];
        let grp = &rc.groups[g as usize];
        let head = &workload.jobs[heads[c as usize] as usize];
        let (priority, queue) = (head.priority, head.queue.clone());
        workload.jobs.push(JobSpec {
            id: format!("{}-{}-worker-{k}", rc.name, grp.name),
            submit: SimTime::ZERO,
            duration: FOREVER,
            pods: vec![grp.pod.clone()],
            priority,
            queue,
        });
    }
    Ok((first, heads))
}

/// Engine events of the Ray controller (`Event::Ray`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RayEvent {
    /// The cluster's object is created: KubeRay creates its head and initial workers.
    Create(u32),
    /// An autoscaler update of cluster `.0`.
    Update(u32),
    /// Task group `group` of `cluster` is submitted.
    Submit { cluster: u32, group: u32 },
    /// A task's run ends (`attempt` tells a retried task's stale end apart).
    Done {
        cluster: u32,
        task: u32,
        attempt: u32,
    },
}

/// What happened, for `ray.csv`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RayRecord {
    pub time: SimTime,
    pub cluster: String,
    pub event: &'static str,
    /// The worker (its pod's name) or the head.
    pub node: String,
    /// The task's index in the cluster's task list, for task events.
    pub task: Option<u32>,
}

/// The run's Ray record.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RayReport {
    pub records: Vec<RayRecord>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum SlotState {
    Free,
    /// Created, its pod not yet running.
    Pending,
    /// Joined the Ray cluster.
    Ready {
        free: RayResources,
        tasks: u32,
        last_used: SimTime,
    },
}

#[derive(Clone, Debug)]
struct Slot {
    cluster: u32,
    group: u32,
    state: SlotState,
}

/// Where a task runs: the head or a worker slot (its job).
const HEAD: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Task {
    group: u32,
    host: Option<u32>,
    attempt: u32,
    done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Waiting,
    Created,
    Up,
    Done,
}

#[derive(Clone, Debug)]
struct Cluster {
    head_job: u32,
    phase: Phase,
    head_free: RayResources,
    /// Live worker slots (their jobs), in creation order.
    live: Vec<u32>,
    pending: VecDeque<u32>,
    tasks: Vec<Task>,
    done: u32,
    /// The job (the tasks) was submitted.
    submitted: bool,
}

/// The controller's run-time state and record.
#[derive(Clone, Debug)]
pub struct RayRuntime {
    cfg: RayConfig,
    first_slot: u32,
    slots: Vec<Slot>,
    clusters: Vec<Cluster>,
    report: RayReport,
}

impl RayRuntime {
    pub(super) fn new(cfg: &RayConfig, first_slot: u32, heads: &[u32]) -> RayRuntime {
        RayRuntime {
            first_slot,
            slots: cfg
                .slots()
                .map(|(cluster, group, _)| Slot {
                    cluster,
                    group,
                    state: SlotState::Free,
                })
                .collect(),
            clusters: cfg
                .clusters
                .iter()
                .zip(heads)
                .map(|(rc, &head_job)| Cluster {
                    head_job,
                    phase: Phase::Waiting,
                    head_free: rc.head,
                    live: Vec::new(),
                    pending: VecDeque::new(),
                    tasks: rc
                        .tasks
                        .iter()
                        .enumerate()
                        .flat_map(|(g, tg)| {
                            (0..tg.count).map(move |_| Task {
                                group: g as u32,
                                host: None,
                                attempt: 0,
                                done: false,
                            })
                        })
                        .collect(),
                    done: 0,
                    submitted: false,
                })
                .collect(),
            cfg: cfg.clone(),
            report: RayReport::default(),
        }
    }

    /// The first worker slot's job index.
    pub fn first_slot(&self) -> u32 {
        self.first_slot
    }

    /// Is `job` a worker slot?
    pub fn is_slot(&self, job: u32) -> bool {
        job >= self.first_slot && ((job - self.first_slot) as usize) < self.slots.len()
    }

    fn slot(&mut self, job: u32) -> &mut Slot {
        &mut self.slots[(job - self.first_slot) as usize]
    }

    /// The events that start the controller: each cluster's creation, when its head job
    /// is submitted.
    pub(super) fn initial_events(&self, workload: &Workload) -> Vec<(SimTime, Event)> {
        self.clusters
            .iter()
            .enumerate()
            .map(|(c, rc)| {
                (
                    workload.jobs[rc.head_job as usize].submit,
                    Event::Ray(RayEvent::Create(c as u32)),
                )
            })
            .collect()
    }

    /// The fingerprint of what decides the controller's future (for `orrery verify`): the
    /// workers' states (a ready worker's idle age, as the autoscaler reads it), the
    /// clusters' phases, queues and tasks.
    pub(super) fn hash_state(&self, now: SimTime, h: &mut dyn std::hash::Hasher) {
        for s in &self.slots {
            match s.state {
                SlotState::Free => h.write_u8(0),
                SlotState::Pending => h.write_u8(1),
                SlotState::Ready {
                    free,
                    tasks,
                    last_used,
                } => {
                    h.write_u8(2);
                    h.write_u64(free.cpu_milli);
                    h.write_u32(free.gpus);
                    h.write_u64(free.memory_mib);
                    h.write_u32(tasks);
                    h.write_u64(now.since(last_used).as_nanos());
                }
            }
        }
        for c in &self.clusters {
            h.write_u8(c.phase as u8);
            h.write_u8(u8::from(c.submitted));
            h.write_u64(c.head_free.cpu_milli);
            h.write_u32(c.head_free.gpus);
            h.write_usize(c.live.len());
            for &j in &c.live {
                h.write_u32(j);
            }
            h.write_usize(c.pending.len());
            for &t in &c.pending {
                h.write_u32(t);
            }
            for t in &c.tasks {
                h.write_u32(t.host.unwrap_or(u32::MAX - 1));
                h.write_u32(t.attempt);
                h.write_u8(u8::from(t.done));
            }
        }
    }

    pub(super) fn finish(&self) -> RayReport {
        self.report.clone()
    }

    fn record(
        &mut self,
        time: SimTime,
        c: u32,
        event: &'static str,
        node: String,
        task: Option<u32>,
    ) {
        self.report.records.push(RayRecord {
            time,
            cluster: self.cfg.clusters[c as usize].name.clone(),
            event,
            node,
            task,
        });
    }
}

impl ClusterSim {
    fn with_ray(&mut self, f: impl FnOnce(&mut ClusterSim, &mut RayRuntime)) {
        if let Some(mut rt) = self.ray.take() {
            f(self, &mut rt);
            self.ray = Some(rt);
        }
    }

    pub(super) fn ray_event(&mut self, e: RayEvent, ctx: &mut Ctx<'_, Event>) {
        self.with_ray(|m, rt| m.ray_handle(rt, e, ctx));
    }

    pub(super) fn ray_instant_end(&mut self, ctx: &mut Ctx<'_, Event>) {
        self.with_ray(|m, rt| {
            for c in 0..rt.clusters.len() as u32 {
                m.ray_note_pods(rt, c, ctx);
            }
        });
    }

    fn ray_handle(&mut self, rt: &mut RayRuntime, e: RayEvent, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        match e {
            RayEvent::Create(c) => {
                let rc = &mut rt.clusters[c as usize];
                if rc.phase != Phase::Waiting {
                    return;
                }
                rc.phase = Phase::Created;
                let head = self.workload.jobs[rc.head_job as usize].id.clone();
                rt.record(now, c, "cluster-created", head, None);
                let groups = rt.cfg.clusters[c as usize].groups.clone();
                for (g, grp) in groups.iter().enumerate() {
                    for _ in 0..grp.replicas.clamp(grp.min, grp.max) {
                        self.ray_create_worker(rt, c, g as u32, now);
                    }
                }
            }
            RayEvent::Update(c) => {
                if rt.clusters[c as usize].phase != Phase::Up {
                    return;
                }
                self.ray_update(rt, c, ctx);
                ctx.schedule_in(UPDATE_INTERVAL, Event::Ray(RayEvent::Update(c)));
            }
            RayEvent::Submit { cluster, group } => {
                let rc = &mut rt.clusters[cluster as usize];
                if rc.phase != Phase::Up {
                    return;
                }
                let ids: Vec<u32> = (0..rc.tasks.len() as u32)
                    .filter(|&t| rc.tasks[t as usize].group == group)
                    .collect();
                rc.pending.extend(ids.iter().copied());
                for &t in &ids {
                    rt.record(now, cluster, "task-submitted", String::new(), Some(t));
                }
                self.ray_dispatch(rt, cluster, ctx);
            }
            RayEvent::Done {
                cluster,
                task,
                attempt,
            } => {
                let rc = &mut rt.clusters[cluster as usize];
                let tk = &mut rc.tasks[task as usize];
                if tk.attempt != attempt || tk.done {
                    return;
                }
                let Some(host) = tk.host.take() else { return };
                tk.done = true;
                rc.done += 1;
                let res = rt.cfg.clusters[cluster as usize].tasks[tk.group as usize].resources;
                self.ray_free(rt, cluster, host, &res, now);
                let node = self.ray_node_name(rt, cluster, host);
                rt.record(now, cluster, "task-finished", node, Some(task));
                let rc = &rt.clusters[cluster as usize];
                if rc.done as usize == rc.tasks.len()
                    && rt.cfg.clusters[cluster as usize].kind == RayKind::RayJob
                {
                    self.ray_job_done(rt, cluster, now, ctx);
                } else {
                    self.ray_dispatch(rt, cluster, ctx);
                }
            }
        }
    }

    /// The head's job name, or the worker's pod name.
    fn ray_node_name(&self, rt: &RayRuntime, c: u32, host: u32) -> String {
        let job = if host == HEAD {
            rt.clusters[c as usize].head_job
        } else {
            host
        };
        self.workload.jobs[job as usize].id.clone()
    }

    /// Give a task's resources back on `host`.
    fn ray_free(
        &mut self,
        rt: &mut RayRuntime,
        c: u32,
        host: u32,
        res: &RayResources,
        now: SimTime,
    ) {
        if host == HEAD {
            rt.clusters[c as usize].head_free.give(res);
        } else if let SlotState::Ready {
            free,
            tasks,
            last_used,
        } = &mut rt.slot(host).state
        {
            free.give(res);
            *tasks = tasks.saturating_sub(1);
            *last_used = now;
        }
    }

    /// A RayJob's last task is done: the job completes and KubeRay deletes its cluster.
    fn ray_job_done(
        &mut self,
        rt: &mut RayRuntime,
        c: u32,
        now: SimTime,
        ctx: &mut Ctx<'_, Event>,
    ) {
        let rc = &mut rt.clusters[c as usize];
        rc.phase = Phase::Done;
        let head = rc.head_job;
        let live = std::mem::take(&mut rc.live);
        for job in live {
            self.ray_delete_worker(rt, job, now, ctx);
        }
        let name = self.workload.jobs[head as usize].id.clone();
        rt.record(now, c, "job-finished", name, None);
        self.reschedule_completion(head, now, SimDuration::ZERO, ctx);
    }

    /// Submit a free worker slot of group `g`.
    fn ray_create_worker(&mut self, rt: &mut RayRuntime, c: u32, g: u32, now: SimTime) -> bool {
        let Some(k) = rt
            .slots
            .iter()
            .position(|s| s.cluster == c && s.group == g && s.state == SlotState::Free)
        else {
            return false;
        };
        let job = rt.first_slot + k as u32;
        rt.slots[k].state = SlotState::Pending;
        rt.clusters[c as usize].live.push(job);
        self.submit_slot(job, FOREVER);
        let name = self.workload.jobs[job as usize].id.clone();
        rt.record(now, c, "worker-created", name, None);
        true
    }

    /// Delete a worker: its pod goes, its running tasks are retried.
    fn ray_delete_worker(
        &mut self,
        rt: &mut RayRuntime,
        job: u32,
        now: SimTime,
        ctx: &mut Ctx<'_, Event>,
    ) {
        let c = rt.slot(job).cluster;
        self.ray_lose_tasks(rt, c, job);
        rt.slot(job).state = SlotState::Free;
        rt.clusters[c as usize].live.retain(|&j| j != job);
        self.withdraw_slot(job, FOREVER, now, ctx);
        let name = self.workload.jobs[job as usize].id.clone();
        rt.record(now, c, "worker-deleted", name, None);
    }

    /// Tasks running on `host` go back to the front of the queue (Ray retries them).
    fn ray_lose_tasks(&mut self, rt: &mut RayRuntime, c: u32, host: u32) {
        let rc = &mut rt.clusters[c as usize];
        let lost: Vec<u32> = (0..rc.tasks.len() as u32)
            .filter(|&t| rc.tasks[t as usize].host == Some(host))
            .collect();
        for &t in lost.iter().rev() {
            let tk = &mut rc.tasks[t as usize];
            tk.host = None;
            tk.attempt += 1;
            rc.pending.push_front(t);
        }
    }

    /// Worker and head pods that started or stopped running since the last look.
    fn ray_note_pods(&mut self, rt: &mut RayRuntime, c: u32, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let running =
            |m: &ClusterSim, job: u32| m.state.jobs[job as usize].phase == JobPhase::Running;
        let rc = &rt.clusters[c as usize];
        let mut changed = false;
        if rc.phase == Phase::Created && running(self, rc.head_job) {
            rt.clusters[c as usize].phase = Phase::Up;
            let head = self.workload.jobs[rt.clusters[c as usize].head_job as usize]
                .id
                .clone();
            rt.record(now, c, "cluster-up", head, None);
            ctx.schedule_in(SimDuration::ZERO, Event::Ray(RayEvent::Update(c)));
        }
        if rt.clusters[c as usize].phase == Phase::Done {
            return;
        }
        for i in 0..rt.clusters[c as usize].live.len() {
            let job = rt.clusters[c as usize].live[i];
            let run = running(self, job);
            let group = rt.slot(job).group as usize;
            match rt.slot(job).state {
                SlotState::Pending if run => {
                    rt.slot(job).state = SlotState::Ready {
                        free: rt.cfg.clusters[c as usize].groups[group].resources,
                        tasks: 0,
                        last_used: now,
                    };
                    let name = self.workload.jobs[job as usize].id.clone();
                    rt.record(now, c, "worker-ready", name, None);
                    changed = true;
                }
                SlotState::Ready { .. } if !run => {
                    // Its node failed or was drained: the pod waits again.
                    self.ray_lose_tasks(rt, c, job);
                    rt.slot(job).state = SlotState::Pending;
                    changed = true;
                }
                _ => {}
            }
        }
        // KubeRay submits the job once the cluster is ready: the head and every worker
        // it created run.
        let rc = &rt.clusters[c as usize];
        let ready = rc.live.iter().all(|&j| {
            matches!(
                rt.slots[(j - rt.first_slot) as usize].state,
                SlotState::Ready { .. }
            )
        });
        if rc.phase == Phase::Up && !rc.submitted && ready {
            rt.clusters[c as usize].submitted = true;
            let head = self.workload.jobs[rt.clusters[c as usize].head_job as usize]
                .id
                .clone();
            rt.record(now, c, "job-submitted", head, None);
            for (g, tg) in rt.cfg.clusters[c as usize].tasks.iter().enumerate() {
                ctx.schedule_in(
                    tg.after,
                    Event::Ray(RayEvent::Submit {
                        cluster: c,
                        group: g as u32,
                    }),
                );
            }
        }
        if changed {
            self.ray_dispatch(rt, c, ctx);
        }
    }

    /// Start pending tasks, in order, each on the first node with its resources free.
    fn ray_dispatch(&mut self, rt: &mut RayRuntime, c: u32, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        if rt.clusters[c as usize].phase != Phase::Up {
            return;
        }
        let mut left = VecDeque::new();
        while let Some(t) = rt.clusters[c as usize].pending.pop_front() {
            let tg = &rt.cfg.clusters[c as usize].tasks
                [rt.clusters[c as usize].tasks[t as usize].group as usize];
            let (res, duration) = (tg.resources, tg.duration);
            let host = if rt.clusters[c as usize].head_free.fits(&res) {
                rt.clusters[c as usize].head_free.take(&res);
                Some(HEAD)
            } else {
                let live = rt.clusters[c as usize].live.clone();
                live.into_iter().find(|&job| {
                    if let SlotState::Ready { free, tasks, .. } = &mut rt.slot(job).state
                        && free.fits(&res)
                    {
                        free.take(&res);
                        *tasks += 1;
                        true
                    } else {
                        false
                    }
                })
            };
            let Some(host) = host else {
                left.push_back(t);
                continue;
            };
            let tk = &mut rt.clusters[c as usize].tasks[t as usize];
            tk.host = Some(host);
            let attempt = tk.attempt;
            ctx.schedule_in(
                duration,
                Event::Ray(RayEvent::Done {
                    cluster: c,
                    task: t,
                    attempt,
                }),
            );
            let node = self.ray_node_name(rt, c, host);
            rt.record(now, c, "task-started", node, Some(t));
        }
        rt.clusters[c as usize].pending = left;
    }

    /// One autoscaler update of cluster `c`.
    fn ray_update(&mut self, rt: &mut RayRuntime, c: u32, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let rcfg = &rt.cfg.clusters[c as usize];
        let types: Vec<NodeType> = rcfg
            .groups
            .iter()
            .map(|g| NodeType {
                name: g.name.clone(),
                resources: g.resources,
                min: g.min,
                max: g.max,
            })
            .collect();
        let rc = &rt.clusters[c as usize];
        let live = rc.live.clone();
        let workers: Vec<Worker> = live
            .iter()
            .map(|&job| {
                let s = &rt.slots[(job - rt.first_slot) as usize];
                match s.state {
                    SlotState::Ready {
                        free,
                        tasks,
                        last_used,
                    } => Worker {
                        node_type: s.group as usize,
                        running: true,
                        free,
                        last_used: Some(if tasks > 0 { now } else { last_used }),
                    },
                    _ => Worker {
                        node_type: s.group as usize,
                        running: false,
                        free: rcfg.groups[s.group as usize].resources,
                        last_used: None,
                    },
                }
            })
            .collect();
        let demands: Vec<RayResources> = rc
            .pending
            .iter()
            .map(|&t| rcfg.tasks[rc.tasks[t as usize].group as usize].resources)
            .collect();
        let d = ray_autoscaler::update(
            &types,
            rc.head_free,
            &workers,
            &demands,
            now,
            rcfg.idle_timeout,
            rcfg.upscaling_speed,
        );
        for i in d.terminate {
            self.ray_delete_worker(rt, live[i], now, ctx);
        }
        for (g, &n) in d.launch.iter().enumerate() {
            for _ in 0..n {
                self.ray_create_worker(rt, c, g as u32, now);
            }
        }
    }
}
