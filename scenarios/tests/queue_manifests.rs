//! Queues and scheduler configuration from their real YAML (issue 17 item 2): Kueue
//! `Cohort`, `WorkloadPriorityClass` and `Configuration`; Volcano `Queue` and `PodGroup`;
//! scheduler-plugins `PodGroup`; `KubeSchedulerConfiguration`. Each kind parsed with
//! hand-checked values, unknown fields refused with file:line:column, and each scenario
//! written with manifests runs exactly as the same scenario written with Orrery's own keys
//! (`scenarios/tests/queue-manifests/*.yaml` and `*-inline.yaml`).

use std::path::{Path, PathBuf};

use models::scheduler::{FitStrategy, PolicyKind, Resource};
use scenarios::{Overrides, ScenarioError};
use sim_core::{SimDuration, SimTime};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/queue-manifests")
}

fn load(name: &str) -> scenarios::Scenario {
    scenarios::load(&dir().join(name), &Overrides::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn err(r: Result<scenarios::Scenario, ScenarioError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// `files` (name, text) written into a fresh folder beside scenario `yaml`, loaded.
fn load_files(
    tag: &str,
    yaml: &str,
    files: &[(&str, &str)],
) -> Result<scenarios::Scenario, ScenarioError> {
    let d = std::env::temp_dir().join(format!("orrery-queue-yaml-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for (name, text) in files {
        std::fs::write(d.join(name), text).unwrap();
    }
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    scenarios::load(&d.join("s.yaml"), &Overrides::default())
}

/// A fixture of `scenarios/kubernetes/` edited by `edit`.
fn fixture(rel: &str, edit: impl Fn(String) -> String) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("kubernetes")
        .join(rel);
    edit(std::fs::read_to_string(p).unwrap())
}

const CLUSTER: &str = "name: t\nseed: 1\ncluster:\n  node_pools:\n    - {name: h, count: 1, cpu_milli: 32000, memory_mib: 262144, gpus: 8, gpu_model: H100}\n";

/// Both scenarios resolve to the same configuration and jobs, and run identically.
fn same_run(a: &str, b: &str) -> models::RunResult {
    let sa = load(a);
    let sb = load(b);
    assert_eq!(sa.config.scheduler, sb.config.scheduler, "{a} vs {b}");
    assert_eq!(sa.workload, sb.workload, "{a} vs {b}");
    let ra = models::sim::run(sa.cluster, sa.workload, &sa.config, None).unwrap();
    let rb = models::sim::run(sb.cluster, sb.workload, &sb.config, None).unwrap();
    assert_eq!(ra.jobs, rb.jobs);
    assert_eq!(ra.usage, rb.usage);
    assert_eq!(ra.end_time, rb.end_time);
    assert_eq!(ra.choices_fingerprint, rb.choices_fingerprint);
    ra
}

fn job<'a>(r: &'a models::RunResult, id: &str) -> &'a models::sim::JobRecord {
    r.jobs.iter().find(|j| j.id == id).unwrap()
}

fn at(s: u64) -> Option<SimTime> {
    Some(SimTime::ZERO + SimDuration::from_secs(s))
}

// ---- Kueue: Cohort, WorkloadPriorityClass, Configuration ----

#[test]
fn kueue_classes_cohort_and_configuration_are_read() {
    let sc = load("kueue-priority.yaml");
    let k = &sc.config.scheduler.kueue;
    // priority-cohort.yaml: low-priority = 100, high-priority = 10000.
    let prio: Vec<(&str, i32)> = sc
        .workload
        .jobs
        .iter()
        .map(|j| (j.id.as_str(), j.priority))
        .collect();
    assert_eq!(prio, [("low", 100), ("high", 10000)]);
    // The LocalQueue team-queue stands for ClusterQueue team, in Cohort research.
    assert!(
        sc.workload
            .jobs
            .iter()
            .all(|j| j.queue.as_deref() == Some("team"))
    );
    assert_eq!(k.cluster_queues[0].cohort.as_deref(), Some("research"));
    assert_eq!(k.cluster_queues[0].nominal_gpus, 4.0);
    // kueue-config.yaml: enable, timeout 10m, blockAdmission left to its default (true
    // when enabled), backoffLimitCount 3, base 30 s, max 1800 s.
    let w = &k.wait_for_pods_ready;
    assert!(w.enable && w.block_admission);
    assert_eq!(w.timeout, SimDuration::from_secs(600));
    assert_eq!(w.backoff_limit_count, Some(3));
    assert_eq!(w.backoff_base, SimDuration::from_secs(30));
    assert_eq!(w.backoff_max, SimDuration::from_secs(1800));
}

/// 4 GPUs, quota 4, LowerPriority preemption within the queue: `low` (100) starts at 0 s;
/// `high` (10000) arrives at 10 s, evicts it and runs 10–60 s; `low` restarts from scratch
/// when `high` ends and runs its 100 s again: ends at 160 s (its record keeps its first
/// start, 0 s, and one eviction).
#[test]
fn kueue_priority_classes_run_as_inline_priorities() {
    let r = same_run("kueue-priority.yaml", "kueue-priority-inline.yaml");
    let (low, high) = (job(&r, "low"), job(&r, "high"));
    assert_eq!((high.start, high.end), (at(10), at(60)));
    assert_eq!((low.start, low.end), (at(0), at(160)));
    assert_eq!(low.evictions, 1);
}

#[test]
fn kueue_refusals_name_file_line_and_field() {
    let jobs = "workload:\n  jobs:\n    - {id: a, submit: 0s, duration: 10s, pods: 1, gpus_per_pod: 1, queue: team-queue}\nscheduler:\n  policy: kueue\n  kueue:\n    manifests: [q.yaml]\n";
    let yaml = format!("{CLUSTER}{jobs}");
    let q = |edit: &dyn Fn(String) -> String| fixture("kueue/priority-cohort.yaml", edit);
    // Unknown field in a WorkloadPriorityClass: the line after `value: 100` (line 11).
    let e = err(load_files(
        "wpc-unknown",
        &yaml,
        &[(
            "q.yaml",
            &q(&|s| s.replacen("value: 100\n", "value: 100\npreemptionPolicy: Never\n", 1)),
        )],
    ));
    assert!(
        e.contains("q.yaml:12:1: WorkloadPriorityClass: unknown field")
            && e.contains("preemptionPolicy"),
        "{e}"
    );
    // Hierarchical cohorts are refused, naming the Cohort.
    let e = err(load_files(
        "cohort-parent",
        &yaml,
        &[(
            "q.yaml",
            &q(&|s| {
                s.replace(
                    "spec:\n  fairSharing:",
                    "spec:\n  parentName: org\n  fairSharing:",
                )
            }),
        )],
    ));
    assert!(
        e.contains(
            "Cohort research: spec.parentName \"org\": hierarchical cohorts are not modelled"
        ),
        "{e}"
    );
    // A Cohort's own GPU quota is refused.
    let e = err(load_files(
        "cohort-quota",
        &yaml,
        &[(
            "q.yaml",
            &q(&|s| {
                s.replace("  fairSharing:\n    weight: \"1\"\n", "  resourceGroups:\n  - coveredResources: [\"nvidia.com/gpu\"]\n    flavors:\n    - name: default-flavor\n      resources:\n      - name: nvidia.com/gpu\n        nominalQuota: 8\n")
            }),
        )],
    ));
    assert!(
        e.contains("Cohort research: nvidia.com/gpu nominalQuota 8"),
        "{e}"
    );
    // The Configuration: an unknown field (line 7, `health:` misspelt) and fair sharing on.
    let cfg = |edit: &dyn Fn(String) -> String| fixture("kueue/kueue-config.yaml", edit);
    let both = "manifests: [q.yaml, c.yaml]";
    let yaml2 = yaml.replace("manifests: [q.yaml]", both);
    let e = err(load_files(
        "cfg-unknown",
        &yaml2,
        &[
            ("q.yaml", &q(&|s| s)),
            ("c.yaml", &cfg(&|s| s.replace("health:", "heath:"))),
        ],
    ));
    assert!(
        e.contains("c.yaml:7:1: Configuration: unknown field") && e.contains("heath"),
        "{e}"
    );
    let e = err(load_files(
        "cfg-fair",
        &yaml2,
        &[
            ("q.yaml", &q(&|s| s)),
            (
                "c.yaml",
                &cfg(&|s| s.replace("  enable: false", "  enable: true")),
            ),
        ],
    ));
    assert!(
        e.contains("Configuration: fairSharing.enable: true is not modelled"),
        "{e}"
    );
    // A job naming a class no manifest defines.
    let e = err(load_files(
        "no-class",
        &yaml.replace(
            "queue: team-queue}",
            "queue: team-queue, priority_class: urgent}",
        ),
        &[("q.yaml", &q(&|s| s))],
    ));
    assert!(
        e.contains("job \"a\" names priority_class \"urgent\"")
            && e.contains("(defined: high-priority, low-priority)"),
        "{e}"
    );
    // Inline waitForPodsReady and the Configuration's: one place only.
    let e = err(load_files(
        "wfpr-both",
        &format!("{yaml2}    wait_for_pods_ready: {{enable: true}}\n"),
        &[("q.yaml", &q(&|s| s)), ("c.yaml", &cfg(&|s| s))],
    ));
    assert!(
        e.contains("scheduler.kueue.wait_for_pods_ready: also given by the Configuration"),
        "{e}"
    );
}

// ---- Volcano: Queue, PodGroup ----

#[test]
fn volcano_queues_and_pod_groups_are_read() {
    let sc = load("volcano.yaml");
    let v = &sc.config.scheduler.volcano;
    // The folder's files by name (podgroups.yaml, queues.yaml), queues in file order.
    let names: Vec<&str> = v.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["research", "prod"]);
    assert_eq!(v.queues[0].weight, 1);
    assert!(v.queues[0].capability.is_none() && v.queues[0].guarantee.is_none());
    let prod = &v.queues[1];
    assert_eq!(prod.weight, 3);
    let cap = prod.capability.as_ref().unwrap();
    // cpu "16" = 16000 millicores; memory 128Gi = 131072 MiB; 4 GPUs.
    assert_eq!(
        (cap.cpu_milli, cap.memory_mib, cap.gpus),
        (Some(16000), Some(131072), Some(4.0))
    );
    assert_eq!(prod.guarantee.as_ref().unwrap().gpus, Some(2.0));
    let queues: Vec<(&str, Option<&str>)> = sc
        .workload
        .jobs
        .iter()
        .map(|j| (j.id.as_str(), j.queue.as_deref()))
        .collect();
    assert_eq!(
        queues,
        [
            ("p1", Some("prod")),
            ("p2", Some("prod")),
            ("r1", Some("research"))
        ]
    );
}

/// prod may hold 4 GPUs: the enqueue gate lets p1 (prod, 4) and r1 (research, 4) in and
/// keeps p2 out (prod would hold 8); the first session after the arrivals at 0 s is at 1 s
/// (sessions run on the next multiple of the 1 s period after a change): p1 1–101 s, r1
/// 1–51 s; p2 is let in at the session after p1 ends, 102 s, and runs to 202 s.
#[test]
fn volcano_yaml_runs_as_inline_queues() {
    let r = same_run("volcano.yaml", "volcano-inline.yaml");
    let (p1, p2, r1) = (job(&r, "p1"), job(&r, "p2"), job(&r, "r1"));
    assert_eq!((p1.start, p1.end), (at(1), at(101)));
    assert_eq!((r1.start, r1.end), (at(1), at(51)));
    assert_eq!((p2.start, p2.end), (at(102), at(202)));
}

#[test]
fn volcano_refusals_name_file_line_and_field() {
    let jobs = "workload:\n  jobs:\n    - {id: p1, submit: 0s, duration: 10s, pods: 1, gpus_per_pod: 4, cpu_milli: 1000, memory_mib: 1024}\nscheduler:\n  policy: volcano\n  volcano:\n    manifests: [v.yaml]\n";
    let yaml = format!("{CLUSTER}{jobs}");
    let q = |edit: &dyn Fn(String) -> String| fixture("volcano/queues.yaml", edit);
    // Unknown field: `weigth` on line 11 (research's spec), column 3.
    let e = err(load_files(
        "vq-unknown",
        &yaml,
        &[(
            "v.yaml",
            &q(&|s| s.replacen("  weight: 1\n", "  weigth: 1\n", 1)),
        )],
    ));
    assert!(e.contains("v.yaml:11:3: Queue: unknown field"), "{e}");
    assert!(e.contains("weigth"), "{e}");
    let e = err(load_files(
        "vq-parent",
        &yaml,
        &[(
            "v.yaml",
            &q(&|s| s.replacen("  weight: 1\n", "  weight: 1\n  parent: org\n", 1)),
        )],
    ));
    assert!(
        e.contains("Queue research: spec.parent \"org\": hierarchical queues"),
        "{e}"
    );
    let e = err(load_files(
        "vq-res",
        &yaml,
        &[(
            "v.yaml",
            &q(&|s| {
                s.replace(
                    "    nvidia.com/gpu: 4\n",
                    "    nvidia.com/gpu: 4\n    pods: 10\n",
                )
            }),
        )],
    ));
    assert!(
        e.contains("Queue prod: spec.capability: resource \"pods\" is not modelled"),
        "{e}"
    );
    // A PodGroup's minMember must be the job's pod count.
    let pg = "apiVersion: scheduling.volcano.sh/v1beta1\nkind: PodGroup\nmetadata: {name: p1}\nspec: {minMember: 2, queue: prod}\n";
    let e = err(load_files(
        "vpg",
        &yaml,
        &[("v.yaml", &format!("{}---\n{pg}", q(&|s| s)))],
    ));
    assert!(
        e.contains("PodGroup p1: spec.minMember 2 but the job has 1 pods"),
        "{e}"
    );
    // minResources must be the job's total (p1: 1 CPU, 1024 MiB, 4 GPUs).
    let pg = "apiVersion: scheduling.volcano.sh/v1beta1\nkind: PodGroup\nmetadata: {name: p1}\nspec: {minMember: 1, minResources: {nvidia.com/gpu: 2}}\n";
    let e = err(load_files(
        "vpg-res",
        &yaml,
        &[("v.yaml", &format!("{}---\n{pg}", q(&|s| s)))],
    ));
    assert!(
        e.contains("PodGroup p1: spec.minResources differs from the job's total request (cpu 1000m, memory 1024Mi, GPUs 4)"),
        "{e}"
    );
}

// ---- Coscheduling PodGroups and the KubeSchedulerConfiguration ----

#[test]
fn coscheduling_config_and_pod_groups_are_read() {
    let sc = load("coscheduling.yaml");
    let s = &sc.config.scheduler;
    assert_eq!(s.policy, PolicyKind::Coscheduling);
    // podgroups.yaml: scheduleTimeoutSeconds 30 for both groups, which replaces the
    // configuration's permitWaitingTimeSeconds (10); podGroupRejectPercentage 20.
    assert_eq!(s.coscheduling.schedule_timeout, SimDuration::from_secs(30));
    assert_eq!(s.coscheduling.reject_percentage, 20);
    assert!(s.coscheduling.manifests.is_empty() && s.config.is_none());
    // The sample enables no score changes: the default profile's scores.
    assert_eq!(s.score, FitStrategy::LeastAllocated);
    assert_eq!(s.balanced_allocation_weight, 1);
}

/// Two 1-GPU nodes, two 2-pod gangs: A takes both nodes (0–100 s), B runs after (100–200 s).
#[test]
fn coscheduling_yaml_runs_as_inline_keys() {
    let r = same_run("coscheduling.yaml", "coscheduling-inline.yaml");
    assert_eq!((job(&r, "A").start, job(&r, "A").end), (at(0), at(100)));
    assert_eq!((job(&r, "B").start, job(&r, "B").end), (at(100), at(200)));
}

#[test]
fn kube_scheduler_configuration_maps_scores_and_percentage() {
    let sc = load("binpack.yaml");
    let s = &sc.config.scheduler;
    assert_eq!(s.policy, PolicyKind::Default);
    assert_eq!(s.score, FitStrategy::MostAllocated);
    assert_eq!(
        s.score_resources,
        [
            (Resource::Cpu, 1),
            (Resource::Memory, 1),
            (Resource::Gpu, 3)
        ]
    );
    assert_eq!(s.balanced_allocation_weight, 2);
    assert_eq!(s.percentage_of_nodes_to_score, 50);
    // Balanced disabled through multiPoint → weight 0; Fit weight 2 with Balanced 4 →
    // Balanced 2 (the same ranking); the profile's percentage overrides the global one.
    let yaml = format!(
        "{CLUSTER}workload:\n  jobs:\n    - {{id: a, submit: 0s, duration: 10s}}\nscheduler:\n  config: k.yaml\n"
    );
    let k = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\npercentageOfNodesToScore: 50\nprofiles:\n- percentageOfNodesToScore: 20\n  plugins:\n    multiPoint:\n      disabled:\n      - name: NodeResourcesBalancedAllocation\n";
    let sc = load_files("ks-off", &yaml, &[("k.yaml", k)]).unwrap();
    assert_eq!(sc.config.scheduler.balanced_allocation_weight, 0);
    assert_eq!(sc.config.scheduler.percentage_of_nodes_to_score, 20);
    let k = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    score:\n      enabled:\n      - name: NodeResourcesFit\n        weight: 2\n      - name: NodeResourcesBalancedAllocation\n        weight: 4\n";
    let sc = load_files("ks-ratio", &yaml, &[("k.yaml", k)]).unwrap();
    assert_eq!(sc.config.scheduler.balanced_allocation_weight, 2);
    assert_eq!(sc.config.scheduler.percentage_of_nodes_to_score, 0);
    // A negative Score weight (kube-scheduler refuses it): refused, not inverted.
    let e = err(load_files(
        "ks-negative",
        &yaml,
        &[("k.yaml", &k.replace("weight: 2", "weight: -1"))],
    ));
    assert!(
        e.contains("NodeResourcesFit has Score weight -1: weights must not be negative"),
        "{e}"
    );
}

/// Two nodes of 4 CPUs, 4 GiB, 4 GPUs; pods of 1 CPU, 1 GiB, 2 GPUs. For j2, j1's node
/// scores MostAllocated (50 + 50 + 3·100)/5 = 80 plus 2 × Balanced 76 (fractions .5, .5,
/// 1: std .236) = 232, the empty node (25 + 25 + 3·50)/5 = 40 + 2 × 88 = 216: j2 joins
/// j1, the other node stays empty and j3 (4 GPUs) runs at once, 2–12 s. Under the default
/// profile (LeastAllocated over CPU and memory) j2 spreads and j3 waits for j1: 1000 s.
#[test]
fn kube_scheduler_configuration_runs_as_inline_keys() {
    let r = same_run("binpack.yaml", "binpack-inline.yaml");
    assert_eq!((job(&r, "j3").start, job(&r, "j3").end), (at(2), at(12)));
    let mut d = load("binpack-inline.yaml");
    d.config.scheduler = models::SchedulerConfig::default();
    let r = models::sim::run(d.cluster, d.workload, &d.config, None).unwrap();
    assert_eq!(job(&r, "j3").start, at(1000));
}

#[test]
fn scheduler_refusals_name_file_line_and_plugin() {
    let ks =
        |edit: &dyn Fn(String) -> String| fixture("scheduler/kube-scheduler-binpack.yaml", edit);
    let jobs = "workload:\n  jobs:\n    - {id: A, submit: 0s, duration: 10s, pods: 2, gpus_per_pod: 1}\nscheduler:\n  config: k.yaml\n";
    let yaml = format!("{CLUSTER}{jobs}");
    // Unknown field in a profile (line 18, column 3).
    let e = err(load_files(
        "ks-unknown",
        &yaml,
        &[(
            "k.yaml",
            &ks(&|s| {
                s.replace(
                    "- schedulerName: default-scheduler\n",
                    "- schedulerName: default-scheduler\n  plugin: {}\n",
                )
            }),
        )],
    ));
    assert!(
        e.contains("k.yaml:")
            && e.contains("KubeSchedulerConfiguration: unknown field")
            && e.contains("plugin"),
        "{e}"
    );
    // Unknown field inside a plugin's args.
    let e = err(load_files(
        "ks-args",
        &yaml,
        &[(
            "k.yaml",
            &ks(&|s| s.replace("type: MostAllocated", "typ: MostAllocated")),
        )],
    ));
    // Line 26 (`type:` under scoringStrategy), column 9, even inside a plugin's args.
    assert!(
        e.contains("k.yaml:26:9: KubeSchedulerConfiguration: unknown field `typ`"),
        "{e}"
    );
    // A plugin the model does not have.
    let e = err(load_files(
        "ks-plugin",
        &yaml,
        &[(
            "k.yaml",
            &ks(&|s| {
                s.replace(
                    "      - name: NodeResourcesBalancedAllocation\n        weight: 2\n",
                    "      - name: NodeResourcesAllocatable\n        weight: 2\n",
                )
            }),
        )],
    ));
    assert!(
        e.contains("plugins.score.enabled: plugin NodeResourcesAllocatable is not modelled"),
        "{e}"
    );
    // A Filter the model always runs, disabled.
    let e = err(load_files(
        "ks-filter",
        &yaml,
        &[(
            "k.yaml",
            &ks(&|s| {
                s.replace(
                    "  plugins:\n",
                    "  plugins:\n    filter:\n      disabled:\n      - name: TaintToleration\n",
                )
            }),
        )],
    ));
    assert!(e.contains("the TaintToleration Filter is disabled"), "{e}");
    // Balanced weight 3 against Fit weight 2: no equivalent in the model.
    let e = err(load_files(
        "ks-weights",
        &yaml,
        &[(
            "k.yaml",
            &ks(&|s| {
                s.replace(
                    "        weight: 2\n",
                    "        weight: 3\n      - name: NodeResourcesFit\n        weight: 2\n",
                )
            }),
        )],
    ));
    assert!(
        e.contains("Score weights NodeResourcesFit 2 and NodeResourcesBalancedAllocation 3"),
        "{e}"
    );
    // Coscheduling enabled but the policy is default.
    let e = err(load_files(
        "ks-cosched",
        &yaml,
        &[(
            "k.yaml",
            &fixture("scheduler/coscheduling-config.yaml", |s| s),
        )],
    ));
    assert!(
        e.contains("enables the Coscheduling plugin: set scheduler.policy: coscheduling"),
        "{e}"
    );
    // Scheduler keys given twice.
    let e = err(load_files(
        "ks-both",
        &format!("{yaml}  score: most_allocated\n"),
        &[("k.yaml", &ks(&|s| s))],
    ));
    assert!(
        e.contains("scheduler.score: also set by the KubeSchedulerConfiguration"),
        "{e}"
    );
    // scheduler-plugins PodGroups: unknown field, and different timeouts.
    let cs = "workload:\n  jobs:\n    - {id: A, submit: 0s, duration: 10s, pods: 2, gpus_per_pod: 1}\n    - {id: B, submit: 0s, duration: 10s, pods: 2, gpus_per_pod: 1}\nscheduler:\n  policy: coscheduling\n  coscheduling:\n    manifests: [pg.yaml]\n";
    let pg = |edit: &dyn Fn(String) -> String| fixture("scheduler/podgroups.yaml", edit);
    let yaml = format!("{CLUSTER}{cs}");
    let e = err(load_files(
        "pg-unknown",
        &yaml,
        &[(
            "pg.yaml",
            &pg(&|s| s.replacen("  minMember: 2\n", "  minMembers: 2\n", 1)),
        )],
    ));
    assert!(
        e.contains("pg.yaml:") && e.contains("PodGroup: unknown field") && e.contains("minMembers"),
        "{e}"
    );
    let e = err(load_files(
        "pg-timeouts",
        &yaml,
        &[(
            "pg.yaml",
            &pg(&|s| {
                s.replacen(
                    "scheduleTimeoutSeconds: 30",
                    "scheduleTimeoutSeconds: 45",
                    1,
                )
            }),
        )],
    ));
    assert!(
        e.contains("the simulated Coscheduling has one timeout for all groups"),
        "{e}"
    );
}

// ---- `kind: List`, as `kubectl get … -o yaml` prints it ----

/// `cohort-teams-list.yaml` is `cohort-teams.yaml` as one kubectl `List` (with server-set
/// metadata and a status): the same `SchedulerConfig`, jobs and run. Hand-derived run
/// (borrowing-limit.yaml): team-a (nominal 4 GPUs, may borrow 2) runs a1 (4 GPUs) 0-100 s;
/// a2 (2 x 2 GPUs, at 10 s) would need 4 more, 2 over the limit, so it waits for a1 and
/// runs 100-150 s.
#[test]
fn a_kubectl_list_reads_as_its_split_documents() {
    let r = same_run(
        "../kueue-cohort/borrowing-limit-list.yaml",
        "../kueue-cohort/borrowing-limit-manifests.yaml",
    );
    assert_eq!(job(&r, "a1").start, at(0));
    assert_eq!(job(&r, "a1").end, at(100));
    assert_eq!(job(&r, "a2").start, at(100));
    assert_eq!(job(&r, "a2").end, at(150));
}

/// An error inside a List item names the file's own line and column (the misspelt
/// `cohortt:` of team-a is on line 25, indented 4) and the item (items[1], the List
/// starting at line 1).
#[test]
fn an_error_inside_a_list_item_names_its_line_and_item() {
    let list = fixture("kueue/cohort-teams-list.yaml", |t| {
        t.replacen("    cohort: research\n", "    cohortt: research\n", 1)
    });
    let e = err(load_files(
        "list-error",
        &format!(
            "{CLUSTER}workload:\n  jobs:\n    - {{id: a, submit: 0s, duration: 10s}}\nscheduler:\n  policy: kueue\n  kueue:\n    manifests: [q.yaml]\n"
        ),
        &[("q.yaml", &list)],
    ));
    assert!(
        e.contains("q.yaml:25:5: ClusterQueue: unknown field")
            && e.contains("(items[1] of the List at ")
            && e.contains("q.yaml:1)"),
        "{e}"
    );
}

// ---- Kueue's Configuration as installed: the kueue-manager-config ConfigMap ----

/// `kueue-manager-config.yaml` is `kueue-config.yaml` inside its ConfigMap (data key
/// `controller_manager_config.yaml`): the same `SchedulerConfig` (waitForPodsReady on,
/// timeout 10m = 600 s, backoffLimitCount 3, base 30 s, max 1800 s) and the same run
/// (`high` 10-60 s, `low` evicted once and ending at 160 s).
#[test]
fn kueue_configuration_in_its_configmap_reads_as_the_bare_one() {
    let r = same_run("kueue-priority-configmap.yaml", "kueue-priority.yaml");
    let w = &load("kueue-priority-configmap.yaml")
        .config
        .scheduler
        .kueue
        .wait_for_pods_ready;
    assert!(w.enable && w.block_admission);
    assert_eq!(w.timeout, SimDuration::from_secs(600));
    assert_eq!(w.backoff_limit_count, Some(3));
    assert_eq!(w.backoff_base, SimDuration::from_secs(30));
    assert_eq!(w.backoff_max, SimDuration::from_secs(1800));
    let (low, high) = (job(&r, "low"), job(&r, "high"));
    assert_eq!((high.start, high.end), (at(10), at(60)));
    assert_eq!((low.start, low.end), (at(0), at(160)));
}

/// A ConfigMap without the key is refused naming the key and the keys it has; an error
/// inside the embedded Configuration names the file's line: the block starts on line 10
/// (after `controller_manager_config.yaml: |` on line 9), so its third line, `health:`
/// misspelt, is line 12, column 1 of the block.
#[test]
fn kueue_configmap_refusals_name_the_key_and_line() {
    let jobs = "workload:\n  jobs:\n    - {id: a, submit: 0s, duration: 10s, pods: 1, gpus_per_pod: 1, queue: team-queue}\nscheduler:\n  policy: kueue\n  kueue:\n    manifests: [q.yaml, c.yaml]\n";
    let yaml = format!("{CLUSTER}{jobs}");
    let q = fixture("kueue/priority-cohort.yaml", |s| s);
    let cm = |edit: &dyn Fn(String) -> String| fixture("kueue/kueue-manager-config.yaml", edit);
    let e = err(load_files(
        "cm-key",
        &yaml,
        &[
            ("q.yaml", &q),
            (
                "c.yaml",
                &cm(&|s| s.replace("controller_manager_config.yaml: |", "config.yaml: |")),
            ),
        ],
    ));
    assert!(
        e.contains(
            "c.yaml:1: ConfigMap kueue-manager-config: no data key controller_manager_config.yaml"
        ) && e.contains("its keys: [config.yaml]"),
        "{e}"
    );
    let e = err(load_files(
        "cm-unknown",
        &yaml,
        &[
            ("q.yaml", &q),
            ("c.yaml", &cm(&|s| s.replace("    health:", "    heath:"))),
        ],
    ));
    assert!(
        e.contains("c.yaml:12:1: Configuration: unknown field") && e.contains("heath"),
        "{e}"
    );
}
