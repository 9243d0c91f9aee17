//! Simulated time as integer nanoseconds.
//!
//! `SimTime` is an instant since the start of the run, `SimDuration` a span. Both are `u64`
//! nanoseconds (about 584 years of range), so ordering is exact and platform independent.
//! Human forms: `"90s"`, `"1.5h"`, `"2d"`, `"250ms"`, `"1d2h"`; a bare number means seconds.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn from_secs(s: u64) -> Self {
        SimTime(s.saturating_mul(NANOS_PER_SEC))
    }
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Time elapsed since `earlier` (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    pub fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(NANOS_PER_SEC))
    }
    pub fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(1_000_000))
    }
    pub fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }
    /// Seconds as a float, rounded to the nearest nanosecond; `None` if negative, not finite
    /// or out of range.
    pub fn from_secs_f64(s: f64) -> Option<Self> {
        if !s.is_finite() || s < 0.0 {
            return None;
        }
        let ns = (s * NANOS_PER_SEC as f64).round();
        if ns >= u64::MAX as f64 {
            return None;
        }
        Some(SimDuration(ns as u64))
    }
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, o: SimTime) -> SimDuration {
        self.since(o)
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, o: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(o.0))
    }
}

/// Error parsing a human duration such as `"90s"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: {reason} (expected e.g. \"90s\", \"1.5h\", \"2d\", \"250ms\" or a number of seconds)"
)]
pub struct ParseDurationError {
    pub input: String,
    pub reason: &'static str,
}

const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
    ("d", 86_400 * NANOS_PER_SEC),
    ("w", 7 * 86_400 * NANOS_PER_SEC),
];

impl std::str::FromStr for SimDuration {
    type Err = ParseDurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseDurationError {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        if s.starts_with('-') {
            return Err(err("negative durations are not allowed"));
        }
        // A bare number is seconds.
        if let Ok(v) = s.parse::<f64>() {
            return SimDuration::from_secs_f64(v).ok_or_else(|| err("out of range"));
        }
        let mut total: u64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| err("a number must be followed by a unit"))?;
            if num_end == 0 {
                return Err(err("expected a number"));
            }
            let (num, tail) = rest.split_at(num_end);
            let unit_end = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_end);
            let scale = UNITS
                .iter()
                .find(|(u, _)| *u == unit)
                .map(|(_, s)| *s)
                .ok_or_else(|| err("unknown unit (use ns, us, ms, s, m, h, d, w)"))?;
            let v: f64 = num.parse().map_err(|_| err("bad number"))?;
            let ns = (v * scale as f64).round();
            if !ns.is_finite() || ns >= u64::MAX as f64 {
                return Err(err("out of range"));
            }
            total = total
                .checked_add(ns as u64)
                .ok_or_else(|| err("out of range"))?;
            rest = tail;
        }
        Ok(SimDuration(total))
    }
}

fn fmt_ns(ns: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if ns == 0 {
        return write!(f, "0s");
    }
    if !ns.is_multiple_of(NANOS_PER_SEC) {
        // Sub-second precision: print seconds with up to 9 decimals, trailing zeros trimmed.
        let secs = ns / NANOS_PER_SEC;
        let frac = format!("{:09}", ns % NANOS_PER_SEC);
        return write!(f, "{}.{}s", secs, frac.trim_end_matches('0'));
    }
    let mut s = ns / NANOS_PER_SEC;
    let d = s / 86_400;
    s %= 86_400;
    let h = s / 3_600;
    s %= 3_600;
    let m = s / 60;
    s %= 60;
    for (v, u) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if v > 0 {
            write!(f, "{v}{u}")?;
        }
    }
    Ok(())
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_ns(self.0, f)
    }
}
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t=")?;
        fmt_ns(self.0, f)
    }
}

/// Serialized as integer nanoseconds.
impl Serialize for SimTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}
/// Accepts integer nanoseconds (what `Serialize` writes) or, in hand-written files, a
/// duration since the start such as `"5m"`.
impl<'de> Deserialize<'de> for SimTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("integer nanoseconds or a time since the start such as \"5m\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimTime, E> {
                v.parse::<SimDuration>()
                    .map(|d| SimTime::ZERO + d)
                    .map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SimTime, E> {
                Ok(SimTime(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SimTime, E> {
                u64::try_from(v)
                    .map(SimTime)
                    .map_err(|_| E::custom("negative times are not allowed"))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Accepts a human string (`"90s"`) or a plain number of seconds.
impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"90s\", \"1.5h\", \"2d\" or a number of seconds")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SimDuration, E> {
                Ok(SimDuration::from_secs(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SimDuration, E> {
                u64::try_from(v)
                    .map(SimDuration::from_secs)
                    .map_err(|_| E::custom("negative durations are not allowed"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SimDuration, E> {
                SimDuration::from_secs_f64(v).ok_or_else(|| E::custom("duration out of range"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_forms() {
        assert_eq!("90s".parse::<SimDuration>(), Ok(SimDuration::from_secs(90)));
        assert_eq!(
            "2h".parse::<SimDuration>(),
            Ok(SimDuration::from_secs(7200))
        );
        assert_eq!(
            "1d".parse::<SimDuration>(),
            Ok(SimDuration::from_secs(86_400))
        );
        assert_eq!(
            "1.5h".parse::<SimDuration>(),
            Ok(SimDuration::from_secs(5400))
        );
        assert_eq!(
            "1d2h3m4s".parse::<SimDuration>(),
            Ok(SimDuration::from_secs(93_784))
        );
        assert_eq!(
            "250ms".parse::<SimDuration>(),
            Ok(SimDuration::from_millis(250))
        );
        assert_eq!("42".parse::<SimDuration>(), Ok(SimDuration::from_secs(42)));
        assert_eq!(
            "0.5".parse::<SimDuration>(),
            Ok(SimDuration::from_millis(500))
        );
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in ["", "-5s", "5x", "h", "1.2.3s", "-1"] {
            assert!(bad.parse::<SimDuration>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn prints_round_trip() {
        for s in ["90s", "2h", "1d", "1d2h3m4s", "0.25s", "0s", "1m"] {
            let d: SimDuration = s.parse().unwrap();
            let printed = d.to_string();
            assert_eq!(
                printed.parse::<SimDuration>().unwrap(),
                d,
                "{s} -> {printed}"
            );
        }
        assert_eq!(SimDuration::from_secs(5400).to_string(), "1h30m");
        assert_eq!(SimTime::from_secs(61).to_string(), "t=1m1s");
    }
}

#[cfg(test)]
mod simtime_serde {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct T {
        at: SimTime,
    }

    #[test]
    fn sim_time_reads_nanoseconds_or_a_duration_since_the_start() {
        let t: T = serde_saphyr::from_str("at: 300000000000").expect("ns");
        assert_eq!(t.at, SimTime::from_secs(300));
        let t: T = serde_saphyr::from_str("at: 5m").expect("duration");
        assert_eq!(t.at, SimTime::from_secs(300));
        assert!(serde_saphyr::from_str::<T>("at: soon").is_err());
        assert!(serde_saphyr::from_str::<T>("at: -5").is_err());
    }
}
