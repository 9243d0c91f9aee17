//! The best nodes of one pod shape, kept across scheduling cycles: a max segment tree over
//! the nodes' memoised verdicts (weighted total score, or `INFEASIBLE`), updated only for
//! the nodes that changed.
//!
//! A full scan of a shape with a memo table (`Profile::select_node`) needs only three
//! things from the verdicts: how many nodes are feasible, how many share the best score,
//! and the k-th of those in node-index order (the chooser's pick). The tree answers each in
//! O(log n) and a changed node costs one O(log n) update, where the scan walked every node
//! per pod. A pure function of the verdicts it was given (no order of updates leaks out).

/// Max segment tree over per-node verdicts, with the count of leaves at the max per subtree.
#[derive(Debug, Clone)]
pub struct BestTree {
    /// Leaves start here (a power of two ≥ the node count).
    size: usize,
    /// Per tree node: the largest verdict below it (`floor` for the padding).
    max: Box<[i64]>,
    /// Per tree node: how many leaves below it hold `max` (padding leaves: 0).
    count: Box<[u32]>,
    /// The "infeasible" verdict: leaves at it are not counted as feasible.
    floor: i64,
    /// Leaves above `floor`.
    feasible: usize,
}

impl BestTree {
    /// A tree of `n` leaves, all at `floor` (infeasible).
    pub fn new(n: usize, floor: i64) -> BestTree {
        let size = n.next_power_of_two().max(1);
        let mut count = vec![0u32; 2 * size];
        count[size..size + n].iter_mut().for_each(|c| *c = 1);
        for i in (1..size).rev() {
            count[i] = count[2 * i] + count[2 * i + 1];
        }
        BestTree {
            size,
            max: vec![floor; 2 * size].into_boxed_slice(),
            count: count.into_boxed_slice(),
            floor,
            feasible: 0,
        }
    }

    /// Set every leaf at once (`leaves` in leaf order, as many as the tree has): O(n).
    pub fn rebuild(&mut self, leaves: impl Iterator<Item = i64>) {
        let mut feasible = 0;
        for (j, v) in (self.size..2 * self.size).zip(leaves) {
            self.max[j] = v;
            feasible += usize::from(v != self.floor);
        }
        self.feasible = feasible;
        for j in (1..self.size).rev() {
            self.pull(j);
        }
    }

    fn pull(&mut self, j: usize) {
        let (l, r) = (2 * j, 2 * j + 1);
        let (ml, mr) = (self.max[l], self.max[r]);
        let (m, c) = if ml > mr {
            (ml, self.count[l])
        } else if mr > ml {
            (mr, self.count[r])
        } else {
            (ml, self.count[l] + self.count[r])
        };
        self.max[j] = m;
        self.count[j] = c;
    }

    /// Tree nodes held (for a memory budget).
    pub fn cells(&self) -> usize {
        2 * self.size
    }

    /// Set leaf `i` to `v`.
    pub fn set(&mut self, i: usize, v: i64) {
        let mut j = self.size + i;
        let old = self.max[j];
        if old == v {
            return;
        }
        match (old == self.floor, v == self.floor) {
            (true, false) => self.feasible += 1,
            (false, true) => self.feasible -= 1,
            _ => {}
        }
        self.max[j] = v;
        while j > 1 {
            j /= 2;
            self.pull(j);
        }
    }

    /// Leaves above the floor (feasible nodes).
    pub fn feasible(&self) -> usize {
        self.feasible
    }

    /// Leaves at the best verdict (meaningful when [`BestTree::feasible`] > 0).
    pub fn best_count(&self) -> usize {
        self.count[1] as usize
    }

    /// The `k`-th (from 0, in leaf order) leaf at the best verdict; `k < best_count()`.
    pub fn kth_best(&self, mut k: usize) -> usize {
        let m = self.max[1];
        let mut j = 1;
        while j < self.size {
            let l = 2 * j;
            if self.max[l] == m {
                let c = self.count[l] as usize;
                if k < c {
                    j = l;
                    continue;
                }
                k -= c;
            }
            j = l + 1;
        }
        j - self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: i64 = i64::MIN;

    #[test]
    fn counts_and_picks_the_best_in_index_order() {
        // 5 leaves (tree of 8): verdicts [F, 7, 3, 7, F].
        let mut t = BestTree::new(5, F);
        assert_eq!(t.feasible(), 0);
        for (i, v) in [(1, 7), (2, 3), (3, 7)] {
            t.set(i, v);
        }
        assert_eq!(t.feasible(), 3);
        assert_eq!(t.best_count(), 2);
        assert_eq!((t.kth_best(0), t.kth_best(1)), (1, 3));
        // Node 3 drops to 2 and node 4 rises to 9: the only best is node 4.
        t.set(3, 2);
        t.set(4, 9);
        assert_eq!((t.feasible(), t.best_count(), t.kth_best(0)), (4, 1, 4));
        // Node 4 becomes infeasible: back to node 1 (7) alone; then 2 ties it at 7.
        t.set(4, F);
        assert_eq!((t.feasible(), t.best_count(), t.kth_best(0)), (3, 1, 1));
        t.set(2, 7);
        assert_eq!((t.best_count(), t.kth_best(1)), (2, 2));
        // Rebuilt from scratch to [5, F, 5, 1, 5]: three best (0, 2, 4), four feasible.
        t.rebuild([5, F, 5, 1, 5].into_iter());
        assert_eq!((t.feasible(), t.best_count()), (4, 3));
        assert_eq!((t.kth_best(0), t.kth_best(1), t.kth_best(2)), (0, 2, 4));
    }

    #[test]
    fn all_infeasible_then_one() {
        let mut t = BestTree::new(3, F);
        t.set(2, 0);
        assert_eq!((t.feasible(), t.best_count(), t.kth_best(0)), (1, 1, 2));
        t.set(2, F);
        assert_eq!(t.feasible(), 0);
    }
}
