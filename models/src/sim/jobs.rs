//! The jobs' run-time states ([`Jobs`]), with an optional record of which jobs were
//! touched: an observer that keeps a view of every job (the pod log) then looks only at
//! the jobs that may have changed, instead of every live job at every instant.
//!
//! The record is sound by construction, not by discipline: every way to reach a job's
//! state mutably goes through [`Jobs`] — `jobs[j]` in a mutable place marks job `j`, and
//! any other mutable access (`iter_mut`, `get_mut`, …, through `DerefMut`) marks every
//! job. A mark may be spurious (a mutable access that changed nothing); a change is
//! never missed. The record is not part of the state's identity: equality, hashing and
//! serialisation see only the states.

use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut, Index, IndexMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::JobState;
use crate::marks::{Marked, Marks};

/// The jobs' states, indexed by job (see the module doc).
#[derive(Clone, Debug, Default)]
pub struct Jobs {
    v: Vec<JobState>,
    touched: Option<Box<Marks>>,
}

impl Jobs {
    /// Start recording touched jobs (every job counts as touched at first).
    pub fn track_touched(&mut self) {
        self.touched = Some(Box::new(Marks::new(self.v.len())));
    }

    /// The jobs touched since the last call (or since recording began), and start a new
    /// record; `None` when not recording.
    pub fn take_touched(&mut self) -> Option<Marked> {
        let n = self.v.len();
        self.touched.as_mut().map(|t| t.take(n))
    }

    /// The states, leaving the record of touched jobs behind.
    pub fn into_vec(self) -> Vec<JobState> {
        self.v
    }

    /// Count every job as touched (their states were replaced).
    pub fn touch_all(&mut self) {
        if let Some(t) = &mut self.touched {
            t.mark_all();
        }
    }
}

impl From<Vec<JobState>> for Jobs {
    fn from(v: Vec<JobState>) -> Jobs {
        Jobs { v, touched: None }
    }
}

impl FromIterator<JobState> for Jobs {
    fn from_iter<I: IntoIterator<Item = JobState>>(iter: I) -> Jobs {
        Jobs::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl Deref for Jobs {
    type Target = Vec<JobState>;
    fn deref(&self) -> &Vec<JobState> {
        &self.v
    }
}

impl DerefMut for Jobs {
    /// Any mutable access but `jobs[j]` counts as touching every job.
    fn deref_mut(&mut self) -> &mut Vec<JobState> {
        self.touch_all();
        &mut self.v
    }
}

impl Index<usize> for Jobs {
    type Output = JobState;
    fn index(&self, j: usize) -> &JobState {
        &self.v[j]
    }
}

impl IndexMut<usize> for Jobs {
    fn index_mut(&mut self, j: usize) -> &mut JobState {
        if let Some(t) = &mut self.touched {
            t.mark(j);
        }
        &mut self.v[j]
    }
}

impl<'a> IntoIterator for &'a Jobs {
    type Item = &'a JobState;
    type IntoIter = std::slice::Iter<'a, JobState>;
    fn into_iter(self) -> Self::IntoIter {
        self.v.iter()
    }
}

impl<'a> IntoIterator for &'a mut Jobs {
    type Item = &'a mut JobState;
    type IntoIter = std::slice::IterMut<'a, JobState>;
    /// Counts as touching every job.
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl PartialEq for Jobs {
    fn eq(&self, other: &Jobs) -> bool {
        self.v == other.v
    }
}

impl Eq for Jobs {}

impl Hash for Jobs {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.v.hash(h);
    }
}

impl Serialize for Jobs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Jobs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Jobs, D::Error> {
        Vec::<JobState>::deserialize(d).map(Jobs::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs(n: usize) -> Jobs {
        let js: Vec<JobState> = (0..n)
            .map(|_| JobState {
                phase: super::super::JobPhase::NotSubmitted,
                pods: crate::sim::PodStates::new(),
                assumed: 0,
                bound: 0,
                nodes_at_start: 0,
                first_start: None,
                remaining: sim_core::SimDuration::ZERO,
                run_since: None,
                attained: crate::sim::Attained::ZERO,
                generation: 0,
                completion: sim_core::TimerSlot::NONE,
                queue_ts: sim_core::SimTime::ZERO,
                queue_seq: 0,
                permit_deadline: sim_core::TimerSlot::NONE,
                admitted: false,
                requeues: 0,
                deactivated: false,
                evictions: 0,
            })
            .collect();
        Jobs::from(js)
    }

    #[test]
    fn mutable_index_marks_reads_do_not() {
        let mut j = jobs(5);
        assert!(j.take_touched().is_none(), "not recording yet");
        j.track_touched();
        assert!(j.take_touched().is_some_and(|t| t.all()), "all at first");
        j[3].generation += 1;
        j[1].assumed = 2;
        j[3].bound = 1;
        let _ = j[4].phase; // a read
        let _ = j.iter().count();
        let t = j.take_touched().expect("recording");
        assert!(!t.all());
        assert_eq!(t.sorted(), vec![1, 3]);
        assert_eq!(j.take_touched().map(Marked::sorted), Some(vec![]));
        // Any other mutable access counts as touching every job.
        j.iter_mut().for_each(|s| s.requeues += 1);
        assert!(j.take_touched().is_some_and(|t| t.all()));
        j[0].evictions = 1;
        assert_eq!(j.take_touched().map(Marked::sorted), Some(vec![0]));
    }

    #[test]
    fn the_record_is_not_part_of_the_identity() {
        let mut a = jobs(3);
        let b = jobs(3);
        a.track_touched();
        a[2].generation = 0;
        assert_eq!(a, b);
        let json = serde_json::to_string(&a).expect("serialise");
        assert_eq!(json, serde_json::to_string(&b).expect("serialise"));
    }
}
