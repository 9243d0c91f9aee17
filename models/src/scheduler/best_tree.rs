//! The best nodes of one pod shape, kept across scheduling cycles: a max segment tree over
//! the nodes' memoised verdicts (weighted total score, or `INFEASIBLE`), updated only for
//! the nodes that changed.
//!
//! A full scan of a shape with a memo table (`Profile::select_node`) needs only three
//! things from the verdicts: how many nodes are feasible, how many share the best score,
//! and the k-th of those in node-index order (the chooser's pick). The tree answers each in
//! O(log n) and a changed node costs one O(log n) update, where the scan walked every node
//! per pod. A pure function of the verdicts it was given (no order of updates leaks out).
//!
//! The verdicts themselves (the leaves) are not stored here but read from the caller's
//! memo cells (`leaf(i)`): the tree's own nodes summarise blocks of [`BLOCK`] leaves, so a
//! tree is small (one per pod shape, all of them scanned at random as nodes change) and a
//! leaf's update reads no memory the caller has not just touched, unless its block's only
//! best leaf drops.

/// Leaves summarised by one bottom tree node.
pub const BLOCK: usize = 16;

/// One tree node: (largest verdict below, leaves below at it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    max: i64,
    count: u32,
}

/// Max segment tree over per-node verdicts, with the count of leaves at the max per subtree.
#[derive(Debug, Clone)]
pub struct BestTree {
    /// Leaves (nodes).
    n: usize,
    /// Bottom tree nodes start here (a power of two ≥ the block count).
    size: usize,
    /// Per tree node: the largest verdict below it (`floor` for the padding) and how many
    /// leaves below it hold it (padding: 0). Bottom node `size + b` is leaves
    /// `b * BLOCK .. (b + 1) * BLOCK` (those below `n`).
    t: Box<[Cell]>,
    /// The "infeasible" verdict: leaves at it are not counted as feasible.
    floor: i64,
    /// Leaves above `floor`.
    feasible: usize,
}

impl BestTree {
    /// A tree of `n` leaves, to be filled by [`BestTree::rebuild`] before use.
    pub fn new(n: usize, floor: i64) -> BestTree {
        let size = n.div_ceil(BLOCK).next_power_of_two().max(1);
        BestTree {
            n,
            size,
            t: vec![
                Cell {
                    max: floor,
                    count: 0
                };
                2 * size
            ]
            .into_boxed_slice(),
            floor,
            feasible: 0,
        }
    }

    /// Block `b`'s summary, from its leaves.
    fn scan(&self, b: usize, leaf: &impl Fn(usize) -> i64) -> Cell {
        let mut c = Cell {
            max: self.floor,
            count: 0,
        };
        for i in b * BLOCK..((b + 1) * BLOCK).min(self.n) {
            let v = leaf(i);
            if v > c.max || c.count == 0 {
                c = Cell { max: v, count: 1 };
            } else if v == c.max {
                c.count += 1;
            }
        }
        c
    }

    /// Summarise every leaf (`leaf(i)` for `i < n`) anew: O(n).
    pub fn rebuild(&mut self, leaf: impl Fn(usize) -> i64) {
        self.feasible = (0..self.n).filter(|&i| leaf(i) != self.floor).count();
        for b in 0..self.size {
            self.t[self.size + b] = self.scan(b, &leaf);
        }
        for j in (1..self.size).rev() {
            self.pull(j);
        }
    }

    /// Recompute tree node `j` from its children; whether it changed.
    fn pull(&mut self, j: usize) -> bool {
        let (l, r) = (self.t[2 * j], self.t[2 * j + 1]);
        let c = if l.max > r.max || r.count == 0 {
            l
        } else if r.max > l.max || l.count == 0 {
            r
        } else {
            Cell {
                max: l.max,
                count: l.count + r.count,
            }
        };
        let changed = self.t[j] != c;
        self.t[j] = c;
        changed
    }

    /// Tree nodes held (for a memory budget).
    pub fn cells(&self) -> usize {
        2 * self.size
    }

    /// Leaf `i` changed from `old` to `new`; `leaf` reads the leaves as they are now
    /// (leaf `i` at `new`).
    pub fn set(&mut self, i: usize, old: i64, new: i64, leaf: impl Fn(usize) -> i64) {
        if old == new {
            return;
        }
        match (old == self.floor, new == self.floor) {
            (true, false) => self.feasible += 1,
            (false, true) => self.feasible -= 1,
            _ => {}
        }
        let b = i / BLOCK;
        let mut j = self.size + b;
        let mut c = self.t[j];
        if old == c.max {
            c.count -= 1;
        }
        if new > c.max {
            c = Cell { max: new, count: 1 };
        } else if new == c.max {
            c.count += 1;
        }
        if c.count == 0 {
            // The block's only best leaf dropped: its new best is among the others.
            c = self.scan(b, &leaf);
        }
        if self.t[j] == c {
            return;
        }
        self.t[j] = c;
        // An ancestor is a function of its children only: once one is unchanged, so are
        // the ones above it.
        while j > 1 {
            j /= 2;
            if !self.pull(j) {
                break;
            }
        }
    }

    /// Leaves above the floor (feasible nodes).
    pub fn feasible(&self) -> usize {
        self.feasible
    }

    /// Leaves at the best verdict (meaningful when [`BestTree::feasible`] > 0).
    pub fn best_count(&self) -> usize {
        self.t[1].count as usize
    }

    /// The `k`-th (from 0, in leaf order) leaf at the best verdict; `k < best_count()`.
    pub fn kth_best(&self, mut k: usize, leaf: impl Fn(usize) -> i64) -> usize {
        let m = self.t[1].max;
        let mut j = 1;
        while j < self.size {
            let l = 2 * j;
            if self.t[l].max == m {
                let c = self.t[l].count as usize;
                if k < c {
                    j = l;
                    continue;
                }
                k -= c;
            }
            j = l + 1;
        }
        let b = j - self.size;
        for i in b * BLOCK..((b + 1) * BLOCK).min(self.n) {
            if leaf(i) == m {
                if k == 0 {
                    return i;
                }
                k -= 1;
            }
        }
        // Unreachable while the tree matches its leaves: the block holds `count` best.
        b * BLOCK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: i64 = i64::MIN;

    /// A tree over `v`, kept in step with it by `set`.
    struct Kept {
        v: Vec<i64>,
        t: BestTree,
    }

    impl Kept {
        fn new(v: Vec<i64>) -> Kept {
            let mut t = BestTree::new(v.len(), F);
            t.rebuild(|i| v[i]);
            Kept { v, t }
        }
        fn set(&mut self, i: usize, x: i64) {
            let old = self.v[i];
            self.v[i] = x;
            let v = &self.v;
            self.t.set(i, old, x, |j| v[j]);
        }
        fn kth(&self, k: usize) -> usize {
            self.t.kth_best(k, |j| self.v[j])
        }
    }

    #[test]
    fn counts_and_picks_the_best_in_index_order() {
        // 5 leaves: verdicts [F, 7, 3, 7, F].
        let mut t = Kept::new(vec![F; 5]);
        assert_eq!(t.t.feasible(), 0);
        for (i, v) in [(1, 7), (2, 3), (3, 7)] {
            t.set(i, v);
        }
        assert_eq!(t.t.feasible(), 3);
        assert_eq!(t.t.best_count(), 2);
        assert_eq!((t.kth(0), t.kth(1)), (1, 3));
        // Node 3 drops to 2 and node 4 rises to 9: the only best is node 4.
        t.set(3, 2);
        t.set(4, 9);
        assert_eq!((t.t.feasible(), t.t.best_count(), t.kth(0)), (4, 1, 4));
        // Node 4 becomes infeasible: back to node 1 (7) alone; then 2 ties it at 7.
        t.set(4, F);
        assert_eq!((t.t.feasible(), t.t.best_count(), t.kth(0)), (3, 1, 1));
        t.set(2, 7);
        assert_eq!((t.t.best_count(), t.kth(1)), (2, 2));
        // Rebuilt from scratch over [5, F, 5, 1, 5]: three best (0, 2, 4), four feasible.
        let t = Kept::new(vec![5, F, 5, 1, 5]);
        assert_eq!((t.t.feasible(), t.t.best_count()), (4, 3));
        assert_eq!((t.kth(0), t.kth(1), t.kth(2)), (0, 2, 4));
    }

    #[test]
    fn all_infeasible_then_one() {
        let mut t = Kept::new(vec![F; 3]);
        t.set(2, 0);
        assert_eq!((t.t.feasible(), t.t.best_count(), t.kth(0)), (1, 1, 2));
        t.set(2, F);
        assert_eq!(t.t.feasible(), 0);
    }

    #[test]
    fn across_blocks_a_dropped_best_is_found_again() {
        // 40 leaves over three blocks of 16: leaf 17 (block 1) is the only 9, leaves 3
        // and 33 (blocks 0 and 2) are 8, the rest 1.
        let mut v = vec![1; 40];
        v[17] = 9;
        v[3] = 8;
        v[33] = 8;
        let mut t = Kept::new(v);
        assert_eq!((t.t.feasible(), t.t.best_count(), t.kth(0)), (40, 1, 17));
        // Leaf 17 drops to 2: block 1's best is now 2 (leaf 17 alone, rescanned), and the
        // best overall are leaves 3 and 33 at 8.
        t.set(17, 2);
        assert_eq!((t.t.best_count(), t.kth(0), t.kth(1)), (2, 3, 33));
        // Leaf 3 to 8 again (no change), leaf 20 rises to 8: three best, 3, 20, 33.
        t.set(3, 8);
        t.set(20, 8);
        assert_eq!(
            (t.t.best_count(), t.kth(0), t.kth(1), t.kth(2)),
            (3, 3, 20, 33)
        );
        // Every leaf of block 0 infeasible: 24 feasible left, best 20 and 33.
        for i in 0..16 {
            t.set(i, F);
        }
        assert_eq!((t.t.feasible(), t.t.best_count(), t.kth(0)), (24, 2, 20));
    }
}
