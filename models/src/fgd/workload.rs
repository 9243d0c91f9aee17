//! The artefact's pre-scheduling steps (`Simulate` in `pkg/simulator/core.go`): one Go
//! `math/rand` stream seeded with the tune seed drives the shuffle, the tune-up/tune-down of
//! the pod list to 1.3 × GPU capacity, and the node permutation that fixes the tie-break rank.

use super::go_rand::GoRand;
use super::openb::PodRow;

/// Target of the tune step: total GPU request = `TUNE_RATIO` × cluster GPU capacity.
pub const TUNE_RATIO: f64 = 1.3;

/// Draws (`Float64`, one per informer reflector) between the tune step and `Perm` in the
/// published runs (reference §1.3 step 6).
pub const INFORMER_DRAWS: usize = 10;

/// The scheduled sequence and the tie-break ranks of one (trace, seed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequence {
    /// Pods in scheduling order, as indices into the name-sorted original list (tune-up
    /// clones repeat an index).
    pub order: Vec<usize>,
    /// Tie-break rank of node i (nodes sorted by name): the `%04d` prefix from `Perm`.
    pub rank: Vec<u32>,
    /// Clones appended by tune-up.
    pub clones: usize,
    /// Pods deleted by tune-down.
    pub removed: usize,
    /// Total GPU request of `order`, milli-GPU.
    pub total_milli: i64,
}

/// Run the pre-scheduling steps. `sorted` is the original pod list sorted by name,
/// `capacity_milli` the cluster's GPU capacity, `nodes` the number of nodes.
pub fn prepare(sorted: &[PodRow], capacity_milli: i64, nodes: usize, seed: i64) -> Sequence {
    let mut rng = GoRand::new(seed);
    // The discarded `rand.Int()` evaluated as a debug-log argument.
    rng.int();
    let mut order: Vec<usize> = (0..sorted.len()).collect();
    rng.shuffle(&mut order);

    let mut total: i64 = sorted.iter().map(PodRow::total_milli).sum();
    let target = TUNE_RATIO * capacity_milli as f64;
    let (mut clones, mut removed) = (0, 0);
    if total as f64 > target {
        while total as f64 > target && !order.is_empty() {
            let i = rng.intn(order.len());
            let p = order.remove(i);
            total -= sorted[p].total_milli();
            removed += 1;
        }
    } else if (total as f64) < target && !sorted.is_empty() {
        loop {
            let i = rng.intn(sorted.len());
            let cand = &sorted[i];
            // The stop test uses the per-GPU milli, the sum the total (as the artefact does).
            if (total + cand.gpu_milli) as f64 > target {
                break;
            }
            order.push(i);
            total += cand.total_milli();
            clones += 1;
        }
    }
    for _ in 0..INFORMER_DRAWS {
        rng.float64();
    }
    let rank = rng.perm(nodes).into_iter().map(|r| r as u32).collect();
    Sequence {
        order,
        rank,
        clones,
        removed,
        total_milli: total,
    }
}
