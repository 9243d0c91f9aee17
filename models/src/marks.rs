//! A record of which items (jobs, nodes) were touched since it was last taken, for an
//! observer that keeps a view of every item and wants to look again only at those that
//! may have changed. A mark may be spurious; a touched item is never missed as long as
//! every mutable access marks (the owner's job, see `sim::jobs`).

/// The record: each touched item once, and a flag for "every item".
#[derive(Clone, Debug, Default)]
pub struct Marks {
    /// Per item: whether it is in `list`.
    marked: Vec<bool>,
    /// Touched items, each once, in the order first touched.
    list: Vec<u32>,
    /// Every item counts as touched.
    all: bool,
}

/// What [`Marks::take`] hands over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marked {
    list: Vec<u32>,
    all: bool,
}

impl Marked {
    /// Whether every item counts as touched.
    pub fn all(&self) -> bool {
        self.all
    }

    /// The touched items in increasing order (meaningful when not [`Marked::all`]).
    pub fn sorted(mut self) -> Vec<u32> {
        self.list.sort_unstable();
        self.list
    }
}

impl Marks {
    /// A record over `n` items, every one of them counted as touched at first.
    pub fn new(n: usize) -> Marks {
        Marks {
            marked: vec![false; n],
            list: Vec::new(),
            all: true,
        }
    }

    /// Item `i` was touched (an item beyond the record's size counts as every item).
    pub fn mark(&mut self, i: usize) {
        if self.all {
            return;
        }
        match self.marked.get_mut(i) {
            Some(true) => {}
            Some(m) => {
                *m = true;
                self.list.push(i as u32);
            }
            None => self.all = true,
        }
    }

    /// Every item counts as touched.
    pub fn mark_all(&mut self) {
        self.all = true;
    }

    /// The items touched since the last call (or since the record began) over `n` items
    /// now; a new record starts empty.
    pub fn take(&mut self, n: usize) -> Marked {
        let list = std::mem::take(&mut self.list);
        if self.all || self.marked.len() != n {
            self.marked.clear();
            self.marked.resize(n, false);
        } else {
            for &i in &list {
                self.marked[i as usize] = false;
            }
        }
        let all = std::mem::replace(&mut self.all, false);
        Marked { list, all }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_each_item_once_and_resets() {
        let mut m = Marks::new(4);
        assert!(m.take(4).all(), "every item at first");
        m.mark(2);
        m.mark(0);
        m.mark(2);
        assert_eq!(m.take(4).sorted(), vec![0, 2]);
        assert_eq!(m.take(4), Marked::default());
        m.mark(3);
        m.mark_all();
        m.mark(1);
        assert!(m.take(4).all());
        // Out of range: every item.
        m.mark(9);
        assert!(m.take(4).all());
        m.mark(1);
        assert_eq!(m.take(4).sorted(), vec![1]);
    }
}
