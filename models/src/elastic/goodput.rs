//! The Pollux artefact's performance and goodput model, ported from
//! `simulator/goodput.py` of petuum/adaptdl, branch `osdi21-artifact` (commit `de25dcc`).
//!
//! What is ported:
//!
//! * [`PerfParams`] (the artefact's `PerfParams` named tuple) and the three predictors
//!   `_predict_accum_time`, `_predict_network_time` and `_predict_log_optim_time`
//!   ([`PerfParams::accum_time`], [`PerfParams::network_time`],
//!   [`PerfParams::optim_time`]);
//! * `GoodputFunction` ([`GoodputFn`]): `throughput`, `efficiency`, `evaluate` and
//!   `optimize` for one (nodes, replicas) pair, with numpy's numerics where they decide the
//!   result: `np.geomspace` (log10, evenly spaced exponents, `10 ** y`, exact endpoints,
//!   descending when the smallest batch size exceeds the largest), the `eps = 1e-8`
//!   floor/ceil rules and `np.argmax` (first maximum; a NaN wins, as in numpy);
//! * `fit_perf_params` ([`fit_perf_params`]): the same objective (`_obj_fn`), initial
//!   point, bounds, rules fixing parameters and post-fit prior. `scipy.optimize.minimize`
//!   with bounds and a gradient runs L-BFGS-B; this file carries a line-by-line port of
//!   SciPy 1.17's L-BFGS-B (`scipy/optimize/__lbfgsb.c`, the C translation of
//!   L-BFGS-B 3.0: generalized Cauchy point, direct primal subspace minimisation with the
//!   Morales–Nocedal projection, Moré–Thuente line search `dcsrch`/`dcstep`) with SciPy's
//!   defaults (`maxcor` 10, `ftol` 2.22e-9, `gtol` 1e-5, `maxls` 20, `maxiter` and
//!   `maxfun` 15000). As in SciPy, parameters fixed by the rules stay in the problem with
//!   equal bounds (L-BFGS-B never moves them). The gradient is derived by hand (autograd
//!   in the artefact).
//!
//! Deviations (none changes a result on valid input beyond rounding):
//!
//! * The objective computes `log(a^γ + n^γ) / γ` in the overflow-free form
//!   `max(ln a, ln n) + ln(1 + e^(-γ|ln a - ln n|)) / γ` and sums squares sequentially
//!   (numpy sums pairwise); both agree to rounding. [`GoodputFn::throughput`] keeps the
//!   artefact's literal `exp(log(a ** γ + n ** γ) / γ)`.
//! * LAPACK's Cholesky and triangular solves are plain loops ordered for speed, and
//!   divisions by a pivot or by `sy[k, k]`, `theta` become multiplications by the
//!   reciprocal; the rounding differs from SciPy's (OpenBLAS), so iterates can drift apart
//!   from SciPy's after many iterations or at a kink of the objective. On the artefact's
//!   profiles the iteration counts equal SciPy's and the fitted step times agree to
//!   1e-7 or better, except near a kink (one observation: 0.2 %); the tests measure it.
//! * Speed: a fit costs about 2–3 µs per L-BFGS-B iteration (the m = 10 compact
//!   representation dominates) plus the objective, i.e. 6–70 µs for up to 7 observations
//!   and 0.2–0.5 ms for ~30 observations needing 50–130 iterations.
//! * Where Python fails or produces NaN, this code does something defined and never
//!   panics: observations with a non-finite or non-positive time are ignored (`np.log`
//!   would make the objective NaN); no usable observation returns the initial parameters
//!   `[0.1, 0.01] * 3 + [1.001]`; a residual that is exactly zero contributes a zero
//!   gradient (autograd's `sqrt` gives NaN); a non-finite objective or gradient at a
//!   line-search trial point, or a line-search error, is handled like L-BFGS-B's
//!   line-search failure (restart from the last iterate, or stop if the memory is empty).
//! * `evaluate` and `optimize` do not assert: a batch size below `init_batch_size` gets
//!   the efficiency formula as it stands (`(PGNS + init) / (PGNS + batch)`, above 1);
//!   `optimize` with a zero batch size or zero replicas (numpy raises) returns `(0, 0, 0)`;
//!   returned sizes are clamped to `u32`.
//! * `optimize` evaluates `net ** γ` once per call and reuses the goodput of consecutive
//!   candidates with the same (atomic size, steps): the same arithmetic, fewer calls.

/// The artefact's PerfParams.
///
/// Step time model: accumulation step `alpha_c + beta_c * atomic_bsz`; network time
/// `alpha + beta * max(replicas - 2, 1e-8)` with (alpha_n, beta_n) across nodes and
/// (alpha_r, beta_r) within a node; optimiser step
/// `(accum^gamma + network^gamma)^(1/gamma)`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PerfParams {
    pub alpha_c: f64,
    pub beta_c: f64,
    pub alpha_n: f64,
    pub beta_n: f64,
    pub alpha_r: f64,
    pub beta_r: f64,
    pub gamma: f64,
}

impl PerfParams {
    /// The initial point of the artefact's fit: `[1e-1, 1e-2] * 3 + [1.0 + 1e-3]`.
    pub const INITIAL: PerfParams = PerfParams {
        alpha_c: 1e-1,
        beta_c: 1e-2,
        alpha_n: 1e-1,
        beta_n: 1e-2,
        alpha_r: 1e-1,
        beta_r: 1e-2,
        gamma: 1.0 + 1e-3,
    };

    fn to_array(self) -> [f64; 7] {
        [
            self.alpha_c,
            self.beta_c,
            self.alpha_n,
            self.beta_n,
            self.alpha_r,
            self.beta_r,
            self.gamma,
        ]
    }

    fn from_array(x: [f64; 7]) -> PerfParams {
        PerfParams {
            alpha_c: x[0],
            beta_c: x[1],
            alpha_n: x[2],
            beta_n: x[3],
            alpha_r: x[4],
            beta_r: x[5],
            gamma: x[6],
        }
    }

    /// `_predict_accum_time`: time of one accumulation (forward/backward) step.
    pub fn accum_time(&self, atomic_bsz: f64) -> f64 {
        self.alpha_c + self.beta_c * atomic_bsz
    }

    /// `_predict_network_time`: `np.select([nodes > 1, replicas > 1], ..., 1e-8)` for both
    /// the constant and the retrogression term, the latter times `max(replicas - 2, 1e-8)`.
    pub fn network_time(&self, nodes: u32, replicas: u32) -> f64 {
        let (bottleneck, retrogress) = self.network_terms(nodes, replicas);
        bottleneck + retrogress * retro_factor(replicas)
    }

    fn network_terms(&self, nodes: u32, replicas: u32) -> (f64, f64) {
        if nodes > 1 {
            (self.alpha_n, self.beta_n)
        } else if replicas > 1 {
            (self.alpha_r, self.beta_r)
        } else {
            (1e-8, 1e-8)
        }
    }

    /// `exp(_predict_log_optim_time)`: time of an optimiser step (accumulation step plus
    /// gradient synchronisation), as the artefact computes it.
    pub fn optim_time(&self, nodes: u32, replicas: u32, atomic_bsz: f64) -> f64 {
        let accum = self.accum_time(atomic_bsz);
        let network = self.network_time(nodes, replicas);
        log_optim(accum.powf(self.gamma), network.powf(self.gamma), self.gamma).exp()
    }
}

/// `np.maximum(num_replicas - 2, 1e-8)`.
fn retro_factor(replicas: u32) -> f64 {
    let r = replicas as f64 - 2.0;
    if r > 1e-8 { r } else { 1e-8 }
}

/// `np.log(accum ** gamma + network ** gamma) / gamma` from the two powers.
fn log_optim(accum_pow: f64, network_pow: f64, gamma: f64) -> f64 {
    (accum_pow + network_pow).ln() / gamma
}

/// The artefact's GoodputFunction: performance parameters, gradient statistics
/// (`GradParams(sqr, var)`) and the initial batch size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GoodputFn {
    pub perf: PerfParams,
    pub grad_sqr: f64,
    pub grad_var: f64,
    pub init_batch_size: u32,
}

/// Candidates `optimize` samples (`np.geomspace`'s default `num`).
const GEOM_SAMPLES: usize = 50;

impl GoodputFn {
    /// Samples (total batch) per second: `replicas * atomic_bsz * (accum_steps + 1)` over
    /// `accum_steps * accum_time + optim_time`.
    pub fn throughput(&self, nodes: u32, replicas: u32, atomic_bsz: u32, accum_steps: u32) -> f64 {
        let p = &self.perf;
        let network_pow = p.network_time(nodes, replicas).powf(p.gamma);
        self.throughput_with(
            network_pow,
            replicas as f64,
            atomic_bsz as f64,
            accum_steps as f64,
        )
    }

    fn throughput_with(&self, network_pow: f64, replicas: f64, atomic: f64, accum: f64) -> f64 {
        let p = &self.perf;
        let accum_time = p.accum_time(atomic);
        let optim_time = log_optim(accum_time.powf(p.gamma), network_pow, p.gamma).exp();
        let total_time = accum * accum_time + optim_time;
        let batch_size = replicas * atomic * (accum + 1.0);
        batch_size / total_time
    }

    /// Statistical efficiency of a total batch size relative to `init_batch_size`:
    /// `(PGNS + init) / (PGNS + batch)`, with the artefact's guard (gain 1 when the
    /// denominator is not positive).
    pub fn efficiency(&self, batch_size: f64) -> f64 {
        let scale = batch_size / self.init_batch_size as f64;
        let denom = self.grad_var / scale + self.grad_sqr;
        let gain = if denom > 0.0 {
            (self.grad_var + self.grad_sqr) / denom
        } else {
            1.0
        };
        gain / scale
    }

    /// Goodput: throughput times efficiency. Python asserts `init_batch_size <= batch`;
    /// here a smaller batch gets the formula as it stands (efficiency above 1).
    pub fn evaluate(&self, nodes: u32, replicas: u32, atomic_bsz: u32, accum_steps: u32) -> f64 {
        let batch_size = replicas as f64 * atomic_bsz as f64 * (accum_steps as f64 + 1.0);
        self.throughput(nodes, replicas, atomic_bsz, accum_steps) * self.efficiency(batch_size)
    }

    /// GoodputFunction.optimize for one (nodes, replicas): (goodput, atomic_bsz, accum_steps).
    /// max_batch_size None = init_batch_size; atomic range (min, max) as in Python (None -> 1 / max_batch_size).
    ///
    /// As in Python, `Some(0)` in the atomic range counts as absent (`x or default`).
    /// Allocation-free.
    pub fn optimize(
        &self,
        nodes: u32,
        replicas: u32,
        max_batch_size: Option<u32>,
        atomic_bsz_range: (Option<u32>, Option<u32>),
        accumulation: bool,
    ) -> (f64, u32, u32) {
        let max_batch_size = max_batch_size.unwrap_or(self.init_batch_size);
        let min_atomic = match atomic_bsz_range.0 {
            Some(v) if v != 0 => v,
            _ => 1,
        };
        let max_atomic = match atomic_bsz_range.1 {
            Some(v) if v != 0 => v,
            _ => max_batch_size,
        };
        let min_batch_size = (self.init_batch_size as u64).max(min_atomic as u64 * replicas as u64);
        if min_batch_size == 0 || max_batch_size == 0 || replicas == 0 {
            return (0.0, 0, 0);
        }
        let (min_atomic, max_atomic) = (min_atomic as f64, max_atomic as f64);
        let replicas_f = replicas as f64;
        let init = self.init_batch_size as f64;
        let network_pow = self
            .perf
            .network_time(nodes, replicas)
            .powf(self.perf.gamma);
        let eps = 1e-8;
        let geom = Geomspace::new(min_batch_size as f64, max_batch_size as f64);
        let mut best = (f64::NEG_INFINITY, 0.0, 0.0);
        // Goodput of the previous candidate: consecutive samples often round to the same
        // configuration, whose goodput is then the same number.
        let mut last: Option<(f64, f64, f64)> = None;
        for k in 0..GEOM_SAMPLES {
            let local_bsz = geom.sample(k) / replicas_f;
            let accum_steps = if accumulation {
                let steps = (local_bsz / max_atomic - eps).ceil() - 1.0;
                if replicas == 1 && local_bsz > init + eps {
                    if steps > 1.0 { steps } else { 1.0 }
                } else {
                    steps
                }
            } else {
                0.0
            };
            let atomic_bsz = (local_bsz / (accum_steps + 1.0) - eps).ceil();
            let goodput = if !(min_atomic <= atomic_bsz && atomic_bsz <= max_atomic) {
                0.0
            } else {
                match last {
                    Some((a, s, g)) if a == atomic_bsz && s == accum_steps => g,
                    _ => {
                        let batch_size = replicas_f * atomic_bsz * (accum_steps + 1.0);
                        let g =
                            self.throughput_with(network_pow, replicas_f, atomic_bsz, accum_steps)
                                * self.efficiency(batch_size);
                        last = Some((atomic_bsz, accum_steps, g));
                        g
                    }
                }
            };
            if goodput.is_nan() {
                best = (goodput, atomic_bsz, accum_steps);
                break;
            }
            if k == 0 || goodput > best.0 {
                best = (goodput, atomic_bsz, accum_steps);
            }
        }
        (best.0, to_u32(best.1), to_u32(best.2))
    }
}

/// A non-negative integral f64 as u32 (saturating; NaN and negatives give 0).
fn to_u32(v: f64) -> u32 {
    v as u32
}

/// `np.geomspace(start, stop)` (50 samples, endpoint) for positive `start`, `stop`.
struct Geomspace {
    start: f64,
    stop: f64,
    log_start: f64,
    delta: f64,
    step: f64,
}

impl Geomspace {
    fn new(start: f64, stop: f64) -> Geomspace {
        let log_start = start.log10();
        let log_stop = stop.log10();
        let delta = log_stop - log_start;
        let step = delta / (GEOM_SAMPLES - 1) as f64;
        Geomspace {
            start,
            stop,
            log_start,
            delta,
            step,
        }
    }

    fn sample(&self, k: usize) -> f64 {
        if k == 0 {
            return self.start;
        }
        if k == GEOM_SAMPLES - 1 {
            return self.stop;
        }
        // np.linspace: arange * step + start (or (arange / div) * delta when step == 0).
        let y = if self.step == 0.0 {
            (k as f64 / (GEOM_SAMPLES - 1) as f64) * self.delta
        } else {
            k as f64 * self.step
        } + self.log_start;
        10f64.powf(y)
    }
}

/// One observation: (num_nodes, num_replicas, atomic_bsz, accum_step_time, optim_step_time)
/// (the artefact passes compute_time = step_time - sync_time as accum and step_time as optim).
///
/// Observations with a non-finite or non-positive time are ignored; with none left the
/// initial parameters ([`PerfParams::INITIAL`]) are returned.
pub fn fit_perf_params(obs: &[(u32, u32, u32, f64, f64)]) -> PerfParams {
    let Some(problem) = FitProblem::new(obs) else {
        return PerfParams::INITIAL;
    };
    let mut objective = Objective::new(obs);
    let x = lbfgsb::minimize(
        |x, g| objective.value_and_grad(x, g),
        problem.x0,
        problem.lower,
        problem.upper,
    );
    let mut params = PerfParams::from_array(x);
    if !problem.multi_node {
        // Enforce prior: alpha_n and beta_n are at least alpha_r and beta_r.
        params.alpha_n = py_max(params.alpha_n, params.alpha_r * 1.1);
        params.beta_n = py_max(params.beta_n, params.beta_r * 1.1);
    }
    params
}

/// The artefact's objective (`_obj_fn`) at `params` over the usable observations (those
/// [`fit_perf_params`] keeps); NaN when there are none.
pub fn fit_objective(params: &PerfParams, obs: &[(u32, u32, u32, f64, f64)]) -> f64 {
    let mut g = [0.0; 7];
    Objective::new(obs).value_and_grad(&params.to_array(), &mut g)
}

/// Python's builtin `max(a, b)`: `a` unless `b > a`.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

fn usable(o: &(u32, u32, u32, f64, f64)) -> bool {
    o.3.is_finite() && o.3 > 0.0 && o.4.is_finite() && o.4 > 0.0
}

/// Initial point and bounds after the artefact's rules.
struct FitProblem {
    x0: [f64; 7],
    lower: [f64; 7],
    upper: [f64; 7],
    multi_node: bool,
}

impl FitProblem {
    fn new(obs: &[(u32, u32, u32, f64, f64)]) -> Option<FitProblem> {
        let mut accum = Vec::with_capacity(obs.len());
        let mut first_bsz = None;
        let mut single_bsz = true;
        let mut multi_node = false;
        let mut single_node_multi_replica = false;
        let mut over_two_replicas = false;
        for o in obs.iter().filter(|o| usable(o)) {
            accum.push(o.3);
            match first_bsz {
                None => first_bsz = Some(o.2),
                Some(b) if b != o.2 => single_bsz = false,
                Some(_) => {}
            }
            multi_node |= o.0 > 1;
            single_node_multi_replica |= o.0 == 1 && o.1 > 1;
            over_two_replicas |= o.1 > 2;
        }
        if accum.is_empty() {
            return None;
        }
        let mut x0 = PerfParams::INITIAL.to_array();
        let mut lower = [1e-8, 1e-8, 1e-8, 1e-8, 1e-8, 1e-8, 1.0];
        let mut upper = [
            f64::INFINITY,
            f64::INFINITY,
            f64::INFINITY,
            f64::INFINITY,
            f64::INFINITY,
            f64::INFINITY,
            10.0,
        ];
        let mut fix = |i: usize, v: f64, x0: &mut [f64; 7]| {
            x0[i] = v;
            lower[i] = v;
            upper[i] = v;
        };
        if single_bsz {
            // Fix alpha_c if only observed a single atomic batch size.
            let mean = crate::fgd::analysis::pairwise_sum(&accum) / accum.len() as f64;
            fix(0, mean / 2.0, &mut x0);
        }
        if !multi_node {
            fix(2, 1e-8, &mut x0);
            fix(3, 1e-8, &mut x0);
        }
        if !single_node_multi_replica {
            fix(4, 1e-8, &mut x0);
            fix(5, 1e-8, &mut x0);
        }
        if !over_two_replicas {
            fix(3, 1e-8, &mut x0);
            fix(5, 1e-8, &mut x0);
        }
        Some(FitProblem {
            x0,
            lower,
            upper,
            multi_node,
        })
    }
}

/// One usable observation, preprocessed for the objective.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// Index of the atomic batch size in `Objective::bsz`.
    bsz: usize,
    /// Index of the (link, replicas) group in `Objective::links`.
    link: usize,
    log_accum: f64,
    log_optim: f64,
}

/// `_obj_fn` and its gradient. Observations sharing an atomic batch size share their
/// predicted accumulation time; those sharing a link and replica count share their
/// network time (each is computed once per evaluation).
struct Objective {
    samples: Vec<Sample>,
    /// Distinct atomic batch sizes.
    bsz: Vec<f64>,
    /// Distinct (link, max(replicas - 2, 1e-8)); link 0: single replica (constant network
    /// time), 1: across nodes, 2: within a node.
    links: Vec<(u8, f64)>,
    /// Per link: where its network gradient goes in the 9-slot accumulator (slots 7 and 8
    /// collect the constant network time's, which has none).
    slots: Vec<(usize, usize)>,
    /// Per batch size: (accum time, its log); per link: (network time, its log).
    accum: Vec<(f64, f64)>,
    network: Vec<(f64, f64)>,
}

impl Objective {
    fn new(obs: &[(u32, u32, u32, f64, f64)]) -> Objective {
        let mut bsz: Vec<f64> = Vec::new();
        let mut links: Vec<(u8, f64)> = Vec::new();
        let mut samples = Vec::with_capacity(obs.len());
        for o in obs.iter().filter(|o| usable(o)) {
            let b = o.2 as f64;
            let link = if o.0 > 1 {
                1
            } else if o.1 > 1 {
                2
            } else {
                0
            };
            let l = (link, retro_factor(o.1));
            let bi = bsz.iter().position(|&v| v == b).unwrap_or_else(|| {
                bsz.push(b);
                bsz.len() - 1
            });
            let li = links.iter().position(|&v| v == l).unwrap_or_else(|| {
                links.push(l);
                links.len() - 1
            });
            samples.push(Sample {
                bsz: bi,
                link: li,
                log_accum: o.3.ln(),
                log_optim: o.4.ln(),
            });
        }
        let slots = links
            .iter()
            .map(|&(link, _)| match link {
                1 => (2, 3),
                2 => (4, 5),
                _ => (7, 8),
            })
            .collect();
        Objective {
            samples,
            slots,
            accum: vec![(0.0, 0.0); bsz.len()],
            network: vec![(0.0, 0.0); links.len()],
            bsz,
            links,
        }
    }

    /// RMSLE(accum) + RMSLE(optim) + 1e-3 (gamma - 1)^2
    /// + 1e-2 ((beta_n / alpha_n)^2 + (beta_r / alpha_r)^2), and its gradient into `g`.
    fn value_and_grad(&mut self, x: &[f64; 7], g: &mut [f64; 7]) -> f64 {
        let [alpha_c, beta_c, alpha_n, beta_n, alpha_r, beta_r, gamma] = *x;
        for (a, &b) in self.accum.iter_mut().zip(&self.bsz) {
            let t = alpha_c + beta_c * b;
            *a = (t, t.ln());
        }
        for (n, &(link, retro)) in self.network.iter_mut().zip(&self.links) {
            let t = match link {
                1 => alpha_n + beta_n * retro,
                2 => alpha_r + beta_r * retro,
                _ => 1e-8 + 1e-8 * retro,
            };
            *n = (t, t.ln());
        }
        let mut sum1 = 0.0;
        let mut sum2 = 0.0;
        // Gradients of sum(e1 * d ln accum) and sum(e2 * d log optim).
        let mut g1 = [0.0; 2];
        let mut g2 = [0.0; 9];
        for s in &self.samples {
            let (accum, la) = self.accum[s.bsz];
            let (network, ln) = self.network[s.link];
            let retro = self.links[s.link].1;
            let (ia, ib) = self.slots[s.link];
            let b = self.bsz[s.bsz];
            // log(accum^g + network^g) / g without overflow: with the larger log hi and
            // w = exp(-g |la - ln|), lo = hi + ln(1 + w) / g; wa, wn: the shares
            // accum^g / (accum^g + network^g) and network^g / (...).
            let accum_larger = la >= ln;
            let hi = if accum_larger { la } else { ln };
            let w = (-gamma * (la - ln).abs()).exp();
            let inv = 1.0 / (1.0 + w);
            let lo = hi + (1.0 + w).ln() / gamma;
            let (wa, wn) = if accum_larger {
                (inv, w * inv)
            } else {
                (w * inv, inv)
            };
            let e1 = la - s.log_accum;
            let e2 = lo - s.log_optim;
            sum1 += e1 * e1;
            sum2 += e2 * e2;
            let c1 = e1 / accum;
            g1[0] += c1;
            g1[1] += c1 * b;
            let ca = e2 * wa / accum;
            g2[0] += ca;
            g2[1] += ca * b;
            let cn = e2 * wn / network;
            g2[ia] += cn;
            g2[ib] += cn * retro;
            g2[6] += e2 * (wa * la + wn * ln - lo) / gamma;
        }
        let n = self.samples.len() as f64;
        let err1 = (sum1 / n).sqrt();
        let err2 = (sum2 / n).sqrt();
        let k1 = if err1 > 0.0 { 1.0 / (n * err1) } else { 0.0 };
        let k2 = if err2 > 0.0 { 1.0 / (n * err2) } else { 0.0 };
        let rn = beta_n / alpha_n;
        let rr = beta_r / alpha_r;
        let value = err1 + err2 + 1e-3 * (gamma - 1.0) * (gamma - 1.0) + 1e-2 * (rn * rn + rr * rr);
        for (i, gi) in g.iter_mut().enumerate() {
            *gi = k2 * g2[i];
        }
        g[0] += k1 * g1[0];
        g[1] += k1 * g1[1];
        g[2] += -2e-2 * rn * rn / alpha_n;
        g[3] += 2e-2 * rn / alpha_n;
        g[4] += -2e-2 * rr * rr / alpha_r;
        g[5] += 2e-2 * rr / alpha_r;
        g[6] += 2e-3 * (gamma - 1.0);
        value
    }
}

/// L-BFGS-B 3.0 as SciPy 1.17 runs it (`scipy/optimize/__lbfgsb.c` and the driver loop of
/// `_minimize_lbfgsb`), for this file's 7 variables, all bounded. Index conventions and
/// control flow follow the C code (0-based, column-major matrices).
mod lbfgsb {
    // Loops keep the C code's indices, so that the port reads against it line by line.
    #![allow(clippy::needless_range_loop)]

    const N: usize = 7;
    const M: usize = 10;
    const M2: usize = 2 * M;
    const EPSMACH: f64 = f64::EPSILON;
    /// SciPy's defaults: ftol = 2.220446049250313e-09 (factr = ftol / eps), gtol = 1e-5.
    const FACTR: f64 = 2.220446049250313e-09 / f64::EPSILON;
    const PGTOL: f64 = 1e-5;
    const MAXLS: i32 = 20;
    const MAXITER: u32 = 15000;
    const MAXFUN: u32 = 15000;

    /// Minimises `fun` (value, gradient into the second argument) over `lower <= x <= upper`
    /// from `x0`. `lower` is finite; `upper` may be +inf. Returns SciPy's `result.x`.
    pub(super) fn minimize<F>(
        mut fun: F,
        x0: [f64; N],
        lower: [f64; N],
        upper: [f64; N],
    ) -> [f64; N]
    where
        F: FnMut(&[f64; N], &mut [f64; N]) -> f64,
    {
        let l = lower;
        let u = upper;
        // nbd: 1 lower bound only, 2 both (bounds_map of _minimize_lbfgsb).
        let mut nbd = [0i32; N];
        for i in 0..N {
            let lo = !l[i].is_infinite();
            let up = !u[i].is_infinite();
            nbd[i] = match (lo, up) {
                (false, false) => 0,
                (true, false) => 1,
                (true, true) => 2,
                (false, true) => 3,
            };
            if nbd[i] == 2 && l[i] > u[i] {
                return x0;
            }
        }
        // np.clip(x0, lb, ub)
        let mut x = x0;
        for i in 0..N {
            x[i] = x[i].max(l[i]).min(u[i]);
        }
        let mut s = Lbfgsb::new();
        let mut g = [0.0; N];
        let mut f = fun(&x, &mut g);
        let mut nfev: u32 = 1;
        if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
            return x;
        }

        // active: project x (already feasible) and initialise iwhere.
        let mut iwhere = [0isize; N];
        let mut cnstnd = false;
        let mut boxed = true;
        for i in 0..N {
            if nbd[i] != 2 {
                boxed = false;
            }
            if nbd[i] == 0 {
                iwhere[i] = -1;
            } else {
                cnstnd = true;
                iwhere[i] = if nbd[i] == 2 && u[i] - l[i] <= 0.0 {
                    3
                } else {
                    0
                };
            }
        }

        let tol = FACTR * EPSMACH;
        let mut col: usize = 0;
        let mut head: usize = 0;
        let mut theta = 1.0;
        let mut iupdat: usize = 0;
        let mut updatd = false;
        let mut itail: usize = 0;
        let mut iter: usize = 0;
        let mut nfree: usize = N;
        let mut nenter: usize = 0;
        let mut ileave: usize = N;
        let mut index = [0usize; N];
        let mut indx2 = [0usize; N];
        let mut wrk = false;
        let mut n_iterations: u32 = 0;

        let mut sbgnrm = projgr(&l, &u, &nbd, &x, &g);
        if sbgnrm <= PGTOL {
            return x;
        }
        // Belt and braces: every pass either ends an iteration or restarts with an empty
        // memory, and a restart with an empty memory ends an iteration or stops.
        let mut passes: u32 = 0;
        'main: loop {
            passes += 1;
            if passes > 4 * MAXITER {
                return x;
            }
            let mut info: i32;
            if !cnstnd && col > 0 {
                s.z = x;
                wrk = updatd;
            } else {
                // Compute the Generalized Cauchy Point.
                info = s.cauchy(
                    &x,
                    &l,
                    &u,
                    &nbd,
                    &g,
                    &mut indx2,
                    &mut iwhere,
                    theta,
                    col,
                    head,
                    sbgnrm,
                );
                if info != 0 {
                    s.refresh(&mut col, &mut head, &mut theta, &mut iupdat, &mut updatd);
                    continue 'main;
                }
                freev(
                    &mut nfree,
                    &mut index,
                    &mut nenter,
                    &mut ileave,
                    &mut indx2,
                    &iwhere,
                    &mut wrk,
                    updatd,
                    cnstnd,
                    iter,
                );
            }
            // Subspace minimisation.
            if nfree != 0 && col != 0 {
                info = 0;
                if wrk {
                    info = s.formk(
                        nfree, &index, nenter, ileave, &indx2, iupdat, updatd, theta, col, head,
                    );
                }
                if info != 0 {
                    s.refresh(&mut col, &mut head, &mut theta, &mut iupdat, &mut updatd);
                    continue 'main;
                }
                info = s.cmprlb(&x, &g, &index, theta, col, head, nfree, cnstnd);
                if info == 0 {
                    info = s.subsm(nfree, &index, &l, &u, &nbd, theta, &x, &g, col, head);
                }
                if info != 0 {
                    s.refresh(&mut col, &mut head, &mut theta, &mut iupdat, &mut updatd);
                    continue 'main;
                }
            }
            // Line search.
            for i in 0..N {
                s.d[i] = s.z[i] - x[i];
            }
            let mut ls = LineSearch::start(&s.d, &x, &l, &u, &nbd, iter, boxed, cnstnd);
            s.t = x;
            s.r = g;
            let fold = f;
            loop {
                match ls.step(&s.d, &s.z, &s.t, &mut x, &l, &u, &nbd, f, &g) {
                    Step::Evaluate if ls.iback < MAXLS => {
                        f = fun(&x, &mut g);
                        nfev += 1;
                        if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
                            // Treated like a line-search failure (see the module doc).
                            x = s.t;
                            g = s.r;
                            f = fold;
                            if col == 0 {
                                return x;
                            }
                            s.refresh(&mut col, &mut head, &mut theta, &mut iupdat, &mut updatd);
                            continue 'main;
                        }
                    }
                    Step::Evaluate | Step::Failed => {
                        x = s.t;
                        g = s.r;
                        f = fold;
                        if col == 0 {
                            // Abnormal termination.
                            return x;
                        }
                        s.refresh(&mut col, &mut head, &mut theta, &mut iupdat, &mut updatd);
                        continue 'main;
                    }
                    Step::NewX => break,
                }
            }
            iter += 1;
            sbgnrm = projgr(&l, &u, &nbd, &x, &g);
            // The Python driver's limits.
            n_iterations += 1;
            if n_iterations >= MAXITER || nfev > MAXFUN {
                return x;
            }
            // Termination tests.
            if sbgnrm <= PGTOL {
                return x;
            }
            let ddum = fold.abs().max(f.abs()).max(1.0);
            if fold - f <= tol * ddum {
                return x;
            }
            // d = new x - old x, r = new g - old g.
            for i in 0..N {
                s.r[i] = g[i] - s.r[i];
            }
            let rr = nrm2(&s.r).powi(2);
            let stp = ls.stp;
            let (dr, ddum) = if stp == 1.0 {
                (ls.gd - ls.gdold, -ls.gdold)
            } else {
                for di in s.d.iter_mut() {
                    *di *= stp;
                }
                ((ls.gd - ls.gdold) * stp, -ls.gdold * stp)
            };
            if dr <= EPSMACH * ddum {
                // Skip the L-BFGS update.
                updatd = false;
                continue 'main;
            }
            updatd = true;
            iupdat += 1;
            s.matupd(
                &mut itail, iupdat, &mut col, &mut head, &mut theta, rr, dr, stp, ls.dtd,
            );
            if s.formt(col, theta) != 0 {
                s.refresh(&mut col, &mut head, &mut theta, &mut iupdat, &mut updatd);
            }
        }
    }

    fn nrm2(v: &[f64; N]) -> f64 {
        v.iter().map(|a| a * a).sum::<f64>().sqrt()
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        let mut s = 0.0;
        for (x, y) in a.iter().zip(b) {
            s += x * y;
        }
        s
    }

    fn projgr(l: &[f64; N], u: &[f64; N], nbd: &[i32; N], x: &[f64; N], g: &[f64; N]) -> f64 {
        let mut sbgnrm: f64 = 0.0;
        for i in 0..N {
            let mut gi = g[i];
            if gi.is_nan() {
                return gi;
            }
            if nbd[i] != 0 {
                if gi < 0.0 {
                    if nbd[i] >= 2 {
                        gi = (x[i] - u[i]).max(gi);
                    }
                } else if nbd[i] <= 2 {
                    gi = (x[i] - l[i]).min(gi);
                }
            }
            sbgnrm = sbgnrm.max(gi.abs());
        }
        sbgnrm
    }

    #[allow(clippy::too_many_arguments)]
    fn freev(
        nfree: &mut usize,
        idx: &mut [usize; N],
        nenter: &mut usize,
        ileave: &mut usize,
        idx2: &mut [usize; N],
        iwhere: &[isize; N],
        wrk: &mut bool,
        updatd: bool,
        cnstnd: bool,
        iter: usize,
    ) {
        *nenter = 0;
        *ileave = N;
        if iter > 0 && cnstnd {
            for i in 0..*nfree {
                let k = idx[i];
                if iwhere[k] > 0 {
                    *ileave -= 1;
                    idx2[*ileave] = k;
                }
            }
            for i in *nfree..N {
                let k = idx[i];
                if iwhere[k] <= 0 {
                    idx2[*nenter] = k;
                    *nenter += 1;
                }
            }
        }
        *wrk = *ileave < N || *nenter > 0 || updatd;
        *nfree = 0;
        let mut iact = N;
        for (i, &w) in iwhere.iter().enumerate() {
            if w <= 0 {
                idx[*nfree] = i;
                *nfree += 1;
            } else {
                iact -= 1;
                idx[iact] = i;
            }
        }
    }

    /// `hpsolb`: heap of `t[0..=n]`; moves the least element to `t[n]`.
    fn hpsolb(n: isize, t: &mut [f64; N], iorder: &mut [usize; N], iheap: isize) {
        let n_u = n.max(0) as usize;
        if iheap == 0 {
            for k in 2..=n_u + 1 {
                let ddum = t[k - 1];
                let indxin = iorder[k - 1];
                let mut i = k;
                while i > 1 {
                    let j = i / 2;
                    if ddum < t[j - 1] {
                        t[i - 1] = t[j - 1];
                        iorder[i - 1] = iorder[j - 1];
                        i = j;
                    } else {
                        break;
                    }
                }
                t[i - 1] = ddum;
                iorder[i - 1] = indxin;
            }
        }
        if n > 0 {
            let mut i = 1;
            let out = t[0];
            let indxout = iorder[0];
            let ddum = t[n_u];
            let indxin = iorder[n_u];
            loop {
                let mut j = i + i;
                if j <= n_u {
                    if t[j] < t[j - 1] {
                        j += 1;
                    }
                    if t[j - 1] < ddum {
                        t[i - 1] = t[j - 1];
                        iorder[i - 1] = iorder[j - 1];
                        i = j;
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            t[i - 1] = ddum;
            iorder[i - 1] = indxin;
            t[n_u] = out;
            iorder[n_u] = indxout;
        }
    }

    /// `dpotrf` ("U"): Cholesky `A = U'U` of the `n`×`n` block at `off` (leading
    /// dimension `lda`, n <= 2m); 0 or the (1-based) order of the failing minor.
    ///
    /// Right-looking, column by column: each element receives its updates in the order of
    /// the dot-product form (k = 0, 1, ...), but independent elements are updated side by
    /// side; rows are scaled by the reciprocal of the pivot.
    fn dpotrf(a: &mut [f64], off: usize, lda: usize, n: usize) -> i32 {
        let mut row = [0.0; M2];
        for j in 0..n {
            let ajj = a[off + j + lda * j];
            if ajj <= 0.0 || ajj.is_nan() {
                return j as i32 + 1;
            }
            let ajj = ajj.sqrt();
            a[off + j + lda * j] = ajj;
            let inv = 1.0 / ajj;
            for i in j + 1..n {
                let v = a[off + j + lda * i] * inv;
                a[off + j + lda * i] = v;
                row[i] = v;
            }
            // a[r, i] -= a[j, r] * a[j, i] for j < r <= i.
            for i in j + 1..n {
                let aji = row[i];
                let column = &mut a[off + lda * i + j + 1..off + lda * i + i + 1];
                for (v, &ajr) in column.iter_mut().zip(&row[j + 1..=i]) {
                    *v -= ajr * aji;
                }
            }
        }
        0
    }

    /// `dtrtrs` ("U", trans, "N") for one right-hand side `b[boff..boff + n]` (n <= 2m),
    /// column-oriented, dividing by reciprocals of the diagonal.
    fn dtrtrs1(a: &[f64], lda: usize, n: usize, trans: bool, b: &mut [f64], boff: usize) -> i32 {
        let mut inv = [0.0; M2];
        for i in 0..n {
            let d = a[i + lda * i];
            if d == 0.0 {
                return i as i32 + 1;
            }
            inv[i] = 1.0 / d;
        }
        let b = &mut b[boff..boff + n];
        if trans {
            // x[r] = (b[r] - sum_{i < r} a[i, r] x[i]) / a[r, r]
            for r in 0..n {
                let column = &a[lda * r..lda * r + r];
                let mut v = b[r];
                for (&air, &xi) in column.iter().zip(&b[..r]) {
                    v -= air * xi;
                }
                b[r] = v * inv[r];
            }
        } else {
            for k in (0..n).rev() {
                if b[k] != 0.0 {
                    let bk = b[k] * inv[k];
                    b[k] = bk;
                    let column = &a[lda * k..lda * k + k];
                    for (bi, &aik) in b[..k].iter_mut().zip(column) {
                        *bi -= bk * aik;
                    }
                }
            }
        }
        0
    }

    enum Step {
        Evaluate,
        Failed,
        NewX,
    }

    #[derive(PartialEq, Eq, Clone, Copy)]
    enum LsTask {
        Start,
        Fg,
        Convergence,
        Warning,
        Error,
    }

    /// `lnsrlb` with its `dcsrch` state.
    struct LineSearch {
        stp: f64,
        stpmx: f64,
        dtd: f64,
        gd: f64,
        gdold: f64,
        ifun: i32,
        iback: i32,
        task: LsTask,
        cs: Dcsrch,
    }

    impl LineSearch {
        /// The part of `lnsrlb` before label 556 (the caller sets t = x, r = g, fold = f).
        #[allow(clippy::too_many_arguments)]
        fn start(
            d: &[f64; N],
            x: &[f64; N],
            l: &[f64; N],
            u: &[f64; N],
            nbd: &[i32; N],
            iter: usize,
            boxed: bool,
            cnstnd: bool,
        ) -> LineSearch {
            let dnorm = nrm2(d);
            let dtd = dnorm.powi(2);
            let mut stpmx = 1.0e10;
            if cnstnd {
                if iter == 0 {
                    stpmx = 1.0;
                } else {
                    for i in 0..N {
                        let a1 = d[i];
                        if nbd[i] != 0 {
                            if a1 < 0.0 && nbd[i] <= 2 {
                                let a2 = l[i] - x[i];
                                if a2 >= 0.0 {
                                    stpmx = 0.0;
                                } else if a1 * stpmx < a2 {
                                    stpmx = a2 / a1;
                                }
                            } else if a1 > 0.0 && nbd[i] >= 2 {
                                let a2 = u[i] - x[i];
                                if a2 <= 0.0 {
                                    stpmx = 0.0;
                                } else if a1 * stpmx > a2 {
                                    stpmx = a2 / a1;
                                }
                            }
                        }
                    }
                }
            }
            let stp = if iter == 0 && !boxed {
                (1.0 / dnorm).min(stpmx)
            } else {
                1.0
            };
            LineSearch {
                stp,
                stpmx,
                dtd,
                gd: 0.0,
                gdold: 0.0,
                ifun: 0,
                iback: 0,
                task: LsTask::Start,
                cs: Dcsrch::default(),
            }
        }

        /// `lnsrlb` from label 556: asks for an evaluation at the new `x`, or accepts it.
        #[allow(clippy::too_many_arguments)]
        fn step(
            &mut self,
            d: &[f64; N],
            z: &[f64; N],
            t: &[f64; N],
            x: &mut [f64; N],
            l: &[f64; N],
            u: &[f64; N],
            nbd: &[i32; N],
            f: f64,
            g: &[f64; N],
        ) -> Step {
            self.gd = dot(g, d);
            if self.ifun == 0 {
                self.gdold = self.gd;
                if self.gd >= 0.0 || self.gd.is_nan() {
                    // The directional derivative is >= 0: line search impossible.
                    return Step::Failed;
                }
            }
            self.task = self.cs.dcsrch(
                f,
                self.gd,
                &mut self.stp,
                1e-3,
                0.9,
                0.1,
                0.0,
                self.stpmx,
                self.task,
            );
            match self.task {
                LsTask::Convergence | LsTask::Warning => Step::NewX,
                LsTask::Error => Step::Failed,
                LsTask::Start | LsTask::Fg => {
                    self.ifun += 1;
                    self.iback = self.ifun - 1;
                    if self.stp == 1.0 {
                        *x = *z;
                    } else {
                        for i in 0..N {
                            x[i] = self.stp * d[i] + t[i];
                            if nbd[i] == 1 || nbd[i] == 2 {
                                x[i] = x[i].max(l[i]);
                            }
                            if nbd[i] == 2 || nbd[i] == 3 {
                                x[i] = x[i].min(u[i]);
                            }
                        }
                    }
                    Step::Evaluate
                }
            }
        }
    }

    /// MINPACK-2's `dcsrch` state (the Moré–Thuente line search).
    #[derive(Default)]
    struct Dcsrch {
        brackt: bool,
        stage: u8,
        ginit: f64,
        gtest: f64,
        gx: f64,
        gy: f64,
        finit: f64,
        fx: f64,
        fy: f64,
        stx: f64,
        sty: f64,
        stmin: f64,
        stmax: f64,
        width: f64,
        width1: f64,
    }

    impl Dcsrch {
        #[allow(clippy::too_many_arguments)]
        fn dcsrch(
            &mut self,
            f: f64,
            g: f64,
            stp: &mut f64,
            ftol: f64,
            gtol: f64,
            xtol: f64,
            stpmin: f64,
            stpmax: f64,
            task: LsTask,
        ) -> LsTask {
            let xtrapl = 1.1;
            let xtrapu = 4.0;
            if task == LsTask::Start {
                if *stp < stpmin || *stp > stpmax || g >= 0.0 || stpmax < stpmin || stp.is_nan() {
                    return LsTask::Error;
                }
                self.brackt = false;
                self.stage = 1;
                self.finit = f;
                self.ginit = g;
                self.gtest = ftol * self.ginit;
                self.width = stpmax - stpmin;
                self.width1 = self.width / 0.5;
                self.stx = 0.0;
                self.fx = self.finit;
                self.gx = self.ginit;
                self.sty = 0.0;
                self.fy = self.finit;
                self.gy = self.ginit;
                self.stmin = 0.0;
                self.stmax = *stp + xtrapu * *stp;
                return LsTask::Fg;
            }
            let mut task = LsTask::Fg;
            let ftest = self.finit + *stp * self.gtest;
            if self.stage == 1 && f <= ftest && g >= 0.0 {
                self.stage = 2;
            }
            if self.brackt && (*stp <= self.stmin || *stp >= self.stmax) {
                task = LsTask::Warning;
            }
            if self.brackt && (self.stmax - self.stmin) <= xtol * self.stmax {
                task = LsTask::Warning;
            }
            if *stp == stpmax && f <= ftest && g <= self.gtest {
                task = LsTask::Warning;
            }
            if *stp == stpmin && (f > ftest || g >= self.gtest) {
                task = LsTask::Warning;
            }
            if f <= ftest && g.abs() <= gtol * (-self.ginit) {
                task = LsTask::Convergence;
            }
            if task == LsTask::Warning || task == LsTask::Convergence {
                return task;
            }
            if self.stage == 1 && f <= self.fx && f > ftest {
                let fm = f - *stp * self.gtest;
                let mut fxm = self.fx - self.stx * self.gtest;
                let mut fym = self.fy - self.sty * self.gtest;
                let gm = g - self.gtest;
                let mut gxm = self.gx - self.gtest;
                let mut gym = self.gy - self.gtest;
                dcstep(
                    &mut self.stx,
                    &mut fxm,
                    &mut gxm,
                    &mut self.sty,
                    &mut fym,
                    &mut gym,
                    stp,
                    fm,
                    gm,
                    &mut self.brackt,
                    self.stmin,
                    self.stmax,
                );
                self.fx = fxm + self.stx * self.gtest;
                self.fy = fym + self.sty * self.gtest;
                self.gx = gxm + self.gtest;
                self.gy = gym + self.gtest;
            } else {
                dcstep(
                    &mut self.stx,
                    &mut self.fx,
                    &mut self.gx,
                    &mut self.sty,
                    &mut self.fy,
                    &mut self.gy,
                    stp,
                    f,
                    g,
                    &mut self.brackt,
                    self.stmin,
                    self.stmax,
                );
            }
            if self.brackt {
                if (self.sty - self.stx).abs() >= 0.66 * self.width1 {
                    *stp = self.stx + 0.5 * (self.sty - self.stx);
                }
                self.width1 = self.width;
                self.width = (self.sty - self.stx).abs();
            }
            if self.brackt {
                self.stmin = self.stx.min(self.sty);
                self.stmax = self.stx.max(self.sty);
            } else {
                self.stmin = *stp + xtrapl * (*stp - self.stx);
                self.stmax = *stp + xtrapu * (*stp - self.stx);
            }
            *stp = stp.max(stpmin);
            *stp = stp.min(stpmax);
            if self.brackt
                && (*stp <= self.stmin
                    || *stp >= self.stmax
                    || self.stmax - self.stmin <= xtol * self.stmax)
            {
                *stp = self.stx;
            }
            task
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dcstep(
        stx: &mut f64,
        fx: &mut f64,
        dx: &mut f64,
        sty: &mut f64,
        fy: &mut f64,
        dy: &mut f64,
        stp: &mut f64,
        fp: f64,
        dp: f64,
        brackt: &mut bool,
        stpmin: f64,
        stpmax: f64,
    ) {
        let sgnd = dp * (*dx / dx.abs());
        let stpf;
        if fp > *fx {
            let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
            let s = theta.abs().max(dx.abs().max(dp.abs()));
            let mut gamma = s * ((theta / s).powi(2) - (*dx / s) * (dp / s)).sqrt();
            if *stp < *stx {
                gamma = -gamma;
            }
            let p = (gamma - *dx) + theta;
            let q = ((gamma - *dx) + gamma) + dp;
            let r = p / q;
            let stpc = *stx + r * (*stp - *stx);
            let stpq = *stx + ((*dx / ((*fx - fp) / (*stp - *stx) + *dx)) / 2.0) * (*stp - *stx);
            stpf = if (stpc - *stx).abs() < (stpq - *stx).abs() {
                stpc
            } else {
                stpc + (stpq - stpc) / 2.0
            };
            *brackt = true;
        } else if sgnd < 0.0 {
            let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
            let s = theta.abs().max(dx.abs().max(dp.abs()));
            let mut gamma = s * ((theta / s).powi(2) - (*dx / s) * (dp / s)).sqrt();
            if *stp > *stx {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = ((gamma - dp) + gamma) + *dx;
            let r = p / q;
            let stpc = *stp + r * (*stx - *stp);
            let stpq = *stp + (dp / (dp - *dx)) * (*stx - *stp);
            stpf = if (stpc - *stp).abs() > (stpq - *stp).abs() {
                stpc
            } else {
                stpq
            };
            *brackt = true;
        } else if dp.abs() < dx.abs() {
            let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
            let s = theta.abs().max(dx.abs().max(dp.abs()));
            let mut gamma = s * (0.0f64.max((theta / s).powi(2) - (*dx / s) * (dp / s))).sqrt();
            if *stp > *stx {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = (gamma + (*dx - dp)) + gamma;
            let r = p / q;
            let stpc = if r < 0.0 && gamma != 0.0 {
                *stp + r * (*stx - *stp)
            } else if *stp > *stx {
                stpmax
            } else {
                stpmin
            };
            let stpq = *stp + (dp / (dp - *dx)) * (*stx - *stp);
            if *brackt {
                let mut v = if (stpc - *stp).abs() < (stpq - *stp).abs() {
                    stpc
                } else {
                    stpq
                };
                if *stp > *stx {
                    v = (*stp + 0.66 * (*sty - *stp)).min(v);
                } else {
                    v = (*stp + 0.66 * (*sty - *stp)).max(v);
                }
                stpf = v;
            } else {
                let mut v = if (stpc - *stp).abs() > (stpq - *stp).abs() {
                    stpc
                } else {
                    stpq
                };
                v = stpmax.min(v);
                v = stpmin.max(v);
                stpf = v;
            }
        } else if *brackt {
            let theta = 3.0 * (fp - *fy) / (*sty - *stp) + *dy + dp;
            let s = theta.abs().max(dy.abs().max(dp.abs()));
            let mut gamma = s * ((theta / s).powi(2) - (*dy / s) * (dp / s)).sqrt();
            if *stp > *sty {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = ((gamma - dp) + gamma) + *dy;
            let r = p / q;
            stpf = *stp + r * (*sty - *stp);
        } else if *stp > *stx {
            stpf = stpmax;
        } else {
            stpf = stpmin;
        }
        if fp > *fx {
            *sty = *stp;
            *fy = fp;
            *dy = dp;
        } else {
            if sgnd < 0.0 {
                *sty = *stx;
                *fy = *fx;
                *dy = *dx;
            }
            *stx = *stp;
            *fx = fp;
            *dx = dp;
        }
        *stp = stpf;
    }

    /// The limited-memory matrices and work vectors of `mainlb`.
    struct Lbfgsb {
        ws: [f64; N * M],
        wy: [f64; N * M],
        sy: [f64; M * M],
        ss: [f64; M * M],
        wt: [f64; M * M],
        wn: [f64; 4 * M * M],
        snd: [f64; 4 * M * M],
        z: [f64; N],
        r: [f64; N],
        d: [f64; N],
        t: [f64; N],
        xp: [f64; N],
        /// `wa[0..2m]` (p in cauchy, output of bmv in cmprlb, wv in subsm).
        wa_p: [f64; M2],
        /// `wa[2m..4m]` (c).
        wa_c: [f64; M2],
        /// `wa[4m..6m]` (wbp).
        wa_wbp: [f64; M2],
        /// `wa[6m..8m]` (v).
        wa_v: [f64; M2],
        /// Breakpoints (cauchy's t, mainlb's t is `self.t`).
        brk: [f64; N],
        /// 1 / sy[k, k] and 1 / sqrt(sy[k, k]) (D^-1 and D^-1/2), set by `formt`.
        sy_inv: [f64; M],
        sy_isqrt: [f64; M],
    }

    impl Lbfgsb {
        fn new() -> Lbfgsb {
            Lbfgsb {
                ws: [0.0; N * M],
                wy: [0.0; N * M],
                sy: [0.0; M * M],
                ss: [0.0; M * M],
                wt: [0.0; M * M],
                wn: [0.0; 4 * M * M],
                snd: [0.0; 4 * M * M],
                z: [0.0; N],
                r: [0.0; N],
                d: [0.0; N],
                t: [0.0; N],
                xp: [0.0; N],
                wa_p: [0.0; M2],
                wa_c: [0.0; M2],
                wa_wbp: [0.0; M2],
                wa_v: [0.0; M2],
                brk: [0.0; N],
                sy_inv: [0.0; M],
                sy_isqrt: [0.0; M],
            }
        }

        /// Refresh the L-BFGS memory.
        fn refresh(
            &mut self,
            col: &mut usize,
            head: &mut usize,
            theta: &mut f64,
            iupdat: &mut usize,
            updatd: &mut bool,
        ) {
            *col = 0;
            *head = 0;
            *theta = 1.0;
            *iupdat = 0;
            *updatd = false;
        }

        /// `bmv`: product of the 2m×2m middle matrix with `v`, into `p`.
        fn bmv(
            sy: &[f64; M * M],
            wt: &[f64; M * M],
            sy_inv: &[f64; M],
            sy_isqrt: &[f64; M],
            col: usize,
            v: &[f64; M2],
            p: &mut [f64; M2],
        ) -> i32 {
            if col == 0 {
                return 0;
            }
            p[col] = v[col];
            for i in 1..col {
                let i2 = col + i;
                let mut ssum = 0.0;
                for k in 0..i {
                    ssum += sy[i + M * k] * v[k] * sy_inv[k];
                }
                p[i2] = v[i2] + ssum;
            }
            let info = dtrtrs1(wt, M, col, true, p, col);
            if info != 0 {
                return info;
            }
            for i in 0..col {
                p[i] = v[i] * sy_isqrt[i];
            }
            let info = dtrtrs1(wt, M, col, false, p, col);
            if info != 0 {
                return info;
            }
            for i in 0..col {
                p[i] = -p[i] * sy_isqrt[i];
            }
            for i in 0..col {
                let mut ssum = 0.0;
                for k in i + 1..col {
                    ssum += sy[k + M * i] * p[col + k] * sy_inv[i];
                }
                p[i] += ssum;
            }
            0
        }

        /// `cauchy`: the generalized Cauchy point into `self.z`; uses `self.d`, `self.brk`.
        #[allow(clippy::too_many_arguments)]
        fn cauchy(
            &mut self,
            x: &[f64; N],
            l: &[f64; N],
            u: &[f64; N],
            nbd: &[i32; N],
            g: &[f64; N],
            iorder: &mut [usize; N],
            iwhere: &mut [isize; N],
            theta: f64,
            col: usize,
            head: usize,
            sbgnrm: f64,
        ) -> i32 {
            let n = N as isize;
            if sbgnrm <= 0.0 {
                self.z = *x;
                return 0;
            }
            let mut f1 = 0.0;
            let mut tl = 0.0;
            let mut tu = 0.0;
            let mut bnded = true;
            let mut nfree = n;
            let mut nbreak: isize = -1;
            let mut ibkmin: isize = 0;
            let mut bkmin = 0.0;
            let col2 = 2 * col;
            let p = &mut self.wa_p;
            let c = &mut self.wa_c;
            let wbp = &mut self.wa_wbp;
            let v = &mut self.wa_v;
            let t = &mut self.brk;
            let d = &mut self.d;
            let xcp = &mut self.z;
            for pi in p.iter_mut().take(col2) {
                *pi = 0.0;
            }
            for i in 0..N {
                let neggi = -g[i];
                if iwhere[i] != 3 && iwhere[i] != -1 {
                    if nbd[i] <= 2 {
                        tl = x[i] - l[i];
                    }
                    if nbd[i] >= 2 {
                        tu = u[i] - x[i];
                    }
                    let xlower = nbd[i] <= 2 && tl <= 0.0;
                    let xupper = nbd[i] >= 2 && tu <= 0.0;
                    iwhere[i] = 0;
                    if xlower {
                        if neggi <= 0.0 {
                            iwhere[i] = 1;
                        }
                    } else if xupper {
                        if neggi >= 0.0 {
                            iwhere[i] = 2;
                        }
                    } else if neggi.abs() <= 0.0 {
                        iwhere[i] = -3;
                    }
                }
                let mut pointr = head;
                if iwhere[i] != 0 && iwhere[i] != -1 {
                    d[i] = 0.0;
                } else {
                    d[i] = neggi;
                    f1 -= neggi * neggi;
                    for j in 0..col {
                        p[j] += self.wy[i + N * pointr] * neggi;
                        p[col + j] += self.ws[i + N * pointr] * neggi;
                        pointr = (pointr + 1) % M;
                    }
                    if nbd[i] <= 2 && nbd[i] != 0 && neggi < 0.0 {
                        nbreak += 1;
                        iorder[nbreak as usize] = i;
                        t[nbreak as usize] = tl / (-neggi);
                        if nbreak == 0 || t[nbreak as usize] < bkmin {
                            bkmin = t[nbreak as usize];
                            ibkmin = nbreak;
                        }
                    } else if nbd[i] >= 2 && neggi > 0.0 {
                        nbreak += 1;
                        iorder[nbreak as usize] = i;
                        t[nbreak as usize] = tu / neggi;
                        if nbreak == 0 || t[nbreak as usize] < bkmin {
                            bkmin = t[nbreak as usize];
                            ibkmin = nbreak;
                        }
                    } else {
                        nfree -= 1;
                        iorder[nfree as usize] = i;
                        if neggi.abs() > 0.0 {
                            bnded = false;
                        }
                    }
                }
            }
            if theta != 1.0 {
                for pj in p[col..col2].iter_mut() {
                    *pj *= theta;
                }
            }
            *xcp = *x;
            if nbreak == -1 && nfree == n {
                return 0;
            }
            for cj in c.iter_mut().take(col2) {
                *cj = 0.0;
            }
            let mut f2 = -theta * f1;
            let f2_org = f2;
            if col > 0 {
                let info = Self::bmv(&self.sy, &self.wt, &self.sy_inv, &self.sy_isqrt, col, p, v);
                if info != 0 {
                    return info;
                }
                f2 -= dot(&v[..col2], &p[..col2]);
            }
            let mut dtm = -f1 / f2;
            let mut tsum = 0.0;
            let mut reached_888 = true;
            if nbreak != -1 {
                let mut nleft = nbreak;
                let mut iter: isize = 0;
                let mut tj = 0.0;
                loop {
                    let tj0 = tj;
                    let ibp;
                    if iter == 0 {
                        tj = bkmin;
                        ibp = iorder[ibkmin as usize];
                    } else {
                        if iter == 1 && ibkmin != nbreak {
                            t[ibkmin as usize] = t[nbreak as usize];
                            iorder[ibkmin as usize] = iorder[nbreak as usize];
                        }
                        hpsolb(nleft, t, iorder, iter - 1);
                        tj = t[nleft as usize];
                        ibp = iorder[nleft as usize];
                    }
                    let dt = tj - tj0;
                    if dtm < dt {
                        break;
                    }
                    tsum += dt;
                    nleft -= 1;
                    iter += 1;
                    let mut dibp = d[ibp];
                    d[ibp] = 0.0;
                    let zibp;
                    if dibp > 0.0 {
                        zibp = u[ibp] - x[ibp];
                        xcp[ibp] = u[ibp];
                        iwhere[ibp] = 2;
                    } else {
                        zibp = l[ibp] - x[ibp];
                        xcp[ibp] = l[ibp];
                        iwhere[ibp] = 1;
                    }
                    if nleft == -1 && nbreak == n {
                        // Never true in SciPy's C translation (nbreak <= n - 1); kept as is.
                        dtm = dt;
                        reached_888 = false;
                        break;
                    }
                    let dibp2 = dibp * dibp;
                    f1 = f1 + dt * f2 + dibp2 - theta * dibp * zibp;
                    f2 -= theta * dibp2;
                    if col > 0 {
                        for j in 0..col2 {
                            c[j] += dt * p[j];
                        }
                        let mut pointr = head;
                        for j in 0..col {
                            wbp[j] = self.wy[ibp + N * pointr];
                            wbp[col + j] = theta * self.ws[ibp + N * pointr];
                            pointr = (pointr + 1) % M;
                        }
                        let info = Self::bmv(
                            &self.sy,
                            &self.wt,
                            &self.sy_inv,
                            &self.sy_isqrt,
                            col,
                            wbp,
                            v,
                        );
                        if info != 0 {
                            return info;
                        }
                        let wmc = dot(&c[..col2], &v[..col2]);
                        let wmp = dot(&p[..col2], &v[..col2]);
                        let wmw = dot(&wbp[..col2], &v[..col2]);
                        dibp = -dibp;
                        for j in 0..col2 {
                            p[j] += dibp * wbp[j];
                        }
                        dibp = -dibp;
                        f1 += dibp * wmc;
                        f2 = f2 + dibp * 2.0 * wmp - dibp2 * wmw;
                    }
                    f2 = (EPSMACH * f2_org).max(f2);
                    if nleft >= 0 {
                        dtm = -f1 / f2;
                    } else if bnded {
                        dtm = 0.0;
                        break;
                    } else {
                        dtm = -f1 / f2;
                        break;
                    }
                }
            }
            if reached_888 {
                if dtm <= 0.0 {
                    dtm = 0.0;
                }
                tsum += dtm;
                for i in 0..N {
                    xcp[i] += tsum * d[i];
                }
            }
            if col > 0 {
                for j in 0..col2 {
                    c[j] += dtm * p[j];
                }
            }
            0
        }

        /// `cmprlb`: r = -Z'B(xcp - xk) - Z'g into `self.r` (using c from `cauchy`).
        #[allow(clippy::too_many_arguments)]
        fn cmprlb(
            &mut self,
            x: &[f64; N],
            g: &[f64; N],
            index: &[usize; N],
            theta: f64,
            col: usize,
            head: usize,
            nfree: usize,
            cnstnd: bool,
        ) -> i32 {
            if !cnstnd && col > 0 {
                for i in 0..N {
                    self.r[i] = -g[i];
                }
                return 0;
            }
            for i in 0..nfree {
                let k = index[i];
                self.r[i] = -theta * (self.z[k] - x[k]) - g[k];
            }
            if Self::bmv(
                &self.sy,
                &self.wt,
                &self.sy_inv,
                &self.sy_isqrt,
                col,
                &self.wa_c,
                &mut self.wa_p,
            ) != 0
            {
                return -8;
            }
            let mut pointr = head;
            for j in 0..col {
                let a1 = self.wa_p[j];
                let a2 = theta * self.wa_p[col + j];
                for i in 0..nfree {
                    let k = index[i];
                    self.r[i] += self.wy[k + N * pointr] * a1 + self.ws[k + N * pointr] * a2;
                }
                pointr = (pointr + 1) % M;
            }
            0
        }

        /// `formk`: the LEL' factorisation of the indefinite middle matrix K into `self.wn`.
        #[allow(clippy::too_many_arguments)]
        fn formk(
            &mut self,
            nsub: usize,
            ind: &[usize; N],
            nenter: usize,
            ileave: usize,
            indx2: &[usize; N],
            iupdat: usize,
            updatd: bool,
            theta: f64,
            col: usize,
            head: usize,
        ) -> i32 {
            let wn1 = &mut self.snd;
            let wn = &mut self.wn;
            let ws = &self.ws;
            let wy = &self.wy;
            let upcl;
            if updatd {
                if iupdat > M {
                    // Shift old part of WN1.
                    for jy in 0..M - 1 {
                        let js = M + jy;
                        let len = M - (jy + 1);
                        for k in 0..len {
                            wn1[jy + M2 * jy + k] = wn1[(jy + 1) + M2 * (jy + 1) + k];
                            wn1[js + M2 * js + k] = wn1[(js + 1) + M2 * (js + 1) + k];
                        }
                        for k in 0..M - 1 {
                            wn1[M + M2 * jy + k] = wn1[(M + 1) + M2 * (jy + 1) + k];
                        }
                    }
                }
                // New column / row of WN1.
                let (pbegin, pend, dbegin, dend) = (0, nsub, nsub, N);
                let iy = col - 1;
                let is = M + col - 1;
                let mut ipntr = head + col - 1;
                if ipntr >= M {
                    ipntr -= M;
                }
                let mut jpntr = head;
                for jy in 0..col {
                    let js = M + jy;
                    let mut temp1 = 0.0;
                    let mut temp2 = 0.0;
                    let mut temp3 = 0.0;
                    for &k1 in &ind[pbegin..pend] {
                        temp1 += wy[k1 + N * ipntr] * wy[k1 + N * jpntr];
                    }
                    for &k1 in &ind[dbegin..dend] {
                        temp2 += ws[k1 + N * ipntr] * ws[k1 + N * jpntr];
                        temp3 += ws[k1 + N * ipntr] * wy[k1 + N * jpntr];
                    }
                    wn1[iy + M2 * jy] = temp1;
                    wn1[is + M2 * js] = temp2;
                    wn1[is + M2 * jy] = temp3;
                    jpntr = (jpntr + 1) % M;
                }
                let jy = col - 1;
                let mut jpntr = head + col - 1;
                if jpntr >= M {
                    jpntr -= M;
                }
                let mut ipntr = head;
                for i in 0..col {
                    let is = M + i;
                    let mut temp3 = 0.0;
                    for &k1 in &ind[pbegin..pend] {
                        temp3 += ws[k1 + N * ipntr] * wy[k1 + N * jpntr];
                    }
                    ipntr = (ipntr + 1) % M;
                    wn1[is + M2 * jy] = temp3;
                }
                upcl = col - 1;
            } else {
                upcl = col;
            }
            // Modify the old parts for the changes in the free set.
            let mut ipntr = head;
            for iy in 0..upcl {
                let is = M + iy;
                let mut jpntr = head;
                for jy in 0..=iy {
                    let js = M + jy;
                    let mut temp1 = 0.0;
                    let mut temp2 = 0.0;
                    let mut temp3 = 0.0;
                    let mut temp4 = 0.0;
                    for &k1 in &indx2[..nenter] {
                        temp1 += wy[k1 + N * ipntr] * wy[k1 + N * jpntr];
                        temp2 += ws[k1 + N * ipntr] * ws[k1 + N * jpntr];
                    }
                    for &k1 in &indx2[ileave..N] {
                        temp3 += wy[k1 + N * ipntr] * wy[k1 + N * jpntr];
                        temp4 += ws[k1 + N * ipntr] * ws[k1 + N * jpntr];
                    }
                    wn1[iy + M2 * jy] = wn1[iy + M2 * jy] + temp1 - temp3;
                    wn1[is + M2 * js] = wn1[is + M2 * js] - temp2 + temp4;
                    jpntr = (jpntr + 1) % M;
                }
                ipntr = (ipntr + 1) % M;
            }
            let mut ipntr = head;
            for is in M..M + upcl {
                let mut jpntr = head;
                for jy in 0..upcl {
                    let mut temp1 = 0.0;
                    let mut temp3 = 0.0;
                    for &k1 in &indx2[..nenter] {
                        temp1 += ws[k1 + N * ipntr] * wy[k1 + N * jpntr];
                    }
                    for &k1 in &indx2[ileave..N] {
                        temp3 += ws[k1 + N * ipntr] * wy[k1 + N * jpntr];
                    }
                    if is <= jy + M {
                        wn1[is + M2 * jy] = wn1[is + M2 * jy] + temp1 - temp3;
                    } else {
                        wn1[is + M2 * jy] = wn1[is + M2 * jy] - temp1 + temp3;
                    }
                    jpntr = (jpntr + 1) % M;
                }
                ipntr = (ipntr + 1) % M;
            }
            // Form the upper triangle of WN = [D+Y'ZZ'Y/theta   -L_a'+R_z' ]
            //                                 [-L_a +R_z        S'AA'S*theta]
            let inv_theta = 1.0 / theta;
            for iy in 0..col {
                let is = col + iy;
                let is1 = M + iy;
                for jy in 0..=iy {
                    let js = col + jy;
                    let js1 = M + jy;
                    wn[jy + M2 * iy] = wn1[iy + M2 * jy] * inv_theta;
                    wn[js + M2 * is] = wn1[is1 + M2 * js1] * theta;
                }
                for jy in 0..iy {
                    wn[jy + M2 * is] = -wn1[is1 + M2 * jy];
                }
                for jy in iy..col {
                    wn[jy + M2 * is] = wn1[is1 + M2 * jy];
                }
                wn[iy + M2 * iy] += self.sy[iy + M * iy];
            }
            // LEL' factorisation.
            if dpotrf(wn, 0, M2, col) != 0 {
                return -1;
            }
            let col2 = 2 * col;
            // dtrtrs("U", "T", "N", col, col, wn, m2, wn[m2*col], m2): columns col..2col.
            let mut singular = false;
            for i in 0..col {
                if wn[i + M2 * i] == 0.0 {
                    singular = true;
                }
            }
            if !singular {
                // Column by column: x[r] = (b[r] - sum_{i < r} wn[i, r] x[i]) / wn[r, r].
                let mut inv = [0.0; M];
                for (i, v) in inv.iter_mut().enumerate().take(col) {
                    *v = 1.0 / wn[i + M2 * i];
                }
                for jc in col..col2 {
                    for r in 0..col {
                        let mut v = wn[r + M2 * jc];
                        for i in 0..r {
                            v -= wn[i + M2 * r] * wn[i + M2 * jc];
                        }
                        wn[r + M2 * jc] = v * inv[r];
                    }
                }
            }
            // wn[is, js] += dot(wn[0..col, is], wn[0..col, js]) for col <= is <= js.
            for is in col..col2 {
                for js in is..col2 {
                    let (ci, cj) = (&wn[M2 * is..M2 * is + col], &wn[M2 * js..M2 * js + col]);
                    let s = dot(ci, cj);
                    wn[is + M2 * js] += s;
                }
            }
            if dpotrf(wn, col + M2 * col, M2, col) != 0 {
                return -2;
            }
            0
        }

        /// `formt`: T = theta*SS + L*D^(-1)*L', Cholesky-factorised into `self.wt`.
        fn formt(&mut self, col: usize, theta: f64) -> i32 {
            for k in 0..col {
                let d = self.sy[k + M * k];
                self.sy_inv[k] = 1.0 / d;
                self.sy_isqrt[k] = 1.0 / d.sqrt();
            }
            for j in 0..col {
                self.wt[M * j] = theta * self.ss[M * j];
            }
            for i in 1..col {
                for j in i..col {
                    let k1 = i.min(j);
                    let mut ddum = 0.0;
                    for k in 0..k1 {
                        ddum += (self.sy[i + M * k] * self.sy[j + M * k]) * self.sy_inv[k];
                    }
                    self.wt[i + M * j] = ddum + theta * self.ss[i + M * j];
                }
            }
            if dpotrf(&mut self.wt, 0, M, col) != 0 {
                return -3;
            }
            0
        }

        /// `matupd`: append (d, r) = (s, y) to the memory and update S'Y, S'S.
        #[allow(clippy::too_many_arguments)]
        fn matupd(
            &mut self,
            itail: &mut usize,
            iupdat: usize,
            col: &mut usize,
            head: &mut usize,
            theta: &mut f64,
            rr: f64,
            dr: f64,
            stp: f64,
            dtd: f64,
        ) {
            if iupdat <= M {
                *col = iupdat;
                *itail = (*head + iupdat - 1) % M;
            } else {
                *itail = (*itail + 1) % M;
                *head = (*head + 1) % M;
            }
            self.ws[*itail * N..*itail * N + N].copy_from_slice(&self.d);
            self.wy[*itail * N..*itail * N + N].copy_from_slice(&self.r);
            *theta = rr / dr;
            if iupdat > M {
                // Move old information.
                for j in 1..*col {
                    for k in 0..j {
                        self.ss[M * (j - 1) + k] = self.ss[1 + M * j + k];
                    }
                    for k in 0..*col - j {
                        self.sy[(j - 1) + M * (j - 1) + k] = self.sy[j + M * j + k];
                    }
                }
            }
            let mut pointr = *head;
            for j in 0..*col - 1 {
                self.sy[*col - 1 + M * j] = dot(&self.d, &self.wy[pointr * N..pointr * N + N]);
                self.ss[j + M * (*col - 1)] = dot(&self.ws[pointr * N..pointr * N + N], &self.d);
                pointr = (pointr + 1) % M;
            }
            self.ss[(*col - 1) + M * (*col - 1)] = if stp == 1.0 { dtd } else { stp * stp * dtd };
            self.sy[(*col - 1) + M * (*col - 1)] = dr;
        }

        /// `subsm`: subspace minimisation from the Cauchy point `self.z` along the reduced
        /// gradient `self.r`, with the projection of L-BFGS-B 3.0.
        #[allow(clippy::too_many_arguments)]
        fn subsm(
            &mut self,
            nsub: usize,
            ind: &[usize; N],
            l: &[f64; N],
            u: &[f64; N],
            nbd: &[i32; N],
            theta: f64,
            xx: &[f64; N],
            gg: &[f64; N],
            col: usize,
            head: usize,
        ) -> i32 {
            if nsub == 0 {
                return 0;
            }
            let d = &mut self.r;
            let x = &mut self.z;
            let wv = &mut self.wa_p;
            // Compute wv = W'Zd.
            let mut pointr = head;
            for i in 0..col {
                let mut temp1 = 0.0;
                let mut temp2 = 0.0;
                for j in 0..nsub {
                    let k = ind[j];
                    temp1 += self.wy[k + N * pointr] * d[j];
                    temp2 += self.ws[k + N * pointr] * d[j];
                }
                wv[i] = temp1;
                wv[col + i] = theta * temp2;
                pointr = (pointr + 1) % M;
            }
            // Compute wv := K^(-1) wv.
            let col2 = 2 * col;
            let info = dtrtrs1(&self.wn, M2, col2, true, wv, 0);
            if info != 0 {
                return info;
            }
            for wvi in wv.iter_mut().take(col) {
                *wvi = -*wvi;
            }
            let info = dtrtrs1(&self.wn, M2, col2, false, wv, 0);
            if info != 0 {
                return info;
            }
            // Compute d = (1/theta)d + (1/theta**2)Z'W wv.
            let mut pointr = head;
            for jy in 0..col {
                let js = col + jy;
                let wvy = wv[jy] / theta;
                for i in 0..nsub {
                    let k = ind[i];
                    d[i] += (self.wy[k + N * pointr] * wvy) + (self.ws[k + N * pointr] * wv[js]);
                }
                pointr = (pointr + 1) % M;
            }
            let temp = 1.0 / theta;
            for di in d.iter_mut().take(nsub) {
                *di *= temp;
            }
            // Let us try the projection, d is the Newton direction.
            let mut iword = 0;
            self.xp = *x;
            for i in 0..nsub {
                let k = ind[i];
                let dk = d[i];
                let xk = x[k];
                if nbd[k] != 0 {
                    if nbd[k] == 1 {
                        x[k] = l[k].max(xk + dk);
                        if x[k] == l[k] {
                            iword = 1;
                        }
                    } else if nbd[k] == 2 {
                        let xk = l[k].max(xk + dk);
                        x[k] = u[k].min(xk);
                        if x[k] == l[k] || x[k] == u[k] {
                            iword = 1;
                        }
                    } else if nbd[k] == 3 {
                        x[k] = u[k].min(xk + dk);
                        if x[k] == u[k] {
                            iword = 1;
                        }
                    }
                } else {
                    x[k] = xk + dk;
                }
            }
            if iword == 0 {
                return 0;
            }
            // Check sign of the directional derivative.
            let mut dd_p = 0.0;
            for i in 0..N {
                dd_p += (x[i] - xx[i]) * gg[i];
            }
            if dd_p > 0.0 {
                *x = self.xp;
            } else {
                return 0;
            }
            let mut alpha: f64 = 1.0;
            let mut temp1 = 1.0;
            let mut ibd = 0;
            for i in 0..nsub {
                let k = ind[i];
                let dk = d[i];
                if nbd[k] != 0 {
                    if dk < 0.0 && nbd[k] <= 2 {
                        let temp2 = l[k] - x[k];
                        if temp2 >= 0.0 {
                            temp1 = 0.0;
                        } else if dk * alpha < temp2 {
                            temp1 = temp2 / dk;
                        }
                    } else if dk > 0.0 && nbd[k] >= 2 {
                        let temp2 = u[k] - x[k];
                        if temp2 <= 0.0 {
                            temp1 = 0.0;
                        } else if dk * alpha > temp2 {
                            temp1 = temp2 / dk;
                        }
                    }
                    if temp1 < alpha {
                        alpha = temp1;
                        ibd = i;
                    }
                }
            }
            if alpha < 1.0 {
                let dk = d[ibd];
                let k = ind[ibd];
                if dk > 0.0 {
                    x[k] = u[k];
                    d[ibd] = 0.0;
                } else if dk < 0.0 {
                    x[k] = l[k];
                    d[ibd] = 0.0;
                }
            }
            for i in 0..nsub {
                let k = ind[i];
                x[k] += alpha * d[i];
            }
            0
        }
    }
}
