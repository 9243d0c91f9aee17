//! The incremental (selective) bandwidth solver against a plain reference: progressive
//! filling written out naively, re-run from scratch after every change, on random small
//! instances (arrivals, departures, batches, completions, capacity changes).

use models::net::{FlowId, FlowNet, FlowSpec, LinkId};
use sim_core::SimTime;

const GB: f64 = 1e9;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, m: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % m
    }
}

/// Textbook progressive filling: raise every unfrozen flow's rate together to the next level
/// at which a link saturates or a flow reaches its cap, freeze those flows, repeat.
fn reference(caps: &[f64], flows: &[(Vec<usize>, Option<f64>)]) -> Vec<f64> {
    let n = flows.len();
    let mut rate = vec![0.0f64; n];
    let mut frozen = vec![false; n];
    loop {
        let mut next = f64::INFINITY;
        for (l, &c) in caps.iter().enumerate() {
            let (mut used, mut k) = (0.0, 0u32);
            for (f, (path, _)) in flows.iter().enumerate() {
                if path.contains(&l) {
                    if frozen[f] {
                        used += rate[f];
                    } else {
                        k += 1;
                    }
                }
            }
            if k > 0 {
                next = next.min(((c - used) / f64::from(k)).max(0.0));
            }
        }
        for (f, (_, cap)) in flows.iter().enumerate() {
            if !frozen[f]
                && let Some(c) = cap
            {
                next = next.min(*c);
            }
        }
        let mut any = false;
        for f in 0..n {
            if !frozen[f] {
                rate[f] = next;
                any = true;
            }
        }
        if !any {
            return rate;
        }
        // Freeze the flows at their cap and those on links now full.
        let mut freeze = vec![false; n];
        for (l, &c) in caps.iter().enumerate() {
            let on: Vec<usize> = (0..n).filter(|&f| flows[f].0.contains(&l)).collect();
            let used: f64 = on.iter().map(|&f| rate[f]).sum();
            if on.iter().any(|&f| !frozen[f]) && used >= c * (1.0 - 1e-12) {
                for &f in &on {
                    freeze[f] = true;
                }
            }
        }
        for (f, (_, cap)) in flows.iter().enumerate() {
            if cap.is_some_and(|c| rate[f] >= c * (1.0 - 1e-12)) {
                freeze[f] = true;
            }
        }
        if next.is_infinite() {
            freeze = vec![true; n];
        }
        for f in 0..n {
            frozen[f] |= freeze[f];
        }
    }
}

struct Case {
    caps: Vec<f64>,
    net: FlowNet,
    live: Vec<(FlowId, Vec<usize>, Option<f64>)>,
    t: u64,
}

impl Case {
    fn new(rng: &mut Lcg, links: usize, rounds: usize) -> Case {
        // Capacities from a few distinct values so that ties and chains of bottlenecks occur.
        let caps: Vec<f64> = (0..links)
            .map(|_| [1.0, 2.0, 3.0, 5.0, 8.0][rng.next(5) as usize] * GB)
            .collect();
        let mut net = FlowNet::new(&caps);
        net.set_selective_rounds(rounds);
        Case {
            caps,
            net,
            live: Vec::new(),
            t: 0,
        }
    }

    fn spec(&self, rng: &mut Lcg) -> (FlowSpec, Vec<usize>, Option<f64>) {
        let len = 1 + rng.next(4) as usize;
        let mut path: Vec<usize> = (0..len)
            .map(|_| rng.next(self.caps.len() as u64) as usize)
            .collect();
        let bytes = (1 + rng.next(50)) as f64 * GB;
        let mut s = FlowSpec::new(path.iter().map(|&l| LinkId(l as u32)).collect(), bytes);
        let cap = (rng.next(4) == 0).then(|| (1 + rng.next(6)) as f64 * 0.25 * GB);
        if let Some(c) = cap {
            s = s.with_cap(c);
        }
        path.sort_unstable();
        path.dedup();
        (s, path, cap)
    }

    fn step(&mut self, rng: &mut Lcg) {
        self.t += 1 + rng.next(200_000_000);
        let now = SimTime(self.t);
        match rng.next(10) {
            0..=3 => {
                let (s, path, cap) = self.spec(rng);
                let id = self.net.add_flow(now, s);
                self.live.push((id, path, cap));
            }
            4 => {
                let k = 1 + rng.next(4);
                let mut specs = Vec::new();
                let mut meta = Vec::new();
                for _ in 0..k {
                    let (s, path, cap) = self.spec(rng);
                    specs.push(s);
                    meta.push((path, cap));
                }
                let ids = self.net.add_flows(now, specs);
                for (id, (path, cap)) in ids.into_iter().zip(meta) {
                    self.live.push((id, path, cap));
                }
            }
            5..=6 if !self.live.is_empty() => {
                let i = rng.next(self.live.len() as u64) as usize;
                let (id, _, _) = self.live.swap_remove(i);
                assert!(self.net.remove_flow(id, now).is_some());
            }
            7 if self.live.len() > 2 => {
                let a = self
                    .live
                    .swap_remove(rng.next(self.live.len() as u64) as usize);
                let b = self
                    .live
                    .swap_remove(rng.next(self.live.len() as u64) as usize);
                self.net.remove_flows(&[a.0, b.0], now);
            }
            8 => {
                let l = rng.next(self.caps.len() as u64) as usize;
                self.caps[l] = [0.5, 1.0, 2.0, 4.0, 8.0][rng.next(5) as usize] * GB;
                self.net
                    .set_link_capacity(LinkId(l as u32), self.caps[l], now);
            }
            _ => {
                let done = self.net.pop_completed(now);
                self.live.retain(|(id, _, _)| !done.contains(id));
            }
        }
        self.net.take_changed();
    }

    fn rates(&self) -> Vec<f64> {
        self.live
            .iter()
            .map(|(id, _, _)| self.net.rate(*id).unwrap())
            .collect()
    }

    fn check(&self, what: &str) {
        let flows: Vec<(Vec<usize>, Option<f64>)> =
            self.live.iter().map(|(_, p, c)| (p.clone(), *c)).collect();
        let want = reference(&self.caps, &flows);
        for (got, want) in self.rates().iter().zip(&want) {
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(GB),
                "{what}: rate {got} vs reference {want}"
            );
        }
        for (l, &c) in self.caps.iter().enumerate() {
            let st = self.net.link_state(LinkId(l as u32), SimTime(self.t));
            assert!(
                st.load <= c * (1.0 + 1e-9),
                "{what}: link {l} over capacity"
            );
        }
    }
}

#[test]
fn selective_solver_matches_reference_progressive_filling() {
    for seed in 0..60u64 {
        let mut rng = Lcg(seed * 7919 + 1);
        let links = 3 + rng.next(14) as usize;
        let mut c = Case::new(&mut rng, links, 6);
        for step in 0..150 {
            c.step(&mut rng);
            c.check(&format!("seed {seed} step {step}"));
        }
    }
}

#[test]
fn selective_and_whole_component_solves_agree() {
    // The same sequence of changes, solved selectively (including a single round, which falls
    // back to the whole component often) and by whole components; rates must agree.
    for seed in 0..30u64 {
        let mut runs: Vec<Vec<Vec<f64>>> = Vec::new();
        for rounds in [0, 1, 6] {
            let mut rng = Lcg(seed + 1000);
            let links = 4 + rng.next(10) as usize;
            let mut c = Case::new(&mut rng, links, rounds);
            let mut trace = Vec::new();
            for _ in 0..120 {
                c.step(&mut rng);
                trace.push(c.rates());
            }
            runs.push(trace);
        }
        for other in &runs[1..] {
            for (a, b) in runs[0].iter().zip(other) {
                assert_eq!(a.len(), b.len(), "seed {seed}: different completions");
                for (x, y) in a.iter().zip(b) {
                    assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(GB),
                        "seed {seed}: {x} vs {y}"
                    );
                }
            }
        }
    }
}

#[test]
fn same_changes_give_bit_identical_results() {
    let run = || {
        let mut rng = Lcg(99);
        let mut c = Case::new(&mut rng, 12, 6);
        let mut out = Vec::new();
        for _ in 0..400 {
            c.step(&mut rng);
            for (id, _, _) in &c.live {
                out.push((
                    c.net.rate(*id).unwrap().to_bits(),
                    c.net.completion_time(*id),
                ));
            }
        }
        out
    };
    assert_eq!(run(), run());
}

#[test]
fn changed_links_list_every_load_that_moved() {
    let mut rng = Lcg(7);
    let mut c = Case::new(&mut rng, 10, 6);
    c.net.track_link_loads(true);
    let loads = |c: &Case| -> Vec<f64> {
        (0..c.caps.len())
            .map(|l| c.net.link_state(LinkId(l as u32), SimTime(c.t)).load)
            .collect()
    };
    let mut before = loads(&c);
    for step in 0..300 {
        c.step(&mut rng);
        let now = loads(&c);
        let listed: Vec<usize> = c
            .net
            .take_changed_links()
            .iter()
            .map(|l| l.index())
            .collect();
        assert!(
            listed.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        for l in 0..c.caps.len() {
            if now[l] != before[l] {
                assert!(listed.contains(&l), "step {step}: link {l} moved unlisted");
            }
        }
        before = now;
    }
}
