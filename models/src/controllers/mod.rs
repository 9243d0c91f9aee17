//! Controllers that act on a cluster model from outside the scheduler. Each is a pure
//! decision function over a small view trait, run by the main model (`crate::sim`), which
//! platform configurations (`crate::platform`) run on too.

pub mod cluster_autoscaler;
pub mod gateway;
pub mod hpa;
pub mod metrics;
pub mod ray_autoscaler;
pub mod serving;
