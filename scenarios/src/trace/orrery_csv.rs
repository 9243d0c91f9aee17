//! Orrery's own CSV trace format: one row per job of `pods` identical pods.
//! See `docs/trace-formats.md` for the full description.

use models::{GPU_MILLI, GpuRequest, JobSpec, PodRequest};
use sim_core::{SimDuration, SimTime};

use super::error::TraceError;
use super::openb::split_models;
use super::table::{Cell, Table};

/// Columns every orrery-csv file must have.
pub const REQUIRED_COLUMNS: [&str; 5] = ["id", "submit", "duration", "pods", "gpus_per_pod"];
/// Columns an orrery-csv file may have (an empty cell takes the default).
pub const OPTIONAL_COLUMNS: [&str; 6] = [
    "cpu_milli",
    "memory_mib",
    "gpu_milli",
    "gpu_models",
    "priority",
    "queue",
];
/// Upper bound on `pods`, so a typo cannot ask for billions of pods.
pub const MAX_PODS: u32 = models::MAX_PODS_PER_JOB;

const HEADER: &str = "id,submit,duration,pods,gpus_per_pod";

pub(crate) fn load(path: &str, text: &str) -> Result<Vec<(u64, JobSpec)>, TraceError> {
    let t = Table::parse(path, text, HEADER)?;
    let valid = || {
        REQUIRED_COLUMNS
            .iter()
            .chain(OPTIONAL_COLUMNS.iter())
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    };
    for h in &t.header {
        if !REQUIRED_COLUMNS.contains(&h.as_str()) && !OPTIONAL_COLUMNS.contains(&h.as_str()) {
            return Err(TraceError::UnknownColumn {
                file: path.to_string(),
                column: h.clone(),
                valid: valid(),
            });
        }
    }
    let c = t.require(&REQUIRED_COLUMNS, HEADER)?;
    let (id, submit, duration, pods, gpus_per_pod) = (c[0], c[1], c[2], c[3], c[4]);
    let cpu = t.col("cpu_milli");
    let mem = t.col("memory_mib");
    let gmilli = t.col("gpu_milli");
    let models = t.col("gpu_models");
    let prio = t.col("priority");
    let queue_col = t.col("queue");
    let mut jobs = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        let opt = |idx: Option<usize>| idx.map(|i| t.cell(row, i)).filter(|c| !c.is_empty());
        let job_id = t.cell(row, id).non_empty("a non-empty job id")?;
        let submit = SimTime(time_value(t.cell(row, submit))?.as_nanos());
        let duration = time_value(t.cell(row, duration))?;
        let pods_cell = t.cell(row, pods);
        let n_pods = pods_cell.u32()?;
        if !(1..=MAX_PODS).contains(&n_pods) {
            return Err(pods_cell.error(format!("an integer from 1 to {MAX_PODS}")));
        }
        let gpus = t.cell(row, gpus_per_pod).u32()?;
        let gpu = gpu_request(gpus, opt(gmilli))?;
        let pod = PodRequest {
            constraints: None,
            cpu_milli: opt(cpu).map(|c| c.quantity()).transpose()?.unwrap_or(0),
            memory_mib: opt(mem).map(|c| c.quantity()).transpose()?.unwrap_or(0),
            gpu,
            gpu_models: opt(models)
                .map(|c| split_models(c.text))
                .unwrap_or_default(),
        };
        let priority = match opt(prio) {
            None => 0,
            Some(c) => c
                .text
                .parse::<i32>()
                .map_err(|_| c.error(format!("an integer from {} to {}", i32::MIN, i32::MAX)))?,
        };
        jobs.push((
            row.line,
            JobSpec {
                id: job_id.to_string(),
                submit,
                duration,
                pods: vec![pod; n_pods as usize],
                priority,
                queue: opt(queue_col)
                    .map(|c| c.text.trim().to_string())
                    .filter(|q| !q.is_empty()),
            },
        ));
    }
    Ok(jobs)
}

/// Seconds (`90`, `1.5`) or a human duration (`90s`, `1.5h`, `1d2h`).
fn time_value(cell: Cell<'_>) -> Result<SimDuration, TraceError> {
    cell.text.parse::<SimDuration>().map_err(|_| {
        cell.error("a number of seconds >= 0 or a duration such as \"90s\", \"1.5h\", \"2d\"")
    })
}

/// `gpus_per_pod` whole GPUs, or a share (`gpu_milli` < 1000) of exactly one GPU.
fn gpu_request(gpus: u32, milli: Option<Cell<'_>>) -> Result<GpuRequest, TraceError> {
    let Some(cell) = milli else {
        return Ok(GpuRequest::from_count_and_milli(gpus, GPU_MILLI).unwrap_or(GpuRequest::None));
    };
    let m = cell.u32()?;
    if gpus == 0 {
        return if m == 0 {
            Ok(GpuRequest::None)
        } else {
            Err(cell.error("empty or 0 when gpus_per_pod is 0"))
        };
    }
    GpuRequest::from_count_and_milli(gpus, m).ok_or_else(|| {
        if gpus == 1 {
            cell.error("1..1000 thousandths of a GPU")
        } else {
            cell.error(format!(
                "1000 (or empty): a share below 1000 needs gpus_per_pod = 1, this row has {gpus}"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::{ImportOptions, TraceFormat, load_jobs};
    use super::*;

    fn load(text: &str) -> Result<Vec<JobSpec>, TraceError> {
        load_jobs(
            "my.csv",
            text,
            TraceFormat::OrreryCsv,
            &ImportOptions::default(),
        )
    }

    fn err(text: &str) -> String {
        match load(text) {
            Ok(j) => panic!("expected an error, got {} jobs", j.len()),
            Err(e) => e.to_string(),
        }
    }

    /// The example of docs/trace-formats.md.
    const DOC_EXAMPLE: &str = "\
id,submit,duration,pods,gpus_per_pod,cpu_milli,memory_mib,gpu_milli,gpu_models,priority
train-llm,0,36h,4,8,64000,524288,,H100|A100,100
finetune,90,2h30m,1,2,16000,131072,,,0
notebook,1.5m,8h,1,1,4000,16384,250,,-10
etl,3600,1200,3,0,8000,32768,,,
";

    #[test]
    fn doc_example() {
        let jobs = load(DOC_EXAMPLE).unwrap();
        assert_eq!(jobs.len(), 4);
        let llm = &jobs[0];
        assert_eq!(llm.submit, SimTime::ZERO);
        assert_eq!(llm.duration, SimDuration::from_secs(36 * 3600));
        assert_eq!(llm.pods.len(), 4);
        assert_eq!(llm.pods[0].gpu, GpuRequest::Whole(8));
        assert_eq!(llm.pods[0].cpu_milli, 64_000);
        assert_eq!(llm.pods[0].memory_mib, 524_288);
        assert_eq!(llm.pods[0].gpu_models, vec!["H100", "A100"]);
        assert_eq!(llm.priority, 100);
        assert_eq!(llm.gpu_milli(), 32_000);
        assert_eq!(jobs[1].submit, SimTime::from_secs(90));
        assert_eq!(jobs[1].duration, SimDuration::from_secs(9000));
        assert!(jobs[1].pods[0].gpu_models.is_empty());
        assert_eq!(jobs[2].submit, SimTime::from_secs(90));
        assert_eq!(jobs[2].pods[0].gpu, GpuRequest::Shared(250));
        assert_eq!(jobs[2].priority, -10);
        assert_eq!(
            jobs[3].pods,
            vec![
                PodRequest {
                    constraints: None,
                    cpu_milli: 8000,
                    memory_mib: 32768,
                    gpu: GpuRequest::None,
                    gpu_models: vec![]
                };
                3
            ]
        );
        assert_eq!(jobs[3].priority, 0);
    }

    #[test]
    fn minimal_columns_any_order() {
        let jobs = load("gpus_per_pod,pods,duration,submit,id\n1,2,60,0,a").unwrap();
        assert_eq!(jobs[0].pods, vec![PodRequest::gpus(1); 2]);
        assert_eq!(jobs[0].duration, SimDuration::from_secs(60));
    }

    #[test]
    fn bad_rows() {
        let h = "id,submit,duration,pods,gpus_per_pod,gpu_milli,priority";
        let e = err("id,submit,duration,pods,gpus_per_pod,gpu_mili\na,0,1,1,1,500\n");
        assert_eq!(
            e,
            "my.csv:1: unknown column 'gpu_mili'; valid columns are: id, submit, duration, pods, gpus_per_pod, cpu_milli, memory_mib, gpu_milli, gpu_models, priority, queue"
        );
        let e = err("id,submit,duration,gpus_per_pod\na,0,1,1\n");
        assert!(
            e.starts_with("my.csv:1: header is missing column(s) 'pods'"),
            "{e}"
        );
        assert_eq!(
            err(&format!("{h}\na,0,1,0,1,,\n")),
            "my.csv:2: field 'pods': found \"0\", expected an integer from 1 to 100000"
        );
        assert!(
            err(&format!("{h}\na,0,1,1000000,1,,\n")).contains("field 'pods': found \"1000000\"")
        );
        assert!(err(&format!("{h}\na,0,1,1,-1,,\n")).contains(
            "my.csv:2: field 'gpus_per_pod': found \"-1\", expected a non-negative integer"
        ));
        assert!(err(&format!("{h}\na,0,1,1,2,500,\n")).contains("my.csv:2: field 'gpu_milli': found \"500\", expected 1000 (or empty): a share below 1000 needs gpus_per_pod = 1, this row has 2"));
        assert!(
            err(&format!("{h}\na,0,1,1,1,1500,\n"))
                .contains("field 'gpu_milli': found \"1500\", expected 1..1000")
        );
        assert!(err(&format!("{h}\na,0,1,1,1,0,\n")).contains("field 'gpu_milli': found \"0\""));
        assert!(
            err(&format!("{h}\na,0,1,1,0,500,\n"))
                .contains("expected empty or 0 when gpus_per_pod is 0")
        );
        assert!(err(&format!("{h}\na,-5,1,1,1,,\n")).contains("my.csv:2: field 'submit': found \"-5\", expected a number of seconds >= 0 or a duration"));
        assert!(
            err(&format!("{h}\na,0,soon,1,1,,\n")).contains("field 'duration': found \"soon\"")
        );
        assert!(err(&format!("{h}\na,0,,1,1,,\n")).contains("field 'duration': found \"\""));
        assert!(err(&format!("{h}\na,0,1,1,1,,high\n")).contains(
            "field 'priority': found \"high\", expected an integer from -2147483648 to 2147483647"
        ));
        assert!(
            err(&format!("{h}\n,0,1,1,1,,\n"))
                .contains("field 'id': found \"\", expected a non-empty job id")
        );
        assert!(
            err(&format!("{h}\na,0,1,1,1\n"))
                .starts_with("my.csv:2: wrong number of fields: found 5, expected 7")
        );
        assert_eq!(
            err(&format!("{h}\na,0,1,1,1,,\n\nb,0,1,1,1,,\na,0,1,1,1,,\n")),
            "my.csv:5: duplicate job id \"a\": already used on line 2"
        );
        assert!(err("").contains(
            "my.csv: empty file: expected the header line `id,submit,duration,pods,gpus_per_pod`"
        ));
        assert!(err(h).contains("my.csv: no data rows"));
    }
}
