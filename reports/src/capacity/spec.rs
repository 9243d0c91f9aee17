//! The sweep specification: `--vary` variables, SLOs, seeds, prices, the grid of
//! configurations it spans and how the grid's runs are split into shards. Parsed and checked
//! before any simulation starts; stored as `sweep.json` so `orrery merge` and
//! `orrery report` can rebuild the report from a run's CSV files alone.

use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

use super::metrics;
use crate::compare::Unit;

/// At most this many configurations × seeds in one sweep.
pub const MAX_RUNS: usize = 100_000;

/// A bad sweep option, named after the option and the text that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("--vary {text:?}: {msg}")]
    Vary { text: String, msg: String },
    #[error("--slo {text:?}: {msg}")]
    Slo { text: String, msg: String },
    #[error("{option} {text:?}: {msg}")]
    Option {
        option: &'static str,
        text: String,
        msg: String,
    },
}

/// The variables `--vary` accepts.
pub const VARIABLES: &[&str] = &["nodes", "policy", "gpu_model", "load"];

/// One `--vary NAME=VALUES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vary {
    Nodes(Vec<u32>),
    Policy(Vec<String>),
    GpuModel(Vec<String>),
    /// Arrival-rate multipliers in thousandths.
    Load(Vec<u32>),
}

const NODES_GRAMMAR: &str = "expected N, a list N,M,..., A..B:xK (geometric: A, A*K, ... up to B) or \
A..B:+K (arithmetic), e.g. nodes=64..1024:x2";

fn vary_err(text: &str, msg: impl Into<String>) -> SpecError {
    SpecError::Vary {
        text: text.to_string(),
        msg: msg.into(),
    }
}

fn parse_count(text: &str, s: &str) -> Result<u32, SpecError> {
    match s.trim().parse::<u32>() {
        Ok(0) => Err(vary_err(text, "a cluster needs at least 1 node")),
        Ok(n) => Ok(n),
        Err(_) => Err(vary_err(
            text,
            format!("{:?} is not a node count; {NODES_GRAMMAR}", s.trim()),
        )),
    }
}

/// Node counts from `N`, `N,M`, `A..B:xK`, `A..B:+K`: ascending, without repeats.
fn parse_nodes(text: &str, v: &str) -> Result<Vec<u32>, SpecError> {
    let mut out: Vec<u32> = Vec::new();
    for item in v.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(vary_err(text, format!("empty value; {NODES_GRAMMAR}")));
        }
        let Some((range, step)) = item.split_once("..") else {
            out.push(parse_count(text, item)?);
            continue;
        };
        let (b, step) = match step.split_once(':') {
            Some((b, s)) => (b, Some(s.trim())),
            None => (step, None),
        };
        let (a, b) = (parse_count(text, range)?, parse_count(text, b)?);
        if a > b {
            return Err(vary_err(
                text,
                format!("{item:?} is an empty range (A..B needs A ≤ B)"),
            ));
        }
        let mut n = u64::from(a);
        match step {
            Some(s) if s.starts_with('x') || s.starts_with('*') => {
                let k: u64 = s[1..]
                    .trim()
                    .parse()
                    .ok()
                    .filter(|k| *k >= 2)
                    .ok_or_else(|| {
                        vary_err(
                            text,
                            format!("{s:?} is not a factor (use x2, x4, ...); {NODES_GRAMMAR}"),
                        )
                    })?;
                while n <= u64::from(b) {
                    out.push(n as u32);
                    n *= k;
                }
            }
            Some(s) if s.starts_with('+') => {
                let k: u64 = s[1..]
                    .trim()
                    .parse()
                    .ok()
                    .filter(|k| *k >= 1)
                    .ok_or_else(|| {
                        vary_err(
                            text,
                            format!("{s:?} is not a step (use +8, +16, ...); {NODES_GRAMMAR}"),
                        )
                    })?;
                while n <= u64::from(b) {
                    out.push(n as u32);
                    n += k;
                }
            }
            None => {
                return Err(vary_err(
                    text,
                    format!("{item:?} needs a step, :xK or :+K; {NODES_GRAMMAR}"),
                ));
            }
            Some(s) => {
                return Err(vary_err(
                    text,
                    format!("{s:?} is not a step; {NODES_GRAMMAR}"),
                ));
            }
        }
        if out.len() > MAX_RUNS {
            return Err(vary_err(text, format!("more than {MAX_RUNS} sizes")));
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A decimal such as `1.5` or `150%` in thousandths (1.5 → 1500), above zero.
pub fn parse_milli(s: &str) -> Option<u32> {
    let s = s.trim();
    let (num, scale) = match s.strip_suffix('%') {
        Some(p) => (p.trim(), 10u64),
        None => (s, 1000),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    // Digits beyond what thousandths hold must be zeros.
    let digits = if scale == 1000 { 3 } else { 1 };
    let (keep, drop) = frac.split_at(frac.len().min(digits));
    if drop.chars().any(|c| c != '0') {
        return None;
    }
    let f: u64 = format!("{keep:0<digits$}").parse().unwrap_or(0);
    let v = int.checked_mul(scale)?.checked_add(f)?;
    u32::try_from(v).ok().filter(|v| *v > 0)
}

/// Thousandths as a short decimal: 1500 → "1.5", 1000 → "1".
pub fn milli_label(m: u32) -> String {
    if m.is_multiple_of(1000) {
        return (m / 1000).to_string();
    }
    let s = format!("{}.{:03}", m / 1000, m % 1000);
    s.trim_end_matches('0').to_string()
}

fn names(text: &str, v: &str, what: &str) -> Result<Vec<String>, SpecError> {
    let mut out: Vec<String> = Vec::new();
    for item in v.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(vary_err(text, format!("empty {what} in the list")));
        }
        if out.iter().any(|o| o == item) {
            return Err(vary_err(text, format!("{item:?} is listed twice")));
        }
        out.push(item.to_string());
    }
    Ok(out)
}

/// Parse loads (`1.0,1.5,2`) in thousandths, in the order given, without repeats.
pub fn parse_loads(option: &'static str, v: &str) -> Result<Vec<u32>, SpecError> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim) {
        let m = parse_milli(item).ok_or_else(|| SpecError::Option {
            option,
            text: v.to_string(),
            msg: format!(
                "{item:?} is not a load; expected positive multipliers of the trace's arrival rate \
                 such as 1.0,1.5,2 (at most 3 decimals)"
            ),
        })?;
        if out.contains(&m) {
            return Err(SpecError::Option {
                option,
                text: v.to_string(),
                msg: format!("{item:?} is listed twice"),
            });
        }
        out.push(m);
    }
    Ok(out)
}

impl Vary {
    /// `NAME=VALUES`.
    pub fn parse(text: &str) -> Result<Vary, SpecError> {
        let (name, values) = text.split_once('=').ok_or_else(|| {
            vary_err(
                text,
                format!(
                    "expected NAME=VALUES, e.g. nodes=64..1024:x2 (variables: {})",
                    VARIABLES.join(", ")
                ),
            )
        })?;
        let (name, values) = (name.trim(), values.trim());
        if values.is_empty() {
            return Err(vary_err(text, format!("no values given for {name}")));
        }
        match name {
            "nodes" => Ok(Vary::Nodes(parse_nodes(text, values)?)),
            "policy" => Ok(Vary::Policy(names(text, values, "policy")?)),
            "gpu_model" => Ok(Vary::GpuModel(names(text, values, "GPU model")?)),
            "load" => Ok(Vary::Load(parse_loads("--vary load", values)?)),
            other => Err(vary_err(
                text,
                format!(
                    "unknown variable {other:?}; expected one of: {}",
                    VARIABLES.join(", ")
                ),
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Vary::Nodes(_) => "nodes",
            Vary::Policy(_) => "policy",
            Vary::GpuModel(_) => "gpu_model",
            Vary::Load(_) => "load",
        }
    }
}

/// A comparison of an SLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    const ALL: [(&'static str, Op); 5] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    pub fn symbol(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map_or("?", |(s, _)| s)
    }

    pub fn holds(self, v: f64, t: f64) -> bool {
        match self {
            Op::Le => v <= t,
            Op::Lt => v < t,
            Op::Ge => v >= t,
            Op::Gt => v > t,
            Op::Eq => v == t,
        }
    }
}

/// One service-level objective on a run metric, e.g. `p95_wait<=30m`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// As written.
    pub text: String,
    /// Column name of the metric in `capacity.csv`.
    pub metric: String,
    pub op: Op,
    /// In the metric's unit (seconds, a count, a ratio 0..1).
    pub threshold: f64,
}

fn slo_err(text: &str, msg: impl Into<String>) -> SpecError {
    SpecError::Slo {
        text: text.to_string(),
        msg: msg.into(),
    }
}

impl Slo {
    pub fn parse(text: &str) -> Result<Slo, SpecError> {
        let t = text.trim();
        let (at, sym, op) = Op::ALL
            .iter()
            .filter_map(|(s, o)| t.find(s).map(|i| (i, *s, *o)))
            .min_by_key(|(i, s, _)| (*i, std::cmp::Reverse(s.len())))
            .ok_or_else(|| {
                slo_err(
                    text,
                    "expected METRIC OP VALUE with OP one of <=, <, >=, >, ==, e.g. \"p95_wait<=30m\"",
                )
            })?;
        let (name, value) = (t[..at].trim(), t[at + sym.len()..].trim());
        let m: &crate::compare::Metric = metrics::find(name).ok_or_else(|| {
            slo_err(
                text,
                format!(
                    "unknown metric {name:?}; expected one of: {}",
                    metrics::slo_names().join(", ")
                ),
            )
        })?;
        if value.is_empty() {
            return Err(slo_err(text, "no value after the comparison"));
        }
        let threshold = match m.unit {
            Unit::Seconds => value
                .parse::<SimDuration>()
                .map(SimDuration::as_secs_f64)
                .map_err(|e| slo_err(text, e.to_string()))?,
            Unit::Ratio => {
                let v = match value.strip_suffix('%') {
                    Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
                    None => value.parse::<f64>(),
                };
                v.ok().filter(|v| (0.0..=1.0).contains(v)).ok_or_else(|| {
                    slo_err(
                        text,
                        format!(
                            "{value:?} is not a ratio; expected 0 to 1 or a percentage such as 60%"
                        ),
                    )
                })?
            }
            Unit::Count | Unit::GpuHours => value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| slo_err(text, format!("{value:?} is not a non-negative number")))?,
        };
        Ok(Slo {
            text: t.to_string(),
            metric: m.name.to_string(),
            op,
            threshold,
        })
    }

    /// Whether a run's value meets the SLO; a run without a value (e.g. no job started)
    /// misses it.
    pub fn met(&self, v: Option<f64>) -> bool {
        v.is_some_and(|v| self.op.holds(v, self.threshold))
    }
}

/// Price of a node-hour: one for every node, or per GPU model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Price of a node-hour when no per-model price applies.
    pub default: f64,
    /// Per GPU model (sorted by model).
    pub per_model: Vec<(String, f64)>,
}

impl Prices {
    /// `2.5` or `A100=2.5,H100=4` (models without a price cost the default, 1).
    pub fn parse(text: &str) -> Result<Prices, SpecError> {
        let err = |msg: String| SpecError::Option {
            option: "--price",
            text: text.to_string(),
            msg,
        };
        let num = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    err(format!(
                        "{:?} is not a price (a non-negative number)",
                        s.trim()
                    ))
                })
        };
        let mut p = Prices::default();
        for item in text.split(',').map(str::trim) {
            match item.split_once('=') {
                None => p.default = num(item)?,
                Some((m, v)) if !m.trim().is_empty() => {
                    if p.per_model.iter().any(|(x, _)| x == m.trim()) {
                        return Err(err(format!("{:?} is priced twice", m.trim())));
                    }
                    p.per_model.push((m.trim().to_string(), num(v)?));
                }
                Some(_) => return Err(err(format!("{item:?}: expected MODEL=PRICE"))),
            }
        }
        p.per_model.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(p)
    }

    pub fn node_hour(&self, gpu_model: &str) -> f64 {
        self.per_model
            .iter()
            .find(|(m, _)| m == gpu_model)
            .map_or(self.default, |(_, v)| *v)
    }
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            default: 1.0,
            per_model: Vec::new(),
        }
    }
}

/// `--shard I/N`: this process runs the I-th (1-based) of N slices of the grid's runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, SpecError> {
        let err = || SpecError::Option {
            option: "--shard",
            text: text.to_string(),
            msg: "expected I/N with 1 ≤ I ≤ N, e.g. 2/3".into(),
        };
        let (i, n) = text.split_once('/').ok_or_else(err)?;
        let (index, count) = (
            i.trim().parse::<u32>().map_err(|_| err())?,
            n.trim().parse::<u32>().map_err(|_| err())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }

    /// Whether run number `task` (0-based, grid order) belongs to this shard: runs are dealt
    /// round-robin, so each shard gets a mix of small and large clusters.
    pub fn owns(&self, task: usize) -> bool {
        task % self.count as usize == (self.index - 1) as usize
    }
}

/// Where the inputs came from, for reproducing the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub orrery_version: String,
    /// Scenario file name as given on the command line (relative paths kept as given), or
    /// `<bundled default>`.
    pub scenario_file: String,
    pub scenario_name: String,
    /// FNV-1a 64 of the scenario YAML followed by every trace file it reads.
    pub scenario_hash: String,
    /// Trace files, as the scenario names them.
    pub traces: Vec<String>,
    /// Node pools of the scenario as written: (name, count, GPUs per node, GPU model).
    pub base_pools: Vec<(String, u32, u32, String)>,
}

/// Everything that defines a sweep (`sweep.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    pub provenance: Provenance,
    /// Total node counts, ascending.
    pub nodes: Vec<u32>,
    pub policies: Vec<String>,
    pub gpu_models: Vec<String>,
    /// Loads in thousandths, in the order given.
    pub loads_milli: Vec<u32>,
    pub seeds: Vec<u64>,
    pub slos: Vec<Slo>,
    /// Share of seeds that must meet every SLO for a configuration to meet them "with
    /// confidence", 0 < c ≤ 1.
    pub confidence: f64,
    pub prices: Prices,
    /// Input shaking, thousandths.
    pub arrival_jitter_milli: u32,
    pub duration_jitter_milli: u32,
    pub horizon: Option<String>,
    /// Width of the timeline bins, seconds.
    pub timeline_bin_s: u64,
    /// Set in a shard's `sweep.json`; absent in a full sweep's or a merge's.
    pub shard: Option<Shard>,
}

/// One configuration of the grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    pub policy: String,
    pub gpu_model: String,
    pub load_milli: u32,
    pub nodes: u32,
}

impl Point {
    /// `gang · 64 nodes A100 · load 1.5`.
    pub fn label(&self, spec: &SweepSpec) -> String {
        let mut s = format!("{} · {} × {}", self.policy, self.nodes, self.gpu_model);
        if spec.loads_milli.len() > 1 {
            s.push_str(&format!(" · load {}", milli_label(self.load_milli)));
        }
        s
    }
}

impl SweepSpec {
    /// The grid in its fixed order: policy, then GPU model, then load, then nodes
    /// ascending.
    pub fn points(&self) -> Vec<Point> {
        let mut v = Vec::new();
        for p in &self.policies {
            for g in &self.gpu_models {
                for &l in &self.loads_milli {
                    for &n in &self.nodes {
                        v.push(Point {
                            policy: p.clone(),
                            gpu_model: g.clone(),
                            load_milli: l,
                            nodes: n,
                        });
                    }
                }
            }
        }
        v
    }

    /// Every run: (point index, seed), point-major.
    pub fn tasks(&self) -> Vec<(usize, u64)> {
        let n = self.points().len();
        (0..n)
            .flat_map(|p| self.seeds.iter().map(move |&s| (p, s)))
            .collect()
    }

    /// `sweep.json`, pretty, with a final newline.
    pub fn to_json(&self) -> Result<Vec<u8>, crate::ReportError> {
        let mut v = serde_json::to_vec_pretty(self).map_err(|e| crate::ReportError::Encode {
            what: "sweep.json",
            msg: e.to_string(),
        })?;
        v.push(b'\n');
        Ok(v)
    }

    /// Whether two specs describe the same sweep (shards of one sweep differ only in
    /// `shard`).
    pub fn same_sweep(&self, other: &SweepSpec) -> bool {
        SweepSpec {
            shard: None,
            ..self.clone()
        } == SweepSpec {
            shard: None,
            ..other.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ranges() {
        let n = |s: &str| match Vary::parse(s) {
            Ok(Vary::Nodes(v)) => Ok(v),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(n("nodes=64..1024:x2"), Ok(vec![64, 128, 256, 512, 1024]));
        assert_eq!(n("nodes=8..20:+4"), Ok(vec![8, 12, 16, 20]));
        assert_eq!(n("nodes=32,16,16"), Ok(vec![16, 32]));
        assert_eq!(n("nodes=5..5:x2"), Ok(vec![5]));
        for bad in [
            "nodes=",
            "nodes=64..32:x2",
            "nodes=0",
            "nodes=a..b:x2",
            "nodes=8..16",
            "nodes=8..16:x1",
            "nodes=8..16:/2",
            "nodes=1,,2",
            "size=4",
            "nodes",
        ] {
            assert!(n(bad).is_err(), "{bad:?} accepted");
        }
        assert!(n("nodes=64..32:x2").unwrap_err().contains("empty range"));
        assert!(
            Vary::parse("racks=4")
                .unwrap_err()
                .to_string()
                .contains("unknown variable \"racks\"")
        );
    }

    #[test]
    fn decimals_in_thousandths() {
        assert_eq!(parse_milli("1.5"), Some(1500));
        assert_eq!(parse_milli("2"), Some(2000));
        assert_eq!(parse_milli("150%"), Some(1500));
        assert_eq!(parse_milli(".25"), Some(250));
        assert_eq!(parse_milli("1.2500"), Some(1250));
        for bad in ["", "0", "-1", "1.0001", "x", "1e3", "."] {
            assert_eq!(parse_milli(bad), None, "{bad:?}");
        }
        assert_eq!(milli_label(1500), "1.5");
        assert_eq!(milli_label(1000), "1");
        assert_eq!(milli_label(1250), "1.25");
    }

    #[test]
    fn slos() {
        let s = Slo::parse("p95_wait<=30m").unwrap();
        assert_eq!(
            (s.metric.as_str(), s.op, s.threshold),
            ("p95_wait_s", Op::Le, 1800.0)
        );
        assert!(s.met(Some(1800.0)) && !s.met(Some(1800.5)) && !s.met(None));
        let s = Slo::parse("jobs_unfinished == 0").unwrap();
        assert_eq!((s.metric.as_str(), s.op), ("jobs_unfinished", Op::Eq));
        let s = Slo::parse("gpu_busy_ratio>=60%").unwrap();
        assert_eq!(s.threshold, 0.6);
        assert!(Slo::parse("p99_jct_s<2h").is_ok());
        for bad in [
            "p95_wait",
            "p95_wait<=",
            "latency<=3s",
            "p95_wait<=soon",
            "gpu_busy_ratio>=2",
        ] {
            assert!(Slo::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn shards_partition_the_runs() {
        let shards: Vec<Shard> = (1..=3)
            .map(|i| Shard::parse(&format!("{i}/3")).unwrap())
            .collect();
        for t in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(t)).count(), 1);
        }
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prices() {
        let p = Prices::parse("H100=4,A100=2.5").unwrap();
        assert_eq!(
            (p.node_hour("A100"), p.node_hour("H100"), p.node_hour("L4")),
            (2.5, 4.0, 1.0)
        );
        assert_eq!(Prices::parse("3").unwrap().node_hour("A100"), 3.0);
        assert!(Prices::parse("x").is_err());
    }
}
