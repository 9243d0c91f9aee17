//! The one place where every choice among equals is made.
//!
//! Models never break ties themselves: whenever several alternatives are equally good (two
//! nodes with the same score, pods with the same queue position, simultaneous events) they
//! ask the `Chooser` for an index in `0..n`. By default the answer comes from a seeded
//! ChaCha stream; a verifier can instead script the answers (to replay a schedule exactly)
//! or record them (to turn a run into a replayable witness).

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::rng::RngStreams;

/// How the chooser answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChooserMode {
    /// Uniform over the alternatives, from the seeded `"chooser"` stream (the default).
    Seeded,
    /// Always the first alternative (the model's canonical order).
    First,
    /// Follow a recorded list of answers; past its end, answer 0.
    Scripted(Vec<u32>),
}

/// One recorded decision: `picked` out of `among` alternatives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Choice {
    pub among: u32,
    pub picked: u32,
}

#[derive(Clone, Debug)]
pub struct Chooser {
    mode: ChooserMode,
    rng: ChaCha8Rng,
    cursor: usize,
    record: Option<Vec<Choice>>,
    /// Number of real choices made (calls with n >= 2).
    decisions: u64,
    /// Running FNV-1a hash of every (among, picked) decision.
    fingerprint: u64,
}

impl Chooser {
    pub fn new(mode: ChooserMode, streams: &RngStreams) -> Self {
        Chooser {
            mode,
            rng: streams.stream("chooser"),
            cursor: 0,
            record: None,
            decisions: 0,
            fingerprint: crate::rng::fnv1a64(b""),
        }
    }

    pub fn seeded(seed: u64) -> Self {
        Self::new(ChooserMode::Seeded, &RngStreams::new(seed))
    }

    /// Start recording every decision (n >= 2) for later replay.
    pub fn start_recording(&mut self) {
        self.record = Some(Vec::new());
    }

    /// Replace the mode, keeping the position: a `Scripted` list is read from the
    /// current decision on (its first `decisions()` entries are skipped). Lets a cloned
    /// chooser continue along a different script from a snapshot.
    pub fn set_mode(&mut self, mode: ChooserMode) {
        self.mode = mode;
        self.cursor = self.decisions as usize;
    }

    /// Follow `script` from here on: its first entry is the next decision (then the
    /// first alternative once it runs out). Unlike [`Chooser::set_mode`], the script holds
    /// only what comes next, not the decisions already made.
    pub fn follow(&mut self, script: Vec<u32>) {
        self.mode = ChooserMode::Scripted(script);
        self.cursor = 0;
    }

    pub fn recorded(&self) -> Option<&[Choice]> {
        self.record.as_deref()
    }

    pub fn decisions(&self) -> u64 {
        self.decisions
    }

    /// Hash of every decision made so far: equal for runs that chose alike.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Pick an index in `0..n`. With `n <= 1` this is not a decision: returns 0 and
    /// consumes nothing.
    pub fn choose(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.decisions += 1;
        let picked = match &self.mode {
            ChooserMode::Seeded => self.rng.random_range(0..n),
            ChooserMode::First => 0,
            ChooserMode::Scripted(list) => {
                let v = list.get(self.cursor).copied().unwrap_or(0) as usize;
                self.cursor += 1;
                v.min(n - 1)
            }
        };
        for b in (n as u64)
            .to_le_bytes()
            .into_iter()
            .chain((picked as u64).to_le_bytes())
        {
            self.fingerprint ^= u64::from(b);
            self.fingerprint = self.fingerprint.wrapping_mul(0x0000_0100_0000_01b3);
        }
        if let Some(r) = &mut self.record {
            r.push(Choice {
                among: n as u32,
                picked: picked as u32,
            });
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_seed_dependent() {
        let draw = |seed| {
            let mut c = Chooser::seeded(seed);
            (0..32).map(|_| c.choose(10)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        assert!(draw(3).iter().all(|&i| i < 10));
    }

    #[test]
    fn single_alternative_is_not_a_decision() {
        let mut c = Chooser::seeded(1);
        c.start_recording();
        assert_eq!(c.choose(1), 0);
        assert_eq!(c.choose(0), 0);
        assert_eq!(c.decisions(), 0);
        assert_eq!(c.recorded().unwrap().len(), 0);
    }

    #[test]
    fn recorded_choices_replay_exactly() {
        let mut a = Chooser::seeded(99);
        a.start_recording();
        let first: Vec<_> = (0..50).map(|i| a.choose(2 + i % 5)).collect();
        let script = a.recorded().unwrap().iter().map(|c| c.picked).collect();
        let mut b = Chooser::new(ChooserMode::Scripted(script), &RngStreams::new(0));
        let again: Vec<_> = (0..50).map(|i| b.choose(2 + i % 5)).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn follow_reads_the_script_from_the_next_decision() {
        let mut a = Chooser::seeded(7);
        a.start_recording();
        let made: Vec<_> = (0..5).map(|_| a.choose(4)).collect();
        let mut b = a.clone();
        b.follow(vec![3, 1]);
        assert_eq!((b.choose(4), b.choose(4), b.choose(4)), (3, 1, 0));
        let mut c = a.clone();
        c.set_mode(ChooserMode::Scripted(
            made.iter().map(|&m| m as u32).chain([3, 1]).collect(),
        ));
        assert_eq!((c.choose(4), c.choose(4), c.choose(4)), (3, 1, 0));
        assert_eq!(b.recorded(), c.recorded());
    }

    #[test]
    fn first_mode_always_picks_zero() {
        let mut c = Chooser::new(ChooserMode::First, &RngStreams::new(5));
        assert!((2..20).all(|n| c.choose(n) == 0));
    }
}
