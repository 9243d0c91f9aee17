//! Network and storage performance models (issue 5): topology, flow-level max-min bandwidth
//! sharing, collectives, shared storage and a training-step model that feels them.
//!
//! See `docs/hardware-model.md` for the model, its defaults and their sources.

pub mod flow;

pub use flow::{FlowId, FlowNet, FlowSpec, LinkId, LinkState, max_min_rates};
