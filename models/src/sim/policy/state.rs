//! A policy's own run-time state, kept in `SimState` (so it is cloned into every verifier
//! snapshot and compared and hashed with the rest of the state).

use std::any::Any;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};

/// What a policy's state type must be: plain data. Implemented for every
/// `Clone + Eq + Hash + Debug + Send + Sync + 'static` type.
pub trait PolicyData: Any + Debug + Send + Sync {
    fn clone_box(&self) -> Box<dyn PolicyData>;
    fn eq_dyn(&self, other: &dyn PolicyData) -> bool;
    fn hash_dyn(&self, h: &mut dyn Hasher);
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Eq + Hash + Debug + Send + Sync> PolicyData for T {
    fn clone_box(&self) -> Box<dyn PolicyData> {
        Box::new(self.clone())
    }
    fn eq_dyn(&self, other: &dyn PolicyData) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
    fn hash_dyn(&self, mut h: &mut dyn Hasher) {
        self.hash(&mut h);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The state a policy keeps between hooks (empty for stateless policies).
#[derive(Debug, Default)]
pub struct PolicyState(Option<Box<dyn PolicyData>>);

impl PolicyState {
    pub fn new<T: PolicyData>(data: T) -> Self {
        PolicyState(Some(Box::new(data)))
    }

    pub fn empty() -> Self {
        PolicyState(None)
    }

    /// The state as `T` (`None` if the policy keeps none or another type).
    pub fn get<T: PolicyData>(&self) -> Option<&T> {
        self.0.as_deref()?.as_any().downcast_ref()
    }

    pub fn get_mut<T: PolicyData>(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()?.as_any_mut().downcast_mut()
    }

    /// Feed the whole state to `h`.
    pub fn hash_into(&self, h: &mut dyn Hasher) {
        match &self.0 {
            None => h.write_u8(0),
            Some(d) => {
                h.write_u8(1);
                d.hash_dyn(h);
            }
        }
    }
}

impl Clone for PolicyState {
    fn clone(&self) -> Self {
        PolicyState(self.0.as_ref().map(|d| d.clone_box()))
    }
}

impl PartialEq for PolicyState {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_dyn(b.as_ref()),
            _ => false,
        }
    }
}

impl Eq for PolicyState {}

impl Hash for PolicyState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.hash_into(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Counter(u32);

    #[test]
    fn clones_compare_and_hash_like_the_data() {
        let mut a = PolicyState::new(Counter(1));
        let b = a.clone();
        assert_eq!(a, b);
        a.get_mut::<Counter>().unwrap().0 = 2;
        assert_ne!(a, b);
        assert_eq!(b.get::<Counter>(), Some(&Counter(1)));
        assert_eq!(a.get::<u32>(), None);
        let h = |s: &PolicyState| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        };
        assert_ne!(h(&a), h(&b));
        assert_eq!(h(&b), h(&b.clone()));
        assert_ne!(h(&PolicyState::empty()), h(&b));
    }
}
