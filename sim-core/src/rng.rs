//! Seeded random-number streams, one per named component.
//!
//! One master seed gives every component its own `ChaCha8Rng` stream: the stream id is a
//! stable hash (FNV-1a) of the component's name, so adding a component or changing how one
//! component draws never shifts another's numbers (common random numbers across runs).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// FNV-1a, 64 bit: a stable, dependency-free hash for names and fingerprints.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Hands out independent ChaCha8 streams derived from one master seed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RngStreams {
    master_seed: u64,
}

impl RngStreams {
    pub fn new(master_seed: u64) -> Self {
        RngStreams { master_seed }
    }

    pub fn master_seed(&self) -> u64 {
        self.master_seed
    }

    /// The stream for a named component, e.g. `"arrivals"`, `"chooser"`, `"job/17"`.
    pub fn stream(&self, component: &str) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.master_seed);
        rng.set_stream(fnv1a64(component.as_bytes()));
        rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let s = RngStreams::new(7);
        let a1: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(s.stream("a"), |r, _: u64| Some(r.next_u64()))
            .collect();
        let a2: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(s.stream("a"), |r, _: u64| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(s.stream("b"), |r, _: u64| Some(r.next_u64()))
            .collect();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        // Drawing from "b" does not move "a".
        let mut rb = s.stream("b");
        for _ in 0..1000 {
            rb.next_u64();
        }
        assert_eq!(s.stream("a").next_u64(), a1[0]);
        assert_ne!(RngStreams::new(8).stream("a").next_u64(), a1[0]);
    }

    #[test]
    fn fnv_is_the_published_function() {
        // Test vectors from the FNV reference (draft-eastlake-fnv).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }
}
