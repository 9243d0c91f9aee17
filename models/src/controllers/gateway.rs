//! Request arrivals (piecewise-constant rate, Poisson or evenly spaced), service times,
//! header draws and the HTTPRoute's backend choice.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use sim_core::{SimDuration, SimTime};

use crate::platform::{
    Arrivals, GatewayConfig, HeaderShare, LoadStep, RouteConfig, ServiceDistribution,
};

/// The rate in force at `t` and when the step ends (`None`: never).
fn step_at(load: &[LoadStep], t: SimTime) -> (f64, Option<SimTime>) {
    let idx = load.iter().rposition(|s| SimTime(s.from.as_nanos()) <= t);
    let rate = idx.map_or(0.0, |i| load[i].rps);
    let next = load
        .iter()
        .find(|s| SimTime(s.from.as_nanos()) > t)
        .map(|s| SimTime(s.from.as_nanos()));
    (rate, next)
}

/// The next arrival after the previous one (`prev`, `None` for the first).
///
/// Poisson: exponential gaps at the rate in force; a gap that crosses a step boundary is
/// redrawn from the boundary (exact, by memorylessness). Deterministic: arrivals at
/// `from + k/rps` (k = 0, 1, …) within each step.
pub fn next_arrival(
    load: &[LoadStep],
    mode: Arrivals,
    prev: Option<SimTime>,
    rng: &mut ChaCha8Rng,
) -> Option<SimTime> {
    match mode {
        Arrivals::Deterministic => next_even(load, prev),
        Arrivals::Poisson => {
            let mut t = prev.unwrap_or(SimTime::ZERO);
            loop {
                let (rate, next) = step_at(load, t);
                if rate <= 0.0 {
                    t = next?;
                    continue;
                }
                let u: f64 = rng.random();
                let cand = t + SimDuration::from_secs_f64(-(1.0 - u).ln() / rate)?;
                match next {
                    Some(b) if cand >= b => t = b,
                    _ => return Some(cand),
                }
            }
        }
    }
}

/// Evenly spaced arrivals: `from + k/rps` within each step with a positive rate.
fn next_even(load: &[LoadStep], prev: Option<SimTime>) -> Option<SimTime> {
    let start = |i: usize| SimTime(load[i].from.as_nanos());
    let first_from = match prev {
        None => 0,
        Some(p) => {
            let i = load.iter().rposition(|s| SimTime(s.from.as_nanos()) <= p)?;
            if load[i].rps > 0.0 {
                let cand = p + SimDuration::from_secs_f64(1.0 / load[i].rps)?;
                if i + 1 >= load.len() || cand < start(i + 1) {
                    return Some(cand);
                }
            }
            i + 1
        }
    };
    (first_from..load.len())
        .find(|&j| load[j].rps > 0.0)
        .map(start)
}

/// A service time with the configured mean.
pub fn service_time(
    mean: SimDuration,
    dist: ServiceDistribution,
    rng: &mut ChaCha8Rng,
) -> SimDuration {
    match dist {
        ServiceDistribution::Deterministic => mean,
        ServiceDistribution::Exponential => {
            let u: f64 = rng.random();
            SimDuration::from_secs_f64(-(1.0 - u).ln() * mean.as_secs_f64()).unwrap_or(mean)
        }
    }
}

/// Pick an index with probability proportional to its weight (weights sum > 0).
pub fn weighted_index(weights: &[u32], rng: &mut ChaCha8Rng) -> usize {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return 0;
    }
    let mut x = rng.random_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        if x < u64::from(w) {
            return i;
        }
        x -= u64::from(w);
    }
    weights.len() - 1
}

/// The header value a request carries (`None` with no mix).
pub fn draw_header(mix: &[HeaderShare], rng: &mut ChaCha8Rng) -> Option<String> {
    if mix.is_empty() {
        return None;
    }
    let w: Vec<u32> = mix.iter().map(|h| h.weight).collect();
    Some(mix[weighted_index(&w, rng)].value.clone())
}

/// The backend (service name) a request takes through `route`.
///
/// No gateway: the first backend. Header matching honoured and a rule matches: its
/// backend. Otherwise weights honoured: a weighted draw from `rng`; else the first
/// backend.
pub fn route_request<'a>(
    route: &'a RouteConfig,
    gateway: Option<&GatewayConfig>,
    header: Option<&str>,
    rng: &mut ChaCha8Rng,
) -> &'a str {
    let first = route.backends[0].service.as_str();
    let Some(gw) = gateway else { return first };
    if gw.header_matching
        && let Some(h) = header
        && let Some(m) = route.matches.iter().find(|m| m.value == h)
    {
        return &m.backend;
    }
    if gw.weighted_routing && route.backends.len() > 1 {
        let w: Vec<u32> = route.backends.iter().map(|b| b.weight).collect();
        return &route.backends[weighted_index(&w, rng)].service;
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::RngStreams;

    #[test]
    fn deterministic_arrivals_follow_the_steps() {
        let load = [
            LoadStep {
                from: SimDuration::from_secs(0),
                rps: 2.0,
            },
            LoadStep {
                from: SimDuration::from_secs(2),
                rps: 0.0,
            },
            LoadStep {
                from: SimDuration::from_secs(5),
                rps: 1.0,
            },
        ];
        let mut rng = RngStreams::new(1).stream("x");
        let mut prev = None;
        let mut got = Vec::new();
        for _ in 0..7 {
            let t = next_arrival(&load, Arrivals::Deterministic, prev, &mut rng).expect("more");
            got.push(t.as_nanos() / 100_000_000);
            prev = Some(t);
        }
        // 0, 0.5, 1, 1.5 s; nothing in [2, 5); then 5, 6, 7 s.
        assert_eq!(got, vec![0, 5, 10, 15, 50, 60, 70]);
    }

    #[test]
    fn zero_load_ends_arrivals() {
        let load = [LoadStep {
            from: SimDuration::from_secs(0),
            rps: 0.0,
        }];
        let mut rng = RngStreams::new(1).stream("x");
        assert_eq!(next_arrival(&load, Arrivals::Poisson, None, &mut rng), None);
    }
}
