//! Reader for the openb node and pod lists, converted the way the artefact's
//! `data/pod_csv_to_yaml.py` converts them.

use super::csv::Table;
use super::error::FgdError;

/// One GPU node (`openb_node_list_gpu_node.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRow {
    pub name: String,
    pub cpu_milli: i64,
    pub memory_mib: i64,
    pub gpus: usize,
    pub model: String,
}

/// One pod as the artefact sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRow {
    pub name: String,
    pub cpu_milli: i64,
    pub memory_mib: i64,
    /// GPUs requested (0 for CPU-only pods).
    pub num_gpu: i64,
    /// Per-GPU milli, clipped to 0…1000; 0 for CPU-only pods.
    pub gpu_milli: i64,
    /// `gpu_spec` as written (`|`-separated models, empty = any); empty for CPU-only pods.
    pub gpu_spec: String,
}

impl PodRow {
    /// Total GPU request in milli-GPU (`PodResource.TotalMilliGpu`).
    pub fn total_milli(&self) -> i64 {
        self.gpu_milli * self.num_gpu
    }
}

/// Parse the node list; nodes without GPUs are skipped (the artefact uses the GPU nodes only).
pub fn parse_nodes(file: &str, text: &str) -> Result<Vec<NodeRow>, FgdError> {
    let t = Table::parse(file, text)?;
    let (c_name, c_cpu, c_mem, c_gpu, c_model) = (
        t.col("sn")?,
        t.col("cpu_milli")?,
        t.col("memory_mib")?,
        t.col("gpu")?,
        t.col("model")?,
    );
    let mut out = Vec::with_capacity(t.len());
    for r in t.rows() {
        let name = r.str(c_name);
        if name.is_empty() {
            return Err(r.err(c_name, "empty node name"));
        }
        let cpu = r.i64(c_cpu)?;
        let mem = r.i64(c_mem)?;
        let gpus = r.i64(c_gpu)?;
        if !(0..=8).contains(&gpus) {
            return Err(r.err(c_gpu, format!("{gpus} GPUs (expected 0…8)")));
        }
        if cpu < 0 || mem < 0 {
            return Err(r.err(c_cpu, "negative capacity"));
        }
        if gpus == 0 {
            continue;
        }
        out.push(NodeRow {
            name: name.to_string(),
            cpu_milli: cpu,
            memory_mib: mem,
            gpus: gpus as usize,
            model: r.str(c_model).to_string(),
        });
    }
    if out.is_empty() {
        return Err(FgdError::NoGpuNodes {
            file: file.to_string(),
        });
    }
    Ok(out)
}

/// Parse a pod list (`openb_pod_list_*.csv`; the `multigpu*` files lack `gpu_spec`).
pub fn parse_pods(file: &str, text: &str) -> Result<Vec<PodRow>, FgdError> {
    let t = Table::parse(file, text)?;
    let (c_name, c_cpu, c_mem, c_ngpu, c_milli) = (
        t.col("name")?,
        t.col("cpu_milli")?,
        t.col("memory_mib")?,
        t.col("num_gpu")?,
        t.col("gpu_milli")?,
    );
    let c_spec = t.opt_col("gpu_spec");
    let mut out = Vec::with_capacity(t.len());
    for r in t.rows() {
        let name = r.str(c_name);
        if name.is_empty() {
            return Err(r.err(c_name, "empty pod name"));
        }
        let mut cpu = r.i64(c_cpu)?;
        if cpu < 0 {
            return Err(r.err(c_cpu, "negative CPU request"));
        }
        if cpu == 0 {
            // The scheduler's non-zero request rule (never triggered by the openb traces).
            cpu = 100;
        }
        let mem = r.i64(c_mem)?;
        if mem < 0 {
            return Err(r.err(c_mem, "negative memory request"));
        }
        let num_gpu = r.i64(c_ngpu)?;
        if !(0..=8).contains(&num_gpu) {
            return Err(r.err(c_ngpu, format!("{num_gpu} GPUs (expected 0…8)")));
        }
        let raw_milli = r.i64(c_milli)?;
        let (gpu_milli, gpu_spec) = if num_gpu == 0 {
            (0, String::new())
        } else {
            let m = raw_milli.clamp(0, 1000);
            let spec = c_spec.map(|c| r.str(c)).unwrap_or("");
            (m, spec.to_string())
        };
        out.push(PodRow {
            name: name.to_string(),
            cpu_milli: cpu,
            memory_mib: mem,
            num_gpu,
            gpu_milli,
            gpu_spec,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_and_field() {
        let e = parse_pods(
            "p.csv",
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli\na,1,2,1,500\nb,x,2,1,5\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.csv:3: field `cpu_milli`: `x` is not an integer (invalid digit found in string)"
        );
        let e = parse_nodes("n.csv", "sn,cpu_milli,memory_mib,gpu\n").unwrap_err();
        assert_eq!(e.to_string(), "n.csv:1: missing column `model`");
        let e = parse_nodes("n.csv", "sn,cpu_milli,memory_mib,gpu,model\na,1,2\n").unwrap_err();
        assert!(
            e.to_string().starts_with("n.csv:2: field `(record)`"),
            "{e}"
        );
        assert!(matches!(
            parse_nodes("n.csv", ""),
            Err(FgdError::Empty { .. })
        ));
    }

    #[test]
    fn clips_gpu_milli_and_drops_spec_of_cpu_pods() {
        let p = parse_pods(
            "p.csv",
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\na,1,2,1,1500,T4\nb,1,2,0,300,T4\n",
        )
        .unwrap();
        assert_eq!((p[0].gpu_milli, p[0].gpu_spec.as_str()), (1000, "T4"));
        assert_eq!((p[1].gpu_milli, p[1].gpu_spec.as_str()), (0, ""));
    }
}
