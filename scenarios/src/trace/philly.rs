//! Microsoft Philly job table as processed by the Pollux authors (`philly.csv`):
//! `timestamp,duration,num_gpus,gpu_time,cluster`. No id column: a job's id is
//! `philly-{line}`. Submit = seconds since the earliest `timestamp` of the rows kept (after
//! the optional virtual-cluster filter); rows are not sorted in the file. `gpu_time`
//! (= duration × num_gpus) is not used.

use std::collections::BTreeSet;

use models::{JobSpec, PodRequest, split_gpus};
use sim_core::{SimDuration, SimTime};

use super::error::TraceError;
use super::table::{Cell, MAX_SECS, Table};

pub(crate) const HEADER: &str = "timestamp,duration,num_gpus,gpu_time,cluster";
const COLUMNS: [&str; 4] = ["timestamp", "duration", "num_gpus", "cluster"];

pub(crate) fn load(
    path: &str,
    text: &str,
    max_gpus_per_pod: u32,
    vc: Option<&str>,
) -> Result<Vec<(u64, JobSpec)>, TraceError> {
    let t = Table::parse(path, text, HEADER)?;
    // The Pollux artefact ships its workloads beside philly.csv: name the right format.
    if t.col("application").is_some() && t.col("num_replicas").is_some() {
        return Err(TraceError::OtherFormat {
            file: path.to_string(),
            format: "philly".into(),
            suggest: "pollux".into(),
            found: t.header.join(","),
        });
    }
    let c = t.require(&COLUMNS, HEADER)?;
    let (ts, dur, gpus, cluster) = (c[0], c[1], c[2], c[3]);
    let mut kept = Vec::with_capacity(t.rows.len());
    let mut clusters = BTreeSet::new();
    for row in &t.rows {
        let vc_here = t.cell(row, cluster).text;
        if let Some(want) = vc
            && vc_here != want
        {
            clusters.insert(vc_here);
            continue;
        }
        let ts_cell = t.cell(row, ts);
        let secs = parse_timestamp(ts_cell.text)
            .ok_or_else(|| ts_cell.error("a valid date and time `YYYY-MM-DD HH:MM:SS`"))?;
        let duration = float_secs(t.cell(row, dur))?;
        let gpus = t.cell(row, gpus).job_gpus(max_gpus_per_pod)?;
        kept.push((row.line, secs, ts_cell, duration, gpus));
    }
    let Some(earliest) = kept.iter().map(|k| k.1).min() else {
        return Err(TraceError::NoRowsForVc {
            file: path.to_string(),
            vc: vc.unwrap_or_default().to_string(),
            available: clusters.into_iter().collect::<Vec<_>>().join(", "),
        });
    };
    let mut jobs = Vec::with_capacity(kept.len());
    for (line, secs, cell, duration, gpus) in kept {
        let offset = u64::try_from(secs - earliest).unwrap_or(u64::MAX);
        if offset > MAX_SECS {
            return Err(cell.error("a timestamp within 584 years of the earliest one"));
        }
        jobs.push((
            line,
            JobSpec {
                id: format!("philly-{line}"),
                submit: SimTime::from_secs(offset),
                duration,
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

/// A finite, non-negative number of seconds such as `66.0`.
fn float_secs(cell: Cell<'_>) -> Result<SimDuration, TraceError> {
    let expected = "a finite number of seconds >= 0";
    let v: f64 = cell.text.parse().map_err(|_| cell.error(expected))?;
    if !v.is_finite() || v < 0.0 {
        return Err(cell.error(expected));
    }
    SimDuration::from_secs_f64(v).ok_or_else(|| cell.error(expected))
}

/// `YYYY-MM-DD HH:MM:SS` (proleptic Gregorian, no time zone) as seconds since
/// 1970-01-01 00:00:00; `None` if malformed or not a real date/time.
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = b.get(from..to)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter()
            .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + se)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::super::{ImportOptions, TraceFormat, load_jobs};
    use super::*;

    /// The first lines of the real `philly.csv` (rows 1 and 2 are out of order: the second
    /// was submitted 49 minutes before the first; row 3 is the earliest), plus the file's
    /// trailing blank line.
    const EXCERPT: &str = "timestamp,duration,num_gpus,gpu_time,cluster\n\
        2017-10-09 07:01:55,66.0,1,66.0,11cb48\n\
        2017-10-09 06:13:03,2951.0,1,2951.0,6214e9\n\
        2017-09-29 07:58:32,860662.0,1,860662.0,6c71a0\n\
        2017-10-09 06:13:36,2759.0,1,2759.0,6214e9\n\n";

    fn load(text: &str, vc: Option<&str>) -> Result<Vec<JobSpec>, TraceError> {
        let opts = ImportOptions {
            philly_vc: vc.map(str::to_string),
            ..ImportOptions::default()
        };
        load_jobs("philly.csv", text, TraceFormat::Philly, &opts)
    }

    fn err(text: &str) -> String {
        match load(text, None) {
            Ok(j) => panic!("expected an error, got {} jobs", j.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn calendar() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(
            parse_timestamp("2000-03-01 00:00:00"),
            Some(11_017 * 86_400)
        );
        assert_eq!(
            parse_timestamp("2017-09-04 10:30:41"),
            Some(17_413 * 86_400 + 37_841)
        );
        assert_eq!(
            parse_timestamp("2016-02-29 23:59:59"),
            Some(16_860 * 86_400 + 86_399)
        );
        for bad in [
            "2017-02-29 00:00:00",
            "2017-13-01 00:00:00",
            "2017-00-10 00:00:00",
            "2017-04-31 00:00:00",
            "2017-10-09 24:00:00",
            "2017-10-09 07:60:00",
            "2017-10-09T07:01:55",
            "2017-10-09 7:01:55",
            "2017-10-09",
            "",
            "+017-10-09 07:01:55",
            "2017-1a-09 07:01:55",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn excerpt_of_real_file() {
        let jobs = load(EXCERPT, None).unwrap();
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["philly-2", "philly-3", "philly-4", "philly-5"]);
        // Earliest is 2017-09-29 07:58:32 (line 4).
        let day = 86_400;
        let base = 10 * day - (7 * 3600 + 58 * 60 + 32);
        assert_eq!(jobs[2].submit, SimTime::ZERO);
        assert_eq!(
            jobs[0].submit,
            SimTime::from_secs(base + 7 * 3600 + 60 + 55)
        );
        assert_eq!(
            jobs[1].submit,
            SimTime::from_secs(base + 6 * 3600 + 13 * 60 + 3)
        );
        assert!(jobs[1].submit < jobs[0].submit);
        assert_eq!(jobs[0].duration, SimDuration::from_secs(66));
        assert_eq!(jobs[2].duration, SimDuration::from_secs(860_662));
        assert_eq!(jobs[0].pods, vec![PodRequest::gpus(1)]);
    }

    #[test]
    fn vc_filter_resets_the_clock() {
        let jobs = load(EXCERPT, Some("6214e9")).unwrap();
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["philly-3", "philly-5"]);
        assert_eq!(jobs[0].submit, SimTime::ZERO);
        assert_eq!(jobs[1].submit, SimTime::from_secs(33));
        let e = load(EXCERPT, Some("nope")).unwrap_err().to_string();
        assert_eq!(
            e,
            "philly.csv: no rows with cluster \"nope\" (the Philly virtual-cluster filter); clusters in the file: 11cb48, 6214e9, 6c71a0"
        );
    }

    #[test]
    fn multi_gpu_split_and_fractional_duration() {
        let text =
            "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,1.5,128,192.0,x\n";
        let jobs = load(text, None).unwrap();
        assert_eq!(jobs[0].pods, vec![PodRequest::gpus(8); 16]);
        assert_eq!(jobs[0].duration, SimDuration::from_millis(1500));
    }

    #[test]
    fn bad_rows() {
        let h = "timestamp,duration,num_gpus,gpu_time,cluster";
        assert_eq!(
            err(&format!(
                "{h}\n2017-10-09 07:01:55,66.0,1,66.0,a\n2017-10-09 25:01:55,66.0,1,66.0,a\n"
            )),
            "philly.csv:3: field 'timestamp': found \"2017-10-09 25:01:55\", expected a valid date and time `YYYY-MM-DD HH:MM:SS`"
        );
        for (d, ok) in [
            ("-1.0", false),
            ("NaN", false),
            ("inf", false),
            ("", false),
            ("abc", false),
            ("0", true),
            ("1e3", true),
        ] {
            let r = load(&format!("{h}\n2017-10-09 07:01:55,{d},1,66.0,a\n"), None);
            assert_eq!(r.is_ok(), ok, "{d}: {r:?}");
            if let Err(e) = r {
                let e = e.to_string();
                assert!(
                    e.contains("philly.csv:2: field 'duration'")
                        && e.contains("expected a finite number of seconds >= 0"),
                    "{e}"
                );
            }
        }
        assert!(
            err(&format!("{h}\n2017-10-09 07:01:55,66.0,-1,66.0,a\n")).contains(
                "philly.csv:2: field 'num_gpus': found \"-1\", expected a non-negative integer"
            )
        );
        assert!(
            err(&format!("{h}\n2017-10-09 07:01:55,66.0,,66.0,a\n"))
                .contains("field 'num_gpus': found \"\"")
        );
        assert!(
            err(&format!("{h}\n2017-10-09 07:01:55,66.0,1,a\n"))
                .starts_with("philly.csv:2: wrong number of fields: found 4, expected 5")
        );
        assert!(
            err("timestamp,duration,gpus\n2017-10-09 07:01:55,66.0,1\n")
                .contains("missing column(s) 'num_gpus', 'cluster'")
        );
        assert!(err("").contains("philly.csv: empty file"));
        assert!(err(&format!("{h}\n\n")).contains("no data rows"));
    }
}
