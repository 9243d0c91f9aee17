//! `sim-core`: Orrery's deterministic discrete-event engine.
//!
//! It knows nothing of Kubernetes. It offers integer-nanosecond time, an event queue ordered
//! by (time, insertion sequence) with cancellable timers, seeded ChaCha8 RNG streams per
//! named component, the `Chooser` through which every choice among equals is made, and a
//! single-threaded run loop with stop conditions and an observer hook.

pub mod chooser;
pub mod engine;
pub mod queue;
mod radix;
pub mod rng;
pub mod time;

pub use chooser::{Choice, Chooser, ChooserMode};
pub use engine::{Ctx, Model, Probe, RunStats, Simulation, SimultaneousOrder, StopAt, StopReason};
pub use queue::{EventQueue, Scheduled, TimerId, TimerSlot};
pub use rng::{RngStreams, fnv1a64};
pub use time::{NANOS_PER_SEC, ParseDurationError, SimDuration, SimTime};
