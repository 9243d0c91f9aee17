//! `compare.html`: a comparison's page rebuilt from its `compare.csv` (means table, one
//! bar chart per plotted metric) plus its `jct_cdf.svg` when present (`orrery report`); the
//! scenario's name comes from the heading of the `compare.md` beside them.

use crate::capacity::CapacityError;
use crate::capacity::html::Page;
use crate::compare::{
    BAR_METRICS, METRICS, Stat, Unit, csv_header, human_value, metric, seeds_label,
};
use crate::plot;

/// The scenario name in the heading `compare.md` starts with (`# Orrery compare: NAME`).
pub fn scenario_from_md(md: &[u8]) -> Option<String> {
    let first = String::from_utf8_lossy(md).lines().next()?.to_string();
    let name = first.strip_prefix("# Orrery compare: ")?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// The page from the bytes of `compare.csv`, the scenario's name (from `compare.md`) and,
/// optionally, `jct_cdf.svg`.
pub fn compare_html(
    file: &str,
    scenario: Option<&str>,
    csv_bytes: &[u8],
    jct_cdf: Option<&[u8]>,
) -> Result<Vec<u8>, CapacityError> {
    let bad = |line: u64, msg: String| CapacityError::Parse {
        file: file.to_string(),
        line,
        msg,
    };
    let mut r = csv::Reader::from_reader(csv_bytes);
    let h = r.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    if h.iter().collect::<Vec<_>>() != csv_header() {
        return Err(bad(
            1,
            format!(
                "not a compare.csv header; expected {}",
                csv_header().join(",")
            ),
        ));
    }
    // Per policy, in first-seen order: seeds and the values of every metric.
    let mut policies: Vec<(String, Vec<u64>, Vec<Vec<f64>>)> = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        let seed: u64 = rec[1]
            .parse()
            .map_err(|_| bad(line, format!("seed: {:?} is not a seed", &rec[1])))?;
        let k = match policies.iter().position(|p| p.0 == rec[0]) {
            Some(k) => k,
            None => {
                policies.push((
                    rec[0].to_string(),
                    Vec::new(),
                    vec![Vec::new(); METRICS.len()],
                ));
                policies.len() - 1
            }
        };
        policies[k].1.push(seed);
        for (m, def) in METRICS.iter().enumerate() {
            let cell = &rec[2 + m];
            if !cell.is_empty() {
                let v: f64 = cell
                    .parse()
                    .map_err(|_| bad(line, format!("{}: {cell:?} is not a number", def.name)))?;
                policies[k].2[m].push(v);
            }
        }
    }
    let stat = crate::capacity::analyze::stat;
    let mut seeds: Vec<u64> = policies.iter().flat_map(|p| p.1.iter().copied()).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let sub = format!(
        "{} · seeds {}",
        scenario.unwrap_or(file),
        seeds_label(&seeds)
    );
    let mut page = Page::new(&match scenario {
        Some(name) => format!("Orrery compare: {name}"),
        None => "Orrery compare".to_string(),
    });
    page.para(
        &match scenario {
            Some(_) => format!("{file} · seeds {}", seeds_label(&seeds)),
            None => format!(
                "{file} · seeds {} · scenario name unknown (no compare.md beside it)",
                seeds_label(&seeds)
            ),
        },
        Some("note"),
    );
    page.heading("Means per policy");
    let mut header = vec!["policy".to_string(), "runs".to_string()];
    header.extend(METRICS.iter().map(|m| m.header.to_string()));
    // A policy whose runs left jobs unfinished is flagged: `default ⚠ 2 unfinished`.
    let labels: Vec<String> = policies
        .iter()
        .map(|(p, _, vals)| {
            let unfinished = METRICS
                .iter()
                .position(|m| m.name == "jobs_unfinished")
                .and_then(|k| stat(&vals[k]))
                .filter(|st| st.mean > 0.0)
                .map(|st| format!(" ⚠ {} unfinished", human_value(Unit::Count, st.mean)))
                .unwrap_or_default();
            format!("{p}{unfinished}")
        })
        .collect();
    let rows: Vec<(bool, Vec<String>)> = policies
        .iter()
        .zip(&labels)
        .map(|((_, s, vals), label)| {
            let mut r = vec![label.clone(), s.len().to_string()];
            r.extend(METRICS.iter().zip(vals).map(|(m, v)| match stat(v) {
                Some(st) => human_value(m.unit, st.mean),
                None => "–".into(),
            }));
            (false, r)
        })
        .collect();
    page.table(&header, &rows);
    if let Some(svg) = jct_cdf {
        page.heading("Job completion time CDF");
        page.plot("jct_cdf.svg", "JCT CDF per policy, pooled over seeds", svg);
    }
    for name in BAR_METRICS {
        let Some(m) = metric(name) else { continue };
        let k = METRICS.iter().position(|x| x.name == *name).unwrap_or(0);
        let bars: Vec<(&str, Option<Stat>)> = policies
            .iter()
            .zip(&labels)
            .map(|((_, _, v), l)| (l.as_str(), stat(&v[k])))
            .collect();
        let svg = plot::bar_svg(m, &sub, &bars)?;
        page.heading(m.title);
        page.plot(&format!("bars_{name}.svg"), m.title, &svg);
    }
    Ok(page.finish())
}
