//! Controllers that act on a cluster model from outside the scheduler. Each is a pure
//! decision function over a small view trait, so the main model (`crate::sim`) and the
//! platform model (`crate::platform`) run the same code.

pub mod cluster_autoscaler;
pub mod gateway;
pub mod hpa;
pub mod metrics;
pub mod serving;
