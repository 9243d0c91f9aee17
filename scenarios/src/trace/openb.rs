//! Alibaba GPU cluster trace v2023 ("openb"): pod lists and node lists.
//!
//! Pod list: `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
//! creation_time,deletion_time,scheduled_time`. One pod = one job. Submit =
//! `creation_time`; duration = `deletion_time - scheduled_time`, or
//! `deletion_time - creation_time` when `scheduled_time` is empty (Pending pods). A row
//! whose deletion precedes that start is an error: it happens in none of the 20 published
//! pod lists that carry times.

use std::collections::BTreeMap;

use models::{GpuRequest, JobSpec, NodeSpec, PodRequest};
use sim_core::{SimDuration, SimTime};

use super::error::TraceError;
use super::table::Table;

pub(crate) const POD_HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time";
const POD_COLUMNS: [&str; 9] = [
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "creation_time",
    "deletion_time",
    "scheduled_time",
];
const SHORT_LAYOUT: [&str; 5] = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"];

pub(crate) const NODE_HEADER: &str = "sn,cpu_milli,memory_mib,gpu,model";
const NODE_COLUMNS: [&str; 5] = ["sn", "cpu_milli", "memory_mib", "gpu", "model"];

/// `gpu_spec` / `gpu_models`: `|`-separated model names, empty = any model.
pub(crate) fn split_models(s: &str) -> Vec<String> {
    s.split('|')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn load_pods(path: &str, text: &str) -> Result<Vec<(u64, JobSpec)>, TraceError> {
    let t = Table::parse(path, text, POD_HEADER)?;
    let has_times = t.col("creation_time").is_some() || t.col("deletion_time").is_some();
    if !has_times && SHORT_LAYOUT.iter().all(|c| t.col(c).is_some()) {
        return Err(TraceError::OpenbNoTimes {
            file: path.to_string(),
        });
    }
    let c = t.require(&POD_COLUMNS, POD_HEADER)?;
    let (name, cpu, mem, ngpu, gmilli, spec, created, deleted, scheduled) =
        (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
    let mut jobs = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        let id = t.cell(row, name).non_empty("a non-empty pod name")?;
        let num_gpu_cell = t.cell(row, ngpu);
        let gpu_milli_cell = t.cell(row, gmilli);
        let num_gpu = num_gpu_cell.u32()?;
        let gpu_milli = gpu_milli_cell.u32()?;
        let gpu = GpuRequest::from_count_and_milli(num_gpu, gpu_milli).ok_or_else(|| {
            TraceError::Field {
                file: path.to_string(),
                line: row.line,
                field: "num_gpu/gpu_milli".to_string(),
                found: format!("num_gpu={num_gpu}, gpu_milli={gpu_milli}"),
                expected: "gpu_milli 1000 (whole GPUs), or 1..999 with num_gpu 1 (a share of one GPU), or num_gpu 0".to_string(),
            }
        })?;
        let creation = t.cell(row, created).secs()?;
        let deletion_cell = t.cell(row, deleted);
        let deletion = deletion_cell.secs()?;
        let sched_cell = t.cell(row, scheduled);
        let (start, start_name) = if sched_cell.is_empty() {
            (creation, "creation_time")
        } else {
            (sched_cell.secs()?, "scheduled_time")
        };
        let run = deletion
            .checked_sub(start)
            .ok_or_else(|| deletion_cell.error(format!("a time >= {start_name} ({start})")))?;
        let pod = PodRequest {
            constraints: None,
            cpu_milli: t.cell(row, cpu).quantity()?,
            memory_mib: t.cell(row, mem).quantity()?,
            gpu,
            gpu_models: split_models(t.cell(row, spec).text),
        };
        jobs.push((
            row.line,
            JobSpec {
                id: id.to_string(),
                submit: SimTime::from_secs(creation),
                duration: SimDuration::from_secs(run),
                pods: vec![pod],
                priority: 0,
                queue: None,
            },
        ));
    }
    Ok(jobs)
}

pub(crate) fn load_nodes(
    path: &str,
    text: &str,
    nodes_per_rack: u32,
) -> Result<Vec<NodeSpec>, TraceError> {
    let t = Table::parse(path, text, NODE_HEADER)?;
    let c = t.require(&NODE_COLUMNS, NODE_HEADER)?;
    let (sn, cpu, mem, gpu, model) = (c[0], c[1], c[2], c[3], c[4]);
    let mut first: BTreeMap<&str, u64> = BTreeMap::new();
    let mut nodes = Vec::with_capacity(t.rows.len());
    for (index, row) in t.rows.iter().enumerate() {
        let name = t.cell(row, sn).non_empty("a non-empty node name")?;
        if let Some(&first_line) = first.get(name) {
            return Err(TraceError::Duplicate {
                file: path.to_string(),
                what: "node name",
                id: name.to_string(),
                line: row.line,
                first_line,
            });
        }
        first.insert(name, row.line);
        // GPU indices are 8-bit: a node of 300 GPUs would hand out GPU 44 twice.
        let gpu_cell = t.cell(row, gpu);
        let gpus = gpu_cell.u32()?;
        if gpus > models::MAX_GPUS_PER_NODE {
            return Err(gpu_cell.error(format!(
                "at most {} GPUs per node",
                models::MAX_GPUS_PER_NODE
            )));
        }
        let model = t.cell(row, model).text;
        let rack = u32::try_from(index).unwrap_or(u32::MAX) / nodes_per_rack;
        nodes.push(NodeSpec {
            taints: Vec::new(),
            name: name.to_string(),
            pool: "openb".to_string(),
            cpu_milli: t.cell(row, cpu).quantity()?,
            memory_mib: t.cell(row, mem).quantity()?,
            gpus,
            gpu_model: (gpus > 0 && !model.is_empty()).then(|| model.to_string()),
            gpu_memory_mib: 0,
            rack,
            labels: BTreeMap::new(),
        });
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::super::{ImportOptions, TraceFormat, load_jobs, load_openb_nodes};
    use super::*;

    const H: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time";

    fn load(text: &str) -> Result<Vec<JobSpec>, TraceError> {
        load_jobs(
            "traces/p.csv",
            text,
            TraceFormat::Openb,
            &ImportOptions::default(),
        )
    }

    fn err(text: &str) -> String {
        match load(text) {
            Ok(j) => panic!("expected an error, got {} jobs", j.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn real_first_rows_and_pending_pod() {
        // First rows of openb_pod_list_default.csv, plus a Pending pod (no scheduled_time)
        // and a gpu_spec from the gpuspec variants; no final newline.
        let text = format!(
            "{H}\nopenb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\n\
             openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061\n\
             p-pending,8000,30720,0,0,,BE,Pending,100,250,\n\
             p-spec,4000,4096,2,1000,V100M16|V100M32,LS,Succeeded,10,70,40"
        );
        let jobs = load(&text).unwrap();
        assert_eq!(jobs.len(), 4);
        assert_eq!(jobs[0].id, "openb-pod-0000");
        assert_eq!(jobs[0].duration, SimDuration::from_secs(12_537_496));
        assert_eq!(jobs[1].submit, SimTime::from_secs(427_061));
        assert_eq!(jobs[1].pods[0].gpu, GpuRequest::Shared(460));
        assert_eq!(jobs[1].pods[0].cpu_milli, 6000);
        assert_eq!(jobs[1].pods[0].memory_mib, 12288);
        assert_eq!(jobs[2].pods[0].gpu, GpuRequest::None);
        assert_eq!(jobs[2].duration, SimDuration::from_secs(150));
        assert_eq!(jobs[3].pods[0].gpu, GpuRequest::Whole(2));
        assert_eq!(jobs[3].pods[0].gpu_models, vec!["V100M16", "V100M32"]);
        assert_eq!(jobs[3].duration, SimDuration::from_secs(30));
        assert!(jobs.iter().all(|j| j.pods.len() == 1 && j.priority == 0));
    }

    #[test]
    fn deletion_before_start_is_an_error() {
        let e = err(&format!("{H}\np,1,1,0,0,,LS,Failed,10,50,60\n"));
        assert_eq!(
            e,
            "traces/p.csv:2: field 'deletion_time': found \"50\", expected a time >= scheduled_time (60)"
        );
        let e = err(&format!("{H}\np,1,1,0,0,,LS,Pending,10,5,\n"));
        assert!(e.contains("expected a time >= creation_time (10)"), "{e}");
    }

    #[test]
    fn bad_resources() {
        let e = err(&format!(
            "{H}\na,1,1,0,0,,LS,Running,0,5,0\nb,1,1,-2,1000,,LS,Running,0,5,0\n"
        ));
        assert_eq!(
            e,
            "traces/p.csv:3: field 'num_gpu': found \"-2\", expected a non-negative integer"
        );
        let e = err(&format!("{H}\na,lots,1,0,0,,LS,Running,0,5,0\n"));
        assert!(
            e.contains("traces/p.csv:2: field 'cpu_milli': found \"lots\""),
            "{e}"
        );
        let e = err(&format!("{H}\na,1,,0,0,,LS,Running,0,5,0\n"));
        assert!(
            e.contains("traces/p.csv:2: field 'memory_mib': found \"\""),
            "{e}"
        );
        let e = err(&format!("{H}\na,1,1,2,500,,LS,Running,0,5,0\n"));
        assert!(
            e.contains(
                "traces/p.csv:2: field 'num_gpu/gpu_milli': found \"num_gpu=2, gpu_milli=500\""
            ),
            "{e}"
        );
        let e = err(&format!("{H}\na,1,1,1,0,,LS,Running,0,5,0\n"));
        assert!(e.contains("num_gpu=1, gpu_milli=0"), "{e}");
        let e = err(&format!("{H}\na,1,1,1,1000,,LS,Running,1.5,5,0\n"));
        assert!(e.contains("field 'creation_time': found \"1.5\""), "{e}");
        let e = err(&format!("{H}\na,1,1,1,1000,,LS,Running,0,,0\n"));
        assert!(e.contains("field 'deletion_time': found \"\""), "{e}");
        let e = err(&format!("{H}\n,1,1,1,1000,,LS,Running,0,5,0\n"));
        assert!(
            e.contains("field 'name': found \"\", expected a non-empty pod name"),
            "{e}"
        );
        let e = err(&format!(
            "{H}\na,1,1,1,1000,,LS,Running,99999999999,99999999999,0\n"
        ));
        assert!(
            e.contains("field 'creation_time'") && e.contains("up to 18446744073"),
            "{e}"
        );
    }

    #[test]
    fn malformed_rows_and_headers() {
        let e = err(&format!("{H}\na,1,1,0,0,,LS,Running,0,5\n"));
        assert!(
            e.starts_with("traces/p.csv:2: wrong number of fields: found 10, expected 11"),
            "{e}"
        );
        let e =
            err("name,cpu_milli,memory_mib,num_gpu,gpu_milli\nopenb-pod-0000,12000,16384,1,1000\n");
        assert!(
            e.starts_with("traces/p.csv:1: this is the 5-column openb pod layout"),
            "{e}"
        );
        assert!(e.contains("no creation/deletion times"), "{e}");
        let e = err("name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time\na,1,1,0,0,0\n");
        assert!(e.starts_with("traces/p.csv:1: header is missing column(s) 'gpu_spec', 'deletion_time', 'scheduled_time'"), "{e}");
        assert!(e.contains(H), "{e}");
        let e = err(&format!(
            "{H}\na,1,1,0,0,,LS,Running,0,5,0\nb,1,1,0,0,,LS,Running,0,5,0\n\na,1,1,0,0,,LS,Running,0,5,0\n"
        ));
        assert_eq!(
            e,
            "traces/p.csv:5: duplicate job id \"a\": already used on line 2"
        );
    }

    #[test]
    fn nodes() {
        let text = "sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\nn1,96000,786432,8,G2\nn2,32000,65536,0,\nn3,1,1,0,T4";
        let nodes = load_openb_nodes("n.csv", text, 2).unwrap();
        assert_eq!(nodes.len(), 4);
        assert_eq!(
            nodes.iter().map(|n| n.rack).collect::<Vec<_>>(),
            vec![0, 0, 1, 1]
        );
        assert_eq!(nodes[0].gpu_model.as_deref(), Some("P100"));
        assert_eq!(nodes[1].gpus, 8);
        assert_eq!(nodes[2].gpu_model, None);
        assert_eq!(nodes[3].gpu_model, None);
        assert!(
            nodes
                .iter()
                .all(|n| n.pool == "openb" && n.gpu_memory_mib == 0 && n.labels.is_empty())
        );
        let e = load_openb_nodes("n.csv", text, 0).unwrap_err().to_string();
        assert!(e.contains("nodes_per_rack"), "{e}");
        let e = load_openb_nodes(
            "n.csv",
            "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,-1,T4\n",
            1,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "n.csv:2: field 'gpu': found \"-1\", expected a non-negative integer"
        );
        let e = load_openb_nodes(
            "n.csv",
            "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,1,T4\nn0,1,1,1,T4\n",
            1,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "n.csv:3: duplicate node name \"n0\": already used on line 2"
        );
        let e = load_openb_nodes("n.csv", "sn,cpu,memory_mib,gpu,model\nn0,1,1,1,T4\n", 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing column(s) 'cpu_milli'"), "{e}");
        // Regression: more GPUs than the 8-bit GPU indices can name, or a capacity whose
        // sums could wrap, is bad input naming the file and line (it used to over-commit).
        let e = load_openb_nodes(
            "n.csv",
            "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,8,T4\nn1,64000,1024,300,T4\n",
            1,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "n.csv:3: field 'gpu': found \"300\", expected at most 255 GPUs per node"
        );
        let e = load_openb_nodes(
            "n.csv",
            "sn,cpu_milli,memory_mib,gpu,model\nn0,18446744073709551615,1,8,T4\n",
            1,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("n.csv:2: field 'cpu_milli': found \"18446744073709551615\""),
            "{e}"
        );
        let e = load_openb_nodes("n.csv", "", 1).unwrap_err().to_string();
        assert!(e.contains("n.csv: empty file"), "{e}");
    }
}
