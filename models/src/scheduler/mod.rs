//! Scheduler policies, built from framework plugins.

pub mod best_tree;
pub mod fgd;
pub mod framework;
pub mod plugins;

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

pub use fgd::Placement;
pub use framework::{
    FilterPlugin, NodeFilter, Profile, ScorePlugin, Scratch, num_feasible_nodes_to_find,
};
pub use plugins::{BalancedAllocation, FitScore, FitStrategy, NodeResourcesFit, Resource};

/// The scheduling policy a run uses, by the name it is registered under
/// (`crate::sim::policy`'s registry; see `docs/policies.md`). The built-ins have constants
/// here; a program that registers its own policy names it with [`PolicyKind::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyKind(&'static str);

#[allow(non_upper_case_globals)]
impl PolicyKind {
    /// kube-scheduler's default profile: one pod at a time, no gang awareness. Pods that are
    /// bound while their siblings wait hold their GPUs.
    pub const Default: PolicyKind = PolicyKind("default");
    /// All-or-nothing gang placement, jobs tried in queue order, any job that fits starts
    /// (best-effort FIFO).
    pub const Gang: PolicyKind = PolicyKind("gang");
    /// scheduler-plugins Coscheduling: PodGroup with minMember = all pods; pods wait at
    /// Permit (holding resources) until the group is complete, PostFilter rejects a group's
    /// waiters when it cannot complete, a Permit timeout releases them.
    pub const Coscheduling: PolicyKind = PolicyKind("coscheduling");
    /// Kueue: quota-based admission of whole workloads (ClusterQueues, cohorts, borrowing,
    /// preemption, waitForPodsReady) in front of the default kube-scheduler.
    pub const Kueue: PolicyKind = PolicyKind("kueue");
    /// Volcano: periodic sessions, gang (minAvailable = all pods) committed all-or-nothing,
    /// queues with proportion shares, DRF job order, binpack scoring, enqueue with overcommit.
    pub const Volcano: PolicyKind = PolicyKind("volcano");
    /// Upstream KEP-4671 gang scheduling (alpha): Permit waits for minCount with a fixed
    /// 5-minute per-group deadline.
    pub const K8sGang: PolicyKind = PolicyKind("k8s-gang");
    /// Gang placement with strict FIFO (head-of-line blocking).
    pub const Fifo: PolicyKind = PolicyKind("fifo");
    /// Gang placement with EASY backfilling (oracle runtimes as estimates).
    pub const Backfill: PolicyKind = PolicyKind("backfill");
    /// Gang placement, shortest job (oracle runtime) first, non-fitting jobs skipped.
    pub const Sjf: PolicyKind = PolicyKind("sjf");
    /// Tiresias discretised 2D-LAS on GPU-time, with preemption.
    pub const Tiresias: PolicyKind = PolicyKind("tiresias");

    /// A policy by name, registered or not (building a run checks it is registered).
    pub const fn new(name: &'static str) -> PolicyKind {
        PolicyKind(name)
    }

    /// The built-in policies' names, in registry order.
    pub fn names() -> &'static [&'static str] {
        crate::sim::policy::builtin_names()
    }

    /// Every built-in policy, in registry order.
    pub fn all() -> Vec<PolicyKind> {
        Self::names().iter().map(|&n| PolicyKind(n)).collect()
    }

    /// The built-in policies that run any workload, in registry order: all but the
    /// elastic ones (which resize training jobs only; see [`PolicyKind::is_elastic`]).
    pub fn any_workload() -> Vec<PolicyKind> {
        Self::all()
            .into_iter()
            .filter(|p| !p.is_elastic())
            .collect()
    }

    /// Whether the built-in policy resizes training jobs (`Policy::elastic`): its runs
    /// need a `pollux` trace with profiles.
    pub fn is_elastic(self) -> bool {
        let config = SchedulerConfig {
            policy: self,
            ..SchedulerConfig::default()
        };
        crate::sim::policy::Registry::builtin()
            .build(
                &config,
                &crate::cluster::ClusterSpec::default(),
                &crate::workload::Workload::default(),
            )
            .is_ok_and(|p| p.elastic())
    }

    /// A built-in policy by name.
    pub fn parse(s: &str) -> Option<PolicyKind> {
        Self::names()
            .iter()
            .find(|&&n| n == s)
            .map(|&n| PolicyKind(n))
    }

    pub fn name(self) -> &'static str {
        self.0
    }
}

impl Default for PolicyKind {
    fn default() -> Self {
        PolicyKind::Default
    }
}

impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for PolicyKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for PolicyKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PolicyKind::parse(&s)
            .ok_or_else(|| serde::de::Error::unknown_variant(&s, PolicyKind::names()))
    }
}

/// scheduler-plugins Coscheduling arguments.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoschedulingArgs {
    /// `permitWaitingTimeSeconds` / PodGroup `scheduleTimeoutSeconds` (default 60 s).
    pub schedule_timeout: SimDuration,
    /// `podGroupRejectPercentage` (default 10): PostFilter keeps a group's waiters when the
    /// missing fraction is at most this.
    pub reject_percentage: u32,
    /// Files or folders of scheduler-plugins PodGroups the scenario loader checks against
    /// the jobs and reads the timeout from (empty by the time a run starts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<String>,
}

impl Default for CoschedulingArgs {
    fn default() -> Self {
        CoschedulingArgs {
            schedule_timeout: SimDuration::from_secs(60),
            reject_percentage: 10,
            manifests: Vec::new(),
        }
    }
}

impl CoschedulingArgs {
    /// Permit's quorum rule (scheduler-plugins `PodGroupManager.Permit`): once the group's
    /// pods holding a node (assumed or bound, the pod at Permit included) reach
    /// `min_member`, the group is allowed; before that its pods wait. The simulator runs
    /// every Coscheduling Permit through this (KEP-4671's gang Permit uses the same rule).
    pub fn permit_allows(assigned: u64, min_member: u64) -> bool {
        assigned >= min_member
    }

    /// PostFilter's group rejection (scheduler-plugins `Coscheduling.PostFilter`): when a
    /// pod of the group fails Filter, the group's waiting pods are rejected unless
    /// `assigned` already reaches `min_member` or the missing fraction
    /// `(min_member - assigned) / min_member` is at most `reject_percentage` %.
    pub fn post_filter_rejects(&self, assigned: u64, min_member: u64) -> bool {
        assigned < min_member
            && (min_member - assigned) * 100 > u64::from(self.reject_percentage) * min_member
    }
}

/// Kueue `queueingStrategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueingStrategy {
    /// A head that does not fit is set aside until quota frees (Kueue's default).
    #[default]
    BestEffortFifo,
    /// A head that does not fit blocks the ClusterQueue.
    StrictFifo,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithinClusterQueue {
    #[default]
    Never,
    LowerPriority,
    LowerOrNewerEqualPriority,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReclaimWithinCohort {
    #[default]
    Never,
    LowerPriority,
    Any,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KueuePreemption {
    pub within_cluster_queue: WithinClusterQueue,
    pub reclaim_within_cohort: ReclaimWithinCohort,
}

/// One ClusterQueue with a single GPU resource flavor; quotas in GPUs (fractions allowed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterQueueDef {
    pub name: String,
    pub cohort: Option<String>,
    /// `nominalQuota` of `nvidia.com/gpu`.
    pub nominal_gpus: f64,
    /// `borrowingLimit` (absent: may borrow all the cohort lends).
    pub borrowing_limit_gpus: Option<f64>,
    /// `lendingLimit` (absent: lends all unused nominal quota).
    pub lending_limit_gpus: Option<f64>,
    #[serde(default)]
    pub preemption: KueuePreemption,
}

impl Eq for ClusterQueueDef {}
impl std::hash::Hash for ClusterQueueDef {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.name.hash(h);
        self.cohort.hash(h);
        self.nominal_gpus.to_bits().hash(h);
        self.borrowing_limit_gpus.map(f64::to_bits).hash(h);
        self.lending_limit_gpus.map(f64::to_bits).hash(h);
        self.preemption.hash(h);
    }
}

/// Kueue `waitForPodsReady` (v1beta1 semantics when enabled). Defaults are upstream's
/// (kubernetes-sigs/kueue `apis/config/v1beta1/defaults.go`): off; when enabled, timeout
/// 5 min, `blockAdmission` true, requeue by eviction timestamp with backoff base 60 s and
/// max 3600 s, no `backoffLimitCount`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaitForPodsReady {
    pub enable: bool,
    pub timeout: SimDuration,
    pub block_admission: bool,
    pub backoff_base: SimDuration,
    pub backoff_max: SimDuration,
    /// Deactivate a workload after this many requeues (absent: requeue for ever).
    pub backoff_limit_count: Option<u32>,
}

impl Default for WaitForPodsReady {
    fn default() -> Self {
        WaitForPodsReady {
            enable: false,
            timeout: SimDuration::from_secs(300),
            block_admission: true,
            backoff_base: SimDuration::from_secs(60),
            backoff_max: SimDuration::from_secs(3600),
            backoff_limit_count: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KueueConfig {
    /// ClusterQueues; absent: one queue `default` whose quota is the cluster's GPUs.
    pub cluster_queues: Vec<ClusterQueueDef>,
    /// Files or folders of Kueue objects (ResourceFlavor, ClusterQueue, LocalQueue) the
    /// scenario loader reads into `cluster_queues` (the model never reads files; empty by
    /// the time a run starts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<String>,
    pub queueing_strategy: QueueingStrategy,
    pub wait_for_pods_ready: WaitForPodsReady,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VolcanoConfig {
    /// `schedule-period` (default 1 s).
    pub session_period: SimDuration,
    /// overcommit plugin `overcommit-factor` (default 1.2).
    pub overcommit_factor: f64,
    /// Queues (the proportion plugin); absent: one queue `default` of weight 1, no
    /// capability or guarantee. Jobs name theirs with `queue:` (none = the first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<VolcanoQueueDef>,
    /// The proportion plugin's `Allocatable` check (`enabledAllocatable`, on by default):
    /// a queue takes a job only while its allocation stays within its deserved share.
    #[serde(skip_serializing_if = "is_true")]
    pub queue_allocatable: bool,
    /// Files or folders of Volcano Queues and PodGroups the scenario loader reads into
    /// `queues` and the jobs' queues (empty by the time a run starts; not hashed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<String>,
}

fn is_true(b: &bool) -> bool {
    *b
}

/// One Volcano Queue: `spec.weight`, `spec.capability`, `spec.guarantee.resource`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolcanoQueueDef {
    pub name: String,
    /// Share weight (> 0); default 1.
    #[serde(default = "one")]
    pub weight: u32,
    /// Most the queue may hold; a resource left out is unlimited.
    #[serde(default)]
    pub capability: Option<VolcanoResources>,
    /// What the queue is always entitled to (taken off the others' shares).
    #[serde(default)]
    pub guarantee: Option<VolcanoResources>,
}

fn one() -> u32 {
    1
}

/// Resources of a queue's capability or guarantee; a field left out is not set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VolcanoResources {
    pub gpus: Option<f64>,
    pub cpu_milli: Option<u64>,
    pub memory_mib: Option<u64>,
}

impl VolcanoResources {
    fn hash_into<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        self.gpus.map(f64::to_bits).hash(h);
        self.cpu_milli.hash(h);
        self.memory_mib.hash(h);
    }
}

impl Default for VolcanoConfig {
    fn default() -> Self {
        VolcanoConfig {
            session_period: SimDuration::from_secs(1),
            overcommit_factor: 1.2,
            queues: Vec::new(),
            queue_allocatable: true,
            manifests: Vec::new(),
        }
    }
}
impl Eq for VolcanoConfig {}
impl std::hash::Hash for VolcanoConfig {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.session_period.hash(h);
        self.overcommit_factor.to_bits().hash(h);
        // The new fields hash only when set, so a default configuration hashes as before.
        if !self.queues.is_empty() {
            self.queues.len().hash(h);
        }
        for q in &self.queues {
            q.name.hash(h);
            q.weight.hash(h);
            for r in [&q.capability, &q.guarantee] {
                r.is_some().hash(h);
                if let Some(r) = r {
                    r.hash_into(h);
                }
            }
        }
        if !self.queue_allocatable {
            self.queue_allocatable.hash(h);
        }
    }
}

/// Tiresias 2D-LAS parameters (defaults from the official simulator, SymbioticLab/Tiresias
/// `simulator/run_sim.py` `dlas_sim_jobs` at 959f9b0, and its job table).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TiresiasConfig {
    /// Attained-service thresholds in GPU-seconds between queues Q0|Q1|…; K = len + 1 queues.
    pub thresholds_gpu_s: Vec<u64>,
    /// Order of jobs inside one queue.
    pub queue_order: TiresiasQueueOrder,
    /// Recompute the allocation only every this often (the research simulators' rounds,
    /// e.g. 60 s) instead of at every event. `None` (the default) = at every event, as the
    /// Tiresias simulator does.
    pub scheduling_interval: Option<SimDuration>,
}

/// Order of jobs inside one Tiresias queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TiresiasQueueOrder {
    /// Strictly by entry into the queue (arrival for Q0, demotion time below), running or
    /// not: the Tiresias simulator's queue lists, which a job joins at the back and keeps
    /// its place in when preempted.
    #[default]
    Arrival,
    /// Running jobs ahead of pending ones, each by entry (Orrery's earlier order; fewer
    /// preemptions).
    RunningFirst,
}

impl Default for TiresiasConfig {
    fn default() -> Self {
        TiresiasConfig {
            thresholds_gpu_s: vec![3250, 7200],
            queue_order: TiresiasQueueOrder::Arrival,
            scheduling_interval: None,
        }
    }
}

/// Gang topology preference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// Place pods wherever the scores say.
    #[default]
    None,
    /// Prefer packing a gang into the fewest racks: try one rack first (fullest that
    /// fits), then the whole cluster.
    PackRacks,
}

/// A scheduler configuration as written in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    pub policy: PolicyKind,
    /// NodeResourcesFit scoring strategy.
    pub score: FitStrategy,
    /// Resources the Fit score looks at, with weights (kube default: cpu 1, memory 1).
    pub score_resources: Vec<(Resource, i64)>,
    /// Weight of NodeResourcesBalancedAllocation (kube default 1; 0 disables it).
    pub balanced_allocation_weight: i64,
    /// `percentageOfNodesToScore` (0 = adaptive, kube's default).
    pub percentage_of_nodes_to_score: u32,
    /// Gang policies: prefer packing a gang into few racks.
    pub topology: Topology,
    pub coscheduling: CoschedulingArgs,
    pub kueue: KueueConfig,
    pub volcano: VolcanoConfig,
    pub tiresias: TiresiasConfig,
    /// Decide only at multiples of this interval (the research simulators' rounds; the
    /// Pollux artefact's `--interval`, 60 s). Used by `optimus` (default 60 s there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_interval: Option<SimDuration>,
    /// Node scores and GPU choice: `default` (the policy's own) or one of the FGD
    /// artefact's placement policies (`scheduler::fgd`).
    #[serde(skip_serializing_if = "Placement::is_default")]
    pub placement: Placement,
    /// A KubeSchedulerConfiguration file (relative to the scenario) the scenario loader
    /// reads into the keys above (`None` by the time a run starts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// The pod list FGD's fragmentation targets are computed from, as (CPU milli, per-GPU
    /// milli, GPU count, GPU spec) per pod; `None` (the default): the run's workload. Set
    /// by `orrery run` on an FGD-family scenario (the artefact's original pod list); not a
    /// scenario key.
    #[serde(skip)]
    pub fgd_target_pods: Option<fgd::TargetPods>,
    /// `placement: random` draws a GPU-sharing pod's GPU with the run's chooser right
    /// after its node, as the artefact's Random does (default: the best-fit GPU). Set by
    /// the FGD reproduction (`models::fgd::Trace::run`); not a scenario key.
    #[serde(skip)]
    pub fgd_random_gpu: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            policy: PolicyKind::Default,
            score: FitStrategy::LeastAllocated,
            score_resources: vec![(Resource::Cpu, 1), (Resource::Memory, 1)],
            balanced_allocation_weight: 1,
            percentage_of_nodes_to_score: 0,
            topology: Topology::None,
            coscheduling: CoschedulingArgs::default(),
            kueue: KueueConfig::default(),
            volcano: VolcanoConfig::default(),
            tiresias: TiresiasConfig::default(),
            scheduling_interval: None,
            placement: Placement::Default,
            config: None,
            fgd_target_pods: None,
            fgd_random_gpu: false,
        }
    }
}

impl SchedulerConfig {
    /// Build the plugin profile this configuration describes: NodeResourcesFit with the
    /// configured strategy and resources, plus BalancedAllocation.
    pub fn profile(&self) -> Profile {
        self.profile_with(self.score, self.score_resources.clone())
    }

    /// The profile with the Fit score's strategy and resources replaced (a policy that
    /// scores its own way, e.g. Volcano's binpack).
    pub fn profile_with(&self, strategy: FitStrategy, resources: Vec<(Resource, i64)>) -> Profile {
        let mut scorers: Vec<(Box<dyn ScorePlugin>, i64)> = vec![(
            Box::new(FitScore {
                strategy,
                resources,
            }),
            1,
        )];
        if self.balanced_allocation_weight != 0 {
            scorers.push((
                Box::new(BalancedAllocation {
                    resources: self.score_resources.iter().map(|(r, _)| *r).collect(),
                }),
                self.balanced_allocation_weight,
            ));
        }
        Profile {
            filters: vec![Box::new(NodeResourcesFit)],
            scorers,
            percentage_of_nodes_to_score: self.percentage_of_nodes_to_score,
            merge_identical_nodes: false,
        }
    }
}
