//! The cluster autoscaler as a controller on the main model.
//!
//! Node pools marked `autoscale` are node groups: every node up to the pool's `max` is in
//! the `ClusterSpec` from the start, those beyond the current size `Absent`
//! (`NodeCondition::Absent`, which Filter rejects). The decisions are the shared
//! [`crate::controllers::cluster_autoscaler`] (platform configurations run here too);
//! this module is the main model's view of its cluster and the events that carry the
//! decisions out:
//!
//! * a scan runs at the end of an instant k × `scan_interval` (k ≥ 1), after that
//!   instant's scheduling pass (it sees what the scheduler could not place). Scans are
//!   periodic while the autoscaler has something in progress (a node being provisioned,
//!   a node counting down to its removal, a pool backed off); otherwise they pause, and
//!   resume after anything else happens in the model, at the first scan instant at or
//!   after it. A paused scan would see the same state as the last one and decide
//!   nothing, so the decisions are those of scans at every multiple, and the run drains;
//! * a scale-up takes the pool's lowest-index `Absent` nodes; each is `Ready`
//!   `provisioning_delay` later (or given up at `max_node_provision_time`, backing the
//!   pool off), and the scheduler then retries every waiting pod or gang;
//! * a removal makes the (empty) node `Absent` again.
//!
//! Unschedulable pods, as cluster-autoscaler sees them: the pods holding nothing of jobs
//! that are waiting, not deactivated, and have been tried (a scheduling attempt failed
//! for them: submitted before this instant, or at it under a policy that schedules at
//! the end of every instant, i.e. all but Volcano sessions and Tiresias rounds on an
//! interval); under Kueue only pods of admitted workloads
//! (a workload not admitted is suspended: its pods do not exist). Each pod is simulated
//! on its own, as upstream does: a gang gets nodes for the pods it has pending, not an
//! all-or-nothing provisioning (that is ProvisioningRequest's job, not modelled).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, SimDuration, SimTime};

use super::{ClusterSim, Event, JobPhase, ModelError};
use crate::cluster::ClusterSpec;
use crate::controllers::cluster_autoscaler::{CaAction, CaState, CaView, PoolLimits, ReadyNode};
use crate::platform::ClusterAutoscalerConfig;
use crate::resources::PodRequest;
use crate::state::{ClusterState, NodeCondition, NodeState};

/// One autoscaled node pool (a node group) of the main model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoscaledPool {
    pub name: String,
    /// Index in the `ClusterSpec` of the pool's first node; its nodes are
    /// `first .. first + max`.
    pub first: u32,
    pub min: u32,
    pub max: u32,
    /// Nodes present at t=0 (the pool's `count`).
    pub initial: u32,
    /// From the scale-up decision to the node being Ready.
    pub provisioning_delay: SimDuration,
}

/// The cluster autoscaler of a run: its settings and node groups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoscalerConfig {
    pub settings: ClusterAutoscalerConfig,
    /// Node groups, in expander priority order (scenario order).
    pub pools: Vec<AutoscaledPool>,
}

/// Engine events of the autoscaler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaEvent {
    Scan,
    NodeReady(u32),
    ProvisionTimeout(u32),
}

/// The autoscaler's part of `SimState`. Plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AutoscalerState {
    pub ca: CaState,
    /// Nodes being provisioned → the scale-up decision time.
    pub provisioning: BTreeMap<u32, SimTime>,
    /// A scan event is pending.
    pub scan_scheduled: bool,
    /// The scan event fired at this instant: scan at its end.
    pub scan_due: bool,
    /// Something other than the autoscaler happened since the last scan was armed.
    pub touched: bool,
}

/// One autoscaler action, for `autoscaler_actions.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaRecord {
    pub time: SimTime,
    /// `scale_up`, `node_ready`, `scale_down`, `provision_timeout`, `no_scale_up`.
    pub action: String,
    pub pool: String,
    pub count: u32,
    /// The node concerned (empty for a scale-up, which names no node yet).
    pub node: String,
    pub detail: String,
}

/// Nodes of one pool from `time` on, for `autoscaler_nodes.csv`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCount {
    pub time: SimTime,
    pub pool: String,
    pub ready: u32,
    pub provisioning: u32,
}

/// What the autoscaler reports at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoscalerResult {
    pub actions: Vec<CaRecord>,
    pub nodes: Vec<NodeCount>,
    /// GPU × ns of nodes that exist (being provisioned, Ready or otherwise present), from
    /// t = 0 to the end of the run, over the whole cluster.
    pub provisioned_gpu_ns: u128,
    /// GPU × ns of Ready nodes, likewise.
    pub ready_gpu_ns: u128,
    pub scale_ups: u32,
    pub nodes_added: u32,
    pub nodes_removed: u32,
    /// Most nodes Ready at once in the autoscaled pools.
    pub peak_ready_nodes: u32,
}

/// Run-time part that only feeds the reports (not decision state).
#[derive(Clone, Debug)]
pub struct AutoscalerRuntime {
    cfg: AutoscalerConfig,
    /// Node index → autoscaled pool.
    pool_of: BTreeMap<u32, usize>,
    limits: Vec<PoolLimits>,
    result: AutoscalerResult,
    last: SimTime,
    provisioned_gpus: u64,
    ready_gpus: u64,
}

impl AutoscalerRuntime {
    /// Check the node groups against the cluster and make the nodes beyond each pool's
    /// initial size `Absent`.
    pub(super) fn new(
        cfg: &AutoscalerConfig,
        spec: &ClusterSpec,
        cluster: &mut ClusterState,
    ) -> Result<(AutoscalerRuntime, AutoscalerState), ModelError> {
        let bad = |field: String, msg: String| ModelError::Config { field, msg };
        let s = &cfg.settings;
        if s.scan_interval.as_nanos() == 0 {
            return Err(bad("autoscaler.scan_interval".into(), "must be > 0".into()));
        }
        let t = s.scale_down_utilization_threshold;
        if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
            return Err(bad(
                "autoscaler.scale_down_utilization_threshold".into(),
                format!("must be in [0, 1], got {t}"),
            ));
        }
        let mut pool_of = BTreeMap::new();
        for (i, p) in cfg.pools.iter().enumerate() {
            let f = |k: &str| format!("autoscaler.pools[{i}].{k}");
            if p.max == 0 || p.min > p.max || p.initial < p.min || p.initial > p.max {
                return Err(bad(
                    f("max"),
                    format!(
                        "need min <= initial <= max and max >= 1, got min {}, initial {}, max {}",
                        p.min, p.initial, p.max
                    ),
                ));
            }
            let end = u64::from(p.first) + u64::from(p.max);
            if end > spec.nodes.len() as u64 {
                return Err(bad(
                    f("first"),
                    format!("nodes {}..{end} are not all in the cluster", p.first),
                ));
            }
            for n in p.first..p.first + p.max {
                if pool_of.insert(n, i).is_some() {
                    return Err(bad(f("first"), format!("node {n} is in two node groups")));
                }
                if n >= p.first + p.initial {
                    cluster.set_condition(n, NodeCondition::Absent);
                }
            }
        }
        let limits = cfg
            .pools
            .iter()
            .map(|p| PoolLimits {
                min: p.min,
                max: p.max,
            })
            .collect();
        let mut rt = AutoscalerRuntime {
            cfg: cfg.clone(),
            pool_of,
            limits,
            result: AutoscalerResult::default(),
            last: SimTime::ZERO,
            provisioned_gpus: 0,
            ready_gpus: 0,
        };
        let state = AutoscalerState::default();
        rt.recount(spec, cluster, &state, SimTime::ZERO);
        Ok((rt, state))
    }

    /// Bring the GPU-time integrals to `now`.
    fn advance(&mut self, now: SimTime) {
        let dt = u128::from(now.since(self.last).as_nanos());
        self.result.provisioned_gpu_ns += u128::from(self.provisioned_gpus) * dt;
        self.result.ready_gpu_ns += u128::from(self.ready_gpus) * dt;
        self.last = now;
    }

    /// Recount the cluster's GPUs and the pools' nodes after a change at `now`.
    fn recount(
        &mut self,
        spec: &ClusterSpec,
        cluster: &ClusterState,
        st: &AutoscalerState,
        now: SimTime,
    ) {
        self.advance(now);
        let (mut prov, mut ready) = (0u64, 0u64);
        for (i, (n, s)) in spec.nodes.iter().zip(&cluster.nodes).enumerate() {
            let g = u64::from(n.gpus);
            if s.condition == NodeCondition::Ready {
                ready += g;
            }
            if s.condition != NodeCondition::Absent || st.provisioning.contains_key(&(i as u32)) {
                prov += g;
            }
        }
        self.provisioned_gpus = prov;
        self.ready_gpus = ready;
        let mut total_ready = 0;
        for p in &self.cfg.pools {
            let nodes = p.first..p.first + p.max;
            let r = nodes
                .clone()
                .filter(|&n| cluster.nodes[n as usize].condition == NodeCondition::Ready)
                .count() as u32;
            let pr = nodes.filter(|n| st.provisioning.contains_key(n)).count() as u32;
            total_ready += r;
            let series = &mut self.result.nodes;
            let last = series.iter().rev().find(|c| c.pool == p.name);
            if last.is_some_and(|c| c.ready == r && c.provisioning == pr) {
                continue;
            }
            match series.last_mut() {
                Some(c) if c.time == now && c.pool == p.name => {
                    c.ready = r;
                    c.provisioning = pr;
                }
                _ => series.push(NodeCount {
                    time: now,
                    pool: p.name.clone(),
                    ready: r,
                    provisioning: pr,
                }),
            }
        }
        self.result.peak_ready_nodes = self.result.peak_ready_nodes.max(total_ready);
    }

    fn log(&mut self, time: SimTime, action: &str, pool: usize, count: u32, node: &str, d: String) {
        self.result.actions.push(CaRecord {
            time,
            action: action.into(),
            pool: self.cfg.pools[pool].name.clone(),
            count,
            node: node.into(),
            detail: d,
        });
    }

    /// The report, with the integrals brought to `end`.
    pub(super) fn finish(&self, end: SimTime) -> AutoscalerResult {
        let mut rt = self.clone();
        rt.advance(end);
        rt.result
    }
}

/// The main model as the autoscaler sees it.
struct View<'a> {
    sim: &'a ClusterSim,
    rt: &'a AutoscalerRuntime,
    st: &'a AutoscalerState,
    now: SimTime,
}

impl View<'_> {
    fn spec(&self) -> &ClusterSpec {
        &self.sim.spec
    }
    fn provisioning(&self, node: u32) -> bool {
        self.st.provisioning.contains_key(&node)
    }
}

impl<'a> CaView for View<'a> {
    type Req = &'a PodRequest;
    /// (node index, its allocation state as it would be).
    type Free = (usize, NodeState);

    fn unschedulable(&self) -> Vec<(usize, Self::Req)> {
        let sim: &'a ClusterSim = self.sim;
        let policy = sim.policy();
        let mut out: Vec<(u64, usize, &'a PodRequest)> = Vec::new();
        let mut id = 0usize;
        for (job, (spec, js)) in sim.workload.jobs.iter().zip(&sim.state.jobs).enumerate() {
            let tried = js.phase == JobPhase::Waiting
                && !js.deactivated
                && policy.attempted(sim, job as u32, self.now);
            if tried {
                for (p, ps) in spec.pods.iter().zip(&js.pods) {
                    if ps.placement.is_none() {
                        out.push((p.gpu.total_milli(), id, p));
                    }
                    id += 1;
                }
            } else {
                id += spec.pods.len();
            }
        }
        // Largest first (GPU thousandths), then creation order.
        out.sort_by_key(|&(m, i, _)| (std::cmp::Reverse(m), i));
        out.into_iter().map(|(_, i, p)| (i, p)).collect()
    }

    fn free_slots(&self) -> Vec<Self::Free> {
        let spec = self.spec();
        self.sim
            .state
            .cluster
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                if s.condition == NodeCondition::Ready {
                    Some((i, s.clone()))
                } else if self.provisioning(i as u32) {
                    Some((i, NodeState::new(&spec.nodes[i])))
                } else {
                    None
                }
            })
            .collect()
    }

    fn template(&self, pool: usize) -> Self::Free {
        let n = self.rt.cfg.pools[pool].first as usize;
        (n, NodeState::new(&self.spec().nodes[n]))
    }

    fn try_take(&self, free: &mut Self::Free, req: &Self::Req) -> bool {
        let spec = &self.spec().nodes[free.0];
        if free.1.fits(spec, req).is_err() {
            return false;
        }
        match free.1.pick_gpus(req.gpu) {
            Some(gpus) => {
                free.1.take(req, &gpus);
                true
            }
            None => false,
        }
    }

    fn pools(&self) -> &[PoolLimits] {
        &self.rt.limits
    }

    fn pool_size(&self, pool: usize) -> u32 {
        let p = &self.rt.cfg.pools[pool];
        (p.first..p.first + p.max)
            .filter(|&n| {
                self.sim.state.cluster.nodes[n as usize].condition != NodeCondition::Absent
                    || self.provisioning(n)
            })
            .count() as u32
    }

    fn ready_nodes(&self) -> Vec<ReadyNode> {
        let spec = self.spec();
        self.rt
            .pool_of
            .iter()
            .filter_map(|(&n, &pool)| {
                let s = &self.sim.state.cluster.nodes[n as usize];
                if s.condition != NodeCondition::Ready {
                    return None;
                }
                let ns = &spec.nodes[n as usize];
                let utilization = if ns.gpus > 0 {
                    s.gpu_used_milli as f64 / (f64::from(ns.gpus) * 1000.0)
                } else {
                    let frac = |u: u64, c: u64| if c == 0 { 0.0 } else { u as f64 / c as f64 };
                    frac(s.cpu_used, ns.cpu_milli).max(frac(s.memory_used, ns.memory_mib))
                };
                Some(ReadyNode {
                    node: n as usize,
                    pool,
                    utilization,
                    empty: s.pods == 0,
                })
            })
            .collect()
    }

    fn no_scale_up_reason(&self, req: &Self::Req, planned: &BTreeMap<usize, u32>) -> String {
        let what = super::describe_request(req);
        let fitting: Vec<usize> = (0..self.rt.limits.len())
            .filter(|&i| {
                let mut t = self.template(i);
                self.try_take(&mut t, req)
            })
            .collect();
        if fitting.is_empty() {
            return format!("no node group's empty node can hold a pod of {what}");
        }
        if fitting.iter().all(|&i| {
            self.pool_size(i) + planned.get(&i).copied().unwrap_or(0) >= self.rt.limits[i].max
        }) {
            return format!("every node group that can hold a pod of {what} is at its max size");
        }
        format!("the node groups that can hold a pod of {what} are backed off")
    }
}

/// A pod's name for the log: `job/pod-index`.
fn pod_name(workload: &crate::workload::Workload, mut id: usize) -> String {
    for j in &workload.jobs {
        if id < j.pods.len() {
            return format!("{}/{id}", j.id);
        }
        id -= j.pods.len();
    }
    format!("pod {id}")
}

impl ClusterSim {
    /// For the deadlock detector: make every absent node of an autoscaled pool Ready in
    /// `pool` (the autoscaler adds such nodes, up to each pool's max, for pods that cannot
    /// fit), so a gang waiting for capacity the autoscaler can still bring is not
    /// reported deadlocked.
    pub(super) fn autoscaler_future_capacity(&self, pool: &mut ClusterState) {
        if let Some(rt) = &self.autoscaler {
            for &n in rt.pool_of.keys() {
                if pool.nodes[n as usize].condition == NodeCondition::Absent {
                    pool.set_condition(n, NodeCondition::Ready);
                }
            }
        }
    }

    /// The cluster autoscaler's hash hook for the verifier's state fingerprint (see
    /// `abstract_state.rs`), time-invariant: where `now` lies in the scan period (scans
    /// run at multiples of `scan_interval`), the nodes being provisioned, the scan flags,
    /// and the scale-down and back-off clocks as offsets from `now`, each capped where it
    /// stops mattering (a node unneeded for longer than `scale_down_unneeded_time` is as
    /// removable as one unneeded for exactly that long). Node conditions (`Absent`, Ready)
    /// are in the cluster state; pending scans and provisioning events are hashed with the
    /// other pending events. Left out: the pods already reported as not triggering a
    /// scale-up (they only decide whether a `no_scale_up` line is logged), the decision
    /// times of provisioning nodes and the report (`AutoscalerRuntime`).
    pub(super) fn autoscaler_hash(&self, now: SimTime, h: &mut dyn std::hash::Hasher) {
        let (Some(st), Some(rt)) = (&self.state.autoscaler, &self.autoscaler) else {
            return;
        };
        let s = &rt.cfg.settings;
        let t = now.as_nanos();
        h.write_u64(t % s.scan_interval.as_nanos().max(1));
        h.write_u8(u8::from(t == 0));
        // Which jobs arrived at this very instant: a scan later at the same instant (after
        // an injected failure) does not count them as tried under policies with sessions
        // (`Policy::attempted`). Identical jobs share their submit time, so this list is
        // the same under the verifier's relabelling of interchangeable jobs.
        for j in &self.workload.jobs {
            h.write_u8(u8::from(j.submit == now));
        }
        for &n in st.provisioning.keys() {
            h.write_u32(n);
        }
        h.write_u8(
            u8::from(st.scan_scheduled) | u8::from(st.scan_due) << 1 | u8::from(st.touched) << 2,
        );
        let ago = |t: SimTime, cap: SimDuration| now.since(t).as_nanos().min(cap.as_nanos());
        h.write_u64(
            st.ca
                .last_scale_up
                .map_or(u64::MAX, |t| ago(t, s.scale_down_delay_after_add)),
        );
        h.write_u8(0xa1);
        for (&n, &since) in &st.ca.unneeded_since {
            h.write_usize(n);
            h.write_u64(ago(since, s.scale_down_unneeded_time));
        }
        h.write_u8(0xa2);
        for (&pool, &until) in &st.ca.backoff_until {
            h.write_usize(pool);
            h.write_u64(until.as_nanos().saturating_sub(t));
        }
    }

    /// Any event of the model other than a scan: the autoscaler has something to look at.
    pub(super) fn autoscaler_touch(&mut self, event: &Event) {
        if let Some(st) = &mut self.state.autoscaler
            && !matches!(event, Event::Autoscaler(CaEvent::Scan))
        {
            st.touched = true;
        }
    }

    /// An autoscaler event.
    pub(super) fn autoscaler_event(&mut self, e: CaEvent, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let (Some(st), Some(rt)) = (&mut self.state.autoscaler, &mut self.autoscaler) else {
            return;
        };
        match e {
            CaEvent::Scan => {
                st.scan_scheduled = false;
                st.scan_due = true;
            }
            CaEvent::NodeReady(n) => {
                if st.provisioning.remove(&n).is_some() {
                    self.state.cluster.set_condition(n, NodeCondition::Ready);
                    self.scratch.invalidate(n);
                    self.state.rescan = true;
                    self.state.job_dirty = true;
                    let pool = rt.pool_of.get(&n).copied().unwrap_or(0);
                    let name = self.spec.nodes[n as usize].name.clone();
                    rt.log(now, "node_ready", pool, 1, &name, String::new());
                    rt.recount(&self.spec, &self.state.cluster, st, now);
                }
            }
            CaEvent::ProvisionTimeout(n) => {
                if st.provisioning.remove(&n).is_some() {
                    let pool = rt.pool_of.get(&n).copied().unwrap_or(0);
                    let until = now + rt.cfg.settings.node_group_backoff;
                    st.ca.backoff_until.insert(pool, until);
                    let name = self.spec.nodes[n as usize].name.clone();
                    rt.log(
                        now,
                        "provision_timeout",
                        pool,
                        1,
                        &name,
                        format!("not Ready within max_node_provision_time; pool backed off until {until}"),
                    );
                    rt.recount(&self.spec, &self.state.cluster, st, now);
                }
            }
        }
    }

    /// At the end of an instant, after the scheduling pass: run a due scan, and arm the
    /// next one.
    pub(super) fn autoscaler_instant_end(&mut self, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let Some(st) = &mut self.state.autoscaler else {
            return;
        };
        let Some(rt) = &self.autoscaler else {
            return;
        };
        let every = rt.cfg.settings.scan_interval.as_nanos().max(1);
        // Something happened: the first scan instant at or after it is not a no-op. Scan
        // now if now is a scan instant (k >= 1), otherwise at the next one.
        if std::mem::take(&mut st.touched) {
            let t = now.as_nanos();
            if t > 0 && t % every == 0 {
                st.scan_due = true;
            } else if !st.scan_scheduled {
                let at = (t / every).saturating_add(1).saturating_mul(every);
                ctx.schedule_at(SimTime(at), Event::Autoscaler(CaEvent::Scan));
                st.scan_scheduled = true;
            }
        }
        if !std::mem::take(&mut st.scan_due) {
            return;
        }
        self.autoscaler_scan(ctx);
    }

    fn autoscaler_scan(&mut self, ctx: &mut Ctx<'_, Event>) {
        let now = ctx.now();
        let (Some(st), Some(rt)) = (&self.state.autoscaler, &self.autoscaler) else {
            return;
        };
        let mut ca = st.ca.clone();
        let actions = {
            let view = View {
                sim: self,
                rt,
                st,
                now,
            };
            ca.scan(now, &rt.cfg.settings, &view)
        };
        let (Some(st), Some(rt)) = (&mut self.state.autoscaler, &mut self.autoscaler) else {
            return;
        };
        st.ca = ca;
        let settings = rt.cfg.settings.clone();
        for a in actions {
            match a {
                CaAction::ScaleUp { pool, add, pods } => {
                    let p = rt.cfg.pools[pool].clone();
                    let mut left = add;
                    for n in p.first..p.first + p.max {
                        if left == 0 {
                            break;
                        }
                        if self.state.cluster.nodes[n as usize].condition == NodeCondition::Absent
                            && !st.provisioning.contains_key(&n)
                        {
                            left -= 1;
                            st.provisioning.insert(n, now);
                            let ev = if p.provisioning_delay > settings.max_node_provision_time {
                                ctx.schedule_in(
                                    settings.max_node_provision_time,
                                    Event::Autoscaler(CaEvent::ProvisionTimeout(n)),
                                )
                            } else {
                                ctx.schedule_in(
                                    p.provisioning_delay,
                                    Event::Autoscaler(CaEvent::NodeReady(n)),
                                )
                            };
                            let _ = ev;
                        }
                    }
                    rt.result.scale_ups += 1;
                    rt.result.nodes_added += add - left;
                    rt.log(
                        now,
                        "scale_up",
                        pool,
                        add - left,
                        "",
                        format!("for {pods} unschedulable pods"),
                    );
                }
                CaAction::NoScaleUp { pod, reason } => {
                    let name = pod_name(&self.workload, pod);
                    rt.result.actions.push(CaRecord {
                        time: now,
                        action: "no_scale_up".into(),
                        pool: String::new(),
                        count: 0,
                        node: String::new(),
                        detail: format!("pod {name}: {reason}"),
                    });
                }
                CaAction::Remove { node, since } => {
                    let n = node as u32;
                    self.state.cluster.set_condition(n, NodeCondition::Absent);
                    self.scratch.invalidate(n);
                    let pool = rt.pool_of.get(&n).copied().unwrap_or(0);
                    rt.result.nodes_removed += 1;
                    let name = self.spec.nodes[node].name.clone();
                    rt.log(
                        now,
                        "scale_down",
                        pool,
                        1,
                        &name,
                        format!("unneeded for {}", now.since(since)),
                    );
                }
            }
        }
        rt.recount(&self.spec, &self.state.cluster, st, now);
        // Keep scanning while something is in progress (a scale-up leaves nodes being
        // provisioned; a removal leaves the other countdowns, if any).
        let busy = !st.provisioning.is_empty() || st.ca.backoff_until.values().any(|&t| t > now);
        let busy = busy || {
            let view = View {
                sim: self,
                rt: self.autoscaler.as_ref().expect("autoscaler runtime"),
                st: self.state.autoscaler.as_ref().expect("autoscaler state"),
                now,
            };
            view.st.ca.removal_pending(&view)
        };
        if busy
            && let Some(st) = &mut self.state.autoscaler
            && !st.scan_scheduled
        {
            let every = settings.scan_interval;
            ctx.schedule_in(every, Event::Autoscaler(CaEvent::Scan));
            st.scan_scheduled = true;
        }
    }
}
