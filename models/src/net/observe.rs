//! Observability: per-link utilisation and filesystem throughput samples a caller can turn
//! into time series (call [`LinkSampler::sample`] from a periodic engine event, or at every
//! change for exact step functions).

use serde::Serialize;
use sim_core::SimTime;

use super::flow::{FlowNet, LinkId};
use super::topology::{LinkKind, Topology};

/// Average over `[start, end)` of one link.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LinkSample {
    pub link: LinkId,
    pub start: SimTime,
    pub end: SimTime,
    /// Bytes carried in the interval.
    pub bytes: f64,
    /// Average rate, bytes/s.
    pub avg_rate: f64,
    /// `avg_rate / capacity`.
    pub utilisation: f64,
}

/// Samples a fixed set of links by differencing their cumulative byte counters.
#[derive(Clone, Debug)]
pub struct LinkSampler {
    links: Vec<LinkId>,
    last: SimTime,
    bytes: Vec<f64>,
}

impl LinkSampler {
    pub fn new(net: &FlowNet, links: Vec<LinkId>, now: SimTime) -> Self {
        let bytes = links
            .iter()
            .map(|&l| net.link_state(l, now).bytes)
            .collect();
        LinkSampler {
            links,
            last: now,
            bytes,
        }
    }
    /// Every link of the given kinds (e.g. `[LinkKind::LeafUp]`, or `FsRead`/`FsWrite` for
    /// filesystem throughput).
    pub fn of_kinds(topo: &Topology, net: &FlowNet, kinds: &[LinkKind], now: SimTime) -> Self {
        let links = topo
            .links()
            .iter()
            .enumerate()
            .filter(|(_, l)| kinds.contains(&l.kind))
            .map(|(i, _)| LinkId(i as u32))
            .collect();
        Self::new(net, links, now)
    }
    pub fn links(&self) -> &[LinkId] {
        &self.links
    }
    /// One sample per link for the interval since the previous call.
    pub fn sample(&mut self, net: &FlowNet, now: SimTime) -> Vec<LinkSample> {
        let dt = now.since(self.last).as_secs_f64();
        let mut out = Vec::with_capacity(self.links.len());
        for (i, &l) in self.links.iter().enumerate() {
            let st = net.link_state(l, now);
            let b = st.bytes - self.bytes[i];
            self.bytes[i] = st.bytes;
            let avg = if dt > 0.0 { b / dt } else { st.load };
            out.push(LinkSample {
                link: l,
                start: self.last,
                end: now,
                bytes: b,
                avg_rate: avg,
                utilisation: if st.capacity > 0.0 {
                    avg / st.capacity
                } else {
                    0.0
                },
            });
        }
        self.last = now;
        out
    }
}

/// Instantaneous filesystem throughput (read, write) in bytes/s.
pub fn fs_throughput(topo: &Topology, net: &FlowNet, now: SimTime) -> (f64, f64) {
    (
        net.link_state(topo.fs_read_link(), now).load,
        net.link_state(topo.fs_write_link(), now).load,
    )
}
