//! The artefact's analysis (`scripts/analysis.py`, `merge_alloc_discrete.py`,
//! `merge_frag_discrete.py`): per-event values binned by arrived GPU demand into columns
//! 0…130, with pandas/numpy arithmetic (pairwise summation, round half to even).

use super::one_model::Event;

/// Columns 0…`LAST_COLUMN` (arrived demand in % of GPU capacity).
pub const LAST_COLUMN: usize = 130;
pub const COLUMNS: usize = LAST_COLUMN + 1;

/// numpy's pairwise summation of float64 (`pairwise_sum_DOUBLE`, block size 128, unroll 8).
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `numpy.round(x, decimals)`: scale, round half to even, unscale.
pub fn np_round(x: f64, decimals: i32) -> f64 {
    if decimals == 0 {
        x.round_ties_even()
    } else {
        let s = 10f64.powi(decimals);
        (x * s).round_ties_even() / s
    }
}

fn mean(v: &[f64]) -> f64 {
    pairwise_sum(v) / v.len() as f64
}

/// Bin per-event values by `arrive_ratio` and average: column X = mean over events with
/// ratio X, or, if there is none, over events with ratio in [X−1, X+1]; NaN if still none.
fn binned(ratios: &[i64], values: &[f64], finish: impl Fn(f64) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(COLUMNS);
    let mut buf = Vec::new();
    for x in 0..COLUMNS as i64 {
        buf.clear();
        buf.extend(
            ratios
                .iter()
                .zip(values)
                .filter(|(r, _)| **r == x)
                .map(|(_, v)| *v),
        );
        if buf.is_empty() {
            buf.extend(
                ratios
                    .iter()
                    .zip(values)
                    .filter(|(r, _)| (x - 1..=x + 1).contains(*r))
                    .map(|(_, v)| *v),
            );
        }
        out.push(if buf.is_empty() {
            f64::NAN
        } else {
            finish(mean(&buf))
        });
    }
    out
}

/// The two curves of one run: GPU allocation ratio (%) and fragmentation amount (% of GPUs).
pub fn curves(events: &[Event], total_gpus: usize) -> (Vec<f64>, Vec<f64>) {
    let g = total_gpus as f64;
    let ratios: Vec<i64> = events
        .iter()
        .map(|e| np_round(e.arrived_milli as f64 / g / 10.0, 0) as i64)
        .collect();
    let alloc: Vec<f64> = events
        .iter()
        .map(|e| np_round(e.used_milli as f64 / g / 10.0, 2))
        .collect();
    let frag: Vec<f64> = events.iter().map(|e| e.frag_milli).collect();
    (
        binned(&ratios, &alloc, |m| np_round(m, 2)),
        binned(&ratios, &frag, |m| np_round(100.0 * m / 1000.0 / g, 2)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_plain_sum_on_exact_values() {
        for n in [0, 1, 7, 8, 9, 127, 128, 129, 1000] {
            let v: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(pairwise_sum(&v), (n * n.max(1) - n) as f64 / 2.0, "n = {n}");
        }
    }

    #[test]
    fn rounds_half_to_even() {
        assert_eq!(np_round(0.5, 0), 0.0);
        assert_eq!(np_round(1.5, 0), 2.0);
        // numpy scales first: 2.675 * 100 == 267.5 exactly, which rounds to even (268).
        assert_eq!(np_round(2.675, 2), 2.68);
        assert_eq!(np_round(0.125, 2), 0.12);
    }
}
