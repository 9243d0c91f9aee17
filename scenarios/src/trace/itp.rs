//! Microsoft ITP cluster traces (ElasticFlow release): `raw/clusterNN.csv` with
//! `job_id,submission_time,duration,num_gpu`. The `elasticflow/` copies add generated
//! columns; columns are located by header name and extra ones are ignored.

use models::{JobSpec, PodRequest, split_gpus};
use sim_core::{SimDuration, SimTime};

use super::error::TraceError;
use super::table::Table;

pub(crate) const HEADER: &str = "job_id,submission_time,duration,num_gpu";
const COLUMNS: [&str; 4] = ["job_id", "submission_time", "duration", "num_gpu"];

pub(crate) fn load(
    path: &str,
    text: &str,
    max_gpus_per_pod: u32,
) -> Result<Vec<(u64, JobSpec)>, TraceError> {
    let t = Table::parse(path, text, HEADER)?;
    let c = t.require(&COLUMNS, HEADER)?;
    let (id, submit, duration, gpus) = (c[0], c[1], c[2], c[3]);
    let mut jobs = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        let job_id = t.cell(row, id).non_empty("a non-empty job id")?;
        let submit = t.cell(row, submit).secs()?;
        let duration = t.cell(row, duration).secs()?;
        let gpus = t.cell(row, gpus).job_gpus(max_gpus_per_pod)?;
        jobs.push((
            row.line,
            JobSpec {
                id: job_id.to_string(),
                submit: SimTime::from_secs(submit),
                duration: SimDuration::from_secs(duration),
                pods: split_gpus(gpus, max_gpus_per_pod)
                    .into_iter()
                    .map(PodRequest::gpus)
                    .collect(),
                priority: 0,
                queue: None,
            },
        ));
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::super::{ImportOptions, TraceFormat, load_jobs};
    use super::*;

    fn load(text: &str) -> Result<Vec<JobSpec>, TraceError> {
        load_jobs(
            "itp/c.csv",
            text,
            TraceFormat::Itp,
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
    fn raw_and_elasticflow_layouts() {
        // First rows of raw/cluster01.csv (no final newline, as published).
        let raw = "job_id,submission_time,duration,num_gpu\n\
                   965d744f-0445-c1a8-12af-97e4c536c66e,1932025,2429,64\n\
                   fb10987f-20ac-3703-eb67-146a77a6e17c,2000581,1532,1";
        let jobs = load(raw).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].pods.len(), 8);
        assert_eq!(jobs[0].gpu_milli(), 64_000);
        assert_eq!(jobs[0].submit, SimTime::from_secs(1_932_025));
        assert_eq!(jobs[0].duration, SimDuration::from_secs(2429));
        assert_eq!(jobs[1].pods, vec![PodRequest::gpus(1)]);
        // The same jobs in the elasticflow/ layout: extra columns, different order.
        let ef = "job_id,submission_time,num_iteration,model_name,deadline,batch_size,num_gpu,duration\n\
                  965d744f-0445-c1a8-12af-97e4c536c66e,1932025,45775,resnet50,1933904,256,64,2429\n\
                  fb10987f-20ac-3703-eb67-146a77a6e17c,2000581,11197,gpt2,2002204,128,1,1532\n\n";
        assert_eq!(load(ef).unwrap(), jobs);
        // A 12-GPU job with 8 GPUs per pod.
        let jobs = load("job_id,submission_time,duration,num_gpu\nx,0,1,12").unwrap();
        assert_eq!(jobs[0].pods, vec![PodRequest::gpus(8), PodRequest::gpus(4)]);
        let opts = ImportOptions {
            max_gpus_per_pod: 4,
            ..ImportOptions::default()
        };
        let jobs = load_jobs(
            "c.csv",
            "job_id,submission_time,duration,num_gpu\nx,0,1,12",
            TraceFormat::Itp,
            &opts,
        )
        .unwrap();
        assert_eq!(jobs[0].pods, vec![PodRequest::gpus(4); 3]);
    }

    #[test]
    fn bad_rows() {
        let h = "job_id,submission_time,duration,num_gpu";
        assert_eq!(
            err(&format!("{h}\na,0,10,1\nb,5,-3,1")),
            "itp/c.csv:3: field 'duration': found \"-3\", expected a non-negative integer"
        );
        assert!(
            err(&format!("{h}\na,0,10,x")).contains("itp/c.csv:2: field 'num_gpu': found \"x\"")
        );
        assert!(
            err(&format!("{h}\na,,10,1"))
                .contains("itp/c.csv:2: field 'submission_time': found \"\"")
        );
        assert!(err(&format!("{h}\na,0,10,99999999999")).contains("up to 4294967295"));
        assert!(err(&format!("{h}\na,0,10")).starts_with("itp/c.csv:2: wrong number of fields: found 3, expected 4 (header `job_id,submission_time,duration,num_gpu`)"));
        assert!(err(&format!("{h}\na,0,10,1,7")).contains("found 5, expected 4"));
        assert_eq!(
            err(&format!("{h}\na,0,10,1\nb,0,10,1\na,1,1,1")),
            "itp/c.csv:4: duplicate job id \"a\": already used on line 2"
        );
        let e = err("job_id,submit_time,duration,gpus\na,0,1,1");
        assert!(e.starts_with("itp/c.csv:1: header is missing column(s) 'submission_time', 'num_gpu'; expected a header like `job_id,submission_time,duration,num_gpu`, found `job_id,submit_time,duration,gpus`"), "{e}");
        assert!(err("").contains("itp/c.csv: empty file"));
        assert!(err(h).contains("itp/c.csv: no data rows"));
    }
}
