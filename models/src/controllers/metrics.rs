//! The metrics store: time series keyed by metric name and sorted labels, as a
//! Prometheus server holds them, with export in the Prometheus text exposition format
//! (and a parser for that format, to read an export back).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sim_core::SimTime;

/// A series: metric name and labels (sorted by label name).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    pub name: String,
    pub labels: Vec<(String, String)>,
}

impl SeriesKey {
    /// A key; the labels are sorted by name.
    pub fn new(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        SeriesKey {
            name: name.to_string(),
            labels,
        }
    }

    /// A label's value.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Prometheus metric types used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Gauge,
    Counter,
    /// A histogram family `name`: series `name_bucket{le=…}`, `name_sum`, `name_count`.
    Histogram,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// Every sampled series, with `# HELP`/`# TYPE` metadata per metric name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsStore {
    series: BTreeMap<SeriesKey, Vec<(SimTime, f64)>>,
    meta: BTreeMap<String, (MetricKind, String)>,
}

impl MetricsStore {
    /// Declare a metric name's type and help text (the first declaration stays).
    pub fn describe(&mut self, name: &str, kind: MetricKind, help: &str) {
        self.meta
            .entry(name.to_string())
            .or_insert_with(|| (kind, help.to_string()));
    }

    /// Append a sample.
    pub fn record(&mut self, key: SeriesKey, at: SimTime, value: f64) {
        self.series.entry(key).or_default().push((at, value));
    }

    /// Every series in key order.
    pub fn series(&self) -> &BTreeMap<SeriesKey, Vec<(SimTime, f64)>> {
        &self.series
    }

    /// The series of one metric name, in label order.
    pub fn by_name<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a SeriesKey, &'a Vec<(SimTime, f64)>)> + 'a {
        self.series.iter().filter(move |(k, _)| k.name == name)
    }

    /// One series' samples.
    pub fn get(&self, key: &SeriesKey) -> Option<&[(SimTime, f64)]> {
        self.series.get(key).map(Vec::as_slice)
    }

    /// The latest sample of every series, in the text exposition format.
    pub fn to_prometheus_latest(&self) -> String {
        self.export(true)
    }

    /// Every sample of every series (one line per sample, time order within a series).
    pub fn to_prometheus_history(&self) -> String {
        self.export(false)
    }

    /// The family a series belongs to: `x` for `x_bucket`/`x_sum`/`x_count` when `x` is
    /// declared a histogram, else its own name; with the rank of the suffix.
    fn family<'a>(&self, name: &'a str) -> (&'a str, u8) {
        for (rank, suffix) in ["_bucket", "_sum", "_count"].into_iter().enumerate() {
            if let Some(base) = name.strip_suffix(suffix)
                && matches!(self.meta.get(base), Some((MetricKind::Histogram, _)))
            {
                return (base, rank as u8 + 1);
            }
        }
        (name, 0)
    }

    fn export(&self, latest_only: bool) -> String {
        // Families in name order; within a histogram, buckets (by increasing `le`), sum,
        // count; then labels.
        let mut rows: Vec<(&SeriesKey, &Vec<(SimTime, f64)>)> = self.series.iter().collect();
        let le = |k: &SeriesKey| match k.label("le") {
            None => f64::NEG_INFINITY,
            Some("+Inf") => f64::INFINITY,
            Some(v) => v.parse().unwrap_or(f64::NAN),
        };
        let others = |k: &SeriesKey| {
            k.labels
                .iter()
                .filter(|(n, _)| n != "le")
                .cloned()
                .collect::<Vec<_>>()
        };
        rows.sort_by(|(a, _), (b, _)| {
            let (fa, ra) = self.family(&a.name);
            let (fb, rb) = self.family(&b.name);
            fa.cmp(fb)
                .then(ra.cmp(&rb))
                .then_with(|| others(a).cmp(&others(b)))
                .then_with(|| le(a).total_cmp(&le(b)))
        });
        let mut out = String::new();
        let mut current: Option<&str> = None;
        for (key, samples) in rows {
            let Some(last) = samples.last() else { continue };
            let (family, _) = self.family(&key.name);
            if current != Some(family) {
                current = Some(family);
                if let Some((kind, help)) = self.meta.get(family) {
                    let _ = writeln!(out, "# HELP {family} {}", escape_help(help));
                    let _ = writeln!(out, "# TYPE {family} {}", kind.as_str());
                }
            }
            let lead = format_series(key);
            let rows: &[(SimTime, f64)] = if latest_only {
                std::slice::from_ref(last)
            } else {
                samples
            };
            for (t, v) in rows {
                let _ = writeln!(
                    out,
                    "{lead} {} {}",
                    format_value(*v),
                    t.as_nanos() / 1_000_000
                );
            }
        }
        out
    }
}

/// `name{a="x",b="y"}` (just `name` without labels).
fn format_series(key: &SeriesKey) -> String {
    if key.labels.is_empty() {
        return key.name.clone();
    }
    let labels: Vec<String> = key
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{}{{{}}}", key.name, labels.join(","))
}

/// A sample value: Rust's shortest round-trip form (`700`, `0.5`), `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else if v == 0.0 {
        "0".into()
    } else {
        format!("{v}")
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// One sample line read back from an exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedSample {
    pub key: SeriesKey,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// A parsed exposition: samples and the declared types.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedExposition {
    pub samples: Vec<ParsedSample>,
    /// `# TYPE` lines: metric name → type.
    pub types: BTreeMap<String, String>,
}

/// A line of an exposition that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exposition line {line}: {msg}")]
pub struct ExpositionError {
    pub line: usize,
    pub msg: String,
}

/// Parse the text exposition format (the subset this module writes: HELP/TYPE comments,
/// `name{labels} value [timestamp]`).
pub fn parse_exposition(text: &str) -> Result<ParsedExposition, ExpositionError> {
    let mut out = ParsedExposition::default();
    for (i, raw) in text.lines().enumerate() {
        let err = |msg: &str| ExpositionError {
            line: i + 1,
            msg: msg.to_string(),
        };
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let mut parts = rest.split_whitespace();
            if parts.next() == Some("TYPE") {
                let name = parts.next().ok_or_else(|| err("TYPE without a name"))?;
                let ty = parts.next().ok_or_else(|| err("TYPE without a type"))?;
                out.types.insert(name.to_string(), ty.to_string());
            }
            continue;
        }
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .ok_or_else(|| err("no value"))?;
        let name = &line[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(err("bad metric name"));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            let (ls, tail) = parse_labels(r).map_err(|m| err(&m))?;
            labels = ls;
            rest = tail;
        }
        let mut fields = rest.split_whitespace();
        let value = fields.next().ok_or_else(|| err("no value"))?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse::<f64>().map_err(|_| err("bad value"))?,
        };
        let timestamp_ms = match fields.next() {
            Some(t) => Some(t.parse::<i64>().map_err(|_| err("bad timestamp"))?),
            None => None,
        };
        if fields.next().is_some() {
            return Err(err("trailing text"));
        }
        labels.sort();
        out.samples.push(ParsedSample {
            key: SeriesKey {
                name: name.to_string(),
                labels,
            },
            value,
            timestamp_ms,
        });
    }
    Ok(out)
}

type Labels = Vec<(String, String)>;

/// Labels after the `{`; returns them and the text after the `}`.
fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let eq = s.find('=').ok_or("label without '='")?;
        let name = s[..eq].trim().to_string();
        s = s[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value must be quoted")?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated escape".into()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((name, value));
        s = &s[end + 1..];
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        }
    }
}

/// One device as a scrape sees it (every device of every Ready node, in node order then
/// device index): its node, the node's accelerator label, its index, whether a pod holds
/// it, and its utilisation in [0, 1].
#[derive(Clone, Copy, Debug)]
pub struct DeviceReading<'a> {
    pub node: &'a str,
    pub accelerator: &'a str,
    pub gpu: usize,
    pub held: bool,
    pub util: f64,
}

/// One service as a scrape sees it: its book, requests in flight over all its replicas
/// (draining ones included) and Ready replicas.
#[derive(Clone, Copy, Debug)]
pub struct ServiceReading<'a> {
    pub name: &'a str,
    pub book: &'a crate::controllers::serving::ServiceBook,
    pub in_flight: u32,
    pub ready: u32,
}

/// HELP/TYPE metadata of every family the configuration exports.
pub fn describe(m: &mut MetricsStore, cfg: &crate::platform::MetricsConfig) {
    use crate::platform::DeviceField;
    if let Some(ex) = &cfg.exporter {
        for f in &ex.fields {
            let help = match f {
                DeviceField::Utilization => "GPU utilization (in %).",
                DeviceField::MemoryUsed => "Framebuffer memory used (in MiB).",
                DeviceField::Power => "Power draw (in W).",
                DeviceField::Temperature => "GPU temperature (in C).",
            };
            m.describe(f.metric_name(), MetricKind::Gauge, help);
        }
    }
    if cfg.service_discovery {
        m.describe(
            "inference_requests_total",
            MetricKind::Counter,
            "Requests served.",
        );
        m.describe(
            "inference_request_duration_seconds",
            MetricKind::Histogram,
            "Request latency (queueing and service), seconds.",
        );
        m.describe(
            "inference_request_queue_seconds_sum",
            MetricKind::Counter,
            "Total queueing latency, seconds.",
        );
        m.describe(
            "inference_queue_depth",
            MetricKind::Gauge,
            "Requests waiting in the service's queue.",
        );
        m.describe(
            "inference_requests_in_flight",
            MetricKind::Gauge,
            "Requests being served.",
        );
    }
}

/// One scrape at `now`: the accelerator exporter's per-device series, the run's own
/// per-service record (`samples`, whatever the monitoring discovers) and, with service
/// discovery, the services' series.
pub fn scrape(
    m: &mut MetricsStore,
    samples: &mut BTreeMap<String, Vec<crate::platform::ServiceSample>>,
    cfg: &crate::platform::MetricsConfig,
    devices: &[DeviceReading<'_>],
    services: &[ServiceReading<'_>],
    now: SimTime,
) {
    use crate::platform::DeviceField;
    if let Some(ex) = &cfg.exporter {
        let dm = &ex.device;
        for d in devices {
            let util = d.util;
            let gpu = d.gpu.to_string();
            for f in &ex.fields {
                let v = match f {
                    DeviceField::Utilization => (util * 100.0).round(),
                    DeviceField::MemoryUsed => {
                        if d.held {
                            dm.allocated_fb_mib
                        } else {
                            0.0
                        }
                    }
                    DeviceField::Power => {
                        dm.idle_power_w + (dm.busy_power_w - dm.idle_power_w) * util
                    }
                    DeviceField::Temperature => {
                        dm.idle_temp_c + (dm.busy_temp_c - dm.idle_temp_c) * util
                    }
                };
                let key = SeriesKey::new(
                    f.metric_name(),
                    &[
                        ("gpu", &gpu),
                        ("Hostname", d.node),
                        ("modelName", d.accelerator),
                    ],
                );
                m.record(key, now, v);
            }
        }
    }
    for s in services {
        samples
            .entry(s.name.to_string())
            .or_default()
            .push(crate::platform::ServiceSample {
                at: now,
                queue_depth: s.book.queue.len() as u32,
                in_flight: s.in_flight,
                completed: s.book.completed,
                ready: s.ready,
            });
    }
    if cfg.service_discovery {
        for s in services {
            let st = s.book;
            let l = [("service", s.name)];
            let rows = [
                ("inference_requests_total", st.completed as f64),
                ("inference_request_duration_seconds_sum", st.latency_sum),
                (
                    "inference_request_duration_seconds_count",
                    st.completed as f64,
                ),
                ("inference_request_queue_seconds_sum", st.wait_sum),
                ("inference_queue_depth", st.queue.len() as f64),
                ("inference_requests_in_flight", f64::from(s.in_flight)),
            ];
            for (name, v) in rows {
                m.record(SeriesKey::new(name, &l), now, v);
            }
            for (bound, n) in cfg.latency_buckets.iter().zip(&st.buckets) {
                let le = format_value(*bound);
                let key = SeriesKey::new(
                    "inference_request_duration_seconds_bucket",
                    &[("service", s.name), ("le", le.as_str())],
                );
                m.record(key, now, *n as f64);
            }
            let key = SeriesKey::new(
                "inference_request_duration_seconds_bucket",
                &[("service", s.name), ("le", "+Inf")],
            );
            m.record(key, now, st.completed as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_parses_back() {
        let mut m = MetricsStore::default();
        m.describe("x", MetricKind::Gauge, "an \"x\"");
        m.record(
            SeriesKey::new("x", &[("b", "q\"uote"), ("a", "1")]),
            SimTime::from_secs(2),
            0.25,
        );
        let text = m.to_prometheus_latest();
        assert_eq!(
            text,
            "# HELP x an \"x\"\n# TYPE x gauge\nx{a=\"1\",b=\"q\\\"uote\"} 0.25 2000\n"
        );
        let p = parse_exposition(&text).expect("parses");
        assert_eq!(p.samples.len(), 1);
        assert_eq!(p.samples[0].key.label("b"), Some("q\"uote"));
        assert_eq!(p.samples[0].timestamp_ms, Some(2000));
        assert_eq!(p.types.get("x").map(String::as_str), Some("gauge"));
    }

    #[test]
    fn histogram_family_is_grouped_with_buckets_in_le_order() {
        let mut m = MetricsStore::default();
        m.describe("lat", MetricKind::Histogram, "Latency.");
        let t = SimTime::from_secs(1);
        for (le, v) in [("10", 3.0), ("2.5", 2.0), ("+Inf", 4.0), ("0.5", 1.0)] {
            m.record(SeriesKey::new("lat_bucket", &[("le", le)]), t, v);
        }
        m.record(SeriesKey::new("lat_count", &[]), t, 4.0);
        m.record(SeriesKey::new("lat_sum", &[]), t, 9.5);
        assert_eq!(
            m.to_prometheus_latest(),
            "# HELP lat Latency.\n# TYPE lat histogram\n\
             lat_bucket{le=\"0.5\"} 1 1000\nlat_bucket{le=\"2.5\"} 2 1000\n\
             lat_bucket{le=\"10\"} 3 1000\nlat_bucket{le=\"+Inf\"} 4 1000\n\
             lat_sum 9.5 1000\nlat_count 4 1000\n"
        );
    }

    #[test]
    fn values_format_deterministically() {
        assert_eq!(format_value(700.0), "700");
        assert_eq!(format_value(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
    }
}
