//! `orrery snapshot`: a scenario whose initial state is a live cluster's, from the output
//! of a few `kubectl get … -o yaml` calls (docs/scenario-format.md, "A snapshot of a live
//! cluster"). The inputs are copied into the output folder beside the scenario, so the
//! folder is self-contained; the scenario is built once before anything is written, so a
//! bad input is reported (exit 2) and nothing half-made is left.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use scenarios::{FileSource, Overrides, ScenarioError};
use sim_core::SimDuration;

use crate::{Failure, bad_input};

#[derive(clap::Args, Debug)]
pub struct SnapshotArgs {
    /// `kubectl get nodes -o yaml` output (repeatable).
    #[arg(long, required = true)]
    nodes: Vec<PathBuf>,
    /// `kubectl get pods -A -o yaml` output (repeatable): Running pods become the initial
    /// state (pinned to their nodes), Pending ones the work waiting at the start.
    #[arg(long, required = true)]
    pods: Vec<PathBuf>,
    /// Kueue objects (`kubectl get resourceflavors,clusterqueues,localqueues -A -o yaml`,
    /// the List as printed, or the manifests they were applied from); with it the
    /// scenario's policy is `kueue` and pods' queue-name labels are honoured (repeatable).
    #[arg(long)]
    kueue: Vec<PathBuf>,
    /// Run time left of every Running pod (a pod's `orrery.dev/run-time` annotation wins).
    #[arg(long)]
    remaining: SimDuration,
    /// Run time of every Pending gang once it runs (the first pod's annotation wins).
    #[arg(long)]
    pending_run_time: SimDuration,
    /// Leave out this namespace's pods (repeatable), e.g. kube-system.
    #[arg(long = "skip-namespace")]
    skip_namespaces: Vec<String>,
    /// Output folder: scenario.yaml and copies of the inputs.
    #[arg(long, default_value = "out/snapshot")]
    out: PathBuf,
}

/// The files given, by their names in the output folder: (where they are, their text).
struct Inputs(BTreeMap<String, (PathBuf, String)>);

impl FileSource for Inputs {
    fn path(&self, name: &str) -> Option<PathBuf> {
        self.0.get(name).map(|(p, _)| p.clone())
    }
    fn read(&self, name: &str) -> Result<(String, String), ScenarioError> {
        self.0
            .get(name)
            .map(|(p, t)| (p.display().to_string(), t.clone()))
            .ok_or_else(|| ScenarioError::Read {
                path: name.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not an input"),
            })
    }
}

fn read_inputs(
    files: &mut BTreeMap<String, (PathBuf, String)>,
    stem: &str,
    paths: &[PathBuf],
) -> Result<Vec<String>, Failure> {
    let mut names = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let text = scenarios::scenario::read_regular_file(p)
            .map_err(|e| bad_input(anyhow!("{}: cannot read: {e}", p.display())))?;
        let name = if paths.len() == 1 {
            format!("{stem}.yaml")
        } else {
            format!("{stem}-{}.yaml", i + 1)
        };
        files.insert(name.clone(), (p.clone(), text));
        names.push(name);
    }
    Ok(names)
}

fn list(names: &[String]) -> String {
    format!("[{}]", names.join(", "))
}

fn show(d: SimDuration) -> String {
    d.to_string() // exact, and parsed back by the scenario reader
}

pub fn snapshot(args: SnapshotArgs) -> Result<(), Failure> {
    let mut files = BTreeMap::new();
    let nodes = read_inputs(&mut files, "nodes", &args.nodes)?;
    let pods = read_inputs(&mut files, "pods", &args.pods)?;
    let kueue = read_inputs(&mut files, "kueue", &args.kueue)?;
    let mut yaml = String::from(
        "# A snapshot of a live cluster, written by `orrery snapshot` (docs/scenario-format.md,\n\
         # \"A snapshot of a live cluster\"). Run it with: orrery run scenario.yaml\n\
         name: snapshot\n\
         cluster:\n",
    );
    yaml.push_str(&format!(
        "  kubernetes_nodes:\n    files: {}\n",
        list(&nodes)
    ));
    yaml.push_str(&format!(
        "workload:\n  kubernetes_pods:\n    files: {}\n    remaining: {}\n    pending_run_time: {}\n",
        list(&pods),
        show(args.remaining),
        show(args.pending_run_time)
    ));
    if !args.skip_namespaces.is_empty() {
        yaml.push_str(&format!(
            "    skip_namespaces: {}\n",
            list(&args.skip_namespaces)
        ));
    }
    if !kueue.is_empty() {
        yaml.push_str(&format!(
            "scheduler:\n  policy: kueue\n  kueue:\n    manifests: {}\n",
            list(&kueue)
        ));
    }
    let path = args.out.join("scenario.yaml").display().to_string();
    let sc =
        scenarios::scenario::build(&path, &yaml, &Inputs(files.clone()), &Overrides::default())
            .map_err(bad_input)?;
    // The model's own start-up checks (e.g. a job larger than its ClusterQueue can ever
    // get): a scenario that cannot start is refused here, not written.
    models::sim::ClusterSim::new(sc.cluster.clone(), sc.workload.clone(), &sc.config).map_err(
        |e| {
            let hint = if kueue.is_empty() {
                ""
            } else {
                " (a pod without the kueue.x-k8s.io/queue-name label is put in the first ClusterQueue, docs/policies.md; Kueue would not manage it)"
            };
            bad_input(anyhow!("{path}: the snapshot's scenario cannot start: {e}{hint}"))
        },
    )?;
    let start = sim_core::SimTime::ZERO;
    let running = sc
        .workload
        .jobs
        .iter()
        .filter(|j| j.submit == start)
        .count();
    let pending = sc.workload.jobs.len() - running;
    let mut out: Vec<(&str, Vec<u8>)> = vec![("scenario.yaml", yaml.clone().into_bytes())];
    for (name, (_, text)) in &files {
        out.push((name.as_str(), text.clone().into_bytes()));
    }
    crate::write_out(&args.out, &out)?;
    println!(
        "wrote {}: {} nodes, {} running pods (each constrained to its node), {} pending gangs{}",
        Path::new(&path).display(),
        sc.cluster.nodes.len(),
        running,
        pending,
        if kueue.is_empty() {
            ""
        } else {
            ", Kueue queues"
        }
    );
    println!("run it with: orrery run {path}");
    Ok(())
}
