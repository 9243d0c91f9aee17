//! An application's throughput and statistical efficiency, as the Pollux artefact computes
//! them from its profile (`simulator/applications.py` of petuum/adaptdl, branch
//! `osdi21-artifact`, commit `de25dcc`).
//!
//! * **Throughput** ([`Application::throughput`]): a placement measured in
//!   `placements.csv` (every placement over at most four nodes of at most four GPUs is)
//!   interpolates linearly in the local batch size between its measurements, exactly as
//!   `scipy.interpolate.interp1d` does. Other placements (more than four nodes) are
//!   interpolated over the per-(nodes, replicas, local batch) means of `placements.csv`
//!   and the rows of `scalability.csv`: the artefact uses `LinearNDInterpolator` (a
//!   Delaunay triangulation of those points); Orrery interpolates piecewise-linearly along
//!   the local batch size, then the replica count, then the node count, over the same
//!   points. Both agree on every measured point and along measured rows; between rows
//!   they can differ (see docs/elastic.md for the measured difference).
//! * **Efficiency**: the gradient statistics (`grad_sqr`, `grad_var`) and progress of each
//!   epoch, interpolated linearly between the two measured batch sizes around a batch size.

use super::ProfileError;
use super::profile::AppProfile;

/// An application with the artefact's parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Application {
    pub profile: AppProfile,
    /// Smallest measured total batch size (the artefact's `init_batch_size`).
    pub init_batch_size: u32,
    /// Largest measured total batch size.
    pub max_batch_size: u32,
    /// Smallest and largest local (per-GPU) batch size measured in `placements.csv`, unless
    /// set otherwise (the artefact caps YOLOv3 at 8).
    pub min_local_bsz: u32,
    pub max_local_bsz: u32,
    /// Epochs to train (the artefact's `max_epochs`); the job completes after the last.
    pub max_epochs: u32,
    /// The profile's measurements indexed for look-ups (built on first use).
    #[serde(skip)]
    index: Index,
}

/// `placements.csv` by placement id (sorted by local batch) and the scattered grid, built
/// once per application. Equal whatever it holds: it is derived from the profile.
#[derive(Debug, Default)]
struct Index(std::sync::OnceLock<Indexed>);

/// A copy starts with an empty index (it is rebuilt on first use).
impl Clone for Index {
    fn clone(&self) -> Index {
        Index::default()
    }
}

#[derive(Debug)]
struct Indexed {
    by_placement: std::collections::BTreeMap<String, Vec<(f64, f64, f64)>>,
    grid: Vec<(u32, u32, u32, f64, f64)>,
    /// Answers of the grid interpolation by (nodes, replicas, local batch): a pure
    /// function of the profile, memoised (the artefact memoises `get_throughput`).
    grid_memo: std::sync::Mutex<GridMemo>,
}

/// (nodes, replicas, local batch) → (step, sync) time, or `None` outside the grid.
type GridMemo = std::collections::BTreeMap<(u32, u32, u32), Option<(f64, f64)>>;

impl PartialEq for Index {
    fn eq(&self, _: &Index) -> bool {
        true
    }
}

/// The artefact's per-application settings (`APPLICATIONS` in `applications.py`):
/// (name, max_epochs, max_local_bsz override).
pub const POLLUX_APPLICATIONS: [(&str, u32, Option<u32>); 6] = [
    ("bert", 2, None),
    ("cifar10", 100, None),
    ("ncf", 10, None),
    ("imagenet", 90, None),
    ("deepspeech2", 80, None),
    ("yolov3", 50, Some(8)),
];

/// A job's batch configuration on a number of replicas: each replica computes
/// `accum_steps + 1` micro-batches of `atomic_bsz` per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchConfig {
    pub atomic_bsz: u32,
    pub accum_steps: u32,
}

impl BatchConfig {
    /// The total batch size on `replicas`.
    pub fn batch_size(&self, replicas: u32) -> u64 {
        u64::from(replicas) * u64::from(self.atomic_bsz) * (u64::from(self.accum_steps) + 1)
    }
}

/// `ceil(a / b - 1e-8)` in the artefact's floating point.
fn ceil_div(a: f64, b: f64) -> f64 {
    (a / b - 1e-8).ceil()
}

/// Linear interpolation at `x` over points sorted by `x`, as `scipy.interpolate.interp1d`
/// (kind `linear`) computes it; `None` outside the points' range.
fn interp1d(points: &[(f64, f64, f64)], x: f64) -> Option<(f64, f64)> {
    let (first, last) = (points.first()?, points.last()?);
    if x < first.0 || x > last.0 {
        return None;
    }
    if points.len() == 1 {
        return Some((first.1, first.2));
    }
    // searchsorted(side = left), clipped to [1, len - 1].
    let idx = points
        .partition_point(|p| p.0 < x)
        .clamp(1, points.len() - 1);
    let (lo, hi) = (points[idx - 1], points[idx]);
    let dx = hi.0 - lo.0;
    let at = |ylo: f64, yhi: f64| (yhi - ylo) / dx * (x - lo.0) + ylo;
    Some((at(lo.1, hi.1), at(lo.2, hi.2)))
}

impl Application {
    /// The artefact's application `name` over `profile` (its `max_epochs` and local batch
    /// cap), or, for a name it does not know, every parameter from the profile with
    /// `max_epochs` = the shortest training curve.
    pub fn pollux(profile: AppProfile) -> Result<Application, ProfileError> {
        let known = POLLUX_APPLICATIONS
            .iter()
            .find(|(n, _, _)| *n == profile.name);
        Self::new(profile, known.map(|k| k.1), known.and_then(|k| k.2))
    }

    /// An application over `profile`; `max_epochs` and `max_local_bsz` default as in the
    /// artefact (shortest curve; largest measured local batch).
    pub fn new(
        profile: AppProfile,
        max_epochs: Option<u32>,
        max_local_bsz: Option<u32>,
    ) -> Result<Application, ProfileError> {
        let invalid = |msg: String| ProfileError::Invalid {
            file: profile.name.clone(),
            msg,
        };
        let (Some(&init), Some(&max)) = (
            profile.validation.keys().next(),
            profile.validation.keys().next_back(),
        ) else {
            return Err(invalid("no training curve".into()));
        };
        let min_local = profile.placements.iter().map(|p| p.local_bsz).min();
        let max_local = profile.placements.iter().map(|p| p.local_bsz).max();
        let (Some(min_local), Some(max_local)) = (min_local, max_local) else {
            return Err(invalid("no placement measurements".into()));
        };
        let shortest = profile.validation.values().map(Vec::len).min().unwrap_or(0) as u32;
        let max_epochs = max_epochs.unwrap_or(shortest);
        if max_epochs == 0 || max_epochs > shortest {
            return Err(invalid(format!(
                "{max_epochs} epochs asked, the shortest training curve has {shortest}"
            )));
        }
        if max < min_local {
            return Err(invalid(format!(
                "largest batch size {max} is below the smallest local batch size {min_local}"
            )));
        }
        Ok(Application {
            profile,
            init_batch_size: init,
            max_batch_size: max,
            min_local_bsz: min_local,
            max_local_bsz: max_local_bsz.unwrap_or(max_local),
            max_epochs,
            index: Index::default(),
        })
    }

    /// The artefact's batch configuration for a fixed total batch size on `replicas`
    /// (`Job.update_local_bsz` with a target batch size).
    pub fn batch_config(&self, batch_size: u32, replicas: u32) -> BatchConfig {
        let (b, r) = (f64::from(batch_size), f64::from(replicas.max(1)));
        let local = ceil_div(b, r);
        let mut accum = ceil_div(local, f64::from(self.max_local_bsz)) - 1.0;
        if replicas == 1 && batch_size > self.init_batch_size {
            accum = accum.max(1.0);
        }
        let accum = accum.max(0.0);
        let atomic = ceil_div(local, accum + 1.0);
        let count = r * (accum + 1.0);
        let cap = (f64::from(self.max_batch_size) / count).trunc();
        BatchConfig {
            atomic_bsz: atomic.min(cap).max(0.0) as u32,
            accum_steps: accum as u32,
        }
    }

    /// Statistical progress at the end of epoch `epoch` (0 before the first): the smallest
    /// over the measured batch sizes, as the artefact takes it.
    pub fn progress_at(&self, epoch: u32) -> f64 {
        if epoch == 0 {
            return 0.0;
        }
        self.profile
            .validation
            .values()
            .filter_map(|v| v.get(epoch as usize - 1).map(|e| e.progress))
            .fold(f64::INFINITY, f64::min)
    }

    /// The measured batch sizes around `batch_size` (equal when it is measured).
    fn around(&self, batch_size: u64) -> Option<(u32, u32)> {
        let lower = self
            .profile
            .validation
            .keys()
            .rev()
            .find(|&&b| u64::from(b) <= batch_size)?;
        let upper = self
            .profile
            .validation
            .keys()
            .find(|&&b| u64::from(b) >= batch_size)?;
        Some((*lower, *upper))
    }

    /// Gradient (square, variance) during `epoch` at a total batch size, interpolated
    /// between the measured batch sizes around it; `None` outside them.
    pub fn grad_stats(&self, batch_size: u64, epoch: u32) -> Option<(f64, f64)> {
        let (lo, up) = self.around(batch_size)?;
        let row = |b: u32| self.profile.validation.get(&b)?.get(epoch as usize);
        let (l, u) = (row(lo)?, row(up)?);
        if lo == up {
            return Some((l.grad_sqr, l.grad_var));
        }
        let (b, lo, up) = (batch_size as f64, f64::from(lo), f64::from(up));
        let mix = |lv: f64, uv: f64| ((b - lo) * uv + (up - b) * lv) / (up - lo);
        Some((mix(l.grad_sqr, u.grad_sqr), mix(l.grad_var, u.grad_var)))
    }

    /// Iterations done after completing `epoch` at a total batch size, interpolated
    /// linearly between the measured batch sizes around it (the artefact's
    /// `get_iteration`); `None` outside them.
    pub fn iterations_after(&self, batch_size: u64, epoch: u32) -> Option<f64> {
        let (lo, up) = self.around(batch_size)?;
        let at = |b: u32| {
            self.profile
                .validation
                .get(&b)?
                .get(epoch as usize)
                .map(|e| e.iteration as f64)
        };
        let (l, u) = (at(lo)?, at(up)?);
        if lo == up {
            return Some(l);
        }
        let (b, lo, up) = (batch_size as f64, f64::from(lo), f64::from(up));
        Some(((b - lo) * u + (up - b) * l) / (up - lo))
    }

    /// Optimus' predicted time of one step with a fixed total batch size on `replicas`
    /// GPUs packed on 4-GPU nodes (`OptimusPolicy.predict_step_time`: its batch
    /// configuration always accumulates at least once on one replica); `None` where the
    /// profile cannot tell.
    pub fn optimus_step_time(&self, batch_size: u32, replicas: u32) -> Option<f64> {
        let r = replicas.max(1);
        let local = ceil_div(f64::from(batch_size), f64::from(r));
        let mut accum = ceil_div(local, f64::from(self.max_local_bsz)) - 1.0;
        if r == 1 {
            accum = accum.max(1.0);
        }
        let accum = accum.max(0.0);
        let atomic = ceil_div(local, accum + 1.0);
        let count = f64::from(r) * (accum + 1.0);
        let atomic = atomic.min((f64::from(self.max_batch_size) / count).trunc());
        if atomic < 0.0 || atomic > f64::from(u32::MAX) {
            return None;
        }
        let mut placement = Vec::new();
        let mut left = r;
        while left > 0 {
            placement.push(left.min(4));
            left -= left.min(4);
        }
        let (step, sync) = self.throughput(&placement, atomic as u32)?;
        Some(step + (step - sync) * accum)
    }

    /// (step time, sync time) in seconds of one step on `placement` (GPUs per node, in any
    /// order; zeros ignored) at local batch size `local_bsz`; `None` where the profile
    /// cannot tell (outside its measurements).
    pub fn throughput(&self, placement: &[u32], local_bsz: u32) -> Option<(f64, f64)> {
        let nodes: Vec<u32> = placement.iter().copied().filter(|&g| g > 0).collect();
        if nodes.is_empty() {
            return None;
        }
        // The lexicographically smallest rotation, written as the file writes it.
        let best = (0..nodes.len())
            .map(|i| {
                let mut r = nodes[i..].to_vec();
                r.extend_from_slice(&nodes[..i]);
                r
            })
            .min()?;
        let id: String = best.iter().map(|g| g.to_string()).collect();
        let x = f64::from(local_bsz);
        if let Some(measured) = self.indexed().by_placement.get(&id) {
            return interp1d(measured, x);
        }
        // More GPUs on a node than any measured placement has: not priced (outside the
        // artefact's interpolation too).
        let most = self.max_gpus_per_node();
        if nodes.iter().any(|&g| g > most) {
            return None;
        }
        let n = (nodes.len() as u32).min(16);
        let r: u32 = nodes.iter().sum();
        self.grid_throughput(n, r, local_bsz)
    }

    /// The most GPUs on one node of any measured placement: a placement with more on a
    /// node is not priced.
    pub fn max_gpus_per_node(&self) -> u32 {
        self.profile
            .placements
            .iter()
            .flat_map(|p| p.placement.bytes().map(|c| u32::from(c - b'0')))
            .max()
            .unwrap_or(0)
    }

    fn indexed(&self) -> &Indexed {
        self.index.0.get_or_init(|| {
            let mut by_placement: std::collections::BTreeMap<String, Vec<(f64, f64, f64)>> =
                std::collections::BTreeMap::new();
            for p in &self.profile.placements {
                by_placement.entry(p.placement.clone()).or_default().push((
                    f64::from(p.local_bsz),
                    p.step_time,
                    p.sync_time,
                ));
            }
            for v in by_placement.values_mut() {
                v.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            Indexed {
                by_placement,
                grid: self.grid(),
                grid_memo: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            }
        })
    }

    /// The scattered (nodes, replicas, local batch) points: per-key means of the placement
    /// rows, then the scalability rows.
    fn grid(&self) -> Vec<(u32, u32, u32, f64, f64)> {
        let mut sums: std::collections::BTreeMap<(u32, u32, u32), (f64, f64, u32)> =
            std::collections::BTreeMap::new();
        for p in &self.profile.placements {
            let e = sums
                .entry((p.num_nodes, p.num_replicas, p.local_bsz))
                .or_insert((0.0, 0.0, 0));
            e.0 += p.step_time;
            e.1 += p.sync_time;
            e.2 += 1;
        }
        let mut out: Vec<_> = sums
            .into_iter()
            .map(|((n, r, b), (s, y, c))| (n, r, b, s / f64::from(c), y / f64::from(c)))
            .collect();
        out.extend(self.profile.scalability.iter().map(|s| {
            (
                s.num_nodes,
                s.num_replicas,
                s.local_bsz,
                s.step_time,
                s.sync_time,
            )
        }));
        out
    }

    /// Piecewise-linear interpolation over the grid: along the local batch size within a
    /// (nodes, replicas) row, then across the replica counts around `r` within a node
    /// count, then across the node counts around `n`. Rows (and node counts) that cannot
    /// answer at `b` are skipped; where only one side of `r` (or `n`) can answer, inside
    /// the range the grid spans, its answer is taken. `None` outside the grid's range.
    fn grid_throughput(&self, n: u32, r: u32, b: u32) -> Option<(f64, f64)> {
        let ix = self.indexed();
        let mut memo = ix
            .grid_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *memo
            .entry((n, r, b))
            .or_insert_with(|| self.grid_interpolate(n, r, b))
    }

    fn grid_interpolate(&self, n: u32, r: u32, b: u32) -> Option<(f64, f64)> {
        let grid = &self.indexed().grid;
        let row = |n: u32, r: u32| -> Option<(f64, f64)> {
            let mut pts: Vec<(f64, f64, f64)> = grid
                .iter()
                .filter(|g| g.0 == n && g.1 == r)
                .map(|g| (f64::from(g.2), g.3, g.4))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            interp1d(&pts, f64::from(b))
        };
        let plane = |n: u32| -> Option<(f64, f64)> {
            let mut rs: Vec<u32> = grid.iter().filter(|g| g.0 == n).map(|g| g.1).collect();
            rs.sort_unstable();
            rs.dedup();
            let answers: Vec<(u32, (f64, f64))> =
                rs.iter().filter_map(|&x| Some((x, row(n, x)?))).collect();
            bracket(&answers, r, (*rs.first()?, *rs.last()?))
        };
        let mut ns: Vec<u32> = grid.iter().map(|g| g.0).collect();
        ns.sort_unstable();
        ns.dedup();
        let answers: Vec<(u32, (f64, f64))> =
            ns.iter().filter_map(|&x| Some((x, plane(x)?))).collect();
        bracket(&answers, n, (*ns.first()?, *ns.last()?))
    }
}

/// The answer at `at` from the answers at the keys around it (sorted by key): linear
/// between the nearest key below and above, the one key's answer where only one side has
/// one, `None` outside `range` or with no answer.
fn bracket(answers: &[(u32, (f64, f64))], at: u32, range: (u32, u32)) -> Option<(f64, f64)> {
    if at < range.0 || at > range.1 {
        return None;
    }
    let lo = answers.iter().rev().find(|a| a.0 <= at);
    let hi = answers.iter().find(|a| a.0 >= at);
    match (lo, hi) {
        (Some(l), Some(h)) if l.0 == h.0 => Some(l.1),
        (Some(l), Some(h)) => {
            let t = f64::from(at - l.0) / f64::from(h.0 - l.0);
            Some((l.1.0 + (h.1.0 - l.1.0) * t, l.1.1 + (h.1.1 - l.1.1) * t))
        }
        (Some(one), None) | (None, Some(one)) => Some(one.1),
        (None, None) => None,
    }
}
